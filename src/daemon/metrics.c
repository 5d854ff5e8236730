/* SPDX-License-Identifier: MIT */
/*
 * The metrics page (see daemon/metrics.h). The format wants each family
 * whole, its # HELP and # TYPE once and then every sample (a scraper
 * refuses a family seen twice), so the processes, pools and channels are
 * taken first and then walked once per family.
 *
 * The processes' resident memory and CPU time come from a pass over /proc
 * of the page's own rather than from a status request: a scrape every few
 * seconds must not move the sample `tend status` computes its CPU
 * percentage over. Exits are counted as they happen (daemon/sv.c's exit
 * hook, kept in daemon/procs.c), restarts by the supervisor.
 *
 * Numbers are written as exact decimals (seconds from integer ms and ns):
 * no float formatting to round or print in an exponent.
 */
#include "daemon/metrics.h"
#include "core/log.h"
#include "core/procstat.h"
#include "daemon/chan.h"
#include "daemon/daemon.h"
#include "daemon/pool.h"
#include "daemon/sv.h"
#include "tend/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing the page ----------------------------------------------------- */

/* The page being written: after the first error, writes do nothing. */
typedef struct {
  tend_buf_t *b;
  int err;
} page_t;

static void put(page_t *pg, const char *s) {
  if (pg->err == 0)
    pg->err = tend_buf_append(pg->b, s, strlen(s));
}

static void family(page_t *pg, const char *metric, const char *type, const char *help) {
  put(pg, "# HELP ");
  put(pg, metric);
  put(pg, " ");
  put(pg, help);
  put(pg, "\n# TYPE ");
  put(pg, metric);
  put(pg, " ");
  put(pg, type);
  put(pg, "\n");
}

/* metric{labels,extra} value; extra (NULL: none) is a label whose value
 * needs no escaping. */
static void sample(page_t *pg, const char *metric, const char *labels, const char *extra,
                   const char *value) {
  put(pg, metric);
  put(pg, "{");
  put(pg, labels);
  if (extra != NULL) {
    put(pg, ",");
    put(pg, extra);
  }
  put(pg, "} ");
  put(pg, value);
  put(pg, "\n");
}

static const char *u64(char buf[24], uint64_t v) {
  snprintf(buf, 24, "%" PRIu64, v);
  return buf;
}

/* count units of 1/scale s (scale 1000 or 10^9) as seconds. */
static const char *seconds(char buf[48], uint64_t count, uint64_t scale) {
  snprintf(buf, 48, "%" PRIu64 ".%0*" PRIu64, count / scale, scale == 1000 ? 3 : 9,
           count % scale);
  return buf;
}

/* Append key="value" (after a comma unless b is empty), value as valid
 * UTF-8 with backslash, double quote and newline escaped as the format
 * says. 0 or -ENOMEM. */
static int label(tend_buf_t *b, const char *key, const char *value) {
  tend_buf_t utf8 = {0};
  int e = tend_utf8_sanitize(&utf8, value, strlen(value));
  if (e == 0 && b->len > 0)
    e = tend_buf_append(b, ",", 1);
  if (e == 0)
    e = tend_buf_append(b, key, strlen(key));
  if (e == 0)
    e = tend_buf_append(b, "=\"", 2);
  for (size_t i = 0; e == 0 && i < utf8.len; i++) {
    char c = utf8.data[i];
    e = c == '\\'  ? tend_buf_append(b, "\\\\", 2)
        : c == '"' ? tend_buf_append(b, "\\\"", 2)
        : c == '\n' ? tend_buf_append(b, "\\n", 2)
                    : tend_buf_append(b, &c, 1);
  }
  if (e == 0)
    e = tend_buf_append(b, "\"", 2); /* with its NUL */
  tend_buf_free(&utf8);
  if (e == 0)
    b->len--; /* the NUL stays after the end: the next label overwrites it */
  return e;
}

/* The labels of a process (group set) or of a pool or channel, malloc'd;
 * NULL when out of memory. */
static char *labels_of(const char *group, const char *name) {
  tend_buf_t b = {0};
  int e = group != NULL ? label(&b, "group", group) : 0;
  if (e == 0)
    e = label(&b, "name", name);
  if (e != 0) {
    tend_buf_free(&b);
    return NULL;
  }
  return b.data;
}

static void free_labels(char **labels, size_t n) {
  for (size_t i = 0; labels != NULL && i < n; i++)
    free(labels[i]);
  free(labels);
}

