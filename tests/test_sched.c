/* SPDX-License-Identifier: MIT */
/*
 * sched, the worker pool, on the library level: the concurrency bound
 * (the most running at once, counted in the callbacks), FIFO starts, lazy
 * feeding, join after close, halt, cancel (process groups die, queued
 * tasks come back skipped), timeouts, spawn errors, output capture in
 * memory and spilled to a temporary file (byte-exact), the pool-wide
 * memory budget, and 2000 tiny tasks. Real children on a real loop; every
 * wait is bounded by a loop deadline, and each test ends with no handle
 * left on the loop.
 */
#include "looputil.h"
#include "testutil.h"
#include "tend/sched.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uv_loop_t loop;
static char *dir;

static void setup(void) {
  cr_assert(uv_loop_init(&loop) == 0);
  dir = tu_tmpdir();
}

static void teardown(void) {
  /* Every handle must be closed: a leaked one makes this fail. */
  uv_run(&loop, UV_RUN_NOWAIT);
  cr_expect(uv_loop_close(&loop) == 0, "handles left open on the loop");
  tu_rmdir(dir);
}

TestSuite(sched, .init = setup, .fini = teardown, .timeout = 120);

/* ---- a test's tasks and callbacks -------------------------------------- */

struct ttask {
  tend_task_t t;
  char *argv[8];
  char arg[256];
  uint64_t start_order; /* 1, 2, ... as start_cb saw them */
  bool done;
};

typedef struct {
  struct ttask *tasks;
  int ntasks;
  int next_submit; /* lazy feeding: the next one to submit */
  bool lazy;
  int running, max_running;
  uint64_t starts, dones, skipped;
  uint64_t start_seq[4096]; /* seqs in start order */
  uint64_t max_queued;
  bool joined, free_in_join, submit_in_join_failed;
  bool halt_on_failure;
  tend_sched_t *s;
} ctx_t;

static void start_cb(tend_sched_t *s, tend_task_t *t) {
  ctx_t *c = tend_sched_data(s);
  struct ttask *tt = (struct ttask *)t;
  cr_assert_eq(t->state, TEND_TASK_RUNNING);
  cr_assert(t->pid > 0);
  c->running++;
  if (c->running > c->max_running)
    c->max_running = c->running;
  if (c->starts < 4096)
    c->start_seq[c->starts] = t->seq;
  tt->start_order = ++c->starts;
}

static void done_cb(tend_sched_t *s, tend_task_t *t) {
  ctx_t *c = tend_sched_data(s);
  struct ttask *tt = (struct ttask *)t;
  cr_assert(!tt->done, "a task came back twice");
  cr_assert_eq(t->state, TEND_TASK_DONE);
  tt->done = true;
  c->dones++;
  if (t->outcome == TEND_TASK_SKIPPED)
    c->skipped++;
  else if (t->outcome == TEND_TASK_EXITED)
    c->running--;
  if (c->halt_on_failure && tend_task_failed(t))
    tend_sched_halt(s);
}

static void feed_cb(tend_sched_t *s) {
  ctx_t *c = tend_sched_data(s);
  size_t want = tend_sched_wanted(s);
  while (want-- > 0 && c->next_submit < c->ntasks)
    cr_assert_eq(tend_sched_submit(s, &c->tasks[c->next_submit++].t), 0);
  tend_sched_stats_t st;
  tend_sched_stats(s, &st);
  if (st.queued > c->max_queued)
    c->max_queued = st.queued;
  if (c->next_submit == c->ntasks)
    tend_sched_close(s);
}

static void join_cb(tend_sched_t *s) {
  ctx_t *c = tend_sched_data(s);
  c->joined = true;
  c->submit_in_join_failed = tend_sched_submit(s, &c->tasks[0].t) == -EPIPE;
  if (c->free_in_join) {
    cr_assert_eq(tend_sched_free(s), 0);
    c->s = NULL;
  }
}

static tend_sched_opts_t opts(ctx_t *c, unsigned n) {
  tend_sched_opts_t o;
  memset(&o, 0, sizeof(o));
  o.max_running = n;
  o.start_cb = start_cb;
  o.done_cb = done_cb;
  o.join_cb = join_cb;
  o.feed_cb = c->lazy ? feed_cb : NULL;
  o.kill_after_ms = 2000;
  o.tmpdir = dir;
  o.data = c;
  return o;
}

