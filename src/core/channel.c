/* SPDX-License-Identifier: MIT */
/* Bounded FIFO channels with waiting producers and consumers (see
 * core/channel.h). A ring of message pointers: put, get and unget are O(1). */
#include "core/channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int channel_init(channel_t *c, const char *name, size_t capacity) {
  memset(c, 0, sizeof(*c));
  TAILQ_INIT(&c->producers);
  TAILQ_INIT(&c->consumers);
  c->name = strdup(name);
  c->capacity = capacity > 0 ? capacity : 1;
  c->slots = c->capacity + CHAN_UNGET_SLACK;
  c->ring = calloc(c->slots, sizeof(*c->ring));
  if (c->name == NULL || c->ring == NULL) {
    free(c->name);
    free(c->ring);
    return -ENOMEM;
  }
  return 0;
}

void channel_free(channel_t *c) {
  for (size_t i = 0; i < c->count; i++)
    free(c->ring[(c->head + i) % c->slots]);
  free(c->ring);
  free(c->name);
  memset(c, 0, sizeof(*c));
}

bool channel_full(const channel_t *c) { return c->count >= c->capacity; }

static void link_waiter(struct chan_waiters *list, chan_waiter_t *w) {
  if (w->on != NULL)
    return;
  TAILQ_INSERT_TAIL(list, w, link);
  w->on = list;
}

void channel_unwait(chan_waiter_t *w) {
  if (w->on == NULL)
    return;
  TAILQ_REMOVE(w->on, w, link);
  w->on = NULL;
}

/* Wake the first waiter of list, if any. */
static void wake(struct chan_waiters *list) {
  chan_waiter_t *w = TAILQ_FIRST(list);
  if (w == NULL)
    return;
  channel_unwait(w);
  w->ready(w);
}

int channel_put(channel_t *c, const void *data, size_t len) {
  if (channel_full(c))
    return -EAGAIN;
  chan_msg_t *m = malloc(sizeof(*m) + len);
  if (m == NULL)
    return -ENOMEM;
  m->len = len;
  memcpy(m->data, data, len);
  c->ring[(c->head + c->count) % c->slots] = m;
  c->count++;
  c->puts++;
  wake(&c->consumers);
  if (!channel_full(c))
    wake(&c->producers); /* room left: let the next producer go on too */
  return 0;
}

chan_msg_t *channel_get(channel_t *c) {
  if (c->count == 0)
    return NULL;
  chan_msg_t *m = c->ring[c->head];
  c->ring[c->head] = NULL;
  c->head = (c->head + 1) % c->slots;
  c->count--;
  c->gets++;
  wake(&c->producers);
  if (c->count > 0)
    wake(&c->consumers); /* more left: the next consumer too */
  return m;
}

int channel_unget(channel_t *c, chan_msg_t *m) {
  if (c->count >= c->slots)
    return -ENOSPC;
  c->head = (c->head + c->slots - 1) % c->slots;
  c->ring[c->head] = m;
  c->count++;
  c->gets--;
  return 0;
}

void channel_wait_room(channel_t *c, chan_waiter_t *w) { link_waiter(&c->producers, w); }

void channel_wait_message(channel_t *c, chan_waiter_t *w) { link_waiter(&c->consumers, w); }

/* ---- chanset ------------------------------------------------------------ */

static void idle_cb(uv_idle_t *h) {
  chanset_t *s = h->data;
  /* Only as many as were woken before this turn: what these wake runs on
   * the next turn, so a producer and a consumer feeding each other never
   * recurse, nor starve the loop. Each is taken off the shared list before
   * it runs, so cancelling any waiter meanwhile stays correct. */
  size_t n = 0;
  chan_waiter_t *w;
  TAILQ_FOREACH(w, &s->fired, fired_link)
    n++;
  while (n-- > 0 && (w = TAILQ_FIRST(&s->fired)) != NULL) {
    TAILQ_REMOVE(&s->fired, w, fired_link);
    w->deferred = false;
    w->fn(w->data);
  }
  if (TAILQ_EMPTY(&s->fired))
    uv_idle_stop(&s->idle);
}

static void set_ready(chan_waiter_t *w) {
  chanset_t *s = w->set;
  if (w->deferred)
    return;
  w->deferred = true;
  TAILQ_INSERT_TAIL(&s->fired, w, fired_link);
  uv_idle_start(&s->idle, idle_cb);
}

void chanset_init(chanset_t *s, uv_loop_t *loop) {
  memset(s, 0, sizeof(*s));
  TAILQ_INIT(&s->fired);
  s->loop = loop;
  uv_idle_init(loop, &s->idle);
  s->idle.data = s;
}

int chanset_apply(chanset_t *s, const tend_config_t *c) {
  for (size_t i = 0; i < c->nchannels; i++) {
    if (chanset_find(s, c->channels[i].name) != NULL)
      continue;
    channel_t **grown = realloc(s->chans, (s->n + 1) * sizeof(*grown));
    if (grown == NULL)
      return -ENOMEM;
    s->chans = grown;
    channel_t *ch = malloc(sizeof(*ch));
    if (ch == NULL ||
        channel_init(ch, c->channels[i].name, (size_t)c->channels[i].capacity) != 0) {
      free(ch);
      return -ENOMEM;
    }
    s->chans[s->n++] = ch;
  }
  return 0;
}

channel_t *chanset_find(chanset_t *s, const char *name) {
  for (size_t i = 0; name != NULL && i < s->n; i++)
    if (strcmp(s->chans[i]->name, name) == 0)
      return s->chans[i];
  return NULL;
}

void chanset_close(chanset_t *s, void (*cb)(uv_handle_t *h)) {
  for (size_t i = 0; i < s->n; i++) {
    channel_free(s->chans[i]);
    free(s->chans[i]);
  }
  free(s->chans);
  s->chans = NULL;
  s->n = 0;
  uv_close((uv_handle_t *)&s->idle, cb);
}

void chanset_waiter_init(chanset_t *s, chan_waiter_t *w, void (*fn)(void *data), void *data) {
  memset(w, 0, sizeof(*w));
  w->set = s;
  w->fn = fn;
  w->data = data;
  w->ready = set_ready;
}

void chanset_waiter_cancel(channel_t *c, chan_waiter_t *w) {
  if (c != NULL)
    channel_unwait(w);
  if (!w->deferred)
    return;
  TAILQ_REMOVE(&w->set->fired, w, fired_link);
  w->deferred = false;
}
