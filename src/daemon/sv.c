/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's glue to the control socket: it answers status, start,
 * stop, restart, send, logs, wait and logrotate with the supervisor's API,
 * and keeps the requests that wait (tend wait, tend logs -f, a start that
 * waits until the programs run) until their event comes, through the
 * supervisor's hooks.
 */
#include "daemon/sv.h"
#include "core/log.h"
#include "daemon/notify.h"
#include "core/procstat.h"
#include "supervisor/channels.h"
#include "tend/text.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The dsv_t that sv is in (the hooks get only the process). */
static dsv_t *dsv_of(sv_t *sv) { return (dsv_t *)(void *)((char *)sv - offsetof(dsv_t, sv)); }

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
  unsigned gen; /* the last hook_output that served it */
  LIST_ENTRY(sub) link; /* on d->subs */
} sub_t;

/* A start/stop/restart that answers once every process got where it was
 * sent (RUNNING or FATAL; STOPPED), as supervisorctl does. */
typedef struct pending {
  ctl_conn_t *conn;
  tend_ctl_cmd_t kind; /* CTL_CMD_START, _STOP or _RESTART */
  bool first_failure;  /* a start ends at BACKOFF (tend_ctl_req_t's) */
  size_t n, left;
  sv_proc_t **procs;
  int *orig_pid;
  json_t *results; /* one object per process, "ok" filled when done */
  bool building;    /* still being set up: not finished by a state change */
  LIST_ENTRY(pending) link; /* on d->pending */
} pending_t;

/* ---- subscriptions ----------------------------------------------------- */

static void sub_add(dsv_t *d, sub_kind_t kind, ctl_conn_t *c, sv_proc_t *p, int stream) {
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
  LIST_INSERT_HEAD(&d->subs, s, link);
}

/* Remove the subs that match (conn or proc), calling fn on each first.
 * fn may end a connection, and that drops the connection's other subs at
 * once (sv_conn_gone): the walk goes on from the head. */
static void sub_drop(dsv_t *d, ctl_conn_t *c, sv_proc_t *p, void (*fn)(sub_t *s)) {
  for (sub_t *s = LIST_FIRST(&d->subs), *next; s != NULL; s = next) {
    next = LIST_NEXT(s, link);
    if ((c == NULL || s->conn != c) && (p == NULL || s->proc != p))
      continue;
    LIST_REMOVE(s, link);
    if (fn != NULL) {
      fn(s);
      next = LIST_FIRST(&d->subs);
    }
    free(s);
  }
}

static json_t *exit_json(int64_t code, int sig) {
  char name[32];
  return json_pack("{s:b,s:o,s:o}", "ok", 1, "exit_code",
                   sig ? json_null() : json_integer(code), "signal",
                   sig ? json_string(tend_signame(sig, name, sizeof(name))) : json_null());
}

static void hook_exited(sv_proc_t *p, int64_t code, int sig) {
  dsv_t *d = dsv_of(p->sv);
  /* Counted for the metrics page; out of memory, one exit goes uncounted
   * and the process is supervised as ever. */
  dproc_t *e = dprocs_get(&d->side, p);
  if (e != NULL)
    dprocs_count_exit(e, code, sig);
  for (sub_t *s = LIST_FIRST(&d->subs), *next; s != NULL; s = next) {
    next = LIST_NEXT(s, link);
    if (s->proc != p || s->kind != SUB_WAIT)
      continue;
    LIST_REMOVE(s, link);
    ctl_reply(s->conn, exit_json(code, sig), NULL, 0);
    ctl_conn_end(s->conn); /* drops its other subs: on from the head */
    free(s);
    next = LIST_FIRST(&d->subs);
  }
}

/* The output goes to each follower once. Ending a connection, or a reply
 * that fails and closes it, drops the connection's subs at once (this one
 * too, and maybe the next): then the walk goes on from the head, past the
 * followers already served (marked with this call's generation). */
