/* SPDX-License-Identifier: MIT */
/* The process core: spawn, stdio kinds, exit reporting, signals, process
 * groups, kill-with-grace, descriptor hygiene, spawn errors. Real children
 * on a real loop; every wait is bounded by a loop deadline. */
#include "testutil.h"
#include "tend/proc.h"

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
static bool closed;
static int exits;

static void setup(void) {
  cr_assert(uv_loop_init(&loop) == 0);
  dir = tu_tmpdir();
  closed = false;
  exits = 0;
}

static void teardown(void) {
  /* Every handle must be closed: a leaked one makes this fail. */
  cr_expect(uv_loop_close(&loop) == 0, "handles left open on the loop");
  tu_rmdir(dir);
}

TestSuite(proc, .init = setup, .fini = teardown, .timeout = 30);

static void deadline_cb(uv_timer_t *t) {
  *(bool *)t->data = true;
  uv_stop(t->loop);
}

/* Run the loop until cond (polled after each turn) or deadline_ms. */
static bool run_until(bool *cond, int deadline_ms) {
  bool expired = false;
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = &expired;
  uv_timer_start(&t, deadline_cb, (uint64_t)deadline_ms, 0);
  while (!*cond && !expired)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return *cond;
}

static bool exited;
static void exit_cb(tend_proc_t *p) {
  (void)p;
  exited = true;
  exits++;
}

static void close_cb(tend_proc_t *p) {
  (void)p;
  closed = true;
}

static void finish(tend_proc_t *p) {
  tend_proc_close(p, close_cb);
  cr_assert(run_until(&closed, 5000), "close callback never came");
}

static int spawn(tend_proc_t *p, char **argv, const char *cwd) {
  tend_proc_options_t o = {.argv = argv, .cwd = cwd};
  exited = false;
  memset(p, 0, sizeof(*p));
  return tend_proc_spawn(&loop, p, &o, exit_cb);
}

static char *path_in(const char *name) {
  char *p;
  cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
  return p;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert(f != NULL, "open %s: %s", path, strerror(errno));
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

Test(proc, exit_code_and_runtime) {
  tend_proc_t p;
  char *argv[] = {"sh", "-c", "exit 7", NULL};
  cr_assert(spawn(&p, argv, NULL) == 0);
  cr_assert(p.pid > 0);
  cr_assert(p.state == TEND_PROC_RUNNING);
  cr_assert(run_until(&exited, 5000));
  cr_assert_eq(p.state, TEND_PROC_EXITED);
  cr_assert_eq(p.exit_status, 7);
  cr_assert_eq(p.term_signal, 0);
  cr_assert(tend_proc_runtime_ns(&p) > 0);
  cr_assert_eq(exits, 1);
  finish(&p);
}

Test(proc, terminating_signal) {
  tend_proc_t p;
  char *argv[] = {"sh", "-c", "kill -KILL $$", NULL};
  cr_assert(spawn(&p, argv, NULL) == 0);
  cr_assert(run_until(&exited, 5000));
  cr_assert_eq(p.term_signal, SIGKILL);
  finish(&p);
}

Test(proc, own_process_group_and_session) {
  tend_proc_t p;
  char *argv[] = {"sleep", "30", NULL};
  cr_assert(spawn(&p, argv, NULL) == 0);
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", p.pid);
  FILE *f = fopen(path, "r");
  cr_assert(f != NULL);
  int pid, ppid, pgrp, sid;
  char state;
  cr_assert(fscanf(f, "%d (%*[^)]) %c %d %d %d", &pid, &state, &ppid, &pgrp, &sid) == 5);
  fclose(f);
  cr_assert_eq(pgrp, p.pid);
  cr_assert_eq(sid, p.pid);
  cr_assert_eq(ppid, getpid());
  cr_assert(tend_proc_signal(&p, SIGTERM, false) == 0);
  cr_assert(run_until(&exited, 5000));
  cr_assert_eq(p.term_signal, SIGTERM);
  cr_assert_eq(tend_proc_signal(&p, SIGTERM, false), -ESRCH);
  finish(&p);
}

Test(proc, child_sees_only_stdio_descriptors) {
  /* Descriptors opened without O_CLOEXEC, as a careless library would. */
  int leak1 = open("/dev/null", O_RDONLY);
  int leak2[2];
  cr_assert(leak1 >= 0 && pipe(leak2) == 0);
  char *out = path_in("fds");
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  char *argv[] = {getenv("TEND_FDLIST"), NULL};
  cr_assert(argv[0] != NULL);
  tend_proc_options_t o = {.argv = argv};
  o.stdio[1] = (tend_stdio_t){.kind = TEND_STDIO_FILE, .path = out,
                              .flags = O_WRONLY | O_CREAT | O_TRUNC};
  o.stdio[2] = (tend_stdio_t){.kind = TEND_STDIO_PIPE};
  exited = false;
  cr_assert(tend_proc_spawn(&loop, &p, &o, exit_cb) == 0);
  cr_assert(run_until(&exited, 5000));
  cr_assert_eq(p.exit_status, 0);
  cr_assert_str_eq(slurp(out), "0\n1\n2\n");
  close(leak1);
  close(leak2[0]);
  close(leak2[1]);
  free(out);
  finish(&p);
}

Test(proc, stdio_kinds) {
  /* stdin /dev/null, stdout a file, stderr a descriptor of ours. */
  char *out = path_in("out"), *err = path_in("err");
  int errfd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert(errfd >= 0);
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  char *argv[] = {"sh", "-c", "cat; echo to-out; echo to-err >&2", NULL};
  tend_proc_options_t o = {.argv = argv};
  o.stdio[0] = (tend_stdio_t){.kind = TEND_STDIO_NULL};
  o.stdio[1] = (tend_stdio_t){.kind = TEND_STDIO_FILE, .path = out,
                              .flags = O_WRONLY | O_CREAT | O_TRUNC};
  o.stdio[2] = (tend_stdio_t){.kind = TEND_STDIO_FD, .fd = errfd};
  exited = false;
  cr_assert(tend_proc_spawn(&loop, &p, &o, exit_cb) == 0);
  cr_assert(run_until(&exited, 5000));
  cr_assert_eq(p.exit_status, 0);
  cr_assert_str_eq(slurp(out), "to-out\n");
  cr_assert_str_eq(slurp(err), "to-err\n");
  close(errfd);
  free(out);
  free(err);
  finish(&p);
}

static void pipe_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  char *got = s->loop->data;
  if (n > 0)
    strncat(got, b->base, (size_t)n);
  free(b->base);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  b->base = calloc(1, hint + 1);
  b->len = hint;
}

