/* SPDX-License-Identifier: MIT */
/*
 * dist_conn: one Redis connection on the caller's loop (hiredis async),
 * with what hiredis 0.14 lacks: a connect timeout and a per-command reply
 * timeout on a uv timer, name lookup off the loop (uv_getaddrinfo), and
 * AUTH / SELECT / CLIENT ID as part of connecting. It does not reconnect by
 * itself: the owner gets down_cb and decides (it may own two connections
 * that live and die together).
 *
 * Lifecycle: init, then connect (IDLE -> ... -> READY: up_cb; or back to
 * IDLE: down_cb), any number of times; close once (close_cb last). A
 * command's callback gets the reply, an error reply, or NULL when the
 * connection went away before the reply came; down_cb follows on a later
 * loop turn. dist_conn_cmd* never call the callback from inside the call.
 */
#ifndef TEND_DIST_CONN_H
#define TEND_DIST_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "tend/dist.h"

struct redisAsyncContext;
struct redisReply;
struct dist_conn;

typedef void (*dist_conn_cb)(struct dist_conn *c);
/* r: the reply (freed after the callback), or NULL: no reply will come. */
typedef void (*dist_reply_cb)(struct dist_conn *c, struct redisReply *r, void *arg);

typedef enum {
  DC_IDLE = 0,   /* not connected; connect may be called */
  DC_RESOLVING,  /* uv_getaddrinfo */
  DC_CONNECTING, /* TCP / Unix connect in progress */
  DC_HANDSHAKE,  /* AUTH, SELECT, CLIENT ID sent */
  DC_READY,      /* commands may be sent */
  DC_FAILING,    /* being torn down: down_cb comes next */
  DC_CLOSING,
  DC_CLOSED,
} dist_conn_state_t;

struct dist_cmd {
  TAILQ_ENTRY(dist_cmd) link; /* on the conn's cmds (queued) or spare */
  bool queued;
  uint64_t deadline; /* uv_now() ms */
  dist_reply_cb cb;
  void *arg;
  struct dist_conn *c;
  bool internal; /* a handshake command */
};

struct dist_conn {
  void *data; /* for the owner */

  /* read-only for the owner */
  dist_conn_state_t state;
  long long client_id;      /* CLIENT ID, once READY */
  tend_dist_err_t err_kind; /* why the last attempt failed / was lost */
  char err[384];

  /* private */
  uv_loop_t *loop;
  const tend_redis_url_t *url;
  const char *what; /* "reader", "writer"... for messages */
  uint64_t connect_timeout_ms;
  struct redisAsyncContext *ac;
  uv_poll_t poll;
  bool poll_open;   /* initialised, not closed yet */
  int poll_events;
  uv_timer_t timer; /* connect deadline, reply deadlines, deferred down_cb */
  bool timer_open;
  uv_getaddrinfo_t gai;
  bool gai_busy;
  uint64_t connect_deadline;
  TAILQ_HEAD(dist_cmds, dist_cmd) cmds; /* waiting for replies, in order */
  struct dist_cmds spare;               /* a few freed ones, reused */
  unsigned nspare;
  size_t pending;
  int handshake_left;
  bool was_ready; /* this attempt reached READY (a loss, not a failure) */
  dist_conn_cb up_cb, down_cb, close_cb;
};

/* Nothing is opened on the loop yet but the timer. url must outlive c. */
int dist_conn_init(struct dist_conn *c, uv_loop_t *loop, const tend_redis_url_t *url,
                   const char *what, uint64_t connect_timeout_ms, dist_conn_cb up_cb,
                   dist_conn_cb down_cb);

/* From IDLE: up_cb or down_cb later. -EBUSY otherwise. */
int dist_conn_connect(struct dist_conn *c);

/* Tear the connection down (pending commands get NULL): down_cb follows
 * unless it was IDLE or is already failing (then nothing happens). */
void dist_conn_drop(struct dist_conn *c, tend_dist_err_t kind, const char *msg);

/* Send a command (hiredis argv form); its reply must come within
 * timeout_ms. 0, -ENOTCONN (not READY), -ENOMEM. */
int dist_conn_cmd(struct dist_conn *c, uint64_t timeout_ms, dist_reply_cb cb, void *arg, int argc,
                  const char **argv, const size_t *lens);

/* Close for good: pending commands get NULL, no more up/down callbacks,
 * close_cb when every handle is closed (then c may be freed). */
void dist_conn_close(struct dist_conn *c, dist_conn_cb close_cb);

/* A reply's error text ("" if r is not an error). */
const char *dist_reply_error(const struct redisReply *r);

#endif
