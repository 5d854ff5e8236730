/* SPDX-License-Identifier: MIT */
/*
 * "%(name)s" expansion with the rules of Python's printf-style formatting
 * (Objects/unicodeobject.c, PyUnicode_Format) for a mapping argument, which
 * is what supervisord's options.expand() runs:
 *   %[(name)][flags][width][.precision][length]conversion
 * flags among "-+ #0", length h/l/L ignored; conversions s for anything,
 * d i u x X o for numbers. Python would also format "%s" without a name as
 * the whole mapping (so "date +%s" runs "date +{'here': ...}") and "%r" as
 * repr(): tend refuses those, with the hint to write "%%".
 */
#include "config/expand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tend/buf.h"

enum { VAL_UNKNOWN = 0, VAL_TEXT, VAL_NUMBER, VAL_NOENV };

static int lookup(const cfg_vars_t *v, const char *name, const char **text, long *num) {
  struct {
    const char *name;
    const char *value;
  } texts[] = {
      {"here", v->here},
      {"host_node_name", v->host_node_name},
      {"program_name", v->program_name},
      {"group_name", v->group_name},
  };
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    if (texts[i].value != NULL && strcmp(name, texts[i].name) == 0) {
      *text = texts[i].value;
      return VAL_TEXT;
    }
  }
  if (v->has_process_num && strcmp(name, "process_num") == 0) {
    *num = v->process_num;
    return VAL_NUMBER;
  }
  if (v->has_process_num && strcmp(name, "numprocs") == 0) {
    *num = v->numprocs;
    return VAL_NUMBER;
  }
  if (strncmp(name, "ENV_", 4) == 0) {
    const char *var = name + 4;
    size_t n = strlen(var);
    for (int l = 0; l < 3; l++) {
      for (char *const *e = v->env[l]; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, var, n) == 0 && (*e)[n] == '=') {
          *text = *e + n + 1;
          return VAL_TEXT;
        }
      }
    }
    return VAL_NOENV;
  }
  return VAL_UNKNOWN;
}

static char *known_names(const cfg_vars_t *v) {
  char *s;
  if (asprintf(&s, "%s%s%s%s%s%s", "here, host_node_name",
               v->program_name != NULL ? ", program_name" : "",
               v->group_name != NULL ? ", group_name" : "",
               v->has_process_num ? ", process_num" : "", v->has_process_num ? ", numprocs" : "",
               ", ENV_<variable>") < 0)
    return NULL;
  return s;
}

/* tend_buf_append, for n == 0 too (memcpy into a NULL buffer is undefined
 * even for 0 bytes). */
static int put(tend_buf_t *b, const char *s, size_t n) {
  return n > 0 ? tend_buf_append(b, s, n) : 0;
}

struct spec {
  bool left, plus, space, alt, zero;
  long width;     /* -1: none */
  long precision; /* -1: none */
  char conv;
};

static int pad(tend_buf_t *b, char c, long n) {
  for (long i = 0; i < n; i++)
    if (put(b, &c, 1) < 0)
      return -ENOMEM;
  return 0;
}

static int put_text(tend_buf_t *b, const struct spec *sp, const char *s) {
  long n = (long)strlen(s);
  if (sp->precision >= 0 && sp->precision < n)
    n = sp->precision;
  long fill = sp->width > n ? sp->width - n : 0;
  if (!sp->left && pad(b, ' ', fill) < 0)
    return -ENOMEM;
  if (put(b, s, (size_t)n) < 0)
    return -ENOMEM;
  return sp->left ? pad(b, ' ', fill) : 0;
}

static int put_number(tend_buf_t *b, const struct spec *sp, long value) {
  char digits[64];
  unsigned long mag = value < 0 ? 0UL - (unsigned long)value : (unsigned long)value;
  const char *prefix = "";
  switch (sp->conv) {
  case 'x':
    snprintf(digits, sizeof(digits), "%lx", mag);
    prefix = sp->alt ? "0x" : "";
    break;
  case 'X':
    snprintf(digits, sizeof(digits), "%lX", mag);
    prefix = sp->alt ? "0X" : "";
    break;
  case 'o':
    snprintf(digits, sizeof(digits), "%lo", mag);
    prefix = sp->alt ? "0o" : "";
    break;
  default:
    snprintf(digits, sizeof(digits), "%lu", mag);
  }
  const char *sign = value < 0 ? "-" : sp->plus ? "+" : sp->space ? " " : "";
  long ndig = (long)strlen(digits);
  long zeros = sp->precision > ndig ? sp->precision - ndig : 0;
  long len = (long)strlen(sign) + (long)strlen(prefix) + zeros + ndig;
  long fill = sp->width > len ? sp->width - len : 0;
  if (!sp->left && !sp->zero && pad(b, ' ', fill) < 0)
    return -ENOMEM;
  if (put(b, sign, strlen(sign)) < 0 || put(b, prefix, strlen(prefix)) < 0)
    return -ENOMEM;
  if (!sp->left && sp->zero && pad(b, '0', fill) < 0)
    return -ENOMEM;
  if (pad(b, '0', zeros) < 0 || put(b, digits, (size_t)ndig) < 0)
    return -ENOMEM;
  return sp->left ? pad(b, ' ', fill) : 0;
}

