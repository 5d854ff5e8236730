/* SPDX-License-Identifier: MIT */
/* The tend CLI: a table of subcommands, each a cmd_* handler. */
#ifndef TEND_CLI_H
#define TEND_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "tend/ctl.h"

struct cmd {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
  const char *usage; /* full help text */
};

struct option;

int cmd_run(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_check(int argc, char **argv);
extern const char cmd_check_usage[];
int cmd_ctl(int argc, char **argv);
int cmd_pool(int argc, char **argv);
extern const char cmd_pool_usage[];
int cmd_demo(int argc, char **argv);
extern const char cmd_run_usage[];
extern const char cmd_daemon_usage[];
extern const char cmd_demo_usage[];
/* Distributed tasks on Redis Streams (cmd_dist.c); cmd_submit hands the
 * daemon-pool form (no --redis) to cmd_ctl. */
int cmd_submit(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_results(int argc, char **argv);
extern const char cmd_submit_usage[];
extern const char cmd_worker_usage[];
extern const char cmd_results_usage[];

/* The control subcommands, those of the table in tend/ctl.h (status,
 * start, ...), share cmd_ctl; this is the usage of each. */
const char *cmd_ctl_usage(tend_ctl_cmd_t cmd);

/* "option '--x' needs a value" or "unknown option 'y'", after getopt_long
 * returned '?'. */
void cli_bad_option(const char *cmd, char **argv, const struct option *longopts);

/* The config file when none is given: $TEND_CONFIG, ./conf/tend.conf,
 * SYSCONFDIR/tend/tend.conf (/etc/tend/tend.conf for a /usr install). */
const char *cli_default_config(void);

/* The value s of option opt (as "--timeout") in milliseconds: seconds as
 * units_ms reads them ("1.5", "2s", "3m", "1h"), above 0 when positive.
 * 0, or -EINVAL after saying what was expected. */
int args_seconds(const char *cmd, const char *opt, const char *s, bool positive, uint64_t *ms);

/* The signals a long-running subcommand handles on its loop. */
typedef struct cli_signals {
  uv_signal_t h[3];
  int n; /* started, to be closed */
} cli_signals_t;

/* Watch SIGINT, SIGTERM and (with hup) SIGHUP with cb, each handle's data
 * set to data. */
void cli_signals_start(cli_signals_t *s, uv_loop_t *loop, bool hup, uv_signal_cb cb, void *data);
/* Close what cli_signals_start started (harmless twice). */
void cli_signals_close(cli_signals_t *s);

/* Run loop until nothing is left on it, then close it (saying so, as an
 * internal error of cmd, if a handle is still open). */
void cli_loop_close(const char *cmd, uv_loop_t *loop);

/* Print "tend <cmd>: <message>" to stderr. */
/* argv as one line a POSIX shell reads back as the same words: a word
 * with a character the shell would act on is single-quoted (the joblog,
 * --dry-run, and messages naming a command). */
void cli_put_command(FILE *f, char *const *argv);

void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
