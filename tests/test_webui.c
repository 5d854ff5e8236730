/* SPDX-License-Identifier: MIT */
/*
 * The web page (src/http/webui.c, src/daemon/rpc_web.c) end to end: the
 * real `tend daemon` with an [inet_http_server] on a free loopback port
 * (and a [unix_http_server]), asked over real sockets by a small HTTP
 * client here: the page, its escaping, the forms that work without
 * JavaScript (303 back to the page with the message), the JSON answers,
 * the refusals, a client that leaves while its button's action runs;
 * what each action did is read back from `tend status`.
 *
 * Then a real browser: Debian's chromium, headless, driven over the
 * DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
 * ended by NUL on fds 3 and 4, so no port, no websocket, no helper). It
 * loads the tail page and sees the program's stdout and stderr arrive,
 * loads the status page, clicks Stop with the mouse, and the daemon says
 * STOPPED; the page's table updates itself to STOPPED, then to RUNNING
 * when `tend start` is run beside it; with JavaScript off, Stop is a form
 * posted and its redirect shows the message. No exception and no console
 * error (a CSP violation, a failed load) on the way. The screenshots
 * are kept in the test's temporary directory (and copied to
 * $TEND_WEBUI_SCREENSHOT if set: docs/webui.png comes from there). Skipped
 * when chromium is not installed.
 *
 * Every wait is a deadline on an event: the daemon's log lines (inotify),
 * a socket's poll, the page's load events, a promise in the page that
 * resolves when the DOM shows what is waited for. Chromium is closed
 * (Browser.close, then SIGKILL by pid past a deadline) and nothing it
 * started may outlive the test.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static tu_daemon_t d;
static int port; /* the daemon's inet_http_server */

static void teardown(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
  tu_strays_fini();
}

TestSuite(webui, .init = tu_strays_init, .fini = teardown, .timeout = 180);

/* ---- an HTTP client ---------------------------------------------------------- */

typedef struct {
  int status;
  char *head; /* the status line and the headers */
  char *body; /* de-chunked, NUL-terminated */
  size_t body_len;
} resp_t;

