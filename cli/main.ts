/**
 * The `ipc-lab` command: dispatches to a subcommand.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sourceFile } from "../ffi/paths.ts";
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

/** Usage text of the whole command, with the address schemes (loaded only to print it). */
async function usage(): Promise<string> {
  const { schemes } = await import("../lib/open.ts");
  const list = Object.keys(schemes).map((s) => `${s}:`).join(" ");
  return `usage: ipc-lab [--runtime bun|deno|node] COMMAND [ARGS]     ipc-lab --version
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.about}`).join("\n")}
Addresses (SCHEME:WHERE; README "Mechanisms and addresses"):
  ${list.replace(/(.{1,88})( |$)/g, "$1\n  ").trimEnd()}
ipc-lab COMMAND --help for more.
`;
}

/** `ipc-lab 0.1.0 (bun 1.4.5)`: the package's version and the runtime running it. */
function version(): string {
  const { version } = JSON.parse(readFileSync(sourceFile("package.json"), "utf8")) as { version: string };
  const rt = process.versions.bun ?? process.versions.deno ?? process.versions.node;
  return `ipc-lab ${version} (${runtime} ${rt})\n`;
}

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
  if (name === "--version" || name === "-V") {
    process.stdout.write(version());
    return 0;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    (name ? process.stdout : process.stderr).write(await usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`ipc-lab: unknown command '${name}'\n${await usage()}`);
    return 2;
  }
  return (await command.load())(rest);
}
