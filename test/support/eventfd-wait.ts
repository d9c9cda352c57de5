/**
 * A process that waits for one value on its inherited eventfd with no timeout, then prints
 * it: test/eventfd.test.ts reads /proc/PID/syscall meanwhile to see what the wait sleeps in.
 */
import { writeSync } from "node:fs";
import { open } from "../../lib/index.ts";
import { readCounter } from "../../lib/public/mechanisms.ts";

using ch = open(process.env.IPC_LAB_CHANNEL!);
writeSync(1, "waiting\n"); // not process.stdout: the JS thread blocks next, before any flush
writeSync(1, `${readCounter(ch.recv())}\n`);
