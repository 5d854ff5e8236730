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
#include "xmlrpc/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *param_str(rpc_call_t *call, size_t i) {
  return json_string_value(json_array_get(call->params, i));
}

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
  tend_ctl_req_t req = {.cmd = CTL_CMD_STATUS};
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
  tend_ctl_req_t req = {.cmd = CTL_CMD_STATUS};
  rpc_ctl(call, &req, clear_all);
}
