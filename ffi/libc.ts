/**
 * THE symbol table of ipc-lab: every native function the library calls, with its C
 * prototype beside it. Written once in a runtime-neutral form; ffi/runtime.ts turns it
 * into bun:ffi (and Deno.dlopen) declarations. Nothing else declares a native symbol.
 *
 * Type words: i32/u32 (int), f64 (double), usize (size_t), isize (ssize_t),
 * ptr (a raw address: Pointer), buf (a typed array passed as its address, or null),
 * void. Strings are passed as `buf` holding NUL-terminated bytes (see cstr()).
 * Functions on a message's path take lengths as uint32_t, not size_t: Deno's fast calls
 * take a JS number for a 32-bit argument, but a 64-bit one sends the call down its slow
 * path (+270–400 ns a call around a system call on this VM; docs/benchmark.md, "Deno's
 * 64-bit arguments"). A message is at most 4 GiB - 1 bytes by every framing.
 *
 * Variadic C functions (open, mq_open, fcntl with a pointer, syscall) are called through
 * fixed-arity shim wrappers, except fcntl(fd, cmd, int), whose int form is ABI-safe.
 */

/** A native type word used in the table. */
export type NativeType = "i32" | "u32" | "f64" | "usize" | "isize" | "ptr" | "buf" | "void";

/** One native function: argument and result types, plus whether it may run on another thread. */
export interface NativeFn {
  readonly args: readonly NativeType[];
  readonly returns: NativeType;
  /**
   * May be called off the JS thread (Deno `nonblocking`, or from a waiter Worker):
   * such a function must report failure as -errno, never through errno.
   */
  readonly blocking?: boolean;
}

/** A table of native functions, keyed by symbol name. */
export type SymbolTable = Record<string, NativeFn>;

/** Functions called straight from the C library (libc.so.6). */
export const libcSymbols = {
  /** int close(int fd); */
  close: { args: ["i32"], returns: "i32" },
  /** int dup2(int oldfd, int newfd); */
  dup2: { args: ["i32", "i32"], returns: "i32" },
  /** ssize_t read(int fd, void *buf, size_t count); */
  read: { args: ["i32", "buf", "usize"], returns: "isize" },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: { args: ["i32", "buf", "usize"], returns: "isize" },
  /** int sched_yield(void); */
  sched_yield: { args: [], returns: "i32" },
  /** int pipe2(int pipefd[2], int flags); */
  pipe2: { args: ["buf", "i32"], returns: "i32" },
  /** int mkfifo(const char *path, mode_t mode); */
  mkfifo: { args: ["buf", "u32"], returns: "i32" },
  /** int chmod(const char *path, mode_t mode); */
  chmod: { args: ["buf", "u32"], returns: "i32" },
  /** int unlink(const char *path); */
  unlink: { args: ["buf"], returns: "i32" },
  /** int fcntl(int fd, int cmd, int arg);  (the int-argument form of the variadic call) */
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
  /** int fstat(int fd, struct stat *st); */
  fstat: { args: ["i32", "buf"], returns: "i32" },
  /** int stat(const char *path, struct stat *st); */
  stat: { args: ["buf", "buf"], returns: "i32" },
  /** int shm_open(const char *name, int oflag, mode_t mode); */
  shm_open: { args: ["buf", "i32", "u32"], returns: "i32" },
  /** int shm_unlink(const char *name); */
  shm_unlink: { args: ["buf"], returns: "i32" },
  /** int ftruncate(int fd, off_t length); */
  ftruncate: { args: ["i32", "usize"], returns: "i32" },
  /** int munmap(void *addr, size_t length); */
  munmap: { args: ["ptr", "usize"], returns: "i32" },
  /** int mq_close(mqd_t mqdes); */
  mq_close: { args: ["i32"], returns: "i32" },
  /** int mq_unlink(const char *name); */
  mq_unlink: { args: ["buf"], returns: "i32" },
  /** int kill(pid_t pid, int sig); */
  kill: { args: ["i32", "i32"], returns: "i32" },
  /** pid_t getpid(void); */
  getpid: { args: [], returns: "i32" },
  /** int eventfd(unsigned int initval, int flags); */
  eventfd: { args: ["u32", "i32"], returns: "i32" },
  /** int sem_close(sem_t *sem); */
  sem_close: { args: ["ptr"], returns: "i32" },
  /** int sem_unlink(const char *name); */
  sem_unlink: { args: ["buf"], returns: "i32" },
  /** uid_t geteuid(void); */
  geteuid: { args: [], returns: "u32" },
  /** int *__errno_location(void);  (this thread's errno) */
  __errno_location: { args: [], returns: "ptr" },
  /** const char *strerrorname_np(int errnum);  ("EAGAIN"; glibc >= 2.32) */
  strerrorname_np: { args: ["i32"], returns: "ptr" },
  /** char *strerror(int errnum); */
  strerror: { args: ["i32"], returns: "ptr" },
} as const satisfies SymbolTable;