static void hook_output(sv_proc_t *p, int stream, const char *data, size_t len) {
  dsv_t *d = dsv_of(p->sv);
  if (d->watch != NULL)
    d->watch->output(d->watch_arg, p, stream, data, len);
  unsigned gen = ++d->output_gen;
  for (sub_t *s = LIST_FIRST(&d->subs), *next; s != NULL; s = next) {
    next = LIST_NEXT(s, link);
    if (s->proc != p || s->kind != SUB_FOLLOW || s->stream != stream || s->gen == gen)
      continue;
    s->gen = gen;
    ctl_conn_t *c = s->conn;
    if (ctl_conn_backlog(c) > FOLLOW_BACKLOG_MAX) {
      ctl_reply_error(c, "dropped: the client reads slower than %s writes", p->name);
      ctl_conn_end(c);
      next = LIST_FIRST(&d->subs);
      continue;
    }
    for (size_t off = 0; off < len; off += TEND_CTL_MAX_DATA) {
      size_t n = len - off < TEND_CTL_MAX_DATA ? len - off : TEND_CTL_MAX_DATA;
      if (ctl_reply(c, json_pack("{s:b}", "ok", 1), data + off, n) != 0) {
        next = LIST_FIRST(&d->subs);
        break;
      }
    }
  }
}

static void end_forgotten(sub_t *s) {
  ctl_reply_error(s->conn, "%s was removed from the configuration", s->proc->name);
  ctl_conn_end(s->conn);
}

static bool pending_check(pending_t *pd, sv_proc_t *gone);

