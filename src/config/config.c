/* SPDX-License-Identifier: MIT */
/*
 * tend's config: supervisord 4.2.5's meaning of a supervisord.conf
 * (supervisor/options.py: read_config, process_groups_from_parser,
 * _processes_from_section; supervisor/datatypes.py for the value types),
 * plus tend's own [tend] section. config/ini.c reads the text,
 * config/expand.c does "%(name)s", config/words.c splits command and
 * environment, config/value.c parses the value types; this file gives the
 * sections and keys their meaning, checks every value, and reports every
 * problem at its file and line (errors sorted by file and line at the end).
 *
 * Where tend differs from supervisord, on purpose:
 *   - a key given again or a section repeated is accepted as supervisord
 *     does (configparser's strict = False: the last value wins, sections
 *     merge), but with a notice naming both lines (config/ini.c);
 *   - an unknown key is a notice where supervisord says nothing (real
 *     files carry pidfile or loglevel in [program:x]), and an error when it
 *     is within 2 edits of a key of its section ("autostrat": did you mean
 *     'autostart'?), since supervisord would silently ignore the typo; with
 *     TEND_CONFIG_STRICT (--strict) every unknown key is an error. A key
 *     supervisord knows but tend does not use is a notice;
 *   - "%s" or "%d" without a name is an error with the hint to write "%%"
 *     (Python formats the whole expansion mapping there);
 *   - stopasgroup defaults to true (killasgroup follows it, as supervisord);
 *   - startsecs and stopwaitsecs may have a fraction; startretries may be
 *     "infinite"; numprocs_start must be >= 0;
 *   - includes nest ([include] in an included file works), relative to the
 *     directory of the file that names them; a cycle is an error;
 *   - relative paths (directory, logs, socket, pidfile, logdir) are
 *     relative to the directory of the file that holds them, not to the
 *     daemon's working directory: the config then means the same whoever
 *     starts tend from wherever;
 *   - a program listed by two [group:x], or a [group:x] named like a
 *     program in no group, is an error (supervisord runs the program twice,
 *     or drops one of the two groups x);
 *   - AUTO logs are "<logdir>/<name>.out" and ".err" (name as in
 *     tend_program_t), not supervisord's random names;
 *   - the [tend] section; logdir defaults to "<config dir>/log", not /tmp;
 *   - stdout_logfile = syslog sends "NAME: LINE" (ident the process name,
 *     so that journalctl -t NAME finds it), not supervisord's
 *     "supervisord: NAME LINE", to [tend] syslog_socket;
 *   - [fcgi-program:x] socket = unix://PATH may be relative (supervisord
 *     wants it absolute), and two fcgi-programs cannot share one socket.
 */
#include "tend/config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "config/expand.h"
#include "config/fcgi.h"
#include "config/ini.h"
#include "config/value.h"
#include "config/words.h"
#include "core/evtype.h"
#include "core/strv.h"
#include "tend/text.h"
#include "core/units.h"

extern char **environ;

struct group_ref {
  const char *name;    /* the group's name (in the ini) */
  cfg_section_t *sect; /* the [group:x] section */
  int priority;
};

struct ctx {
  tend_diag_t *diag;
  bool oom;
  bool strict; /* TEND_CONFIG_STRICT */
  cfg_ini_t ini;
  char **stack;             /* real paths of the files being read, for cycles */
  size_t nstack;
  char nodename[256];
  char **sup_env;           /* [supervisord] environment */
  struct group_ref *groups; /* per ini section: the group a program is in */
  tend_config_t *c;
  size_t capprograms;
};

/* ---- messages ---------------------------------------------------------- */

static void oom_if(struct ctx *x, int rc) {
  if (rc == -ENOMEM)
    x->oom = true;
}

#define ERR(x, ...) oom_if((x), cfg_error((x)->diag, __VA_ARGS__))
#define NOTICE(x, ...) oom_if((x), cfg_notice((x)->diag, __VA_ARGS__))

/* "FILE:LINE: [SECTION] KEY: message" */
static void key_error(struct ctx *x, const cfg_section_t *s, const cfg_entry_t *e,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void key_error(struct ctx *x, const cfg_section_t *s, const cfg_entry_t *e,
                      const char *fmt, ...) {
  char *msg;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    x->oom = true;
    return;
  }
  ERR(x, "%s:%d: [%s] %s: %s", e->file, e->line, s->name, e->key, msg);
  free(msg);
}

static void invalid(struct ctx *x, const cfg_section_t *s, const cfg_entry_t *e,
                    const char *value, const char *expected) {
  key_error(x, s, e, "invalid value '%s': expected %s", cfg_excerpt(value, 0), expected);
}

/* ---- values ------------------------------------------------------------ */

/* The directory of the file that holds e, where its %(here)s and relative
 * paths point: a key merged into a section from another file means what
 * it meant there (supervisord expands %(here)s file by file as it reads).
 * v->here when that is the section's own file. false when out of memory;
 * else *here, and *own to free. */
static bool entry_here(struct ctx *x, const cfg_section_t *s, const cfg_entry_t *e,
                       const cfg_vars_t *v, const char **here, char **own) {
  *own = NULL;
  *here = v->here;
  if (e->file == s->file)
    return true;
  *here = *own = cfg_path_dir(e->file);
  if (*own == NULL)
    x->oom = true;
  return *own != NULL;
}

/* val resolved against the directory of the file holding e; NULL when out
 * of memory (x->oom set). */
static char *entry_path(struct ctx *x, const cfg_section_t *s, const cfg_entry_t *e,
                        const cfg_vars_t *v, const char *val) {
  char *own;
  const char *here;
  char *p = entry_here(x, s, e, v, &here, &own) ? cfg_path_resolve(here, val) : NULL;
  if (p == NULL)
    x->oom = true;
  free(own);
  return p;
}

/*
 * The value of key in s, expanded with v (supervisord expands every value
 * it reads). 1 with *out (malloc'd) and *ent; 0 when the key is not there;
 * -1 when the expansion failed (reported).
 */
static int value_of(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                    char **out, cfg_entry_t **ent) {
  cfg_entry_t *e = cfg_section_get(s, key);
  *out = NULL;
  if (ent != NULL)
    *ent = e;
  oom_if(x, cfg_section_know(s, key));
  if (e == NULL)
    return 0;
  e->used = true;
  char *why = NULL, *own;
  cfg_vars_t at = *v;
  if (!entry_here(x, s, e, v, &at.here, &own))
    return -1;
  int rc = cfg_expand(e->value, &at, out, &why);
  free(own);
  if (rc == 0)
    return 1;
  if (rc == -ENOMEM)
    x->oom = true;
  else
    key_error(x, s, e, "%s", why);
  free(why);
  return -1;
}

/* Typed getters: the value of key, or def when the key is not there.
 * false when the value is bad (reported). */

static bool get_bool(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                     bool def, bool *out) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, key, v, &val, &e);
  *out = def;
  if (r <= 0)
    return r == 0;
  bool ok = cfg_parse_bool(val, out);
  if (!ok)
    invalid(x, s, e, val, "true or false (or yes/no, on/off, 1/0)");
  free(val);
  return ok;
}

static bool get_long(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                     long def, long min, long *out) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, key, v, &val, &e);
  *out = def;
  if (r <= 0)
    return r == 0;
  long n = 0;
  bool ok = cfg_parse_long(val, &n) && n >= min && n <= INT_MAX;
  if (ok)
    *out = n;
  else if (min == LONG_MIN)
    invalid(x, s, e, val, "an integer");
  else {
    char what[64];
    snprintf(what, sizeof(what), "an integer >= %ld", min);
    invalid(x, s, e, val, what);
  }
  free(val);
  return ok;
}

static bool get_int(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                    int def, long min, int *out) {
  long n;
  bool ok = get_long(x, s, key, v, def, min, &n);
  *out = (int)n;
  return ok;
}

/* A value read by parse into out, or the default already in *out; a bad
 * one is reported with what was expected. */
static bool get_parsed(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                       bool (*parse)(const char *val, void *out), void *out,
                       const char *expected) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, key, v, &val, &e);
  if (r <= 0)
    return r == 0;
  bool ok = parse(val, out);
  if (!ok)
    invalid(x, s, e, val, expected);
  free(val);
  return ok;
}

static bool parse_seconds(const char *val, void *out) { return units_seconds(val, out) == 0; }
static bool parse_bytes(const char *val, void *out) { return units_bytes(val, out) == 0; }
static bool parse_octal(const char *val, void *out) { return cfg_parse_octal(val, out); }

static bool get_seconds(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                        double def, double *out) {
  *out = def;
  return get_parsed(x, s, key, v, parse_seconds, out, "a number of seconds >= 0");
}

static bool get_bytes(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                      uint64_t def, uint64_t *out) {
  *out = def;
  return get_parsed(x, s, key, v, parse_bytes, out, "a byte size such as 1024, 10KB, 50MB or 1GB");
}

static bool get_octal(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                      int def, int *out) {
  *out = def;
  return get_parsed(x, s, key, v, parse_octal, out, "an octal mode such as 022");
}

/* One of the words in choices (case-insensitive): its index in *out. */
static bool get_choice(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                       const char *const *choices, int def, const char *expected, int *out) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, key, v, &val, &e);
  *out = def;
  if (r <= 0)
    return r == 0;
  for (int i = 0; choices[i] != NULL; i++) {
    if (strcasecmp(val, choices[i]) == 0) {
      *out = i;
      free(val);
      return true;
    }
  }
  invalid(x, s, e, val, expected);
  free(val);
  return false;
}

/* A path value, resolved against the section's directory; NULL when not
 * set or bad. */
static char *get_path(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v,
                      bool *bad) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, key, v, &val, &e);
  if (r < 0)
    *bad = true;
  if (r <= 0)
    return NULL;
  char *p = NULL;
  if (*val == '\0') {
    invalid(x, s, e, val, "a path");
    *bad = true;
  } else {
    p = entry_path(x, s, e, v, val);
  }
  free(val);
  return p;
}

/* Common names for a section outside [program:x]. */
static cfg_vars_t vars_for(struct ctx *x, char *here) {
  cfg_vars_t v = {.here = here, .host_node_name = x->nodename};
  v.env[0] = x->sup_env;
  v.env[1] = environ;
  return v;
}

/* ---- reading files and includes ---------------------------------------- */

static int load_file(struct ctx *x, const char *path);

static bool on_stack(struct ctx *x, const char *real) {
  for (size_t i = 0; i < x->nstack; i++)
    if (strcmp(x->stack[i], real) == 0)
      return true;
  return false;
}