Test(proc, pipes_both_ways_with_env_and_cwd) {
  static char got[256];
  got[0] = '\0';
  loop.data = got;
  char *env[] = {"GREETING=hi", "PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"sh", "-c", "read x; echo \"$GREETING $x $(pwd)\"", NULL};
  tend_proc_options_t o = {.argv = argv, .env = env, .cwd = dir};
  o.stdio[0].kind = TEND_STDIO_PIPE;
  o.stdio[1].kind = TEND_STDIO_PIPE;
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  exited = false;
  cr_assert(tend_proc_spawn(&loop, &p, &o, exit_cb) == 0);
  cr_assert(p.has_pipe[0] && p.has_pipe[1] && !p.has_pipe[2]);
  /* Our pipe ends are real pipes grown to 1 MiB. */
  int fd;
  cr_assert(uv_fileno((uv_handle_t *)&p.pipes[1], &fd) == 0);
  cr_assert_geq(fcntl(fd, F_GETPIPE_SZ), 1 << 20);
  uv_read_start((uv_stream_t *)&p.pipes[1], alloc_cb, pipe_read_cb);
  uv_buf_t b = uv_buf_init("there\n", 6);
  cr_assert(uv_try_write((uv_stream_t *)&p.pipes[0], &b, 1) == 6);
  tend_proc_close_pipe(&p, 0);
  cr_assert(run_until(&exited, 5000));
  /* The output may trail the exit by a loop turn. */
  char want[512];
  snprintf(want, sizeof(want), "hi there %s\n", dir);
  for (int i = 0; i < 100 && strcmp(got, want) != 0; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  cr_assert_str_eq(got, want);
  finish(&p);
}

Test(proc, group_signal_reaches_grandchildren) {
  char *pidfile = path_in("gc.pid");
  char *cmd;
  cr_assert(asprintf(&cmd, "sleep 300 & echo $! > %s; wait", pidfile) > 0);
  char *argv[] = {"sh", "-c", cmd, NULL};
  tend_proc_t p;
  cr_assert(spawn(&p, argv, NULL) == 0);
  long gc = tu_wait_number_file(pidfile, 5000);
  cr_assert(gc > 0, "grandchild pid never written");
  cr_assert(tu_alive((pid_t)gc));
  cr_assert(tend_proc_signal(&p, SIGTERM, true) == 0);
  cr_assert(run_until(&exited, 5000));
  bool gone = tu_wait_gone((pid_t)gc, 5000);
  if (!gone)
    kill((pid_t)gc, SIGKILL);
  cr_assert(gone, "grandchild survived a signal to the group");
  free(cmd);
  free(pidfile);
  finish(&p);
}

Test(proc, stop_escalates_to_sigkill_after_grace) {
  /* An ignored signal stays ignored across exec: sleep ignores TERM too. */
  char *argv[] = {"sh", "-c", "trap '' TERM; sleep 300", NULL};
  tend_proc_t p;
  cr_assert(spawn(&p, argv, NULL) == 0);
  /* Let sh install the trap before the signal: wait for sleep to appear
   * as its child... simplest event: the group has two members. */
  int64_t t0 = tu_now_ms();
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/task/%d/children", p.pid, p.pid);
  for (;;) {
    FILE *f = fopen(path, "r");
    int c = -1;
    if (f != NULL) {
      if (fscanf(f, "%d", &c) != 1)
        c = -1;
      fclose(f);
    }
    if (c > 0)
      break;
    cr_assert(tu_now_ms() - t0 < 5000, "sleep never started");
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  int64_t start = tu_now_ms();
  cr_assert(tend_proc_stop(&p, SIGTERM, 300, 0) == 0);
  cr_assert(run_until(&exited, 5000));
  int64_t took = tu_now_ms() - start;
  cr_assert_eq(p.term_signal, SIGKILL);
  cr_assert(p.killed);
  cr_assert_geq(took, 290, "killed after %lld ms, before the grace ended", (long long)took);
  finish(&p);
}

Test(proc, stop_without_escalation) {
  char *argv[] = {"sleep", "300", NULL};
  tend_proc_t p;
  cr_assert(spawn(&p, argv, NULL) == 0);
  cr_assert(tend_proc_stop(&p, SIGTERM, 5000, 0) == 0);
  cr_assert(run_until(&exited, 3000), "SIGTERM did not stop sleep");
  cr_assert_eq(p.term_signal, SIGTERM);
  cr_assert(!p.killed);
  finish(&p); /* closing with the grace timer still armed is fine */
}

Test(proc, close_kills_what_the_stop_left_behind) {
  /* The leader exits on TERM, its grandchild ignores it: closing after a
   * stop leaves nothing running unsupervised. */
  char *pidfile = path_in("gc.pid");
  char *cmd;
  /* The grandchild writes its pid only once its trap is set. */
  cr_assert(asprintf(&cmd, "sh -c \"trap '' TERM; echo \\$\\$ > %s; exec sleep 300\" & wait",
                     pidfile) > 0);
  char *argv[] = {"sh", "-c", cmd, NULL};
  tend_proc_t p;
  cr_assert(spawn(&p, argv, NULL) == 0);
  long gc = tu_wait_number_file(pidfile, 5000);
  cr_assert(gc > 0);
  cr_assert(tend_proc_stop(&p, SIGTERM, 30000, 0) == 0);
  cr_assert(run_until(&exited, 5000));
  cr_assert(tu_alive((pid_t)gc), "the grandchild should have ignored SIGTERM");
  finish(&p);
  bool gone = tu_wait_gone((pid_t)gc, 5000);
  if (!gone)
    kill((pid_t)gc, SIGKILL);
  cr_assert(gone, "grandchild left running after close");
  free(cmd);
  free(pidfile);
}

Test(proc, error_not_found) {
  tend_proc_t p;
  char *argv[] = {"tend-no-such-command", NULL};
  int r = spawn(&p, argv, NULL);
  cr_assert_eq(r, UV_ENOENT);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_EXEC);
  cr_assert_eq(p.state, TEND_PROC_IDLE);
  finish(&p);
  cr_assert_eq(exits, 0, "exit_cb called for a child that never ran");
}

Test(proc, error_not_executable) {
  char *file = path_in("script");
  FILE *f = fopen(file, "w");
  cr_assert(f != NULL);
  fputs("#!/bin/sh\necho hi\n", f);
  fclose(f);
  chmod(file, 0644);
  tend_proc_t p;
  char *argv[] = {file, NULL};
  cr_assert_eq(spawn(&p, argv, NULL), UV_EACCES);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_EXEC);
  finish(&p);
  free(file);
}

Test(proc, error_bad_cwd) {
  tend_proc_t p;
  char *argv[] = {"true", NULL};
  char *missing = path_in("missing");
  cr_assert_eq(spawn(&p, argv, missing), UV_ENOENT);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_CWD);
  finish(&p);
  char *file = path_in("afile");
  close(open(file, O_CREAT | O_WRONLY, 0644));
  cr_assert_eq(spawn(&p, argv, file), UV_ENOTDIR);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_CWD);
  closed = false;
  finish(&p);
  free(missing);
  free(file);
}

Test(proc, error_stdio_file) {
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  char *argv[] = {"true", NULL};
  tend_proc_options_t o = {.argv = argv};
  o.stdio[1] = (tend_stdio_t){.kind = TEND_STDIO_FILE, .path = "/nonexistent/dir/out",
                              .flags = O_WRONLY | O_CREAT};
  cr_assert_eq(tend_proc_spawn(&loop, &p, &o, exit_cb), UV_ENOENT);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_STDIO);
  finish(&p);
}
