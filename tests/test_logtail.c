/* SPDX-License-Identifier: MIT */
/*
 * Live log streams (src/http/logtail.c) through a real HTTP server on
 * 127.0.0.1 and real client sockets, on the test's loop: the last 1 KiB
 * first, appends pushed at once, rotation by rename (by hand and by tend's
 * own outlog), copytruncate, a client that leaves, a server that closes,
 * a reader that does not read, and supervisorctl's own HTTP client
 * (supervisor.http_client, what `supervisorctl tail -f` runs). Every wait
 * is bounded.
 */
#include "http/logtail.h"
#include "http/server.h"
#include "looputil.h"
#include "supervisor/outlog.h"
#include "tend/buf.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static uv_loop_t loop;

struct ctx {
  http_server_t *srv;
  int port;
  char *dir;
  char *path;
  http_req_t *req; /* the last stream's, valid while it runs */
  int serve_rc;
  int served;
  bool closed;
};

static struct ctx T;

static void setup(void) {
  cr_assert(uv_loop_init(&loop) == 0);
  memset(&T, 0, sizeof(T));
  T.dir = tu_tmpdir();
  T.path = tu_fmt("%s/prog.out", T.dir);
}

static void closed_cb(http_server_t *s, void *data) { ((struct ctx *)data)->closed = true; }

