/* SPDX-License-Identifier: MIT */
/*
 * The daemon end to end: the real `tend daemon` in a temporary directory,
 * driven through its real socket by the real `tend` commands, with real
 * programs. Every daemon is stopped by pid at the end of its test; every
 * wait is on an event (inotify on the log, the daemon's own replies) with
 * a deadline.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static tu_daemon_t d;

/* A test that fails an assertion never reaches its own tu_daemon_stop. */
static void stop_left_daemon(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
}

TestSuite(daemon, .timeout = 120, .fini = stop_left_daemon);

/* The status entry of name, as JSON (caller decrefs), or NULL. */
static json_t *status_of(const char *name) { return tu_status_of(&d, name); }

static const char *state_of(const char *name) {
  static char buf[32];
  json_t *e = status_of(name);
  snprintf(buf, sizeof(buf), "%s", e ? json_string_value(json_object_get(e, "state")) : "?");
  json_decref(e);
  return buf;
}

static long pid_of(const char *name) {
  json_t *e = status_of(name);
  long pid = json_is_integer(json_object_get(e, "pid"))
                 ? (long)json_integer_value(json_object_get(e, "pid"))
                 : -1;
  json_decref(e);
  return pid;
}

static bool log_has(const char *needle, int ms) { return tu_wait_file_contains(d.log, needle, ms); }

static void assert_ok(tu_result_t *r, int code) {
  cr_assert_eq(r->exit_code, code, "exit %d (want %d)\nstdout: %s\nstderr: %s", r->exit_code,
               code, r->out, r->err);
}

Test(daemon, starts_programs_and_reports_status) {
  tu_daemon_start(&d, "[program:sleeper]\n"
                      "command = sleep 300\n"
                      "startsecs = 0.2\n"
                      "[program:manual]\n"
                      "command = sleep 300\n"
                      "autostart = false\n");
  cr_assert(log_has("program=sleeper from=STARTING to=RUNNING", 5000));
  cr_assert_str_eq(state_of("sleeper"), "RUNNING");
  cr_assert_str_eq(state_of("manual"), "STOPPED");
  long pid = pid_of("sleeper");
  cr_assert(pid > 0 && tu_alive((pid_t)pid));

  tu_result_t r;
  tu_ctl(&d, &r, "status", NULL);
  assert_ok(&r, 3); /* manual is not running */
  cr_assert(strstr(r.out, "sleeper") && strstr(r.out, "RUNNING"), "%s", r.out);
  tu_result_free(&r);

  tu_ctl(&d, &r, "status", "nosuch", NULL);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "no such process: nosuch"), "%s", r.err);
  tu_result_free(&r);

  cr_assert_eq(tu_daemon_stop(&d), 0, "clean shutdown exits 0");
  cr_assert(tu_wait_gone((pid_t)pid, 5000), "children stopped with the daemon");
}

Test(daemon, start_stop_restart_walk_the_states) {
  tu_daemon_start(&d, "[program:svc]\n"
                      "command = sleep 300\n"
                      "startsecs = 0.3\n"
                      "autostart = false\n");
  tu_result_t r;
  tu_ctl(&d, &r, "start", "svc", NULL);
  assert_ok(&r, 0);
  cr_assert_str_eq(r.out, "svc: started\n");
  tu_result_free(&r);
  /* start waits for RUNNING, as supervisorctl does */
  cr_assert_str_eq(state_of("svc"), "RUNNING");
  long pid1 = pid_of("svc");

  tu_ctl(&d, &r, "start", "svc", NULL);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "svc: ERROR (already started)"), "%s", r.err);
  tu_result_free(&r);

  tu_ctl(&d, &r, "restart", "svc", NULL);
  assert_ok(&r, 0);
  tu_result_free(&r);
  long pid2 = pid_of("svc");
  cr_assert(pid2 > 0 && pid2 != pid1, "restart gives a new process");
  cr_assert(tu_wait_gone((pid_t)pid1, 5000));

  tu_ctl(&d, &r, "stop", "svc", NULL);
  assert_ok(&r, 0);
  cr_assert_str_eq(r.out, "svc: stopped\n");
  tu_result_free(&r);
  cr_assert_str_eq(state_of("svc"), "STOPPED");
  cr_assert(tu_wait_gone((pid_t)pid2, 5000));

  tu_ctl(&d, &r, "stop", "svc", NULL);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "not running"), "%s", r.err);
  tu_result_free(&r);

  /* Each transition is one line in the log. */
  const char *want[] = {
      "program=svc from=STOPPED to=STARTING", "program=svc from=STARTING to=RUNNING",
      "program=svc from=RUNNING to=STOPPING", "program=svc from=STOPPING to=STOPPED",
  };
  for (int i = 0; i < 4; i++)
    cr_assert(tu_file_count(d.log, want[i]) >= 1, "log lacks '%s'", want[i]);
  tu_daemon_stop(&d);
}

