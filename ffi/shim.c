/*
 * shim.c — the part of ipc-lab that FFI cannot do well. Everything else calls libc
 * directly through ffi/libc.ts. This file holds:
 *   - facts: struct sizes/offsets and constants, so TypeScript never hard-codes one;
 *   - fixed-arity wrappers for variadic calls (open, mq_open);
 *   - calls that must return -errno (they may run on another thread: a Worker, Deno's
 *     nonblocking FFI), with EINTR retried against a deadline;
 *   - futex wait/wake, timed poll, and the framed-stream reader/writer hot paths.
 * Conventions: a negative int result is -errno; timeouts are milliseconds as double,
 * negative meaning "wait forever". Built by ffi/build.ts with `cc -O2 -shared -fPIC`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ipc.h>
#include <semaphore.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "ipcl_ring.h"

/* Returned by ipcl_frame_read when the peer closed the stream at a frame boundary. */
#define IPCL_EOF (-100000)
/* Returned by ipcl_frame_read when the stream ended in the middle of a frame. */
#define IPCL_ETRUNC (-100001)
/* Largest chunk written after a poll() said POLLOUT: a pipe then has at least one free
 * page, so a write of at most PIPE_BUF bytes cannot block. */
#define IPCL_SAFE_CHUNK 4096
/* The signal that interrupts a blocked call on the JS thread (see "stop signals"). */
#define IPCL_WAKE_SIGNAL (SIGRTMAX)

/* One record per signal received, written to the listener's pipe (see ipcl_signal_start). */
struct ipcl_sigrecord {
  int32_t signo;
  int32_t code;     /* si_code: SI_QUEUE for sigqueue, SI_USER for kill */
  int32_t pid;      /* sender */
  uint32_t uid;
  uint8_t value[8]; /* sival_ptr's 8 bytes (sigqueue's payload) */
};

/* ---------- facts ---------------------------------------------------------------- */

static char facts_buf[8192];

#define FACT(name) n += snprintf(facts_buf + n, sizeof facts_buf - n, "%s=%lld\n", #name, (long long)(name))
#define FACT_AS(key, value) n += snprintf(facts_buf + n, sizeof facts_buf - n, "%s=%lld\n", key, (long long)(value))
#define SIZE(type, key) FACT_AS("sizeof." key, sizeof(type))
#define OFF(type, field, key) FACT_AS("offsetof." key "." #field, offsetof(type, field))

/** Every constant and layout TypeScript needs, as "KEY=VALUE\n" lines. */
const char *ipcl_facts(void) {
  int n = 0;
  FACT(O_RDONLY); FACT(O_WRONLY); FACT(O_RDWR); FACT(O_ACCMODE); FACT(O_CREAT); FACT(O_EXCL);
  FACT(O_NONBLOCK); FACT(O_CLOEXEC); FACT(O_TRUNC);
  FACT(F_GETFL); FACT(F_SETFL); FACT(F_GETFD); FACT(F_SETFD); FACT(FD_CLOEXEC);
  FACT(F_GETPIPE_SZ); FACT(F_SETPIPE_SZ); FACT(F_DUPFD_CLOEXEC);
  FACT(PROT_READ); FACT(PROT_WRITE); FACT(MAP_SHARED);
  FACT(POLLIN); FACT(POLLOUT); FACT(POLLERR); FACT(POLLHUP); FACT(POLLNVAL);
  FACT(S_IFMT); FACT(S_IFIFO); FACT(S_IFREG); FACT(S_IFSOCK);
  FACT(PIPE_BUF); FACT(SIGPIPE); FACT(SIGINT); FACT(SIGTERM); FACT(SIGHUP);
  FACT(IPCL_WAKE_SIGNAL); FACT(ENOMEM); FACT(EFAULT);
  FACT(IPCL_EOF); FACT(IPCL_ETRUNC);
  FACT(IPCL_RING_MAGIC); FACT(IPCL_RING_VERSION); FACT(IPCL_RING_ALIGN);
  SIZE(struct stat, "stat");
  OFF(struct stat, st_mode, "stat"); OFF(struct stat, st_size, "stat"); OFF(struct stat, st_uid, "stat");
  SIZE(struct ipcl_ring_header, "ring_header");
  OFF(struct ipcl_ring_header, magic, "ring_header");
  OFF(struct ipcl_ring_header, version, "ring_header");
  OFF(struct ipcl_ring_header, header_size, "ring_header");
  OFF(struct ipcl_ring_header, capacity, "ring_header");
  OFF(struct ipcl_ring_header, max_message, "ring_header");
  OFF(struct ipcl_ring_header, creator_pid, "ring_header");
  OFF(struct ipcl_ring_header, opener_pid, "ring_header");
  OFF(struct ipcl_ring_header, wait_kind, "ring_header");
  OFF(struct ipcl_ring_header, dir, "ring_header");
  FACT(IPCL_RING_WAIT_FUTEX); FACT(IPCL_RING_WAIT_SEMAPHORE);
  OFF(struct ipcl_ring_dir, data_ready, "ring_dir"); OFF(struct ipcl_ring_dir, space_ready, "ring_dir");
  SIZE(struct ipcl_ring_dir, "ring_dir");
  OFF(struct ipcl_ring_dir, head, "ring_dir");
  OFF(struct ipcl_ring_dir, producer_waiting, "ring_dir");
  OFF(struct ipcl_ring_dir, tail, "ring_dir");
  OFF(struct ipcl_ring_dir, consumer_waiting, "ring_dir");
  OFF(struct ipcl_ring_dir, closed, "ring_dir");
  /* errno values the library reacts to (names come from strerrorname_np) */
  FACT(EAGAIN); FACT(EINTR); FACT(ENOENT); FACT(EEXIST); FACT(ETIMEDOUT); FACT(EPIPE);
  FACT(EMSGSIZE); FACT(ENXIO); FACT(EINVAL); FACT(EBADF); FACT(ESRCH); FACT(EBUSY);
  FACT(EPROTO); FACT(ECANCELED); FACT(ENOSPC); FACT(ENOMSG); FACT(EIDRM); FACT(ECONNREFUSED);
  FACT(EINPROGRESS); FACT(ECONNRESET); FACT(EADDRINUSE); FACT(ENOTCONN); FACT(EMFILE);
  FACT(IPC_CREAT); FACT(IPC_EXCL); FACT(IPC_NOWAIT); FACT(IPC_PRIVATE);
  FACT(AF_UNIX); FACT(AF_INET); FACT(AF_INET6); FACT(SOCK_STREAM); FACT(SOCK_DGRAM); FACT(SOCK_CLOEXEC);
  FACT(SOCK_NONBLOCK); FACT(MSG_DONTWAIT); FACT(MSG_NOSIGNAL); FACT(SOL_SOCKET); FACT(SO_SNDBUF); FACT(SO_RCVBUF);
  FACT(SO_REUSEADDR); FACT(IPPROTO_TCP); FACT(TCP_NODELAY);
  SIZE(struct sockaddr_storage, "sockaddr_storage");
  SIZE(sem_t, "sem_t");
  FACT(LOCK_SH); FACT(LOCK_EX); FACT(LOCK_UN); FACT(LOCK_NB); FACT(O_APPEND);
  FACT(EFD_CLOEXEC); FACT(EFD_NONBLOCK); FACT(EFD_SEMAPHORE);
  FACT(IN_MODIFY); FACT(IN_CLOSE_WRITE); FACT(IN_NONBLOCK); FACT(IN_CLOEXEC);
  FACT_AS("SIGRTMIN", SIGRTMIN); FACT_AS("SIGRTMAX", SIGRTMAX); FACT(SIGUSR1); FACT(SIGUSR2);
  SIZE(struct ipcl_sigrecord, "sigrecord");
  OFF(struct ipcl_sigrecord, signo, "sigrecord"); OFF(struct ipcl_sigrecord, code, "sigrecord");
  OFF(struct ipcl_sigrecord, pid, "sigrecord"); OFF(struct ipcl_sigrecord, uid, "sigrecord");
  OFF(struct ipcl_sigrecord, value, "sigrecord"); FACT(EACCES); FACT(EPERM); FACT(ENAMETOOLONG);
  return facts_buf;
}

