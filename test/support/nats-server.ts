/**
 * The NATS tests' nats-server: bench/nats-server.ts's, its process tracked for the leak
 * check and its directory named with the test's prefix. Where none is installed, natsSkip
 * says what to install (printed once) and the NATS tests skip.
 */
import { natsMissing, type NatsServer, type NatsServerOptions, startNatsServer as start } from "../../bench/nats-server.ts";
import { testPrefix, track } from "./leaks.ts";

export type { NatsServer };

/** Why the NATS tests skip here, or "" when they run. */
export const natsSkip = natsMissing ? `${natsMissing}: the NATS tests skip (.ci/run installs it)` : "";
/** Say (once per process) that the NATS tests skip, and why: called by the test files that run them, not on import (probe scripts import this and print JSON). */
export function sayIfNatsSkips(): void {
  if (natsSkip && !said) console.log(`skip: ${natsSkip}`);
  said = true;
}
let said = false;

/** A test's nats-server (see bench/nats-server.ts). */
export function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  return start({ prefix: testPrefix("nats"), onSpawn: (c) => void track(c), ...opts });
}
