/**
 * The leak check can fail: each kind of leak is planted on purpose — bypassing ipc-lab's
 * own registry and the tests' lists of names wherever it can — and `leftovers()` (what
 * every test file's final "leaves nothing behind" test asserts empty) must report it, on
 * Bun and on Deno. Also: every test file ends with that check.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess } from "../ffi/process.ts";
import { cstr, libc, shim } from "../ffi/runtime.ts";
import { C } from "../ffi/facts.ts";
import { open } from "../lib/index.ts";
import { createEventfd } from "../lib/public/mechanisms.ts";
import { register } from "../lib/names/registry.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { describe, expect, test } from "./support/harness.ts";
import { leftovers, testKey, testPrefix, track } from "./support/leaks.ts";
import { added, snapshot } from "./support/system-state.ts";

const prefix = testPrefix("leak");
const here = dirname(fileURLToPath(import.meta.url));

/** Plant a leak, then expect the check to report something matching `pattern`; undo via the check itself. */
async function reported(plant: () => void | (() => void), pattern: RegExp): Promise<void> {
  const undo = plant();
  const found = await leftovers(`${prefix}-unused-`);
  if (typeof undo === "function") undo();
  expect(found.some((x) => pattern.test(x))).toBe(true);
  // and the check is clean again afterwards: one leak is reported once
  const undoneOnly = await leftovers(`${prefix}-unused-`);
  expect(undoneOnly).toEqual([]);
}

