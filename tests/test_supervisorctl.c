/* SPDX-License-Identifier: MIT */
/*
 * tend as a drop-in for supervisord 4.2.5 (issue #16), proved with the
 * real clients: Debian's /usr/bin/supervisorctl, started with -c on a
 * config whose [supervisorctl] serverurl names the daemon's
 * [unix_http_server] socket, and Python's xmlrpc.client
 * (tests/xmlrpc_client.py). Each test writes such a config in its own
 * directory, starts `tend daemon -c` on it, runs the client and asserts
 * its stdout and exit code as supervisord 4.2.5 prints them.
 *
 * TEND_PEER=supervisord runs the same tests against /usr/bin/supervisord
 * -n -c on the same config: the expected texts are supervisord's, and
 * that run is how they were checked. Without /usr/bin/supervisorctl the
 * tests are skipped, saying so.
 *
 * Waits have deadlines: the daemon's socket is awaited on inotify, a
 * process's state is asked over XML-RPC (a raw request on the socket)
 * until it is the one awaited. Every process is stopped by pid; the
 * suite is a child subreaper and checks nothing is left after each test.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUPERVISORCTL "/usr/bin/supervisorctl"
#define SUPERVISORD "/usr/bin/supervisord"
/* Debian's python, where the supervisor package is (not a pyenv's). */
#define PYTHON "/usr/bin/python3"

static bool peer_is_sd(void) {
  const char *p = getenv("TEND_PEER");
  return p != NULL && strcmp(p, "supervisord") == 0;
}

static void skip_without_supervisorctl(void) {
  if (access(SUPERVISORCTL, X_OK) != 0)
    cr_skip_test("%s is not installed (Debian's supervisor package): nothing to test against",
                 SUPERVISORCTL);
  if (peer_is_sd() && access(SUPERVISORD, X_OK) != 0)
    cr_skip_test("TEND_PEER=supervisord but %s is not installed", SUPERVISORD);
}

static void init(void) {
  tu_strays_init();
  /* A client or daemon gone mid-write is an assertion, not a crash (the
   * children get default dispositions back: tu_spawn, peer_launch). */
  signal(SIGPIPE, SIG_IGN);
}

static void fini(void) { tu_strays_fini(); }

TestSuite(supervisorctl, .init = init, .fini = fini, .timeout = 90);

/* ---- the daemon under test -------------------------------------------------- */

typedef struct {
  char dir[256];
  char conf[300];
  char sock[300];
  char out[300];  /* the daemon's stdout and stderr */
  char auth[128]; /* "user:password" for the raw requests, or "" */
  pid_t pid;
} peer_t;

/* text with every @ replaced by the test's directory. */
static char *at_dir(const peer_t *p, const char *text) {
  size_t n = 1;
  for (const char *s = text; *s != '\0'; s++)
    n += *s == '@' ? strlen(p->dir) : 1;
  char *out = malloc(n), *o = out;
  cr_assert(out != NULL);
  for (const char *s = text; *s != '\0'; s++) {
    if (*s == '@') {
      memcpy(o, p->dir, strlen(p->dir));
      o += strlen(p->dir);
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
  return out;
}

/* The config: supervisord's sections every test shares, then programs
 * (with @ for the test's directory). http_extra goes into
 * [unix_http_server], ctl_extra into [supervisorctl]. */
static void write_conf(peer_t *p, const char *programs, const char *http_extra,
                       const char *ctl_extra) {
  char *progs = at_dir(p, programs);
  char *text = tu_fmt("[unix_http_server]\n"
                      "file=%s\n"
                      "%s\n"
                      "[supervisord]\n"
                      "logfile=%s/main.log\n"
                      "pidfile=%s/supervisord.pid\n"
                      "childlogdir=%s\n"
                      "\n"
                      "[rpcinterface:supervisor]\n"
                      "supervisor.rpcinterface_factory = "
                      "supervisor.rpcinterface:make_main_rpcinterface\n"
                      "\n"
                      "[supervisorctl]\n"
                      "serverurl=unix://%s\n"
                      "%s\n"
                      "%s",
                      p->sock, http_extra, p->dir, p->dir, p->dir, p->sock, ctl_extra, progs);
  tu_write_file(p->conf, text);
  free(text);
  free(progs);
}

/* Start tend (or supervisord) on p->conf; wait (deadline) until its
 * socket answers. */
static void peer_launch(peer_t *p) {
  char *tend_argv[] = {(char *)tu_tend(), "daemon", "-c", p->conf, NULL};
  char *sd_argv[] = {SUPERVISORD, "-n", "-c", p->conf, NULL};
  char **argv = peer_is_sd() ? sd_argv : tend_argv;
  int status = 0;
  bool up = tu_serve(argv, p->out, p->sock, 20000, &p->pid, &status);
  if (!up) {
    char *log_text = tu_read_file(p->out, NULL);
    cr_assert_fail("%s did not come up on %s; its output:\n%s", argv[0], p->sock,
                   log_text != NULL ? log_text : "");
  }
}

static void peer_start_with(peer_t *p, const char *programs, const char *http_extra,
                            const char *ctl_extra) {
  skip_without_supervisorctl();
  memset(p, 0, sizeof(*p));
  snprintf(p->dir, sizeof(p->dir), "%s", tu_test_dir());
  snprintf(p->conf, sizeof(p->conf), "%s/supervisord.conf", p->dir);
  snprintf(p->sock, sizeof(p->sock), "%s/s.sock", p->dir);
  snprintf(p->out, sizeof(p->out), "%s/daemon.out", p->dir);
  write_conf(p, programs, http_extra, ctl_extra);
  peer_launch(p);
}

static void peer_start(peer_t *p, const char *programs) { peer_start_with(p, programs, "", ""); }

/* Wait for the daemon's exit (deadline); its wait status, or -1. */
static int peer_wait(peer_t *p, int deadline_ms) {
  if (p->pid <= 0)
    return -1;
  int pfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
  struct pollfd fd = {pfd, POLLIN, 0};
  if (pfd < 0 || poll(&fd, 1, deadline_ms) != 1) {
    if (pfd >= 0)
      close(pfd);
    return -1;
  }
  close(pfd);
  int status;
  waitpid(p->pid, &status, 0);
  p->pid = 0;
  return status;
}

/* SIGTERM, the exit awaited: clean (0) for tend; nothing left running. */
static void peer_stop(peer_t *p) {
  if (p->pid > 0) {
    pid_t pid = p->pid;
    kill(pid, SIGTERM);
    int status = peer_wait(p, 30000);
    if (status == -1) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      p->pid = 0;
      cr_assert_fail("the daemon did not stop on SIGTERM within 30 s");
    }
    if (!peer_is_sd()) {
      char *log = tu_read_file(p->out, NULL);
      cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "tend exited with wait status %d; its output:\n%s", status, log);
      free(log);
    }
  }
  tu_assert_no_strays(2000);
}

