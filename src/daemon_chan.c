/* SPDX-License-Identifier: MIT */
/*
 * `tend put` and `tend get` in the daemon: a put on a full channel waits
 * for room (or fails at once with nowait), a get on an empty one waits for
 * a message or its timeout. A waiting request holds its place in the
 * channel's FIFO of waiters, so clients are served in arrival order.
 *
 * A put carries its messages in the frame's data: one message, or with
 * "split" one per line. A get answers with one frame per message and ends
 * the connection after "count" messages (or at the timeout).
 */
#include "daemon_chan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct chanreq {
  bool is_get;
  ctl_conn_t *conn;
  channel_t *ch;
  chan_waiter_t w;
  /* put */
  char *data;
  size_t len, off;
  bool split, nowait;
  int done; /* messages put / got */
  /* get */
  int want;
  uv_timer_t *timer; /* freed in its close callback */
  struct chanreq *next;
} chanreq_t;

static chanreq_t *reqs;

static void timer_closed_cb(uv_handle_t *h) { free(h); }

static void req_free(chanreq_t *r) {
  for (chanreq_t **at = &reqs; *at != NULL; at = &(*at)->next) {
    if (*at == r) {
      *at = r->next;
      break;
    }
  }
  chanset_waiter_cancel(r->ch, &r->w);
  if (r->timer != NULL)
    uv_close((uv_handle_t *)r->timer, timer_closed_cb);
  free(r->data);
  free(r);
}

static void finish(chanreq_t *r, json_t *reply) {
  ctl_conn_t *c = r->conn;
  req_free(r);
  ctl_reply(c, reply, NULL, 0);
  ctl_conn_end(c);
}

/* ---- put --------------------------------------------------------------- */

static void put_more(void *data) {
  chanreq_t *r = data;
  while (r->off < r->len || (r->len == 0 && r->done == 0)) {
    const char *start = r->data + r->off;
    size_t n = r->len - r->off;
    const char *nl = r->split ? memchr(start, '\n', n) : NULL;
    size_t mlen = nl != NULL ? (size_t)(nl - start) : n;
    int rc = channel_put(r->ch, start, mlen);
    if (rc == -EAGAIN) {
      if (r->nowait) {
        finish(r, json_pack("{s:b,s:b,s:i,s:s+}", "ok", 0, "full", 1, "put", r->done, "error",
                            "channel is full: ", r->ch->name));
        return;
      }
      channel_wait_room(r->ch, &r->w);
      return;
    }
    if (rc != 0) {
      finish(r, json_pack("{s:b,s:s}", "ok", 0, "error", strerror(-rc)));
      return;
    }
    r->done++;
    r->off += mlen + (nl != NULL ? 1 : 0);
    if (r->len == 0)
      break; /* one empty message */
  }
  finish(r, json_pack("{s:b,s:i}", "ok", 1, "put", r->done));
}

static chanreq_t *req_new(chanset_t *set, ctl_conn_t *c, json_t *req) {
  const char *name = json_string_value(json_object_get(req, "name"));
  channel_t *ch = name != NULL ? chanset_find(set, name) : NULL;
  if (ch == NULL) {
    ctl_reply_error(c, "no such channel: %s", name != NULL ? name : "(no name)");
    return NULL;
  }
  chanreq_t *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    ctl_reply_error(c, "out of memory");
    return NULL;
  }
  r->conn = c;
  r->ch = ch;
  r->next = reqs;
  reqs = r;
  return r;
}

void dchan_put(chanset_t *set, ctl_conn_t *c, json_t *req, const char *data, size_t len) {
  chanreq_t *r = req_new(set, c, req);
  if (r == NULL)
    return;
  r->split = json_is_true(json_object_get(req, "split"));
  r->nowait = json_is_true(json_object_get(req, "nowait"));
  r->data = malloc(len + 1);
  if (r->data == NULL) {
    finish(r, json_pack("{s:b,s:s}", "ok", 0, "error", "out of memory"));
    return;
  }
  memcpy(r->data, data, len);
  r->len = len;
  if (r->split && len > 0 && data[len - 1] == '\n')
    r->len--; /* "a\nb\n" is two messages, not three */
  chanset_waiter_init(set, &r->w, put_more, r);
  put_more(r);
}

/* ---- get --------------------------------------------------------------- */

static void get_more(void *data) {
  chanreq_t *r = data;
  while (r->done < r->want) {
    chan_msg_t *m = channel_get(r->ch);
    if (m == NULL) {
      channel_wait_message(r->ch, &r->w);
      return;
    }
    ctl_reply(r->conn, json_pack("{s:b}", "ok", 1), m->data, m->len);
    free(m);
    r->done++;
  }
  ctl_conn_t *c = r->conn;
  req_free(r);
  ctl_conn_end(c);
}

static void get_timeout_cb(uv_timer_t *t) {
  chanreq_t *r = t->data;
  finish(r, json_pack("{s:b,s:b,s:i,s:s+}", "ok", 0, "timed_out", 1, "got", r->done, "error",
                      "timed out waiting on channel ", r->ch->name));
}

void dchan_get(chanset_t *set, ctl_conn_t *c, json_t *req) {
  chanreq_t *r = req_new(set, c, req);
  if (r == NULL)
    return;
  r->is_get = true;
  json_t *cnt = json_object_get(req, "count");
  json_int_t want = json_is_integer(cnt) ? json_integer_value(cnt) : 1;
  if (want < 1)
    want = 1;
  /* Not cut to an int: 2^32 would become 0, a get answered with nothing. */
  r->want = want < INT_MAX ? (int)want : INT_MAX;
  json_t *to = json_object_get(req, "timeout_ms");
  if (json_is_integer(to) && json_integer_value(to) >= 0) {
    r->timer = malloc(sizeof(*r->timer));
    if (r->timer == NULL) {
      finish(r, json_pack("{s:b,s:s}", "ok", 0, "error", "out of memory"));
      return;
    }
    uv_timer_init(set->loop, r->timer);
    r->timer->data = r;
    uv_timer_start(r->timer, get_timeout_cb, (uint64_t)json_integer_value(to), 0);
  }
  chanset_waiter_init(set, &r->w, get_more, r);
  get_more(r);
}

void dchan_conn_gone(ctl_conn_t *c) {
  for (chanreq_t *r = reqs, *next; r != NULL; r = next) {
    next = r->next;
    if (r->conn == c)
      req_free(r);
  }
}

void dchan_end_all(void) {
  while (reqs != NULL)
    finish(reqs, json_pack("{s:b,s:s}", "ok", 0, "error", "the daemon is shutting down"));
}
