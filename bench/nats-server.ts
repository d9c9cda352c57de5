/**
 * A real nats-server for the benchmark's nats rows and the NATS tests: found on PATH or in
 * /usr/sbin (Debian's nats-server package; .ci/run installs it), started on a free port with
 * JetStream in a temporary directory, stopped (and its directory removed) by stop() — or,
 * killed, when the process that started it goes without stop() (a stop signal, an exit).
 * Where none is installed, natsMissing says what to install.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ChildProcess, sleepSync, spawnProcess } from "../ffi/process.ts";
import { alive } from "../lib/names/registry.ts";
import { onStop, watchStopSignals } from "../lib/os/stop.ts";

/** The nats-server binary, or undefined. */
export const natsServerBinary: string | undefined = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"]
  .map((d) => join(d, "nats-server"))
  .find((p) => p.startsWith("/") && existsSync(p));

/** Why nothing NATS runs here, or "" when a server can be started. */
export const natsMissing = natsServerBinary ? "" : "no nats-server on PATH or in /usr/sbin (apt-get install -y nats-server)";

/** A running server. */
export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** its process id now (a restart starts a new process) */
  readonly pid: number;
  /** stop it (SIGTERM, then SIGKILL) and wait until it has gone */
  stop(): Promise<void>;
  /** stop it and start it again on the same port and store (JetStream keeps what it stored) */
  restart(): Promise<void>;
  /** how many connections subscribe to exactly `subject` now (the server's monitoring: /connz?subs=1) */
  subscribers(subject: string): Promise<number>;
}

let serial = 0;

/** How to start one: where (host, a network namespace), with what extra arguments, and who tracks the process. */
export interface NatsServerOptions {
  /** the address it listens on (default 127.0.0.1) */
  host?: string;
  /** more nats-server arguments (a config file, routes) */
  args?: string[];
  /** run it inside this network namespace (ip netns exec) */
  netns?: string;
  /** a name prefix for its temporary directory */
  prefix?: string;
  /** told of each process started (a test's leak tracking) */
  onSpawn?: (child: ChildProcess) => void;
  /** without JetStream (a cluster of two cannot elect JetStream's leader) */
  noJetStream?: boolean;
}

/**
 * The client and monitoring ports in a server's ports file, or undefined while it is not
 * whole: the server writes it in place, so a look can find it empty or half written.
 */
export function portsIn(file: string): [number, number] | undefined {
  try {
    const ports = JSON.parse(readFileSync(file, "utf8")) as { nats: string[]; monitoring: string[] };
    return [Number(new URL(ports.nats[0]!).port), Number(new URL(ports.monitoring[0]!).port)];
  } catch {
    return undefined;
  }
}

/** Start a nats-server with JetStream on a free port (listening on `host`), with extra arguments. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  if (!natsServerBinary) throw new Error(natsMissing);
  const dir = mkdtempSync(join(tmpdir(), `${opts.prefix ?? `ipcl-nats-${process.pid}-`}${++serial}-`));
  const host = opts.host ?? "127.0.0.1";
  let port = -1;
  let monitor = -1;
  let starts = 0;
  let child: ChildProcess;
  const launch = async () => {
    // the log goes to a file: a pipe we stopped reading would kill the server (SIGPIPE) when it next logs
    const log = join(dir, `server-${++starts}.log`);
    const cmd = [
      natsServerBinary!,
      "-a",
      host,
      "-p",
      String(port),
      "-m",
      String(monitor),
      ...(opts.noJetStream ? [] : ["-js", "-sd", join(dir, "js")]),
      "--ports_file_dir",
      dir,
      "-l",
      log,
      ...(opts.args ?? []),
    ];
    child = spawnProcess(opts.netns ? ["ip", "netns", "exec", opts.netns, ...cmd] : cmd, { stdio: ["ignore", "ignore", "ignore"] });
    opts.onSpawn?.(child);
    const logs = async () => (existsSync(log) ? readFileSync(log, "utf8") : "");
    const deadline = performance.now() + 10_000;
    for (;;) {
      const file = readdirSync(dir).find((f) => f.endsWith(".ports"));
      if (file && port < 0) {
        const ports = portsIn(join(dir, file));
        if (ports) [port, monitor] = ports;
      }
      if (port > 0 && (await logs()).includes("Server is ready")) return;
      if (child.exitCode !== null || performance.now() > deadline) {
        // a server that came up too late is still ours to end: it would hold its ports
        child.kill(9);
        await child.exited;
        throw new Error(`nats-server did not start: ${await logs()}`);
      }
      await sleep(20);
    }
  };
  const halt = async () => {
    child.kill(15);
    const done = await Promise.race([child.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done) {
      child.kill(9);
      await child.exited;
    }
    for (const f of readdirSync(dir)) if (f.endsWith(".ports")) rmSync(join(dir, f));
  };
  try {
    await launch();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // a run stopped by a signal (or ending without stop()) takes its server and store with it
  watchStopSignals();
  const unhook = onStop(() => {
    child.kill(9);
    for (const until = performance.now() + 2000; alive(child.pid!) && performance.now() < until;) sleepSync(5);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get url() {
      return `nats://${host}:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child.pid!;
    },
    async stop() {
      unhook();
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await launch();
    },
    async subscribers(subject: string) {
      const connz = (await (await fetch(`http://${host}:${monitor}/connz?subs=1`)).json()) as { connections: { subscriptions_list?: string[] }[] };
      return connz.connections.filter((c) => c.subscriptions_list?.includes(subject)).length;
    },
  };
}