/* ---- supervisorctl --------------------------------------------------------------- */

/* supervisorctl -c CONF ARGS... (NULL-terminated); input on its stdin. */
static void ctl_in(peer_t *p, tu_result_t *r, const char *input, const char *const *args) {
  char *argv[32];
  int n = 0;
  argv[n++] = SUPERVISORCTL;
  argv[n++] = "-c";
  argv[n++] = p->conf;
  for (int i = 0; args[i] != NULL && n < 31; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;
  tu_run(argv, input, input != NULL ? strlen(input) : 0, 30000, r);
  cr_assert(!r->timed_out, "supervisorctl %s did not finish within 30 s", args[0]);
}

#define CTL(p, r, ...) ctl_in((p), (r), NULL, (const char *const[]){__VA_ARGS__, NULL})

/* Variable parts of supervisorctl's lines made fixed: "pid 123, uptime
 * 0:00:01" -> "pid N, uptime T"; a stop time "Dec 06 07:50 PM" -> "TIME". */
static char *normalize(const char *s) {
  static const struct {
    const char *re, *with;
  } rules[] = {
      {"pid [0-9]+, uptime [0-9:]+( days?, [0-9:]+)?", "pid N, uptime T"},
      {"[A-Z][a-z][a-z] [0-9][0-9] [0-9][0-9]:[0-9][0-9] [AP]M", "TIME"},
  };
  char *cur = strdup(s);
  for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
    regex_t re;
    cr_assert(regcomp(&re, rules[i].re, REG_EXTENDED) == 0);
    char *out = calloc(1, strlen(cur) * 2 + 64);
    char *o = out;
    const char *c = cur;
    regmatch_t m;
    while (regexec(&re, c, 1, &m, c == cur ? 0 : REG_NOTBOL) == 0) {
      memcpy(o, c, (size_t)m.rm_so);
      o += m.rm_so;
      strcpy(o, rules[i].with);
      o += strlen(rules[i].with);
      c += m.rm_eo;
    }
    strcpy(o, c);
    regfree(&re);
    free(cur);
    cur = out;
  }
  return cur;
}

/* supervisorctl's stdout, normalized, must be want and its exit code. */
#define expect_ctl(r, code, want)                                                              \
  do {                                                                                         \
    char *got_ = normalize((r)->out);                                                          \
    cr_expect(strcmp(got_, (want)) == 0 && (r)->exit_code == (code),                           \
              "supervisorctl exit %d, stdout:\n%s\nexpected exit %d, stdout:\n%s\nstderr: %s", \
              (r)->exit_code, got_, (code), (want), (r)->err);                                 \
    free(got_);                                                                                \
  } while (0)

/* Run supervisorctl ARGS and expect exit code and stdout. */
#define EXPECT_CTL(p, code, want, ...)                                                         \
  do {                                                                                         \
    tu_result_t r_;                                                                            \
    CTL((p), &r_, __VA_ARGS__);                                                                \
    expect_ctl(&r_, (code), (want));                                                           \
    tu_result_free(&r_);                                                                       \
  } while (0)

static int line_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* text's lines sorted (a new string). */
static char *sorted_lines(const char *text) {
  char *copy = strdup(text), *save = NULL;
  char *lines[256];
  size_t n = 0;
  for (char *l = strtok_r(copy, "\n", &save); l != NULL && n < 256; l = strtok_r(NULL, "\n", &save))
    lines[n++] = l;
  qsort(lines, n, sizeof(lines[0]), line_cmp);
  char *out = calloc(1, strlen(text) + 2), *o = out;
  for (size_t i = 0; i < n; i++)
    o += sprintf(o, "%s\n", lines[i]);
  free(copy);
  return out;
}

/* The same lines in any order: supervisord's stopAllProcesses gives
 * them as its processes stop. */
#define EXPECT_CTL_ANY_ORDER(p, code, want, ...)                                               \
  do {                                                                                         \
    tu_result_t r_;                                                                            \
    CTL((p), &r_, __VA_ARGS__);                                                                \
    char *got_ = sorted_lines(r_.out), *want_ = sorted_lines(want);                            \
    cr_expect(strcmp(got_, want_) == 0 && r_.exit_code == (code),                              \
              "supervisorctl exit %d, stdout:\n%s\nexpected exit %d and these lines in any "   \
              "order:\n%s\nstderr: %s",                                                        \
              r_.exit_code, r_.out, (code), (want), r_.err);                                   \
    free(got_);                                                                                \
    free(want_);                                                                               \
    tu_result_free(&r_);                                                                       \
  } while (0)