/* ---------- time and deadlines --------------------------------------------------- */

static int64_t now_ns(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* deadline in CLOCK_MONOTONIC ns, or -1 for "forever" */
static int64_t deadline_after(double timeout_ms) {
  if (timeout_ms < 0) return -1;
  return now_ns(CLOCK_MONOTONIC) + (int64_t)(timeout_ms * 1e6);
}

/* milliseconds left until the deadline, rounded up, for poll(); -1 = forever */
static int poll_ms_left(int64_t deadline) {
  if (deadline < 0) return -1;
  int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* ---------- process setup -------------------------------------------------------- */

/** Ignore SIGPIPE (writers get EPIPE instead of dying) unless someone installed a handler. */
int ipcl_init(void) {
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  return 0;
}

/* ---------- stop signals: Ctrl-C reaches a blocked call ---------------------------- */
/*
 * A sync call blocked in the kernel keeps the JS thread from running the runtime's signal
 * handlers, and runtimes install theirs with SA_RESTART, so the kernel resumes the wait by
 * itself: Ctrl-C would wait as long as the call does. ipcl_stop_install therefore:
 *   - chains a handler in front of the runtime's for SIGINT, SIGTERM and SIGHUP: it records
 *     the signal in stop_word, wakes the stop thread and calls the runtime's handler;
 *   - blocks those signals on the JS thread, so they are always handled on another thread
 *     (the stop thread keeps them unblocked, so there is always one that takes them);
 *   - has the stop thread interrupt the JS thread's wait with IPCL_WAKE_SIGNAL, whose handler
 *     does nothing and has no SA_RESTART, so the blocked syscall returns EINTR. It repeats
 *     that every IPCL_WAKE_REPEAT_MS while the JS thread is still inside a wait, which closes
 *     the window between looking at stop_word and entering the kernel.
 * The wait loops below return -EINTR when EINTR comes while a stop is pending (stopping());
 * every other EINTR is retried as before. TypeScript decides what a stop means
 * (lib/cleanup.ts): exit with 128 + the signal, or an IpcError EINTR for the program's own
 * handler. Nothing here runs on the hot path except one thread-local store per wait.
 */
#define IPCL_WAKE_REPEAT_MS 20

static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction stop_prev[3];
static volatile uint32_t stop_word;       /* the stop signal not yet acted on, 0 if none */
static volatile int stop_js_waiting;      /* the JS thread is inside a blocking shim call */
static volatile pid_t stop_js_tid;        /* the JS thread, 0 before ipcl_stop_install */
static __thread int stop_watched;         /* this thread is the JS thread */
static int stop_pipe[2] = {-1, -1};       /* handler -> stop thread */

/** A stop signal is pending and this thread's waits must end (call after EINTR). */
static inline int stopping(void) { return stop_watched && __atomic_load_n(&stop_word, __ATOMIC_RELAXED) != 0; }

/* Mark the JS thread as inside a wait for the length of a scope (nested scopes restore). */
static inline int stop_enter(void) {
  int was = stop_js_waiting;
  if (stop_watched) stop_js_waiting = 1;
  return was;
}
static inline void stop_leave(int *was) { if (stop_watched) stop_js_waiting = *was; }
#define WAIT_SCOPE int wait_scope_ __attribute__((cleanup(stop_leave), unused)) = stop_enter()

static void on_wake(int signo) { (void)signo; }

static void on_stop(int signo, siginfo_t *si, void *ctx) {
  int saved = errno;
  __atomic_store_n(&stop_word, (uint32_t)signo, __ATOMIC_RELAXED);
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
    while (__atomic_load_n(&stop_word, __ATOMIC_RELAXED) != 0) {
      if (stop_js_waiting) syscall(SYS_tgkill, getpid(), stop_js_tid, IPCL_WAKE_SIGNAL);
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
  if (stop_js_tid) return 0;
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
  stop_watched = 1;
  stop_js_tid = (pid_t)syscall(SYS_gettid);
  return 0;
}

/** The stop signal not yet acted on (0: none), which this call clears. */
int ipcl_stop_take(void) { return (int)__atomic_exchange_n(&stop_word, 0, __ATOMIC_RELAXED); }

/** The stop signal not yet acted on (0: none), left pending. */
int ipcl_stop_pending(void) { return (int)__atomic_load_n(&stop_word, __ATOMIC_RELAXED); }

/** How many CPUs this thread may run on (sched_getaffinity), or -errno. */
int ipcl_cpus_allowed(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
  return CPU_COUNT(&set);
}

/* ---------- variadic wrappers ---------------------------------------------------- */

/** open(2) with a fixed arity; returns the fd or -errno (-EINTR: a stop signal). */
int ipcl_open(const char *path, int flags, int mode) {
  WAIT_SCOPE; /* opening a FIFO waits for its peer */
  int fd;
  do fd = open(path, flags, (mode_t)mode); while (fd < 0 && errno == EINTR && !stopping());
  return fd < 0 ? -errno : fd;
}

/** mq_open(3) with attributes passed flat (maxmsg 0 = system defaults); fd or -errno. */
int ipcl_mq_open(const char *name, int oflag, int mode, long maxmsg, long msgsize) {
  struct mq_attr attr = {0};
  attr.mq_maxmsg = maxmsg;
  attr.mq_msgsize = msgsize;
  mqd_t q = mq_open(name, oflag, (mode_t)mode, maxmsg > 0 ? &attr : NULL);
  return q == (mqd_t)-1 ? -errno : (int)q;
}

/** mq_getattr(3) into out[0..3] = flags, maxmsg, msgsize, curmsgs; 0 or -errno. */
int ipcl_mq_getattr(int q, double *out) {
  struct mq_attr attr;
  if (mq_getattr((mqd_t)q, &attr) != 0) return -errno;
  out[0] = (double)attr.mq_flags; out[1] = (double)attr.mq_maxmsg;
  out[2] = (double)attr.mq_msgsize; out[3] = (double)attr.mq_curmsgs;
  return 0;
}

static struct timespec realtime_deadline(double timeout_ms) {
  int64_t t = now_ns(CLOCK_REALTIME) + (int64_t)(timeout_ms * 1e6);
  struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
  return ts;
}

/** mq_send with a timeout (0 = try, negative = forever); 0 or -errno (ETIMEDOUT). */
int ipcl_mq_send(int q, const void *buf, size_t len, unsigned prio, double timeout_ms) {
  WAIT_SCOPE;
  int r;
  if (timeout_ms < 0) {
    do r = mq_send((mqd_t)q, buf, len, prio); while (r != 0 && errno == EINTR && !stopping());
  } else {
    struct timespec ts = realtime_deadline(timeout_ms);
    do r = mq_timedsend((mqd_t)q, buf, len, prio, &ts); while (r != 0 && errno == EINTR && !stopping());
  }
  return r == 0 ? 0 : -errno;
}

/** mq_receive with a timeout; the length, or -errno. *prio gets the priority. */
int ipcl_mq_receive(int q, void *buf, size_t cap, unsigned *prio, double timeout_ms) {
  WAIT_SCOPE;
  ssize_t r;
  if (timeout_ms < 0) {
    do r = mq_receive((mqd_t)q, buf, cap, prio); while (r < 0 && errno == EINTR && !stopping());
  } else {
    struct timespec ts = realtime_deadline(timeout_ms);
    do r = mq_timedreceive((mqd_t)q, buf, cap, prio, &ts); while (r < 0 && errno == EINTR && !stopping());
  }
  return r < 0 ? -errno : (int)r;
}

/* ---------- waiting -------------------------------------------------------------- */

/**
 * poll(2) one fd for `events`, optionally together with a cancel fd (-1 for none) whose
 * readability ends the wait early. Returns the fd's revents, 0 on timeout, IPCL_CANCELLED
 * style -ECANCELED when the cancel fd fired, or -errno. EINTR resumes with the time left
 * (-EINTR when a stop signal is pending on the JS thread).
 */
int ipcl_poll1(int fd, int events, double timeout_ms, int cancel_fd) {
  WAIT_SCOPE;
  struct pollfd p[2] = {{.fd = fd, .events = (short)events}, {.fd = cancel_fd, .events = POLLIN}};
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    int r = poll(p, cancel_fd >= 0 ? 2 : 1, poll_ms_left(deadline));
    if (r < 0 && errno == EINTR && !stopping()) continue;
    if (r < 0) return -errno;
    if (r == 0) return 0;
    if (cancel_fd >= 0 && p[1].revents) return -ECANCELED;
    return p[0].revents;
  }
}

/**
 * Sleep while *addr == expected (FUTEX_WAIT on a shared mapping, so not PRIVATE).
 * 0 when woken (or the value already differed), -ETIMEDOUT, or -errno. EINTR returns 0:
 * the caller re-checks its condition anyway (-EINTR when a stop signal is pending).
 */
int ipcl_futex_wait(uint32_t *addr, uint32_t expected, double timeout_ms) {
  WAIT_SCOPE;
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    int64_t ns = (int64_t)(timeout_ms * 1e6);
    ts.tv_sec = ns / 1000000000; ts.tv_nsec = ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, tsp, NULL, 0);
  if (r == 0) return 0;
  if (errno == EINTR && stopping()) return -EINTR;
  if (errno == EAGAIN || errno == EINTR) return 0;
  return -errno;
}

/** Wake up to n sleepers on addr; the number woken or -errno. */
int ipcl_futex_wake(uint32_t *addr, int n) {
  long r = syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
  return r < 0 ? -errno : (int)r;
}

/* ---------- memory --------------------------------------------------------------- */

/**
 * Give fd (a POSIX shm object or memfd) `size` bytes and reserve every page now
 * (ftruncate, then posix_fallocate): a tmpfs without room then fails here with ENOSPC,
 * instead of a SIGBUS in whichever process first touches a page that cannot be backed.
 * 0 or -errno.
 */
int ipcl_reserve(int fd, double size) {
  int r;
  do r = ftruncate(fd, (off_t)size); while (r != 0 && errno == EINTR);
  if (r != 0) return -errno;
  do r = posix_fallocate(fd, 0, (off_t)size); while (r == EINTR);
  return -r;
}

/**
 * Fault in every page of [addr, addr+len) for writing (MADV_POPULATE_WRITE), so memory
 * that cannot be backed fails here (-ENOMEM / -EFAULT) rather than with SIGBUS later:
 * the reservation for System V segments, which have no descriptor to fallocate. Kernels
 * before 5.14 lack it (-EINVAL): then nothing is reserved. 0 or -errno.
 */
int ipcl_populate(void *addr, double len) {
#ifdef MADV_POPULATE_WRITE
  return madvise(addr, (size_t)len, MADV_POPULATE_WRITE) == 0 ? 0 : -errno;
#else
  (void)addr; (void)len;
  return -EINVAL;
#endif
}

/** Bytes free for an unprivileged user on the filesystem holding path (statvfs), or -errno. */
double ipcl_fs_free(const char *path) {
  struct statvfs v;
  if (statvfs(path, &v) != 0) return -errno;
  return (double)v.f_bavail * (double)v.f_frsize;
}

/** mmap(2) a shared read/write view of fd; the address, or NULL with *err = errno. */
void *ipcl_mmap_shared(int fd, size_t len, int *err) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { *err = errno; return NULL; }
  *err = 0;
  return p;
}

