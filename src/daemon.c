/* SPDX-License-Identifier: MIT */
/*
 * tend daemon: the config, the supervisor, the control socket and the
 * daemon's own signals on one loop. This file is the glue: it answers
 * control requests with the supervisor's API and keeps the requests that
 * wait (tend wait, tend logs -f) until their event comes.
 *
 * Signals: SIGTERM/SIGINT shut down gracefully (a second one while shutting
 * down is logged and ignored: the stop deadlines still bound the wait),
 * SIGHUP reloads, SIGUSR2 reopens every log file (logrotate's postrotate),
 * SIGCHLD reaps orphans (tend is a child subreaper).
 */
#include "config.h"
#include "tend/daemon.h"
#include "ctl_server.h"
#include "daemon.h"
#include "daemon_chan.h"
#include "daemon_procs.h"
#include "daemon_pool.h"
#include "daemon_worker.h"
#include "fsutil.h"
#include "guard.h"
#include "log.h"
#include "notify.h"
#include "procstat.h"
#include "supervisor.h"
#include "sv_channels.h"
#include "tend/ctl.h"
#include "tend/proc.h"
#include "tend/text.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* A follower of `logs -f` whose client reads slower than this is dropped
 * rather than letting the daemon's memory grow. */
#define FOLLOW_BACKLOG_MAX (8u << 20)

typedef enum { SUB_WAIT, SUB_FOLLOW } sub_kind_t;

/* A request that waits on a process. */
typedef struct sub {
  sub_kind_t kind;
  ctl_conn_t *conn;
  sv_proc_t *proc;
  int stream;
  struct sub *next;
} sub_t;

/* A start/stop/restart that answers once every process got where it was
 * sent (RUNNING or FATAL; STOPPED), as supervisorctl does. */
typedef struct pending {
  ctl_conn_t *conn;
  int kind; /* 0 start, 1 stop, 2 restart */
  size_t n, left;
  sv_proc_t **procs;
  int *orig_pid;
  json_t *results; /* one object per process, "ok" filled when done */
  bool building;    /* still being set up: not finished by a state change */
  struct pending *next;
} pending_t;

struct daemon {
  uv_loop_t loop;
  sv_t sv;
  ctl_server_t ctl;
  uv_signal_t sigs[6];
  int nsigs;
  sub_t *subs;
  pending_t *pending;
  chanset_t chans;
  dprocs_t side; /* what we keep per process (daemon_procs.h) */
  char *config_path;
  unsigned config_flags; /* TEND_CONFIG_*: a reload reads as the start did */
  char *pidfile;
  int exit_status;
  bool stopping;
  bool ready_sent; /* READY=1 told to systemd */
  bool sv_done, pools_done, workers_done; /* shutdown: what has stopped */
  char last_status[160];
};

static daemon_t *the_daemon; /* for callbacks that carry no pointer */

/* ---- config ------------------------------------------------------------ */

static void print_diag(const tend_diag_t *d, bool to_log) {
  for (size_t i = 0; i < d->nnotices; i++) {
    if (to_log)
      LOG("notice", "config", F_STR("msg", d->notices[i]));
    else
      fprintf(stderr, "tend: notice: %s\n", d->notices[i]);
  }
  for (size_t i = 0; i < d->nerrors; i++) {
    if (to_log)
      LOG("error", "config", F_STR("msg", d->errors[i]));
    else
      fprintf(stderr, "tend: %s\n", d->errors[i]);
  }
}

/* minfds/minprocs: raise the soft limit, or refuse to start, saying which. */
static int apply_rlimits(const tend_config_t *c) {
  struct {
    int res;
    long want;
    const char *key;
  } lim[] = {{RLIMIT_NOFILE, c->minfds, "minfds"}, {RLIMIT_NPROC, c->minprocs, "minprocs"}};
  for (int i = 0; i < 2; i++) {
    struct rlimit rl;
    if (lim[i].want <= 0 || getrlimit(lim[i].res, &rl) != 0)
      continue;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)lim[i].want)
      continue;
    if (rl.rlim_cur == RLIM_INFINITY)
      continue;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)lim[i].want) {
      rl.rlim_max = (rlim_t)lim[i].want; /* only root may raise the hard limit */
    }
    rl.rlim_cur = (rlim_t)lim[i].want;
    if (setrlimit(lim[i].res, &rl) != 0) {
      fprintf(stderr, "tend: %s = %ld: cannot raise the limit: %s\n", lim[i].key, lim[i].want,
              strerror(errno));
      return -errno;
    }
  }
  return 0;
}

/* ---- subscriptions ----------------------------------------------------- */

static void sub_add(daemon_t *d, sub_kind_t kind, ctl_conn_t *c, sv_proc_t *p, int stream) {
  sub_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    ctl_reply_error(c, "out of memory");
    ctl_conn_end(c);
    return;
  }
  s->kind = kind;
  s->conn = c;
  s->proc = p;
  s->stream = stream;
  s->next = d->subs;
  d->subs = s;
}