/* n tasks running `sh -c script seq-as-$0`. */
static struct ttask *make_tasks(int n, const char *script) {
  struct ttask *v = calloc((size_t)n, sizeof(*v));
  cr_assert(v != NULL);
  for (int i = 0; i < n; i++) {
    snprintf(v[i].arg, sizeof(v[i].arg), "%d", i + 1);
    v[i].argv[0] = "sh";
    v[i].argv[1] = "-c";
    v[i].argv[2] = (char *)script;
    v[i].argv[3] = v[i].arg;
    v[i].t.argv = v[i].argv;
  }
  return v;
}

static void submit_all(ctx_t *c) {
  for (int i = 0; i < c->ntasks; i++)
    cr_assert_eq(tend_sched_submit(c->s, &c->tasks[i].t), 0);
}

static void release_all(ctx_t *c) {
  for (int i = 0; i < c->ntasks; i++)
    if (c->tasks[i].done)
      tend_sched_release(c->s, &c->tasks[i].t);
}

/* Run to the join, release every capture, free the pool. */
static void finish(ctx_t *c, int deadline_ms) {
  cr_assert(lu_run_until(&loop, &c->joined, deadline_ms), "no join: %llu of %d tasks done",
            (unsigned long long)c->dones, c->ntasks);
  cr_assert(c->submit_in_join_failed, "a closed pool accepted a task");
  if (c->s != NULL) {
    release_all(c);
    cr_assert_eq(tend_sched_free(c->s), 0);
  }
  free(c->tasks);
}

/* ---- tests -------------------------------------------------------------- */

Test(sched, bad_options) {
  tend_sched_opts_t o;
  memset(&o, 0, sizeof(o));
  tend_sched_t *s = (tend_sched_t *)1;
  o.max_running = 2;
  cr_assert_eq(tend_sched_new(&loop, &o, &s), -EINVAL, "no done_cb");
  cr_assert_null(s);
  o.done_cb = done_cb;
  o.max_running = 0;
  cr_assert_eq(tend_sched_new(&loop, &o, &s), -EINVAL, "max_running 0");
  o.max_running = 1;
  cr_assert_eq(tend_sched_new(&loop, &o, &s), 0);
  tend_task_t t;
  memset(&t, 0, sizeof(t));
  cr_assert_eq(tend_sched_submit(s, &t), -EINVAL, "no argv");
  cr_assert_eq(tend_sched_free(s), 0, "an unused pool frees at once");
}

Test(sched, concurrency_never_above_n) {
  ctx_t c = {0};
  c.ntasks = 24;
  c.tasks = make_tasks(c.ntasks, "sleep 0.0$(( $0 % 7 ))");
  tend_sched_opts_t o = opts(&c, 3);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(!c.joined, "join_cb came from inside tend_sched_close");
  cr_assert_eq(c.starts, 0, "a task started from inside tend_sched_submit");
  finish(&c, 30000);
  cr_assert_eq(c.dones, 24);
  cr_assert_eq(c.max_running, 3, "at most 3 at once, and 3 reached (got %d)", c.max_running);
}

Test(sched, fifo_start_order_and_results) {
  ctx_t c = {0};
  c.ntasks = 12;
  c.tasks = make_tasks(c.ntasks, "echo out $0; echo err $0 >&2; exit $(( $0 % 4 ))");
  tend_sched_opts_t o = opts(&c, 4);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 30000));
  for (int i = 0; i < c.ntasks; i++) {
    tend_task_t *t = &c.tasks[i].t;
    cr_assert_eq(t->seq, (uint64_t)i + 1);
    cr_assert_eq(c.start_seq[i], (uint64_t)i + 1, "start %d was seq %llu", i,
                 (unsigned long long)c.start_seq[i]);
    cr_assert_eq(t->outcome, TEND_TASK_EXITED);
    cr_assert_eq(t->exit_status, (i + 1) % 4);
    cr_assert_eq(tend_task_failed(t), (i + 1) % 4 != 0);
    char want[32], got[64];
    int n = snprintf(want, sizeof(want), "out %d\n", i + 1);
    cr_assert_eq(t->cap[0].bytes, (uint64_t)n);
    cr_assert_eq(tend_task_output_read(t, 0, 0, got, sizeof(got)), n);
    cr_assert(memcmp(got, want, (size_t)n) == 0);
    n = snprintf(want, sizeof(want), "err %d\n", i + 1);
    cr_assert_eq(tend_task_output_read(t, 1, 0, got, sizeof(got)), n);
    cr_assert(memcmp(got, want, (size_t)n) == 0);
    cr_assert(!t->cap[0].spilled);
    cr_assert(t->start_unix_ns > 0);
    cr_assert(t->runtime_ns > 0);
  }
  tend_sched_stats_t st;
  tend_sched_stats(c.s, &st);
  cr_assert_eq(st.started, 12);
  cr_assert_eq(st.succeeded, 3);
  cr_assert_eq(st.failed, 9);
  cr_assert_eq(st.running + st.queued, 0);
  release_all(&c);
  cr_assert_eq(tend_sched_free(c.s), 0);
  free(c.tasks);
}

