/* SPDX-License-Identifier: MIT */
/* The daemon's worker pools: [pool:NAME], submit, pool-status, close,
 * join (daemon/pool.c), a service of the daemon (daemon/service.h). */
#ifndef TEND_DAEMON_POOL_H
#define TEND_DAEMON_POOL_H

#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "daemon/service.h"

typedef struct dpools {
  uv_loop_t *loop;
  LIST_HEAD(, dpool) list; /* newest first */
  bool stopping;
  service_done_t done; /* shutdown: once every pool is freed */
} dpools_t;

void dpools_init(dpools_t *s, uv_loop_t *loop);

/* apply: create the pools that do not exist yet; existing ones take the
 * new sizes for their next batch. shutdown: queued tasks are skipped,
 * running ones stopped, every pool freed. */
extern const service_ops_t dpool_ops;

#endif
