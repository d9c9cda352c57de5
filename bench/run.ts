/**
 * `npm run bench`: two processes exchange messages over each mechanism and the table shows
 * round-trip latency percentiles and one-way throughput per mechanism.
 * Options: --quick (10 000 messages instead of 100 000), --mech pipe,shm, --size BYTES.
 */
import { cpus, release } from "node:os";
import { parseArgs } from "node:util";
import { benchMechanisms, type BenchPair } from "./mechanisms.ts";
import { summarize } from "./stats.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    mech: { type: "string" },
    size: { type: "string" },
    count: { type: "string" },
  },
});
const count = Number(values.count ?? (values.quick ? 10_000 : 100_000));
const size = Number(values.size ?? 64);
const wanted = values.mech?.split(",");
const warmup = Math.min(1000, count / 10);

/** Round trips: send, wait for the echo, one sample per message. */
function roundTrips(p: BenchPair): Float64Array {
  const msg = new Uint8Array(size);
  const buf = new Uint8Array(p.rx.caps.maxMessageSize);
  for (let i = 0; i < warmup; i++) {
    p.tx.send(msg);
    p.rx.recvInto(buf);
  }
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = Bun.nanoseconds();
    p.tx.send(msg);
    p.rx.recvInto(buf);
    samples[i] = Bun.nanoseconds() - t0;
  }
  return samples;
}

/** One-way stream: count messages, then the peer's ack; returns messages per second. */
function stream(p: BenchPair): number {
  const msg = new Uint8Array(size);
  p.rx.recv({ timeout: 60_000 }); // the peer is up and listening
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < count; i++) p.tx.send(msg);
  p.rx.recv({ timeout: 60_000 });
  return count / ((Bun.nanoseconds() - t0) / 1e9);
}

const fmtUs = (ns: number) => (ns / 1000).toFixed(1).padStart(8);
const rows: string[] = [];
const header = `${"mechanism".padEnd(10)}${"p50 µs".padStart(8)}${"p99 µs".padStart(8)}${"p99.9 µs".padStart(10)}${"msg/s".padStart(12)}${"MB/s".padStart(9)}`;
console.log(`ipc-lab demo: ${count} round trips and ${count} one-way messages of ${size} B per mechanism`);
console.log(`${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Linux ${release()}, Bun ${Bun.version}, unpinned, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(header);
for (const m of benchMechanisms) {
  if (wanted && !wanted.includes(m.name)) continue;
  const echo = m.start("echo", []);
  const lat = summarize(roundTrips(echo));
  await echo.close();
  const sink = m.start("sink", [String(count)]);
  const rate = stream(sink);
  await sink.close();
  const row = `${m.name.padEnd(10)}${fmtUs(lat.p50_ns)}${fmtUs(lat.p99_ns)}${fmtUs(lat.p999_ns).padStart(10)}${Math.round(rate).toLocaleString("en").padStart(12)}${((rate * size) / 1e6).toFixed(1).padStart(9)}`;
  rows.push(row);
  console.log(row);
}
