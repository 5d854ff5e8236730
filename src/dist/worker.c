/* SPDX-License-Identifier: MIT */
/*
 * dist_worker: a Redis Streams consumer that runs tasks in a tend_sched
 * pool, on the caller's loop (see tend/dist.h for the contract).
 *
 * Two connections: `rd` only ever holds one XREADGROUP ... BLOCK (a blocked
 * command occupies its connection), `wr` carries everything else: XGROUP
 * CREATE, XAUTOCLAIM and XPENDING, the heartbeat XCLAIMs, results, XACKs,
 * dead letters and hand-backs. The two live and die together (the "link"):
 * when one drops, the other is dropped too, and both reconnect with
 * backoff (0.1 s doubling to 5 s). Every (re)connect creates the group
 * again if it is missing (a Redis restarted without persistence has
 * none), then heartbeats the tasks still held, resumes the results that
 * could not be written, claims and reads.
 *
 * A task (struct dtask) goes through three phases:
 *   CHECK   taken over with XAUTOCLAIM: XPENDING gives its delivery count
 *           (the attempt) before it may run;
 *   SCHED   in the pool, queued or running; its output is kept up to the
 *           cap as it comes (TEND_OUT_STREAM), the rest only counted;
 *   FINISH  a short sequence of commands on `wr`, each sent when the one
 *           before it succeeded: result then XACK; or dead letter, dead
 *           result, XACK; or one XCLAIM that hands it back. A lost link
 *           pauses the sequence and the next link resumes it (a result may
 *           then be written twice: at-least-once).
 * Capacity is `jobs` + `prefetch` minus the tasks in CHECK and SCHED;
 * reads and claims ask for no more than that. The prefetched tasks wait in
 * the pool's queue, so a slot that frees starts the next task at once
 * instead of after a round trip to Redis.
 *
 * Stopping: no more reads (CLIENT UNBLOCK ends the blocked one at once) or
 * claims; the pool is halted, so queued tasks come back SKIPPED and are
 * handed back; running ones get the grace period, then the pool cancels
 * them and they are handed back too. When the pool has joined and every
 * task's sequence is done (or the link is down, so nothing more can be
 * written: those tasks come back after the visibility timeout), every
 * handle is closed and stop_cb runs.
 */
#include "core/childenv.h"
#include "dist/codec.h"
#include "dist/conn.h"
#include "tend/dist.h"
#include "tend/sched.h"
#include "tend/text.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

enum {
  BLOCK_MS = 2000,
  BACKOFF_MIN_MS = 100,
  BACKOFF_MAX_MS = 5000,
  ID_MAX = 48,
};
/* The idle time a hand-back gives an entry: older than any worker's
 * visibility timeout, so the next XAUTOCLAIM anywhere takes it. */
#define HANDBACK_IDLE_MS "315360000000"

typedef enum { DT_CHECK, DT_SCHED, DT_FINISH } dphase_t;
typedef enum { FIN_RESULT, FIN_DEAD, FIN_HANDBACK } dfin_t;
typedef enum { L_CONNECTING, L_SETUP, L_RUNNING, L_DOWN } link_t;

struct tend_dist_worker_s;

struct dtask {
  tend_task_t t; /* first: the pool hands back &t */
  struct tend_dist_worker_s *w;
  TAILQ_ENTRY(dtask) link; /* on the worker's tasks, oldest first */
  char id[ID_MAX];
  char *raw; /* the task JSON as stored */
  struct dist_spec spec;
  bool have_spec;
  childenv_t env;
  unsigned deliveries; /* the entry's delivery count */
  unsigned attempt;    /* what results report */
  dphase_t phase;
  char *out[2];
  size_t out_len[2], out_cap[2];
  uint64_t out_bytes[2];
  dfin_t fin;
  int step;
  bool busy;        /* a command of the sequence waits for its reply */
  bool retry_later; /* Redis refused a step: again at the next heartbeat */
  char *result;     /* result JSON */
  char *error;      /* FIN_DEAD: why */
};

struct tend_dist_worker_s {
  uv_loop_t *loop;
  tend_dist_worker_opts_t o;
  tend_redis_url_t url;
  char *stream, *results_key, *dead_key, *group, *name;
  char host[256];
  char where[300];
  struct dist_conn rd, wr;
  tend_sched_t *sched;
  uv_timer_t claim_timer, beat_timer, retry_timer, grace_timer;
  int open_handles;

  link_t link;
  tend_dist_err_t err_kind; /* the first error of a down link */
  char err[384];
  bool ever_up, fatal_sent;
  uint64_t backoff_ms;
  unsigned failures; /* connection attempts failed in a row */
  uint64_t claim_ms, beat_ms;
  unsigned prefetch;
  bool read_inflight, claim_inflight, beat_inflight, setup_inflight;
  char cursor[ID_MAX];

  TAILQ_HEAD(, dtask) tasks;
  unsigned in_pool; /* CHECK + SCHED */

  bool stopping, sched_joined, closing;
  uint64_t stop_at; /* uv_now when the grace ends */
  tend_dist_worker_cb stop_cb;
  tend_dist_worker_stats_t st;
};

typedef struct tend_dist_worker_s worker_t;

static void maybe_read(worker_t *w);
static void claim(worker_t *w);
static void beat(worker_t *w);
static void finish_next(struct dtask *d);
static void maybe_done(worker_t *w);
static void link_connect(worker_t *w);

