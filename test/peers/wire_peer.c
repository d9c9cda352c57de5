/*
 * A C program that speaks ipc-lab's documented wire formats, for the wire tests:
 *   FIFO (byte stream): each message is a u32 little-endian length, then the payload.
 *   POSIX queue: one message is one kernel message, no header.
 * usage: wire_peer fifo-send PATH MSG...   (waits for PATH to exist, then writes frames)
 *        wire_peer fifo-recv PATH N        (mkfifo PATH, read N frames, print, unlink)
 *        wire_peer mq-send NAME MSG...     (waits for the queue to exist)
 *        wire_peer mq-recv NAME N          (create the queue, receive N, print, unlink)
 *        wire_peer sysv-send KEY MSG...    (System V queue: mtype 1, mtext = payload)
 *        wire_peer sysv-recv KEY N         (create the queue, receive N, print, IPC_RMID)
 *        wire_peer unix-send PATH MSG...   (connect to a unix stream socket, write frames)
 *        wire_peer unix-recv PATH N        (listen on PATH, accept one, read N frames, unlink)
 *        wire_peer signal-send PID SIGNO MSG...  (sigval bytes 0..6 payload, byte 7 length, queued
 *                                           to the receiver's thread "ipcl-sig-SIGNO" to keep the order)
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

/* The receiver's listener thread for signo (/proc/PID/task/TID/comm == "ipcl-sig-SIGNO"), or 0. */
static int listener_tid(int pid, int signo) {
  char path[320], want[16], comm[32];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  snprintf(want, sizeof want, "ipcl-sig-%d", signo);
  DIR *d = opendir(path);
  if (!d) return 0;
  struct dirent *e;
  int tid = 0;
  while (!tid && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/comm", pid, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(comm, sizeof comm, f)) { comm[strcspn(comm, "\n")] = 0; if (!strcmp(comm, want)) tid = atoi(e->d_name); }
    fclose(f);
  }
  closedir(d);
  return tid;
}

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) { if (errno == EINTR) continue; die("write"); }
    c += w; n -= (size_t)w;
  }
}

static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0) { if (errno == EINTR) continue; die("read"); }
    if (r == 0) return 0;
    c += r; n -= (size_t)r;
  }
  return 1;
}

