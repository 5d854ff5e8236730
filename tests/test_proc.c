/* SPDX-License-Identifier: MIT */
/* The process core: spawn, stdio kinds (also from descriptors 0-2 of ours),
 * exit reporting and reaping, signals, process groups, kill-with-grace,
 * descriptor hygiene, spawn errors, the execvp-style search in the child's
 * PATH, umask, running as another user (the fork path), many spawns in a
 * row. Real children on a real loop; every wait is bounded by a loop
 * deadline. */
#include "looputil.h"
#include "testutil.h"
#include "tend/proc.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
  cr_assert(lu_run_until(&loop, &closed, 5000), "close callback never came");
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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
  cr_assert(lu_run_until(&loop, &exited, 3000), "SIGTERM did not stop sleep");
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
  cr_assert(lu_run_until(&loop, &exited, 5000));
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

/* ---- spawning without uv_spawn: PATH search, low descriptors, reaping -- */

static void write_script(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL, "create %s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
  cr_assert(chmod(path, mode) == 0);
}

/* Output of a child's pipe, up to its EOF (the loop's data points here). */
struct capture {
  char buf[1024];
  size_t len;
  bool eof;
};

static void cap_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  struct capture *c = h->loop->data;
  (void)hint;
  *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

static void cap_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct capture *c = s->loop->data;
  (void)b;
  if (n > 0) {
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
  } else if (n < 0) {
    c->eof = true;
    uv_read_stop(s);
  }
}

/* The exit, then the EOF on the output (which may trail it). */
static bool exited_and_eof(struct capture *c, int deadline_ms) {
  return lu_run_until(&loop, &exited, deadline_ms) && lu_run_until(&loop, &c->eof, deadline_ms);
}

Test(proc, command_found_through_the_child_env_path) {
  /* The command exists only in a directory named by the PATH of the env
   * given to the child, not in ours: the search uses the child's PATH. */
  char *bin = path_in("bin");
  cr_assert(mkdir(bin, 0755) == 0);
  char *script;
  cr_assert(asprintf(&script, "%s/tend-path-probe", bin) > 0);
  write_script(script, "#!/bin/sh\necho \"found $1\"\n", 0755);
  char *pathvar;
  cr_assert(asprintf(&pathvar, "PATH=%s:/usr/bin:/bin", bin) > 0);
  char *env[] = {"X=1", pathvar, NULL};
  char *argv[] = {"tend-path-probe", "it", NULL};
  char *out = path_in("out");
  tend_proc_options_t o = {.argv = argv, .env = env};
  o.stdio[1] = (tend_stdio_t){.kind = TEND_STDIO_FILE, .path = out,
                              .flags = O_WRONLY | O_CREAT | O_TRUNC};
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  exited = false;
  cr_assert_eq(tend_proc_spawn(&loop, &p, &o, exit_cb), 0);
  cr_assert(lu_run_until(&loop, &exited, 5000));
  cr_assert_eq(p.exit_status, 0);
  cr_assert_str_eq(slurp(out), "found it\n");
  finish(&p);

  /* Our own PATH does not have it: without env it is not found. */
  closed = false;
  cr_assert_eq(spawn(&p, argv, NULL), UV_ENOENT);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_EXEC);
  finish(&p);

  /* An env without PATH searches the default /usr/local/bin:/usr/bin:/bin. */
  char *bare_env[] = {"X=1", NULL};
  char *sh_argv[] = {"sh", "-c", "exit 4", NULL};
  tend_proc_options_t o2 = {.argv = sh_argv, .env = bare_env};
  memset(&p, 0, sizeof(p));
  closed = false;
  exited = false;
  cr_assert_eq(tend_proc_spawn(&loop, &p, &o2, exit_cb), 0);
  cr_assert(lu_run_until(&loop, &exited, 5000));
  cr_assert_eq(p.exit_status, 4);
  finish(&p);
  free(out);
  free(pathvar);
  free(script);
  free(bin);
}

