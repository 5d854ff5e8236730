/* SPDX-License-Identifier: MIT */
/*
 * The one builder of a child's environment (core/childenv.h): a copy of the
 * base, then each override in turn through strv_env_set, so that the
 * supervisor, the dist worker and `tend run` agree on which value wins.
 */
#include "core/childenv.h"
#include "core/strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int childenv_init(childenv_t *e, char *const *base) {
  e->envp = calloc(1, sizeof(char *));
  if (e->envp == NULL)
    return -ENOMEM;
  return childenv_setv(e, base != NULL ? base : environ);
}

int childenv_set(childenv_t *e, const char *kv) {
  return e->envp != NULL ? strv_env_set(&e->envp, kv) : -ENOMEM;
}

int childenv_setv(childenv_t *e, char *const *kvs) {
  int r = 0;
  for (size_t i = 0; r == 0 && kvs != NULL && kvs[i] != NULL; i++)
    r = childenv_set(e, kvs[i]);
  return r;
}

int childenv_setf(childenv_t *e, const char *fmt, ...) {
  va_list ap;
  char *kv;
  va_start(ap, fmt);
  int n = vasprintf(&kv, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -ENOMEM;
  int r = childenv_set(e, kv);
  free(kv);
  return r;
}

void childenv_free(childenv_t *e) {
  if (e->envp != NULL)
    strv_free(e->envp);
  e->envp = NULL;
}
