/*
 * mq.c — POSIX message queues: open with flat attributes, timed send and receive.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

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
/* an absolute time long past: a timed call with it never blocks */
static const struct timespec already_past = {0, 0};

int ipcl_mq_send(int q, const void *buf, uint32_t len, unsigned prio, double timeout_ms) {
  WAIT_SCOPE;
  int r;
  if (timeout_ms < 0) {
    do r = mq_send((mqd_t)q, buf, len, prio); while (r != 0 && errno == EINTR && !stopping());
  } else {
    /* first with a deadline already past: a queue with room takes the message at once and
     * the success path reads no clock; only a full one costs the deadline and a second call */
    r = mq_timedsend((mqd_t)q, buf, len, prio, &already_past);
    if (r != 0 && (errno == ETIMEDOUT || (errno == EINTR && !stopping())) && timeout_ms > 0) {
      struct timespec ts = realtime_deadline(timeout_ms);
      do r = mq_timedsend((mqd_t)q, buf, len, prio, &ts); while (r != 0 && errno == EINTR && !stopping());
    }
  }
  return r == 0 ? 0 : -errno;
}

/**
 * mq_receive with a timeout; the length, or -errno. *prio gets the priority. With
 * `look_first` a timed receive first tries with a deadline already past (as ipcl_mq_send:
 * a message already there is taken without reading the clock; across CPUs that try is a
 * short spin too — the peer may send meanwhile — which saves a sleep and its wake-up).
 * Without it the timed receive waits at once: one system call where the try found nothing
 * — the caller's choice when the sender can only run on our CPU, and so cannot have sent
 * anything since we last looked.
 */
int ipcl_mq_receive(int q, void *buf, uint32_t cap, unsigned *prio, double timeout_ms, int look_first) {
  WAIT_SCOPE;
  ssize_t r;
  if (timeout_ms < 0) {
    do r = mq_receive((mqd_t)q, buf, cap, prio); while (r < 0 && errno == EINTR && !stopping());
  } else {
    if (look_first || timeout_ms == 0) r = mq_timedreceive((mqd_t)q, buf, cap, prio, &already_past);
    else r = -1, errno = ETIMEDOUT; /* as if the try had found nothing: wait with the deadline */
    if (r < 0 && (errno == ETIMEDOUT || (errno == EINTR && !stopping())) && timeout_ms > 0) {
      struct timespec ts = realtime_deadline(timeout_ms);
      do r = mq_timedreceive((mqd_t)q, buf, cap, prio, &ts); while (r < 0 && errno == EINTR && !stopping());
    }
  }
  return r < 0 ? -errno : (int)r;
}