Test(daemon, failed_starts_back_off_then_fatal) {
  tu_daemon_start(&d, "[program:broken]\n"
                      "command = sh -c 'exit 7'\n"
                      "startsecs = 1\n"
                      "startretries = 2\n");
  cr_assert(log_has("program=broken from=BACKOFF to=FATAL", 15000), "never FATAL");
  cr_assert_str_eq(state_of("broken"), "FATAL");
  /* 3 attempts: two backoffs, then fatal; each exit logged with its code. */
  cr_assert_eq(tu_file_count(d.log, "exit program=broken"), 3);
  cr_assert_eq(tu_file_count(d.log, "exit_code=7"), 3);
  cr_assert(tu_file_count(d.log, "action=\"backoff, restart in 1s\"") == 1);
  cr_assert(tu_file_count(d.log, "action=\"backoff, restart in 2s\"") == 1);
  cr_assert(tu_file_count(d.log, "action=fatal") == 1);
  tu_result_t r;
  tu_ctl(&d, &r, "wait", "broken", NULL);
  assert_ok(&r, 7);
  cr_assert_str_eq(r.out, "broken: exit code 7\n");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(daemon, spawn_error_is_a_failed_start) {
  tu_daemon_start(&d, "[program:ghost]\n"
                      "command = /nonexistent/ghost\n"
                      "startretries = 0\n");
  cr_assert(log_has("to=FATAL", 5000));
  cr_assert(tu_file_count(d.log, "spawn_error program=ghost command=/nonexistent/ghost "
                                 "error=\"No such file or directory\"") == 1,
            "%s", tu_read_file(d.log, NULL));
  tu_daemon_stop(&d);
}

Test(daemon, expected_and_unexpected_exits) {
  tu_daemon_start(&d, "[program:clean]\n"
                      "command = sh -c 'sleep 0.3; exit 3'\n"
                      "startsecs = 0.1\n"
                      "exitcodes = 0,3\n"
                      "[program:crashy]\n"
                      "command = sh -c 'sleep 0.3; exit 4'\n"
                      "startsecs = 0.1\n"
                      "exitcodes = 0,3\n");
  cr_assert(log_has("exit program=clean", 5000));
  cr_assert(log_has("program=crashy pid=", 5000));
  /* crashy is restarted (unexpected), clean is not (expected) */
  cr_assert(tu_wait_file_contains(d.log, "exit_code=4 signal=null expected=false", 5000));
  cr_assert(tu_file_count(d.log, "exit_code=3 signal=null expected=true") == 1);
  char *log = tu_read_file(d.log, NULL);
  cr_assert(strstr(log, "expected=true") && strstr(log, "state=RUNNING action=none"), "%s", log);
  free(log);
  /* a 0.3 s run is a quick failure: the restart backs off */
  cr_assert(tu_wait_file_contains(d.log, "state=RUNNING action=\"backoff, restart in 1s\"", 5000));
  cr_assert_str_eq(state_of("clean"), "EXITED");
  cr_assert(tu_wait_file_contains(d.log, "program=crashy from=BACKOFF to=STARTING", 5000));
  json_t *e = status_of("crashy");
  cr_assert_geq(json_integer_value(json_object_get(e, "restarts")), 1);
  json_decref(e);
  tu_daemon_stop(&d);
}

Test(daemon, stop_escalates_to_sigkill_and_kills_the_group) {
  tu_daemon_start(&d, "");
  char *pidfile, *conf;
  cr_assert(asprintf(&pidfile, "%s/gc.pid", d.dir) > 0);
  cr_assert(asprintf(&conf,
                     "[tend]\nsocket = %s\nlogdir = %s/log\n"
                     "[program:stubborn]\n"
                     "command = sh -c 'trap \"\" TERM; sh -c \"echo \\$\\$ > %s; exec sleep "
                     "300\" & wait'\n"
                     "startsecs = 0\n"
                     "stopwaitsecs = 0.5\n",
                     d.sock, d.dir, pidfile) > 0);
  tu_write_file(d.conf, conf);
  tu_result_t r;
  tu_ctl(&d, &r, "reload", NULL);
  assert_ok(&r, 0);
  cr_assert_str_eq(r.out, "added: stubborn\n");
  tu_result_free(&r);
  long gc = tu_wait_number_file(pidfile, 5000);
  cr_assert(gc > 0);
  long pid = pid_of("stubborn");
  tu_ctl(&d, &r, "stop", "stubborn", NULL);
  assert_ok(&r, 0);
  tu_result_free(&r);
  cr_assert(tu_file_count(d.log, "action=\"stopped (SIGKILL after stopwaitsecs)\"") == 1,
            "%s", tu_read_file(d.log, NULL));
  cr_assert(tu_file_count(d.log, "signal=SIGKILL") >= 1);
  bool gone = tu_wait_gone((pid_t)gc, 5000);
  if (!gone)
    kill((pid_t)gc, SIGKILL);
  cr_assert(gone, "the grandchild survived the stop");
  cr_assert(tu_wait_gone((pid_t)pid, 5000));
  free(pidfile);
  free(conf);
  tu_daemon_stop(&d);
}

Test(daemon, send_pipes_into_stdin_and_logs_read_back) {
  tu_daemon_start(&d, "[program:upper]\n"
                      "command = sed -u 's/.*/\\U&/'\n"
                      "startsecs = 0\n"
                      "[program:deaf]\n"
                      "command = sleep 300\n"
                      "stdin = null\n"
                      "startsecs = 0\n");
  cr_assert(log_has("program=upper from=STARTING to=RUNNING", 5000));
  tu_result_t r;
  tu_ctl(&d, &r, "send", "upper", "hello there", NULL);
  assert_ok(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "send", "upper", "second line", NULL);
  assert_ok(&r, 0);
  tu_result_free(&r);
  char *out;
  cr_assert(asprintf(&out, "%s/log/upper.out", d.dir) > 0);
  cr_assert(tu_wait_file_contains(out, "SECOND LINE\n", 5000), "%s", tu_read_file(out, NULL));
  tu_ctl(&d, &r, "logs", "-n", "2", "upper", NULL);
  assert_ok(&r, 0);
  cr_assert_str_eq(r.out, "HELLO THERE\nSECOND LINE\n");
  tu_result_free(&r);
  tu_ctl(&d, &r, "logs", "-n", "1", "upper", NULL);
  cr_assert_str_eq(r.out, "SECOND LINE\n");
  tu_result_free(&r);

  /* stdin piped from our stdin with '-' */
  char *argv[] = {(char *)tu_tend(), "send", "-s", d.sock, "upper", "-", NULL};
  tu_run(argv, "from\nstdin\n", 11, 10000, &r);
  assert_ok(&r, 0);
  tu_result_free(&r);
  cr_assert(tu_wait_file_contains(out, "FROM\nSTDIN\n", 5000));

  tu_ctl(&d, &r, "send", "deaf", "x", NULL);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "cannot send to deaf: it has no stdin pipe (stdin = null)"), "%s",
            r.err);
  tu_result_free(&r);
  tu_ctl(&d, &r, "stop", "upper", NULL);
  tu_result_free(&r);
  tu_ctl(&d, &r, "send", "upper", "x", NULL);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "cannot send to upper: not running"), "%s", r.err);
  tu_result_free(&r);
  free(out);
  tu_daemon_stop(&d);
}

