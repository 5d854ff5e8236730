/* SPDX-License-Identifier: MIT */
/*
 * supervisord's string expansions: Python's "%(name)s" formatting with a
 * mapping, as options.expand() does it ("value % expansions").
 */
#ifndef TEND_CONFIG_EXPAND_H
#define TEND_CONFIG_EXPAND_H

#include <stdbool.h>

/* The names a value may use. A NULL string is a name not available where
 * the value is (program_name outside [program:x], for instance). */
typedef struct {
  const char *here;           /* directory of the file holding the section */
  const char *host_node_name; /* uname's nodename */
  const char *program_name;
  const char *group_name;
  bool has_process_num;       /* process_num and numprocs are available */
  long process_num;
  long numprocs;
  /* ENV_X looks X up in these NULL-terminated "K=V" lists, first to last
   * (the program's environment, [supervisord]'s, the daemon's). */
  char *const *env[3];
} cfg_vars_t;

/*
 * Expand s: "%(name)s" with Python's flags, width and precision
 * ("%(process_num)02d"), "%%" for '%'. Returns 0 with *out (malloc'd), or
 * -EINVAL with *why (malloc'd: what is wrong, naming the expansion), or
 * -ENOMEM.
 */
int cfg_expand(const char *s, const cfg_vars_t *v, char **out, char **why);

#endif