/* Read n frames (u32 LE length + payload) from fd and print each as a line; 0, or 1 on EOF. */
static int print_frames(int fd, int n) {
  for (int i = 0; i < n; i++) {
    uint8_t hdr[4];
    if (!read_all(fd, hdr, 4)) { fprintf(stderr, "EOF after %d messages\n", i); return 1; }
    uint32_t len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    char *buf = malloc(len + 1);
    if (!read_all(fd, buf, len)) { fprintf(stderr, "EOF inside a message\n"); return 1; }
    printf("%.*s\n", (int)len, buf);
    free(buf);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: see the comment at the top of wire_peer.c\n"); return 2; }
  const char *mode = argv[1], *name = argv[2];
  if (!strcmp(mode, "fifo-send")) {
    struct stat st;
    for (int i = 0; stat(name, &st) != 0; i++) { if (i > 1000) die("waiting for fifo"); pause_ms(10); }
    int fd = open(name, O_WRONLY); /* blocks until the reader opens */
    if (fd < 0) die("open");
    for (int i = 3; i < argc; i++) {
      uint32_t len = (uint32_t)strlen(argv[i]);
      uint8_t hdr[4] = {len, len >> 8, len >> 16, len >> 24};
      write_all(fd, hdr, 4);
      write_all(fd, argv[i], len);
    }
    close(fd);
  } else if (!strcmp(mode, "fifo-recv")) {
    if (mkfifo(name, 0600) != 0) die("mkfifo");
    int fd = open(name, O_RDONLY); /* blocks until the writer opens */
    if (fd < 0) die("open");
    if (print_frames(fd, atoi(argv[3])) != 0) return 1;
    close(fd);
    unlink(name);
  } else if (!strcmp(mode, "mq-send")) {
    mqd_t q;
    for (int i = 0; (q = mq_open(name, O_WRONLY)) == (mqd_t)-1; i++) { if (i > 1000) die("mq_open"); pause_ms(10); }
    for (int i = 3; i < argc; i++) if (mq_send(q, argv[i], strlen(argv[i]), 0) != 0) die("mq_send");
    mq_close(q);
  } else if (!strcmp(mode, "mq-recv")) {
    struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = 8192};
    mqd_t q = mq_open(name, O_RDONLY | O_CREAT | O_EXCL, 0600, &attr);
    if (q == (mqd_t)-1) die("mq_open");
    printf("ready\n");
    fflush(stdout);
    int n = atoi(argv[3]);
    char buf[8192];
    for (int i = 0; i < n; i++) {
      ssize_t len = mq_receive(q, buf, sizeof buf, NULL);
      if (len < 0) die("mq_receive");
      printf("%.*s\n", (int)len, buf);
    }
    mq_close(q);
    mq_unlink(name);
  } else if (!strcmp(mode, "sysv-send")) {
    key_t key = (key_t)strtol(name, NULL, 0);
    int id;
    for (int i = 0; (id = msgget(key, 0)) < 0; i++) { if (i > 1000) die("msgget"); pause_ms(10); }
    for (int i = 3; i < argc; i++) {
      size_t len = strlen(argv[i]);
      struct { long mtype; char mtext[8192]; } m = {.mtype = 1};
      memcpy(m.mtext, argv[i], len);
      if (msgsnd(id, &m, len, 0) != 0) die("msgsnd");
    }
  } else if (!strcmp(mode, "sysv-recv")) {
    key_t key = (key_t)strtol(name, NULL, 0);
    int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) die("msgget");
    printf("ready\n");
    fflush(stdout);
    int n = atoi(argv[3]);
    for (int i = 0; i < n; i++) {
      struct { long mtype; char mtext[8192]; } m;
      ssize_t len = msgrcv(id, &m, sizeof m.mtext, 0, 0);
      if (len < 0) die("msgrcv");
      printf("%.*s\n", (int)len, m.mtext);
    }
    msgctl(id, IPC_RMID, NULL);
  } else if (!strcmp(mode, "unix-send") || !strcmp(mode, "unix-recv")) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, name, sizeof a.sun_path - 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    int fd = s;
    if (!strcmp(mode, "unix-send")) {
      for (int i = 0; connect(s, (struct sockaddr *)&a, sizeof a) != 0; i++) { if (i > 1000) die("connect"); pause_ms(10); }
      for (int i = 3; i < argc; i++) {
        uint32_t len = (uint32_t)strlen(argv[i]);
        uint8_t hdr[4] = {len, len >> 8, len >> 16, len >> 24};
        write_all(s, hdr, 4);
        write_all(s, argv[i], len);
      }
    } else {
      if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0) die("bind/listen");
      printf("ready\n");
      fflush(stdout);
      fd = accept(s, NULL, NULL);
      if (fd < 0) die("accept");
      if (print_frames(fd, atoi(argv[3])) != 0) return 1;
      unlink(name);
    }
    close(fd);
  } else if (!strcmp(mode, "signal-send")) {
    pid_t pid = (pid_t)atoi(name);
    int signo = atoi(argv[3]);
    for (int i = 4; i < argc; i++) {
      union sigval v;
      uint8_t bytes[8] = {0};
      size_t len = strlen(argv[i]);
      if (len > 7) { fprintf(stderr, "a signal carries at most 7 bytes\n"); return 2; }
      memcpy(bytes, argv[i], len);
      bytes[7] = (uint8_t)len;
      memcpy(&v, bytes, sizeof v);
      int tid = listener_tid(pid, signo);
      siginfo_t info;
      memset(&info, 0, sizeof info);
      info.si_signo = signo; info.si_code = SI_QUEUE; info.si_pid = getpid(); info.si_uid = getuid(); info.si_value = v;
      /* to the listener thread: in order; without one, a plain (process-directed) sigqueue */
      while ((tid ? syscall(SYS_rt_tgsigqueueinfo, pid, tid, signo, &info) : sigqueue(pid, signo, v)) != 0) {
        if (errno != EAGAIN) die("sigqueue");
        pause_ms(1);
      }
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  fflush(stdout);
  return 0;
}
