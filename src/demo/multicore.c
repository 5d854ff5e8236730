/* SPDX-License-Identifier: MIT */
/*
 * tend demo multicore — the tutorial's 线程 › 多核CPU:
 *
 *     Python解释器由于设计时有GIL全局锁，导致了多线程无法利用多核。
 *     (The interpreter's GIL keeps threads from using several cores.)
 *
 * The tutorial's experiment: start one busy-looping thread per core and
 * watch the CPU. In Python the process stays near 100% of one core however
 * many threads loop, because a thread must hold the GIL to run bytecode.
 *
 * What C changes: there is no such lock. Each uv_thread_create'd thread is
 * scheduled by the kernel on any free core, so N busy threads use N cores.
 * The demo measures it rather than claiming it: each thread counts its
 * loops and reads its own CPU clock (CLOCK_THREAD_CPUTIME_ID); the process's
 * CPU time comes from getrusage(), and CPU time over wall time is the
 * utilisation: about N x 100% on N free cores.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

struct busy {
  uv_thread_t tid;
  uint64_t end_ns;               /* uv_hrtime() to stop at */
  unsigned long long iterations; /* how many it counted */
  double cpu_s;                  /* its own CPU time */
  uint64_t x;                    /* the work: an LCG, kept so it is not optimised away */
};

static void busy_loop(void *arg) {
  struct busy *b = arg;
  uint64_t x = 1;
  do {
    for (int k = 0; k < 4096; k++)
      x = x * 6364136223846793005u + 1442695040888963407u;
    b->iterations += 4096;
  } while (uv_hrtime() < b->end_ns);
  b->x = x;
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  b->cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int demo_multicore(const struct demo_opts *o) {
  unsigned cpus = uv_available_parallelism();
  int n = o->threads > 0 ? o->threads : (int)cpus;
  struct busy *b = calloc((size_t)n, sizeof(*b));
  if (b == NULL)
    return 1;
  printf("%d busy threads on %u CPUs for %.2f s:\n", n, cpus, (double)o->seconds_ms / 1e3);
  double cpu0 = cpu_seconds();
  uint64_t t0 = uv_hrtime();
  int started = 0, r = 0;
  while (started < n && r == 0) {
    b[started].end_ns = t0 + o->seconds_ms * 1000000;
    r = uv_thread_create(&b[started].tid, busy_loop, &b[started]);
    if (r == 0)
      started++;
  }
  for (int i = 0; i < started; i++)
    uv_thread_join(&b[i].tid);
  double wall = (double)(uv_hrtime() - t0) / 1e9, cpu = cpu_seconds() - cpu0;
  if (r != 0) {
    fprintf(stderr, "tend demo multicore: cannot start thread %d: %s\n", started + 1,
            uv_strerror(r));
    free(b);
    return 1;
  }
  for (int i = 0; i < n; i++)
    printf("thread %d: %llu iterations, %.2f s of CPU\n", i + 1, b[i].iterations, b[i].cpu_s);
  printf("total: %.2f s of CPU in %.2f s: %.0f%% (one core gives at most 100%%)\n", cpu, wall,
         wall > 0 ? 100 * cpu / wall : 0.0);
  printf("C threads run on every core at once; Python threads would stay near 100%%: "
         "the GIL lets one run at a time.\n");
  free(b);
  return 0;
}
