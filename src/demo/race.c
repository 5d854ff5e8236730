/* SPDX-License-Identifier: MIT */
/*
 * tend demo race — the tutorial's 线程 › Lock, the listing without a lock:
 *
 *     balance = 0
 *     def change_it(n):
 *         global balance
 *         balance = balance + n
 *         balance = balance - n
 *     def run_thread(n):
 *         for i in range(100000):
 *             change_it(n)
 *     t1 = threading.Thread(target=run_thread, args=(5,))
 *     t2 = threading.Thread(target=run_thread, args=(8,))
 *
 * `balance = balance + n` is three steps: read the balance, add, write it
 * back. When both threads read the same old balance, the second write
 * replaces the first and that change is lost; the balance drifts from 0.
 * Python's GIL can switch threads between those steps; C threads run on
 * two cores at once and collide far more often.
 *
 * What C changes: a plain `long balance` written by two threads is a data
 * race, which C11 makes undefined behaviour: the compiler may assume it
 * never happens (keep the balance in a register, fold +n-n away). So each
 * single access here is atomic, relaxed (no ordering: a plain mov on x86),
 * and the read-modify-write is two separate atomic steps, exactly as
 * Python's is: well defined, and still losing updates. One
 * atomic_fetch_add(&balance, n) would lose none; a lock (lock.c) makes
 * the whole change_it one step. The fence after each write pushes it out
 * of the core's store buffer before the next read: without it each thread
 * mostly reads back its own last write and the race hides (it is still
 * there, only rarer). For the same reason the tellers start at a spinning
 * start line, not on a kernel wake-up, which can take longer than a million
 * changes do.
 */
#include "demo.h"

#include <stdatomic.h>
#include <stdio.h>

static atomic_long balance;

static void change_it(long n) {
  long b = atomic_load_explicit(&balance, memory_order_relaxed);
  atomic_store_explicit(&balance, b + n, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  b = atomic_load_explicit(&balance, memory_order_relaxed);
  atomic_store_explicit(&balance, b - n, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
}

struct teller {
  uv_thread_t tid;
  long n, iterations;
  uv_mutex_t *lock;   /* NULL: no lock, the race */
  atomic_int *ready;  /* the start line: both tellers go when it is 2 */
};

static void run_thread(void *arg) {
  struct teller *t = arg;
  atomic_fetch_add(t->ready, 1);
  while (atomic_load(t->ready) < 2)
    ;
  for (long i = 0; i < t->iterations; i++) {
    if (t->lock != NULL)
      uv_mutex_lock(t->lock); /* lock.acquire() */
    change_it(t->n);
    if (t->lock != NULL)
      uv_mutex_unlock(t->lock); /* lock.release() */
  }
}

int bank_run(long iterations, uv_mutex_t *lock, long *result, uint64_t *elapsed_ns) {
  atomic_int ready = 0;
  struct teller t[2] = {
      {.n = 5, .iterations = iterations, .lock = lock, .ready = &ready},
      {.n = 8, .iterations = iterations, .lock = lock, .ready = &ready},
  };
  atomic_store(&balance, 0);
  uint64_t t0 = uv_hrtime();
  int r = uv_thread_create(&t[0].tid, run_thread, &t[0]);
  if (r == 0) {
    r = uv_thread_create(&t[1].tid, run_thread, &t[1]);
    if (r != 0)
      atomic_fetch_add(&ready, 1); /* stand in for the second teller: let the first go */
    uv_thread_join(&t[0].tid);
    if (r == 0)
      uv_thread_join(&t[1].tid);
  }
  *elapsed_ns = uv_hrtime() - t0;
  *result = atomic_load(&balance);
  return r;
}

int demo_race(const struct demo_opts *o) {
  long b;
  uint64_t ns;
  int r = bank_run(o->iterations, NULL, &b, &ns);
  if (r != 0) {
    fprintf(stderr, "tend demo race: cannot start a thread: %s\n", uv_strerror(r));
    return 1;
  }
  printf("balance = %ld\n", b);
  if (b != 0)
    printf("Why: both threads read the same balance, each wrote back its own sum, and one "
           "change was lost; lock it (tend demo lock).\n");
  else
    printf("Why 0: luck this time; the threads did not read the same balance at a bad "
           "moment. Run it again, or more --iterations.\n");
  return 0;
}
