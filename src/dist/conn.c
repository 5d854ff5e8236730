/* SPDX-License-Identifier: MIT */
/*
 * dist_conn: a Redis connection on the caller's loop (see dist/conn.h).
 *
 * The event glue is hiredis's adapters/libuv.h with two changes. The poll
 * handle lives inside struct dist_conn instead of a malloc'd struct that
 * the adapter frees in its own close callback: the 0.14 adapter leaks that
 * struct when uv_poll_init fails, and an embedded handle is released
 * through the connection's one close path like every other handle. And a
 * poll error (libuv stops the handle and reports UV_EBADF, e.g. on a
 * refused connect) is passed to hiredis as readiness, so hiredis reads the
 * socket error and disconnects instead of waiting forever.
 *
 * hiredis 0.14 has no timeouts in its async API: one uv timer per
 * connection holds the connect deadline (name lookup, connect, AUTH,
 * SELECT, CLIENT ID) and then the deadline of the oldest command waiting
 * for its reply (replies come in order, so the oldest is the one that
 * matters). A host name is looked up with uv_getaddrinfo: hiredis would
 * call getaddrinfo() on the loop.
 *
 * Tearing a connection down is always deferred to the timer callback
 * (never nested in a hiredis or owner callback): redisAsyncFree runs the
 * pending commands' callbacks with NULL, then the adapter cleanup closes
 * the poll handle, and its close callback reports down_cb. A failure
 * before there is a context (refused at once, lookup error) goes through
 * the same timer, so down_cb always comes from the loop.
 */
#include "dist/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { HS_AUTH = 1, HS_SELECT, HS_CLIENT_ID };

static void timer_cb(uv_timer_t *t);

static const char *where(const struct dist_conn *c, char *buf, size_t len) {
  return tend_redis_url_where(c->url, buf, len);
}

/* The first error of an attempt is the one reported. */
static void set_err(struct dist_conn *c, tend_dist_err_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(struct dist_conn *c, tend_dist_err_t kind, const char *fmt, ...) {
  if (c->err_kind != TEND_DIST_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof(c->err), fmt, ap);
  va_end(ap);
  c->err_kind = kind;
}

/* ---- the timer ------------------------------------------------------------ */

/* The next deadline for the state we are in. */
static void timer_arm(struct dist_conn *c) {
  uint64_t now = uv_now(c->loop), at;
  switch (c->state) {
  case DC_RESOLVING:
  case DC_CONNECTING:
  case DC_HANDSHAKE:
    at = c->connect_deadline;
    break;
  case DC_READY:
    if (TAILQ_EMPTY(&c->cmds)) {
      uv_timer_stop(&c->timer);
      return;
    }
    at = TAILQ_FIRST(&c->cmds)->deadline;
    break;
  default:
    return;
  }
  uv_timer_start(&c->timer, timer_cb, at > now ? at - now : 0, 0);
}

/* Start tearing down: new commands are refused from now on; the timer
 * callback frees the context on the next loop turn. */
static void teardown(struct dist_conn *c) {
  if (c->state != DC_CLOSING)
    c->state = DC_FAILING;
  uv_timer_start(&c->timer, timer_cb, 0, 0);
}

static void timer_closed_cb(uv_handle_t *h) {
  struct dist_conn *c = h->data;
  c->state = DC_CLOSED;
  if (c->close_cb != NULL)
    c->close_cb(c);
}

/* Finish a teardown once nothing of the attempt is left on the loop. */
static void settle(struct dist_conn *c) {
  if (c->ac != NULL || c->poll_open)
    return;
  if (c->state == DC_FAILING) {
    uv_timer_stop(&c->timer);
    c->state = DC_IDLE;
    if (c->down_cb != NULL)
      c->down_cb(c);
  } else if (c->state == DC_CLOSING && !c->gai_busy && c->timer_open) {
    c->timer_open = false;
    uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
  }
}

static void timer_cb(uv_timer_t *t) {
  struct dist_conn *c = t->data;
  char w[300];
  uint64_t now = uv_now(c->loop);
  switch (c->state) {
  case DC_RESOLVING:
  case DC_CONNECTING:
  case DC_HANDSHAKE:
    if (now < c->connect_deadline) {
      timer_arm(c);
      return;
    }
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "no answer from Redis at %s within %.1f s",
            where(c, w, sizeof(w)), (double)c->connect_timeout_ms / 1000.0);
    teardown(c);
    return;
  case DC_READY:
    if (TAILQ_EMPTY(&c->cmds) || now < TAILQ_FIRST(&c->cmds)->deadline) {
      timer_arm(c);
      return;
    }
    set_err(c, TEND_DIST_ERR_LOST, "Redis at %s did not answer in time: connection dropped",
            where(c, w, sizeof(w)));
    teardown(c);
    return;
  case DC_FAILING:
  case DC_CLOSING:
    if (c->ac != NULL) /* not inside a hiredis callback: freed now */
      redisAsyncFree(c->ac);
    settle(c);
    return;
  default:
    return;
  }
}

