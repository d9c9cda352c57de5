/*
 * signals.c — signals as a channel: a sigwaitinfo thread per signal writing records into a pipe.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- signals ------------------------------------------------------------------ */
/*
 * Receiving a signal: a dedicated thread per signal ("ipcl-sig-N") keeps it blocked and
 * takes it with sigwaitinfo(2), writing one record per signal to the pipe with an ordinary
 * blocking write. Senders that direct the signal at that thread (ipc-lab's do: they find
 * it in /proc/PID/task/<tid>/comm) get the kernel's order, and when the reader falls
 * behind, the pipe fills, the thread waits, signals stay queued, and the sender's sigqueue
 * meets EAGAIN: flow control, no loss. A process-directed signal (plain sigqueue/kill from
 * elsewhere) may land on any other thread; a handler catches it there and writes its
 * record without blocking, dropping and counting it if the pipe is full.
 */
struct signal_listener {
  pthread_t thread;
  int wfd;            /* blocking write end, for the thread */
  volatile int stop;
  int running;
};
static struct signal_listener listeners[65];
static volatile int signal_pipe[65]; /* per signal number: the handler's non-blocking fd, or 0 */
static volatile uint32_t signal_overflow[65];

static void fill_record(struct ipcl_sigrecord *rec, int signo, const siginfo_t *si) {
  memset(rec, 0, sizeof *rec);
  rec->signo = signo; rec->code = si->si_code; rec->pid = si->si_pid; rec->uid = si->si_uid;
  memcpy(rec->value, &si->si_value, sizeof rec->value < sizeof si->si_value ? sizeof rec->value : sizeof si->si_value);
}

static void on_signal(int signo, siginfo_t *si, void *ctx) {
  (void)ctx;
  int saved = errno;
  struct ipcl_sigrecord rec;
  fill_record(&rec, signo, si);
  int fd = signal_pipe[signo];
  /* write(2) is async-signal-safe; a handler must not wait, so a full pipe drops and counts */
  if (fd <= 0 || write(fd, &rec, sizeof rec) != (ssize_t)sizeof rec) signal_overflow[signo]++;
  errno = saved;
}

static void *signal_thread(void *arg) {
  int signo = (int)(intptr_t)arg;
  struct signal_listener *l = &listeners[signo];
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  for (;;) {
    siginfo_t si;
    int r = sigwaitinfo(&set, &si);
    if (l->stop) break;
    if (r < 0) continue; /* EINTR */
    struct ipcl_sigrecord rec;
    fill_record(&rec, signo, &si);
    ssize_t w;
    do w = write(l->wfd, &rec, sizeof rec); while (w < 0 && errno == EINTR && !l->stop);
    if (w < 0) break; /* EPIPE: the reader is gone */
  }
  return NULL;
}

/**
 * Start receiving signo into a pipe: wfd is a blocking write end (for the thread), nb_wfd a
 * non-blocking one with its own open file description (for the handler). 0 or -errno.
 */
int ipcl_signal_start(int signo, int wfd, int nb_wfd) {
  if (signo <= 0 || signo > 64) return -EINVAL;
  struct signal_listener *l = &listeners[signo];
  if (l->running) return -EBUSY;
  l->wfd = wfd;
  l->stop = 0;
  signal_pipe[signo] = nb_wfd;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  if (sigaction(signo, &sa, NULL) != 0) return -errno;
  /* the thread starts with signo blocked (it takes it with sigwaitinfo); ours is put back */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, signo);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  int r = pthread_create(&l->thread, NULL, signal_thread, (void *)(intptr_t)signo);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) return -r;
  /* named before we return, so a sender told "ready" afterwards finds it in /proc */
  char name[16];
  snprintf(name, sizeof name, "ipcl-sig-%d", signo);
  pthread_setname_np(l->thread, name);
  l->running = 1;
  return 0;
}

/**
 * Stop receiving signo. Close the pipe's read end first, so a write the thread is blocked
 * in fails with EPIPE. The signal is ignored from now on (a late realtime signal would
 * otherwise terminate the process). 0 or -errno.
 */
int ipcl_signal_stop(int signo) {
  if (signo <= 0 || signo > 64) return -EINVAL;
  struct signal_listener *l = &listeners[signo];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(signo, &sa, NULL);
  signal_pipe[signo] = 0;
  if (!l->running) return 0;
  l->stop = 1;
  pthread_kill(l->thread, signo); /* ends its sigwaitinfo */
  pthread_join(l->thread, NULL);
  l->running = 0;
  return 0;
}

/** Records dropped because the pipe was full (process-directed signals only), for signo. */
int ipcl_signal_overflow(int signo) { return signo > 0 && signo <= 64 ? (int)signal_overflow[signo] : 0; }

/** Is signo handled by something other than SIG_DFL/SIG_IGN/ipc-lab (the runtime's own use)? */
int ipcl_signal_in_use(int signo) {
  struct sigaction old;
  if (sigaction(signo, NULL, &old) != 0) return -errno;
  if (old.sa_flags & SA_SIGINFO) return old.sa_sigaction != on_signal;
  return old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
}

/** sigqueue(3) with 8 payload bytes as sival_ptr; 0 or -errno (EAGAIN: RLIMIT_SIGPENDING). */
int ipcl_sigqueue(int pid, int signo, const uint8_t *value) {
  union sigval v;
  memset(&v, 0, sizeof v);
  memcpy(&v, value, sizeof v < 8 ? sizeof v : 8);
  return sigqueue(pid, signo, v) == 0 ? 0 : -errno;
}

/**
 * Queue signo with 8 payload bytes to one thread (tid) of process pid: rt_tgsigqueueinfo
 * with si_code SI_QUEUE, as sigqueue(3) fills it. 0 or -errno.
 */
int ipcl_sigqueue_thread(int pid, int tid, int signo, const uint8_t *value) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  info.si_signo = signo;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  memcpy(&info.si_value, value, sizeof info.si_value < 8 ? sizeof info.si_value : 8);
  return syscall(SYS_rt_tgsigqueueinfo, pid, tid, signo, &info) == 0 ? 0 : -errno;
}

/** tgkill(2): a (standard) signal to one thread of a process. 0 or -errno. */
int ipcl_tgkill(int pid, int tid, int signo) {
  return syscall(SYS_tgkill, pid, tid, signo) == 0 ? 0 : -errno;
}
