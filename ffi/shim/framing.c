/*
 * framing.c — framed byte streams: u32 LE length + payload, the buffered reader and the writer.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

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
  /* poll(2) first, not a RWF_NOWAIT write: that could take part of a frame into a stream
   * socket with a few bytes free, and the rest would then have to wait for the reader —
   * a try (timeout 0) that blocks; after POLLOUT a frame's first chunk goes in whole */
  int r = ipcl_poll1(fd, POLLOUT, timeout_ms, -1);
  if (r < 0) return r;
  if (r == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
  if (r & (POLLERR | POLLHUP)) return -EPIPE;
  /* started: the rest goes out in safe chunks until done */
  return write_all(fd, iov, len ? 2 : 1, -1, 1);
}

/**
 * ipcl_frame_write for a pipe or FIFO (the caller knows: F_GETPIPE_SZ answers for one). With
 * a timeout, a frame of up to PIPE_BUF bytes goes in one pwritev2(RWF_NOWAIT) — a pipe takes
 * such a write whole or not at all, so no poll(2) is needed first when there is room (an
 * async send's first try, a trySend). Anything else is ipcl_frame_write's.
 */
int ipcl_pipe_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms) {
  if (timeout_ms >= 0 && (size_t)len + 4 <= PIPE_BUF) {
    uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    struct iovec iov[2] = {{hdr, 4}, {(void *)buf, len}};
    ssize_t w = pwritev2(fd, iov, len ? 2 : 1, -1, RWF_NOWAIT);
    if (w == (ssize_t)len + 4) return 0;
    if (w > 0) { /* not a pipe after all (a pipe takes all or nothing): finish the frame */
      int cnt = len ? 2 : 1;
      struct iovec *v = iov;
      while (cnt > 0 && (size_t)w >= v[0].iov_len) { w -= v[0].iov_len; v++; cnt--; }
      v[0].iov_base = (char *)v[0].iov_base + w; v[0].iov_len -= w;
      return write_all(fd, v, cnt, -1, 1);
    }
    if (w < 0 && errno == EAGAIN && timeout_ms == 0) return -EAGAIN;
    /* otherwise (full with time to wait, a closed reader, no RWF_NOWAIT) as a stream: poll first */
  }
  return ipcl_frame_write(fd, buf, len, timeout_ms);
}

/* A buffered frame reader: one read(2) may bring many small frames. */
struct ipcl_reader {
  int fd;
  int await_writer;   /* FIFO read end: poll before reading until a writer has been seen */
  int whole_frames;   /* every writer writes whole frames in one write(2): see ipcl_reader_whole_frames */
  int drained;        /* whole_frames: the last read took less than it asked — the pipe was empty then */
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
  r->fd = fd; r->await_writer = await_writer; r->whole_frames = r->drained = 0; r->pending = UINT32_MAX; r->start = r->end = 0; r->cap = cap;
  return r;
}

void ipcl_reader_free(struct ipcl_reader *r) { free(r); }

/** Length of the frame that did not fit the last caller's buffer, or -1. */
double ipcl_reader_pending(struct ipcl_reader *r) { return r->pending == UINT32_MAX ? -1 : (double)r->pending; }

/* A read's deadline, worked out only once a read has to wait (-2: not yet; -1: none). */
struct read_deadline {
  double timeout_ms;
  int64_t at;
};

static int64_t deadline_of(struct read_deadline *d) {
  if (d->at == -2) d->at = deadline_after(d->timeout_ms);
  return d->at;
}