static void hook_forget(sv_proc_t *p) {
  dsv_t *d = dsv_of(p->sv);
  if (d->watch != NULL)
    d->watch->forget(d->watch_arg, p);
  dprocs_drop(&d->side, p);
  sub_drop(d, NULL, p, end_forgotten);
  for (pending_t *pd = LIST_FIRST(&d->pending), *next; pd != NULL; pd = next) {
    next = LIST_NEXT(pd, link);
    if (pending_check(pd, p))
      next = LIST_FIRST(&d->pending); /* see pending_check */
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
  /* What supervisord's getProcessInfo needs besides: its start and stop
   * times (s since the epoch, 0: never) and why a start failed. */
  json_object_set_new(o, "start", json_integer((json_int_t)(p->started_at_ms / 1000)));
  json_object_set_new(o, "stop", json_integer((json_int_t)(p->stopped_at_ms / 1000)));
  bool failed = p->state == PS_BACKOFF || p->state == PS_FATAL;
  json_object_set_new(o, "spawnerr",
                      json_string(!failed           ? ""
                                  : p->fsm.why != NULL ? p->fsm.why
                                                       : "Exited too quickly (process log may have "
                                                         "details)"));
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
  dprocs_t *side;
  unsigned base;
  bool wildcard; /* the pattern being applied */
  bool nomem;    /* a mark could not be kept */
};

static unsigned mark_of(dsv_t *d, const sv_proc_t *p) {
  const dproc_t *e = dprocs_find(&d->side, p);
  return e != NULL ? e->mark : 0;
}

static void select_cb(sv_proc_t *p, void *arg) {
  struct selection *s = arg;
  unsigned want = s->wildcard ? s->base + 1 : s->base + 2;
  dproc_t *e = dprocs_get(s->side, p);
  if (e == NULL)
    s->nomem = true;
  else if (e->mark <= s->base || e->mark < want)
    e->mark = want;
}

/* The processes the request's "names" select, in start order, or NULL
 * after replying with the error. An empty list means all. *named[i] tells
 * whether list[i] was named on its own (callers skip wildcard matches that
 * are already where the action would take them, as supervisorctl does). */
static sv_proc_t **select_names(dsv_t *d, ctl_conn_t *c, const tend_ctl_strv_t *names,
                                size_t *n, bool **named) {
  /* Each request gets marks no earlier one used: nothing to reset. */
  d->generation += 3;
  struct selection sel = {.side = &d->side, .base = d->generation};
  if (names->n == 0) {
    sel.wildcard = true;
    sv_select(&d->sv, "all", select_cb, &sel);
  }
  for (size_t i = 0; i < names->n; i++) {
    const char *pat = names->v[i];
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
  sv_proc_t *p;
  TAILQ_FOREACH(p, &d->sv.procs, link)
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
  TAILQ_FOREACH(p, &d->sv.procs, link) {
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
static void add_resources(dsv_t *d, sv_proc_t **list, json_t **objs, size_t n) {
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
      dproc_t *e = dprocs_get(&d->side, p);
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

static void req_status(dsv_t *d, ctl_conn_t *c, const tend_ctl_req_t *req) {
  size_t n;
  sv_proc_t **list = select_names(d, c, &req->names, &n, NULL);
  if (list == NULL)
    return;
  json_t **objs = calloc(n + 1, sizeof(*objs));
  json_t *arr = json_array();
  if (objs != NULL) {
    for (size_t i = 0; i < n; i++)
      objs[i] = proc_json(list[i]);
    if (!req->no_resources)
      add_resources(d, list, objs, n);
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, objs[i]);
  }
  free(objs);
  free(list);
  ctl_reply(c, json_pack("{s:b,s:o}", "ok", 1, "processes", arr), NULL, 0);
}

/* Has p reached what action kind asked for? 0 not yet, 1 yes, -1 never
 * will (*why says why). */
static int action_done(const pending_t *pd, sv_proc_t *p, int orig_pid, const char **why) {
  pstate_t st = p->state;
  if (pd->kind == CTL_CMD_STOP)
    return st == PS_STOPPED || st == PS_EXITED || st == PS_FATAL;
  if (st == PS_FATAL) {
    *why = "failed to start (FATAL: see the daemon log)";
    return -1;
  }
  if (st == PS_BACKOFF && pd->first_failure) {
    *why = "failed to start (BACKOFF: it will be tried again)";
    return -1;
  }
  if (st == PS_STOPPED && !p->want_up) {
    *why = "stopped before it was running";
    return -1;
  }
  return st == PS_RUNNING && (pd->kind == CTL_CMD_START || p->pid != orig_pid);
}

static void pending_finish(pending_t *pd) {
  bool all_ok = true;
  size_t i;
  json_t *o;
  json_array_foreach(pd->results, i, o) all_ok = all_ok && json_is_true(json_object_get(o, "ok"));
  /* Off the list before the reply: a reply that fails closes the
   * connection at once, and sv_conn_gone finishes its pendings. */
  LIST_REMOVE(pd, link);
  ctl_reply(pd->conn, json_pack("{s:b,s:O}", "ok", all_ok, "results", pd->results), NULL, 0);
  json_decref(pd->results);
  free(pd->procs);
  free(pd->orig_pid);
  free(pd);
}

/* Re-check one pending action's processes; finish it when all are done.
 * True when it finished: its reply may have failed and closed the
 * connection, which finishes that connection's other pendings at once, so
 * a walk of the list goes on from the head (a re-check is idempotent). */
static bool pending_check(pending_t *pd, sv_proc_t *gone) {
  if (pd->building && gone == NULL)
    return false; /* req_action checks every process once they are all asked */
  for (size_t i = 0; i < pd->n; i++) {
    json_t *o = json_array_get(pd->results, i);
    sv_proc_t *p = pd->procs[i];
    if (p == NULL || json_object_get(o, "ok") != NULL)
      continue;
    const char *why = "removed from the configuration";
    int r = p == gone ? -1 : action_done(pd, p, pd->orig_pid[i], &why);
    if (r == 0)
      continue;
    json_object_set_new(o, "ok", json_boolean(r > 0));
    if (r < 0)
      json_object_set_new(o, "error", json_string(why));
    pd->procs[i] = NULL;
    pd->left--;
  }
  if (pd->left != 0 || pd->building)
    return false;
  pending_finish(pd);
  return true;
}

/* systemd: READY=1 once every autostart program has settled (RUNNING,
 * FATAL, or stopped again), and a STATUS= line when the counts change. */
void dsv_notify(dsv_t *d) {
  int running = 0, starting = 0, fatal = 0, other = 0;
  sv_proc_t *p;
  TAILQ_FOREACH(p, &d->sv.procs, link) {
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

/* Which setting makes p's entering state to bring the daemon down:
 * "on_exit" (any end but a stop asked for: EXITED, or FATAL when it never
 * got to run), "on_fatal", or NULL. */
static const char *vital_key(const sv_proc_t *p, pstate_t to) {
  const tend_program_t *c = p->conf;
  if (to == PS_EXITED && c->on_exit == TEND_ON_SHUTDOWN)
    return "on_exit";
  if (to == PS_FATAL && c->on_fatal == TEND_ON_SHUTDOWN)
    return "on_fatal";
  if (to == PS_FATAL && c->on_exit == TEND_ON_SHUTDOWN)
    return "on_exit";
  return NULL;
}

static void hook_state(sv_proc_t *p, pstate_t from, pstate_t to) {
  dsv_t *d = dsv_of(p->sv);
  if (d->watch != NULL)
    d->watch->state(d->watch_arg, p, from, to);
  dsv_notify(d);
  const char *key = vital_key(p, to);
  if (key != NULL && !d->stopping && d->vital != NULL)
    d->vital(d->vital_arg, p, key);
  for (pending_t *pd = LIST_FIRST(&d->pending), *next; pd != NULL; pd = next) {
    next = LIST_NEXT(pd, link);
    for (size_t i = 0; i < pd->n; i++) {
      if (pd->procs[i] == p) {
        if (pending_check(pd, NULL))
          next = LIST_FIRST(&d->pending); /* see pending_check */
        break;
      }
    }
  }
}

/* What a wildcard picked and is already where the action goes is left out
 * quietly: `tend start all` starts what is not running, as supervisorctl. */
static void pd_skip_settled(tend_ctl_cmd_t cmd, sv_proc_t **list, const bool *named,
                            size_t *n) {
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) {
    pstate_t st = list[i]->state;
    bool up = st == PS_STARTING || st == PS_RUNNING;
    bool down = !up && st != PS_BACKOFF && st != PS_STOPPING;
    bool settled = (cmd == CTL_CMD_START && up) || (cmd == CTL_CMD_STOP && down);
    if (named[i] || !settled)
      list[k++] = list[i];
  }
  *n = k;
}

static void req_action(dsv_t *d, ctl_conn_t *c, const tend_ctl_req_t *req) {
  size_t n;
  bool *named;
  sv_proc_t **list = select_names(d, c, &req->names, &n, &named);
  if (list == NULL)
    return;
  pd_skip_settled(req->cmd, list, named, &n);
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
  pd->kind = req->cmd;
  pd->first_failure = req->first_failure;
  pd->n = n;
  pd->procs = list;
  pd->orig_pid = orig;
  pd->results = json_array();
  LIST_INSERT_HEAD(&d->pending, pd, link);
  pd->building = true; /* sv_start/sv_stop below change states at once */
  bool wait = req->wait;
  /* Everything this request starts is wanted before the first start: a
   * program that depends on another one of the same request waits for it
   * instead of being refused. */
  for (size_t i = 0; i < n && pd->kind != CTL_CMD_STOP && !d->sv.shutting_down; i++)
    if (list[i]->state != PS_STARTING && list[i]->state != PS_RUNNING)
      list[i]->want_up = true;
  for (size_t i = 0; i < n; i++) {
    sv_proc_t *p = list[i];
    const char *why = NULL;
    orig[i] = p->run != NULL ? p->pid : 0;
    json_t *o = json_pack("{s:s,s:s}", "name", p->name, "group", p->conf->group);
    json_array_append_new(pd->results, o);
    int r = pd->kind == CTL_CMD_START  ? sv_start(p, &why)
            : pd->kind == CTL_CMD_STOP ? sv_stop(p, &why)
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
  pending_check(pd, NULL);
}

static void first_match(sv_proc_t *p, void *arg) {
  sv_proc_t **found = arg;
  if (*found == NULL)
    *found = p;
}

/* The one process a request's "name" names (also "GROUP:PROCESS" for a
 * process shown with its bare name), or NULL after replying. */
static sv_proc_t *named(dsv_t *d, ctl_conn_t *c, const char *name) {
  sv_proc_t *p = sv_find(&d->sv, name);
  if (p == NULL && strchr(name, ':') != NULL && strcmp(strchr(name, ':'), ":*") != 0)
    sv_select(&d->sv, name, first_match, &p);
  if (p == NULL)
    ctl_reply_error(c, "no such process: %s", name);
  return p;
}

static void req_send(dsv_t *d, ctl_conn_t *c, const tend_ctl_req_t *req) {
  sv_proc_t *p = named(d, c, req->name);
  if (p == NULL)
    return;
  const char *why = NULL;
  if (sv_send(p, req->data, req->len, req->eof, &why) != 0) {
    ctl_reply_error(c, "cannot send to %s: %s", p->name, why);
    return;
  }
  ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static void req_logs(dsv_t *d, ctl_conn_t *c, const tend_ctl_req_t *req) {
  sv_proc_t *p = named(d, c, req->name);
  if (p == NULL)
    return;
  int si = req->stream;
  int lines = req->lines < 0 ? 0 : req->lines < INT_MAX ? (int)req->lines : INT_MAX;
  bool follow = req->follow;
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

static void req_wait(dsv_t *d, ctl_conn_t *c, const tend_ctl_req_t *req) {
  sv_proc_t *p = named(d, c, req->name);
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

static void reopen_one(sv_proc_t *p, void *arg) {
  int r = sv_reopen_logs(p);
  if (r != 0) {
    LOG("error", "logrotate", F_STR("program", p->name), F_STR("error", strerror(-r)));
    if (arg != NULL)
      (*(int *)arg)++;
  }
}

/* Reopen the logs of what pattern names (all: the daemon's log too). */
int dsv_logrotate(dsv_t *d, const char *pattern) {
  int failed = 0;
  if (strcmp(pattern, "all") == 0 && log_reopen() != 0)
    failed++;
  int n = sv_select(&d->sv, pattern, reopen_one, &failed);
  LOG("info", "logrotate", F_STR("names", pattern), F_INT("processes", n),
      F_INT("failed", failed));
  return n == 0 && strcmp(pattern, "all") != 0 ? -ENOENT : failed > 0 ? -EIO : 0;
}

int dsv_signal(dsv_t *d, const char *name, int sig) {
  sv_proc_t *p = sv_find(&d->sv, name);
  if (p == NULL || p->removed)
    return -ENOENT;
  if (p->run == NULL)
    return -ESRCH;
  int r = tend_proc_signal(p->run, sig, false);
  LOG("info", "signal", F_STR("program", p->name), F_INT("pid", p->pid), F_INT("signal", sig),
      F_STR("result", r == 0 ? "sent" : strerror(-r)));
  return r;
}

int dsv_clear_logs(dsv_t *d, const char *name) {
  sv_proc_t *p = sv_find(&d->sv, name);
  if (p == NULL || p->removed)
    return -ENOENT;
  /* supervisord removes the file and opens a new one: a reader's offset
   * then starts again from 0. */
  const char *paths[2] = {p->conf->out.path, p->conf->err.path};
  int failed = 0;
  for (int i = 0; i < 2; i++)
    if (paths[i] != NULL && unlink(paths[i]) != 0 && errno != ENOENT)
      failed++;
  if (sv_reopen_logs(p) != 0)
    failed++;
  LOG("info", "clear-log", F_STR("program", p->name), F_INT("failed", failed));
  return failed ? -EIO : 0;
}

static void req_logrotate(dsv_t *d, ctl_conn_t *c, const tend_ctl_req_t *req) {
  if (req->names.n == 0)
    dsv_logrotate(d, "all");
  for (size_t i = 0; i < req->names.n; i++) {
    if (dsv_logrotate(d, req->names.v[i]) == -ENOENT) {
      ctl_reply_error(c, "no such process: %s", req->names.v[i]);
      return;
    }
  }
  ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
}

/* ---- the service -------------------------------------------------------- */

void dsv_init(dsv_t *s, uv_loop_t *loop, chanset_t *chans) {
  static const sv_hooks_t hooks = {.exited = hook_exited,
                                   .output = hook_output,
                                   .state = hook_state,
                                   .forget = hook_forget};
  memset(s, 0, sizeof(*s));
  LIST_INIT(&s->subs);
  LIST_INIT(&s->pending);
  sv_init(&s->sv, loop, &hooks);
  svchan_attach(&s->sv, chans);
}

const sv_diff_t *dsv_diff(const dsv_t *s) { return &s->diff; }

static void sv_apply_cb(void *self, tend_config_t *cfg) {
  dsv_t *s = self;
  sv_diff_free(&s->diff);
  sv_apply(&s->sv, cfg, &s->diff);
}

static void sv_request(void *self, const tend_ctl_req_t *req, ctl_conn_t *c) {
  dsv_t *d = self;
  switch (req->cmd) {
  case CTL_CMD_STATUS: req_status(d, c, req); break;
  case CTL_CMD_START:
  case CTL_CMD_STOP:
  case CTL_CMD_RESTART: req_action(d, c, req); break;
  case CTL_CMD_SEND: req_send(d, c, req); break;
  case CTL_CMD_LOGS: req_logs(d, c, req); break;
  case CTL_CMD_WAIT: req_wait(d, c, req); break;
  default: req_logrotate(d, c, req); break; /* CTL_CMD_LOGROTATE: the last of dsv_ops.cmds */
  }
}

static void sv_conn_gone(void *self, ctl_conn_t *c) {
  dsv_t *d = self;
  sub_drop(d, c, NULL, NULL);
  /* A client that hung up while waiting: forget its pending action (the
   * action itself goes on). */
  for (pending_t *pd = LIST_FIRST(&d->pending), *next; pd != NULL; pd = next) {
    next = LIST_NEXT(pd, link);
    if (pd->conn == c)
      pending_finish(pd);
  }
}

static void sv_done_cb(sv_t *sv) {
  dsv_t *s = dsv_of(sv);
  s->done.fn(s->done.arg);
}

static void sv_shutdown_cb(void *self, service_done_t done) {
  dsv_t *s = self;
  s->stopping = true;
  s->done = done;
  sv_shutdown(&s->sv, sv_done_cb);
}

static void sv_close_cb(void *self) {
  dsv_t *d = self;
  pending_t *pd;
  while ((pd = LIST_FIRST(&d->pending)) != NULL)
    pending_finish(pd);
  sub_t *sub;
  while ((sub = LIST_FIRST(&d->subs)) != NULL) { /* their connections close next */
    LIST_REMOVE(sub, link);
    free(sub);
  }
  sv_diff_free(&d->diff);
  dprocs_free(&d->side);
}

const service_ops_t dsv_ops = {
    .name = "supervisor",
    .cmds = CTL_BIT(CTL_CMD_STATUS) | CTL_BIT(CTL_CMD_START) | CTL_BIT(CTL_CMD_STOP) |
            CTL_BIT(CTL_CMD_RESTART) | CTL_BIT(CTL_CMD_SEND) | CTL_BIT(CTL_CMD_LOGS) |
            CTL_BIT(CTL_CMD_WAIT) | CTL_BIT(CTL_CMD_LOGROTATE),
    .apply = sv_apply_cb,
    .request = sv_request,
    .conn_gone = sv_conn_gone,
    .shutdown = sv_shutdown_cb,
    .close = sv_close_cb,
};
