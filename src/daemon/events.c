/* SPDX-License-Identifier: MIT */
/*
 * The event bus: subscribers in order, the global serial, and the ticks.
 * supervisord's tick() compares the time slice of each period (the time
 * rounded down to a multiple of it) with the last one and notifies a TICK
 * when it changed, `when:` the new slice; here one timer wakes at the
 * next boundary of the shortest period subscribed, and nothing when none
 * is.
 */
#include "daemon/events.h"
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
  evtype_t type;
  int64_t period; /* s */
} ticks[3] = {{EV_TICK_5, 5}, {EV_TICK_60, 60}, {EV_TICK_3600, 3600}};

void evbus_init(evbus_t *b, uv_loop_t *loop) {
  memset(b, 0, sizeof(*b));
  b->loop = loop;
  TAILQ_INIT(&b->subs);
  uv_timer_init(loop, &b->tick);
  b->tick.data = b;
}

static uint32_t active_types(const evbus_t *b) {
  uint32_t set = 0;
  const evsub_t *s;
  TAILQ_FOREACH(s, &b->subs, link)
    if (!s->passive)
      set |= s->types;
  return set;
}

bool evbus_wanted(const evbus_t *b, evtype_t t) {
  const evsub_t *s;
  TAILQ_FOREACH(s, &b->subs, link)
    if (s->types & EV_BIT(t))
      return true;
  return false;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tick_cb(uv_timer_t *t);

/* Arm the timer for the next boundary of a subscribed period, or stop it. */
static void tick_arm(evbus_t *b) {
  if (b->closed)
    return;
  uint32_t want = active_types(b);
  int64_t now = now_ms(), next = -1;
  for (int i = 0; i < 3; i++) {
    if (!(want & EV_BIT(ticks[i].type))) {
      b->last_tick[i] = 0; /* a new subscriber starts from the current slice */
      continue;
    }
    int64_t p = ticks[i].period * 1000;
    if (b->last_tick[i] == 0)
      b->last_tick[i] = now / p * p / 1000;
    int64_t at = (b->last_tick[i] * 1000 + p) - now;
    if (next < 0 || at < next)
      next = at;
  }
  if (next < 0) {
    uv_timer_stop(&b->tick);
    return;
  }
  /* The loop's clock and the wall clock drift apart: a timer that fires
   * early finds the same slice and sleeps the rest. */
  uv_timer_start(&b->tick, tick_cb, (uint64_t)(next > 0 ? next : 0) + 1, 0);
}

static void tick_cb(uv_timer_t *t) {
  evbus_t *b = t->data;
  uint32_t want = active_types(b);
  int64_t now = now_ms() / 1000;
  for (int i = 0; i < 3; i++) {
    int64_t slice = now - now % ticks[i].period;
    if (!(want & EV_BIT(ticks[i].type)) || slice == b->last_tick[i])
      continue;
    b->last_tick[i] = slice;
    evbus_emitf(b, ticks[i].type, "when:%lld", (long long)slice);
  }
  tick_arm(b);
}

void evbus_subscribe(evbus_t *b, evsub_t *s) {
  TAILQ_INSERT_TAIL(&b->subs, s, link);
  tick_arm(b);
}

void evbus_unsubscribe(evbus_t *b, evsub_t *s) {
  TAILQ_REMOVE(&b->subs, s, link);
  tick_arm(b);
}

void evbus_resubscribe(evbus_t *b) { tick_arm(b); }

/* Characters of UTF-8 text: the bytes that do not continue one. */
static size_t utf8_chars(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

int evbus_emit(evbus_t *b, evtype_t t, const char *payload, size_t len) {
  if (!evbus_wanted(b, t))
    return 0;
  evt_t *ev = malloc(sizeof(*ev) + len + 1);
  if (ev == NULL) {
    LOG("error", "event", F_STR("type", evtype_name(t)), F_STR("error", strerror(ENOMEM)),
        F_STR("action", "dropped"));
    return -ENOMEM;
  }
  *ev = (evt_t){.refs = 1, .type = t, .len = len, .chars = utf8_chars(payload, len)};
  memcpy(ev->payload, payload, len);
  ev->payload[len] = '\0';
  /* A subscriber's fn may unsubscribe itself (a follower whose client is
   * gone), never another one. */
  for (evsub_t *s = TAILQ_FIRST(&b->subs), *next; s != NULL; s = next) {
    next = TAILQ_NEXT(s, link);
    if (s->types & EV_BIT(t))
      s->fn(s, ev);
  }
  evt_unref(ev);
  return 0;
}

int evbus_emitf(evbus_t *b, evtype_t t, const char *fmt, ...) {
  if (!evbus_wanted(b, t))
    return 0;
  char *text;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0) {
    LOG("error", "event", F_STR("type", evtype_name(t)), F_STR("error", strerror(ENOMEM)),
        F_STR("action", "dropped"));
    return -ENOMEM;
  }
  int r = evbus_emit(b, t, text, (size_t)n);
  free(text);
  return r;
}

uint64_t evbus_serial(evbus_t *b, evt_t *ev) {
  if (!ev->has_serial) {
    ev->serial = b->next_serial++;
    ev->has_serial = true;
  }
  return ev->serial;
}

evt_t *evt_ref(evt_t *ev) {
  ev->refs++;
  return ev;
}

void evt_unref(evt_t *ev) {
  if (ev != NULL && --ev->refs == 0)
    free(ev);
}

static void tick_closed_cb(uv_handle_t *h) { (void)h; /* inside the bus's owner */ }

void evbus_close(evbus_t *b) {
  b->closed = true;
  uv_close((uv_handle_t *)&b->tick, tick_closed_cb);
}
