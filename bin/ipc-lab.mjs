#!/usr/bin/env node
/**
 * The `ipc-lab` command as npm installs it (node_modules/.bin/ipc-lab, `npx ipc-lab`):
 * it runs the CLI on Bun or Deno when one is there — $IPC_LAB_BUN / $IPC_LAB_DENO, then the
 * ones npm installed beside ipc-lab or in the project using it, then PATH — passing the
 * arguments, stdio, the exit status and stop signals through; with neither, on this Node
 * itself (the compiled dist/bin/ipc-lab.js, in this process). Bun is preferred;
 * `ipc-lab --runtime deno|node …` still picks another inside the CLI.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const entry = join(here, "ipc-lab.ts");

/** Whether `path` is an executable file (or one with `mode` access). */
function runnable(path, mode = constants.X_OK) {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** `dir` and each of its parents. */
function* upFrom(dir) {
  for (let d = dir;; d = dirname(d)) {
    yield d;
    if (dirname(d) === d) return;
  }
}

/** Where `name` (bun or deno) can be found: env, node_modules/.bin beside ipc-lab or the project, PATH. */
function find(name) {
  const fromEnv = process.env[`IPC_LAB_${name.toUpperCase()}`];
  if (fromEnv) return fromEnv;
  for (const start of [join(here, ".."), process.cwd()]) {
    for (const d of upFrom(start)) {
      const candidate = join(d, "node_modules", ".bin", name);
      if (runnable(candidate)) return candidate;
    }
  }
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    if (d && runnable(join(d, name))) return join(d, name);
  }
  return undefined;
}

const bun = find("bun");
const deno = bun ? undefined : find("deno");
if (!bun && !deno) {
  // Node: the compiled CLI, in this process (its stop signals, exit status and stdio are ours)
  const compiled = join(here, "..", "dist", "bin", "ipc-lab.js");
  if (!runnable(compiled, constants.R_OK)) {
    process.stderr.write(`ipc-lab: neither Bun nor Deno was found, and ${compiled} (the CLI for Node) is missing: run npm run build in ${join(here, "..")}\n`);
    process.exit(127);
  }
  await import(pathToFileURL(compiled).href);
} else {
  const cmd = bun ? [bun, entry, ...process.argv.slice(2)] : [deno, "run", "--allow-all", entry, ...process.argv.slice(2)];
  const child = spawn(cmd[0], cmd.slice(1), { stdio: "inherit" });
  // Ctrl-C reaches the whole foreground group; a signal sent to this launcher alone is passed on.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    process.stderr.write(`ipc-lab: cannot start ${cmd[0]}: ${e.message}\n`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      // die of the same signal, so that the shell sees what the child saw
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}