/* The files that one include value names: space-separated globs relative
 * to the directory of the file holding it; matches in sorted order. */
static void include_globs(struct ctx *x, size_t si, const char *key) {
  cfg_section_t *s = &x->ini.sections[si];
  char *here = cfg_path_dir(s->file);
  if (here == NULL) {
    x->oom = true;
    return;
  }
  cfg_vars_t v = {.here = here, .host_node_name = x->nodename};
  v.env[0] = environ; /* includes are read before [supervisord] is */
  char *val;
  cfg_entry_t *e;
  if (value_of(x, s, key, &v, &val, &e) <= 0) {
    free(here);
    return;
  }
  /* Copies for messages: reading more files moves the sections. */
  char *file = strdup(s->file), *sname = strdup(s->name);
  int line = e->line;
  if (file == NULL || sname == NULL) {
    x->oom = true;
    goto out;
  }
  char *save = NULL;
  for (char *tok = strtok_r(val, " \t\n", &save); tok != NULL;
       tok = strtok_r(NULL, " \t\n", &save)) {
    char *pattern = cfg_path_resolve(here, tok);
    if (pattern == NULL) {
      x->oom = true;
      break;
    }
    glob_t g;
    int gr = glob(pattern, 0, NULL, &g);
    if (gr == GLOB_NOMATCH) {
      NOTICE(x, "%s:%d: [%s] %s: no file matches '%s'", file, line, sname, key, pattern);
    } else if (gr != 0) {
      ERR(x, "%s:%d: [%s] %s: cannot read the files of '%s'", file, line, sname, key, pattern);
    } else {
      for (size_t i = 0; i < g.gl_pathc; i++) {
        char *abs = cfg_path_abs(g.gl_pathv[i]);
        char *real = abs != NULL ? realpath(abs, NULL) : NULL;
        if (abs == NULL) {
          x->oom = true;
        } else if (real != NULL && on_stack(x, real)) {
          ERR(x, "%s:%d: [%s] %s: include cycle: '%s' is already being read", file, line, sname,
              key, abs);
        } else {
          int rc = load_file(x, abs);
          if (rc < 0 && rc != -ENOMEM)
            ERR(x, "%s:%d: [%s] %s: cannot read '%s': %s", file, line, sname, key, abs,
                strerror(-rc));
        }
        free(real);
        free(abs);
      }
      globfree(&g);
    }
    free(pattern);
  }
out:
  free(file);
  free(sname);
  free(val);
  free(here);
}

/* Read path, then the files its [include] files and [tend] include name. */
static int load_file(struct ctx *x, const char *path) {
  char *real = realpath(path, NULL);
  if (real == NULL)
    return errno == ENOMEM ? (x->oom = true, -ENOMEM) : -errno;
  char **grown = realloc(x->stack, (x->nstack + 1) * sizeof(*grown));
  if (grown == NULL) {
    free(real);
    x->oom = true;
    return -ENOMEM;
  }
  x->stack = grown;
  x->stack[x->nstack++] = real;
  size_t first = x->ini.nsections;
  int rc = cfg_ini_read(&x->ini, path, x->diag);
  oom_if(x, rc);
  size_t end = x->ini.nsections;
  for (size_t i = first; rc == 0 && i < end && !x->oom; i++) {
    cfg_section_t *s = &x->ini.sections[i];
    if (strcmp(s->name, "include") == 0) {
      if (cfg_section_get(s, "files") == NULL)
        ERR(x, "%s:%d: [include] files: missing (an [include] section names its files with "
               "files = GLOB ...)", s->file, s->line);
      else
        include_globs(x, i, "files");
    } else if (strcmp(s->name, "tend") == 0 && cfg_section_get(s, "include") != NULL) {
      include_globs(x, i, "include");
    }
  }
  free(x->stack[--x->nstack]);
  return rc;
}

/* ---- [supervisord] and [tend] ------------------------------------------ */

static bool prefix_is(const char *name, const char *prefix) {
  return strncmp(name, prefix, strlen(prefix)) == 0;
}

static cfg_section_t *find_section(struct ctx *x, const char *name) {
  for (size_t i = 0; i < x->ini.nsections; i++)
    if (strcmp(x->ini.sections[i].name, name) == 0)
      return &x->ini.sections[i];
  return NULL;
}

/* The optimal string alignment distance of a and b (insertions,
 * deletions, substitutions, and swaps of two neighbours: "autostrat" is one
 * from "autostart"), or max + 1 when it is more than max. */
static int edit_distance(const char *a, const char *b, int max) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return max + 1; /* no key is that long: not a near miss of one */
  if ((la > lb ? la - lb : lb - la) > (size_t)max)
    return max + 1;
  int d[65][65];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      int cost = a[i - 1] != b[j - 1];
      int v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v)
        v = d[i - 1][j - 1] + cost;
      bool swap = i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1];
      if (swap && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  }
  return d[la][lb] <= max ? d[la][lb] : max + 1;
}

/* The key of s (one its reader looked for, or one of ignored) that key
 * is 2 edits or fewer from, the closest; NULL if none. */
static const char *near_key(const cfg_section_t *s, const char *key,
                            const char *const *ignored) {
  const char *best = NULL;
  int best_d = 3;
  for (size_t k = 0; k < s->nknown; k++) {
    int d = edit_distance(key, s->known[k], 2);
    if (d < best_d) {
      best = s->known[k];
      best_d = d;
    }
  }
  for (size_t k = 0; ignored != NULL && ignored[k] != NULL; k++) {
    int d = edit_distance(key, ignored[k], 2);
    if (d < best_d) {
      best = ignored[k];
      best_d = d;
    }
  }
  return best;
}

/* tend's own sections: no supervisord file has them, so an unknown key
 * there is a mistake, not a key of some other tool. */
static bool tend_section(const char *name) {
  return strcmp(name, "tend") == 0 || prefix_is(name, "channel:") || prefix_is(name, "pool:") ||
         prefix_is(name, "worker:");
}

/*
 * Report each key of s that nothing used:
 *   - in ignored (supervisord reads it, tend has no use for it): a notice
 *     each, or one notice listing them all when one_notice is set;
 *   - within 2 edits of a key of the section: an error naming that key.
 *     supervisord ignores it, and the typo ships with the setting lost;
 *   - any other: a notice, as supervisord ignores it and real files carry
 *     such keys; an error with --strict and in tend's own sections.
 */
static void leftover_keys(struct ctx *x, cfg_section_t *s, const char *const *ignored,
                          bool one_notice) {
  char *list = NULL;
  for (size_t i = 0; i < s->nentries; i++) {
    cfg_entry_t *e = &s->entries[i];
    if (e->used)
      continue;
    bool known = false;
    for (size_t k = 0; ignored != NULL && ignored[k] != NULL; k++)
      known = known || strcmp(e->key, ignored[k]) == 0;
    const char *near = known ? NULL : near_key(s, e->key, ignored);
    if (near != NULL) {
      key_error(x, s, e, "unknown key; did you mean '%s'?", near);
    } else if (!known && tend_section(s->name)) {
      key_error(x, s, e, "unknown key");
    } else if (!known && x->strict) {
      key_error(x, s, e, "unknown key (supervisord ignores it; an error with --strict)");
    } else if (!known) {
      NOTICE(x, "%s:%d: [%s] %s: unknown key, ignored as supervisord does", e->file, e->line,
             s->name, e->key);
    } else if (!one_notice) {
      NOTICE(x, "%s:%d: [%s] %s: supervisord key not used by tend, ignored", e->file, e->line,
             s->name, e->key);
    } else {
      char *more;
      if (asprintf(&more, "%s%s%s", list != NULL ? list : "", list != NULL ? ", " : "",
                   e->key) < 0) {
        x->oom = true;
        break;
      }
      free(list);
      list = more;
    }
  }
  if (list != NULL)
    NOTICE(x, "%s:%d: [%s] not used by tend, ignored: %s", s->file, s->line, s->name, list);
  free(list);
}

static void read_supervisord(struct ctx *x, cfg_section_t *s, bool tend_logfile,
                             bool tend_pidfile) {
  static const char *const unused[] = {
      "logfile", "logfile_maxbytes", "logfile_backups", "loglevel",  "pidfile",
      "nodaemon", "silent",          "nocleanup",       "user",      "directory",
      "strip_ansi", NULL};
  tend_config_t *c = x->c;
  char *here = cfg_path_dir(s->file);
  if (here == NULL) {
    x->oom = true;
    return;
  }
  cfg_vars_t v = vars_for(x, here);
  v.env[0] = environ;
  v.env[1] = NULL;
  char *val;
  cfg_entry_t *e;
  if (value_of(x, s, "environment", &v, &val, &e) > 0) {
    const char *why;
    int rc = cfg_parse_env(val, &x->sup_env, &why);
    oom_if(x, rc);
    if (rc == -EINVAL)
      key_error(x, s, e, "invalid value '%s': %s", cfg_excerpt(val, 0), why);
    free(val);
  }
  v = vars_for(x, here);
  bool bad = false;
  char *childlogdir = get_path(x, s, "childlogdir", &v, &bad);
  if (childlogdir != NULL && c->logdir == NULL)
    c->logdir = childlogdir;
  else
    free(childlogdir);
  get_octal(x, s, "umask", &v, -1, &c->umask);
  get_long(x, s, "minfds", &v, 0, 0, &c->minfds);
  get_long(x, s, "minprocs", &v, 0, 0, &c->minprocs);
  if (!tend_logfile)
    c->logfile = get_path(x, s, "logfile", &v, &bad);
  if (!tend_pidfile)
    c->pidfile = get_path(x, s, "pidfile", &v, &bad);
  value_of(x, s, "identifier", &v, &c->identifier, NULL);
  leftover_keys(x, s, unused, true);
  free(here);
}

/* "user" or "user:group" of an existing user and group; NULL when the key
 * is not there or bad (reported). */
static char *get_owner(struct ctx *x, cfg_section_t *s, const char *key, const cfg_vars_t *v) {
  char *val;
  cfg_entry_t *e;
  if (value_of(x, s, key, v, &val, &e) <= 0)
    return NULL;
  char *colon = strchr(val, ':');
  if (colon != NULL)
    *colon = '\0';
  bool ok = cfg_user_exists(val) && (colon == NULL || cfg_group_exists(colon + 1));
  if (colon != NULL)
    *colon = ':';
  if (ok)
    return val;
  invalid(x, s, e, val, "user or user:group, of an existing user and group");
  free(val);
  return NULL;
}

