/* SPDX-License-Identifier: MIT */
/* Argument helpers shared by the subcommands. */
#include "build_config.h"
#include "cli.h"
#include "core/units.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_seconds(const char *cmd, const char *opt, const char *s, bool positive, uint64_t *ms) {
  if (units_ms(s, ms) != 0 || (positive && *ms == 0)) {
    cli_error(cmd, "%s: invalid value '%s': expected %s seconds (e.g. 1.5, 30s, 2m)", opt, s,
              positive ? "a positive number of" : "a number of");
    return -EINVAL;
  }
  return 0;
}

void cli_signals_start(cli_signals_t *s, uv_loop_t *loop, bool hup, uv_signal_cb cb, void *data) {
  static const int signums[] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < (hup ? 3 : 2); i++) {
    uv_signal_init(loop, &s->h[i]);
    s->h[i].data = data;
    uv_signal_start(&s->h[i], cb, signums[i]);
    s->n++;
  }
}

void cli_signals_close(cli_signals_t *s) {
  for (int i = 0; i < s->n; i++)
    uv_close((uv_handle_t *)&s->h[i], NULL);
  s->n = 0;
}

void cli_loop_close(const char *cmd, uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  if (uv_loop_close(loop) != 0)
    cli_error(cmd, "internal error: handles left open");
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
  /* A short option's letter is optopt: argv[optind - 1] is not its word
   * while getopt is inside a cluster such as -zq. A long one is its word. */
  if (optopt != 0)
    cli_error(cmd, "unknown option '-%c' (see 'tend help %s')", optopt, cmd);
  else
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

/* A command as a POSIX shell would need it quoted. */
void cli_put_command(FILE *f, char *const *argv) {
  for (int i = 0; argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (i > 0)
      fputc(' ', f);
    if (*a != '\0' && strpbrk(a, " \t\n'\"\\$&;|<>()*?[]{}~`#!=%^,") == NULL) {
      fputs(a, f);
      continue;
    }
    fputc('\'', f);
    for (; *a; a++) {
      if (*a == '\'')
        fputs("'\\''", f);
      else
        fputc(*a, f);
    }
    fputc('\'', f);
  }
}
