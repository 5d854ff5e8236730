/* SPDX-License-Identifier: MIT */
/*
 * Event listener pools and the listener protocol, as supervisord 4 runs
 * them. A listener's protocol state is one of supervisord's four and
 * changes in lp_enter alone, logged; what a state does with the bytes the
 * listener writes is one function per state (the table `consume`):
 *
 *   ACKNOWLEDGED  "READY\n"            READY; anything else: UNKNOWN
 *   READY         any byte             UNKNOWN (it must wait for an event)
 *   BUSY          "RESULT N\n" + N     OK: ACKNOWLEDGED; else ACKNOWLEDGED and
 *                                      the event back at the head of the queue;
 *                                      a bad RESULT line: UNKNOWN, event back
 *   UNKNOWN       anything             dropped, until the listener restarts
 *
 * A listener starts ACKNOWLEDGED; the pool writes an event to a listener
 * only while it is READY and its process RUNNING. One whose child ends
 * while BUSY gives its event back to the head of its pool's queue.
 */
#include "daemon/listener.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { LS_ACKNOWLEDGED, LS_READY, LS_BUSY, LS_UNKNOWN, LS_N } lstate_t;

/* supervisord keeps whatever a listener writes until it makes sense of
 * it; a RESULT line longer than this, or a result longer than that, is a
 * bad result here, so that a listener cannot grow the daemon's memory. */
#define RESULT_LINE_MAX 1024
#define RESULT_MAX (1L << 20)

static const char *const lstate_names[LS_N] = {"ACKNOWLEDGED", "READY", "BUSY", "UNKNOWN"};

/* An event in a pool's queue, with its serial in that pool. */
typedef struct qent {
  evt_t *ev;
  uint64_t poolserial;
  TAILQ_ENTRY(qent) link;
} qent_t;

typedef struct lproc {
  sv_proc_t *p;
  lpool_t *pool;
  lstate_t st;
  tend_buf_t in;     /* protocol bytes not consumed yet */
  long resultlen;    /* BUSY: of the RESULT line read, -1 before it */
  tend_buf_t result; /* BUSY: the result's bytes so far */
  qent_t *event;     /* BUSY: the event it was sent */
  TAILQ_ENTRY(lproc) link;
} lproc_t;

struct lpool {
  dlisten_t *owner;
  char *name;
  evsub_t sub;
  int buffer_size;
  int queued;
  uint64_t next_serial;
  TAILQ_HEAD(, qent) queue; /* oldest first */
  TAILQ_HEAD(, lproc) procs; /* in the order they were first seen */
  bool seen;                 /* named by the config being applied */
  TAILQ_ENTRY(lpool) link;
};

static lpool_t *pool_of(evsub_t *s) {
  return (lpool_t *)(void *)((char *)s - offsetof(lpool_t, sub));
}

void dlisten_init(dlisten_t *l, evbus_t *bus) {
  memset(l, 0, sizeof(*l));
  l->bus = bus;
  TAILQ_INIT(&l->pools);
}

/* ---- the queue ------------------------------------------------------------- */

/* _acceptEvent: at the tail, or back at the head (head: a rejected event
 * keeps its serials); full, the oldest goes first, with a line. */
static void pool_accept(lpool_t *pl, qent_t *q, bool head) {
  if (pl->queued >= pl->buffer_size) {
    qent_t *old = TAILQ_FIRST(&pl->queue);
    TAILQ_REMOVE(&pl->queue, old, link);
    pl->queued--;
    LOG("error", "event-overflow", F_STR("pool", pl->name),
        F_INT("serial", (long long)old->ev->serial), F_INT("buffer_size", pl->buffer_size),
        F_STR("action", "discarded the oldest event"));
    evt_unref(old->ev);
    free(old);
  }
  if (head)
    TAILQ_INSERT_HEAD(&pl->queue, q, link);
  else
    TAILQ_INSERT_TAIL(&pl->queue, q, link);
  pl->queued++;
}

static void pool_dispatch(lpool_t *pl);

