/* SPDX-License-Identifier: MIT */
/*
 * HTTP server (see http/server.h), on Debian's http_parser 2.9. Like the
 * control server: a request over a limit gets one error reply and the
 * connection is closed (the framing can no longer be trusted); connections
 * beyond the cap are accepted and closed at once. Each connection reads into
 * one fixed buffer and stops reading while that buffer holds bytes the parser
 * has not taken (a pipelined request behind a held reply), so its memory is
 * bounded by the buffer, max_head, max_body and what the handler writes.
 */
#include "http/server.h"
#include "core/log.h"
#include "core/sha1.h"

#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#define RBUF_SIZE 8192

struct listener {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_handle_t handle;
  } h;
  http_server_t *server;
  char *username; /* NULL: no auth */
  char *password;
  LIST_ENTRY(listener) link;
};

struct hdr {
  size_t name, value; /* offsets into the head buffer */
};

struct http_req {
  struct conn *conn;
  char *head; /* URL, then names and values, each NUL-terminated */
  size_t head_len;
  struct hdr *hdrs;
  unsigned nhdrs;
  char *body;
  size_t body_len, body_cap;
  char *path, *query;
  http_gone_cb gone_cb;
  void *gone_data;
  bool raw; /* a stream to an HTTP/1.0 client: no chunks, the close ends it */
};

enum part { PART_URL, PART_FIELD, PART_VALUE };

struct conn {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_handle_t handle;
    uv_stream_t stream;
  } h;
  uv_timer_t idle;
  struct listener *lst;
  http_parser parser;
  struct http_req req;
  enum part part;
  int err_status;   /* set by a parser callback that refused the request */
  bool busy;        /* a request is with the handler */
  bool keep_alive;  /* of the request being answered */
  bool processing;  /* inside conn_process: no re-entry */
  bool last;        /* the final reply is queued: read no more */
  bool reading;
  bool closing;
  int open;         /* handles not yet closed */
  size_t pend_off, pend_len;
  char rbuf[RBUF_SIZE];
  LIST_ENTRY(conn) link;
};

struct http_server {
  uv_loop_t *loop;
  http_handler_cb handler;
  void *data;
  http_limits_t lim;
  http_parser_settings settings;
  LIST_HEAD(, listener) listeners;
  LIST_HEAD(, conn) conns;
  unsigned nconns;
  int open_handles;
  bool closing;
  http_closed_cb closed_cb;
};

struct wreq {
  uv_write_t req;
  struct conn *conn; /* close after writing if not NULL */
  size_t len;
  char data[];
};

static void conn_process(struct conn *c);
static void conn_stop_reading(struct conn *c);
static void conn_start_reading(struct conn *c);

void http_limits_default(http_limits_t *l) {
  l->max_head = 16 * 1024;
  l->max_headers = 100;
  l->max_body = 2 * 1024 * 1024;
  l->max_conns = 256;
  l->idle_ms = 60 * 1000;
}

static void server_release(http_server_t *s) {
  if (--s->open_handles == 0 && s->closing) {
    if (s->closed_cb != NULL)
      s->closed_cb(s, s->data);
    free(s);
  }
}

/* ---- connections ---------------------------------------------------- */

static void req_reset(struct http_req *r) {
  r->head_len = 0;
  r->nhdrs = 0;
  /* The body goes with its request: an idle keep-alive connection holds
   * no body buffer. */
  free(r->body);
  r->body = NULL;
  r->body_len = r->body_cap = 0;
  free(r->path);
  free(r->query);
  r->path = r->query = NULL;
  r->gone_cb = NULL;
  r->gone_data = NULL;
  r->raw = false;
}

static void conn_handle_closed_cb(uv_handle_t *h) {
  struct conn *c = h->data;
  if (--c->open > 0)
    return;
  http_server_t *s = c->lst->server;
  req_reset(&c->req);
  free(c->req.head);
  free(c->req.hdrs);
  free(c);
  server_release(s);
}

