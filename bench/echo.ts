/**
 * The echo loop of a round-trip peer (bench/peer.ts, bench/worker-peer.ts).
 */
import type { Channel } from "../lib/index.ts";

/**
 * Receive `n` messages from `rx` into `buf` and send each back on `tx`, through one view of
 * `buf` kept while the length stays the same — as C's peer sends from its buffer with a
 * length. A fresh `buf.subarray(0, len)` a message cost Bun ~0.2 µs a round trip on one CPU
 * (docs/benchmark.md, "The echo's view"), and the rows counted it against ipc-lab.
 */
export function echo(rx: Channel, tx: Channel, buf: Uint8Array, n: number): void {
  let view = buf.subarray(0, 0);
  for (let i = 0; i < n; i++) {
    const len = rx.recvInto(buf);
    if (len !== view.byteLength) view = buf.subarray(0, len);
    tx.send(view);
  }
}
