/* SPDX-License-Identifier: MIT */
/* The tend CLI: a table of subcommands, each a cmd_* handler. */
#ifndef TEND_CLI_H
#define TEND_CLI_H

#include <stdbool.h>
#include <stdint.h>

struct cmd {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
  const char *usage; /* full help text */
};

int cmd_run(int argc, char **argv);
extern const char cmd_run_usage[];

/* Seconds as "1.5", "2s", "3m", "1h" into milliseconds. 0 or -EINVAL. */
int args_seconds(const char *s, uint64_t *ms);

/* Print "tend <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