/* Remove the subs that match (conn or proc), calling fn on each first. */
static void sub_drop(daemon_t *d, ctl_conn_t *c, sv_proc_t *p, void (*fn)(sub_t *s)) {
  for (sub_t **at = &d->subs; *at != NULL;) {
    sub_t *s = *at;
    if ((c != NULL && s->conn == c) || (p != NULL && s->proc == p)) {
      *at = s->next;
      if (fn != NULL)
        fn(s);
      free(s);
    } else {
      at = &s->next;
    }
  }
}

static void pending_finish(daemon_t *d, pending_t *pd);

static void conn_gone(ctl_conn_t *c) {
  daemon_t *d = the_daemon;
  sub_drop(d, c, NULL, NULL);
  dchan_conn_gone(c);
  dpool_conn_gone(c);
  /* A client that hung up while waiting: forget its pending action (the
   * action itself goes on). */
  for (pending_t *pd = d->pending, *next; pd != NULL; pd = next) {
    next = pd->next;
    if (pd->conn == c)
      pending_finish(d, pd);
  }
}

static json_t *exit_json(int64_t code, int sig) {
  char name[32];
  return json_pack("{s:b,s:o,s:o}", "ok", 1, "exit_code",
                   sig ? json_null() : json_integer(code), "signal",
                   sig ? json_string(tend_signame(sig, name, sizeof(name))) : json_null());
}

static void hook_exited(sv_proc_t *p, int64_t code, int sig) {
  daemon_t *d = the_daemon;
  for (sub_t **at = &d->subs; *at != NULL;) {
    sub_t *s = *at;
    if (s->proc == p && s->kind == SUB_WAIT) {
      *at = s->next;
      ctl_reply(s->conn, exit_json(code, sig), NULL, 0);
      ctl_conn_end(s->conn);
      free(s);
    } else {
      at = &s->next;
    }
  }
}

static void hook_output(sv_proc_t *p, int stream, const char *data, size_t len) {
  daemon_t *d = the_daemon;
  for (sub_t *s = d->subs, *next; s != NULL; s = next) {
    next = s->next;
    if (s->proc != p || s->kind != SUB_FOLLOW || s->stream != stream)
      continue;
    if (ctl_conn_backlog(s->conn) > FOLLOW_BACKLOG_MAX) {
      ctl_reply_error(s->conn, "dropped: the client reads slower than %s writes", p->name);
      ctl_conn_end(s->conn); /* conn_gone removes the sub */
      continue;
    }
    for (size_t off = 0; off < len; off += TEND_CTL_MAX_DATA) {
      size_t n = len - off < TEND_CTL_MAX_DATA ? len - off : TEND_CTL_MAX_DATA;
      ctl_reply(s->conn, json_pack("{s:b}", "ok", 1), data + off, n);
    }
  }
}

static void end_forgotten(sub_t *s) {
  ctl_reply_error(s->conn, "%s was removed from the configuration", s->proc->name);
  ctl_conn_end(s->conn);
}

static void pending_check(daemon_t *d, pending_t *pd, sv_proc_t *gone);

static void hook_forget(sv_proc_t *p) {
  daemon_t *d = the_daemon;
  dprocs_drop(&d->side, p);
  sub_drop(d, NULL, p, end_forgotten);
  for (pending_t *pd = d->pending, *next; pd != NULL; pd = next) {
    next = pd->next;
    pending_check(d, pd, p);
  }
}

/* ---- requests ---------------------------------------------------------- */

static json_t *proc_json(sv_proc_t *p) {
  char sig[32];
  json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "name", p->name, "group", p->conf->group,
                        "state", pstate_name(p->state), "uptime_ms",
                        (json_int_t)sv_uptime_ms(p), "restarts", (json_int_t)p->restarts,
                        "priority", (json_int_t)p->conf->priority);
  bool live = p->run != NULL;
  json_object_set_new(o, "pid", live ? json_integer(p->pid) : json_null());
  json_object_set_new(o, "exit_code",
                      p->has_exit && !p->last_signal ? json_integer(p->last_exit) : json_null());
  json_object_set_new(o, "signal", p->has_exit && p->last_signal
                                       ? json_string(tend_signame(p->last_signal, sig, sizeof(sig)))
                                       : json_null());
  if (p->waiting_for != NULL) {
    char reason[160];
    snprintf(reason, sizeof(reason), "waiting for %s", p->waiting_for);
    json_object_set_new(o, "reason", json_string(reason));
  }
  json_object_set_new(o, "stdout_logfile",
                      p->conf->out.path ? json_string(p->conf->out.path) : json_null());
  json_object_set_new(o, "stderr_logfile",
                      p->conf->err.path ? json_string(p->conf->err.path) : json_null());
  return o;
}

/* Marks on the processes a request names; a mark above `base` means
 * selected, and base + 2 means selected by its own name (not only by a
 * wildcard such as all, GROUP:* or a group name). */
struct selection {
  unsigned base;
  bool wildcard; /* the pattern being applied */
  bool nomem;    /* a mark could not be kept */
};

static unsigned mark_of(daemon_t *d, const sv_proc_t *p) {
  const dproc_t *e = dprocs_find(&d->side, p);
  return e != NULL ? e->mark : 0;
}

static void select_cb(sv_proc_t *p, void *arg) {
  struct selection *s = arg;
  unsigned want = s->wildcard ? s->base + 1 : s->base + 2;
  dproc_t *e = dprocs_get(&the_daemon->side, p);
  if (e == NULL)
    s->nomem = true;
  else if (e->mark <= s->base || e->mark < want)
    e->mark = want;
}

