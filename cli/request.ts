/**
 * `ipc-lab request ADDRESS MESSAGE [--timeout MS] [--hex]`: ask the server at ADDRESS
 * (`ipc-lab serve`, or any program that calls serve()) and print its reply.
 */
import { request as ask } from "../lib/conversation/serve.ts";
import { EXIT, fromHex, numberOption, parse, runCommand, toHex, UsageError } from "./args.ts";

/** Usage text of `ipc-lab request`. */
const requestUsage = `usage: ipc-lab request ADDRESS MESSAGE [--timeout MS] [--hex]
  Sends MESSAGE (UTF-8, or hex with --hex) to the server at ADDRESS and prints the reply
  (with a newline unless it ends with one). Exit status: 0 replied, 124 no reply within
  --timeout ms (default 10000), 1 an IPC error (no server there, the server failed or went away).
`;

/** Run `ipc-lab request` with argv (after the word "request"); returns the exit code. */
export function request(argv: string[]): Promise<number> {
  return runCommand("request", requestUsage, async () => {
    const { values, positionals } = parse(argv, { timeout: { type: "string" }, hex: { type: "boolean" } });
    const [address, message, ...extra] = positionals;
    if (!address) throw new UsageError("missing ADDRESS");
    if (message === undefined) throw new UsageError("missing MESSAGE");
    if (extra.length > 0) throw new UsageError(`one MESSAGE per request (got also '${extra[0]}'): quote it if it has spaces`);
    const timeout = numberOption(values.timeout, "timeout") ?? 10_000;
    const reply = await ask(address, values.hex ? fromHex(message) : message, { timeout });
    const text = values.hex ? toHex(reply) : new TextDecoder().decode(reply);
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    return EXIT.ok;
  });
}
