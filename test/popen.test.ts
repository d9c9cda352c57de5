/** popen:/spawn: — /bin/sh -c, one direction per popen stream, exit status on pclose. */
import { describe, expect, test } from "./support/harness.ts";
import { open } from "../lib/index.ts";
import { CommandChannel } from "../lib/public/mechanisms.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const frame = (text: string) => `printf '\\0${text.length.toString(8)}\\0\\0\\0${text}'`;

describe("popen and spawn", () => {
  test("type r reads framed messages from the command's stdout; pclose returns its exit status", async () => {
    const ch = open(`popen:${frame("hi")}; ${frame("yo")}; exit 7`) as CommandChannel;
    expect(ch.caps).toMatchObject({ mechanism: "popen", duplex: false });
    expect(new TextDecoder().decode(ch.recv({ timeout: 5000 }))).toBe("hi");
    expect(new TextDecoder().decode(ch.recv({ timeout: 5000 }))).toBe("yo");
    expectIpcError(() => ch.recv({ timeout: 5000 }), "EOF");
    expect(await ch.pclose()).toBe(7);
  });

  test("type w writes to the command's stdin: the shell sees our frames", async () => {
    const ch = open("popen:wc -c >&2", { type: "w", stderr: "pipe" }) as CommandChannel;
    ch.send("12345");
    expect(await ch.pclose()).toBe(0);
    expect((await new Response(ch.child.stderr as ReadableStream).text()).trim()).toBe("9"); // 4-byte header + 5
  });

  test("a command killed by a signal reports 128 + its number, as a shell would", async () => {
    const ch = open("popen:kill -TERM $$; sleep 5") as CommandChannel;
    expect(await ch.exitStatus).toBe(128 + 15);
    ch.close();
  });

  test("spawn: is duplex over the command's stdin and stdout", async () => {
    // a shell echo server: read one 4-byte header and 3 bytes, send them back
    const ch = open("spawn:head -c 7") as CommandChannel;
    ch.send("abc");
    expect(new TextDecoder().decode(ch.recv({ timeout: 5000 }))).toBe("abc");
    expect(await ch.pclose()).toBe(0);
  });

  test("bad commands and types are refused", () => {
    expectIpcError(() => open("popen:   "), "EADDRESS");
    expectIpcError(() => open("popen:true", { type: "x" as "r" }), "EINVAL");
  });
});

checkLeaks(testPrefix("popen"));
