/* SPDX-License-Identifier: MIT */
/*
 * The environment of a child: a base (our own environ, or one given), then
 * overrides and additions applied in order, "K=V" each, a later K
 * replacing an earlier one where it stands (as a Python dict update, which
 * is what supervisord's environment= does). Used by the supervisor (the
 * program's environment= and SUPERVISOR_*), the dist worker (the task's
 * env and TEND_TASK_*) and `tend run --env`.
 */
#ifndef TEND_CHILDENV_H
#define TEND_CHILDENV_H

typedef struct childenv {
  char **envp; /* NULL-terminated "K=V" strings, all owned */
} childenv_t;

/* Start from base (environ when NULL). 0 or -ENOMEM; either way e is to be
 * freed with childenv_free. */
int childenv_init(childenv_t *e, char *const *base);

/* Set kv ("K=V"), replacing K if present. 0 or -ENOMEM. */
int childenv_set(childenv_t *e, const char *kv);

/* childenv_set for each of the NULL-terminated kvs (NULL: none). */
int childenv_setv(childenv_t *e, char *const *kvs);

/* childenv_set of the formatted "K=V". 0 or -ENOMEM. */
int childenv_setf(childenv_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Free every string and the array; e->envp is NULL after. */
void childenv_free(childenv_t *e);

#endif
