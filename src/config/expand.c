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

/* One "%(name)..." as it is read and looked up. */
struct expansion {
  const char *start; /* its '%' */
  int len;           /* from '%' through the conversion */
  char *name;
  struct spec sp;
  int kind;          /* VAL_*, from lookup */
  const char *text;
  long num;
};

/* -EINVAL for a problem described in *why by asprintf (printed is its
 * return), or -ENOMEM when the description could not be made. */
static int refuse(char **why, int printed) {
  if (printed < 0) {
    *why = NULL;
    return -ENOMEM;
  }
  return -EINVAL;
}

/* The name, from *p (just after '(') to the matching ')': parentheses
 * nest (as Python). *p is left after the ')'. */
static int scan_name(const char **p, struct expansion *x, char **why) {
  const char *q = *p;
  int depth = 1;
  while (*q != '\0') {
    if (*q == '(')
      depth++;
    else if (*q == ')' && --depth == 0)
      break;
    q++;
  }
  if (*q == '\0')
    return refuse(why, asprintf(why, "incomplete expansion '%.40s': no ')' closes the name",
                                x->start));
  x->name = strndup(*p, (size_t)(q - *p));
  if (x->name == NULL)
    return -ENOMEM;
  *p = q + 1;
  return 0;
}

/* Flags, width, precision, length and conversion, from *p on. */
static int scan_spec(const char **p, struct expansion *x, char **why) {
  struct spec *sp = &x->sp;
  const char *q = *p;
  for (;; q++) {
    if (*q == '-')
      sp->left = true;
    else if (*q == '+')
      sp->plus = true;
    else if (*q == ' ')
      sp->space = true;
    else if (*q == '#')
      sp->alt = true;
    else if (*q == '0')
      sp->zero = true;
    else
      break;
  }
  if (*q >= '0' && *q <= '9')
    read_count(&q, &sp->width);
  if (*q == '.') {
    q++;
    read_count(&q, &sp->precision);
  }
  while (*q == 'h' || *q == 'l' || *q == 'L')
    q++;
  if (*q == '\0')
    return refuse(why, asprintf(why, "incomplete expansion '%s': a conversion such as 's' or "
                                     "'d' must follow the name", x->start));
  sp->conv = *q++;
  x->len = (int)(q - x->start);
  *p = q;
  return 0;
}

/* The value of the name, or the error naming what is known. */
static int look_up(const cfg_vars_t *v, struct expansion *x, char **why) {
  x->kind = lookup(v, x->name, &x->text, &x->num);
  if (x->kind == VAL_UNKNOWN) {
    char *known = known_names(v);
    if (known == NULL)
      return -ENOMEM;
    int printed = asprintf(why, "unknown expansion '%.*s' (known names: %s)", x->len, x->start,
                           known);
    free(known);
    return refuse(why, printed);
  }
  if (x->kind == VAL_NOENV)
    return refuse(why, asprintf(why, "unknown expansion '%.*s': %s is not in tend's environment",
                                x->len, x->start, x->name + 4));
  return 0;
}

/* The value, formatted by the conversion: s for anything, the number
 * conversions for numbers only. */
static int convert(tend_buf_t *b, const struct expansion *x, char **why) {
  switch (x->sp.conv) {
  case 's': {
    if (x->kind == VAL_TEXT)
      return put_text(b, &x->sp, x->text);
    char digits[32];
    snprintf(digits, sizeof(digits), "%ld", x->num);
    return put_text(b, &x->sp, digits);
  }
  case 'd':
  case 'i':
  case 'u':
  case 'x':
  case 'X':
  case 'o':
    if (x->kind == VAL_TEXT)
      return refuse(why, asprintf(why, "'%.*s' needs a number, but %s is text: use '%%(%s)s'",
                                  x->len, x->start, x->name, x->name));
    return put_number(b, &x->sp, x->num);
  default:
    return refuse(why, asprintf(why, "unsupported conversion '%c' in '%.*s': use s (d, x or o "
                                     "for numbers)", x->sp.conv, x->len, x->start));
  }
}

/* The expansion at *p (its '%') into b; *p is left after it. */
static int expand_at(tend_buf_t *b, const char **p, const cfg_vars_t *v, char **why) {
  struct expansion x = {.start = *p, .sp = {.width = -1, .precision = -1}};
  const char *q = *p + 1;
  if (*q == '%') {
    *p = q + 1;
    return put(b, "%", 1);
  }
  if (*q != '(')
    return refuse(why, asprintf(why, "'%%' must start an expansion such as '%%(here)s' (at "
                                     "'%.12s'); write '%%%%' for a literal '%%'", x.start));
  q++;
  int rc = scan_name(&q, &x, why);
  if (rc == 0)
    rc = scan_spec(&q, &x, why);
  if (rc == 0)
    rc = look_up(v, &x, why);
  if (rc == 0)
    rc = convert(b, &x, why);
  free(x.name);
  *p = q;
  return rc;
}

int cfg_expand(const char *s, const cfg_vars_t *v, char **out, char **why) {
  tend_buf_t b = {0};
  int rc = 0;
  *out = NULL;
  *why = NULL;
  for (const char *p = s; rc == 0 && *p != '\0';) {
    const char *pct = strchr(p, '%');
    size_t lit = pct != NULL ? (size_t)(pct - p) : strlen(p);
    rc = put(&b, p, lit);
    if (pct == NULL)
      break;
    p = pct;
    if (rc == 0)
      rc = expand_at(&b, &p, v, why);
  }
  if (rc == 0)
    rc = tend_buf_append(&b, "", 1);
  if (rc < 0) {
    tend_buf_free(&b);
    return rc;
  }
  *out = b.data;
  return 0;
}
