/* SPDX-License-Identifier: MIT */
/*
 * Worker pools inside the daemon: [pool:NAME] sections, `tend submit`
 * (apply_async), `tend pool-status`, `tend close`, `tend join` — Python's
 * multiprocessing.Pool on the daemon's loop, run by tend's scheduler.
 *
 * As in Python, join before close is an error. Once joined, a pool opens
 * again (a new Pool, same name), so a long-lived daemon can take another
 * batch. Every task exit is logged like a program's exit. Each task keeps
 * the first OUT_KEEP bytes of its stdout and stderr for pool-status; the
 * `keep` most recent finished tasks are listed there, and join reports
 * every task accepted since the pool opened.
 */
#include "daemon/pool.h"
#include "core/log.h"
#include "tend/sched.h"
#include "tend/text.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUT_KEEP (16u * 1024)

typedef struct dtask {
  tend_task_t t;
  uint64_t id; /* unique in its pool for the daemon's life (seq restarts
                  with each batch's scheduler) */
  struct dpool *pool;
  char **argv; /* owned */
  char *out[2];
  size_t outlen[2];
  bool done;
  STAILQ_ENTRY(dtask) link; /* on pool->tasks */
} dtask_t;

typedef struct joiner {
  ctl_conn_t *conn;
  LIST_ENTRY(joiner) link; /* on pool->joiners */
} joiner_t;

/* What join reports for each task accepted since the pool opened. */
typedef struct {
  uint64_t id;
  int64_t exit_status;
  int term_signal;
  bool spawn_failed, timed_out, skipped;
} outcome_t;

typedef struct dpool {
  char *name;
  tend_sched_t *s;
  int workers, keep;
  double timeout;
  bool closed;
  STAILQ_HEAD(, dtask) tasks; /* queued, running and the kept finished ones, oldest first */
  int nfinished;
  outcome_t *outcomes;
  size_t noutcomes, capoutcomes;
  uint64_t next_id;
  uint64_t done_total, failed_total; /* over every batch, for the metrics */
  bool finished; /* closed, and every task of the batch is done */
  LIST_HEAD(, joiner) joiners; /* newest first */
  dpools_t *set;
  LIST_ENTRY(dpool) link; /* on set->list */
} dpool_t;

static void task_free(dtask_t *d) {
  for (size_t i = 0; d->argv != NULL && d->argv[i] != NULL; i++)
    free(d->argv[i]);
  free(d->argv);
  free(d->out[0]);
  free(d->out[1]);
  free(d);
}