Test(daemon, logs_follow_streams_new_output) {
  tu_daemon_start(&d, "[program:echo]\n"
                      "command = cat\n"
                      "startsecs = 0\n");
  cr_assert(log_has("program=echo from=STARTING to=RUNNING", 5000));
  /* A follower in the background, its output in a file. */
  char *outpath;
  cr_assert(asprintf(&outpath, "%s/follow.txt", d.dir) > 0);
  pid_t f = fork();
  cr_assert(f >= 0);
  if (f == 0) {
    freopen(outpath, "w", stdout);
    execl(tu_tend(), "tend", "logs", "-s", d.sock, "-f", "-n", "0", "echo", (char *)NULL);
    _exit(127);
  }
  /* The follower is registered once the daemon has answered it; send
   * lines until one shows up (each send is an event we wait on). */
  bool seen = false;
  for (int i = 0; i < 50 && !seen; i++) {
    tu_result_t r;
    tu_ctl(&d, &r, "send", "echo", "ping", NULL);
    tu_result_free(&r);
    seen = tu_wait_file_contains(outpath, "ping\n", 200);
  }
  cr_assert(seen, "logs -f showed nothing");
  tu_result_t r;
  tu_ctl(&d, &r, "send", "echo", "last-line", NULL);
  tu_result_free(&r);
  cr_assert(tu_wait_file_contains(outpath, "last-line\n", 5000));
  kill(f, SIGTERM);
  waitpid(f, NULL, 0);
  free(outpath);
  tu_daemon_stop(&d);
}

