/**
 * The answer a user came for: which mechanism to use, on this machine, from this run's own
 * measurements and what each mechanism can and cannot do. One entry per need (lowest
 * latency, any language, many readers, many workers, across hosts, against the runtime's
 * own IPC); an entry whose rows this run did not measure is left out, never guessed.
 */
import type { Row } from "./measure.ts";
import { num, onOtherRuntime, us } from "./report.ts";

/** One need and this run's answer to it. */
export interface Recommendation {
  /** what the user wants, e.g. "two processes, lowest latency" */
  need: string;
  /** the mechanism to use (an address scheme, or a pattern of one) */
  pick: string;
  /** what it costs here, and the nearest alternatives' figures */
  figures: string;
  /** what the pick asks in return: the trade-off, in a sentence */
  tradeoff: string;
}

/** What each mechanism gives and asks, in a sentence (the trade-off a figure does not show). */
const traits: Record<string, string> = {
  shm: "a ring in shared memory: one machine; a C or Python peer follows its layout (docs/wire-formats.md)",
  memfd: "the same ring, anonymous: only for a child you start (spawnWithMemfd), nothing to leak",
  "sysv-shm": "the same ring under a System V key",
  "shm (semaphore)": "the ring, woken through POSIX semaphores instead of futexes",
  unix: "a unix socket: every language has one (u32 length + bytes), sees the peer exit, serves many clients",
  pipe: "a pipe: a parent and its child only",
  fifo: "a named pipe: one direction per end",
  mq: "a POSIX queue: outlives both processes, any process may read; 10 messages of 8 KiB by default",
  "sysv-mq": "a System V queue: typed messages, any process may read",
  "unix-dgram": "unix datagrams: one kernel message per message, no connection",
  tcp: "TCP: one peer at a time, and it crosses hosts",
  udp: "UDP: unreliable, a slow reader loses messages",
  nats: "NATS: subjects, wildcards, queue groups and durable queues across hosts; needs a nats-server",
  topic: "publish/subscribe in shared memory, up to 64 subscribers, each gets every message",
  "shm-queue": "a work queue in shared memory: each message to exactly one consumer",
  eventfd: "a counter, not bytes",
  sem: "a token, not bytes",
  signal: "7 bytes per signal",
  file: "an append-only log: readers keep their own offset",
};

/** The runtimes' own IPC the benchmark measures beside ipc-lab, by impl, in the words a user knows them by. */
const runtimeIpc: Record<string, string> = {
  "bun-ipc": "Bun.spawn IPC",
  "node-ipc-json": "Node's child_process IPC",
  "node-net": "node:net",
  "worker-postmessage": "a Worker's postMessage",
};

/** A ratio as "82×", or "1.4×" below 10. */
const times = (x: number) => `${x < 10 ? x.toFixed(1) : x.toFixed(0)}×`;

/** Round-trip figure of a row: p50 µs. */
const rtt = (r: Row) => `${us(r.p50_ns)} µs`;

/** The placement whose rows stand for "two processes as users run them": across CPUs if measured, else unpinned, else one CPU. */
function placementOf(rows: Row[]): string | undefined {
  const measured = new Set(rows.filter((r) => !r.skipped && r.p50_ns !== undefined).map((r) => r.placement));
  return ["cross-cpu", "unpinned", "same-cpu"].find((p) => measured.has(p as Row["placement"]));
}

/** The placement's words, for the heading. */
export const placementWords: Record<string, string> = {
  "cross-cpu": "processes on different CPUs",
  unpinned: "processes placed by the scheduler",
  "same-cpu": "both processes on one CPU",
};

