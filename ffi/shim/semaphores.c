/*
 * semaphores.c — POSIX semaphores, named and in shared memory.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- POSIX semaphores --------------------------------------------------------- */

/** sem_open(3) with a fixed arity; the sem_t* or NULL with *err = errno. */
void *ipcl_sem_open(const char *name, int oflag, int mode, unsigned value, int *err) {
  sem_t *s = oflag & O_CREAT ? sem_open(name, oflag, (mode_t)mode, value) : sem_open(name, oflag);
  if (s == SEM_FAILED) { *err = errno; return NULL; }
  *err = 0;
  return s;
}

/**
 * Wait on a semaphore (named or in shared memory): timeout 0 = sem_trywait, negative =
 * sem_wait, else sem_clockwait on CLOCK_MONOTONIC. 0, -EAGAIN (try), -ETIMEDOUT, -errno.
 */
int ipcl_sem_wait(void *sem, double timeout_ms) {
  WAIT_SCOPE;
  sem_t *s = sem;
  int r;
  if (timeout_ms == 0) {
    do r = sem_trywait(s); while (r != 0 && errno == EINTR);
  } else if (timeout_ms < 0) {
    do r = sem_wait(s); while (r != 0 && errno == EINTR && !stopping());
  } else {
    int64_t t = now_ns(CLOCK_MONOTONIC) + (int64_t)(timeout_ms * 1e6);
    struct timespec ts = {t / 1000000000, t % 1000000000};
    do r = sem_clockwait(s, CLOCK_MONOTONIC, &ts); while (r != 0 && errno == EINTR && !stopping());
  }
  return r == 0 ? 0 : -errno;
}

/** sem_post(3); 0 or -errno (EOVERFLOW at SEM_VALUE_MAX). */
int ipcl_sem_post(void *sem) { return sem_post(sem) == 0 ? 0 : -errno; }

/** sem_getvalue(3); the value or -errno. */
int ipcl_sem_getvalue(void *sem) {
  int v;
  return sem_getvalue(sem, &v) == 0 ? v : -errno;
}

/** sem_init(3) a process-shared semaphore in shared memory; 0 or -errno. */
int ipcl_sem_init_shared(void *sem, unsigned value) { return sem_init(sem, 1, value) == 0 ? 0 : -errno; }
