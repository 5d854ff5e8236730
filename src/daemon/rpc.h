/* SPDX-License-Identifier: MIT */
/*
 * supervisord's HTTP interface as a service of the daemon (issue #16):
 * the [unix_http_server] and [inet_http_server] listeners, XML-RPC on
 * POST /RPC2 (daemon/rpc_methods.c: the 41 methods), the log streams, the
 * metrics and the web page. It is one more front end on the typed control
 * requests: a method becomes requests on a connection with no socket
 * (ctl_conn_callback) put through the daemon's dispatcher, as the control
 * socket's are, and their replies become XML-RPC values.
 */
#ifndef TEND_DAEMON_RPC_H
#define TEND_DAEMON_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "daemon/service.h"
#include "http/server.h"
#include "tend/ctl.h"

typedef struct daemon daemon_t;
typedef struct rpc rpc_t;
typedef struct rpc_call rpc_call_t;

/* What a method does with the reply to its typed request (borrowed). */
typedef void (*rpc_then_fn)(rpc_call_t *call, json_t *reply);
/* Where a call's result goes instead of an XML-RPC response (the web
 * page's calls): value borrowed, or NULL and a fault's code and text. */
typedef void (*rpc_done_fn)(rpc_call_t *call, json_t *value, int code, const char *text);

/* One XML-RPC call: a request's, or one of a system.multicall's. */
struct rpc_call {
  rpc_t *rpc;
  http_req_t *req;     /* NULL: a multicall's part, or its client went away */
  rpc_call_t *parent;  /* the multicall this is a part of */
  rpc_call_t *part;    /* a multicall: the part under way */
  const char *method;  /* a request's own; a part's borrowed from the multicall */
  json_t *params;      /* an array (a reference) */
  json_t *results;     /* a multicall: the parts' results so far */
  json_t *scratch;     /* what a method keeps between its steps */
  void (*next)(rpc_call_t *call, json_t *arg); /* a method's next step */
  bool gone;           /* nobody waits for the result any more */
  bool driving;        /* a multicall running its parts in a loop */
  /* The typed request under way: its connection, and what to do with the
   * reply, which arrives perhaps in the middle of a service's work and is
   * taken up from the loop (rpc.c: the reply queue). */
  ctl_conn_t *conn;
  rpc_then_fn then;
  json_t *reply;
  TAILQ_ENTRY(rpc_call) qlink; /* on rpc->replied while reply is set */
  rpc_done_fn done;            /* not NULL: gets the result (daemon/rpc_web.c) */
};

struct rpc {
  daemon_t *d;
  uv_loop_t *loop;
  http_server_t *http; /* NULL until the first config with a section */
  bool configured;     /* the listeners were set up from a config */
  bool stopping;
  const tend_config_t *cfg; /* in force (the supervisor keeps it) */
  TAILQ_HEAD(, rpc_call) replied; /* calls with a reply to take up */
  uv_idle_t idle;                 /* runs while replied is not empty */
  bool idle_open;
};

void rpc_init(rpc_t *r, daemon_t *d, uv_loop_t *loop);

extern const service_ops_t rpc_ops;

/* ---- for the methods (daemon/rpc_methods.c) ---- */

/* The call's result: value is taken. The call is finished (freed). */
void rpc_return(rpc_call_t *call, json_t *value);
/* supervisord's fault: code and its text ("BAD_NAME: extra"). The call
 * is finished. */
void rpc_fault(rpc_call_t *call, int code, const char *extra);
/* Put req through the daemon's dispatcher; then(call, reply) runs from
 * the loop once its first reply frame is there. */
void rpc_ctl(rpc_call_t *call, const tend_ctl_req_t *req, rpc_then_fn then);

/* Run call->method with call->params (rpc_methods.c): it finishes the call
 * now or later. */
void rpc_dispatch(rpc_call_t *call);
/* A new call (NULL when out of memory): method is borrowed (it must
 * outlive the call) and params taken. */
rpc_call_t *rpc_call_new(rpc_t *r, const char *method, json_t *params);
/* system.multicall's work: calls is the array of {methodName, params}. */
void rpc_multicall(rpc_call_t *call, json_t *calls);
/* Run call (a new one, not a part) for req: done(call, ...) gets its
 * result with call->req, which it answers; the call is freed after done.
 * If the client goes away first, the call is dropped and done never runs. */
void rpc_run_for(rpc_call_t *call, http_req_t *req, rpc_done_fn done);

#endif
