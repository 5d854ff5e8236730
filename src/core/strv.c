/* SPDX-License-Identifier: MIT */
/* NULL-terminated string lists (see core/strv.h). */
#include "core/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void strv_free(char **v) {
  if (v == NULL)
    return;
  for (char **p = v; *p != NULL; p++)
    free(*p);
  free(v);
}

size_t strv_len(char *const *v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

int strv_push(char ***v, size_t *n, const char *s, size_t len) {
  char *copy = strndup(s, len);
  char **grown = copy != NULL ? realloc(*v, (*n + 2) * sizeof(**v)) : NULL;
  if (grown == NULL) {
    free(copy);
    return -ENOMEM;
  }
  grown[(*n)++] = copy;
  grown[*n] = NULL;
  *v = grown;
  return 0;
}

int strv_add(char ***v, const char *s) {
  size_t n = strv_len(*v);
  return strv_push(v, &n, s, strlen(s));
}

char **strv_dup(char *const *v) {
  if (v == NULL)
    return NULL;
  char **copy = calloc(1, sizeof(*copy));
  for (size_t i = 0; copy != NULL && v[i] != NULL; i++) {
    if (strv_add(&copy, v[i]) < 0) {
      strv_free(copy);
      copy = NULL;
    }
  }
  return copy;
}

int strv_env_set(char ***env, const char *kv) {
  size_t klen = strcspn(kv, "=");
  size_t n = strv_len(*env);
  for (size_t i = 0; i < n; i++) {
    if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
      char *copy = strdup(kv);
      if (copy == NULL)
        return -ENOMEM;
      free((*env)[i]);
      (*env)[i] = copy;
      return 0;
    }
  }
  return strv_push(env, &n, kv, strlen(kv));
}
