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
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ipcl_ring.h"

/* Returned by ipcl_frame_read when the peer closed the stream at a frame boundary. */
#define IPCL_EOF (-100000)
/* Returned by ipcl_frame_read when the stream ended in the middle of a frame. */
#define IPCL_ETRUNC (-100001)
/* Largest chunk written after a poll() said POLLOUT: a pipe then has at least one free
 * page, so a write of at most PIPE_BUF bytes cannot block. */
#define IPCL_SAFE_CHUNK 4096

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
  FACT(F_GETPIPE_SZ); FACT(F_SETPIPE_SZ);
  FACT(PROT_READ); FACT(PROT_WRITE); FACT(MAP_SHARED);
  FACT(POLLIN); FACT(POLLOUT); FACT(POLLERR); FACT(POLLHUP); FACT(POLLNVAL);
  FACT(S_IFMT); FACT(S_IFIFO); FACT(S_IFREG); FACT(S_IFSOCK);
  FACT(PIPE_BUF); FACT(SIGPIPE); FACT(SIGINT); FACT(SIGTERM);
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
  OFF(struct ipcl_ring_header, dir, "ring_header");
  SIZE(struct ipcl_ring_dir, "ring_dir");
  OFF(struct ipcl_ring_dir, head, "ring_dir");
  OFF(struct ipcl_ring_dir, producer_waiting, "ring_dir");
  OFF(struct ipcl_ring_dir, tail, "ring_dir");
  OFF(struct ipcl_ring_dir, consumer_waiting, "ring_dir");
  OFF(struct ipcl_ring_dir, closed, "ring_dir");
  /* errno values the library reacts to (names come from strerrorname_np) */
  FACT(EAGAIN); FACT(EINTR); FACT(ENOENT); FACT(EEXIST); FACT(ETIMEDOUT); FACT(EPIPE);
  FACT(EMSGSIZE); FACT(ENXIO); FACT(EINVAL); FACT(EBADF); FACT(ESRCH); FACT(EBUSY);
  FACT(EPROTO); FACT(ECANCELED); FACT(ENOSPC); FACT(EACCES); FACT(EPERM); FACT(ENAMETOOLONG);
  return facts_buf;
}

/* ---------- time and deadlines --------------------------------------------------- */

static int64_t now_ns(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/** Monotonic clock in nanoseconds (as a double: exact up to 104 days of uptime). */
double ipcl_monotonic_ns(void) { return (double)now_ns(CLOCK_MONOTONIC); }

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

/** How many CPUs this thread may run on (sched_getaffinity), or -errno. */
int ipcl_cpus_allowed(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
  return CPU_COUNT(&set);
}

/* ---------- variadic wrappers ---------------------------------------------------- */

/** open(2) with a fixed arity; returns the fd or -errno. */
int ipcl_open(const char *path, int flags, int mode) {
  int fd;
  do fd = open(path, flags, (mode_t)mode); while (fd < 0 && errno == EINTR);
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
  int r;
  if (timeout_ms < 0) {
    do r = mq_send((mqd_t)q, buf, len, prio); while (r != 0 && errno == EINTR);
  } else {
    struct timespec ts = realtime_deadline(timeout_ms);
    do r = mq_timedsend((mqd_t)q, buf, len, prio, &ts); while (r != 0 && errno == EINTR);
  }
  return r == 0 ? 0 : -errno;
}

/** mq_receive with a timeout; the length, or -errno. *prio gets the priority. */
int ipcl_mq_receive(int q, void *buf, size_t cap, unsigned *prio, double timeout_ms) {
  ssize_t r;
  if (timeout_ms < 0) {
    do r = mq_receive((mqd_t)q, buf, cap, prio); while (r < 0 && errno == EINTR);
  } else {
    struct timespec ts = realtime_deadline(timeout_ms);
    do r = mq_timedreceive((mqd_t)q, buf, cap, prio, &ts); while (r < 0 && errno == EINTR);
  }
  return r < 0 ? -errno : (int)r;
}

/* ---------- waiting -------------------------------------------------------------- */

/**
 * poll(2) one fd for `events`, optionally together with a cancel fd (-1 for none) whose
 * readability ends the wait early. Returns the fd's revents, 0 on timeout, IPCL_CANCELLED
 * style -ECANCELED when the cancel fd fired, or -errno. EINTR resumes with the time left.
 */
int ipcl_poll1(int fd, int events, double timeout_ms, int cancel_fd) {
  struct pollfd p[2] = {{.fd = fd, .events = (short)events}, {.fd = cancel_fd, .events = POLLIN}};
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    int r = poll(p, cancel_fd >= 0 ? 2 : 1, poll_ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return 0;
    if (cancel_fd >= 0 && p[1].revents) return -ECANCELED;
    return p[0].revents;
  }
}

/**
 * Sleep while *addr == expected (FUTEX_WAIT on a shared mapping, so not PRIVATE).
 * 0 when woken (or the value already differed), -ETIMEDOUT, or -errno. EINTR returns 0:
 * the caller re-checks its condition anyway.
 */
int ipcl_futex_wait(uint32_t *addr, uint32_t expected, double timeout_ms) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    int64_t ns = (int64_t)(timeout_ms * 1e6);
    ts.tv_sec = ns / 1000000000; ts.tv_nsec = ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, tsp, NULL, 0);
  if (r == 0) return 0;
  if (errno == EAGAIN || errno == EINTR) return 0;
  return -errno;
}

/** Wake up to n sleepers on addr; the number woken or -errno. */
int ipcl_futex_wake(uint32_t *addr, int n) {
  long r = syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
  return r < 0 ? -errno : (int)r;
}

/* ---------- memory --------------------------------------------------------------- */

/** mmap(2) a shared read/write view of fd; the address, or NULL with *err = errno. */
void *ipcl_mmap_shared(int fd, size_t len, int *err) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { *err = errno; return NULL; }
  *err = 0;
  return p;
}

/** Copy n bytes between a JS buffer and raw memory (used where a view cannot be made). */
void ipcl_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }

/* ---------- framed byte streams -------------------------------------------------- */
/* Wire format: u32 little-endian payload length, then the payload. */

/** Write all of iov, resuming after partial writes and EINTR. 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int cnt, int64_t deadline, int chunked) {
  while (cnt > 0) {
    if (chunked) {
      int r = ipcl_poll1(fd, POLLOUT, deadline < 0 ? -1.0 : (double)poll_ms_left(deadline), -1);
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
      if (errno == EINTR) continue;
      return -errno;
    }
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

/** Bytes buffered but not yet returned (a complete frame may be among them). */
int ipcl_reader_buffered(struct ipcl_reader *r) { return (int)(r->end - r->start); }

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
      if (errno == EINTR) continue;
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
      if (n < 0) { if (errno == EINTR) continue; return -errno; }
      if (n == 0) { r->pending = UINT32_MAX; return IPCL_ETRUNC; }
      got += n;
    }
  }
  if (r->start == r->end) r->start = r->end = 0;
  r->pending = UINT32_MAX;
  return (int)len;
}
