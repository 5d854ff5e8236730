/* SPDX-License-Identifier: MIT */
/*
 * INI reader with the rules of Python's configparser.RawConfigParser as
 * supervisord 4.2.5 creates it (inline_comment_prefixes = ';', '#'), read
 * from _read() in Lib/configparser.py:
 *   - a line whose first non-blank character is ';' or '#' is a comment;
 *     elsewhere ';' or '#' starts a comment only at the start of the line or
 *     after whitespace ("a;b" keeps its ';', "a ;b" is "a");
 *   - "[name]" opens a section (the name is everything up to the last ']');
 *   - "key = value" or "key: value": the key ends at the first '=' or ':',
 *     is lowercased, key and value are trimmed;
 *   - a line indented more than its key's line continues the value, joined
 *     with '\n'; blank lines inside a continued value are kept, trailing
 *     ones dropped;
 *   - no line length limit (getline);
 *   - strict = False, as supervisord runs it: a section named again
 *     (in the same file or a later one) merges into the first, and a key
 *     given again replaces the earlier value. Real configs rely on it (a
 *     conf.d file adding chown to [unix_http_server], a key repeated in a
 *     long file), so it is accepted, with a notice naming both lines: the
 *     reader of the config learns which value won. [include] is the
 *     exception: each file has its own, as tend's includes nest.
 */
#include "config/ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXCERPT_MAX 200

