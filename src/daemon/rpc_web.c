/* SPDX-License-Identifier: MIT */
/*
 * The web page's callbacks (see daemon/rpc_web.h). Each request of the
 * page becomes one call of the HTTP service, run as an XML-RPC client's
 * would be (rpc_run_for) but answered by http/webui.c, the results told
 * as supervisorctl tells them ("web: stopped", "web: ERROR (not
 * running)").
 */
#include "daemon/rpc_web.h"
#include "daemon/rpc_methods.h"
#include "http/webui.h"
#include "tend/buf.h"
#include "xmlrpc/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A call of method (copied: a call frees its own) with params (taken). */
static rpc_call_t *call_new(rpc_t *r, const char *method, json_t *params) {
  char *m = strdup(method);
  if (m == NULL || params == NULL) {
    free(m);
    json_decref(params);
    return NULL;
  }
  rpc_call_t *call = rpc_call_new(r, m, params);
  if (call == NULL)
    free(m);
  return call;
}

/* ---- the table ------------------------------------------------------------- */

static void status_done(rpc_call_t *call, json_t *value, int code, const char *text) {
  (void)code;
  webui_status_reply(call->req, value, text);
}

static void web_status(void *data, http_req_t *req) {
  rpc_call_t *call = call_new(data, "supervisor.getAllProcessInfo", json_array());
  if (call == NULL)
    webui_status_reply(req, NULL, "out of memory");
  else
    rpc_run_for(call, req, status_done);
}

/* ---- the buttons ------------------------------------------------------------- */

/* What supervisorctl says of a fault (its "ERROR (...)"); NULL: the
 * fault's own text. */
static const char *fault_phrase(int code) {
  switch (code) {
  case XMLRPC_BAD_NAME: return "no such process";
  case XMLRPC_NOT_RUNNING: return "not running";
  case XMLRPC_ALREADY_STARTED: return "already started";
  case XMLRPC_SPAWN_ERROR: return "spawn error";
  case XMLRPC_ABNORMAL_TERMINATION: return "abnormal termination";
  case XMLRPC_SHUTDOWN_STATE: return "shutting down";
  case XMLRPC_NO_FILE: return "no log file";
  default: return NULL;
  }
}

/* The results' lines, and whether everything went as asked. */
typedef struct {
  tend_buf_t text;
  bool ok;
  int err; /* out of memory */
} report_t;

static void report_add(report_t *rep, const char *line) {
  if (rep->text.len > 0 && tend_buf_append(&rep->text, "\n", 1) != 0)
    rep->err = -1;
  if (tend_buf_append(&rep->text, line, strlen(line)) != 0)
    rep->err = -1;
}

/* One process's result: "NAME: stopped" or "NAME: ERROR (...)". A stop
 * in a restart of what was not running is not worth a line. */
static void report_one(report_t *rep, const char *name, const char *done, bool restart_stop,
                       int code, const char *fault) {
  char line[1024];
  if (code == XMLRPC_SUCCESS) {
    snprintf(line, sizeof(line), "%s: %s", name, done);
  } else if (restart_stop && code == XMLRPC_NOT_RUNNING) {
    return;
  } else {
    const char *phrase = fault_phrase(code);
    snprintf(line, sizeof(line), "%s: ERROR (%s)", name, phrase != NULL ? phrase : fault);
    rep->ok = false;
  }
  report_add(rep, line);
}

/* What a method did to a process, in supervisorctl's words. */
static const char *done_word(const char *method) {
  if (strstr(method, "start") != NULL)
    return "started";
  if (strstr(method, "stop") != NULL)
    return "stopped";
  return "log cleared";
}

/* One part of the multicall: spec its {methodName, params}, result the
 * bare value (true, or a group's array) or a fault struct. */