/* ---- the adapter ------------------------------------------------------------ */

static void poll_closed_cb(uv_handle_t *h) {
  struct dist_conn *c = h->data;
  c->poll_open = false;
  settle(c);
}

static void ev_poll_cb(uv_poll_t *h, int status, int events) {
  struct dist_conn *c = h->data;
  if (status < 0) /* libuv stopped the handle: let hiredis meet the error */
    events = UV_READABLE | UV_WRITABLE;
  if (c->ac != NULL && (events & UV_READABLE))
    redisAsyncHandleRead(c->ac);
  if (c->ac != NULL && (events & UV_WRITABLE))
    redisAsyncHandleWrite(c->ac);
}

static void ev_update(struct dist_conn *c) {
  if (c->poll_events != 0)
    uv_poll_start(&c->poll, c->poll_events, ev_poll_cb);
  else
    uv_poll_stop(&c->poll);
}

static void ev_add_read(void *p) {
  struct dist_conn *c = p;
  c->poll_events |= UV_READABLE;
  ev_update(c);
}

static void ev_del_read(void *p) {
  struct dist_conn *c = p;
  c->poll_events &= ~UV_READABLE;
  ev_update(c);
}

static void ev_add_write(void *p) {
  struct dist_conn *c = p;
  c->poll_events |= UV_WRITABLE;
  ev_update(c);
}

static void ev_del_write(void *p) {
  struct dist_conn *c = p;
  c->poll_events &= ~UV_WRITABLE;
  ev_update(c);
}

/* hiredis is freeing the context: it is gone once this returns. */
static void ev_cleanup(void *p) {
  struct dist_conn *c = p;
  c->ac = NULL;
  uv_close((uv_handle_t *)&c->poll, poll_closed_cb);
}

/* ---- commands --------------------------------------------------------------- */

static void unlink_cmd(struct dist_conn *c, struct dist_cmd *k) {
  if (!k->queued)
    return;
  TAILQ_REMOVE(&c->cmds, k, link);
  k->queued = false;
  c->pending--;
}

static void put_spare(struct dist_conn *c, struct dist_cmd *k) {
  if (c->nspare < 64 && c->state != DC_CLOSING && c->state != DC_CLOSED) {
    TAILQ_INSERT_HEAD(&c->spare, k, link);
    c->nspare++;
  } else {
    free(k);
  }
}

static void reply_cb(redisAsyncContext *ac, void *reply, void *priv) {
  struct dist_cmd *k = priv;
  struct dist_conn *c = k->c;
  unlink_cmd(c, k);
  if (reply == NULL && (c->state == DC_READY || c->state == DC_HANDSHAKE)) {
    char w[300];
    set_err(c, TEND_DIST_ERR_LOST, "connection to Redis at %s lost: %s", where(c, w, sizeof(w)),
            ac->errstr != NULL && ac->err != 0 ? ac->errstr : "closed");
    c->state = DC_FAILING; /* hiredis is freeing the context */
  }
  dist_reply_cb cb = k->cb;
  void *arg = k->arg;
  put_spare(c, k);
  if (cb != NULL)
    cb(c, reply, arg);
  if (c->state == DC_READY)
    timer_arm(c);
}

