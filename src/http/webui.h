/* SPDX-License-Identifier: MIT */
/*
 * The web page on supervisord's HTTP interface (issue #16): what
 * supervisord's status page does, on tend's HTTP server. A status table
 * rendered on the server (it works with JavaScript off, and reloads itself
 * then), kept up to date from /status.json by webui.js; start, stop,
 * restart and clear log for one process or all of them as plain HTML
 * forms, answered with a 303 back to the page and its message (or JSON to
 * webui.js's fetch); a live tail of a process's stdout and stderr
 * (tail.html, tail.js reading /logtail/NAME as a stream). The CSS and
 * JavaScript are in the binary (src/http/webui/, embedded at build time):
 * nothing is loaded from anywhere else.
 *
 * This layer knows HTTP and HTML, not the daemon: the processes and the
 * actions come through a table of callbacks (webui_ops_t) and the
 * supervisord shapes of their answers (getAllProcessInfo's structs).
 */
#ifndef TEND_HTTP_WEBUI_H
#define TEND_HTTP_WEBUI_H

#include <jansson.h>
#include <stdbool.h>

#include "http/server.h"

typedef enum {
  WEBUI_START,
  WEBUI_STOP,
  WEBUI_RESTART,
  WEBUI_CLEARLOG,
} webui_action_t;

/* What the page asks of its owner. Each answers req, now or later, with
 * the matching webui_*_reply (and only that); it owns req until then,
 * including the client going away (http_req_on_gone). */
typedef struct webui_ops {
  /* Every process, for the page or /status.json. */
  void (*status)(void *data, http_req_t *req);
  /* action on the process (or group) name; name NULL: on all of them. */
  void (*action)(void *data, http_req_t *req, webui_action_t action, const char *name);
} webui_ops_t;

/* Whether req's path is the page's: / and /index.html (GET the page, POST
 * an action), /status.json, /tail.html, and the assets. If so req is
 * answered, now or through ops (data is theirs); if not it is untouched. */
bool webui_serve(http_req_t *req, const webui_ops_t *ops, void *data);

/* The answer to ops->status: infos is getAllProcessInfo's array
 * (borrowed), or NULL and error says why (a 500). */
void webui_status_reply(http_req_t *req, json_t *infos, const char *error);

/* The answer to ops->action: ok when all went as asked, message what
 * happened (lines). To webui.js's fetch (Accept: application/json) a 200
 * with {"ok", "message"}; to a plain form a 303 back to the page, which
 * shows the message. */
void webui_action_reply(http_req_t *req, bool ok, const char *message);

#endif
