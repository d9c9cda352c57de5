/**
 * The `ipc-lab` command: dispatches to a subcommand.
 */
import { fileURLToPath } from "node:url";
import { runtime, type RuntimeName, scriptCommand, spawnProcess } from "../ffi/process.ts";

type Command = (argv: string[]) => Promise<number>;

// each command's modules load only when it runs: `ipc-lab ls` need not load the benchmark
const commands: Record<string, { load: () => Promise<Command>; about: string }> = {
  send: { load: async () => (await import("./send.ts")).send, about: "send messages to an address" },
  recv: { load: async () => (await import("./recv.ts")).recv, about: "receive messages from an address (creating it if needed)" },
  serve: { load: async () => (await import("./serve.ts")).serve, about: "answer requests at an address (-- COMMAND, or --echo)" },
  request: { load: async () => (await import("./request.ts")).request, about: "ask the server at an address; print its reply" },
  bench: { load: async () => (await import("../bench/run.ts")).bench, about: "measure every mechanism against C and the runtimes' IPC" },
  info: { load: async () => (await import("./info.ts")).info, about: "limits per mechanism on this machine, and what works here" },
  ls: { load: async () => (await import("./names.ts")).ls, about: "named objects ipc-lab created, and their owners" },
  gc: { load: async () => (await import("./names.ts")).gc, about: "remove the objects whose owner process is dead" },
};

/** Usage text of the whole command. */
export const usage = `usage: ipc-lab [--runtime bun|deno|node] COMMAND [ARGS]
${
  Object.entries(commands)
    .map(([name, c]) => `  ${name.padEnd(8)} ${c.about}`)
    .join("\n")
}
Addresses: see README ("Mechanisms and addresses")     (ipc-lab COMMAND --help for more)
`;

/** Run the command on the other runtime (same arguments), and return its exit code. */
async function onRuntime(which: string, argv: string[]): Promise<number> {
  if (which !== "bun" && which !== "deno" && which !== "node") {
    process.stderr.write(`ipc-lab: --runtime must be bun, deno or node (got '${which}')\n`);
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
  return (await command.load())(rest);
}