/* supervisord's inet_address: "HOST:PORT", where an empty HOST or "*"
 * means all interfaces, or a bare PORT. */
static void get_inet_port(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                          tend_http_conf_t *h) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, "port", v, &val, &e);
  if (r == 0)
    ERR(x, "%s:%d: [%s] port: required (HOST:PORT, e.g. 127.0.0.1:9001 or *:9001)", s->file,
        s->line, s->name);
  if (r <= 0)
    return;
  char *colon = strrchr(val, ':');
  const char *port = colon != NULL ? colon + 1 : val;
  char *end;
  errno = 0;
  long n = strtol(port, &end, 10);
  if (*port == '\0' || *end != '\0' || errno != 0 || n < 1 || n > 65535) {
    invalid(x, s, e, val, "HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9001 or *:9001");
    free(val);
    return;
  }
  if (colon != NULL)
    *colon = '\0';
  bool any = colon == NULL || strcmp(val, "*") == 0;
  if ((h->host = strdup(any ? "" : val)) == NULL)
    x->oom = true;
  h->port = (int)n;
  free(val);
}

/* [unix_http_server] or [inet_http_server], with supervisord's defaults
 * and its checks; the keys it does not know stay notices. */
static void read_http_server(struct ctx *x, cfg_section_t *s, tend_http_conf_t *h) {
  char *here = cfg_path_dir(s->file);
  if (here == NULL) {
    x->oom = true;
    return;
  }
  cfg_vars_t v = vars_for(x, here);
  h->enabled = true;
  h->line = s->line;
  if ((h->conf = strdup(s->file)) == NULL)
    x->oom = true;
  if (strcmp(s->name, "unix_http_server") == 0) {
    bool bad = false;
    h->file = get_path(x, s, "file", &v, &bad);
    if (h->file == NULL && !bad)
      ERR(x, "%s:%d: [%s] file: required (the socket's path)", s->file, s->line, s->name);
    get_octal(x, s, "chmod", &v, 0700, &h->chmod);
    h->chown = get_owner(x, s, "chown", &v);
  } else {
    get_inet_port(x, s, &v, h);
  }
  value_of(x, s, "username", &v, &h->username, NULL);
  value_of(x, s, "password", &v, &h->password, NULL);
  /* supervisord refuses one without the other. */
  if ((h->username == NULL) != (h->password == NULL))
    ERR(x, "%s:%d: [%s] username and password: give both or neither", s->file, s->line,
        s->name);
  leftover_keys(x, s, NULL, false);
  free(here);
}

static void read_tend(struct ctx *x, cfg_section_t *s) {
  static const char *const formats[] = {"text", "json", NULL};
  tend_config_t *c = x->c;
  char *here = cfg_path_dir(s->file);
  if (here == NULL) {
    x->oom = true;
    return;
  }
  cfg_vars_t v = vars_for(x, here);
  bool bad = false;
  char *p;
  if ((p = get_path(x, s, "socket", &v, &bad)) != NULL) {
    free(c->socket);
    c->socket = p;
  }
  get_octal(x, s, "socket_mode", &v, 0600, &c->socket_mode);
  c->socket_owner = get_owner(x, s, "socket_owner", &v);
  if ((p = get_path(x, s, "logfile", &v, &bad)) != NULL)
    c->logfile = p;
  int fmt;
  if (get_choice(x, s, "log_format", &v, formats, TEND_LOGFMT_TEXT, "text or json", &fmt))
    c->log_format = (tend_logfmt_t)fmt;
  static const char *const targets[] = {"file", "syslog", NULL};
  int target;
  if (get_choice(x, s, "log_target", &v, targets, 0, "file or syslog", &target))
    c->log_syslog = target == 1;
  get_bool(x, s, "stdout_prefix", &v, false, &c->stdout_prefix);
  static const char *const codes[] = {"zero", "first", NULL};
  int code;
  if (get_choice(x, s, "exit_code", &v, codes, 0, "zero or first", &code))
    c->exit_code_first = code == 1;
  if ((p = get_path(x, s, "logdir", &v, &bad)) != NULL)
    c->logdir = p;
  if ((p = get_path(x, s, "pidfile", &v, &bad)) != NULL)
    c->pidfile = p;
  if ((p = get_path(x, s, "syslog_socket", &v, &bad)) != NULL) {
    free(c->syslog_socket);
    c->syslog_socket = p;
  }
  cfg_entry_t *inc = cfg_section_get(s, "include");
  if (inc != NULL)
    inc->used = true; /* read by load_file */
  oom_if(x, cfg_section_know(s, "include"));
  leftover_keys(x, s, NULL, false);
  free(here);
}

/* ---- [group:x] ------------------------------------------------------------ */

static void read_groups(struct ctx *x) {
  for (size_t gi = 0; gi < x->ini.nsections; gi++) {
    cfg_section_t *g = &x->ini.sections[gi];
    if (strncmp(g->name, "group:", 6) != 0)
      continue;
    const char *gname = g->name + 6;
    if (!cfg_name_ok(gname)) {
      ERR(x, "%s:%d: [%s] invalid group name '%s': names cannot contain spaces, ':' or '/'",
          g->file, g->line, g->name, gname);
      continue;
    }
    char *here = cfg_path_dir(g->file);
    if (here == NULL) {
      x->oom = true;
      return;
    }
    cfg_vars_t v = vars_for(x, here);
    int priority;
    get_int(x, g, "priority", &v, 999, LONG_MIN, &priority);
    char *list;
    cfg_entry_t *e;
    if (value_of(x, g, "programs", &v, &list, &e) > 0 && *list != '\0') {
      /* list_of_strings: split on ',', strip each */
      for (char *item = list; item != NULL;) {
        char *comma = strchr(item, ',');
        if (comma != NULL)
          *comma = '\0';
        char *tok = item;
        item = comma != NULL ? comma + 1 : NULL;
        while (isspace((unsigned char)*tok))
          tok++;
        size_t n = strlen(tok);
        while (n > 0 && isspace((unsigned char)tok[n - 1]))
          tok[--n] = '\0';
        char want[PATH_MAX];
        snprintf(want, sizeof(want), "program:%s", tok);
        size_t pi;
        for (pi = 0; pi < x->ini.nsections; pi++)
          if (strcmp(x->ini.sections[pi].name, want) == 0)
            break;
        if (pi == x->ini.nsections) {
          /* supervisord looks for [fcgi-program:x] too; it keeps its
           * socket here as well */
          snprintf(want, sizeof(want), "fcgi-program:%s", tok);
          cfg_section_t *f = find_section(x, want);
          if (f != NULL)
            pi = (size_t)(f - x->ini.sections);
        }
        if (pi == x->ini.nsections) {
          key_error(x, g, e, "unknown program '%s' (there is no [program:%s])", tok, tok);
        } else if (x->groups[pi].name != NULL) {
          key_error(x, g, e, "program '%s' is already in [%s]", tok, x->groups[pi].sect->name);
        } else {
          x->groups[pi] = (struct group_ref){.name = gname, .sect = g, .priority = priority};
        }
      }
    }
    free(list);
    leftover_keys(x, g, NULL, false);
    free(here);
  }
}

/* ---- [program:x] ----------------------------------------------------------- */

static void program_clear(tend_program_t *p) {
  free(p->name);
  free(p->program);
  free(p->group);
  free(p->command);
  strv_free(p->argv);
  free(p->directory);
  strv_free(p->env);
  free(p->user);
  free(p->exitcodes);
  strv_free(p->depends_on);
  free(p->ready_host);
  free(p->ready_path);
  free(p->stdout_channel);
  free(p->stdin_channel);
  free(p->out.path);
  free(p->err.path);
  cfg_fcgi_socket_clear(&p->fcgi);
  free(p->file);
  memset(p, 0, sizeof(*p));
}

/* What a [program:x] says once, for all its processes. */
struct program_common {
  int priority;
  bool autostart;
  tend_autorestart_t autorestart;
  double startsecs;
  int startretries;
  int stopsignal;
  double stopwaitsecs;
  bool stopasgroup, killasgroup;
  int *exitcodes;
  int nexitcodes;
  bool redirect_stderr;
  long numprocs, numprocs_start;
  char *user;
  int umask;
  bool stdin_pipe;
  double backoff_initial, backoff_max, backoff_factor;
  char **depends_on;
  int depends_on_line;
  tend_ready_t ready;
  int ready_fd;
  char *ready_host, *ready_path;
  int ready_port;
  double ready_timeout;
  tend_on_t on_exit, on_fatal;
  char *stdout_channel, *stdin_channel;
  cfg_entry_t *stdout_channel_e, *stdin_channel_e;
  tend_fcgi_socket_t fcgi; /* [fcgi-program:x] only */
  bool listener;           /* [eventlistener:x] */
  uint32_t events;
  int buffer_size;
  bool events_enabled[2];
  uint64_t capture_maxbytes[2];
  bool bad;
};

/* ready = fd:N | tcp:HOST:PORT | unix:PATH | startsecs */
static bool parse_ready(const char *val, void *out) {
  struct program_common *pc = out;
  char *end;
  if (strcasecmp(val, "startsecs") == 0) {
    pc->ready = TEND_READY_STARTSECS;
    return true;
  }
  if (strncmp(val, "fd:", 3) == 0) {
    long n = strtol(val + 3, &end, 10);
    if (end == val + 3 || *end != '\0' || n < 3 || n > 1023)
      return false;
    pc->ready = TEND_READY_FD;
    pc->ready_fd = (int)n;
    return true;
  }
  if (strncmp(val, "tcp:", 4) == 0) {
    const char *colon = strrchr(val + 4, ':');
    if (colon == NULL || colon == val + 4)
      return false;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
      return false;
    pc->ready_host = strndup(val + 4, (size_t)(colon - (val + 4)));
    pc->ready_port = (int)port;
    pc->ready = TEND_READY_TCP;
    return pc->ready_host != NULL;
  }
  if (strncmp(val, "unix:", 5) == 0 && val[5] != '\0') {
    pc->ready_path = strdup(val + 5);
    pc->ready = TEND_READY_UNIX;
    return pc->ready_path != NULL;
  }
  return false;
}

