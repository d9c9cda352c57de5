/*
 * sockets.c — sockets: addresses, bind/listen, connect and accept with timeouts, datagrams.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- sockets ------------------------------------------------------------------ */

/** Fill a sockaddr_un for path (abstract: leading NUL, name not NUL-terminated); length or -errno. */
int ipcl_sockaddr_un(uint8_t *out, const char *path, int abstract) {
  struct sockaddr_un *a = (struct sockaddr_un *)out;
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n + 1 > sizeof a->sun_path) return -ENAMETOOLONG;
  if (abstract) { memcpy(a->sun_path + 1, path, n); return (int)(offsetof(struct sockaddr_un, sun_path) + 1 + n); }
  memcpy(a->sun_path, path, n);
  return (int)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/** Fill a sockaddr_in/in6 for a numeric host ("127.0.0.1", "::1") and port; length or -EINVAL. */
int ipcl_sockaddr_ip(uint8_t *out, const char *host, int port) {
  memset(out, 0, sizeof(struct sockaddr_storage));
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET; v4->sin_port = htons((uint16_t)port);
    return sizeof *v4;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6; v6->sin6_port = htons((uint16_t)port);
    return sizeof *v6;
  }
  return -EINVAL;
}

/** The port of a bound AF_INET/AF_INET6 socket (getsockname), or -errno. */
int ipcl_local_port(int fd) {
  struct sockaddr_storage ss; socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -EINVAL;
}

/** socket(2) with SOCK_CLOEXEC; fd or -errno. */
int ipcl_socket(int domain, int type) {
  int fd = socket(domain, type | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

/** socketpair(AF_UNIX, type); 0 or -errno. */
int ipcl_socketpair(int type, int *sv) {
  return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0 ? 0 : -errno;
}

/** setsockopt of an int option; 0 or -errno. */
int ipcl_setsockopt_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

/** getsockopt of an int option; the value or -errno. */
int ipcl_getsockopt_int(int fd, int level, int name) {
  int v = 0; socklen_t len = sizeof v;
  return getsockopt(fd, level, name, &v, &len) == 0 ? v : -errno;
}

/** bind(2) then, for stream sockets (backlog > 0), listen(2); 0 or -errno. */
int ipcl_bind_listen(int fd, const uint8_t *addr, int len, int backlog) {
  if (bind(fd, (const struct sockaddr *)addr, (socklen_t)len) != 0) return -errno;
  if (backlog > 0 && listen(fd, backlog) != 0) return -errno;
  return 0;
}

/** connect(2) within timeout_ms (negative: as long as the kernel takes); 0 or -errno. */
int ipcl_connect(int fd, const uint8_t *addr, int len, double timeout_ms) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int r = connect(fd, (const struct sockaddr *)addr, (socklen_t)len);
  if (r != 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
    int p = ipcl_poll1(fd, POLLOUT, timeout_ms, -1);
    if (p == 0) { fcntl(fd, F_SETFL, flags); return -ETIMEDOUT; }
    if (p < 0) { fcntl(fd, F_SETFL, flags); return p; }
    int err = 0; socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    r = err ? -1 : 0;
    errno = err;
  }
  int e = errno;
  fcntl(fd, F_SETFL, flags);
  return r == 0 ? 0 : -e;
}

/** accept4(2) within timeout_ms; the new fd (CLOEXEC, blocking) or -errno / -ETIMEDOUT. */
int ipcl_accept(int fd, double timeout_ms) {
  WAIT_SCOPE;
  if (timeout_ms >= 0) {
    int p = ipcl_poll1(fd, POLLIN, timeout_ms, -1);
    if (p == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    if (p < 0) return p;
  }
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | (timeout_ms >= 0 ? SOCK_NONBLOCK : 0));
    if (c >= 0) {
      if (timeout_ms >= 0) fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
      return c;
    }
    if (errno == EINTR && !stopping()) continue;
    return -errno;
  }
}

/**
 * Send one datagram (to addr, or to the connected peer when addr_len is 0), waiting at most
 * timeout_ms for buffer space (0: try). 0, -EAGAIN, -ETIMEDOUT, or -errno.
 */
int ipcl_dgram_send(int fd, const void *buf, uint32_t len, const uint8_t *addr, int addr_len, double timeout_ms) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    ssize_t r = sendto(fd, buf, len, MSG_NOSIGNAL | (timeout_ms >= 0 ? MSG_DONTWAIT : 0),
                       addr_len ? (const struct sockaddr *)addr : NULL, (socklen_t)addr_len);
    if (r >= 0) return 0;
    if (errno == EINTR && stopping()) return -EINTR;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != ENOBUFS) || timeout_ms < 0) return -errno;
    if (timeout_ms == 0) return -EAGAIN;
    int p = ipcl_poll1(fd, POLLOUT, (double)poll_ms_left(deadline), -1);
    if (p < 0) return p;
    if (p == 0) return -ETIMEDOUT;
  }
}

/**
 * Receive one datagram into buf (cap bytes) within timeout_ms, with MSG_PEEK|MSG_TRUNC
 * first so a datagram larger than cap stays queued (-EMSGSIZE, its size in *size_out).
 * The sender's address goes to from/from_len (may be NULL). Length, -ETIMEDOUT/-EAGAIN, -errno.
 */
int ipcl_dgram_recv(int fd, void *buf, uint32_t cap, uint8_t *from, int *from_len, double timeout_ms, int *size_out) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    if (timeout_ms >= 0) {
      int p = ipcl_poll1(fd, POLLIN, (double)poll_ms_left(deadline), -1);
      if (p < 0) return p;
      if (p == 0) return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    }
    char probe;
    ssize_t size = recv(fd, &probe, 1, MSG_PEEK | MSG_TRUNC | (timeout_ms >= 0 ? MSG_DONTWAIT : 0));
    if (size < 0) {
      if (errno == EINTR && stopping()) return -EINTR;
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if ((size_t)size > cap) { *size_out = (int)size; return -EMSGSIZE; }
    socklen_t fl = from_len ? (socklen_t)*from_len : 0;
    ssize_t r = recvfrom(fd, buf, cap, MSG_DONTWAIT, from ? (struct sockaddr *)from : NULL, from ? &fl : NULL);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if (from_len) *from_len = (int)fl;
    return (int)r;
  }
}
