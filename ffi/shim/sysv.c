/*
 * sysv.c — System V: keys, shared memory segments, message queues, semaphore sets.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- System V: keys, shared memory, message queues, semaphores ------------- */

/** ftok(3); the key, or -errno. (A key can be negative: check errno via the out flag.) */
int ipcl_ftok(const char *path, int proj, int *ok) {
  key_t k = ftok(path, proj);
  *ok = k != (key_t)-1;
  return k == (key_t)-1 ? -errno : (int)k;
}

/** shmget(2); the id or -errno. */
int ipcl_shmget(int key, size_t size, int flags) {
  int id = shmget((key_t)key, size, flags);
  return id < 0 ? -errno : id;
}

/** shmat(2) read/write; the address, or NULL with *err = errno. */
void *ipcl_shmat(int id, int *err) {
  void *p = shmat(id, NULL, 0);
  if (p == (void *)-1) { *err = errno; return NULL; }
  *err = 0;
  return p;
}

/** shmdt(2); 0 or -errno. */
int ipcl_shmdt(void *addr) { return shmdt(addr) == 0 ? 0 : -errno; }

/** Size in bytes of segment id (IPC_STAT shm_segsz), or -errno. */
double ipcl_shm_size(int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) return -errno;
  return (double)ds.shm_segsz;
}

/** Remove shared memory segment `id` (IPC_RMID: freed after the last detach). 0 or -errno. */
int ipcl_shm_remove(int id) { return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : -errno; }

/** Remove message queue `id` (IPC_RMID: waiting callers get EIDRM). 0 or -errno. */
int ipcl_msg_remove(int id) { return msgctl(id, IPC_RMID, NULL) == 0 ? 0 : -errno; }

/** Remove semaphore set `id` (IPC_RMID: waiting callers get EIDRM). 0 or -errno. */
int ipcl_sem_remove(int id) { return semctl(id, 0, IPC_RMID) == 0 ? 0 : -errno; }

/** msgget(2); the id or -errno. */
int ipcl_msgget(int key, int flags) {
  int id = msgget((key_t)key, flags);
  return id < 0 ? -errno : id;
}

/** msg_qnum, msg_qbytes, msg_lspid, msg_lrpid of queue id into out[0..3]; 0 or -errno. */
int ipcl_msg_stat(int id, double *out) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) != 0) return -errno;
  out[0] = (double)ds.msg_qnum; out[1] = (double)ds.msg_qbytes;
  out[2] = (double)ds.msg_lspid; out[3] = (double)ds.msg_lrpid;
  return 0;
}

static void nap(int64_t *pause_ns, int64_t deadline) {
  int64_t ns = *pause_ns;
  if (deadline >= 0) {
    int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
    if (left < ns) ns = left > 0 ? left : 0;
  }
  struct timespec ts = {0, (long)ns};
  nanosleep(&ts, NULL);
  if (*pause_ns < 1000000) *pause_ns *= 2; /* 50 us doubling up to ~1.6 ms */
}

/*
 * System V queues have no descriptor to wait on and no timed calls: "forever" blocks in
 * the kernel; a timeout polls with IPC_NOWAIT and a doubling nap (50 us .. 1.6 ms).
 */

/** msgsnd of a message of `type` (> 0); 0, -EAGAIN (try, full), -ETIMEDOUT, or -errno. */
int ipcl_msgsnd(int id, double type, const void *buf, uint32_t len, double timeout_ms) {
  char stackbuf[8192 + sizeof(long)];
  struct msgbuf_hdr { long mtype; char mtext[]; } *m =
      len + sizeof(long) <= sizeof stackbuf ? (void *)stackbuf : malloc(sizeof(long) + len);
  if (!m) return -ENOMEM;
  WAIT_SCOPE;
  m->mtype = (long)type;
  if (len) memcpy(m->mtext, buf, len);
  int64_t deadline = deadline_after(timeout_ms), pause = 50000;
  int r;
  for (;;) {
    r = msgsnd(id, m, len, timeout_ms < 0 ? 0 : IPC_NOWAIT);
    if (r == 0) break;
    if (errno == EINTR && stopping()) { r = -EINTR; break; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN || timeout_ms < 0) { r = -errno; break; }
    if (timeout_ms == 0) { r = -EAGAIN; break; }
    if (now_ns(CLOCK_MONOTONIC) >= deadline) { r = -ETIMEDOUT; break; }
    nap(&pause, deadline);
    if (stopping()) { r = -EINTR; break; }
  }
  if ((void *)m != (void *)stackbuf) free(m);
  return r;
}

