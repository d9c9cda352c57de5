/**
 * Preloaded into storm-test peers: SIGUSR2 gets a handler, so it interrupts waits instead
 * of killing; at exit the peer says on stderr how many it handled ("sigusr2 N").
 */
let handled = 0;
process.on("SIGUSR2", () => handled++);
process.on("exit", () => process.stderr.write(`sigusr2 ${handled}\n`));
