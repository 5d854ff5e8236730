/* SPDX-License-Identifier: MIT */
/* [worker:NAME]: the daemon as a node agent of a Redis Streams task queue
 * (daemon/worker.c, on tend_dist_worker), a service of the daemon
 * (daemon/service.h) that answers no command. */
#ifndef TEND_DAEMON_WORKER_H
#define TEND_DAEMON_WORKER_H

#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "daemon/service.h"

typedef struct dworkers {
  uv_loop_t *loop;
  LIST_HEAD(, dworker) list; /* newest first */
  bool shutting_down;
  service_done_t done; /* shutdown: once every worker is closed */
} dworkers_t;

void dworkers_init(dworkers_t *s, uv_loop_t *loop);

/* apply: start the workers that are new or changed, stop the ones that
 * are gone or changed. shutdown: running tasks get grace to finish, then
 * are handed back. */
extern const service_ops_t dworker_ops;

#endif
