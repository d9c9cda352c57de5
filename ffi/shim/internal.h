/*
 * internal.h — what every file of the shim shares, and the prototype of every function it
 * exports (test/shim.test.ts checks ffi/libc.ts against these prototypes).
 *
 * The shim is the part of ipc-lab that FFI cannot do well; everything else calls libc
 * directly through ffi/libc.ts. It holds facts (sizes, offsets, constants: TypeScript never
 * hard-codes one), fixed-arity wrappers for variadic calls, calls that must return -errno
 * (they may run on another thread: a Worker, Deno's nonblocking FFI) with EINTR retried
 * against a deadline, futex and poll waits, the framing hot paths, and the signal threads.
 * Conventions: a negative int result is -errno; timeouts are milliseconds as double,
 * negative meaning "wait forever". One file per concern (ffi/shim/), all built together by
 * ffi/build.ts with `cc -O2 -shared -fPIC`.
 */
#ifndef IPCL_INTERNAL_H
#define IPCL_INTERNAL_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
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

#include "../ipcl_ring.h"

/* Returned by ipcl_frame_read when the peer closed the stream at a frame boundary. */
#define IPCL_EOF (-100000)
/* Returned by ipcl_frame_read when the stream ended in the middle of a frame. */
#define IPCL_ETRUNC (-100001)
/* Returned by ipcl_frame_read on a whole-frames stream when a frame cannot be a writer's. */
#define IPCL_EGARBAGE (-100002)
/* Largest chunk written after a poll() said POLLOUT: a pipe then has at least one free
 * page, so a write of at most PIPE_BUF bytes cannot block. */
#define IPCL_SAFE_CHUNK 4096
/* The signal that interrupts a blocked call on the JS thread (see stop.c). */
#define IPCL_WAKE_SIGNAL (SIGRTMAX)

/* One record per signal received, written to the listener's pipe (see ipcl_signal_start). */
struct ipcl_sigrecord {
  int32_t signo;
  int32_t code;     /* si_code: SI_QUEUE for sigqueue, SI_USER for kill */
  int32_t pid;      /* sender */
  uint32_t uid;
  uint8_t value[8]; /* sival_ptr's 8 bytes (sigqueue's payload) */
};

/* Symbols shared between the shim's files but not exported from the library. */
#define HIDDEN __attribute__((visibility("hidden")))

/* ---------- time and deadlines --------------------------------------------------- */
static inline int64_t now_ns(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* deadline in CLOCK_MONOTONIC ns, or -1 for "forever" */
static inline int64_t deadline_after(double timeout_ms) {
  if (timeout_ms < 0) return -1;
  return now_ns(CLOCK_MONOTONIC) + (int64_t)(timeout_ms * 1e6);
}

/* milliseconds left until the deadline, rounded up, for poll(); -1 = forever */
static inline int poll_ms_left(int64_t deadline) {
  if (deadline < 0) return -1;
  int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* ---------- stop signals (stop.c): what every wait loop looks at ------------------- */
extern volatile uint32_t ipcl_stop_word;
extern volatile int ipcl_stop_js_waiting;
/* initial-exec: the shim is dlopen()ed, where the default TLS model calls __tls_get_addr on
 * every look (twice per blocking call; ~2 % of an in-process mq send + receive on Bun in
 * perf, 56 instructions a pair); one int fits the static TLS surplus glibc keeps for
 * libraries loaded later */
#define IPCL_TLS __thread __attribute__((tls_model("initial-exec")))
extern IPCL_TLS int ipcl_stop_watched;

/** A stop signal is pending and this thread's waits must end (call after EINTR). */
static inline int stopping(void) { return ipcl_stop_watched && __atomic_load_n(&ipcl_stop_word, __ATOMIC_RELAXED) != 0; }

/* Mark the JS thread as inside a wait for the length of a scope (nested scopes restore). */
static inline int stop_enter(void) {
  int was = ipcl_stop_js_waiting;
  if (ipcl_stop_watched) ipcl_stop_js_waiting = 1;
  return was;
}
static inline void stop_leave(int *was) { if (ipcl_stop_watched) ipcl_stop_js_waiting = *was; }
#define WAIT_SCOPE int wait_scope_ __attribute__((cleanup(stop_leave), unused)) = stop_enter()

/* ---------- exported functions, by file -------------------------------------------- */
struct ipcl_reader;
struct ipcl_ring_header;

/* facts.c */
const char *ipcl_facts(void);

/* process.c */
int ipcl_init(void);
int ipcl_cpus_allowed(void);
int ipcl_pin_process(int cpu);
void ipcl_rusage(double *out);
int ipcl_pin_thread(int cpu);
int ipcl_shares_single_cpu(int pid);

/* stop.c */
int ipcl_stop_install(void);
int ipcl_stop_take(void);
int ipcl_stop_pending(void);

/* watchdog.c */
int ipcl_watchdog_arm(double ms, const char *message);
void ipcl_watchdog_disarm(void);

/* mq.c */
int ipcl_mq_open(const char *name, int oflag, int mode, long maxmsg, long msgsize);
int ipcl_mq_getattr(int q, double *out);
int ipcl_mq_send(int q, const void *buf, uint32_t len, unsigned prio, double timeout_ms);
int ipcl_mq_receive(int q, void *buf, uint32_t cap, unsigned *prio, double timeout_ms, int look_first);

/* wait.c */
int ipcl_poll1(int fd, int events, double timeout_ms, int cancel_fd);
int ipcl_futex_wait(uint32_t *addr, uint32_t expected, double timeout_ms);
int ipcl_poll_many(const int32_t *fds, int n, double timeout_ms, int32_t *ready);
int ipcl_futex_waitv(const uint64_t *addrs, const uint32_t *vals, int n, double timeout_ms);
int ipcl_futex_wake(uint32_t *addr, int n);

/* memory.c */
int ipcl_reserve(int fd, double size);
int ipcl_populate(void *addr, double len);
double ipcl_fs_free(const char *path);
void *ipcl_mmap_shared(int fd, size_t len, int *err);
int ipcl_memfd(const char *name);

/* ring.c — the bits of its `how` argument: the direction, sleeping on semaphores, holding a send unpublished */
#define IPCL_RING_HOW_DIR 1u
#define IPCL_RING_HOW_SEMAPHORE 2u
#define IPCL_RING_HOW_HOLD 4u
uint32_t ipcl_ring_send(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, const uint8_t *msg, uint32_t len, uint32_t *state);
int32_t ipcl_ring_fence(void);
int ipcl_ring_may_relax(void);
int32_t ipcl_ring_recv(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, uint8_t *out, uint32_t room, uint32_t *state);
int32_t ipcl_ring_recv_many(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, uint32_t max_message, uint8_t *out, uint32_t room, uint32_t *lengths, uint32_t max_count);

/* framing.c */
int ipcl_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms);
int ipcl_pipe_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms);
struct ipcl_reader *ipcl_reader_new(int fd, size_t cap, int await_writer);
void ipcl_reader_free(struct ipcl_reader *r);
double ipcl_reader_pending(struct ipcl_reader *r);
void ipcl_reader_whole_frames(struct ipcl_reader *r);
double ipcl_reader_resync(struct ipcl_reader *r);
int ipcl_frame_read(struct ipcl_reader *r, uint8_t *out, uint32_t cap, double timeout_ms);