/* Fill the buffer with at least `need` bytes. 0, -ETIMEDOUT, IPCL_EOF/IPCL_ETRUNC, -errno. */
static int fill(struct ipcl_reader *r, size_t need, struct read_deadline *d, int mid_frame) {
  /* Whole frames, and part of one is here with more needed. Its writer wrote it whole, so its
   * rest was in the pipe when this part was read — unless the read that brought it emptied
   * the pipe: then no rest will come, and the next bytes are another writer's frame, which
   * waiting would take as this one's rest (seen when a whole frame came first in that read,
   * so the check after the read below did not apply to this one) */
  int partial = r->whole_frames && r->end - r->start < need && (mid_frame || r->end > r->start);
  if (partial && r->drained) return IPCL_EGARBAGE;
  /* what is left moves to the front when the need would run past the end — and, for a part
   * of a whole frame, always: a read then has the whole buffer (bigger than a pipe's default
   * 64 KiB), and one that takes less than it asked says "the pipe is empty" */
  if (r->start > 0 && (partial || r->cap - r->start < need)) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start; r->start = 0;
  }
  while (r->end - r->start < need) {
    size_t room = r->cap - r->end;
    ssize_t n;
    if (d->timeout_ms >= 0 && !r->await_writer) {
      /* with a timeout: what is there already is read at once (RWF_NOWAIT), poll(2) only
       * when nothing is — one system call for a message that has arrived */
      struct iovec v = {r->buf + r->end, room};
      n = preadv2(r->fd, &v, 1, -1, RWF_NOWAIT);
      if (n < 0 && errno == EAGAIN && d->timeout_ms == 0) return -ETIMEDOUT; /* a try: nothing there */
      if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
        int p = ipcl_poll1(r->fd, POLLIN, (double)poll_ms_left(deadline_of(d)), -1);
        if (p < 0) return p;
        if (p == 0) return -ETIMEDOUT;
        n = read(r->fd, r->buf + r->end, room);
      }
    } else {
      if (d->timeout_ms >= 0 || r->await_writer) {
        /* Linux reports no POLLHUP on a FIFO until a writer has come and gone */
        int p = ipcl_poll1(r->fd, POLLIN, (double)poll_ms_left(deadline_of(d)), -1);
        if (p < 0) return p;
        if (p == 0) return -ETIMEDOUT;
      }
      n = read(r->fd, r->buf + r->end, room);
    }
    if (n < 0) {
      if (errno == EINTR && !stopping()) continue; /* a stop: what was read stays buffered */
      return -errno;
    }
    if (n == 0) return (mid_frame || r->end > r->start) ? IPCL_ETRUNC : IPCL_EOF;
    r->await_writer = 0;
    r->end += n;
    /* a read that took less than it could emptied the pipe: a frame still incomplete then
     * was no writer's whole write — garbage (the check needs no second look, so no race);
     * a frame cut short further on in these bytes is found when it is read (above) */
    r->drained = (size_t)n < room;
    if (r->whole_frames && r->drained && r->end - r->start < need) return IPCL_EGARBAGE;
  }
  return 0;
}

/**
 * Receive one frame into out[0..cap). Returns its length; -ETIMEDOUT (nothing lost:
 * partial input stays buffered); -EMSGSIZE when the frame is longer than cap (its length
 * is kept as pending and the next call continues with it); IPCL_EOF when the peer closed
 * between frames; IPCL_ETRUNC when it closed inside one; or -errno.
 */
int ipcl_frame_read(struct ipcl_reader *r, uint8_t *out, uint32_t cap, double timeout_ms) {
  WAIT_SCOPE;
  struct read_deadline d = {timeout_ms, timeout_ms < 0 ? -1 : -2};
  uint32_t len = r->pending;
  if (len == UINT32_MAX) {
    int e = fill(r, 4, &d, 0);
    if (e) return e;
    const uint8_t *h = r->buf + r->start;
    len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    r->start += 4;
    r->pending = len;
  }
  if (len > cap) return -EMSGSIZE;
  if (len <= r->cap) {
    int e = fill(r, len, &d, 1);
    if (e) return e;
    memcpy(out, r->buf + r->start, len);
    r->start += len;
  } else {
    /* larger than our buffer: drain what is buffered, then read straight into out.
     * Once such a frame has started it is read to its end (no timeout mid-body). */
    size_t have = r->end - r->start;
    if (timeout_ms >= 0 && have == 0) {
      int p = ipcl_poll1(r->fd, POLLIN, (double)poll_ms_left(deadline_of(&d)), -1);
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

/**
 * For a stream whose writers each write whole frames in one write(2) — a server's
 * well-known FIFO, where PIPE_BUF makes each write atomic: a frame found incomplete by a read
 * that emptied the pipe is garbage, and ipcl_frame_read returns IPCL_EGARBAGE for it.
 */
void ipcl_reader_whole_frames(struct ipcl_reader *r) { r->whole_frames = 1; }

/**
 * Put a stream back in step after malformed input (IPCL_EGARBAGE, or a frame longer than
 * any writer writes): drop what is buffered and the frame begun, and return the bytes
 * dropped. The next byte read then starts a frame again.
 */
double ipcl_reader_resync(struct ipcl_reader *r) {
  double dropped = (double)(r->end - r->start) + (r->pending != UINT32_MAX ? 4 : 0);
  r->start = r->end = 0;
  r->pending = UINT32_MAX;
  r->drained = 0;
  return dropped;
}
