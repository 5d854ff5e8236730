/* SPDX-License-Identifier: MIT */
/*
 * supervisord's events as a service of the daemon (daemon/service.h): the
 * bus (daemon/events.h) fed by what the supervisor's hooks report
 * (PROCESS_STATE_*, PROCESS_LOG_*, PROCESS_COMMUNICATION_*), by the
 * configs applied (PROCESS_GROUP_ADDED/_REMOVED, SUPERVISOR_STATE_CHANGE_*)
 * and by XML-RPC (REMOTE_COMMUNICATION); the listener pools
 * (daemon/listener.h) and the `tend events` followers take from it.
 */
#ifndef TEND_EVSVC_H
#define TEND_EVSVC_H

#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "daemon/events.h"
#include "daemon/listener.h"
#include "daemon/service.h"
#include "daemon/sv.h"

/* How many past events `tend events` shows first. */
#define DEVENTS_RECENT 32

typedef struct devents {
  evbus_t bus;
  dlisten_t listen;
  LIST_HEAD(, follower) followers;
  LIST_HEAD(, evcap) caps; /* processes in PROCESS_COMMUNICATION capture */
  evsub_t recorder;        /* keeps the last events for `tend events` */
  evt_t *recent[DEVENTS_RECENT];
  unsigned nrecent, recent_head;
  char **groups; /* the groups of the config in force, for _ADDED/_REMOVED */
  bool started;  /* SUPERVISOR_STATE_CHANGE_RUNNING was sent */
} devents_t;

void devents_init(devents_t *e, uv_loop_t *loop);

/* What the supervisor's service (daemon/sv.h) reports, as its watch. */
extern const dsv_watch_t devents_watch;

/* supervisord's sendRemoteCommEvent(type, data): a REMOTE_COMMUNICATION. */
void devents_remote(devents_t *e, const char *type, const char *data);

extern const service_ops_t devents_ops;

#endif
