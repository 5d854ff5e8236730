/* SPDX-License-Identifier: MIT */
/*
 * tend demo pool — the tutorial's 多进程 › Pool:
 *
 *     def long_time_task(name):
 *         print('Run task %s (%s)...' % (name, os.getpid()))
 *         start = time.time()
 *         time.sleep(random.random() * 3)
 *         print('Task %s runs %0.2f seconds.' % (name, (time.time() - start)))
 *
 *     p = Pool(4)
 *     for i in range(5):
 *         p.apply_async(long_time_task, args=(i,))
 *     print('Waiting for all subprocesses done...')
 *     p.close(); p.join()
 *     print('All subprocesses done.')
 *
 * A pool is a counter and a queue: start tasks while fewer than 4 run, and
 * start the next one from the exit callback of one that ended. So task 4
 * starts only when a slot frees, and its "Run task 4" line always comes
 * after some "Task i runs" line. One libuv loop watches every child; the
 * parent never blocks on any of them.
 *
 * What C changes: Python's Pool keeps 4 worker processes and feeds them
 * tasks over a pipe; here each task is a fresh process (tend itself, run as
 * `tend demo pool --child long_time_task I MS`), so every task has its own
 * pid. The parent draws the random lengths, so --seed repeats a run.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { POOL_SIZE = 4, NTASKS = 5 };

struct pool {
  uv_loop_t loop;
  uv_process_t procs[NTASKS];
  unsigned ms[NTASKS]; /* how long each task sleeps */
  int next;            /* the next task to start */
  int running;
  int failed;
};

/* The task, run in a child process. */
static int long_time_task(const char *name, unsigned ms) {
  printf("Run task %s (%d)...\n", name, (int)getpid());
  uint64_t start = uv_hrtime();
  uv_sleep(ms);
  printf("Task %s runs %0.2f seconds.\n", name, (double)(uv_hrtime() - start) / 1e9);
  return 0;
}

static void task_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal);

/* Start tasks while a slot is free. */
static void pool_fill(struct pool *pool) {
  while (pool->running < POOL_SIZE && pool->next < NTASKS && !pool->failed) {
    int i = pool->next++;
    char name[16], ms[16];
    snprintf(name, sizeof(name), "%d", i);
    snprintf(ms, sizeof(ms), "%u", pool->ms[i]);
    uv_process_t *p = &pool->procs[i];
    p->data = pool;
    int r = demo_spawn_self(&pool->loop, p, "pool",
                            (const char *const[]){"long_time_task", name, ms, NULL}, NULL, 0,
                            task_exit_cb);
    if (r != 0) {
      fprintf(stderr, "tend demo pool: cannot start task %d: %s\n", i, uv_strerror(r));
      uv_close((uv_handle_t *)p, NULL);
      pool->failed = 1;
      return;
    }
    pool->running++;
  }
}

static void task_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal) {
  struct pool *pool = p->data;
  if (exit_status != 0 || term_signal != 0)
    pool->failed = 1;
  uv_close((uv_handle_t *)p, NULL);
  pool->running--;
  pool_fill(pool); /* a slot is free: the next task may start */
}

int demo_pool(const struct demo_opts *o) {
  if (o->child != NULL)
    return o->nargs == 2 ? long_time_task(o->args[0], (unsigned)atoi(o->args[1])) : 2;

  struct pool pool = {.next = 0};
  unsigned seed = o->seed;
  for (int i = 0; i < NTASKS; i++)
    pool.ms[i] = (unsigned)(demo_random(&seed) * 3000 * o->scale);

  printf("Parent process %d.\n", (int)getpid());
  uv_loop_init(&pool.loop);
  pool_fill(&pool); /* apply_async five times: four start now */
  printf("Waiting for all subprocesses done...\n");
  uv_run(&pool.loop, UV_RUN_DEFAULT); /* close() and join() */
  uv_loop_close(&pool.loop);
  if (pool.failed)
    return 1;
  printf("All subprocesses done.\n");
  return 0;
}
