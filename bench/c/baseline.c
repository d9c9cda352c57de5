/*
 * C baselines for `ipc-lab bench`: the same round trip and stream as the TypeScript
 * harness, per mechanism, with the peer as a forked child. Byte streams use the shim's own
 * framing (linked in), the shm ring the layout of ffi/ipcl_ring.h, so a ratio to this row
 * measures what JavaScript and FFI add, nothing else.
 *
 * usage: baseline MECH PATTERN SIZE COUNT PLACEMENT [WARM_MS TIMED_MS MAX_GROWTH]
 *   MECH: pipe fifo unix tcp mq sysv-mq shm shm-sem eventfd    PATTERN: rtt stream
 *   PLACEMENT: same-cpu cross-cpu unpinned
 * prints one JSON object (see bench/README.md).
 *
 * On equal terms with bench/measure.ts: the same warm-up (round trips: min(1000, count/10);
 * streams: rounds of min(20000, count/5) messages, each acknowledged, for WARM_MS, then a
 * timed part of at least COUNT and at least TIMED_MS — bench/stream-plan.ts, whose figures
 * bench/baselines.ts passes),
 * CPU time and context switches of both sides counted over the timed part only (the peer
 * reports its own through a shared page), mq queues sized as ipc-lab sizes them (8192-byte
 * messages, 10 deep), and like-for-like families: shm-sem is the ring whose sides sleep on
 * the semaphores in the ring (ipc-lab's `wait: "semaphore"`), fifo two named pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <semaphore.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../ffi/ipcl_ring.h"

/* from the shim (ffi/shim/internal.h) */
struct ipcl_reader;
struct ipcl_reader *ipcl_reader_new(int fd, size_t cap, int await_writer);
int ipcl_frame_read(struct ipcl_reader *r, uint8_t *out, uint32_t cap, double timeout_ms);
int ipcl_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms);

static void die(const char *what) { perror(what); exit(2); }
static int64_t now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* ---- one endpoint of a conversation ---- */
struct end {
  int rfd, wfd;                 /* streams, eventfd */
  struct ipcl_reader *reader;
  mqd_t mq_in, mq_out;          /* POSIX queues */
  int msqid; long in_type, out_type; /* System V: one queue, a type per direction */
  struct ipcl_ring_header *ring; int side; uint8_t *data[2]; /* shm ring */
  uint32_t room_rounds, data_rounds; /* announcements made: each a value of its own */
  uint32_t quiet; /* publishes in a row that found no consumer announcement (relaxed from IPCL_RING_RELAX_AFTER on) */
};
static const char *mech;
static uint8_t *scratch;

/* ---- the shm ring, as lib/ring/channel.ts and ffi/shim/ring.c do it: spin, then futex; wake only a sleeper; relaxed publishing ---- */
static long futex(uint32_t *a, int op, uint32_t v) { return syscall(SYS_futex, a, op, v, NULL, NULL, 0); }
#define LOAD(p) __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_SEQ_CST)
/* clear a flag that still holds v (the announcement read): true if this call cleared it */
#define CLEAR(p, v) __extension__({ uint32_t e_ = (v); __atomic_compare_exchange_n(p, &e_, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })
static int spin = 20000;
static int use_sem; /* shm-sem: sleep on the ring's semaphores instead of futexes */

static void sleep_for_space(struct ipcl_ring_dir *d, uint32_t tail) {
  if (use_sem) { while (sem_wait(&d->space_ready) != 0 && errno == EINTR) {} }
  else futex(&d->tail, FUTEX_WAIT, tail);
}
static void sleep_for_data(struct ipcl_ring_dir *d, uint32_t tail) {
  if (use_sem) { while (sem_wait(&d->data_ready) != 0 && errno == EINTR) {} }
  else futex(&d->head, FUTEX_WAIT, tail);
}
static void wake_consumer(struct ipcl_ring_dir *d) { if (use_sem) sem_post(&d->data_ready); else futex(&d->head, FUTEX_WAKE, 1); }
static void wake_producer(struct ipcl_ring_dir *d) { if (use_sem) sem_post(&d->space_ready); else futex(&d->tail, FUTEX_WAKE, 1); }

