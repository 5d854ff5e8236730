/* SPDX-License-Identifier: MIT */
/*
 * The two tokenizers of supervisord's config values, as state machines
 * copied from Python's shlex.shlex.read_token (Lib/shlex.py): the POSIX
 * mode with whitespace_split for command (shlex.split, comments off), and
 * the non-POSIX mode for environment (datatypes.dict_of_key_value_pairs).
 * tend never hands a command to a shell: these words are the argv.
 */
#include "config/words.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"
#include "tend/buf.h"

static bool sh_space(int c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum { ST_SPACE, ST_WORD, ST_SQUOTE, ST_DQUOTE, ST_ESCAPE };

int cfg_split_command(const char *command, char ***argv, size_t *argc, const char **why) {
  tend_buf_t tok = {0};
  char **v = calloc(1, sizeof(*v));
  size_t n = 0;
  int state = ST_SPACE, escaped_from = ST_WORD;
  bool quoted = false; /* the word has a quoted part: '' is a word */
  *why = NULL;
  if (v == NULL)
    return -ENOMEM;
  for (const char *p = command;; p++) {
    int c = (unsigned char)*p;
    bool end = c == '\0';
    bool emit = false;
    switch (state) {
    case ST_SPACE:
    case ST_WORD:
      if (end || sh_space(c)) {
        emit = state == ST_WORD;
        state = ST_SPACE;
      } else if (c == '\'') {
        state = ST_SQUOTE;
        quoted = true;
      } else if (c == '"') {
        state = ST_DQUOTE;
        quoted = true;
      } else if (c == '\\') {
        escaped_from = ST_WORD;
        state = ST_ESCAPE;
      } else {
        if (tend_buf_append(&tok, p, 1) < 0)
          goto nomem;
        state = ST_WORD;
      }
      break;
    case ST_SQUOTE:
    case ST_DQUOTE:
      if (end) {
        *why = state == ST_SQUOTE ? "unbalanced quote: no closing '"
                                  : "unbalanced quote: no closing \"";
        goto invalid;
      }
      if ((state == ST_SQUOTE && c == '\'') || (state == ST_DQUOTE && c == '"')) {
        state = ST_WORD;
      } else if (state == ST_DQUOTE && c == '\\') {
        escaped_from = ST_DQUOTE;
        state = ST_ESCAPE;
      } else if (tend_buf_append(&tok, p, 1) < 0) {
        goto nomem;
      }
      break;
    case ST_ESCAPE:
      if (end) {
        *why = "a backslash at the end escapes nothing";
        goto invalid;
      }
      /* Inside "...", only '"' and '\' are escaped; the backslash stays
       * before anything else ("\$" is two characters, as in shlex). */
      if (escaped_from == ST_DQUOTE && c != '"' && c != '\\' &&
          tend_buf_append(&tok, "\\", 1) < 0)
        goto nomem;
      if (tend_buf_append(&tok, p, 1) < 0)
        goto nomem;
      state = escaped_from;
      break;
    }
    if (emit && (tok.len > 0 || quoted)) {
      if (strv_push(&v, &n, tok.len > 0 ? tok.data : "", tok.len) < 0)
        goto nomem;
      tok.len = 0;
      quoted = false;
    }
    if (end)
      break;
  }
  tend_buf_free(&tok);
  *argv = v;
  *argc = n;
  return 0;
invalid:
  tend_buf_free(&tok);
  strv_free(v);
  return -EINVAL;
nomem:
  tend_buf_free(&tok);
  strv_free(v);
  return -ENOMEM;
}

static bool env_wordchar(int c) {
  return isalnum(c) || c == '_' || strchr("/.+-():", c) != NULL;
}

/* Non-POSIX shlex tokens of s (comments '#', no escapes). */
static int env_tokens(const char *s, char ***toks, size_t *ntoks, const char **why) {
  tend_buf_t tok = {0};
  int state = ST_SPACE;
  char quote = 0;
  const char *p = s;
  for (;;) {
    int c = (unsigned char)*p;
    bool end = c == '\0';
    switch (state) {
    case ST_SPACE:
      if (end)
        goto done;
      if (sh_space(c)) {
        p++;
      } else if (c == '#') {
        p += strcspn(p, "\n");
        p += *p != '\0';
      } else if (env_wordchar(c)) {
        if (tend_buf_append(&tok, p++, 1) < 0)
          goto nomem;
        state = ST_WORD;
      } else if (c == '\'' || c == '"') {
        if (tend_buf_append(&tok, p++, 1) < 0)
          goto nomem;
        quote = (char)c;
        state = ST_SQUOTE;
      } else {
        /* one character, a token of its own (a UTF-8 sequence is one
         * character to Python) */
        size_t n = 1;
        if (c >= 0xc0)
          while ((p[n] & 0xc0) == 0x80)
            n++;
        if (strv_push(toks, ntoks, p, n) < 0)
          goto nomem;
        p += n;
      }
      break;
    case ST_SQUOTE:
      if (end) {
        *why = quote == '\'' ? "unbalanced quote: no closing '"
                             : "unbalanced quote: no closing \"";
        tend_buf_free(&tok);
        return -EINVAL;
      }
      if (tend_buf_append(&tok, p++, 1) < 0)
        goto nomem;
      if (c == quote) {
        if (strv_push(toks, ntoks, tok.data, tok.len) < 0)
          goto nomem;
        tok.len = 0;
        state = ST_SPACE;
      }
      break;
    case ST_WORD:
      if (c == '#') {
        /* shlex's non-POSIX mode skips the rest of the line and goes on
         * with the same word. */
        p += strcspn(p, "\n");
        p += *p != '\0';
      } else if (!end && (env_wordchar(c) || c == '\'' || c == '"')) {
        if (tend_buf_append(&tok, p++, 1) < 0)
          goto nomem;
      } else {
        if (strv_push(toks, ntoks, tok.data, tok.len) < 0)
          goto nomem;
        tok.len = 0;
        state = ST_SPACE; /* the character is read again there */
      }
      break;
    }
  }
done:
  tend_buf_free(&tok);
  return 0;
nomem:
  tend_buf_free(&tok);
  return -ENOMEM;
}

int cfg_parse_env(const char *value, char ***env, const char **why) {
  char **toks = NULL;
  size_t ntoks = 0;
  char **out = calloc(1, sizeof(*out));
  *why = NULL;
  if (out == NULL)
    return -ENOMEM;
  int rc = env_tokens(value, &toks, &ntoks, why);
  if (rc < 0)
    goto fail;
  /* KEY = VALUE, then one separator token (not checked, as supervisord). */
  for (size_t i = 0; i < ntoks; i += 4) {
    if (ntoks - i < 3 || strcmp(toks[i + 1], "=") != 0) {
      *why = "expected KEY=VALUE pairs separated by commas (quote a value that holds "
             "anything but letters, digits and _/.+-():)";
      rc = -EINVAL;
      goto fail;
    }
    const char *val = toks[i + 2];
    size_t vlen = strlen(val);
    while (vlen > 0 && (*val == '"' || *val == '\'')) {
      val++;
      vlen--;
    }
    while (vlen > 0 && (val[vlen - 1] == '"' || val[vlen - 1] == '\''))
      vlen--;
    char *kv;
    if (asprintf(&kv, "%s=%.*s", toks[i], (int)vlen, val) < 0) {
      rc = -ENOMEM;
      goto fail;
    }
    rc = strv_env_set(&out, kv);
    free(kv);
    if (rc < 0)
      goto fail;
  }
  strv_free(toks);
  *env = out;
  return 0;
fail:
  if (toks != NULL)
    strv_free(toks);
  strv_free(out);
  return rc;
}