/* The processes the request's "names" select, in start order, or NULL
 * after replying with the error. An empty list means all. *named[i] tells
 * whether list[i] was named on its own (callers skip wildcard matches that
 * are already where the action would take them, as supervisorctl does). */
static sv_proc_t **select_names(daemon_t *d, ctl_conn_t *c, json_t *req, size_t *n,
                                bool **named) {
  static unsigned generation;
  json_t *names = json_object_get(req, "names");
  if (names != NULL && !json_is_array(names)) {
    ctl_reply_error(c, "bad request: \"names\" must be an array of strings");
    return NULL;
  }
  /* Each request gets marks no earlier one used: nothing to reset. */
  generation += 3;
  struct selection sel = {.base = generation};
  if (json_array_size(names) == 0) {
    sel.wildcard = true;
    sv_select(&d->sv, "all", select_cb, &sel);
  }
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *pat = json_string_value(v);
    if (pat == NULL) {
      ctl_reply_error(c, "bad request: \"names\" must be an array of strings");
      return NULL;
    }
    size_t len = strlen(pat);
    sel.wildcard = strcmp(pat, "all") == 0 || (len > 2 && strcmp(pat + len - 2, ":*") == 0) ||
                   (strchr(pat, ':') == NULL && sv_find(&d->sv, pat) == NULL);
    if (sv_select(&d->sv, pat, select_cb, &sel) == 0) {
      ctl_reply_error(c, "no such process: %s", pat);
      return NULL;
    }
  }
  if (sel.nomem) {
    ctl_reply_error(c, "out of memory");
    return NULL;
  }
  *n = 0;
  for (sv_proc_t *p = d->sv.procs; p != NULL; p = p->next)
    *n += mark_of(d, p) > sel.base;
  sv_proc_t **list = calloc(*n + 1, sizeof(*list));
  bool *explicit = calloc(*n + 1, sizeof(*explicit));
  if (list == NULL || explicit == NULL) {
    free(list);
    free(explicit);
    ctl_reply_error(c, "out of memory");
    return NULL;
  }
  size_t k = 0;
  for (sv_proc_t *p = d->sv.procs; p != NULL; p = p->next) {
    if (mark_of(d, p) > sel.base) {
      explicit[k] = mark_of(d, p) == sel.base + 2;
      list[k++] = p;
    }
  }
  if (named != NULL)
    *named = explicit;
  else
    free(explicit);
  return list;
}

/* RSS and CPU% of each listed process's group, into its status object.
 * CPU% is over the time since the previous status (or since the start). */
static void add_resources(sv_proc_t **list, json_t **objs, size_t n) {
  procstat_t *st = calloc(n + 1, sizeof(*st));
  if (st == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    st[i].pgid = list[i]->run != NULL ? list[i]->pid : -1;
  if (procstat_collect(st, n) == 0) {
    uint64_t now = uv_hrtime();
    for (size_t i = 0; i < n; i++) {
      sv_proc_t *p = list[i];
      if (p->run == NULL || st[i].nprocs == 0) {
        json_object_set_new(objs[i], "rss", json_null());
        json_object_set_new(objs[i], "cpu_percent", json_null());
        continue;
      }
      dproc_t *e = dprocs_get(&the_daemon->side, p);
      bool fresh = e != NULL && e->cpu_sample_at > p->run->start_ns;
      uint64_t since = fresh ? e->cpu_sample_at : p->run->start_ns;
      uint64_t base = fresh ? e->cpu_sample_ns : 0;
      double pct = now > since && st[i].cpu_ns >= base
                       ? 100.0 * (double)(st[i].cpu_ns - base) / (double)(now - since)
                       : 0;
      if (e != NULL) {
        e->cpu_sample_ns = st[i].cpu_ns;
        e->cpu_sample_at = now;
      }
      json_object_set_new(objs[i], "rss", json_integer((json_int_t)st[i].rss));
      json_object_set_new(objs[i], "cpu_percent", json_real((double)(long)(pct * 10) / 10));
      json_object_set_new(objs[i], "group_processes", json_integer(st[i].nprocs));
    }
  }
  free(st);
}

static void req_status(daemon_t *d, ctl_conn_t *c, json_t *req) {
  size_t n;
  sv_proc_t **list = select_names(d, c, req, &n, NULL);
  if (list == NULL)
    return;
  json_t **objs = calloc(n + 1, sizeof(*objs));
  json_t *arr = json_array();
  if (objs != NULL) {
    for (size_t i = 0; i < n; i++)
      objs[i] = proc_json(list[i]);
    add_resources(list, objs, n);
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, objs[i]);
  }
  free(objs);
  free(list);
  ctl_reply(c, json_pack("{s:b,s:o}", "ok", 1, "processes", arr), NULL, 0);
}

/* Has p reached what action kind asked for? 0 not yet, 1 yes, -1 never
 * will (*why says why). */
