/* SPDX-License-Identifier: MIT */
/*
 * Splitting the two structured values of a [program:x] section: command
 * into argv, environment into KEY=VALUE pairs, each as supervisord does.
 */
#ifndef TEND_CONFIG_WORDS_H
#define TEND_CONFIG_WORDS_H

#include <stddef.h>

/*
 * Split command into words as Python's shlex.split(command) (what
 * supervisord runs before exec): whitespace separates words; '...' keeps
 * everything literally; "..." keeps everything but a backslash before '"'
 * or '\'; outside quotes a backslash keeps the next character. No shell
 * expansion of any kind. Returns 0 with *argv (NULL-terminated, malloc'd,
 * free with strv_free) and *argc; -EINVAL with *why (static text);
 * -ENOMEM.
 */
int cfg_split_command(const char *command, char ***argv, size_t *argc, const char **why);

/*
 * Parse supervisord's environment syntax, KEY=value,KEY2="value, with
 * commas",... (datatypes.dict_of_key_value_pairs: a non-POSIX
 * shlex.shlex whose words are letters, digits and _/.+-():, quoted strings
 * kept whole with their quotes then stripped of quote characters at both
 * ends). A later KEY replaces an earlier one in place. Returns 0 with *env
 * ("K=V" strings, NULL-terminated, malloc'd), -EINVAL with *why (static
 * text), -ENOMEM.
 */
int cfg_parse_env(const char *value, char ***env, const char **why);

#endif
