/* SPDX-License-Identifier: MIT */
/*
 * supervisord's HTTP interface as a service (see daemon/rpc.h): the
 * listeners, the router, and the life of an XML-RPC call.
 *
 * A call's typed request is answered on a connection of its own, perhaps
 * in the middle of a service's walk over its lists (a pending start
 * finishing inside a state change). Nothing is done there: the reply is
 * queued and taken up from an idle handle on the next loop turn, where
 * ending the connection, answering the client or starting the next part
 * of a multicall cannot disturb the service that replied.
 */
#include "daemon/rpc.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "daemon/ctl_server.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/rpc_methods.h"
#include "daemon/rpc_web.h"
#include "http/logtail.h"
#include "xmlrpc/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- calls --------------------------------------------------------------- */

static void rpc_call_free(rpc_call_t *call);

rpc_call_t *rpc_call_new(rpc_t *r, const char *method, json_t *params) {
  rpc_call_t *call = calloc(1, sizeof(*call));
  if (call == NULL) {
    json_decref(params);
    return NULL;
  }
  call->rpc = r;
  call->method = method;
  call->params = params;
  return call;
}

static void drop_conn(ctl_conn_t **c) {
  if (*c != NULL)
    ctl_conn_end(*c);
  *c = NULL;
}

static void rpc_call_free(rpc_call_t *call) {
  if (call->part != NULL)
    rpc_call_free(call->part);
  drop_conn(&call->conn);
  if (call->reply != NULL) {
    TAILQ_REMOVE(&call->rpc->replied, call, qlink);
    json_decref(call->reply);
  }
  json_decref(call->results);
  json_decref(call->scratch);
  if (call->parent == NULL)
    free((char *)call->method); /* a request's own, parsed from its body */
  json_decref(call->params);
  free(call);
}

static void respond_xml(http_req_t *req, tend_buf_t *b, int r) {
  if (r != 0) {
    static const char msg[] = "cannot write the XML-RPC response\n";
    LOG("error", "xmlrpc", F_STR("error", strerror(-r)));
    http_respond(req, 500, "text/plain", msg, sizeof(msg) - 1);
  } else {
    http_respond(req, 200, "text/xml", b->data, b->len);
  }
  tend_buf_free(b);
}

static void multicall_drive(rpc_call_t *mc);

/* A call ends with value (taken) or a fault (value NULL): to its client,
 * or into its multicall's results. */
static void finish(rpc_call_t *call, json_t *value, int code, const char *extra) {
  rpc_call_t *mc = call->parent;
  char *text = value == NULL ? xmlrpc_fault_text(code, extra) : NULL;
  if (mc != NULL) {
    /* system.multicall: the value itself, a fault as a struct. That is
     * what supervisord's multicall returns (its docstring, and Python's
     * MultiCall, expect the value in an array of one: supervisorctl does
     * not use either). */
    json_t *item = value != NULL ? value
                                 : json_pack("{s:i,s:s}", "faultCode", code, "faultString",
                                             text != NULL ? text : "FAILED");
    json_array_append_new(mc->results, item);
    mc->part = NULL;
    rpc_call_free(call);
    free(text);
    multicall_drive(mc);
    return;
  }
  if (call->done != NULL) {
    call->done(call, value, code, text != NULL ? text : "FAILED");
  } else if (!call->gone && call->req != NULL) {
    tend_buf_t b = {0};
    int r = value != NULL ? xmlrpc_dump_response(&b, value, 0)
                          : xmlrpc_dump_fault(&b, code, text != NULL ? text : "FAILED");
    respond_xml(call->req, &b, r);
  }
  json_decref(value);
  free(text);
  rpc_call_free(call);
}

void rpc_return(rpc_call_t *call, json_t *value) {
  if (value == NULL) {
    finish(call, NULL, XMLRPC_FAILED, "out of memory");
    return;
  }
  finish(call, value, 0, NULL);
}

void rpc_fault(rpc_call_t *call, int code, const char *extra) {
  finish(call, NULL, code, extra);
}

/* ---- system.multicall: its parts one after the other, in order (a stop
 * then a start of one process must not overlap), as supervisord runs them. */

