/**
 * Pitfall: one slow subscriber on a topic. With policy "block" (nothing lost) it holds
 * every publisher back once it is a ring behind. Fix, when the latest data matters more
 * than every message: policy "drop-oldest" — publishers never wait; the slow subscriber
 * skips ahead, `missed` says how many it lost, and no message it reads is torn.
 */
import { open } from "../../lib/index.ts";
import { type TopicChannel } from "../../lib/public/mechanisms.ts";

const name = `ipc-lab-pitfall-topic-${process.pid}`;
{
  using pub = open(`topic:/${name}-block`, { role: "writer", capacity: 4096 });
  using _slow = open(`topic:/${name}-block`, { role: "reader" }); // subscribed, never reads
  let sent = 0;
  while (pub.trySend(new Uint8Array(100))) sent++;
  console.log(
    `problem: with policy "block", a subscriber that does not keep up holds every publisher back: after ${sent} messages trySend() is false (send() would wait).`,
  );
}
{
  using pub = open(`topic:/${name}-drop`, { role: "writer", capacity: 4096, policy: "drop-oldest" });
  using slow = open(`topic:/${name}-drop`, { role: "reader" }) as TopicChannel;
  let waited = 0;
  for (let i = 0; i < 1000; i++) {
    const m = new Uint8Array(100).fill(i & 0xff);
    if (!pub.trySend(m)) waited++;
  }
  let got = 0, torn = 0;
  for (let m = slow.tryRecv(); m; m = slow.tryRecv()) {
    got++;
    if (m.some((b) => b !== m[0])) torn++;
  }
  console.log(`fix: policy "drop-oldest": 1000 sends, ${waited} waited; the slow subscriber read the latest ${got}, missed ${slow.missed}, ${torn} torn.`);
}