/* ---------- framed byte streams -------------------------------------------------- */
/* Wire format: u32 little-endian payload length, then the payload. */

/**
 * Write all of iov, resuming after partial writes and EINTR. 0 or -errno. A stop signal
 * ends it (-EINTR) only before its first byte: a frame that has started is finished.
 */
static int write_all(int fd, struct iovec *iov, int cnt, int64_t deadline, int chunked) {
  WAIT_SCOPE;
  int written = 0;
  while (cnt > 0) {
    if (chunked) {
      int r = ipcl_poll1(fd, POLLOUT, deadline < 0 ? -1.0 : (double)poll_ms_left(deadline), -1);
      if (r == -EINTR && written) continue;
      if (r < 0) return r;
      if (r == 0) return -ETIMEDOUT;
    }
    ssize_t w;
    if (chunked) {
      /* at most IPCL_SAFE_CHUNK bytes, so the write cannot block after POLLOUT */
      struct iovec part[2];
      int pc = 0; size_t room = IPCL_SAFE_CHUNK;
      for (int i = 0; i < cnt && room > 0; i++) {
        size_t take = iov[i].iov_len < room ? iov[i].iov_len : room;
        part[pc].iov_base = iov[i].iov_base; part[pc].iov_len = take; pc++; room -= take;
        if (pc == 2) break;
      }
      w = writev(fd, part, pc);
    } else {
      w = writev(fd, iov, cnt);
    }
    if (w < 0) {
      if (errno == EINTR && (written || !stopping())) continue;
      return -errno;
    }
    written = 1;
    while (cnt > 0 && (size_t)w >= iov[0].iov_len) { w -= iov[0].iov_len; iov++; cnt--; }
    if (cnt > 0) { iov[0].iov_base = (char *)iov[0].iov_base + w; iov[0].iov_len -= w; }
  }
  return 0;
}