static void multicall_drive(rpc_call_t *mc) {
  if (mc->part != NULL || mc->driving)
    return; /* a part is under way, or the loop below is the caller */
  mc->driving = true;
  while (mc->part == NULL && json_array_size(mc->results) < json_array_size(mc->params)) {
    json_t *spec = json_array_get(mc->params, json_array_size(mc->results));
    json_t *name = json_object_get(spec, "methodName");
    json_t *params = json_object_get(spec, "params");
    rpc_call_t *part = json_is_string(name) ? rpc_call_new(mc->rpc, json_string_value(name),
                                                           json_is_array(params)
                                                               ? json_incref(params)
                                                               : json_array())
                                            : NULL;
    if (part == NULL) {
      /* supervisord's words for an entry without a name */
      char *text = xmlrpc_fault_text(XMLRPC_INCORRECT_PARAMETERS,
                                     name == NULL ? "No methodName" : NULL);
      json_array_append_new(mc->results,
                            json_pack("{s:i,s:s}", "faultCode", XMLRPC_INCORRECT_PARAMETERS,
                                      "faultString",
                                      text != NULL ? text : "INCORRECT_PARAMETERS"));
      free(text);
      continue;
    }
    part->parent = mc;
    mc->part = part;
    if (strcmp(part->method, "system.multicall") == 0)
      rpc_fault(part, XMLRPC_INCORRECT_PARAMETERS, "Recursive system.multicall forbidden");
    else
      rpc_dispatch(part);
  }
  mc->driving = false;
  if (mc->part == NULL) {
    json_t *results = mc->results;
    mc->results = NULL;
    rpc_return(mc, results);
  }
}

/* system.multicall(calls): the results, each a value or a fault struct. */
void rpc_multicall(rpc_call_t *call, json_t *calls) {
  call->results = json_array();
  json_t *params = call->params;
  call->params = json_incref(calls);
  json_decref(params);
  multicall_drive(call);
}

/* ---- typed requests -------------------------------------------------------- */

static void idle_cb(uv_idle_t *h);

static void on_reply(ctl_conn_t *c, json_t *reply, const void *data, size_t len, void *arg) {
  (void)data;
  (void)len;
  rpc_call_t *call = arg;
  if (call->conn != c || call->reply != NULL)
    return; /* the first frame is the answer */
  call->reply = json_incref(reply);
  TAILQ_INSERT_TAIL(&call->rpc->replied, call, qlink);
  uv_idle_start(&call->rpc->idle, idle_cb);
}

static void idle_cb(uv_idle_t *h) {
  rpc_t *r = h->data;
  rpc_call_t *call;
  while ((call = TAILQ_FIRST(&r->replied)) != NULL) {
    TAILQ_REMOVE(&r->replied, call, qlink);
    json_t *reply = call->reply;
    call->reply = NULL;
    drop_conn(&call->conn);
    rpc_then_fn then = call->then;
    call->then = NULL;
    then(call, reply);
    json_decref(reply);
  }
  uv_idle_stop(h);
}

void rpc_ctl(rpc_call_t *call, const tend_ctl_req_t *req, rpc_then_fn then) {
  ctl_conn_t *c = ctl_conn_callback(daemon_ctl(call->rpc->d), on_reply, call);
  if (c == NULL) {
    rpc_fault(call, XMLRPC_FAILED, "out of memory");
    return;
  }
  call->conn = c;
  call->then = then;
  daemon_dispatch(call->rpc->d, req, c);
}

/* ---- HTTP ------------------------------------------------------------------- */

static void gone_cb(http_req_t *req, void *data) {
  (void)req;
  rpc_call_t *call = data;
  call->gone = true;
  call->req = NULL;
  /* What it waits for is of no use now: drop it (a pending start or stop
   * is forgotten, the process goes on where it was sent). */
  rpc_call_free(call);
}

static void serve_xmlrpc(rpc_t *r, http_req_t *req) {
  size_t len;
  const char *body = http_req_body(req, &len);
  xmlrpc_call_t parsed;
  char err[256];
  int e = xmlrpc_parse_call(body, len, &parsed, err, sizeof(err));
  if (e != 0) {
    /* supervisord answers a body it cannot parse with 400. */
    char msg[300];
    int n = snprintf(msg, sizeof(msg), "bad XML-RPC request: %s\n", err);
    http_respond(req, 400, "text/plain", msg, (size_t)n);
    return;
  }
  rpc_call_t *call = rpc_call_new(r, parsed.method, parsed.params);
  if (call == NULL) {
    free(parsed.method);
    http_respond(req, 500, "text/plain", "out of memory\n", 14);
    return;
  }
  call->req = req;
  http_req_on_gone(req, gone_cb, call);
  rpc_dispatch(call);
}