/** Every need this run's rows can answer, with this run's figures. */
export function recommend(rows: Row[]): { placement: string; size: number; entries: Recommendation[] } | undefined {
  const placement = placementOf(rows);
  if (!placement) return undefined;
  const ok = rows.filter((r) => !r.skipped && !onOtherRuntime(r) && r.placement === placement);
  const size = ok.some((r) => r.size === 64) ? 64 : Math.min(...ok.map((r) => r.size));
  /** The sync round trip of an ipc-lab mechanism at the run's size (or its own, smaller one). */
  const roundTrip = (mechanism: string) =>
    ok.find((r) => r.impl === "ipc-lab" && r.mechanism === mechanism && r.pattern === "rtt" && r.mode === "sync" && (r.size === size || r.size < 64));
  /**
   * The candidates measured, fastest first — except that among those within 20% of the
   * fastest (a difference this machine's noise can make, or its wake-up cost hides) the
   * first in `candidates`' order leads: the lists name the more generally useful ones first.
   */
  const fastest = (candidates: string[]) => {
    const measured = candidates.map(roundTrip).filter((r): r is Row => r?.p50_ns !== undefined).sort((a, b) => a.p50_ns! - b.p50_ns!);
    const near = measured.filter((r) => r.p50_ns! <= measured[0]!.p50_ns! * 1.2);
    const lead = near.sort((a, b) => candidates.indexOf(a.mechanism) - candidates.indexOf(b.mechanism))[0];
    return lead ? [lead, ...measured.filter((r) => r !== lead)] : [];
  };
  const others = (list: Row[]) => (list.length ? ` (${list.map((r) => `${r.mechanism} ${rtt(r)}`).join(", ")})` : "");
  const entries: Recommendation[] = [];

  // in order of preference when figures tie: the addressable ring first, the socket first
  const ring = ["shm", "memfd", "sysv-shm", "shm (semaphore)"];
  const kernel = ["unix", "mq", "fifo", "tcp", "sysv-mq", "unix-dgram", "pipe"];
  const best = fastest([...ring, ...kernel])[0];
  if (best) {
    // beside it, the fastest of the other kind (the rings are one design under four names)
    const other = fastest(ring.includes(best.mechanism) ? kernel : ring)[0];
    entries.push({
      need: "two processes, lowest latency",
      pick: best.mechanism,
      figures: `${rtt(best)}${others(other ? [other] : [])}`,
      tradeoff: traits[best.mechanism] ?? "",
    });
  }
  const plain = fastest(kernel);
  if (plain[0] && plain[0] !== best) {
    entries.push({
      need: "any language, plain bytes",
      pick: plain[0].mechanism,
      figures: `${rtt(plain[0])}${others(plain.slice(1, 3))}`,
      tradeoff: traits[plain[0].mechanism] ?? "",
    });
  }
  const fanOut = ok.filter((r) => r.impl === "ipc-lab" && /^topic → \d+ subscribers?$/.test(r.mechanism) && r.p50_ns !== undefined);
  const widest = fanOut.sort((a, b) => Number(/\d+/.exec(b.mechanism)![0]) - Number(/\d+/.exec(a.mechanism)![0]))[0];
  if (widest) {
    const n = /\d+/.exec(widest.mechanism)![0];
    const nats = ok.find((r) => r.impl === "ipc-lab" && r.mechanism === `nats → ${n} subscribers` && r.p50_ns !== undefined);
    entries.push({
      need: "many readers, each gets every message",
      pick: "topic",
      figures: `${rtt(widest)} to the last of ${n} subscribers${nats ? ` (nats ${rtt(nats)})` : ""}`,
      tradeoff: traits.topic!,
    });
  }
  const workQueue = (m: string) => ok.find((r) => r.impl === "ipc-lab" && r.mechanism === `${m} (2 producers, 2 consumers)` && r.msgs_per_s !== undefined);
  const [sq, mq] = [workQueue("shm-queue"), workQueue("mq")];
  if (sq) {
    const vs = mq ? ` (mq ${num(mq.msgs_per_s)}; ${times(sq.msgs_per_s! / mq.msgs_per_s!)} as many)` : "";
    entries.push({
      need: "many workers, each message to one",
      pick: "shm-queue",
      figures: `${num(sq.msgs_per_s)} msg/s with 2 producers and 2 consumers${vs}`,
      tradeoff: traits["shm-queue"]!,
    });
  }
  const hosts = fastest(["nats", "tcp"]);
  if (hosts.length) {
    const nats = hosts.find((r) => r.mechanism === "nats");
    const tcp = hosts.find((r) => r.mechanism === "tcp");
    entries.push({
      need: "across hosts",
      pick: nats ? "nats" : "tcp",
      figures: nats ? `${rtt(nats)} through a local server${tcp ? ` (tcp ${rtt(tcp)} point to point)` : ""}` : `${rtt(tcp!)} point to point`,
      tradeoff: nats ? traits.nats! : `${traits.tcp!} (no nats-server here: install one for subjects and queue groups)`,
    });
  }
  const builtins = Object.entries(runtimeIpc)
    .map(([impl, name]) => ({ name, row: ok.find((r) => r.impl === impl && r.pattern === "rtt" && r.p50_ns !== undefined) }))
    .filter((b): b is { name: string; row: Row } => b.row !== undefined);
  if (best && builtins.length) {
    const named = builtins.map(({ name, row }) => `${name} ${rtt(row)} (${times(row.p50_ns! / best.p50_ns!)})`);
    entries.push({
      need: "against the runtime's own IPC",
      pick: best.mechanism,
      figures: `${rtt(best)}, against ${named.join(", ")}`,
      tradeoff: "those need no library, and carry objects (ipc-lab: open<T> with a codec); a Worker is a thread in the same process, not another process",
    });
  }
  return { placement, size, entries };
}

/** The recommendation as lines of at most `width` columns, for the terminal and report.md. */
export function recommendationLines(rows: Row[], width = 100): string[] {
  const r = recommend(rows);
  if (!r || !r.entries.length) return [];
  const out = [`Which to use, on this machine (this run: ${r.size} B round trips, p50, ${placementWords[r.placement]}):`];
  for (const e of r.entries) out.push(...wrapWords(`${e.need}: ${e.pick} — ${e.figures}. ${capital(e.tradeoff)}.`, width, "  ", "    "));
  return out;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Words wrapped into lines of at most `width` columns, never cut inside a word. */
export function wrapWords(text: string, width: number, first = "", rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/ +/).filter(Boolean)) {
    const indent = lines.length ? rest : first;
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else line = line.length > indent.length ? `${line} ${word}` : line + word;
  }
  lines.push(line);
  return lines;
}

/** The recommendation in Markdown: a heading and one item per need. */
export function recommendationMarkdown(rows: Row[]): string | undefined {
  const r = recommend(rows);
  if (!r || !r.entries.length) return undefined;
  return [
    `## Which to use, on this machine`,
    "",
    `From this run (${r.size} B round trips, p50, ${placementWords[r.placement]}):`,
    "",
    ...r.entries.map((e) => `- **${e.need}**: \`${e.pick}\` — ${e.figures}. ${capital(e.tradeoff)}.`),
  ].join("\n");
}
