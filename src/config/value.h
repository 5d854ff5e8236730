/* SPDX-License-Identifier: MIT */
/*
 * The value types of supervisord's config (supervisor/datatypes.py) and
 * tend's paths: pure parsers, no messages (config/config.c words those).
 */
#ifndef TEND_CONFIG_VALUE_H
#define TEND_CONFIG_VALUE_H

#include <stdbool.h>
#include <stdint.h>

/* p made absolute (against the working directory) and lexically normal:
 * no "//", "/./" or "/../" (as Python's os.path.abspath). NULL: no memory
 * or no working directory. */
char *cfg_path_abs(const char *p);

/* The directory of an absolute, normal path ("/" for "/x"). */
char *cfg_path_dir(const char *file);

/* A path from the config: "~" and "~user" as Python's expanduser, then
 * relative to dir (the directory of the file holding it), made normal. */
char *cfg_path_resolve(const char *dir, const char *p);

/* integer(): optional sign, decimal digits, fits a long. */
bool cfg_parse_long(const char *s, long *out);

/* boolean(): yes/true/on/1, no/false/off/0, any case. */
bool cfg_parse_bool(const char *s, bool *out);

/* octal_type(): octal digits, "0o" prefix allowed, at most 07777. */
bool cfg_parse_octal(const char *s, int *out);

/* A user (group) name or numeric id that the system knows. */
bool cfg_user_exists(const char *name);
bool cfg_group_exists(const char *name);

/* process_or_group_name(): not empty, no spaces, ':' or '/'. */
bool cfg_name_ok(const char *n);

#endif
