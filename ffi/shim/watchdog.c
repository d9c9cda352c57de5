/*
 * watchdog.c — a hang watchdog: a thread that ends the process, saying why, when a deadline
 * passes. A test runner's own timeout is a timer on the JS thread, so it cannot fire while a
 * test blocks synchronously (a wait whose wake-up was lost, a busy loop): such a test would
 * pass slowly or hang for good. The test harness arms this around every test body; when it
 * fires it prints the message (the test's name) to stderr, sends this process SIGTERM (so the
 * stop machinery of stop.c ends a blocked call and owners remove their names) and, if the
 * process is still there after IPCL_WATCHDOG_GRACE_MS, _exit(124)s.
 * Part of the shim (see internal.h for the conventions).
 */
#include "internal.h"

#define IPCL_WATCHDOG_GRACE_MS 3000

static pthread_mutex_t dog_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dog_cond;
static int dog_started;
static struct timespec dog_deadline; /* CLOCK_MONOTONIC; tv_sec 0: disarmed */
static char dog_message[1024];

static int after(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

static void *dog_thread(void *arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, NULL); /* signals are for the other threads */
  pthread_mutex_lock(&dog_lock);
  for (;;) {
    if (dog_deadline.tv_sec == 0) {
      pthread_cond_wait(&dog_cond, &dog_lock);
      continue;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!after(&now, &dog_deadline)) {
      pthread_cond_timedwait(&dog_cond, &dog_lock, &dog_deadline);
      continue;
    }
    (void)!write(2, dog_message, strlen(dog_message));
    pthread_mutex_unlock(&dog_lock);
    kill(getpid(), SIGTERM);
    struct timespec grace = {IPCL_WATCHDOG_GRACE_MS / 1000, (IPCL_WATCHDOG_GRACE_MS % 1000) * 1000000L};
    while (nanosleep(&grace, &grace) < 0 && errno == EINTR) {}
    _exit(124);
  }
  return NULL;
}

int ipcl_watchdog_arm(double ms, const char *message) {
  pthread_mutex_lock(&dog_lock);
  if (!dog_started) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&dog_cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_t t;
    int r = pthread_create(&t, NULL, dog_thread, NULL);
    if (r != 0) {
      pthread_mutex_unlock(&dog_lock);
      return -r;
    }
    pthread_detach(t);
    dog_started = 1;
  }
  snprintf(dog_message, sizeof dog_message, "%s\n", message);
  clock_gettime(CLOCK_MONOTONIC, &dog_deadline);
  long long ns = (long long)(ms * 1e6) + dog_deadline.tv_nsec;
  dog_deadline.tv_sec += (time_t)(ns / 1000000000LL);
  dog_deadline.tv_nsec = (long)(ns % 1000000000LL);
  if (dog_deadline.tv_sec == 0) dog_deadline.tv_sec = 1;
  pthread_cond_signal(&dog_cond);
  pthread_mutex_unlock(&dog_lock);
  return 0;
}

void ipcl_watchdog_disarm(void) {
  pthread_mutex_lock(&dog_lock);
  dog_deadline.tv_sec = 0;
  dog_deadline.tv_nsec = 0;
  if (dog_started) pthread_cond_signal(&dog_cond);
  pthread_mutex_unlock(&dog_lock);
}
