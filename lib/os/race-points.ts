/**
 * Race points: places where a test can pause a reader between two of its steps, so that a
 * race that happens once in a million runs on its own (a writer lapping a reader mid-copy)
 * happens every time, and a broken check fails every run instead of some. Unset outside
 * tests; a reader pays one property load for it.
 */
export const racePoints: {
  /** Board.read(): the slot's sequence, length and version are read, the bytes not yet copied */
  boardRead?: () => void;
  /** a topic subscriber: the record's length and sequence are read, its bytes not yet copied */
  topicCopy?: () => void;
  /** a topic's or work queue's async send: it found no room and has not yet announced its wait */
  topicSendWait?: () => void;
  /** a blocking call found nothing to do, and its peers' liveness is not yet checked (PeerWatch.afterIdle) */
  peerIdle?: () => void;
} = {};
