/* SPDX-License-Identifier: MIT */
/* The daemon's channels and their `put` and `get` requests (daemon/chan.c),
 * a service of the daemon (daemon/service.h). */
#ifndef TEND_DAEMON_CHAN_H
#define TEND_DAEMON_CHAN_H

#include <sys/queue.h>
#include <uv.h>

#include "core/channel.h"
#include "daemon/service.h"

typedef struct dchan {
  chanset_t set;
  LIST_HEAD(, chanreq) reqs; /* the puts and gets that wait, newest first */
} dchan_t;

void dchan_init(dchan_t *s, uv_loop_t *loop);

/* Serves put and get. */
extern const service_ops_t dchan_ops;

#endif
