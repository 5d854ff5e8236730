/* SPDX-License-Identifier: MIT */
/* The daemon's worker pools: [pool:NAME], submit, pool-status, close,
 * join (daemon_pool.c). */
#ifndef TEND_DAEMON_POOL_H
#define TEND_DAEMON_POOL_H

#include <jansson.h>
#include <uv.h>

#include "ctl_server.h"
#include "tend/config.h"

/* Create the pools of c that do not exist yet; existing ones take the new
 * sizes for their next batch. */
void dpool_apply(uv_loop_t *loop, const tend_config_t *c);

void dpool_submit(ctl_conn_t *c, json_t *req);
void dpool_status(ctl_conn_t *c, json_t *req);
void dpool_close(ctl_conn_t *c, json_t *req);
void dpool_join(ctl_conn_t *c, json_t *req);
void dpool_conn_gone(ctl_conn_t *c);

/* Stop every pool (queued tasks skipped, running ones stopped); cb once
 * all are done and freed. */
void dpool_shutdown(void (*cb)(void));

#endif