/* What the bus gives a pool. */
static void pool_event_cb(evsub_t *s, evt_t *ev) {
  lpool_t *pl = pool_of(s);
  qent_t *q = malloc(sizeof(*q));
  if (q == NULL) {
    LOG("error", "event", F_STR("pool", pl->name), F_STR("error", strerror(ENOMEM)),
        F_STR("action", "dropped"));
    return;
  }
  evbus_serial(pl->owner->bus, ev);
  q->ev = evt_ref(ev);
  q->poolserial = pl->next_serial++;
  pool_accept(pl, q, false);
  pool_dispatch(pl);
}

/* ---- the protocol ---------------------------------------------------------- */

static void lp_enter(lproc_t *lp, lstate_t to, const char *why) {
  if (lp->st == to)
    return;
  LOG(to == LS_UNKNOWN ? "warn" : "debug", "listener", F_STR("program", lp->p->name),
      F_STR("from", lstate_names[lp->st]), F_STR("to", lstate_names[to]), F_STR("reason", why));
  lp->st = to;
}

/* The event lp holds goes back to the head of its pool (supervisord's
 * EventRejectedEvent). */
static void lp_give_back(lproc_t *lp) {
  qent_t *q = lp->event;
  lp->event = NULL;
  if (q != NULL)
    pool_accept(lp->pool, q, true);
}

/* Each returns how many of the n bytes at s it used; 0: it needs more. */
typedef size_t (*consume_fn)(lproc_t *lp, const char *s, size_t n);

static size_t consume_acknowledged(lproc_t *lp, const char *s, size_t n) {
  static const char token[] = "READY\n";
  if (n < sizeof(token) - 1)
    return 0;
  if (memcmp(s, token, sizeof(token) - 1) != 0) {
    lp_enter(lp, LS_UNKNOWN, "wrote something else than READY");
    return n;
  }
  lp_enter(lp, LS_READY, "READY");
  return sizeof(token) - 1;
}

static size_t consume_ready(lproc_t *lp, const char *s, size_t n) {
  (void)s;
  lp_enter(lp, LS_UNKNOWN, "wrote while READY, before any event");
  return n;
}

/* supervisord reads the length after the 7 bytes of "RESULT " as
 * Python's int() does: digits, maybe spaces around. */
static long result_len(const char *line, size_t n) {
  if (n < 7)
    return -1;
  const char *p = line + 7, *end = line + n;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
    p++;
  long v = 0;
  const char *digits = p;
  while (p < end && *p >= '0' && *p <= '9' && v < 100000000)
    v = v * 10 + (*p++ - '0');
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
    p++;
  return p == end && p > digits && digits < end && *digits >= '0' && *digits <= '9' ? v : -1;
}

/* supervisord's default_handler: "OK" acknowledges, anything else
 * rejects (the event goes back). */
static void lp_result(lproc_t *lp) {
  bool ok = lp->result.len == 2 && memcmp(lp->result.data, "OK", 2) == 0;
  if (ok) {
    evt_unref(lp->event->ev);
    free(lp->event);
    lp->event = NULL;
  } else {
    LOG("warn", "listener", F_STR("program", lp->p->name), F_STR("event", "rejected"),
        F_INT("serial", (long long)lp->event->ev->serial));
    lp_give_back(lp);
  }
  lp->result.len = 0;
  lp->resultlen = -1;
  lp_enter(lp, LS_ACKNOWLEDGED, ok ? "RESULT OK" : "RESULT (rejected)");
}

static size_t consume_busy(lproc_t *lp, const char *s, size_t n) {
  if (lp->resultlen < 0) {
    const char *nl = memchr(s, '\n', n);
    if (nl == NULL && n <= RESULT_LINE_MAX)
      return 0;
    size_t linelen = nl != NULL ? (size_t)(nl - s) : n;
    lp->resultlen = nl != NULL ? result_len(s, linelen) : -1;
    if (lp->resultlen < 0 || lp->resultlen > RESULT_MAX) {
      lp->resultlen = -1;
      char shown[81];
      snprintf(shown, sizeof(shown), "%.*s", (int)(linelen < 80 ? linelen : 80), s);
      LOG("warn", "listener", F_STR("program", lp->p->name), F_STR("event", "bad result line"),
          F_STR("line", shown));
      lp_give_back(lp);
      lp_enter(lp, LS_UNKNOWN, "bad RESULT line");
      return n;
    }
    if (lp->resultlen == 0)
      lp_result(lp);
    return linelen + 1;
  }
  size_t need = (size_t)lp->resultlen - lp->result.len;
  size_t take = n < need ? n : need;
  if (tend_buf_append(&lp->result, s, take) != 0) {
    lp_give_back(lp);
    lp_enter(lp, LS_UNKNOWN, "out of memory");
    return n;
  }
  if (lp->result.len == (size_t)lp->resultlen)
    lp_result(lp);
  return take;
}

