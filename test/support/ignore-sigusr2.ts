/** Preloaded into storm-test peers: SIGUSR2 gets a handler, so it interrupts waits instead of killing. */
process.on("SIGUSR2", () => {});