static void read_exitcodes(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                           struct program_common *pc) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, "exitcodes", v, &val, &e);
  if (r < 0)
    pc->bad = true;
  if (r <= 0) {
    pc->exitcodes = r == 0 ? malloc(sizeof(int)) : NULL;
    if (pc->exitcodes != NULL) {
      pc->exitcodes[0] = 0;
      pc->nexitcodes = 1;
    }
    return;
  }
  /* list_of_ints: split on ',', each an int (spaces around allowed);
   * an empty value is an empty list. */
  size_t max = 1;
  for (const char *p = val; *p; p++)
    max += *p == ',';
  pc->exitcodes = calloc(max, sizeof(int));
  if (pc->exitcodes == NULL) {
    x->oom = true;
    free(val);
    return;
  }
  bool ok = true;
  if (*val != '\0') {
    char *item = val;
    for (;;) {
      char *comma = strchr(item, ',');
      if (comma != NULL)
        *comma = '\0';
      while (isspace((unsigned char)*item))
        item++;
      size_t n = strlen(item);
      while (n > 0 && isspace((unsigned char)item[n - 1]))
        item[--n] = '\0';
      long code;
      if (!cfg_parse_long(item, &code) || code < 0 || code > 255)
        ok = false;
      else
        pc->exitcodes[pc->nexitcodes++] = (int)code;
      if (comma == NULL)
        break;
      *comma = ',';
      item = comma + 1;
    }
  }
  if (!ok) {
    invalid(x, s, e, val, "a comma-separated list of exit codes 0-255");
    pc->bad = true;
  }
  free(val);
}

/* auto_restart(): the boolean words, or "unexpected". */
static bool parse_autorestart(const char *val, void *out) {
  static const char *const restarts[] = {"false", "true", "unexpected", NULL};
  tend_autorestart_t *ar = out;
  bool b;
  if (cfg_parse_bool(val, &b)) {
    *ar = b ? TEND_AUTORESTART_TRUE : TEND_AUTORESTART_FALSE;
    return true;
  }
  for (int i = 0; restarts[i] != NULL; i++) {
    if (strcasecmp(val, restarts[i]) == 0) {
      *ar = (tend_autorestart_t)i;
      return true;
    }
  }
  return false;
}

static bool parse_retries(const char *val, void *out) {
  long n;
  if (strcasecmp(val, "infinite") == 0)
    *(int *)out = -1;
  else if (cfg_parse_long(val, &n) && n >= 0 && n <= INT_MAX)
    *(int *)out = (int)n;
  else
    return false;
  return true;
}

static bool parse_signal(const char *val, void *out) {
  int sig = tend_signum(val);
  if (sig > 0)
    *(int *)out = sig;
  return sig > 0;
}

static bool parse_factor(const char *val, void *out) {
  char *end;
  double f = strtod(val, &end);
  if (end == val || *end != '\0' || !(f >= 1 && f <= 100))
    return false;
  *(double *)out = f;
  return true;
}

/* How the processes start and how often they are started again. */
static bool read_start_keys(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                            struct program_common *pc) {
  bool ok = true;
  /* supervisord starts listeners first and stops them last */
  ok &= get_int(x, s, "priority", v, pc->listener ? -1 : 999, LONG_MIN, &pc->priority);
  ok &= get_bool(x, s, "autostart", v, true, &pc->autostart);
  pc->autorestart = TEND_AUTORESTART_UNEXPECTED;
  ok &= get_parsed(x, s, "autorestart", v, parse_autorestart, &pc->autorestart,
                   "true, false or unexpected");
  ok &= get_seconds(x, s, "startsecs", v, 1, &pc->startsecs);
  pc->startretries = 3;
  ok &= get_parsed(x, s, "startretries", v, parse_retries, &pc->startretries,
                   "an integer >= 0 or 'infinite'");
  return ok;
}

/* How the processes are stopped. */
static bool read_stop_keys(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                           struct program_common *pc) {
  bool ok = true;
  pc->stopsignal = SIGTERM;
  ok &= get_parsed(x, s, "stopsignal", v, parse_signal, &pc->stopsignal,
                   "a signal name (TERM, HUP, INT, QUIT, KILL, USR1, USR2, ...) or number");
  ok &= get_seconds(x, s, "stopwaitsecs", v, 10, &pc->stopwaitsecs);
  ok &= get_bool(x, s, "stopasgroup", v, true, &pc->stopasgroup);
  ok &= get_bool(x, s, "killasgroup", v, pc->stopasgroup, &pc->killasgroup);
  if (pc->stopasgroup && !pc->killasgroup) {
    cfg_entry_t *k = cfg_section_get(s, "killasgroup");
    key_error(x, s, k, "cannot be false when stopasgroup is true (stopping the group but "
                       "killing only the process would leave the group running)");
    ok = false;
  }
  return ok;
}

/* How many processes, as whom, with which umask and stdio. */
static bool read_process_keys(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                              struct program_common *pc) {
  static const char *const stdins[] = {"null", "pipe", NULL};
  bool ok = true;
  char *val;
  cfg_entry_t *e;
  ok &= get_bool(x, s, "redirect_stderr", v, false, &pc->redirect_stderr);
  ok &= get_long(x, s, "numprocs", v, 1, 1, &pc->numprocs);
  ok &= get_long(x, s, "numprocs_start", v, 0, 0, &pc->numprocs_start);
  int r = value_of(x, s, "user", v, &val, &e);
  if (r > 0) {
    if (cfg_user_exists(val))
      pc->user = val;
    else {
      invalid(x, s, e, val, "the name or id of an existing user");
      free(val);
      ok = false;
    }
  }
  ok &= r >= 0;
  ok &= get_octal(x, s, "umask", v, -1, &pc->umask);
  int in;
  ok &= get_choice(x, s, "stdin", v, stdins, 1, "pipe or null", &in);
  pc->stdin_pipe = in == 1;
  return ok;
}

/* tend's own keys: restart backoff, dependencies, readiness, channels. */
static bool read_tend_keys(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                           struct program_common *pc) {
  bool ok = true;
  char *val;
  cfg_entry_t *e;
  ok &= get_seconds(x, s, "backoff_initial", v, 1, &pc->backoff_initial);
  ok &= get_seconds(x, s, "backoff_max", v, 60, &pc->backoff_max);
  pc->backoff_factor = 2;
  ok &= get_parsed(x, s, "backoff_factor", v, parse_factor, &pc->backoff_factor,
                   "a number from 1 to 100");
  int r = value_of(x, s, "depends_on", v, &val, &e);
  if (r > 0) {
    pc->depends_on_line = e->line;
    /* comma- or space-separated program names; checked once all are read */
    for (char *tok = strtok(val, ", \t\n"); tok != NULL; tok = strtok(NULL, ", \t\n")) {
      if (strv_add(&pc->depends_on, tok) < 0)
        x->oom = true;
    }
    free(val);
  }
  ok &= r >= 0;
  ok &= get_parsed(x, s, "ready", v, parse_ready, pc,
                   "fd:N (N >= 3), tcp:HOST:PORT, unix:PATH or startsecs");
  ok &= get_seconds(x, s, "ready_timeout", v, 60, &pc->ready_timeout);
  static const char *const ons[] = {"ignore", "shutdown", NULL};
  int on;
  ok &= get_choice(x, s, "on_exit", v, ons, TEND_ON_IGNORE, "ignore or shutdown", &on);
  pc->on_exit = (tend_on_t)on;
  ok &= get_choice(x, s, "on_fatal", v, ons, TEND_ON_IGNORE, "ignore or shutdown", &on);
  pc->on_fatal = (tend_on_t)on;
  ok &= value_of(x, s, "stdout_channel", v, &pc->stdout_channel, &pc->stdout_channel_e) >= 0;
  ok &= value_of(x, s, "stdin_channel", v, &pc->stdin_channel, &pc->stdin_channel_e) >= 0;
  return ok;
}

/* supervisord's events: the output's (any section), the listener's
 * (options.py's checks of [eventlistener:x], as errors with file:line). */
static bool read_event_keys(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                            struct program_common *pc) {
  static const char *const ch[2] = {"stdout", "stderr"};
  bool ok = true;
  char key[64];
  for (int i = 0; i < 2; i++) {
    snprintf(key, sizeof(key), "%s_events_enabled", ch[i]);
    ok &= get_bool(x, s, key, v, false, &pc->events_enabled[i]);
    snprintf(key, sizeof(key), "%s_capture_maxbytes", ch[i]);
    ok &= get_bytes(x, s, key, v, 0, &pc->capture_maxbytes[i]);
  }
  if (!pc->listener)
    return ok;
  /* stdin and stdout are the protocol's */
  static const char *const taken[] = {"stdout_channel", "stdin_channel", NULL};
  for (int k = 0; taken[k] != NULL; k++) {
    cfg_entry_t *te = cfg_section_get(s, taken[k]);
    if (te != NULL) {
      key_error(x, s, te, "an event listener's stdin and stdout speak the event protocol");
      ok = false;
    }
  }
  cfg_entry_t *e = cfg_section_get(s, "stdin");
  if (!pc->stdin_pipe && e != NULL) {
    key_error(x, s, e, "an event listener's stdin and stdout speak the event protocol");
    ok = false;
  }
  e = cfg_section_get(s, "redirect_stderr");
  if (pc->redirect_stderr) {
    key_error(x, s, e, "an event listener cannot redirect stderr: its stdout speaks the event "
                       "protocol");
    ok = false;
  }
  long size;
  ok &= get_long(x, s, "buffer_size", v, 10, 1, &size);
  pc->buffer_size = size < INT_MAX ? (int)size : INT_MAX;
  char *val;
  int r = value_of(x, s, "result_handler", v, &val, &e);
  if (r > 0 && strcmp(val, "supervisor.dispatchers:default_handler") != 0) {
    invalid(x, s, e, val, "supervisor.dispatchers:default_handler (the only one tend has)");
    ok = false;
  }
  if (r > 0)
    free(val);
  r = value_of(x, s, "events", v, &val, &e);
  if (r == 0) {
    ERR(x, "%s:%d: [%s] events: missing (a listener needs events = TYPE, ...)", s->file,
        s->line, s->name);
    return false;
  }
  if (r < 0)
    return false;
  /* list_of_strings: comma-separated, each stripped */
  for (char *tok = strtok(val, ", \t\n"); tok != NULL; tok = strtok(NULL, ", \t\n")) {
    int t = evtype_find(tok);
    if (t < 0) {
      invalid(x, s, e, tok, "an event type such as PROCESS_STATE or TICK_60");
      ok = false;
    } else {
      pc->events |= evtype_covers((evtype_t)t);
    }
  }
  if (pc->events == 0 && ok) {
    key_error(x, s, e, "no event type given");
    ok = false;
  }
  free(val);
  return ok;
}

/* The keys of a [program:x] that are the same for all its processes; any
 * bad one marks the section bad. */
