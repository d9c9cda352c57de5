/**
 * System limits that decide what a mechanism can do on this machine, read from /proc.
 */
import { readFileSync } from "node:fs";

/** A number from a /proc file, or undefined when the file is missing. */
export function procNumber(path: string): number | undefined {
  try {
    const v = Number(readFileSync(path, "utf8").trim().split(/\s+/)[0]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** POSIX message queue limits (/proc/sys/fs/mqueue). */
export function mqLimits(): { msgMax: number; msgsizeMax: number; msgDefault: number; msgsizeDefault: number; queuesMax: number } {
  const base = "/proc/sys/fs/mqueue/";
  return {
    msgMax: procNumber(base + "msg_max") ?? 10,
    msgsizeMax: procNumber(base + "msgsize_max") ?? 8192,
    msgDefault: procNumber(base + "msg_default") ?? 10,
    msgsizeDefault: procNumber(base + "msgsize_default") ?? 8192,
    queuesMax: procNumber(base + "queues_max") ?? 256,
  };
}

/** Largest pipe buffer an unprivileged process may ask for (/proc/sys/fs/pipe-max-size). */
export function pipeMaxSize(): number {
  return procNumber("/proc/sys/fs/pipe-max-size") ?? 1 << 20;
}

/** System V message queue limits (/proc/sys/kernel/msgmax, msgmnb, msgmni). */
export function sysvMsgLimits(): { msgmax: number; msgmnb: number; msgmni: number } {
  return {
    msgmax: procNumber("/proc/sys/kernel/msgmax") ?? 8192,
    msgmnb: procNumber("/proc/sys/kernel/msgmnb") ?? 16384,
    msgmni: procNumber("/proc/sys/kernel/msgmni") ?? 32000,
  };
}