static size_t consume_unknown(lproc_t *lp, const char *s, size_t n) {
  (void)lp;
  (void)s;
  return n;
}

static const consume_fn consume[LS_N] = {
    [LS_ACKNOWLEDGED] = consume_acknowledged,
    [LS_READY] = consume_ready,
    [LS_BUSY] = consume_busy,
    [LS_UNKNOWN] = consume_unknown,
};

/* ---- the pool's listeners -------------------------------------------------- */

static lpool_t *pool_find(dlisten_t *l, const char *name) {
  lpool_t *pl;
  TAILQ_FOREACH(pl, &l->pools, link)
    if (strcmp(pl->name, name) == 0)
      return pl;
  return NULL;
}

static lproc_t *lp_find(dlisten_t *l, const sv_proc_t *p, bool create) {
  lpool_t *pl = pool_find(l, p->conf->group);
  if (pl == NULL)
    return NULL;
  lproc_t *lp;
  TAILQ_FOREACH(lp, &pl->procs, link)
    if (lp->p == p)
      return lp;
  if (!create || (lp = calloc(1, sizeof(*lp))) == NULL)
    return NULL;
  lp->p = (sv_proc_t *)p;
  lp->pool = pl;
  lp->resultlen = -1;
  TAILQ_INSERT_TAIL(&pl->procs, lp, link);
  return lp;
}

/* A new child, or none: what the last one left is void; its event (if it
 * was BUSY) goes back to the pool. */
static void lp_reset(lproc_t *lp, const char *why) {
  lp_give_back(lp);
  lp->in.len = 0;
  lp->result.len = 0;
  lp->resultlen = -1;
  lp_enter(lp, LS_ACKNOWLEDGED, why);
}

static void lp_free(lproc_t *lp) {
  TAILQ_REMOVE(&lp->pool->procs, lp, link);
  lp_give_back(lp);
  tend_buf_free(&lp->in);
  tend_buf_free(&lp->result);
  free(lp);
}

static int envelope(lpool_t *pl, const qent_t *q, char **out) {
  const evt_t *ev = q->ev;
  return asprintf(out,
                  "ver:3.0 server:%s serial:%llu pool:%s poolserial:%llu eventname:%s "
                  "len:%zu\n%s",
                  pl->owner->identifier, (unsigned long long)ev->serial, pl->name,
                  (unsigned long long)q->poolserial, evtype_name(ev->type), ev->chars,
                  ev->payload);
}

/* dispatch and _dispatchEvent: the oldest event to the first READY
 * listener whose process is RUNNING, while there are both. */
static void pool_dispatch(lpool_t *pl) {
  while (!TAILQ_EMPTY(&pl->queue)) {
    lproc_t *lp;
    TAILQ_FOREACH(lp, &pl->procs, link)
      if (lp->st == LS_READY && lp->p->state == PS_RUNNING)
        break;
    if (lp == NULL)
      return;
    qent_t *q = TAILQ_FIRST(&pl->queue);
    char *text;
    int n = envelope(pl, q, &text);
    if (n < 0) {
      LOG("error", "event", F_STR("pool", pl->name), F_STR("error", strerror(ENOMEM)));
      return; /* it stays queued: the next event or READY tries again */
    }
    const char *why = NULL;
    int r = sv_send(lp->p, text, (size_t)n, false, &why);
    free(text);
    if (r != 0) {
      /* supervisord leaves the listener as it is on EPIPE: its exit comes
       * next and resets it. */
      LOG("warn", "listener", F_STR("program", lp->p->name), F_STR("event", "not sent"),
          F_STR("error", why));
      return;
    }
    TAILQ_REMOVE(&pl->queue, q, link);
    pl->queued--;
    lp->event = q;
    lp_enter(lp, LS_BUSY, "event sent");
  }
}