/* sysv.c */
int ipcl_ftok(const char *path, int proj, int *ok);
int ipcl_shmget(int key, size_t size, int flags);
void *ipcl_shmat(int id, int *err);
int ipcl_shmdt(void *addr);
double ipcl_shm_size(int id);
int ipcl_shm_remove(int id);
int ipcl_msg_remove(int id);
int ipcl_sem_remove(int id);
int ipcl_msgget(int key, int flags);
int ipcl_msg_stat(int id, double *out);
int ipcl_msg_wait(int id, double timeout_ms, int cancel_fd);
int ipcl_msgsnd(int id, double type, const void *buf, uint32_t len, double timeout_ms);
int ipcl_msgrcv(int id, void *buf, uint32_t cap, double type, double *type_out, double timeout_ms, volatile uint32_t *cancel);
int ipcl_semget(int key, int nsems, int flags);
int ipcl_sem_setval(int id, int num, int value);
int ipcl_sem_getval(int id, int num);
int ipcl_semop1(int id, int num, int delta, int undo, double timeout_ms);

/* sockets.c */
int ipcl_sockaddr_un(uint8_t *out, const char *path, int abstract);
int ipcl_sockaddr_ip(uint8_t *out, const char *host, int port);
int ipcl_local_port(int fd);
int ipcl_socket(int domain, int type);
int ipcl_socketpair(int type, int *sv);
int ipcl_setsockopt_int(int fd, int level, int name, int value);
int ipcl_getsockopt_int(int fd, int level, int name);
int ipcl_bind_listen(int fd, const uint8_t *addr, int len, int backlog);
int ipcl_connect(int fd, const uint8_t *addr, int len, double timeout_ms);
int ipcl_accept(int fd, double timeout_ms);
int ipcl_dgram_send(int fd, const void *buf, uint32_t len, const uint8_t *addr, int addr_len, double timeout_ms);
int ipcl_dgram_recv(int fd, void *buf, uint32_t cap, uint8_t *from, int *from_len, double timeout_ms, int *size_out);

/* semaphores.c */
void *ipcl_sem_open(const char *name, int oflag, int mode, unsigned value, int *err);
int ipcl_sem_wait(void *sem, double timeout_ms);
int ipcl_sem_post(void *sem);
int ipcl_sem_getvalue(void *sem);
int ipcl_sem_init_shared(void *sem, unsigned value);

/* mutex.c */
int ipcl_mutex_init(void *m);
int ipcl_mutex_lock(void *m, double timeout_ms);
int ipcl_mutex_unlock(void *m);
int ipcl_mutex_consistent(void *m);

/* signals.c */
int ipcl_signal_start(int signo, int wfd, int nb_wfd);
int ipcl_signal_stop(int signo);
int ipcl_signal_overflow(int signo);
int ipcl_signal_in_use(int signo);
int ipcl_sigqueue(int pid, int signo, const uint8_t *value);
int ipcl_sigqueue_thread(int pid, int tid, int signo, const uint8_t *value);
int ipcl_tgkill(int pid, int tid, int signo);

/* files.c */
int ipcl_open(const char *path, int flags, int mode);
int ipcl_flock(int fd, int op);
int ipcl_inotify_watch(const char *path, unsigned mask);
void ipcl_inotify_drain(int fd);
int ipcl_pread(int fd, void *buf, uint32_t len, double offset);
double ipcl_fd_size(int fd);

/* eventfd.c */
int ipcl_eventfd_rw(int fd, uint8_t *buf, int op, double timeout_ms);

#endif