Test(sched, join_after_close_even_when_empty) {
  ctx_t c = {0};
  c.ntasks = 1;
  c.tasks = make_tasks(1, "exit 0");
  c.free_in_join = true; /* allowed in join_cb */
  tend_sched_opts_t o = opts(&c, 2);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  tend_sched_close(c.s);
  cr_assert(!c.joined, "join_cb must come from the loop");
  cr_assert_eq(tend_sched_submit(c.s, &c.tasks[0].t), -EPIPE);
  cr_assert(lu_run_until(&loop, &c.joined, 5000));
  cr_assert_null(c.s);
  free(c.tasks);
}

Test(sched, join_waits_for_every_task) {
  ctx_t c = {0};
  c.ntasks = 6;
  c.tasks = make_tasks(c.ntasks, "sleep 0.1");
  tend_sched_opts_t o = opts(&c, 2);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert_eq(tend_sched_free(c.s), -EBUSY, "freed while tasks are pending");
  finish(&c, 30000);
  cr_assert_eq(c.dones, 6);
}

Test(sched, lazy_feeding_keeps_the_queue_short) {
  ctx_t c = {0};
  c.lazy = true;
  c.ntasks = 200;
  c.tasks = make_tasks(c.ntasks, "exit 0");
  tend_sched_opts_t o = opts(&c, 4);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  feed_cb(c.s); /* the owner primes it */
  finish(&c, 60000);
  cr_assert_eq(c.dones, 200);
  cr_assert(c.max_queued <= 8, "queue grew to %llu", (unsigned long long)c.max_queued);
  for (int i = 0; i < 200; i++)
    cr_assert_eq(c.start_seq[i], (uint64_t)i + 1);
}

Test(sched, spawn_error_is_a_done_task) {
  ctx_t c = {0};
  c.ntasks = 2;
  c.tasks = make_tasks(2, "exit 0");
  c.tasks[0].argv[0] = "/nonexistent/tend-no-such-command";
  tend_sched_opts_t o = opts(&c, 1);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  cr_assert_eq(c.dones, 0, "done_cb from inside submit");
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 10000));
  tend_task_t *t = &c.tasks[0].t;
  cr_assert_eq(t->outcome, TEND_TASK_SPAWN_FAILED);
  cr_assert_eq(t->spawn_error, -ENOENT);
  cr_assert_eq(t->err_what, TEND_PROC_ERR_EXEC);
  cr_assert(tend_task_failed(t));
  cr_assert_eq(c.tasks[1].t.outcome, TEND_TASK_EXITED);
  cr_assert_eq(c.tasks[1].t.exit_status, 0);
  finish(&c, 1000);
}

Test(sched, timeout_stops_the_group) {
  ctx_t c = {0};
  c.ntasks = 1;
  c.tasks = make_tasks(1, "sleep 30 & sleep 30; wait");
  c.tasks[0].t.timeout_ms = 200;
  tend_sched_opts_t o = opts(&c, 1);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  int64_t t0 = tu_now_ms();
  cr_assert(lu_run_until(&loop, &c.joined, 10000));
  tend_task_t *t = &c.tasks[0].t;
  cr_assert(t->timed_out);
  cr_assert_eq(t->term_signal, SIGTERM);
  cr_assert(tend_task_failed(t));
  cr_assert(tu_now_ms() - t0 < 1500, "the timeout took %lld ms", (long long)(tu_now_ms() - t0));
  finish(&c, 1000);
}

