/* SPDX-License-Identifier: MIT */
/*
 * supervisord's configuration methods (see daemon/rpc_methods.h) on the
 * daemon's reread (daemon/reread.c): reloadConfig reads the file and
 * keeps it pending, addProcessGroup and removeProcessGroup put one group
 * of it in force, getAllConfigInfo lists it for `supervisorctl avail`.
 */
#include "daemon/rpc_methods.h"
#include "daemon/reread.h"
#include "xmlrpc/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *param_str(rpc_call_t *call, size_t i) {
  return json_string_value(json_array_get(call->params, i));
}

RPC_METHOD(reloadConfig) {
  json_t *added = NULL, *changed = NULL, *removed = NULL;
  char *err = NULL;
  int r = daemon_reread(call->rpc->d, &added, &changed, &removed, &err);
  if (r == 0) {
    rpc_return(call, json_pack("[[o,o,o]]", added, changed, removed));
  } else if (r == -ESHUTDOWN) {
    rpc_fault(call, XMLRPC_SHUTDOWN_STATE, NULL);
  } else {
    /* supervisord's message is one line: the first error. */
    char *nl = err != NULL ? strchr(err, '\n') : NULL;
    if (nl != NULL)
      *nl = '\0';
    rpc_fault(call, XMLRPC_CANT_REREAD, err != NULL ? err : "cannot read the config");
  }
  free(err);
}

/* The fault for a group operation's error. */
static void group_result(rpc_call_t *call, int r) {
  switch (r) {
  case 0: rpc_return(call, json_true()); break;
  case -ENOENT: rpc_fault(call, XMLRPC_BAD_NAME, param_str(call, 0)); break;
  case -EEXIST: rpc_fault(call, XMLRPC_ALREADY_ADDED, param_str(call, 0)); break;
  case -EBUSY: rpc_fault(call, XMLRPC_STILL_RUNNING, param_str(call, 0)); break;
  case -ESHUTDOWN: rpc_fault(call, XMLRPC_SHUTDOWN_STATE, NULL); break;
  default: rpc_fault(call, XMLRPC_FAILED, param_str(call, 0));
  }
}

RPC_METHOD(addProcessGroup) {
  group_result(call, daemon_group_add(call->rpc->d, param_str(call, 0)));
}

RPC_METHOD(removeProcessGroup) {
  group_result(call, daemon_group_remove(call->rpc->d, param_str(call, 0)));
}

RPC_METHOD(getAllConfigInfo) { rpc_return(call, daemon_config_info(call->rpc->d)); }
