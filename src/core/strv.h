/* SPDX-License-Identifier: MIT */
/*
 * NULL-terminated lists of malloc'd strings (argv, envp): the shape the
 * config's command and environment, a child's environment and a task's
 * arguments all take. Every function keeps the list NULL-terminated.
 */
#ifndef TEND_CORE_STRV_H
#define TEND_CORE_STRV_H

#include <stddef.h>

/* Append a copy of the len bytes at s to *v, whose length is *n (updated).
 * 0 or -ENOMEM (then *v is unchanged). */
int strv_push(char ***v, size_t *n, const char *s, size_t len);
/* Append a copy of s to *v. 0 or -ENOMEM. */
int strv_add(char ***v, const char *s);
/* A deep copy (NULL for NULL or when out of memory). */
char **strv_dup(char *const *v);
/* Set "K=V" in the environment list *env, replacing K where it stands.
 * 0 or -ENOMEM. */
int strv_env_set(char ***env, const char *kv);

void strv_free(char **v);
size_t strv_len(char *const *v);

#endif
