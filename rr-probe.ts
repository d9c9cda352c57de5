import { Client, serve } from "./lib/index.ts";
for (const a of [`mq:/rrp${process.pid}`, `unix:/tmp/rrp${process.pid}.sock`, `fifo:/tmp/rrp${process.pid}.fifo`, `sysv-mq:${7100000 + (process.pid % 1000)}`]) {
  const server = serve(a, (r: Uint8Array) => r);
  const c = new Client(server.address);
  const msg = new Uint8Array(64);
  for (let i = 0; i < 300; i++) await c.request(msg);
  const t: number[] = [];
  for (let i = 0; i < 1000; i++) { const t0 = performance.now(); await c.request(msg); t.push((performance.now() - t0) * 1000); }
  t.sort((x, y) => x - y);
  console.log(a.split(":")[0], "p50", t[500]!.toFixed(1), "µs p99", t[990]!.toFixed(1));
  c.close(); server.close(); await server.done;
}