static void report_part(report_t *rep, json_t *spec, json_t *result, bool restart) {
  const char *method = json_string_value(json_object_get(spec, "methodName"));
  const char *name = json_string_value(json_array_get(json_object_get(spec, "params"), 0));
  if (method == NULL)
    return;
  const char *done = done_word(method);
  bool restart_stop = restart && strstr(method, "stop") != NULL;
  if (json_object_get(result, "faultCode") != NULL) {
    report_one(rep, name != NULL ? name : "all", done, restart_stop,
               (int)json_integer_value(json_object_get(result, "faultCode")),
               json_string_value(json_object_get(result, "faultString")));
    return;
  }
  json_t *value = result;
  if (!json_is_array(value)) {
    report_one(rep, name, done, restart_stop, XMLRPC_SUCCESS, NULL);
    return;
  }
  /* A group's or all: supervisord's {name, group, status, description}. */
  if (json_array_size(value) == 0 && !restart_stop) {
    char line[128];
    snprintf(line, sizeof(line), "nothing to %s",
             strstr(method, "start") != NULL  ? "start"
             : strstr(method, "stop") != NULL ? "stop"
                                              : "clear");
    report_add(rep, line);
  }
  size_t i;
  json_t *item;
  json_array_foreach(value, i, item) {
    char spec_buf[512];
    rpc_namespec(item, spec_buf, sizeof(spec_buf));
    report_one(rep, spec_buf, done, restart_stop,
               (int)json_integer_value(json_object_get(item, "status")),
               json_string_value(json_object_get(item, "description")));
  }
}

static void action_done(rpc_call_t *call, json_t *value, int code, const char *text) {
  (void)code;
  if (value == NULL) {
    webui_action_reply(call->req, false, text);
    return;
  }
  /* rpc_multicall has made the call's params its array of calls; two
   * are a restart's stop and start. */
  json_t *calls = call->params;
  bool restart = json_array_size(calls) == 2;
  report_t rep = {.ok = true};
  for (size_t i = 0; i < json_array_size(calls); i++)
    report_part(&rep, json_array_get(calls, i), json_array_get(value, i), restart);
  if (tend_buf_append(&rep.text, "", 1) != 0)
    rep.err = -1;
  if (rep.err != 0)
    webui_action_reply(call->req, false, "out of memory");
  else
    webui_action_reply(call->req, rep.ok, rep.text.data);
  tend_buf_free(&rep.text);
}

/* {methodName, params} of one part; params taken. */
static json_t *part(const char *method, json_t *params) {
  return json_pack("{s:s,s:o}", "methodName", method, "params", params);
}

static void web_action(void *data, http_req_t *req, webui_action_t action, const char *name) {
  json_t *calls = json_array();
  /* As supervisorctl: wait for each to be done, so the message says how
   * it went. */
  if (action == WEBUI_STOP || action == WEBUI_RESTART)
    json_array_append_new(calls, name == NULL
                                     ? part("supervisor.stopAllProcesses", json_pack("[b]", 1))
                                     : part("supervisor.stopProcess", json_pack("[s,b]", name, 1)));
  if (action == WEBUI_START || action == WEBUI_RESTART)
    json_array_append_new(calls, name == NULL
                                     ? part("supervisor.startAllProcesses", json_pack("[b]", 1))
                                     : part("supervisor.startProcess", json_pack("[s,b]", name, 1)));
  if (action == WEBUI_CLEARLOG)
    json_array_append_new(calls, name == NULL
                                     ? part("supervisor.clearAllProcessLogs", json_array())
                                     : part("supervisor.clearProcessLogs", json_pack("[s]", name)));
  rpc_call_t *call = call_new(data, "system.multicall", json_pack("[o]", calls));
  if (call == NULL)
    webui_action_reply(req, false, "out of memory");
  else
    rpc_run_for(call, req, action_done);
}

static const webui_ops_t web_ops = {
    .status = web_status,
    .action = web_action,
};

bool rpc_web_serve(rpc_t *r, http_req_t *req) { return webui_serve(req, &web_ops, r); }
