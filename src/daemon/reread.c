/* SPDX-License-Identifier: MIT */
/*
 * reread, add, remove and avail (daemon/reread.h) on the daemon's whole
 * config apply: adding or removing group g applies a copy of the config in
 * force whose programs of g are those of the config read last, or none
 * (tend_config_regroup). The supervisor then starts, or forgets, only the
 * processes of g: every other program compares the same and keeps running
 * with its pid.
 */
#include "daemon/reread.h"
#include "core/log.h"
#include "supervisor/supervisor.h"
#include "tend/buf.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A process group: its name and priority (supervisord's group priority: a
 * [group:g]'s, else the program's own). */
typedef struct {
  const char *name;
  int prio;
} group_t;

static const tend_config_t *in_force(daemon_t *d) {
  sv_t *sv = daemon_supervisor(d);
  return sv->gen != NULL ? sv->gen->config : NULL;
}

static const tend_config_t *read_last(daemon_t *d) {
  tend_config_t *p = *daemon_pending(d);
  return p != NULL ? p : in_force(d);
}

static bool has_group(const tend_config_t *c, const char *group) {
  for (size_t i = 0; c != NULL && i < c->nprograms; i++)
    if (strcmp(c->programs[i].group, group) == 0)
      return true;
  return false;
}

static int group_cmp(const void *a, const void *b) {
  const group_t *x = a, *y = b;
  if (x->prio != y->prio)
    return x->prio < y->prio ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* c's groups in supervisord's order (its groups.sort()); *n of them. NULL
 * with *n 0 when none, or when out of memory (then *oom). */
static group_t *groups_of(const tend_config_t *c, size_t *n, bool *oom) {
  *n = 0;
  if (c == NULL || c->nprograms == 0)
    return NULL;
  group_t *g = malloc(c->nprograms * sizeof(*g));
  if (g == NULL) {
    *oom = true;
    return NULL;
  }
  for (size_t i = 0; i < c->nprograms; i++)
    g[i] = (group_t){c->programs[i].group, c->programs[i].group_priority};
  qsort(g, c->nprograms, sizeof(*g), group_cmp);
  for (size_t i = 0; i < c->nprograms; i++)
    if (*n == 0 || strcmp(g[*n - 1].name, g[i].name) != 0)
      g[(*n)++] = g[i];
  return g;
}

/* Group g has the same processes, configured the same way, in a and b
 * (supervisord's ProcessGroupConfig ==). */
static bool group_same(const tend_config_t *a, const tend_config_t *b, const char *g) {
  size_t na = 0, nb = 0;
  for (size_t i = 0; i < a->nprograms; i++)
    na += strcmp(a->programs[i].group, g) == 0;
  for (size_t i = 0; i < b->nprograms; i++) {
    const tend_program_t *p = &b->programs[i];
    if (strcmp(p->group, g) != 0)
      continue;
    nb++;
    const tend_program_t *q = tend_config_find(a, p->name);
    if (q == NULL || !tend_program_same(q, p))
      return false;
  }
  return na == nb;
}

/* supervisord's diff_to_active between the groups in force and those of
 * next, into three arrays of names. */
static int diff_groups(const tend_config_t *cur, const tend_config_t *next, json_t *added,
                       json_t *changed, json_t *removed) {
  bool oom = false;
  size_t nc, nn;
  group_t *gc = groups_of(cur, &nc, &oom);
  group_t *gn = groups_of(next, &nn, &oom);
  int r = 0;
  for (size_t i = 0; !oom && r == 0 && i < nn; i++) {
    if (!has_group(cur, gn[i].name))
      r = json_array_append_new(added, json_string(gn[i].name));
    else if (!group_same(cur, next, gn[i].name))
      r = json_array_append_new(changed, json_string(gn[i].name));
  }
  for (size_t i = 0; !oom && r == 0 && i < nc; i++)
    if (!has_group(next, gc[i].name))
      r = json_array_append_new(removed, json_string(gc[i].name));
  free(gc);
  free(gn);
  return oom || r != 0 ? -ENOMEM : 0;
}

/* The errors of a config that did not load, one a line. */
static char *errors_text(const tend_diag_t *diag, int r) {
  tend_buf_t msg = {0};
  for (size_t i = 0; i < diag->nerrors; i++) {
    if (i > 0)
      tend_buf_append(&msg, "\n", 1);
    tend_buf_append(&msg, diag->errors[i], strlen(diag->errors[i]));
  }
  if (diag->nerrors == 0)
    tend_buf_append(&msg, strerror(-r), strlen(strerror(-r)));
  tend_buf_append(&msg, "", 1);
  return msg.data;
}

int daemon_reread(daemon_t *d, json_t **added, json_t **changed, json_t **removed, char **err) {
  *added = *changed = *removed = NULL;
  *err = NULL;
  if (daemon_stopping(d))
    return -ESHUTDOWN;
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  int r = daemon_load(d, &cfg, &diag);
  daemon_print_diag(&diag, true);
  if (r != 0) {
    LOG("error", "reread", F_STR("action", "kept the configuration read before"));
    *err = errors_text(&diag, r);
    tend_diag_free(&diag);
    return r;
  }
  tend_diag_free(&diag);
  json_t *a = json_array(), *c = json_array(), *rm = json_array();
  if (a == NULL || c == NULL || rm == NULL || diff_groups(in_force(d), cfg, a, c, rm) != 0) {
    json_decref(a);
    json_decref(c);
    json_decref(rm);
    tend_config_free(cfg);
    return -ENOMEM;
  }
  tend_config_t **pending = daemon_pending(d);
  tend_config_free(*pending);
  *pending = cfg;
  LOG("info", "reread", F_STR("config", cfg->path), F_INT("added", json_array_size(a)),
      F_INT("changed", json_array_size(c)), F_INT("removed", json_array_size(rm)));
  *added = a;
  *changed = c;
  *removed = rm;
  return 0;
}

int daemon_group_add(daemon_t *d, const char *group) {
  if (daemon_stopping(d))
    return -ESHUTDOWN;
  const tend_config_t *cur = in_force(d), *last = read_last(d);
  if (cur == NULL || !has_group(last, group))
    return -ENOENT;
  if (has_group(cur, group))
    return -EEXIST;
  tend_config_t *next = tend_config_regroup(cur, last, group);
  if (next == NULL)
    return -ENOMEM;
  LOG("info", "group", F_STR("group", group), F_STR("action", "added"));
  daemon_apply_part(d, next);
  return 0;
}

static bool stopped(pstate_t s) { return s == PS_STOPPED || s == PS_EXITED || s == PS_FATAL; }

/* A process of group g in force is not stopped (supervisord's
 * get_unstopped_processes). */
static bool group_busy(daemon_t *d, const tend_config_t *cur, const char *g) {
  sv_t *sv = daemon_supervisor(d);
  sv_proc_t *p;
  TAILQ_FOREACH(p, &sv->procs, link) {
    if (p->removed) /* dropped by a reload, stopping under an old name */
      continue;
    const tend_program_t *c = tend_config_find(cur, p->name);
    if (c != NULL && strcmp(c->group, g) == 0 && !stopped(p->state))
      return true;
  }
  return false;
}

int daemon_group_remove(daemon_t *d, const char *group) {
  if (daemon_stopping(d))
    return -ESHUTDOWN;
  const tend_config_t *cur = in_force(d);
  if (!has_group(cur, group))
    return -ENOENT;
  if (group_busy(d, cur, group))
    return -EBUSY;
  tend_config_t **pending = daemon_pending(d);
  /* The config in force is the one read last: keep it, so that an add
   * can bring the group back as supervisord's does. */
  if (*pending == NULL && (*pending = tend_config_dup(cur)) == NULL)
    return -ENOMEM;
  tend_config_t *next = tend_config_regroup(cur, NULL, group);
  if (next == NULL)
    return -ENOMEM;
  LOG("info", "group", F_STR("group", group), F_STR("action", "removed"));
  daemon_apply_part(d, next);
  return 0;
}

/* ---- getAllConfigInfo ---------------------------------------------------- */

static json_t *str_or_none(const char *s) { return json_string(s != NULL ? s : "none"); }

/* supervisord takes whole seconds: an integer when it is one. */
static json_t *seconds(double s) {
  return s == (double)(json_int_t)s ? json_integer((json_int_t)s) : json_real(s);
}

/* supervisord's pconfig.uid: the user's uid, "none" without a user. */
static json_t *uid_of(const char *user) {
  if (user == NULL)
    return json_string("none");
  char *end;
  long n = strtol(user, &end, 10);
  if (*user != '\0' && *end == '\0' && n >= 0)
    return json_integer(n);
  char buf[4096];
  struct passwd pw, *res = NULL;
  if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
    return json_string("none");
  return json_integer((json_int_t)res->pw_uid);
}

static json_t *exitcodes_of(const tend_program_t *p) {
  json_t *a = json_array();
  for (int i = 0; a != NULL && i < p->nexitcodes; i++)
    json_array_append_new(a, json_integer(p->exitcodes[i]));
  return a;
}

/* One stream's keys (stdout or stderr), as supervisord lists them. */
static void log_info(json_t *o, const char *ch, const tend_logconf_t *l) {
  char key[40];
  snprintf(key, sizeof(key), "%s_capture_maxbytes", ch);
  json_object_set_new(o, key, json_integer(0));
  snprintf(key, sizeof(key), "%s_events_enabled", ch);
  json_object_set_new(o, key, json_false());
  snprintf(key, sizeof(key), "%s_logfile", ch);
  json_object_set_new(o, key, str_or_none(l->path));
  snprintf(key, sizeof(key), "%s_logfile_backups", ch);
  json_object_set_new(o, key, json_integer(l->backups));
  snprintf(key, sizeof(key), "%s_logfile_maxbytes", ch);
  json_object_set_new(o, key, json_integer((json_int_t)l->maxbytes));
  snprintf(key, sizeof(key), "%s_syslog", ch);
  json_object_set_new(o, key, json_boolean(l->syslog));
}

/* supervisord's process name: tend's without its "GROUP:". */
static const char *short_name(const tend_program_t *p) {
  size_t n = strlen(p->group);
  if (strncmp(p->name, p->group, n) == 0 && p->name[n] == ':')
    return p->name + n + 1;
  return p->name;
}

/* One process's struct: rpcinterface.py's getAllConfigInfo, key by key. */
static json_t *process_info(const tend_program_t *p, bool inuse) {
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "autostart", json_boolean(p->autostart));
  json_object_set_new(o, "directory", str_or_none(p->directory));
  json_object_set_new(o, "uid", uid_of(p->user));
  json_object_set_new(o, "command", json_string(p->command));
  json_object_set_new(o, "exitcodes", exitcodes_of(p));
  json_object_set_new(o, "group", json_string(p->group));
  json_object_set_new(o, "group_prio", json_integer(p->group_priority));
  json_object_set_new(o, "inuse", json_boolean(inuse));
  json_object_set_new(o, "killasgroup", json_boolean(p->killasgroup));
  json_object_set_new(o, "name", json_string(short_name(p)));
  json_object_set_new(o, "process_prio", json_integer(p->priority));
  json_object_set_new(o, "redirect_stderr", json_boolean(p->redirect_stderr));
  json_object_set_new(o, "startretries", json_integer(p->startretries));
  json_object_set_new(o, "startsecs", seconds(p->startsecs));
  log_info(o, "stdout", &p->out);
  json_object_set_new(o, "stopsignal", json_integer(p->stopsignal));
  json_object_set_new(o, "stopwaitsecs", seconds(p->stopwaitsecs));
  log_info(o, "stderr", &p->err);
  json_object_set_new(o, "serverurl", json_string("none"));
  /* 29 keys: fewer means one of them ran out of memory. */
  if (json_object_size(o) != 29) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int by_name(const void *a, const void *b) {
  const tend_program_t *x = *(const tend_program_t *const *)a;
  const tend_program_t *y = *(const tend_program_t *const *)b;
  return strcmp(short_name(x), short_name(y));
}

json_t *daemon_config_info(daemon_t *d) {
  const tend_config_t *cur = in_force(d), *last = read_last(d);
  size_t n = last != NULL ? last->nprograms : 0;
  const tend_program_t **sorted = malloc((n + 1) * sizeof(*sorted));
  json_t *a = json_array();
  if (sorted == NULL || a == NULL)
    goto fail;
  for (size_t i = 0; i < n; i++)
    sorted[i] = &last->programs[i];
  qsort(sorted, n, sizeof(*sorted), by_name);
  for (size_t i = 0; i < n; i++) {
    json_t *o = process_info(sorted[i], has_group(cur, sorted[i]->group));
    if (o == NULL || json_array_append_new(a, o) != 0)
      goto fail;
  }
  free(sorted);
  return a;
fail:
  free(sorted);
  json_decref(a);
  return NULL;
}
