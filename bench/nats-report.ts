/**
 * What the NATS rows say (bench/nats.ts): the adapter against the official client doing the
 * same work (the "within 1.2× of the raw client" targets, judged in report.ts), and what
 * leaving shared memory costs — each NATS pattern beside its shared-memory counterpart.
 */
import type { Row } from "./measure.ts";

/** One comparison: two rows of one run and which way is better. */
export interface NatsPair {
  /** what is compared, in a few words */
  what: string;
  a: Row | undefined;
  b: Row | undefined;
  /** "latency": a's p50 over b's (> 1 slower); "rate": b's messages per second over a's (> 1 slower) */
  by: "latency" | "rate";
}

const find = (rows: Row[], placement: string, f: (r: Row) => boolean) => rows.find((r) => !r.skipped && r.placement === placement && f(r));

/** How many times slower a is than b (undefined when either is missing). */
export function slower(p: NatsPair): number | undefined {
  if (!p.a || !p.b) return undefined;
  return p.by === "latency" ? p.a.p50_ns! / p.b.p50_ns! : p.b.msgs_per_s! / p.a.msgs_per_s!;
}

/** The placements of the measured rows that `f` picks (the raw client's: only where bench/nats.ts ran). */
function placementsOf(rows: Row[], f: (mechanism: string) => boolean = (m) => m.startsWith("nats")): string[] {
  return [...new Set(rows.filter((r) => f(r.mechanism) && !r.skipped).map((r) => r.placement))];
}

/** ipc-lab on nats against the raw official client, per placement. */
export function adapterPairs(rows: Row[]): (NatsPair & { placement: string })[] {
  const local = placementsOf(rows, (m) => m.startsWith("nats raw") && !m.endsWith("across hosts")).flatMap((pl) => {
    const req = (impl: string, mode: string) =>
      find(rows, pl, (r) => r.pattern === "request" && r.mechanism === (impl === "raw" ? "nats raw" : "nats") && r.mode === mode);
    const row = (mechanism: string) => find(rows, pl, (r) => r.mechanism === mechanism);
    return [
      { what: "request/reply, 1 client (p50)", a: req("ipc-lab", "1 client"), b: req("raw", "1 client"), by: "latency" as const },
      { what: "request/reply, 8 clients (requests/s)", a: req("ipc-lab", "8 clients"), b: req("raw", "8 clients"), by: "rate" as const },
      { what: "pub/sub stream (msg/s), { thread: false }", a: row("nats pub/sub (thread: false)"), b: row("nats raw pub/sub"), by: "rate" as const },
      { what: "pub/sub stream (msg/s), sync calls (the NATS thread)", a: row("nats pub/sub"), b: row("nats raw pub/sub"), by: "rate" as const },
      { what: "publish → 1 subscriber → ack (p50)", a: row("nats → 1 subscriber"), b: row("nats raw → 1 subscriber"), by: "latency" as const },
      { what: "publish → 4 subscribers → acks (p50)", a: row("nats → 4 subscribers"), b: row("nats raw → 4 subscribers"), by: "latency" as const },
    ].map((p) => ({ ...p, placement: pl }));
  });
  // once per run, across network-namespace hosts (bench/nats.ts natsAcrossHosts)
  const across = placementsOf(rows, (m) => m.endsWith("across hosts")).flatMap((pl) => {
    const row = (mechanism: string) => find(rows, pl, (r) => r.mechanism === mechanism);
    return [
      { what: "across hosts: request/reply, 1 client (p50)", a: row("nats across hosts"), b: row("nats raw across hosts"), by: "latency" as const },
      {
        what: "across hosts: pub/sub stream, { thread: false }",
        a: row("nats pub/sub (thread: false) across hosts"),
        b: row("nats raw pub/sub across hosts"),
        by: "rate" as const,
      },
    ].map((p) => ({ ...p, placement: pl }));
  });
  return [...local, ...across];
}

/** Each NATS pattern beside its shared-memory counterpart, per placement. */
export function leavingPairs(rows: Row[]): (NatsPair & { placement: string })[] {
  return placementsOf(rows).flatMap((pl) => {
    const row = (mechanism: string, f: (r: Row) => boolean = () => true) => find(rows, pl, (r) => r.impl === "ipc-lab" && r.mechanism === mechanism && f(r));
    const sync = (r: Row) => r.mode === "sync" && r.size === 64;
    return [
      {
        what: "round trip, two processes (nats vs shm)",
        a: row("nats", (r) => r.pattern === "rtt" && sync(r)),
        b: row("shm", (r) => r.pattern === "rtt" && sync(r)),
        by: "latency" as const,
      },
      { what: "publish → 1 subscriber (nats vs topic)", a: row("nats → 1 subscriber"), b: row("topic → 1 subscriber"), by: "latency" as const },
      { what: "publish → 4 subscribers (nats vs topic)", a: row("nats → 4 subscribers"), b: row("topic → 4 subscribers"), by: "latency" as const },
      {
        what: "work queue 2×2 (nats queue group vs shm-queue)",
        a: row("nats queue group (2 producers, 2 consumers)"),
        b: row("shm-queue (2 producers, 2 consumers)"),
        by: "rate" as const,
      },
      {
        what: "work queue 2×2 (nats durable vs shm-queue)",
        a: row("nats durable queue (2 producers, 2 consumers)"),
        b: row("shm-queue (2 producers, 2 consumers)"),
        by: "rate" as const,
      },
      {
        what: "serve/request, 1 client (nats vs shm)",
        a: row("nats", (r) => r.pattern === "request" && r.mode === "1 client"),
        b: row("shm", (r) => r.pattern === "request" && r.mode === "1 client"),
        by: "latency" as const,
      },
    ].map((p) => ({ ...p, placement: pl }));
  });
}

const figure = (r: Row | undefined, by: NatsPair["by"]) =>
  !r ? "-" : by === "latency" ? `${(r.p50_ns! / 1000).toFixed(1)} µs` : `${(r.msgs_per_s! / 1000).toFixed(1)}k/s`;

/** The report's table: [comparison, placement, a, b, how many times slower]. */
export function natsTable(pairs: (NatsPair & { placement: string })[], a: string, b: string): string[][] {
  const rows = pairs.filter((p) => p.a || p.b).map((p) => {
    const x = slower(p);
    return [p.what, p.placement, figure(p.a, p.by), figure(p.b, p.by), x === undefined ? "-" : `${x.toFixed(1)}×`];
  });
  return rows.length ? [["comparison", "placement", a, b, "slower by"], ...rows] : [];
}
