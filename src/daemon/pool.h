/* SPDX-License-Identifier: MIT */
/* The daemon's worker pools: [pool:NAME], submit, pool-status, close,
 * join (daemon/pool.c), a service of the daemon (daemon/service.h). */
#ifndef TEND_DAEMON_POOL_H
#define TEND_DAEMON_POOL_H

#include <stdbool.h>
#include <stdint.h>
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

/* A pool's numbers, for the metrics page (daemon/metrics.c). */
typedef struct {
  const char *name;         /* the pool's own: valid until the loop runs */
  uint64_t workers;         /* as configured */
  uint64_t queued, running; /* tasks now */
  uint64_t done, failed;    /* tasks finished since the daemon started */
} dpool_stats_t;

/* Every pool's numbers in *out (malloc'd: the caller frees it). How many
 * pools, or -ENOMEM. */
int dpools_stats(const dpools_t *s, dpool_stats_t **out);

/* apply: create the pools that do not exist yet; existing ones take the
 * new sizes for their next batch. shutdown: queued tasks are skipped,
 * running ones stopped, every pool freed. */
extern const service_ops_t dpool_ops;

#endif