static int action_done(int kind, sv_proc_t *p, int orig_pid, const char **why) {
  pstate_t st = p->state;
  if (kind == 1)
    return st == PS_STOPPED || st == PS_EXITED || st == PS_FATAL;
  if (st == PS_FATAL) {
    *why = "failed to start (FATAL: see the daemon log)";
    return -1;
  }
  if (st == PS_STOPPED && !p->want_up) {
    *why = "stopped before it was running";
    return -1;
  }
  return st == PS_RUNNING && (kind == 0 || p->pid != orig_pid);
}

static void pending_finish(daemon_t *d, pending_t *pd) {
  bool all_ok = true;
  size_t i;
  json_t *o;
  json_array_foreach(pd->results, i, o) all_ok = all_ok && json_is_true(json_object_get(o, "ok"));
  ctl_reply(pd->conn, json_pack("{s:b,s:O}", "ok", all_ok, "results", pd->results), NULL, 0);
  for (pending_t **at = &d->pending; *at != NULL; at = &(*at)->next) {
    if (*at == pd) {
      *at = pd->next;
      break;
    }
  }
  json_decref(pd->results);
  free(pd->procs);
  free(pd->orig_pid);
  free(pd);
}

/* Re-check one pending action's processes; finish it when all are done. */
static void pending_check(daemon_t *d, pending_t *pd, sv_proc_t *gone) {
  if (pd->building && gone == NULL)
    return; /* req_action checks every process once they are all asked */
  for (size_t i = 0; i < pd->n; i++) {
    json_t *o = json_array_get(pd->results, i);
    sv_proc_t *p = pd->procs[i];
    if (p == NULL || json_object_get(o, "ok") != NULL)
      continue;
    const char *why = "removed from the configuration";
    int r = p == gone ? -1 : action_done(pd->kind, p, pd->orig_pid[i], &why);
    if (r == 0)
      continue;
    json_object_set_new(o, "ok", json_boolean(r > 0));
    if (r < 0)
      json_object_set_new(o, "error", json_string(why));
    pd->procs[i] = NULL;
    pd->left--;
  }
  if (pd->left == 0 && !pd->building)
    pending_finish(d, pd);
}

/* systemd: READY=1 once every autostart program has settled (RUNNING,
 * FATAL, or stopped again), and a STATUS= line when the counts change. */
static void notify_states(daemon_t *d) {
  int running = 0, starting = 0, fatal = 0, other = 0;
  for (sv_proc_t *p = d->sv.procs; p != NULL; p = p->next) {
    switch (p->state) {
    case PS_RUNNING: running++; break;
    case PS_STARTING:
    case PS_BACKOFF: starting += p->want_up; other += !p->want_up; break;
    case PS_FATAL: fatal++; break;
    default: other++;
    }
  }
  char msg[160];
  int n = snprintf(msg, sizeof(msg), "STATUS=%d running, %d starting, %d fatal, %d stopped",
                   running, starting, fatal, other);
  if (!d->ready_sent && starting == 0 && !d->stopping) {
    d->ready_sent = true;
    snprintf(msg + n, sizeof(msg) - (size_t)n, "\nREADY=1");
  }
  if (strcmp(msg, d->last_status) != 0) {
    snprintf(d->last_status, sizeof(d->last_status), "%s", msg);
    notify_send(msg);
  }
}

static void hook_state(sv_proc_t *p, pstate_t from, pstate_t to) {
  daemon_t *d = the_daemon;
  (void)from;
  (void)to;
  notify_states(d);
  for (pending_t *pd = d->pending, *next; pd != NULL; pd = next) {
    next = pd->next;
    for (size_t i = 0; i < pd->n; i++) {
      if (pd->procs[i] == p) {
        pending_check(d, pd, NULL);
        break;
      }
    }
  }
}

/* What a wildcard picked and is already where the action goes is left out
 * quietly: `tend start all` starts what is not running, as supervisorctl. */
static void pd_skip_settled(const char *cmd, sv_proc_t **list, const bool *named, size_t *n) {
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) {
    pstate_t st = list[i]->state;
    bool up = st == PS_STARTING || st == PS_RUNNING;
    bool down = !up && st != PS_BACKOFF && st != PS_STOPPING;
    bool settled = (strcmp(cmd, "start") == 0 && up) || (strcmp(cmd, "stop") == 0 && down);
    if (named[i] || !settled)
      list[k++] = list[i];
  }
  *n = k;
}

