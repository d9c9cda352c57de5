/**
 * A waiter thread: performs one blocking wait at a time (poll on an fd, a futex, a semaphore, a System V queue)
 * off the JS main thread and posts the shim's result back. Shim waits return -errno, so
 * errno never has to cross threads.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ptrFromNumber, shim } from "./runtime.ts";
import { runtime } from "./process.ts";
import type { WaitReply, WaitRequest } from "./waiter.ts";

declare const self: Worker;

function perform(q: WaitRequest): WaitReply {
  const result = q.op === "poll"
    ? shim.ipcl_poll1(q.fd, q.events, q.timeoutMs, q.cancelFd)
    : q.op === "futex"
    ? shim.ipcl_futex_wait(ptrFromNumber(q.address), q.expected, q.timeoutMs)
    : q.op === "msg"
    ? shim.ipcl_msg_wait(q.queue, q.timeoutMs, q.cancelFd)
    : shim.ipcl_sem_wait(ptrFromNumber(q.address), q.timeoutMs);
  return { id: q.id, result };
}

// a worker_threads Worker on Node, a Web Worker on Bun (ffi/waiter.ts startWaiterThread)
if (runtime === "node") {
  parentPort!.on("message", (q: WaitRequest) => parentPort!.postMessage(perform(q)));
  // the creator waits for this, then counts the descriptors our event loop opened
  const ready = workerData as Int32Array;
  Atomics.store(ready, 0, 1);
  Atomics.notify(ready, 0);
} else self.onmessage = (ev: MessageEvent<WaitRequest>) => self.postMessage(perform(ev.data));