Test(sched, halt_skips_the_queue_running_tasks_finish) {
  ctx_t c = {0};
  c.ntasks = 6;
  /* Task 1 fails at once; task 2 runs a little longer; 3.. wait. */
  c.tasks = make_tasks(c.ntasks, "[ $0 = 1 ] && exit 1; sleep 0.3; exit 0");
  c.halt_on_failure = true;
  tend_sched_opts_t o = opts(&c, 2);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  cr_assert(lu_run_until(&loop, &c.joined, 10000), "halt closes the pool: join follows");
  cr_assert_eq(c.tasks[0].t.exit_status, 1);
  cr_assert_eq(c.tasks[1].t.outcome, TEND_TASK_EXITED, "the running task finished");
  cr_assert_eq(c.tasks[1].t.exit_status, 0);
  cr_assert(!c.tasks[1].t.cancelled);
  for (int i = 2; i < 6; i++) {
    cr_assert_eq(c.tasks[i].t.outcome, TEND_TASK_SKIPPED, "task %d", i + 1);
    cr_assert(!tend_task_failed(&c.tasks[i].t));
  }
  cr_assert_eq(c.skipped, 4);
  finish(&c, 1000);
}

static bool all_files(int n) {
  for (int i = 1; i <= n; i++) {
    char p[512];
    snprintf(p, sizeof(p), "%s/gc.%d", dir, i);
    if (tu_wait_number_file(p, 0) < 0)
      return false;
  }
  return true;
}

static bool files_ready;
/* Polls for gc.1 .. gc.N, N in the timer's data (default 3). */
static void check_files_cb(uv_timer_t *h) {
  int n = h->data != NULL ? (int)(intptr_t)h->data : 3;
  if (all_files(n)) {
    files_ready = true;
    uv_timer_stop(h);
  }
}

Test(sched, cancel_kills_process_groups) {
  ctx_t c = {0};
  c.ntasks = 8;
  char script[512];
  /* A grandchild in the task's group, its pid in a file; then wait. */
  snprintf(script, sizeof(script), "sleep 300 & echo $! > %s/gc.$0.tmp; mv %s/gc.$0.tmp %s/gc.$0; wait",
           dir, dir, dir);
  c.tasks = make_tasks(c.ntasks, script);
  tend_sched_opts_t o = opts(&c, 3);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  uv_timer_t poll;
  uv_timer_init(&loop, &poll);
  files_ready = false;
  poll.data = NULL; /* 3 files */
  uv_timer_start(&poll, check_files_cb, 10, 10); /* another process writes them */
  cr_assert(lu_run_until(&loop, &files_ready, 10000), "the 3 tasks did not start");
  uv_close((uv_handle_t *)&poll, NULL);
  cr_assert_eq(c.starts, 3);
  pid_t gc[3];
  for (int i = 0; i < 3; i++) {
    char p[512];
    snprintf(p, sizeof(p), "%s/gc.%d", dir, i + 1);
    gc[i] = (pid_t)tu_wait_number_file(p, 1000);
    cr_assert(gc[i] > 0 && tu_alive(gc[i]));
  }
  tend_sched_cancel(c.s, SIGTERM, 2000);
  cr_assert(lu_run_until(&loop, &c.joined, 10000));
  for (int i = 0; i < 3; i++) {
    tend_task_t *t = &c.tasks[i].t;
    cr_assert_eq(t->outcome, TEND_TASK_EXITED);
    cr_assert(t->cancelled);
    cr_assert_eq(t->term_signal, SIGTERM);
    cr_assert(tu_wait_gone(gc[i], 2000), "grandchild %d survived the cancel", (int)gc[i]);
  }
  for (int i = 3; i < 8; i++)
    cr_assert_eq(c.tasks[i].t.outcome, TEND_TASK_SKIPPED);
  cr_assert_eq(c.skipped, 5);
  finish(&c, 1000);
}

Test(sched, cancel_does_not_wait_for_a_pipe_held_outside_the_group) {
  /* The grandchild leaves the group (setsid) with our stdout: after the
   * cancel, the task is done once its leader is gone. */
  ctx_t c = {0};
  c.ntasks = 1;
  char script[512];
  snprintf(script, sizeof(script),
           "echo hi; setsid sleep 300 & echo $! > %s/gc.1.tmp; mv %s/gc.1.tmp %s/gc.1; wait", dir,
           dir, dir);
  c.tasks = make_tasks(1, script);
  tend_sched_opts_t o = opts(&c, 1);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  uv_timer_t poll;
  uv_timer_init(&loop, &poll);
  files_ready = false;
  poll.data = (void *)1; /* one file */
  uv_timer_start(&poll, check_files_cb, 10, 10); /* another process writes it */
  cr_assert(lu_run_until(&loop, &files_ready, 10000), "the task did not start");
  uv_close((uv_handle_t *)&poll, NULL);
  char p[512];
  snprintf(p, sizeof(p), "%s/gc.1", dir);
  pid_t gc = (pid_t)tu_wait_number_file(p, 0);
  tend_sched_cancel(c.s, SIGTERM, 500);
  bool joined = lu_run_until(&loop, &c.joined, 5000);
  kill(gc, SIGKILL);
  cr_assert(joined, "the cancel waited for a pipe held outside the group");
  char out[16];
  cr_assert_eq(tend_task_output_read(&c.tasks[0].t, 0, 0, out, sizeof(out)), 3);
  cr_assert(memcmp(out, "hi\n", 3) == 0);
  finish(&c, 1000);
}

