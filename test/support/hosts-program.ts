/**
 * Makes two test hosts (bench/netns.ts), prints their namespace names as JSON, and waits
 * to be stopped (test/bench-stop.test.ts). Usage: hosts-program.ts TAG NET
 */
import { makeHosts } from "../../bench/netns.ts";

const [tag, net] = process.argv.slice(2);
const hosts = makeHosts(tag!, net!, 2);
process.stdout.write(JSON.stringify([...hosts.names, `${tag}-sw`]) + "\n");
setInterval(() => {}, 60_000); // until a signal