static void resp_free(resp_t *r) {
  free(r->head);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* A connection to the TCP port, or to the Unix socket at path. */
static int connect_to(const char *unix_path) {
  int fd;
  int rc;
  if (unix_path != NULL) {
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    snprintf(su.sun_path, sizeof(su.sun_path), "%s", unix_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    rc = connect(fd, (struct sockaddr *)&su, sizeof(su));
  } else {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  }
  if (rc != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void dechunk(resp_t *r, const char *p, size_t left) {
  r->body = malloc(left + 1);
  r->body_len = 0;
  for (;;) {
    const char *crlf = memmem(p, left, "\r\n", 2);
    cr_assert(crlf != NULL, "bad chunked body");
    size_t size = strtoul(p, NULL, 16), line = (size_t)(crlf - p) + 2;
    if (size == 0)
      break;
    cr_assert(left >= line + size + 2, "a chunk cut short");
    memcpy(r->body + r->body_len, p + line, size);
    r->body_len += size;
    p += line + size + 2;
    left -= line + size + 2;
  }
  r->body[r->body_len] = '\0';
}

/* The value of a header of r (a static copy), or NULL. */
static const char *header(const resp_t *r, const char *name) {
  static char value[4096];
  size_t n = strlen(name);
  for (const char *p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ')
        v++;
      size_t len = strcspn(v, "\r\n");
      snprintf(value, sizeof(value), "%.*s", (int)len, v);
      return value;
    }
  }
  return NULL;
}

/* METHOD path with the headers (each ending "\r\n", may be NULL) and
 * the body (NULL: none; a form unless the headers give a Content-Type),
 * over TCP or the Unix socket unix_path; the connection is closed after
 * the answer, read whole. */
static void http_do(const char *unix_path, const char *method, const char *path,
                    const char *headers, const char *body, resp_t *r) {
  memset(r, 0, sizeof(*r));
  int fd = connect_to(unix_path);
  cr_assert(fd >= 0, "connect: %s", strerror(errno));
  if (headers == NULL)
    headers = "";
  char *clen = tu_fmt("Content-Length: %zu\r\n", body != NULL ? strlen(body) : 0);
  char *req = tu_fmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s%s%s\r\n%s",
                     method, path, port, headers,
                     body != NULL && strcasestr(headers, "Content-Type:") == NULL
                         ? "Content-Type: application/x-www-form-urlencoded\r\n"
                         : "",
                     body != NULL ? clen : "", body != NULL ? body : "");
  free(clen);
  cr_assert(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
  free(req);
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  int64_t end = tu_now_ms() + 30000;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int64_t left = end - tu_now_ms();
    cr_assert(left > 0 && poll(&p, 1, (int)left) == 1, "no answer to %s %s within 30 s", method,
              path);
    if (len + 4096 > cap)
      buf = realloc(buf, cap *= 2);
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  char *eoh = strstr(buf, "\r\n\r\n");
  cr_assert(eoh != NULL, "no header end in: %s", buf);
  r->head = strndup(buf, (size_t)(eoh - buf) + 2);
  cr_assert(sscanf(buf, "HTTP/1.1 %d", &r->status) == 1, "status line: %s", buf);
  const char *rbody = eoh + 4;
  size_t blen = len - (size_t)(rbody - buf);
  const char *te = header(r, "Transfer-Encoding");
  if (te != NULL && strcasecmp(te, "chunked") == 0) {
    dechunk(r, rbody, blen);
  } else {
    r->body = strndup(rbody, blen);
    r->body_len = blen;
  }
  free(buf);
}

static void get(const char *path, resp_t *r) { http_do(NULL, "GET", path, NULL, NULL, r); }

static void post(const char *form, resp_t *r) { http_do(NULL, "POST", "/", NULL, form, r); }

/* POST form as webui.js does: the answer's {ok, message}. */
static json_t *post_json(const char *form) {
  resp_t r;
  http_do(NULL, "POST", "/index.html", "Accept: application/json\r\n", form, &r);
  cr_assert_eq(r.status, 200, "%s: %d %s", form, r.status, r.body);
  cr_assert_str_eq(header(&r, "Content-Type"), "application/json");
  json_t *j = json_loads(r.body, 0, NULL);
  cr_assert(json_is_object(j), "%s", r.body);
  resp_free(&r);
  return j;
}

/* ---- the daemon ---------------------------------------------------------------- */

static const char programs[] =
    "[program:web]\n"
    "command = sh -c 'while :; do echo hello out $$; echo hello err >&2; sleep 1; done'\n"
    "startsecs = 0\n"
    "stopwaitsecs = 5\n"
    "\n"
    "[program:worker]\n"
    "command = sleep 1000\n"
    "process_name = %(program_name)s_%(process_num)d\n"
    "numprocs = 2\n"
    "startsecs = 0\n"
    "\n"
    "[program:<b>x&y\"<i>]\n"
    "command = sleep 1000\n"
    "autostart = false\n";

static bool http_up(int deadline_ms) {
  int64_t end = tu_now_ms() + deadline_ms;
  for (;;) {
    int fd = connect_to(NULL);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    if (tu_now_ms() >= end || tu_file_count(d.log, "not serving") > 0)
      return false;
    poll(NULL, 0, 20); /* the listener comes with the config, right after the socket */
  }
}

/* The daemon with progs and an [inet_http_server] (plus extra lines in
 * it) on a port that was free: another one if it was taken since. */
static void start_with(const char *extra, const char *progs) {
  for (int attempt = 0;; attempt++) {
    port = free_port();
    char *conf = tu_fmt("[inet_http_server]\nport = 127.0.0.1:%d\n%s\n%s", port,
                        extra != NULL ? extra : "", progs);
    tu_daemon_start(&d, conf);
    free(conf);
    if (http_up(10000))
      return;
    char *log = tu_read_file(d.log, NULL);
    tu_daemon_stop(&d);
    cr_assert(attempt < 3, "the HTTP server never came up; the log:\n%s", log);
    free(log);
  }
}

static void start(const char *extra) { start_with(extra, programs); }

static const char *state_of(const char *name) {
  static char buf[32];
  json_t *e = tu_status_of(&d, name);
  snprintf(buf, sizeof(buf), "%s", e != NULL ? json_string_value(json_object_get(e, "state")) : "?");
  json_decref(e);
  return buf;
}

static long pid_of(const char *name) {
  json_t *e = tu_status_of(&d, name);
  long pid = e != NULL ? (long)json_integer_value(json_object_get(e, "pid")) : 0;
  json_decref(e);
  return pid;
}

static bool longer_than(const char *s, const void *arg) { return strlen(s) > *(const size_t *)arg; }

/* Until `tend status` says name is in state, or deadline_ms: each state
 * change is a line of the daemon's log, so the wait is on the log. */
static bool wait_state(const char *name, const char *state, int deadline_ms) {
  int64_t end = tu_now_ms() + deadline_ms;
  for (;;) {
    size_t before = 0;
    free(tu_read_file(d.log, &before));
    if (strcmp(state_of(name), state) == 0)
      return true;
    int64_t left = end - tu_now_ms();
    if (left <= 0)
      return false;
    tu_wait_file(d.log, longer_than, &before, (int)left);
  }
}

/* ---- the page over HTTP ------------------------------------------------------------ */

Test(webui, page_lists_and_escapes) {
  start(NULL);
  cr_assert(wait_state("web", "RUNNING", 10000));
  resp_t r;
  get("/", &r);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(header(&r, "Content-Type"), "text/html; charset=utf-8");
  cr_assert(strstr(header(&r, "Content-Security-Policy"), "script-src 'self'") != NULL);
  cr_assert_str_eq(header(&r, "X-Frame-Options"), "DENY");
  cr_assert(strstr(r.body, "<tr data-name=\"web\">") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "<span class=\"running\">RUNNING</span>") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "<tr data-name=\"worker:worker_0\">") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "4 processes, 3 running") != NULL, "%s", r.body);
  /* The name is markup-looking: text everywhere, escaped in attributes,
   * percent-encoded in the tail link. */
  cr_assert(strstr(r.body, "<b>x") == NULL, "an unescaped name: %s", r.body);
  cr_assert(strstr(r.body, ">&lt;b&gt;x&amp;y&quot;&lt;i&gt;</a>") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "value=\"&lt;b&gt;x&amp;y&quot;&lt;i&gt;\"") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "tail.html?processname=%3Cb%3Ex%26y%22%3Ci%3E") != NULL, "%s", r.body);
  /* No asset from elsewhere: every link is relative, to this server. */
  cr_assert(strstr(r.body, "//") == NULL, "a URL elsewhere: %s", r.body);
  resp_free(&r);

  get("/index.html", &r);
  cr_assert_eq(r.status, 200);
  resp_free(&r);

  /* A message given back by a redirect is text, whatever it holds. */
  get("/index.html?error=x%3Cscript%3Ealert(1)%3C%2Fscript%3E%26more", &r);
  cr_assert(strstr(r.body, "class=\"error\">x&lt;script&gt;alert(1)&lt;/script&gt;&amp;more<") !=
                NULL,
            "%s", r.body);
  resp_free(&r);

  get("/status.json", &r);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(header(&r, "Content-Type"), "application/json");
  json_t *j = json_loads(r.body, 0, NULL);
  json_t *procs = json_object_get(j, "processes");
  cr_assert_eq(json_array_size(procs), 4, "%s", r.body);
  json_t *web = json_array_get(procs, 1); /* by group: '<' before 'w' */
  cr_assert_str_eq(json_string_value(json_object_get(web, "namespec")), "web");
  cr_assert_str_eq(json_string_value(json_object_get(web, "statename")), "RUNNING");
  cr_assert(json_is_true(json_object_get(web, "running")));
  cr_assert_eq(json_integer_value(json_object_get(web, "pid")), pid_of("web"));
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(procs, 0), "namespec")),
                   "<b>x&y\"<i>");
  json_decref(j);
  resp_free(&r);

  get("/tail.html?processname=%3Cb%3Ex%26y%22%3Ci%3E", &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, "› &lt;b&gt;x&amp;y&quot;&lt;i&gt;</h1>") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "data-src=\"logtail/%3Cb%3Ex%26y%22%3Ci%3E/stderr\"") != NULL, "%s",
            r.body);
  resp_free(&r);
  get("/tail.html", &r);
  cr_assert_eq(r.status, 400);
  resp_free(&r);

  /* The assets, from the binary, cached by their hash. */
  const char *assets[][2] = {{"/webui.css", "text/css; charset=utf-8"},
                             {"/webui.js", "text/javascript; charset=utf-8"},
                             {"/tail.js", "text/javascript; charset=utf-8"}};
  /* The pages that link them: the status page and the tail page. */
  get("/", &r);
  resp_t tail;
  get("/tail.html?processname=web", &tail);
  char *page = tu_fmt("%s%s", r.body, tail.body);
  resp_free(&r);
  resp_free(&tail);
  for (size_t i = 0; i < 3; i++) {
    get(assets[i][0], &r);
    cr_assert_eq(r.status, 200, "%s", assets[i][0]);
    cr_assert_str_eq(header(&r, "Content-Type"), assets[i][1]);
    cr_assert_str_eq(header(&r, "Cache-Control"), "no-cache");
    cr_assert(r.body_len > 500);
    resp_free(&r);
    /* The page's link to it has its content's hash: cached for good. */
    char *link = strstr(page, assets[i][0] + 1);
    cr_assert(link != NULL && strncmp(link + strlen(assets[i][0]) - 1, "?v=", 3) == 0, "%s",
              assets[i][0]);
    char *url = tu_fmt("/%.*s", (int)strcspn(link, "\""), link);
    get(url, &r);
    cr_assert_eq(r.status, 200, "%s", url);
    cr_assert(strstr(header(&r, "Cache-Control"), "immutable") != NULL, "%s", url);
    resp_free(&r);
    free(url);
  }
  free(page);

  get("/nothing-here", &r);
  cr_assert_eq(r.status, 404);
  resp_free(&r);
  http_do(NULL, "PUT", "/", NULL, NULL, &r);
  cr_assert_eq(r.status, 405);
  cr_assert_str_eq(header(&r, "Allow"), "GET, POST");
  resp_free(&r);
  /* What was there before the page still is. */
  get("/logtail/nope", &r);
  cr_assert_eq(r.status, 404);
  resp_free(&r);
  tu_daemon_stop_clean(&d);
}

