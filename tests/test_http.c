/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server (src/http/server.c) on a real loop with real client
 * sockets on loopback and a Unix socket, plus Python's http.client for the
 * keep-alive case; every wait is bounded by lu_run_until. Also SHA-1
 * (src/core/sha1.c) against the FIPS 180 examples.
 */
#include "core/sha1.h"
#include "http/server.h"
#include "looputil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static uv_loop_t loop;

struct ctx {
  http_server_t *srv;
  int port;
  http_req_t *held;
  bool held_ready;
  bool gone;
  bool closed;
  int requests;
};

static struct ctx T;

static void setup(void) {
  cr_assert(uv_loop_init(&loop) == 0);
  memset(&T, 0, sizeof(T));
}

static void closed_cb(http_server_t *s, void *data) { ((struct ctx *)data)->closed = true; }

static void teardown(void) {
  if (T.srv != NULL && !T.closed) {
    http_server_close(T.srv, closed_cb);
    cr_assert(lu_run_until(&loop, &T.closed, 5000), "server never closed");
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  cr_expect(uv_loop_close(&loop) == 0, "handles left open on the loop");
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);

static void gone_cb(http_req_t *req, void *data) { ((struct ctx *)data)->gone = true; }

static void handler(http_req_t *req, void *data) {
  struct ctx *c = data;
  c->requests++;
  const char *path = http_req_path(req);
  if (strcmp(path, "/hold") == 0) {
    c->held = req;
    c->held_ready = true;
    http_req_on_gone(req, gone_cb, c);
    return;
  }
  if (strcmp(path, "/stream") == 0) {
    cr_assert(http_stream_start(req, 200, "X-Accel-Buffering: no\r\n") == 0);
    cr_assert(http_stream_write(req, "hello ", 6) == 0);
    cr_assert(http_stream_write(req, "world", 5) == 0);
    cr_assert(http_stream_end(req) == 0);
    return;
  }
  char out[4096];
  size_t blen;
  const char *body = http_req_body(req, &blen);
  const char *host = http_req_header(req, "host");
  int n = snprintf(out, sizeof(out), "%s %s q=%s host=[%s] body=%zu:%s", http_req_method(req),
                   path, http_req_query(req) ? http_req_query(req) : "-", host ? host : "-",
                   blen, body);
  http_respond(req, 200, "text/plain", out, n < (int)sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

static void start(const http_limits_t *lim, const http_auth_t *auth) {
  cr_assert(http_server_init(&T.srv, &loop, handler, &T, lim) == 0);
  cr_assert(http_server_listen_tcp(T.srv, "127.0.0.1", 0, auth, &T.port) == 0);
}

/* A client socket read through a uv_poll_t on the test's loop. */
struct client {
  int fd;
  uv_poll_t poll;
  char buf[65536];
  size_t len;
  bool eof;
  const char *needle; /* done when buf holds it (count times) or at EOF */
  int count;
  bool done;
  bool polling;
};

static int occurrences(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

static void client_check(struct client *c) {
  c->done = c->eof || (c->needle != NULL && occurrences(c->buf, c->needle) >= c->count);
}

static void poll_cb(uv_poll_t *p, int status, int events) {
  struct client *c = p->data;
  for (;;) {
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    if (n > 0) {
      c->len += (size_t)n;
      c->buf[c->len] = '\0';
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      c->eof = true;
      uv_poll_stop(p);
    }
    break;
  }
  client_check(c);
}

static void client_poll(struct client *c) {
  fcntl(c->fd, F_SETFL, O_NONBLOCK);
  cr_assert(uv_poll_init(&loop, &c->poll, c->fd) == 0);
  c->poll.data = c;
  c->polling = true;
  uv_poll_start(&c->poll, UV_READABLE, poll_cb);
}

static void client_tcp(struct client *c, int port) {
  memset(c, 0, sizeof(*c));
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
            strerror(errno));
  client_poll(c);
}

static void client_unix(struct client *c, const char *path) {
  memset(c, 0, sizeof(*c));
  c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  cr_assert(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  client_poll(c);
}

static void client_send(struct client *c, const char *data) {
  size_t len = strlen(data), off = 0;
  while (off < len) {
    ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      uv_run(&loop, UV_RUN_NOWAIT); /* let the server drain the socket */
      continue;
    }
    cr_assert(n > 0, "send: %s", strerror(errno));
    off += (size_t)n;
  }
}

/* Run the loop until buf holds needle count times (or EOF). */
static void client_wait(struct client *c, const char *needle, int count) {
  c->needle = needle;
  c->count = count;
  client_check(c);
  cr_assert(lu_run_until(&loop, &c->done, 5000), "waited for %d x '%s', got: %s", count,
            needle, c->buf);
}

static void client_wait_eof(struct client *c) {
  c->needle = NULL;
  client_check(c);
  cr_assert(lu_run_until(&loop, &c->eof, 5000), "no close, got: %s", c->buf);
}

/* Connect over TCP, send req, wait for needle (NULL: for the close). */
static void client_ask(struct client *c, const char *req, const char *needle) {
  client_tcp(c, T.port);
  client_send(c, req);
  if (needle != NULL)
    client_wait(c, needle, 1);
  else
    client_wait_eof(c);
}

static void poll_closed_cb(uv_handle_t *h) { close(((struct client *)h->data)->fd); }

static void client_close(struct client *c) {
  uv_close((uv_handle_t *)&c->poll, poll_closed_cb);
  uv_run(&loop, UV_RUN_NOWAIT);
}

Test(http, keep_alive_two_requests) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "GET /a%20b?x=%41 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\n");
  client_send(&c, "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz");
  client_wait(&c, "body=3:xyz", 1);
  cr_expect(!c.eof, "closed a keep-alive connection");
  cr_expect(strstr(c.buf, "GET /a b q=x=A host=[h]") != NULL, "%s", c.buf);
  cr_expect(strstr(c.buf, "Connection: close") == NULL);
  client_close(&c);
}

/* HEAD: the headers GET would get, Content-Length too, and no body: the
 * next reply on the connection follows the blank line at once. */
Test(http, head_has_no_body) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n", "\r\n\r\n");
  client_send(&c, "GET /y HTTP/1.1\r\nHost: h\r\n\r\n");
  client_wait(&c, "GET /y q=- host=[h] body=0:", 1);
  char want[64];
  snprintf(want, sizeof(want), "Content-Length: %zu\r\n", strlen("HEAD /x q=- host=[h] body=0:"));
  cr_expect(strstr(c.buf, want) != NULL, "%s", c.buf);
  const char *end = strstr(c.buf, "\r\n\r\n");
  cr_expect(strncmp(end + 4, "HTTP/1.1 200 OK\r\n", 17) == 0, "a body after HEAD: %s", c.buf);
  client_close(&c);
}

