/* SPDX-License-Identifier: MIT */
/*
 * supervisord's event bus (supervisor/events.py's notify and subscribe):
 * an event is a type of core/evtype.h and a text payload; each subscriber
 * takes the types of its set, in the order they subscribed. The listener
 * pools (daemon/listener.c) and `tend events` (daemon/evsvc.c) subscribe;
 * the daemon's hooks emit. TICK_5, _60 and _3600 come from one timer,
 * armed only while some subscriber takes one of them: an idle daemon
 * never wakes up for ticks.
 */
#ifndef TEND_EVENTS_H
#define TEND_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "core/evtype.h"

/* One event, shared by whoever holds a reference. */
typedef struct evt {
  int refs;
  evtype_t type;
  bool has_serial;
  uint64_t serial; /* supervisord's global serial, given by evbus_serial */
  size_t len;      /* payload bytes */
  size_t chars;    /* payload characters (UTF-8): the `len:` of the header */
  char payload[];  /* NUL-terminated */
} evt_t;

typedef struct evsub evsub_t;
struct evsub {
  uint32_t types; /* EV_BIT of each concrete type it takes */
  bool passive;   /* it keeps no tick running (a recorder of past events) */
  void (*fn)(evsub_t *s, evt_t *ev); /* take a reference to keep ev */
  TAILQ_ENTRY(evsub) link;
};

typedef struct {
  uv_loop_t *loop;
  TAILQ_HEAD(, evsub) subs; /* in the order they subscribed */
  uint64_t next_serial;
  uv_timer_t tick;
  int64_t last_tick[3]; /* the slice (s since the epoch) of each period */
  bool closed;
} evbus_t;

void evbus_init(evbus_t *b, uv_loop_t *loop);

/* s takes its types from now on; evbus_resubscribe after changing them. */
void evbus_subscribe(evbus_t *b, evsub_t *s);
void evbus_unsubscribe(evbus_t *b, evsub_t *s);
void evbus_resubscribe(evbus_t *b);

/* Whether a subscriber takes type t (an event nobody takes is not built). */
bool evbus_wanted(const evbus_t *b, evtype_t t);

/* Emit an event of type t (concrete) with that payload to every subscriber
 * of t. -ENOMEM when it could not be made (logged). */
int evbus_emit(evbus_t *b, evtype_t t, const char *payload, size_t len);
int evbus_emitf(evbus_t *b, evtype_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ev's global serial, given on first use (supervisord numbers the events
 * that some pool takes, from 0). */
uint64_t evbus_serial(evbus_t *b, evt_t *ev);

evt_t *evt_ref(evt_t *ev);
void evt_unref(evt_t *ev);

/* Close the tick timer (the bus is inside its owner: free that once the
 * loop has run the close). */
void evbus_close(evbus_t *b);

#endif