static void read_program_common(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                                struct program_common *pc) {
  bool ok = true;
  ok &= read_start_keys(x, s, v, pc);
  ok &= read_stop_keys(x, s, v, pc);
  read_exitcodes(x, s, v, pc);
  ok &= read_process_keys(x, s, v, pc);
  ok &= read_tend_keys(x, s, v, pc);
  ok &= read_event_keys(x, s, v, pc);
  if (!ok)
    pc->bad = true;
}

/* stdout_logfile / stderr_logfile and their maxbytes and backups. *automatic
 * is set for AUTO (the path is made once the name is known). */
static bool read_log(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v, const char *ch,
                     tend_logconf_t *lc, bool *automatic, bool *explicit_path) {
  char key[64];
  bool ok = true;
  char *val;
  cfg_entry_t *e;
  *automatic = true;
  *explicit_path = false;
  snprintf(key, sizeof(key), "%s_logfile", ch);
  int r = value_of(x, s, key, v, &val, &e);
  if (r > 0) {
    if (strcasecmp(val, "auto") == 0) {
      /* as not set */
    } else if (strcasecmp(val, "none") == 0 || strcasecmp(val, "off") == 0) {
      *automatic = false;
    } else if (strcasecmp(val, "syslog") == 0) {
      /* supervisord's older spelling of stdout_syslog = true */
      *automatic = false;
      lc->syslog = true;
    } else if (*val == '\0') {
      invalid(x, s, e, val, "a path, AUTO or NONE");
      ok = false;
    } else {
      *automatic = false;
      *explicit_path = true;
      lc->path = entry_path(x, s, e, v, val);
    }
    free(val);
  }
  ok &= r >= 0;
  snprintf(key, sizeof(key), "%s_logfile_maxbytes", ch);
  ok &= get_bytes(x, s, key, v, 50 * 1024 * 1024, &lc->maxbytes);
  snprintf(key, sizeof(key), "%s_logfile_backups", ch);
  ok &= get_int(x, s, key, v, 10, 0, &lc->backups);
  snprintf(key, sizeof(key), "%s_timestamps", ch);
  ok &= get_bool(x, s, key, v, false, &lc->timestamps);
  snprintf(key, sizeof(key), "%s_syslog", ch);
  bool to_syslog;
  ok &= get_bool(x, s, key, v, false, &to_syslog);
  lc->syslog = lc->syslog || to_syslog;
  return ok;
}

static int push_program(struct ctx *x, tend_program_t *p) {
  tend_config_t *c = x->c;
  if (c->nprograms == x->capprograms) {
    size_t ncap = x->capprograms ? x->capprograms * 2 : 16;
    tend_program_t *grown = realloc(c->programs, ncap * sizeof(*grown));
    if (grown == NULL)
      return -ENOMEM;
    c->programs = grown;
    x->capprograms = ncap;
  }
  c->programs[c->nprograms++] = *p;
  memset(p, 0, sizeof(*p));
  return 0;
}

/* environment = K="V",...: the program's own variables, in place of
 * *own (a bad value is reported and leaves *own as it was). 0, or -ENOMEM. */
static int read_environment(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v, char ***own,
                            bool *ok) {
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, "environment", v, &val, &e);
  *ok &= r >= 0;
  if (r <= 0)
    return 0;
  const char *why;
  char **parsed = NULL;
  int rc = cfg_parse_env(val, &parsed, &why);
  if (rc == -EINVAL) {
    key_error(x, s, e, "invalid value '%s': %s", cfg_excerpt(val, 0), why);
    *ok = false;
  } else if (rc != -ENOMEM) {
    strv_free(*own);
    *own = parsed;
  }
  free(val);
  return rc == -ENOMEM ? -ENOMEM : 0;
}

/* process_name expanded for this process: p->name ("GROUP:NAME" unless
 * the two are the same) and p->group. 0, or -ENOMEM. */
static int read_process_name(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                             const char *name_tmpl, tend_program_t *p, bool *ok) {
  char *name;
  char *why = NULL;
  int er = cfg_expand(name_tmpl, v, &name, &why);
  cfg_entry_t *pn = cfg_section_get(s, "process_name");
  if (er == -ENOMEM)
    return -ENOMEM;
  if (er < 0) {
    *ok = false;
    if (pn != NULL)
      key_error(x, s, pn, "%s", why);
    free(why);
    return 0;
  }
  if (!cfg_name_ok(name)) {
    if (pn != NULL)
      key_error(x, s, pn, "invalid name '%s': names cannot contain spaces, ':' or '/'", name);
    *ok = false;
    free(name);
    return 0;
  }
  p->group = strdup(v->group_name);
  if (strcmp(v->group_name, name) == 0)
    p->name = name;
  else {
    if (asprintf(&p->name, "%s:%s", v->group_name, name) < 0)
      p->name = NULL;
    free(name);
  }
  return p->name == NULL || p->group == NULL ? -ENOMEM : 0;
}

/* The stdout and stderr logs; AUTO paths are made in logdir once the name
 * is known and all read so far is good. 0, or -ENOMEM. */
static int read_logs(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                     const struct program_common *pc, const char *logdir, tend_program_t *p,
                     bool *ok) {
  bool out_auto, err_auto, out_explicit, err_explicit;
  *ok &= read_log(x, s, v, "stdout", &p->out, &out_auto, &out_explicit);
  *ok &= read_log(x, s, v, "stderr", &p->err, &err_auto, &err_explicit);
  if (pc->redirect_stderr) {
    if (err_explicit)
      NOTICE(x, "%s:%d: [%s] stderr_logfile: redirect_stderr is true, so stderr goes to the "
                "stdout log; stderr_logfile ignored",
             cfg_section_get(s, "stderr_logfile")->file,
             cfg_section_get(s, "stderr_logfile")->line, s->name);
    free(p->err.path);
    p->err.path = NULL;
    p->err.syslog = false;
    err_auto = false;
  }
  if (!*ok || p->name == NULL)
    return 0;
  if (out_auto && asprintf(&p->out.path, "%s/%s.out", logdir, p->name) < 0)
    return -ENOMEM;
  if (err_auto && asprintf(&p->err.path, "%s/%s.err", logdir, p->name) < 0)
    return -ENOMEM;
  return 0;
}

/* command, required, split into p->argv. 0, or -ENOMEM. */
static int read_command(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v, tend_program_t *p,
                        bool *ok) {
  cfg_entry_t *e;
  int r = value_of(x, s, "command", v, &p->command, &e);
  if (r == 0)
    ERR(x, "%s:%d: [%s] command: missing (every program needs one)", s->file, s->line, s->name);
  if (r <= 0) {
    *ok = false;
    return 0;
  }
  size_t argc;
  const char *swhy;
  int rc = cfg_split_command(p->command, &p->argv, &argc, &swhy);
  if (rc == -ENOMEM)
    return -ENOMEM;
  if (rc < 0) {
    key_error(x, s, e, "invalid value '%s': %s", cfg_excerpt(p->command, 0), swhy);
    *ok = false;
  } else if (argc == 0 || p->argv[0][0] == '\0') {
    key_error(x, s, e, "invalid value '%s': expected a program to run",
              cfg_excerpt(p->command, 0));
    *ok = false;
  }
  return 0;
}

/* [supervisord] environment, then the program's own (it wins per key). */
static int merge_env(char **sup_env, char **own_env, char ***env) {
  *env = calloc(1, sizeof(**env));
  if (*env == NULL)
    return -ENOMEM;
  for (char **kv = sup_env; kv != NULL && *kv != NULL; kv++)
    if (strv_env_set(env, *kv) < 0)
      return -ENOMEM;
  for (char **kv = own_env; *kv != NULL; kv++)
    if (strv_env_set(env, *kv) < 0)
      return -ENOMEM;
  return 0;
}

/* *dst = a copy of src, or NULL for NULL; false when out of memory. */
static bool dup_opt(const char *src, char **dst) {
  *dst = src != NULL ? strdup(src) : NULL;
  return src == NULL || *dst != NULL;
}

/* The section's fcgi socket, the process's own copy. 0, or -ENOMEM. */
static int copy_fcgi(tend_fcgi_socket_t *dst, const tend_fcgi_socket_t *src) {
  *dst = *src;
  dst->url = strdup(src->url);
  bool ok = dup_opt(src->host, &dst->host);
  ok &= dup_opt(src->path, &dst->path);
  ok &= dup_opt(src->owner, &dst->owner);
  return dst->url != NULL && ok ? 0 : -ENOMEM;
}

/* The settings every process of the section shares, by value. */
static void copy_settings(tend_program_t *p, const struct program_common *pc) {
  p->nexitcodes = pc->nexitcodes;
  p->umask = pc->umask;
  p->autostart = pc->autostart;
  p->autorestart = pc->autorestart;
  p->startsecs = pc->startsecs;
  p->startretries = pc->startretries;
  p->stopsignal = pc->stopsignal;
  p->stopwaitsecs = pc->stopwaitsecs;
  p->stopasgroup = pc->stopasgroup;
  p->killasgroup = pc->killasgroup;
  p->priority = pc->priority;
  p->redirect_stderr = pc->redirect_stderr;
  p->stdin_pipe = pc->stdin_pipe;
  p->backoff_initial = pc->backoff_initial;
  p->backoff_max = pc->backoff_max;
  p->backoff_factor = pc->backoff_factor;
  p->ready = pc->ready;
  p->ready_fd = pc->ready_fd;
  p->ready_port = pc->ready_port;
  p->ready_timeout = pc->ready_timeout;
  p->on_exit = pc->on_exit;
  p->on_fatal = pc->on_fatal;
  p->depends_on_line = pc->depends_on_line;
  p->listener = pc->listener;
  p->events = pc->events;
  p->buffer_size = pc->buffer_size;
  for (int i = 0; i < 2; i++) {
    p->events_enabled[i] = pc->events_enabled[i];
    p->capture_maxbytes[i] = pc->capture_maxbytes[i];
  }
}

/* What every process of the section shares, into p with copies of its
 * own (the section's are freed once all its processes are read); where it
 * is from. 0, or -ENOMEM. */