/* A form posted without JavaScript: 303 to the page with the message. */
static void post_redirect(const char *form, const char *location) {
  resp_t r;
  post(form, &r);
  cr_assert_eq(r.status, 303, "%s: %d %s", form, r.status, r.body);
  cr_assert_str_eq(header(&r, "Location"), location);
  resp_free(&r);
}

Test(webui, actions_without_javascript) {
  start(NULL);
  cr_assert(wait_state("web", "RUNNING", 10000));
  long pid = pid_of("web");

  post_redirect("action=stop&name=web", "index.html?message=web%3A%20stopped");
  cr_assert_str_eq(state_of("web"), "STOPPED");
  /* Where the redirect goes: the page, with the message. */
  resp_t r;
  get("/index.html?message=web%3A%20stopped", &r);
  cr_assert(strstr(r.body, "<div id=\"message\" role=\"status\" class=\"ok\">web: stopped</div>") !=
                NULL,
            "%s", r.body);
  cr_assert(strstr(r.body, "<span class=\"stopped\">STOPPED</span>") != NULL);
  resp_free(&r);

  post_redirect("action=stop&name=web", "index.html?error=web%3A%20ERROR%20%28not%20running%29");
  post_redirect("action=start&name=web", "index.html?message=web%3A%20started");
  cr_assert_str_eq(state_of("web"), "RUNNING");
  long pid2 = pid_of("web");
  cr_assert_neq(pid2, pid);
  post_redirect("action=start&name=web",
                "index.html?error=web%3A%20ERROR%20%28already%20started%29");
  post_redirect("action=restart&name=web",
                "index.html?message=web%3A%20stopped%0Aweb%3A%20started");
  cr_assert_str_eq(state_of("web"), "RUNNING");
  cr_assert_neq(pid_of("web"), pid2);
  post_redirect("action=stop&name=nope", "index.html?error=nope%3A%20ERROR%20%28no%20such%20process%29");

  /* A name with every character that matters, through the form's
   * encoding (and '+' for a space in the action's value is fine). */
  post_redirect("action=start&name=%3Cb%3Ex%26y%22%3Ci%3E",
                "index.html?message=%3Cb%3Ex%26y%22%3Ci%3E%3A%20started");
  cr_assert_str_eq(state_of("<b>x&y\"<i>"), "RUNNING");

  /* All of them. */
  post_redirect("action=stopall",
                "index.html?message=%3Cb%3Ex%26y%22%3Ci%3E%3A%20stopped%0Aweb%3A%20stopped%0A"
                "worker%3Aworker_0%3A%20stopped%0Aworker%3Aworker_1%3A%20stopped");
  cr_assert_str_eq(state_of("web"), "STOPPED");
  cr_assert_str_eq(state_of("worker:worker_1"), "STOPPED");
  post_redirect("action=stopall", "index.html?message=nothing%20to%20stop");
  /* Clear log (of a stopped process: nothing writes to it): the file is
   * emptied. */
  json_t *e = tu_status_of(&d, "web");
  char *out = strdup(json_string_value(json_object_get(e, "stdout_logfile")));
  json_decref(e);
  char *text = tu_read_file(out, NULL);
  cr_assert(text != NULL && strstr(text, "hello out") != NULL, "%s: %s", out, text);
  free(text);
  post_redirect("action=clearlog&name=web", "index.html?message=web%3A%20log%20cleared");
  struct stat st;
  cr_assert(stat(out, &st) != 0 || st.st_size == 0, "%s still holds %lld bytes", out,
            (long long)st.st_size);
  free(out);


  post_redirect("action=startall",
                "index.html?message=%3Cb%3Ex%26y%22%3Ci%3E%3A%20started%0Aweb%3A%20started%0A"
                "worker%3Aworker_0%3A%20started%0Aworker%3Aworker_1%3A%20started");
  cr_assert_str_eq(state_of("worker:worker_0"), "RUNNING");
  /* A group, as supervisorctl names it. */
  post_redirect("action=restart&name=worker%3A*",
                "index.html?message=worker%3Aworker_0%3A%20stopped%0Aworker%3Aworker_1%3A%20"
                "stopped%0Aworker%3Aworker_0%3A%20started%0Aworker%3Aworker_1%3A%20started");

  /* What is refused, and left as it was. */
  post("action=explode&name=web", &r);
  cr_assert_eq(r.status, 400);
  resp_free(&r);
  post("action=stop", &r);
  cr_assert_eq(r.status, 400);
  resp_free(&r);
  http_do(NULL, "POST", "/", "Content-Type: text/plain\r\n", "action=stop&name=web", &r);
  cr_assert_eq(r.status, 415);
  resp_free(&r);
  http_do(NULL, "POST", "/", "Sec-Fetch-Site: cross-site\r\n", "action=stop&name=web", &r);
  cr_assert_eq(r.status, 403, "a form from another site: %d", r.status);
  resp_free(&r);
  http_do(NULL, "POST", "/", "Sec-Fetch-Site: same-site\r\n", "action=stop&name=web", &r);
  cr_assert_eq(r.status, 403, "a form from another port of this host: %d", r.status);
  resp_free(&r);
  cr_assert_str_eq(state_of("web"), "RUNNING");
  tu_daemon_stop_clean(&d);
}

