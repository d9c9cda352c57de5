/**
 * Which runtime the test peers run on. By default the one running the tests; the
 * cross-runtime test sets IPC_LAB_PEER_RUNTIME so that a Bun test talks to Deno and Node
 * peers (the Deno suite to Bun peers, the Node suite to Bun and Deno peers).
 */
import { runtime, type RuntimeName, scriptCommand } from "../../ffi/process.ts";

/** The runtime peers run on: $IPC_LAB_PEER_RUNTIME ("bun" | "deno" | "node"), else ours. */
export function peerRuntime(): RuntimeName {
  const v = process.env.IPC_LAB_PEER_RUNTIME;
  if (v === undefined || v === "") return runtime;
  if (v !== "bun" && v !== "deno" && v !== "node") throw new Error(`IPC_LAB_PEER_RUNTIME must be "bun", "deno" or "node" (got "${v}")`);
  return v;
}

/** The command line that runs a peer script with these arguments on the peer runtime. */
export function peerCommand(script: string, ...args: string[]): string[] {
  return scriptCommand(script, args, peerRuntime());
}