Test(http, pipelined_requests_and_a_large_body) {
  http_limits_t lim;
  http_limits_default(&lim);
  lim.max_body = 200000;
  start(&lim, NULL);
  struct client c;
  /* Two requests in one write: the second waits in the read buffer until
   * the first is answered. */
  client_ask(&c, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", "GET /2");
  cr_expect(strstr(c.buf, "GET /1") < strstr(c.buf, "GET /2"));
  size_t n = 150000;
  char *big = malloc(n + 128);
  int h = snprintf(big, 128, "POST /big HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
  memset(big + h, 'b', n);
  big[(size_t)h + n] = '\0';
  client_send(&c, big);
  free(big);
  client_wait(&c, "body=150000:bbbb", 1);
  client_close(&c);
}

Test(http, http10_closes_unless_keep_alive) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "body=0:");
  cr_expect(strstr(c.buf, "Connection: keep-alive\r\n") != NULL, "%s", c.buf);
  client_send(&c, "GET /x HTTP/1.0\r\n\r\n");
  client_wait_eof(&c);
  cr_expect(strstr(c.buf, "GET /x") != NULL, "%s", c.buf);
  cr_expect(strstr(c.buf, "Connection: close\r\n") != NULL, "%s", c.buf);
  client_close(&c);
}

Test(http, post_without_length_is_411) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "POST /RPC2 HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
  cr_expect(strncmp(c.buf, "HTTP/1.1 411 Length Required\r\n", 30) == 0, "%s", c.buf);
  cr_expect_eq(T.requests, 0);
  client_close(&c);
}

