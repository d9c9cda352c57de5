/**
 * The `ipc-lab` command: dispatches to a subcommand.
 */
import { bench } from "../bench/run.ts";
import { info } from "./info.ts";
import { gc, ls } from "./names.ts";
import { recv } from "./recv.ts";
import { send } from "./send.ts";

const commands: Record<string, { run: (argv: string[]) => Promise<number>; about: string }> = {
  send: { run: send, about: "send messages to an address" },
  recv: { run: recv, about: "receive messages from an address (creating it if needed)" },
  bench: { run: bench, about: "measure every mechanism against C and the runtimes' IPC" },
  info: { run: info, about: "limits per mechanism on this machine, and what works here" },
  ls: { run: ls, about: "named objects ipc-lab created, and their owners" },
  gc: { run: gc, about: "remove the objects whose owner process is dead" },
};

/** Usage text of the whole command. */
export const usage = `usage: ipc-lab COMMAND [ARGS]
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(6)} ${c.about}`)
  .join("\n")}
Addresses: see README ("Mechanisms and addresses")     (ipc-lab COMMAND --help for more)
`;

/** Run the CLI with argv (without the runtime and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`ipc-lab: unknown command '${name}'\n${usage}`);
    return 2;
  }
  return command.run(rest);
}
