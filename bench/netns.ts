/**
 * Test hosts on this machine: network namespaces wired to a bridge (in a "switch"
 * namespace of its own), each with one address of a private /24 — for what crosses a
 * network (the NATS tests' and the benchmark's rows across hosts). Only these hosts'
 * addresses and loopback are used; remove() deletes them all (their veths and the
 * bridge go with them), as does the process's going without it (a stop signal, an exit).
 * Needs root (CAP_SYS_ADMIN) and iproute2.
 */
import { spawnSync } from "node:child_process";
import { onStop, watchStopSignals } from "../lib/os/stop.ts";

/** Hosts made by makeHosts: each one's namespace and address. */
export interface TestHosts {
  /** namespace names, host by host */
  readonly names: readonly string[];
  /** each host's address, in the same order */
  readonly addresses: readonly string[];
  /** remove every namespace (idempotent) */
  remove(): void;
}

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  return { ok: r.status === 0, err: (r.stderr ?? String(r.error ?? "")).trim() };
}

function must(...args: string[]): void {
  const r = ip(...args);
  if (!r.ok) throw new Error(`ip ${args.join(" ")}: ${r.err}`);
}

/** Why namespaces cannot be made here, or "" (tries one, and removes it). */
export function netnsUnavailable(tag: string): string {
  if (process.getuid?.() !== 0) return "not root: network namespaces need CAP_SYS_ADMIN";
  const probe = `${tag}-probe`;
  const r = ip("netns", "add", probe);
  if (!r.ok) return `ip netns add failed: ${r.err || "is iproute2 installed?"}`;
  ip("netns", "del", probe);
  return "";
}

/** `count` hosts `TAG-1…`, addresses NET.1…, on a bridge in `TAG-sw`. */
export function makeHosts(tag: string, net: string, count: number): TestHosts {
  const names = Array.from({ length: count }, (_, i) => `${tag}-${i + 1}`);
  const addresses = names.map((_, i) => `${net}.${i + 1}`);
  const all = [...names, `${tag}-sw`];
  const removeAll = () => void all.forEach((n) => ip("netns", "del", n));
  // a run stopped by a signal (or ending without remove()) takes its hosts with it
  watchStopSignals();
  const unhook = onStop(removeAll);
  const remove = () => {
    unhook();
    removeAll();
  };
  try {
    must("netns", "add", `${tag}-sw`);
    must("-n", `${tag}-sw`, "link", "add", "br0", "type", "bridge");
    must("-n", `${tag}-sw`, "link", "set", "br0", "up");
    names.forEach((n, i) => {
      must("netns", "add", n);
      must("-n", n, "link", "set", "lo", "up");
      must("-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", `p${i + 1}`, "netns", `${tag}-sw`);
      must("-n", `${tag}-sw`, "link", "set", `p${i + 1}`, "master", "br0");
      must("-n", `${tag}-sw`, "link", "set", `p${i + 1}`, "up");
      must("-n", n, "addr", "add", `${addresses[i]}/24`, "dev", "eth0");
      must("-n", n, "link", "set", "eth0", "up");
    });
  } catch (e) {
    remove();
    throw e;
  }
  return { names, addresses, remove };
}
