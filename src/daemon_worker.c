/* SPDX-License-Identifier: MIT */
/*
 * [worker:NAME] sections: the daemon takes tasks from a Redis stream like
 * `tend worker` does, on its own loop, and logs what happens in its log.
 * Unlike the CLI, a daemon's worker never gives up on Redis: it logs and
 * reconnects with backoff (fail_fast off). Its tasks are children the
 * process core watches, so the daemon's orphan reaper leaves them alone.
 */
#include "daemon_worker.h"
#include "log.h"
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
  struct dworker *next;
} dworker_t;

static dworker_t *workers;
static void (*shutdown_cb)(void);
static bool shutting_down;

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

static void maybe_done(void) {
  if (shutting_down && workers == NULL && shutdown_cb != NULL) {
    void (*cb)(void) = shutdown_cb;
    shutdown_cb = NULL;
    shutting_down = false; /* as at start: a daemon opened again starts afresh */
    cb();
  }
}

static void stopped_cb(tend_dist_worker_t *w) {
  dworker_t *d = tend_dist_worker_data(w);
  for (dworker_t **at = &workers; *at != NULL; at = &(*at)->next) {
    if (*at == d) {
      *at = d->next;
      break;
    }
  }
  LOG("info", "worker", F_STR("worker", d->name), F_STR("state", "stopped"));
  dw_free(d);
  maybe_done();
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

static void dw_start(uv_loop_t *loop, const tend_worker_conf_t *c) {
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
  int r = tend_dist_worker_start(loop, &o, &d->w, err, sizeof(err));
  if (r != 0) {
    LOG("error", "worker", F_STR("worker", c->name), F_STR("error", err[0] ? err : "cannot start"));
    dw_free(d);
    return;
  }
  LOG("info", "worker", F_STR("worker", d->name), F_STR("stream", d->stream),
      F_STR("group", d->group), F_INT("workers", d->workers), F_STR("state", "started"));
  d->next = workers;
  workers = d;
}

void dworker_apply(uv_loop_t *loop, const tend_config_t *c) {
  for (dworker_t *d = workers; d != NULL; d = d->next) {
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
    for (dworker_t *d = workers; d != NULL && !running; d = d->next)
      running = !d->stopping && strcmp(d->name, c->workers[i].name) == 0;
    if (!running)
      dw_start(loop, &c->workers[i]);
  }
}

void dworker_shutdown(void (*cb)(void)) {
  shutting_down = true;
  shutdown_cb = cb;
  for (dworker_t *d = workers; d != NULL; d = d->next)
    dw_stop(d);
  maybe_done();
}