Test(http, garbage_is_400_and_close) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "\x01\x02 nonsense\r\n\r\n", NULL);
  cr_expect(strncmp(c.buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", c.buf);
  client_close(&c);
}

Test(http, auth_missing_is_401) {
  http_auth_t a = {.username = "user", .password = "123"};
  start(NULL, &a);
  struct client c;
  client_ask(&c, "GET /anything HTTP/1.1\r\nAuthorization: Basic dXNlcjp4\r\n\r\n", NULL);
  cr_expect(strncmp(c.buf, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0, "%s", c.buf);
  cr_expect(strstr(c.buf, "WWW-Authenticate: Basic realm=\"default\"\r\n") != NULL);
  cr_expect(strstr(c.buf, "Connection: close\r\n") != NULL);
  cr_expect_eq(T.requests, 0);
  client_close(&c);
}

Test(http, auth_sha_password) {
  char pw[46] = "{SHA}";
  sha1_hex("thepw", 5, pw + 5);
  http_auth_t a = {.username = "user", .password = pw};
  start(NULL, &a);
  struct client c;
  client_tcp(&c, T.port);
  /* base64("user:thepw") */
  client_send(&c, "GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjp0aGVwdw==\r\n\r\n");
  client_wait(&c, "body=0:", 1);
  cr_expect(strncmp(c.buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", c.buf);
  client_close(&c);
}

Test(http, supervisorctl_logtail_form) {
  start(NULL, NULL);
  struct client c;
  client_tcp(&c, T.port);
  /* As supervisorctl's http_client sends it: an empty Host and one CRLF
   * more after the headers. */
  client_send(&c, "GET /logtail/cat HTTP/1.1\r\nHost: \r\nAccept: */*\r\n\r\n\r\n");
  client_wait(&c, "host=[]", 1);
  client_send(&c, "GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
  client_wait(&c, "GET /second", 1);
  cr_expect(strstr(c.buf, "400") == NULL, "%s", c.buf);
  cr_expect(!c.eof);
  client_close(&c);
}

Test(http, held_reply_while_others_served) {
  start(NULL, NULL);
  struct client a, b, g;
  client_tcp(&a, T.port);
  client_send(&a, "GET /hold HTTP/1.1\r\n\r\n");
  cr_assert(lu_run_until(&loop, &T.held_ready, 5000));
  client_ask(&b, "GET /other HTTP/1.1\r\n\r\n", "GET /other");
  cr_expect_eq(a.len, 0);
  cr_assert(http_respond(T.held, 200, "text/xml", "late", 4) == 0);
  client_wait(&a, "late", 1);
  /* A held request whose client leaves: the gone callback. */
  T.held_ready = false;
  client_tcp(&g, T.port);
  client_send(&g, "GET /hold HTTP/1.1\r\n\r\n");
  cr_assert(lu_run_until(&loop, &T.held_ready, 5000));
  client_close(&g);
  cr_expect(lu_run_until(&loop, &T.gone, 5000), "no gone callback");
  client_close(&a);
  client_close(&b);
}

Test(http, chunked_stream) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "GET /stream HTTP/1.1\r\n\r\n", "0\r\n\r\n");
  cr_expect(strstr(c.buf, "Transfer-Encoding: chunked\r\n") != NULL, "%s", c.buf);
  cr_expect(strstr(c.buf, "X-Accel-Buffering: no\r\n") != NULL);
  cr_expect(strstr(c.buf, "\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n") != NULL, "%s", c.buf);
  client_close(&c);
}

Test(http, stream_to_http10_runs_to_the_close) {
  start(NULL, NULL);
  struct client c;
  client_ask(&c, "GET /stream HTTP/1.0\r\n\r\n", NULL);
  cr_expect(strstr(c.buf, "Transfer-Encoding") == NULL, "%s", c.buf);
  cr_expect(strstr(c.buf, "Connection: close\r\n") != NULL, "%s", c.buf);
  cr_expect(strstr(c.buf, "\r\n\r\nhello world") != NULL, "%s", c.buf);
  client_close(&c);
}

Test(http, limits) {
  http_limits_t lim;
  http_limits_default(&lim);
  lim.max_head = 1024;
  lim.max_body = 10;
  lim.max_conns = 3;
  lim.max_headers = 5;
  start(&lim, NULL);
  struct client h, b;
  client_tcp(&h, T.port);
  char big[2048];
  snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX-Big: %01500d\r\n\r\n", 0);
  client_send(&h, big);
  client_wait_eof(&h);
  cr_expect(strncmp(h.buf, "HTTP/1.1 431 ", 13) == 0, "%s", h.buf);
  client_ask(&b, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", NULL);
  struct client m;
  char many[1024] = "GET / HTTP/1.1\r\n";
  for (unsigned i = 0; i <= lim.max_headers; i++)
    snprintf(many + strlen(many), sizeof(many) - strlen(many), "X-%u: v\r\n", i);
  strcat(many, "\r\n");
  client_ask(&m, many, NULL);
  cr_expect(strncmp(m.buf, "HTTP/1.1 431 ", 13) == 0, "more than max_headers: %s", m.buf);
  client_close(&m);
  cr_expect(strncmp(b.buf, "HTTP/1.1 413 Payload Too Large\r\n", 32) == 0, "%s", b.buf);
  client_close(&h);
  client_close(&b);
  struct client k[4];
  for (int i = 0; i < 3; i++) {
    client_ask(&k[i], "GET / HTTP/1.1\r\n\r\n", "body=0:");
  }
  client_tcp(&k[3], T.port);
  client_wait_eof(&k[3]);
  cr_expect_eq(k[3].len, 0);
  for (int i = 0; i < 4; i++)
    client_close(&k[i]);
}

Test(http, idle_timeout) {
  http_limits_t lim;
  http_limits_default(&lim);
  lim.idle_ms = 100;
  start(&lim, NULL);
  struct client c;
  client_ask(&c, "GET / HT", NULL);
  client_close(&c);
}

Test(http, unix_socket_mode_and_stale_file) {
  char dir[] = "/tmp/tend-http-XXXXXX";
  cr_assert(mkdtemp(dir) != NULL);
  char path[64];
  snprintf(path, sizeof(path), "%s/s.sock", dir);
  cr_assert(http_server_init(&T.srv, &loop, handler, &T, NULL) == 0);
  cr_assert(http_server_listen_unix(T.srv, path, 0700, (uid_t)-1, (gid_t)-1, NULL) == 0);
  struct stat st;
  cr_assert(stat(path, &st) == 0);
  cr_expect_eq(st.st_mode & 0777, 0700);
  struct client c;
  client_unix(&c, path);
  client_send(&c, "GET /u HTTP/1.1\r\n\r\n");
  client_wait(&c, "GET /u", 1);
  client_close(&c);
  http_server_close(T.srv, closed_cb);
  cr_assert(lu_run_until(&loop, &T.closed, 5000));
  /* The socket file is left behind (as by a crash): a new server removes
   * it; a regular file in its place is refused. */
  T.closed = false;
  cr_assert(http_server_init(&T.srv, &loop, handler, &T, NULL) == 0);
  cr_expect(http_server_listen_unix(T.srv, path, 0770, (uid_t)-1, (gid_t)-1, NULL) == 0);
  http_server_close(T.srv, closed_cb);
  cr_assert(lu_run_until(&loop, &T.closed, 5000));
  unlink(path);
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  close(fd);
  T.closed = false;
  cr_assert(http_server_init(&T.srv, &loop, handler, &T, NULL) == 0);
  cr_expect_eq(http_server_listen_unix(T.srv, path, 0700, (uid_t)-1, (gid_t)-1, NULL), -EEXIST);
  unlink(path);
  rmdir(dir);
}

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

Test(http, python_http_client_keep_alive) {
  start(NULL, NULL);
  char script[1024];
  snprintf(script, sizeof(script),
           "import http.client,sys\n"
           "c=http.client.HTTPConnection('127.0.0.1',%d)\n"
           "c.request('POST','/RPC2',body=b'<x/>',headers={'Content-Type':'text/xml'})\n"
           "r=c.getresponse();b=r.read()\n"
           "assert r.status==200 and r.reason=='OK' and b.endswith(b'body=4:<x/>'),b\n"
           "c.request('GET','/stream')\n"
           "r=c.getresponse();b=r.read()\n"
           "assert b==b'hello world',b\n",
           T.port);
  char *args[] = {"python3", "-c", script, NULL};
  uv_process_options_t o = {.file = "python3", .args = args, .exit_cb = py_exit_cb};
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 1},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  o.stdio = stdio;
  o.stdio_count = 3;
  uv_process_t p;
  struct py_run r = {.status = -1};
  p.data = &r;
  cr_assert(uv_spawn(&loop, &p, &o) == 0);
  cr_assert(lu_run_until(&loop, &r.exited, 20000), "python3 did not finish");
  cr_expect_eq(r.status, 0, "python's http.client failed");
  cr_expect_eq(T.requests, 2);
}

Test(http, sha1_fips180_examples) {
  char hex[41];
  sha1_hex("abc", 3, hex);
  cr_expect_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
  sha1_hex("", 0, hex);
  cr_expect_str_eq(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sha1_hex(m, strlen(m), hex);
  cr_expect_str_eq(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  char *a = malloc(1000000);
  memset(a, 'a', 1000000);
  sha1_hex(a, 1000000, hex);
  free(a);
  cr_expect_str_eq(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}
