/* SPDX-License-Identifier: MIT */
/*
 * spawn_tend: the library side of bench/spawn. It starts COUNT runs of
 * PROGRAM (default 2000 of /bin/true) with tend_proc_spawn on one libuv
 * loop, keeping JOBS (default 2) children running, and releases each with
 * tend_proc_close, as a job pool built on the process core would. All
 * stdio is TEND_STDIO_NULL. It prints one line in spawn_raw's format:
 *   spawn_tend COUNT SECONDS TASKS_PER_SECOND
 *
 * usage: spawn_tend [COUNT [JOBS [PROGRAM]]]
 */
#include "tend/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

static struct {
  uv_loop_t *loop;
  char *argv[2];
  long count, jobs;
  long started, running, exited, failed;
  int spawn_error;
} B;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void close_cb(tend_proc_t *p) { free(p); }

static void fill(void);

static void exit_cb(tend_proc_t *p) {
  B.running--;
  B.exited++;
  if (p->term_signal != 0 || p->exit_status != 0)
    B.failed++;
  tend_proc_close(p, close_cb);
  /* Start the next one now, not in close_cb: a pool refills its slot as
   * soon as the child is gone; closing the handles can happen later. */
  fill();
}

static void fill(void) {
  while (B.spawn_error == 0 && B.started < B.count && B.running < B.jobs) {
    tend_proc_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
      B.spawn_error = UV_ENOMEM;
      return;
    }
    tend_proc_options_t o;
    memset(&o, 0, sizeof(o));
    o.argv = B.argv;
    for (int i = 0; i < 3; i++)
      o.stdio[i].kind = TEND_STDIO_NULL;
    B.started++;
    int r = tend_proc_spawn(B.loop, p, &o, exit_cb);
    if (r != 0) {
      fprintf(stderr, "spawn_tend: %s: %s\n", B.argv[0], uv_strerror(r));
      B.spawn_error = r;
      tend_proc_close(p, close_cb); /* required even after a failure */
      return;
    }
    B.running++;
  }
}

int main(int argc, char **argv) {
  B.count = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
  B.jobs = argc > 2 ? strtol(argv[2], NULL, 10) : 2;
  B.argv[0] = argc > 3 ? argv[3] : "/bin/true";
  if (B.count <= 0 || B.jobs <= 0) {
    fprintf(stderr, "usage: spawn_tend [COUNT [JOBS [PROGRAM]]]\n");
    return 2;
  }
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return 1;
  B.loop = &loop;

  double t0 = now();
  fill();
  uv_run(&loop, UV_RUN_DEFAULT);
  double dt = now() - t0;
  int cr = uv_loop_close(&loop);

  if (B.spawn_error != 0)
    return 1;
  if (cr != 0) {
    fprintf(stderr, "spawn_tend: uv_loop_close: %s (a handle left open)\n", uv_strerror(cr));
    return 1;
  }
  if (B.exited != B.count || B.failed > 0) {
    fprintf(stderr, "spawn_tend: %ld exited, %ld failed, of %ld\n", B.exited, B.failed, B.count);
    return 1;
  }
  printf("spawn_tend %ld %.6f %.1f\n", B.count, dt, (double)B.count / dt);
  return 0;
}
