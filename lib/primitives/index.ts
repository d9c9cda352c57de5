/**
 * primitives/: building blocks that are not channels — semaphores (semaphore.ts) and a
 * plain shared-memory region (shared-memory.ts).
 * @module
 */
export { Semaphore, SysvSemaphore, SEM_VALUE_MAX, type SemaphoreOptions } from "./semaphore.ts";
export { SharedMemory } from "./shared-memory.ts";
