/**
 * Counting mechanisms (eventfd counters, semaphores) opened for a two-process test: our end
 * and a peer (test/support/peer.ts) that sends or receives counts. Shared by the counting
 * conformance suite and the cross-runtime test.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildProcess, spawnProcess } from "../../ffi/process.ts";
import { type Channel, open } from "../../lib/index.ts";
import { type SpawnOptions, spawnWithEventfd } from "../../lib/public/mechanisms.ts";
import { expect } from "./harness.ts";
import { type LineReader, lineReader } from "./lines.ts";
import { privateDir, testPrefix, track } from "./leaks.ts";
import { peerCommand } from "./runtimes.ts";

/** The name prefix of every object made through this list. */
export const countingPrefix = testPrefix("count");
/** The private directory of this list (checked for leftovers at the end). */
export const countingDir = privateDir("count");
const peerScript = join(dirname(fileURLToPath(import.meta.url)), "peer.ts");

/** Our end, the peer, and its stdout lines. */
export interface CountingSession {
  here: Channel;
  peer: ChildProcess;
  out: LineReader;
}

/** How a counting mechanism is opened. */
export interface CountingMechanism {
  name: string;
  start(role: string, count?: number): CountingSession;
  /** the name the creator removes on close, and how to see it */
  exists?: (a: string) => boolean;
  /** a full channel can be reached with trySend (eventfd: at 2^64-2) */
  fill?(ch: Channel): void;
}

type Spawner = (cmd: string[], opts: SpawnOptions) => { channel: Channel; child: ChildProcess };

function inherited(name: string, spawn: Spawner, extra: Partial<CountingMechanism> = {}): CountingMechanism {
  return {
    name,
    start(role, count = 0) {
      const { channel, child } = spawn(peerCommand(peerScript, role, "inherit", String(count)), { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
      const peer = track(child);
      return { here: channel, peer, out: lineReader(peer.stdout!) };
    },
    ...extra,
  };
}

const fillEventfd = (ch: Channel) => {
  const max = new Uint8Array(8);
  new DataView(max.buffer).setBigUint64(0, 0xfffffffffffffffen, true);
  expect(ch.trySend(max)).toBeTrue();
};

/** A named counting mechanism: we create it, the peer opens it by address. */
function named(name: string, makeAddress: () => string, exists: (a: string) => boolean): CountingMechanism {
  return {
    name,
    exists,
    start(role, count = 0) {
      const here = open(makeAddress(), { create: true });
      const peer = track(spawnProcess(peerCommand(peerScript, role, here.address, String(count)), { stdio: ["pipe", "pipe", "inherit"] }));
      return { here, peer, out: lineReader(peer.stdout!) };
    },
  };
}

let serial = 0;
/** Every counting mechanism. */
export const countingMechanisms: CountingMechanism[] = [
  named("sem", () => `sem:/${countingPrefix}${++serial}`, (a) => existsSync(`/dev/shm/sem.${a.slice(5)}`)),
  inherited("eventfd", spawnWithEventfd, { fill: fillEventfd }),
  inherited("eventfd (semaphore mode)", (cmd, o) => spawnWithEventfd(cmd, { ...o, semaphore: true }), { fill: fillEventfd }),
];
