/* SPDX-License-Identifier: MIT */
/*
 * supervisord's event types (supervisor/events.py, EventTypes): their
 * names and the tree of abstract parents a listener may subscribe to
 * (PROCESS_STATE takes every PROCESS_STATE_*, EVENT takes all). Plain
 * data: the config checks `events =` with it, the daemon's bus
 * (daemon/events.c) dispatches with it.
 */
#ifndef TEND_EVTYPE_H
#define TEND_EVTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
  EV_EVENT = 0, /* abstract: every type */
  EV_PROCESS_STATE,
  EV_PROCESS_STATE_STOPPED,
  EV_PROCESS_STATE_EXITED,
  EV_PROCESS_STATE_STARTING,
  EV_PROCESS_STATE_STOPPING,
  EV_PROCESS_STATE_BACKOFF,
  EV_PROCESS_STATE_FATAL,
  EV_PROCESS_STATE_RUNNING,
  EV_PROCESS_STATE_UNKNOWN,
  EV_PROCESS_COMMUNICATION,
  EV_PROCESS_COMMUNICATION_STDOUT,
  EV_PROCESS_COMMUNICATION_STDERR,
  EV_PROCESS_LOG,
  EV_PROCESS_LOG_STDOUT,
  EV_PROCESS_LOG_STDERR,
  EV_REMOTE_COMMUNICATION,
  EV_SUPERVISOR_STATE_CHANGE,
  EV_SUPERVISOR_STATE_CHANGE_RUNNING,
  EV_SUPERVISOR_STATE_CHANGE_STOPPING,
  EV_TICK,
  EV_TICK_5,
  EV_TICK_60,
  EV_TICK_3600,
  EV_PROCESS_GROUP,
  EV_PROCESS_GROUP_ADDED,
  EV_PROCESS_GROUP_REMOVED,
  EV_NTYPES
} evtype_t;

_Static_assert(EV_NTYPES <= 32, "event types are bits of a uint32_t");

/* A set of types as bits: EV_BIT(EV_TICK_5). */
#define EV_BIT(t) (UINT32_C(1) << (t))

/* The name supervisord gives t ("PROCESS_STATE_RUNNING"). */
const char *evtype_name(evtype_t t);

/* The type called name, case-insensitively as supervisord upper-cases
 * `events =`; -1 when there is none. */
int evtype_find(const char *name);

/* The concrete types t stands for: t itself and every type below it. */
uint32_t evtype_covers(evtype_t t);

/* Whether t is anc or one of anc's descendants. */
bool evtype_is(evtype_t t, evtype_t anc);

/* t's parent; EV_EVENT for EV_EVENT. */
evtype_t evtype_parent(evtype_t t);

#endif