Test(daemon, rotation_loses_no_line) {
  tu_daemon_start(&d, "[program:counter]\n"
                      "command = sh -c 'i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; "
                      "i=$((i+1)); done; echo done'\n"
                      "startsecs = 0\n"
                      "autorestart = false\n"
                      "stdout_logfile_maxbytes = 16KB\n"
                      "stdout_logfile_backups = 100\n");
  cr_assert(log_has("exit program=counter", 20000));
  char *base;
  cr_assert(asprintf(&base, "%s/log/counter.out", d.dir) > 0);
  cr_assert(tu_wait_file_contains(base, "done\n", 5000));
  /* Every number exactly once, across the live file and its backups. */
  char *seen = calloc(20000, 1);
  int total = 0;
  for (int k = 0; k <= 100; k++) {
    char path[512];
    if (k == 0)
      snprintf(path, sizeof(path), "%s", base);
    else
      snprintf(path, sizeof(path), "%s.%d", base, k);
    size_t len;
    char *s = tu_read_file(path, &len);
    if (s == NULL)
      continue;
    cr_assert_leq(len, 16 * 1024, "%s is over maxbytes", path);
    cr_assert(len == 0 || s[len - 1] == '\n', "%s ends inside a line", path);
    for (char *line = strtok(s, "\n"); line != NULL; line = strtok(NULL, "\n")) {
      int n;
      if (sscanf(line, "line %d", &n) == 1) {
        cr_assert(n >= 0 && n < 20000 && !seen[n], "line %d twice or bad", n);
        seen[n] = 1;
        total++;
      }
    }
    free(s);
  }
  cr_assert_eq(total, 20000, "lines lost at rotation");
  free(seen);
  free(base);
  tu_daemon_stop(&d);
}

Test(daemon, reload_applies_the_diff) {
  tu_daemon_start(&d, "[program:keep]\ncommand = sleep 300\nstartsecs = 0\n"
                      "[program:change]\ncommand = sleep 300\nstartsecs = 0\n"
                      "[program:drop]\ncommand = sleep 300\nstartsecs = 0\n");
  cr_assert(log_has("program=drop from=STARTING to=RUNNING", 5000));
  cr_assert(log_has("program=change from=STARTING to=RUNNING", 5000));
  long keep = pid_of("keep"), change = pid_of("change"), drop = pid_of("drop");
  char *conf;
  cr_assert(asprintf(&conf,
                     "[tend]\nsocket = %s\nlogdir = %s/log\n"
                     "[program:keep]\ncommand = sleep 300\nstartsecs = 0\n"
                     "[program:change]\ncommand = sleep 301\nstartsecs = 0\n"
                     "[program:new]\ncommand = sleep 300\nstartsecs = 0\n",
                     d.sock, d.dir) > 0);
  tu_write_file(d.conf, conf);
  free(conf);
  tu_result_t r;
  tu_ctl(&d, &r, "reload", NULL);
  assert_ok(&r, 0);
  cr_assert_str_eq(r.out, "added: new\nchanged: change\nremoved: drop\n");
  tu_result_free(&r);
  cr_assert(tu_wait_gone((pid_t)drop, 5000), "removed program still running");
  cr_assert(tu_wait_gone((pid_t)change, 5000), "changed program not restarted");
  cr_assert(log_has("program=new from=STARTING to=RUNNING", 5000));
  cr_assert_eq(pid_of("keep"), keep, "unchanged program was restarted");
  cr_assert(tu_alive((pid_t)keep));
  /* the changed one comes back with its new command */
  for (int i = 0; i < 100 && pid_of("change") <= 0; i++)
    tu_wait_file_contains(d.log, "program=change from=STARTING to=RUNNING", 50);
  cr_assert_neq(pid_of("change"), change);
  tu_ctl(&d, &r, "status", "drop", NULL);
  assert_ok(&r, 1);
  tu_result_free(&r);

  /* An invalid file leaves the running config untouched. */
  tu_write_file(d.conf, "[program:keep]\ncommand = sleep 300\nstartsecs = soon\n");
  tu_ctl(&d, &r, "reload", NULL);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "startsecs") && strstr(r.err, "'soon'"), "%s", r.err);
  cr_assert(strstr(r.err, "tend.conf:3"), "error without file:line: %s", r.err);
  tu_result_free(&r);
  cr_assert_eq(pid_of("keep"), keep);
  cr_assert_str_eq(state_of("new"), "RUNNING");
  tu_daemon_stop(&d);
}