/* ---- XML-RPC by hand, for the waits ------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const char *in, char *out) {
  size_t n = strlen(in), o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)in[i] << 16;
    if (i + 1 < n)
      v |= (unsigned char)in[i + 1] << 8;
    if (i + 2 < n)
      v |= (unsigned char)in[i + 2];
    out[o++] = b64[(v >> 18) & 63];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? b64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* POST /RPC2 of method(string arg) (arg NULL: none); the response, or
 * NULL if the daemon did not answer (supervisord closes its socket while
 * it restarts: no SIGPIPE). */
static char *rpc_raw(peer_t *p, const char *method, const char *arg) {
  char *body = tu_fmt("<?xml version='1.0'?>\n<methodCall>\n<methodName>%s</methodName>\n"
                      "<params>\n%s%s%s</params>\n</methodCall>\n",
                      method, arg != NULL ? "<param>\n<value><string>" : "",
                      arg != NULL ? arg : "", arg != NULL ? "</string></value>\n</param>\n" : "");
  char auth[256] = "";
  if (p->auth[0] != '\0') {
    char enc[200];
    base64(p->auth, enc);
    snprintf(auth, sizeof(auth), "Authorization: Basic %s\r\n", enc);
  }
  char *req = tu_fmt("POST /RPC2 HTTP/1.0\r\nContent-Type: text/xml\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     auth, strlen(body), body);
  free(body);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", p->sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  char *resp = NULL;
  size_t len = 0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
    int64_t end = tu_now_ms() + 10000;
    char buf[65536];
    for (;;) {
      struct pollfd pf = {fd, POLLIN, 0};
      int64_t left = end - tu_now_ms();
      if (left <= 0 || poll(&pf, 1, (int)left) != 1)
        break;
      ssize_t k = read(fd, buf, sizeof(buf));
      if (k <= 0)
        break;
      resp = realloc(resp, len + (size_t)k + 1);
      memcpy(resp + len, buf, (size_t)k);
      len += (size_t)k;
      resp[len] = '\0';
    }
  }
  close(fd);
  free(req);
  return resp;
}

