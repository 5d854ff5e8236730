/* SPDX-License-Identifier: MIT */
/*
 * template: the command template of `tend pool` (GNU parallel's): CMD
 * ARG... with every {} replaced by a task's line and every {#} by its
 * sequence number; when no word of the template holds either, the line is
 * appended as one more argument. No shell quoting or splitting: the line
 * goes in as it is, so a line with spaces stays one argument.
 */
#ifndef TEND_TEMPLATE_H
#define TEND_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Does s hold {} or {#}? */
bool template_has_repl(const char *s);

/* Bytes template_expand needs for the n words of tmpl: the argv vector
 * (with its NULL) and the words that get a replacement. */
size_t template_size(char *const *tmpl, int n, const char *line, uint64_t seq);

/* The command for line and seq, built in mem (template_size bytes,
 * aligned for a pointer): returns mem as a NULL-terminated argv. A word
 * without a replacement is tmpl's own string (not copied), so tmpl must
 * outlive the result; the others, and an appended line, are in mem. */
char **template_expand(void *mem, char *const *tmpl, int n, const char *line, uint64_t seq);

#endif