Test(daemon, wait_returns_the_exit_code) {
  tu_daemon_start(&d, "[program:job]\n"
                      "command = sh -c 'read x; exit 42'\n"
                      "startsecs = 0\n"
                      "autorestart = false\n");
  cr_assert(log_has("program=job from=STARTING to=RUNNING", 5000));
  pid_t w = fork();
  cr_assert(w >= 0);
  if (w == 0) {
    execl(tu_tend(), "tend", "wait", "-s", d.sock, "job", (char *)NULL);
    _exit(127);
  }
  tu_result_t r;
  tu_ctl(&d, &r, "send", "job", "go", NULL);
  tu_result_free(&r);
  int status;
  cr_assert(tu_wait_gone(w, 10000));
  waitpid(w, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42, "wait exited %d", status);
  tu_daemon_stop(&d);
}

Test(daemon, bad_config_refuses_to_start) {
  char *dir = tu_tmpdir();
  tu_daemon_t bad = {0};
  bad.dir = dir;
  cr_assert(asprintf(&bad.conf, "%s/bad.conf", dir) > 0);
  cr_assert(asprintf(&bad.sock, "%s/tend.sock", dir) > 0);
  cr_assert(asprintf(&bad.log, "%s/daemon.log", dir) > 0);
  tu_write_file(bad.conf, "[program:a]\ncommand = true\nautorestart = sometimes\n"
                          "[program:b]\nstartsecs = 1\n");
  int status = 0;
  cr_assert(!tu_daemon_try(&bad, bad.conf, &status));
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d", status);
  char *log = tu_read_file(bad.log, NULL);
  cr_assert(strstr(log, "bad.conf:3") && strstr(log, "autorestart") && strstr(log, "'sometimes'"),
            "%s", log);
  cr_assert(strstr(log, "bad.conf:4") && strstr(log, "command"), "both errors reported: %s", log);
  cr_assert(strstr(log, "refusing to start"), "%s", log);
  free(log);
  tu_daemon_stop(&bad);
}

static int raw_connect(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  return fd;
}

/* Read until the daemon closes, with a deadline; returns what came. */
static char *read_until_close(int fd) {
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  static char buf[65536];
  size_t n = 0;
  ssize_t k;
  while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
    n += (size_t)k;
  buf[n] = '\0';
  return buf;
}

Test(daemon, bad_requests_get_errors_and_the_daemon_lives) {
  tu_daemon_start(&d, "[program:p]\ncommand = sleep 300\nstartsecs = 0\n");
  /* garbage header: an oversized frame */
  int fd = raw_connect(d.sock);
  cr_assert(write(fd, "\xff\xff\xff\xff\0\0\0\0garbage", 15) == 15);
  char *got = read_until_close(fd);
  cr_assert(strstr(got + 8, "frame over the limits"), "reply: %s", got + 8);
  close(fd);
  /* a frame whose body is not JSON */
  fd = raw_connect(d.sock);
  cr_assert(write(fd, "\0\0\0\x05\0\0\0\0hello", 13) == 13);
  got = read_until_close(fd);
  cr_assert(strstr(got + 8, "expected a JSON object"), "reply: %s", got + 8);
  close(fd);
  /* truncated: half a header, then hang up */
  fd = raw_connect(d.sock);
  cr_assert(write(fd, "\0\0", 2) == 2);
  close(fd);
  /* an unknown command */
  fd = raw_connect(d.sock);
  const char *req = "{\"cmd\":\"explode\"}";
  unsigned char hdr[8] = {0, 0, 0, (unsigned char)strlen(req), 0, 0, 0, 0};
  cr_assert(write(fd, hdr, 8) == 8 && write(fd, req, strlen(req)) == (ssize_t)strlen(req));
  shutdown(fd, SHUT_WR);
  got = read_until_close(fd);
  cr_assert(strstr(got + 8, "unknown command 'explode'"), "reply: %s", got + 8);
  close(fd);
  /* still serving */
  cr_assert_str_eq(state_of("p"), "RUNNING");
  tu_daemon_stop(&d);
}