/* The text of the first <tag> after "<name>key</name>" in s, or "". */
static void member(const char *s, const char *key, const char *tag, char *out, size_t cap) {
  out[0] = '\0';
  char pat[64], open[32];
  snprintf(pat, sizeof(pat), "<name>%s</name>", key);
  snprintf(open, sizeof(open), "<%s>", tag);
  const char *k = s != NULL ? strstr(s, pat) : NULL;
  const char *v = k != NULL ? strstr(k, open) : NULL;
  if (v == NULL)
    return;
  v += strlen(open);
  size_t n = strcspn(v, "<");
  if (n >= cap)
    n = cap - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

/* name's statename ("" if unknown) and pid (0), asked over XML-RPC. */
static void proc_info(peer_t *p, const char *name, char *state, size_t cap, long *pid) {
  char *resp = rpc_raw(p, "supervisor.getProcessInfo", name);
  char num[32];
  member(resp, "statename", "string", state, cap);
  member(resp, "pid", "int", num, sizeof(num));
  *pid = atol(num);
  free(resp);
}

static long pid_of(peer_t *p, const char *name) {
  char state[32];
  long pid;
  proc_info(p, name, state, sizeof(state), &pid);
  return pid;
}

/* Wait (deadline) until name is in state; asks every 20 ms. */
static bool wait_state(peer_t *p, const char *name, const char *want, int deadline_ms) {
  int64_t end = tu_now_ms() + deadline_ms;
  char state[32];
  long pid;
  for (;;) {
    proc_info(p, name, state, sizeof(state), &pid);
    if (strcmp(state, want) == 0)
      return true;
    if (tu_now_ms() >= end)
      break;
    poll(NULL, 0, 20);
  }
  char *log = tu_read_file(p->out, NULL);
  cr_expect_fail("%s is %s, never %s within %d ms; daemon output:\n%s", name, state, want,
                 deadline_ms, log);
  free(log);
  return false;
}

#define ASSERT_STATE(p, name, state) cr_assert(wait_state((p), (name), (state), 15000))

/* ---- status ------------------------------------------------------------------------------ */

static const char conf_basic[] = "[program:a]\n"
                                 "command=sleep 1000\n"
                                 "startsecs=0\n"
                                 "\n"
                                 "[program:b]\n"
                                 "command=sleep 1001\n"
                                 "autostart=false\n"
                                 "startsecs=0\n"
                                 "\n"
                                 "[group:g]\n"
                                 "programs=x,y\n"
                                 "\n"
                                 "[program:x]\n"
                                 "command=sleep 1002\n"
                                 "startsecs=0\n"
                                 "\n"
                                 "[program:y]\n"
                                 "command=sleep 1003\n"
                                 "startsecs=0\n";

static void start_basic(peer_t *p) {
  peer_start(p, conf_basic);
  ASSERT_STATE(p, "a", "RUNNING");
  ASSERT_STATE(p, "g:x", "RUNNING");
  ASSERT_STATE(p, "g:y", "RUNNING");
}

Test(supervisorctl, status_and_its_exit_codes) {
  peer_t p;
  start_basic(&p);
  /* b is not running: 3. */
  EXPECT_CTL(&p, 3,
             "a                                RUNNING   pid N, uptime T\n"
             "b                                STOPPED   Not started\n"
             "g:x                              RUNNING   pid N, uptime T\n"
             "g:y                              RUNNING   pid N, uptime T\n",
             "status");
  EXPECT_CTL(&p, 0,
             "a                                RUNNING   pid N, uptime T\n"
             "g:x                              RUNNING   pid N, uptime T\n",
             "status", "a", "g:x");
  EXPECT_CTL(&p, 0,
             "g:x                              RUNNING   pid N, uptime T\n"
             "g:y                              RUNNING   pid N, uptime T\n",
             "status", "g:*");
  EXPECT_CTL(&p, 3, "b                                STOPPED   Not started\n", "status", "b");
  /* A bad name: 4, the good ones still listed. */
  EXPECT_CTL(&p, 4,
             "nope: ERROR (no such process)\n"
             "a                                RUNNING   pid N, uptime T\n",
             "status", "nope", "a");
  EXPECT_CTL(&p, 4, "nope: ERROR (no such group)\n", "status", "nope:*");
  EXPECT_CTL(&p, 4, "g:nope: ERROR (no such process)\n", "status", "g:nope");
  /* Stopped after running: the stop time. */
  EXPECT_CTL(&p, 0, "a: stopped\n", "stop", "a");
  EXPECT_CTL(&p, 3, "a                                STOPPED   TIME\n", "status", "a");
  peer_stop(&p);
}

Test(supervisorctl, status_when_nothing_listens) {
  peer_t p;
  start_basic(&p);
  peer_stop(&p);
  /* The daemon removed its socket on the way out. */
  char *want = tu_fmt("unix://%s no such file\n", p.sock);
  EXPECT_CTL(&p, 4, want, "status");
  EXPECT_CTL(&p, 7, want, "start", "a");
  free(want);
}

/* ---- start, stop, restart ------------------------------------------------------------------- */

Test(supervisorctl, start_stop_restart) {
  peer_t p;
  start_basic(&p);
  EXPECT_CTL(&p, 0, "b: started\n", "start", "b");
  EXPECT_CTL(&p, 0, "b: ERROR (already started)\n", "start", "b");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such process)\n", "start", "nope");
  EXPECT_CTL(&p, 2, "nope: ERROR (no such group)\n", "start", "nope:*");
  EXPECT_CTL(&p, 1, "g:nope: ERROR (no such process)\n", "start", "g:nope");
  EXPECT_CTL(&p, 0, "b: stopped\n", "stop", "b");
  EXPECT_CTL(&p, 0, "b: ERROR (not running)\n", "stop", "b");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such process)\n", "stop", "nope");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such group)\n", "stop", "nope:*");
  EXPECT_CTL(&p, 2, "Error: start requires a process name\n"
                    "start <name>\t\tStart a process\n"
                    "start <gname>:*\t\tStart all processes in a group\n"
                    "start <name> <name>\tStart multiple processes or groups\n"
                    "start all\t\tStart all processes\n",
             "start");

  /* Groups. */
  EXPECT_CTL(&p, 0, "g:x: stopped\ng:y: stopped\n", "stop", "g:*");
  EXPECT_CTL(&p, 0, "", "stop", "g:*");
  EXPECT_CTL(&p, 0, "g:x: started\ng:y: started\n", "start", "g:*");
  EXPECT_CTL(&p, 0, "", "start", "g:*");
  EXPECT_CTL(&p, 0, "g:x: stopped\n", "stop", "g:x");
  EXPECT_CTL(&p, 0, "g:x: started\n", "start", "g:x");

  /* restart: stop then start, a new pid. */
  long before = pid_of(&p, "a");
  EXPECT_CTL(&p, 0, "a: stopped\na: started\n", "restart", "a");
  long after = pid_of(&p, "a");
  cr_expect(before > 0 && after > 0 && before != after, "pid %ld then %ld", before, after);
  /* b is stopped: its stop is an error that does not count. */
  EXPECT_CTL(&p, 0, "b: ERROR (not running)\nb: started\n", "restart", "b");
  EXPECT_CTL(&p, 0, "g:x: stopped\ng:y: stopped\ng:x: started\ng:y: started\n", "restart",
             "g:*");

  /* all: starts in supervisord's order (priority, then group and name),
   * stops as they complete. */
  EXPECT_CTL_ANY_ORDER(&p, 0, "a: stopped\nb: stopped\ng:x: stopped\ng:y: stopped\n", "stop",
                       "all");
  EXPECT_CTL(&p, 0, "a: started\nb: started\ng:x: started\ng:y: started\n", "start", "all");
  EXPECT_CTL_ANY_ORDER(&p, 0,
             "a: stopped\nb: stopped\ng:x: stopped\ng:y: stopped\n"
             "a: started\nb: started\ng:x: started\ng:y: started\n",
             "restart", "all");
  EXPECT_CTL(&p, 0, "g:x: stopped\n", "stop", "g:x");
  EXPECT_CTL(&p, 0, "g:x: started\n", "start", "all");
  peer_stop(&p);
}

/* A start that fails: exit 7 (supervisorctl's NOT_RUNNING) and the
 * fault's text. */