Test(webui, actions_as_json) {
  start(NULL);
  cr_assert(wait_state("web", "RUNNING", 10000));
  json_t *j = post_json("action=stop&name=web");
  cr_assert(json_is_true(json_object_get(j, "ok")));
  cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "web: stopped");
  json_decref(j);
  cr_assert_str_eq(state_of("web"), "STOPPED");
  j = post_json("action=stop&name=web");
  cr_assert(json_is_false(json_object_get(j, "ok")));
  cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "web: ERROR (not running)");
  json_decref(j);
  /* A restart of what is stopped only starts it. */
  j = post_json("action=restart&name=web");
  cr_assert(json_is_true(json_object_get(j, "ok")));
  cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "web: started");
  json_decref(j);
  j = post_json("action=clearlogall");
  cr_assert(json_is_true(json_object_get(j, "ok")));
  cr_assert(strstr(json_string_value(json_object_get(j, "message")), "web: log cleared") != NULL);
  json_decref(j);
  tu_daemon_stop_clean(&d);
}

Test(webui, basic_auth_and_unix_socket) {
  char *sock = tu_fmt("%s/http.sock", tu_test_dir());
  char *extra = tu_fmt("username = admin\npassword = s3cret\n\n[unix_http_server]\nfile = %s\n",
                       sock);
  start(extra);
  free(extra);
  resp_t r;
  get("/", &r);
  cr_assert_eq(r.status, 401, "no credentials: %d", r.status);
  resp_free(&r);
  post("action=stop&name=web", &r);
  cr_assert_eq(r.status, 401);
  resp_free(&r);
  cr_assert_str_neq(state_of("web"), "STOPPED");
  /* admin:s3cret */
  http_do(NULL, "GET", "/", "Authorization: Basic YWRtaW46czNjcmV0\r\n", NULL, &r);
  cr_assert_eq(r.status, 200);
  resp_free(&r);
  http_do(NULL, "GET", "/webui.js", "Authorization: Basic YWRtaW46czNjcmV0\r\n", NULL, &r);
  cr_assert_eq(r.status, 200);
  resp_free(&r);
  /* The same page on the Unix socket (no auth there). */
  http_do(sock, "GET", "/", NULL, NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, "<tr data-name=\"web\">") != NULL);
  resp_free(&r);
  cr_assert(wait_state("web", "RUNNING", 10000));
  http_do(sock, "POST", "/", NULL, "action=stop&name=web", &r);
  cr_assert_eq(r.status, 303);
  resp_free(&r);
  cr_assert_str_eq(state_of("web"), "STOPPED");
  free(sock);
  tu_daemon_stop_clean(&d);
}