void *tend_dist_worker_data(const tend_dist_worker_t *w) { return w->o.data; }

bool tend_dist_worker_owns_pid(const tend_dist_worker_t *w, int pid) {
  const struct dtask *d;
  TAILQ_FOREACH(d, &w->tasks, link)
    if (d->phase == DT_SCHED && d->t.state == TEND_TASK_RUNNING && d->t.pid == pid)
      return pid > 0;
  return false;
}

void tend_dist_worker_stats(const tend_dist_worker_t *w, tend_dist_worker_stats_t *st) {
  *st = w->st;
  st->connected = w->link == L_RUNNING;
  st->running = w->in_pool;
}

static void wlog(worker_t *w, tend_dist_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wlog(worker_t *w, tend_dist_level_t level, const char *fmt, ...) {
  if (w->o.log_cb == NULL)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  w->o.log_cb(w, level, msg);
}

static unsigned free_slots(const worker_t *w) {
  unsigned cap = w->o.jobs + w->prefetch;
  return cap > w->in_pool ? cap - w->in_pool : 0;
}

static uint64_t cmd_timeout(const worker_t *w) { return w->o.command_timeout_ms; }

/* ---- tasks ------------------------------------------------------------------- */

static struct dtask *task_new(worker_t *w, const char *id) {
  struct dtask *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return NULL;
  d->w = w;
  snprintf(d->id, sizeof(d->id), "%s", id);
  d->t.data = d;
  TAILQ_INSERT_TAIL(&w->tasks, d, link);
  return d;
}

static void task_free(struct dtask *d) {
  worker_t *w = d->w;
  if (d->phase == DT_CHECK || d->phase == DT_SCHED)
    w->in_pool--;
  TAILQ_REMOVE(&w->tasks, d, link);
  if (d->have_spec)
    dist_spec_free(&d->spec);
  childenv_free(&d->env);
  free(d->out[0]);
  free(d->out[1]);
  free(d->raw);
  free(d->result);
  free(d->error);
  free(d);
}

/* Leave the pool's capacity and start a finishing sequence. */
static void finish_start(struct dtask *d, dfin_t fin) {
  worker_t *w = d->w;
  if (d->phase == DT_CHECK || d->phase == DT_SCHED)
    w->in_pool--;
  d->phase = DT_FINISH;
  d->fin = fin;
  d->step = 0;
  finish_next(d);
  maybe_read(w);
}

static void hand_back(struct dtask *d) {
  d->w->st.handed_back++;
  finish_start(d, FIN_HANDBACK);
}

/* Give up on the task: NAME:dead, a dead result, XACK. */
static void go_dead(struct dtask *d, const char *why, unsigned attempts) {
  worker_t *w = d->w;
  w->st.dead++;
  wlog(w, TEND_DIST_LOG_WARN, "task %s is dead after %u attempt%s: %s", d->id, attempts,
       attempts == 1 ? "" : "s", why);
  d->error = strdup(why);
  struct dist_result_in in = {
      .id = d->id,
      .status = TEND_DIST_DEAD,
      .error = why,
      .worker = w->name,
      .host = w->host,
      .attempt = attempts,
      .max_attempts = d->have_spec ? d->spec.max_attempts : 0,
      .argv = d->have_spec ? d->spec.argv : NULL,
  };
  d->result = dist_result_encode(&in);
  if (d->error == NULL || d->result == NULL) {
    wlog(w, TEND_DIST_LOG_ERROR, "task %s: out of memory", d->id);
    task_free(d); /* it comes back after the visibility timeout */
    maybe_read(w);
    return;
  }
  finish_start(d, FIN_DEAD);
}

/* The environment of a task: ours, the task's on top, then TEND_*. */
static int build_env(worker_t *w, struct dtask *d) {
  int r = childenv_init(&d->env, NULL);
  if (r == 0)
    r = childenv_setv(&d->env, d->spec.env);
  if (r == 0)
    r = childenv_setf(&d->env, "TEND_TASK_ID=%s", d->id);
  if (r == 0)
    r = childenv_setf(&d->env, "TEND_TASK_ATTEMPT=%u", d->attempt);
  if (r == 0)
    r = childenv_setf(&d->env, "TEND_WORKER=%s", w->name);
  return r;
}

/* The task knows its delivery count: run it, or give up on it. */
static void proceed(struct dtask *d, unsigned deliveries) {
  worker_t *w = d->w;
  char why[512];
  d->deliveries = deliveries;
  if (d->raw == NULL) {
    go_dead(d, "malformed task: no \"task\" field in the entry", 0);
    return;
  }
  if (dist_task_decode(d->raw, strlen(d->raw), &d->spec, why, sizeof(why)) != 0) {
    go_dead(d, why, 0);
    return;
  }
  d->have_spec = true;
  d->attempt = d->spec.attempt + deliveries;
  if (deliveries > d->spec.max_attempts) {
    unsigned made = deliveries - 1;
    snprintf(why, sizeof(why),
             "attempt %u of %u lost: no result within the visibility timeout (%.3g s): the "
             "worker running it died, hung or lost Redis",
             made, d->spec.max_attempts, (double)w->o.visibility_ms / 1000.0);
    go_dead(d, why, made);
    return;
  }
  if (w->stopping) {
    hand_back(d);
    return;
  }
  if (build_env(w, d) != 0) {
    wlog(w, TEND_DIST_LOG_ERROR, "task %s: out of memory; handing it back", d->id);
    hand_back(d);
    return;
  }
  d->t.argv = d->spec.argv;
  d->t.env = d->env.envp;
  d->t.cwd = d->spec.cwd;
  d->t.out[0] = d->t.out[1] = TEND_OUT_STREAM;
  d->t.timeout_ms = d->spec.timeout_ms;
  d->phase = DT_SCHED;
  int r = tend_sched_submit(w->sched, &d->t);
  if (r != 0) {
    wlog(w, TEND_DIST_LOG_WARN, "task %s: the pool refused it (%s); handing it back", d->id,
         strerror(-r));
    hand_back(d);
    return;
  }
  wlog(w, TEND_DIST_LOG_DEBUG, "task %s attempt %u: %s", d->id, d->attempt, d->spec.argv[0]);
}

static void xpending_cb(struct dist_conn *c, redisReply *r, void *arg) {
  struct dtask *d = arg;
  (void)c;
  if (r == NULL) { /* the link is down: it stays ours until it is claimed again */
    worker_t *w = d->w;
    task_free(d);
    maybe_done(w);
    return;
  }
  /* [[id, consumer, idle, deliveries]] */
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
      r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements < 4 ||
      r->element[0]->element[3]->type != REDIS_REPLY_INTEGER) {
    worker_t *w = d->w;
    wlog(w, TEND_DIST_LOG_DEBUG, "task %s: no longer pending here", d->id);
    task_free(d);
    maybe_read(w);
    maybe_done(w);
    return;
  }
  long long n = r->element[0]->element[3]->integer;
  proceed(d, n > 0 && n < 1000000 ? (unsigned)n : 1);
}