Test(proc, path_search_follows_execvp) {
  /* a/tool is not executable, b/tool is: the search goes past a to b. With
   * only a, the error is EACCES (found, not executable), not ENOENT. A file
   * without #! is run by /bin/sh. */
  char *a = path_in("a"), *b = path_in("b");
  cr_assert(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0);
  char *ta, *tb, *nosh;
  cr_assert(asprintf(&ta, "%s/tool", a) > 0 && asprintf(&tb, "%s/tool", b) > 0);
  cr_assert(asprintf(&nosh, "%s/plain", b) > 0);
  write_script(ta, "#!/bin/sh\nexit 1\n", 0644);
  write_script(tb, "#!/bin/sh\nexit 5\n", 0755);
  write_script(nosh, "exit 6\n", 0755);
  char *both, *only_a;
  cr_assert(asprintf(&both, "PATH=%s:%s", a, b) > 0);
  cr_assert(asprintf(&only_a, "PATH=/nonexistent:%s", a) > 0);
  char *env_both[] = {both, NULL}, *env_a[] = {only_a, NULL};
  char *tool[] = {"tool", NULL}, *plain[] = {"plain", NULL};
  tend_proc_t p;

  struct {
    char **argv, **env;
    int want_r, want_status;
  } cases[] = {
      {tool, env_both, 0, 5},
      {tool, env_a, UV_EACCES, 0},
      {plain, env_both, 0, 6},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tend_proc_options_t o = {.argv = cases[i].argv, .env = cases[i].env};
    memset(&p, 0, sizeof(p));
    exited = false;
    closed = false;
    int r = tend_proc_spawn(&loop, &p, &o, exit_cb);
    cr_assert_eq(r, cases[i].want_r, "case %zu: %d", i, r);
    if (r == 0) {
      cr_assert(lu_run_until(&loop, &exited, 5000));
      cr_assert_eq(p.exit_status, cases[i].want_status, "case %zu", i);
    } else {
      cr_assert_eq(p.err_what, TEND_PROC_ERR_EXEC);
    }
    finish(&p);
  }
  free(both);
  free(only_a);
  free(ta);
  free(tb);
  free(nosh);
  free(a);
  free(b);
}

/* Save our descriptor i (it may be closed) and put it back later. */
static int save_fd(int i) { return fcntl(i, F_DUPFD_CLOEXEC, 10); }
static void restore_fd(int i, int saved) {
  if (saved >= 0) {
    dup2(saved, i);
    close(saved);
  } else {
    close(i);
  }
}