/**
 * Send one frame. timeout_ms < 0 blocks like write(2) (one writev for header + payload);
 * timeout_ms >= 0 waits at most that long for the stream to take the frame's first
 * bytes (0 = try: -EAGAIN if it cannot start now). A frame that has started is always
 * finished, so the stream never carries half a message.
 */
int ipcl_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms) {
  uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
  struct iovec iov[2] = {{hdr, 4}, {(void *)buf, len}};
  if (timeout_ms < 0) return write_all(fd, iov, len ? 2 : 1, -1, 0);
  int r = ipcl_poll1(fd, POLLOUT, timeout_ms, -1);
  if (r < 0) return r;
  if (r == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
  if (r & (POLLERR | POLLHUP)) return -EPIPE;
  /* started: the rest goes out in safe chunks until done */
  return write_all(fd, iov, len ? 2 : 1, -1, 1);
}

/* A buffered frame reader: one read(2) may bring many small frames. */
struct ipcl_reader {
  int fd;
  int await_writer;   /* FIFO read end: poll before reading until a writer has been seen */
  uint32_t pending;   /* length of a frame whose header was consumed but body not, or UINT32_MAX */
  size_t start, end, cap;
  uint8_t buf[];
};

/**
 * A reader for fd with a `cap`-byte buffer (frames larger than it bypass it). With
 * await_writer set (a FIFO's read end), reads wait in poll() until the first bytes come:
 * read(2) on a FIFO that no writer has opened yet returns 0 at once, which is not EOF.
 */
struct ipcl_reader *ipcl_reader_new(int fd, size_t cap, int await_writer) {
  struct ipcl_reader *r = malloc(sizeof *r + cap);
  if (!r) return NULL;
  r->fd = fd; r->await_writer = await_writer; r->pending = UINT32_MAX; r->start = r->end = 0; r->cap = cap;
  return r;
}

void ipcl_reader_free(struct ipcl_reader *r) { free(r); }

/** Length of the frame that did not fit the last caller's buffer, or -1. */
double ipcl_reader_pending(struct ipcl_reader *r) { return r->pending == UINT32_MAX ? -1 : (double)r->pending; }

/* Fill the buffer with at least `need` bytes. 0, -ETIMEDOUT, IPCL_EOF/IPCL_ETRUNC, -errno. */
static int fill(struct ipcl_reader *r, size_t need, int64_t deadline, int mid_frame) {
  if (r->start > 0 && r->cap - r->start < need) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start; r->start = 0;
  }
  while (r->end - r->start < need) {
    if (deadline >= 0 || r->await_writer) {
      /* Linux reports no POLLHUP on a FIFO until a writer has come and gone */
      int p = ipcl_poll1(r->fd, POLLIN, (double)poll_ms_left(deadline), -1);
      if (p < 0) return p;
      if (p == 0) return -ETIMEDOUT;
    }
    ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n < 0) {
      if (errno == EINTR && !stopping()) continue; /* a stop: what was read stays buffered */
      return -errno;
    }
    if (n == 0) return (mid_frame || r->end > r->start) ? IPCL_ETRUNC : IPCL_EOF;
    r->await_writer = 0;
    r->end += n;
  }
  return 0;
}