/* One entry [id, [field, value, ...] or nil] from XREADGROUP or XAUTOCLAIM. */
static void take(worker_t *w, const redisReply *e, bool claimed) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
      e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= ID_MAX)
    return;
  struct dtask *d = task_new(w, e->element[0]->str);
  if (d == NULL) {
    wlog(w, TEND_DIST_LOG_ERROR, "out of memory: task %s comes back later", e->element[0]->str);
    return;
  }
  d->phase = claimed ? DT_CHECK : DT_SCHED;
  w->in_pool++;
  w->st.taken++;
  if (claimed)
    w->st.claimed++;
  const redisReply *f = e->elements > 1 ? e->element[1] : NULL;
  for (size_t i = 0; f != NULL && f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
    const redisReply *k = f->element[i], *v = f->element[i + 1];
    if (k->type == REDIS_REPLY_STRING && strcmp(k->str, "task") == 0 &&
        v->type == REDIS_REPLY_STRING) {
      d->raw = strndup(v->str, v->len);
      break;
    }
  }
  if (!claimed) {
    proceed(d, 1);
    return;
  }
  wlog(w, TEND_DIST_LOG_INFO, "task %s: taken over from a worker that did not finish it", d->id);
  const char *argv[6] = {"XPENDING", w->stream, w->group, d->id, d->id, "1"};
  if (dist_conn_cmd(&w->wr, cmd_timeout(w), xpending_cb, d, 6, argv, NULL) != 0) {
    task_free(d);
    maybe_read(w);
  }
}

/* ---- the pool ---------------------------------------------------------------- */

static void output_cb(tend_sched_t *s, tend_task_t *t, int stream, const char *data, size_t n) {
  struct dtask *d = t->data;
  worker_t *w = tend_sched_data(s);
  d->out_bytes[stream] += n;
  size_t room = w->o.output_cap - d->out_len[stream];
  if (n > room)
    n = room;
  if (n == 0)
    return;
  if (d->out_len[stream] + n > d->out_cap[stream]) {
    size_t cap = d->out_cap[stream] ? d->out_cap[stream] * 2 : 4096;
    while (cap < d->out_len[stream] + n)
      cap *= 2;
    if (cap > w->o.output_cap)
      cap = w->o.output_cap;
    char *b = realloc(d->out[stream], cap);
    if (b == NULL)
      return; /* counted in out_bytes: reported as truncated */
    d->out[stream] = b;
    d->out_cap[stream] = cap;
  }
  memcpy(d->out[stream] + d->out_len[stream], data, n);
  d->out_len[stream] += n;
}

/* Cut output kept up to the cap back to a UTF-8 boundary, so a text cut
 * in the middle of a character stays text. */
static size_t utf8_cut(const char *s, size_t len, uint64_t bytes) {
  if (bytes <= len || tend_utf8_valid(s, len))
    return len;
  for (size_t k = 1; k <= 3 && k <= len; k++)
    if (tend_utf8_valid(s, len - k))
      return len - k;
  return len;
}

