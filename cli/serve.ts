/**
 * `ipc-lab serve ADDRESS [--echo] -- COMMAND [ARGS…]`: answer requests at ADDRESS, each
 * with what COMMAND prints when given the request on its stdin (one run per request, many
 * clients at once), or with the request itself (--echo). Ctrl-C stops it and removes the
 * address's names.
 */
import { spawn } from "node:child_process";
import { C } from "../ffi/facts.ts";
import { libc } from "../ffi/runtime.ts";
import { closeAtExit, forgetAtExit } from "../lib/names/cleanup.ts";
import { serve as serveAt } from "../lib/conversation/serve.ts";
import { EXIT, parse, runCommand, UsageError } from "./args.ts";

/** Usage text of `ipc-lab serve`. */
const serveUsage = `usage: ipc-lab serve ADDRESS [--echo] [-- COMMAND [ARGS...]]
  Answers each request at ADDRESS (mq:, sysv-mq:, shm:, unix:, tcp:, unix-dgram:, fifo:,
  nats://HOST:PORT/SUBJECT — there any NATS client may ask) with the standard output of COMMAND run with the request on its standard input, or with
  the request itself (--echo). Many clients are answered at once; each reply goes to the
  client that asked. Prints the address it serves (tcp:HOST:0 gets its real port) on one
  line, then serves until Ctrl-C, which removes what it created.
  Ask with: ipc-lab request ADDRESS MESSAGE
`;

/** Run COMMAND with `input` on its stdin; its stdout, or an error saying how it failed. */
function runWith(command: string[], input: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // its own process group, killed with us (Ctrl-C included), group and all, so nothing it
    // started outlives the server; SIGKILL, since a child may have inherited stop signals
    // blocked, and its reply could no longer reach anyone anyway
    const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"], detached: true });
    const group = { close: () => child.pid !== undefined && libc.kill(-child.pid, C.SIGKILL) };
    closeAtExit(group);
    child.on("exit", () => forgetAtExit(group));
    const chunks: Uint8Array[] = [];
    child.stdout.on("data", (c: Uint8Array) => chunks.push(c));
    child.on("error", (e) => reject(new Error(`cannot run ${command[0]}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve(new Uint8Array(Buffer.concat(chunks)));
      else reject(new Error(`${command.join(" ")} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`));
    });
    child.stdin.on("error", () => {}); // a command that does not read its stdin is not a failure
    child.stdin.end(input);
  });
}

/** Run `ipc-lab serve` with argv (after the word "serve"); returns the exit code. */
export function serve(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  return runCommand("serve", serveUsage, async () => {
    const { values, positionals } = parse(own, { echo: { type: "boolean" } });
    const [address, ...extra] = positionals;
    if (!address) throw new UsageError("missing ADDRESS");
    if (extra.length > 0) throw new UsageError(`unexpected '${extra[0]}': put the command after --, as in: ipc-lab serve ${address} -- ${extra.join(" ")}`);
    if (values.echo && command.length > 0) throw new UsageError("give either --echo or -- COMMAND, not both");
    if (!values.echo && command.length === 0) throw new UsageError("nothing to answer with: give --echo, or -- COMMAND [ARGS...]");
    const server = serveAt(address, values.echo ? (req: Uint8Array) => req : (req: Uint8Array) => runWith(command, req));
    await server.ready; // on NATS: subscribed, so the address printed can be asked at once
    process.stdout.write(`${server.address}\n`);
    await server.done;
    return EXIT.ok;
  });
}
