/* SPDX-License-Identifier: MIT */
/*
 * Durations and byte sizes (core/units.h): the union of what supervisord's
 * config (datatypes.py) and tend's options took, so that a value written
 * in one place is read the same in any other.
 */
#include "core/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The number and the seconds its unit stands for, kept apart so that
 * milliseconds are v * (mult * 1000), rounded once. */
static int duration(const char *s, double *v, double *mult) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  if (end == s || errno != 0 || !isfinite(*v) || *v < 0)
    return -EINVAL;
  if (*v == 0)
    *v = 0; /* "-0" */
  *mult = 1;
  if (*end == '\0')
    return 0;
  switch (*end) {
  case 's': break;
  case 'm': *mult = 60; break;
  case 'h': *mult = 3600; break;
  case 'd': *mult = 86400; break;
  default: return -EINVAL;
  }
  return end[1] == '\0' ? 0 : -EINVAL;
}

int units_seconds(const char *s, double *secs) {
  double v, mult;
  int r = duration(s, &v, &mult);
  if (r != 0)
    return r;
  if (!isfinite(v * mult))
    return -EINVAL;
  *secs = v * mult;
  return 0;
}

int units_ms(const char *s, uint64_t *ms) {
  double v, mult;
  int r = duration(s, &v, &mult);
  if (r != 0)
    return r;
  v *= mult * 1000;
  if (v > 1e15)
    return -EINVAL;
  *ms = (uint64_t)ceil(v);
  return 0;
}

/* The multiplier of a unit (the whole rest of the value), 0 for none. */
static uint64_t byte_unit(const char *u) {
  static const struct {
    const char *name;
    uint64_t mult;
  } units[] = {
      {"", 1},           {"b", 1},
      {"k", 1ull << 10}, {"kb", 1ull << 10},
      {"m", 1ull << 20}, {"mb", 1ull << 20},
      {"g", 1ull << 30}, {"gb", 1ull << 30},
  };
  size_t n = 0;
  while (u[n] != '\0' && !isspace((unsigned char)u[n]))
    n++;
  for (size_t i = n; u[i] != '\0'; i++)
    if (!isspace((unsigned char)u[i]))
      return 0;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strlen(units[i].name) == n && strncasecmp(u, units[i].name, n) == 0)
      return units[i].mult;
  return 0;
}

int units_bytes(const char *s, uint64_t *bytes) {
  const char *p = s;
  while (isspace((unsigned char)*p))
    p++;
  if (*p == '+')
    p++;
  if (!isdigit((unsigned char)*p))
    return -EINVAL;
  uint64_t v = 0;
  bool over = false;
  for (; isdigit((unsigned char)*p); p++) {
    uint64_t d = (uint64_t)(*p - '0');
    over = over || v > (UINT64_MAX - d) / 10;
    v = v * 10 + d;
  }
  while (isspace((unsigned char)*p))
    p++;
  uint64_t mult = byte_unit(p);
  if (mult == 0)
    return -EINVAL;
  if (over || v > UINT64_MAX / mult)
    return -ERANGE;
  *bytes = v * mult;
  return 0;
}