/* relaxed publishing (ipcl_ring.h, version 3), from the shim's ring.c (linked in) */
int ipcl_ring_may_relax(void);
int32_t ipcl_ring_fence(void);

/* A consumer announced its sleep: with a relaxed producer, fence its threads before looking again (false: could not). */
static int fence_producer(struct ipcl_ring_dir *d) {
  return !LOAD(&d->producer_relaxed) || ipcl_ring_fence() >= 0;
}

static void ring_send(struct end *e, const uint8_t *msg, uint32_t len) {
  struct ipcl_ring_dir *d = &e->ring->dir[e->side];
  uint32_t cap = e->ring->capacity, need = (len + 4 + 7) & ~7u, head = d->head;
  /* a record that would run past the end starts at 0 when it fits there (IPCL_RING_PAD) */
  uint32_t pos = head & (cap - 1), pad = pos + need > cap && need <= pos ? cap - pos : 0;
  for (int i = 0;; i++) {
    uint32_t tail = LOAD(&d->tail);
    if (head - tail + pad + need <= cap) break;
    if (i < spin) continue;
    STORE(&d->producer_waiting, pad + need - (e->room_rounds++ & 7)); /* a value of its own each time (ipcl_ring.h) */
    if (head - LOAD(&d->tail) + pad + need <= cap) { STORE(&d->producer_waiting, 0); break; }
    sleep_for_space(d, tail);
    STORE(&d->producer_waiting, 0);
  }
  uint8_t *data = e->data[e->side];
  if (pad) { uint32_t p = IPCL_RING_PAD; memcpy(data + pos, &p, 4); pos = 0; }
  memcpy(data + pos, &len, 4);
  uint32_t start = pos + 4, first = len <= cap - start ? len : cap - start;
  memcpy(data + start, msg, first);
  memcpy(data, msg + first, len - first);
  /* relaxed publishing as ffi/shim/ring.c does it (ipcl_ring.h, version 3) */
  int relaxed = e->quiet >= IPCL_RING_RELAX_AFTER;
  if (relaxed) __atomic_store_n(&d->head, head + pad + need, __ATOMIC_RELEASE);
  else STORE(&d->head, head + pad + need);
  uint32_t mark = LOAD(&d->consumer_waiting);
  if (mark) {
    /* a consumer that has taken this message already announces a wait for the next one (ipcl_ring.h) */
    if (LOAD(&d->tail) != head + pad + need && CLEAR(&d->consumer_waiting, mark)) wake_consumer(d);
    if (relaxed) STORE(&d->producer_relaxed, 0);
    e->quiet = 0;
  } else if (!relaxed && ++e->quiet == IPCL_RING_RELAX_AFTER) {
    if (ipcl_ring_may_relax()) STORE(&d->producer_relaxed, 1);
    else e->quiet = 0;
  }
}

static uint32_t ring_recv(struct end *e, uint8_t *out) {
  struct ipcl_ring_dir *d = &e->ring->dir[1 - e->side];
  uint32_t cap = e->ring->capacity, tail = d->tail;
  for (int i = 0;; i++) {
    if (LOAD(&d->head) != tail) break;
    if (i < spin) continue;
    STORE(&d->consumer_waiting, 1 + (e->data_rounds++ & 0x3fffffff));
    if (!fence_producer(d)) die("membarrier");
    if (LOAD(&d->head) != tail) { STORE(&d->consumer_waiting, 0); break; }
    sleep_for_data(d, tail);
    STORE(&d->consumer_waiting, 0);
  }
  uint8_t *data = e->data[1 - e->side];
  uint32_t pos = tail & (cap - 1), len;
  memcpy(&len, data + pos, 4);
  if (len == IPCL_RING_PAD) { tail += cap - pos; pos = 0; memcpy(&len, data, 4); } /* published with the record after it */
  uint32_t start = pos + 4, first = len <= cap - start ? len : cap - start;
  memcpy(out, data + start, first);
  memcpy(out + first, data, len - first);
  uint32_t newtail = tail + ((len + 4 + 7) & ~7u);
  STORE(&d->tail, newtail);
  /* the flag holds the bytes the producer waits for: wake it once they fit (as lib/ring/channel.ts) */
  uint32_t want = LOAD(&d->producer_waiting);
  if (want && cap - (LOAD(&d->head) - newtail) >= want && CLEAR(&d->producer_waiting, want)) wake_producer(d);
  return len;
}

