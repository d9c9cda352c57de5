/*
 * files.c — files: open (fixed arity), flock, inotify, pread.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- variadic wrappers ---------------------------------------------------- */

/** open(2) with a fixed arity; returns the fd or -errno (-EINTR: a stop signal). */
int ipcl_open(const char *path, int flags, int mode) {
  WAIT_SCOPE; /* opening a FIFO waits for its peer */
  int fd;
  do fd = open(path, flags, (mode_t)mode); while (fd < 0 && errno == EINTR && !stopping());
  return fd < 0 ? -errno : fd;
}


/* ---------- files -------------------------------------------------------------------- */

/** flock(2), EINTR retried (-EINTR when a stop signal is pending); 0 or -errno. */
int ipcl_flock(int fd, int op) {
  WAIT_SCOPE;
  int r;
  do r = flock(fd, op); while (r != 0 && errno == EINTR && !stopping());
  return r == 0 ? 0 : -errno;
}

/** An inotify fd watching path for `mask`; fd or -errno. */
int ipcl_inotify_watch(const char *path, unsigned mask) {
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return -errno;
  if (inotify_add_watch(fd, path, mask) < 0) { int e = errno; close(fd); return -e; }
  return fd;
}

/** Discard queued inotify events. */
void ipcl_inotify_drain(int fd) {
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {}
}

/** pread(2) of up to len bytes at offset; bytes read or -errno. */
int ipcl_pread(int fd, void *buf, uint32_t len, double offset) {
  ssize_t r;
  do r = pread(fd, buf, len, (off_t)offset); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : (int)r;
}

/** Size of the file behind fd, or -errno. */
double ipcl_fd_size(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (double)st.st_size : -errno;
}