static int send_cmd(struct dist_conn *c, uint64_t deadline, dist_reply_cb cb, void *arg,
                    bool internal, int argc, const char **argv, const size_t *lens) {
  struct dist_cmd *k = TAILQ_FIRST(&c->spare);
  if (k != NULL) {
    TAILQ_REMOVE(&c->spare, k, link);
    c->nspare--;
  } else if ((k = malloc(sizeof(*k))) == NULL) {
    return -ENOMEM;
  }
  *k = (struct dist_cmd){
      .queued = true, .deadline = deadline, .cb = cb, .arg = arg, .c = c, .internal = internal};
  TAILQ_INSERT_TAIL(&c->cmds, k, link);
  c->pending++;
  if (redisAsyncCommandArgv(c->ac, reply_cb, k, argc, argv, lens) != REDIS_OK) {
    unlink_cmd(c, k);
    put_spare(c, k);
    return -ENOTCONN;
  }
  if (TAILQ_FIRST(&c->cmds) == k && c->state == DC_READY)
    timer_arm(c);
  return 0;
}

int dist_conn_cmd(struct dist_conn *c, uint64_t timeout_ms, dist_reply_cb cb, void *arg, int argc,
                  const char **argv, const size_t *lens) {
  if (c->state != DC_READY || c->ac == NULL)
    return -ENOTCONN;
  return send_cmd(c, uv_now(c->loop) + timeout_ms, cb, arg, false, argc, argv, lens);
}

const char *dist_reply_error(const struct redisReply *r) {
  return r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL ? r->str : "";
}

/* ---- connecting --------------------------------------------------------------- */

static void hs_cb(struct dist_conn *c, redisReply *r, void *arg) {
  intptr_t tag = (intptr_t)arg;
  char w[300];
  if (r == NULL || c->state != DC_HANDSHAKE)
    return;
  if (r->type == REDIS_REPLY_ERROR) {
    const char *e = r->str != NULL ? r->str : "error";
    if (tag == HS_AUTH)
      set_err(c, TEND_DIST_ERR_AUTH, "Redis at %s refused the credentials of the URL: %s",
              where(c, w, sizeof(w)), e);
    else if (strncmp(e, "NOAUTH", 6) == 0)
      set_err(c, TEND_DIST_ERR_AUTH,
              "Redis at %s wants a password (redis://:PASSWORD@host or "
              "redis://USER:PASSWORD@host): %s",
              where(c, w, sizeof(w)), e);
    else if (tag == HS_CLIENT_ID && strncmp(e, "NOPERM", 6) == 0)
      goto ok; /* an ACL without CLIENT: only stopping a blocked read waits */
    else
      set_err(c, TEND_DIST_ERR_SERVER, "Redis at %s: %s: %s", where(c, w, sizeof(w)),
              tag == HS_SELECT ? "SELECT" : "CLIENT ID", e);
    teardown(c);
    return;
  }
  if (tag == HS_CLIENT_ID && r->type == REDIS_REPLY_INTEGER)
    c->client_id = r->integer;
ok:
  if (--c->handshake_left == 0) {
    c->state = DC_READY;
    c->was_ready = true;
    timer_arm(c);
    if (c->up_cb != NULL)
      c->up_cb(c);
  }
}

