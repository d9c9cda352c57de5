/*
 * process.c — process setup and measurement: SIGPIPE, CPU affinity, pinning, usage.
 * Part of the shim (see internal.h for the conventions); compiled with the other files of ffi/shim/.
 */
#include "internal.h"

/* ---------- process setup -------------------------------------------------------- */

/** Ignore SIGPIPE (writers get EPIPE instead of dying) unless someone installed a handler. */
int ipcl_init(void) {
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  return 0;
}

/** How many CPUs this thread may run on (sched_getaffinity), or -errno. */
int ipcl_cpus_allowed(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
  return CPU_COUNT(&set);
}

/* ---------- measurement -------------------------------------------------------------- */

/**
 * Pin every thread of this process to CPU `cpu` (sched_setaffinity per task in
 * /proc/self/task; -1 allows all CPUs again). Threads started later inherit the mask of
 * the thread that starts them. 0 or -errno.
 */
int ipcl_pin_process(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  int result = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) return -errno;
  struct dirent *e;
  while ((e = readdir(d))) {
    int tid = atoi(e->d_name);
    if (tid <= 0) continue;
    if (sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) result = -errno;
  }
  closedir(d);
  return result;
}

/** getrusage(RUSAGE_SELF) into out: user ns, system ns, voluntary and involuntary context switches. */
void ipcl_rusage(double *out) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  out[0] = ru.ru_utime.tv_sec * 1e9 + ru.ru_utime.tv_usec * 1e3;
  out[1] = ru.ru_stime.tv_sec * 1e9 + ru.ru_stime.tv_usec * 1e3;
  out[2] = (double)ru.ru_nvcsw;
  out[3] = (double)ru.ru_nivcsw;
}

/** Pin the calling thread only to CPU `cpu` (-1: all CPUs). 0 or -errno. */
int ipcl_pin_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &set);
  else CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/**
 * Would spinning be pathological? 1 when this thread and process `pid` may only run on
 * one and the same CPU (or the machine has a single CPU): a spinner would then keep the
 * very process it waits for off the CPU. 0 otherwise, -errno if pid's mask is unreadable.
 */
int ipcl_shares_single_cpu(int pid) {
  if (sysconf(_SC_NPROCESSORS_ONLN) <= 1) return 1;
  cpu_set_t ours, theirs;
  if (sched_getaffinity(0, sizeof ours, &ours) != 0) return -errno;
  if (sched_getaffinity(pid, sizeof theirs, &theirs) != 0) return -errno;
  return CPU_COUNT(&ours) == 1 && CPU_EQUAL(&ours, &theirs);
}