static int copy_common(tend_program_t *p, const struct program_common *pc, const cfg_vars_t *v,
                       const cfg_section_t *s) {
  p->program = strdup(v->program_name);
  p->file = strdup(s->file);
  p->exitcodes = malloc(((size_t)pc->nexitcodes + 1) * sizeof(int));
  bool ok = p->program != NULL && p->file != NULL && p->exitcodes != NULL;
  ok &= dup_opt(pc->user, &p->user);
  if (!ok)
    return -ENOMEM;
  if (pc->nexitcodes > 0)
    memcpy(p->exitcodes, pc->exitcodes, (size_t)pc->nexitcodes * sizeof(int));
  copy_settings(p, pc);
  p->line = s->line;
  p->process_num = (int)v->process_num;
  p->depends_on = strv_dup(pc->depends_on);
  ok &= pc->depends_on == NULL || p->depends_on != NULL;
  ok &= dup_opt(pc->stdout_channel, &p->stdout_channel);
  ok &= dup_opt(pc->stdin_channel, &p->stdin_channel);
  ok &= dup_opt(pc->ready_host, &p->ready_host);
  ok &= dup_opt(pc->ready_path, &p->ready_path);
  if (ok && pc->fcgi.url != NULL) {
    ok = copy_fcgi(&p->fcgi, &pc->fcgi) == 0;
    p->stdin_pipe = false; /* fd 0 is the socket */
  }
  return ok ? 0 : -ENOMEM;
}

/* One process of [program:x]: the keys that may use process_num. */
static void read_process(struct ctx *x, cfg_section_t *s, struct program_common *pc,
                         cfg_vars_t *v, const char *name_tmpl, const char *logdir) {
  tend_program_t p = {.umask = -1};
  bool ok = true;
  char **own_env = calloc(1, sizeof(*own_env));
  if (own_env == NULL)
    goto nomem;
  v->env[0] = NULL;
  v->env[1] = x->sup_env;
  v->env[2] = environ;
  if (read_environment(x, s, v, &own_env, &ok) < 0)
    goto nomem;
  /* the program's own environment is visible as ENV_X to the keys after */
  v->env[0] = own_env;
  if (read_process_name(x, s, v, name_tmpl, &p, &ok) < 0)
    goto nomem;
  bool bad = false;
  p.directory = get_path(x, s, "directory", v, &bad);
  ok &= !bad;
  if (read_logs(x, s, v, pc, logdir, &p, &ok) < 0 || read_command(x, s, v, &p, &ok) < 0)
    goto nomem;
  if (!ok || pc->bad) {
    strv_free(own_env);
    program_clear(&p);
    return;
  }
  if (merge_env(x->sup_env, own_env, &p.env) < 0)
    goto nomem;
  strv_free(own_env);
  own_env = NULL;
  if (copy_common(&p, pc, v, s) < 0 || push_program(x, &p) < 0)
    goto nomem;
  return;

nomem:
  x->oom = true;
  strv_free(own_env);
  program_clear(&p);
}

/* The socket keys of an [fcgi-program:x] (supervisord's checks in
 * process_groups_from_parser and parse_fcgi_socket). */
static void read_fcgi(struct ctx *x, cfg_section_t *s, const cfg_vars_t *v,
                      struct program_common *pc) {
  tend_fcgi_socket_t *f = &pc->fcgi;
  bool ok = true;
  char *val;
  cfg_entry_t *e;
  int r = value_of(x, s, "socket", v, &val, &e);
  if (r == 0)
    ERR(x, "%s:%d: [%s] socket: missing (an fcgi-program needs socket = tcp://HOST:PORT or "
           "unix:///PATH)", s->file, s->line, s->name);
  if (r > 0) {
    const char *why = NULL;
    int line = e->line;
    int rc = cfg_parse_fcgi_socket(val, v->here, f, &why);
    if (rc == -ENOMEM)
      x->oom = true;
    else if (rc < 0)
      invalid(x, s, e, val, why);
    f->line = line;
    free(val);
  }
  ok &= r > 0 && f->url != NULL;
  long backlog;
  ok &= get_long(x, s, "socket_backlog", v, 0, 1, &backlog);
  cfg_entry_t *be = cfg_section_get(s, "socket_backlog");
  if (be != NULL && backlog > 65535) {
    invalid(x, s, be, be->value, "an integer from 1 to 65535");
    ok = false;
  }
  f->backlog = (int)backlog;
  cfg_entry_t *me = cfg_section_get(s, "socket_mode");
  ok &= get_octal(x, s, "socket_mode", v, 0700, &f->mode);
  r = value_of(x, s, "socket_owner", v, &val, &e);
  cfg_entry_t *oe = e;
  if (r > 0) {
    char *colon = strchr(val, ':');
    if (colon != NULL)
      *colon = '\0';
    bool known = cfg_user_exists(val) && (colon == NULL || cfg_group_exists(colon + 1));
    if (colon != NULL)
      *colon = ':';
    if (known) {
      f->owner = val;
    } else {
      invalid(x, s, e, val, "user or user:group, of an existing user and group");
      free(val);
      ok = false;
    }
  }
  ok &= r >= 0;
  if (f->url != NULL && f->path == NULL && (me != NULL || oe != NULL)) {
    cfg_entry_t *at = me != NULL ? me : oe;
    key_error(x, s, at, "socket_owner and socket_mode are for a unix:// socket only");
    ok = false;
  }
  /* fd 0 is the socket: there is no stdin to write to */
  static const char *const stdin_keys[] = {"stdin", "stdin_channel", NULL};
  for (int k = 0; stdin_keys[k] != NULL; k++) {
    cfg_entry_t *ie = cfg_section_get(s, stdin_keys[k]);
    if (ie != NULL) {
      key_error(x, s, ie, "an fcgi-program's stdin is its socket");
      ok = false;
    }
  }
  if (!ok)
    pc->bad = true;
}

static void read_program(struct ctx *x, size_t si, const char *logdir) {
  static const char *const ignored[] = {"serverurl", NULL};
  cfg_section_t *s = &x->ini.sections[si];
  bool fcgi = prefix_is(s->name, "fcgi-program:");
  const char *pname = strchr(s->name, ':') + 1;
  if (!cfg_name_ok(pname)) {
    ERR(x, "%s:%d: [%s] invalid program name '%s': names cannot contain spaces, ':' or '/'",
        s->file, s->line, s->name, pname);
    return;
  }
  char *here = cfg_path_dir(s->file);
  if (here == NULL) {
    x->oom = true;
    return;
  }
  const struct group_ref *g = &x->groups[si];
  cfg_vars_t v = vars_for(x, here);
  v.program_name = pname;
  v.group_name = g->name != NULL ? g->name : pname;

  struct program_common pc = {.listener = prefix_is(s->name, "eventlistener:")};
  read_program_common(x, s, &v, &pc);
  if (fcgi)
    read_fcgi(x, s, &v, &pc);

  cfg_entry_t *pn = cfg_section_get(s, "process_name");
  const char *tmpl = pn != NULL ? pn->value : "%(program_name)s";
  if (pn != NULL)
    pn->used = true;
  oom_if(x, cfg_section_know(s, "process_name")); /* expanded per process, below */
  if (pc.numprocs > 1 && strstr(tmpl, "%(process_num)") == NULL) {
    cfg_entry_t *at = pn != NULL ? pn : cfg_section_get(s, "numprocs");
    key_error(x, s, at, "%%(process_num) must be present within process_name when numprocs > 1");
    pc.bad = true;
  }
  v.has_process_num = true;
  v.numprocs = pc.numprocs;
  size_t before = x->c->nprograms;
  for (long n = pc.numprocs_start; n < pc.numprocs_start + pc.numprocs && !x->oom; n++) {
    v.process_num = n;
    read_process(x, s, &pc, &v, tmpl, logdir);
  }
  /* Group membership and its priority, for every process of the section. */
  for (size_t i = before; i < x->c->nprograms; i++)
    x->c->programs[i].group_priority = g->name != NULL ? g->priority : pc.priority;
  free(pc.exitcodes);
  free(pc.user);
  strv_free(pc.depends_on);
  free(pc.ready_host);
  free(pc.ready_path);
  free(pc.stdout_channel);
  free(pc.stdin_channel);
  cfg_fcgi_socket_clear(&pc.fcgi);
  leftover_keys(x, s, ignored, false);
  free(here);
}

/* ---- the whole file ---------------------------------------------------- */

/* The first program of that [program:x] name, or NULL. */
static const tend_program_t *program_named(const tend_config_t *c, const char *program) {
  for (size_t i = 0; i < c->nprograms; i++)
    if (strcmp(c->programs[i].program, program) == 0)
      return &c->programs[i];
  return NULL;
}

/* The section a program came from, for messages: [fcgi-program:x] is a
 * program with a socket. */
static const char *section_kind(const tend_program_t *p) {
  return p->fcgi.url != NULL ? "fcgi-program" : p->listener ? "eventlistener" : "program";
}

/* Depth-first walk from p along depends_on; path holds the programs on
 * the way. True (and the error reported) when it comes back to one. */
static bool dep_cycle(struct ctx *x, const tend_program_t *p, const char **path, size_t depth) {
  for (size_t i = 0; i < depth; i++) {
    if (strcmp(path[i], p->program) != 0)
      continue;
    tend_buf_t chain = {0};
    for (size_t k = i; k < depth; k++) {
      tend_buf_append(&chain, path[k], strlen(path[k]));
      tend_buf_append(&chain, " -> ", 4);
    }
    tend_buf_append(&chain, p->program, strlen(p->program));
    tend_buf_append(&chain, "", 1);
    const tend_program_t *first = program_named(x->c, path[i]);
    ERR(x, "%s:%d: [%s:%s] depends_on: dependency cycle: %s", first->file,
        first->depends_on_line, section_kind(first), first->program,
        chain.data ? chain.data : "");
    tend_buf_free(&chain);
    return true;
  }
  if (depth >= x->c->nprograms)
    return false;
  path[depth] = p->program;
  for (char **d = p->depends_on; d != NULL && *d != NULL; d++) {
    const tend_program_t *q = program_named(x->c, *d);
    if (q != NULL && dep_cycle(x, q, path, depth + 1))
      return true;
  }
  return false;
}

/* depends_on names existing programs, none itself, and makes no cycle. */
static void check_dependencies(struct ctx *x) {
  tend_config_t *c = x->c;
  for (size_t i = 0; i < c->nprograms; i++) {
    const tend_program_t *p = &c->programs[i];
    if (p->process_num != program_named(c, p->program)->process_num)
      continue; /* once per [program:x] */
    for (char **d = p->depends_on; d != NULL && *d != NULL; d++) {
      if (program_named(c, *d) == NULL)
        ERR(x, "%s:%d: [%s:%s] depends_on: unknown program '%s'", p->file,
            p->depends_on_line, section_kind(p), p->program, *d);
      else if (strcmp(*d, p->program) == 0)
        ERR(x, "%s:%d: [%s:%s] depends_on: a program cannot depend on itself", p->file,
            p->depends_on_line, section_kind(p), p->program);
    }
  }
  if (x->diag->nerrors > 0)
    return;
  const char **path = calloc(c->nprograms + 1, sizeof(*path));
  if (path == NULL) {
    x->oom = true;
    return;
  }
  for (size_t i = 0; i < c->nprograms; i++)
    if (c->programs[i].depends_on != NULL && dep_cycle(x, &c->programs[i], path, 0))
      break;
  free(path);
}