void rpc_run_for(rpc_call_t *call, http_req_t *req, rpc_done_fn done) {
  call->req = req;
  call->done = done;
  http_req_on_gone(req, gone_cb, call);
  rpc_dispatch(call);
}

static void respond_text(http_req_t *req, int status, const char *text) {
  http_respond(req, status, "text/plain", text, strlen(text));
}

/* A log followed as supervisord's /logtail and /mainlogtail: the last
 * KiB, then what comes; 404 when there is no such file (yet). */
static void serve_log(rpc_t *r, http_req_t *req, const char *path) {
  int e = path != NULL && path[0] != '\0' ? logtail_serve(req, r->loop, path) : -ENOENT;
  if (e == -ENOENT || e == -EINVAL)
    respond_text(req, 404, "Not Found\n");
  else if (e != 0)
    respond_text(req, 500, "cannot follow the log\n");
}

static void logtail_looked_up(rpc_call_t *call, json_t *reply) {
  json_t *infos = rpc_process_infos(reply);
  const char *group;
  json_t *proc = NULL;
  const char *spec = json_string_value(json_object_get(call->scratch, "name"));
  const char *channel = json_string_value(json_object_get(call->scratch, "channel"));
  const char *path = NULL;
  if (infos != NULL && rpc_lookup(infos, spec, &group, &proc) == 0 && proc != NULL) {
    if (strcmp(channel, "stdout") == 0)
      path = json_string_value(json_object_get(proc, "stdout_logfile"));
    else if (strcmp(channel, "stderr") == 0)
      path = json_string_value(json_object_get(proc, "stderr_logfile"));
  }
  http_req_t *req = call->req;
  call->req = NULL; /* the stream's now, or answered */
  serve_log(call->rpc, req, path);
  json_decref(infos);
  rpc_call_free(call);
}

/* GET /logtail/NAME[/stdout|/stderr]: NAME looked up as supervisord does. */
static void serve_logtail(rpc_t *r, http_req_t *req, const char *rest) {
  const char *slash = strchr(rest, '/');
  json_t *scratch =
      slash != NULL ? json_pack("{s:s%,s:s}", "name", rest, (size_t)(slash - rest), "channel",
                                slash + 1)
                    : json_pack("{s:s,s:s}", "name", rest, "channel", "stdout");
  rpc_call_t *call = scratch != NULL ? rpc_call_new(r, NULL, json_array()) : NULL;
  if (call == NULL) {
    json_decref(scratch);
    respond_text(req, 500, "out of memory\n");
    return;
  }
  call->scratch = scratch;
  call->req = req;
  http_req_on_gone(req, gone_cb, call);
  tend_ctl_req_t status = {.cmd = CTL_CMD_STATUS, .no_resources = true};
  rpc_ctl(call, &status, logtail_looked_up);
}

static void on_http(http_req_t *req, void *data) {
  rpc_t *r = data;
  const char *path = http_req_path(req);
  const char *method = http_req_method(req);
  if (strcmp(path, "/RPC2") == 0) {
    if (strcmp(method, "POST") == 0)
      serve_xmlrpc(r, req);
    else
      http_respond_headers(req, 405, "Allow: POST\r\n", "text/plain", "XML-RPC is POST /RPC2\n",
                           22);
    return;
  }
  bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  if (strcmp(path, "/metrics") == 0) {
    if (get)
      metrics_serve(r->d, req);
    else
      http_respond_headers(req, 405, "Allow: GET, HEAD\r\n", "text/plain",
                           "the metrics are GET /metrics\n", 29);
    return;
  }
  if (strncmp(path, "/logtail/", 9) == 0 || strcmp(path, "/mainlogtail") == 0) {
    if (!get)
      respond_text(req, 400, "Bad Request\n");
    else if (path[1] == 'm')
      serve_log(r, req, r->cfg != NULL ? r->cfg->logfile : NULL);
    else
      serve_logtail(r, req, path + 9);
    return;
  }
  if (rpc_web_serve(r, req))
    return;
  respond_text(req, 404, "Not Found\n");
}