static void req_action(daemon_t *d, ctl_conn_t *c, json_t *req, const char *cmd) {
  size_t n;
  bool *named;
  sv_proc_t **list = select_names(d, c, req, &n, &named);
  if (list == NULL)
    return;
  pd_skip_settled(cmd, list, named, &n);
  free(named);
  pending_t *pd = calloc(1, sizeof(*pd));
  int *orig = calloc(n + 1, sizeof(int));
  if (pd == NULL || orig == NULL) {
    free(pd);
    free(orig);
    free(list);
    ctl_reply_error(c, "out of memory");
    return;
  }
  pd->conn = c;
  pd->kind = strcmp(cmd, "start") == 0 ? 0 : strcmp(cmd, "stop") == 0 ? 1 : 2;
  pd->n = n;
  pd->procs = list;
  pd->orig_pid = orig;
  pd->results = json_array();
  pd->next = d->pending;
  d->pending = pd;
  pd->building = true; /* sv_start/sv_stop below change states at once */
  bool wait = json_is_true(json_object_get(req, "wait"));
  /* Everything this request starts is wanted before the first start: a
   * program that depends on another one of the same request waits for it
   * instead of being refused. */
  for (size_t i = 0; i < n && pd->kind != 1 && !d->sv.shutting_down; i++)
    if (list[i]->state != PS_STARTING && list[i]->state != PS_RUNNING)
      list[i]->want_up = true;
  for (size_t i = 0; i < n; i++) {
    sv_proc_t *p = list[i];
    const char *why = NULL;
    orig[i] = p->run != NULL ? p->pid : 0;
    json_t *o = json_pack("{s:s}", "name", p->name);
    json_array_append_new(pd->results, o);
    int r = pd->kind == 0 ? sv_start(p, &why) : pd->kind == 1 ? sv_stop(p, &why)
                                                               : sv_restart(p, &why);
    if (r != 0 || !wait) {
      json_object_set_new(o, "ok", json_boolean(r == 0));
      if (r != 0)
        json_object_set_new(o, "error", json_string(why));
      list[i] = NULL;
    } else {
      pd->left++;
    }
  }
  pd->building = false;
  pending_check(d, pd, NULL);
}

static void first_match(sv_proc_t *p, void *arg) {
  sv_proc_t **found = arg;
  if (*found == NULL)
    *found = p;
}

/* The one process a request's "name" names (also "GROUP:PROCESS" for a
 * process shown with its bare name), or NULL after replying. */
static sv_proc_t *named(daemon_t *d, ctl_conn_t *c, json_t *req) {
  const char *name = json_string_value(json_object_get(req, "name"));
  if (name == NULL) {
    ctl_reply_error(c, "bad request: \"name\" (a string) is required");
    return NULL;
  }
  sv_proc_t *p = sv_find(&d->sv, name);
  if (p == NULL && strchr(name, ':') != NULL && strcmp(strchr(name, ':'), ":*") != 0)
    sv_select(&d->sv, name, first_match, &p);
  if (p == NULL)
    ctl_reply_error(c, "no such process: %s", name);
  return p;
}