int tend_program_cmp(const tend_program_t *a, const tend_program_t *b) {
  /* supervisord starts groups by group priority, then each group's
   * programs by their own */
  if (a->group_priority != b->group_priority)
    return a->group_priority < b->group_priority ? -1 : 1;
  if (a->priority != b->priority)
    return a->priority < b->priority ? -1 : 1;
  return strcmp(a->name, b->name);
}

static int program_cmp(const void *a, const void *b) { return tend_program_cmp(a, b); }

/* Indexes into programs (the qsort_r argument) by (name, index). */
static int name_order_cmp(const void *a, const void *b, void *programs) {
  const tend_program_t *p = programs;
  size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
  int r = strcmp(p[ia].name, p[ib].name);
  if (r != 0)
    return r;
  return ia < ib ? -1 : ia > ib;
}

/* Append a copy of the size bytes at item to the array *arr of *n. */
static int append_item(void **arr, size_t *n, size_t size, const void *item) {
  char *grown = realloc(*arr, (*n + 1) * size);
  if (grown == NULL)
    return -ENOMEM;
  memcpy(grown + *n * size, item, size);
  *arr = grown;
  (*n)++;
  return 0;
}

/* The NAME of a [prefix:NAME] section, or NULL (reported) if it is not a
 * valid name. */
static const char *section_name(struct ctx *x, const cfg_section_t *s, const char *prefix) {
  const char *name = s->name + strlen(prefix);
  if (cfg_name_ok(name))
    return name;
  ERR(x, "%s:%d: [%s] invalid name '%s': names cannot contain spaces, ':' or '/'", s->file,
      s->line, s->name, name);
  return NULL;
}

/* The number of CPUs online, the default for workers = N. */
static int cpus_online(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static void read_channel(struct ctx *x, cfg_section_t *s) {
  const char *name = section_name(x, s, "channel:");
  if (name == NULL)
    return;
  cfg_vars_t v = {0};
  tend_channel_conf_t ch = {0};
  get_int(x, s, "capacity", &v, 1024, 1, &ch.capacity);
  leftover_keys(x, s, NULL, false);
  ch.name = strdup(name);
  ch.file = strdup(s->file);
  ch.line = s->line;
  if (ch.name == NULL || ch.file == NULL ||
      append_item((void **)&x->c->channels, &x->c->nchannels, sizeof(ch), &ch) != 0) {
    free(ch.name);
    free(ch.file);
    x->oom = true;
  }
}

static void read_pool(struct ctx *x, cfg_section_t *s) {
  const char *name = section_name(x, s, "pool:");
  if (name == NULL)
    return;
  cfg_vars_t v = {0};
  tend_pool_conf_t pl = {0};
  get_int(x, s, "workers", &v, cpus_online(), 1, &pl.workers);
  get_seconds(x, s, "timeout", &v, 0, &pl.timeout);
  get_int(x, s, "keep", &v, 100, 0, &pl.keep);
  leftover_keys(x, s, NULL, false);
  pl.name = strdup(name);
  pl.file = strdup(s->file);
  pl.line = s->line;
  if (pl.name == NULL || pl.file == NULL ||
      append_item((void **)&x->c->pools, &x->c->npools, sizeof(pl), &pl) != 0) {
    free(pl.name);
    free(pl.file);
    x->oom = true;
  }
}

static void read_worker(struct ctx *x, cfg_section_t *s) {
  const char *name = section_name(x, s, "worker:");
  if (name == NULL)
    return;
  cfg_vars_t v = {0};
  tend_worker_conf_t w = {0};
  cfg_entry_t *e;
  if (value_of(x, s, "redis", &v, &w.redis, &e) == 0)
    ERR(x, "%s:%d: [%s] redis: missing (a URL: redis://host:port or unix:///path)", s->file,
        s->line, s->name);
  value_of(x, s, "stream", &v, &w.stream, &e);
  value_of(x, s, "group", &v, &w.group, &e);
  get_int(x, s, "workers", &v, cpus_online(), 1, &w.workers);
  get_seconds(x, s, "visibility", &v, 30, &w.visibility);
  leftover_keys(x, s, NULL, false);
  w.name = strdup(name);
  w.file = strdup(s->file);
  w.line = s->line;
  if (w.stream == NULL)
    w.stream = strdup(name);
  if (w.group == NULL)
    w.group = strdup("tend");
  if (w.name == NULL || w.file == NULL || w.stream == NULL || w.group == NULL ||
      append_item((void **)&x->c->workers, &x->c->nworkers, sizeof(w), &w) != 0) {
    free(w.name);
    free(w.file);
    free(w.redis);
    free(w.stream);
    free(w.group);
    x->oom = true;
  }
}

const tend_channel_conf_t *tend_config_channel(const tend_config_t *c, const char *name) {
  for (size_t i = 0; c != NULL && i < c->nchannels; i++)
    if (strcmp(c->channels[i].name, name) == 0)
      return &c->channels[i];
  return NULL;
}

const tend_pool_conf_t *tend_config_pool(const tend_config_t *c, const char *name) {
  for (size_t i = 0; c != NULL && i < c->npools; i++)
    if (strcmp(c->pools[i].name, name) == 0)
      return &c->pools[i];
  return NULL;
}

/* stdout_channel / stdin_channel name channels that exist. */
static void check_channels(struct ctx *x) {
  tend_config_t *c = x->c;
  for (size_t i = 0; i < c->nprograms; i++) {
    const tend_program_t *p = &c->programs[i];
    const char *names[2] = {p->stdout_channel, p->stdin_channel};
    static const char *const keys[2] = {"stdout_channel", "stdin_channel"};
    for (int k = 0; k < 2; k++)
      if (names[k] != NULL && tend_config_channel(c, names[k]) == NULL)
        ERR(x, "%s:%d: [%s:%s] %s: unknown channel '%s' (no [channel:%s] section)",
            p->file, p->line, section_kind(p), p->program, keys[k], names[k], names[k]);
  }
}

/* Two fcgi-programs on one socket would take it from each other
 * (supervisord unlinks and binds a unix path again). */
static void check_fcgi_sockets(struct ctx *x) {
  tend_config_t *c = x->c;
  for (size_t i = 0; i < c->nprograms; i++) {
    const tend_program_t *p = &c->programs[i];
    if (p->fcgi.url == NULL)
      continue;
    for (size_t k = 0; k < i; k++) {
      const tend_program_t *q = &c->programs[k];
      if (q->fcgi.url == NULL || strcmp(q->program, p->program) == 0 ||
          strcmp(q->fcgi.url, p->fcgi.url) != 0)
        continue;
      ERR(x, "%s:%d: [fcgi-program:%s] socket: '%s' is already the socket of "
             "[fcgi-program:%s] at %s:%d", p->file, p->fcgi.line, p->program, p->fcgi.url,
          q->program, q->file, q->fcgi.line);
      break;
    }
  }
}

static void read_sections(struct ctx *x, const char *main_dir) {
  tend_config_t *c = x->c;
  cfg_section_t *ts = find_section(x, "tend");
  cfg_section_t *ss = find_section(x, "supervisord");
  if (ts != NULL)
    read_tend(x, ts);
  if (ss != NULL)
    read_supervisord(x, ss, c->logfile != NULL, c->pidfile != NULL);
  if (c->socket == NULL && asprintf(&c->socket, "%s/tend.sock", main_dir) < 0) {
    c->socket = NULL;
    x->oom = true;
  }
  if (c->logdir == NULL && asprintf(&c->logdir, "%s/log", main_dir) < 0) {
    c->logdir = NULL;
    x->oom = true;
  }
  if (c->syslog_socket == NULL && (c->syslog_socket = strdup("/dev/log")) == NULL)
    x->oom = true;
  if (x->oom)
    return;
  read_groups(x);

  for (size_t i = 0; i < x->ini.nsections && !x->oom; i++) {
    cfg_section_t *s = &x->ini.sections[i];
    const char *n = s->name;
    if (strcmp(n, "tend") == 0 || strcmp(n, "supervisord") == 0 ||
        prefix_is(n, "group:"))
      continue;
    if (prefix_is(n, "program:") || prefix_is(n, "fcgi-program:") ||
        prefix_is(n, "eventlistener:")) {
      read_program(x, i, c->logdir);
    } else if (prefix_is(n, "channel:")) {
      read_channel(x, s);
    } else if (prefix_is(n, "pool:")) {
      read_pool(x, s);
    } else if (prefix_is(n, "worker:")) {
      read_worker(x, s);
    } else if (strcmp(n, "include") == 0) {
      leftover_keys(x, s, NULL, false);
    } else if (strcmp(n, "supervisorctl") == 0 || strcmp(n, "unix_http_server") == 0 ||
               strcmp(n, "inet_http_server") == 0 || prefix_is(n, "rpcinterface:") ||
               prefix_is(n, "ctlplugin:")) {
      if (strcmp(n, "unix_http_server") == 0 || strcmp(n, "inet_http_server") == 0) {
        /* Served (daemon/rpc.c): its keys are all known. */
        read_http_server(x, s, n[0] == 'u' ? &c->unix_http : &c->inet_http);
        continue;
      }
      for (size_t k = 0; k < s->nentries; k++)
        s->entries[k].used = true;
      char *keys = NULL;
      size_t len = 0;
      for (size_t k = 0; k < s->nentries; k++)
        len += strlen(s->entries[k].key) + 2;
      keys = calloc(1, len + 1);
      if (keys == NULL) {
        x->oom = true;
        break;
      }
      for (size_t k = 0; k < s->nentries; k++) {
        if (k > 0)
          strcat(keys, ", ");
        strcat(keys, s->entries[k].key);
      }
      NOTICE(x, "%s:%d: [%s] not used by tend, ignored (keys: %s)", s->file, s->line, n,
             s->nentries > 0 ? keys : "none");
      free(keys);
    } else {
      ERR(x, "%s:%d: [%s] unknown section", s->file, s->line, n);
    }
  }

  /* A program in no group is a group of its own name: a [group:x] of the
   * same name would make two groups x. */
  for (size_t i = 0; i < x->ini.nsections; i++) {
    cfg_section_t *g = &x->ini.sections[i];
    if (!prefix_is(g->name, "group:"))
      continue;
    for (size_t k = 0; k < x->ini.nsections; k++) {
      cfg_section_t *p = &x->ini.sections[k];
      const char *colon = strchr(p->name, ':');
      bool prog = prefix_is(p->name, "program:") || prefix_is(p->name, "fcgi-program:");
      if (prog && strcmp(colon + 1, g->name + 6) == 0 && x->groups[k].name == NULL)
        ERR(x, "%s:%d: [%s] group '%s' clashes with [%s] at %s:%d, which is in no group and so "
               "a group of its own name", g->file, g->line, g->name, g->name + 6, p->name,
            p->file, p->line);
    }
  }

  /* Unique names (a name is "GROUP:PROCESS", or PROCESS when they agree):
   * sorted by (name, reading order), a duplicate follows its first. */
  if (c->nprograms > 1) {
    size_t *order = malloc(c->nprograms * sizeof(*order));
    if (order == NULL) {
      x->oom = true;
      return;
    }
    for (size_t i = 0; i < c->nprograms; i++)
      order[i] = i;
    qsort_r(order, c->nprograms, sizeof(*order), name_order_cmp, c->programs);
    size_t first = 0;
    for (size_t i = 1; i < c->nprograms; i++) {
      tend_program_t *a = &c->programs[order[first]], *b = &c->programs[order[i]];
      if (strcmp(a->name, b->name) != 0) {
        first = i;
        continue;
      }
      ERR(x, "%s:%d: [%s:%s] duplicate process name '%s' (also from [%s:%s] at %s:%d)",
          b->file, b->line, section_kind(b), b->program, b->name, section_kind(a), a->program,
          a->file, a->line);
    }
    free(order);
  }
  check_dependencies(x);
  check_channels(x);
  check_fcgi_sockets(x);
  if (c->nprograms > 1)
    qsort(c->programs, c->nprograms, sizeof(*c->programs), program_cmp);
}

/* Where a message points: (index of its file in reading order, line);
 * messages without "FILE:LINE: " come first. */
static void msg_place(const cfg_ini_t *ini, const char *msg, long *file, long *line) {
  *file = -1;
  *line = 0;
  for (size_t i = 0; i < ini->nfiles; i++) {
    size_t n = strlen(ini->files[i]);
    if (strncmp(msg, ini->files[i], n) == 0 && msg[n] == ':' &&
        isdigit((unsigned char)msg[n + 1])) {
      *file = (long)i;
      *line = strtol(msg + n + 1, NULL, 10);
      return;
    }
  }
}

/* Errors in the order of the files and lines they point at (stable, so
 * the messages about one line keep their order), whatever order the
 * checks ran in. */
static void sort_messages(const cfg_ini_t *ini, char **msgs, size_t first, size_t n) {
  for (size_t i = first + 1; i < n; i++) {
    char *m = msgs[i];
    long f, l;
    msg_place(ini, m, &f, &l);
    size_t k = i;
    while (k > first) {
      long pf, pl;
      msg_place(ini, msgs[k - 1], &pf, &pl);
      if (pf < f || (pf == f && pl <= l))
        break;
      msgs[k] = msgs[k - 1];
      k--;
    }
    msgs[k] = m;
  }
}

int tend_config_load(const char *path, tend_config_t **out, tend_diag_t *diag) {
  return tend_config_load_flags(path, 0, out, diag);
}

size_t tend_config_supervisord_processes(const tend_config_t *c) {
  size_t n = c->nprograms;
  for (size_t i = 0; i < c->nskipped; i++)
    n += (size_t)c->skipped[i].processes;
  return n;
}

int tend_config_load_flags(const char *path, unsigned flags, tend_config_t **out,
                           tend_diag_t *diag) {
  struct ctx x = {.diag = diag, .strict = (flags & TEND_CONFIG_STRICT) != 0};
  int rc = 0;
  /* diag may already hold messages of an earlier load */
  size_t first_error = diag->nerrors, first_notice = diag->nnotices;
  *out = NULL;
  char *abs = cfg_path_abs(path);
  x.c = calloc(1, sizeof(*x.c));
  if (abs == NULL || x.c == NULL) {
    free(abs);
    free(x.c);
    return -ENOMEM;
  }
  x.c->path = abs;
  x.c->socket_mode = 0600;
  x.c->umask = -1;
  struct utsname u;
  if (uname(&u) == 0)
    snprintf(x.nodename, sizeof(x.nodename), "%s", u.nodename);

  rc = load_file(&x, abs);
  if (rc < 0 && rc != -ENOMEM) {
    ERR(&x, "%s: cannot read config file: %s", abs, strerror(-rc));
    goto done;
  }
  if (x.oom)
    goto done;
  x.groups = calloc(x.ini.nsections + 1, sizeof(*x.groups));
  if (x.groups == NULL) {
    x.oom = true;
    goto done;
  }
  char *main_dir = cfg_path_dir(abs);
  if (main_dir == NULL) {
    x.oom = true;
    goto done;
  }
  read_sections(&x, main_dir);
  free(main_dir);

done:
  sort_messages(&x.ini, diag->errors, first_error, diag->nerrors);
  sort_messages(&x.ini, diag->notices, first_notice, diag->nnotices);
  if (x.oom)
    rc = -ENOMEM;
  else if (rc == 0 && diag->nerrors > first_error)
    rc = -EINVAL;
  if (rc == 0)
    *out = x.c;
  else
    tend_config_free(x.c);
  cfg_ini_free(&x.ini);
  strv_free(x.sup_env);
  free(x.groups);
  free(x.stack);
  return rc;
}

static void channels_pools_free(tend_config_t *c) {
  for (size_t i = 0; i < c->nchannels; i++) {
    free(c->channels[i].name);
    free(c->channels[i].file);
  }
  free(c->channels);
  for (size_t i = 0; i < c->npools; i++) {
    free(c->pools[i].name);
    free(c->pools[i].file);
  }
  free(c->pools);
  for (size_t i = 0; i < c->nworkers; i++) {
    tend_worker_conf_t *w = &c->workers[i];
    free(w->name);
    free(w->redis);
    free(w->stream);
    free(w->group);
    free(w->file);
  }
  free(c->workers);
}

static void http_conf_free(tend_http_conf_t *h) {
  free(h->file);
  free(h->chown);
  free(h->host);
  free(h->username);
  free(h->password);
  free(h->conf);
}

void tend_config_free(tend_config_t *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->nprograms; i++)
    program_clear(&c->programs[i]);
  free(c->programs);
  channels_pools_free(c);
  for (size_t i = 0; i < c->nskipped; i++) {
    free(c->skipped[i].section);
    free(c->skipped[i].file);
  }
  free(c->skipped);
  free(c->path);
  free(c->socket);
  free(c->socket_owner);
  free(c->logfile);
  free(c->logdir);
  free(c->pidfile);
  free(c->identifier);
  free(c->syslog_socket);
  http_conf_free(&c->unix_http);
  http_conf_free(&c->inet_http);
  free(c);
}