Test(supervisorctl, failed_starts_exit_7) {
  peer_t p;
  peer_start(&p, "[program:quick]\n"
                 "command=sh -c 'exit 3'\n"
                 "autostart=false\n"
                 "startsecs=1\n"
                 "startretries=0\n"
                 "\n"
                 "[program:ok]\n"
                 "command=sleep 1000\n"
                 "startsecs=0\n"
                 "autostart=false\n"
                 "\n"
                 "[program:nf]\n"
                 "command=/nonexistent/cmd\n"
                 "autostart=false\n"
                 "\n"
                 "[program:nx]\n"
                 "command=@/noexec arg\n"
                 "autostart=false\n"
                 "\n"
                 "[program:gone]\n"
                 "command=/nonexistent/gone\n"
                 "startretries=0\n"
                 "\n"
                 "[program:retry]\n"
                 "command=sh -c 'exit 3'\n"
                 "autostart=false\n"
                 "startsecs=1\n"
                 "startretries=100\n");
  char path[512];
  snprintf(path, sizeof(path), "%s/noexec", p.dir);
  tu_write_file(path, "#!/bin/sh\n"); /* mode 0644 */
  /* Started at start-up, it cannot be spawned: FATAL, and status says why. */
  ASSERT_STATE(&p, "gone", "FATAL");
  EXPECT_CTL(&p, 3, "gone                             FATAL     can't find command "
                    "'/nonexistent/gone'\n", "status", "gone");
  EXPECT_CTL(&p, 7, "quick: ERROR (spawn error)\n", "start", "quick");
  ASSERT_STATE(&p, "quick", "FATAL");
  /* With retries left, the answer comes at the first failed attempt
   * (BACKOFF), not after the hundredth; the retries go on. */
  EXPECT_CTL(&p, 7, "retry: ERROR (spawn error)\n", "start", "retry");
  EXPECT_CTL(&p, 0, "retry: stopped\n", "stop", "retry");
  /* Checked before a spawn: nothing is started, 1. */
  EXPECT_CTL(&p, 1, "nf: ERROR (no such file)\n", "start", "nf");
  EXPECT_CTL(&p, 1, "nx: ERROR (file is not executable)\n", "start", "nx");
  EXPECT_CTL(&p, 3,
             "nf                               STOPPED   Not started\n"
             "nx                               STOPPED   Not started\n"
             "ok                               STOPPED   Not started\n"
             "quick                            FATAL     Exited too quickly (process log may "
             "have details)\n",
             "status", "nf", "nx", "ok", "quick");
  /* all: the good one starts, the bad ones fail; 7 (the last fault
   * supervisorctl sees decides). */
  EXPECT_CTL(&p, 7,
             "gone: ERROR (no such file)\nnf: ERROR (no such file)\n"
             "nx: ERROR (file is not executable)\nok: started\n"
             "quick: ERROR (spawn error)\nretry: ERROR (spawn error)\n",
             "start", "all");
  peer_stop(&p);
}

/* ---- signal, pid, version ------------------------------------------------------------------ */

Test(supervisorctl, signal_pid_version) {
  peer_t p;
  peer_start(&p, "[program:a]\n"
                 "command=sleep 1000\n"
                 "startsecs=0\n"
                 "\n"
                 "[program:b]\n"
                 "command=sleep 1001\n"
                 "autostart=false\n"
                 "\n"
                 "[program:t]\n"
                 "command=sh -c 'trap \"echo got-usr1\" USR1; echo ready; "
                 "while :; do sleep 0.1; done'\n"
                 "startsecs=0\n"
                 "stdout_logfile=@/t.out\n");
  ASSERT_STATE(&p, "a", "RUNNING");
  ASSERT_STATE(&p, "t", "RUNNING");
  char path[512];
  snprintf(path, sizeof(path), "%s/t.out", p.dir);
  cr_assert(tu_wait_file_contains(path, "ready", 10000));
  EXPECT_CTL(&p, 0, "t: signalled\n", "signal", "USR1", "t");
  cr_expect(tu_wait_file_contains(path, "got-usr1", 10000), "t did not get SIGUSR1");
  EXPECT_CTL(&p, 0, "t: signalled\n", "signal", "10", "t");
  EXPECT_CTL(&p, 7, "b: ERROR (not running)\n", "signal", "HUP", "b");
  EXPECT_CTL(&p, 1, "a: ERROR (bad signal name)\n", "signal", "NOPE", "a");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such process)\n", "signal", "HUP", "nope");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such group)\n", "signal", "HUP", "nope:*");
  EXPECT_CTL(&p, 1,
             "Error: signal requires a signal name and a process name\n"
             "signal <signal name> <name>\t\tSignal a process\n"
             "signal <signal name> <gname>:*\t\tSignal all processes in a group\n"
             "signal <signal name> <name> <name>\tSignal multiple processes or groups\n"
             "signal <signal name> all\t\tSignal all processes\n",
             "signal", "HUP");
  /* all: the running ones only. */
  EXPECT_CTL(&p, 0, "t: signalled\n", "signal", "USR1", "t:*");
  EXPECT_CTL(&p, 0, "a: signalled\nt: signalled\n", "signal", "CONT", "all");

  /* pid: the daemon's, a process's, 0 for a stopped one (7). */
  char *want = tu_fmt("%d\n", (int)p.pid);
  EXPECT_CTL(&p, 0, want, "pid");
  free(want);
  want = tu_fmt("%ld\n", pid_of(&p, "a"));
  EXPECT_CTL(&p, 0, want, "pid", "a");
  free(want);
  EXPECT_CTL(&p, 7, "0\n", "pid", "b");
  EXPECT_CTL(&p, 1, "No such process nope\n", "pid", "nope");
  want = tu_fmt("%ld\n0\n%ld\n", pid_of(&p, "a"), pid_of(&p, "t"));
  EXPECT_CTL(&p, 0, want, "pid", "all");
  free(want);

  EXPECT_CTL(&p, 0, "4.2.5\n", "version");
  peer_stop(&p);
}

/* ---- logs: tail, tail -f, maintail -f, clear ----------------------------------------------- */

static const char conf_logs[] = "[program:talk]\n"
                                "command=sh -c 'echo hello-out; echo hello-err >&2; "
                                "exec sleep 1000'\n"
                                "startsecs=0\n"
                                "stdout_logfile=@/talk.out\n"
                                "stderr_logfile=@/talk.err\n"
                                "\n"
                                "[program:quiet]\n"
                                "command=sleep 1000\n"
                                "startsecs=0\n"
                                "autostart=false\n"
                                "stdout_logfile=NONE\n"
                                "stderr_logfile=NONE\n";

