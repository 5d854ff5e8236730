/* SPDX-License-Identifier: MIT */
/*
 * Options anywhere before "--", GNU getopt style, through the real binary:
 * for each subcommand, an option written after an operand takes effect,
 * and "--" makes what follows operands. run, pool and submit take options
 * only up to their command's first word, so the command keeps its own.
 * The control commands run against a real daemon; the Redis commands need
 * no Redis (a refused connection is exit 4, a usage error exit 2).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEADLINE_MS 30000

static tu_daemon_t d;

/* A test that fails an assertion never reaches its own tu_daemon_stop. */
static void stop_left_daemon(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
}

TestSuite(argv, .timeout = 120, .fini = stop_left_daemon);

/* Run tend with the words given, up to NULL. */
static void argv_run(tu_result_t *r, const char *word, ...) {
  char *argv[32];
  int n = 0;
  argv[n++] = (char *)tu_tend();
  va_list ap;
  va_start(ap, word);
  for (const char *w = word; w != NULL && n < 31; w = va_arg(ap, const char *))
    argv[n++] = (char *)w;
  va_end(ap);
  argv[n] = NULL;
  tu_run(argv, NULL, 0, DEADLINE_MS, r);
}
#define ARGV_RUN(r, ...) argv_run(r, __VA_ARGS__, (const char *)NULL)

static void argv_expect(const tu_result_t *r, int code) {
  cr_assert(!r->timed_out, "still running at the deadline\nstderr: %s", r->err);
  cr_assert_eq(r->exit_code, code, "exit %d (want %d)\nstdout: %.400s\nstderr: %s", r->exit_code,
               code, r->out, r->err);
}

static void argv_expect_err(const tu_result_t *r, int code, const char *text) {
  argv_expect(r, code);
  cr_assert(strstr(r->err, text) != NULL, "stderr lacks \"%s\": %s", text, r->err);
}

/* Wait until the daemon's log says program NAME went from STARTING to
 * RUNNING (startsecs = 0: at once). */
static void wait_running(const char *name) {
  char needle[128];
  snprintf(needle, sizeof(needle), "program=%s from=STARTING to=RUNNING", name);
  cr_assert(tu_wait_file_contains(d.log, needle, DEADLINE_MS), "%s never ran; the log:\n%s",
            name, tu_read_file(d.log, NULL));
}

/* The path of a file in the daemon's directory (malloc'd). */
static char *in_dir(const char *name) {
  char *p;
  cr_assert(asprintf(&p, "%s/%s", d.dir, name) > 0);
  return p;
}

/* A redis:// URL of a loopback port that refuses connections: bound, never
 * listening (the socket stays open until the test ends). */
