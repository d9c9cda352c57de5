/**
 * withPeer: one conversation with a peer process, always cleaned up (shared by the
 * conformance suites; no side effects on import).
 */
import type { ChildProcess } from "../../ffi/process.ts";
import type { Channel } from "../../lib/index.ts";

/** Anything that starts a peer for a role and hands back our end and the peer process. */
interface Starter<S extends { here: Channel; peer: ChildProcess }> {
  start(role: string, count?: number): S | Promise<S>;
}

/** Run body with a fresh session; always close our end and reap the peer, whatever happens. */
export async function withPeer<S extends { here: Channel; peer: ChildProcess }>(
  m: Starter<S>,
  role: string,
  count: number,
  body: (s: S) => Promise<void> | void,
): Promise<void> {
  const s = await m.start(role, count);
  try {
    await body(s);
  } finally {
    s.here.close();
    s.peer.kill();
    await s.peer.exited;
  }
}