/* A file of n pseudo-random bytes; returns its contents. */
static char *random_file(const char *path, size_t n) {
  char *data = malloc(n);
  cr_assert(data != NULL);
  uint64_t x = 0x9E3779B97F4A7C15u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    data[i] = (char)(x >> 24);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert(fd >= 0);
  for (size_t off = 0; off < n;) {
    ssize_t k = write(fd, data + off, n - off);
    cr_assert(k > 0);
    off += (size_t)k;
  }
  close(fd);
  return data;
}

static void assert_output(tend_task_t *t, int stream, const char *want, size_t n) {
  cr_assert_eq(t->cap[stream].bytes, n);
  cr_assert_eq(t->cap[stream].kept, n);
  cr_assert_eq(t->cap[stream].error, 0);
  /* Read back in odd-sized pieces, across the memory/file boundary. */
  char *got = malloc(n + 1);
  size_t off = 0;
  for (;;) {
    ssize_t k = tend_task_output_read(t, stream, off, got + off, n + 1 - off < 77777 ? n + 1 - off : 77777);
    cr_assert(k >= 0);
    if (k == 0)
      break;
    off += (size_t)k;
  }
  cr_assert_eq(off, n);
  cr_assert(memcmp(got, want, n) == 0, "bytes differ");
  free(got);
  /* And written out whole. */
  char path[512];
  snprintf(path, sizeof(path), "%s/written", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert_eq(tend_task_output_write(t, stream, fd), 0);
  close(fd);
  size_t len;
  char *back = tu_read_file(path, &len);
  cr_assert_eq(len, n);
  cr_assert(memcmp(back, want, n) == 0);
  free(back);
}

Test(sched, big_output_spills_to_a_file_byte_exact) {
  ctx_t c = {0};
  c.ntasks = 2;
  char path[512], script[1200];
  snprintf(path, sizeof(path), "%s/data", dir);
  size_t n = 5u << 20;
  char *data = random_file(path, n);
  snprintf(script, sizeof(script), "cat %s; cat %s >&2", path, path);
  c.tasks = make_tasks(2, script);
  tend_sched_opts_t o = opts(&c, 2);
  o.mem_limit = 64 * 1024;
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 30000));
  for (int i = 0; i < 2; i++) {
    tend_task_t *t = &c.tasks[i].t;
    cr_assert_eq(t->exit_status, 0);
    for (int s = 0; s < 2; s++) {
      cr_assert(t->cap[s].spilled);
      assert_output(t, s, data, n);
    }
  }
  /* No temporary file is left with a name. */
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "ls %s | grep -c tend-sched", dir);
  FILE *f = popen(cmd, "r");
  int leftovers = -1;
  cr_assert(fscanf(f, "%d", &leftovers) == 1);
  pclose(f);
  cr_assert_eq(leftovers, 0);
  free(data);
  finish(&c, 1000);
}

Test(sched, memory_budget_spills_the_rest) {
  ctx_t c = {0};
  c.ntasks = 6;
  char path[512], script[1200];
  snprintf(path, sizeof(path), "%s/data", dir);
  size_t n = 200 * 1000;
  char *data = random_file(path, n);
  snprintf(script, sizeof(script), "cat %s", path);
  c.tasks = make_tasks(c.ntasks, script);
  tend_sched_opts_t o = opts(&c, 2);
  o.mem_budget = 512 * 1024; /* 1 MiB per stream, but half a MiB in all */
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 30000));
  int spilled = 0;
  for (int i = 0; i < c.ntasks; i++) {
    assert_output(&c.tasks[i].t, 0, data, n);
    spilled += c.tasks[i].t.cap[0].spilled;
  }
  cr_assert(spilled >= 3, "only %d of 6 spilled under a 512 KiB budget", spilled);
  free(data);
  finish(&c, 1000);
}

