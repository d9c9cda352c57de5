/**
 * The `ipc-lab` command: dispatches to a subcommand.
 */
import { fileURLToPath } from "node:url";
import { bench } from "../bench/run.ts";
import { runtime, scriptCommand, spawnProcess, type RuntimeName } from "../ffi/process.ts";
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
export const usage = `usage: ipc-lab [--runtime bun|deno] COMMAND [ARGS]
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(6)} ${c.about}`)
  .join("\n")}
Addresses: see README ("Mechanisms and addresses")     (ipc-lab COMMAND --help for more)
`;

/** Run the command on the other runtime (same arguments), and return its exit code. */
async function onRuntime(which: string, argv: string[]): Promise<number> {
  if (which !== "bun" && which !== "deno") {
    process.stderr.write(`ipc-lab: --runtime must be bun or deno (got '${which}')\n`);
    return 2;
  }
  if (which === runtime) return main(argv);
  const entry = fileURLToPath(new URL("../bin/ipc-lab.ts", import.meta.url));
  try {
    return await spawnProcess(scriptCommand(entry, argv, which as RuntimeName)).exited;
  } catch (e) {
    process.stderr.write(`ipc-lab: cannot start ${which}: ${(e as Error).message} (npm install provides it; or set IPC_LAB_${which.toUpperCase()})\n`);
    return 127;
  }
}

/** Run the CLI with argv (without the runtime and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--runtime" || argv[0]?.startsWith("--runtime=")) {
    const [flag, ...more] = argv;
    const which = flag!.includes("=") ? flag!.slice("--runtime=".length) : more.shift();
    return onRuntime(which ?? "", more);
  }
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
