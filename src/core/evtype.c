/* SPDX-License-Identifier: MIT */
/*
 * supervisord's event types as a table: each one's name and parent, in
 * the order of supervisor/events.py's EventTypes.
 */
#include "core/evtype.h"

#include <stddef.h>
#include <strings.h>

static const struct {
  const char *name;
  evtype_t parent;
} types[EV_NTYPES] = {
    [EV_EVENT] = {"EVENT", EV_EVENT},
    [EV_PROCESS_STATE] = {"PROCESS_STATE", EV_EVENT},
    [EV_PROCESS_STATE_STOPPED] = {"PROCESS_STATE_STOPPED", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_EXITED] = {"PROCESS_STATE_EXITED", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_STARTING] = {"PROCESS_STATE_STARTING", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_STOPPING] = {"PROCESS_STATE_STOPPING", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_BACKOFF] = {"PROCESS_STATE_BACKOFF", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_FATAL] = {"PROCESS_STATE_FATAL", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_RUNNING] = {"PROCESS_STATE_RUNNING", EV_PROCESS_STATE},
    [EV_PROCESS_STATE_UNKNOWN] = {"PROCESS_STATE_UNKNOWN", EV_PROCESS_STATE},
    [EV_PROCESS_COMMUNICATION] = {"PROCESS_COMMUNICATION", EV_EVENT},
    [EV_PROCESS_COMMUNICATION_STDOUT] = {"PROCESS_COMMUNICATION_STDOUT",
                                         EV_PROCESS_COMMUNICATION},
    [EV_PROCESS_COMMUNICATION_STDERR] = {"PROCESS_COMMUNICATION_STDERR",
                                         EV_PROCESS_COMMUNICATION},
    [EV_PROCESS_LOG] = {"PROCESS_LOG", EV_EVENT},
    [EV_PROCESS_LOG_STDOUT] = {"PROCESS_LOG_STDOUT", EV_PROCESS_LOG},
    [EV_PROCESS_LOG_STDERR] = {"PROCESS_LOG_STDERR", EV_PROCESS_LOG},
    [EV_REMOTE_COMMUNICATION] = {"REMOTE_COMMUNICATION", EV_EVENT},
    [EV_SUPERVISOR_STATE_CHANGE] = {"SUPERVISOR_STATE_CHANGE", EV_EVENT},
    [EV_SUPERVISOR_STATE_CHANGE_RUNNING] = {"SUPERVISOR_STATE_CHANGE_RUNNING",
                                            EV_SUPERVISOR_STATE_CHANGE},
    [EV_SUPERVISOR_STATE_CHANGE_STOPPING] = {"SUPERVISOR_STATE_CHANGE_STOPPING",
                                             EV_SUPERVISOR_STATE_CHANGE},
    [EV_TICK] = {"TICK", EV_EVENT},
    [EV_TICK_5] = {"TICK_5", EV_TICK},
    [EV_TICK_60] = {"TICK_60", EV_TICK},
    [EV_TICK_3600] = {"TICK_3600", EV_TICK},
    [EV_PROCESS_GROUP] = {"PROCESS_GROUP", EV_EVENT},
    [EV_PROCESS_GROUP_ADDED] = {"PROCESS_GROUP_ADDED", EV_PROCESS_GROUP},
    [EV_PROCESS_GROUP_REMOVED] = {"PROCESS_GROUP_REMOVED", EV_PROCESS_GROUP},
};

const char *evtype_name(evtype_t t) { return types[t].name; }

evtype_t evtype_parent(evtype_t t) { return types[t].parent; }

int evtype_find(const char *name) {
  for (int t = 0; t < EV_NTYPES; t++)
    if (strcasecmp(types[t].name, name) == 0)
      return t;
  return -1;
}

bool evtype_is(evtype_t t, evtype_t anc) {
  for (;;) {
    if (t == anc)
      return true;
    if (t == EV_EVENT)
      return false;
    t = types[t].parent;
  }
}

uint32_t evtype_covers(evtype_t t) {
  uint32_t set = 0;
  for (int k = 0; k < EV_NTYPES; k++)
    if (evtype_is((evtype_t)k, t))
      set |= EV_BIT(k);
  return set;
}