static void done_cb(tend_sched_t *s, tend_task_t *t) {
  struct dtask *d = t->data;
  worker_t *w = tend_sched_data(s);
  char errbuf[1024], sum[1100], sig[32];
  if (t->outcome == TEND_TASK_SKIPPED || t->cancelled) {
    tend_sched_release(s, t);
    wlog(w, TEND_DIST_LOG_INFO, "task %s: handed back%s", d->id,
         t->cancelled ? " (stopped: the grace period ended)" : " (not started)");
    hand_back(d);
    return;
  }
  struct dist_result_in in = {
      .id = d->id,
      .worker = w->name,
      .host = w->host,
      .attempt = d->attempt,
      .max_attempts = d->spec.max_attempts,
      .argv = d->spec.argv,
      .duration_ms = t->runtime_ns / 1000000,
      .started_at_ms = t->start_unix_ns / 1000000,
  };
  for (int i = 0; i < 2; i++) {
    in.out[i] = d->out[i];
    in.out_len[i] = utf8_cut(d->out[i], d->out_len[i], d->out_bytes[i]);
    in.out_bytes[i] = d->out_bytes[i];
  }
  if (t->outcome == TEND_TASK_SPAWN_FAILED) {
    const char *why = strerror(-t->spawn_error);
    if (t->err_what == TEND_PROC_ERR_CWD)
      snprintf(errbuf, sizeof(errbuf), "cannot run '%s': working directory '%s': %s",
               t->argv[0], d->spec.cwd ? d->spec.cwd : "", why);
    else
      snprintf(errbuf, sizeof(errbuf), "cannot run '%s': %s", t->argv[0], why);
    in.error = errbuf;
    in.status = TEND_DIST_FAILED;
    snprintf(sum, sizeof(sum), "%s", errbuf);
  } else {
    in.exited = t->term_signal == 0 && t->exit_status >= 0;
    in.exit_code = t->exit_status;
    in.signal = t->term_signal;
    in.timed_out = t->timed_out;
    if (t->exit_status < 0 && t->term_signal == 0)
      in.error = "the exit status was lost (reaped elsewhere)";
    in.status = tend_task_failed(t) ? TEND_DIST_FAILED : TEND_DIST_SUCCEEDED;
    if (t->timed_out)
      snprintf(sum, sizeof(sum), "timed out");
    else if (t->term_signal)
      snprintf(sum, sizeof(sum), "killed by %s", tend_signame(t->term_signal, sig, sizeof(sig)));
    else
      snprintf(sum, sizeof(sum), "exit %" PRId64, t->exit_status);
  }
  if (in.status == TEND_DIST_SUCCEEDED)
    w->st.succeeded++;
  else
    w->st.failed++;
  d->result = dist_result_encode(&in);
  tend_sched_release(s, t);
  wlog(w, TEND_DIST_LOG_DEBUG, "task %s attempt %u: %s (%.3f s)", d->id, d->attempt, sum,
       (double)t->runtime_ns / 1e9);
  if (d->result == NULL) {
    wlog(w, TEND_DIST_LOG_ERROR, "task %s: out of memory for its result; handing it back", d->id);
    hand_back(d);
    return;
  }
  finish_start(d, FIN_RESULT);
}

static void join_cb(tend_sched_t *s) {
  worker_t *w = tend_sched_data(s);
  w->sched_joined = true;
  maybe_done(w);
}

/* ---- finishing sequences ------------------------------------------------------- */

static int fin_steps(dfin_t f) { return f == FIN_RESULT ? 2 : f == FIN_DEAD ? 3 : 1; }

static void fin_cb(struct dist_conn *c, redisReply *r, void *arg) {
  struct dtask *d = arg;
  worker_t *w = d->w;
  (void)c;
  d->busy = false;
  if (r == NULL) { /* link down: resumed when it is back, unless we stop */
    maybe_done(w);
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    if (d->fin == FIN_HANDBACK) {
      wlog(w, TEND_DIST_LOG_WARN, "task %s: Redis refused the hand-back (%s): it comes back "
           "after the visibility timeout", d->id, r->str);
      task_free(d);
      maybe_done(w);
      return;
    }
    wlog(w, TEND_DIST_LOG_WARN, "task %s: Redis refused to store its %s (%s); trying again",
         d->id, d->step == fin_steps(d->fin) - 1 ? "acknowledgement" : "result", r->str);
    d->retry_later = true;
    return;
  }
  if (++d->step >= fin_steps(d->fin)) {
    task_free(d);
    maybe_done(w);
    return;
  }
  finish_next(d);
}

static void finish_next(struct dtask *d) {
  worker_t *w = d->w;
  if (d->busy || w->link != L_RUNNING || d->phase != DT_FINISH)
    return;
  d->retry_later = false;
  const char *argv[16];
  int n = 0;
  char attempts[16], retry[16];
  bool ack = false;
  switch (d->fin) {
  case FIN_RESULT:
    if (d->step == 0) {
      argv[n++] = "XADD", argv[n++] = w->results_key, argv[n++] = "*";
      argv[n++] = "result", argv[n++] = d->result;
    } else {
      ack = true;
    }
    break;
  case FIN_DEAD:
    if (d->step == 0) {
      snprintf(attempts, sizeof(attempts), "%u", d->deliveries > 0 ? d->deliveries - 1 : 0);
      argv[n++] = "XADD", argv[n++] = w->dead_key, argv[n++] = "*";
      argv[n++] = "id", argv[n++] = d->id;
      argv[n++] = "task", argv[n++] = d->raw != NULL ? d->raw : "";
      argv[n++] = "error", argv[n++] = d->error;
      argv[n++] = "attempts", argv[n++] = attempts;
      argv[n++] = "worker", argv[n++] = w->name;
      argv[n++] = "host", argv[n++] = w->host;
    } else if (d->step == 1) {
      argv[n++] = "XADD", argv[n++] = w->results_key, argv[n++] = "*";
      argv[n++] = "result", argv[n++] = d->result;
    } else {
      ack = true;
    }
    break;
  case FIN_HANDBACK:
    /* Idle as if delivered long ago, so any worker claims it at once; the
     * delivery count put back, so this attempt is not charged. */
    snprintf(retry, sizeof(retry), "%u", d->deliveries > 0 ? d->deliveries - 1 : 0);
    argv[n++] = "XCLAIM", argv[n++] = w->stream, argv[n++] = w->group;
    argv[n++] = w->name, argv[n++] = "0", argv[n++] = d->id;
    argv[n++] = "IDLE", argv[n++] = HANDBACK_IDLE_MS;
    argv[n++] = "RETRYCOUNT", argv[n++] = retry, argv[n++] = "JUSTID";
    break;
  }
  if (ack) {
    argv[n++] = "XACK", argv[n++] = w->stream, argv[n++] = w->group, argv[n++] = d->id;
  }
  if (dist_conn_cmd(&w->wr, cmd_timeout(w), fin_cb, d, n, argv, NULL) == 0)
    d->busy = true;
}