void tend_diag_free(tend_diag_t *d) {
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->nerrors; i++)
    free(d->errors[i]);
  for (size_t i = 0; i < d->nnotices; i++)
    free(d->notices[i]);
  free(d->errors);
  free(d->notices);
  memset(d, 0, sizeof(*d));
}

const tend_program_t *tend_config_find(const tend_config_t *c, const char *name) {
  for (size_t i = 0; c != NULL && i < c->nprograms; i++)
    if (strcmp(c->programs[i].name, name) == 0)
      return &c->programs[i];
  return NULL;
}

static bool str_same(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool strv_same(char *const *a, char *const *b) {
  size_t n = strv_len(a);
  if (n != strv_len(b))
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(a[i], b[i]) != 0)
      return false;
  return true;
}

static bool log_same(const tend_logconf_t *a, const tend_logconf_t *b) {
  return str_same(a->path, b->path) && a->maxbytes == b->maxbytes && a->backups == b->backups &&
         a->timestamps == b->timestamps && a->syslog == b->syslog;
}

static bool strv_same_or_null(char *const *a, char *const *b) {
  if (a == NULL || b == NULL)
    return strv_len(a) == strv_len(b);
  return strv_same(a, b);
}

bool tend_program_same(const tend_program_t *a, const tend_program_t *b) {
  return str_same(a->program, b->program) && str_same(a->group, b->group) &&
         a->process_num == b->process_num && strv_same(a->argv, b->argv) &&
         str_same(a->directory, b->directory) && strv_same(a->env, b->env) &&
         str_same(a->user, b->user) && a->umask == b->umask && a->autostart == b->autostart &&
         a->autorestart == b->autorestart && a->nexitcodes == b->nexitcodes &&
         (a->nexitcodes == 0 ||
          memcmp(a->exitcodes, b->exitcodes, (size_t)a->nexitcodes * sizeof(int)) == 0) &&
         a->startsecs == b->startsecs && a->startretries == b->startretries &&
         a->stopsignal == b->stopsignal && a->stopwaitsecs == b->stopwaitsecs &&
         a->stopasgroup == b->stopasgroup && a->killasgroup == b->killasgroup &&
         a->priority == b->priority && a->group_priority == b->group_priority &&
         a->redirect_stderr == b->redirect_stderr && log_same(&a->out, &b->out) &&
         log_same(&a->err, &b->err) && a->stdin_pipe == b->stdin_pipe &&
         a->backoff_initial == b->backoff_initial && a->backoff_max == b->backoff_max &&
         a->backoff_factor == b->backoff_factor && strv_same_or_null(a->depends_on, b->depends_on) &&
         a->ready == b->ready && a->ready_fd == b->ready_fd && a->ready_port == b->ready_port &&
         str_same(a->ready_host, b->ready_host) && str_same(a->ready_path, b->ready_path) &&
         a->ready_timeout == b->ready_timeout && a->on_exit == b->on_exit &&
         a->on_fatal == b->on_fatal && str_same(a->stdout_channel, b->stdout_channel) &&
         str_same(a->stdin_channel, b->stdin_channel) && str_same(a->fcgi.url, b->fcgi.url) &&
         a->fcgi.backlog == b->fcgi.backlog && a->fcgi.mode == b->fcgi.mode &&
         str_same(a->fcgi.owner, b->fcgi.owner) && a->listener == b->listener &&
         a->events == b->events && a->buffer_size == b->buffer_size &&
         memcmp(a->events_enabled, b->events_enabled, sizeof(a->events_enabled)) == 0 &&
         memcmp(a->capture_maxbytes, b->capture_maxbytes, sizeof(a->capture_maxbytes)) == 0;
}
