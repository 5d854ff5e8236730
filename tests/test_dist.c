/* SPDX-License-Identifier: MIT */
/*
 * tend submit / worker / results on Redis Streams, end to end: each test
 * starts its own redis-server (127.0.0.1 on a free port, no persistence,
 * in a temporary directory), drives the real tend binary, looks into the
 * streams with hiredis's blocking API, and stops everything by pid.
 *
 * No sleeps: waits are on events with deadlines (redis's log and files
 * through inotify, exits through pidfds, results through `tend results
 * --wait --timeout`). The test process is a child subreaper, so anything
 * left behind (a task orphaned by a worker killed on purpose) is found
 * and killed at the end; a test that leaves something unplanned fails.
 * The last test drives the library itself (tend/dist.h) on a loop of its
 * own, as the daemon would run a node agent.
 */
#include "looputil.h"
#include "testutil.h"
#include "tend/dist.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- processes ------------------------------------------------------------ */

/* Start argv in the background, its own process group, stdin /dev/null,
 * stdout and stderr appended to log (or /dev/null). */
static pid_t spawn_bg(const char *const argv[], const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log ? log : "/dev/null",
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  return tu_spawn((char *const *)argv, &fa);
}

/* Wait for our child pid to exit (deadline): its wait status, or -1. */
static int wait_exit(pid_t pid, int deadline_ms) {
  int st;
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0) /* not ours, or already reaped */
    return waitpid(pid, &st, WNOHANG) == pid ? st : -1;
  struct pollfd p = {pfd, POLLIN, 0};
  int r = poll(&p, 1, deadline_ms);
  close(pfd);
  if (r != 1 || waitpid(pid, &st, WNOHANG) != pid)
    return -1;
  return st;
}

/* ---- redis-server ------------------------------------------------------------ */

typedef struct {
  pid_t pid;
  int port;
  char *dir, *log, *sock;
} redis_t;

static redis_t R; /* one per test */

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  socklen_t len = sizeof(sa);
  cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* Start redis-server (extra: more "--key", "value" pairs, NULL-ended) on
 * r->port (a free one when 0); wait until it accepts connections. */
static void redis_start_on(redis_t *r, const char *const *extra) {
  if (r->dir == NULL) {
    r->dir = tu_fmt("%s/redis", tu_test_dir());
    cr_assert(mkdir(r->dir, 0700) == 0);
    r->log = tu_fmt("%s/redis.log", r->dir);
    r->sock = tu_fmt("%s/redis.sock", r->dir);
  }
  if (r->port == 0)
    r->port = free_port();
  unlink(r->log);
  char port[16];
  snprintf(port, sizeof(port), "%d", r->port);
  const char *argv[40] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", r->dir, "--daemonize", "no",
                          "--logfile", r->log, "--unixsocket", r->sock,
                          "--unixsocketperm", "700"};
  int n = 19;
  for (int i = 0; extra != NULL && extra[i] != NULL; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  r->pid = spawn_bg(argv, NULL);
  cr_assert(tu_wait_file_contains(r->log, "Ready to accept connections", 10000),
            "redis-server did not start (see %s)", r->log);
}

static void redis_start(const char *const *extra) { redis_start_on(&R, extra); }

static void redis_kill(redis_t *r, int sig) {
  if (r->pid <= 0)
    return;
  kill(r->pid, sig);
  int st = wait_exit(r->pid, 5000);
  if (st == -1) {
    kill(r->pid, SIGKILL);
    wait_exit(r->pid, 5000);
  }
  r->pid = 0;
}

static char *url(void) { return tu_fmt("redis://127.0.0.1:%d", R.port); }

