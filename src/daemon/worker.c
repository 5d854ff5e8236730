/* SPDX-License-Identifier: MIT */
/*
 * [worker:NAME] sections: the daemon takes tasks from a Redis stream like
 * `tend worker` does, on its own loop, and logs what happens in its log.
 * Unlike the CLI, a daemon's worker never gives up on Redis: it logs and
 * reconnects with backoff (fail_fast off). Its tasks are children the
 * process core watches, so the daemon's orphan reaper leaves them alone.
 */
#include "daemon/worker.h"
#include "core/log.h"
#include "tend/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A running task gets this long to finish when its worker stops. */
#define STOP_GRACE_MS 10000

typedef struct dworker {
  char *name, *url, *stream, *group, *consumer;
  int workers;
  double visibility;
  tend_dist_worker_t *w;
  bool stopping;
  dworkers_t *set;
  LIST_ENTRY(dworker) link; /* on set->list */
} dworker_t;

static void dw_free(dworker_t *d) {
  free(d->name);
  free(d->url);
  free(d->stream);
  free(d->group);
  free(d->consumer);
  free(d);
}

static void log_cb(tend_dist_worker_t *w, tend_dist_level_t level, const char *msg) {
  dworker_t *d = tend_dist_worker_data(w);
  static const char *const levels[] = {"debug", "info", "warn", "error"};
  if (level == TEND_DIST_LOG_DEBUG)
    return; /* a line per task would drown the daemon log */
  LOG(levels[level], "worker", F_STR("worker", d->name), F_STR("msg", msg));
}

static void maybe_done(dworkers_t *s) {
  if (s->shutting_down && LIST_EMPTY(&s->list) && s->done.fn != NULL) {
    service_done_t done = s->done;
    s->done.fn = NULL; /* it runs once */
    done.fn(done.arg);
  }
}

static void stopped_cb(tend_dist_worker_t *w) {
  dworker_t *d = tend_dist_worker_data(w);
  dworkers_t *s = d->set;
  LIST_REMOVE(d, link);
  LOG("info", "worker", F_STR("worker", d->name), F_STR("state", "stopped"));
  dw_free(d);
  maybe_done(s);
}

static void dw_stop(dworker_t *d) {
  if (d->stopping)
    return;
  d->stopping = true;
  tend_dist_worker_stop(d->w, STOP_GRACE_MS, stopped_cb);
}

static bool same(const dworker_t *d, const tend_worker_conf_t *c) {
  return strcmp(d->url, c->redis) == 0 && strcmp(d->stream, c->stream) == 0 &&
         strcmp(d->group, c->group) == 0 && d->workers == c->workers &&
         d->visibility == c->visibility;
}

static void dw_start(dworkers_t *s, const tend_worker_conf_t *c) {
  dworker_t *d = calloc(1, sizeof(*d));
  char host[256] = "host";
  gethostname(host, sizeof(host) - 1);
  if (d == NULL || (d->name = strdup(c->name)) == NULL || (d->url = strdup(c->redis)) == NULL ||
      (d->stream = strdup(c->stream)) == NULL || (d->group = strdup(c->group)) == NULL ||
      asprintf(&d->consumer, "%s-%s", host, c->name) < 0) {
    if (d != NULL)
      dw_free(d);
    LOG("error", "worker", F_STR("worker", c->name), F_STR("error", "out of memory"));
    return;
  }
  d->set = s;
  d->workers = c->workers;
  d->visibility = c->visibility;
  tend_dist_worker_opts_t o = {
      .url = d->url,
      .stream = d->stream,
      .group = d->group,
      .name = d->consumer,
      .jobs = (unsigned)d->workers,
      .visibility_ms = (uint64_t)(d->visibility * 1000),
      .fail_fast = false,
      .log_cb = log_cb,
      .data = d,
  };
  char err[512] = "";
  int r = tend_dist_worker_start(s->loop, &o, &d->w, err, sizeof(err));
  if (r != 0) {
    LOG("error", "worker", F_STR("worker", c->name), F_STR("error", err[0] ? err : "cannot start"));
    dw_free(d);
    return;
  }
  LOG("info", "worker", F_STR("worker", d->name), F_STR("stream", d->stream),
      F_STR("group", d->group), F_INT("workers", d->workers), F_STR("state", "started"));
  LIST_INSERT_HEAD(&s->list, d, link);
}

void dworkers_init(dworkers_t *s, uv_loop_t *loop) {
  *s = (dworkers_t){.loop = loop};
  LIST_INIT(&s->list);
}

static void workers_apply(void *self, tend_config_t *c) {
  dworkers_t *s = self;
  /* dw_stop may free d at once (stopped_cb): take the next one first. */
  for (dworker_t *d = LIST_FIRST(&s->list), *next; d != NULL; d = next) {
    next = LIST_NEXT(d, link);
    if (d->stopping)
      continue;
    bool keep = false;
    for (size_t i = 0; i < c->nworkers && !keep; i++)
      keep = strcmp(c->workers[i].name, d->name) == 0 && same(d, &c->workers[i]);
    if (!keep)
      dw_stop(d); /* removed or changed: a changed one starts anew below */
  }
  for (size_t i = 0; i < c->nworkers; i++) {
    bool running = false;
    for (dworker_t *d = LIST_FIRST(&s->list); d != NULL && !running; d = LIST_NEXT(d, link))
      running = !d->stopping && strcmp(d->name, c->workers[i].name) == 0;
    if (!running)
      dw_start(s, &c->workers[i]);
  }
}

static void workers_shutdown(void *self, service_done_t done) {
  dworkers_t *s = self;
  s->shutting_down = true;
  s->done = done;
  for (dworker_t *d = LIST_FIRST(&s->list), *next; d != NULL; d = next) {
    next = LIST_NEXT(d, link);
    dw_stop(d);
  }
  maybe_done(s);
}

const service_ops_t dworker_ops = {
    .name = "workers",
    .apply = workers_apply,
    .shutdown = workers_shutdown, /* frees every worker: nothing to close */
};