static char *refusing_url(int *fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(*fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  cr_assert(bind(*fd, (struct sockaddr *)&a, sizeof(a)) == 0);
  cr_assert(getsockname(*fd, (struct sockaddr *)&a, &len) == 0);
  char *url;
  cr_assert(asprintf(&url, "redis://127.0.0.1:%d", ntohs(a.sin_port)) > 0);
  return url;
}

/* ---- channels: put and get ---------------------------------------------- */

Test(argv, get_takes_timeout_after_the_name) {
  tu_daemon_start(&d, "[channel:c]\ncapacity = 1\n");
  tu_result_t r;
  ARGV_RUN(&r, "get", "c", "--timeout", "1", "-s", d.sock);
  argv_expect_err(&r, 124, "timed out");
  tu_result_free(&r);
  /* "--": a value that looks like an option is a value. */
  ARGV_RUN(&r, "put", "-s", d.sock, "c", "--", "-5");
  argv_expect(&r, 0);
  tu_result_free(&r);
  ARGV_RUN(&r, "get", "c", "-s", d.sock, "-n", "1");
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "-5\n");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(argv, put_takes_nowait_after_the_value) {
  tu_daemon_start(&d, "[channel:c]\ncapacity = 1\n");
  tu_result_t r;
  ARGV_RUN(&r, "put", "c", "4", "-s", d.sock);
  argv_expect(&r, 0);
  tu_result_free(&r);
  ARGV_RUN(&r, "put", "c", "5", "--nowait", "-s", d.sock);
  argv_expect_err(&r, 75, "channel is full: c");
  tu_result_free(&r);
  ARGV_RUN(&r, "get", "-s", d.sock, "c");
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "4\n");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

/* ---- processes: status, start, stop, restart, send, logs, wait --------- */

Test(argv, status_takes_json_after_a_name) {
  tu_daemon_start(&d, "[program:x]\ncommand = sleep 300\nstartsecs = 0\n");
  wait_running("x");
  tu_result_t r;
  ARGV_RUN(&r, "status", "x", "--json", "-s", d.sock);
  argv_expect(&r, 0);
  json_t *arr = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(arr) && json_array_size(arr) == 1, "%s", r.out);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "name")), "x");
  json_decref(arr);
  tu_result_free(&r);
  ARGV_RUN(&r, "status", "-s", d.sock, "--", "--json");
  argv_expect_err(&r, 1, "no such process: --json");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(argv, start_takes_socket_after_all) {
  tu_daemon_start(&d, "[program:x]\ncommand = sleep 300\nautostart = false\n"
                      "[program:y]\ncommand = sleep 300\nautostart = false\n");
  tu_result_t r;
  ARGV_RUN(&r, "start", "all", "-s", d.sock);
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "x: started\n") != NULL && strstr(r.out, "y: started\n") != NULL,
            "%s", r.out);
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(argv, stop_and_restart_take_json_after_the_name) {
  tu_daemon_start(&d, "[program:x]\ncommand = sleep 300\nstartsecs = 0\n");
  wait_running("x");
  static const char *const cmds[] = {"restart", "stop"};
  for (int i = 0; i < 2; i++) {
    tu_result_t r;
    ARGV_RUN(&r, cmds[i], "x", "--json", "-s", d.sock);
    argv_expect(&r, 0);
    json_t *arr = json_loads(r.out, 0, NULL);
    cr_assert(json_is_array(arr), "%s: %s", cmds[i], r.out);
    cr_assert(json_is_true(json_object_get(json_array_get(arr, 0), "ok")), "%s", r.out);
    json_decref(arr);
    tu_result_free(&r);
  }
  tu_daemon_stop(&d);
}