/* A hiredis connection to look into the streams. */
static redisContext *rc(void) {
  struct timeval tv = {5, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", R.port, tv);
  cr_assert(c != NULL && c->err == 0, "connect to redis: %s", c ? c->errstr : "?");
  redisSetTimeout(c, tv);
  return c;
}

static long long xlen(const char *key) {
  redisContext *c = rc();
  redisReply *r = redisCommand(c, "XLEN %s", key);
  cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
  long long n = r->integer;
  freeReplyObject(r);
  redisFree(c);
  return n;
}

/* ---- tend -------------------------------------------------------------------- */

/* A worker in the background, its stderr in DIR/NAME.log. */
static pid_t worker(const char *name, const char *const *more) {
  char *u = url(), *log = tu_fmt("%s/%s.log", tu_test_dir(), name);
  const char *argv[40] = {tu_tend(), "worker", "--redis", u, "--name", name, "-v"};
  int n = 7;
  for (int i = 0; more != NULL && more[i] != NULL; i++)
    argv[n++] = more[i];
  argv[n] = NULL;
  pid_t pid = spawn_bg(argv, log);
  cr_assert(tu_wait_file_contains(log, "connected to Redis", 10000),
            "worker %s did not connect (see %s)", name, log);
  free(u);
  free(log);
  return pid;
}

static char *wlog_path(const char *name) { return tu_fmt("%s/%s.log", tu_test_dir(), name); }

/* tend submit ARGS: the id it printed. */
static char *submit_v(const char *const *args) {
  char *u = url();
  const char *argv[40] = {"submit", "--redis", u};
  int n = 3;
  for (int i = 0; args[i] != NULL; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  tu_result_t r;
  tu_tend_v(&r, NULL, 0, 10000, argv);
  cr_assert_eq(r.exit_code, 0, "tend submit: exit %d: %s", r.exit_code, r.err);
  size_t len = strcspn(r.out, "\n");
  cr_assert(len > 0 && r.out[len] == '\n' && r.out[len + 1] == '\0', "ids: '%s'", r.out);
  char *id = strndup(r.out, len);
  tu_result_free(&r);
  free(u);
  return id;
}
#define SUBMIT(...) submit_v((const char *const[]){__VA_ARGS__, NULL})

/* tend results --wait ID --json: the parsed result; *status gets the exit. */
static json_t *wait_result_on(const char *stream, const char *id, int timeout_s, int *status) {
  char *u = url(), to[16];
  snprintf(to, sizeof(to), "%d", timeout_s);
  tu_result_t r;
  TEND(&r, (timeout_s + 5) * 1000, "results", "--redis", u, "--stream", stream, "--json",
       "--timeout", to, "--wait", id);
  cr_assert(r.exit_code == 0 || r.exit_code == 3, "tend results --wait %s: exit %d: %s", id,
            r.exit_code, r.err);
  if (status != NULL)
    *status = r.exit_code;
  json_error_t je;
  json_t *j = json_loads(r.out, 0, &je);
  cr_assert(j != NULL, "result of %s is not JSON: %s (%s)", id, r.out, je.text);
  tu_result_free(&r);
  free(u);
  return j;
}

static json_t *wait_result(const char *id, int timeout_s, int *status) {
  return wait_result_on("tend", id, timeout_s, status);
}

static const char *jstr(json_t *j, const char *k) {
  json_t *v = json_object_get(j, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long jint(json_t *j, const char *k) {
  json_t *v = json_object_get(j, k);
  cr_assert(json_is_integer(v), "%s is not an integer", k);
  return json_integer_value(v);
}

/* SIGTERM a worker and check it exits 0 in time. */
static void stop_worker(pid_t pid) {
  kill(pid, SIGTERM);
  int st = wait_exit(pid, 15000);
  cr_assert(st != -1, "worker %d did not stop on SIGTERM", (int)pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker exit status 0x%x", st);
}

/* ---- the suite ----------------------------------------------------------------- */

static void init(void) {
  tu_strays_init();
  memset(&R, 0, sizeof(R));
}

static void fini(void) {
  redis_kill(&R, SIGKILL);
  tu_strays_fini();
}

/* Everything a test started is gone: redis stopped, workers stopped. */
static void assert_clean(void) {
  redis_kill(&R, SIGTERM);
  tu_assert_no_strays(500);
}

TestSuite(dist, .init = init, .fini = fini, .timeout = 60);

/* ---- usage and connection errors ------------------------------------------------- */

Test(dist, a_redis_url_is_required) {
  tu_result_t r;
  TEND(&r, 5000, "worker", "--stream", "s");
  cr_assert_eq(r.exit_code, 2);
  cr_assert(strstr(r.err, "a Redis URL is required: --redis redis://") != NULL, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 5000, "results", "--wait", "1-0");
  cr_assert_eq(r.exit_code, 2);
  cr_assert(strstr(r.err, "tend results: a Redis URL is required") != NULL, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 5000, "submit", "--stream", "s", "--", "true");
  cr_assert_eq(r.exit_code, 2);
  cr_assert(strstr(r.err, "tend submit: a Redis URL is required") != NULL, "%s", r.err);
  tu_result_free(&r);
  /* Both forms of submit in its help. */
  TEND(&r, 5000, "submit", "--help");
  cr_assert_eq(r.exit_code, 0);
  cr_assert(strstr(r.out, "--redis URL") != NULL && strstr(r.out, "POOL -- CMD") != NULL);
  tu_result_free(&r);
}

Test(dist, bad_urls_are_usage_errors_and_hide_the_password) {
  static const char *const bad[] = {
      "http://h:1",           "redis://",           "redis://h:0",         "redis://h:99999",
      "redis://h:12x",        "redis://h/notadb",   "redis://[::1",        "unix://relative/sock",
      "unix://",              "redis://h?x=1",      "rediss://h",          "redis://u:secret%zz@h",
      "redis://user@h",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tu_result_t r;
    TEND(&r, 5000, "worker", "--redis", bad[i]);
    cr_assert_eq(r.exit_code, 2, "%s: exit %d: %s", bad[i], r.exit_code, r.err);
    cr_assert(strstr(r.err, "invalid Redis URL") != NULL, "%s: %s", bad[i], r.err);
    cr_assert(strstr(r.err, "secret") == NULL, "the password shows: %s", r.err);
    tu_result_free(&r);
  }
  tu_result_t r;
  TEND(&r, 5000, "results", "--redis", "redis://u:secret@h:70000");
  cr_assert_eq(r.exit_code, 2);
  cr_assert(strstr(r.err, "'redis://u:***@h:70000'") != NULL, "%s", r.err);
  tu_result_free(&r);
}

Test(dist, unreachable_server_exits_4) {
  int port = free_port(); /* nobody listens there */
  char *u = tu_fmt("redis://127.0.0.1:%d", port), *where = tu_fmt("127.0.0.1:%d", port);
  tu_result_t r;
  TEND(&r, 10000, "worker", "--redis", u);
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  cr_assert(strstr(r.err, "cannot connect to Redis at") != NULL && strstr(r.err, where) != NULL &&
                strstr(r.err, "refused") != NULL,
            "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "submit", "--redis", u, "--", "true");
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  cr_assert_str_empty(r.out);
  tu_result_free(&r);
  TEND(&r, 10000, "results", "--redis", u, "--wait", "1-0");
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  tu_result_free(&r);
  char *sock = tu_fmt("unix://%s/none.sock", tu_test_dir());
  TEND(&r, 10000, "results", "--redis", sock);
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  cr_assert(strstr(r.err, "No such file or directory") != NULL, "%s", r.err);
  tu_result_free(&r);
  /* A name that does not resolve, looked up off the loop. */
  TEND(&r, 20000, "submit", "--redis", "redis://no-such-host.invalid", "--", "true");
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  cr_assert(strstr(r.err, "no-such-host.invalid") != NULL, "%s", r.err);
  tu_result_free(&r);
  free(u);
  free(where);
  free(sock);
  assert_clean();
}

Test(dist, authentication) {
  redis_start((const char *const[]){"--requirepass", "s3cret", "--user", "alice", "on",
                                    ">wonder", "~*", "&*", "+@all", NULL});
  tu_result_t r;
  char *none = tu_fmt("redis://127.0.0.1:%d", R.port);
  char *wrong = tu_fmt("redis://:nope@127.0.0.1:%d", R.port);
  char *good = tu_fmt("redis://:s3cret@127.0.0.1:%d/0", R.port);
  char *acl = tu_fmt("redis://alice:wonder@127.0.0.1:%d", R.port);
  char *aclbad = tu_fmt("redis://alice:s3cret@127.0.0.1:%d", R.port);
  TEND(&r, 10000, "submit", "--redis", none, "--", "true");
  cr_assert_eq(r.exit_code, 1, "%s", r.err);
  cr_assert(strstr(r.err, "wants a password") != NULL, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "worker", "--redis", wrong);
  cr_assert_eq(r.exit_code, 1, "%s", r.err);
  cr_assert(strstr(r.err, "refused the credentials") != NULL, "%s", r.err);
  cr_assert(strstr(r.err, "nope") == NULL, "the password shows: %s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "results", "--redis", aclbad);
  cr_assert_eq(r.exit_code, 1, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "submit", "--redis", good, "--", "true");
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "submit", "--redis", acl, "--", "true");
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "results", "--redis", acl);
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  tu_result_free(&r);
  free(none), free(wrong), free(good), free(acl), free(aclbad);
  assert_clean();
}

/* ---- running tasks ----------------------------------------------------------------- */

Test(dist, a_task_runs_and_its_result_says_everything) {
  redis_start(NULL);
  pid_t w = worker("w1", (const char *const[]){"-j", "2", NULL});
  char *cwd = tu_fmt("%s", tu_test_dir());
  char *id = SUBMIT("--env", "FOO=bar baz", "--cwd", cwd, "--", "sh", "-c",
                    "echo \"out $FOO $(pwd) $TEND_TASK_ID $TEND_TASK_ATTEMPT $TEND_WORKER\"; "
                    "echo err >&2; exit 3");
  int st;
  json_t *j = wait_result(id, 10, &st);
  cr_assert_eq(st, 3, "a task that failed: results --wait exits 3");
  cr_assert_str_eq(jstr(j, "id"), id);
  cr_assert_str_eq(jstr(j, "status"), "failed");
  cr_assert_eq(jint(j, "exit_code"), 3);
  cr_assert(json_is_null(json_object_get(j, "signal")));
  char *want = tu_fmt("out bar baz %s %s 1 w1\n", cwd, id);
  cr_assert_str_eq(jstr(j, "stdout"), want);
  cr_assert_str_eq(jstr(j, "stderr"), "err\n");
  cr_assert_eq(jint(j, "attempt"), 1);
  cr_assert_str_eq(jstr(j, "worker"), "w1");
  char host[256];
  gethostname(host, sizeof(host));
  cr_assert_str_eq(jstr(j, "host"), host);
  cr_assert(jint(j, "duration_ms") >= 0 && jint(j, "duration_ms") < 5000);
  cr_assert(json_is_array(json_object_get(j, "command")));
  json_decref(j);

  /* Text form, and a success exits 0. */
  char *ok = SUBMIT("--", "printf", "hello\\n");
  char *u = url();
  tu_result_t r;
  TEND(&r, 15000, "results", "--redis", u, "--timeout", "10", "--wait", ok);
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  char *head = tu_fmt("%s: exit 0, attempt 1, worker w1 on %s, ", ok, host);
  cr_assert(strncmp(r.out, head, strlen(head)) == 0, "%s", r.out);
  cr_assert(strstr(r.out, " s\nhello\n") != NULL, "%s", r.out);
  tu_result_free(&r);

  /* Everything so far, in order, then it exits. */
  TEND(&r, 10000, "results", "--redis", u, "--json");
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  const char *second = strchr(r.out, '\n');
  cr_assert(second != NULL && strstr(r.out, id) < second && strstr(second, ok) != NULL, "%s",
            r.out);
  tu_result_free(&r);
  cr_assert_eq(xlen("tend"), 2);
  cr_assert_eq(xlen("tend:results"), 2);

  /* Acknowledged: nothing is pending in the group. */
  redisContext *c = rc();
  redisReply *p = redisCommand(c, "XPENDING tend tend");
  cr_assert(p != NULL && p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0);
  freeReplyObject(p);
  redisFree(c);
  stop_worker(w);
  free(cwd), free(id), free(want), free(ok), free(u), free(head);
  assert_clean();
}

Test(dist, from_stdin_one_task_per_line) {
  redis_start(NULL);
  char *u = url();
  tu_result_t r;
  TEND_IN(&r, "echo one 'two three'\n\nsh -c 'exit 2'\n", 10000, "submit", "--redis", u,
          "--stream", "lines", "--from-stdin");
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  char id1[64], id2[64];
  cr_assert(sscanf(r.out, "%63s %63s", id1, id2) == 2, "%s", r.out);
  tu_result_free(&r);
  TEND_IN(&r, "x y\nz", 10000, "submit", "--redis", u, "--stream", "lines", "--from-stdin", "--",
          "printf", "<%s>");
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  char id3[64], id4[64];
  cr_assert(sscanf(r.out, "%63s %63s", id3, id4) == 2, "%s", r.out);
  tu_result_free(&r);
  TEND_IN(&r, "echo 'unclosed\n", 10000, "submit", "--redis", u, "--stream", "lines",
          "--from-stdin");
  cr_assert_eq(r.exit_code, 1, "a line that does not split is an error");
  cr_assert(strstr(r.err, "stdin line 1") != NULL, "%s", r.err);
  tu_result_free(&r);

  pid_t w = worker("w", (const char *const[]){"--stream", "lines", NULL});
  TEND(&r, 15000, "results", "--redis", u, "--stream", "lines", "--json", "--timeout", "10",
       "--wait", id1, id2, id3, id4);
  cr_assert_eq(r.exit_code, 3, "one of them exits 2: %s", r.err);
  json_t *got[4] = {0};
  const char *ids[4] = {id1, id2, id3, id4};
  for (char *line = strtok(r.out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    json_t *j = json_loads(line, 0, NULL);
    cr_assert(j != NULL);
    for (int i = 0; i < 4; i++)
      if (strcmp(jstr(j, "id"), ids[i]) == 0)
        got[i] = j;
  }
  for (int i = 0; i < 4; i++)
    cr_assert(got[i] != NULL, "no result for %s", ids[i]);
  cr_assert_str_eq(jstr(got[0], "stdout"), "one two three\n");
  cr_assert_eq(jint(got[1], "exit_code"), 2);
  cr_assert_str_eq(jstr(got[2], "stdout"), "<x y>");
  cr_assert_str_eq(jstr(got[3], "stdout"), "<z>");
  for (int i = 0; i < 4; i++)
    json_decref(got[i]);
  tu_result_free(&r);
  stop_worker(w);
  free(u);
  assert_clean();
}

Test(dist, jobs_run_at_once) {
  redis_start(NULL);
  /* Three tasks that each wait for all three to have started: they end
   * only if the worker runs them at the same time. */
  char *barrier = tu_fmt("touch %s/started.$TEND_TASK_ID; i=0; "
                         "while [ $(ls %s | grep -c '^started') -lt 3 ]; do "
                         "i=$((i+1)); [ $i -gt 500 ] && exit 1; sleep 0.01; done; echo ok",
                         tu_test_dir(), tu_test_dir());
  char *ids[3];
  for (int i = 0; i < 3; i++)
    ids[i] = SUBMIT("--", "sh", "-c", barrier);
  pid_t w = worker("w", (const char *const[]){"-j", "3", NULL});
  for (int i = 0; i < 3; i++) {
    int st;
    json_t *j = wait_result(ids[i], 15, &st);
    cr_assert_eq(st, 0, "task %d: %s", i, jstr(j, "stderr"));
    cr_assert_str_eq(jstr(j, "stdout"), "ok\n");
    json_decref(j);
    free(ids[i]);
  }
  stop_worker(w);
  free(barrier);
  assert_clean();
}

Test(dist, output_cap_timeout_and_errors) {
  redis_start(NULL);
  pid_t w = worker("w", (const char *const[]){"--output-cap", "1000", "-j", "4", NULL});
  char *big =
      SUBMIT("--", "sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x; printf 'caf\\303\\251' >&2");
  char *slow = SUBMIT("--timeout", "0.3", "--", "sleep", "30");
  char *missing = SUBMIT("--", "no-such-command-here");
  char *badcwd = SUBMIT("--cwd", "/no/such/dir", "--", "true");
  char *binary = SUBMIT("--", "printf", "\\377\\376ok");

  json_t *j = wait_result(big, 10, NULL);
  cr_assert_eq(strlen(jstr(j, "stdout")), 1000);
  cr_assert_eq(jint(j, "stdout_bytes"), 5000);
  cr_assert(json_is_true(json_object_get(j, "stdout_truncated")));
  cr_assert_str_eq(jstr(j, "stderr"), "caf\xc3\xa9");
  cr_assert(json_is_false(json_object_get(j, "stderr_truncated")));
  json_decref(j);

  j = wait_result(slow, 10, NULL);
  cr_assert(json_is_true(json_object_get(j, "timed_out")));
  cr_assert_str_eq(jstr(j, "signal"), "SIGTERM");
  cr_assert_str_eq(jstr(j, "status"), "failed");
  cr_assert(jint(j, "duration_ms") < 3000);
  json_decref(j);

  j = wait_result(missing, 10, NULL);
  cr_assert_str_eq(jstr(j, "status"), "failed");
  cr_assert(json_is_null(json_object_get(j, "exit_code")));
  cr_assert(strstr(jstr(j, "error"), "cannot run 'no-such-command-here'") != NULL);
  json_decref(j);

  j = wait_result(badcwd, 10, NULL);
  cr_assert(strstr(jstr(j, "error"), "working directory '/no/such/dir'") != NULL,
            "%s", jstr(j, "error"));
  json_decref(j);

  j = wait_result(binary, 10, NULL);
  cr_assert_str_eq(jstr(j, "stdout_base64"), "//5vaw==");
  json_decref(j);

  /* The text form prints the exact bytes. */
  char *u = url();
  tu_result_t r;
  TEND(&r, 10000, "results", "--redis", u, "--wait", binary);
  cr_assert_eq(r.exit_code, 0);
  cr_assert(r.out_len >= 4 && memcmp(r.out + r.out_len - 4, "\377\376ok", 4) == 0);
  tu_result_free(&r);
  TEND(&r, 10000, "results", "--redis", u, "--wait", missing);
  cr_assert_eq(r.exit_code, 3);
  cr_assert(strstr(r.out, ": cannot run 'no-such-command-here': No such file or directory") !=
                NULL, "%s", r.out);
  tu_result_free(&r);
  stop_worker(w);
  free(big), free(slow), free(missing), free(badcwd), free(binary), free(u);
  assert_clean();
}

/* ---- guarantees ---------------------------------------------------------------------- */

Test(dist, at_least_once_a_killed_worker_loses_nothing) {
  redis_start(NULL);
  /* Attempt 1 hangs (and says where); attempt 2 finishes. */
  char *script = tu_fmt("echo $$ > %s/pid.$TEND_TASK_ATTEMPT; "
                        "[ \"$TEND_TASK_ATTEMPT\" = 1 ] && exec sleep 60; "
                        "echo done on $TEND_WORKER",
                        tu_test_dir());
  pid_t a = worker("a", (const char *const[]){"--visibility", "1", "-j", "1", NULL});
  char *id = SUBMIT("--", "sh", "-c", script);
  char *pidfile = tu_fmt("%s/pid.1", tu_test_dir());
  long task = tu_wait_number_file(pidfile, 10000);
  cr_assert(task > 0, "attempt 1 did not start");
  kill(a, SIGKILL);
  int st = wait_exit(a, 5000);
  cr_assert(st != -1 && WIFSIGNALED(st));
  kill((pid_t)task, SIGKILL); /* the orphan of the dead worker */
  cr_assert(tu_wait_gone((pid_t)task, 5000));
  int64_t t0 = tu_now_ms();
  pid_t b = worker("b", (const char *const[]){"--visibility", "1", NULL});
  json_t *j = wait_result(id, 15, &st);
  int64_t took = tu_now_ms() - t0;
  cr_assert_eq(st, 0);
  cr_assert_eq(jint(j, "attempt"), 2);
  cr_assert_str_eq(jstr(j, "worker"), "b");
  cr_assert_str_eq(jstr(j, "stdout"), "done on b\n");
  cr_assert(took < 8000, "taken over after %lld ms", (long long)took);
  json_decref(j);
  cr_assert_eq(xlen("tend:results"), 1);
  char *blog = wlog_path("b");
  cr_assert(tu_file_count(blog, "taken over") == 1);
  stop_worker(b);
  free(script), free(id), free(pidfile), free(blog);
  assert_clean();
}

Test(dist, a_running_task_stays_with_its_worker_past_the_visibility_timeout) {
  redis_start(NULL);
  pid_t a = worker("a", (const char *const[]){"--visibility", "0.5", "-j", "1", NULL});
  char *id = SUBMIT("--", "sh", "-c", "sleep 2; echo $TEND_WORKER");
  char *alog = wlog_path("a");
  cr_assert(tu_wait_file_contains(alog, "attempt 1: sh", 10000));
  pid_t b = worker("b", (const char *const[]){"--visibility", "0.5", NULL});
  int st;
  json_t *j = wait_result(id, 15, &st);
  cr_assert_eq(st, 0);
  cr_assert_str_eq(jstr(j, "stdout"), "a\n");
  cr_assert_eq(jint(j, "attempt"), 1);
  json_decref(j);
  char *blog = wlog_path("b");
  cr_assert(tu_file_count(blog, "taken over") == 0, "b took the task of a live worker");
  cr_assert_eq(xlen("tend:results"), 1);
  stop_worker(a);
  stop_worker(b);
  free(id), free(alog), free(blog);
  assert_clean();
}

Test(dist, a_poison_task_goes_to_dead_after_max_attempts) {
  redis_start(NULL);
  /* Each run kills the worker running it. */
  char *id = SUBMIT("--max-attempts", "2", "--", "sh", "-c", "kill -KILL $PPID");
  char *names[2] = {"p1", "p2"};
  for (int i = 0; i < 2; i++) {
    pid_t p = worker(names[i], (const char *const[]){"--visibility", "0.5", NULL});
    int st = wait_exit(p, 15000);
    cr_assert(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
              "worker %s should have been killed by its task (0x%x)", names[i], st);
  }
  pid_t last = worker("p3", (const char *const[]){"--visibility", "0.5", NULL});
  int st;
  json_t *j = wait_result(id, 15, &st);
  cr_assert_eq(st, 3);
  cr_assert_str_eq(jstr(j, "status"), "dead");
  cr_assert_eq(jint(j, "attempt"), 2);
  cr_assert(strstr(jstr(j, "error"), "attempt 2 of 2 lost") != NULL, "%s", jstr(j, "error"));
  json_decref(j);

  redisContext *c = rc();
  redisReply *r = redisCommand(c, "XRANGE tend:dead - +");
  cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
  redisReply *f = r->element[0]->element[1];
  bool saw_id = false, saw_err = false, saw_attempts = false, saw_task = false;
  for (size_t i = 0; i + 1 < f->elements; i += 2) {
    const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
    saw_id |= strcmp(k, "id") == 0 && strcmp(v, id) == 0;
    saw_err |= strcmp(k, "error") == 0 && strstr(v, "visibility timeout") != NULL;
    saw_attempts |= strcmp(k, "attempts") == 0 && strcmp(v, "2") == 0;
    saw_task |= strcmp(k, "task") == 0 && strstr(v, "kill -KILL $PPID") != NULL;
  }
  cr_assert(saw_id && saw_err && saw_attempts && saw_task);
  freeReplyObject(r);
  r = redisCommand(c, "XPENDING tend tend");
  cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == 0,
            "the dead task is acknowledged");
  freeReplyObject(r);
  redisFree(c);
  stop_worker(last);
  free(id);
  assert_clean();
}

Test(dist, sigterm_lets_running_tasks_finish) {
  redis_start(NULL);
  pid_t w = worker("w", (const char *const[]){"-j", "1", NULL});
  char *flag = tu_fmt("%s/started", tu_test_dir());
  char *script = tu_fmt("echo 1 > %s; sleep 0.5; echo finished", flag);
  char *id = SUBMIT("--", "sh", "-c", script);
  cr_assert(tu_wait_number_file(flag, 10000) == 1);
  int64_t t0 = tu_now_ms();
  stop_worker(w);
  cr_assert(tu_now_ms() - t0 < 5000);
  json_t *j = wait_result(id, 5, NULL);
  cr_assert_str_eq(jstr(j, "stdout"), "finished\n");
  cr_assert_str_eq(jstr(j, "status"), "succeeded");
  json_decref(j);
  char *log = wlog_path("w");
  cr_assert(tu_file_count(log, "1 task done (0 failed), 0 handed back") == 1);
  free(flag), free(script), free(id), free(log);
  assert_clean();
}

Test(dist, sigterm_hands_back_what_outlives_the_grace) {
  redis_start(NULL);
  pid_t a = worker("a", (const char *const[]){"-j", "1", "--grace", "0.2", NULL});
  char *flag = tu_fmt("%s/started", tu_test_dir());
  char *script = tu_fmt("[ \"$TEND_WORKER\" = b ] && { echo on b, attempt $TEND_TASK_ATTEMPT; "
                        "exit 0; }; echo 1 > %s; exec sleep 30", flag);
  char *id = SUBMIT("--", "sh", "-c", script);
  cr_assert(tu_wait_number_file(flag, 10000) == 1);
  int64_t t0 = tu_now_ms();
  stop_worker(a);
  cr_assert(tu_now_ms() - t0 < 5000);
  char *alog = wlog_path("a");
  cr_assert(tu_file_count(alog, "handed back") >= 1);
  /* b's visibility timeout is the default 30 s: it takes the task at once
   * only because it was handed back. */
  pid_t b = worker("b", NULL);
  int st;
  json_t *j = wait_result(id, 10, &st);
  cr_assert_eq(st, 0);
  cr_assert_str_eq(jstr(j, "stdout"), "on b, attempt 1\n", "a hand-back costs no attempt");
  cr_assert_eq(jint(j, "attempt"), 1);
  json_decref(j);
  cr_assert_eq(xlen("tend:results"), 1);
  stop_worker(b);
  free(flag), free(script), free(id), free(alog);
  assert_clean();
}

Test(dist, redis_restarts_and_the_worker_goes_on) {
  redis_start(NULL);
  pid_t w = worker("w", NULL);
  char *u = url();
  /* A follower across the restart. */
  char *flog = tu_fmt("%s/follow.log", tu_test_dir());
  pid_t f = spawn_bg((const char *const[]){tu_tend(), "results", "--redis", u, "--follow",
                                           "--json", NULL},
                     flog);
  char *id1 = SUBMIT("--", "echo", "before");
  json_t *j = wait_result(id1, 10, NULL);
  cr_assert_str_eq(jstr(j, "stdout"), "before\n");
  json_decref(j);
  cr_assert(tu_wait_file_contains(flog, id1, 10000));

  redis_kill(&R, SIGKILL); /* a crash: everything in it is gone (no persistence) */
  char *log = wlog_path("w");
  cr_assert(tu_wait_file_contains(log, "reconnecting", 10000));
  redis_start(NULL); /* the same port */
  cr_assert(tu_wait_file_contains(log, "connected to Redis at 127.0.0.1", 10000));
  cr_assert(tu_wait_file_contains(log, "again", 15000), "the worker did not reconnect");
  char *id2 = SUBMIT("--", "echo", "after");
  j = wait_result(id2, 10, NULL);
  cr_assert_str_eq(jstr(j, "stdout"), "after\n");
  json_decref(j);
  cr_assert(tu_wait_file_contains(flog, id2, 15000), "the follower did not go on");
  kill(f, SIGTERM);
  int st = wait_exit(f, 5000);
  cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "follower: 0x%x", st);
  stop_worker(w);
  free(u), free(flog), free(id1), free(id2), free(log);
  assert_clean();
}

Test(dist, unix_socket_and_database_number) {
  redis_start(NULL);
  char *u = tu_fmt("unix://%s?db=3", R.sock);
  tu_result_t r;
  TEND(&r, 10000, "submit", "--redis", u, "--stream", "jobs", "--", "echo", "in db 3");
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  char id[64];
  cr_assert(sscanf(r.out, "%63s", id) == 1);
  tu_result_free(&r);
  cr_assert_eq(xlen("jobs"), 0, "db 0 holds nothing");
  char *tcp3 = tu_fmt("redis://127.0.0.1:%d/3", R.port);
  char *wlog = tu_fmt("%s/w3.log", tu_test_dir());
  pid_t w = spawn_bg((const char *const[]){tu_tend(), "worker", "--redis", tcp3, "--stream",
                                           "jobs", NULL},
                     wlog);
  cr_assert(tu_wait_file_contains(wlog, "connected to Redis", 10000));
  TEND(&r, 15000, "results", "--redis", u, "--stream", "jobs", "--timeout", "10", "--wait", id);
  cr_assert_eq(r.exit_code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "in db 3\n") != NULL, "%s", r.out);
  tu_result_free(&r);
  redisContext *c = rc();
  redisReply *x = redisCommand(c, "SELECT 3");
  freeReplyObject(x);
  x = redisCommand(c, "XLEN jobs:results");
  cr_assert(x != NULL && x->type == REDIS_REPLY_INTEGER && x->integer == 1);
  freeReplyObject(x);
  redisFree(c);
  stop_worker(w);
  free(u), free(tcp3), free(wlog);
  assert_clean();
}

/* ---- timeouts: hiredis has none, tend's timers do ----------------------------------- */

Test(dist, a_server_that_never_answers_times_out) {
  /* The kernel completes the connect (backlog); nothing ever answers. */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 16) == 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  char *u = tu_fmt("redis://127.0.0.1:%d", ntohs(sa.sin_port));
  tu_result_t r;
  TEND(&r, 10000, "submit", "--redis", u, "--redis-timeout", "0.5", "--", "true");
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  cr_assert(strstr(r.err, "no answer from Redis at 127.0.0.1:") != NULL &&
                strstr(r.err, "within 0.5 s") != NULL, "%s", r.err);
  cr_assert(r.seconds < 3, "took %.1f s", r.seconds);
  tu_result_free(&r);
  TEND(&r, 10000, "worker", "--redis", u, "--redis-timeout", "0.3");
  cr_assert_eq(r.exit_code, 4, "%s", r.err);
  tu_result_free(&r);
  close(fd);
  free(u);
  assert_clean();
}

Test(dist, a_frozen_server_is_dropped_then_found_again) {
  redis_start(NULL);
  pid_t w = worker("w", (const char *const[]){"--redis-timeout", "0.4", NULL});
  char *log = wlog_path("w");
  kill(R.pid, SIGSTOP); /* up, but answering nothing */
  cr_assert(tu_wait_file_contains(log, "did not answer in time", 10000));
  cr_assert(tu_wait_file_contains(log, "no answer from Redis at", 10000),
            "reconnecting to a frozen server should time out too");
  kill(R.pid, SIGCONT);
  cr_assert(tu_wait_file_contains(log, "again", 15000), "the worker did not come back");
  char *id = SUBMIT("--", "echo", "thawed");
  json_t *j = wait_result(id, 10, NULL);
  cr_assert_str_eq(jstr(j, "stdout"), "thawed\n");
  json_decref(j);
  stop_worker(w);
  free(log), free(id);
  assert_clean();
}

/* ---- the library on a caller's loop (how the daemon runs a node agent) -------------- */

struct agent {
  bool retried, connected; /* it logged so */
  int stopped, client_closed;
  char id[64];
  bool got_result;
  char stdout_[64];
  int attempt;
};

static void agent_log_cb(tend_dist_worker_t *w, tend_dist_level_t level, const char *msg) {
  struct agent *A = tend_dist_worker_data(w);
  (void)level;
  if (strstr(msg, "trying again") != NULL)
    A->retried = true;
  if (strstr(msg, "connected to Redis") != NULL)
    A->connected = true;
}

static void agent_stopped_cb(tend_dist_worker_t *w) {
  struct agent *A = tend_dist_worker_data(w);
  A->stopped++;
}

static void agent_submitted_cb(tend_dist_client_t *c, void *arg, const char *id, const char *e) {
  struct agent *A = tend_dist_client_data(c);
  (void)arg;
  cr_assert(id != NULL, "submit: %s", e);
  snprintf(A->id, sizeof(A->id), "%s", id);
}

static void agent_result_cb(tend_dist_client_t *c, const tend_dist_result_t *r) {
  struct agent *A = tend_dist_client_data(c);
  if (strcmp(r->id, A->id) != 0)
    return;
  A->got_result = true;
  A->attempt = (int)r->attempt;
  snprintf(A->stdout_, sizeof(A->stdout_), "%.*s", (int)r->out_len[0], r->out[0]);
}

static void agent_client_err_cb(tend_dist_client_t *c, tend_dist_err_t kind, const char *msg,
                                bool retrying) {
  (void)c, (void)kind, (void)retrying;
  cr_assert(false, "client: %s", msg);
}

static void agent_client_closed_cb(tend_dist_client_t *c) {
  struct agent *A = tend_dist_client_data(c);
  A->client_closed++;
}

Test(dist, the_worker_is_a_library_object_on_the_callers_loop) {
  R.port = free_port(); /* Redis is not there yet: a daemon waits for it */
  char *u = url();
  uv_loop_t loop;
  cr_assert(uv_loop_init(&loop) == 0);
  struct agent A = {0};
  tend_dist_worker_opts_t o = {
      .url = u, .stream = "agent", .name = "node1", .jobs = 1, .visibility_ms = 1000,
      .fail_fast = false, .log_cb = agent_log_cb, .data = &A,
  };
  tend_dist_worker_t *w;
  char err[256];
  cr_assert(tend_dist_worker_start(&loop, &o, &w, err, sizeof(err)) == 0, "%s", err);
  cr_assert(lu_run_until(&loop, &A.retried, 10000), "no retry while Redis is away");
  redis_start(NULL);
  cr_assert(lu_run_until(&loop, &A.connected, 15000), "did not connect once Redis came");

  tend_dist_client_t *c;
  tend_dist_client_opts_t co = {.url = u, .stream = "agent", .error_cb = agent_client_err_cb,
                                .data = &A};
  cr_assert(tend_dist_client_open(&loop, &co, &c, err, sizeof(err)) == 0, "%s", err);
  int ready = 0;
  while (tend_dist_submit(c, &(tend_dist_task_t){.argv = (char *[]){"echo", "agent", NULL}},
                          agent_submitted_cb, NULL) == -ENOTCONN) {
    cr_assert(ready++ < 200, "the client never got ready");
    uv_run(&loop, UV_RUN_ONCE);
  }
  cr_assert(tend_dist_results_read(c, "0", true, agent_result_cb, NULL) == 0);
  cr_assert(lu_run_until(&loop, &A.got_result, 15000), "no result");
  cr_assert_str_eq(A.stdout_, "agent\n");
  cr_assert_eq(A.attempt, 1);
  tend_dist_worker_stats_t st;
  tend_dist_worker_stats(w, &st);
  cr_assert(st.connected && st.succeeded == 1 && st.taken == 1);
  cr_assert(!tend_dist_worker_owns_pid(w, getpid()));

  tend_dist_worker_stop(w, 1000, agent_stopped_cb);
  tend_dist_client_close(c, agent_client_closed_cb);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once every handle is closed */
  cr_assert_eq(A.stopped, 1);
  cr_assert_eq(A.client_closed, 1);
  cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
  free(u);
  assert_clean();
}

Test(dist, the_daemon_as_a_node_agent) {
  /* [worker:NAME] in a daemon's config: it takes tasks like tend worker,
   * logs to the daemon log, and stops with the daemon. */
  redis_start(NULL);
  char *u = url();
  char *text = tu_fmt("[worker:jobs]\nredis = %s\nworkers = 2\n", u);
  tu_daemon_t d;
  tu_daemon_start(&d, text);
  char *id = SUBMIT("--stream", "jobs", "--", "sh", "-c", "echo node $TEND_WORKER");
  int st;
  json_t *j = wait_result_on("jobs", id, 10, &st);
  cr_assert_eq(st, 0);
  cr_assert(strstr(jstr(j, "stdout"), "node ") == jstr(j, "stdout"), "%s", jstr(j, "stdout"));
  cr_assert(strstr(jstr(j, "worker"), "-jobs") != NULL, "%s", jstr(j, "worker"));
  json_decref(j);
  cr_assert(tu_file_count(d.log, "worker worker=jobs stream=jobs group=tend workers=2 "
                                 "state=started") == 1,
            "%s", tu_read_file(d.log, NULL));
  cr_assert_eq(tu_daemon_stop(&d), 0);
  free(id);
  free(text);
  free(u);
  assert_clean();
}
