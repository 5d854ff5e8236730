/* SPDX-License-Identifier: MIT */
/*
 * tend demo lock — the tutorial's 线程 › Lock, the listing with a lock:
 *
 *     lock = threading.Lock()
 *     def run_thread(n):
 *         for i in range(100000):
 *             lock.acquire()
 *             try:
 *                 change_it(n)
 *             finally:
 *                 lock.release()
 *
 * The bank is race.c's, unchanged: the same balance, the same change_it,
 * the same two threads adding and taking 5 and 8. The only difference is
 * the uv_mutex_t handed to bank_run, which its run_thread takes around each
 * change_it (uv_mutex_lock, uv_mutex_unlock: a pthread mutex). With it,
 * each read-add-write is done by one thread at a time and the final balance
 * is always 0.
 *
 * What C changes: there is no `finally` and no `with lock:`; the lock is
 * released by the line after the change, so nothing between the two may
 * return early. And because C threads really run side by side, the lock
 * has a real price: the threads now queue for it, and the cache line that
 * holds it travels between the cores. Both runs are timed to show it.
 */
#include "demo.h"

#include <stdio.h>

int demo_lock(const struct demo_opts *o) {
  uv_mutex_t lock;
  if (uv_mutex_init(&lock) != 0)
    return 1;
  long without, with;
  uint64_t ns_without, ns_with;
  int r = bank_run(o->iterations, NULL, &without, &ns_without);
  if (r == 0)
    r = bank_run(o->iterations, &lock, &with, &ns_with);
  uv_mutex_destroy(&lock);
  if (r != 0) {
    fprintf(stderr, "tend demo lock: cannot start a thread: %s\n", uv_strerror(r));
    return 1;
  }
  printf("%ld changes by each of 2 threads:\n", o->iterations);
  printf("without the lock: balance = %ld in %.1f ms\n", without, (double)ns_without / 1e6);
  printf("with the lock:    balance = %ld in %.1f ms\n", with, (double)ns_with / 1e6);
  printf("The lock makes every change whole, at %.1f times the time.\n",
         ns_without > 0 ? (double)ns_with / (double)ns_without : 0.0);
  return with == 0 ? 0 : 1;
}
