/*
 * eventfd.c — eventfd: reading and writing the 8-byte counter with a timeout.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- eventfd ------------------------------------------------------------------ */

/**
 * Read (write = 0) or write (write = 1) the 8 bytes of an O_NONBLOCK eventfd within
 * timeout_ms (0: try, negative: forever). 0, -EAGAIN (try), -ETIMEDOUT, or -errno.
 */
int ipcl_eventfd_rw(int fd, uint8_t *buf, int write_, double timeout_ms) {
  WAIT_SCOPE;
  int64_t deadline = -2; /* worked out only once a wait is needed: the success path reads no clock */
  for (;;) {
    ssize_t r = write_ ? write(fd, buf, 8) : read(fd, buf, 8);
    if (r == 8) return 0;
    if (r < 0 && errno == EINTR && !stopping()) continue;
    if (r < 0 && errno != EAGAIN) return -errno;
    if (timeout_ms == 0) return -EAGAIN;
    if (deadline == -2) deadline = deadline_after(timeout_ms);
    int p = ipcl_poll1(fd, write_ ? POLLOUT : POLLIN, deadline < 0 ? -1.0 : (double)poll_ms_left(deadline), -1);
    if (p < 0) return p;
    if (p == 0) return -ETIMEDOUT;
  }
}