/**
 * Receive one frame into out[0..cap). Returns its length; -ETIMEDOUT (nothing lost:
 * partial input stays buffered); -EMSGSIZE when the frame is longer than cap (its length
 * is kept as pending and the next call continues with it); IPCL_EOF when the peer closed
 * between frames; IPCL_ETRUNC when it closed inside one; or -errno.
 */
int ipcl_frame_read(struct ipcl_reader *r, uint8_t *out, size_t cap, double timeout_ms) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  uint32_t len = r->pending;
  if (len == UINT32_MAX) {
    int e = fill(r, 4, deadline, 0);
    if (e) return e;
    const uint8_t *h = r->buf + r->start;
    len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    r->start += 4;
    r->pending = len;
  }
  if (len > cap) return -EMSGSIZE;
  if (len <= r->cap) {
    int e = fill(r, len, deadline, 1);
    if (e) return e;
    memcpy(out, r->buf + r->start, len);
    r->start += len;
  } else {
    /* larger than our buffer: drain what is buffered, then read straight into out.
     * Once such a frame has started it is read to its end (no timeout mid-body). */
    size_t have = r->end - r->start;
    if (deadline >= 0 && have == 0) {
      int p = ipcl_poll1(r->fd, POLLIN, (double)poll_ms_left(deadline), -1);
      if (p < 0) return p;
      if (p == 0) return -ETIMEDOUT;
    }
    memcpy(out, r->buf + r->start, have);
    r->start = r->end = 0;
    size_t got = have;
    while (got < len) {
      ssize_t n = read(r->fd, out + got, len - got);
      if (n < 0) {
        /* a stop ends the wait only before the body's first byte: then it stays pending */
        if (errno == EINTR && (got > 0 || !stopping())) continue;
        return -errno;
      }
      if (n == 0) { r->pending = UINT32_MAX; return IPCL_ETRUNC; }
      got += n;
    }
  }
  if (r->start == r->end) r->start = r->end = 0;
  r->pending = UINT32_MAX;
  return (int)len;
}

/* ---------- anonymous shared memory ----------------------------------------------- */

/** memfd_create(name, MFD_CLOEXEC); fd or -errno. */
int ipcl_memfd(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

/* ---------- System V: keys, shared memory, message queues, semaphores ------------- */

/** ftok(3); the key, or -errno. (A key can be negative: check errno via the out flag.) */
int ipcl_ftok(const char *path, int proj, int *ok) {
  key_t k = ftok(path, proj);
  *ok = k != (key_t)-1;
  return k == (key_t)-1 ? -errno : (int)k;
}

/** shmget(2); the id or -errno. */
int ipcl_shmget(int key, size_t size, int flags) {
  int id = shmget((key_t)key, size, flags);
  return id < 0 ? -errno : id;
}

/** shmat(2) read/write; the address, or NULL with *err = errno. */
void *ipcl_shmat(int id, int *err) {
  void *p = shmat(id, NULL, 0);
  if (p == (void *)-1) { *err = errno; return NULL; }
  *err = 0;
  return p;
}

/** shmdt(2); 0 or -errno. */
int ipcl_shmdt(void *addr) { return shmdt(addr) == 0 ? 0 : -errno; }

/** Size in bytes of segment id (IPC_STAT shm_segsz), or -errno. */
double ipcl_shm_size(int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) return -errno;
  return (double)ds.shm_segsz;
}

