/* SPDX-License-Identifier: MIT */
/*
 * Control socket server (see daemon/ctl_server.h). Defensive by construction: a
 * frame over the size limits or a body that is not a JSON object gets one
 * error reply and the connection is closed (the framing can no longer be
 * trusted); connections beyond CTL_MAX_CONNS are accepted and closed at
 * once, so a flood cannot make the listener spin or starve the daemon of
 * descriptors.
 */
#include "daemon/ctl_server.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "tend/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct wreq {
  uv_write_t req;
  size_t len;
  char data[];
};

static void server_release(ctl_server_t *s) {
  if (--s->open_handles == 0 && s->closed_cb != NULL)
    s->closed_cb(s);
}

static void conn_closed_cb(uv_handle_t *h) {
  ctl_conn_t *c = h->data;
  ctl_server_t *s = c->server;
  tend_buf_free(&c->in);
  free(c);
  server_release(s);
}

static void conn_close(ctl_conn_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  ctl_server_t *s = c->server;
  if (s->on_gone != NULL)
    s->on_gone(c);
  LIST_REMOVE(c, link);
  s->nconns--;
  uv_close((uv_handle_t *)&c->pipe, conn_closed_cb);
}

size_t ctl_conn_backlog(const ctl_conn_t *c) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->pipe);
}

static void write_cb(uv_write_t *req, int status) {
  struct wreq *w = (struct wreq *)req;
  ctl_conn_t *c = req->data;
  free(w);
  if (c->closing)
    return;
  if (status != 0 || (c->ending && ctl_conn_backlog(c) == 0))
    conn_close(c);
}

int ctl_reply(ctl_conn_t *c, json_t *reply, const void *data, size_t len) {
  if (c->callback) {
    bool live = !c->closing && !c->ending;
    if (live)
      c->on_reply(c, reply, data, len, c->reply_arg);
    json_decref(reply);
    return live ? 0 : -EPIPE;
  }
  char *json = json_dumps(reply, JSON_COMPACT);
  json_decref(reply);
  if (c->closing) {
    free(json);
    return -EPIPE;
  }
  tend_buf_t b = {0};
  int r = json == NULL ? -ENOMEM
                       : tend_ctl_frame(&b, TEND_CTL_MAX_REPLY_JSON, json, strlen(json), data, len);
  free(json);
  if (r == -EMSGSIZE) {
    /* Say so rather than hang up without a word. */
    LOG("error", "control", F_STR("error", "reply over the protocol's size limit"));
    return ctl_reply_error(c, "the reply is over the protocol's limit (%u MiB)",
                           TEND_CTL_MAX_REPLY_JSON >> 20);
  }
  if (r == 0 && c->sink != NULL) {
    r = tend_buf_append(c->sink, b.data, b.len);
    tend_buf_free(&b);
    if (r != 0)
      ctl_conn_end(c);
    return r;
  }
  struct wreq *w = r == 0 ? malloc(sizeof(*w) + b.len) : NULL;
  if (w == NULL) {
    tend_buf_free(&b);
    ctl_conn_end(c);
    return r != 0 ? r : -ENOMEM;
  }
  memcpy(w->data, b.data, b.len);
  w->len = b.len;
  tend_buf_free(&b);
  w->req.data = c;
  uv_buf_t ub = uv_buf_init(w->data, (unsigned)w->len);
  r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &ub, 1, write_cb);
  if (r != 0) {
    free(w);
    conn_close(c);
  }
  return r;
}

int ctl_reply_error(ctl_conn_t *c, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return ctl_reply(c, json_pack("{s:b,s:s}", "ok", 0, "error", msg), NULL, 0);
}

void ctl_conn_end(ctl_conn_t *c) {
  if (c->closing)
    return;
  c->ending = true;
  uv_read_stop((uv_stream_t *)&c->pipe);
  if (ctl_conn_backlog(c) == 0)
    conn_close(c);
}

/* Cut complete frames off the input and dispatch them. */
static void dispatch(ctl_conn_t *c) {
  size_t off = 0;
  while (!c->ending && !c->closing && c->in.len - off >= TEND_CTL_HDR) {
    uint32_t jl, dl;
    if (tend_ctl_header((unsigned char *)c->in.data + off, TEND_CTL_MAX_JSON, &jl, &dl) != 0) {
      ctl_reply_error(c, "bad request: frame over the limits (json %u bytes max, data %u)",
                      TEND_CTL_MAX_JSON, TEND_CTL_MAX_DATA);
      ctl_conn_end(c);
      return;
    }
    size_t need = TEND_CTL_HDR + (size_t)jl + dl;
    if (c->in.len - off < need)
      break;
    const char *json = c->in.data + off + TEND_CTL_HDR;
    json_error_t err;
    json_t *req = json_loadb(json, jl, 0, &err);
    json_t *cmd = json_object_get(req, "cmd");
    if (!json_is_object(req) || !json_is_string(cmd)) {
      ctl_reply_error(c, "bad request: expected a JSON object with a string \"cmd\"%s%s",
                      req == NULL ? ": " : "", req == NULL ? err.text : "");
      json_decref(req);
      ctl_conn_end(c);
      return;
    }
    c->server->on_request(c, req, json + jl, dl);
    json_decref(req);
    off += need;
  }
  if (c->closing)
    return;
  memmove(c->in.data, c->in.data + off, c->in.len - off);
  c->in.len -= off;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  ctl_conn_t *c = h->data;
  (void)hint;
  if (tend_buf_reserve(&c->in, 64 * 1024) != 0) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  *buf = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  ctl_conn_t *c = st->data;
  (void)buf;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->in.len += (size_t)n;
  dispatch(c);
}