static void conn_close(struct conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  http_server_t *s = c->lst->server;
  if (c->busy && c->req.gone_cb != NULL)
    c->req.gone_cb(&c->req, c->req.gone_data);
  c->busy = false;
  LIST_REMOVE(c, link);
  s->nconns--;
  uv_close(&c->h.handle, conn_handle_closed_cb);
  uv_close((uv_handle_t *)&c->idle, conn_handle_closed_cb);
}

static void idle_cb(uv_timer_t *t) { conn_close(t->data); }

static void idle_restart(struct conn *c) {
  uv_timer_start(&c->idle, idle_cb, c->lst->server->lim.idle_ms, 0);
}

static void write_cb(uv_write_t *req, int status) {
  struct wreq *w = (struct wreq *)req;
  struct conn *c = req->data;
  if (status < 0 || w->conn != NULL)
    conn_close(c);
  free(w);
}

/* Queue a then b (b may be empty) as one write; close_after closes the
 * connection once written. */
static int conn_write2(struct conn *c, const char *a, size_t alen,
                       const void *b, size_t blen, bool close_after) {
  if (c->closing)
    return -ECONNRESET;
  struct wreq *w = malloc(sizeof(*w) + alen + blen);
  if (w == NULL) {
    conn_close(c);
    return -ENOMEM;
  }
  memcpy(w->data, a, alen);
  if (blen > 0)
    memcpy(w->data + alen, b, blen);
  w->len = alen + blen;
  w->conn = close_after ? c : NULL;
  w->req.data = c;
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
  int rc = uv_write(&w->req, &c->h.stream, &buf, 1, write_cb);
  if (rc < 0) {
    free(w);
    conn_close(c);
  }
  return rc;
}

static int conn_write(struct conn *c, const char *data, size_t len,
                      bool close_after) {
  return conn_write2(c, data, len, NULL, 0, close_after);
}

static const char *reason(int status) {
  const char *r = http_status_str((enum http_status)status);
  /* http_parser says "<unknown>" for codes it lacks: a reason phrase is
   * always sent, so a generic one then. */
  return r[0] == '<' ? (status < 400 ? "OK" : "Error") : r;
}

/* The status line and the headers of a reply to c's request, without
 * the blank line that ends them. */
static int head_format(const struct conn *c, char *out, size_t outlen,
                       int status, const char *headers) {
  const char *conn = "";
  if (!c->keep_alive)
    conn = "Connection: close\r\n";
  else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
    conn = "Connection: keep-alive\r\n"; /* 1.0 closes unless told */
  int n = snprintf(out, outlen, "HTTP/1.1 %d %s\r\n%s%s", status,
                   reason(status), headers != NULL ? headers : "", conn);
  return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : n;
}