/** Remove a segment, queue or semaphore set: which = 0 shm, 1 msg, 2 sem. 0 or -errno. */
int ipcl_ipc_rmid(int which, int id) {
  int r = which == 0 ? shmctl(id, IPC_RMID, NULL) : which == 1 ? msgctl(id, IPC_RMID, NULL) : semctl(id, 0, IPC_RMID);
  return r == 0 ? 0 : -errno;
}

/** msgget(2); the id or -errno. */
int ipcl_msgget(int key, int flags) {
  int id = msgget((key_t)key, flags);
  return id < 0 ? -errno : id;
}

/** msg_qnum, msg_qbytes, msg_lspid, msg_lrpid of queue id into out[0..3]; 0 or -errno. */
int ipcl_msg_stat(int id, double *out) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) != 0) return -errno;
  out[0] = (double)ds.msg_qnum; out[1] = (double)ds.msg_qbytes;
  out[2] = (double)ds.msg_lspid; out[3] = (double)ds.msg_lrpid;
  return 0;
}

static void nap(int64_t *pause_ns, int64_t deadline) {
  int64_t ns = *pause_ns;
  if (deadline >= 0) {
    int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
    if (left < ns) ns = left > 0 ? left : 0;
  }
  struct timespec ts = {0, (long)ns};
  nanosleep(&ts, NULL);
  if (*pause_ns < 1000000) *pause_ns *= 2; /* 50 us doubling up to ~1.6 ms */
}

/*
 * System V queues have no descriptor to wait on and no timed calls: "forever" blocks in
 * the kernel; a timeout polls with IPC_NOWAIT and a doubling nap (50 us .. 1.6 ms).
 */

/** msgsnd of a message of `type` (> 0); 0, -EAGAIN (try, full), -ETIMEDOUT, or -errno. */
int ipcl_msgsnd(int id, double type, const void *buf, size_t len, double timeout_ms) {
  char stackbuf[8192 + sizeof(long)];
  struct msgbuf_hdr { long mtype; char mtext[]; } *m =
      len + sizeof(long) <= sizeof stackbuf ? (void *)stackbuf : malloc(sizeof(long) + len);
  if (!m) return -ENOMEM;
  WAIT_SCOPE;
  m->mtype = (long)type;
  if (len) memcpy(m->mtext, buf, len);
  int64_t deadline = deadline_after(timeout_ms), pause = 50000;
  int r;
  for (;;) {
    r = msgsnd(id, m, len, timeout_ms < 0 ? 0 : IPC_NOWAIT);
    if (r == 0) break;
    if (errno == EINTR && stopping()) { r = -EINTR; break; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN || timeout_ms < 0) { r = -errno; break; }
    if (timeout_ms == 0) { r = -EAGAIN; break; }
    if (now_ns(CLOCK_MONOTONIC) >= deadline) { r = -ETIMEDOUT; break; }
    nap(&pause, deadline);
    if (stopping()) { r = -EINTR; break; }
  }
  if ((void *)m != (void *)stackbuf) free(m);
  return r;
}

/**
 * msgrcv of the first message whose type matches `type` (0: any; > 0: that type; < 0: the
 * lowest type <= |type|) into buf (cap bytes). The length, or -ENOMSG/-ETIMEDOUT when none
 * came in time, -E2BIG when the message is longer than cap (it stays queued), or -errno.
 * *type_out gets the message type. `cancel` (may be NULL) ends a timed wait when non-zero.
 */
int ipcl_msgrcv(int id, void *buf, size_t cap, double type, double *type_out, double timeout_ms, volatile uint32_t *cancel) {
  char stackbuf[8192 + sizeof(long)];
  struct msgbuf_hdr { long mtype; char mtext[]; } *m =
      cap + sizeof(long) <= sizeof stackbuf ? (void *)stackbuf : malloc(sizeof(long) + cap);
  if (!m) return -ENOMEM;
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms), pause = 50000;
  ssize_t r;
  for (;;) {
    r = msgrcv(id, m, cap, (long)type, timeout_ms < 0 ? 0 : IPC_NOWAIT);
    if (r >= 0) break;
    if (errno == EINTR && stopping()) { r = -EINTR; break; }
    if (errno == EINTR) continue;
    if (errno != ENOMSG || timeout_ms < 0) { r = -errno; break; }
    if (timeout_ms == 0 || (cancel && *cancel)) { r = -ENOMSG; break; }
    if (now_ns(CLOCK_MONOTONIC) >= deadline) { r = -ETIMEDOUT; break; }
    nap(&pause, deadline);
    if (stopping()) { r = -EINTR; break; }
  }
  if (r >= 0) {
    memcpy(buf, m->mtext, (size_t)r);
    *type_out = (double)m->mtype;
  }
  if ((void *)m != (void *)stackbuf) free(m);
  return (int)r;
}

/** semget(2); the id or -errno. */
int ipcl_semget(int key, int nsems, int flags) {
  int id = semget((key_t)key, nsems, flags);
  return id < 0 ? -errno : id;
}

/** semctl SETVAL; 0 or -errno. */
int ipcl_sem_setval(int id, int num, int value) {
  union semun { int val; struct semid_ds *buf; unsigned short *array; } arg = {.val = value};
  return semctl(id, num, SETVAL, arg) == 0 ? 0 : -errno;
}

/** semctl GETVAL; the value or -errno. */
int ipcl_sem_getval(int id, int num) {
  int v = semctl(id, num, GETVAL);
  return v < 0 ? -errno : v;
}