static bool peer_allowed(uv_pipe_t *p) {
  int fd;
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return false;
  return cred.uid == 0 || cred.uid == geteuid();
}

static void reject_closed_cb(uv_handle_t *h) {
  ctl_server_t *s = h->data;
  free(h);
  server_release(s);
}

static void conn_link(ctl_server_t *s, ctl_conn_t *c) {
  LIST_INSERT_HEAD(&s->conns, c, link);
  s->nconns++;
}

ctl_conn_t *ctl_conn_sink(ctl_server_t *s, tend_buf_t *out) {
  ctl_conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  /* A pipe never opened: nothing to read or write, but closing it goes
   * through the loop as a socket's does, so a handler may still use the
   * connection after ending it. */
  uv_pipe_init(s->loop, &c->pipe, 0);
  c->pipe.data = c;
  c->server = s;
  c->sink = out;
  s->open_handles++;
  conn_link(s, c);
  return c;
}

ctl_conn_t *ctl_conn_callback(ctl_server_t *s,
                              void (*on_reply)(ctl_conn_t *c, json_t *reply, const void *data,
                                               size_t len, void *arg),
                              void *arg) {
  tend_buf_t none = {0};
  ctl_conn_t *c = ctl_conn_sink(s, &none);
  if (c == NULL)
    return NULL;
  c->sink = NULL;
  c->callback = true;
  c->on_reply = on_reply;
  c->reply_arg = arg;
  return c;
}

static void connection_cb(uv_stream_t *listener, int status) {
  ctl_server_t *s = listener->data;
  if (status != 0)
    return;
  ctl_conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    /* Take the connection off the backlog anyway, or libuv calls us
     * again at once and the loop spins. */
    uv_pipe_t *tmp = malloc(sizeof(*tmp));
    if (tmp == NULL)
      return;
    uv_pipe_init(s->loop, tmp, 0);
    tmp->data = s;
    s->open_handles++;
    uv_accept(listener, (uv_stream_t *)tmp);
    uv_close((uv_handle_t *)tmp, reject_closed_cb);
    return;
  }
  uv_pipe_init(s->loop, &c->pipe, 0);
  c->pipe.data = c;
  c->server = s;
  s->open_handles++;
  if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->pipe, conn_closed_cb);
    return;
  }
  conn_link(s, c);
  if (!peer_allowed(&c->pipe)) {
    ctl_reply_error(c, "permission denied: only root and the daemon's user may control it");
    ctl_conn_end(c);
    return;
  }
  if (s->nconns > CTL_MAX_CONNS) {
    ctl_reply_error(c, "busy: too many control connections (%d)", CTL_MAX_CONNS);
    ctl_conn_end(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

/* Is a live daemon answering on path? */
static bool socket_alive(const char *path) {
  int fd = tend_ctl_connect(path);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

void ctl_server_init(ctl_server_t *s, uv_loop_t *loop, ctl_request_cb on_request,
                     ctl_gone_cb on_gone) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->on_request = on_request;
  s->on_gone = on_gone;
  LIST_INIT(&s->conns);
}

int ctl_server_start(ctl_server_t *s, uv_loop_t *loop, const char *path, int mode,
                     ctl_request_cb on_request, ctl_gone_cb on_gone) {
  ctl_server_init(s, loop, on_request, on_gone);
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return -EEXIST; /* never remove a file that is not a socket */
    if (socket_alive(path))
      return -EADDRINUSE;
    unlink(path); /* left by a daemon that died */
  }
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  s->open_handles = 1;
  s->listening = true;
  int r = fs_mkdir_parents(path);
  if (r != 0)
    return r;
  /* Create the socket with the final mode: no window where others could
   * connect before a chmod. */
  mode_t old = umask(0777 & ~(mode_t)mode);
  r = uv_pipe_bind(&s->listener, path);
  umask(old);
  if (r != 0)
    return r;
  s->path = strdup(path); /* ours to unlink from now on */
  if (s->path == NULL)
    return -ENOMEM;
  r = chmod(path, (mode_t)mode) == 0 ? 0 : -errno;
  if (r == 0)
    r = uv_listen((uv_stream_t *)&s->listener, 128, connection_cb);
  return r;
}

static void listener_closed_cb(uv_handle_t *h) { server_release(h->data); }

void ctl_server_close(ctl_server_t *s, void (*cb)(ctl_server_t *s)) {
  s->closed_cb = cb;
  ctl_conn_t *c;
  while ((c = LIST_FIRST(&s->conns)) != NULL)
    conn_close(c);
  if (s->listening) {
    s->listening = false;
    if (s->path != NULL)
      unlink(s->path);
    uv_close((uv_handle_t *)&s->listener, listener_closed_cb);
  }
  /* memset in init: a server that never started has nothing open. */
  free(s->path);
  s->path = NULL;
  if (s->open_handles == 0 && cb != NULL)
    cb(s);
}
