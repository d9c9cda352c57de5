/**
 * Signals as a channel: `signal:PID[:SIGNAL]`, PID a number or `self`, SIGNAL a name such
 * as SIGRTMIN+1 (the default) or SIGUSR1.
 *
 * Realtime signals carry a payload in the 8-byte sigval: bytes 0..6 are the message, byte
 * 7 its length — so a message holds 0..7 bytes. Standard signals (SIGUSR1, SIGUSR2) carry
 * nothing and merge: several sent before the receiver takes one arrive as one
 * (caps.boundaries "token", caps.reliable false).
 *
 * Receiving (`signal:self`; a numeric PID, even this process's own, only sends): the shim starts a thread named ipcl-sig-N that keeps the signal
 * blocked and takes it with sigwaitinfo(2), writing one record per signal into a pipe that
 * recv reads (process.on cannot catch realtime signals). Sending: ipc-lab finds that
 * thread in /proc/PID/task/<tid>/comm and queues the signal to it (rt_tgsigqueueinfo,
 * si_code SI_QUEUE as sigqueue(3) sets it): the kernel keeps the order, and when the reader
 * falls behind, the pipe fills, the thread waits, the signals stay queued, and the sender
 * meets EAGAIN (send waits, trySend is false) — flow control, no loss. A plain sigqueue(3)
 * or kill(2) from another program reaches the receiver too (a handler on whichever thread
 * it lands writes its record without waiting); if the pipe is full then, that signal is
 * dropped, and recv reports it as IpcError ENOBUFS — never silently. After close() the
 * signal is ignored (SIG_IGN), so a late sender cannot kill the process.
 */
import { C, fact, layout } from "../../ffi/facts.ts";
import { readdirSync, readFileSync } from "node:fs";
import { cstr, libc, shim, sys } from "../../ffi/runtime.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import type { Address } from "../address.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { checkNeg, errnoError, ipcError, tooBigKept } from "../errors.ts";
import { pipeMaxSize } from "../os/limits.ts";
import { deadlineIn, retryUntil } from "../os/wait.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";

/** Options for signal channels. */
export interface SignalOptions {
  /** milliseconds send waits while the receiver's queue is full (RLIMIT_SIGPENDING) */
  timeout?: number;
}

const RECORD = layout("sigrecord", ["signo", "code", "pid", "uid", "value"]);
const SI_QUEUE = fact("SI_QUEUE"); // si_code of sigqueue(3)
/** Signals the runtimes handle themselves (faults and aborts, and Bun's SIGPWR and SIGSYS), refused outright. */
const RUNTIME_SIGNALS = new Set(["SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV", "SIGPWR", "SIGSYS"].map(fact));
const named: Record<string, number> = { SIGUSR1: fact("SIGUSR1"), SIGUSR2: fact("SIGUSR2") };
/** Payload bytes a realtime signal carries (the 8th byte of sigval holds the length). */
export const SIGNAL_PAYLOAD_MAX = 7;

/** Parse SIGRTMIN+N / SIGRTMAX-N / SIGUSR1 / SIGUSR2 / a number. */
export function signalNumber(text: string, address: string): number {
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(text);
  let n: number | undefined;
  if (rt) n = (rt[1] === "MIN" ? C.SIGRTMIN : C.SIGRTMAX) + (rt[2] === "-" ? -1 : 1) * Number(rt[3] ?? 0);
  else if (/^\d+$/.test(text)) n = Number(text);
  else n = named[text];
  if (n === undefined || n < 1 || n > C.SIGRTMAX) {
    throw ipcError(
      "EADDRESS",
      "parseAddress",
      address,
      `'${text}' is not a usable signal: use SIGRTMIN+N (N = 0..${C.SIGRTMAX - C.SIGRTMIN}), SIGUSR1 or SIGUSR2`,
    );
  }
  if (RUNTIME_SIGNALS.has(n)) throw ipcError("EINVAL", "sigaction", address, `signal ${n} is used by the JavaScript runtime itself: use SIGRTMIN+N`);
  if (n === C.IPCL_WAKE_SIGNAL) {
    throw ipcError(
      "EINVAL",
      "sigaction",
      address,
      `signal ${n} (SIGRTMAX) is what ipc-lab uses to end blocked calls on Ctrl-C: use SIGRTMIN+N with N below ${C.SIGRTMAX - C.SIGRTMIN}`,
    );
  }
  return n;
}

