/**
 * The child of the runtime-IPC baselines: `ipc` echoes process.send messages; `node-net`
 * `bun-socket` and `deno-unix` echo bytes on a unix socket at PATH (printing "listening"
 * when ready).
 * BENCH_CPU pins it.
 */
import { pinProcess } from "./usage.ts";

const [kind, path] = process.argv.slice(2);
if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
if (kind === "ipc") {
  process.on("message", (m) => process.send!(m));
} else if (kind === "node-net") {
  const net = await import("node:net");
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d) => s.write(d));
    s.on("close", () => server.close());
  });
  server.listen(path!, () => console.log("listening"));
} else if (kind === "deno-unix") {
  const { unlinkSync } = await import("node:fs");
  const { denoEchoServer } = await import("./deno-net.ts");
  await denoEchoServer(path!, () => console.log("listening"));
  unlinkSync(path!);
} else if (kind === "bun-socket") {
  const { unlinkSync } = await import("node:fs");
  Bun.listen({ unix: path!, socket: { data: (s, d) => void s.write(d), close: () => process.exit(0) } });
  console.log("listening");
  process.on("exit", () => unlinkSync(path!));
}
