/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the command template of `tend pool` (src/core/template.c). The
 * input is a sequence number chooser (its first byte: 0-254 as is, 255 for
 * UINT64_MAX), then NUL-separated strings: the line, then the template's
 * words (at least one, at most 32). The command is built in a block of
 * exactly template_size bytes (ASan sees a byte written past it) and
 * checked against a model of core/template.h:
 *   - one argument per word, plus the line at the end when no word holds
 *     {} or {#}, then NULL; a word without them is the template's own
 *     string;
 *   - a word with them is, token by token from the left, its other bytes
 *     as they are, the line for each {}, the number for each {#}; so its
 *     length is the word's, less 2 per {} and 3 per {#}, plus what went in;
 *   - with a non-empty line without '{', '}' or '#', no {} or {#} is left
 *     (with them, "{{}}" and the line "#" make "{#}");
 *   - the strings fill the block to its last byte.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "core/template.h"

#define MAX_WORDS 32

/* The bytes a word becomes, checked against out as the model walks it;
 * returns out's expected length. */
static size_t check_word(const char *w, const char *out, const char *line, const char *seq,
                         bool *replaced) {
  size_t ll = strlen(line), sl = strlen(seq), o = 0;
  *replaced = false;
  for (size_t i = 0; w[i] != '\0';) {
    if (strncmp(w + i, "{}", 2) == 0) {
      CHECK(memcmp(out + o, line, ll) == 0);
      o += ll, i += 2, *replaced = true;
    } else if (strncmp(w + i, "{#}", 3) == 0) {
      CHECK(memcmp(out + o, seq, sl) == 0);
      o += sl, i += 3, *replaced = true;
    } else {
      CHECK(out[o] == w[i]);
      o++, i++;
    }
  }
  CHECK(out[o] == '\0');
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  uint64_t seq = data[0] == 0xff ? UINT64_MAX : data[0];
  /* The strings, NUL-terminated copies (the last one may lack its NUL). */
  char *buf = malloc(size);
  CHECK(buf != NULL);
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  char *words[MAX_WORDS + 1];
  const char *line = buf;
  int n = 0;
  for (char *p = buf + strlen(buf) + 1; p < buf + size && n < MAX_WORDS; p += strlen(p) + 1)
    words[n++] = p;
  if (n == 0) {
    free(buf);
    return 0;
  }
  words[n] = NULL;

  size_t need = template_size(words, n, line, seq);
  char *mem = malloc(need);
  CHECK(mem != NULL);
  char **argv = template_expand(mem, words, n, line, seq);
  CHECK((void *)argv == (void *)mem);

  char seqs[24];
  snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
  bool any = false;
  for (int i = 0; i < n; i++)
    any |= strstr(words[i], "{}") != NULL || strstr(words[i], "{#}") != NULL;
  int argc = n + (any ? 0 : 1);
  CHECK(argv[argc] == NULL);
  bool plain_line = line[0] != '\0' && strpbrk(line, "{}#") == NULL;
  const char *end = (const char *)(argv + argc + 1); /* where the strings go */
  for (int i = 0; i < n; i++) {
    bool replaced;
    size_t len = check_word(words[i], argv[i], line, seqs, &replaced);
    CHECK(replaced == template_has_repl(words[i]));
    if (!replaced) {
      CHECK(argv[i] == words[i]);
      continue;
    }
    CHECK(argv[i] == end); /* packed, in order */
    end += len + 1;
    if (plain_line)
      CHECK(strstr(argv[i], "{}") == NULL && strstr(argv[i], "{#}") == NULL);
  }
  if (!any) {
    CHECK(argv[n] == end && strcmp(argv[n], line) == 0);
    end += strlen(line) + 1;
  }
  CHECK(end == mem + need);
  free(mem);
  free(buf);
  return 0;
}
