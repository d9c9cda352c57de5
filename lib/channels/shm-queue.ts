/**
 * `shm-queue:/name` — a work queue in shared memory: many producers, many consumers, each
 * message to exactly one consumer, each producer's messages in their order. Bounded:
 * producers wait while it is full, consumers while it is empty (try-calls, timeouts and
 * async as every channel).
 *
 * It is a topic (./topic.ts: the same layout, producers taking turns under the publisher
 * word) with one cursor that every consumer shares: a consumer takes the consumer word
 * (its pid), copies the next message, moves the cursor past it and lets go. A producer
 * killed mid-message never published it (the head moves last); a consumer killed while it
 * holds the consumer word is taken over by the next, which finds the cursor where it was:
 * the message is delivered again. A consumer killed after moving the cursor, before its
 * program used the message, loses that message: at most one per consumer killed.
 * Open-or-create under flock; the last participant to leave removes the name.
 */
import { mechanism } from "../mechanism.ts";
import { regionNames } from "../names/kinds.ts";
import { optionNames } from "../options.ts";
import { openTopic } from "./topic.ts";

/** Options of `shm-queue:` (set by whoever creates it). */
export interface ShmQueueOptions {
  /** bytes of the ring, a power of two (default 1 MiB) */
  capacity?: number;
  /** largest message (default and maximum: capacity / 2 - 8) */
  maxMessageSize?: number;
  /** EEXIST if it exists (by default it is opened, or created if missing) */
  exclusive?: boolean;
  /** permission bits of a new queue (default 0o600) */
  mode?: number;
  /** a waiting producer's or consumer's wait slice, in ms (default 100) */
  peerCheckMs?: number;
}

/** The `shm-queue:` mechanism: role "writer" produces, "reader" consumes (no role: both). */
export const shmQueue = mechanism<ShmQueueOptions>()({
  scheme: "shm-queue",
  describe: "shm-queue:/name — a work queue in shared memory: many producers, many consumers, each message to one (/dev/shm/shm-queue.name)",
  options: optionNames<ShmQueueOptions>()("capacity", "maxMessageSize", "exclusive", "mode", "peerCheckMs"),
  open: (a, o) => openTopic(a, o, true),
  traits: { boundaries: "framed", duplex: false, detectsPeerExit: false, bounded: true, pollable: false, maxMessageSize: 1 << 16 },
  names: regionNames,
  sample: (u) => `shm-queue:/${u.tag}`,
  small: { capacity: 4096 },
});
