/* SPDX-License-Identifier: MIT */
/*
 * Queue channels: named, bounded FIFOs of messages (byte strings) inside
 * the daemon, multiprocessing.Queue's counterpart. Producers are `tend put`
 * requests and programs' stdout (stdout_channel); consumers are `tend get`
 * requests and programs' stdin (stdin_channel).
 *
 * Backpressure, not loss: a producer that finds the channel full waits
 * (the daemon stops reading that program's pipe, or holds the put
 * request) and is woken, in FIFO order, when a message leaves. A consumer
 * that finds it empty waits likewise. No message is dropped or duplicated:
 * a message leaves the channel only into the hands of a consumer that
 * takes ownership of it.
 *
 * Pure data structure: no I/O, no loop. Waiters are callbacks; a waiter
 * is called at most once per registration and is unlinked before the call.
 * ready() runs inside channel_put/channel_get: it must not put or get
 * itself (a producer and a consumer waking each other would recurse
 * without bound), only schedule the work for a later loop turn.
 */
#ifndef TEND_CHANNEL_H
#define TEND_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

typedef struct chan_msg {
  size_t len;
  char data[]; /* not NUL-terminated */
} chan_msg_t;

typedef struct chan_waiter chan_waiter_t;
TAILQ_HEAD(chan_waiters, chan_waiter);
struct chan_waiter {
  void (*ready)(chan_waiter_t *w); /* room (for a producer) or a message */
  void *data;
  TAILQ_ENTRY(chan_waiter) link;
  struct chan_waiters *on; /* the channel's list it waits on, or NULL */
  /* chanset waiters: what runs on a later loop turn */
  struct chanset *set;
  void (*fn)(void *data);
  bool deferred; /* on set's list of waiters to run (through fired_link:
                    it may be on a channel's list again meanwhile) */
  TAILQ_ENTRY(chan_waiter) fired_link;
};

typedef struct {
  char *name;
  size_t capacity; /* messages */
  chan_msg_t **ring;
  size_t slots;    /* capacity + CHAN_UNGET_SLACK: room for messages a
                      consumer gives back after a producer filled up */
  size_t head, count;
  uint64_t puts, gets; /* totals, for status */
  struct chan_waiters producers, consumers; /* FIFO lists of waiters */
} channel_t;

int channel_init(channel_t *c, const char *name, size_t capacity);
/* Frees the messages still queued; waiters must be gone. */
void channel_free(channel_t *c);

/* Append a copy of data. 0, -EAGAIN when full (wait with
 * channel_wait_room), -ENOMEM. Wakes one waiting consumer. */
int channel_put(channel_t *c, const void *data, size_t len);

/* Take the oldest message (the caller frees it with free()), or NULL when
 * empty (wait with channel_wait_message). Wakes one waiting producer. */
chan_msg_t *channel_get(channel_t *c);

/* Put the message back at the head (a consumer that could not deliver
 * it): the order is kept. Never fails for up to CHAN_UNGET_SLACK messages
 * beyond capacity (a producer may have filled the channel meanwhile);
 * returns -ENOSPC past that (the caller still owns m). */
#define CHAN_UNGET_SLACK 128
int channel_unget(channel_t *c, chan_msg_t *m);

bool channel_full(const channel_t *c);

/* Register w to be called once when there is room / a message. */
void channel_wait_room(channel_t *c, chan_waiter_t *w);
void channel_wait_message(channel_t *c, chan_waiter_t *w);
/* Withdraw a registration from whichever channel holds it (safe if not
 * registered). */
void channel_unwait(chan_waiter_t *w);

/* ---- the daemon's channels, on its loop ---------------------------------- */

#include <uv.h>

#include "tend/config.h"

typedef struct chanset {
  uv_loop_t *loop;
  channel_t **chans; /* pointers: a channel never moves while it lives */
  size_t n;
  uv_idle_t idle;       /* runs the woken waiters, one loop turn later */
  struct chan_waiters fired; /* FIFO of woken waiters (through fired_link) */
} chanset_t;

void chanset_init(chanset_t *s, uv_loop_t *loop);
/* Create the channels of c that do not exist yet (existing ones keep their
 * messages; a changed capacity applies to new channels only). 0 or
 * -ENOMEM. */
int chanset_apply(chanset_t *s, const tend_config_t *c);
channel_t *chanset_find(chanset_t *s, const char *name);
/* Free every channel and close the idle handle (cb when closed). */
void chanset_close(chanset_t *s, void (*cb)(uv_handle_t *h));

/* A waiter whose wake-up runs fn(data) on a later loop turn. */
void chanset_waiter_init(chanset_t *s, chan_waiter_t *w, void (*fn)(void *data), void *data);
/* Withdraw w from channel c (may be NULL) and from the pending wake-ups:
 * call before freeing what w belongs to. */
void chanset_waiter_cancel(channel_t *c, chan_waiter_t *w);

#endif
