/* SPDX-License-Identifier: MIT */
/*
 * Deep copies of a loaded config, whole or with one group's programs taken
 * from another config: supervisord's addProcessGroup / removeProcessGroup
 * (daemon/reread.c) apply "the config in force with one group changed",
 * and the supervisor keeps (and frees) every config it is given.
 *
 * Each copy replaces every pointer of a struct assigned by value, so a
 * copy that runs out of memory holds NULLs, never pointers into the
 * original, and tend_config_free frees it whole.
 */
#include "core/strv.h"
#include "tend/config.h"

#include <stdlib.h>
#include <string.h>

/* A copy of s (NULL for NULL); *ok becomes false when out of memory. */
static char *dup_str(const char *s, bool *ok) {
  if (s == NULL)
    return NULL;
  char *d = strdup(s);
  *ok &= d != NULL;
  return d;
}

static char **dup_strv(char *const *v, bool *ok) {
  if (v == NULL)
    return NULL;
  char **d = strv_dup(v);
  *ok &= d != NULL;
  return d;
}

/* n items of size bytes, their pointers still those of src. */
static void *dup_items(const void *src, size_t n, size_t size, bool *ok) {
  if (n == 0)
    return NULL;
  void *d = malloc(n * size);
  if (d == NULL) {
    *ok = false;
    return NULL;
  }
  memcpy(d, src, n * size);
  return d;
}

static void copy_log(tend_logconf_t *l, bool *ok) { l->path = dup_str(l->path, ok); }

/* p holds src's fields by value: give it its own copies. */
static void copy_program(tend_program_t *p, bool *ok) {
  p->name = dup_str(p->name, ok);
  p->program = dup_str(p->program, ok);
  p->group = dup_str(p->group, ok);
  p->command = dup_str(p->command, ok);
  p->argv = dup_strv(p->argv, ok);
  p->directory = dup_str(p->directory, ok);
  p->env = dup_strv(p->env, ok);
  p->user = dup_str(p->user, ok);
  /* As the loader allocates it: one more than nexitcodes, never NULL. */
  int *codes = malloc(((size_t)p->nexitcodes + 1) * sizeof(int));
  if (codes != NULL && p->nexitcodes > 0)
    memcpy(codes, p->exitcodes, (size_t)p->nexitcodes * sizeof(int));
  *ok &= codes != NULL;
  p->exitcodes = codes;
  p->depends_on = dup_strv(p->depends_on, ok);
  p->stdout_channel = dup_str(p->stdout_channel, ok);
  p->stdin_channel = dup_str(p->stdin_channel, ok);
  p->ready_host = dup_str(p->ready_host, ok);
  p->ready_path = dup_str(p->ready_path, ok);
  copy_log(&p->out, ok);
  copy_log(&p->err, ok);
  p->fcgi.url = dup_str(p->fcgi.url, ok);
  p->fcgi.host = dup_str(p->fcgi.host, ok);
  p->fcgi.path = dup_str(p->fcgi.path, ok);
  p->fcgi.owner = dup_str(p->fcgi.owner, ok);
  p->file = dup_str(p->file, ok);
}

static void copy_http(tend_http_conf_t *h, bool *ok) {
  h->file = dup_str(h->file, ok);
  h->chown = dup_str(h->chown, ok);
  h->host = dup_str(h->host, ok);
  h->username = dup_str(h->username, ok);
  h->password = dup_str(h->password, ok);
  h->conf = dup_str(h->conf, ok);
}

/* c holds src's fields by value: copy all but the programs. */
static void copy_rest(tend_config_t *c, bool *ok) {
  c->path = dup_str(c->path, ok);
  c->socket = dup_str(c->socket, ok);
  c->socket_owner = dup_str(c->socket_owner, ok);
  c->logfile = dup_str(c->logfile, ok);
  c->logdir = dup_str(c->logdir, ok);
  c->pidfile = dup_str(c->pidfile, ok);
  c->identifier = dup_str(c->identifier, ok);
  c->syslog_socket = dup_str(c->syslog_socket, ok);
  copy_http(&c->unix_http, ok);
  copy_http(&c->inet_http, ok);

  tend_channel_conf_t *ch = dup_items(c->channels, c->nchannels, sizeof(*ch), ok);
  c->channels = ch;
  c->nchannels = ch != NULL ? c->nchannels : 0;
  for (size_t i = 0; i < c->nchannels; i++) {
    ch[i].name = dup_str(ch[i].name, ok);
    ch[i].file = dup_str(ch[i].file, ok);
  }
  tend_pool_conf_t *po = dup_items(c->pools, c->npools, sizeof(*po), ok);
  c->pools = po;
  c->npools = po != NULL ? c->npools : 0;
  for (size_t i = 0; i < c->npools; i++) {
    po[i].name = dup_str(po[i].name, ok);
    po[i].file = dup_str(po[i].file, ok);
  }
  tend_worker_conf_t *w = dup_items(c->workers, c->nworkers, sizeof(*w), ok);
  c->workers = w;
  c->nworkers = w != NULL ? c->nworkers : 0;
  for (size_t i = 0; i < c->nworkers; i++) {
    w[i].name = dup_str(w[i].name, ok);
    w[i].redis = dup_str(w[i].redis, ok);
    w[i].stream = dup_str(w[i].stream, ok);
    w[i].group = dup_str(w[i].group, ok);
    w[i].file = dup_str(w[i].file, ok);
  }
  tend_skipped_t *sk = dup_items(c->skipped, c->nskipped, sizeof(*sk), ok);
  c->skipped = sk;
  c->nskipped = sk != NULL ? c->nskipped : 0;
  for (size_t i = 0; i < c->nskipped; i++) {
    sk[i].section = dup_str(sk[i].section, ok);
    sk[i].file = dup_str(sk[i].file, ok);
  }
}

/* Append a copy of p to c's programs (room is there). */
static void add_program(tend_config_t *c, const tend_program_t *p, bool *ok) {
  c->programs[c->nprograms] = *p;
  copy_program(&c->programs[c->nprograms++], ok);
}

static int program_cmp(const void *a, const void *b) { return tend_program_cmp(a, b); }

tend_config_t *tend_config_regroup(const tend_config_t *c, const tend_config_t *from,
                                   const char *group) {
  tend_config_t *n = malloc(sizeof(*n));
  if (n == NULL)
    return NULL;
  *n = *c;
  bool ok = true;
  copy_rest(n, &ok);
  size_t room = c->nprograms + (from != NULL ? from->nprograms : 0);
  n->programs = room > 0 ? calloc(room, sizeof(*n->programs)) : NULL;
  n->nprograms = 0;
  ok &= room == 0 || n->programs != NULL;
  for (size_t i = 0; ok && i < c->nprograms; i++)
    if (group == NULL || strcmp(c->programs[i].group, group) != 0)
      add_program(n, &c->programs[i], &ok);
  for (size_t i = 0; ok && group != NULL && from != NULL && i < from->nprograms; i++)
    if (strcmp(from->programs[i].group, group) == 0)
      add_program(n, &from->programs[i], &ok);
  if (!ok) {
    tend_config_free(n);
    return NULL;
  }
  if (n->nprograms > 1)
    qsort(n->programs, n->nprograms, sizeof(*n->programs), program_cmp);
  return n;
}

tend_config_t *tend_config_dup(const tend_config_t *c) {
  return tend_config_regroup(c, NULL, NULL);
}
