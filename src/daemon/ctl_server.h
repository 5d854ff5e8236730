/* SPDX-License-Identifier: MIT */
/*
 * The control socket's server side: listen on a Unix socket, accept only
 * root and the daemon's own uid (SO_PEERCRED), cut the byte stream into
 * frames (include/tend/ctl.h), hand each request to one callback and send
 * replies back. It knows the framing, not the commands.
 */
#ifndef TEND_CTL_SERVER_H
#define TEND_CTL_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "tend/buf.h"

#define CTL_MAX_CONNS 512

typedef struct ctl_server ctl_server_t;
typedef struct ctl_conn ctl_conn_t;

/* A request: req is borrowed (valid during the call). */
typedef void (*ctl_request_cb)(ctl_conn_t *c, json_t *req, const char *data, size_t len);
/* The connection is going away: drop every reference to it. */
typedef void (*ctl_gone_cb)(ctl_conn_t *c);

struct ctl_conn {
  uv_pipe_t pipe;
  ctl_server_t *server;
  tend_buf_t in;
  bool ending;    /* close once the queued replies are written */
  bool closing;
  void *user;     /* for the request handler (subscriptions, waits) */
  tend_buf_t *sink; /* no socket: the reply frames are appended here */
  /* no socket: each reply is handed to on_reply instead (ctl_conn_callback) */
  void (*on_reply)(ctl_conn_t *c, json_t *reply, const void *data, size_t len, void *arg);
  void *reply_arg;
  bool callback;
  LIST_ENTRY(ctl_conn) link; /* on server->conns while not closing */
};

struct ctl_server {
  uv_loop_t *loop;
  uv_pipe_t listener;
  bool listening;
  char *path;
  LIST_HEAD(, ctl_conn) conns; /* newest first */
  int nconns;
  ctl_request_cb on_request;
  ctl_gone_cb on_gone;
  void *data;
  void (*closed_cb)(ctl_server_t *s);
  int open_handles;
};

/* A server that does not listen (yet): ctl_server_start does this first;
 * alone, it is what ctl_conn_sink needs. */
void ctl_server_init(ctl_server_t *s, uv_loop_t *loop, ctl_request_cb on_request,
                     ctl_gone_cb on_gone);

/*
 * Listen on path with the given mode. A socket file left by a dead daemon
 * is replaced; a live daemon answering on it gives -EADDRINUSE, any other
 * kind of file -EEXIST. 0 or a negative errno; either way the owner calls
 * ctl_server_close.
 */
int ctl_server_start(ctl_server_t *s, uv_loop_t *loop, const char *path, int mode,
                     ctl_request_cb on_request, ctl_gone_cb on_gone);

/* Close the listener and every connection, remove the socket file; cb once
 * every handle is closed. */
void ctl_server_close(ctl_server_t *s, void (*cb)(ctl_server_t *s));

/* A connection with no socket behind it (fuzzers, tests): it is one of
 * s's connections, ended, gone and closed as the others, but each reply
 * frame is appended to out, which must outlive it. NULL when out of
 * memory. */
ctl_conn_t *ctl_conn_sink(ctl_server_t *s, tend_buf_t *out);

/* A connection with no socket whose replies go to on_reply, as they come
 * (perhaps during the request's handling): another front end (XML-RPC)
 * puts typed requests through the same services. reply is borrowed.
 * Ending it calls on_reply no more. NULL when out of memory. */
ctl_conn_t *ctl_conn_callback(ctl_server_t *s,
                              void (*on_reply)(ctl_conn_t *c, json_t *reply, const void *data,
                                               size_t len, void *arg),
                              void *arg);

/* Queue a reply frame: reply is consumed (json_decref'ed). 0 or a negative
 * errno (the connection is then ended). */
int ctl_reply(ctl_conn_t *c, json_t *reply, const void *data, size_t len);

/* An {"ok":false,"error":msg} reply. */
int ctl_reply_error(ctl_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Close after the queued replies are out. */
void ctl_conn_end(ctl_conn_t *c);

/* Bytes queued to this client and not yet written (for slow followers). */
size_t ctl_conn_backlog(const ctl_conn_t *c);

#endif