function parse(addr: Address): { pid: number; self: boolean; signo: number } {
  const [who, sig = "SIGRTMIN+1", extra] = addr.name.split(":");
  if (extra !== undefined || !who || !(who === "self" || /^\d+$/.test(who))) {
    throw ipcError(
      "EADDRESS",
      "parseAddress",
      addr.text,
      `invalid address '${addr.text}': expected signal:PID[:SIGNAL] or signal:self[:SIGNAL], e.g. signal:self:SIGRTMIN+1`,
    );
  }
  return { pid: who === "self" ? process.pid : Number(who), self: who === "self", signo: signalNumber(sig, addr.text) };
}

const listening = new Set<number>();

/** The tid of the ipcl-sig-N thread of process pid, or 0 if it has none (not an ipc-lab receiver). */
function listenerThread(pid: number, signo: number): number {
  const want = `ipcl-sig-${signo}`;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        if (readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() === want) return Number(tid);
      } catch {
        // the thread ended while we looked
      }
    }
  } catch {
    // no such process: sending will say so
  }
  return 0;
}

/** RLIMIT_SIGPENDING of this process ("Max pending signals" in /proc/self/limits). */
function pendingLimit(): number {
  const m = /^Max pending signals\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  return m ? Number(m[1]) : Infinity;
}

