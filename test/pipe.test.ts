/** Anonymous pipes and inherited descriptors. */
import { describe, expect, test } from "./support/harness.ts";
import { open } from "../lib/index.ts";
import { pipePair, spawnWithPipes } from "../lib/public/mechanisms.ts";
import { C } from "../ffi/facts.ts";
import { libc } from "../ffi/runtime.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

describe("pipe", () => {
  test("pipePair is duplex, framed, and reports the kernel's pipe capacity", () => {
    const [a, b] = pipePair({ capacity: 1 << 17 });
    using _a = a;
    using _b = b;
    a.send("ping");
    expect(new TextDecoder().decode(b.recv())).toBe("ping");
    b.send(new Uint8Array(0));
    expect(a.recv().byteLength).toBe(0);
    expect(a.caps).toMatchObject({ mechanism: "pipe", duplex: true, boundaries: "framed", capacity: 1 << 17 });
  });

  test("fd:N takes its direction from the descriptor's access mode", () => {
    const fds = new Int32Array(2);
    expect(libc.pipe2(fds, C.O_CLOEXEC)).toBe(0);
    using r = open(`fd:${fds[0]}`);
    using w = open(`fd:${fds[1]}`);
    expect(r.caps.duplex).toBeFalse();
    expect(expectIpcError(() => r.send("x"), "EBADF").message).toContain("receiving only");
    expect(expectIpcError(() => w.recv(), "EBADF").message).toContain("sending only");
    w.send("through");
    expect(new TextDecoder().decode(r.recv())).toBe("through");
  });

  test("fd: on a descriptor this process does not have is refused with advice", () => {
    expect(expectIpcError(() => open("fd:987"), "EBADF").message).toContain("pass it to the child");
  });

  test("a child started by spawnWithPipes finds its channel in IPC_LAB_CHANNEL; its exit is EOF", async () => {
    const { channel, child } = spawnWithPipes([
      process.execPath,
      "-e",
      `
      const { open } = await import(${JSON.stringify(import.meta.dirname + "/../lib/index.ts")});
      const ch = open(process.env.IPC_LAB_CHANNEL);
      const m = ch.recv();
      ch.send(new TextDecoder().decode(m).toUpperCase());`,
    ]);
    using ch = channel;
    ch.send("shout");
    expect(new TextDecoder().decode(ch.recv({ timeout: 10_000 }))).toBe("SHOUT");
    expectIpcError(() => ch.recv({ timeout: 10_000 }), "EOF");
    expect(await child.exited).toBe(0);
    expect(expectIpcError(() => ch.send("anyone?"), "EPIPE").message).toContain("receiving end has closed");
  });
});

checkLeaks(testPrefix("pipe"));
