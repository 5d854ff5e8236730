/* SPDX-License-Identifier: MIT */
/*
 * supervisord's XML-RPC methods, split by what they touch: the table and
 * the processes (daemon/rpc_methods.c), the logs (daemon/rpc_logs.c), the
 * configuration (daemon/rpc_config.c). Each takes the call, whose params
 * the table has checked (count and types), and finishes it now or later.
 */
#ifndef TEND_DAEMON_RPC_METHODS_H
#define TEND_DAEMON_RPC_METHODS_H

#include "daemon/rpc.h"

/* supervisord's process states and their codes (supervisor/states.py). */
int rpc_state_code(const char *statename);

/* The processes as getAllProcessInfo gives them, from a status reply
 * (sorted by group, then name). A new array, or NULL when out of memory. */
json_t *rpc_process_infos(json_t *status_reply);

/* supervisord's name lookup (rpcinterface._getGroupAndProcess) over
 * infos: "GROUP:NAME", "GROUP:*" or "GROUP:" (the whole group: *proc
 * NULL), "NAME" (the process NAME of the group NAME). 0, or -ENOENT
 * (BAD_NAME). */
int rpc_lookup(json_t *infos, const char *namespec, const char **group, json_t **proc);

/* "GROUP:NAME", or "NAME" when both are the same, as supervisorctl writes
 * it; tend's process name for it (unique). */
void rpc_namespec(json_t *info, char *buf, size_t len);

#define RPC_METHOD(name) void m_##name(rpc_call_t *call)

RPC_METHOD(readLog);
RPC_METHOD(clearLog);
RPC_METHOD(readProcessStdoutLog);
RPC_METHOD(readProcessStderrLog);
RPC_METHOD(tailProcessStdoutLog);
RPC_METHOD(tailProcessStderrLog);
RPC_METHOD(clearProcessLogs);
RPC_METHOD(clearAllProcessLogs);

RPC_METHOD(reloadConfig);
RPC_METHOD(addProcessGroup);
RPC_METHOD(removeProcessGroup);
RPC_METHOD(getAllConfigInfo);

#endif
