/**
 * "Blocked" proven, not assumed: wait until a process's main thread sleeps in the kernel
 * somewhere other than its event loop's epoll wait — inside the blocking call under test —
 * before the test signals it. A fixed sleep let a signal that came before the call blocked
 * pass for one that ended a blocked call.
 */
import { readFileSync } from "node:fs";

/** The main thread's scheduler state and kernel wait channel, or undefined once it has gone. */
function mainThread(pid: number): { state: string; wchan: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!;
    return { state, wchan: readFileSync(`/proc/${pid}/task/${pid}/wchan`, "utf8") };
  } catch {
    return undefined;
  }
}

/**
 * Resolve once `pid`'s main thread sleeps (state S) in a kernel wait that is not epoll
 * (the event loop idling) — a futex, poll, queue, accept or pipe wait — and has stayed
 * there for two looks in a row; reject after `timeoutMs`. With `where: "event loop"`, the
 * other way round: its main thread idles in the event loop's epoll wait (an async wait is
 * parked off the JS thread).
 */
export async function untilBlocked(pid: number, where: "call" | "event loop" = "call", timeoutMs = 10_000): Promise<string> {
  const end = performance.now() + timeoutMs;
  let seen = 0;
  let last: { state: string; wchan: string } | undefined;
  while (performance.now() < end) {
    last = mainThread(pid);
    if (!last) throw new Error(`process ${pid} ended before it blocked`);
    const epoll = /epoll|ep_poll/.test(last.wchan);
    const asleep = last.state === "S" && last.wchan !== "0" && last.wchan !== "";
    seen = asleep && epoll === (where === "event loop") ? seen + 1 : 0;
    if (seen >= 2) return last.wchan;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${pid} did not block (${where}) within ${timeoutMs} ms (last seen: state ${last?.state}, in ${last?.wchan})`);
}
