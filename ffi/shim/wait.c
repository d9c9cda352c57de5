/*
 * wait.c — waiting: timed poll of one descriptor (with a cancel fd), futex wait and wake.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

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

/**
 * poll(2) n descriptors for readability at once (select() over channels). fds[i] < 0 are
 * skipped. Sets ready[i] to 1 for each readable (or hung-up) one; returns how many, 0 on
 * timeout, or -errno. EINTR resumes with the time left (-EINTR on a pending stop signal).
 */
int ipcl_poll_many(const int32_t *fds, int n, double timeout_ms, int32_t *ready) {
  WAIT_SCOPE;
  if (n < 0 || n > 4096) return -EINVAL;
  struct pollfd p[n > 0 ? n : 1];
  for (int i = 0; i < n; i++) { p[i].fd = fds[i]; p[i].events = POLLIN; p[i].revents = 0; ready[i] = 0; }
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    int r = poll(p, (nfds_t)n, poll_ms_left(deadline));
    if (r < 0 && errno == EINTR && !stopping()) continue;
    if (r < 0) return -errno;
    for (int i = 0; i < n; i++) ready[i] = p[i].revents != 0;
    return r;
  }
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
/* struct futex_waitv from <linux/futex.h> (Linux 5.16), spelled out for older headers */
struct ipcl_futex_waitv { uint64_t val; uint64_t uaddr; uint32_t flags; uint32_t reserved; };
#define IPCL_FUTEX2_SIZE_U32 0x02

/**
 * Sleep until any of n shared 32-bit words addrs[i] no longer holds vals[i], or is woken
 * (futex_waitv, Linux >= 5.16: one wait on several rings). Returns the index woken
 * (>= 0), -EAGAIN when a word already differed, -ETIMEDOUT, -ENOSYS on older kernels, or
 * -errno. EINTR returns -EAGAIN: the caller looks again anyway (-EINTR on a stop signal).
 */
int ipcl_futex_waitv(const uint64_t *addrs, const uint32_t *vals, int n, double timeout_ms) {
  WAIT_SCOPE;
  if (n <= 0 || n > 128) return -EINVAL; /* FUTEX_WAITV_MAX */
  struct ipcl_futex_waitv w[n];
  for (int i = 0; i < n; i++) { w[i].val = vals[i]; w[i].uaddr = addrs[i]; w[i].flags = IPCL_FUTEX2_SIZE_U32; w[i].reserved = 0; }
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)(timeout_ms * 1e6);
    ts.tv_sec = ns / 1000000000; ts.tv_nsec = ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex_waitv, w, (unsigned)n, 0, tsp, CLOCK_MONOTONIC);
  if (r >= 0) return (int)r;
  if (errno == EINTR && stopping()) return -EINTR;
  if (errno == EINTR) return -EAGAIN;
  return -errno;
}
