/*
 * ipcl_ring.h — the shared-memory layout of an ipc-lab duplex ring (shm:, and later
 * memfd: and sysv-shm:). Written in C so that a C peer and the benchmark baselines use
 * the very same layout; TypeScript learns every offset from the shim (ipcl_facts), it
 * never hard-codes one.
 *
 * One object holds a header and two single-producer/single-consumer byte rings:
 * dir[0] carries creator -> opener, dir[1] carries opener -> creator.
 * A message in a ring is a u32 little-endian length, the payload, then padding to
 * IPCL_RING_ALIGN bytes (its "record"). Positions are free-running u32 byte counters
 * (capacity is a power of two, so `head - tail` is the used space even across wrap-around).
 *
 * Version 2: a record that would run past the end of the data area starts at offset 0
 * instead, whenever it is no longer than its position (so it fits there once the ring has
 * drained): the producer writes IPCL_RING_PAD as the length word where it would have
 * started, and the consumer, reading IPCL_RING_PAD, skips to the start. Records stay whole
 * in memory, which is what lets a receiver read a message in place (zero-copy). Only a
 * record longer than both its position and the room before the end (possible only when
 * max_message > capacity / 2 - 8) still wraps: its payload continues at offset 0.
 * The producer publishes a pad and the record after it with one store of `head`.
 *
 * Version 3: a producer may publish `head` with a release store, not a sequentially
 * consistent one, while its direction's `producer_relaxed` word is 1 (see below); a
 * consumer about to sleep that finds the word 1 calls membarrier(2) before it looks again.
 */
#ifndef IPCL_RING_H
#define IPCL_RING_H
#include <semaphore.h>
#include <stdint.h>

#define IPCL_RING_MAGIC 0x4c435049u /* "IPCL" little-endian */
#define IPCL_RING_VERSION 3u
#define IPCL_RING_ALIGN 8u
/* The length word of a pad: the rest of the data area up to its end is unused. */
#define IPCL_RING_PAD 0xffffffffu
/* How a side sleeps: on a futex on the word it waits for, or on a process-shared semaphore. */
#define IPCL_RING_WAIT_FUTEX 0u
#define IPCL_RING_WAIT_SEMAPHORE 1u
/* Publishes in a row that found no consumer announcement before a producer may relax (version 3). */
#define IPCL_RING_RELAX_AFTER 4096u

/* One direction. head and tail sit on separate cache lines so that the producer and the
 * consumer never write the same line. The *_waiting flags say "I am (about to be) asleep
 * on the futex word", so the other side issues a futex wake only when someone sleeps.
 * A sleeper stores its flag, reads the word, looks again, sleeps while the word holds what
 * it read, and stores 0 after. Each announcement is a value of its own (the consumer: any
 * non-zero count; the producer: the bytes it waits for minus 0..7, the same test since
 * free space is a multiple of IPCL_RING_ALIGN). A waker that changed the word reads the
 * flag, and wakes only if a compare-and-swap from the value it read to 0 succeeds: a
 * plain exchange could clear a newer announcement and spend its wake before that sleep.
 * A producer that published head H leaves the flag alone when the consumer's tail is
 * already H: held up between its store and its look at the flag, it would otherwise clear
 * the announcement of a consumer that took H, then waits for the next message — and that
 * consumer would sleep on head == H with its flag cleared, woken by no later publish.
 *
 * Relaxed publishing (version 3). A sequentially consistent store of `head` (an xchg on
 * x86) waits until the store is visible to the consumer's CPU, and a stream across CPUs
 * spends most of each message there; a release store does not, but then the producer's
 * load of consumer_waiting may pass its store of `head` (Dekker's store-load pair), and a
 * consumer that announced and looked again could sleep on a head already published. So:
 * a producer whose process registered MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED may, after
 * IPCL_RING_RELAX_AFTER publishes in a row that found no consumer announcement, store 1 in
 * producer_relaxed (sequentially consistent) and publish `head` with release stores from
 * then on; the first publish that finds an announcement stores 0 there (sequentially
 * consistent) and goes back to sequentially consistent stores. A consumer about to sleep
 * stores its flag, reads producer_relaxed, and when it is 1 calls
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) before reading `head` again: every CPU that
 * runs a thread of the producer's process then executes a full barrier, so either the
 * producer's store of `head` is visible to that read, or the producer's later load of the
 * flag sees the announcement. A consumer that read 0 needs no barrier: a producer that had
 * switched to 1 after the consumer's read made its switch after the announcement, and its
 * next load of the flag sees it. A producer that never relaxes (the JavaScript path, a C
 * peer that does not bother) leaves the word 0, and the version-2 protocol is unchanged. */
struct ipcl_ring_dir {
  _Alignas(64) uint32_t head;     /* bytes ever written; written by the producer only */
  uint32_t producer_waiting;      /* bytes the producer waits for (0: none); it sleeps on `tail` */
  _Alignas(64) uint32_t tail;     /* bytes ever read; written by the consumer only */
  uint32_t consumer_waiting;      /* consumer sleeps on `head` while the ring is empty */
  _Alignas(64) uint32_t closed;   /* non-zero once either end has closed this direction */
  uint32_t producer_relaxed;      /* 1: the producer may publish `head` with release stores (version 3) */
  /* used when wait_kind is IPCL_RING_WAIT_SEMAPHORE: posted instead of a futex wake */
  _Alignas(64) sem_t data_ready;  /* the consumer sleeps here while the ring is empty */
  sem_t space_ready;              /* the producer sleeps here while the ring is full */
};

struct ipcl_ring_header {
  uint32_t magic;          /* IPCL_RING_MAGIC, stored last by the creator (release) */
  uint32_t version;        /* IPCL_RING_VERSION */
  uint32_t header_size;    /* sizeof(struct ipcl_ring_header): data starts here */
  uint32_t capacity;       /* bytes per direction, a power of two */
  uint32_t max_message;    /* largest payload a send accepts */
  int32_t creator_pid;     /* owner: unlinks the name */
  int32_t opener_pid;      /* the one peer that has the ring open, 0 if none */
  uint32_t wait_kind;      /* IPCL_RING_WAIT_FUTEX or IPCL_RING_WAIT_SEMAPHORE, set by the creator */
  struct ipcl_ring_dir dir[2];
};

#endif
