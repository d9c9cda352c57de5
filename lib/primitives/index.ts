/**
 * primitives/: building blocks that are not channels — semaphores (semaphore.ts), a plain
 * shared-memory region (shared-memory.ts), and in small named shared objects (region.ts) a
 * robust mutex (mutex.ts), a condition (condition.ts) and a latest-value board (board.ts).
 * @module
 */
export { SEM_VALUE_MAX, Semaphore, type SemaphoreOptions, SysvSemaphore } from "./semaphore.ts";
export { SharedMemory } from "./shared-memory.ts";
export { type LockResult, Mutex, type MutexGuard } from "./mutex.ts";
export { Condition, type WaitResult } from "./condition.ts";
export { Board, type BoardOptions, type BoardValue } from "./board.ts";
export type { RegionOptions } from "./region.ts";
