/**
 * Run a command to completion with its output captured through files, never pipes.
 * Bun's spawnSync gives piped stdio two socketpairs whose parent ends a pool thread closes
 * only 0.1–5 ms after it returns (later under load); a leak check that lists this process's
 * descriptors then counts them as leaks. Files leave no descriptor behind.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What a finished command left: its exit status (null when a signal ended it), signal, output. */
export interface SyncResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** spawnSync with stdin from /dev/null and stdout/stderr through temporary files. */
export function runSync(cmd: string, args: string[], timeoutMs = 120_000): SyncResult {
  const dir = mkdtempSync(join(tmpdir(), "ipcl-run-"));
  const [out, err] = [join(dir, "out"), join(dir, "err")];
  const fds = [openSync(out, "w", 0o600), openSync(err, "w", 0o600)] as const;
  try {
    const r = spawnSync(cmd, args, { stdio: ["ignore", fds[0], fds[1]], timeout: timeoutMs });
    return { status: r.status, signal: r.signal, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8"), error: r.error };
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