/**
 * msgrcv of the first message whose type matches `type` (0: any; > 0: that type; < 0: the
 * lowest type <= |type|) into buf (cap bytes). The length, or -ENOMSG/-ETIMEDOUT when none
 * came in time, -E2BIG when the message is longer than cap (it stays queued), or -errno.
 * *type_out gets the message type. `cancel` (may be NULL) ends a timed wait when non-zero.
 */
int ipcl_msgrcv(int id, void *buf, uint32_t cap, double type, double *type_out, double timeout_ms, volatile uint32_t *cancel) {
  char stackbuf[8192 + sizeof(long)];
  struct msgbuf_hdr { long mtype; char mtext[]; } *m =
      cap + sizeof(long) <= sizeof stackbuf ? (void *)stackbuf : malloc(sizeof(long) + cap);
  if (!m) return -ENOMEM;
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms), pause = 50000;
  ssize_t r;
  for (;;) {
    r = msgrcv(id, m, cap, (long)type, timeout_ms < 0 ? 0 : IPC_NOWAIT);
    if (r >= 0) break;
    if (errno == EINTR && stopping()) { r = -EINTR; break; }
    if (errno == EINTR) continue;
    if (errno != ENOMSG || timeout_ms < 0) { r = -errno; break; }
    if (timeout_ms == 0 || (cancel && *cancel)) { r = -ENOMSG; break; }
    if (now_ns(CLOCK_MONOTONIC) >= deadline) { r = -ETIMEDOUT; break; }
    nap(&pause, deadline);
    if (stopping()) { r = -EINTR; break; }
  }
  if (r >= 0) {
    memcpy(buf, m->mtext, (size_t)r);
    *type_out = (double)m->mtype;
  }
  if ((void *)m != (void *)stackbuf) free(m);
  return (int)r;
}

/** semget(2); the id or -errno. */
int ipcl_semget(int key, int nsems, int flags) {
  int id = semget((key_t)key, nsems, flags);
  return id < 0 ? -errno : id;
}

/** semctl SETVAL; 0 or -errno. */
int ipcl_sem_setval(int id, int num, int value) {
  union semun { int val; struct semid_ds *buf; unsigned short *array; } arg = {.val = value};
  return semctl(id, num, SETVAL, arg) == 0 ? 0 : -errno;
}

/** semctl GETVAL; the value or -errno. */
int ipcl_sem_getval(int id, int num) {
  int v = semctl(id, num, GETVAL);
  return v < 0 ? -errno : v;
}

/**
 * semop/semtimedop of one operation `delta` on semaphore `num` (SEM_UNDO when undo);
 * timeout 0 = IPC_NOWAIT. 0, -EAGAIN (would block), -ETIMEDOUT, or -errno.
 */
int ipcl_semop1(int id, int num, int delta, int undo, double timeout_ms) {
  struct sembuf op = {.sem_num = (unsigned short)num, .sem_op = (short)delta, .sem_flg = (short)(undo ? SEM_UNDO : 0)};
  if (timeout_ms == 0) op.sem_flg |= IPC_NOWAIT;
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    int r;
    if (timeout_ms > 0) {
      int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
      if (left < 0) left = 0;
      struct timespec ts = {left / 1000000000, left % 1000000000};
      r = semtimedop(id, &op, 1, &ts);
      if (r != 0 && errno == EAGAIN) return -ETIMEDOUT;
    } else {
      r = semop(id, &op, 1);
    }
    if (r == 0) return 0;
    if (errno == EINTR && !stopping()) continue;
    return -errno;
  }
}

/*
 * Wait until System V queue `id` holds a message (msg_qnum > 0): 1, 0 on timeout,
 * -ECANCELED once cancel_fd is readable, -EINTR on a stop signal, or -errno. System V has
 * no wait that leaves the message in the queue (msgrcv takes it), so this looks every
 * 20 us, backing off to 1 ms, between looks sleeping in ppoll on cancel_fd: an off-thread
 * poll for the async path, which the JS thread never waits on.
 */
int ipcl_msg_wait(int id, double timeout_ms, int cancel_fd) {
  WAIT_SCOPE;
  int64_t deadline = deadline_after(timeout_ms), pause = 20000;
  struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
  for (;;) {
    struct msqid_ds ds;
    if (msgctl(id, IPC_STAT, &ds) < 0) return -errno;
    if (ds.msg_qnum > 0) return 1;
    int64_t now = now_ns(CLOCK_MONOTONIC), ns = pause;
    if (deadline >= 0 && now >= deadline) return 0;
    if (deadline >= 0 && deadline - now < ns) ns = deadline - now;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    int r = ppoll(&p, cancel_fd >= 0 ? 1 : 0, &ts, NULL);
    if (r > 0) return -ECANCELED;
    if (r < 0 && errno == EINTR && stopping()) return -EINTR;
    if (pause < 1000000) pause *= 2;
  }
}
