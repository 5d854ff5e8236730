/* SPDX-License-Identifier: MIT */
/* Bounded FIFO channels with waiting producers and consumers (see
 * channel.h). A ring of message pointers: put, get and unget are O(1). */
#include "channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int channel_init(channel_t *c, const char *name, size_t capacity) {
  memset(c, 0, sizeof(*c));
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

static void link_waiter(chan_waiter_t **list, chan_waiter_t *w) {
  if (w->linked)
    return;
  w->next = NULL;
  w->prev = NULL;
  if (*list == NULL) {
    *list = w;
  } else {
    chan_waiter_t *t = *list;
    while (t->next != NULL)
      t = t->next;
    t->next = w;
    w->prev = t;
  }
  w->linked = true;
}

static void unlink_waiter(chan_waiter_t **list, chan_waiter_t *w) {
  if (!w->linked)
    return;
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    *list = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  w->next = w->prev = NULL;
  w->linked = false;
}

/* Wake the first waiter of list, if any. */
static void wake(chan_waiter_t **list) {
  chan_waiter_t *w = *list;
  if (w == NULL)
    return;
  unlink_waiter(list, w);
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

void channel_unwait(channel_t *c, chan_waiter_t *w) {
  if (!w->linked)
    return;
  /* It is on exactly one of the two lists. */
  for (chan_waiter_t *t = c->producers; t != NULL; t = t->next) {
    if (t == w) {
      unlink_waiter(&c->producers, w);
      return;
    }
  }
  unlink_waiter(&c->consumers, w);
}

/* ---- chanset ------------------------------------------------------------ */

static void idle_cb(uv_idle_t *h) {
  chanset_t *s = h->data;
  /* Only as many as were woken before this turn: what these wake runs on
   * the next turn, so a producer and a consumer feeding each other never
   * recurse, nor starve the loop. Each is taken off the shared list before
   * it runs, so cancelling any waiter meanwhile stays correct. */
  size_t n = 0;
  for (chan_waiter_t *t = s->fired; t != NULL; t = t->fired_next)
    n++;
  while (n-- > 0 && s->fired != NULL) {
    chan_waiter_t *w = s->fired;
    s->fired = w->fired_next;
    if (s->fired == NULL)
      s->fired_tail = NULL;
    w->fired_next = NULL;
    w->deferred = false;
    w->fn(w->data);
  }
  if (s->fired == NULL)
    uv_idle_stop(&s->idle);
}

static void set_ready(chan_waiter_t *w) {
  chanset_t *s = w->set;
  if (w->deferred)
    return;
  w->deferred = true;
  w->fired_next = NULL;
  if (s->fired_tail != NULL)
    s->fired_tail->fired_next = w;
  else
    s->fired = w;
  s->fired_tail = w;
  uv_idle_start(&s->idle, idle_cb);
}

void chanset_init(chanset_t *s, uv_loop_t *loop) {
  memset(s, 0, sizeof(*s));
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
    channel_unwait(c, w);
  if (!w->deferred)
    return;
  chanset_t *s = w->set;
  chan_waiter_t *prev = NULL;
  for (chan_waiter_t *t = s->fired; t != NULL; prev = t, t = t->fired_next) {
    if (t != w)
      continue;
    if (prev != NULL)
      prev->fired_next = w->fired_next;
    else
      s->fired = w->fired_next;
    if (s->fired_tail == w)
      s->fired_tail = prev;
    break;
  }
  w->deferred = false;
  w->fired_next = NULL;
}