static int vadd(char ***list, size_t *n, bool dedupe, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int vadd(char ***list, size_t *n, bool dedupe, const char *fmt, va_list ap) {
  char *msg;
  if (vasprintf(&msg, fmt, ap) < 0)
    return -ENOMEM;
  if (dedupe) {
    for (size_t i = 0; i < *n; i++) {
      if (strcmp((*list)[i], msg) == 0) {
        free(msg);
        return 0;
      }
    }
  }
  char **grown = realloc(*list, (*n + 1) * sizeof(**list));
  if (grown == NULL) {
    free(msg);
    return -ENOMEM;
  }
  *list = grown;
  grown[(*n)++] = msg;
  return 0;
}

int cfg_error(tend_diag_t *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vadd(&d->errors, &d->nerrors, true, fmt, ap);
  va_end(ap);
  return r;
}

int cfg_notice(tend_diag_t *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vadd(&d->notices, &d->nnotices, true, fmt, ap);
  va_end(ap);
  return r;
}

const char *cfg_excerpt(const char *value, int slot) {
  static char buf[2][EXCERPT_MAX + 4];
  char *b = buf[slot & 1];
  size_t n = strlen(value);
  if (n <= EXCERPT_MAX)
    return value;
  memcpy(b, value, EXCERPT_MAX);
  memcpy(b + EXCERPT_MAX, "...", 4);
  return b;
}

cfg_entry_t *cfg_section_get(cfg_section_t *s, const char *key) {
  for (size_t i = 0; i < s->nentries; i++)
    if (strcmp(s->entries[i].key, key) == 0)
      return &s->entries[i];
  return NULL;
}

int cfg_section_know(cfg_section_t *s, const char *key) {
  for (size_t i = 0; i < s->nknown; i++)
    if (strcmp(s->known[i], key) == 0)
      return 0;
  char *copy = strdup(key);
  char **grown = copy != NULL ? realloc(s->known, (s->nknown + 1) * sizeof(*grown)) : NULL;
  if (grown == NULL) {
    free(copy);
    return -ENOMEM;
  }
  s->known = grown;
  s->known[s->nknown++] = copy;
  return 0;
}

static void section_free(cfg_section_t *s) {
  for (size_t i = 0; i < s->nentries; i++) {
    free(s->entries[i].key);
    free(s->entries[i].value);
  }
  free(s->entries);
  for (size_t i = 0; i < s->nknown; i++)
    free(s->known[i]);
  free(s->known);
  free(s->name);
}

void cfg_ini_free(cfg_ini_t *ini) {
  for (size_t i = 0; i < ini->nsections; i++)
    section_free(&ini->sections[i]);
  free(ini->sections);
  for (size_t i = 0; i < ini->nfiles; i++)
    free(ini->files[i]);
  free(ini->files);
  memset(ini, 0, sizeof(*ini));
}

/* Grow *arr (of elements of size sz) so that it holds n + 1. */
static int grow(void *arr, size_t *cap, size_t n, size_t sz) {
  if (n < *cap)
    return 0;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *p = realloc(*(void **)arr, ncap * sz);
  if (p == NULL)
    return -ENOMEM;
  *(void **)arr = p;
  *cap = ncap;
  return 0;
}

static char *strndup_trim(const char *s, size_t n) {
  while (n > 0 && isspace((unsigned char)*s)) {
    s++;
    n--;
  }
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  return strndup(s, n);
}

/* Append "\n" x (blanks + 1) and text to *value. */
static int value_continue(char **value, int blanks, const char *text, size_t n) {
  size_t old = strlen(*value);
  char *v = realloc(*value, old + (size_t)blanks + 1 + n + 1);
  if (v == NULL)
    return -ENOMEM;
  memset(v + old, '\n', (size_t)blanks + 1);
  memcpy(v + old + blanks + 1, text, n);
  v[old + blanks + 1 + n] = '\0';
  *value = v;
  return 0;
}

/* The reading state of one file. */
struct reader {
  cfg_ini_t *ini;
  tend_diag_t *diag;
  const char *file;
  size_t first;     /* first section index of this file */
  long cursect;     /* index in ini->sections, -1: none yet */
  long curentry;    /* index in the section's entries, -1: none,
                       -2: a rejected key whose continuation lines are
                       swallowed */
  size_t indent;    /* indentation of the current key's line */
  int blanks;       /* blank lines seen since the last value line */
  bool outside_reported;
};

static int open_section(struct reader *r, const char *name, size_t n, int lineno) {
  cfg_ini_t *ini = r->ini;
  char *sname = strndup(name, n);
  if (sname == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < ini->nsections; i++) {
    cfg_section_t *o = &ini->sections[i];
    if (strcmp(o->name, sname) != 0)
      continue;
    /* Every file may have its own [include]; within a file it is one. */
    if (strcmp(sname, "include") == 0 && i < r->first)
      continue;
    int e = cfg_notice(r->diag, "%s:%d: [%s] section repeated: merged into the one at %s:%d",
                       r->file, lineno, sname, o->file, o->line);
    free(sname);
    r->cursect = (long)i;
    r->curentry = -1;
    return e;
  }
  if (grow(&ini->sections, &ini->capsections, ini->nsections, sizeof(*ini->sections)) < 0) {
    free(sname);
    return -ENOMEM;
  }
  cfg_section_t *s = &ini->sections[ini->nsections];
  memset(s, 0, sizeof(*s));
  s->name = sname;
  s->file = r->file;
  s->line = lineno;
  r->cursect = (long)ini->nsections++;
  r->curentry = -1;
  return 0;
}

static int add_entry(struct reader *r, const char *line, size_t delim, size_t len, int lineno) {
  cfg_section_t *s = &r->ini->sections[r->cursect];
  char *key = strndup_trim(line, delim);
  if (key == NULL)
    return -ENOMEM;
  if (*key == '\0') {
    free(key);
    r->curentry = -2;
    return cfg_error(r->diag, "%s:%d: [%s] a line starts with '%c': the key is missing", r->file,
                     lineno, s->name, line[delim]);
  }
  for (char *p = key; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  char *value = strndup_trim(line + delim + 1, len - delim - 1);
  if (value == NULL) {
    free(key);
    return -ENOMEM;
  }
  cfg_entry_t *old = cfg_section_get(s, key);
  if (old != NULL) {
    /* the last value wins; continuation lines now extend this one */
    int e = cfg_notice(r->diag, "%s:%d: [%s] %s: given again: this value replaces the one at "
                       "%s:%d", r->file, lineno, s->name, key, old->file, old->line);
    free(key);
    free(old->value);
    old->value = value;
    old->file = r->file;
    old->line = lineno;
    r->curentry = old - s->entries;
    return e;
  }
  if (grow(&s->entries, &s->capentries, s->nentries, sizeof(*s->entries)) < 0) {
    free(key);
    free(value);
    return -ENOMEM;
  }
  s->entries[s->nentries] =
      (cfg_entry_t){.key = key, .value = value, .file = r->file, .line = lineno};
  r->curentry = (long)s->nentries++;
  return 0;
}

static int read_line(struct reader *r, char *line, size_t len, int lineno) {
  /* Comments: a full line whose first non-blank is ';' or '#', else a ';'
   * or '#' at the start or after whitespace. */
  size_t cut = len;
  bool comment = false;
  for (size_t i = 0; i < len; i++) {
    if ((line[i] == ';' || line[i] == '#') && (i == 0 || isspace((unsigned char)line[i - 1]))) {
      cut = i;
      comment = true;
      break;
    }
  }
  size_t indent = 0;
  while (indent < len && isspace((unsigned char)line[indent]))
    indent++;
  size_t vstart = indent, vend = cut;
  while (vend > vstart && isspace((unsigned char)line[vend - 1]))
    vend--;
  if (vend <= vstart) {
    /* Blank (or only a comment): kept inside a continued value only if
     * there was no comment, as configparser does. */
    if (!comment && r->curentry >= 0)
      r->blanks++;
    return 0;
  }
  const char *value = line + vstart;
  size_t vlen = vend - vstart;

  if (r->cursect >= 0 && r->curentry != -1 && indent > r->indent) {
    int blanks = r->blanks;
    r->blanks = 0;
    if (r->curentry == -2)
      return 0;
    cfg_entry_t *e = &r->ini->sections[r->cursect].entries[r->curentry];
    return value_continue(&e->value, blanks, value, vlen);
  }
  r->indent = indent;
  r->blanks = 0;

  if (value[0] == '[') {
    /* configparser's SECTCRE \[(?P<header>.+)\] with match(): the name runs
     * to the last ']' and must not be empty; anything after is ignored. */
    const char *close = NULL;
    for (size_t i = vlen; i-- > 2;) {
      if (value[i] == ']') {
        close = value + i;
        break;
      }
    }
    if (close != NULL)
      return open_section(r, value + 1, (size_t)(close - value - 1), lineno);
  }
  if (r->cursect < 0) {
    if (r->outside_reported)
      return 0;
    r->outside_reported = true;
    return cfg_error(r->diag, "%s:%d: '%s' comes before any [section]", r->file, lineno,
                     cfg_excerpt(value, 0));
  }
  size_t delim = 0;
  while (delim < vlen && value[delim] != '=' && value[delim] != ':')
    delim++;
  if (delim == vlen) {
    r->curentry = -2;
    char *copy = strndup(value, vlen);
    if (copy == NULL)
      return -ENOMEM;
    int e = cfg_error(r->diag, "%s:%d: [%s] expected 'key = value' or '[section]', got '%s'",
                      r->file, lineno, r->ini->sections[r->cursect].name, cfg_excerpt(copy, 0));
    free(copy);
    return e;
  }
  return add_entry(r, value, delim, vlen, lineno);
}

int cfg_ini_read(cfg_ini_t *ini, const char *path, tend_diag_t *diag) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -errno;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    return -EISDIR;
  }
  int rc = grow(&ini->files, &ini->capfiles, ini->nfiles, sizeof(*ini->files));
  char *file = rc == 0 ? strdup(path) : NULL;
  if (file == NULL) {
    fclose(f);
    return -ENOMEM;
  }
  ini->files[ini->nfiles++] = file;

  struct reader r = {
      .ini = ini, .diag = diag, .file = file, .first = ini->nsections, .cursect = -1,
      .curentry = -1,
  };
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0;
  errno = 0;
  while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    size_t len = (size_t)n;
    if (len > 0 && line[len - 1] == '\n')
      len--;
    if (len > 0 && line[len - 1] == '\r')
      len--;
    line[len] = '\0';
    char *p = line;
    if (lineno == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
      p += 3; /* a UTF-8 byte order mark, as editors on other systems write */
      len -= 3;
    }
    rc = read_line(&r, p, len, lineno);
  }
  if (rc == 0 && ferror(f))
    rc = errno != 0 ? -errno : -EIO;
  free(line);
  fclose(f);
  return rc;
}