/* A request sent, its answer not read: the connection (the caller closes
 * it). */
static int send_only(const char *method, const char *path, const char *form) {
  int fd = connect_to(NULL);
  cr_assert(fd >= 0);
  char *req = tu_fmt("%s %s HTTP/1.1\r\nHost: h\r\nContent-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, strlen(form), form);
  cr_assert(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
  free(req);
  return fd;
}

/* slow's shell has set its trap (SIGTERM ignored from here on): it says
 * so with its pid, in its log. A stop sent before would end it at once. */
static void wait_trapped(void) {
  char *path = tu_fmt("%s/log/slow.out", d.dir);
  char *line = tu_fmt("trapped %ld\n", pid_of("slow"));
  bool ok = tu_wait_file_contains(path, line, 10000);
  free(path);
  free(line);
  cr_assert(ok, "slow never set its trap");
}

/* A stop that takes its time (SIGTERM ignored, SIGKILL after 2 s): the
 * client of a button may leave, or the daemon stop, while it runs. */
Test(webui, client_leaves_mid_action) {
  start_with(NULL, "[program:slow]\n"
                   "command = sh -c 'trap \"\" TERM; echo trapped $$; "
                   "while :; do sleep 0.2; done'\n"
                   "startsecs = 0\n"
                   "stopwaitsecs = 2\n");
  cr_assert(wait_state("slow", "RUNNING", 10000));
  wait_trapped();
  /* Gone before the answer: the stop goes on, the call is dropped. */
  close(send_only("POST", "/", "action=stop&name=slow"));
  cr_assert(wait_state("slow", "STOPPING", 10000));
  cr_assert(wait_state("slow", "STOPPED", 10000));
  resp_t r;
  get("/status.json", &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, "\"statename\":\"STOPPED\"") != NULL, "%s", r.body);
  resp_free(&r);
  /* The page asked for while the daemon stops with a button's call
   * pending: it exits cleanly (under ASan: nothing leaked). */
  tu_result_t res;
  tu_ctl(&d, &res, "start", "slow", NULL);
  assert_exit(&res, 0);
  tu_result_free(&res);
  wait_trapped();
  int fd = send_only("POST", "/", "action=restart&name=slow");
  if (!wait_state("slow", "STOPPING", 10000)) {
    char *log = tu_read_file(d.log, NULL);
    cr_assert_fail("the restart did not stop slow; the daemon's log:\n%s", log);
  }
  tu_daemon_stop_clean(&d);
  close(fd);
}

/* ---- chromium over the DevTools protocol --------------------------------------------- */

typedef struct {
  pid_t pid;
  int wfd, rfd;   /* its fd 3 (what it reads) and 4 (what it writes) */
  char *buf;      /* read, not yet parsed */
  size_t len, cap;
  int next_id;
  char *session;  /* the page's, once attached */
  int loads;      /* the page's load events so far */
  char errors[2048]; /* the page's exceptions and console errors (CSP's too) */
} cdp_t;

static const char *chromium_path(void) {
  const char *env = getenv("TEND_CHROMIUM");
  if (env != NULL && env[0] != '\0')
    return env;
  return access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : NULL;
}

/* A pipe end moved above the fds it must land on (3 and 4), close-on-exec. */
static int high_fd(int fd) {
  int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  cr_assert(h >= 0);
  close(fd);
  return h;
}

static void cdp_start(cdp_t *c, const char *dir) {
  memset(c, 0, sizeof(*c));
  int to[2], from[2];
  cr_assert(pipe2(to, O_CLOEXEC) == 0 && pipe2(from, O_CLOEXEC) == 0);
  for (int i = 0; i < 2; i++) {
    to[i] = high_fd(to[i]);
    from[i] = high_fd(from[i]);
  }
  char *profile = tu_fmt("--user-data-dir=%s/profile", dir);
  char *logpath = tu_fmt("%s/chromium.log", dir);
  char *argv[] = {(char *)chromium_path(),
                  "--headless",
                  "--no-sandbox", /* root in a container: no namespaces for it */
                  "--disable-gpu",
                  "--disable-dev-shm-usage",
                  "--no-first-run",
                  "--no-default-browser-check",
                  "--disable-extensions",
                  "--disable-background-networking",
                  "--disable-component-update",
                  "--disable-sync",
                  "--disable-crash-reporter",
                  "--disable-breakpad",
                  "--mute-audio",
                  "--hide-scrollbars",
                  profile,
                  "--remote-debugging-pipe",
                  "about:blank",
                  NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to[0], 3);
  posix_spawn_file_actions_adddup2(&fa, from[1], 4);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  c->pid = tu_spawn(argv, &fa);
  close(to[0]);
  close(from[1]);
  c->wfd = to[1];
  c->rfd = from[0];
  c->next_id = 1;
  free(profile);
  free(logpath);
}

/* Send method with params (taken; NULL: {}) to the page's session if
 * attached (else to the browser); returns its id. */
static int cdp_send(cdp_t *c, bool page, const char *method, json_t *params) {
  int id = c->next_id++;
  json_t *msg = json_pack("{s:i,s:s,s:o}", "id", id, "method", method, "params",
                          params != NULL ? params : json_object());
  if (page && c->session != NULL)
    json_object_set_new(msg, "sessionId", json_string(c->session));
  char *text = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  size_t len = strlen(text) + 1; /* with its NUL: the message's end */
  for (size_t off = 0; off < len;) {
    ssize_t n = write(c->wfd, text + off, len - off);
    cr_assert(n > 0 || errno == EINTR, "write to chromium: %s", strerror(errno));
    if (n > 0)
      off += (size_t)n;
  }
  free(text);
  return id;
}

/* The next message from chromium, read by end (ms, tu_now_ms); the
 * page's load events are counted on the way. */
static json_t *cdp_next(cdp_t *c, const char *what, int64_t end) {
  for (;;) {
    char *nul = c->len > 0 ? memchr(c->buf, '\0', c->len) : NULL;
    if (nul != NULL) {
      json_t *msg = json_loadb(c->buf, (size_t)(nul - c->buf), 0, NULL);
      size_t used = (size_t)(nul - c->buf) + 1;
      memmove(c->buf, c->buf + used, c->len - used);
      c->len -= used;
      const char *method = json_string_value(json_object_get(msg, "method"));
      if (method != NULL && strcmp(method, "Page.loadEventFired") == 0)
        c->loads++;
      json_t *params = json_object_get(msg, "params");
      const char *error = NULL;
      if (method != NULL && strcmp(method, "Runtime.exceptionThrown") == 0)
        error = json_string_value(json_object_get(
            json_object_get(json_object_get(params, "exceptionDetails"), "exception"),
            "description"));
      json_t *entry = json_object_get(params, "entry");
      if (method != NULL && strcmp(method, "Log.entryAdded") == 0 &&
          strcmp(json_string_value(json_object_get(entry, "level")), "error") == 0)
        error = json_string_value(json_object_get(entry, "text"));
      if (error != NULL) {
        size_t n = strlen(c->errors);
        snprintf(c->errors + n, sizeof(c->errors) - n, "\n%s", error);
      }
      return msg;
    }
    int64_t left = end - tu_now_ms();
    struct pollfd p = {c->rfd, POLLIN, 0};
    cr_assert(left > 0 && poll(&p, 1, (int)left) == 1, "%s: nothing from chromium in time",
              what);
    if (c->len + 65536 > c->cap) {
      c->cap = c->cap == 0 ? 1 << 20 : c->cap * 2;
      c->buf = realloc(c->buf, c->cap);
    }
    ssize_t n = read(c->rfd, c->buf + c->len, c->cap - c->len);
    cr_assert(n > 0, "%s: chromium closed its pipe", what);
    c->len += (size_t)n;
  }
}

/* The reply to id (its "result", the caller decrefs), within deadline_ms;
 * events on the way are dropped. An error fails the test, unless error
 * is not NULL: then it is put there (NULL is returned). */
static json_t *cdp_wait(cdp_t *c, int id, const char *what, int deadline_ms, json_t **error) {
  int64_t end = tu_now_ms() + deadline_ms;
  for (;;) {
    json_t *msg = cdp_next(c, what, end);
    if (json_integer_value(json_object_get(msg, "id")) != id) {
      json_decref(msg);
      continue;
    }
    json_t *err = json_object_get(msg, "error");
    if (err != NULL && error != NULL) {
      *error = json_incref(err);
      json_decref(msg);
      return NULL;
    }
    if (err != NULL) {
      char *e = json_dumps(err, JSON_COMPACT);
      cr_assert_fail("%s: %s", what, e);
    }
    json_t *result = json_incref(json_object_get(msg, "result"));
    json_decref(msg);
    return result;
  }
}

/* Until the page has fired its load event n times (Page.enable'd). */
static void cdp_wait_loads(cdp_t *c, int n, int deadline_ms) {
  int64_t end = tu_now_ms() + deadline_ms;
  while (c->loads < n)
    json_decref(cdp_next(c, "the page's load", end));
}

/* s as a JavaScript string literal (JSON's), in a new string. */
static char *js_str(const char *s) {
  json_t *j = json_string(s);
  char *text = json_dumps(j, JSON_ENCODE_ANY);
  json_decref(j);
  return text;
}

static json_t *cdp_call(cdp_t *c, bool page, const char *method, json_t *params, int deadline_ms) {
  return cdp_wait(c, cdp_send(c, page, method, params), method, deadline_ms, NULL);
}

/* The value of a JavaScript expression in the page; a promise is waited
 * for (within deadline_ms, as the page's own timer rejects it). When
 * navigated is not NULL, the page navigating away before the answer is
 * not a failure: *navigated is set (and NULL returned). */
static json_t *cdp_eval_nav(cdp_t *c, const char *expr, int deadline_ms, bool *navigated) {
  json_t *error = NULL;
  int id = cdp_send(c, true, "Runtime.evaluate",
                    json_pack("{s:s,s:b,s:b}", "expression", expr, "awaitPromise", 1,
                              "returnByValue", 1));
  json_t *res = cdp_wait(c, id, "Runtime.evaluate", deadline_ms + 5000, &error);
  if (error != NULL) {
    const char *m = json_string_value(json_object_get(error, "message"));
    bool nav = m != NULL && strstr(m, "navigated") != NULL;
    char *e = json_dumps(error, JSON_COMPACT);
    json_decref(error);
    cr_assert(nav && navigated != NULL, "%s: %s", expr, e);
    free(e);
    *navigated = true;
    return NULL;
  }
  json_t *exc = json_object_get(res, "exceptionDetails");
  if (exc != NULL) {
    char *e = json_dumps(exc, JSON_COMPACT);
    cr_assert_fail("%s: %s", expr, e);
  }
  json_t *v = json_incref(json_object_get(json_object_get(res, "result"), "value"));
  json_decref(res);
  return v;
}

static json_t *cdp_eval(cdp_t *c, const char *expr, int deadline_ms) {
  return cdp_eval_nav(c, expr, deadline_ms, NULL);
}

/* Wait in the page until cond (an expression) is truthy: a promise that
 * checks it on every DOM change, rejected at the deadline. Its value. */
static json_t *page_until(cdp_t *c, const char *cond, int deadline_ms) {
  char *lit = js_str(cond);
  char *expr = tu_fmt(
      "new Promise((resolve, reject) => {"
      "  const check = () => { try { const v = (%s); if (v) { obs.disconnect(); resolve(v); } }"
      "                        catch (e) {} };"
      "  const obs = new MutationObserver(check);"
      "  obs.observe(document, {subtree: true, childList: true, characterData: true,"
      "                         attributes: true});"
      "  setTimeout(() => { obs.disconnect(); reject(new Error('waited in vain for: ' + %s)); },"
      "             %d);"
      "  check();"
      "})",
      cond, lit, deadline_ms);
  /* A page that navigates (a form posted without JavaScript) ends the
   * wait in the old document: it goes on in the new one. */
  int64_t end = tu_now_ms() + deadline_ms;
  json_t *v;
  bool navigated;
  do {
    navigated = false;
    v = cdp_eval_nav(c, expr, deadline_ms, &navigated);
  } while (navigated && tu_now_ms() < end);
  cr_assert(!navigated, "waited in vain for: %s", cond);
  free(expr);
  free(lit);
  return v;
}

static void navigate(cdp_t *c, const char *path) {
  char *url = tu_fmt("http://127.0.0.1:%d%s", port, path);
  int loads = c->loads;
  json_decref(cdp_call(c, true, "Page.navigate", json_pack("{s:s}", "url", url), 30000));
  free(url);
  cdp_wait_loads(c, loads + 1, 30000);
}

static int b64val(char ch) {
  const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = strchr(t, ch);
  return ch != '\0' && p != NULL ? (int)(p - t) : -1;
}

/* A screenshot of the page as PNG at path (and at $TEND_WEBUI_SCREENSHOT
 * too when given, with name's suffix). */
static void screenshot(cdp_t *c, const char *name) {
  json_t *res = cdp_call(c, true, "Page.captureScreenshot", json_pack("{s:s}", "format", "png"),
                         30000);
  const char *b64 = json_string_value(json_object_get(res, "data"));
  cr_assert(b64 != NULL);
  size_t n = strlen(b64), len = 0;
  unsigned char *png = malloc(n / 4 * 3 + 3);
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val(b64[i]);
    if (v < 0)
      continue; /* padding */
    acc = acc << 6 | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      png[len++] = (unsigned char)(acc >> bits);
    }
  }
  json_decref(res);
  cr_assert(len > 1000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "not a PNG");
  const char *dirs[] = {tu_test_dir(), getenv("TEND_WEBUI_SCREENSHOT")};
  for (int i = 0; i < 2; i++) {
    if (dirs[i] == NULL || dirs[i][0] == '\0')
      continue;
    char *path = tu_fmt("%s/%s", dirs[i], name);
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "%s: %s", path, strerror(errno));
    cr_assert(fwrite(png, 1, len, f) == len && fclose(f) == 0);
    free(path);
  }
  free(png);
}