static dpool_t *find(dpools_t *s, const char *name) {
  dpool_t *p;
  LIST_FOREACH(p, &s->list, link)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

static outcome_t outcome_of(const dtask_t *d) {
  const tend_task_t *t = &d->t;
  return (outcome_t){.id = d->id,
                     .exit_status = t->exit_status,
                     .term_signal = t->term_signal,
                     .spawn_failed = t->outcome == TEND_TASK_SPAWN_FAILED,
                     .timed_out = t->timed_out,
                     .skipped = t->outcome == TEND_TASK_SKIPPED};
}

/* ---- scheduler callbacks ----------------------------------------------- */

static void done_cb(tend_sched_t *s, tend_task_t *t) {
  dtask_t *d = t->data;
  dpool_t *p = d->pool;
  (void)s;
  for (int i = 0; i < 2; i++) {
    size_t want = t->cap[i].kept < OUT_KEEP ? (size_t)t->cap[i].kept : OUT_KEEP;
    if (want > 0 && (d->out[i] = malloc(want)) != NULL) {
      ssize_t n = tend_task_output_read(t, i, 0, d->out[i], want);
      d->outlen[i] = n > 0 ? (size_t)n : 0;
    }
  }
  tend_sched_release(p->s, t);
  d->done = true;
  p->nfinished++;
  p->done_total++;
  p->failed_total += tend_task_failed(t);

  outcome_t o = outcome_of(d);
  if (p->noutcomes == p->capoutcomes) {
    size_t cap = p->capoutcomes ? p->capoutcomes * 2 : 64;
    outcome_t *grown = realloc(p->outcomes, cap * sizeof(*grown));
    if (grown != NULL) {
      p->outcomes = grown;
      p->capoutcomes = cap;
    }
  }
  if (p->noutcomes < p->capoutcomes)
    p->outcomes[p->noutcomes++] = o;

  char name[128], sig[32];
  snprintf(name, sizeof(name), "pool:%s/%llu", p->name, (unsigned long long)d->id);
  const char *action = o.skipped ? "skipped" : o.spawn_failed ? "spawn error" : "done";
  if (o.spawn_failed)
    LOG("error", "spawn_error", F_STR("program", name), F_STR("command", d->argv[0]),
        F_STR("error", strerror(-t->spawn_error)));
  LOG(tend_task_failed(t) ? "warn" : "info", "exit", F_STR("program", name), F_INT("pid", t->pid),
      t->term_signal || o.spawn_failed || o.skipped ? (log_field_t)F_NULL("exit_code")
                                                    : (log_field_t)F_INT("exit_code", t->exit_status),
      t->term_signal ? (log_field_t)F_STR("signal", tend_signame(t->term_signal, sig, sizeof(sig)))
                     : (log_field_t)F_NULL("signal"),
      F_BOOL("expected", !tend_task_failed(t)), F_NUM("runtime", (double)t->runtime_ns / 1e9),
      F_BOOL("timed_out", t->timed_out), F_STR("action", action));

  /* Keep only the `keep` most recent finished tasks for pool-status. */
  while (p->nfinished > p->keep) {
    dtask_t *old;
    STAILQ_FOREACH(old, &p->tasks, link)
      if (old->done)
        break;
    if (old == NULL)
      break;
    STAILQ_REMOVE(&p->tasks, old, dtask, link);
    task_free(old);
    p->nfinished--;
  }
}

static int pool_open(dpool_t *p);

static void pool_free(dpool_t *p) {
  dtask_t *d;
  while ((d = STAILQ_FIRST(&p->tasks)) != NULL) {
    STAILQ_REMOVE_HEAD(&p->tasks, link);
    task_free(d);
  }
  free(p->outcomes);
  free(p->name);
  free(p);
}

static json_t *outcome_json(const outcome_t *o) {
  char sig[32];
  json_t *j = json_pack("{s:I,s:b}", "id", (json_int_t)o->id, "ok",
                        !o->spawn_failed && !o->skipped && !o->timed_out && !o->term_signal &&
                            o->exit_status == 0);
  bool exited = !o->spawn_failed && !o->skipped && !o->term_signal;
  json_object_set_new(j, "exit_code", exited ? json_integer(o->exit_status) : json_null());
  json_object_set_new(j, "signal", o->term_signal
                                       ? json_string(tend_signame(o->term_signal, sig, sizeof(sig)))
                                       : json_null());
  json_object_set_new(j, "timed_out", json_boolean(o->timed_out));
  if (o->spawn_failed || o->skipped)
    json_object_set_new(j, "error", json_string(o->skipped ? "skipped" : "could not start"));
  return j;
}

static int outcome_cmp(const void *a, const void *b) {
  const outcome_t *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}

/* Answer the waiting joins with every task of the batch, then open the
 * pool again for the next batch (unless the daemon is stopping). */
static void answer_joins(dpool_t *p) {
  if (p->noutcomes > 1) /* an empty batch has no array: qsort(NULL) is undefined */
    qsort(p->outcomes, p->noutcomes, sizeof(*p->outcomes), outcome_cmp);
  json_t *arr = json_array();
  for (size_t i = 0; i < p->noutcomes; i++)
    json_array_append_new(arr, outcome_json(&p->outcomes[i]));
  /* From the head each time: ending a connection drops its other joiners
   * (pools_conn_gone). */
  joiner_t *j;
  while ((j = LIST_FIRST(&p->joiners)) != NULL) {
    LIST_REMOVE(j, link);
    ctl_reply(j->conn, json_pack("{s:b,s:O}", "ok", 1, "tasks", arr), NULL, 0);
    ctl_conn_end(j->conn);
    free(j);
  }
  json_decref(arr);
  LOG("info", "pool", F_STR("pool", p->name), F_STR("state", "joined"),
      F_INT("tasks", (long long)p->noutcomes));
  p->noutcomes = 0;
  p->finished = false;
  p->closed = false;
  if (!p->set->stopping)
    pool_open(p); /* a joined pool takes a new batch, as a new Pool would */
}

/* Shutdown: every pool is done; free them all. */
static void shutdown_done(dpools_t *s) {
  dpool_t *q;
  while ((q = LIST_FIRST(&s->list)) != NULL) {
    LIST_REMOVE(q, link);
    pool_free(q);
  }
  s->done.fn(s->done.arg);
}

static void join_cb(tend_sched_t *s) {
  dpool_t *p = tend_sched_data(s);
  tend_sched_free(s);
  p->s = NULL;
  p->finished = true;
  if (p->set->stopping) {
    answer_joins(p);
    bool all = true;
    dpool_t *q;
    LIST_FOREACH(q, &p->set->list, link)
      all = all && q->s == NULL;
    if (all)
      shutdown_done(p->set);
    return;
  }
  /* Everything of the batch is done; a `tend join` that comes later is
   * answered at once. */
  if (!LIST_EMPTY(&p->joiners))
    answer_joins(p);
}

static int pool_open(dpool_t *p) {
  tend_sched_opts_t o = {
      .max_running = (unsigned)p->workers,
      .mem_limit = OUT_KEEP,
      .timeout_ms = (uint64_t)(p->timeout * 1000),
      .kill_after_ms = 2000,
      .done_cb = done_cb,
      .join_cb = join_cb,
      .data = p,
  };
  int r = tend_sched_new(p->set->loop, &o, &p->s);
  if (r != 0)
    LOG("error", "pool", F_STR("pool", p->name), F_STR("error", strerror(-r)));
  return r;
}

/* ---- configuration ----------------------------------------------------- */

void dpools_init(dpools_t *s, uv_loop_t *loop) {
  *s = (dpools_t){.loop = loop};
  LIST_INIT(&s->list);
}

static void pools_apply(void *self, tend_config_t *c) {
  dpools_t *s = self;
  for (size_t i = 0; i < c->npools; i++) {
    const tend_pool_conf_t *pc = &c->pools[i];
    dpool_t *p = find(s, pc->name);
    if (p != NULL) {
      /* Takes effect for the next batch (a running pool is not resized). */
      p->workers = pc->workers;
      p->keep = pc->keep;
      p->timeout = pc->timeout;
      continue;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->name = strdup(pc->name)) == NULL) {
      free(p);
      LOG("error", "pool", F_STR("pool", pc->name), F_STR("error", strerror(ENOMEM)));
      continue;
    }
    p->set = s;
    STAILQ_INIT(&p->tasks);
    LIST_INIT(&p->joiners);
    p->workers = pc->workers;
    p->keep = pc->keep;
    p->timeout = pc->timeout;
    if (pool_open(p) != 0) {
      pool_free(p);
      continue;
    }
    LIST_INSERT_HEAD(&s->list, p, link);
  }
}

