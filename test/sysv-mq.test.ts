/** System V message queues: types, limits, keys from paths, removal. */
import { describe, expect, test } from "./support/harness.ts";
import { unlinkSync, writeFileSync } from "node:fs";
import { open } from "../lib/index.ts";
import { SysvMqChannel } from "../lib/public/mechanisms.ts";
import { sysvMsgLimits } from "../lib/os/limits.ts";
import { shim } from "../ffi/runtime.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { noteProbe, privateDir, testKey, testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("sysvmq");
const dir = privateDir("sysvmq");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function fresh(): string {
  const key = testKey();
  noteProbe(`sysv-mq:${key}`, () => shim.ipcl_msgget(key, 0) >= 0, () => shim.ipcl_msg_remove(shim.ipcl_msgget(key, 0)));
  return `sysv-mq:${key}`;
}

describe("sysv-mq", () => {
  test("message types: send with a type, receive a given type, the first, or the lowest", () => {
    using q = open(fresh(), { create: true }) as SysvMqChannel;
    q.send("a3", { messageType: 3 });
    q.send("b1", { messageType: 1 });
    q.send("c2", { messageType: 2 });
    q.send("d1", { messageType: 1 });
    expect(q.depth).toBe(4);
    expect(text(q.recvTyped(2))).toBe("c2");
    expect(text(q.recvTyped(-2))).toBe("b1"); // lowest type <= 2
    expect(text(q.recv())).toBe("a3"); // the first, whatever its type
    expect(q.lastType).toBe(3);
    expect(text(q.recvTyped(1))).toBe("d1");
    expectIpcError(() => q.recvTyped(7, { timeout: 50 }), "ETIMEDOUT");
    expectIpcError(() => q.send("x", { messageType: 0 }), "EINVAL");
  });

  test("a receiveType fixed at open only takes its messages", () => {
    const address = fresh();
    using q = open(address, { create: true });
    using only5 = open(address, { receiveType: 5 });
    q.send("other", { messageType: 1 });
    q.send("mine", { messageType: 5 });
    expect(text(only5.recv({ timeout: 1000 }))).toBe("mine");
    expect(only5.tryRecv()).toBeUndefined();
  });

  test("maxMessageSize above /proc/sys/kernel/msgmax is refused with the sysctl to raise it", () => {
    const { msgmax } = sysvMsgLimits();
    const e = expectIpcError(() => open(fresh(), { create: true, maxMessageSize: msgmax + 1 }), "EINVAL");
    expect(e.message).toContain(`msgmax of ${msgmax}`);
    expect(e.message).toContain("sysctl kernel.msgmax");
  });

  test("a /path key goes through ftok: both sides reach the same queue; a missing file is explained", () => {
    const path = `${dir}/${prefix}keyfile`;
    writeFileSync(path, "");
    try {
      using a = open(`sysv-mq:${path}`, { create: true });
      using b = open(`sysv-mq:${path}`);
      b.send("via ftok");
      expect(text(a.recv({ timeout: 1000 }))).toBe("via ftok");
      expect(expectIpcError(() => open(`sysv-mq:${dir}/missing`), "ENOENT").message).toContain("ftok needs an existing file");
    } finally {
      unlinkSync(path);
    }
  });

  test("bad keys are refused: 0 (IPC_PRIVATE) and non-numbers", () => {
    expect(expectIpcError(() => open("sysv-mq:0"), "EADDRESS").message).toContain("IPC_PRIVATE");
    expectIpcError(() => open("sysv-mq:twelve"), "EADDRESS");
  });

  test("the creator removes the queue; a user's later send fails with EINVAL saying so", () => {
    const address = fresh();
    const owner = open(address, { create: true });
    using user = open(address);
    owner.close();
    // the kernel answers EINVAL for an id removed before the call (EIDRM only to a caller blocked during removal)
    expect(expectIpcError(() => user.send("late"), "EINVAL").message).toContain("the queue was removed");
  });
});

checkLeaks(prefix, [dir]);
