/**
 * `ipc-lab/mechanisms`: the concrete side of ipc-lab, for programs that want one mechanism
 * by name rather than by address — its channel class (to reach what only it has, such as
 * `MqChannel`'s priorities or `TopicChannel.missed`), the options type of every scheme, and
 * the helpers for anonymous mechanisms. Three kinds of helper, one spelling each:
 * `spawnWith*(cmd)` starts a child that inherits the object (fds 3, 4, with its address in
 * IPC_LAB_CHANNEL), `*Pair()` gives two connected ends in this process, `create*()` one new
 * object in this process to hand on yourself.
 *
 * ```ts
 * import { spawnWithPipes } from "ipc-lab/mechanisms";
 * const { channel, child } = spawnWithPipes(["bun", "worker.ts"]); // worker.ts: open(process.env.IPC_LAB_CHANNEL!)
 * channel.send("job 1");
 * ```
 * @module
 */
import "../../ffi/permissions.ts"; // first: on Deno, missing permissions fail at once with every flag named
export * from "../channels/index.ts";
export type { FifoOptions } from "../channels/fifo.ts";
export type { MqOptions } from "../channels/mq.ts";
export type { PipeOptions } from "../channels/pipe.ts";
export type { ShmOptions } from "../channels/shm.ts";
export { RingChannel, type RingHotPath, type RingTuning, type RingWait } from "../ring/index.ts";
export { CHANNEL_ENV, type ChildEnds, type SpawnOptions, spawnWith } from "../os/index.ts";
export type { Scheme, SchemeOptions } from "../mechanisms.ts";