/* Read digits at *p into *n (capped, Python refuses huge widths too). */
static void read_count(const char **p, long *n) {
  *n = 0;
  while (**p >= '0' && **p <= '9') {
    if (*n < 100000)
      *n = *n * 10 + (**p - '0');
    (*p)++;
  }
}

int cfg_expand(const char *s, const cfg_vars_t *v, char **out, char **why) {
  tend_buf_t b = {0};
  char *name = NULL;
  int rc = 0;
  *out = NULL;
  *why = NULL;
  const char *p = s;
  while (*p != '\0') {
    const char *pct = strchr(p, '%');
    size_t lit = pct != NULL ? (size_t)(pct - p) : strlen(p);
    if (lit > 0 && put(&b, p, lit) < 0)
      goto nomem;
    if (pct == NULL)
      break;
    p = pct + 1;
    if (*p == '%') {
      if (put(&b, "%", 1) < 0)
        goto nomem;
      p++;
      continue;
    }
    if (*p != '(') {
      rc = asprintf(why, "'%%' must start an expansion such as '%%(here)s' (at '%.12s'); "
                         "write '%%%%' for a literal '%%'", pct);
      goto invalid;
    }
    /* The name runs to the matching ')', parentheses nest (as Python). */
    const char *nstart = ++p;
    int depth = 1;
    while (*p != '\0') {
      if (*p == '(')
        depth++;
      else if (*p == ')' && --depth == 0)
        break;
      p++;
    }
    if (*p == '\0') {
      rc = asprintf(why, "incomplete expansion '%.40s': no ')' closes the name", pct);
      goto invalid;
    }
    free(name);
    name = strndup(nstart, (size_t)(p - nstart));
    if (name == NULL)
      goto nomem;
    p++;
    struct spec sp = {.width = -1, .precision = -1};
    for (;; p++) {
      if (*p == '-')
        sp.left = true;
      else if (*p == '+')
        sp.plus = true;
      else if (*p == ' ')
        sp.space = true;
      else if (*p == '#')
        sp.alt = true;
      else if (*p == '0')
        sp.zero = true;
      else
        break;
    }
    if (*p >= '0' && *p <= '9')
      read_count(&p, &sp.width);
    if (*p == '.') {
      p++;
      read_count(&p, &sp.precision);
    }
    while (*p == 'h' || *p == 'l' || *p == 'L')
      p++;
    if (*p == '\0') {
      rc = asprintf(why, "incomplete expansion '%s': a conversion such as 's' or 'd' must "
                         "follow the name", pct);
      goto invalid;
    }
    sp.conv = *p++;
    int speclen = (int)(p - pct);
    const char *text = NULL;
    long num = 0;
    int kind = lookup(v, name, &text, &num);
    if (kind == VAL_UNKNOWN) {
      char *known = known_names(v);
      if (known == NULL)
        goto nomem;
      rc = asprintf(why, "unknown expansion '%.*s' (known names: %s)", speclen, pct, known);
      free(known);
      goto invalid;
    }
    if (kind == VAL_NOENV) {
      rc = asprintf(why, "unknown expansion '%.*s': %s is not in tend's environment", speclen,
                    pct, name + 4);
      goto invalid;
    }
    int e;
    switch (sp.conv) {
    case 's':
      if (kind == VAL_TEXT) {
        e = put_text(&b, &sp, text);
      } else {
        char digits[32];
        snprintf(digits, sizeof(digits), "%ld", num);
        e = put_text(&b, &sp, digits);
      }
      break;
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o':
      if (kind == VAL_TEXT) {
        rc = asprintf(why, "'%.*s' needs a number, but %s is text: use '%%(%s)s'", speclen, pct,
                      name, name);
        goto invalid;
      }
      e = put_number(&b, &sp, num);
      break;
    default:
      rc = asprintf(why, "unsupported conversion '%c' in '%.*s': use s (d, x or o for numbers)",
                    sp.conv, speclen, pct);
      goto invalid;
    }
    if (e < 0)
      goto nomem;
  }
  if (tend_buf_append(&b, "", 1) < 0)
    goto nomem;
  free(name);
  *out = b.data;
  return 0;

invalid:
  free(name);
  tend_buf_free(&b);
  if (rc < 0) {
    *why = NULL;
    return -ENOMEM;
  }
  return -EINVAL;

nomem:
  free(name);
  tend_buf_free(&b);
  return -ENOMEM;
}