static void resume_finishing(worker_t *w, bool only_retry) {
  for (struct dtask *d = TAILQ_FIRST(&w->tasks), *next; d != NULL; d = next) {
    next = TAILQ_NEXT(d, link);
    if (d->phase == DT_FINISH && !d->busy && (!only_retry || d->retry_later))
      finish_next(d);
  }
}

/* ---- reading, claiming, heartbeats ---------------------------------------------- */

static void read_retry_cb(uv_timer_t *t) { maybe_read(t->data); }

static void setup(worker_t *w);

static void xread_cb(struct dist_conn *c, redisReply *r, void *arg) {
  worker_t *w = c->data;
  (void)arg;
  w->read_inflight = false;
  if (r == NULL) {
    maybe_done(w);
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    if (strncmp(r->str, "NOGROUP", 7) == 0 && w->link == L_RUNNING) {
      wlog(w, TEND_DIST_LOG_WARN, "the group %s of %s is gone: creating it again", w->group,
           w->stream);
      setup(w);
      return;
    }
    wlog(w, TEND_DIST_LOG_WARN, "Redis refused XREADGROUP on %s: %s (again in 1 s)", w->stream,
         r->str);
    uv_timer_start(&w->retry_timer, read_retry_cb, 1000, 0);
    maybe_done(w);
    return;
  }
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r->elements; i++) { /* [stream, [entries]] */
      const redisReply *s = r->element[i];
      if (s->type != REDIS_REPLY_ARRAY || s->elements < 2 ||
          s->element[1]->type != REDIS_REPLY_ARRAY)
        continue;
      for (size_t j = 0; j < s->element[1]->elements; j++)
        take(w, s->element[1]->element[j], false);
    }
  }
  maybe_read(w);
  maybe_done(w);
}

static void maybe_read(worker_t *w) {
  unsigned n = free_slots(w);
  if (w->link != L_RUNNING || w->stopping || w->read_inflight || n == 0)
    return;
  char count[16], block[16];
  snprintf(count, sizeof(count), "%u", n);
  snprintf(block, sizeof(block), "%d", BLOCK_MS);
  const char *argv[] = {"XREADGROUP", "GROUP", w->group, w->name, "COUNT", count,
                        "BLOCK", block, "STREAMS", w->stream, ">"};
  if (dist_conn_cmd(&w->rd, cmd_timeout(w) + BLOCK_MS, xread_cb, NULL, 11, argv, NULL) == 0)
    w->read_inflight = true;
}

static void xautoclaim_cb(struct dist_conn *c, redisReply *r, void *arg) {
  worker_t *w = c->data;
  (void)arg;
  w->claim_inflight = false;
  if (r == NULL)
    return;
  if (r->type == REDIS_REPLY_ERROR) {
    wlog(w, TEND_DIST_LOG_WARN, "Redis refused XAUTOCLAIM on %s: %s", w->stream, r->str);
    return;
  }
  /* [next-start, [entries], [deleted ids] (Redis 7)] */
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
    return;
  if (r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < sizeof(w->cursor))
    snprintf(w->cursor, sizeof(w->cursor), "%s", r->element[0]->str);
  const redisReply *es = r->element[1];
  for (size_t i = 0; es->type == REDIS_REPLY_ARRAY && i < es->elements; i++) {
    const redisReply *e = es->element[i];
    if (e->type == REDIS_REPLY_ARRAY && e->elements >= 2 && e->element[1]->type == REDIS_REPLY_NIL)
      continue; /* Redis 6.2: deleted meanwhile */
    take(w, e, true); /* when stopping, proceed() hands it back at once */
  }
}

static void claim(worker_t *w) {
  unsigned n = free_slots(w);
  if (w->link != L_RUNNING || w->stopping || w->claim_inflight || n == 0)
    return;
  char idle[24], count[16];
  snprintf(idle, sizeof(idle), "%" PRIu64, w->o.visibility_ms);
  snprintf(count, sizeof(count), "%u", n);
  const char *argv[] = {"XAUTOCLAIM", w->stream, w->group, w->name, idle,
                        w->cursor, "COUNT", count};
  if (dist_conn_cmd(&w->wr, cmd_timeout(w), xautoclaim_cb, NULL, 8, argv, NULL) == 0)
    w->claim_inflight = true;
}