Test(argv, send_text_after_dashdash_is_text) {
  tu_daemon_start(&d, "[program:cat]\ncommand = cat\nstartsecs = 0\n");
  wait_running("cat");
  tu_result_t r;
  ARGV_RUN(&r, "send", "cat", "-s", d.sock, "--", "-x");
  argv_expect(&r, 0);
  tu_result_free(&r);
  char *out = in_dir("log/cat.out");
  cr_assert(tu_wait_file_contains(out, "-x\n", DEADLINE_MS), "%s", tu_read_file(out, NULL));
  free(out);
  /* Without "--" it is an option, and not one of send's. */
  ARGV_RUN(&r, "send", "cat", "-x", "-s", d.sock);
  argv_expect_err(&r, 2, "unknown option '-x'");
  tu_result_free(&r);
  /* inside a cluster the message names the letter, not a neighbouring word */
  ARGV_RUN(&r, "send", "cat", "-zs", d.sock, "hi");
  argv_expect_err(&r, 2, "unknown option '-z'");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(argv, logs_takes_lines_and_config_after_the_name) {
  tu_daemon_start(&d, "[program:x]\ncommand = sh -c 'seq 1 20; exec sleep 300'\n"
                      "startsecs = 0\n");
  char *out = in_dir("log/x.out");
  cr_assert(tu_wait_file_contains(out, "\n20\n", DEADLINE_MS), "%s", tu_read_file(out, NULL));
  free(out);
  tu_result_t r;
  ARGV_RUN(&r, "logs", "x", "-n", "5", "-c", d.conf);
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "16\n17\n18\n19\n20\n");
  tu_result_free(&r);
  /* An option of another command, after the name: still its own error. */
  ARGV_RUN(&r, "logs", "x", "--json", "-c", d.conf);
  argv_expect_err(&r, 2, "option '--json' does not apply here");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(argv, wait_takes_json_after_the_name) {
  tu_daemon_start(&d, "[program:x]\ncommand = sh -c 'exit 3'\nstartsecs = 0\n"
                      "autorestart = false\n");
  wait_running("x");
  tu_result_t r;
  ARGV_RUN(&r, "wait", "x", "--json", "-s", d.sock);
  argv_expect(&r, 3);
  json_t *o = json_loads(r.out, 0, NULL);
  cr_assert(json_is_object(o), "%s", r.out);
  cr_assert_eq(json_integer_value(json_object_get(o, "exit_code")), 3, "%s", r.out);
  json_decref(o);
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

/* ---- the daemon: reload, logrotate, shutdown ---------------------------- */

Test(argv, reload_logrotate_shutdown_take_options_last) {
  tu_daemon_start(&d, "[program:x]\ncommand = sleep 300\nstartsecs = 0\n");
  wait_running("x");
  tu_result_t r;
  ARGV_RUN(&r, "reload", "--json", "-s", d.sock);
  argv_expect(&r, 0);
  cr_assert(strncmp(r.out, "{", 1) == 0, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "reload", "-s", d.sock, "--", "--json");
  argv_expect_err(&r, 2, "unexpected argument '--json'");
  tu_result_free(&r);
  ARGV_RUN(&r, "logrotate", "x", "-s", d.sock);
  argv_expect(&r, 0);
  tu_result_free(&r);
  ARGV_RUN(&r, "logrotate", "-s", d.sock, "--", "-x");
  argv_expect_err(&r, 1, "no such process: -x");
  tu_result_free(&r);
  ARGV_RUN(&r, "shutdown", "-s", d.sock, "--", "now");
  argv_expect_err(&r, 2, "unexpected argument 'now'");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

/* ---- daemon pools: submit, pool-status, close, join --------------------- */

Test(argv, submit_takes_options_up_to_the_command) {
  tu_daemon_start(&d, "[pool:p]\nworkers = 1\n");
  tu_result_t r;
  /* -s and --json after POOL are submit's; -n after echo is echo's. */
  ARGV_RUN(&r, "submit", "p", "-s", d.sock, "--json", "echo", "-n", "hi");
  argv_expect(&r, 0);
  json_t *o = json_loads(r.out, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(o, "id")), "p/1", "%s", r.out);
  json_decref(o);
  tu_result_free(&r);
  /* So is a --help after the command's first word. */
  ARGV_RUN(&r, "submit", "p", "-s", d.sock, "--", "echo", "--help");
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "p/2\n");
  tu_result_free(&r);
  /* --redis after POOL: the pool form has none; the message says where it goes */
  ARGV_RUN(&r, "submit", "p", "--redis", "redis://127.0.0.1:1", "--", "true");
  argv_expect_err(&r, 2, "--redis goes before the command");
  tu_result_free(&r);
  ARGV_RUN(&r, "close", "p", "-s", d.sock);
  argv_expect(&r, 0);
  tu_result_free(&r);
  ARGV_RUN(&r, "join", "p", "--json", "-s", d.sock);
  argv_expect(&r, 0);
  json_t *tasks = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(tasks) && json_array_size(tasks) == 2, "%s", r.out);
  json_decref(tasks);
  tu_result_free(&r);
  ARGV_RUN(&r, "pool-status", "p", "--json", "-s", d.sock);
  argv_expect(&r, 0);
  o = json_loads(r.out, 0, NULL);
  json_t *t = json_array_get(json_object_get(o, "tasks"), 0);
  json_t *want = json_pack("[sss]", "echo", "-n", "hi");
  cr_assert(json_equal(json_object_get(t, "command"), want), "%s", r.out);
  cr_assert_str_eq(json_string_value(json_object_get(t, "stdout")), "hi", "%s", r.out);
  json_decref(want);
  json_decref(o);
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

/* ---- Redis: submit, worker, results ------------------------------------- */

Test(argv, redis_submit_leaves_the_command_its_options) {
  int fd;
  char *url = refusing_url(&fd);
  tu_result_t r;
  /* --help is echo's: tend tries Redis (exit 4) rather than print help. */
  ARGV_RUN(&r, "submit", "--redis", url, "echo", "--help");
  argv_expect_err(&r, 4, "Connection refused");
  cr_assert_eq(r.out_len, 0, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "submit", "--redis", url, "--socket", "x", "--", "true");
  argv_expect_err(&r, 2, "option '--socket' is for a daemon pool");
  tu_result_free(&r);
  close(fd);
  free(url);
}

Test(argv, results_takes_redis_after_the_ids) {
  int fd;
  char *url = refusing_url(&fd);
  tu_result_t r;
  ARGV_RUN(&r, "results", "--wait", "1-0", "--redis", url);
  argv_expect_err(&r, 4, "Connection refused");
  tu_result_free(&r);
  ARGV_RUN(&r, "results", "--redis", url, "--wait", "--", "--json");
  argv_expect_err(&r, 2, "'--json' is not a task id");
  tu_result_free(&r);
  close(fd);
  free(url);
}

Test(argv, worker_takes_options_after_an_operand) {
  tu_result_t r;
  ARGV_RUN(&r, "worker", "extra", "--help");
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "usage: tend worker") != NULL, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "worker", "--", "--redis", "redis://127.0.0.1:1");
  argv_expect_err(&r, 2, "unexpected argument '--redis'");
  tu_result_free(&r);
}