int dpools_stats(const dpools_t *s, dpool_stats_t **out) {
  size_t n = 0;
  const dpool_t *p;
  LIST_FOREACH(p, &s->list, link)
    n++;
  *out = calloc(n + 1, sizeof(**out));
  if (*out == NULL)
    return -ENOMEM;
  size_t i = 0;
  LIST_FOREACH(p, &s->list, link) {
    /* Between batches (joined, not open again) nothing is queued or runs. */
    tend_sched_stats_t st = {0};
    if (p->s != NULL)
      tend_sched_stats(p->s, &st);
    (*out)[i++] = (dpool_stats_t){.name = p->name,
                                  .workers = (uint64_t)p->workers,
                                  .queued = st.queued,
                                  .running = st.running,
                                  .done = p->done_total,
                                  .failed = p->failed_total};
  }
  return (int)n;
}

/* ---- requests ---------------------------------------------------------- */

static dpool_t *named_pool(dpools_t *s, ctl_conn_t *c, const char *name) {
  dpool_t *p = find(s, name);
  if (p == NULL)
    ctl_reply_error(c, "no such pool: %s", name);
  else if (p->s == NULL && !p->finished)
    ctl_reply_error(c, "pool %s is shutting down", p->name);
  return p != NULL && (p->s != NULL || p->finished) ? p : NULL;
}

static void pool_submit(dpool_t *p, ctl_conn_t *c, const tend_ctl_strv_t *argv) {
  if (p->closed) {
    ctl_reply_error(c, "pool %s is closed: it takes no more tasks until joined", p->name);
    return;
  }
  dtask_t *d = calloc(1, sizeof(*d));
  char **av = calloc(argv->n + 1, sizeof(*av));
  bool ok = d != NULL && av != NULL;
  for (size_t i = 0; ok && i < argv->n; i++)
    ok = (av[i] = strdup(argv->v[i])) != NULL;
  if (d != NULL)
    d->argv = av;
  if (!ok) {
    if (d != NULL)
      task_free(d);
    else
      free(av);
    ctl_reply_error(c, "out of memory");
    return;
  }
  d->pool = p;
  d->t.data = d;
  d->t.argv = av;
  d->t.out[0] = d->t.out[1] = TEND_OUT_CAPTURE;
  int r = tend_sched_submit(p->s, &d->t);
  if (r != 0) {
    task_free(d);
    ctl_reply_error(c, "cannot submit to %s: %s", p->name, strerror(-r));
    return;
  }
  d->id = ++p->next_id;
  STAILQ_INSERT_TAIL(&p->tasks, d, link);
  char id[128];
  snprintf(id, sizeof(id), "%s/%llu", p->name, (unsigned long long)d->id);
  ctl_reply(c, json_pack("{s:b,s:s,s:I}", "ok", 1, "id", id, "seq", (json_int_t)d->id), NULL, 0);
}