static void on_connect(const redisAsyncContext *ac, int status) {
  struct dist_conn *c = ac->data;
  char w[300];
  if (c->state != DC_CONNECTING)
    return;
  if (status != REDIS_OK) {
    /* hiredis frees the context when this returns. */
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot connect to Redis at %s: %s",
            where(c, w, sizeof(w)), ac->errstr != NULL ? ac->errstr : "failed");
    c->state = DC_FAILING;
    return;
  }
  c->state = DC_HANDSHAKE;
  const tend_redis_url_t *u = c->url;
  c->handshake_left = 0;
  if (u->password != NULL) {
    const char *argv[3] = {"AUTH", u->user, u->password};
    int n = 3;
    if (u->user == NULL) {
      argv[1] = u->password;
      n = 2;
    }
    if (send_cmd(c, c->connect_deadline, hs_cb, (void *)(intptr_t)HS_AUTH, true, n, argv, NULL) ==
        0)
      c->handshake_left++;
  }
  if (u->db != 0) {
    char db[16];
    snprintf(db, sizeof(db), "%d", u->db);
    const char *argv[2] = {"SELECT", db};
    if (send_cmd(c, c->connect_deadline, hs_cb, (void *)(intptr_t)HS_SELECT, true, 2, argv, NULL) ==
        0)
      c->handshake_left++;
  }
  const char *argv[2] = {"CLIENT", "ID"};
  if (send_cmd(c, c->connect_deadline, hs_cb, (void *)(intptr_t)HS_CLIENT_ID, true, 2, argv,
               NULL) == 0)
    c->handshake_left++;
  else {
    set_err(c, TEND_DIST_ERR_LOST, "cannot send to Redis at %s", where(c, w, sizeof(w)));
    teardown(c);
  }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  struct dist_conn *c = ac->data;
  char w[300];
  if (c->state == DC_READY || c->state == DC_HANDSHAKE) {
    set_err(c, TEND_DIST_ERR_LOST, "connection to Redis at %s lost: %s", where(c, w, sizeof(w)),
            status != REDIS_OK && ac->errstr != NULL ? ac->errstr : "closed");
    c->state = DC_FAILING;
  }
}

/* A failure with no context to free: down_cb from the timer. */
static void fail_soon(struct dist_conn *c) { teardown(c); }

static void start_connect(struct dist_conn *c, const char *ip) {
  char w[300];
  c->state = DC_CONNECTING;
  redisAsyncContext *ac = ip != NULL ? redisAsyncConnect(ip, c->url->port)
                                     : redisAsyncConnectUnix(c->url->path);
  if (ac == NULL) {
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot connect to Redis at %s: out of memory",
            where(c, w, sizeof(w)));
    fail_soon(c);
    return;
  }
  if (ac->err != 0) {
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot connect to Redis at %s: %s",
            where(c, w, sizeof(w)), ac->errstr);
    redisAsyncFree(ac); /* no event hooks yet: just the socket and memory */
    fail_soon(c);
    return;
  }
  int r = uv_poll_init(c->loop, &c->poll, ac->c.fd);
  if (r != 0) {
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot connect to Redis at %s: %s",
            where(c, w, sizeof(w)), uv_strerror(r));
    redisAsyncFree(ac);
    fail_soon(c);
    return;
  }
  c->poll.data = c;
  c->poll_open = true;
  c->poll_events = 0;
  c->ac = ac;
  ac->data = c;
  ac->ev.data = c;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  ac->ev.cleanup = ev_cleanup;
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  /* After the hooks: it waits for writability to learn the connect's end. */
  redisAsyncSetConnectCallback(ac, on_connect);
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  struct dist_conn *c = req->data;
  char w[300];
  c->gai_busy = false;
  if (c->state != DC_RESOLVING) { /* given up on (timeout, drop, close) */
    uv_freeaddrinfo(res);
    settle(c);
    return;
  }
  if (status < 0) {
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot connect to Redis at %s: cannot resolve '%s': %s",
            where(c, w, sizeof(w)), c->url->host, uv_strerror(status));
    fail_soon(c);
    return;
  }
  /* IPv4 first, as hiredis does for names. */
  const struct addrinfo *pick = NULL;
  for (const struct addrinfo *a = res; a != NULL && pick == NULL; a = a->ai_next)
    if (a->ai_family == AF_INET)
      pick = a;
  for (const struct addrinfo *a = res; a != NULL && pick == NULL; a = a->ai_next)
    if (a->ai_family == AF_INET6)
      pick = a;
  char ip[INET6_ADDRSTRLEN] = "";
  if (pick != NULL && pick->ai_family == AF_INET)
    uv_ip4_name((const struct sockaddr_in *)pick->ai_addr, ip, sizeof(ip));
  else if (pick != NULL)
    uv_ip6_name((const struct sockaddr_in6 *)pick->ai_addr, ip, sizeof(ip));
  uv_freeaddrinfo(res);
  if (ip[0] == '\0') {
    set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot connect to Redis at %s: no address for '%s'",
            where(c, w, sizeof(w)), c->url->host);
    fail_soon(c);
    return;
  }
  start_connect(c, ip);
}

