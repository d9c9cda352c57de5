/**
 * Pitfall: a POSIX queue holds at most msg_max messages (10 on most systems), and asking
 * for more fails with a bare EINVAL. Fix: ipc-lab clamps to the limit and says how to raise it.
 */
import { IpcError, open } from "../../lib/index.ts";
import { mqLimits } from "../../lib/os/limits.ts";

const { msgMax } = mqLimits();
try {
  open(`mq:/ipc-lab-pitfall-${process.pid}`, { create: true, capacity: msgMax + 1 });
} catch (e) {
  console.log(`problem: ${(e as IpcError).message}`);
}
using q = open(`mq:/ipc-lab-pitfall-${process.pid}`, { create: true });
let n = 0;
while (q.trySend("job")) n++;
console.log(`the queue is full after ${n} messages (msg_max ${msgMax}): trySend says false, send() would wait; fix: drain it, or raise fs.mqueue.msg_max.`);