/* ---- send / receive one message on any mechanism ---- */
static void send_msg(struct end *e, const uint8_t *msg, uint32_t len) {
  if (!strcmp(mech, "mq")) { if (mq_send(e->mq_out, (const char *)msg, len, 0) != 0) die("mq_send"); }
  else if (!strcmp(mech, "sysv-mq")) {
    long *m = (long *)scratch; m[0] = e->out_type; memcpy(m + 1, msg, len);
    if (msgsnd(e->msqid, m, len, 0) != 0) die("msgsnd");
  } else if (e->ring) ring_send(e, msg, len);
  else if (!strcmp(mech, "eventfd")) { uint64_t v = 1; if (write(e->wfd, &v, 8) != 8) die("write"); }
  else if (ipcl_frame_write(e->wfd, msg, len, -1) != 0) die("frame_write");
}

static uint32_t recv_msg(struct end *e, uint8_t *out, size_t cap) {
  if (!strcmp(mech, "mq")) { ssize_t r = mq_receive(e->mq_in, (char *)out, cap, NULL); if (r < 0) die("mq_receive"); return (uint32_t)r; }
  if (!strcmp(mech, "sysv-mq")) {
    long *m = (long *)scratch;
    ssize_t r = msgrcv(e->msqid, m, cap, e->in_type, 0);
    if (r < 0) die("msgrcv");
    memcpy(out, m + 1, (size_t)r);
    return (uint32_t)r;
  }
  if (e->ring) return ring_recv(e, out);
  if (!strcmp(mech, "eventfd")) { uint64_t v; if (read(e->rfd, &v, 8) != 8) die("read"); return 8; }
  int r = ipcl_frame_read(e->reader, out, cap, -1);
  if (r < 0) { fprintf(stderr, "frame_read: %d\n", r); exit(2); }
  return (uint32_t)r;
}

/* ---- setup: both endpoints before fork ---- */
static void make_ends(struct end *parent, struct end *child, size_t size) {
  memset(parent, 0, sizeof *parent);
  memset(child, 0, sizeof *child);
  if (!strcmp(mech, "pipe") || !strcmp(mech, "eventfd")) {
    int a[2], b[2];
    if (!strcmp(mech, "pipe")) { if (pipe(a) || pipe(b)) die("pipe"); }
    else { a[0] = a[1] = eventfd(0, 0); b[0] = b[1] = eventfd(0, 0); }
    parent->wfd = a[1]; child->rfd = a[0]; child->wfd = b[1]; parent->rfd = b[0];
  } else if (!strcmp(mech, "fifo")) {
    /* opened after the fork (see open_fifos): opening a FIFO waits for its other end */
  } else if (!strcmp(mech, "unix")) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) die("socketpair");
    parent->rfd = parent->wfd = sv[0]; child->rfd = child->wfd = sv[1];
  } else if (!strcmp(mech, "tcp")) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &al)) die("listen");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a)) die("connect");
    int s = accept(l, NULL, NULL);
    close(l);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    parent->rfd = parent->wfd = s; child->rfd = child->wfd = c;
  } else if (!strcmp(mech, "mq")) {
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "/ipcl-c-%d-a", getpid());
    snprintf(n2, sizeof n2, "/ipcl-c-%d-b", getpid());
    /* as ipc-lab's mq: channel sizes its queue: 8192-byte messages (or the system's
     * msgsize_max when lower), 10 deep (or msg_max) */
    long msgsize = 8192, maxmsg = 10, v;
    FILE *f;
    if ((f = fopen("/proc/sys/fs/mqueue/msgsize_max", "r"))) { if (fscanf(f, "%ld", &v) == 1 && v < msgsize) msgsize = v; fclose(f); }
    if ((f = fopen("/proc/sys/fs/mqueue/msg_max", "r"))) { if (fscanf(f, "%ld", &v) == 1 && v < maxmsg) maxmsg = v; fclose(f); }
    struct mq_attr at = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
    mqd_t a = mq_open(n1, O_RDWR | O_CREAT | O_EXCL, 0600, &at), b = mq_open(n2, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
    if (a == (mqd_t)-1 || b == (mqd_t)-1) die("mq_open");
    mq_unlink(n1); mq_unlink(n2); /* both sides hold descriptors: the names can go now */
    parent->mq_out = child->mq_in = a; child->mq_out = parent->mq_in = b;
  } else if (!strcmp(mech, "sysv-mq")) {
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) die("msgget");
    parent->msqid = child->msqid = id;
    parent->out_type = child->in_type = 1; child->out_type = parent->in_type = 2;
  } else if (!strcmp(mech, "shm") || !strcmp(mech, "shm-sem")) {
    uint32_t cap = 2u << 20;
    while (cap < 4 * (size + 8)) cap <<= 1;
    size_t total = sizeof(struct ipcl_ring_header) + 2 * (size_t)cap;
    struct ipcl_ring_header *h = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED) die("mmap");
    h->capacity = cap; h->header_size = sizeof *h;
    uint8_t *base = (uint8_t *)h + sizeof *h;
    parent->ring = child->ring = h;
    parent->data[0] = child->data[0] = base; parent->data[1] = child->data[1] = base + cap;
    parent->side = 0; child->side = 1;
    use_sem = !strcmp(mech, "shm-sem");
    if (use_sem)
      for (int i = 0; i < 2; i++)
        if (sem_init(&h->dir[i].data_ready, 1, 0) || sem_init(&h->dir[i].space_ready, 1, 0)) die("sem_init");
  } else {
    fprintf(stderr, "unknown mechanism %s\n", mech);
    exit(2);
  }
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s);
  if (sched_setaffinity(0, sizeof s, &s)) die("sched_setaffinity");
}

