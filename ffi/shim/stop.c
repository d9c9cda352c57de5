/*
 * stop.c — stop signals: SIGINT, SIGTERM and SIGHUP end a blocked call on the JS thread.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- stop signals: Ctrl-C reaches a blocked call ---------------------------- */
/*
 * A sync call blocked in the kernel keeps the JS thread from running the runtime's signal
 * handlers, and runtimes install theirs with SA_RESTART, so the kernel resumes the wait by
 * itself: Ctrl-C would wait as long as the call does. ipcl_stop_install therefore:
 *   - chains a handler in front of the runtime's for SIGINT, SIGTERM and SIGHUP: it records
 *     the signal in ipcl_stop_word, wakes the stop thread and calls the runtime's handler;
 *   - blocks those signals on the JS thread, so they are always handled on another thread
 *     (the stop thread keeps them unblocked, so there is always one that takes them);
 *   - has the stop thread interrupt the JS thread's wait with IPCL_WAKE_SIGNAL, whose handler
 *     does nothing and has no SA_RESTART, so the blocked syscall returns EINTR. It repeats
 *     that every IPCL_WAKE_REPEAT_MS while the JS thread is still inside a wait, which closes
 *     the window between looking at ipcl_stop_word and entering the kernel.
 * The wait loops below return -EINTR when EINTR comes while a stop is pending (stopping());
 * every other EINTR is retried as before. TypeScript decides what a stop means
 * (lib/names/cleanup.ts): exit with 128 + the signal, or an IpcError EINTR for the program's own
 * handler. Nothing here runs on the hot path except one thread-local store per wait.
 */
#define IPCL_WAKE_REPEAT_MS 20

static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction stop_prev[3];
HIDDEN volatile uint32_t ipcl_stop_word; /* the stop signal not yet acted on, 0 if none */
HIDDEN volatile int ipcl_stop_js_waiting; /* the JS thread is inside a blocking shim call */
static volatile pid_t stop_js_tid;        /* the JS thread, 0 before ipcl_stop_install */
HIDDEN IPCL_TLS int ipcl_stop_watched;    /* this thread is the JS thread */
static int stop_pipe[2] = {-1, -1};       /* handler -> stop thread */

static void on_wake(int signo) { (void)signo; }

static void on_stop(int signo, siginfo_t *si, void *ctx) {
  int saved = errno;
  __atomic_store_n(&ipcl_stop_word, (uint32_t)signo, __ATOMIC_RELAXED);
  char b = (char)signo;
  if (stop_pipe[1] >= 0) (void)!write(stop_pipe[1], &b, 1);
  for (int i = 0; i < 3; i++) {
    if (stop_signals[i] != signo) continue;
    struct sigaction *p = &stop_prev[i];
    if (p->sa_flags & SA_SIGINFO) { if (p->sa_sigaction) p->sa_sigaction(signo, si, ctx); }
    else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) p->sa_handler(signo);
  }
  errno = saved;
}

static void *stop_thread(void *arg) {
  (void)arg;
  sigset_t set;
  sigfillset(&set);
  for (int i = 0; i < 3; i++) sigdelset(&set, stop_signals[i]);
  pthread_sigmask(SIG_SETMASK, &set, NULL); /* only the stop signals land here */
  char b;
  for (;;) {
    ssize_t n = read(stop_pipe[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    while (__atomic_load_n(&ipcl_stop_word, __ATOMIC_RELAXED) != 0) {
      if (ipcl_stop_js_waiting) syscall(SYS_tgkill, getpid(), stop_js_tid, IPCL_WAKE_SIGNAL);
      struct timespec ts = {0, IPCL_WAKE_REPEAT_MS * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
}

/**
 * Make the calling thread (the JS thread) the one whose blocking calls stop signals end
 * (see above). Call once, after the runtime has installed its own handlers (process.on).
 * A signal the process ignores (nohup) stays ignored. 0, or -errno.
 */
int ipcl_stop_install(void) {
  if (stop_js_tid) {
    /* installed already (the shim is never unloaded): a new JS thread — Deno's test runner
     * runs each module on a thread of its own — becomes the one a stop signal interrupts */
    if (!ipcl_stop_watched) {
      sigset_t stops;
      sigemptyset(&stops);
      for (int i = 0; i < 3; i++) if (stop_prev[i].sa_handler != SIG_IGN) sigaddset(&stops, stop_signals[i]);
      pthread_sigmask(SIG_BLOCK, &stops, NULL);
      ipcl_stop_watched = 1;
      __atomic_store_n(&stop_js_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    }
    return 0;
  }
  if (pipe2(stop_pipe, O_CLOEXEC) != 0) return -errno;
  struct sigaction wake = {0};
  wake.sa_handler = on_wake;  /* no SA_RESTART: the interrupted wait returns EINTR */
  sigemptyset(&wake.sa_mask);
  if (sigaction(IPCL_WAKE_SIGNAL, &wake, NULL) != 0) return -errno;
  sigset_t stops;
  sigemptyset(&stops);
  for (int i = 0; i < 3; i++) {
    struct sigaction *p = &stop_prev[i];
    if (sigaction(stop_signals[i], NULL, p) != 0) return -errno;
    if (p->sa_handler == SIG_IGN) continue;
    struct sigaction mine = *p;
    mine.sa_flags |= SA_SIGINFO;
    mine.sa_flags &= ~SA_RESETHAND;
    mine.sa_sigaction = on_stop;
    if (sigaction(stop_signals[i], &mine, NULL) != 0) return -errno;
    sigaddset(&stops, stop_signals[i]);
  }
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int e = pthread_create(&t, &attr, stop_thread, NULL);
  pthread_attr_destroy(&attr);
  if (e) return -e;
  pthread_setname_np(t, "ipcl-stop");
  pthread_sigmask(SIG_BLOCK, &stops, NULL);
  ipcl_stop_watched = 1;
  stop_js_tid = (pid_t)syscall(SYS_gettid);
  return 0;
}

/** The stop signal not yet acted on (0: none), which this call clears. */
int ipcl_stop_take(void) { return (int)__atomic_exchange_n(&ipcl_stop_word, 0, __ATOMIC_RELAXED); }

/** The stop signal not yet acted on (0: none), left pending. */
int ipcl_stop_pending(void) { return (int)__atomic_load_n(&ipcl_stop_word, __ATOMIC_RELAXED); }