/* An error reply to a request that is not handed over; always closes. */
static void conn_fail(struct conn *c, int status, const char *extra) {
  char buf[512];
  const char *r = reason(status);
  int n = snprintf(buf, sizeof(buf),
                   "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                   status, r, extra != NULL ? extra : "", strlen(r) + 1, r);
  conn_stop_reading(c);
  c->last = true;
  c->pend_len = 0;
  conn_write(c, buf, (size_t)n, true);
}

/* The reply to the current request is queued: go on with the next one, or
 * close after the write if the request did not keep the connection. */
static void req_finish(struct conn *c) {
  c->busy = false;
  req_reset(&c->req);
  if (c->closing)
    return;
  if (!c->keep_alive) {
    conn_stop_reading(c);
    c->last = true;
    return;
  }
  http_parser_pause(&c->parser, 0);
  idle_restart(c);
  if (!c->processing)
    conn_process(c);
}

/* ---- parsing -------------------------------------------------------- */

static struct conn *parser_conn(http_parser *p) { return p->data; }

/* Append to the head buffer, within max_head (else 431). */
static int head_append(struct conn *c, const char *at, size_t len) {
  struct http_req *r = &c->req;
  size_t max = c->lst->server->lim.max_head;
  if (r->head_len + len + 1 > max) {
    c->err_status = 431;
    return -1;
  }
  if (r->head == NULL && (r->head = malloc(max)) == NULL) {
    c->err_status = 500;
    return -1;
  }
  memcpy(r->head + r->head_len, at, len);
  r->head_len += len;
  r->head[r->head_len] = '\0';
  return 0;
}

/* End the current part with a NUL and start the next one. */
static int part_switch(struct conn *c, enum part next) {
  struct http_req *r = &c->req;
  if (head_append(c, "", 1) < 0)
    return -1;
  if (next == PART_FIELD) {
    if (r->nhdrs == c->lst->server->lim.max_headers) {
      c->err_status = 431;
      return -1;
    }
    r->hdrs[r->nhdrs++].name = r->head_len;
  } else if (next == PART_VALUE) {
    r->hdrs[r->nhdrs - 1].value = r->head_len;
  }
  c->part = next;
  return 0;
}

static int on_message_begin(http_parser *p) {
  struct conn *c = parser_conn(p);
  req_reset(&c->req);
  c->part = PART_URL;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  return head_append(parser_conn(p), at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  if (c->part != PART_FIELD && part_switch(c, PART_FIELD) < 0)
    return -1;
  return head_append(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  if (c->part != PART_VALUE && part_switch(c, PART_VALUE) < 0)
    return -1;
  return head_append(c, at, len);
}

static int on_headers_complete(http_parser *p) {
  struct conn *c = parser_conn(p);
  /* A value that is empty ("Host:") has no value callback: point it at
   * the NUL that ends its name. */
  if (c->part == PART_FIELD)
    c->req.hdrs[c->req.nhdrs - 1].value = c->req.head_len;
  if (head_append(c, "", 1) < 0)
    return -1;
  bool sized = (p->flags & (F_CONTENTLENGTH | F_CHUNKED)) != 0;
  if (p->method == HTTP_POST && !sized) {
    c->err_status = 411;
    return -1;
  }
  if ((p->flags & F_CONTENTLENGTH) &&
      p->content_length > c->lst->server->lim.max_body) {
    c->err_status = 413;
    return -1;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  struct http_req *r = &c->req;
  size_t max = c->lst->server->lim.max_body;
  if (r->body_len + len > max) {
    c->err_status = 413;
    return -1;
  }
  /* Grown as bytes arrive, not to the announced length: a client that
   * announces 2 MiB and sends slowly holds only what it sent. */
  if (r->body_len + len + 1 > r->body_cap) {
    size_t cap = r->body_cap != 0 ? r->body_cap : 4096;
    while (cap < r->body_len + len + 1)
      cap *= 2;
    char *b = realloc(r->body, cap);
    if (b == NULL) {
      c->err_status = 500;
      return -1;
    }
    r->body = b;
    r->body_cap = cap;
  }
  memcpy(r->body + r->body_len, at, len);
  r->body_len += len;
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct conn *c = parser_conn(p);
  c->keep_alive = http_should_keep_alive(p) != 0;
  /* One request at a time: the parser stops here and the rest of the
   * buffer waits until this one is answered. */
  http_parser_pause(p, 1);
  return 0;
}

/* ---- requests ------------------------------------------------------- */

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* %XX escapes decoded; a '%' not followed by two hex digits stays as is
 * (as Python's urllib.parse.unquote does). */
static char *url_decode(const char *s, size_t len) {
  char *out = malloc(len + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
    int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
    if (s[i] == '%' && lo >= 0) {
      *o++ = (char)(hi << 4 | lo);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

static int req_split_url(struct http_req *r) {
  struct http_parser_url u;
  http_parser_url_init(&u);
  size_t len = strlen(r->head);
  if (http_parser_parse_url(r->head, len, 0, &u) != 0 ||
      !(u.field_set & (1 << UF_PATH)))
    return -EINVAL;
  r->path = url_decode(r->head + u.field_data[UF_PATH].off,
                       u.field_data[UF_PATH].len);
  if (r->path == NULL)
    return -ENOMEM;
  if (u.field_set & (1 << UF_QUERY)) {
    r->query = url_decode(r->head + u.field_data[UF_QUERY].off,
                          u.field_data[UF_QUERY].len);
    if (r->query == NULL)
      return -ENOMEM;
  }
  return 0;
}

/* Base64 of "user:password" decoded into out (NUL-terminated); false if
 * it is not base64 or does not fit. */
static bool b64_decode(const char *in, char *out, size_t outlen) {
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (; *in != '\0' && *in != '='; in++) {
    const char *pos = strchr(tab, *in);
    if (pos == NULL)
      return false;
    acc = acc << 6 | (uint32_t)(pos - tab);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n + 1 >= outlen)
        return false;
      out[n++] = (char)(acc >> bits & 0xff);
    }
  }
  out[n] = '\0';
  return true;
}

static bool auth_ok(const struct listener *l, const struct http_req *r) {
  if (l->username == NULL)
    return true;
  const char *v = http_req_header(r, "Authorization");
  char cred[512];
  if (v == NULL || strncasecmp(v, "Basic ", 6) != 0 ||
      !b64_decode(v + 6, cred, sizeof(cred)))
    return false;
  char *colon = strchr(cred, ':');
  if (colon == NULL)
    return false;
  *colon = '\0';
  const char *given = colon + 1;
  if (strcmp(cred, l->username) != 0)
    return false;
  if (strncmp(l->password, "{SHA}", 5) == 0) {
    char hex[41];
    sha1_hex(given, strlen(given), hex);
    return strcasecmp(hex, l->password + 5) == 0;
  }
  return strcmp(given, l->password) == 0;
}

/* A parsed request: check it, then hand it over. */
static void req_dispatch(struct conn *c) {
  struct http_req *r = &c->req;
  if (r->body != NULL)
    r->body[r->body_len] = '\0';
  if (!auth_ok(c->lst, r)) {
    conn_fail(c, 401, "WWW-Authenticate: Basic realm=\"default\"\r\n");
    return;
  }
  int rc = req_split_url(r);
  if (rc < 0) {
    conn_fail(c, rc == -ENOMEM ? 500 : 400, NULL);
    return;
  }
  c->busy = true;
  uv_timer_stop(&c->idle);
  http_server_t *s = c->lst->server;
  s->handler(r, s->data);
}

/* Feed the parser what the read buffer holds, one request at a time. */
static void conn_process(struct conn *c) {
  c->processing = true;
  while (!c->busy && !c->closing && !c->last && c->pend_len > 0) {
    size_t n = http_parser_execute(&c->parser, &c->lst->server->settings,
                                   c->rbuf + c->pend_off, c->pend_len);
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err != HPE_OK && err != HPE_PAUSED) {
      conn_fail(c, c->err_status != 0 ? c->err_status : 400, NULL);
      break;
    }
    c->pend_off += n;
    c->pend_len -= n;
    if (err == HPE_PAUSED)
      req_dispatch(c);
  }
  c->processing = false;
  if (c->closing)
    return;
  /* Reading goes on while a reply is held (to see the client leave), but
   * not while the buffer holds bytes the parser has yet to take. */
  if (c->pend_len > 0 || c->last)
    conn_stop_reading(c);
  else
    conn_start_reading(c);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct conn *c = h->data;
  /* Reading runs only while the buffer is empty (conn_process). */
  *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = st->data;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread == 0 || c->last)
    return;
  if (!c->busy)
    idle_restart(c);
  c->pend_off = 0;
  c->pend_len = (size_t)nread;
  conn_process(c);
}

static void conn_start_reading(struct conn *c) {
  if (c->reading)
    return;
  int rc = uv_read_start(&c->h.stream, alloc_cb, read_cb);
  if (rc < 0) {
    log_msg("warn", "http_read", "uv_read_start: %s", uv_strerror(rc));
    conn_close(c);
    return;
  }
  c->reading = true;
}

static void conn_stop_reading(struct conn *c) {
  if (c->reading)
    uv_read_stop(&c->h.stream);
  c->reading = false;
}

/* ---- listeners ------------------------------------------------------ */

static void reject_closed_cb(uv_handle_t *h) {
  http_server_t *s = h->data;
  free(h);
  server_release(s);
}

/* Over the cap: accept (so the backlog does not make the listener spin)
 * and close at once. */
static void conn_reject(struct listener *l) {
  http_server_t *s = l->server;
  uv_stream_t *st = malloc(sizeof(uv_tcp_t) > sizeof(uv_pipe_t)
                               ? sizeof(uv_tcp_t) : sizeof(uv_pipe_t));
  if (st == NULL)
    return;
  if (l->h.handle.type == UV_TCP)
    uv_tcp_init(s->loop, (uv_tcp_t *)st);
  else
    uv_pipe_init(s->loop, (uv_pipe_t *)st, 0);
  st->data = s;
  s->open_handles++;
  uv_accept((uv_stream_t *)&l->h.handle, st);
  uv_close((uv_handle_t *)st, reject_closed_cb);
}

static int conn_alloc(struct listener *l, struct conn **out) {
  http_server_t *s = l->server;
  struct conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return -ENOMEM;
  c->req.hdrs = calloc(s->lim.max_headers + 1, sizeof(*c->req.hdrs));
  if (c->req.hdrs == NULL) {
    free(c);
    return -ENOMEM;
  }
  c->lst = l;
  c->req.conn = c;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  *out = c;
  return 0;
}

static void connection_cb(uv_stream_t *server, int status) {
  struct listener *l = server->data;
  http_server_t *s = l->server;
  if (status < 0) {
    log_msg("warn", "http_accept", "%s", uv_strerror(status));
    return;
  }
  if (s->nconns >= s->lim.max_conns) {
    conn_reject(l);
    return;
  }
  struct conn *c;
  if (conn_alloc(l, &c) < 0) {
    conn_reject(l);
    return;
  }
  if (l->h.handle.type == UV_TCP)
    uv_tcp_init(s->loop, &c->h.tcp);
  else
    uv_pipe_init(s->loop, &c->h.pipe, 0);
  uv_timer_init(s->loop, &c->idle);
  c->h.handle.data = c;
  c->idle.data = c;
  c->open = 2;
  s->open_handles++;
  s->nconns++;
  LIST_INSERT_HEAD(&s->conns, c, link);
  int rc = uv_accept(server, &c->h.stream);
  if (rc < 0) {
    log_msg("warn", "http_accept", "%s", uv_strerror(rc));
    conn_close(c);
    return;
  }
  idle_restart(c);
  conn_start_reading(c);
}

static void listener_closed_cb(uv_handle_t *h) {
  struct listener *l = h->data;
  http_server_t *s = l->server;
  free(l->username);
  free(l->password);
  free(l);
  server_release(s);
}

/* A listener with its auth copied; its handle is initialised by the
 * caller, which then owns it through listener_closed_cb. */
static struct listener *listener_new(http_server_t *s, const http_auth_t *a) {
  struct listener *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  l->server = s;
  if (a != NULL && a->username != NULL && a->username[0] != '\0') {
    l->username = strdup(a->username);
    l->password = strdup(a->password != NULL ? a->password : "");
    if (l->username == NULL || l->password == NULL) {
      free(l->username);
      free(l->password);
      free(l);
      return NULL;
    }
  }
  return l;
}

static void listener_attach(http_server_t *s, struct listener *l) {
  l->h.handle.data = l;
  s->open_handles++;
  LIST_INSERT_HEAD(&s->listeners, l, link);
}

static void listener_abort(struct listener *l) {
  LIST_REMOVE(l, link);
  uv_close(&l->h.handle, listener_closed_cb);
}

/* A socket file left by a previous run is removed; anything else at the
 * path is not ours to remove. */
static int unlink_stale(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK(st.st_mode))
    return -EEXIST;
  return unlink(path) < 0 ? -errno : 0;
}

int http_server_listen_unix(http_server_t *s, const char *path, mode_t mode,
                            uid_t uid, gid_t gid, const http_auth_t *auth) {
  int rc = unlink_stale(path);
  if (rc < 0) {
    log_msg("error", "http_listen", "%s: cannot remove the old socket: %s",
            path, strerror(-rc));
    return rc;
  }
  struct listener *l = listener_new(s, auth);
  if (l == NULL)
    return -ENOMEM;
  uv_pipe_init(s->loop, &l->h.pipe, 0);
  listener_attach(s, l);
  const char *what = "bind";
  rc = uv_pipe_bind(&l->h.pipe, path);
  if (rc == 0) {
    what = "chmod";
    rc = chmod(path, mode) < 0 ? -errno : 0;
  }
  if (rc == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1)) {
    what = "chown";
    rc = chown(path, uid, gid) < 0 ? -errno : 0;
  }
  if (rc == 0) {
    what = "listen";
    rc = uv_listen((uv_stream_t *)&l->h.pipe, 128, connection_cb);
  }
  if (rc < 0) {
    log_msg("error", "http_listen", "%s: %s: %s", path, what, strerror(-rc));
    listener_abort(l);
  }
  return rc;
}

static int resolve(uv_loop_t *loop, const char *host, int port,
                   struct sockaddr_storage *ss) {
  if (host == NULL || host[0] == '\0' || strcmp(host, "*") == 0)
    host = "0.0.0.0";
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
    return 0;
  /* A name: resolved once, at start-up, as supervisord does (a NULL
   * callback makes uv_getaddrinfo synchronous). */
  uv_getaddrinfo_t req;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = uv_getaddrinfo(loop, &req, NULL, host, NULL, &hints);
  if (rc < 0)
    return rc;
  memcpy(ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
  uv_freeaddrinfo(req.addrinfo);
  return 0;
}

int http_server_listen_tcp(http_server_t *s, const char *host, int port,
                           const http_auth_t *auth, int *bound_port) {
  struct sockaddr_storage ss;
  int rc = resolve(s->loop, host, port, &ss);
  if (rc < 0) {
    log_msg("error", "http_listen", "%s:%d: %s", host != NULL ? host : "",
            port, uv_strerror(rc));
    return rc;
  }
  struct listener *l = listener_new(s, auth);
  if (l == NULL)
    return -ENOMEM;
  uv_tcp_init(s->loop, &l->h.tcp);
  listener_attach(s, l);
  rc = uv_tcp_bind(&l->h.tcp, (const struct sockaddr *)&ss, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&l->h.tcp, 128, connection_cb);
  if (rc == 0 && bound_port != NULL) {
    int len = sizeof(ss);
    rc = uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &len);
    *bound_port = ntohs(ss.ss_family == AF_INET
                            ? ((struct sockaddr_in *)&ss)->sin_port
                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  if (rc < 0) {
    log_msg("error", "http_listen", "%s:%d: %s", host != NULL ? host : "*",
            port, uv_strerror(rc));
    listener_abort(l);
  }
  return rc;
}

/* ---- the server ----------------------------------------------------- */

int http_server_init(http_server_t **out, uv_loop_t *loop,
                     http_handler_cb handler, void *data,
                     const http_limits_t *limits) {
  http_server_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->loop = loop;
  s->handler = handler;
  s->data = data;
  if (limits != NULL)
    s->lim = *limits;
  else
    http_limits_default(&s->lim);
  s->settings.on_message_begin = on_message_begin;
  s->settings.on_url = on_url;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_value = on_header_value;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_body = on_body;
  s->settings.on_message_complete = on_message_complete;
  LIST_INIT(&s->listeners);
  LIST_INIT(&s->conns);
  *out = s;
  return 0;
}

void http_server_close(http_server_t *s, http_closed_cb done) {
  if (s->closing)
    return;
  s->closing = true;
  s->closed_cb = done;
  /* A reference of its own so the server outlives the closes below even
   * if every handle were gone already. */
  s->open_handles++;
  while (!LIST_EMPTY(&s->listeners))
    listener_abort(LIST_FIRST(&s->listeners));
  while (!LIST_EMPTY(&s->conns))
    conn_close(LIST_FIRST(&s->conns));
  server_release(s);
}

/* ---- the request API ------------------------------------------------ */

const char *http_req_method(const http_req_t *r) {
  return http_method_str((enum http_method)r->conn->parser.method);
}

const char *http_req_path(const http_req_t *r) { return r->path; }

const char *http_req_query(const http_req_t *r) { return r->query; }

const char *http_req_body(const http_req_t *r, size_t *len) {
  if (len != NULL)
    *len = r->body_len;
  return r->body != NULL ? r->body : "";
}

const char *http_req_header(const http_req_t *r, const char *name) {
  for (unsigned i = 0; i < r->nhdrs; i++)
    if (strcasecmp(r->head + r->hdrs[i].name, name) == 0)
      return r->head + r->hdrs[i].value;
  return NULL;
}

void http_req_on_gone(http_req_t *r, http_gone_cb cb, void *data) {
  r->gone_cb = cb;
  r->gone_data = data;
}

size_t http_req_backlog(const http_req_t *r) {
  return uv_stream_get_write_queue_size(&r->conn->h.stream);
}

int http_respond(http_req_t *r, int status, const char *content_type,
                 const void *body, size_t len) {
  return http_respond_headers(r, status, NULL, content_type, body, len);
}

int http_respond_headers(http_req_t *r, int status, const char *headers,
                         const char *content_type, const void *body, size_t len) {
  struct conn *c = r->conn;
  char hdrs[4096], head[4096 + 512];
  int h = snprintf(hdrs, sizeof(hdrs), "%sContent-Type: %s\r\nContent-Length: %zu\r\n",
                   headers != NULL ? headers : "",
                   content_type != NULL ? content_type : "text/plain", len);
  if (h < 0 || (size_t)h >= sizeof(hdrs))
    return -ENAMETOOLONG;
  int n = head_format(c, head, sizeof(head) - 2, status, hdrs);
  if (n < 0)
    return n;
  memcpy(head + n, "\r\n", 2);
  c->busy = false; /* answered: no gone callback from here on */
  /* HEAD: the headers GET would get, Content-Length too, and no body
   * (RFC 9110 9.3.2): a keep-alive client reads the next reply next. */
  if (c->parser.method == HTTP_HEAD)
    len = 0;
  int rc = conn_write2(c, head, (size_t)n + 2, body, len, !c->keep_alive);
  if (rc == 0)
    req_finish(c);
  return rc;
}

int http_stream_start(http_req_t *r, int status, const char *headers) {
  struct conn *c = r->conn;
  /* HTTP/1.0 has no chunked encoding: the body runs to the close. */
  r->raw = c->parser.http_major == 1 && c->parser.http_minor == 0;
  if (r->raw)
    c->keep_alive = false;
  char head[4096];
  int n = head_format(c, head, sizeof(head), status, headers);
  if (n < 0)
    return n;
  int m = snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n",
                   r->raw ? "" : "Transfer-Encoding: chunked\r\n");
  if (m < 0 || (size_t)m >= sizeof(head) - (size_t)n)
    return -ENAMETOOLONG;
  return conn_write(c, head, (size_t)(n + m), false);
}

int http_stream_write(http_req_t *r, const void *data, size_t len) {
  if (len == 0)
    return 0; /* an empty chunk would end the stream */
  if (r->raw)
    return conn_write2(r->conn, "", 0, data, len, false);
  char size[24];
  int n = snprintf(size, sizeof(size), "%zx\r\n", len);
  int rc = conn_write2(r->conn, size, (size_t)n, data, len, false);
  return rc < 0 ? rc : conn_write(r->conn, "\r\n", 2, false);
}

int http_stream_end(http_req_t *r) {
  struct conn *c = r->conn;
  c->busy = false;
  /* Raw: an empty write, only to close once all before it is written. */
  int rc = r->raw ? conn_write(c, "", 0, true)
                  : conn_write(c, "0\r\n\r\n", 5, !c->keep_alive);
  if (rc == 0)
    req_finish(c);
  return rc;
}