Test(sched, merged_and_discarded_streams) {
  ctx_t c = {0};
  c.ntasks = 2;
  c.tasks = make_tasks(2, "echo a; echo b >&2; echo c");
  c.tasks[0].t.out[1] = TEND_OUT_MERGE;
  c.tasks[1].t.out[0] = TEND_OUT_NULL;
  tend_sched_opts_t o = opts(&c, 2);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 10000));
  char buf[64];
  cr_assert_eq(tend_task_output_read(&c.tasks[0].t, 0, 0, buf, sizeof(buf)), 6);
  cr_assert(memcmp(buf, "a\nb\nc\n", 6) == 0);
  cr_assert_eq(c.tasks[0].t.cap[1].bytes, 0);
  cr_assert_eq(c.tasks[1].t.cap[0].bytes, 0);
  cr_assert_eq(tend_task_output_read(&c.tasks[1].t, 1, 0, buf, sizeof(buf)), 2);
  finish(&c, 1000);
}

Test(sched, two_thousand_tiny_tasks) {
  ctx_t c = {0};
  c.lazy = true;
  c.ntasks = 2000;
  c.tasks = calloc((size_t)c.ntasks, sizeof(*c.tasks));
  for (int i = 0; i < c.ntasks; i++) {
    c.tasks[i].argv[0] = i % 2 ? "/bin/true" : "/bin/echo";
    c.tasks[i].t.argv = c.tasks[i].argv;
  }
  tend_sched_opts_t o = opts(&c, 4);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  feed_cb(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 100000));
  tend_sched_stats_t st;
  tend_sched_stats(c.s, &st);
  cr_assert_eq(st.done, 2000);
  cr_assert_eq(st.succeeded, 2000);
  cr_assert(c.max_running <= 4);
  for (int i = 0; i < c.ntasks; i++)
    cr_assert_eq(c.tasks[i].t.cap[0].bytes, (uint64_t)(i % 2 ? 0 : 1));
  finish(&c, 1000);
}

Test(sched, no_temporary_file_keeps_output_in_memory) {
  /* The tmpdir does not exist: rather than lose what is past the memory
   * limit, the pool keeps it in memory. */
  ctx_t c = {0};
  c.ntasks = 1;
  char path[512], script[1200];
  snprintf(path, sizeof(path), "%s/data", dir);
  size_t n = 300 * 1000;
  char *data = random_file(path, n);
  snprintf(script, sizeof(script), "cat %s", path);
  c.tasks = make_tasks(1, script);
  tend_sched_opts_t o = opts(&c, 1);
  o.mem_limit = 4096;
  o.tmpdir = "/nonexistent/tend-no-such-dir";
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 10000));
  cr_assert(!c.tasks[0].t.cap[0].spilled);
  assert_output(&c.tasks[0].t, 0, data, n);
  free(data);
  finish(&c, 1000);
}

static char streamed[2][256];
static size_t nstreamed[2];

static void output_cb(tend_sched_t *s, tend_task_t *t, int stream, const char *data, size_t n) {
  (void)s;
  cr_assert_eq(t->state, TEND_TASK_RUNNING);
  cr_assert(nstreamed[stream] + n < sizeof(streamed[0]));
  memcpy(streamed[stream] + nstreamed[stream], data, n);
  nstreamed[stream] += n;
}

Test(sched, streamed_output_goes_to_the_callback) {
  ctx_t c = {0};
  c.ntasks = 1;
  c.tasks = make_tasks(1, "echo one; echo two >&2; echo three");
  c.tasks[0].t.out[0] = c.tasks[0].t.out[1] = TEND_OUT_STREAM;
  tend_sched_opts_t o = opts(&c, 1);
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  cr_assert_eq(tend_sched_submit(c.s, &c.tasks[0].t), -EINVAL, "STREAM needs output_cb");
  tend_sched_free(c.s);
  o.output_cb = output_cb;
  memset(nstreamed, 0, sizeof(nstreamed));
  cr_assert_eq(tend_sched_new(&loop, &o, &c.s), 0);
  submit_all(&c);
  tend_sched_close(c.s);
  cr_assert(lu_run_until(&loop, &c.joined, 10000));
  cr_assert_eq(nstreamed[0], 10);
  cr_assert(memcmp(streamed[0], "one\nthree\n", 10) == 0);
  cr_assert_eq(nstreamed[1], 4);
  cr_assert_eq(c.tasks[0].t.cap[0].bytes, 10);
  char buf[16];
  cr_assert_eq(tend_task_output_read(&c.tasks[0].t, 0, 0, buf, sizeof(buf)), 0, "nothing kept");
  finish(&c, 1000);
}