/* FIFO paths (fifo): made before the fork, opened after it, removed once both ends are open */
static char fifo_a[96], fifo_b[96];
static void open_fifos(struct end *e, int is_child) {
  /* parent writes a and reads b; the child the other way round: each open pairs with the
   * other process's open of the same FIFO, in the same order, so neither waits for ever */
  int a = open(fifo_a, is_child ? O_RDONLY : O_WRONLY), b = open(fifo_b, is_child ? O_WRONLY : O_RDONLY);
  if (a < 0 || b < 0) die("open fifo");
  if (is_child) { e->rfd = a; e->wfd = b; } else { e->wfd = a; e->rfd = b; }
  e->reader = ipcl_reader_new(e->rfd, 65536, 0);
}

/* CPU time (ns) and context switches since `r0`, of the calling process */
static void since(const struct rusage *r0, double *cpu, double *csw) {
  struct rusage r1;
  getrusage(RUSAGE_SELF, &r1);
  *cpu = (r1.ru_utime.tv_sec - r0->ru_utime.tv_sec) * 1e9 + (r1.ru_utime.tv_usec - r0->ru_utime.tv_usec) * 1e3 +
         (r1.ru_stime.tv_sec - r0->ru_stime.tv_sec) * 1e9 + (r1.ru_stime.tv_usec - r0->ru_stime.tv_usec) * 1e3;
  *csw = (double)(r1.ru_nvcsw - r0->ru_nvcsw + r1.ru_nivcsw - r0->ru_nivcsw);
}

static int cmp(const void *a, const void *b) { int64_t x = *(const int64_t *)a, y = *(const int64_t *)b; return (x > y) - (x < y); }

/*
 * "flag": the physical limit of a round trip between two CPUs — one shared cache line, two
 * words: the parent stores a sequence number in one, the child spins until it sees it and
 * stores it in the other, the parent spins until it comes back. No payload, no ring.
 */
