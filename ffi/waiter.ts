/**
 * Asynchronous waits that never block the event loop: each pending wait runs on a pooled
 * Worker thread that calls the shim's blocking poll/futex wait (DESIGN: +10-15 µs per
 * wait on Bun). A pending wait keeps the process alive like a pending socket read does;
 * idle waiter threads do not, so a finished program exits.
 */
import { fact } from "./facts.ts";
import { libc, ptrToNumber, type Pointer } from "./runtime.ts";

/** A request to a waiter thread. */
export type WaitRequest =
  | { id: number; op: "poll"; fd: number; events: number; timeoutMs: number; cancelFd: number }
  | { id: number; op: "futex"; address: number; expected: number; timeoutMs: number }
  | { id: number; op: "sem"; address: number; timeoutMs: number };

/** A waiter thread's answer: the shim's return value. */
export interface WaitReply {
  id: number;
  result: number;
}

/** A wait in progress: await `result`; cancel() ends it early. */
export interface PendingWait {
  /** the shim's result: revents / 0 for poll, 0 for futex; 0 also on timeout for poll; -errno */
  readonly result: Promise<number>;
  /** End the wait now (its result is then -ECANCELED for poll, 0 for futex). */
  cancel(): void;
}

interface WaiterThread {
  worker: Worker;
  /** pipe whose read end is in every poll of this thread: a byte written to it cancels the wait */
  cancelRead: number;
  cancelWrite: number;
}

const ECANCELED = fact("ECANCELED");
const idle: WaiterThread[] = [];
const pending = new Map<number, (r: number) => void>();
let nextId = 1;
const oneByte = new Uint8Array([1]);
const drainBuf = new Uint8Array(16);

function spawnThread(): WaiterThread {
  const fds = new Int32Array(2);
  if (libc.pipe2(fds, fact("O_CLOEXEC")) !== 0) throw new Error("ipc-lab: cannot create a pipe for a waiter thread");
  const worker = new Worker(new URL("./waiter-worker.ts", import.meta.url).href);
  const t: WaiterThread = { worker, cancelRead: fds[0]!, cancelWrite: fds[1]! };
  worker.onmessage = (ev: MessageEvent<WaitReply>) => {
    const { id, result } = ev.data;
    // a cancelled poll leaves a byte in the cancel pipe: empty it before reuse
    if (result === -ECANCELED) libc.read(t.cancelRead, drainBuf, drainBuf.length);
    t.worker.unref();
    idle.push(t);
    const resolve = pending.get(id);
    pending.delete(id);
    resolve?.(result);
  };
  return t;
}

function run(request: (id: number, t: WaiterThread) => WaitRequest, cancel: (t: WaiterThread) => void): PendingWait {
  const t = idle.pop() ?? spawnThread();
  t.worker.ref();
  const id = nextId++;
  const result = new Promise<number>((resolve) => pending.set(id, resolve));
  t.worker.postMessage(request(id, t));
  return {
    result,
    cancel: () => {
      if (pending.has(id)) cancel(t);
    },
  };
}

/**
 * Wait off-thread until fd reports one of `events` (POLLIN/POLLOUT). Resolves to the
 * revents, 0 on timeout, -ECANCELED after cancel(), or -errno. timeoutMs < 0: forever.
 */
export function pollAsync(fd: number, events: number, timeoutMs: number): PendingWait {
  return run(
    (id, t) => ({ id, op: "poll", fd, events, timeoutMs, cancelFd: t.cancelRead }),
    (t) => libc.write(t.cancelWrite, oneByte, 1),
  );
}

/**
 * Wait off-thread while the u32 at `address` equals `expected` (futex). Resolves to 0 when
 * woken or the value differs, -ETIMEDOUT, or -errno. cancel() calls `wake`, which must
 * futex-wake that address: only a wake ends a futex wait.
 */
export function futexWaitAsync(address: Pointer, expected: number, timeoutMs: number, wake: () => void): PendingWait {
  return run((id) => ({ id, op: "futex", address: ptrToNumber(address), expected, timeoutMs }), () => wake());
}

/**
 * Wait off-thread on a POSIX semaphore (named, or in shared memory) for at most timeoutMs
 * (callers use short slices: a sem_wait cannot be interrupted). Resolves to 0 when it took
 * a token — on the caller's behalf — or -ETIMEDOUT / -errno.
 */
export function semWaitAsync(sem: Pointer, timeoutMs: number): PendingWait {
  return run((id) => ({ id, op: "sem", address: ptrToNumber(sem), timeoutMs }), () => {});
}
