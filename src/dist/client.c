/* SPDX-License-Identifier: MIT */
/*
 * dist_client: submit tasks (XADD to NAME) and read results (XREAD on
 * NAME:results) over one connection; see tend/dist.h.
 *
 * Results are read in pages of 500 without blocking until a read comes
 * back empty (caught up), then, when following, with XREAD BLOCK from the
 * last entry seen, so a reconnect resumes exactly where the stream was
 * left.
 */
#include "dist/codec.h"
#include "dist/conn.h"
#include "tend/dist.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { PAGE = 500, BLOCK_MS = 5000, BACKOFF_MIN_MS = 100, BACKOFF_MAX_MS = 5000 };

struct tend_dist_client_s {
  uv_loop_t *loop;
  tend_dist_client_opts_t o;
  tend_redis_url_t url;
  char *stream, *results_key;
  char host[256];
  struct dist_conn conn;
  uv_timer_t retry;
  uint64_t backoff_ms;
  bool ever_ready;
  bool closing;
  int open_handles;
  tend_dist_client_cb close_cb;
  size_t pending_submits;

  /* the results reader */
  bool reading, follow, caught_up, read_inflight;
  char last_id[64];
  tend_dist_result_cb result_cb;
  tend_dist_client_cb caught_up_cb;
};

struct submission {
  tend_dist_client_t *c;
  tend_dist_submit_cb cb;
  void *arg;
};

static void issue_read(tend_dist_client_t *c);

void *tend_dist_client_data(const tend_dist_client_t *c) { return c->o.data; }

size_t tend_dist_client_pending(const tend_dist_client_t *c) { return c->pending_submits; }

/* ---- connection ------------------------------------------------------------- */

static void retry_cb(uv_timer_t *t) {
  tend_dist_client_t *c = t->data;
  if (!c->closing)
    dist_conn_connect(&c->conn);
}

static void up_cb(struct dist_conn *dc) {
  tend_dist_client_t *c = dc->data;
  c->ever_ready = true;
  c->backoff_ms = BACKOFF_MIN_MS;
  if (c->o.ready_cb != NULL)
    c->o.ready_cb(c);
  if (!c->closing)
    issue_read(c);
}

static void down_cb(struct dist_conn *dc) {
  tend_dist_client_t *c = dc->data;
  c->read_inflight = false;
  bool again = c->o.reconnect && c->ever_ready && !c->closing;
  c->o.error_cb(c, dc->err_kind, dc->err, again);
  if (again && !c->closing) {
    uv_timer_start(&c->retry, retry_cb, c->backoff_ms, 0);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
  }
}

int tend_dist_client_open(uv_loop_t *loop, const tend_dist_client_opts_t *o,
                          tend_dist_client_t **out, char *err, size_t errlen) {
  *out = NULL;
  if (o->stream == NULL || o->stream[0] == '\0' || o->error_cb == NULL) {
    snprintf(err, errlen, "a stream name and an error callback are required");
    return -EINVAL;
  }
  tend_dist_client_t *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  int r = tend_redis_url_parse(o->url, &c->url, err, errlen);
  if (r != 0) {
    free(c);
    return r;
  }
  c->loop = loop;
  c->o = *o;
  if (c->o.connect_timeout_ms == 0)
    c->o.connect_timeout_ms = 5000;
  if (c->o.command_timeout_ms == 0)
    c->o.command_timeout_ms = 5000;
  c->backoff_ms = BACKOFF_MIN_MS;
  c->stream = strdup(o->stream);
  if (c->stream == NULL || asprintf(&c->results_key, "%s:results", o->stream) < 0) {
    c->results_key = NULL;
    goto nomem;
  }
  if (gethostname(c->host, sizeof(c->host) - 1) != 0)
    snprintf(c->host, sizeof(c->host), "unknown");
  if ((r = dist_conn_init(&c->conn, loop, &c->url, "client", c->o.connect_timeout_ms, up_cb,
                          down_cb)) != 0) {
    snprintf(err, errlen, "%s", uv_strerror(r));
    goto fail;
  }
  c->conn.data = c;
  c->open_handles++;
  uv_timer_init(loop, &c->retry);
  c->retry.data = c;
  c->open_handles++;
  dist_conn_connect(&c->conn);
  *out = c;
  return 0;
nomem:
  snprintf(err, errlen, "out of memory");
  r = -ENOMEM;
fail:
  tend_redis_url_free(&c->url);
  free(c->stream);
  free(c->results_key);
  free(c);
  return r;
}

static void handle_closed(tend_dist_client_t *c) {
  if (--c->open_handles > 0)
    return;
  if (c->close_cb != NULL)
    c->close_cb(c);
  tend_redis_url_free(&c->url);
  free(c->stream);
  free(c->results_key);
  free(c);
}

static void conn_closed_cb(struct dist_conn *dc) { handle_closed(dc->data); }
static void retry_closed_cb(uv_handle_t *h) { handle_closed(h->data); }

void tend_dist_client_close(tend_dist_client_t *c, tend_dist_client_cb close_cb) {
  if (c->closing)
    return;
  c->closing = true;
  c->close_cb = close_cb;
  c->reading = false;
  uv_close((uv_handle_t *)&c->retry, retry_closed_cb);
  dist_conn_close(&c->conn, conn_closed_cb);
}

/* ---- submit ----------------------------------------------------------------- */

