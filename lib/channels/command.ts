/**
 * Commands as peers.
 *
 * `popen:COMMAND` honours popen(3): COMMAND runs through `/bin/sh -c`; type "r" (default)
 * receives what it writes to its stdout, type "w" sends to its stdin — one direction per
 * stream — and pclose() returns its exit status. `spawn:COMMAND` is the duplex form: we
 * write its stdin and read its stdout. Both speak the framed protocol (u32 LE length +
 * payload), so the command is an ipc-lab program (`open("fd:0,1")` for spawn:, `fd:1` or
 * `fd:0` for popen:), or any C/Python program that frames its output the same way.
 */
import { C } from "../../ffi/facts.ts";
import { type ChildProcess, spawnProcess } from "../../ffi/process.ts";
import { libc, sys } from "../../ffi/runtime.ts";
import type { Address } from "../address.ts";
import { checkNeg, ipcError } from "../errors.ts";
import { pipeCapacity, StreamChannel, streamMax } from "./stream.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { OnePeerListener } from "../link/listener.ts";

/** Options for popen:/spawn:. */
export interface PopenOptions {
  /** popen: "r" to read the command's stdout (default), "w" to write its stdin (popen(3)'s type) */
  type?: "r" | "w";
  /** largest message (default 1 MiB; both ends must agree) */
  maxMessageSize?: number;
  /** where the command's stderr goes (default "inherit") */
  stderr?: "inherit" | "pipe" | "ignore";
  /** environment for the command (added to ours) */
  env?: Record<string, string | undefined>;
  /** working directory */
  cwd?: string;
}

function pipe(): [number, number] {
  const fds = new Int32Array(2);
  checkNeg(sys.pipe2(fds, C.O_CLOEXEC), "pipe2");
  return [fds[0]!, fds[1]!];
}

/** A channel to a command's stdin and/or stdout. */
export class CommandChannel extends StreamChannel {
  /** the child process */
  readonly child: ChildProcess;
  /** the command's exit status once it has ended: its exit code, or 128 + signal number */
  readonly exitStatus: Promise<number>;

  constructor(addr: Address, opts: PopenOptions) {
    const command = addr.name;
    if (command.trim() === "") throw ipcError("EADDRESS", "parseAddress", addr.text, `invalid address '${addr.text}': expected ${addr.scheme}:COMMAND`);
    const duplex = addr.scheme === "spawn";
    const mode = opts.type ?? "r";
    if (!duplex && mode !== "r" && mode !== "w") throw ipcError("EINVAL", "popen", addr.text, `type must be "r" or "w" (got ${String(mode)})`);
    const reads = duplex || mode === "r";
    const writes = duplex || mode === "w";
    const [outR, outW] = reads ? pipe() : [-1, -1]; // the command's stdout -> us
    const [inR, inW] = writes ? pipe() : [-1, -1]; // us -> the command's stdin
    let child: ChildProcess;
    try {
      child = spawnProcess(["/bin/sh", "-c", command], {
        stdio: [writes ? inR : "ignore", reads ? outW : "inherit", opts.stderr ?? "inherit"],
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
      });
    } catch (e) {
      for (const fd of [outR, outW, inR, inW]) if (fd >= 0) libc.close(fd);
      throw ipcError("ENOENT", "popen", addr.text, `could not start /bin/sh: ${(e as Error).message}`);
    }
    // the command has its ends; ours must go, or its exit would never show as EOF/EPIPE
    if (outW >= 0) libc.close(outW);
    if (inR >= 0) libc.close(inR);
    super(addr.text, {
      rfd: outR,
      wfd: inW,
      mechanism: addr.scheme,
      maxMessageSize: streamMax(opts.maxMessageSize, addr.text),
      capacity: pipeCapacity(inW >= 0 ? inW : outR),
    });
    this.child = child;
    this.exitStatus = child.exited;
  }

  /** Close our end(s), wait for the command to end, and return its exit status (pclose(3)). */
  async pclose(): Promise<number> {
    this.close();
    return this.exitStatus;
  }
}

const commandOptions = optionNames<PopenOptions>()("type", "maxMessageSize", "stderr", "env", "cwd");

/** The `popen:` mechanism. */
export const popen = mechanism<PopenOptions>()({
  scheme: "popen",
  describe: "popen:COMMAND — /bin/sh -c COMMAND, one direction (type r|w), framed",
  options: commandOptions,
  open: (a, o) => new CommandChannel(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: false, pollable: true, maxMessageSize: 1 << 20 },
});

/** The `spawn:` mechanism. */
export const spawn = mechanism<PopenOptions>()({
  scheme: "spawn",
  describe: "spawn:COMMAND — a child's stdin+stdout as a duplex framed channel",
  options: commandOptions,
  open: (a, o) => new CommandChannel(a, o),
  traits: { ...popen.traits, duplex: true },
  converse: {
    pattern: "one client per child: connect() starts COMMAND, which serves fd:0,1 (its stdin and stdout)",
    listen: (a, o) => new OnePeerListener(new CommandChannel(a, o)),
    connect: (a, o) => new CommandChannel(a, o),
  },
});
