/* SPDX-License-Identifier: MIT */
/*
 * tend as a container's init (issue #17), end to end on the real binary:
 * child logs on the daemon's own stdout with docker compose's name
 * prefix, and `tend daemon` as PID 1 of a new PID namespace (`unshare
 * --pid --fork --mount-proc`, root only: skipped, saying so, where it is
 * refused),
 * where orphans are reaped and SIGTERM stops everything in order.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tu_daemon_t d;
static char *dir;
static pid_t unshare_pid;

/* Strings of a test, freed after it (a failed assertion skips the rest). */
static char *strs[32];
static int nstrs;

static char *keep(char *s) {
  cr_assert(s != NULL && nstrs < 32);
  return strs[nstrs++] = s;
}

static void cleanup(void) {
  while (nstrs > 0)
    free(strs[--nstrs]);
  if (d.dir != NULL)
    tu_daemon_stop(&d);
  if (unshare_pid > 0) {
    /* its child, tend, dies with it: PID 1 of the namespace takes every
     * process of it along */
    kill(-unshare_pid, SIGKILL);
    waitpid(unshare_pid, NULL, 0);
  }
  if (dir != NULL)
    tu_rmdir(dir);
}

TestSuite(container, .timeout = 60, .fini = cleanup);

/* Two programs on the daemon's stdout, one on its stderr: every line
 * whole, with the name padded as docker compose pads its services. */
Test(container, logs_on_the_daemons_stdout_with_the_name) {
  tu_daemon_start(&d, "[tend]\nstdout_prefix = true\n"
                      "[program:web]\n"
                      "command = sh -c 'echo listening; echo oops >&2; exec sleep 300'\n"
                      "stdout_logfile = /dev/stdout\nstdout_logfile_maxbytes = 0\n"
                      "stderr_logfile = /dev/stderr\nstartsecs = 0\n"
                      "[program:worker]\n"
                      "command = sh -c 'echo ready; exec sleep 300'\n"
                      "stdout_logfile = /dev/fd/1\nstartsecs = 0\n");
  /* the daemon's stdout and stderr are its log file here */
  cr_assert(tu_wait_file_contains(d.log, "web    | listening\n", 10000));
  cr_assert(tu_wait_file_contains(d.log, "web    | oops\n", 10000));
  cr_assert(tu_wait_file_contains(d.log, "worker | ready\n", 10000));
  tu_daemon_stop_clean(&d);
}

/* unshare works here (root, no seccomp filter against it). */
static bool can_unshare(void) {
  char *argv[] = {"unshare", "--pid", "--fork", "--mount-proc", "true", NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 10000, &r);
  bool ok = r.exit_code == 0;
  tu_result_free(&r);
  return ok;
}

static bool zombie_children(pid_t parent) {
  pid_t kids[256];
  int n = tu_children_of(parent, kids, 256);
  for (int i = 0; i < n; i++) {
    char state;
    pid_t ppid, pgrp;
    if (tu_proc_stat(kids[i], &state, &ppid, &pgrp) && state == 'Z')
      return true;
  }
  return false;
}

