/*
 * facts.c — facts: every constant and layout TypeScript needs, so it never hard-codes one.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- facts ---------------------------------------------------------------- */

static char facts_buf[8192];

#define FACT(name) n += snprintf(facts_buf + n, sizeof facts_buf - n, "%s=%lld\n", #name, (long long)(name))
#define FACT_AS(key, value) n += snprintf(facts_buf + n, sizeof facts_buf - n, "%s=%lld\n", key, (long long)(value))
#define SIZE(type, key) FACT_AS("sizeof." key, sizeof(type))
#define OFF(type, field, key) FACT_AS("offsetof." key "." #field, offsetof(type, field))

/** Every constant and layout TypeScript needs, as "KEY=VALUE\n" lines. */
const char *ipcl_facts(void) {
  int n = 0;
  FACT(O_RDONLY); FACT(O_WRONLY); FACT(O_RDWR); FACT(O_ACCMODE); FACT(O_CREAT); FACT(O_EXCL);
  FACT(O_NONBLOCK); FACT(O_CLOEXEC);
  FACT(F_GETFL); FACT(F_SETFL); FACT(F_GETFD); FACT(F_SETFD); FACT(FD_CLOEXEC);
  FACT(F_GETPIPE_SZ); FACT(F_SETPIPE_SZ); FACT(F_DUPFD_CLOEXEC);
  FACT(POLLIN); FACT(POLLOUT); FACT(POLLERR); FACT(POLLHUP);
  FACT(S_IFMT); FACT(S_IFIFO); FACT(S_IFREG); FACT(S_IFSOCK);
  FACT(PIPE_BUF); FACT(SIGPIPE); FACT(SIGINT); FACT(SIGTERM); FACT(SIGHUP); FACT(SIGKILL);
  FACT(IPCL_WAKE_SIGNAL); FACT(ENOMEM); FACT(EFAULT);
  FACT(IPCL_EOF); FACT(IPCL_ETRUNC); FACT(IPCL_EGARBAGE);
  FACT(IPCL_RING_MAGIC); FACT(IPCL_RING_VERSION); FACT(IPCL_RING_ALIGN); FACT(IPCL_RING_PAD);
  FACT(IPCL_RING_HOW_SEMAPHORE); FACT(IPCL_RING_HOW_HOLD); FACT(IPCL_RING_RELAX_AFTER);
  FACT(FUTEX_WAITERS); FACT(FUTEX_TID_MASK); FACT(EOWNERDEAD); FACT(ENOTRECOVERABLE); FACT(EDEADLK);
  SIZE(pthread_mutex_t, "pthread_mutex");
  FACT_AS("offsetof.pthread_mutex.lock", offsetof(pthread_mutex_t, __data.__lock));
  SIZE(struct stat, "stat");
  OFF(struct stat, st_mode, "stat"); OFF(struct stat, st_size, "stat"); OFF(struct stat, st_uid, "stat");
  OFF(struct stat, st_nlink, "stat"); OFF(struct stat, st_ino, "stat");
  SIZE(struct ipcl_ring_header, "ring_header");
  OFF(struct ipcl_ring_header, magic, "ring_header");
  OFF(struct ipcl_ring_header, version, "ring_header");
  OFF(struct ipcl_ring_header, header_size, "ring_header");
  OFF(struct ipcl_ring_header, capacity, "ring_header");
  OFF(struct ipcl_ring_header, max_message, "ring_header");
  OFF(struct ipcl_ring_header, creator_pid, "ring_header");
  OFF(struct ipcl_ring_header, opener_pid, "ring_header");
  OFF(struct ipcl_ring_header, wait_kind, "ring_header");
  OFF(struct ipcl_ring_header, dir, "ring_header");
  FACT(IPCL_RING_WAIT_FUTEX); FACT(IPCL_RING_WAIT_SEMAPHORE);
  OFF(struct ipcl_ring_dir, data_ready, "ring_dir"); OFF(struct ipcl_ring_dir, space_ready, "ring_dir");
  SIZE(struct ipcl_ring_dir, "ring_dir");
  OFF(struct ipcl_ring_dir, head, "ring_dir");
  OFF(struct ipcl_ring_dir, producer_waiting, "ring_dir");
  OFF(struct ipcl_ring_dir, tail, "ring_dir");
  OFF(struct ipcl_ring_dir, consumer_waiting, "ring_dir");
  OFF(struct ipcl_ring_dir, closed, "ring_dir"); OFF(struct ipcl_ring_dir, producer_relaxed, "ring_dir");
  /* errno values the library reacts to (names come from strerrorname_np) */
  FACT(EAGAIN); FACT(EINTR); FACT(ENOENT); FACT(EEXIST); FACT(ETIMEDOUT); FACT(EPIPE);
  FACT(EMSGSIZE); FACT(ENXIO); FACT(EINVAL); FACT(EBADF); FACT(ESRCH); FACT(EBUSY);
  FACT(EPROTO); FACT(ECANCELED); FACT(ENOSPC); FACT(ENOMSG); FACT(EIDRM); FACT(ECONNREFUSED);
  FACT(ECONNRESET); FACT(EADDRINUSE); FACT(ENOTCONN); FACT(EMFILE); FACT(ENOSYS);
  FACT(IPC_CREAT); FACT(IPC_EXCL); FACT(IPC_NOWAIT); FACT(IPC_PRIVATE);
  FACT(AF_UNIX); FACT(AF_INET); FACT(AF_INET6); FACT(SOCK_STREAM); FACT(SOCK_DGRAM);
  FACT(SOL_SOCKET); FACT(SO_SNDBUF); FACT(SO_RCVBUF);
  FACT(SO_REUSEADDR); FACT(IPPROTO_TCP); FACT(TCP_NODELAY);
  SIZE(struct sockaddr_storage, "sockaddr_storage");
  SIZE(sem_t, "sem_t");
  FACT(LOCK_SH); FACT(LOCK_EX); FACT(LOCK_UN); FACT(O_APPEND);
  FACT(EFD_CLOEXEC); FACT(EFD_NONBLOCK); FACT(EFD_SEMAPHORE);
  FACT(IN_MODIFY);
  FACT_AS("SIGRTMIN", SIGRTMIN); FACT_AS("SIGRTMAX", SIGRTMAX); FACT(SIGUSR1); FACT(SIGUSR2);
  /* signals the JavaScript runtimes handle themselves (faults, aborts, Bun's own) */
  FACT(SIGILL); FACT(SIGTRAP); FACT(SIGABRT); FACT(SIGBUS); FACT(SIGFPE); FACT(SIGSEGV); FACT(SIGPWR); FACT(SIGSYS);
  FACT(SI_QUEUE);
  SIZE(struct ipcl_sigrecord, "sigrecord");
  OFF(struct ipcl_sigrecord, signo, "sigrecord"); OFF(struct ipcl_sigrecord, code, "sigrecord");
  OFF(struct ipcl_sigrecord, pid, "sigrecord"); OFF(struct ipcl_sigrecord, uid, "sigrecord");
  OFF(struct ipcl_sigrecord, value, "sigrecord"); FACT(EACCES); FACT(EPERM); FACT(ENAMETOOLONG);
  return facts_buf;
}
