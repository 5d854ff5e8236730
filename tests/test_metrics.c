/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics (src/daemon/metrics.c) from a real daemon over its
 * [unix_http_server] socket: programs running, exited with 0 and with 3,
 * FATAL, never started (with a quote and a backslash in its name, for the
 * label escaping), restarted; a pool with tasks done, failed, running and
 * queued; a channel with messages in it. Each page is read strictly by
 * tests/metrics_check.py (prometheus_client's parser and the format's line
 * grammar, which must agree), whose JSON summary is asserted on here; the
 * page test is skipped when Python's prometheus_client is not installed.
 * Every wait is on an event (a line in the daemon's log, a file a task
 * writes, a control command's answer) with a deadline, then one scrape.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static tu_daemon_t d;
static char http_sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
/* The interpreter that has prometheus_client: Debian's (its package
 * python3-prometheus-client), or else the python3 in PATH. */
static const char *python;

static void stop_left_daemon(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
}

TestSuite(metrics, .timeout = 120, .fini = stop_left_daemon);

/* ---- HTTP over the Unix socket ---------------------------------------------- */

typedef struct {
  int status;
  char *head; /* status line and headers */
  char *body;
  size_t body_len;
} reply_t;

static void reply_free(reply_t *r) {
  free(r->head);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

/* One request on a connection of its own (Connection: close), the whole
 * reply read by the deadline. */
static void http(const char *method, const char *path, const char *body, reply_t *out) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, http_sock, sizeof(sa.sun_path));
  cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", http_sock,
            strerror(errno));
  char *req = tu_fmt("%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, strlen(body), body);
  cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
  free(req);
  char *buf = NULL;
  size_t len = 0;
  int64_t end = tu_now_ms() + 10000;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int left = (int)(end - tu_now_ms());
    cr_assert(left > 0 && poll(&p, 1, left) == 1, "no whole reply to %s %s in 10 s", method,
              path);
    buf = realloc(buf, len + 65536 + 1);
    ssize_t n = read(fd, buf + len, 65536);
    cr_assert(n >= 0, "read: %s", strerror(errno));
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  char *sep = strstr(buf, "\r\n\r\n");
  cr_assert(sep != NULL, "no end of the headers: %s", buf);
  *sep = '\0';
  out->head = strdup(buf);
  out->body_len = len - (size_t)(sep + 4 - buf);
  out->body = malloc(out->body_len + 1);
  memcpy(out->body, sep + 4, out->body_len + 1);
  cr_assert(sscanf(buf, "HTTP/1.1 %d ", &out->status) == 1, "status line: %s", buf);
  free(buf);
}

/* ---- the page, read strictly ------------------------------------------------ */

static const char *checker(void) {
  const char *p = getenv("TEND_METRICS_CHECK");
  cr_assert(p != NULL, "TEND_METRICS_CHECK is not set (tests/meson.build)");
  return p;
}

/* Which interpreter has prometheus_client, or skip the test. */
static void find_python(void) {
  static const char *const candidates[] = {"/usr/bin/python3", "python3"};
  for (size_t i = 0; python == NULL && i < sizeof(candidates) / sizeof(*candidates); i++) {
    if (candidates[i][0] == '/' && access(candidates[i], X_OK) != 0)
      continue;
    tu_result_t r;
    char *argv[] = {(char *)candidates[i], (char *)checker(), NULL};
    static const char page[] = "# HELP x x\n# TYPE x gauge\nx 1\n";
    tu_run(argv, page, sizeof(page) - 1, 30000, &r);
    /* 77: this one has no prometheus_client; anything else but 0 is the
     * checker's fault, not a reason to skip. */
    cr_assert(r.exit_code == 0 || r.exit_code == 77, "%s %s on a good page: exit %d: %s",
              candidates[i], checker(), r.exit_code, r.err);
    if (r.exit_code == 0)
      python = candidates[i];
    tu_result_free(&r);
  }
  if (python == NULL)
    cr_skip_test("Python's prometheus_client is not installed (Debian: "
                 "python3-prometheus-client): the page cannot be read strictly");
}