/* Families of plain numbers: the uint64_t at offset off of each row. */
typedef struct {
  const char *metric, *type, *help;
  size_t off;
} numbers_t;

static void numbers(page_t *pg, const numbers_t *f, size_t nf, const void *rows, size_t size,
                    size_t n, char *const *labels) {
  char v[24];
  for (size_t k = 0; k < nf; k++) {
    family(pg, f[k].metric, f[k].type, f[k].help);
    for (size_t i = 0; i < n; i++) {
      uint64_t x;
      memcpy(&x, (const char *)rows + i * size + f[k].off, sizeof(x));
      sample(pg, f[k].metric, labels[i], NULL, u64(v, x));
    }
  }
}

/* ---- processes -------------------------------------------------------------- */

typedef struct {
  const sv_proc_t *p;
  const dproc_t *side; /* its exits; NULL: none counted */
} prow_t;

static void procs_families(page_t *pg, const prow_t *rows, const procstat_t *st, size_t n,
                           char *const *labels) {
  char v[48], extra[48];
  family(pg, "tend_process_state", "gauge",
         "1 for the state the process is in, 0 for the other states supervisord names.");
  for (size_t i = 0; i < n; i++) {
    for (pstate_t s = PS_STOPPED; s <= PS_FATAL; s++) {
      snprintf(extra, sizeof(extra), "state=\"%s\"", pstate_name(s));
      sample(pg, "tend_process_state", labels[i], extra, rows[i].p->state == s ? "1" : "0");
    }
  }
  family(pg, "tend_process_restarts_total", "counter",
         "Restarts of the process, automatic or asked for.");
  for (size_t i = 0; i < n; i++)
    sample(pg, "tend_process_restarts_total", labels[i], NULL, u64(v, rows[i].p->restarts));
  family(pg, "tend_process_exits_total", "counter",
         "Children of the process that ended, by exit code (code) or by the signal that "
         "killed them (signal).");
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; rows[i].side != NULL && k < rows[i].side->nexits; k++) {
      const dexit_t *x = &rows[i].side->exits[k];
      char sig[32];
      if (x->signal != 0)
        snprintf(extra, sizeof(extra), "signal=\"%s\"", tend_signame(x->signal, sig, sizeof(sig)));
      else
        snprintf(extra, sizeof(extra), "code=\"%d\"", x->code);
      sample(pg, "tend_process_exits_total", labels[i], extra, u64(v, x->n));
    }
  }
  family(pg, "tend_process_uptime_seconds", "gauge",
         "Time since the process's current child started; 0 when none runs.");
  for (size_t i = 0; i < n; i++)
    sample(pg, "tend_process_uptime_seconds", labels[i], NULL,
           seconds(v, sv_uptime_ms(rows[i].p), 1000));
  /* Only for a child that runs (and that /proc could tell about): a
   * stopped process has no memory, not zero of it. */
  family(pg, "tend_process_resident_memory_bytes", "gauge",
         "Resident memory of the running child's process group.");
  for (size_t i = 0; i < n; i++)
    if (st[i].nprocs > 0)
      sample(pg, "tend_process_resident_memory_bytes", labels[i], NULL, u64(v, st[i].rss));
  family(pg, "tend_process_cpu_seconds_total", "counter",
         "User and system CPU time of the running child's process group (its live members); "
         "starts again from 0 with each new child.");
  for (size_t i = 0; i < n; i++)
    if (st[i].nprocs > 0)
      sample(pg, "tend_process_cpu_seconds_total", labels[i], NULL,
             seconds(v, st[i].cpu_ns, 1000000000));
}

static int procs_page(page_t *pg, dsv_t *s) {
  size_t n = 0;
  const sv_proc_t *p;
  TAILQ_FOREACH(p, &s->sv.procs, link)
    n += !p->removed; /* as status: what a reload removed is on its way out */
  prow_t *rows = calloc(n + 1, sizeof(*rows));
  procstat_t *st = calloc(n + 1, sizeof(*st));
  char **labels = calloc(n + 1, sizeof(*labels));
  int e = rows != NULL && st != NULL && labels != NULL ? 0 : -ENOMEM;
  size_t i = 0;
  TAILQ_FOREACH(p, &s->sv.procs, link) {
    if (e != 0 || p->removed)
      continue;
    const char *colon = strchr(p->name, ':');
    labels[i] = labels_of(p->conf->group, colon != NULL ? colon + 1 : p->name);
    if (labels[i] == NULL)
      e = -ENOMEM;
    rows[i] = (prow_t){.p = p, .side = dprocs_find(&s->side, p)};
    st[i].pgid = p->run != NULL ? p->pid : -1;
    i++;
  }
  if (e == 0 && procstat_collect(st, n) != 0) {
    /* No /proc to read: the page goes without memory and CPU. */
    for (i = 0; i < n; i++)
      st[i].nprocs = 0;
  }
  if (e == 0)
    procs_families(pg, rows, st, n, labels);
  free_labels(labels, n);
  free(st);
  free(rows);
  return e;
}

