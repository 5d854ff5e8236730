/* SPDX-License-Identifier: MIT */
/*
 * supervisord's event listener pools (process.py's EventListenerPool,
 * dispatchers.py's PEventListenerDispatcher): each [eventlistener:x] is a
 * pool x whose processes are ordinary supervised programs; the pool
 * subscribes to the bus (daemon/events.h), queues what it takes (at most
 * buffer_size: the oldest goes when full) and hands each event to one
 * READY listener at a time, on its stdin. A listener's stdout is the
 * protocol: READY, then RESULT N and N bytes (OK acknowledges, anything
 * else sends the event back to the head of the queue). The daemon's hooks
 * feed it the listeners' states and stdout.
 */
#ifndef TEND_LISTENER_H
#define TEND_LISTENER_H

#include <stddef.h>
#include <sys/queue.h>

#include "daemon/events.h"
#include "supervisor/supervisor.h"
#include "tend/config.h"

typedef struct lpool lpool_t;

typedef struct {
  evbus_t *bus;
  char *identifier; /* server: in each header ([supervisord] identifier) */
  TAILQ_HEAD(, lpool) pools;
} dlisten_t;

void dlisten_init(dlisten_t *l, evbus_t *bus);

/* The pools cfg's listeners make: new ones subscribe, those cfg no longer
 * has unsubscribe and drop their queue. 0 or -ENOMEM (logged; the pools
 * that could be made work). */
int dlisten_apply(dlisten_t *l, const tend_config_t *cfg);

/* p (a listener or not: others are ignored) went from one state to
 * another; its child's stdout gave data; it is about to be freed. */
void dlisten_state(dlisten_t *l, sv_proc_t *p, pstate_t from, pstate_t to);
void dlisten_output(dlisten_t *l, sv_proc_t *p, const char *data, size_t len);
void dlisten_forget(dlisten_t *l, sv_proc_t *p);

/* Free every pool (the daemon has stopped). */
void dlisten_free(dlisten_t *l);

#endif
