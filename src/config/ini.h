/* SPDX-License-Identifier: MIT */
/*
 * The INI reader behind tend's config: Python configparser's dialect as
 * supervisord 4.2.5 sets it up, written here because Debian's inih cuts
 * lines at 200 bytes and has no line numbers (shared/NOTES-libraries.md).
 * It only reads text into sections of key/value entries, each remembering
 * its file and line; what the keys mean is config/config.c's business.
 */
#ifndef TEND_CONFIG_INI_H
#define TEND_CONFIG_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "tend/config.h"

typedef struct {
  char *key;        /* lowercased, as configparser's optionxform */
  char *value;      /* trimmed; continuation lines joined with '\n' */
  const char *file; /* where the key is (its last value, when given again):
                       a repeated section merges keys of several files */
  int line;
  bool used;        /* set by the consumer; unused keys are reported */
} cfg_entry_t;

typedef struct {
  char *name;       /* as written between the brackets */
  const char *file; /* absolute path, owned by cfg_ini_t.files: where the
                       section first appears */
  int line;
  cfg_entry_t *entries;
  size_t nentries, capentries;
  char **known;     /* the keys its consumer looked for (cfg_section_know) */
  size_t nknown;
} cfg_section_t;

typedef struct {
  cfg_section_t *sections; /* in reading order, over every file read */
  size_t nsections, capsections;
  char **files; /* absolute paths of the files read */
  size_t nfiles, capfiles;
} cfg_ini_t;

/*
 * Read one more file (an absolute path) into ini. Syntax errors go to diag
 * as "FILE:LINE: ..." and the reading goes on. A section already read
 * (also from another file, except [include], which each file may have)
 * merges into the first, a key given again replaces the earlier value:
 * each is a notice naming both places.
 * Returns 0, -ENOMEM, or the negative errno of opening or reading the file
 * (then nothing is reported: the caller words it).
 */
int cfg_ini_read(cfg_ini_t *ini, const char *path, tend_diag_t *diag);
void cfg_ini_free(cfg_ini_t *ini);

/* The entry of that key in s, or NULL. */
cfg_entry_t *cfg_section_get(cfg_section_t *s, const char *key);

/* Remember that the consumer of s reads key (found or not): the keys a
 * misspelt one is compared with. 0 or -ENOMEM. */
int cfg_section_know(cfg_section_t *s, const char *key);

/* Append a formatted message to diag's errors (unless the same text is
 * already there: a program with numprocs = 8 reports a bad value once) or
 * notices. 0 or -ENOMEM. */
int cfg_error(tend_diag_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cfg_notice(tend_diag_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A printable excerpt of a value for messages: long values are cut, with
 * "..." at the end. Returns a pointer into a static buffer of the slot
 * (0 or 1, so two can be used in one message). */
const char *cfg_excerpt(const char *value, int slot);

#endif
