/**
 * Pitfall: writing to a pipe whose reader has exited raises SIGPIPE, which kills a C
 * program by default. Fix: ipc-lab ignores SIGPIPE, so the write fails with EPIPE and the
 * program decides what to do.
 */
import { IpcError } from "../../lib/index.ts";
import { spawnWithPipes } from "../../lib/public/mechanisms.ts";

const { channel, child } = spawnWithPipes(["true"]); // a child that exits at once
await child.exited;
try {
  channel.send("anyone there?");
} catch (e) {
  console.log(
    `problem: the reader is gone; in C this write would kill us with SIGPIPE. fix: ipc-lab turns it into IpcError ${(e as IpcError).code} — "${
      (e as IpcError).message
    }".`,
  );
}
channel.close();