static void xadd_cb(struct dist_conn *dc, redisReply *r, void *arg) {
  struct submission *s = arg;
  tend_dist_client_t *c = s->c;
  c->pending_submits--;
  char msg[512];
  if (r == NULL) {
    snprintf(msg, sizeof(msg), "%s", dc->err[0] ? dc->err : "connection to Redis lost");
    s->cb(c, s->arg, NULL, msg);
  } else if (r->type == REDIS_REPLY_STRING) {
    s->cb(c, s->arg, r->str, NULL);
  } else {
    snprintf(msg, sizeof(msg), "Redis refused XADD: %s",
             r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    s->cb(c, s->arg, NULL, msg);
  }
  free(s);
}

int tend_dist_submit(tend_dist_client_t *c, const tend_dist_task_t *t, tend_dist_submit_cb cb,
                     void *arg) {
  if (c->closing || c->conn.state != DC_READY)
    return -ENOTCONN;
  int err;
  char *json = dist_task_encode(t, c->host, &err);
  if (json == NULL)
    return err;
  struct submission *s = malloc(sizeof(*s));
  if (s == NULL) {
    free(json);
    return -ENOMEM;
  }
  *s = (struct submission){c, cb, arg};
  const char *argv[5] = {"XADD", c->stream, "*", "task", json};
  int r = dist_conn_cmd(&c->conn, c->o.command_timeout_ms, xadd_cb, s, 5, argv, NULL);
  free(json);
  if (r != 0) {
    free(s);
    return r;
  }
  c->pending_submits++;
  return 0;
}

/* ---- results ---------------------------------------------------------------- */

/* One entry [id, [field, value, ...]]. */
static void deliver(tend_dist_client_t *c, const redisReply *e) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
    return;
  const char *id = e->element[0]->str;
  snprintf(c->last_id, sizeof(c->last_id), "%s", id);
  const redisReply *f = e->element[1];
  if (f->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t i = 0; i + 1 < f->elements; i += 2) {
    const redisReply *k = f->element[i], *v = f->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "result") != 0 ||
        v->type != REDIS_REPLY_STRING)
      continue;
    struct dist_result_out o;
    if (dist_result_decode(id, v->str, v->len, &o) == 0) {
      c->result_cb(c, &o.r);
      dist_result_out_free(&o);
    }
    return;
  }
}

static void xread_cb(struct dist_conn *dc, redisReply *r, void *arg) {
  tend_dist_client_t *c = dc->data;
  (void)arg;
  c->read_inflight = false;
  if (r == NULL || c->closing || !c->reading)
    return; /* down_cb follows; the read is issued again when back up */
  if (r->type == REDIS_REPLY_ERROR) {
    char msg[512];
    snprintf(msg, sizeof(msg), "Redis refused XREAD on %s: %s", c->results_key, r->str);
    c->reading = false;
    c->o.error_cb(c, TEND_DIST_ERR_SERVER, msg, false);
    return;
  }
  size_t got = 0;
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r->elements && !c->closing && c->reading; i++) {
      const redisReply *s = r->element[i]; /* [key, [entries]] */
      if (s->type != REDIS_REPLY_ARRAY || s->elements < 2 ||
          s->element[1]->type != REDIS_REPLY_ARRAY)
        continue;
      const redisReply *es = s->element[1];
      for (size_t j = 0; j < es->elements && !c->closing && c->reading; j++, got++)
        deliver(c, es->element[j]);
    }
  }
  if (c->closing || !c->reading)
    return;
  if (got == 0 && !c->caught_up) {
    c->caught_up = true;
    if (c->caught_up_cb != NULL)
      c->caught_up_cb(c);
    if (c->closing || !c->reading)
      return;
    if (!c->follow) {
      c->reading = false;
      return;
    }
  }
  issue_read(c);
}

static void issue_read(tend_dist_client_t *c) {
  if (!c->reading || c->read_inflight || c->closing || c->conn.state != DC_READY)
    return;
  char count[16], block[16];
  snprintf(count, sizeof(count), "%d", PAGE);
  snprintf(block, sizeof(block), "%d", BLOCK_MS);
  const char *argv[9];
  int n = 0;
  argv[n++] = "XREAD";
  argv[n++] = "COUNT";
  argv[n++] = count;
  uint64_t timeout = c->o.command_timeout_ms;
  if (c->caught_up) {
    argv[n++] = "BLOCK";
    argv[n++] = block;
    timeout += BLOCK_MS;
  }
  argv[n++] = "STREAMS";
  argv[n++] = c->results_key;
  argv[n++] = c->last_id;
  if (dist_conn_cmd(&c->conn, timeout, xread_cb, NULL, n, argv, NULL) == 0)
    c->read_inflight = true;
}

int tend_dist_results_read(tend_dist_client_t *c, const char *after, bool follow,
                           tend_dist_result_cb result_cb, tend_dist_client_cb caught_up_cb) {
  if (c->reading || c->closing)
    return -EBUSY;
  if (result_cb == NULL || strlen(after) >= sizeof(c->last_id))
    return -EINVAL;
  snprintf(c->last_id, sizeof(c->last_id), "%s", after);
  c->reading = true;
  c->follow = follow;
  c->caught_up = false;
  c->result_cb = result_cb;
  c->caught_up_cb = caught_up_cb;
  issue_read(c);
  return 0;
}
