/* SPDX-License-Identifier: MIT */
/*
 * tend demo distributed — the tutorial's 分布式进程 (task_master.py and
 * task_worker.py):
 *
 *     # master                                 # worker
 *     for i in range(10):                      for i in range(10):
 *         n = random.randint(0, 10000)             n = task.get(timeout=1)
 *         print('Put task %d...' % n)              print('run task %d * %d...' % (n, n))
 *         task.put(n)                              time.sleep(1)
 *     print('Try get results...')                  result.put('%d * %d = %d' % (n, n, n*n))
 *     for i in range(10):                      print('worker exit.')
 *         print('Result: %s' % result.get(timeout=10))
 *     print('master exit.')
 *
 * Python serves the two queues over the network with a BaseManager. tend
 * does it with Redis Streams: `tend worker` on every worker machine and
 * `tend submit` on the master (--redis URL prints the commands). Without a
 * URL this demo runs both roles here: the worker is a child process
 * (`tend demo distributed --child worker MS`) and the queues are two pipes
 * libuv creates as its fds 3 (tasks) and 4 (results).
 *
 * What C changes: the master is one libuv loop that writes the tasks,
 * reads the results and waits for the worker's exit, all at once; the
 * worker is plain blocking stdio. Closing the task pipe is how the master
 * says "no more tasks", so the worker needs no timeout to know it is done.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { NTASKS = 10 };

static int worker(unsigned pause_ms) {
  FILE *task = fdopen(3, "r"), *result = fdopen(4, "w");
  if (task == NULL || result == NULL) {
    fprintf(stderr, "tend demo distributed: the worker needs the queues on fds 3 and 4\n");
    return 1;
  }
  printf("Worker (%d) connected to the task queue (fd 3) and the result queue (fd 4).\n",
         (int)getpid());
  long n;
  while (fscanf(task, "%ld", &n) == 1) {
    printf("run task %ld * %ld...\n", n, n);
    uv_sleep(pause_ms);
    fprintf(result, "%ld * %ld = %ld\n", n, n, n * n);
    fflush(result);
  }
  printf("worker exit.\n");
  fclose(task);
  fclose(result);
  return 0;
}

struct master {
  uv_loop_t loop;
  uv_process_t worker;
  uv_pipe_t task, result; /* our ends of the two queues */
  uv_write_t put;
  char tasks[NTASKS * 8]; /* "n\n" per task */
  char in[256];           /* what a read brought */
  char line[64];          /* the result being assembled */
  size_t len;
  int results, status;
};

static void put_cb(uv_write_t *w, int status) {
  /* Every task is in the pipe: closing it is the end of the queue. */
  uv_close((uv_handle_t *)w->handle, NULL);
}

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  struct master *m = h->data;
  *buf = uv_buf_init(m->in, sizeof(m->in));
}

static void result_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct master *m = s->data;
  if (n < 0) { /* UV_EOF: the worker is done */
    uv_close((uv_handle_t *)s, NULL);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf->base[i] == '\n') {
      printf("Result: %.*s\n", (int)m->len, m->line);
      m->results++;
      m->len = 0;
    } else if (m->len < sizeof(m->line)) {
      m->line[m->len++] = buf->base[i];
    }
  }
}

static void worker_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal) {
  struct master *m = p->data;
  m->status = exit_status == 0 && term_signal == 0 ? 0 : 1;
  uv_close((uv_handle_t *)p, NULL);
}

static int master(const struct demo_opts *o) {
  struct master m = {.status = 1};
  uv_loop_init(&m.loop);
  uv_pipe_init(&m.loop, &m.task, 0);
  uv_pipe_init(&m.loop, &m.result, 0);
  m.worker.data = m.task.data = m.result.data = &m;
  uv_stdio_container_t stdio[5] = {
      {.flags = UV_IGNORE},
      {.flags = UV_INHERIT_FD, .data.fd = 1},
      {.flags = UV_INHERIT_FD, .data.fd = 2},
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&m.task},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&m.result},
  };
  char pause[16];
  snprintf(pause, sizeof(pause), "%u", (unsigned)(1000 * o->scale));
  int r = demo_spawn_self(&m.loop, &m.worker, "distributed",
                          (const char *const[]){"worker", pause, NULL}, stdio, 5, worker_exit_cb);
  if (r != 0) {
    fprintf(stderr, "tend demo distributed: cannot start the worker: %s\n", uv_strerror(r));
    uv_close((uv_handle_t *)&m.worker, NULL);
    uv_close((uv_handle_t *)&m.task, NULL);
    uv_close((uv_handle_t *)&m.result, NULL);
  } else {
    unsigned seed = o->seed;
    size_t len = 0;
    for (int i = 0; i < NTASKS; i++) {
      long n = (long)(demo_random(&seed) * 10001);
      printf("Put task %ld...\n", n);
      len += (size_t)snprintf(m.tasks + len, sizeof(m.tasks) - len, "%ld\n", n);
    }
    uv_buf_t buf = uv_buf_init(m.tasks, (unsigned)len);
    if (uv_write(&m.put, (uv_stream_t *)&m.task, &buf, 1, put_cb) != 0)
      uv_close((uv_handle_t *)&m.task, NULL); /* the worker sees no tasks, and ends */
    printf("Try get results...\n");
    if (uv_read_start((uv_stream_t *)&m.result, alloc_cb, result_cb) != 0)
      uv_close((uv_handle_t *)&m.result, NULL);
  }
  uv_run(&m.loop, UV_RUN_DEFAULT);
  uv_loop_close(&m.loop);
  if (r != 0 || m.results != NTASKS)
    return 1;
  printf("master exit.\n");
  return m.status;
}

int demo_distributed(const struct demo_opts *o) {
  if (o->child != NULL)
    return o->nargs == 1 ? worker((unsigned)atoi(o->args[0])) : 2;
  const char *url = o->redis != NULL ? o->redis : "URL";
  printf("Across machines, tend workers share a task queue in Redis Streams:\n"
         "  on every worker machine:  tend worker --redis %s\n"
         "  on the master:            tend submit --redis %s -- CMD [ARG...]\n",
         url, url);
  if (o->redis != NULL)
    return 0;
  printf("No --redis URL given: the master and a worker run here, over two pipes.\n");
  return master(o);
}