static void claim_timer_cb(uv_timer_t *t) { claim(t->data); }

static void beat_cb(struct dist_conn *c, redisReply *r, void *arg) {
  worker_t *w = c->data;
  (void)arg;
  w->beat_inflight = false;
  if (r != NULL && r->type == REDIS_REPLY_ERROR)
    wlog(w, TEND_DIST_LOG_WARN, "Redis refused the heartbeat XCLAIM: %s", r->str);
}

/* Keep every task we hold visible: XCLAIM to ourselves resets its idle
 * time (JUSTID: the delivery count stays). */
static void beat(worker_t *w) {
  if (w->link != L_RUNNING)
    return;
  resume_finishing(w, true);
  if (w->beat_inflight)
    return;
  size_t n = 0;
  struct dtask *d;
  TAILQ_FOREACH(d, &w->tasks, link)
    if (d->phase == DT_SCHED || (d->phase == DT_FINISH && d->fin != FIN_HANDBACK))
      n++;
  if (n == 0)
    return;
  const char **argv = malloc((n + 6) * sizeof(char *));
  if (argv == NULL)
    return;
  int k = 0;
  argv[k++] = "XCLAIM", argv[k++] = w->stream, argv[k++] = w->group, argv[k++] = w->name;
  argv[k++] = "0";
  TAILQ_FOREACH(d, &w->tasks, link)
    if (d->phase == DT_SCHED || (d->phase == DT_FINISH && d->fin != FIN_HANDBACK))
      argv[k++] = d->id;
  argv[k++] = "JUSTID";
  if (dist_conn_cmd(&w->wr, cmd_timeout(w), beat_cb, NULL, k, argv, NULL) == 0)
    w->beat_inflight = true;
  free(argv);
}

static void beat_timer_cb(uv_timer_t *t) { beat(t->data); }

/* ---- the link ----------------------------------------------------------------- */

static void running(worker_t *w) {
  w->link = L_RUNNING;
  w->backoff_ms = BACKOFF_MIN_MS;
  w->failures = 0;
  if (!w->ever_up)
    wlog(w, TEND_DIST_LOG_INFO,
         "worker %s connected to Redis at %s: stream %s, group %s, %u at once, visibility %.3g s",
         w->name, w->where, w->stream, w->group, w->o.jobs, (double)w->o.visibility_ms / 1000.0);
  else
    wlog(w, TEND_DIST_LOG_INFO, "worker %s: connected to Redis at %s again", w->name, w->where);
  w->ever_up = true;
  if (w->stopping) {
    resume_finishing(w, false);
    maybe_done(w);
    return;
  }
  beat(w);
  resume_finishing(w, false);
  snprintf(w->cursor, sizeof(w->cursor), "0-0");
  claim(w);
  uv_timer_start(&w->claim_timer, claim_timer_cb, w->claim_ms, w->claim_ms);
  uv_timer_start(&w->beat_timer, beat_timer_cb, w->beat_ms, w->beat_ms);
  maybe_read(w);
}

static void fatal(worker_t *w, tend_dist_err_t kind, const char *msg) {
  if (w->fatal_sent)
    return;
  w->fatal_sent = true;
  wlog(w, TEND_DIST_LOG_ERROR, "%s", msg);
  if (w->o.fatal_cb != NULL)
    w->o.fatal_cb(w, kind, msg);
}

static void setup_retry_cb(uv_timer_t *t) { setup(t->data); }

static void setup_cb(struct dist_conn *c, redisReply *r, void *arg) {
  worker_t *w = c->data;
  (void)arg;
  w->setup_inflight = false;
  if (r == NULL || w->closing)
    return;
  if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
    char msg[512];
    snprintf(msg, sizeof(msg), "Redis at %s refused to create the group %s on %s: %s", w->where,
             w->group, w->stream, r->str);
    if (w->o.fail_fast && !w->ever_up) {
      fatal(w, TEND_DIST_ERR_SERVER, msg);
      return;
    }
    wlog(w, TEND_DIST_LOG_WARN, "%s (again in %.1f s)", msg, (double)w->backoff_ms / 1000.0);
    uv_timer_start(&w->retry_timer, setup_retry_cb, w->backoff_ms, 0);
    w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
    return;
  }
  running(w);
}

/* The group, from the start of the stream, which is created if missing. */
static void setup(worker_t *w) {
  if (w->setup_inflight || w->closing)
    return;
  w->link = L_SETUP;
  const char *argv[] = {"XGROUP", "CREATE", w->stream, w->group, "0", "MKSTREAM"};
  if (dist_conn_cmd(&w->wr, cmd_timeout(w), setup_cb, NULL, 6, argv, NULL) == 0)
    w->setup_inflight = true;
}

static void conn_up_cb(struct dist_conn *c) {
  worker_t *w = c->data;
  if (w->rd.state == DC_READY && w->wr.state == DC_READY && w->link == L_CONNECTING)
    setup(w);
}

static void reconnect_cb(uv_timer_t *t) { link_connect(t->data); }