Test(container, pid_1_reaps_orphans_and_stops_in_order) {
  if (!can_unshare())
    cr_skip("SKIPPED: unshare --pid --fork is refused here (it needs root): "
            "tend as PID 1 is not tested");
  dir = tu_tmpdir();
  char *conf = keep(tu_fmt("%s/tend.conf", dir)), *log = keep(tu_fmt("%s/out.log", dir));
  /* orphans: each subshell leaves a sleep to its parent, PID 1; db
   * (priority 1) starts first and stops last. */
  tu_write_file(conf, keep(tu_fmt("[tend]\nsocket = %s/tend.sock\nlogdir = %s/log\n"
                             "[program:orphans]\n"
                             "command = sh -c 'for i in 1 2 3 4; do (sleep 0.2 &); done; "
                             "echo ppid=$PPID; exec sleep 300'\n"
                             "startsecs = 0\npriority = 2\n"
                             "stdout_logfile = /dev/stdout\n"
                             "[program:db]\ncommand = sleep 300\nstartsecs = 0\npriority = 1\n",
                             dir, dir)));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  /* a /proc of the namespace's own, as a container runtime mounts one */
  char *argv[] = {"unshare", "--pid", "--fork", "--mount-proc", (char *)tu_tend(),
                  "daemon",  "-c",    conf,     NULL};
  unshare_pid = tu_spawn(argv, &fa);
  cr_assert(tu_wait_file_contains(log, "ppid=1\n", 20000),
            "the program's parent is not PID 1 (tend): %s", keep(tu_read_file(log, NULL)));
  cr_assert(tu_wait_file_contains(log, "orphan_reaped", 20000), "%s",
            keep(tu_read_file(log, NULL)));
  pid_t tend[2];
  cr_assert_eq(tu_children_of(unshare_pid, tend, 2), 1, "unshare runs tend alone");
  /* the four orphans exit after 0.2 s: all of them reaped, none left a zombie */
  tu_wait_file_count(log, "orphan_reaped", 4, 20000);
  cr_assert_geq(tu_file_count(log, "orphan_reaped"), 4, "%s", keep(tu_read_file(log, NULL)));
  cr_assert(!zombie_children(tend[0]), "a zombie is left under PID 1");
  cr_assert_eq(tu_file_count(log, "warn orphans"), 0, "its own /proc: orphans are seen");
  kill(tend[0], SIGTERM);
  int status;
  cr_assert(tu_wait_gone(unshare_pid, 20000), "SIGTERM did not stop PID 1");
  cr_assert_eq(waitpid(unshare_pid, &status, 0), unshare_pid);
  unshare_pid = 0;
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %d: %s", status,
            keep(tu_read_file(log, NULL)));
  char *text = keep(tu_read_file(log, NULL));
  char *orphans = strstr(text, "stop program=orphans"), *db = strstr(text, "stop program=db");
  cr_assert(orphans != NULL && db != NULL && orphans < db, "stop order:\n%s", text);
  cr_assert(strstr(text, "shutdown state=complete"), "%s", text);
}

/* The README's example for containers is valid as it is. */
Test(container, the_example_config_is_valid) {
  const char *examples = getenv("TEND_EXAMPLES");
  cr_assert_not_null(examples, "TEND_EXAMPLES is set by tests/meson.build");
  char *conf = keep(tu_fmt("%s/container.conf", examples));
  char *argv[] = {(char *)tu_tend(), "check", "-c", conf, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 20000, &r);
  bool ok = r.exit_code == 0 && strstr(r.out, "valid, 2 processes") != NULL;
  char *msg = keep(tu_fmt("exit %d: %s%s", r.exit_code, r.out, r.err));
  tu_result_free(&r);
  cr_assert(ok, "%s", msg);
}

/* A PID namespace that sees its parent's /proc hides the orphans from
 * PID 1: the daemon says so at start instead of piling up zombies. */
Test(container, pid_1_without_its_own_proc_says_so) {
  if (!can_unshare())
    cr_skip("SKIPPED: unshare --pid --fork is refused here (it needs root)");
  dir = tu_tmpdir();
  char *conf = keep(tu_fmt("%s/tend.conf", dir)), *log = keep(tu_fmt("%s/out.log", dir));
  tu_write_file(conf, keep(tu_fmt("[tend]\nsocket = %s/tend.sock\n", dir)));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = {"unshare", "--pid", "--fork", (char *)tu_tend(), "daemon", "-c", conf, NULL};
  unshare_pid = tu_spawn(argv, &fa);
  cr_assert(tu_wait_file_contains(log, "info start", 20000), "%s", keep(tu_read_file(log, NULL)));
  cr_assert(tu_file_count(log, "warn orphans") == 1 &&
                tu_file_count(log, "mount a /proc of this PID namespace") == 1,
            "%s", keep(tu_read_file(log, NULL)));
  pid_t tend[2];
  cr_assert_eq(tu_children_of(unshare_pid, tend, 2), 1);
  kill(tend[0], SIGTERM);
  cr_assert(tu_wait_gone(unshare_pid, 20000));
}
