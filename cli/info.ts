/**
 * `ipc-lab info`: the limits that matter per mechanism on this machine, and which
 * mechanisms work here (each is tried for real with a throwaway object).
 */
import { runtime } from "../ffi/process.ts";
import { readFileSync, statfsSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { mechanisms } from "../lib/mechanisms.ts";
import { open } from "../lib/open.ts";
import { natsUrlFromEnv } from "../lib/public/mechanisms.ts";
import { mqLimits, pipeMaxSize, procNumber, sysvMsgLimits } from "../lib/os/limits.ts";
import { EXIT, parse, runCommand } from "./args.ts";

/** A /proc number as its exact decimal digits (for values a double would round), or undefined. */
function exactProc(path: string): string | undefined {
  try {
    const v = readFileSync(path, "utf8").trim();
    return /^\d+$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Usage text. */
const infoUsage = `usage: ipc-lab info [--json]   limits per mechanism on this machine, and which mechanisms work here\n`;

function limit(name: string): string {
  const m = new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, "m").exec(readFileSync("/proc/self/limits", "utf8"));
  return m ? `${m[1]} (hard ${m[2]})` : "unknown";
}

/** Try each mechanism that can be created by address with a throwaway object: "ok" or why not. */
function probe(): Record<string, string> {
  const unique = { tag: `ipcl-info-${process.pid}`, dir: tmpdir(), key: 0x7000000 + (process.pid & 0xffffff) };
  const out: Record<string, string> = {};
  for (const m of mechanisms) {
    if (!m.sample) continue; // reached only by inheritance or from a parent
    const exclusive = m.options.includes("exclusive") ? { exclusive: true } : {};
    // a mechanism that needs a service (a NATS server) gets a second to find it
    const wait = m.traits.needs ? { timeout: 1000 } : {};
    try {
      open(m.sample({ ...unique, key: unique.key++ }), { create: true, ...exclusive, ...wait, ...m.small }).close();
      out[m.scheme] = m.traits.needs ? `ok (${m.traits.needs} answers)` : "ok";
    } catch (e) {
      out[m.scheme] = m.traits.needs ? `needs ${m.traits.needs}: ${(e as Error).message}` : (e as Error).message;
    }
  }
  return out;
}

/** `ipc-lab info`. */
export function info(argv: string[]): Promise<number> {
  return runCommand("info", infoUsage, () => {
    const { values } = parse(argv, { json: { type: "boolean" } });
    const mq = mqLimits();
    const sysv = sysvMsgLimits();
    const shm = statfsSync("/dev/shm");
    const facts = {
      runtime: `${runtime} ${process.versions.bun ?? process.versions.deno ?? process.versions.node ?? ""}`.trim(),
      cpus: cpus().length,
      pipe: { default_bytes: 65536, max_bytes: pipeMaxSize() },
      mq: { msg_max: mq.msgMax, msgsize_max: mq.msgsizeMax, queues_max: mq.queuesMax, rlimit_msgqueue: limit("Max msgqueue size") },
      sysv_mq: { msgmax: sysv.msgmax, msgmnb: sysv.msgmnb, msgmni: sysv.msgmni },
      // shmmax is often 2^64 - 2^24 - 1: beyond a double's 53 bits, so kept as its exact digits
      sysv_shm: { shmmax: exactProc("/proc/sys/kernel/shmmax"), shmmni: procNumber("/proc/sys/kernel/shmmni") },
      signals: { rlimit_sigpending: limit("Max pending signals") },
      dev_shm: { size_bytes: shm.blocks * shm.bsize, free_bytes: shm.bavail * shm.bsize },
      open_files: limit("Max open files"),
      nats_url: natsUrlFromEnv(),
      works_here: probe(),
      // how each mechanism that can serve many clients does it (serve/request, listen/connect)
      conversations: Object.fromEntries(mechanisms.filter((m) => m.converse).map((m) => [m.scheme, m.converse!.pattern])),
    };
    if (values.json) {
      process.stdout.write(JSON.stringify(facts, null, 2) + "\n");
      return EXIT.ok;
    }
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    process.stdout.write(
      [
        `runtime:      ${facts.runtime}`,
        `CPUs: ${facts.cpus}`,
        `pipe / fifo:  buffer 64 KiB by default, up to ${mb(facts.pipe.max_bytes)} (/proc/sys/fs/pipe-max-size)`,
        `mq:           msg_max ${mq.msgMax}, msgsize_max ${mq.msgsizeMax}, queues_max ${mq.queuesMax}, RLIMIT_MSGQUEUE ${facts.mq.rlimit_msgqueue}`,
        `sysv-mq:      msgmax ${sysv.msgmax}, msgmnb ${sysv.msgmnb}, msgmni ${sysv.msgmni}`,
        `sysv-shm:     shmmax ${facts.sysv_shm.shmmax}, shmmni ${facts.sysv_shm.shmmni}`,
        `signals:      RLIMIT_SIGPENDING ${facts.signals.rlimit_sigpending}`,
        `/dev/shm:     ${mb(facts.dev_shm.size_bytes)}, ${mb(facts.dev_shm.free_bytes)} free`,
        `open files:   ${facts.open_files}`,
        `NATS_URL:     ${facts.nats_url}${process.env.NATS_URL ? "" : " (not set: the default)"}`,
        "works here:",
        ...Object.entries(facts.works_here).map(([k, v]) => `  ${k.padEnd(11)} ${v}`),
        "serve / request (many clients):",
        ...Object.entries(facts.conversations).map(([k, v]) => `  ${k.padEnd(11)} ${v}`),
      ].join("\n") + "\n",
    );
    return EXIT.ok;
  });
}
