/*
 * ring.c — one ring side's send and receive as one call each, over the layout of
 * ffi/ipcl_ring.h: the room check, copy, publish and wake decision of a send, or the
 * length check, copy, release and wake decision of a receive. lib/ring/channel.ts does the
 * same in JavaScript over the mapping; it calls these where a crossing costs less than its
 * own code (chosen per runtime at open, see lib/ring/channel.ts). Neither waits: spinning
 * and sleeping stay with the caller. The protocol is the one the header describes, with
 * the same sequentially consistent loads and stores as JavaScript's Atomics, so either
 * path may talk to the other (or to a C peer) — except that a send here may publish `head`
 * with a release store once its consumer has not slept for a while (version 3's relaxed
 * publishing, see the header), which every consumer's sleep allows for.
 *
 * `cap` is the data area's size as the caller checked it at open (a power of two, never
 * read back from the shared header, which another process may write); `how` is the
 * direction (bit 0), whether sides sleep on the ring's semaphores rather than futexes
 * (bit 1), and for a send, whether to hold the message unpublished (bit 2: a batch
 * publishes its head once, after its last message). Part of the shim (see internal.h);
 * compiled with the other files of ffi/shim/.
 */
#include "internal.h"
#include "../ipcl_ring.h"

#define RING_LOAD(p) __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define RING_STORE(p, v) __atomic_store_n(p, v, __ATOMIC_SEQ_CST)

static inline uint32_t record_size(uint32_t len) { return (len + 4 + IPCL_RING_ALIGN - 1) & ~(IPCL_RING_ALIGN - 1); }

static inline uint8_t *data_of(struct ipcl_ring_header *h, uint32_t cap, uint32_t dir) {
  return (uint8_t *)h + sizeof(struct ipcl_ring_header) + (size_t)dir * cap;
}

/* Small copies as 8-byte words: glibc's memcpy cost a 64 B round trip across CPUs more (docs/benchmark.md). */
static inline void copy_bytes(uint8_t *to, const uint8_t *from, uint32_t n) {
  if (n > 256) { memcpy(to, from, n); return; }
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) { uint64_t w; __builtin_memcpy(&w, from + i, 8); __builtin_memcpy(to + i, &w, 8); }
  for (; i < n; i++) to[i] = from[i];
}

