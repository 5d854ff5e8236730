/* SPDX-License-Identifier: MIT */
/*
 * template: `tend pool`'s {} and {#} (see core/template.h). One pass measures,
 * the same pass writes, so a command costs one allocation, made by the
 * caller together with its task.
 */
#include "core/template.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool template_has_repl(const char *s) {
  return strstr(s, "{}") != NULL || strstr(s, "{#}") != NULL;
}

static bool any_repl(char *const *tmpl, int n) {
  for (int i = 0; i < n; i++)
    if (template_has_repl(tmpl[i]))
      return true;
  return false;
}

/* Length of s with {} and {#} replaced; written to dst when not NULL.
 * Scanned left to right, so "{{}" is '{' then the line, and a
 * replacement's text is never scanned again. */
static size_t subst(char *dst, const char *s, const char *line, const char *seq) {
  size_t n = 0, ll = strlen(line), sl = strlen(seq);
  while (*s != '\0') {
    const char *rep = NULL;
    size_t skip = 0, rl = 0;
    if (s[0] == '{' && s[1] == '}')
      rep = line, rl = ll, skip = 2;
    else if (s[0] == '{' && s[1] == '#' && s[2] == '}')
      rep = seq, rl = sl, skip = 3;
    if (rep != NULL) {
      if (dst != NULL)
        memcpy(dst + n, rep, rl);
      n += rl;
      s += skip;
    } else {
      if (dst != NULL)
        dst[n] = *s;
      n++;
      s++;
    }
  }
  if (dst != NULL)
    dst[n] = '\0';
  return n;
}

size_t template_size(char *const *tmpl, int n, const char *line, uint64_t seq) {
  char seqs[24];
  snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
  bool repl = any_repl(tmpl, n);
  size_t strbytes = 0;
  for (int i = 0; i < n; i++)
    if (template_has_repl(tmpl[i]))
      strbytes += subst(NULL, tmpl[i], line, seqs) + 1;
  if (!repl)
    strbytes += strlen(line) + 1;
  return ((size_t)n + (repl ? 0 : 1) + 1) * sizeof(char *) + strbytes;
}

char **template_expand(void *mem, char *const *tmpl, int n, const char *line, uint64_t seq) {
  char seqs[24];
  snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
  bool repl = any_repl(tmpl, n);
  int argc = n + (repl ? 0 : 1);
  char **argv = mem;
  char *str = (char *)(argv + argc + 1);
  for (int i = 0; i < n; i++) {
    if (!template_has_repl(tmpl[i])) {
      argv[i] = tmpl[i];
      continue;
    }
    argv[i] = str;
    str += subst(str, tmpl[i], line, seqs) + 1;
  }
  if (!repl) {
    argv[argc - 1] = str;
    strcpy(str, line);
  }
  argv[argc] = NULL;
  return argv;
}