/** Functions of the shim, ffi/shim/*.c (prototypes in ffi/shim/internal.h; compiled on first use by ffi/build.ts). */
export const shimSymbols = {
  /** const char *ipcl_facts(void);  constants and struct layouts as "KEY=VALUE\n" */
  ipcl_facts: { args: [], returns: "ptr" },
  /** int ipcl_init(void);  ignore SIGPIPE so writers see EPIPE */
  ipcl_init: { args: [], returns: "i32" },
  /** int ipcl_stop_install(void);  (see ffi/shim/stop.c) */
  ipcl_stop_install: { args: [], returns: "i32" },
  /** int ipcl_stop_take(void); */
  ipcl_stop_take: { args: [], returns: "i32" },
  /** int ipcl_stop_pending(void); */
  ipcl_stop_pending: { args: [], returns: "i32" },
  /** int ipcl_watchdog_arm(double ms, const char *message);  (see ffi/shim/watchdog.c) */
  ipcl_watchdog_arm: { args: ["f64", "buf"], returns: "i32" },
  /** void ipcl_watchdog_disarm(void); */
  ipcl_watchdog_disarm: { args: [], returns: "void" },
  /** int ipcl_reserve(int fd, double size); */
  ipcl_reserve: { args: ["i32", "f64"], returns: "i32" },
  /** int ipcl_populate(void *addr, double len); */
  ipcl_populate: { args: ["ptr", "f64"], returns: "i32" },
  /** double ipcl_fs_free(const char *path); */
  ipcl_fs_free: { args: ["buf"], returns: "f64" },
  /** int ipcl_cpus_allowed(void); */
  ipcl_cpus_allowed: { args: [], returns: "i32" },
  /** int ipcl_open(const char *path, int flags, int mode);  fd or -errno */
  ipcl_open: { args: ["buf", "i32", "i32"], returns: "i32" },
  /** int ipcl_mq_open(const char *name, int oflag, int mode, long maxmsg, long msgsize); */
  ipcl_mq_open: { args: ["buf", "i32", "i32", "isize", "isize"], returns: "i32" },
  /** int ipcl_mq_getattr(int q, double out[4]);  flags, maxmsg, msgsize, curmsgs */
  ipcl_mq_getattr: { args: ["i32", "buf"], returns: "i32" },
  /** int ipcl_mq_send(int q, const void *buf, uint32_t len, unsigned prio, double timeout_ms); */
  ipcl_mq_send: { args: ["i32", "buf", "u32", "u32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_mq_receive(int q, void *buf, uint32_t cap, unsigned *prio, double timeout_ms, int look_first); */
  ipcl_mq_receive: { args: ["i32", "buf", "u32", "buf", "f64", "i32"], returns: "i32", blocking: true },
  /** int ipcl_poll1(int fd, int events, double timeout_ms, int cancel_fd);  revents, 0, -errno */
  ipcl_poll1: { args: ["i32", "i32", "f64", "i32"], returns: "i32", blocking: true },
  /** int ipcl_poll_many(const int32_t *fds, int n, double timeout_ms, int32_t *ready);  how many ready, 0, -errno */
  ipcl_poll_many: { args: ["buf", "i32", "f64", "buf"], returns: "i32", blocking: true },
  /** int ipcl_futex_waitv(const uint64_t *addrs, const uint32_t *vals, int n, double timeout_ms);  index woken, -EAGAIN, -ETIMEDOUT, -ENOSYS */
  ipcl_futex_waitv: { args: ["buf", "buf", "i32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_futex_wait(uint32_t *addr, uint32_t expected, double timeout_ms); */
  ipcl_futex_wait: { args: ["ptr", "u32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_mutex_init(void *m);  a robust, process-shared, error-checking pthread mutex */
  ipcl_mutex_init: { args: ["ptr"], returns: "i32" },
  /** int ipcl_mutex_lock(void *m, double timeout_ms);  0, -EOWNERDEAD, -EBUSY (try), -ETIMEDOUT, -errno; JS thread only (the locking thread owns it) */
  ipcl_mutex_lock: { args: ["ptr", "f64"], returns: "i32" },
  /** int ipcl_mutex_unlock(void *m); */
  ipcl_mutex_unlock: { args: ["ptr"], returns: "i32" },
  /** int ipcl_mutex_consistent(void *m); */
  ipcl_mutex_consistent: { args: ["ptr"], returns: "i32" },
  /** int ipcl_futex_wake(uint32_t *addr, int n); */
  ipcl_futex_wake: { args: ["ptr", "i32"], returns: "i32" },
  /** uint32_t ipcl_ring_send(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, const uint8_t *msg, uint32_t len, uint32_t *state); */
  ipcl_ring_send: { args: ["ptr", "u32", "u32", "buf", "u32", "buf"], returns: "u32" },
  /** int32_t ipcl_ring_fence(void);  membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED): fences made so far, or -errno */
  ipcl_ring_fence: { args: [], returns: "i32" },
  /** int32_t ipcl_ring_recv(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, uint8_t *out, uint32_t room, uint32_t *state); */
  ipcl_ring_recv: { args: ["ptr", "u32", "u32", "buf", "u32", "buf"], returns: "i32" },
  /** int32_t ipcl_ring_recv_many(struct ipcl_ring_header *h, uint32_t cap, uint32_t how, uint32_t max_message, uint8_t *out, uint32_t room, uint32_t *lengths, uint32_t max_count); */
  ipcl_ring_recv_many: { args: ["ptr", "u32", "u32", "u32", "buf", "u32", "buf", "u32"], returns: "i32" },
  /** void *ipcl_mmap_shared(int fd, size_t len, int *err); */
  ipcl_mmap_shared: { args: ["i32", "usize", "buf"], returns: "ptr" },
  /** int ipcl_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms); */
  ipcl_frame_write: { args: ["i32", "buf", "u32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_pipe_frame_write(int fd, const uint8_t *buf, uint32_t len, double timeout_ms); */
  ipcl_pipe_frame_write: { args: ["i32", "buf", "u32", "f64"], returns: "i32", blocking: true },
  /** struct ipcl_reader *ipcl_reader_new(int fd, size_t cap, int await_writer); */
  ipcl_reader_new: { args: ["i32", "usize", "i32"], returns: "ptr" },
  /** void ipcl_reader_free(struct ipcl_reader *r); */
  ipcl_reader_free: { args: ["ptr"], returns: "void" },
  /** double ipcl_reader_pending(struct ipcl_reader *r);  length of an undelivered frame, or -1 */
  ipcl_reader_pending: { args: ["ptr"], returns: "f64" },
  /** void ipcl_reader_whole_frames(struct ipcl_reader *r);  writers write whole frames: an incomplete one is IPCL_EGARBAGE */
  ipcl_reader_whole_frames: { args: ["ptr"], returns: "void" },
  /** double ipcl_reader_resync(struct ipcl_reader *r);  drop buffered input (after malformed input): the bytes dropped */
  ipcl_reader_resync: { args: ["ptr"], returns: "f64" },
  /** int ipcl_frame_read(struct ipcl_reader *r, uint8_t *out, uint32_t cap, double timeout_ms); */
  ipcl_frame_read: { args: ["ptr", "buf", "u32", "f64"], returns: "i32", blocking: true },

  /** int ipcl_memfd(const char *name);  memfd_create(name, MFD_CLOEXEC) */
  ipcl_memfd: { args: ["buf"], returns: "i32" },
  /** int ipcl_ftok(const char *path, int proj, int *ok); */
  ipcl_ftok: { args: ["buf", "i32", "buf"], returns: "i32" },
  /** int ipcl_shmget(int key, size_t size, int flags); */
  ipcl_shmget: { args: ["i32", "usize", "i32"], returns: "i32" },
  /** void *ipcl_shmat(int id, int *err); */
  ipcl_shmat: { args: ["i32", "buf"], returns: "ptr" },
  /** int ipcl_shmdt(void *addr); */
  ipcl_shmdt: { args: ["ptr"], returns: "i32" },
  /** double ipcl_shm_size(int id); */
  ipcl_shm_size: { args: ["i32"], returns: "f64" },
  /** int ipcl_shm_remove(int id);  IPC_RMID of a segment */
  ipcl_shm_remove: { args: ["i32"], returns: "i32" },
  /** int ipcl_msg_remove(int id);  IPC_RMID of a message queue */
  ipcl_msg_remove: { args: ["i32"], returns: "i32" },
  /** int ipcl_sem_remove(int id);  IPC_RMID of a semaphore set */
  ipcl_sem_remove: { args: ["i32"], returns: "i32" },
  /** int ipcl_msgget(int key, int flags); */
  ipcl_msgget: { args: ["i32", "i32"], returns: "i32" },
  /** int ipcl_msg_stat(int id, double out[4]);  qnum, qbytes, lspid, lrpid */
  ipcl_msg_stat: { args: ["i32", "buf"], returns: "i32" },
  /** int ipcl_msg_wait(int id, double timeout_ms, int cancel_fd);  1 once a message is queued, 0 timeout, -ECANCELED, -errno */
  ipcl_msg_wait: { args: ["i32", "f64", "i32"], returns: "i32", blocking: true },
  /** int ipcl_msgsnd(int id, double type, const void *buf, uint32_t len, double timeout_ms); */
  ipcl_msgsnd: { args: ["i32", "f64", "buf", "u32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_msgrcv(int id, void *buf, uint32_t cap, double type, double *type_out, double timeout_ms, uint32_t *cancel); */
  ipcl_msgrcv: { args: ["i32", "buf", "u32", "f64", "buf", "f64", "buf"], returns: "i32", blocking: true },
  /** int ipcl_semget(int key, int nsems, int flags); */
  ipcl_semget: { args: ["i32", "i32", "i32"], returns: "i32" },
  /** int ipcl_sem_setval(int id, int num, int value); */
  ipcl_sem_setval: { args: ["i32", "i32", "i32"], returns: "i32" },
  /** int ipcl_sem_getval(int id, int num); */
  ipcl_sem_getval: { args: ["i32", "i32"], returns: "i32" },
  /** int ipcl_semop1(int id, int num, int delta, int undo, double timeout_ms); */
  ipcl_semop1: { args: ["i32", "i32", "i32", "i32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_sockaddr_un(uint8_t *out, const char *path, int abstract); */
  ipcl_sockaddr_un: { args: ["buf", "buf", "i32"], returns: "i32" },
  /** int ipcl_sockaddr_ip(uint8_t *out, const char *host, int port); */
  ipcl_sockaddr_ip: { args: ["buf", "buf", "i32"], returns: "i32" },
  /** int ipcl_local_port(int fd); */
  ipcl_local_port: { args: ["i32"], returns: "i32" },
  /** int ipcl_socket(int domain, int type); */
  ipcl_socket: { args: ["i32", "i32"], returns: "i32" },
  /** int ipcl_socketpair(int type, int sv[2]); */
  ipcl_socketpair: { args: ["i32", "buf"], returns: "i32" },
  /** int ipcl_setsockopt_int(int fd, int level, int name, int value); */
  ipcl_setsockopt_int: { args: ["i32", "i32", "i32", "i32"], returns: "i32" },
  /** int ipcl_getsockopt_int(int fd, int level, int name); */
  ipcl_getsockopt_int: { args: ["i32", "i32", "i32"], returns: "i32" },
  /** int ipcl_bind_listen(int fd, const uint8_t *addr, int len, int backlog); */
  ipcl_bind_listen: { args: ["i32", "buf", "i32", "i32"], returns: "i32" },
  /** int ipcl_connect(int fd, const uint8_t *addr, int len, double timeout_ms); */
  ipcl_connect: { args: ["i32", "buf", "i32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_accept(int fd, double timeout_ms); */
  ipcl_accept: { args: ["i32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_dgram_send(int fd, const void *buf, uint32_t len, const uint8_t *addr, int addr_len, double timeout_ms); */
  ipcl_dgram_send: { args: ["i32", "buf", "u32", "buf", "i32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_dgram_recv(int fd, void *buf, uint32_t cap, uint8_t *from, int *from_len, double timeout_ms, int *size_out); */
  ipcl_dgram_recv: { args: ["i32", "buf", "u32", "buf", "buf", "f64", "buf"], returns: "i32", blocking: true },
  /** void *ipcl_sem_open(const char *name, int oflag, int mode, unsigned value, int *err); */
  ipcl_sem_open: { args: ["buf", "i32", "i32", "u32", "buf"], returns: "ptr" },
  /** int ipcl_sem_wait(void *sem, double timeout_ms); */
  ipcl_sem_wait: { args: ["ptr", "f64"], returns: "i32", blocking: true },
  /** int ipcl_sem_post(void *sem); */
  ipcl_sem_post: { args: ["ptr"], returns: "i32" },
  /** int ipcl_sem_getvalue(void *sem); */
  ipcl_sem_getvalue: { args: ["ptr"], returns: "i32" },
  /** int ipcl_sem_init_shared(void *sem, unsigned value); */
  ipcl_sem_init_shared: { args: ["ptr", "u32"], returns: "i32" },
  /** int ipcl_signal_start(int signo, int wfd, int nb_wfd);  a sigwaitinfo thread + handler into a pipe */
  ipcl_signal_start: { args: ["i32", "i32", "i32"], returns: "i32" },
  /** int ipcl_signal_stop(int signo); */
  ipcl_signal_stop: { args: ["i32"], returns: "i32" },
  /** int ipcl_signal_overflow(int signo); */
  ipcl_signal_overflow: { args: ["i32"], returns: "i32" },
  /** int ipcl_signal_in_use(int signo); */
  ipcl_signal_in_use: { args: ["i32"], returns: "i32" },
  /** int ipcl_sigqueue(int pid, int signo, const uint8_t value[8]); */
  ipcl_sigqueue: { args: ["i32", "i32", "buf"], returns: "i32" },
  /** int ipcl_sigqueue_thread(int pid, int tid, int signo, const uint8_t value[8]);  rt_tgsigqueueinfo */
  ipcl_sigqueue_thread: { args: ["i32", "i32", "i32", "buf"], returns: "i32" },
  /** int ipcl_tgkill(int pid, int tid, int signo); */
  ipcl_tgkill: { args: ["i32", "i32", "i32"], returns: "i32" },
  /** int ipcl_flock(int fd, int op); */
  ipcl_flock: { args: ["i32", "i32"], returns: "i32", blocking: true },
  /** int ipcl_inotify_watch(const char *path, unsigned mask); */
  ipcl_inotify_watch: { args: ["buf", "u32"], returns: "i32" },
  /** void ipcl_inotify_drain(int fd); */
  ipcl_inotify_drain: { args: ["i32"], returns: "void" },
  /** int ipcl_pread(int fd, void *buf, uint32_t len, double offset); */
  ipcl_pread: { args: ["i32", "buf", "u32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_eventfd_rw(int fd, uint8_t buf[8], int op, double timeout_ms);  eventfd I/O (op: 1 write, 2 O_NONBLOCK description) */
  ipcl_eventfd_rw: { args: ["i32", "buf", "i32", "f64"], returns: "i32", blocking: true },
  /** int ipcl_pin_process(int cpu);  every thread to one CPU (-1: all CPUs) */
  ipcl_pin_process: { args: ["i32"], returns: "i32" },
  /** int ipcl_pin_thread(int cpu);  the calling thread only */
  ipcl_pin_thread: { args: ["i32"], returns: "i32" },
  /** int ipcl_shares_single_cpu(int pid);  1 when we and pid may only run on the same one CPU */
  ipcl_shares_single_cpu: { args: ["i32"], returns: "i32" },
  /** void ipcl_rusage(double out[4]);  user ns, system ns, voluntary and involuntary switches */
  ipcl_rusage: { args: ["buf"], returns: "void" },
  /** double ipcl_fd_size(int fd); */
  ipcl_fd_size: { args: ["i32"], returns: "f64" },
} as const satisfies SymbolTable;
