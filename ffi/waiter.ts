/**
 * Asynchronous waits that never block the event loop: each pending wait runs off the JS
 * thread and calls the shim's blocking poll/futex/semaphore wait — on Bun and Node in a
 * pooled Worker (+10-15 µs per wait, docs/channel.md "Async waits"), on Deno as an FFI call
 * declared `nonblocking` (+~20 µs). A pending wait keeps the process alive like a pending socket read does;
 * closing the channel cancels it (a byte on the cancel pipe for poll, a futex wake), and
 * idle waiters hold nothing, so a finished program exits.
 */
import { fact } from "./facts.ts";
import { readdirSync } from "node:fs";
import { Worker as ThreadWorker } from "node:worker_threads";
import { libc, type Pointer, ptrFromNumber, ptrToNumber, shimAsync } from "./runtime.ts";
import { siblingModule } from "./paths.ts";
import { runtime } from "./process.ts";

/** A request to a waiter thread. */
export type WaitRequest =
  | { id: number; op: "poll"; fd: number; events: number; timeoutMs: number; cancelFd: number }
  | { id: number; op: "futex"; address: number; expected: number; timeoutMs: number }
  | { id: number; op: "sem"; address: number; timeoutMs: number }
  | { id: number; op: "msg"; queue: number; timeoutMs: number; cancelFd: number };

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

/** Where one wait runs: a waiter Worker (Bun) or a runtime thread via a nonblocking FFI call (Deno). */
interface WaitSlot {
  /** run the request; resolves to the shim's result */
  exec(q: WaitRequest): Promise<number>;
  /** pipe whose read end is in every poll made from this slot: a byte written to it cancels the wait */
  cancelRead: number;
  cancelWrite: number;
}

const ECANCELED = fact("ECANCELED");
/** How long a new waiter thread may take to start (it loads the FFI library) before that is an error. */
const THREAD_START_MS = 10_000;
const idle: WaitSlot[] = [];
let nextId = 1;
const oneByte = new Uint8Array([1]);
const drainBuf = new Uint8Array(16);

function cancelPipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe2(fds, fact("O_CLOEXEC")) !== 0) throw new Error("ipc-lab: cannot create a pipe for an asynchronous wait");
  return [fds[0]!, fds[1]!];
}

/** Deno: the shim's wait functions declared `nonblocking`, each call on a runtime thread. */
function nonblockingSlot(calls: NonNullable<typeof shimAsync>): WaitSlot {
  const [cancelRead, cancelWrite] = cancelPipe();
  return {
    cancelRead,
    cancelWrite,
    exec: (q) =>
      q.op === "poll"
        ? calls.ipcl_poll1(q.fd, q.events, q.timeoutMs, q.cancelFd)
        : q.op === "futex"
        ? calls.ipcl_futex_wait(ptrFromNumber(q.address), q.expected, q.timeoutMs)
        : q.op === "msg"
        ? calls.ipcl_msg_wait(q.queue, q.timeoutMs, q.cancelFd)
        : calls.ipcl_sem_wait(ptrFromNumber(q.address), q.timeoutMs),
  };
}

/**
 * Bun, Node: a Worker thread doing one blocking wait at a time (Node's libuv pool has 4
 * threads: koffi's async calls would stall everything behind 4 pending waits). It is ref'd
 * only while a wait is pending, so idle waiter threads never keep a finished program alive.
 */
function workerSlot(): WaitSlot {
  const [cancelRead, cancelWrite] = cancelPipe();
  const pending = new Map<number, (r: number) => void>();
  const worker = startWaiterThread(({ id, result }) => {
    worker.unref();
    const resolve = pending.get(id);
    pending.delete(id);
    resolve?.(result);
  });
  worker.unref();
  return {
    cancelRead,
    cancelWrite,
    exec(q) {
      worker.ref();
      const result = new Promise<number>((resolve) => pending.set(q.id, resolve));
      worker.postMessage(q);
      return result;
    },
  };
}

/** Descriptors the runtime opened for waiter threads (Node: each thread's event loop), kept while they live. */
const threadFds: number[] = [];
const openFds = () => readdirSync("/proc/self/fd").map(Number);

/**
 * A waiter thread: a Web Worker on Bun; on Node (no Web Worker before 22) a worker_threads
 * Worker, waited for until it runs, so that the descriptors its event loop opened are known.
 */
function startWaiterThread(onReply: (r: WaitReply) => void): Pick<Worker, "postMessage" | "ref" | "unref"> {
  const url = siblingModule(import.meta.url, "waiter-worker");
  if (runtime === "node") {
    endWaitsAtExit();
    const before = new Set(openFds());
    const ready = new Int32Array(new SharedArrayBuffer(4));
    const worker = new ThreadWorker(url, { workerData: ready });
    if (Atomics.wait(ready, 0, 0, THREAD_START_MS) === "timed-out") {
      void worker.terminate();
      throw new Error(`ipc-lab: a waiter thread did not start within ${THREAD_START_MS} ms`);
    }
    threadFds.push(...openFds().filter((fd) => !before.has(fd)));
    worker.on("message", onReply);
    return worker as unknown as Pick<Worker, "postMessage" | "ref" | "unref">;
  }
  const worker = new Worker(url.href);
  worker.onmessage = (ev: MessageEvent<WaitReply>) => onReply(ev.data);
  return worker;
}

/** The cancel() of every wait in flight on a waiter thread (Node: ended at exit, see endWaitsAtExit). */
const inFlight = new Set<() => void>();
let exitHooked = false;

/**
 * Node joins its worker threads when the process exits, and a thread blocked in poll() on a
 * descriptor its channel's exit cleanup closed would never return: Ctrl-C would hang in
 * process.exit(). So at exit every wait still in flight is cancelled first.
 */
function endWaitsAtExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const cancel of inFlight) cancel();
  });
}

function run(request: (id: number, slot: WaitSlot) => WaitRequest, cancel: (slot: WaitSlot) => void): PendingWait {
  const slot = idle.pop() ?? (shimAsync ? nonblockingSlot(shimAsync) : workerSlot());
  let done = false;
  // (tracked only where exit must end them: Node; no closure per wait on Bun and Deno)
  const end = exitHooked ? () => cancel(slot) : undefined;
  if (end) inFlight.add(end);
  const result = slot.exec(request(nextId++, slot)).then((r) => {
    if (end) inFlight.delete(end);
    done = true;
    // a cancelled poll leaves a byte in the cancel pipe: empty it before reuse
    if (r === -ECANCELED) libc.read(slot.cancelRead, drainBuf, drainBuf.length);
    idle.push(slot);
    return r;
  });
  return {
    result,
    cancel: () => {
      if (!done) cancel(slot);
    },
  };
}

/** Descriptors idle waiter slots keep for the next wait (their cancel pipes, their threads' on Node): open on purpose. */
export function idleWaiterFds(): number[] {
  return [...idle.flatMap((s) => [s.cancelRead, s.cancelWrite]), ...threadFds];
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

/**
 * Wait off-thread until System V queue `msqid` holds a message (it is not taken). Resolves
 * to 1, 0 on timeout, -ECANCELED after cancel(), or -errno.
 */
export function msgWaitAsync(msqid: number, timeoutMs: number): PendingWait {
  return run(
    (id, t) => ({ id, op: "msg", queue: msqid, timeoutMs, cancelFd: t.cancelRead }),
    (t) => libc.write(t.cancelWrite, oneByte, 1),
  );
}
