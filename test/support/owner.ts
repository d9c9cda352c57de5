/**
 * A peer for the owner-death tests: `SCRIPT ADDRESS N create|open [exit]` creates ADDRESS
 * (or opens it), sends N messages (tokens for sem:), prints "ready", and waits to be
 * killed — or, with "exit", simply ends without close().
 */
import { open } from "../../lib/index.ts";

const [address, n, how, then] = process.argv.slice(2);
const ch = how === "open" ? open(address!, { timeout: 10_000 }) : open(address!, { create: true });
for (let i = 0; i < Number(n ?? 0); i++) ch.send(ch.caps.maxMessageSize > 0 ? `message ${i}` : new Uint8Array(0));
console.log("ready");
if (then !== "exit") setInterval(() => {}, 1 << 30); // until killed