Test(proc, stdio_kinds_fd_from_low_descriptors) {
  /* Our stdin is closed, our stdout is file A, our stderr file B. The child
   * gets stdout = our fd 2 and stderr = our fd 1 (swapped: each source is
   * the other's target), and a stdin pipe whose child end lands on fd 0.
   * Done naively, one dup2 overwrites the other's source. */
  char *fa = path_in("a"), *fb = path_in("b");
  int saved[3];
  for (int i = 0; i < 3; i++)
    saved[i] = save_fd(i);
  int a = open(fa, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int b = open(fb, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert(a >= 0 && b >= 0);
  dup2(a, 1);
  dup2(b, 2);
  close(a);
  close(b);
  close(0);

  char *argv[] = {"sh", "-c", "read x; echo out-$x; echo err-$x >&2", NULL};
  tend_proc_options_t o = {.argv = argv};
  o.stdio[0] = (tend_stdio_t){.kind = TEND_STDIO_PIPE};
  o.stdio[1] = (tend_stdio_t){.kind = TEND_STDIO_FD, .fd = 2};
  o.stdio[2] = (tend_stdio_t){.kind = TEND_STDIO_FD, .fd = 1};
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  exited = false;
  int r = tend_proc_spawn(&loop, &p, &o, exit_cb);
  int ours = -1;
  uv_fileno((uv_handle_t *)&p.pipes[0], &ours);
  /* The child's end (fd 0) is closed again; ours is elsewhere. */
  for (int i = 0; i < 3; i++)
    restore_fd(i, saved[i]);
  cr_assert_eq(r, 0);
  cr_assert_gt(ours, 2);
  uv_buf_t in = uv_buf_init("v\n", 2);
  cr_assert_eq(uv_try_write((uv_stream_t *)&p.pipes[0], &in, 1), 2);
  tend_proc_close_pipe(&p, 0);
  cr_assert(lu_run_until(&loop, &exited, 5000));
  cr_assert_eq(p.exit_status, 0);
  cr_assert_str_eq(slurp(fa), "err-v\n");
  cr_assert_str_eq(slurp(fb), "out-v\n");
  finish(&p);
  free(fa);
  free(fb);
}

Test(proc, pipe_end_landing_on_another_slots_descriptor) {
  /* Our fds 0 and 1 are closed, so the stderr pipe is (0, 1): the child's
   * end is fd 1, which the child's stdout (a file) is dup2'ed onto first. */
  static struct capture cap;
  memset(&cap, 0, sizeof(cap));
  loop.data = &cap;
  char *out = path_in("out");
  int outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert(outfd > 2);
  int saved0 = save_fd(0), saved1 = save_fd(1);
  close(0);
  close(1);
  char *argv[] = {"sh", "-c", "echo out; echo err >&2", NULL};
  tend_proc_options_t o = {.argv = argv};
  o.stdio[0] = (tend_stdio_t){.kind = TEND_STDIO_NULL};
  o.stdio[1] = (tend_stdio_t){.kind = TEND_STDIO_FD, .fd = outfd};
  o.stdio[2] = (tend_stdio_t){.kind = TEND_STDIO_PIPE};
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  exited = false;
  int r = tend_proc_spawn(&loop, &p, &o, exit_cb);
  int ours = -1;
  uv_fileno((uv_handle_t *)&p.pipes[2], &ours);
  /* Fd 1 (the child's end) is free again; 0 is our end of the pipe until
   * it is closed. */
  restore_fd(1, saved1);
  cr_assert_eq(r, 0);
  cr_assert_eq(ours, 0, "the scenario needs our pipe end on fd 0");
  uv_read_start((uv_stream_t *)&p.pipes[2], cap_alloc_cb, cap_read_cb);
  bool ok = exited_and_eof(&cap, 5000);
  finish(&p);
  restore_fd(0, saved0);
  cr_assert(ok);
  cr_assert_eq(p.exit_status, 0);
  cr_assert_str_eq(cap.buf, "err\n");
  cr_assert_str_eq(slurp(out), "out\n");
  close(outfd);
  free(out);
}

Test(proc, reaped_no_zombie_left) {
  char *argv[] = {"true", NULL};
  tend_proc_t p;
  cr_assert(spawn(&p, argv, NULL) == 0);
  int pid = p.pid;
  cr_assert(p.pidfd >= 0);
  cr_assert(lu_run_until(&loop, &exited, 5000));
  cr_assert_eq(p.exit_status, 0);
  finish(&p);
  cr_assert_eq(p.pidfd, -1, "the pidfd is closed with the handle");
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d", pid);
  cr_assert(access(path, F_OK) != 0, "%s still exists: a zombie was left", path);
  cr_assert(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);
}

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  cr_assert(d != NULL);
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

static struct {
  int started, running, exited, closed, failed, spawn_errors;
  bool all_closed;
} many;
#define MANY 200

static void many_close_cb(tend_proc_t *p) {
  free(p);
  if (++many.closed == MANY)
    many.all_closed = true;
}

static void many_fill(void);

static void many_exit_cb(tend_proc_t *p) {
  many.running--;
  many.exited++;
  if (p->term_signal != 0 || p->exit_status != 0)
    many.failed++;
  tend_proc_close(p, many_close_cb);
  many_fill();
}

static void many_fill(void) {
  while (many.started < MANY && many.running < 2) {
    tend_proc_t *p = calloc(1, sizeof(*p));
    cr_assert(p != NULL);
    char *argv[] = {"true", NULL};
    tend_proc_options_t o = {.argv = argv};
    many.started++;
    if (tend_proc_spawn(&loop, p, &o, many_exit_cb) != 0) {
      many.spawn_errors++;
      many.closed++;
      tend_proc_close(p, many_close_cb);
      continue;
    }
    many.running++;
  }
}

Test(proc, two_hundred_spawns_two_in_flight) {
  memset(&many, 0, sizeof(many));
  int fds_before = count_fds();
  many_fill();
  cr_assert(lu_run_until(&loop, &many.all_closed, 60000), "%d of %d closed", many.closed, MANY);
  cr_assert_eq(many.spawn_errors, 0);
  cr_assert_eq(many.exited, MANY);
  cr_assert_eq(many.failed, 0);
  cr_assert_eq(count_fds(), fds_before, "descriptors leaked (pidfds, pipes)");
  /* teardown checks uv_loop_close == 0: no handle left */
}

Test(proc, umask_is_the_childs) {
  static struct capture cap;
  memset(&cap, 0, sizeof(cap));
  loop.data = &cap;
  mode_t ours = umask(022);
  char *argv[] = {"sh", "-c", "umask", NULL};
  tend_proc_options_t o = {.argv = argv, .set_umask = true, .umask = 077};
  o.stdio[1].kind = TEND_STDIO_PIPE;
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  exited = false;
  cr_assert_eq(tend_proc_spawn(&loop, &p, &o, exit_cb), 0);
  cr_assert_eq(umask(ours), 022, "our umask was changed");
  uv_read_start((uv_stream_t *)&p.pipes[1], cap_alloc_cb, cap_read_cb);
  cr_assert(exited_and_eof(&cap, 5000));
  cr_assert_str_eq(cap.buf, "0077\n");
  finish(&p);
}

Test(proc, run_as_another_user) {
  /* The fork path. As root: nobody, with nobody's groups (initgroups);
   * otherwise our own ids, which needs no privilege. */
  bool root = geteuid() == 0;
  unsigned uid = root ? 65534 : (unsigned)getuid();
  unsigned gid = root ? 65534 : (unsigned)getgid();
  static struct capture cap;
  memset(&cap, 0, sizeof(cap));
  loop.data = &cap;
  char *argv[] = {"sh", "-c", "id -u; id -g; pwd; umask; exit 3", NULL};
  /* Not our PATH: nobody may not search some of its directories, and then
   * a missing command is EACCES, as with execvp. */
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  tend_proc_options_t o = {.argv = argv, .env = env, .cwd = "/", .set_ids = true, .uid = uid,
                           .gid = gid, .user = root ? "nobody" : NULL,
                           .set_umask = true, .umask = 027};
  o.stdio[1].kind = TEND_STDIO_PIPE;
  o.stdio[2].kind = TEND_STDIO_STDOUT;
  tend_proc_t p;
  memset(&p, 0, sizeof(p));
  exited = false;
  cr_assert_eq(tend_proc_spawn(&loop, &p, &o, exit_cb), 0);
  uv_read_start((uv_stream_t *)&p.pipes[1], cap_alloc_cb, cap_read_cb);
  cr_assert(exited_and_eof(&cap, 5000));
  char want[128];
  snprintf(want, sizeof(want), "%u\n%u\n/\n0027\n", uid, gid);
  cr_assert_str_eq(cap.buf, want);
  cr_assert_eq(p.exit_status, 3);
  /* Its own session, reaped through the pidfd like any other child. */
  int pid = p.pid;
  finish(&p);
  cr_assert(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);

  /* Exec errors come back from the child, synchronously. */
  char *missing[] = {"tend-no-such-command", NULL};
  o.argv = missing;
  memset(&p, 0, sizeof(p));
  closed = false;
  cr_assert_eq(tend_proc_spawn(&loop, &p, &o, exit_cb), UV_ENOENT);
  cr_assert_eq(p.err_what, TEND_PROC_ERR_EXEC);
  finish(&p);
  cr_assert_eq(exits, 1);
}

static int cmp_gid(const void *a, const void *b) {
  gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
  return x < y ? -1 : x > y;
}

Test(proc, run_as_another_user_groups) {
  if (geteuid() != 0)
    cr_skip_test("needs root");
  static struct capture cap;
  memset(&cap, 0, sizeof(cap));
  loop.data = &cap;
  /* With a user: the groups initgroups gives; without: none but gid. */
  gid_t want[64];
  int n = 64;
  cr_assert(getgrouplist("nobody", 65534, want, &n) >= 0);
  qsort(want, (size_t)n, sizeof(gid_t), cmp_gid); /* the kernel lists them sorted */
  char *argv[] = {"sed", "-n", "s/^Groups:[[:space:]]*//p", "/proc/self/status", NULL};
  for (int with_user = 0; with_user < 2; with_user++) {
    memset(&cap, 0, sizeof(cap));
    tend_proc_options_t o = {.argv = argv, .cwd = "/", .set_ids = true, .uid = 65534,
                             .gid = 65534, .user = with_user ? "nobody" : NULL};
    o.stdio[1].kind = TEND_STDIO_PIPE;
    tend_proc_t p;
    memset(&p, 0, sizeof(p));
    exited = false;
    closed = false;
    cr_assert_eq(tend_proc_spawn(&loop, &p, &o, exit_cb), 0);
    uv_read_start((uv_stream_t *)&p.pipes[1], cap_alloc_cb, cap_read_cb);
    cr_assert(exited_and_eof(&cap, 5000));
    char expect[512] = "";
    if (with_user)
      for (int i = 0; i < n; i++)
        snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%u ",
                 (unsigned)want[i]);
    strcat(expect, "\n");
    cr_assert_str_eq(cap.buf, expect, "with_user=%d", with_user);
    finish(&p);
  }
}