/* A real click at the middle of the element selector finds. */
static void click(cdp_t *c, const char *selector) {
  char *lit = js_str(selector);
  char *expr = tu_fmt("(() => { const e = document.querySelector(%s);"
                      "  e.scrollIntoView({block: 'center'});"
                      "  const r = e.getBoundingClientRect();"
                      "  return [r.x + r.width / 2, r.y + r.height / 2]; })()",
                      lit);
  json_t *xy = cdp_eval(c, expr, 5000);
  free(expr);
  free(lit);
  double x = json_number_value(json_array_get(xy, 0)), y = json_number_value(json_array_get(xy, 1));
  json_decref(xy);
  const char *types[] = {"mouseMoved", "mousePressed", "mouseReleased"};
  for (int i = 0; i < 3; i++)
    json_decref(cdp_call(c, true, "Input.dispatchMouseEvent",
                         json_pack("{s:s,s:f,s:f,s:s,s:i}", "type", types[i], "x", x, "y", y,
                                   "button", "left", "clickCount", 1),
                         10000));
}

/* Close the browser, and be sure: its pid gone, or killed. */
static void cdp_stop(cdp_t *c) {
  if (c->pid <= 0)
    return;
  cdp_send(c, false, "Browser.close", NULL);
  if (!tu_wait_gone(c->pid, 15000))
    kill(c->pid, SIGKILL);
  waitpid(c->pid, NULL, 0);
  c->pid = 0;
  close(c->wfd);
  close(c->rfd);
  free(c->buf);
  free(c->session);
}

