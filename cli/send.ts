/**
 * `ipc-lab send ADDRESS [MESSAGE ...]`: send each MESSAGE, or each line of stdin when
 * none is given. Waits up to --timeout ms for the object (and a FIFO's reader) to appear.
 */
import { open } from "../lib/open.ts";
import { EXIT, fromHex, numberOption, parse, runCommand, UsageError } from "./args.ts";

/** Usage text of `ipc-lab send`. */
const sendUsage = `usage: ipc-lab send ADDRESS [MESSAGE ...] [--hex] [--timeout MS] [--priority N]
  Sends each MESSAGE (UTF-8, or hex with --hex) as one message; with no MESSAGE, each
  line of stdin. Waits up to --timeout ms (default 10000) for the object to appear and
  for room in it. --priority sets the POSIX queue priority (0..32767).
`;

/** Run `ipc-lab send` with argv (after the word "send"); returns the exit code. */
export function send(argv: string[]): Promise<number> {
  return runCommand("send", sendUsage, async () => {
    const { values, positionals } = parse(argv, {
      hex: { type: "boolean" },
      timeout: { type: "string" },
      priority: { type: "string" },
    });
    const [address, ...messages] = positionals;
    if (!address) throw new UsageError("missing ADDRESS");
    const timeout = numberOption(values.timeout, "timeout") ?? 10_000;
    const priority = numberOption(values.priority, "priority");
    const encode = (text: string) => (values.hex ? fromHex(text) : new TextEncoder().encode(text));
    using ch = open(address, { timeout, role: "writer" });
    const opts = { timeout, priority };
    if (messages.length > 0) {
      for (const m of messages) ch.send(encode(m), opts);
    } else {
      for await (const line of lines(process.stdin)) ch.send(encode(line), opts);
    }
    return EXIT.ok;
  });
}

/** The lines of a byte stream, without their line endings. */
async function* lines(stream: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, "");
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest.length > 0) yield rest;
}
