/* SPDX-License-Identifier: MIT */
/*
 * supervisord's log methods (see daemon/rpc_methods.h): the daemon's log
 * and each process's, read with supervisord's offset rules
 * (http/logfile.c), cleared as supervisord clears them.
 */
#include "daemon/rpc_methods.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/sv.h"
#include "http/logfile.h"
#include "xmlrpc/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *param_str(rpc_call_t *call, size_t i) {
  return json_string_value(json_array_get(call->params, i));
}

/* ---- reading ------------------------------------------------------------ */

/* Log text as an XML-RPC string: the codec replaces what is not UTF-8
 * or not XML (supervisord's bug #85 broke its response there). */
static json_t *log_text(const tend_buf_t *b) {
  return json_stringn_nocheck(b->data != NULL ? b->data : "", b->len);
}

/* readFile's answer: the text, or NO_FILE, BAD_ARGUMENTS, FAILED. */
static void read_file(rpc_call_t *call, const char *path, size_t first) {
  if (path == NULL || path[0] == '\0') {
    rpc_fault(call, XMLRPC_NO_FILE, NULL);
    return;
  }
  tend_buf_t b = {0};
  int r = logfile_read(path, json_integer_value(json_array_get(call->params, first)),
                       json_integer_value(json_array_get(call->params, first + 1)), &b);
  if (r == 0)
    rpc_return(call, log_text(&b));
  else if (r == -ENOENT)
    rpc_fault(call, XMLRPC_NO_FILE, path);
  else if (r == -EINVAL)
    rpc_fault(call, XMLRPC_BAD_ARGUMENTS, NULL);
  else
    rpc_fault(call, XMLRPC_FAILED, NULL);
  tend_buf_free(&b);
}

RPC_METHOD(readLog) { read_file(call, call->rpc->cfg != NULL ? call->rpc->cfg->logfile : NULL, 0); }

/* The named process (a status reply looked up as supervisord does), or
 * NULL after faulting with BAD_NAME. *infos is the caller's to free. */
static json_t *named_proc(rpc_call_t *call, json_t *reply, json_t **infos) {
  *infos = rpc_process_infos(reply);
  const char *group;
  json_t *proc = NULL;
  if (*infos == NULL || rpc_lookup(*infos, param_str(call, 0), &group, &proc) != 0 ||
      proc == NULL) {
    rpc_fault(call, *infos == NULL ? XMLRPC_FAILED : XMLRPC_BAD_NAME, param_str(call, 0));
    return NULL;
  }
  return proc;
}

static const char *logfile_of(rpc_call_t *call, json_t *proc) {
  return json_string_value(
      json_object_get(proc, json_is_true(json_object_get(call->scratch, "stderr"))
                                ? "stderr_logfile"
                                : "stdout_logfile"));
}

static void read_looked_up(rpc_call_t *call, json_t *reply) {
  json_t *infos;
  json_t *proc = named_proc(call, reply, &infos);
  if (proc != NULL)
    read_file(call, logfile_of(call, proc), 1);
  json_decref(infos);
}

/* tailFile's answer: [text, offset, overflow]; no file gives ['', 0, False]. */
static void tail_looked_up(rpc_call_t *call, json_t *reply) {
  json_t *infos;
  json_t *proc = named_proc(call, reply, &infos);
  if (proc == NULL) {
    json_decref(infos);
    return;
  }
  const char *path = logfile_of(call, proc);
  tend_buf_t b = {0};
  int64_t offset = 0;
  bool overflow = false;
  int r = path == NULL || path[0] == '\0'
              ? 0
              : logfile_tail(path, json_integer_value(json_array_get(call->params, 1)),
                             json_integer_value(json_array_get(call->params, 2)), &b, &offset,
                             &overflow);
  if (r == -ENOMEM)
    rpc_fault(call, XMLRPC_FAILED, "out of memory");
  else
    rpc_return(call, json_pack("[o,I,b]", log_text(&b), (json_int_t)offset, overflow));
  tend_buf_free(&b);
  json_decref(infos);
}

static void with_status(rpc_call_t *call, bool err, rpc_then_fn then) {
  call->scratch = json_pack("{s:b}", "stderr", err);
  tend_ctl_req_t req = {.cmd = CTL_CMD_STATUS, .no_resources = true};
  rpc_ctl(call, &req, then);
}

RPC_METHOD(readProcessStdoutLog) { with_status(call, false, read_looked_up); }
RPC_METHOD(readProcessStderrLog) { with_status(call, true, read_looked_up); }
RPC_METHOD(tailProcessStdoutLog) { with_status(call, false, tail_looked_up); }
RPC_METHOD(tailProcessStderrLog) { with_status(call, true, tail_looked_up); }

/* ---- clearing ------------------------------------------------------------ */

RPC_METHOD(clearLog) {
  const char *path = call->rpc->cfg != NULL ? call->rpc->cfg->logfile : NULL;
  if (path == NULL || access(path, F_OK) != 0) {
    rpc_fault(call, XMLRPC_NO_FILE, NULL);
    return;
  }
  /* As supervisord: the file goes, the log opens a new one. */
  if (unlink(path) != 0 || log_reopen() != 0) {
    rpc_fault(call, XMLRPC_FAILED, NULL);
    return;
  }
  LOG("info", "clear-log", F_STR("file", path));
  rpc_return(call, json_true());
}

static void clear_looked_up(rpc_call_t *call, json_t *reply) {
  json_t *infos = rpc_process_infos(reply);
  const char *group;
  json_t *proc = NULL;
  int r = infos != NULL ? rpc_lookup(infos, param_str(call, 0), &group, &proc) : -ENOMEM;
  if (r != 0 || proc == NULL) {
    rpc_fault(call, r == -ENOMEM ? XMLRPC_FAILED : XMLRPC_BAD_NAME, param_str(call, 0));
  } else if (dsv_clear_logs(daemon_sv(call->rpc->d),
                            json_string_value(json_object_get(proc, "_tend"))) != 0) {
    rpc_fault(call, XMLRPC_FAILED, param_str(call, 0));
  } else {
    rpc_return(call, json_true());
  }
  json_decref(infos);
}

RPC_METHOD(clearProcessLogs) {
  tend_ctl_req_t req = {.cmd = CTL_CMD_STATUS, .no_resources = true};
  rpc_ctl(call, &req, clear_looked_up);
}

/* clearAllProcessLogs: {name, group, status, description} of each. */
static void clear_all(rpc_call_t *call, json_t *reply) {
  json_t *infos = rpc_process_infos(reply);
  json_t *out = json_array();
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    int r = dsv_clear_logs(daemon_sv(call->rpc->d),
                           json_string_value(json_object_get(info, "_tend")));
    char spec[512];
    rpc_namespec(info, spec, sizeof(spec));
    char *text = r == 0 ? NULL : xmlrpc_fault_text(XMLRPC_FAILED, spec);
    json_array_append_new(out, json_pack("{s:O,s:O,s:i,s:s}", "name",
                                         json_object_get(info, "name"), "group",
                                         json_object_get(info, "group"), "status",
                                         r == 0 ? XMLRPC_SUCCESS : XMLRPC_FAILED, "description",
                                         text != NULL ? text : "OK"));
    free(text);
  }
  json_decref(infos);
  rpc_return(call, out);
}

RPC_METHOD(clearAllProcessLogs) {
  tend_ctl_req_t req = {.cmd = CTL_CMD_STATUS, .no_resources = true};
  rpc_ctl(call, &req, clear_all);
}