static void teardown(void) {
  if (T.srv != NULL && !T.closed) {
    http_server_close(T.srv, closed_cb);
    cr_assert(lu_run_until(&loop, &T.closed, 5000), "server never closed");
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  cr_expect(uv_loop_close(&loop) == 0, "handles left open on the loop");
  free(T.path);
  tu_rmdir(T.dir);
}

TestSuite(logtail, .init = setup, .fini = teardown, .timeout = 60);

static void handler(http_req_t *req, void *data) {
  struct ctx *c = data;
  c->req = req;
  c->serve_rc = logtail_serve(req, &loop, c->path);
  c->served++;
  if (c->serve_rc < 0)
    http_respond(req, 404, "text/plain", "not found\n", 10);
}

static void start(void) {
  cr_assert(http_server_init(&T.srv, &loop, handler, &T, NULL) == 0);
  cr_assert(http_server_listen_tcp(T.srv, "127.0.0.1", 0, NULL, &T.port) == 0);
}

static void append(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
  cr_assert(write(fd, data, len) == (ssize_t)len);
  close(fd);
}

static void append_str(const char *path, const char *s) { append(path, s, strlen(s)); }

/* ---- a client socket that decodes the chunked reply ------------------- */

struct client {
  int fd;
  uv_poll_t poll;
  tend_buf_t raw;  /* as received */
  size_t off;      /* of raw parsed */
  bool head_done;
  tend_buf_t body; /* the chunks' data */
  bool ended;      /* the last chunk came */
  bool eof;
  /* done when body holds needle, or body.len >= want_len, or raw holds
   * raw_needle */
  const char *needle;
  const char *raw_needle;
  size_t want_len;
  bool done;
};

static void client_decode(struct client *c) {
  for (;;) {
    const char *p = c->raw.data + c->off;
    size_t left = c->raw.len - c->off;
    if (!c->head_done) {
      const char *e = memmem(p, left, "\r\n\r\n", 4);
      if (e == NULL)
        return;
      c->head_done = true;
      c->off += (size_t)(e - p) + 4;
      continue;
    }
    const char *crlf = memmem(p, left, "\r\n", 2);
    if (crlf == NULL || c->ended)
      return;
    size_t size = strtoul(p, NULL, 16), line = (size_t)(crlf - p) + 2;
    if (left < line + size + 2)
      return;
    cr_assert(memcmp(p + line + size, "\r\n", 2) == 0, "bad chunk framing");
    if (size == 0)
      c->ended = true;
    tend_buf_append(&c->body, p + line, size);
    c->off += line + size + 2;
  }
}

static void client_check(struct client *c) {
  c->done = c->eof || (c->needle != NULL && c->body.len > 0 &&
                       memmem(c->body.data, c->body.len, c->needle, strlen(c->needle)) != NULL) ||
            (c->needle == NULL && c->want_len > 0 && c->body.len >= c->want_len) ||
            (c->raw_needle != NULL && c->raw.len > 0 &&
             memmem(c->raw.data, c->raw.len, c->raw_needle, strlen(c->raw_needle)) != NULL);
}

static void poll_cb(uv_poll_t *p, int status, int events) {
  struct client *c = p->data;
  for (;;) {
    cr_assert(tend_buf_reserve(&c->raw, 65536) == 0);
    ssize_t n = recv(c->fd, c->raw.data + c->raw.len, c->raw.cap - c->raw.len, 0);
    if (n > 0) {
      c->raw.len += (size_t)n;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      c->eof = true;
      uv_poll_stop(p);
    }
    break;
  }
  client_decode(c);
  client_check(c);
}

/* Connect and ask for the log; rcvbuf > 0 shrinks the socket's buffer,
 * reading false leaves the socket unread until client_read. */
static void client_open(struct client *c, int rcvbuf, bool reading) {
  memset(c, 0, sizeof(*c));
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0)
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)T.port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
            strerror(errno));
  const char *req = "GET /logtail/prog HTTP/1.1\r\nHost: \r\nAccept: */*\r\n\r\n";
  cr_assert(send(c->fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
  fcntl(c->fd, F_SETFL, O_NONBLOCK);
  cr_assert(uv_poll_init(&loop, &c->poll, c->fd) == 0);
  c->poll.data = c;
  if (reading)
    uv_poll_start(&c->poll, UV_READABLE, poll_cb);
}

static void client_read(struct client *c) { uv_poll_start(&c->poll, UV_READABLE, poll_cb); }

static void client_wait(struct client *c, const char *needle) {
  c->needle = needle;
  c->want_len = 0;
  client_check(c);
  cr_assert(lu_run_until(&loop, &c->done, 5000), "waited for '%s', got: %.*s", needle,
            (int)c->body.len, c->body.data);
}

/* An answer that is not a stream: wait for its end. */
static void client_wait_raw(struct client *c, const char *needle) {
  c->raw_needle = needle;
  client_check(c);
  cr_assert(lu_run_until(&loop, &c->done, 5000), "waited for '%s', got: %.*s", needle,
            (int)c->raw.len, c->raw.data);
}

static void client_wait_len(struct client *c, size_t len, int deadline_ms) {
  c->needle = NULL;
  c->want_len = len;
  client_check(c);
  cr_assert(lu_run_until(&loop, &c->done, deadline_ms), "waited for %zu bytes, got %zu", len,
            c->body.len);
}

static void poll_closed_cb(uv_handle_t *h) {
  struct client *c = h->data;
  close(c->fd);
  tend_buf_free(&c->raw);
  tend_buf_free(&c->body);
}

static void client_close(struct client *c) {
  uv_close((uv_handle_t *)&c->poll, poll_closed_cb);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void expect_body(struct client *c, const void *want, size_t len) {
  cr_expect_eq(c->body.len, len, "body of %zu bytes, expected %zu: %.*s", c->body.len, len,
               (int)c->body.len, c->body.data);
  cr_expect(c->body.len == len && memcmp(c->body.data, want, len) == 0, "body: %.*s",
            (int)c->body.len, c->body.data);
}

/* ---- the loop's handles ------------------------------------------------ */

struct count {
  uv_handle_type type;
  bool active_only;
  int n;
};

static void count_cb(uv_handle_t *h, void *arg) {
  struct count *c = arg;
  if (h->type == c->type && (!c->active_only || (uv_is_active(h) && !uv_is_closing(h))))
    c->n++;
}

/* Handles of type on the loop: all of them, closing too, or the active. */
static int handles(uv_handle_type type, bool active_only) {
  struct count c = {.type = type, .active_only = active_only};
  uv_walk(&loop, count_cb, &c);
  return c.n;
}

struct until {
  uv_handle_type type;
  bool active_only;
  int n;
  bool met;
};

static void until_cb(uv_timer_t *t) {
  struct until *u = t->data;
  u->met = handles(u->type, u->active_only) == u->n;
}

/* Run the loop until there are n handles of type (checked every 5 ms). */
static bool run_until_handles(uv_handle_type type, bool active_only, int n, int deadline_ms) {
  struct until u = {.type = type, .active_only = active_only, .n = n};
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = &u;
  uv_timer_start(&t, until_cb, 0, 5);
  bool ok = lu_run_until(&loop, &u.met, deadline_ms);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return ok;
}

/* ---- tests -------------------------------------------------------------- */

static char *lines(int from, int to) {
  tend_buf_t b = {0};
  char l[32];
  for (int i = from; i < to; i++) {
    int n = snprintf(l, sizeof(l), "line %05d of the log\n", i);
    tend_buf_append(&b, l, (size_t)n);
  }
  tend_buf_append(&b, "", 1);
  return b.data;
}

Test(logtail, last_kib_first_then_appends_at_once) {
  char *old = lines(0, 200); /* 4200 bytes */
  size_t len = strlen(old);
  append(T.path, old, len);
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait_len(&c, LOGTAIL_HEAD, 5000);
  cr_expect_eq(T.serve_rc, 0);
  expect_body(&c, old + len - LOGTAIL_HEAD, LOGTAIL_HEAD);
  const char *head = c.raw.data;
  cr_expect(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", head);
  cr_expect(strstr(head, "\r\nContent-Type: text/plain;charset=utf-8\r\n") != NULL);
  cr_expect(strstr(head, "\r\nX-Accel-Buffering: no\r\n") != NULL);
  cr_expect(strstr(head, "\r\nCache-Control: no-cache\r\n") != NULL);
  cr_expect(strstr(head, "\r\nTransfer-Encoding: chunked\r\n") != NULL);
  cr_expect(strstr(head, " GMT\r\n") != NULL && strstr(head, "\r\nLast-Modified: ") != NULL);
  /* Each append arrives at once: pushed by inotify, not found by a poll. */
  for (int i = 0; i < 5; i++) {
    char l[32];
    snprintf(l, sizeof(l), "appended %d\n", i);
    int64_t t0 = tu_now_ms();
    append_str(T.path, l);
    client_wait(&c, l);
    cr_expect(tu_now_ms() - t0 < 1000, "took %lld ms", (long long)(tu_now_ms() - t0));
  }
  cr_expect_eq(c.body.len, LOGTAIL_HEAD + 5 * strlen("appended 0\n"));
  cr_expect(!c.ended && !c.eof);
  client_close(&c);
  free(old);
}

Test(logtail, small_and_empty_files) {
  append_str(T.path, "short\n");
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait(&c, "short\n");
  expect_body(&c, "short\n", 6);
  client_close(&c);
  cr_assert(truncate(T.path, 0) == 0);
  struct client e;
  client_open(&e, 0, true);
  cr_assert(run_until_handles(UV_FS_EVENT, true, 1, 5000), "no watch for the empty file");
  append_str(T.path, "first\n");
  client_wait(&e, "first\n");
  expect_body(&e, "first\n", 6);
  client_close(&e);
}

Test(logtail, missing_file_or_not_regular_is_not_answered) {
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait_raw(&c, "not found\n");
  cr_expect_eq(T.serve_rc, -ENOENT);
  cr_expect(strncmp(c.raw.data, "HTTP/1.1 404 ", 13) == 0, "%s", c.raw.data);
  client_close(&c);
  cr_assert(mkdir(T.path, 0755) == 0);
  client_open(&c, 0, true);
  client_wait_raw(&c, "not found\n");
  cr_expect_eq(T.serve_rc, -EINVAL);
  client_close(&c);
  cr_assert(rmdir(T.path) == 0);
  cr_assert(mkfifo(T.path, 0644) == 0);
  client_open(&c, 0, true);
  client_wait_raw(&c, "not found\n");
  cr_expect_eq(T.serve_rc, -EINVAL);
  client_close(&c);
  cr_expect_eq(handles(UV_FS_EVENT, false), 0);
}

Test(logtail, follows_rename_rotation) {
  append_str(T.path, "a\n");
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait(&c, "a\n");
  /* The last lines of the old file come before the new file. */
  char *rotated = tu_fmt("%s.1", T.path);
  append_str(T.path, "last of old\n");
  cr_assert(rename(T.path, rotated) == 0);
  append_str(T.path, "first of new\n");
  client_wait(&c, "first of new\n");
  append_str(T.path, "second of new\n");
  client_wait(&c, "second of new\n");
  /* The name missing for a while: the directory is watched until the new
   * file comes, then only the file again. */
  cr_assert(rename(T.path, rotated) == 0);
  cr_assert(run_until_handles(UV_FS_EVENT, true, 2, 5000), "directory not watched");
  append_str(T.path, "third file\n");
  client_wait(&c, "third file\n");
  cr_assert(run_until_handles(UV_FS_EVENT, true, 1, 5000), "directory still watched");
  /* Another name in the directory wakes nothing up. */
  char *other = tu_fmt("%s/other.out", T.dir);
  append_str(other, "not ours\n");
  append_str(T.path, "end\n");
  client_wait(&c, "end\n");
  const char *want = "a\nlast of old\nfirst of new\nsecond of new\nthird file\nend\n";
  expect_body(&c, want, strlen(want));
  client_close(&c);
  free(rotated);
  free(other);
}

/* tend's own child logs: outlog renames NAME to NAME.1 and opens a new
 * NAME whenever maxbytes would be passed. Every line arrives, in order. */
Test(logtail, follows_outlog_rotation) {
  outlog_t l;
  cr_assert(outlog_open(&l, T.path, 200, 3) == 0);
  cr_assert(outlog_write(&l, "started\n", 8) == 0);
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait(&c, "started\n");
  char *all = lines(0, 60);
  for (int i = 0; i < 60; i++) {
    char *one = lines(i, i + 1);
    cr_assert(outlog_write(&l, one, strlen(one)) == 0);
    client_wait(&c, one);
    free(one);
  }
  char *b1 = tu_fmt("%s.3", T.path);
  cr_expect(access(b1, F_OK) == 0, "no rotation happened");
  char *want = tu_fmt("started\n%s", all);
  expect_body(&c, want, strlen(want));
  outlog_close(&l);
  client_close(&c);
  free(all);
  free(want);
  free(b1);
}

Test(logtail, copytruncate_marker) {
  char *old = lines(0, 100);
  append_str(T.path, old);
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait_len(&c, LOGTAIL_HEAD, 5000);
  cr_assert(truncate(T.path, 0) == 0);
  append_str(T.path, "fresh\n");
  client_wait(&c, "fresh\n");
  char *want = tu_fmt("%s\n==> File truncated <==\nfresh\n", old + strlen(old) - LOGTAIL_HEAD);
  expect_body(&c, want, strlen(want));
  client_close(&c);
  free(old);
  free(want);
}

Test(logtail, head_starts_on_a_character) {
  /* 1023 bytes of 'é' (2 bytes each) and a newline: the last 1024 bytes
   * would start in the middle of one. */
  char buf[2048];
  for (int i = 0; i < 1023; i++)
    memcpy(buf + 2 * i, "\xc3\xa9", 2);
  buf[2046] = '\n';
  append(T.path, buf, 2047);
  start();
  struct client c;
  client_open(&c, 0, true);
  client_wait(&c, "\n");
  expect_body(&c, buf + 2047 - 1023, 1023);
  client_close(&c);
}

Test(logtail, client_hang_up_frees_everything) {
  append_str(T.path, "x\n");
  start();
  struct client c[3];
  for (int i = 0; i < 3; i++) {
    client_open(&c[i], 0, true);
    client_wait(&c[i], "x\n");
  }
  /* Idle streams arm no timer and no idle handle: nothing wakes the loop. */
  cr_expect_eq(handles(UV_TIMER, true), 0);
  cr_expect_eq(handles(UV_IDLE, true), 0);
  cr_expect_eq(handles(UV_PREPARE, true), 0);
  cr_expect_eq(handles(UV_CHECK, true), 0);
  cr_expect_eq(handles(UV_FS_EVENT, true), 3);
  client_close(&c[0]);
  /* Two watches per stream (the file, the directory), one check handle. */
  cr_assert(run_until_handles(UV_FS_EVENT, false, 4, 5000), "the stream was not freed");
  cr_expect_eq(handles(UV_CHECK, false), 2);
  append_str(T.path, "y\n");
  client_wait(&c[1], "y\n");
  /* The server closing ends the others. */
  http_server_close(T.srv, closed_cb);
  cr_assert(lu_run_until(&loop, &T.closed, 5000));
  cr_expect_eq(handles(UV_FS_EVENT, false), 0);
  cr_expect_eq(handles(UV_CHECK, false), 0);
  client_close(&c[1]);
  client_close(&c[2]);
}

Test(logtail, slow_reader_is_bounded_and_loses_nothing) {
  start();
  append_str(T.path, "");
  struct client c;
  client_open(&c, 4096, false);
  cr_assert(run_until_handles(UV_FS_EVENT, true, 1, 5000));
  /* 16 MiB written while the client reads nothing: the server queues at
   * most the bound and a chunk, and stops reading the file. */
  size_t total = 16 << 20, step = 256 * 1024;
  char *data = malloc(total);
  for (size_t i = 0; i < total; i++)
    data[i] = (char)('a' + (i * 31 + i / 4096) % 26);
  for (size_t off = 0; off < total; off += step) {
    append(T.path, data + off, step);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert(http_req_backlog(T.req) <= LOGTAIL_MAX_BACKLOG + 2 * 16384,
              "backlog %zu after %zu bytes", http_req_backlog(T.req), off + step);
  }
  cr_assert(run_until_handles(UV_CHECK, true, 1, 5000), "the stream never paused");
  cr_expect(http_req_backlog(T.req) <= LOGTAIL_MAX_BACKLOG + 2 * 16384);
  /* Rotated while behind: the old file is sent to its end first. */
  char *rotated = tu_fmt("%s.1", T.path);
  cr_assert(rename(T.path, rotated) == 0);
  append_str(T.path, "after rotation\n");
  tend_buf_t want = {0};
  tend_buf_append(&want, data, total);
  tend_buf_append(&want, "after rotation\n", 15);
  /* Reading again: everything comes, in order. */
  client_read(&c);
  client_wait_len(&c, want.len, 30000);
  expect_body(&c, want.data, want.len);
  tend_buf_free(&want);
  free(rotated);
  cr_expect(run_until_handles(UV_CHECK, true, 0, 5000), "still paused");
  client_close(&c);
  free(data);
}

Test(logtail, slow_reader_leaving_frees_everything) {
  start();
  append_str(T.path, "");
  struct client c;
  client_open(&c, 4096, false);
  cr_assert(run_until_handles(UV_FS_EVENT, true, 1, 5000));
  char *data = malloc(1 << 20);
  memset(data, 'z', 1 << 20);
  for (int i = 0; i < 8; i++) {
    append(T.path, data, 1 << 20);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  cr_assert(run_until_handles(UV_CHECK, true, 1, 5000), "the stream never paused");
  client_close(&c);
  cr_assert(run_until_handles(UV_FS_EVENT, false, 0, 5000), "the stream was not freed");
  cr_expect_eq(handles(UV_CHECK, false), 0);
  free(data);
}

/* ---- supervisorctl's client -------------------------------------------- */

struct py_run {
  int64_t status;
  bool exited;
};

static void py_exit_cb(uv_process_t *p, int64_t status, int sig) {
  struct py_run *r = p->data;
  r->status = sig != 0 ? -sig : status;
  r->exited = true;
  uv_close((uv_handle_t *)p, NULL);
}

struct file_has {
  const char *path, *needle;
  bool met;
};

#define PY_OUT_MAX (512 * 1024)

static char *read_all(const char *path) {
  char *buf = calloc(1, PY_OUT_MAX + 1);
  int fd = open(path, O_RDONLY);
  size_t len = 0;
  ssize_t n;
  while (fd >= 0 && len < PY_OUT_MAX && (n = read(fd, buf + len, PY_OUT_MAX - len)) > 0)
    len += (size_t)n;
  if (fd >= 0)
    close(fd);
  return buf;
}

static void file_has_cb(uv_timer_t *t) {
  struct file_has *f = t->data;
  char *buf = read_all(f->path);
  f->met = strstr(buf, f->needle) != NULL;
  free(buf);
}

static bool run_until_file_has(const char *path, const char *needle, int deadline_ms) {
  struct file_has f = {.path = path, .needle = needle};
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = &f;
  uv_timer_start(&t, file_has_cb, 0, 10);
  bool ok = lu_run_until(&loop, &f.met, deadline_ms);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return ok;
}

/* What `supervisorctl tail -f` runs after its version check (which is
 * XML-RPC, not this part): supervisor.http_client on our stream. */
Test(logtail, supervisorctl_http_client) {
  const char *python = tu_python_with("supervisor.http_client");
  append_str(T.path, "before \xc3\xa9t\xc3\xa9\n");
  start();
  char script[1024];
  snprintf(script, sizeof(script),
           "import sys\n"
           "from supervisor import http_client\n"
           "from supervisor.medusa import asyncore_25 as asyncore\n"
           "h = http_client.HTTPHandler(http_client.Listener(), '', '')\n"
           "h.get('http://127.0.0.1:%d', '/logtail/prog/stdout')\n"
           "asyncore.loop()\n",
           T.port);
  char *out = tu_fmt("%s/py.out", T.dir);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(fd >= 0);
  char *args[] = {(char *)python, "-c", script, NULL};
  uv_process_options_t o = {.file = args[0], .args = args, .exit_cb = py_exit_cb};
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = fd},
                                   {.flags = UV_INHERIT_FD, .data.fd = fd}};
  o.stdio = stdio;
  o.stdio_count = 3;
  uv_process_t p;
  struct py_run r = {.status = -1};
  p.data = &r;
  cr_assert(uv_spawn(&loop, &p, &o) == 0);
  close(fd);
  cr_expect(run_until_file_has(out, "before \xc3\xa9t\xc3\xa9\n", 20000), "no head");
  append_str(T.path, "after\n");
  cr_expect(run_until_file_has(out, "before \xc3\xa9t\xc3\xa9\nafter\n", 5000), "no append");
  /* 90 KB of three-byte characters at once: read in several chunks, each
   * cut between characters, else the client prints "Undecodable: b'..'". */
  size_t n = 30000, len = 3 * n + 7;
  char *burst = malloc(len);
  for (size_t i = 0; i < n; i++)
    memcpy(burst + 3 * i, "\xe2\x82\xac", 3);
  memcpy(burst + 3 * n, "\nburst\n", 7);
  append(T.path, burst, len);
  cr_expect(run_until_file_has(out, "\nburst\n", 5000), "no burst");
  char *got = read_all(out);
  cr_expect(strstr(got, "Undecodable") == NULL, "a chunk was cut inside a character");
  cr_expect(strstr(got, "after\n") != NULL && memcmp(strstr(got, "after\n") + 6, burst, len) == 0,
            "the burst did not arrive whole");
  free(got);
  free(burst);
  cr_expect(!r.exited, "the client stopped");
  uv_process_kill(&p, SIGTERM);
  cr_assert(lu_run_until(&loop, &r.exited, 5000), "python3 did not exit");
  free(out);
}
