/*
 * watchdog.c — a hang watchdog: a thread that ends the process, saying why, when a deadline
 * passes. A test runner's own timeout is a timer on the JS thread, so it cannot fire while a
 * test blocks synchronously (a wait whose wake-up was lost, a busy loop): such a test would
 * pass slowly or hang for good. The test harness arms this around every test body; when it
 * fires it prints the message (the test's name) to stderr, sends this process SIGTERM (so the
 * stop machinery of stop.c ends a blocked call and owners remove their names) and, if the
 * process is still there after IPCL_WATCHDOG_GRACE_MS, _exit(124)s.
 *
 * No locks and no condition variable: arm and disarm are single atomic stores, and the
 * thread looks at the deadline every IPCL_WATCHDOG_LOOK_MS (which costs nothing here). A
 * first version slept on a pthread condition variable; under Deno's test runner, which
 * closed each module's FFI libraries (the shim is now linked -z nodelete: ffi/build.ts),
 * the variable was reset under its waiters and a signal never returned.
 * Part of the shim (see internal.h for the conventions).
 */
#include "internal.h"

#define IPCL_WATCHDOG_GRACE_MS 3000
#define IPCL_WATCHDOG_LOOK_MS 50

static int dog_started;                 /* 0, then 1 once the thread runs (CAS) */
static int64_t dog_deadline_ns;         /* CLOCK_MONOTONIC ns; 0: disarmed */
static char dog_message[2][1024];       /* written by arm, read only when the dog fires */
static int dog_which;                   /* the message of the armed deadline */

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void nap_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

static void *dog_thread(void *arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, NULL); /* signals are for the other threads */
  for (;;) {
    int64_t d = __atomic_load_n(&dog_deadline_ns, __ATOMIC_ACQUIRE);
    if (d != 0 && mono_ns() >= d) {
      const char *m = dog_message[__atomic_load_n(&dog_which, __ATOMIC_ACQUIRE) & 1];
      (void)!write(2, m, strnlen(m, sizeof dog_message[0]));
      kill(getpid(), SIGTERM);
      nap_ms(IPCL_WATCHDOG_GRACE_MS);
      _exit(124);
    }
    nap_ms(IPCL_WATCHDOG_LOOK_MS);
  }
  return NULL;
}

int ipcl_watchdog_arm(double ms, const char *message) {
  int expected = 0;
  if (__atomic_compare_exchange_n(&dog_started, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    pthread_t t;
    int r = pthread_create(&t, NULL, dog_thread, NULL);
    if (r != 0) {
      __atomic_store_n(&dog_started, 0, __ATOMIC_RELEASE);
      return -r;
    }
    pthread_detach(t);
  }
  /* the message goes into the slot the dog is not reading, then becomes the armed one */
  int next = (__atomic_load_n(&dog_which, __ATOMIC_ACQUIRE) + 1) & 1;
  snprintf(dog_message[next], sizeof dog_message[next], "%s\n", message);
  __atomic_store_n(&dog_which, next, __ATOMIC_RELEASE);
  __atomic_store_n(&dog_deadline_ns, mono_ns() + (int64_t)(ms * 1e6), __ATOMIC_RELEASE);
  return 0;
}

void ipcl_watchdog_disarm(void) {
  __atomic_store_n(&dog_deadline_ns, 0, __ATOMIC_RELEASE);
}
