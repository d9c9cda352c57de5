/**
 * A peer that dies in the middle of a message (test/truncation.test.ts):
 * `SCRIPT ADDRESS` opens ADDRESS as a writer with a 16 MiB maximum, sends "hello", says
 * "sending" (on stderr: stdout may be the channel), then sends a 16 MiB message — more
 * than any pipe or socket buffer holds, so the write blocks part-way through the frame,
 * where the test SIGKILLs it.
 */
import { open } from "../../lib/index.ts";

const address = process.argv[2] === "inherit" ? process.env.IPC_LAB_CHANNEL! : process.argv[2]!;
const ch = open(address, { role: "writer", timeout: 10_000, maxMessageSize: 16 << 20 });
ch.send("hello");
process.stderr.write("sending\n");
ch.send(new Uint8Array(16 << 20).fill(0x5a));
process.stderr.write("the whole message went through: the test cannot force a truncation this way\n");