int dist_conn_init(struct dist_conn *c, uv_loop_t *loop, const tend_redis_url_t *url,
                   const char *what, uint64_t connect_timeout_ms, dist_conn_cb up_cb,
                   dist_conn_cb down_cb) {
  memset(c, 0, sizeof(*c));
  TAILQ_INIT(&c->cmds);
  TAILQ_INIT(&c->spare);
  c->loop = loop;
  c->url = url;
  c->what = what;
  c->connect_timeout_ms = connect_timeout_ms;
  c->up_cb = up_cb;
  c->down_cb = down_cb;
  int r = uv_timer_init(loop, &c->timer);
  if (r != 0)
    return r;
  c->timer.data = c;
  c->timer_open = true;
  c->gai.data = c;
  c->state = DC_IDLE;
  return 0;
}

int dist_conn_connect(struct dist_conn *c) {
  if (c->state != DC_IDLE)
    return -EBUSY;
  c->err[0] = '\0';
  c->err_kind = TEND_DIST_OK;
  c->was_ready = false;
  c->client_id = 0;
  uv_update_time(c->loop);
  c->connect_deadline = uv_now(c->loop) + c->connect_timeout_ms;
  const char *host = c->url->host;
  unsigned char addr[sizeof(struct in6_addr)];
  if (c->url->path != NULL || inet_pton(AF_INET, host, addr) == 1 ||
      inet_pton(AF_INET6, host, addr) == 1) {
    /* No lookup: hiredis's getaddrinfo on a numeric address does not block. */
    start_connect(c, c->url->path != NULL ? NULL : host);
  } else {
    c->state = DC_RESOLVING;
    if (!c->gai_busy) { /* else the lookup still running is as good */
      struct addrinfo hints;
      memset(&hints, 0, sizeof(hints));
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      int r = uv_getaddrinfo(c->loop, &c->gai, gai_cb, host, NULL, &hints);
      if (r != 0) {
        char w[300];
        set_err(c, TEND_DIST_ERR_UNREACHABLE, "cannot resolve '%s' (Redis at %s): %s", host,
                where(c, w, sizeof(w)), uv_strerror(r));
        fail_soon(c);
        return 0;
      }
      c->gai_busy = true;
    }
  }
  if (c->state != DC_FAILING)
    timer_arm(c);
  return 0;
}

void dist_conn_drop(struct dist_conn *c, tend_dist_err_t kind, const char *msg) {
  switch (c->state) {
  case DC_RESOLVING:
  case DC_CONNECTING:
  case DC_HANDSHAKE:
  case DC_READY:
    set_err(c, kind, "%s", msg);
    teardown(c);
    return;
  default:
    return;
  }
}

void dist_conn_close(struct dist_conn *c, dist_conn_cb close_cb) {
  if (c->state == DC_CLOSING || c->state == DC_CLOSED)
    return;
  c->close_cb = close_cb;
  c->state = DC_CLOSING;
  c->up_cb = c->down_cb = NULL;
  if (c->ac != NULL)
    teardown(c); /* the timer frees it, then settle() closes the timer */
  else
    settle(c);
  /* Spare command records are not handles: free them now. */
  struct dist_cmd *k;
  while ((k = TAILQ_FIRST(&c->spare)) != NULL) {
    TAILQ_REMOVE(&c->spare, k, link);
    free(k);
  }
  c->nspare = 0;
}
