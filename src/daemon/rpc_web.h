/* SPDX-License-Identifier: MIT */
/*
 * The web page's daemon side (issue #16): http/webui.c's callbacks, on
 * supervisord's XML-RPC methods run as calls of the daemon's HTTP service
 * (daemon/rpc.c), so that a button does exactly what supervisorctl's
 * command does: getAllProcessInfo for the table; startProcess,
 * stopProcess, their All forms and clearProcessLogs for the buttons, a
 * restart being a stop then a start in one system.multicall.
 */
#ifndef TEND_DAEMON_RPC_WEB_H
#define TEND_DAEMON_RPC_WEB_H

#include <stdbool.h>

#include "daemon/rpc.h"

/* Whether req is the web page's (http/webui.h); if so it is answered,
 * now or later. */
bool rpc_web_serve(rpc_t *r, http_req_t *req);

#endif