/* GET /metrics, checked and summed up: {"types", "samples"}. */
static json_t *scrape(void) {
  reply_t r;
  http("GET", "/metrics", "", &r);
  cr_assert_eq(r.status, 200, "%s\n%s", r.head, r.body);
  cr_assert(strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            "%s", r.head);
  tu_result_t c;
  char *argv[] = {(char *)python, (char *)checker(), NULL};
  tu_run(argv, r.body, r.body_len, 30000, &c);
  cr_assert_eq(c.exit_code, 0, "the page was refused: %s\n%s", c.err, r.body);
  json_t *sum = json_loads(c.out, 0, NULL);
  cr_assert(json_is_object(sum), "%s", c.out);
  tu_result_free(&c);
  reply_free(&r);
  return sum;
}

/* A sample's value: key is "METRIC|label=value,..." with labels sorted
 * by name (as metrics_check.py writes it); NAN when absent. */
static double value(json_t *sum, const char *key) {
  json_t *v = json_object_get(json_object_get(sum, "samples"), key);
  return v != NULL ? json_number_value(v) : NAN;
}

/* A process's sample; extra (NULL: none) is one more label, "key=value",
 * put in its place by name: code before group, signal and state after
 * name. */
static double proc_value(json_t *sum, const char *metric, const char *group, const char *name,
                         const char *extra) {
  char *key = extra == NULL ? tu_fmt("%s|group=%s,name=%s", metric, group, name)
              : strcmp(extra, "group") < 0
                  ? tu_fmt("%s|%s,group=%s,name=%s", metric, extra, group, name)
                  : tu_fmt("%s|group=%s,name=%s,%s", metric, group, name, extra);
  double v = value(sum, key);
  free(key);
  return v;
}

static double state_of(json_t *sum, const char *group, const char *name, const char *state) {
  char *extra = tu_fmt("state=%s", state);
  double v = proc_value(sum, "tend_process_state", group, name, extra);
  free(extra);
  return v;
}

/* The state that is 1, asserting it is the only one. */
static const char *the_state(json_t *sum, const char *group, const char *name) {
  static const char *const states[] = {"STOPPED",  "STARTING", "RUNNING", "BACKOFF",
                                       "STOPPING", "EXITED",   "FATAL"};
  const char *one = NULL;
  for (size_t i = 0; i < sizeof(states) / sizeof(*states); i++) {
    double v = state_of(sum, group, name, states[i]);
    cr_assert(v == 0 || v == 1, "%s:%s state %s is %g", group, name, states[i], v);
    if (v == 1) {
      cr_assert(one == NULL, "%s:%s is both %s and %s", group, name, one, states[i]);
      one = states[i];
    }
  }
  return one != NULL ? one : "none";
}

/* Wait (20 s at most) until the daemon's log has every line of needles
 * (NULL-terminated): what a scrape then shows has happened. */
static bool has_all(const char *text, const void *arg) {
  for (const char *const *n = arg; *n != NULL; n++)
    if (strstr(text, *n) == NULL)
      return false;
  return true;
}

static void wait_log(const char *const *needles) {
  if (!tu_wait_file(d.log, has_all, needles, 20000)) {
    char *log = tu_read_file(d.log, NULL);
    cr_assert_fail("the daemon's log has not all of %s ... within 20 s:\n%s", needles[0], log);
  }
}

/* ---- the daemon ---------------------------------------------------------------- */

static const char conf[] = "[unix_http_server]\n"
                           "file = %(here)s/http.sock\n"
                           "\n"
                           "[program:up]\n"
                           "command = sleep 1000\n"
                           "\n"
                           "[group:grp]\n"
                           "programs = up\n"
                           "\n"
                           "[program:zero]\n"
                           "command = sh -c 'exit 0'\n"
                           "startsecs = 0\n"
                           "autorestart = false\n"
                           "\n"
                           "[program:three]\n"
                           "command = sh -c 'exit 3'\n"
                           "startsecs = 0\n"
                           "autorestart = false\n"
                           "\n"
                           "[program:fatal]\n"
                           "command = sh -c 'exit 7'\n"
                           "startsecs = 5\n"
                           "startretries = 1\n"
                           "\n"
                           "[program:q\"uo\\te]\n"
                           "command = sleep 1000\n"
                           "autostart = false\n"
                           "\n"
                           "[pool:work]\n"
                           "workers = 1\n"
                           "\n"
                           "[channel:q]\n"
                           "capacity = 4\n";

