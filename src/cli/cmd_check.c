/* SPDX-License-Identifier: MIT */
/* tend check [-c FILE]: validate a config without starting anything, for
 * the CI of users' configs. */
#include "cli.h"
#include "tend/config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_check_usage[] =
    "usage: tend check [-c FILE] [-q]\n"
    "\n"
    "Read FILE (and what it includes) as `tend daemon` would, and print every\n"
    "error as FILE:LINE: ... and every notice; nothing is started.\n"
    "  -q, --quiet   print errors only, not notices and the summary\n"
    "  --json        one JSON object: valid, path, processes, errors, notices\n"
    "Exit status: 0 valid, 2 invalid (or unreadable).\n";

int cmd_check(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"quiet", no_argument, NULL, 'q'},
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *path = NULL;
  bool quiet = false, json = false;
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "+c:qjh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'c': path = optarg; break;
    case 'q': quiet = true; break;
    case 'j': json = true; break;
    case 'h': fputs(cmd_check_usage, stdout); return 0;
    default: cli_bad_option("check", argv, longopts); return 2;
    }
  }
  if (optind < argc) {
    cli_error("check", "unexpected argument '%s'", argv[optind]);
    return 2;
  }
  if (path == NULL)
    path = cli_default_config();
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  int r = tend_config_load(path, &cfg, &diag);
  if (json) {
    json_t *errs = json_array(), *notes = json_array();
    for (size_t i = 0; i < diag.nerrors; i++)
      json_array_append_new(errs, json_string(diag.errors[i]));
    for (size_t i = 0; i < diag.nnotices; i++)
      json_array_append_new(notes, json_string(diag.notices[i]));
    if (r != 0 && diag.nerrors == 0)
      json_array_append_new(errs, json_pack("s++", path, ": ", strerror(-r)));
    json_t *o = json_pack("{s:b,s:s,s:o,s:o}", "valid", r == 0, "path",
                          r == 0 ? cfg->path : path, "errors", errs, "notices", notes);
    json_object_set_new(o, "processes", r == 0 ? json_integer((json_int_t)cfg->nprograms)
                                               : json_null());
    char *out = json_dumps(o, JSON_COMPACT);
    if (out != NULL)
      puts(out);
    free(out);
    json_decref(o);
    tend_config_free(cfg);
    tend_diag_free(&diag);
    return r == 0 ? 0 : 2;
  }
  for (size_t i = 0; !quiet && i < diag.nnotices; i++)
    printf("notice: %s\n", diag.notices[i]);
  for (size_t i = 0; i < diag.nerrors; i++)
    fprintf(stderr, "%s\n", diag.errors[i]);
  if (r != 0 && diag.nerrors == 0)
    fprintf(stderr, "tend check: %s: %s\n", path, strerror(-r));
  if (r == 0 && !quiet)
    printf("%s: valid, %zu process%s\n", cfg->path, cfg->nprograms,
           cfg->nprograms == 1 ? "" : "es");
  tend_config_free(cfg);
  tend_diag_free(&diag);
  return r == 0 ? 0 : 2;
}
