/**
 * NATS across hosts, simulated on this machine: test hosts in network namespaces (a
 * "switch" namespace holding a bridge, one veth from each host to it), made and removed
 * here; only their own addresses (10.213.N.0/24) and loopback are used. The server runs
 * on one host, `ipc-lab serve` on a second, `ipc-lab request`, a publisher and subscribers
 * on a third; then a two-server NATS cluster (routes) with a publisher on one server and a
 * subscriber on the other. Skipped, saying why, where namespaces cannot be made (not root)
 * or no nats-server is installed.
 */
import { describe, expect, test } from "./support/harness.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildProcess, scriptCommand, spawnProcess } from "../ffi/process.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix, track } from "./support/leaks.ts";
import { type LineReader, lineReader } from "./support/lines.ts";
import { type NatsServer, natsSkip, startNatsServer } from "./support/nats-server.ts";
import { runSync } from "./support/run-sync.ts";
import { makeHosts, netnsUnavailable, type TestHosts } from "../bench/netns.ts";

const prefix = testPrefix("hosts");
const tag = `ipcl${process.pid % 100000}`;
const net = `10.213.${process.pid % 250}`;
const hostNames = ["a", "b", "c"] as const;
type Host = (typeof hostNames)[number];
const ipLab = fileURLToPath(new URL("../bin/ipc-lab.ts", import.meta.url));
const peerScript = fileURLToPath(new URL("./support/nats-peer.ts", import.meta.url));
const stopDir = mkdtempSync(join(tmpdir(), prefix));
let serial = 0;
let hosts: TestHosts | undefined;
const ns = (h: Host) => hosts!.names[hostNames.indexOf(h)]!;
const addr = (h: Host) => hosts!.addresses[hostNames.indexOf(h)]!;

const noNetns = natsSkip ? "" : netnsUnavailable(tag);
const skip = natsSkip || (noNetns && `${noNetns}: the cross-host NATS tests skip`);
if (skip) console.log(`skip: ${skip}`);

/** A process on a host. */
function on(h: Host, cmd: string[], env: Record<string, string> = {}): { child: ChildProcess; out: LineReader } {
  const child = track(spawnProcess(["ip", "netns", "exec", ns(h), ...cmd], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } }));
  return { child, out: lineReader(child.stdout!) };
}

describe.skipIf(!!skip)("NATS across network-namespace hosts", () => {
  const servers: NatsServer[] = [];

  test("make the hosts: a, b, c on a bridge, each with its own address", () => {
    hosts = makeHosts(tag, net, 3);
    for (const h of hostNames) expect(runSync("ip", ["-n", ns(h), "-4", "addr", "show", "eth0"]).stdout).toContain(`${addr(h)}/24`);
  });

  test("server on a, `ipc-lab serve -- tr` on b, `ipc-lab request` on c; a publisher on b reaches subscribers on c", async () => {
    const server = await startNatsServer({ netns: ns("a"), host: addr("a") });
    servers.push(server);
    const url = server.url;
    expect(url.startsWith(`nats://${addr("a")}:`)).toBeTrue();
    const serve = on("b", [...scriptCommand(ipLab, ["serve", `${url}/hosts.up`, "--", "tr", "a-z", "A-Z"])]);
    expect(await serve.out.line()).toBe(`${url}/hosts.up`);
    const ask = on("c", scriptCommand(ipLab, ["request", `${url}/hosts.up`, "across hosts"]));
    expect((await ask.out.rest()).trim()).toBe("ACROSS HOSTS");
    expect(await ask.child.exited).toBe(0);
    serve.child.kill("SIGINT");
    expect(await serve.child.exited).toBe(130);

    const stop = join(stopDir, `stop-${++serial}`);
    const subs = [1, 2].map(() => on("c", scriptCommand(peerScript, ["collect", `${url}/hosts.news`]), { NATS_PEER_STOP: stop }));
    for (const s of subs) expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
    const pub = on("b", scriptCommand(peerScript, ["publish", `${url}/hosts.news`, "100"]));
    expect(await pub.child.exited).toBe(0);
    for (const s of subs) {
      const got: string[] = [];
      while (got.length < 100) got.push((JSON.parse(await s.out.line()) as { m: string }).m);
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    }
    writeFileSync(stop, "");
    for (const s of subs) expect(await s.child.exited).toBe(0);
  });

  test("a two-server cluster: a publisher on a's server reaches a subscriber on b's server", async () => {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}cluster-`));
    const route = (h: Host) => `nats://${addr(h)}:6222`;
    const clusterArgs = (h: Host, other: Host) => ["--cluster_name", tag, "--cluster", route(h), "--routes", route(other)];
    const sa = await startNatsServer({ netns: ns("a"), host: addr("a"), noJetStream: true, args: clusterArgs("a", "b") });
    servers.push(sa);
    const sb = await startNatsServer({ netns: ns("b"), host: addr("b"), noJetStream: true, args: clusterArgs("b", "a") });
    servers.push(sb);
    const stop = join(stopDir, `stop-${++serial}`);
    // routes connect within a second or so: publish until the subscriber on b's server sees one
    const sub = on("c", scriptCommand(peerScript, ["collect", `${sb.url}/cluster.x`]), { NATS_PEER_STOP: stop });
    expect(JSON.parse(await sub.out.line())).toEqual({ ready: true });
    let seen = "";
    for (let i = 0; i < 50 && !seen; i++) {
      const pub = on("c", scriptCommand(peerScript, ["publish", `${sa.url}/cluster.x`, "1"]));
      expect(await pub.child.exited).toBe(0);
      const line = await Promise.race([sub.out.line(), new Promise<string>((r) => setTimeout(() => r(""), 200))]);
      if (line) seen = (JSON.parse(line) as { m: string }).m;
    }
    expect(seen).toBe("0");
    writeFileSync(stop, "");
    await sub.out.rest();
    expect(await sub.child.exited).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  test("remove the servers and the hosts", async () => {
    for (const s of servers.splice(0)) await s.stop();
    hosts!.remove();
    const left = runSync("ip", ["netns", "list"]).stdout.split("\n").filter((l) => l.startsWith(`${tag}-`));
    expect(left).toEqual([]);
  });
});

checkLeaks(prefix, [], () => {
  hosts?.remove(); // after a failed test: the namespaces go whatever happened
  rmSync(stopDir, { recursive: true, force: true });
});
