/**
 * `ipc-lab recv ADDRESS [--count N] [--timeout MS] [--hex]`: print each message as a line.
 * Creates the object when it is missing and removes what it created when it exits.
 */
import { IpcError } from "../lib/errors.ts";
import { open } from "../lib/open.ts";
import { EXIT, numberOption, parse, runCommand, toHex, UsageError } from "./args.ts";

/** Usage text of `ipc-lab recv`. */
const recvUsage = `usage: ipc-lab recv ADDRESS [--count N] [--timeout MS] [--hex]
  Prints each message on its own line (UTF-8; --hex for binary-safe hex). Creates the
  object if it does not exist and removes it on exit (for stream sockets: listens;
  for signal:self: says on stderr which pid to send to; a nats: subject is subscribed to,
  wildcards allowed). Stops after --count messages
  (exit 0), at end of stream (exit 0 without --count), or when no message comes within
  --timeout ms (exit 124).
`;

/** Run `ipc-lab recv` with argv (after the word "recv"); returns the exit code. */
export function recv(argv: string[]): Promise<number> {
  return runCommand("recv", recvUsage, async () => {
    const { values, positionals } = parse(argv, {
      count: { type: "string" },
      timeout: { type: "string" },
      hex: { type: "boolean" },
    });
    const [address, extra] = positionals;
    if (!address) throw new UsageError("missing ADDRESS");
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const count = numberOption(values.count, "count");
    if (count !== undefined && !Number.isInteger(count)) throw new UsageError("--count needs a whole number");
    const timeout = numberOption(values.timeout, "timeout");
    const decoder = new TextDecoder();
    using ch = open(address, { create: true, role: "reader" });
    // say where senders must go when the address alone does not tell (our pid, a port the kernel chose)
    const real = address.startsWith("signal:self") ? `signal:${process.pid}${address.slice("signal:self".length)}` : ch.address;
    if (real !== address) process.stderr.write(`ipc-lab recv: listening on ${real}\n`);
    let got = 0;
    while (count === undefined || got < count) {
      let msg: Uint8Array;
      try {
        msg = ch.recv({ timeout });
      } catch (e) {
        if (e instanceof IpcError && e.code === "EOF" && count === undefined) break;
        if (e instanceof IpcError && e.code === "ETIMEDOUT") {
          throw new IpcError({ ...e, message: `no message on ${address} within ${timeout} ms (received ${got}${count !== undefined ? ` of ${count}` : ""})` });
        }
        throw e;
      }
      process.stdout.write((values.hex ? toHex(msg) : decoder.decode(msg)) + "\n");
      got++;
    }
    return EXIT.ok;
  });
}
