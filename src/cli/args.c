/* SPDX-License-Identifier: MIT */
/* Argument helpers shared by the subcommands. */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_seconds(const char *s, uint64_t *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno != 0 || !isfinite(v) || v < 0)
    return -EINVAL;
  double mult = 1000;
  if (*end != '\0') {
    switch (*end) {
    case 's': break;
    case 'm': mult *= 60; break;
    case 'h': mult *= 3600; break;
    case 'd': mult *= 86400; break;
    default: return -EINVAL;
    }
    if (end[1] != '\0')
      return -EINVAL;
  }
  v *= mult;
  if (v > 1e15)
    return -EINVAL;
  *ms = (uint64_t)ceil(v);
  return 0;
}

void cli_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "tend %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void cli_bad_option(const char *cmd, char **argv, const struct option *longopts) {
  for (const struct option *o = longopts; optopt != 0 && o->name != NULL; o++) {
    if (o->val == optopt && o->has_arg == required_argument) {
      cli_error(cmd, "option '--%s' needs a value (see 'tend help %s')", o->name, cmd);
      return;
    }
  }
  cli_error(cmd, "unknown option '%s' (see 'tend help %s')", argv[optind - 1], cmd);
}

const char *cli_default_config(void) {
  const char *env = getenv("TEND_CONFIG");
  if (env != NULL && *env != '\0')
    return env;
  if (access("conf/tend.conf", F_OK) == 0)
    return "conf/tend.conf";
  return TEND_SYSCONFDIR "/tend/tend.conf";
}