static void req_send(daemon_t *d, ctl_conn_t *c, json_t *req, const char *data, size_t len) {
  sv_proc_t *p = named(d, c, req);
  if (p == NULL)
    return;
  const char *why = NULL;
  bool eof = json_is_true(json_object_get(req, "eof"));
  if (sv_send(p, data, len, eof, &why) != 0) {
    ctl_reply_error(c, "cannot send to %s: %s", p->name, why);
    return;
  }
  ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static void req_logs(daemon_t *d, ctl_conn_t *c, json_t *req) {
  sv_proc_t *p = named(d, c, req);
  if (p == NULL)
    return;
  const char *stream = json_string_value(json_object_get(req, "stream"));
  int si = stream != NULL && strcmp(stream, "stderr") == 0 ? 1 : 0;
  json_t *jl = json_object_get(req, "lines");
  int lines = json_is_integer(jl) ? (int)json_integer_value(jl) : 10;
  bool follow = json_is_true(json_object_get(req, "follow"));
  const tend_logconf_t *lc = si ? &p->conf->err : &p->conf->out;
  if (si == 1 && p->conf->redirect_stderr) {
    ctl_reply_error(c, "%s has redirect_stderr = true: its stderr is in its stdout log",
                    p->name);
    return;
  }
  size_t len = 0;
  char *tail = NULL;
  if (lc->path != NULL && lines > 0)
    tail = outlog_tail(lc->path, lc->backups, lines, &len);
  else if (lc->path == NULL && !follow) {
    ctl_reply_error(c, "%s has no %s log file (%s_logfile = NONE)", p->name,
                    si ? "stderr" : "stdout", si ? "stderr" : "stdout");
    return;
  }
  size_t off = 0;
  do {
    size_t n = len - off < TEND_CTL_MAX_DATA ? len - off : TEND_CTL_MAX_DATA;
    ctl_reply(c, json_pack("{s:b}", "ok", 1), tail ? tail + off : NULL, n);
    off += n;
  } while (off < len);
  free(tail);
  if (follow)
    sub_add(d, SUB_FOLLOW, c, p, si);
  else
    ctl_conn_end(c);
}

static void req_wait(daemon_t *d, ctl_conn_t *c, json_t *req) {
  sv_proc_t *p = named(d, c, req);
  if (p == NULL)
    return;
  if (p->run == NULL) {
    /* Not running: report how it last ended, as Process.join() would. */
    if (!p->has_exit) {
      ctl_reply_error(c, "%s has not run yet", p->name);
      return;
    }
    ctl_reply(c, exit_json(p->last_exit, p->last_signal), NULL, 0);
    ctl_conn_end(c);
    return;
  }
  sub_add(d, SUB_WAIT, c, p, 0);
}

static int reload(daemon_t *d, ctl_conn_t *c) {
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  int r = tend_config_load_flags(d->config_path, d->config_flags, &cfg, &diag);
  print_diag(&diag, true);
  if (r != 0) {
    LOG("error", "reload", F_STR("config", d->config_path),
        F_STR("action", "kept the running configuration"));
    if (c != NULL) {
      tend_buf_t msg = {0};
      for (size_t i = 0; i < diag.nerrors; i++) {
        tend_buf_append(&msg, diag.errors[i], strlen(diag.errors[i]));
        tend_buf_append(&msg, "\n", 1);
      }
      if (diag.nerrors == 0)
        tend_buf_append(&msg, strerror(-r), strlen(strerror(-r)));
      tend_buf_append(&msg, "", 1);
      ctl_reply(c,
                json_pack("{s:b,s:s}", "ok", 0, "error",
                          msg.data ? msg.data : "invalid configuration"),
                NULL, 0);
      tend_buf_free(&msg);
    }
    tend_diag_free(&diag);
    return r;
  }
  tend_diag_free(&diag);
  if (chanset_apply(&d->chans, cfg) != 0)
    LOG("error", "reload", F_STR("error", "cannot create the new channels: out of memory"));
  dpool_apply(&d->loop, cfg);
  dworker_apply(&d->loop, cfg);
  sv_diff_t diff;
  sv_apply(&d->sv, cfg, &diff);
  LOG("info", "reload", F_STR("config", d->config_path), F_INT("added", diff.nadded),
      F_INT("changed", diff.nchanged), F_INT("removed", diff.nremoved));
  if (c != NULL) {
    json_t *a = json_array(), *ch = json_array(), *rm = json_array();
    for (int i = 0; i < diff.nadded; i++)
      json_array_append_new(a, json_string(diff.added[i]));
    for (int i = 0; i < diff.nchanged; i++)
      json_array_append_new(ch, json_string(diff.changed[i]));
    for (int i = 0; i < diff.nremoved; i++)
      json_array_append_new(rm, json_string(diff.removed[i]));
    ctl_reply(c, json_pack("{s:b,s:o,s:o,s:o}", "ok", 1, "added", a, "changed", ch, "removed", rm),
              NULL, 0);
  }
  sv_diff_free(&diff);
  return 0;
}

static void reopen_one(sv_proc_t *p, void *arg) {
  int r = sv_reopen_logs(p);
  if (r != 0) {
    LOG("error", "logrotate", F_STR("program", p->name), F_STR("error", strerror(-r)));
    if (arg != NULL)
      (*(int *)arg)++;
  }
}

/* Reopen the logs of what pattern names (all: the daemon's log too). */
static int logrotate(daemon_t *d, const char *pattern) {
  int failed = 0;
  if (strcmp(pattern, "all") == 0 && log_reopen() != 0)
    failed++;
  int n = sv_select(&d->sv, pattern, reopen_one, &failed);
  LOG("info", "logrotate", F_STR("names", pattern), F_INT("processes", n),
      F_INT("failed", failed));
  return n == 0 && strcmp(pattern, "all") != 0 ? -ENOENT : failed > 0 ? -EIO : 0;
}

static void req_logrotate(daemon_t *d, ctl_conn_t *c, json_t *req) {
  json_t *names = json_object_get(req, "names");
  if (json_array_size(names) == 0) {
    logrotate(d, "all");
  } else {
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
      const char *n = json_string_value(v);
      if (n == NULL || logrotate(d, n) == -ENOENT) {
        ctl_reply_error(c, "no such process: %s", n ? n : "(not a string)");
        return;
      }
    }
  }
  ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static void shutdown_daemon(daemon_t *d);

static void on_request(ctl_conn_t *c, json_t *req, const char *data, size_t len) {
  daemon_t *d = the_daemon;
  const char *cmd = json_string_value(json_object_get(req, "cmd"));
  if (d->stopping && strcmp(cmd, "status") != 0 && strcmp(cmd, "wait") != 0 &&
      strcmp(cmd, "logs") != 0) {
    ctl_reply_error(c, "the daemon is shutting down");
    return;
  }
  if (strcmp(cmd, "status") == 0)
    req_status(d, c, req);
  else if (strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 ||
           strcmp(cmd, "restart") == 0)
    req_action(d, c, req, cmd);
  else if (strcmp(cmd, "send") == 0)
    req_send(d, c, req, data, len);
  else if (strcmp(cmd, "logs") == 0)
    req_logs(d, c, req);
  else if (strcmp(cmd, "wait") == 0)
    req_wait(d, c, req);
  else if (strcmp(cmd, "reload") == 0)
    reload(d, c);
  else if (strcmp(cmd, "logrotate") == 0)
    req_logrotate(d, c, req);
  else if (strcmp(cmd, "submit") == 0)
    dpool_submit(c, req);
  else if (strcmp(cmd, "pool-status") == 0)
    dpool_status(c, req);
  else if (strcmp(cmd, "close") == 0)
    dpool_close(c, req);
  else if (strcmp(cmd, "join") == 0)
    dpool_join(c, req);
  else if (strcmp(cmd, "put") == 0)
    dchan_put(&d->chans, c, req, data, len);
  else if (strcmp(cmd, "get") == 0)
    dchan_get(&d->chans, c, req);
  else if (strcmp(cmd, "shutdown") == 0) {
    ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
    LOG("info", "shutdown", F_STR("reason", "tend shutdown"));
    shutdown_daemon(d);
  } else
    ctl_reply_error(c, "unknown command '%s'", cmd);
}

/* ---- lifecycle --------------------------------------------------------- */

static void closed_cb(uv_handle_t *h) { (void)h; }

static void ctl_closed_cb(ctl_server_t *s) { (void)s; }

static void finish_shutdown(daemon_t *d);

/* The programs and the pools stop side by side; the daemon closes when
 * both are done. */
static void sv_done_cb(sv_t *sv) {
  (void)sv;
  dprocs_free(&the_daemon->side); /* every process is forgotten */
  the_daemon->sv_done = true;
  finish_shutdown(the_daemon);
}

static void pools_done_cb(void) {
  the_daemon->pools_done = true;
  finish_shutdown(the_daemon);
}

static void workers_done_cb(void) {
  the_daemon->workers_done = true;
  finish_shutdown(the_daemon);
}

static void finish_shutdown(daemon_t *d) {
  if (!d->sv_done || !d->pools_done || !d->workers_done)
    return;
  while (d->pending != NULL)
    pending_finish(d, d->pending);
  sub_drop(d, NULL, NULL, NULL);
  dchan_end_all();
  chanset_close(&d->chans, closed_cb);
  ctl_server_close(&d->ctl, ctl_closed_cb);
  for (int i = 0; i < d->nsigs; i++)
    uv_close((uv_handle_t *)&d->sigs[i], closed_cb);
  d->nsigs = 0;
  LOG("info", "shutdown", F_STR("state", "complete"));
}

static void shutdown_daemon(daemon_t *d) {
  if (d->stopping)
    return;
  d->stopping = true;
  notify_send("STOPPING=1\nSTATUS=stopping every program");
  dpool_shutdown(pools_done_cb);
  dworker_shutdown(workers_done_cb);
  sv_shutdown(&d->sv, sv_done_cb);
}

static void signal_cb(uv_signal_t *s, int signum) {
  daemon_t *d = s->data;
  char name[32];
  switch (signum) {
  case SIGCHLD:
    sv_reap_orphans(&d->sv);
    break;
  case SIGHUP:
    LOG("info", "signal", F_STR("signal", "SIGHUP"), F_STR("action", "reload"));
    reload(d, NULL);
    break;
  case SIGUSR2:
    LOG("info", "signal", F_STR("signal", "SIGUSR2"), F_STR("action", "logrotate"));
    logrotate(d, "all");
    break;
  default:
    if (d->stopping) {
      LOG("info", "signal", F_STR("signal", tend_signame(signum, name, sizeof(name))),
          F_STR("action", "already shutting down"));
      break;
    }
    LOG("info", "signal", F_STR("signal", tend_signame(signum, name, sizeof(name))),
        F_STR("action", "shutdown"));
    shutdown_daemon(d);
  }
}

/* The supervisor, channels, pools and workers of cfg (taken) on d's loop. */
static void core_start(daemon_t *d, tend_config_t *cfg) {
  static const sv_hooks_t hooks = {.exited = hook_exited,
                                   .output = hook_output,
                                   .state = hook_state,
                                   .forget = hook_forget};
  sv_init(&d->sv, &d->loop, &hooks);
  chanset_init(&d->chans, &d->loop);
  svchan_attach(&d->sv, &d->chans);
  if (chanset_apply(&d->chans, cfg) != 0)
    LOG("error", "start", F_STR("error", "cannot create the channels: out of memory"));
  dpool_apply(&d->loop, cfg);
  dworker_apply(&d->loop, cfg);
  sv_apply(&d->sv, cfg, NULL);
}

/* ---- the core alone (daemon.h) ----------------------------------------- */

daemon_t *daemon_open(tend_config_t *cfg, const char *config_path) {
  daemon_t *d = calloc(1, sizeof(*d));
  if (d == NULL || (d->config_path = strdup(config_path)) == NULL ||
      uv_loop_init(&d->loop) != 0) {
    if (d != NULL)
      free(d->config_path);
    free(d);
    tend_config_free(cfg);
    return NULL;
  }
  the_daemon = d;
  ctl_server_init(&d->ctl, &d->loop, on_request, conn_gone);
  core_start(d, cfg);
  return d;
}

uv_loop_t *daemon_loop(daemon_t *d) { return &d->loop; }

int daemon_request(daemon_t *d, json_t *req, const char *data, size_t len, tend_buf_t *out) {
  /* finish_shutdown has closed every connection: as with the socket, no
   * request can come any more. */
  if (d->sv_done && d->pools_done && d->workers_done)
    return -ESHUTDOWN;
  ctl_conn_t *c = ctl_conn_sink(&d->ctl, out);
  if (c == NULL)
    return -ENOMEM;
  on_request(c, req, data, len);
  return 0;
}

int daemon_close(daemon_t *d) {
  shutdown_daemon(d);
  uv_run(&d->loop, UV_RUN_DEFAULT);
  tend_proc_release();
  uv_run(&d->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&d->loop) != 0)
    return -EBUSY;
  the_daemon = NULL;
  free(d->config_path);
  free(d);
  return 0;
}

