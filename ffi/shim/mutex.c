/*
 * mutex.c — robust, process-shared mutexes (glibc pthread) for lib/primitives/mutex.ts.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 *
 * Why pthread and not a futex of our own: robustness needs the kernel's robust-futex list
 * (set_robust_list), one per thread, which glibc already registers for every thread and
 * fills with the robust mutexes it holds. At a thread's death the kernel walks that list,
 * marks each held mutex FUTEX_OWNER_DIED and wakes a waiter, whose lock then returns
 * EOWNERDEAD. A mutex of our own could not join that list without replacing glibc's.
 * The lock word is the kernel's robust-futex ABI (futex(2)): the owner's TID, bit 31
 * FUTEX_WAITERS, bit 30 FUTEX_OWNER_DIED — which is what an async lock relies on
 * (lib/primitives/mutex.ts): it sets FUTEX_WAITERS and sleeps on the word off-thread, then
 * locks on the JS thread, since a pthread mutex belongs to the thread that locked it.
 */
#include "internal.h"

/** Initialise a robust, process-shared, error-checking mutex in shared memory; 0 or -errno. */
int ipcl_mutex_init(void *m) {
  pthread_mutexattr_t a;
  int r = pthread_mutexattr_init(&a);
  if (r) return -r;
  if ((r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) == 0 && (r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0 &&
      (r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK)) == 0)
    r = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  return -r;
}

/* How long one slice of a blocking lock lasts: a stop signal is seen within this. */
#define IPCL_LOCK_SLICE_NS 50000000LL

/**
 * Lock, waiting at most timeout_ms (< 0 forever, 0 try). 0; -EOWNERDEAD (locked, and the
 * previous owner died holding it); -EBUSY (try) or -ETIMEDOUT; -ENOTRECOVERABLE; -EDEADLK
 * (this thread holds it); -EINTR when a stop signal came. glibc retries a lock that a
 * signal interrupts, so the wait goes in slices that look for a stop between them.
 */
int ipcl_mutex_lock(void *m, double timeout_ms) {
  if (timeout_ms == 0) return -pthread_mutex_trylock(m);
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    int64_t end = now_ns(CLOCK_MONOTONIC) + IPCL_LOCK_SLICE_NS;
    if (deadline >= 0 && deadline < end) end = deadline;
    struct timespec ts = {end / 1000000000, end % 1000000000};
    int r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    if (r != ETIMEDOUT) return -r;
    if (stopping()) return -EINTR;
    if (deadline >= 0 && now_ns(CLOCK_MONOTONIC) >= deadline) return -ETIMEDOUT;
  }
}

/** pthread_mutex_unlock; 0 or -errno (EPERM: this thread does not hold it). */
int ipcl_mutex_unlock(void *m) { return -pthread_mutex_unlock(m); }

/** pthread_mutex_consistent (after EOWNERDEAD); 0 or -errno. */
int ipcl_mutex_consistent(void *m) { return -pthread_mutex_consistent(m); }