/* Clear a *_waiting flag that still holds `mark` (ipcl_ring.h): true when this call cleared it and owes a wake. */
static inline int clear_flag(uint32_t *flag, uint32_t mark) {
  return __atomic_compare_exchange_n(flag, &mark, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Whether this process may publish relaxed (ipcl_ring.h, version 3): it registered for
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED, so a consumer's membarrier reaches its threads. Asked
 * once. (Also the C baseline's, bench/c/baseline.c, which links the shim's sources.) */
int ipcl_ring_may_relax(void) {
  static int allowed = -1; /* -1: not asked yet; threads that race here compute the same answer */
  int a = __atomic_load_n(&allowed, __ATOMIC_RELAXED);
  if (a < 0) {
    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    a = q > 0 && (q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
    __atomic_store_n(&allowed, a, __ATOMIC_RELAXED);
  }
  return a;
}

static uint32_t fences; /* membarriers made by ipcl_ring_fence in this process, for tests */

/**
 * A consumer about to sleep whose producer publishes relaxed (producer_relaxed is 1): make
 * every store the producer's threads made so far visible before it looks at `head` again
 * (ipcl_ring.h, version 3). Returns how many such fences this process has made (modulo
 * 2^31), or -errno (the caller then sleeps in short slices: a wake-up may have been lost).
 */
int32_t ipcl_ring_fence(void) {
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0) return -errno;
  return (int32_t)(__atomic_add_fetch(&fences, 1, __ATOMIC_RELAXED) & 0x7fffffffu);
}

/* Publish the consumer's new tail, and wake the producer once the bytes its flag says it waits for are free, not before. */
static inline void release(struct ipcl_ring_dir *d, uint32_t cap, uint32_t how, uint32_t tail) {
  RING_STORE(&d->tail, tail);
  uint32_t want = RING_LOAD(&d->producer_waiting);
  if (want && cap - (RING_LOAD(&d->head) - tail) >= want && clear_flag(&d->producer_waiting, want)) {
    if (how & IPCL_RING_HOW_SEMAPHORE) sem_post(&d->space_ready);
    else syscall(SYS_futex, &d->tail, FUTEX_WAKE, 1, NULL, NULL, 0);
  }
}

/**
 * Put one message of `len` bytes into direction (how & 1) if it fits now, publish it, and
 * wake the consumer if it announced that it sleeps (with IPCL_RING_HOW_HOLD: neither). The
 * caller's `state`: [0] its copy of the consumer's tail, read again only when it says the
 * message does not fit; [1] its head, where the message goes (ahead of the published head
 * while a batch holds its messages); [2] publishes in a row that found no consumer
 * announcement, IPCL_RING_RELAX_AFTER or more once relaxed (0 to start, and whenever a
 * publish of the caller's own finds one). Returns the head after the message; the same head when
 * there was no room. The caller, the direction's only producer, checked len against the
 * ring's maximum message size.
 */
uint32_t ipcl_ring_send(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, const uint8_t *msg, uint32_t len, uint32_t *state) {
  struct ipcl_ring_dir *d = &h->dir[how & IPCL_RING_HOW_DIR];
  uint32_t *peer_tail = &state[0];
  uint32_t head = state[1], need = record_size(len);
  uint32_t pos = head & (cap - 1);
  /* a record that would run past the end starts at 0 when it fits there (IPCL_RING_PAD) */
  uint32_t pad = pos + need > cap && need <= pos ? cap - pos : 0;
  /* the consumer's tail as last read: reading it every time would fetch its cache line from
   * the consumer's CPU before each publish (~300 ns a round trip across CPUs, measured) */
  if (head - *peer_tail + pad + need > cap) {
    *peer_tail = RING_LOAD(&d->tail);
    if (head - *peer_tail + pad + need > cap) return head;
  }
  uint8_t *data = data_of(h, cap, how & IPCL_RING_HOW_DIR);
  if (pad) {
    uint32_t p = IPCL_RING_PAD;
    memcpy(data + pos, &p, 4);
    pos = 0;
  }
  memcpy(data + pos, &len, 4);
  uint32_t start = pos + 4, first = len <= cap - start ? len : cap - start;
  copy_bytes(data + start, msg, first);
  if (len > first) memcpy(data, msg + first, len - first); /* only a record longer than capacity / 2 wraps */
  head += pad + need;
  state[1] = head;
  if (how & IPCL_RING_HOW_HOLD) return head;
  /* relaxed (ipcl_ring.h, version 3): a release store does not wait for the consumer's CPU
   * to see it — a 64 B stream across CPUs ran ~2x as fast — and the consumer fences instead */
  uint32_t relaxed = state[2] >= IPCL_RING_RELAX_AFTER;
  if (relaxed) __atomic_store_n(&d->head, head, __ATOMIC_RELEASE);
  else RING_STORE(&d->head, head);
  uint32_t mark = RING_LOAD(&d->consumer_waiting);
  if (mark) {
    /* a consumer that has taken this message already announced a wait for the next one: that
     * announcement is the next publish's to clear (ipcl_ring.h), not this one's */
    if (RING_LOAD(&d->tail) != head && clear_flag(&d->consumer_waiting, mark)) {
      if (how & IPCL_RING_HOW_SEMAPHORE) sem_post(&d->data_ready);
      else syscall(SYS_futex, &d->head, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    /* the consumer sleeps now and then: fenced publishes, which cost it no membarrier */
    if (relaxed) RING_STORE(&d->producer_relaxed, 0);
    state[2] = 0;
  } else if (!relaxed && ++state[2] == IPCL_RING_RELAX_AFTER) {
    if (ipcl_ring_may_relax()) RING_STORE(&d->producer_relaxed, 1); /* before the first release store */
    else state[2] = 0;
  }
  return head;
}

/**
 * Take the next message of direction (how & 1) into `out` if one is there: its length,
 * with the space released and the producer woken once the bytes it waits for are free.
 * -1 when the direction is empty; -2 when the next message is longer than `room` (pass at
 * most the ring's maximum message size, so that a corrupted length lands here too): it
 * stays where it is, and the caller's own code says what is wrong. The caller is the
 * direction's only consumer. `state`: [0] set to the head this call saw, so that the
 * caller can tell that more is there without reading the head itself (whose cache line a
 * producer on another CPU is writing); [1] set to the tail after the message taken.
 */
int32_t ipcl_ring_recv(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, uint8_t *out, uint32_t room, uint32_t *state) {
  struct ipcl_ring_dir *d = &h->dir[how & IPCL_RING_HOW_DIR];
  uint32_t tail = RING_LOAD(&d->tail), head = RING_LOAD(&d->head);
  state[0] = head;
  if (head == tail) return -1;
  uint8_t *data = data_of(h, cap, how & IPCL_RING_HOW_DIR);
  uint32_t pos = tail & (cap - 1), len;
  memcpy(&len, data + pos, 4);
  if (len == IPCL_RING_PAD) { /* published with the record after it: skip to offset 0 */
    tail += cap - pos;
    pos = 0;
    memcpy(&len, data, 4);
  }
  if (len > room || record_size(len) > cap) return -2;
  uint32_t start = pos + 4, first = len <= cap - start ? len : cap - start;
  copy_bytes(out, data + start, first);
  if (len > first) memcpy(out + first, data, len - first);
  tail += record_size(len);
  release(d, cap, how, tail);
  state[1] = tail;
  return (int32_t)len;
}

/**
 * Take as many messages of direction (how & 1) as are there now, up to `max_count` and as
 * fit one after another in `out` (`room` bytes), releasing their space with one store and
 * waking the producer at most once: how many, with each one's length in `lengths`. -1 when
 * the direction is empty; -2 when the first message is longer than `room` or than
 * `max_message` (a corrupted length): it stays, and the caller's own code says what is wrong.
 */
int32_t ipcl_ring_recv_many(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, uint32_t max_message, uint8_t *out, uint32_t room,
                            uint32_t *lengths, uint32_t max_count) {
  struct ipcl_ring_dir *d = &h->dir[how & IPCL_RING_HOW_DIR];
  uint32_t tail = RING_LOAD(&d->tail), head = RING_LOAD(&d->head), at = 0, n = 0;
  uint8_t *data = data_of(h, cap, how & IPCL_RING_HOW_DIR);
  while (n < max_count && tail != head) {
    uint32_t pos = tail & (cap - 1), len, skip = 0;
    memcpy(&len, data + pos, 4);
    if (len == IPCL_RING_PAD) { /* published with the record after it: skip to offset 0 */
      skip = cap - pos;
      pos = 0;
      memcpy(&len, data, 4);
    }
    if (len > max_message || record_size(len) > cap || len > room - at) {
      if (n == 0) return -2;
      break; /* the next one does not fit this time */
    }
    uint32_t start = pos + 4, first = len <= cap - start ? len : cap - start;
    copy_bytes(out + at, data + start, first);
    if (len > first) memcpy(out + at + first, data, len - first);
    lengths[n++] = len;
    at += len;
    tail += skip + record_size(len);
  }
  if (n == 0) return -1;
  release(d, cap, how, tail);
  return (int32_t)n;
}