/* ---- run and pool: the command keeps its options ------------------------ */

Test(argv, run_takes_options_up_to_the_command) {
  tu_result_t r;
  ARGV_RUN(&r, "run", "--timeout", "20", "echo", "--timeout", "1");
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "--timeout 1\n");
  tu_result_free(&r);
  ARGV_RUN(&r, "run", "--json", "--", "echo", "-n", "x");
  argv_expect(&r, 0);
  json_t *o = json_loads(r.out, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(o, "stdout")), "x", "%s", r.out);
  json_decref(o);
  tu_result_free(&r);
}

Test(argv, pool_takes_options_up_to_the_command) {
  tu_result_t r;
  ARGV_RUN(&r, "pool", "-j2", "echo", "-n", "{}", ":::", "a");
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "a");
  tu_result_free(&r);
  ARGV_RUN(&r, "pool", "--keep-order", "echo", "-j", "3", ":::", "a", "b");
  argv_expect(&r, 0);
  cr_assert_str_eq(r.out, "-j 3 a\n-j 3 b\n");
  tu_result_free(&r);
}

/* ---- check, daemon ------------------------------------------------------- */

Test(argv, check_takes_options_in_any_order_until_dashdash) {
  char *dir = tu_tmpdir();
  char *conf;
  cr_assert(asprintf(&conf, "%s/ok.conf", dir) > 0);
  tu_write_file(conf, "[program:a]\ncommand = true\n");
  tu_result_t r;
  ARGV_RUN(&r, "check", "--json", "-c", conf, "-q");
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "\"valid\":true") != NULL, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "check", "-c", conf, "--", "-q");
  argv_expect_err(&r, 2, "unexpected argument '-q'");
  tu_result_free(&r);
  free(conf);
  tu_rmdir(dir);
}

Test(argv, daemon_takes_options_after_an_operand) {
  tu_result_t r;
  ARGV_RUN(&r, "daemon", "extra", "--help");
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "usage: tend daemon") != NULL, "%s", r.out);
  tu_result_free(&r);
  /* Nothing starts: the operand is refused before the config is read. */
  ARGV_RUN(&r, "daemon", "--", "-c", "/nonexistent.conf");
  argv_expect_err(&r, 2, "unexpected argument '-c'");
  tu_result_free(&r);
}

/* ---- demo, help ---------------------------------------------------------- */

Test(argv, demo_takes_options_before_the_name) {
  tu_result_t r;
  ARGV_RUN(&r, "demo", "--iterations", "7", "lock");
  argv_expect(&r, 0);
  cr_assert(strncmp(r.out, "7 changes by each of 2 threads", 30) == 0, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "demo", "lock", "--", "--iterations");
  argv_expect_err(&r, 2, "unexpected argument '--iterations'");
  tu_result_free(&r);
}

Test(argv, demo_local_is_threadlocal) {
  tu_result_t r;
  ARGV_RUN(&r, "demo", "local");
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "Hello, Alice (in Thread-A)\n") != NULL, "%s", r.out);
  cr_assert(strstr(r.out, "Hello, Bob (in Thread-B)\n") != NULL, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "demo", "list");
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "\nthreadlocal ") != NULL && strstr(r.out, "(also: local)\n") != NULL,
            "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "demo", "--help");
  argv_expect(&r, 0);
  cr_assert(strstr(r.out, "'local'") != NULL, "%s", r.out);
  tu_result_free(&r);
}

Test(argv, help_takes_options_after_the_subcommand) {
  tu_result_t r;
  ARGV_RUN(&r, "help", "run", "--help");
  argv_expect(&r, 0);
  cr_assert(strncmp(r.out, "usage: tend help", 16) == 0, "%s", r.out);
  tu_result_free(&r);
  ARGV_RUN(&r, "help", "--", "run");
  argv_expect(&r, 0);
  cr_assert(strncmp(r.out, "usage: tend run", 15) == 0, "%s", r.out);
  tu_result_free(&r);
}
