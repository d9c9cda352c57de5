/**
 * A waiter thread: performs one blocking wait at a time (poll on an fd, a futex, a semaphore, a System V queue)
 * off the JS main thread and posts the shim's result back. Shim waits return -errno, so
 * errno never has to cross threads.
 */
import { ptrFromNumber, shim } from "./runtime.ts";
import type { WaitReply, WaitRequest } from "./waiter.ts";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<WaitRequest>) => {
  const q = ev.data;
  const result = q.op === "poll"
    ? shim.ipcl_poll1(q.fd, q.events, q.timeoutMs, q.cancelFd)
    : q.op === "futex"
    ? shim.ipcl_futex_wait(ptrFromNumber(q.address), q.expected, q.timeoutMs)
    : q.op === "msg"
    ? shim.ipcl_msg_wait(q.queue, q.timeoutMs, q.cancelFd)
    : shim.ipcl_sem_wait(ptrFromNumber(q.address), q.timeoutMs);
  self.postMessage({ id: q.id, result } satisfies WaitReply);
};