static void conn_down_cb(struct dist_conn *c) {
  worker_t *w = c->data;
  if (w->err_kind == TEND_DIST_OK) {
    w->err_kind = c->err_kind != TEND_DIST_OK ? c->err_kind : TEND_DIST_ERR_LOST;
    snprintf(w->err, sizeof(w->err), "%s", c->err[0] ? c->err : "connection lost");
  }
  struct dist_conn *other = c == &w->rd ? &w->wr : &w->rd;
  if (other->state != DC_IDLE) {
    dist_conn_drop(other, w->err_kind, w->err);
    return; /* its down_cb comes next */
  }
  bool was_up = w->link == L_RUNNING || w->link == L_SETUP;
  w->link = L_DOWN;
  w->read_inflight = w->claim_inflight = w->beat_inflight = w->setup_inflight = false;
  uv_timer_stop(&w->claim_timer);
  uv_timer_stop(&w->beat_timer);
  if (w->closing)
    return;
  if (!w->ever_up && w->o.fail_fast) {
    fatal(w, w->err_kind, w->err);
    return;
  }
  if (was_up)
    w->st.reconnects++;
  /* A long outage: a line a minute once the backoff is at its longest. */
  if (++w->failures <= 8 || w->failures % 12 == 0)
    wlog(w, TEND_DIST_LOG_WARN, "%s; %s in %.1f s%s", w->err,
         w->ever_up ? "reconnecting" : "trying again", (double)w->backoff_ms / 1000.0,
         w->failures == 8 ? " (from now on, a line a minute)" : "");
  uv_timer_start(&w->retry_timer, reconnect_cb, w->backoff_ms, 0);
  w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
  maybe_done(w);
}

static void link_connect(worker_t *w) {
  if (w->closing || w->fatal_sent)
    return;
  w->err_kind = TEND_DIST_OK;
  w->err[0] = '\0';
  w->link = L_CONNECTING;
  dist_conn_connect(&w->rd);
  dist_conn_connect(&w->wr);
}

/* ---- start and stop ------------------------------------------------------------ */

int tend_dist_worker_start(uv_loop_t *loop, const tend_dist_worker_opts_t *o,
                           tend_dist_worker_t **out, char *err, size_t errlen) {
  *out = NULL;
  if (o->stream == NULL || o->stream[0] == '\0') {
    snprintf(err, errlen, "a stream name is required");
    return -EINVAL;
  }
  if (o->fail_fast && o->fatal_cb == NULL) {
    snprintf(err, errlen, "fail_fast needs a fatal callback");
    return -EINVAL;
  }
  worker_t *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  TAILQ_INIT(&w->tasks);
  int r = tend_redis_url_parse(o->url, &w->url, err, errlen);
  if (r != 0) {
    free(w);
    return r;
  }
  w->loop = loop;
  w->o = *o;
  if (w->o.jobs == 0)
    w->o.jobs = uv_available_parallelism();
  w->prefetch = w->o.prefetch == 0 ? w->o.jobs : w->o.prefetch < 0 ? 0 : (unsigned)w->o.prefetch;
  if (w->o.visibility_ms == 0)
    w->o.visibility_ms = 30000;
  if (w->o.output_cap == 0)
    w->o.output_cap = 64 * 1024;
  if (w->o.kill_after_ms == 0)
    w->o.kill_after_ms = 2000;
  if (w->o.connect_timeout_ms == 0)
    w->o.connect_timeout_ms = 5000;
  if (w->o.command_timeout_ms == 0)
    w->o.command_timeout_ms = 5000;
  w->claim_ms = w->o.visibility_ms / 2 < 1000 ? w->o.visibility_ms / 2 : 1000;
  if (w->claim_ms < 20)
    w->claim_ms = 20;
  w->beat_ms = w->o.visibility_ms / 3 > 20 ? w->o.visibility_ms / 3 : 20;
  w->backoff_ms = BACKOFF_MIN_MS;
  snprintf(w->cursor, sizeof(w->cursor), "0-0");
  if (gethostname(w->host, sizeof(w->host) - 1) != 0)
    snprintf(w->host, sizeof(w->host), "unknown");
  tend_redis_url_where(&w->url, w->where, sizeof(w->where));
  w->stream = strdup(o->stream);
  w->group = strdup(o->group != NULL && o->group[0] ? o->group : "tend");
  if (o->name != NULL && o->name[0])
    w->name = strdup(o->name);
  else if (asprintf(&w->name, "%s-%d", w->host, (int)getpid()) < 0)
    w->name = NULL;
  if (asprintf(&w->results_key, "%s:results", o->stream) < 0)
    w->results_key = NULL;
  if (asprintf(&w->dead_key, "%s:dead", o->stream) < 0)
    w->dead_key = NULL;
  if (w->stream == NULL || w->group == NULL || w->name == NULL || w->results_key == NULL ||
      w->dead_key == NULL) {
    snprintf(err, errlen, "out of memory");
    r = -ENOMEM;
    goto fail;
  }

  tend_sched_opts_t so;
  memset(&so, 0, sizeof(so));
  so.max_running = w->o.jobs;
  so.kill_after_ms = w->o.kill_after_ms;
  so.done_cb = done_cb;
  so.join_cb = join_cb;
  so.output_cb = output_cb;
  so.data = w;
  if ((r = tend_sched_new(loop, &so, &w->sched)) != 0) {
    snprintf(err, errlen, "%s", strerror(-r));
    goto fail;
  }
  /* From here on everything is released through tend_dist_worker_stop. */
  uv_timer_t *timers[] = {&w->claim_timer, &w->beat_timer, &w->retry_timer, &w->grace_timer};
  for (int i = 0; i < 4; i++) {
    uv_timer_init(loop, timers[i]);
    timers[i]->data = w;
    w->open_handles++;
  }
  dist_conn_init(&w->rd, loop, &w->url, "reader", w->o.connect_timeout_ms, conn_up_cb,
                 conn_down_cb);
  w->rd.data = w;
  w->open_handles++;
  dist_conn_init(&w->wr, loop, &w->url, "writer", w->o.connect_timeout_ms, conn_up_cb,
                 conn_down_cb);
  w->wr.data = w;
  w->open_handles++;
  w->open_handles++; /* the pool, until it has joined and is freed */
  link_connect(w);
  *out = w;
  return 0;
fail:
  tend_redis_url_free(&w->url);
  free(w->stream);
  free(w->group);
  free(w->name);
  free(w->results_key);
  free(w->dead_key);
  free(w);
  return r;
}