Test(daemon, socket_is_private_and_single) {
  tu_daemon_start(&d, "[program:p]\ncommand = sleep 300\nstartsecs = 0\n");
  struct stat st;
  cr_assert(stat(d.sock, &st) == 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "socket mode %o", st.st_mode & 0777);
  /* A second daemon on the same socket is refused; the first lives on. */
  char *argv[] = {(char *)tu_tend(), "daemon", "-c", d.conf, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 10000, &r);
  assert_ok(&r, 1);
  cr_assert(strstr(r.err, "another tend daemon is running on"), "%s", r.err);
  tu_result_free(&r);
  cr_assert_str_eq(state_of("p"), "RUNNING");
  tu_daemon_stop(&d);
}

Test(daemon, stale_socket_from_a_killed_daemon_is_replaced) {
  tu_daemon_start(&d, "[program:p]\ncommand = sleep 300\nstartsecs = 0\n");
  long child = pid_of("p");
  kill(d.pid, SIGKILL);
  waitpid(d.pid, NULL, 0);
  d.pid = 0;
  /* The children of a killed daemon die with it (PR_SET_PDEATHSIG). */
  bool gone = tu_wait_gone((pid_t)child, 5000);
  if (!gone)
    kill((pid_t)child, SIGKILL);
  cr_assert(gone, "a child of the killed daemon kept running unsupervised");
  struct stat st;
  cr_assert(stat(d.sock, &st) == 0, "the dead daemon's socket file is there");
  int status = 0;
  cr_assert(tu_daemon_try(&d, d.conf, &status), "restart on a stale socket failed");
  cr_assert(log_has("program=p from=STARTING to=RUNNING", 5000));
  tu_daemon_stop(&d);
}

Test(daemon, json_log_format) {
  /* Lines before the first section continue the generated [tend]. */
  tu_daemon_start(&d, "log_format = json\n"
                      "[program:j]\ncommand = sh -c 'exit 5'\nstartsecs = 0\n"
                      "autorestart = false\n");
  cr_assert(log_has("\"event\":\"exit\"", 5000));
  /* every line is one JSON object; the exit line has the fields */
  char *log = tu_read_file(d.log, NULL);
  bool found = false;
  for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    cr_assert(json_is_object(o), "not JSON: %s (%s)", line, err.text);
    if (strcmp(json_string_value(json_object_get(o, "event")), "exit") == 0) {
      found = true;
      cr_assert_str_eq(json_string_value(json_object_get(o, "program")), "j");
      cr_assert_eq(json_integer_value(json_object_get(o, "exit_code")), 5);
      cr_assert(json_is_null(json_object_get(o, "signal")));
      cr_assert(json_is_false(json_object_get(o, "expected")));
      cr_assert(json_is_integer(json_object_get(o, "pid")));
      cr_assert(json_is_number(json_object_get(o, "runtime")));
      cr_assert_str_eq(json_string_value(json_object_get(o, "action")), "none");
      const char *t = json_string_value(json_object_get(o, "time"));
      cr_assert(t != NULL && strlen(t) == 29 && t[10] == 'T' && t[19] == '.', "time %s", t);
    }
    json_decref(o);
  }
  cr_assert(found);
  free(log);
  tu_daemon_stop(&d);
}

