/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x server on the caller's libuv loop, for supervisord's XML-RPC
 * interface (issue #16): Unix and TCP listeners sharing one handler, Basic
 * auth per listener, keep-alive, replies that may be given later (held) and
 * chunked streams. Every size is bounded by http_limits_t: one request is
 * parsed at a time per connection and nothing more is read from a client
 * until its reply is queued, so a slow or hostile client costs at most its
 * limits.
 */
#ifndef TEND_HTTP_SERVER_H
#define TEND_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

typedef struct http_server http_server_t;
typedef struct http_req http_req_t;

typedef struct http_limits {
  size_t max_head;      /* request line + headers, bytes (16 KiB) */
  unsigned max_headers; /* header lines (100) */
  size_t max_body;      /* body bytes (2 MiB); more gets 413 */
  unsigned max_conns;   /* open connections (256); more are closed at once */
  uint64_t idle_ms;     /* no request and no byte for this long: close (60 s) */
} http_limits_t;

/* Basic auth of one listener: username NULL or "" means none. password is
 * plain or "{SHA}" and 40 hex digits (supervisord's form). */
typedef struct http_auth {
  const char *username;
  const char *password;
} http_auth_t;

/* A request is complete (head and body): answer it with http_respond or
 * http_stream_start, now or later. req stays valid until the reply is
 * finished or its gone callback has run. */
typedef void (*http_handler_cb)(http_req_t *req, void *data);
/* The client of a request still unanswered went away (or the server is
 * closing): req is invalid after this returns. */
typedef void (*http_gone_cb)(http_req_t *req, void *data);
/* All handles closed; the server is freed after this returns. */
typedef void (*http_closed_cb)(http_server_t *s, void *data);

void http_limits_default(http_limits_t *l);

/* A new server (limits NULL: the defaults). 0 or -ENOMEM. */
int http_server_init(http_server_t **out, uv_loop_t *loop,
                     http_handler_cb handler, void *data,
                     const http_limits_t *limits);
/* Listen on a Unix socket at path: a stale socket file there is removed
 * (anything else there is -EEXIST), then chmod mode and chown uid/gid
 * ((uid_t)-1 / (gid_t)-1 leave them). 0 or a negative errno, logged with
 * the path. */
int http_server_listen_unix(http_server_t *s, const char *path, mode_t mode,
                            uid_t uid, gid_t gid, const http_auth_t *auth);
/* Listen on host:port; host NULL, "" or "*" means all interfaces. port 0
 * picks one, reported in *bound_port if not NULL. 0 or a negative errno,
 * logged with host and port. */
int http_server_listen_tcp(http_server_t *s, const char *host, int port,
                           const http_auth_t *auth, int *bound_port);
/* Close listeners and connections (gone callbacks of unanswered requests
 * run), then done(s, data) once all handles are closed; s is freed after. */
void http_server_close(http_server_t *s, http_closed_cb done);

/* The request: method ("GET"), URL-decoded path ("/RPC2") and query
 * (NULL if none), body (NUL-terminated, may hold NULs: use len). */
const char *http_req_method(const http_req_t *req);
const char *http_req_path(const http_req_t *req);
const char *http_req_query(const http_req_t *req);
const char *http_req_body(const http_req_t *req, size_t *len);
/* A header's value by name, case-insensitive; NULL if absent. */
const char *http_req_header(const http_req_t *req, const char *name);
/* Called if the client goes away before the reply is finished. */
void http_req_on_gone(http_req_t *req, http_gone_cb cb, void *data);

/* The whole reply with Content-Length (to a HEAD request, without the
 * body); finishes req. 0 or a negative errno (the connection is then
 * closed, the gone callback not called). */
int http_respond(http_req_t *req, int status, const char *content_type,
                 const void *body, size_t len);
/* http_respond with headers of the caller's own besides (each "Name:
 * value\r\n", may be NULL): Allow, Location, Cache-Control, ... */
int http_respond_headers(http_req_t *req, int status, const char *headers,
                         const char *content_type, const void *body, size_t len);
/* A chunked reply: status line, headers (each "Name: value\r\n", may be
 * NULL) and Transfer-Encoding: chunked. Then writes, then end (finishes
 * req). 0 or a negative errno as for http_respond. */
int http_stream_start(http_req_t *req, int status, const char *headers);
int http_stream_write(http_req_t *req, const void *data, size_t len);
int http_stream_end(http_req_t *req);
/* Bytes queued to the client and not yet written: a caller streaming to a
 * slow reader drops it (http_stream_end or stops writing) past its bound. */
size_t http_req_backlog(const http_req_t *req);

#endif
