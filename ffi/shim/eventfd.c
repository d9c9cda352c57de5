/*
 * eventfd.c — eventfd: reading and writing the 8-byte counter with a timeout.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- eventfd ------------------------------------------------------------------ */

/**
 * Read (op bit 0 clear) or write (set) the 8 bytes of an eventfd within timeout_ms (0: try,
 * negative: forever). 0, -EAGAIN (try), -ETIMEDOUT, or -errno.
 *
 * The description may be blocking (ipc-lab makes its eventfds so) or O_NONBLOCK (op bit 1
 * set: one made elsewhere). A receive that may wait forever is one read(2), as C's: on a
 * blocking description it sleeps in the read; an O_NONBLOCK one made it read, poll, read
 * again — three system calls for each message that was not there yet, every one of a
 * ping-pong's. A receive with a timeout reads with RWF_NOWAIT (Linux 5.12: no wait whatever
 * the description), so a value that is there costs one call and nothing can make it block
 * (before 5.12, a blocking description is read after poll(2): a competing reader can win).
 * Linux has no RWF_NOWAIT write on an eventfd, so a send with a timeout on a blocking
 * description polls first: POLLOUT means room for 1 — a value larger than 1 that does not
 * fit (a counter within it of 2^64-2, which no count of events reaches) still waits in the
 * write, as does one a competing writer beat to the room.
 */
int ipcl_eventfd_rw(int fd, uint8_t *buf, int op, double timeout_ms) {
  WAIT_SCOPE;
  const int write_ = op & 1, nonblocking = op & 2;
  int64_t deadline = -2; /* worked out only once a wait is needed: the success path reads no clock */
  int ready = timeout_ms < 0 || nonblocking || !write_; /* may this look go straight to the call? */
  int nowait = 1;                                        /* RWF_NOWAIT reads work here */
  for (;;) {
    ssize_t r = -1;
    if (ready) {
      if (write_) r = write(fd, buf, 8);
      else if (timeout_ms < 0) r = read(fd, buf, 8);
      else if (!nowait) r = read(fd, buf, 8); /* before Linux 5.12, after poll(2) said readable */
      else {
        struct iovec v = {buf, 8};
        r = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
        if (r < 0 && errno == EOPNOTSUPP) { /* before Linux 5.12: a blocking description is read once poll(2) says so */
          nowait = 0;
          r = nonblocking ? read(fd, buf, 8) : (errno = EAGAIN, -1);
        }
      }
      if (r == 8) return 0;
      if (r < 0 && errno == EINTR && !stopping()) continue;
      if (r < 0 && errno != EAGAIN) return -errno;
    }
    if (ready && nowait && timeout_ms == 0) return -EAGAIN; /* a try that looked: nothing there (no room) */
    if (deadline == -2) deadline = deadline_after(timeout_ms);
    int p = ipcl_poll1(fd, write_ ? POLLOUT : POLLIN, deadline < 0 ? -1.0 : (double)poll_ms_left(deadline), -1);
    if (p < 0) return p;
    if (p == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    ready = 1;
  }
}