/** Sending to a process, or (signal:self) receiving. */
export class SignalChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  /** the process signals go to */
  readonly pid: number;
  /** the signal number */
  readonly signo: number;
  readonly #realtime: boolean;
  #rfd = -1;
  #wfds: number[] = [];
  readonly #records: Uint8Array;
  #start = 0;
  #end = 0;
  #lostSeen = 0;
  #tid = 0;
  #tidCheckedAt = -Infinity;
  readonly #value = new Uint8Array(8);
  /** sender pid of the last message received */
  lastSender = 0;

  constructor(addr: Address, _opts: SignalOptions) {
    const { pid, self, signo } = parse(addr);
    super(addr.text);
    this.pid = pid;
    this.signo = signo;
    this.#realtime = signo >= C.SIGRTMIN;
    const receiving = self; // signal:self listens; a numeric pid (even our own) only sends
    this.#records = new Uint8Array(receiving ? RECORD.size * 4096 : 0);
    let capacity = pendingLimit();
    if (receiving) capacity = this.#listen(addr.text);
    this.caps = {
      mechanism: "signal",
      maxMessageSize: this.#realtime ? SIGNAL_PAYLOAD_MAX : 0,
      duplex: false,
      boundaries: this.#realtime ? "kernel" : "token",
      capacity,
      capacityUnit: "messages",
      crossesHosts: false,
      detectsPeerExit: false,
      reliable: this.#realtime,
    };
  }

  /** Start the listener thread; returns how many records the pipe holds. */
  #listen(address: string): number {
    const signo = this.signo;
    if (listening.has(signo)) throw ipcError("EBUSY", "sigaction", address, `this process already receives signal ${signo} on another channel: close it first`);
    if (shim.ipcl_signal_in_use(signo) === 1) {
      throw ipcError(
        "EBUSY",
        "sigaction",
        address,
        `signal ${signo} already has a handler in this process (the runtime's or the program's): pick another SIGRTMIN+N`,
      );
    }
    const fds = new Int32Array(2);
    checkNeg(sys.pipe2(fds, C.O_CLOEXEC), "pipe2", address);
    const [rfd, wfd] = [fds[0]!, fds[1]!];
    // a second open file description of the write end, non-blocking, for the signal handler
    const nbWfd = shim.ipcl_open(cstr(`/proc/self/fd/${wfd}`), C.O_WRONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0);
    if (nbWfd < 0) {
      libc.close(rfd);
      libc.close(wfd);
      throw errnoError(-nbWfd, "open(/proc/self/fd)", address);
    }
    libc.fcntl(rfd, C.F_SETFL, libc.fcntl(rfd, C.F_GETFL, 0) | C.O_NONBLOCK);
    libc.fcntl(wfd, C.F_SETPIPE_SZ, pipeMaxSize());
    this.#rfd = rfd;
    this.#wfds = [wfd, nbWfd];
    const r = shim.ipcl_signal_start(signo, wfd, nbWfd);
    if (r < 0) {
      this.closeImpl();
      throw errnoError(-r, "sigaction", address);
    }
    this.#lostSeen = shim.ipcl_signal_overflow(signo);
    listening.add(signo);
    return Math.floor(libc.fcntl(wfd, C.F_GETPIPE_SZ, 0) / RECORD.size);
  }

  /** One attempt to deliver: 0, or -errno. */
  #deliver(v: Uint8Array): number {
    // look for the receiver's listener thread; while it has none, look again every 100 ms
    if (this.#tid === 0 && performance.now() - this.#tidCheckedAt > 100) {
      this.#tid = listenerThread(this.pid, this.signo);
      this.#tidCheckedAt = performance.now();
    }
    const tid = this.#tid;
    if (tid > 0) {
      const r = this.#realtime ? shim.ipcl_sigqueue_thread(this.pid, tid, this.signo, v) : shim.ipcl_tgkill(this.pid, tid, this.signo);
      if (r !== -C.ESRCH) return r;
      this.#tid = listenerThread(this.pid, this.signo); // the listener was restarted, or is gone
      if (this.#tid > 0) return this.#deliver(v);
    }
    if (this.#realtime) return shim.ipcl_sigqueue(this.pid, this.signo, v);
    return sys.kill(this.pid, this.signo);
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    const v = this.#value;
    v.fill(0);
    v.set(msg);
    v[7] = msg.byteLength;
    // no blocking form exists: while the receiver's queue is full (EAGAIN), retry with
    // back-off — but the usual case, delivered at the first try, costs one call and no closure
    const first = this.#attempt(v);
    if (first !== undefined || timeout === 0) return first === true;
    return retryUntil(timeout, () => this.#attempt(v)) === true;
  }

  /** One delivery: true, undefined while the receiver's queue is full, or throws. */
  #attempt(v: Uint8Array): true | undefined {
    const r = this.#deliver(v);
    if (r === 0) return true;
    if (r === -C.EAGAIN) return undefined;
    throw errnoError(-r, this.#realtime ? "sigqueue" : "kill", this.address, r === -C.ESRCH ? `process ${this.pid} does not exist (it exited?)` : undefined);
  }

  #receiving(op: string): void {
    if (this.#rfd < 0) throw ipcError("EBADF", op, this.address, `${this.address} sends to process ${this.pid}; receive with signal:self:${this.signo}`);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    this.#receiving("recv");
    const lost = shim.ipcl_signal_overflow(this.signo);
    if (lost !== this.#lostSeen) {
      const n = lost - this.#lostSeen;
      this.#lostSeen = lost;
      throw ipcError(
        "ENOBUFS",
        "recv",
        this.address,
        `${n} signal(s) sent without ipc-lab (process-directed) were lost: the reader fell more than ${this.caps.capacity} signals behind`,
      );
    }
    if (this.#start === this.#end && !this.#refill(timeout)) return -1;
    const rec = new DataView(this.#records.buffer, this.#start, RECORD.size);
    const code = rec.getInt32(RECORD.code, true);
    const len = this.#realtime && code === SI_QUEUE ? Math.min(rec.getUint8(RECORD.value + 7), SIGNAL_PAYLOAD_MAX) : 0;
    if (len > buf.byteLength) {
      throw tooBigKept(len, buf.byteLength, "recvInto", this.address, "signal");
    }
    buf.set(this.#records.subarray(this.#start + RECORD.value, this.#start + RECORD.value + len));
    this.lastSender = rec.getInt32(RECORD.pid, true);
    this.#start += RECORD.size;
    return len;
  }

  /** Read what the pipe holds, waiting up to `timeout` ms for something. */
  #refill(timeout: number): boolean {
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      const n = libc.read(this.#rfd, this.#records, this.#records.byteLength);
      if (n > 0) {
        this.#start = 0;
        this.#end = n;
        return true;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const p = shim.ipcl_poll1(this.#rfd, C.POLLIN, left === Infinity ? -1 : left, -1);
      if (p === 0) return false;
      checkNeg(p, "poll", this.address);
    }
  }

  protected override waitReadable(timeout: number): PendingWait {
    this.#receiving("recvAsync");
    return pollAsync(this.#rfd, C.POLLIN, timeout);
  }

  protected override readinessFd(): number {
    return this.#rfd; // the listener thread's pipe: readable once a signal has been recorded
  }

  protected override closeImpl(): void {
    if (this.#rfd < 0 && this.#wfds.length === 0) return;
    // read end first: a write the listener thread is blocked in then fails, and it can end
    if (this.#rfd >= 0) libc.close(this.#rfd);
    shim.ipcl_signal_stop(this.signo);
    for (const fd of this.#wfds) libc.close(fd);
    listening.delete(this.signo);
    this.#rfd = -1;
    this.#wfds = [];
  }
}

/** The `signal:` mechanism. */
export const signal = mechanism<SignalOptions>()({
  scheme: "signal",
  describe: "signal:PID[:SIGNAL] or signal:self[:SIGNAL] — signals, realtime ones with a 7-byte payload",
  options: optionNames<SignalOptions>()("timeout"),
  open: (a, o) => new SignalChannel(a, o),
  traits: { ...usualTraits, boundaries: "kernel", duplex: false, detectsPeerExit: false, pollable: true, maxMessageSize: SIGNAL_PAYLOAD_MAX },
  sample: () => "signal:self:SIGRTMIN+1",
});