/**
 * semop/semtimedop of one operation `delta` on semaphore `num` (SEM_UNDO when undo);
 * timeout 0 = IPC_NOWAIT. 0, -EAGAIN (would block), -ETIMEDOUT, or -errno.
 */
int ipcl_semop1(int id, int num, int delta, int undo, double timeout_ms) {
  struct sembuf op = {.sem_num = (unsigned short)num, .sem_op = (short)delta, .sem_flg = (short)(undo ? SEM_UNDO : 0)};
  if (timeout_ms == 0) op.sem_flg |= IPC_NOWAIT;
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    int r;
    if (timeout_ms > 0) {
      int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
      if (left < 0) left = 0;
      struct timespec ts = {left / 1000000000, left % 1000000000};
      r = semtimedop(id, &op, 1, &ts);
      if (r != 0 && errno == EAGAIN) return -ETIMEDOUT;
    } else {
      r = semop(id, &op, 1);
    }
    if (r == 0) return 0;
    if (errno == EINTR && !stopping()) continue;
    return -errno;
  }
}

/* ---------- sockets ------------------------------------------------------------------ */

/** Fill a sockaddr_un for path (abstract: leading NUL, name not NUL-terminated); length or -errno. */
int ipcl_sockaddr_un(uint8_t *out, const char *path, int abstract) {
  struct sockaddr_un *a = (struct sockaddr_un *)out;
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n + 1 > sizeof a->sun_path) return -ENAMETOOLONG;
  if (abstract) { memcpy(a->sun_path + 1, path, n); return (int)(offsetof(struct sockaddr_un, sun_path) + 1 + n); }
  memcpy(a->sun_path, path, n);
  return (int)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/** Fill a sockaddr_in/in6 for a numeric host ("127.0.0.1", "::1") and port; length or -EINVAL. */
int ipcl_sockaddr_ip(uint8_t *out, const char *host, int port) {
  memset(out, 0, sizeof(struct sockaddr_storage));
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET; v4->sin_port = htons((uint16_t)port);
    return sizeof *v4;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6; v6->sin6_port = htons((uint16_t)port);
    return sizeof *v6;
  }
  return -EINVAL;
}

/** The port of a bound AF_INET/AF_INET6 socket (getsockname), or -errno. */
int ipcl_local_port(int fd) {
  struct sockaddr_storage ss; socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -EINVAL;
}

/** socket(2) with SOCK_CLOEXEC; fd or -errno. */
int ipcl_socket(int domain, int type) {
  int fd = socket(domain, type | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

/** socketpair(AF_UNIX, type); 0 or -errno. */
int ipcl_socketpair(int type, int *sv) {
  return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0 ? 0 : -errno;
}

/** setsockopt of an int option; 0 or -errno. */
int ipcl_setsockopt_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

/** getsockopt of an int option; the value or -errno. */
int ipcl_getsockopt_int(int fd, int level, int name) {
  int v = 0; socklen_t len = sizeof v;
  return getsockopt(fd, level, name, &v, &len) == 0 ? v : -errno;
}

/** bind(2) then, for stream sockets (backlog > 0), listen(2); 0 or -errno. */
int ipcl_bind_listen(int fd, const uint8_t *addr, int len, int backlog) {
  if (bind(fd, (const struct sockaddr *)addr, (socklen_t)len) != 0) return -errno;
  if (backlog > 0 && listen(fd, backlog) != 0) return -errno;
  return 0;
}

/** connect(2) within timeout_ms (negative: as long as the kernel takes); 0 or -errno. */
int ipcl_connect(int fd, const uint8_t *addr, int len, double timeout_ms) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int r = connect(fd, (const struct sockaddr *)addr, (socklen_t)len);
  if (r != 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
    int p = ipcl_poll1(fd, POLLOUT, timeout_ms, -1);
    if (p == 0) { fcntl(fd, F_SETFL, flags); return -ETIMEDOUT; }
    if (p < 0) { fcntl(fd, F_SETFL, flags); return p; }
    int err = 0; socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    r = err ? -1 : 0;
    errno = err;
  }
  int e = errno;
  fcntl(fd, F_SETFL, flags);
  return r == 0 ? 0 : -e;
}

/** accept4(2) within timeout_ms; the new fd (CLOEXEC, blocking) or -errno / -ETIMEDOUT. */
int ipcl_accept(int fd, double timeout_ms) {
  WAIT_SCOPE;
  if (timeout_ms >= 0) {
    int p = ipcl_poll1(fd, POLLIN, timeout_ms, -1);
    if (p == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    if (p < 0) return p;
  }
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | (timeout_ms >= 0 ? SOCK_NONBLOCK : 0));
    if (c >= 0) {
      if (timeout_ms >= 0) fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
      return c;
    }
    if (errno == EINTR && !stopping()) continue;
    return -errno;
  }
}

/**
 * Send one datagram (to addr, or to the connected peer when addr_len is 0), waiting at most
 * timeout_ms for buffer space (0: try). 0, -EAGAIN, -ETIMEDOUT, or -errno.
 */
int ipcl_dgram_send(int fd, const void *buf, size_t len, const uint8_t *addr, int addr_len, double timeout_ms) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    ssize_t r = sendto(fd, buf, len, MSG_NOSIGNAL | (timeout_ms >= 0 ? MSG_DONTWAIT : 0),
                       addr_len ? (const struct sockaddr *)addr : NULL, (socklen_t)addr_len);
    if (r >= 0) return 0;
    if (errno == EINTR && stopping()) return -EINTR;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != ENOBUFS) || timeout_ms < 0) return -errno;
    if (timeout_ms == 0) return -EAGAIN;
    int p = ipcl_poll1(fd, POLLOUT, (double)poll_ms_left(deadline), -1);
    if (p < 0) return p;
    if (p == 0) return -ETIMEDOUT;
  }
}