static int flag_rtt(long count, long warm, int pcpu, int ccpu) {
  if (pcpu < 0 || pcpu == ccpu) { fprintf(stderr, "flag: a spinning ping-pong needs two CPUs (cross-cpu)\n"); return 2; }
  uint32_t *f = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (f == MAP_FAILED) die("mmap");
  long total = warm + count;
  pid_t pid = fork();
  if (pid == 0) {
    pin(ccpu);
    for (uint32_t i = 1; i <= (uint32_t)total; i++) {
      while (__atomic_load_n(&f[0], __ATOMIC_ACQUIRE) != i) __builtin_ia32_pause();
      __atomic_store_n(&f[1], i, __ATOMIC_RELEASE);
    }
    _exit(0);
  }
  pin(pcpu);
  int64_t *samples = malloc(sizeof *samples * (count ? count : 1));
  for (uint32_t i = 1; i <= (uint32_t)total; i++) {
    int64_t t0 = now();
    __atomic_store_n(&f[0], i, __ATOMIC_RELEASE);
    while (__atomic_load_n(&f[1], __ATOMIC_ACQUIRE) != i) __builtin_ia32_pause();
    if (i > (uint32_t)warm) samples[i - warm - 1] = now() - t0;
  }
  int status;
  waitpid(pid, &status, 0);
  qsort(samples, count, sizeof *samples, cmp);
  double sum = 0;
  for (long i = 0; i < count; i++) sum += samples[i];
  printf("{\"impl\":\"c\",\"mechanism\":\"flag\",\"pattern\":\"rtt\",\"mode\":\"sync\",\"placement\":\"cross-cpu\",\"size\":0,\"count\":%ld", count);
  printf(",\"p50_ns\":%ld,\"p90_ns\":%ld,\"p99_ns\":%ld,\"p999_ns\":%ld,\"max_ns\":%ld,\"mean_ns\":%.1f}\n",
         (long)samples[count / 2], (long)samples[(long)(0.9 * count)], (long)samples[(long)(0.99 * count)],
         (long)samples[(long)(0.999 * count)], (long)samples[count - 1], sum / count);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/*
 * "inproc": both ends in this process — send one message, receive it, COUNT times — so no
 * wake-up and no context switch: the kernel call alone, to set beside ipc-lab's same loop
 * (bench/inproc.ts). "getpid" times the cheapest syscall the same way.
 */
static int inproc(size_t size, long count, uint8_t *msg, uint8_t *buf, size_t cap) {
  struct end parent, child;
  if (!strcmp(mech, "getpid")) {
    for (long i = 0; i < 20000; i++) syscall(SYS_getpid);
    int64_t t0 = now();
    for (long i = 0; i < count; i++) syscall(SYS_getpid);
    double ns = (double)(now() - t0) / count;
    printf("{\"impl\":\"c\",\"mechanism\":\"getpid\",\"pattern\":\"inproc\",\"mode\":\"sync\",\"placement\":\"unpinned\",\"size\":0,\"count\":%ld,\"mean_ns\":%.1f,\"p50_ns\":%.1f}\n", count, ns, ns);
    return 0;
  }
  make_ends(&parent, &child, size);
  if (parent.rfd > 0 && strcmp(mech, "eventfd")) parent.reader = ipcl_reader_new(parent.rfd, 65536, 0);
  if (child.rfd > 0 && strcmp(mech, "eventfd")) child.reader = ipcl_reader_new(child.rfd, 65536, 0);
  long warm = count < 20000 ? count : 20000;
  for (long i = 0; i < warm; i++) { send_msg(&parent, msg, (uint32_t)size); recv_msg(&child, buf, cap); }
  int64_t t0 = now();
  for (long i = 0; i < count; i++) { send_msg(&parent, msg, (uint32_t)size); recv_msg(&child, buf, cap); }
  double ns = (double)(now() - t0) / count;
  if (!strcmp(mech, "sysv-mq")) msgctl(parent.msqid, IPC_RMID, NULL);
  printf("{\"impl\":\"c\",\"mechanism\":\"%s\",\"pattern\":\"inproc\",\"mode\":\"sync\",\"placement\":\"unpinned\",\"size\":%zu,\"count\":%ld,\"mean_ns\":%.1f,\"p50_ns\":%.1f}\n", mech, size, count, ns, ns);
  return 0;
}

/* A stream's plan (bench/stream-plan.ts): the sender posts each batch in the shared page before it sends it. */
struct plan { int32_t posted, count, timed; };

static void post(volatile struct plan *p, int32_t k, long count, int timed) {
  p->count = (int32_t)count;
  p->timed = timed;
  __atomic_store_n(&p->posted, k + 1, __ATOMIC_SEQ_CST);
}

/* (peer) batch k, once posted: looks every 20 us, sleeping between looks (on one CPU the sender
 * must run); a sender that has died (we were reparented) posts nothing more */
static struct plan next_batch(volatile struct plan *p, int32_t k, pid_t sender) {
  while (__atomic_load_n(&p->posted, __ATOMIC_SEQ_CST) <= k) {
    if (getppid() != sender) _exit(1);
    nanosleep(&(struct timespec){0, 20000}, NULL);
  }
  return (struct plan){k + 1, p->count, p->timed};
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 9) {
    fprintf(stderr, "usage: baseline MECH rtt|stream|inproc SIZE COUNT same-cpu|cross-cpu|unpinned [WARM_MS TIMED_MS MAX_GROWTH]\n");
    return 2;
  }
  mech = argv[1];
  const char *pattern = argv[2], *placement = argv[5];
  size_t size = strtoul(argv[3], NULL, 10);
  long count = atol(argv[4]);
  int pcpu = -1, ccpu = -1;
  if (!strcmp(placement, "same-cpu")) pcpu = ccpu = 0;
  else if (!strcmp(placement, "cross-cpu")) { pcpu = 0; ccpu = 1; }
  if (pcpu == ccpu && pcpu >= 0) spin = 0; /* never spin when sharing one CPU */
  if (!strcmp(mech, "flag")) {
    if (strcmp(pattern, "rtt")) { fprintf(stderr, "flag: round trips only\n"); return 2; }
    return flag_rtt(count, count / 10 + 1 < 1000 ? count / 10 + 1 : 1000, pcpu, ccpu);
  }
  if (!strcmp(mech, "eventfd")) {
    size = 8;
    if (!strcmp(pattern, "stream")) { fprintf(stderr, "eventfd values merge: it has round trips, not a stream\n"); return 2; }
  }
  size_t cap = size + 64;
  if (!strcmp(mech, "mq") && cap < 8192) cap = 8192; /* mq_receive needs room for the queue's msgsize */
  scratch = malloc(cap + 16);
  uint8_t *msg = calloc(1, cap), *buf = malloc(cap);
  if (!strcmp(pattern, "inproc")) return inproc(size, count, msg, buf, cap);
  struct end parent, child;
  make_ends(&parent, &child, size);
  if (!strcmp(mech, "fifo")) {
    snprintf(fifo_a, sizeof fifo_a, "/tmp/ipcl-c-%d-a", getpid());
    snprintf(fifo_b, sizeof fifo_b, "/tmp/ipcl-c-%d-b", getpid());
    if (mkfifo(fifo_a, 0600) || mkfifo(fifo_b, 0600)) die("mkfifo");
  } else {
    if (parent.rfd > 0 && strcmp(mech, "eventfd")) parent.reader = ipcl_reader_new(parent.rfd, 65536, 0);
    if (child.rfd > 0 && strcmp(mech, "eventfd")) child.reader = ipcl_reader_new(child.rfd, 65536, 0);
  }
  int stream = !strcmp(pattern, "stream");
  if (stream && argc != 9) { fprintf(stderr, "a stream needs WARM_MS TIMED_MS MAX_GROWTH (bench/stream-plan.ts)\n"); return 2; }
  /* the same warm-up as bench/measure.ts: a stream's in rounds of this many, for WARM_MS */
  long warm = stream ? (count / 5 + (count % 5 != 0) < 20000 ? count / 5 + (count % 5 != 0) : 20000)
                     : (count / 10 + (count % 10 != 0) < 1000 ? count / 10 + (count % 10 != 0) : 1000);
  /* the peer's own cost over its timed part, reported through a shared page */
  double *peer_cost = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (peer_cost == MAP_FAILED) die("mmap");
  volatile struct plan *plan = (volatile struct plan *)(peer_cost + 8);
  pid_t sender = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    pin(ccpu);
    if (!strcmp(mech, "fifo")) open_fifos(&child, 1);
    struct rusage c0;
    if (stream) {
      send_msg(&child, msg, 0); /* ready */
      for (int32_t k = 0;; k++) {
        struct plan b = next_batch(plan, k, sender);
        if (b.timed) getrusage(RUSAGE_SELF, &c0);
        for (long i = 0; i < b.count; i++) recv_msg(&child, buf, cap);
        if (b.timed) since(&c0, &peer_cost[0], &peer_cost[1]);
        send_msg(&child, msg, 0); /* the batch arrived */
        if (b.timed) break;
      }
    } else {
      for (long i = 0; i < warm; i++) send_msg(&child, buf, recv_msg(&child, buf, cap));
      getrusage(RUSAGE_SELF, &c0);
      for (long i = 0; i < count; i++) send_msg(&child, buf, recv_msg(&child, buf, cap));
      since(&c0, &peer_cost[0], &peer_cost[1]);
    }
    _exit(0);
  }
  pin(pcpu);
  if (!strcmp(mech, "fifo")) {
    open_fifos(&parent, 0);
    unlink(fifo_a);
    unlink(fifo_b);
  }
  struct rusage r0;
  int64_t *samples = malloc(sizeof *samples * (count ? count : 1));
  double elapsed = 0;
  if (stream) {
    double warm_ms = atof(argv[6]), timed_ms = atof(argv[7]), max_growth = atof(argv[8]), per_second = 0;
    recv_msg(&parent, buf, cap);
    int32_t k = 0;
    for (int64_t w0 = now(); k == 0 || now() - w0 < warm_ms * 1e6; k++) {
      post(plan, k, warm, 0);
      int64_t r0 = now();
      for (long i = 0; i < warm; i++) send_msg(&parent, msg, (uint32_t)size);
      recv_msg(&parent, buf, cap); /* the peer has the round */
      per_second = warm / ((double)(now() - r0) / 1e9);
    }
    /* the timed part: at least COUNT, at least TIMED_MS at the last round's rate, at most MAX_GROWTH x COUNT */
    double want = per_second * timed_ms / 1000 + 0.999999; /* (rounded up) */
    if (want > count * max_growth) want = count * max_growth;
    if (want > count) count = (long)want;
    post(plan, k, count, 1);
    getrusage(RUSAGE_SELF, &r0);
    int64_t t0 = now();
    for (long i = 0; i < count; i++) send_msg(&parent, msg, (uint32_t)size);
    recv_msg(&parent, buf, cap);
    elapsed = (double)(now() - t0);
  } else {
    for (long i = 0; i < warm; i++) { send_msg(&parent, msg, (uint32_t)size); recv_msg(&parent, buf, cap); }
    getrusage(RUSAGE_SELF, &r0);
    for (long i = 0; i < count; i++) {
      int64_t t0 = now();
      send_msg(&parent, msg, (uint32_t)size);
      recv_msg(&parent, buf, cap);
      samples[i] = now() - t0;
    }
  }
  double cpu_parent, csw_parent;
  since(&r0, &cpu_parent, &csw_parent);
  int status;
  waitpid(pid, &status, 0);
  if (!strcmp(mech, "sysv-mq")) msgctl(parent.msqid, IPC_RMID, NULL);
  double cpu_child = peer_cost[0], csw_child = peer_cost[1];
  printf("{\"impl\":\"c\",\"mechanism\":\"%s\",\"pattern\":\"%s\",\"mode\":\"sync\",\"placement\":\"%s\",\"size\":%zu,\"count\":%ld", mech, pattern, placement, size, count);
  if (stream) {
    printf(",\"msgs_per_s\":%.1f,\"bytes_per_s\":%.1f", count / (elapsed / 1e9), count * (double)size / (elapsed / 1e9));
  } else {
    qsort(samples, count, sizeof *samples, cmp);
    double sum = 0;
    for (long i = 0; i < count; i++) sum += samples[i];
#define AT(q) samples[(long)((q) * count + 0.999999) - 1 < 0 ? 0 : (long)((q) * count + 0.999999) - 1]
    printf(",\"p50_ns\":%ld,\"p90_ns\":%ld,\"p99_ns\":%ld,\"p999_ns\":%ld,\"max_ns\":%ld,\"mean_ns\":%.1f",
           (long)AT(0.5), (long)AT(0.9), (long)AT(0.99), (long)AT(0.999), (long)samples[count - 1], sum / count);
  }
  printf(",\"cpu_ns_per_msg\":{\"parent\":%.1f,\"peer\":%.1f},\"ctx_switches_per_msg\":{\"parent\":%.4f,\"peer\":%.4f}}\n",
         cpu_parent / count, cpu_child / count, csw_parent / count, csw_child / count);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