static void start_daemon(void) {
  tu_daemon_start(&d, conf);
  /* The control socket answers a connect before the config is applied
   * (its listeners set up); a request is answered only after. */
  tu_result_t r;
  tu_ctl(&d, &r, "status", NULL);
  assert_finished(&r);
  tu_result_free(&r);
  int n = snprintf(http_sock, sizeof(http_sock), "%s/http.sock", d.dir);
  cr_assert(n > 0 && (size_t)n < sizeof(http_sock), "%s/http.sock: too long a socket path", d.dir);
}

static void ctl_ok(const char *cmd, const char *a, const char *b) {
  tu_result_t r;
  tu_ctl(&d, &r, cmd, a, b, NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
}

static void submit(const char *script) {
  tu_result_t r;
  tu_ctl(&d, &r, "submit", "work", "--", "sh", "-c", script, NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
}

Test(metrics, processes_pools_channels) {
  find_python();
  start_daemon();
  static const char *const settled[] = {"program=grp:up from=STARTING to=RUNNING",
                                        "program=zero from=RUNNING to=EXITED",
                                        "program=three from=RUNNING to=EXITED",
                                        "program=fatal from=BACKOFF to=FATAL", NULL};
  wait_log(settled);
  json_t *sum = scrape();
  cr_assert_str_eq(the_state(sum, "grp", "up"), "RUNNING");
  cr_assert_str_eq(the_state(sum, "zero", "zero"), "EXITED");
  cr_assert_str_eq(the_state(sum, "three", "three"), "EXITED");
  cr_assert_str_eq(the_state(sum, "fatal", "fatal"), "FATAL");

  /* One family per metric, with its type. */
  static const char *const types[][2] = {
      {"tend_process_state", "gauge"},
      {"tend_process_restarts_total", "counter"},
      {"tend_process_exits_total", "counter"},
      {"tend_process_uptime_seconds", "gauge"},
      {"tend_process_resident_memory_bytes", "gauge"},
      {"tend_process_cpu_seconds_total", "counter"},
      {"tend_pool_workers", "gauge"},
      {"tend_pool_tasks_queued", "gauge"},
      {"tend_pool_tasks_running", "gauge"},
      {"tend_pool_tasks_done_total", "counter"},
      {"tend_pool_tasks_failed_total", "counter"},
      {"tend_channel_depth", "gauge"},
      {"tend_channel_capacity", "gauge"},
      {"tend_channel_puts_total", "counter"},
      {"tend_channel_gets_total", "counter"},
  };
  json_t *got = json_object_get(sum, "types");
  cr_assert_eq(json_object_size(got), sizeof(types) / sizeof(*types), "%s",
               json_dumps(got, JSON_SORT_KEYS));
  for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
    const char *type = json_string_value(json_object_get(got, types[i][0]));
    cr_assert_str_eq(type != NULL ? type : "(none)", types[i][1], "%s", types[i][0]);
  }

  /* Exits by code; the quote and the backslash came back unescaped. */
  cr_assert_eq(proc_value(sum, "tend_process_exits_total", "zero", "zero", "code=0"), 1);
  cr_assert_eq(proc_value(sum, "tend_process_exits_total", "three", "three", "code=3"), 1);
  cr_assert_eq(proc_value(sum, "tend_process_exits_total", "fatal", "fatal", "code=7"), 2,
               "a first start and one retry (startretries = 1)");
  cr_assert(isnan(proc_value(sum, "tend_process_exits_total", "grp", "up", "code=0")));
  cr_assert_str_eq(the_state(sum, "q\"uo\\te", "q\"uo\\te"), "STOPPED");

  /* Memory and CPU of what runs, nothing for what does not. */
  cr_assert_gt(proc_value(sum, "tend_process_resident_memory_bytes", "grp", "up", NULL), 0);
  cr_assert_geq(proc_value(sum, "tend_process_cpu_seconds_total", "grp", "up", NULL), 0);
  cr_assert(isnan(proc_value(sum, "tend_process_resident_memory_bytes", "three", "three", NULL)));
  cr_assert(isnan(proc_value(sum, "tend_process_cpu_seconds_total", "fatal", "fatal", NULL)));
  cr_assert_gt(proc_value(sum, "tend_process_uptime_seconds", "grp", "up", NULL), 0);
  cr_assert_eq(proc_value(sum, "tend_process_uptime_seconds", "three", "three", NULL), 0);
  cr_assert_eq(proc_value(sum, "tend_process_restarts_total", "grp", "up", NULL), 0);
  json_decref(sum);

  /* A restart (answered once up is RUNNING again): counted, and the
   * child it stopped ended by SIGTERM. */
  ctl_ok("restart", "grp:up", NULL);
  sum = scrape();
  cr_assert_str_eq(the_state(sum, "grp", "up"), "RUNNING");
  cr_assert_eq(proc_value(sum, "tend_process_restarts_total", "grp", "up", NULL), 1);
  cr_assert_eq(proc_value(sum, "tend_process_exits_total", "grp", "up", "signal=SIGTERM"), 1);
  json_decref(sum);

  /* The pool, one task at a time: one fails, one succeeds (each exit is
   * logged where it is counted), the third runs (it says so in a file of
   * its own), the fourth waits. */
  submit("exit 2");
  submit("exit 0");
  char *running = tu_fmt("%s/running", d.dir);
  char *third = tu_fmt("echo yes > '%s'; exec sleep 1000", running);
  submit(third);
  submit("exit 0");
  static const char *const done[] = {"exit program=pool:work/1 ", "exit program=pool:work/2 ",
                                     NULL};
  wait_log(done);
  cr_assert(tu_wait_file_contains(running, "yes", 20000), "the third task did not start");
  free(third);
  free(running);
  /* The channel: three messages in, one out. */
  ctl_ok("put", "q", "a");
  ctl_ok("put", "q", "b");
  ctl_ok("put", "q", "c");
  ctl_ok("get", "q", NULL);
  sum = scrape();
  cr_assert_eq(value(sum, "tend_pool_tasks_done_total|name=work"), 2);
  cr_assert_eq(value(sum, "tend_pool_tasks_running|name=work"), 1);
  cr_assert_eq(value(sum, "tend_pool_workers|name=work"), 1);
  cr_assert_eq(value(sum, "tend_pool_tasks_failed_total|name=work"), 1);
  cr_assert_eq(value(sum, "tend_pool_tasks_queued|name=work"), 1);
  cr_assert_eq(value(sum, "tend_channel_depth|name=q"), 2);
  cr_assert_eq(value(sum, "tend_channel_capacity|name=q"), 4);
  cr_assert_eq(value(sum, "tend_channel_puts_total|name=q"), 3);
  cr_assert_eq(value(sum, "tend_channel_gets_total|name=q"), 1);
  json_decref(sum);
  tu_daemon_stop_clean(&d);
}

Test(metrics, methods) {
  start_daemon();
  reply_t r;
  /* HEAD: GET's headers, no body. */
  http("HEAD", "/metrics", "", &r);
  cr_assert_eq(r.status, 200, "%s", r.head);
  cr_assert(strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            "%s", r.head);
  cr_assert(strstr(r.head, "\r\nContent-Length: 0\r\n") == NULL, "%s", r.head);
  cr_assert_eq(r.body_len, 0, "a body after HEAD: %s", r.body);
  reply_free(&r);
  http("POST", "/metrics", "x", &r);
  cr_assert_eq(r.status, 405, "%s", r.head);
  cr_assert(strstr(r.head, "\r\nAllow: GET, HEAD\r\n"), "%s", r.head);
  reply_free(&r);
  http("GET", "/metrics/", "", &r);
  cr_assert_eq(r.status, 404, "%s", r.head);
  reply_free(&r);
  tu_daemon_stop_clean(&d);
}