Test(daemon, other_uid_is_refused) {
  if (geteuid() != 0)
    cr_skip_test("needs root to become another user");
  tu_daemon_start(&d, "socket_mode = 0666\n"
                      "[program:p]\ncommand = sleep 300\nstartsecs = 0\n");
  /* The socket is world-writable here on purpose: the uid check, not the
   * file mode, must be what refuses nobody. */
  chmod(d.dir, 0711); /* let nobody reach the socket file itself */
  pid_t c = fork();
  cr_assert(c >= 0);
  if (c == 0) {
    /* No Criterion asserts in here: this is not the test process. */
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(10);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
      _exit(12);
    char *got = read_until_close(fd);
    _exit(strstr(got + 8, "permission denied") != NULL ? 0 : 11);
  }
  int status;
  cr_assert(tu_wait_gone(c, 10000));
  waitpid(c, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  cr_assert_str_eq(state_of("p"), "RUNNING");
  tu_daemon_stop(&d);
}

Test(daemon, orphans_are_reaped) {
  /* The subshell is left behind when the program exits: it is killed (its
   * group outlived the program) and, re-parented to the daemon (a child
   * subreaper), reaped by it. */
  tu_daemon_start(&d, "[program:parent]\n"
                      "command = sh -c '(sleep 30; exit 3) & exit 0'\n"
                      "startsecs = 0\n"
                      "autorestart = false\n");
  cr_assert(log_has("leftovers_killed program=parent count=", 5000), "%s",
            tu_read_file(d.log, NULL));
  cr_assert(log_has("orphan_reaped pid=", 5000), "%s", tu_read_file(d.log, NULL));
  /* and no zombie is left among the daemon's children (but its guard):
   * the subshell's sleep is reaped a SIGCHLD later than the subshell */
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/task/%d/children", d.pid, d.pid);
  int n = 0;
  char *kids = NULL;
  for (int i = 0; i < 100; i++) {
    free(kids);
    kids = tu_read_file(path, NULL);
    cr_assert(kids != NULL);
    char *copy = strdup(kids);
    n = 0;
    for (char *tok = strtok(copy, " \n"); tok != NULL; tok = strtok(NULL, " \n"))
      n++;
    free(copy);
    if (n <= 1)
      break;
    tu_wait_file_contains(d.log, "never written", 50); /* a deadline, no event */
  }
  cr_assert_leq(n, 1, "the daemon still has children: %s", kids);
  free(kids);
  tu_daemon_stop(&d);
}

Test(daemon, shutdown_stops_everything_and_returns_when_done) {
  tu_daemon_start(&d, "[program:a]\ncommand = sleep 300\nstartsecs = 0\npriority = 1\n"
                      "[program:b]\ncommand = sleep 300\nstartsecs = 0\npriority = 2\n");
  cr_assert(log_has("program=b from=STARTING to=RUNNING", 5000));
  long a = pid_of("a"), b = pid_of("b");
  tu_result_t r;
  tu_ctl(&d, &r, "shutdown", NULL);
  assert_ok(&r, 0);
  tu_result_free(&r);
  cr_assert(!tu_alive((pid_t)a) && !tu_alive((pid_t)b), "shutdown returned before the stops");
  cr_assert(tu_wait_gone(d.pid, 5000));
  int status;
  waitpid(d.pid, &status, 0);
  d.pid = 0;
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* reverse priority: b stops before a */
  char *log = tu_read_file(d.log, NULL);
  char *sb = strstr(log, "stop program=b"), *sa = strstr(log, "stop program=a");
  cr_assert(sa && sb && sb < sa, "stop order:\n%s", log);
  free(log);
  struct stat st;
  cr_assert(stat(d.sock, &st) != 0, "socket file left behind");
  tu_daemon_stop(&d);
}

Test(daemon, groups_and_stderr_logs) {
  tu_daemon_start(&d, "[group:web]\nprograms = front,back\n"
                      "[program:front]\ncommand = sh -c 'echo oops >&2; exec sleep 300'\n"
                      "startsecs = 0\n"
                      "[program:back]\ncommand = sleep 300\nstartsecs = 0\n"
                      "[program:other]\ncommand = sleep 300\nstartsecs = 0\n");
  cr_assert(log_has("program=web:back from=STARTING to=RUNNING", 5000), "%s",
            tu_read_file(d.log, NULL));
  /* startsecs = 0: RUNNING comes at once; the stop must not race the echo */
  char *err_log;
  cr_assert(asprintf(&err_log, "%s/log/web:front.err", d.dir) > 0);
  cr_assert(tu_wait_file_contains(err_log, "oops\n", 10000), "no stderr line in %s", err_log);
  free(err_log);
  tu_result_t r;
  tu_ctl(&d, &r, "stop", "web:*", NULL);
  assert_ok(&r, 0);
  cr_assert(strstr(r.out, "web:front: stopped") && strstr(r.out, "web:back: stopped"), "%s",
            r.out);
  tu_result_free(&r);
  cr_assert_str_eq(state_of("other"), "RUNNING");
  cr_assert_str_eq(state_of("web:front"), "STOPPED");
  tu_ctl(&d, &r, "logs", "--stderr", "web:front", NULL);
  assert_ok(&r, 0);
  cr_assert_str_eq(r.out, "oops\n");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(daemon, sighup_reloads) {
  tu_daemon_start(&d, "[program:one]\ncommand = sleep 300\nstartsecs = 0\n");
  cr_assert(log_has("program=one from=STARTING to=RUNNING", 5000));
  char *conf;
  cr_assert(asprintf(&conf,
                     "[tend]\nsocket = %s\nlogdir = %s/log\n"
                     "[program:one]\ncommand = sleep 300\nstartsecs = 0\n"
                     "[program:two]\ncommand = sleep 300\nstartsecs = 0\n",
                     d.sock, d.dir) > 0);
  tu_write_file(d.conf, conf);
  free(conf);
  kill(d.pid, SIGHUP);
  cr_assert(log_has("reload config=", 5000));
  cr_assert(log_has("program=two from=STARTING to=RUNNING", 5000));
  cr_assert(tu_file_count(d.log, "added=1 changed=0 removed=0") == 1);
  tu_daemon_stop(&d);
}

Test(daemon, many_clients_at_once) {
  tu_daemon_start(&d, "[program:p]\ncommand = sleep 300\nstartsecs = 0\n");
  enum { N = 100 };
  int fds[N];
  const char *req = "{\"cmd\":\"status\"}";
  unsigned char frame[64] = {0, 0, 0, (unsigned char)strlen(req), 0, 0, 0, 0};
  memcpy(frame + 8, req, strlen(req));
  /* All connect and send before any reads: the daemon must serve them
   * side by side. */
  for (int i = 0; i < N; i++) {
    fds[i] = raw_connect(d.sock);
    cr_assert(write(fds[i], frame, 8 + strlen(req)) == (ssize_t)(8 + strlen(req)));
  }
  for (int i = 0; i < N; i++) {
    struct timeval tv = {10, 0};
    setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    ssize_t n = read(fds[i], buf, sizeof(buf) - 1);
    cr_assert(n > 8, "client %d got no reply", i);
    buf[n] = '\0';
    cr_assert(strstr(buf + 8, "\"state\":\"RUNNING\""), "client %d: %s", i, buf + 8);
    close(fds[i]);
  }
  cr_assert_str_eq(state_of("p"), "RUNNING");
  tu_daemon_stop(&d);
}

Test(daemon, status_of_many_processes) {
  /* 150 entries with long names make a reply far over the 64 KiB a request
   * may have (asserted below: the test is about that). Long names, not more
   * processes: each fork of an ASan daemon is slow. */
#define LONG "a_name_long_enough_to_make_the_status_reply_of_many_processes_" \
             "grow_past_the_64_KiB_that_a_request_may_have_"
  tu_daemon_start(&d, "[program:many]\ncommand = sleep 300\nstartsecs = 0\nnumprocs = 150\n"
                      "process_name = %(program_name)s_" LONG "%(process_num)03d\n");
  /* A ceiling, not a wait: the forks of an ASan daemon beside a loaded
   * suite take seconds on a busy 2-core machine; idle it is well under 1 s. */
  const char *last = "many:many_" LONG "149";
#undef LONG
  char *running = tu_fmt("program=%s from=STARTING to=RUNNING", last);
  cr_assert(log_has(running, 90000));
  free(running);
  tu_result_t r;
  tu_ctl(&d, &r, "status", "--json", NULL);
  assert_ok(&r, 0);
  cr_assert_gt(r.out_len, 64 * 1024, "the reply is only %zu bytes", r.out_len);
  json_t *arr = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(arr), "%.200s", r.out);
  cr_assert_eq(json_array_size(arr), 150);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 149), "name")), last);
  json_decref(arr);
  tu_result_free(&r);
  tu_daemon_stop(&d);
}
