/* SPDX-License-Identifier: MIT */
/* tend check [-c FILE]: validate a config without starting anything, for
 * the CI of users' configs, and say what of it tend will not run. */
#include "cli.h"
#include "tend/config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_check_usage[] =
    "usage: tend check [-c FILE] [-q] [--json] [--strict] [--allow-skipped]\n"
    "\n"
    "Read FILE (and what it includes) as `tend daemon` would, and print every\n"
    "error as FILE:LINE: ... and every notice; nothing is started. The last\n"
    "line counts the processes supervisord would run, those tend will run,\n"
    "and names the sections tend will not run, with why.\n"
    "  -q, --quiet      print errors only, not notices and the summary\n"
    "  --json           one JSON object: valid, path, processes, names,\n"
    "                   supervisord_processes, skipped, errors, notices\n"
    "  --strict         every unknown key is an error, not a notice\n"
    "  --allow-skipped  exit 0 even when tend runs fewer processes than\n"
    "                   supervisord would\n"
    "Exit status: 0 valid, 1 valid but tend would run fewer processes than\n"
    "supervisord (without --allow-skipped), 2 invalid (or unreadable).\n";

enum { OPT_STRICT = 256, OPT_ALLOW_SKIPPED };

static const char *plural(size_t n) { return n == 1 ? "" : "es"; }

/* The summary line: what tend runs against what supervisord would. */
static void print_summary(FILE *f, const tend_config_t *cfg) {
  size_t sup = tend_config_supervisord_processes(cfg);
  fprintf(f, "%s: valid, %zu process%s; supervisord would run %zu", cfg->path, cfg->nprograms,
          plural(cfg->nprograms), sup);
  for (size_t i = 0; i < cfg->nskipped; i++) {
    const tend_skipped_t *k = &cfg->skipped[i];
    fprintf(f, "%s[%s] (%d process%s: %s)", i == 0 ? "; not run by tend: " : ", ", k->section,
            k->processes, plural((size_t)k->processes), k->why);
  }
  fputc('\n', f);
}

static json_t *json_result(const char *path, int r, const tend_config_t *cfg,
                           const tend_diag_t *diag) {
  json_t *errs = json_array(), *notes = json_array();
  for (size_t i = 0; i < diag->nerrors; i++)
    json_array_append_new(errs, json_string(diag->errors[i]));
  for (size_t i = 0; i < diag->nnotices; i++)
    json_array_append_new(notes, json_string(diag->notices[i]));
  if (r != 0 && diag->nerrors == 0)
    json_array_append_new(errs, json_pack("s++", path, ": ", strerror(-r)));
  json_t *o = json_pack("{s:b,s:s,s:o,s:o}", "valid", r == 0, "path", r == 0 ? cfg->path : path,
                        "errors", errs, "notices", notes);
  if (r != 0) {
    json_object_set_new(o, "processes", json_null());
    return o;
  }
  json_t *names = json_array(), *skipped = json_array();
  for (size_t i = 0; i < cfg->nprograms; i++)
    json_array_append_new(names, json_string(cfg->programs[i].name));
  for (size_t i = 0; i < cfg->nskipped; i++) {
    const tend_skipped_t *k = &cfg->skipped[i];
    json_array_append_new(skipped, json_pack("{s:s,s:i,s:s,s:s,s:i}", "section", k->section,
                                             "processes", k->processes, "why", k->why, "file",
                                             k->file, "line", k->line));
  }
  json_object_set_new(o, "processes", json_integer((json_int_t)cfg->nprograms));
  json_object_set_new(o, "names", names);
  json_object_set_new(o, "supervisord_processes",
                      json_integer((json_int_t)tend_config_supervisord_processes(cfg)));
  json_object_set_new(o, "skipped", skipped);
  return o;
}

int cmd_check(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"quiet", no_argument, NULL, 'q'},
      {"json", no_argument, NULL, 'j'},
      {"strict", no_argument, NULL, OPT_STRICT},
      {"allow-skipped", no_argument, NULL, OPT_ALLOW_SKIPPED},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *path = NULL;
  bool quiet = false, json = false, allow_skipped = false;
  unsigned flags = 0;
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:qjh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'c': path = optarg; break;
    case 'q': quiet = true; break;
    case 'j': json = true; break;
    case OPT_STRICT: flags |= TEND_CONFIG_STRICT; break;
    case OPT_ALLOW_SKIPPED: allow_skipped = true; break;
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
  int r = tend_config_load_flags(path, flags, &cfg, &diag);
  /* tend running fewer processes than supervisord is a migration that
   * drops work: a failure for CI unless the user accepts it */
  bool fewer = r == 0 && tend_config_supervisord_processes(cfg) > cfg->nprograms;
  int status = r != 0 ? 2 : fewer && !allow_skipped ? 1 : 0;
  if (json) {
    json_t *o = json_result(path, r, cfg, &diag);
    char *out = json_dumps(o, JSON_COMPACT);
    if (out != NULL)
      puts(out);
    free(out);
    json_decref(o);
  } else {
    for (size_t i = 0; !quiet && i < diag.nnotices; i++)
      printf("notice: %s\n", diag.notices[i]);
    for (size_t i = 0; i < diag.nerrors; i++)
      fprintf(stderr, "%s\n", diag.errors[i]);
    if (r != 0 && diag.nerrors == 0)
      fprintf(stderr, "tend check: %s: %s\n", path, strerror(-r));
    if (r == 0 && !quiet)
      print_summary(stdout, cfg);
    else if (status == 1)
      print_summary(stderr, cfg); /* -q: the summary is why it fails */
  }
  tend_config_free(cfg);
  tend_diag_free(&diag);
  return status;
}
