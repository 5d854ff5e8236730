/* SPDX-License-Identifier: MIT */
/* tend: the command line. Parses the subcommand and hands over; each
 * subcommand lives in its own cmd_*.c file. */
#include "build_config.h"
#include "cli.h"
#include "tend/ctl.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
    {"run", cmd_run, "run a command to its end: feed input, collect output (communicate)",
     cmd_run_usage},
    {"pool", cmd_pool, "run a command per input line, N at a time (GNU parallel's core)",
     cmd_pool_usage},
    {"daemon", cmd_daemon, "supervise the programs of a config file, in the foreground",
     cmd_daemon_usage},
    {"check", cmd_check, "validate a config file (every error with FILE:LINE), start nothing",
     cmd_check_usage},
    {"demo", cmd_demo, "the processes-and-threads tutorial, lesson by lesson, in C",
     cmd_demo_usage},
    {"submit", cmd_submit,
     "queue a task: on Redis (--redis URL) for tend workers, or in a daemon pool",
     cmd_submit_usage},
    {"worker", cmd_worker, "run tasks from a Redis stream, N at a time, results back to Redis",
     cmd_worker_usage},
    {"results", cmd_results, "print the results of Redis tasks; --follow, --wait ID...",
     cmd_results_usage},
    {"help", cmd_help, "show help for a subcommand", "usage: tend help [SUBCOMMAND]\n"},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f) {
  fprintf(f, "usage: tend [--version] [--help] SUBCOMMAND [ARGS...]\n\n"
             "tend is an event-loop process supervisor.\n\n"
             "A subcommand takes its options anywhere before '--', which ends them;\n"
             "run, pool and submit take them up to CMD's first word: the rest is CMD's.\n"
             "\nsubcommands:\n");
  for (size_t i = 0; i < NCMDS; i++)
    fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
  fprintf(f, "\ncontrol a running daemon:\n");
  for (int i = 0; i < CTL_NCMDS; i++) {
    bool listed = false; /* submit: one entry serves both forms */
    for (size_t k = 0; k < NCMDS; k++)
      listed = listed || strcmp(cmds[k].name, tend_ctl_cmds[i].name) == 0;
    if (!listed)
      fprintf(f, "  %-10s %s\n", tend_ctl_cmds[i].name, tend_ctl_cmds[i].help);
  }
  fprintf(f, "\n'tend help SUBCOMMAND' or 'tend SUBCOMMAND --help' for details.\n");
}

/* `tend __commands`, not listed: the control commands of the table, one a
 * line: NAME, a tab, its arguments (KEY:TYPE, with a '?' when it may be
 * left out), a tab, its help. What the tests hold the manual, `tend
 * --help` and the completion to. */
static int list_ctl_commands(void) {
  static const char *const types[] = {[CTL_T_STRING] = "string", [CTL_T_STRINGS] = "strings",
                                      [CTL_T_INT] = "int", [CTL_T_BOOL] = "bool",
                                      [CTL_T_CHOICE] = "choice"};
  for (int i = 0; i < CTL_NCMDS; i++) {
    const tend_ctl_cmdspec_t *c = &tend_ctl_cmds[i];
    printf("%s\t", c->name);
    for (unsigned k = 0; k < c->nparams; k++) {
      const tend_ctl_argspec_t *arg = &tend_ctl_args[c->params[k].arg];
      printf("%s%s%s:%s", k ? " " : "", arg->key,
             c->params[k].flags & CTL_REQUIRED ? "" : "?", types[arg->type]);
    }
    printf("\t%s\n", c->help);
  }
  return 0;
}

static const struct cmd *find(const char *name) {
  static struct cmd ctl; /* a control command, filled on demand */
  for (size_t i = 0; i < NCMDS; i++)
    if (strcmp(cmds[i].name, name) == 0)
      return &cmds[i];
  int i = tend_ctl_cmd_find(name);
  if (i < 0)
    return NULL;
  ctl = (struct cmd){tend_ctl_cmds[i].name, cmd_ctl, tend_ctl_cmds[i].help,
                     cmd_ctl_usage((tend_ctl_cmd_t)i)};
  return &ctl;
}

static int cmd_help(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  opterr = 0;
  optind = 1;
  int ch = getopt_long(argc, argv, "h", longopts, NULL); /* its only option ends it */
  if (ch == 'h') {
    fputs(find("help")->usage, stdout);
    return 0;
  }
  if (ch != -1) {
    cli_bad_option("help", argv, longopts);
    return 2;
  }
  if (optind == argc) {
    usage(stdout);
    return 0;
  }
  if (optind + 1 < argc) {
    cli_error("help", "unexpected argument '%s'", argv[optind + 1]);
    return 2;
  }
  const struct cmd *c = find(argv[optind]);
  if (c == NULL) {
    fprintf(stderr, "tend help: unknown subcommand '%s'\n", argv[optind]);
    return 2;
  }
  fputs(c->usage, stdout);
  return 0;
}

int main(int argc, char **argv) {
  /* A reader that goes away must show up as EPIPE where we write, not
   * kill tend before it can finish its job and report. Children get the
   * default disposition back (libuv resets signals before exec). */
  signal(SIGPIPE, SIG_IGN);

  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf("tend %s\n", TEND_VERSION);
    return 0;
  }
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(name, "__commands") == 0)
    return list_ctl_commands();
  const struct cmd *c = find(name);
  if (c == NULL) {
    fprintf(stderr, "tend: unknown subcommand '%s' (see 'tend --help')\n", name);
    return 2;
  }
  return c->run(argc - 1, argv + 1);
}
