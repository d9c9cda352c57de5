/**
 * Starting a child process that inherits IPC descriptors: the fds go to the child as
 * 3, 4, ... (ffi/process.ts, on Bun and Deno alike), the address it should open goes in IPC_LAB_CHANNEL, and the
 * parent then closes the ends only the child needs (keeping them would hide the child's
 * exit: no EOF, no EPIPE).
 */
import { type ChildProcess, spawnProcess } from "../../ffi/process.ts";
import { libc } from "../../ffi/runtime.ts";
import { ipcError } from "../errors.ts";

/** What a child inherits: descriptors, and the address that opens them in the child. */
export interface ChildEnds {
  /** our descriptors; the child receives them as 3, 4, ... in this order */
  fds: number[];
  /** the address the child opens, written for fds starting at 3 (e.g. "fd:3,4", "memfd:3") */
  address: string;
}

/** Options for spawnWith. */
export interface SpawnOptions {
  /** environment for the child (IPC_LAB_CHANNEL is added) */
  env?: Record<string, string | undefined>;
  /** working directory */
  cwd?: string;
  /** the child's stdin/stdout/stderr (default "inherit") */
  stdin?: "inherit" | "pipe" | "ignore";
  stdout?: "inherit" | "pipe" | "ignore";
  stderr?: "inherit" | "pipe" | "ignore";
}

/** The environment variable holding the address a spawned child should open. */
export const CHANNEL_ENV = "IPC_LAB_CHANNEL";

/** Spawn cmd with ends.fds at 3.. and close our copies of them afterwards (also on failure). */
export function spawnWith(cmd: string[], ends: ChildEnds, opts: SpawnOptions = {}): ChildProcess {
  try {
    return spawnProcess(cmd, {
      stdio: [opts.stdin ?? "inherit", opts.stdout ?? "inherit", opts.stderr ?? "inherit", ...ends.fds],
      env: { ...process.env, ...opts.env, [CHANNEL_ENV]: ends.address },
      cwd: opts.cwd,
    });
  } catch (e) {
    throw ipcError("ENOENT", "spawn", ends.address, `could not start ${cmd.join(" ")}: ${(e as Error).message}`);
  } finally {
    for (const fd of ends.fds) libc.close(fd);
  }
}
