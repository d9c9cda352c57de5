/*
 * memory.c — shared memory: reserving pages, mapping, memfd.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- memory --------------------------------------------------------------- */

/**
 * Give fd (a POSIX shm object or memfd) `size` bytes and reserve every page now
 * (ftruncate, then posix_fallocate): a tmpfs without room then fails here with ENOSPC,
 * instead of a SIGBUS in whichever process first touches a page that cannot be backed.
 * 0 or -errno.
 */
int ipcl_reserve(int fd, double size) {
  int r;
  do r = ftruncate(fd, (off_t)size); while (r != 0 && errno == EINTR);
  if (r != 0) return -errno;
  do r = posix_fallocate(fd, 0, (off_t)size); while (r == EINTR);
  return -r;
}

/**
 * Fault in every page of [addr, addr+len) for writing (MADV_POPULATE_WRITE), so memory
 * that cannot be backed fails here (-ENOMEM / -EFAULT) rather than with SIGBUS later:
 * the reservation for System V segments, which have no descriptor to fallocate. Kernels
 * before 5.14 lack it (-EINVAL): then nothing is reserved. 0 or -errno.
 */
int ipcl_populate(void *addr, double len) {
#ifdef MADV_POPULATE_WRITE
  return madvise(addr, (size_t)len, MADV_POPULATE_WRITE) == 0 ? 0 : -errno;
#else
  (void)addr; (void)len;
  return -EINVAL;
#endif
}

/** Bytes free for an unprivileged user on the filesystem holding path (statvfs), or -errno. */
double ipcl_fs_free(const char *path) {
  struct statvfs v;
  if (statvfs(path, &v) != 0) return -errno;
  return (double)v.f_bavail * (double)v.f_frsize;
}

/** mmap(2) a shared read/write view of fd; the address, or NULL with *err = errno. */
void *ipcl_mmap_shared(int fd, size_t len, int *err) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { *err = errno; return NULL; }
  *err = 0;
  return p;
}

/* ---------- anonymous shared memory ----------------------------------------------- */

/** memfd_create(name, MFD_CLOEXEC); fd or -errno. */
int ipcl_memfd(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}