describe("the leak check reports every kind of leak", () => {
  test("a /dev/shm entry (no prefix, no registry)", async () => {
    await reported(() => void libc.close(libc.shm_open(cstr("/ipcl-planted-shm"), C.O_RDWR | C.O_CREAT, 0o600)), /^\/dev\/shm\/ipcl-planted-shm$/);
  });

  test("a POSIX queue made behind ipc-lab's back", async () => {
    await reported(() => void libc.close(shim.ipcl_mq_open(cstr("/ipcl-planted-mq"), C.O_RDWR | C.O_CREAT, 0o600, 0, 0)), /^queue mq:\/ipcl-planted-mq$/);
  });

  for (const kind of ["shm", "msg", "sem"] as const) {
    test(`a System V ${kind} object of this user`, async () => {
      const key = testKey();
      await reported(() => {
        const id = kind === "shm"
          ? shim.ipcl_shmget(key, 4096, C.IPC_CREAT | 0o600)
          : kind === "msg"
          ? shim.ipcl_msgget(key, C.IPC_CREAT | 0o600)
          : shim.ipcl_semget(key, 1, C.IPC_CREAT | 0o600);
        expect(id).toBeGreaterThanOrEqual(0);
      }, new RegExp(`^System V ${kind} key ${key} id \\d+$`));
    });
  }

  test("a FIFO under /tmp", async () => {
    await reported(() => void libc.mkfifo(cstr(`/tmp/${prefix}fifo`), 0o600), /^FIFO \/tmp\/ipcl-t\d+-leak-fifo$/);
  });

  test("a socket path under /tmp, and the descriptor behind it", async () => {
    let ch: { close(): void } | undefined;
    await reported(() => {
      ch = open(`unix-dgram:/tmp/${prefix}sock`, { create: true });
      return () => undefined; // left open on purpose: the check must see the path
    }, /^socket \/tmp\/ipcl-t\d+-leak-sock$/);
    ch?.close();
    expect(await leftovers(`${prefix}-unused-`)).toEqual([]);
  });

  test("an abstract unix name", async () => {
    let ch: { close(): void } | undefined;
    await reported(() => {
      ch = open(`unix:@${prefix}abstract`, { create: true });
    }, /^abstract unix name @ipcl-t\d+-leak-abstract$/);
    ch?.close();
    expect(await leftovers(`${prefix}-unused-`)).toEqual([]);
  });

  for (const proto of ["tcp", "udp"] as const) {
    test(`a bound ${proto} port`, async () => {
      let ch: { close(): void } | undefined;
      await reported(() => {
        ch = open(`${proto}:127.0.0.1:0`, { create: true });
      }, new RegExp(`^${proto} port \\d+ \\(socket inode \\d+\\)$`));
      ch?.close();
      expect(await leftovers(`${prefix}-unused-`)).toEqual([]);
    });
  }

  test("an open descriptor (a pipe never closed)", async () => {
    const fds = new Int32Array(2);
    await reported(() => {
      expect(libc.pipe2(fds, C.O_CLOEXEC)).toBe(0);
    }, /^fd \d+ -> pipe:\[\d+\]$/);
    libc.close(fds[0]!);
    libc.close(fds[1]!);
    expect(await leftovers(`${prefix}-unused-`)).toEqual([]);
  });

  test("an eventfd never closed (told apart from a runtime Worker's own)", async () => {
    let ch: { close(): void } | undefined;
    await reported(() => {
      ch = createEventfd();
    }, /^fd \d+ -> anon_inode:\[eventfd\]$/);
    ch?.close();
    expect(await leftovers(`${prefix}-unused-`)).toEqual([]);
  });

  test("a registry record", async () => {
    await reported(() => register(`shm:/${prefix}-unused-registry`), /^registry entry shm:\/ipcl-t\d+-leak--unused-registry$/);
  });

  test("a child nobody tracked, and a grandchild", async () => {
    await reported(() => void spawnProcess(["sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] }), /^child process \d+ \(sleep\) still running$/);
    const sh = spawnProcess(["sh", "-c", "sleep 61 & echo started; wait"], { stdio: ["ignore", "pipe", "ignore"] });
    await sh.stdout!.getReader().read();
    const found = await leftovers(`${prefix}-unused-`);
    expect(found.filter((x) => /^child process \d+ \((sh|sleep)\) still running$/.test(x)).length).toBe(2);
  });

  test("a tracked child's own child is found and killed too, not handed to init when its parent is", async () => {
    const sh = track(spawnProcess(["sh", "-c", "sleep 62 & echo $!; wait"], { stdio: ["ignore", "pipe", "ignore"] }));
    const { value } = await sh.stdout!.getReader().read();
    const grandchild = Number(new TextDecoder().decode(value).trim());
    // `$!` is printed once sh has forked, perhaps before the fork has exec'd sleep: until
    // then the grandchild's name is still "sh". Wait for the exec so the name is known.
    const comm = () => (existsSync(`/proc/${grandchild}/comm`) ? readFileSync(`/proc/${grandchild}/comm`, "utf8").trim() : "");
    for (const until = performance.now() + 5000; comm() !== "sleep" && performance.now() < until; await new Promise((r) => setTimeout(r, 5)));
    expect(comm()).toBe("sleep");
    const found = await leftovers(`${prefix}-unused-`);
    expect(found).toContain(`child process ${sh.pid} still running`);
    expect(found).toContain(`child process ${grandchild} (sleep) still running`);
    let alive = true;
    for (const until = performance.now() + 2000; alive && performance.now() < until; await new Promise((r) => setTimeout(r, 10))) {
      alive = existsSync(`/proc/${grandchild}`) && !readFileSync(`/proc/${grandchild}/stat`, "utf8").includes(") Z ");
    }
    expect(alive).toBe(false);
  });
});

describe("the leak check is deterministic", () => {
  // The race it once lost: Bun's spawnSync closes the parent's ends of piped stdio on a pool
  // thread after returning, so a snapshot listing descriptors after its own child saw two
  // stray sockets, 1-3 times in 300 on a loaded machine (every time in 300 beside this busy
  // loop). Snapshots now spawn no child at all (queues are listed through one helper per
  // test process), so that race cannot come back this way — listing descriptors after the
  // queues again passed 1000 snapshots on 2026-12-04 — and this test stands guard against
  // any other thing that changes between two snapshots of an idle process. 300 of them, the
  // count the old race showed in every time: a thousand took 44 s of Deno's suite.
  test("300 snapshots beside a busy loop report nothing", async () => {
    const busy = track(spawnProcess(["sh", "-c", "while :; do :; done"], { stdio: ["ignore", "ignore", "ignore"] }));
    try {
      const base = snapshot();
      const found = new Set<string>();
      for (let i = 0; i < 300; i++) for (const x of added(base, snapshot())) found.add(x);
      expect([...found]).toEqual([]);
    } finally {
      busy.kill(9);
      await busy.exited;
    }
  }, 120_000);
});

describe("every test file ends with the leak check", () => {
  test("each test/*.test.ts calls checkLeaks()", () => {
    const missing = readdirSync(here)
      .filter((f) => f.endsWith(".test.ts"))
      .filter((f) => !/^checkLeaks\(/m.test(readFileSync(join(here, f), "utf8")));
    expect(missing).toEqual([]);
  });
});

checkLeaks(prefix);
