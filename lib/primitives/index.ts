/**
 * primitives/: building blocks that are not channels — semaphores (semaphore.ts) and a
 * plain shared-memory region (shared-memory.ts).
 * @module
 */
export { SEM_VALUE_MAX, Semaphore, type SemaphoreOptions, SysvSemaphore } from "./semaphore.ts";
export { SharedMemory } from "./shared-memory.ts";