static cdp_t browser;

static void chromium_fini(void) {
  if (browser.pid > 0)
    kill(browser.pid, SIGKILL), waitpid(browser.pid, NULL, 0);
  browser.pid = 0;
  teardown();
}

Test(webui, chromium_clicks_stop, .fini = chromium_fini) {
  if (chromium_path() == NULL)
    cr_skip("chromium is not installed (Debian's chromium package): no browser test");
  start(NULL);
  cr_assert(wait_state("web", "RUNNING", 10000));
  cdp_t *c = &browser;
  cdp_start(c, tu_test_dir());
  /* The first answer waits for the browser to be up: long on busy cores. */
  json_t *t = cdp_call(c, false, "Target.createTarget", json_pack("{s:s}", "url", "about:blank"),
                       90000);
  json_t *a = cdp_call(c, false, "Target.attachToTarget",
                       json_pack("{s:O,s:b}", "targetId", json_object_get(t, "targetId"),
                                 "flatten", 1),
                       30000);
  c->session = strdup(json_string_value(json_object_get(a, "sessionId")));
  json_decref(t);
  json_decref(a);
  json_decref(cdp_call(c, true, "Page.enable", NULL, 10000));
  json_decref(cdp_call(c, true, "Runtime.enable", NULL, 10000));
  json_decref(cdp_call(c, true, "Log.enable", NULL, 10000));
  json_decref(cdp_call(c, true, "Emulation.setDeviceMetricsOverride",
                       json_pack("{s:i,s:i,s:i,s:b}", "width", 1000, "height", 520,
                                 "deviceScaleFactor", 1, "mobile", 0),
                       10000));

  /* The live tail: both channels arrive, and go on arriving. */
  navigate(c, "/tail.html?processname=web");
  json_decref(page_until(c,
                         "document.querySelector('pre[data-src$=\"/stdout\"]').textContent"
                         ".includes('hello out') && document.querySelector("
                         "'pre[data-src$=\"/stderr\"]').textContent.includes('hello err')",
                         30000));
  json_t *n = cdp_eval(c, "document.querySelector('pre[data-src$=\"/stderr\"]').textContent"
                          ".split('hello err').length", 5000);
  char *more = tu_fmt("document.querySelector('pre[data-src$=\"/stderr\"]').textContent"
                      ".split('hello err').length > %lld",
                      (long long)json_integer_value(n));
  json_decref(n);
  json_decref(page_until(c, more, 30000));
  free(more);
  screenshot(c, "tail.png");

  /* The status page; Stop clicked with the mouse. */
  navigate(c, "/");
  json_decref(page_until(
      c, "document.querySelector('tr[data-name=\"web\"] td.state').textContent === 'RUNNING'",
      30000));
  click(c, "tr[data-name=\"web\"] button[value=\"stop\"]");
  cr_assert(wait_state("web", "STOPPED", 30000), "web is %s after the click; the log:\n%s",
            state_of("web"), tu_read_file(d.log, NULL));
  /* The page tells, and its table follows by itself. */
  json_decref(page_until(c,
                         "document.getElementById('message').textContent === 'web: stopped' &&"
                         "document.querySelector('tr[data-name=\"web\"] td.state').textContent"
                         " === 'STOPPED' && !document.querySelector('tr[data-name=\"web\"] "
                         "button[value=\"start\"]').disabled",
                         30000));
  screenshot(c, "webui.png");

  /* Started again from the command line: the table shows it unasked. */
  tu_result_t r;
  tu_ctl(&d, &r, "start", "web", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  json_decref(page_until(
      c, "document.querySelector('tr[data-name=\"web\"] td.state').textContent === 'RUNNING'",
      30000));

  /* JavaScript off: the button is a plain form, answered by a redirect
   * to the page with its message. */
  json_decref(cdp_call(c, true, "Emulation.setScriptExecutionDisabled",
                       json_pack("{s:b}", "value", 1), 10000));
  navigate(c, "/");
  int loads = c->loads;
  click(c, "tr[data-name=\"web\"] button[value=\"stop\"]");
  cr_assert(wait_state("web", "STOPPED", 30000), "web is %s after the click without JavaScript",
            state_of("web"));
  /* The next page is the redirect's (the page's own reload without
   * JavaScript comes 5 s after it). */
  cdp_wait_loads(c, loads + 1, 30000);
  json_t *shown = cdp_eval(c, "location.search + ' ' + document.getElementById('message').textContent",
                           5000);
  cr_assert_str_eq(json_string_value(shown), "?message=web%3A%20stopped web: stopped");
  json_decref(shown);

  /* No exception, no blocked load, no failed request on the way. */
  cr_assert_str_eq(c->errors, "", "the page's errors:%s", c->errors);
  cdp_stop(c);
  tu_daemon_stop_clean(&d);
  tu_assert_no_strays(5000);
}