/* supervisorctl ARGS, following: read its stdout until needle is in it
 * (deadline), then kill it by pid. Its output so far, malloc'd. */
static char *follow_until(peer_t *p, const char *needle, void (*then)(peer_t *p),
                          const char *const *args) {
  char *argv[16];
  int n = 0;
  argv[n++] = SUPERVISORCTL;
  argv[n++] = "-c";
  argv[n++] = p->conf;
  for (int i = 0; args[i] != NULL && n < 15; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;
  int out[2];
  cr_assert(pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  pid_t pid = tu_spawn(argv, &fa);
  close(out[1]);
  char *got = calloc(1, 1);
  size_t len = 0;
  int64_t end = tu_now_ms() + 15000;
  bool called = then == NULL;
  while (strstr(got, needle) == NULL) {
    int64_t left = end - tu_now_ms();
    struct pollfd pf = {out[0], POLLIN, 0};
    if (left <= 0 || poll(&pf, 1, called ? (int)left : 300) < 0)
      break;
    if (!called && pf.revents == 0) {
      /* The client is following now (it printed nothing yet): act. */
      then(p);
      called = true;
      continue;
    }
    if (pf.revents == 0)
      continue;
    char buf[4096];
    ssize_t k = read(out[0], buf, sizeof(buf));
    if (k <= 0)
      break;
    got = realloc(got, len + (size_t)k + 1);
    memcpy(got + len, buf, (size_t)k);
    len += (size_t)k;
    got[len] = '\0';
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(out[0]);
  return got;
}

static void start_quiet(peer_t *p) {
  tu_result_t r;
  CTL(p, &r, "start", "quiet");
  tu_result_free(&r);
}

Test(supervisorctl, tail_and_maintail) {
  peer_t p;
  peer_start(&p, conf_logs);
  ASSERT_STATE(&p, "talk", "RUNNING");
  char path[512];
  snprintf(path, sizeof(path), "%s/talk.err", p.dir);
  cr_assert(tu_wait_file_contains(path, "hello-err", 10000));
  snprintf(path, sizeof(path), "%s/talk.out", p.dir);
  cr_assert(tu_wait_file_contains(path, "hello-out", 10000));

  /* tail prints what it read and a newline of its own. */
  EXPECT_CTL(&p, 0, "hello-out\n\n", "tail", "talk");
  EXPECT_CTL(&p, 0, "hello-err\n\n", "tail", "talk", "stderr");
  EXPECT_CTL(&p, 0, "out\n\n", "tail", "-4", "talk");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such process name)\n", "tail", "nope");
  EXPECT_CTL(&p, 1, "quiet: ERROR (no log file)\n", "tail", "quiet");
  EXPECT_CTL(&p, 1, "Error: bad channel 'nope'\n", "tail", "talk", "nope");

  /* tail -f: the log so far, then what comes. */
  char *got =
      follow_until(&p, "hello-out", NULL, (const char *const[]){"tail", "-f", "talk", NULL});
  cr_expect(strstr(got, "==> Press Ctrl-C to exit <==") != NULL && strstr(got, "hello-out"),
            "tail -f printed: %s", got);
  free(got);
  got = follow_until(&p, "hello-err", NULL,
                     (const char *const[]){"tail", "-f", "talk", "stderr", NULL});
  cr_expect(strstr(got, "hello-err") != NULL, "tail -f stderr printed: %s", got);
  free(got);

  /* maintail -f: the daemon's log, with what happens while it follows
   * (quiet started: both daemons log its name). */
  got = follow_until(&p, "quiet", start_quiet, (const char *const[]){"maintail", "-f", NULL});
  cr_expect(strstr(got, "quiet") != NULL, "maintail -f printed: %s", got);
  free(got);
  ASSERT_STATE(&p, "quiet", "RUNNING");
  tu_result_t r;
  CTL(&p, &r, "maintail");
  cr_expect(r.exit_code == 0 && strstr(r.out, "quiet") != NULL, "maintail: %d %s", r.exit_code,
            r.out);
  tu_result_free(&r);

  /* clear: the logs emptied. */
  EXPECT_CTL(&p, 0, "talk: cleared\n", "clear", "talk");
  EXPECT_CTL(&p, 0, "\n", "tail", "talk");
  EXPECT_CTL(&p, 1, "nope: ERROR (no such process)\n", "clear", "nope");
  EXPECT_CTL(&p, 0, "quiet: cleared\ntalk: cleared\n", "clear", "all");
  EXPECT_CTL(&p, 1, "Error: clear requires a process name\n"
                    "clear <name>\t\tClear a process' log files.\n"
                    "clear <name> <name>\tClear multiple process' log files\n"
                    "clear all\t\tClear all process' log files\n",
             "clear");
  peer_stop(&p);
}

/* ---- fg ------------------------------------------------------------------------------------ */

Test(supervisorctl, fg_echoes_through_cat) {
  peer_t p;
  peer_start(&p, "[program:echo]\n"
                 "command=cat\n"
                 "startsecs=0\n"
                 "stdout_logfile=@/echo.out\n"
                 "\n"
                 "[program:off]\n"
                 "command=cat\n"
                 "autostart=false\n");
  ASSERT_STATE(&p, "echo", "RUNNING");
  EXPECT_CTL(&p, 1, "ERROR: process not running\n", "fg", "off");
  EXPECT_CTL(&p, 1, "ERROR: bad process name supplied\n", "fg", "nope");
  EXPECT_CTL(&p, 1, "ERROR: too many process names supplied\n", "fg", "echo", "off");

  /* fg with a pipe on stdin: a line goes to cat, cat's echo comes back
   * through /logtail; closing the pipe ends fg ("Exiting foreground").
   * supervisorctl then waits for its log thread, asleep in select() for
   * up to 30 s on sockets it closed under it (against supervisord too):
   * once fg has said it is done, the client is killed by pid. */
  char *argv[] = {SUPERVISORCTL, "-c", p.conf, "fg", "echo", NULL};
  int in[2], out[2];
  cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  pid_t pid = tu_spawn(argv, &fa);
  close(in[0]);
  close(out[1]);
  char got[8192] = "";
  size_t len = 0;
  bool sent = false, closed = false;
  int64_t end = tu_now_ms() + 20000;
  while (strstr(got, "Exiting foreground\n") == NULL) {
    if (!sent && strstr(got, "==> Press Ctrl-C to exit <==\n") != NULL) {
      cr_assert(write(in[1], "ping-fg\n", 8) == 8);
      sent = true;
    }
    if (sent && !closed && strstr(got, "ping-fg\n") != NULL) {
      close(in[1]);
      closed = true;
    }
    int64_t left = end - tu_now_ms();
    struct pollfd pf = {out[0], POLLIN, 0};
    if (left <= 0 || poll(&pf, 1, (int)left) != 1)
      break;
    ssize_t k = read(out[0], got + len, sizeof(got) - 1 - len);
    if (k <= 0)
      break;
    len += (size_t)k;
    got[len] = '\0';
  }
  if (!closed)
    close(in[1]);
  close(out[0]);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  /* What the client's log thread may print as its socket closes under it
   * ("CLOSED Cannot connect, error: <class 'SystemExit'> ()") can follow
   * in the same read: supervisorctl's, not the server's. */
  static const char want[] = "==> Press Ctrl-C to exit <==\nping-fg\nExiting foreground\n";
  const char *rest = got + (strncmp(got, want, strlen(want)) == 0 ? strlen(want) : 0);
  cr_expect(rest != got && (rest[0] == '\0' || strncmp(rest, "CLOSED ", 7) == 0),
            "fg printed:\n%s", got);
  char path[512];
  snprintf(path, sizeof(path), "%s/echo.out", p.dir);
  cr_expect(tu_file_count(path, "ping-fg") == 1);
  peer_stop(&p);
}

/* ---- avail, reread, update, add, remove ---------------------------------------------------- */

static const char conf_v1[] = "[program:keep]\n"
                              "command=sleep 1000\n"
                              "startsecs=0\n"
                              "\n"
                              "[program:change]\n"
                              "command=sleep 1001\n"
                              "startsecs=0\n"
                              "\n"
                              "[program:gone]\n"
                              "command=sleep 1002\n"
                              "startsecs=0\n"
                              "priority=5\n";

static const char conf_v2[] = "[program:keep]\n"
                              "command=sleep 1000\n"
                              "startsecs=0\n"
                              "\n"
                              "[program:change]\n"
                              "command=sleep 1999\n"
                              "startsecs=0\n"
                              "\n"
                              "[program:new]\n"
                              "command=sleep 1003\n"
                              "startsecs=0\n"
                              "autostart=false\n"
                              "\n"
                              "[program:fresh]\n"
                              "command=sleep 1004\n"
                              "startsecs=0\n";

Test(supervisorctl, avail_reread_update_add_remove) {
  peer_t p;
  peer_start(&p, conf_v1);
  ASSERT_STATE(&p, "keep", "RUNNING");
  ASSERT_STATE(&p, "change", "RUNNING");
  ASSERT_STATE(&p, "gone", "RUNNING");
  long keep = pid_of(&p, "keep"), change = pid_of(&p, "change");
  EXPECT_CTL(&p, 0,
             "change                           in use    auto      999:999\n"
             "gone                             in use    auto      5:5\n"
             "keep                             in use    auto      999:999\n",
             "avail");
  EXPECT_CTL(&p, 0, "No config updates to processes\n", "reread");
  write_conf(&p, conf_v2, "", "");
  EXPECT_CTL(&p, 0, "change: changed\nfresh: available\ngone: disappeared\nnew: available\n",
             "reread");
  /* The file read last, its groups in use or not: gone is not listed. */
  EXPECT_CTL(&p, 0,
             "change                           in use    auto      999:999\n"
             "fresh                            avail     auto      999:999\n"
             "keep                             in use    auto      999:999\n"
             "new                              avail     manual    999:999\n",
             "avail");
  /* add and remove by hand. */
  EXPECT_CTL(&p, 0, "new: added process group\n", "add", "new");
  EXPECT_CTL(&p, 0, "ERROR: process group already active\n", "add", "new");
  EXPECT_CTL(&p, 1, "ERROR: no such process/group: nope\n", "add", "nope");
  EXPECT_CTL(&p, 1, "ERROR: process/group still running: keep\n", "remove", "keep");
  EXPECT_CTL(&p, 1, "ERROR: no such process/group: nope\n", "remove", "nope");
  EXPECT_CTL(&p, 0, "new: removed process group\n", "remove", "new");
  EXPECT_CTL(&p, 1, "ERROR: no such group: nope\n", "update", "nope");
  /* update: the rest. */
  EXPECT_CTL(&p, 0,
             "gone: stopped\n"
             "gone: removed process group\n"
             "change: stopped\n"
             "change: updated process group\n"
             "fresh: added process group\n"
             "new: added process group\n",
             "update");
  ASSERT_STATE(&p, "change", "RUNNING");
  ASSERT_STATE(&p, "fresh", "RUNNING");
  cr_expect(pid_of(&p, "keep") == keep, "keep was restarted");
  cr_expect(pid_of(&p, "change") != change, "change was not restarted");
  EXPECT_CTL(&p, 3,
             "change                           RUNNING   pid N, uptime T\n"
             "fresh                            RUNNING   pid N, uptime T\n"
             "keep                             RUNNING   pid N, uptime T\n"
             "new                              STOPPED   Not started\n",
             "status");
  EXPECT_CTL(&p, 0, "", "update");
  peer_stop(&p);
}

/* ---- shutdown and reload ------------------------------------------------------------------- */

Test(supervisorctl, reload_restarts_every_program) {
  peer_t p;
  start_basic(&p);
  const char *names[] = {"a", "g:x", "g:y"};
  long before[3];
  for (int i = 0; i < 3; i++)
    before[i] = pid_of(&p, names[i]);
  EXPECT_CTL(&p, 0, "Restarted supervisord\n", "reload");
  /* The socket comes back (supervisord opens it anew); every program runs
   * again with a new pid. */
  int64_t end = tu_now_ms() + 20000;
  for (int i = 0; i < 3; i++) {
    long now = 0;
    char state[32] = "";
    while (tu_now_ms() < end) {
      proc_info(&p, names[i], state, sizeof(state), &now);
      if (strcmp(state, "RUNNING") == 0 && now != before[i])
        break;
      poll(NULL, 0, 20);
    }
    cr_expect(strcmp(state, "RUNNING") == 0 && now != before[i], "%s: %s pid %ld (was %ld)",
              names[i], state, now, before[i]);
  }
  cr_expect(p.pid > 0 && tu_alive(p.pid), "the daemon is the same process");
  EXPECT_CTL(&p, 3,
             "a                                RUNNING   pid N, uptime T\n"
             "b                                STOPPED   Not started\n"
             "g:x                              RUNNING   pid N, uptime T\n"
             "g:y                              RUNNING   pid N, uptime T\n",
             "status");
  peer_stop(&p);
}

Test(supervisorctl, shutdown) {
  peer_t p;
  start_basic(&p);
  long pids[3] = {pid_of(&p, "a"), pid_of(&p, "g:x"), pid_of(&p, "g:y")};
  EXPECT_CTL(&p, 0, "Shut down\n", "shutdown");
  int status = peer_wait(&p, 20000);
  cr_expect(status != -1, "the daemon did not exit after shutdown");
  if (!peer_is_sd())
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
  for (int i = 0; i < 3; i++)
    cr_expect(!tu_alive((pid_t)pids[i]), "pid %ld left running", pids[i]);
  char *want = tu_fmt("ERROR: unix://%s no such file (already shut down?)\n", p.sock);
  EXPECT_CTL(&p, 1, want, "shutdown");
  free(want);
  EXPECT_CTL(&p, 1, "Error: shutdown accepts no arguments\nshutdown \tShut the remote "
                    "supervisord down.\n",
             "shutdown", "now");
  peer_stop(&p);
}

/* ---- auth ---------------------------------------------------------------------------------- */

/* supervisorctl says so, then runs the command again outside its
 * handler, which prints the 401 as an error line. */
#define AUTH_FAILED                                                                            \
  "Server requires authentication\n"                                                           \
  "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 "     \
  "Unauthorized>: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 539\n"

Test(supervisorctl, auth_failures) {
  peer_t p;
  peer_start_with(&p, conf_basic, "username=user\npassword=s3cret\n", "");
  snprintf(p.auth, sizeof(p.auth), "user:s3cret");
  ASSERT_STATE(&p, "a", "RUNNING");
  /* No credentials. */
  EXPECT_CTL(&p, 1, AUTH_FAILED, "status");
  EXPECT_CTL(&p, 1, AUTH_FAILED, "start", "b");
  /* Wrong ones, on the command line and in the config. */
  EXPECT_CTL(&p, 1, AUTH_FAILED, "-u", "user", "-p", "wrong", "status");
  EXPECT_CTL(&p, 1, AUTH_FAILED, "-u", "other", "-p", "s3cret", "stop",
             "a");
  write_conf(&p, conf_basic, "username=user\npassword=s3cret\n",
             "username=user\npassword=nope\n");
  EXPECT_CTL(&p, 1, AUTH_FAILED, "pid");
  /* The right ones. */
  write_conf(&p, conf_basic, "username=user\npassword=s3cret\n",
             "username=user\npassword=s3cret\n");
  EXPECT_CTL(&p, 0, "b: started\n", "start", "b");
  EXPECT_CTL(&p, 0, "a: stopped\n", "-u", "user", "-p", "s3cret", "stop", "a");
  peer_stop(&p);
}

/* ---- Python's xmlrpc.client ---------------------------------------------------------------- */

Test(supervisorctl, xmlrpc_client) {
  peer_t p;
  peer_start(&p, "[program:a]\n"
                 "command=sleep 1000\n"
                 "startsecs=0\n"
                 "\n"
                 "[program:b]\n"
                 "command=sleep 1001\n"
                 "autostart=false\n"
                 "startsecs=0\n"
                 "\n"
                 "[program:quick]\n"
                 "command=sh -c 'exit 3'\n"
                 "autostart=false\n"
                 "startsecs=1\n"
                 "startretries=0\n"
                 "\n"
                 "[program:nf]\n"
                 "command=/nonexistent/cmd\n"
                 "autostart=false\n");
  ASSERT_STATE(&p, "a", "RUNNING");
  const char *script = getenv("TEND_XMLRPC_CLIENT");
  cr_assert(script != NULL, "TEND_XMLRPC_CLIENT is not set: run the tests through meson test");
  char *argv[] = {PYTHON, (char *)script, p.sock, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 60000, &r);
  cr_expect(r.exit_code == 0 && !r.timed_out, "xmlrpc_client.py: exit %d\n%s\n%s", r.exit_code,
            r.out, r.err);
  tu_result_free(&r);
  peer_stop(&p);
}