void dlisten_state(dlisten_t *l, sv_proc_t *p, pstate_t from, pstate_t to) {
  (void)from;
  if (!p->conf->listener)
    return;
  lproc_t *lp = lp_find(l, p, true);
  if (lp == NULL)
    return;
  /* A child starts in ACKNOWLEDGED (a dispatcher of its own); one that
   * is gone gives back its event. */
  if (to == PS_STARTING)
    lp_reset(lp, "started");
  else if (to != PS_RUNNING && to != PS_STOPPING)
    lp_reset(lp, "ended");
  pool_dispatch(lp->pool);
}

void dlisten_output(dlisten_t *l, sv_proc_t *p, const char *data, size_t len) {
  if (!p->conf->listener)
    return;
  lproc_t *lp = lp_find(l, p, true);
  if (lp == NULL)
    return;
  if (lp->st == LS_UNKNOWN)
    return; /* dropped as it comes */
  if (tend_buf_append(&lp->in, data, len) != 0) {
    lp_give_back(lp);
    lp_enter(lp, LS_UNKNOWN, "out of memory");
    return;
  }
  size_t off = 0;
  while (off < lp->in.len) {
    size_t used = consume[lp->st](lp, lp->in.data + off, lp->in.len - off);
    if (used == 0)
      break;
    off += used;
  }
  memmove(lp->in.data, lp->in.data + off, lp->in.len - off);
  lp->in.len -= off;
  pool_dispatch(lp->pool);
}

void dlisten_forget(dlisten_t *l, sv_proc_t *p) {
  if (!p->conf->listener)
    return;
  lproc_t *lp = lp_find(l, p, false);
  if (lp == NULL)
    return;
  lpool_t *pl = lp->pool;
  lp_free(lp); /* its event, if any, back to the pool: another may take it */
  pool_dispatch(pl);
}

/* ---- the pools ----------------------------------------------------------------- */

static void pool_free(dlisten_t *l, lpool_t *pl) {
  evbus_unsubscribe(l->bus, &pl->sub);
  TAILQ_REMOVE(&l->pools, pl, link);
  lproc_t *lp;
  while ((lp = TAILQ_FIRST(&pl->procs)) != NULL)
    lp_free(lp);
  qent_t *q;
  while ((q = TAILQ_FIRST(&pl->queue)) != NULL) {
    TAILQ_REMOVE(&pl->queue, q, link);
    evt_unref(q->ev);
    free(q);
  }
  free(pl->name);
  free(pl);
}

int dlisten_apply(dlisten_t *l, const tend_config_t *cfg) {
  char *id = strdup(cfg->identifier != NULL ? cfg->identifier : "supervisor");
  if (id == NULL)
    goto nomem;
  free(l->identifier);
  l->identifier = id;
  lpool_t *pl, *next;
  TAILQ_FOREACH(pl, &l->pools, link)
    pl->seen = false;
  for (size_t i = 0; i < cfg->nprograms; i++) {
    const tend_program_t *c = &cfg->programs[i];
    if (!c->listener)
      continue;
    pl = pool_find(l, c->group);
    if (pl == NULL) {
      if ((pl = calloc(1, sizeof(*pl))) == NULL || (pl->name = strdup(c->group)) == NULL) {
        free(pl);
        goto nomem;
      }
      pl->owner = l;
      pl->sub.fn = pool_event_cb;
      TAILQ_INIT(&pl->queue);
      TAILQ_INIT(&pl->procs);
      TAILQ_INSERT_TAIL(&l->pools, pl, link);
      pl->sub.types = c->events;
      evbus_subscribe(l->bus, &pl->sub);
    }
    pl->seen = true;
    pl->sub.types = c->events;
    pl->buffer_size = c->buffer_size;
  }
  for (pl = TAILQ_FIRST(&l->pools); pl != NULL; pl = next) {
    next = TAILQ_NEXT(pl, link);
    if (!pl->seen)
      pool_free(l, pl);
  }
  evbus_resubscribe(l->bus);
  return 0;

nomem:
  LOG("error", "listener", F_STR("error", strerror(ENOMEM)),
      F_STR("action", "some pools left out"));
  return -ENOMEM;
}

void dlisten_free(dlisten_t *l) {
  lpool_t *pl;
  while ((pl = TAILQ_FIRST(&l->pools)) != NULL)
    pool_free(l, pl);
  free(l->identifier);
  l->identifier = NULL;
}
