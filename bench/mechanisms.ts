/**
 * How the benchmark opens each mechanism for a two-process run: our send and receive
 * ends, and how to start the peer. Duplex mechanisms use one object; one-way mechanisms
 * (FIFO, POSIX queue) use two, one per direction.
 */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { open, spawnWithPipes, type Channel } from "../lib/index.ts";

const peerScript = join(import.meta.dir, "peer.ts");

/** A running benchmark pair. */
export interface BenchPair {
  tx: Channel;
  rx: Channel;
  peer: Bun.Subprocess;
  close(): Promise<void>;
}

/** A mechanism the benchmark knows how to set up. */
export interface BenchMechanism {
  name: string;
  /** start the peer in `mode` (echo | sink) with extra args */
  start(mode: string, args: string[]): BenchPair;
}

function pair(tx: Channel, rx: Channel, peer: Bun.Subprocess): BenchPair {
  return {
    tx,
    rx,
    peer,
    async close() {
      tx.close();
      rx.close();
      // a POSIX queue never reports EOF, so an echo peer there would wait forever
      peer.kill();
      await peer.exited;
    },
  };
}

const tag = `ipcl-bench-${process.pid}`;
let serial = 0;

function spawnPeer(mode: string, inAddr: string, outAddr: string, args: string[]): Bun.Subprocess {
  return Bun.spawn([process.execPath, peerScript, mode, inAddr, outAddr, ...args], { stdio: ["ignore", "inherit", "inherit"] });
}

/** Two named one-way objects: ours to send on (peer reads), and ours to read (peer sends). */
function oneWay(scheme: string, address: () => string): BenchMechanism {
  return {
    name: scheme,
    start(mode, args) {
      const toPeer = address();
      const fromPeer = address();
      const tx = open(toPeer, { create: true });
      // open our read end now (never blocks), so the peer's writer can open at once
      const rx = open(fromPeer, { create: true, role: "reader" });
      return pair(tx, rx, spawnPeer(mode, toPeer, fromPeer, args));
    },
  };
}

/** Every mechanism the demo runs. */
export const benchMechanisms: BenchMechanism[] = [
  {
    name: "pipe",
    start(mode, args) {
      const { channel, child } = spawnWithPipes([process.execPath, peerScript, mode, "inherit", "inherit", ...args]);
      return pair(channel, channel, child);
    },
  },
  oneWay("fifo", () => `fifo:${join(tmpdir(), `${tag}-${++serial}`)}`),
  oneWay("mq", () => `mq:/${tag}-${++serial}`),
  {
    name: "shm",
    start(mode, args) {
      const address = `shm:/${tag}-${++serial}`;
      const ch = open(address, { create: true });
      return pair(ch, ch, spawnPeer(mode, address, address, args));
    },
  },
];