/* ---- pools and channels --------------------------------------------------- */

static int pools_page(page_t *pg, const dpools_t *s) {
  static const numbers_t f[] = {
      {"tend_pool_workers", "gauge", "Tasks the pool runs at once at most.",
       offsetof(dpool_stats_t, workers)},
      {"tend_pool_tasks_queued", "gauge", "Tasks waiting for a worker.",
       offsetof(dpool_stats_t, queued)},
      {"tend_pool_tasks_running", "gauge", "Tasks running.", offsetof(dpool_stats_t, running)},
      {"tend_pool_tasks_done_total", "counter", "Tasks finished, skipped ones included.",
       offsetof(dpool_stats_t, done)},
      {"tend_pool_tasks_failed_total", "counter",
       "Tasks that could not start, exited non-zero, were killed or timed out.",
       offsetof(dpool_stats_t, failed)},
  };
  dpool_stats_t *rows;
  int n = dpools_stats(s, &rows);
  if (n < 0)
    return n;
  char **labels = calloc((size_t)n + 1, sizeof(*labels));
  int e = labels != NULL ? 0 : -ENOMEM;
  for (int i = 0; e == 0 && i < n; i++)
    if ((labels[i] = labels_of(NULL, rows[i].name)) == NULL)
      e = -ENOMEM;
  if (e == 0)
    numbers(pg, f, sizeof(f) / sizeof(*f), rows, sizeof(*rows), (size_t)n, labels);
  free_labels(labels, (size_t)n);
  free(rows);
  return e;
}

typedef struct {
  uint64_t depth, capacity, puts, gets;
} crow_t;

static int chans_page(page_t *pg, const chanset_t *s) {
  static const numbers_t f[] = {
      {"tend_channel_depth", "gauge", "Messages in the channel.", offsetof(crow_t, depth)},
      {"tend_channel_capacity", "gauge", "Messages the channel holds at most.",
       offsetof(crow_t, capacity)},
      {"tend_channel_puts_total", "counter", "Messages put into the channel.",
       offsetof(crow_t, puts)},
      {"tend_channel_gets_total", "counter", "Messages taken from the channel.",
       offsetof(crow_t, gets)},
  };
  crow_t *rows = calloc(s->n + 1, sizeof(*rows));
  char **labels = calloc(s->n + 1, sizeof(*labels));
  int e = rows != NULL && labels != NULL ? 0 : -ENOMEM;
  for (size_t i = 0; e == 0 && i < s->n; i++) {
    const channel_t *c = s->chans[i];
    rows[i] = (crow_t){c->count, c->capacity, c->puts, c->gets};
    if ((labels[i] = labels_of(NULL, c->name)) == NULL)
      e = -ENOMEM;
  }
  if (e == 0)
    numbers(pg, f, sizeof(f) / sizeof(*f), rows, sizeof(*rows), s->n, labels);
  free_labels(labels, s->n);
  free(rows);
  return e;
}

/* ---- the page ----------------------------------------------------------------- */

int metrics_render(daemon_t *d, tend_buf_t *out) {
  page_t pg = {.b = out};
  int e = procs_page(&pg, daemon_sv(d));
  if (e == 0)
    e = pools_page(&pg, daemon_pools(d));
  if (e == 0)
    e = chans_page(&pg, &daemon_chans(d)->set);
  return e != 0 ? e : pg.err;
}

void metrics_serve(daemon_t *d, http_req_t *req) {
  tend_buf_t b = {0};
  int e = metrics_render(d, &b);
  if (e != 0) {
    static const char msg[] = "cannot make the metrics page\n";
    LOG("error", "metrics", F_STR("error", strerror(-e)));
    http_respond(req, 500, "text/plain", msg, sizeof(msg) - 1);
  } else {
    http_respond(req, 200, METRICS_CONTENT_TYPE, b.data, b.len);
  }
  tend_buf_free(&b);
}
