/**
 * os/: what the library needs of the operating system beyond one mechanism — waiting with
 * back-off (wait.ts), descriptors a child inherits (inherit.ts), system limits (limits.ts),
 * System V keys (sysv-key.ts).
 * @module
 */
export { CHANNEL_ENV, type ChildEnds, type SpawnOptions, spawnWith } from "./inherit.ts";