/**
 * Receive one datagram into buf (cap bytes) within timeout_ms, with MSG_PEEK|MSG_TRUNC
 * first so a datagram larger than cap stays queued (-EMSGSIZE, its size in *size_out).
 * The sender's address goes to from/from_len (may be NULL). Length, -ETIMEDOUT/-EAGAIN, -errno.
 */
int ipcl_dgram_recv(int fd, void *buf, size_t cap, uint8_t *from, int *from_len, double timeout_ms, int *size_out) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    if (timeout_ms >= 0) {
      int p = ipcl_poll1(fd, POLLIN, (double)poll_ms_left(deadline), -1);
      if (p < 0) return p;
      if (p == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    }
    char probe;
    ssize_t size = recv(fd, &probe, 1, MSG_PEEK | MSG_TRUNC | (timeout_ms >= 0 ? MSG_DONTWAIT : 0));
    if (size < 0) {
      if (errno == EINTR && stopping()) return -EINTR;
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if ((size_t)size > cap) { *size_out = (int)size; return -EMSGSIZE; }
    socklen_t fl = from_len ? (socklen_t)*from_len : 0;
    ssize_t r = recvfrom(fd, buf, cap, MSG_DONTWAIT, from ? (struct sockaddr *)from : NULL, from ? &fl : NULL);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if (from_len) *from_len = (int)fl;
    return (int)r;
  }
}

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

/* ---------- files -------------------------------------------------------------------- */

/** flock(2), EINTR retried (-EINTR when a stop signal is pending); 0 or -errno. */
int ipcl_flock(int fd, int op) {
  WAIT_SCOPE;
  int r;
  do r = flock(fd, op); while (r != 0 && errno == EINTR && !stopping());
  return r == 0 ? 0 : -errno;
}

/** An inotify fd watching path for `mask`; fd or -errno. */
int ipcl_inotify_watch(const char *path, unsigned mask) {
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return -errno;
  if (inotify_add_watch(fd, path, mask) < 0) { int e = errno; close(fd); return -e; }
  return fd;
}

/** Discard queued inotify events. */
void ipcl_drain(int fd) {
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {}
}

/** pread(2) of up to len bytes at offset; bytes read or -errno. */
int ipcl_pread(int fd, void *buf, size_t len, double offset) {
  ssize_t r;
  do r = pread(fd, buf, len, (off_t)offset); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : (int)r;
}

/** Size of the file behind fd, or -errno. */
double ipcl_fd_size(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (double)st.st_size : -errno;
}

/* ---------- eventfd ------------------------------------------------------------------ */

/**
 * Read (write = 0) or write (write = 1) the 8 bytes of an O_NONBLOCK eventfd within
 * timeout_ms (0: try, negative: forever). 0, -EAGAIN (try), -ETIMEDOUT, or -errno.
 */
int ipcl_rw8(int fd, uint8_t *buf, int write_, double timeout_ms) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    ssize_t r = write_ ? write(fd, buf, 8) : read(fd, buf, 8);
    if (r == 8) return 0;
    if (r < 0 && errno == EINTR && !stopping()) continue;
    if (r < 0 && errno != EAGAIN) return -errno;
    if (timeout_ms == 0) return -EAGAIN;
    int p = ipcl_poll1(fd, write_ ? POLLOUT : POLLIN, deadline < 0 ? -1.0 : (double)poll_ms_left(deadline), -1);
    if (p < 0) return p;
    if (p == 0) return -ETIMEDOUT;
  }
}

/* ---------- measurement -------------------------------------------------------------- */

/**
 * Pin every thread of this process to CPU `cpu` (sched_setaffinity per task in
 * /proc/self/task; -1 allows all CPUs again). Threads started later inherit the mask of
 * the thread that starts them. 0 or -errno.
 */
int ipcl_pin_process(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  int result = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) return -errno;
  struct dirent *e;
  while ((e = readdir(d))) {
    int tid = atoi(e->d_name);
    if (tid <= 0) continue;
    if (sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) result = -errno;
  }
  closedir(d);
  return result;
}

/** getrusage(RUSAGE_SELF) into out: user ns, system ns, voluntary and involuntary context switches. */
void ipcl_rusage(double *out) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  out[0] = ru.ru_utime.tv_sec * 1e9 + ru.ru_utime.tv_usec * 1e3;
  out[1] = ru.ru_stime.tv_sec * 1e9 + ru.ru_stime.tv_usec * 1e3;
  out[2] = (double)ru.ru_nvcsw;
  out[3] = (double)ru.ru_nivcsw;
}

/** Pin the calling thread only to CPU `cpu` (-1: all CPUs). 0 or -errno. */
int ipcl_pin_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &set);
  else CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/**
 * Would spinning be pathological? 1 when this thread and process `pid` may only run on
 * one and the same CPU (or the machine has a single CPU): a spinner would then keep the
 * very process it waits for off the CPU. 0 otherwise, -errno if pid's mask is unreadable.
 */
int ipcl_shares_single_cpu(int pid) {
  if (sysconf(_SC_NPROCESSORS_ONLN) <= 1) return 1;
  cpu_set_t ours, theirs;
  if (sched_getaffinity(0, sizeof ours, &ours) != 0) return -errno;
  if (sched_getaffinity(pid, sizeof theirs, &theirs) != 0) return -errno;
  return CPU_COUNT(&ours) == 1 && CPU_EQUAL(&ours, &theirs);
}
