/* SPDX-License-Identifier: MIT */
/*
 * A part of the daemon: the supervisor (daemon/sv.c), the channels
 * (daemon/chan.c), the pools (daemon/pool.c), the Redis workers
 * (daemon/worker.c), supervisord's events (daemon/evsvc.c). Each owns its
 * state in a struct that the daemon holds, and the daemon (daemon/daemon.c)
 * drives them all through these few operations, in the order of its list:
 * start-up and reload are the same apply, shutdown one countdown over them.
 */
#ifndef TEND_SERVICE_H
#define TEND_SERVICE_H

#include <stdint.h>

#include "daemon/ctl_server.h"
#include "tend/config.h"
#include "tend/ctl.h"

/* A service's commands are bits of a uint32_t. */
_Static_assert(CTL_NCMDS <= 32, "more control commands than bits in service_ops.cmds");

/* What a service calls once it has stopped. */
typedef struct {
  void (*fn)(void *arg);
  void *arg;
} service_done_t;

typedef struct service_ops {
  const char *name;
  /* The control commands it answers: CTL_BIT(CTL_CMD_*) of each. */
  uint32_t cmds;
  /* Make cfg the configuration in force: create what it adds, change or
   * stop what it changes or removes. What cannot be set up is logged with
   * its context and left out; the rest goes on. cfg lives until the next
   * apply: the supervisor, applied last, keeps it (the others copy what
   * they keep). */
  void (*apply)(void *self, tend_config_t *cfg);
  /* Answer req on c, now or later (req and its strings are valid during
   * the call only). NULL when cmds is 0. */
  void (*request)(void *self, const tend_ctl_req_t *req, ctl_conn_t *c);
  /* c is going away: drop every reference to it (NULL: it keeps none). */
  void (*conn_gone)(void *self, ctl_conn_t *c);
  /* Stop all activity; done once stopped (perhaps before it returns). */
  void (*shutdown)(void *self, service_done_t done);
  /* Every service has stopped: answer what still waits, free the rest
   * (handles through their close callbacks). NULL: nothing is left. */
  void (*close)(void *self);
} service_ops_t;

typedef struct {
  const service_ops_t *ops;
  void *self;
} service_t;

#endif