/* ---- the service ------------------------------------------------------------ */

static int listen_unix(rpc_t *r, const tend_http_conf_t *h) {
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;
  if (h->chown != NULL && fs_owner_parse(h->chown, &uid, &gid) != 0) {
    LOG("error", "http", F_STR("config", h->conf), F_INT("line", h->line),
        F_STR("error", "chown: no such user or group"), F_STR("chown", h->chown));
    return -EINVAL;
  }
  http_auth_t auth = {h->username, h->password};
  fs_mkdir_parents(h->file);
  return http_server_listen_unix(r->http, h->file, (mode_t)h->chmod, uid, gid, &auth);
}

static void listen_all(rpc_t *r, const tend_config_t *cfg) {
  if (!cfg->unix_http.enabled && !cfg->inet_http.enabled)
    return;
  int e = http_server_init(&r->http, r->loop, on_http, r, NULL);
  if (e == 0 && cfg->unix_http.enabled)
    e = listen_unix(r, &cfg->unix_http);
  if (e == 0 && cfg->inet_http.enabled) {
    http_auth_t auth = {cfg->inet_http.username, cfg->inet_http.password};
    e = http_server_listen_tcp(r->http, cfg->inet_http.host, cfg->inet_http.port, &auth, NULL);
  }
  /* The listeners log their own errors; the daemon goes on without them,
   * as it does without any part of a config that cannot be set up. */
  if (e != 0)
    LOG("error", "http", F_STR("action", "not serving supervisord's HTTP interface"));
}

static bool same_str(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_http(const tend_http_conf_t *a, const tend_http_conf_t *b) {
  return a->enabled == b->enabled && same_str(a->file, b->file) && a->chmod == b->chmod &&
         same_str(a->chown, b->chown) && same_str(a->host, b->host) && a->port == b->port &&
         same_str(a->username, b->username) && same_str(a->password, b->password);
}

static void rpc_apply(void *self, tend_config_t *cfg) {
  rpc_t *r = self;
  const tend_config_t *old = r->cfg;
  r->cfg = cfg;
  if (!r->configured) {
    r->configured = true;
    listen_all(r, cfg);
  } else if (!same_http(&old->unix_http, &cfg->unix_http) ||
             !same_http(&old->inet_http, &cfg->inet_http)) {
    /* As supervisord, whose reread does not touch its servers either. */
    LOG("notice", "http", F_STR("config", cfg->path),
        F_STR("action", "[unix_http_server]/[inet_http_server] changed: kept as they were "
                        "until the daemon restarts"));
  }
}

static void rpc_shutdown(void *self, service_done_t done) {
  rpc_t *r = self;
  r->stopping = true;
  /* Served until every other part has stopped: supervisorctl shutdown
   * gets its answer, status works while programs stop. */
  done.fn(done.arg);
}

static void server_closed_cb(http_server_t *s, void *data) {
  (void)s;
  (void)data;
}

static void idle_closed_cb(uv_handle_t *h) { (void)h; }

static void rpc_close(void *self) {
  rpc_t *r = self;
  if (r->http != NULL)
    http_server_close(r->http, server_closed_cb); /* gone_cb frees what still waits */
  r->http = NULL;
  rpc_call_t *call;
  while ((call = TAILQ_FIRST(&r->replied)) != NULL)
    rpc_call_free(call); /* their clients are gone with the server */
  if (r->idle_open)
    uv_close((uv_handle_t *)&r->idle, idle_closed_cb);
  r->idle_open = false;
}

void rpc_init(rpc_t *r, daemon_t *d, uv_loop_t *loop) {
  memset(r, 0, sizeof(*r));
  r->d = d;
  r->loop = loop;
  TAILQ_INIT(&r->replied);
  uv_idle_init(loop, &r->idle);
  r->idle.data = r;
  r->idle_open = true;
}

const service_ops_t rpc_ops = {
    .name = "http",
    .cmds = 0,
    .apply = rpc_apply,
    .request = NULL,
    .conn_gone = NULL,
    .shutdown = rpc_shutdown,
    .close = rpc_close,
};