/* socket_owner = USER or USER:GROUP: who else may connect (with a
 * socket_mode that lets them). */
static int chown_socket(const char *path, const char *owner) {
  char *spec = strdup(owner);
  if (spec == NULL)
    return -ENOMEM;
  char *group = strchr(spec, ':');
  if (group != NULL)
    *group++ = '\0';
  struct passwd *pw = getpwnam(spec);
  struct group *gr = group != NULL ? getgrnam(group) : NULL;
  int r = 0;
  if (pw == NULL) {
    fprintf(stderr, "tend: socket_owner: no such user '%s'\n", spec);
    r = -EINVAL;
  } else if (group != NULL && gr == NULL) {
    fprintf(stderr, "tend: socket_owner: no such group '%s'\n", group);
    r = -EINVAL;
  } else if (chown(path, pw->pw_uid, gr != NULL ? gr->gr_gid : pw->pw_gid) != 0) {
    r = -errno;
    fprintf(stderr, "tend: socket_owner: chown %s: %s\n", path, strerror(errno));
  }
  free(spec);
  return r;
}

static int write_pidfile(const char *path) {
  char buf[32];
  fs_mkdir_parents(path);
  int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  int r = write(fd, buf, (size_t)n) == n ? 0 : -errno;
  close(fd);
  return r;
}