static json_t *task_json(const dtask_t *d) {
  static const char *const states[] = {"new", "queued", "running", "done"};
  const tend_task_t *t = &d->t;
  json_t *argv = json_array();
  for (size_t i = 0; d->argv[i] != NULL; i++)
    json_array_append_new(argv, json_string(d->argv[i]));
  json_t *j = json_pack("{s:I,s:s,s:o}", "id", (json_int_t)d->id, "state", states[t->state],
                        "command", argv);
  json_object_set_new(j, "pid", t->pid > 0 ? json_integer(t->pid) : json_null());
  if (d->done) {
    outcome_t o = outcome_of(d);
    json_t *oj = outcome_json(&o);
    json_object_update(j, oj);
    json_decref(oj);
    json_object_set_new(j, "runtime_ms", json_integer((json_int_t)(t->runtime_ns / 1000000)));
    for (int i = 0; i < 2; i++) {
      tend_buf_t b = {0};
      tend_utf8_sanitize(&b, d->out[i] ? d->out[i] : "", d->outlen[i]);
      json_object_set_new(j, i ? "stderr" : "stdout", json_stringn(b.data ? b.data : "", b.len));
      tend_buf_free(&b);
    }
  } else if (t->state == TEND_TASK_RUNNING) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    json_object_set_new(j, "runtime_ms", json_integer((now - t->start_unix_ns) / 1000000));
  }
  return j;
}

static void pool_status(dpool_t *p, ctl_conn_t *c) {
  tend_sched_stats_t st = {0};
  if (p->s != NULL)
    tend_sched_stats(p->s, &st);
  json_t *tasks = json_array();
  const dtask_t *d;
  STAILQ_FOREACH(d, &p->tasks, link)
    json_array_append_new(tasks, task_json(d));
  ctl_reply(c,
            json_pack("{s:b,s:s,s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:o}", "ok", 1, "pool", p->name,
                      "closed", p->closed, "workers", p->workers, "queued",
                      (json_int_t)st.queued, "running", (json_int_t)st.running, "done",
                      (json_int_t)st.done, "succeeded", (json_int_t)st.succeeded, "failed",
                      (json_int_t)st.failed, "tasks", tasks),
            NULL, 0);
}

static void pool_close(dpool_t *p, ctl_conn_t *c) {
  if (!p->closed && p->s != NULL) {
    p->closed = true;
    tend_sched_close(p->s);
    LOG("info", "pool", F_STR("pool", p->name), F_STR("state", "closed"));
  }
  ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static void pool_join(dpool_t *p, ctl_conn_t *c) {
  if (!p->closed) {
    /* Python: ValueError("Pool is still running") */
    ctl_reply_error(c, "pool %s is still running: close it before joining", p->name);
    return;
  }
  joiner_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    ctl_reply_error(c, "out of memory");
    return;
  }
  j->conn = c;
  LIST_INSERT_HEAD(&p->joiners, j, link);
  if (p->finished)
    answer_joins(p);
}

static void pools_request(void *self, const tend_ctl_req_t *req, ctl_conn_t *c) {
  dpool_t *p = named_pool(self, c, req->pool);
  if (p == NULL)
    return;
  switch (req->cmd) {
  case CTL_CMD_SUBMIT: pool_submit(p, c, &req->argv); break;
  case CTL_CMD_POOL_STATUS: pool_status(p, c); break;
  case CTL_CMD_CLOSE: pool_close(p, c); break;
  default: pool_join(p, c); break; /* CTL_CMD_JOIN: the last of dpool_ops.cmds */
  }
}

static void pools_conn_gone(void *self, ctl_conn_t *c) {
  dpools_t *s = self;
  dpool_t *p;
  LIST_FOREACH(p, &s->list, link) {
    for (joiner_t *j = LIST_FIRST(&p->joiners), *next; j != NULL; j = next) {
      next = LIST_NEXT(j, link);
      if (j->conn == c) {
        LIST_REMOVE(j, link);
        free(j);
      }
    }
  }
}

static void pools_shutdown(void *self, service_done_t done) {
  dpools_t *s = self;
  s->stopping = true;
  s->done = done;
  /* Queued tasks are skipped, running ones stopped like programs are;
   * join_cb comes for each pool once all is done. */
  bool any = false;
  dpool_t *p;
  LIST_FOREACH(p, &s->list, link) {
    p->closed = true;
    if (p->s != NULL) {
      tend_sched_cancel(p->s, SIGTERM, 5000);
      any = true;
    }
  }
  if (!any)
    shutdown_done(s);
}

const service_ops_t dpool_ops = {
    .name = "pools",
    .cmds = CTL_BIT(CTL_CMD_SUBMIT) | CTL_BIT(CTL_CMD_POOL_STATUS) |
            CTL_BIT(CTL_CMD_CLOSE) | CTL_BIT(CTL_CMD_JOIN),
    .apply = pools_apply,
    .request = pools_request,
    .conn_gone = pools_conn_gone,
    .shutdown = pools_shutdown, /* frees every pool: nothing to close */
};
