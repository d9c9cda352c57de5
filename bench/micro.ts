/**
 * Microbenchmarks (tinybench): one FFI call, framing over a pipe, a ring push/pop inside
 * one process, address parsing — the per-message costs ipc-lab adds on top of the kernel.
 *   bun bench/micro.ts [--time MS]
 */
import { Bench } from "tinybench";
import { libc, shim } from "../ffi/runtime.ts";
import { open, parseAddress } from "../lib/index.ts";
import { pipePair } from "../lib/public/mechanisms.ts";

const time = Number(process.argv[process.argv.indexOf("--time") + 1] || 300);
const bench = new Bench({ time, warmupTime: 100 });

const name = `shm:/ipcl-micro-${process.pid}`;
const a = open(name, { create: true });
const b = open(name);
const msg = new Uint8Array(64);
const buf = new Uint8Array(a.caps.maxMessageSize);
const [p, q] = pipePair();
const pbuf = new Uint8Array(p.caps.maxMessageSize);
const w32 = new Uint32Array(new ArrayBuffer(64));

bench
  .add("FFI: getpid() (trivial syscall wrapper)", () => {
    libc.getpid();
  })
  .add("FFI: ipcl_cpus_allowed() (a real syscall)", () => {
    shim.ipcl_cpus_allowed();
  })
  .add("Atomics.load + store on a Uint32Array", () => {
    Atomics.store(w32, 0, Atomics.load(w32, 1) + 1);
  })
  .add("ring: send 64 B + recvInto (one process)", () => {
    a.send(msg);
    b.recvInto(buf);
  })
  .add("ring: trySend + tryRecvInto (one process)", () => {
    a.trySend(msg);
    b.tryRecvInto(buf);
  })
  .add("pipe: framed send 64 B + recvInto (one process)", () => {
    p.send(msg);
    q.recvInto(pbuf);
  })
  .add("parseAddress('mq:/jobs')", () => {
    parseAddress("mq:/jobs");
  });

await bench.run();
console.table(bench.table());
for (const c of [a, b, p, q]) c.close();
