/* SPDX-License-Identifier: MIT */
/* tend daemon [-c FILE]: the supervisor in the foreground. */
#include "build_config.h"
#include "cli.h"
#include "tend/config.h"
#include "tend/daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char cmd_daemon_usage[] =
    "usage: tend daemon [-c FILE] [--strict]\n"
    "\n"
    "Run the programs of FILE and keep them running, in the foreground.\n"
    "FILE is a supervisord-style INI file; default: $TEND_CONFIG, else\n"
    "conf/tend.conf if it exists here, else " TEND_SYSCONFDIR "/tend/tend.conf.\n"
    "  --strict   every unknown key is an error, not a notice (also on reload)\n"
    "\n"
    "SIGTERM or SIGINT: stop every program (reverse priority) and exit 0.\n"
    "SIGHUP: reload the file (an invalid file leaves the running config).\n"
    "Exit status: 0 after a clean shutdown, 1 when it cannot start (another\n"
    "daemon on the socket...), 2 for an invalid configuration.\n";

enum { OPT_STRICT = 256 };

int cmd_daemon(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"strict", no_argument, NULL, OPT_STRICT},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *config = NULL;
  unsigned flags = 0;
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      config = optarg;
      break;
    case OPT_STRICT:
      flags |= TEND_CONFIG_STRICT;
      break;
    case 'h':
      fputs(cmd_daemon_usage, stdout);
      return 0;
    default:
      cli_bad_option("daemon", argv, longopts);
      return 2;
    }
  }
  if (optind < argc) {
    cli_error("daemon", "unexpected argument '%s'", argv[optind]);
    return 2;
  }
  return tend_daemon_run(config != NULL ? config : cli_default_config(), flags);
}
