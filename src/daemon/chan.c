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
 *
 * The channels outlive the other services' shutdown (a stopping program
 * may still write to its stdout_channel): the waiting requests end, and
 * the channels go, only at close.
 */
#include "daemon/chan.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct chanreq {
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
  LIST_ENTRY(chanreq) link; /* on the dchan_t's reqs */
} chanreq_t;

static void timer_closed_cb(uv_handle_t *h) { free(h); }

static void req_free(chanreq_t *r) {
  LIST_REMOVE(r, link);
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

static chanreq_t *req_new(dchan_t *s, ctl_conn_t *c, const tend_ctl_req_t *req) {
  channel_t *ch = chanset_find(&s->set, req->name);
  if (ch == NULL) {
    ctl_reply_error(c, "no such channel: %s", req->name);
    return NULL;
  }
  chanreq_t *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    ctl_reply_error(c, "out of memory");
    return NULL;
  }
  r->conn = c;
  r->ch = ch;
  LIST_INSERT_HEAD(&s->reqs, r, link);
  return r;
}

static void dchan_put(dchan_t *s, ctl_conn_t *c, const tend_ctl_req_t *req) {
  chanreq_t *r = req_new(s, c, req);
  if (r == NULL)
    return;
  r->split = req->split;
  r->nowait = req->nowait;
  r->data = malloc(req->len + 1);
  if (r->data == NULL) {
    finish(r, json_pack("{s:b,s:s}", "ok", 0, "error", "out of memory"));
    return;
  }
  memcpy(r->data, req->data, req->len);
  r->len = req->len;
  if (r->split && r->len > 0 && req->data[r->len - 1] == '\n')
    r->len--; /* "a\nb\n" is two messages, not three */
  chanset_waiter_init(&s->set, &r->w, put_more, r);
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

static void dchan_get(dchan_t *s, ctl_conn_t *c, const tend_ctl_req_t *req) {
  chanreq_t *r = req_new(s, c, req);
  if (r == NULL)
    return;
  int64_t want = req->count < 1 ? 1 : req->count;
  /* Not cut to an int: 2^32 would become 0, a get answered with nothing. */
  r->want = want < INT_MAX ? (int)want : INT_MAX;
  if (req->timeout_ms >= 0) {
    r->timer = malloc(sizeof(*r->timer));
    if (r->timer == NULL) {
      finish(r, json_pack("{s:b,s:s}", "ok", 0, "error", "out of memory"));
      return;
    }
    uv_timer_init(s->set.loop, r->timer);
    r->timer->data = r;
    uv_timer_start(r->timer, get_timeout_cb, (uint64_t)req->timeout_ms, 0);
  }
  chanset_waiter_init(&s->set, &r->w, get_more, r);
  get_more(r);
}

/* ---- the service -------------------------------------------------------- */

void dchan_init(dchan_t *s, uv_loop_t *loop) {
  LIST_INIT(&s->reqs);
  chanset_init(&s->set, loop);
}

static void chan_apply(void *self, tend_config_t *cfg) {
  dchan_t *s = self;
  int r = chanset_apply(&s->set, cfg);
  if (r != 0)
    LOG("error", "channel", F_STR("error", "cannot create the new channels"),
        F_STR("reason", strerror(-r)));
}

static void chan_request(void *self, const tend_ctl_req_t *req, ctl_conn_t *c) {
  if (req->cmd == CTL_CMD_PUT)
    dchan_put(self, c, req);
  else
    dchan_get(self, c, req);
}

static void chan_conn_gone(void *self, ctl_conn_t *c) {
  dchan_t *s = self;
  for (chanreq_t *r = LIST_FIRST(&s->reqs), *next; r != NULL; r = next) {
    next = LIST_NEXT(r, link);
    if (r->conn == c)
      req_free(r);
  }
}

static void chan_shutdown(void *self, service_done_t done) {
  (void)self;
  done.fn(done.arg); /* nothing to stop: the channels serve until close */
}

static void idle_closed_cb(uv_handle_t *h) { (void)h; /* inside the dchan_t */ }

static void chan_close(void *self) {
  dchan_t *s = self;
  chanreq_t *r;
  while ((r = LIST_FIRST(&s->reqs)) != NULL)
    finish(r, json_pack("{s:b,s:s}", "ok", 0, "error", "the daemon is shutting down"));
  chanset_close(&s->set, idle_closed_cb);
}

const service_ops_t dchan_ops = {
    .name = "channels",
    .cmds = CTL_BIT(CTL_CMD_PUT) | CTL_BIT(CTL_CMD_GET),
    .apply = chan_apply,
    .request = chan_request,
    .conn_gone = chan_conn_gone,
    .shutdown = chan_shutdown,
    .close = chan_close,
};