static void handle_closed(worker_t *w) {
  if (--w->open_handles > 0)
    return;
  if (w->stop_cb != NULL)
    w->stop_cb(w);
  tend_redis_url_free(&w->url);
  free(w->stream);
  free(w->group);
  free(w->name);
  free(w->results_key);
  free(w->dead_key);
  free(w);
}

static void timer_closed_cb(uv_handle_t *h) { handle_closed(h->data); }
static void conn_closed_cb(struct dist_conn *c) { handle_closed(c->data); }

static void close_all(worker_t *w) {
  w->closing = true;
  uv_timer_t *timers[] = {&w->claim_timer, &w->beat_timer, &w->retry_timer, &w->grace_timer};
  for (int i = 0; i < 4; i++)
    uv_close((uv_handle_t *)timers[i], timer_closed_cb);
  dist_conn_close(&w->rd, conn_closed_cb);
  dist_conn_close(&w->wr, conn_closed_cb);
  tend_sched_free(w->sched);
  w->sched = NULL;
  handle_closed(w);
}

/* While stopping: done once the pool has joined and nothing is left to
 * write, or nothing can be written. */
static void maybe_done(worker_t *w) {
  if (w == NULL || !w->stopping || w->closing || !w->sched_joined)
    return;
  if (w->link == L_RUNNING || w->link == L_SETUP) {
    if (w->read_inflight || w->setup_inflight)
      return;
    struct dtask *d;
    TAILQ_FOREACH(d, &w->tasks, link)
      if (d->phase != DT_FINISH || d->busy || !d->retry_later)
        return; /* still being written (a refused one does not hold the stop) */
  }
  unsigned left = 0;
  while (!TAILQ_EMPTY(&w->tasks)) {
    left++;
    task_free(TAILQ_FIRST(&w->tasks));
  }
  if (left > 0)
    wlog(w, TEND_DIST_LOG_WARN,
         "%u task%s could not be finished or handed back (no Redis): %s back to the queue "
         "after the visibility timeout",
         left, left == 1 ? "" : "s", left == 1 ? "it goes" : "they go");
  close_all(w);
}

static void grace_cb(uv_timer_t *t) {
  worker_t *w = t->data;
  tend_sched_stats_t st;
  tend_sched_stats(w->sched, &st);
  if (st.running > 0)
    wlog(w, TEND_DIST_LOG_INFO, "stopping %" PRIu64 " running task%s and handing %s back",
         st.running, st.running == 1 ? "" : "s", st.running == 1 ? "it" : "them");
  tend_sched_cancel(w->sched, SIGTERM, w->o.kill_after_ms);
}

static void unblock_cb(struct dist_conn *c, redisReply *r, void *arg) {
  (void)c, (void)r, (void)arg;
}

void tend_dist_worker_stop(tend_dist_worker_t *w, uint64_t grace_ms, tend_dist_worker_cb stop_cb) {
  if (w->closing)
    return;
  uint64_t now = uv_now(w->loop);
  if (w->stopping) {
    if (now + grace_ms < w->stop_at) {
      w->stop_at = now + grace_ms;
      uv_timer_start(&w->grace_timer, grace_cb, grace_ms, 0);
    }
    return;
  }
  w->stopping = true;
  w->stop_cb = stop_cb;
  w->stop_at = now + grace_ms;
  uv_timer_stop(&w->claim_timer);
  tend_sched_stats_t st;
  tend_sched_stats(w->sched, &st);
  if (st.running > 0 && grace_ms > 0)
    wlog(w, TEND_DIST_LOG_INFO,
         "stopping: no more tasks; %" PRIu64 " running task%s get%s %.3g s to finish", st.running,
         st.running == 1 ? "" : "s", st.running == 1 ? "s" : "", (double)grace_ms / 1000.0);
  if (w->read_inflight && w->wr.state == DC_READY && w->rd.client_id > 0) {
    char id[24];
    snprintf(id, sizeof(id), "%lld", w->rd.client_id);
    const char *argv[] = {"CLIENT", "UNBLOCK", id};
    dist_conn_cmd(&w->wr, cmd_timeout(w), unblock_cb, NULL, 3, argv, NULL);
  }
  tend_sched_halt(w->sched);
  uv_timer_start(&w->grace_timer, grace_cb, grace_ms, 0);
  maybe_done(w);
}