int tend_daemon_run(const char *config_path, unsigned config_flags) {
  daemon_t d;
  memset(&d, 0, sizeof(d));
  the_daemon = &d;

  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  d.config_flags = config_flags;
  int r = tend_config_load_flags(config_path, config_flags, &cfg, &diag);
  print_diag(&diag, false);
  tend_diag_free(&diag);
  if (r != 0) {
    if (r != -EINVAL)
      fprintf(stderr, "tend: cannot read config %s: %s\n", config_path, strerror(-r));
    fprintf(stderr, "tend: refusing to start: the configuration is invalid\n");
    return 2;
  }
  if (apply_rlimits(cfg) != 0) {
    tend_config_free(cfg);
    return 2;
  }
  if (cfg->umask >= 0)
    umask((mode_t)cfg->umask);
  d.config_path = strdup(cfg->path);
  if (cfg->logfile != NULL)
    fs_mkdir_parents(cfg->logfile);
  if (cfg->log_syslog)
    log_open_syslog(cfg->log_format);
  else if ((r = log_open(cfg->logfile, cfg->log_format)) != 0) {
    fprintf(stderr, "tend: cannot open log file %s: %s\n", cfg->logfile, strerror(-r));
    tend_config_free(cfg);
    free(d.config_path);
    return 2;
  }

  uv_loop_init(&d.loop);
  r = ctl_server_start(&d.ctl, &d.loop, cfg->socket, cfg->socket_mode, on_request, conn_gone);
  if (r == 0 && cfg->socket_owner != NULL && chown_socket(cfg->socket, cfg->socket_owner) != 0)
    r = -EPERM; /* reported by chown_socket */
  if (r != 0) {
    if (r == -EADDRINUSE)
      fprintf(stderr, "tend: another tend daemon is running on %s\n", cfg->socket);
    else if (r == -EPERM)
      ; /* already said */
    else if (r == -EEXIST)
      fprintf(stderr, "tend: %s exists and is not a socket: refusing to replace it\n",
              cfg->socket);
    else
      fprintf(stderr, "tend: cannot listen on %s: %s\n", cfg->socket, strerror(-r));
    ctl_server_close(&d.ctl, NULL);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    uv_loop_close(&d.loop);
    tend_config_free(cfg);
    free(d.config_path);
    log_close();
    return 1;
  }
  if (cfg->pidfile != NULL) {
    d.pidfile = strdup(cfg->pidfile);
    if ((r = write_pidfile(d.pidfile)) != 0)
      LOG("error", "pidfile", F_STR("file", d.pidfile), F_STR("error", strerror(-r)));
  }

  /* The guard outlives a SIGKILLed daemon just long enough to kill what
   * it supervised (PR_SET_PDEATHSIG reaches only direct children). */
  if ((r = guard_start()) == 0)
    tend_proc_set_watch(guard_add, guard_del);
  else
    LOG("warn", "guard", F_STR("error", strerror(-r)));

  /* Grandchildren whose parent dies come to us, not to init, so nothing a
   * program starts can escape supervision or pile up as a zombie. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    LOG("warn", "subreaper", F_STR("error", strerror(errno)));
  signal(SIGPIPE, SIG_IGN);
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR2};
  for (int i = 0; i < 5; i++) {
    uv_signal_init(&d.loop, &d.sigs[i]);
    d.sigs[i].data = &d;
    uv_signal_start(&d.sigs[i], signal_cb, sigs[i]);
    d.nsigs++;
  }

  LOG("info", "start", F_STR("version", TEND_VERSION), F_INT("pid", getpid()),
      F_STR("config", cfg->path), F_STR("socket", cfg->socket),
      F_INT("programs", (long long)cfg->nprograms));
  core_start(&d, cfg);
  notify_states(&d); /* nothing to start at all: ready at once */

  uv_run(&d.loop, UV_RUN_DEFAULT);
  tend_proc_release();
  uv_run(&d.loop, UV_RUN_DEFAULT);
  r = uv_loop_close(&d.loop);
  if (r != 0)
    LOG("error", "exit", F_STR("error", "handles left open at exit"));
  tend_proc_set_watch(NULL, NULL);
  guard_stop();
  if (d.pidfile != NULL)
    unlink(d.pidfile);
  free(d.pidfile);
  free(d.config_path);
  log_close();
  return d.exit_status;
}
