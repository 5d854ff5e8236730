/* SPDX-License-Identifier: MIT */
/* [worker:NAME]: the daemon as a node agent of a Redis Streams task queue
 * (daemon_worker.c, on tend_dist_worker). */
#ifndef TEND_DAEMON_WORKER_H
#define TEND_DAEMON_WORKER_H

#include <uv.h>

#include "tend/config.h"

/* Start the workers of c that are new or changed, stop the ones that are
 * gone or changed. */
void dworker_apply(uv_loop_t *loop, const tend_config_t *c);

/* Stop every worker (running tasks get grace to finish, then are handed
 * back); cb once all are closed. */
void dworker_shutdown(void (*cb)(void));

#endif
