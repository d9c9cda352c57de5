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
