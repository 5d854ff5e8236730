/* SPDX-License-Identifier: MIT */
/*
 * dist_url: Redis URLs, as redis-py and redis-cli -u spell them:
 *   redis://[[user]:password@]host[:port][/db]
 *   unix://[[user]:password@]/path[?db=N]
 * Every error message shows the URL with its password masked, so a
 * mistyped URL in a unit file does not end up in a log with the secret.
 */
#include "tend/dist.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_FORMS "redis://[user:password@]host[:port][/db] or unix:///path"

/* s with the password (between the ':' of the userinfo and its '@')
 * replaced by "***", into buf. */
static void redact(const char *s, char *buf, size_t len) {
  const char *scheme = strstr(s, "://");
  const char *auth = scheme != NULL ? scheme + 3 : s;
  const char *end = auth + strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < end; p++) /* the last '@' of the authority */
    if (*p == '@')
      at = p;
  const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (colon == NULL) {
    snprintf(buf, len, "%s", s);
    return;
  }
  snprintf(buf, len, "%.*s***%s", (int)(colon + 1 - s), s, at);
}

static int fail(char *err, size_t errlen, const char *url, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, const char *url, const char *fmt, ...) {
  char shown[512], why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  redact(url, shown, sizeof(shown));
  snprintf(err, errlen, "invalid Redis URL '%s': %s (expected " URL_FORMS ")", shown, why);
  return -EINVAL;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A %-decoded copy of s[0..n), or NULL: *bad when a %XX is malformed. */
static char *decode(const char *s, size_t n, bool *bad) {
  char *d = malloc(n + 1), *o = d;
  if (d == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      if (i + 2 >= n) {
        *bad = true;
        free(d);
        return NULL;
      }
      int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
      if (h < 0 || l < 0 || (h == 0 && l == 0)) {
        *bad = true;
        free(d);
        return NULL;
      }
      *o++ = (char)(h * 16 + l);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return d;
}

/* A non-negative decimal below limit, the whole of s[0..n). */
static int number(const char *s, size_t n, long limit, long *v) {
  if (n == 0 || n > 9)
    return -1;
  long x = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    x = x * 10 + (s[i] - '0');
  }
  if (x >= limit)
    return -1;
  *v = x;
  return 0;
}

void tend_redis_url_free(tend_redis_url_t *u) {
  free(u->host);
  free(u->path);
  free(u->user);
  free(u->password);
  memset(u, 0, sizeof(*u));
}

/* [user]:password@ (the part before '@'), into u. */
static int userinfo(const char *url, const char *s, size_t n, tend_redis_url_t *u, char *err,
                    size_t errlen) {
  const char *colon = memchr(s, ':', n);
  if (colon == NULL)
    return fail(err, errlen, url, "a password comes after a ':' (user:password@ or :password@)");
  bool bad = false;
  if (colon > s) {
    u->user = decode(s, (size_t)(colon - s), &bad);
    if (u->user == NULL)
      return bad ? fail(err, errlen, url, "bad %%-escape in the user name") : -ENOMEM;
  }
  u->password = decode(colon + 1, n - (size_t)(colon + 1 - s), &bad);
  if (u->password == NULL)
    return bad ? fail(err, errlen, url, "bad %%-escape in the password") : -ENOMEM;
  return 0;
}

static int parse_tcp(const char *url, const char *p, tend_redis_url_t *u, char *err,
                     size_t errlen) {
  size_t alen = strcspn(p, "/?#");
  const char *aend = p + alen;
  const char *at = NULL;
  for (const char *q = p; q < aend; q++)
    if (*q == '@')
      at = q;
  const char *h = p;
  if (at != NULL) {
    int r = userinfo(url, p, (size_t)(at - p), u, err, errlen);
    if (r != 0)
      return r;
    h = at + 1;
  }
  const char *hend, *port = NULL;
  if (*h == '[') {
    const char *rb = memchr(h, ']', (size_t)(aend - h));
    if (rb == NULL)
      return fail(err, errlen, url, "'[' without ']' around an IPv6 address");
    u->host = strndup(h + 1, (size_t)(rb - h - 1));
    hend = rb + 1;
    if (hend < aend) {
      if (*hend != ':')
        return fail(err, errlen, url, "unexpected text after ']'");
      port = hend + 1;
    }
  } else {
    const char *colon = memchr(h, ':', (size_t)(aend - h));
    hend = colon != NULL ? colon : aend;
    u->host = strndup(h, (size_t)(hend - h));
    if (colon != NULL)
      port = colon + 1;
  }
  if (u->host == NULL)
    return -ENOMEM;
  if (u->host[0] == '\0')
    return fail(err, errlen, url, "no host");
  for (const char *c = u->host; *c; c++)
    if (isspace((unsigned char)*c) || *c == '@')
      return fail(err, errlen, url, "bad character in the host");
  u->port = 6379;
  if (port != NULL) {
    long v;
    if (number(port, (size_t)(aend - port), 65536, &v) != 0 || v == 0)
      return fail(err, errlen, url, "the port is not a number from 1 to 65535");
    u->port = (int)v;
  }
  const char *rest = aend;
  if (*rest == '/') {
    rest++;
    size_t dlen = strcspn(rest, "?#");
    if (dlen > 0) {
      long v;
      if (number(rest, dlen, 1000000, &v) != 0)
        return fail(err, errlen, url, "the database after '/' is not a number");
      u->db = (int)v;
    }
    rest += dlen;
  }
  if (*rest != '\0')
    return fail(err, errlen, url, "unexpected '%s' (no query options for redis://)", rest);
  return 0;
}

static int parse_unix(const char *url, const char *p, tend_redis_url_t *u, char *err,
                      size_t errlen) {
  const char *slash = strchr(p, '/');
  if (slash == NULL)
    return fail(err, errlen, url, "no socket path (unix:///path/to/redis.sock)");
  if (slash > p) {
    if (slash[-1] != '@')
      return fail(err, errlen, url, "the socket path must be absolute (unix:///path)");
    int r = userinfo(url, p, (size_t)(slash - 1 - p), u, err, errlen);
    if (r != 0)
      return r;
  }
  size_t plen = strcspn(slash, "?#");
  if (plen <= 1)
    return fail(err, errlen, url, "no socket path (unix:///path/to/redis.sock)");
  u->path = strndup(slash, plen);
  if (u->path == NULL)
    return -ENOMEM;
  const char *q = slash + plen;
  if (*q == '?') {
    long v;
    if (strncmp(q, "?db=", 4) != 0 || number(q + 4, strlen(q + 4), 1000000, &v) != 0)
      return fail(err, errlen, url, "the only query option is ?db=N");
    u->db = (int)v;
  } else if (*q != '\0') {
    return fail(err, errlen, url, "unexpected '%s'", q);
  }
  return 0;
}

int tend_redis_url_parse(const char *s, tend_redis_url_t *u, char *err, size_t errlen) {
  memset(u, 0, sizeof(*u));
  int r;
  if (s == NULL || *s == '\0')
    r = fail(err, errlen, "", "empty");
  else if (strncmp(s, "redis://", 8) == 0)
    r = parse_tcp(s, s + 8, u, err, errlen);
  else if (strncmp(s, "unix://", 7) == 0)
    r = parse_unix(s, s + 7, u, err, errlen);
  else if (strncmp(s, "rediss://", 9) == 0)
    r = fail(err, errlen, s, "TLS (rediss://) is not supported by hiredis 0.14");
  else
    r = fail(err, errlen, s, "unknown scheme");
  if (r != 0) {
    if (r == -ENOMEM)
      snprintf(err, errlen, "out of memory");
    tend_redis_url_free(u);
  }
  return r;
}

const char *tend_redis_url_where(const tend_redis_url_t *u, char *buf, size_t len) {
  if (u->path != NULL)
    snprintf(buf, len, "%s", u->path);
  else if (strchr(u->host, ':') != NULL)
    snprintf(buf, len, "[%s]:%d", u->host, u->port);
  else
    snprintf(buf, len, "%s:%d", u->host, u->port);
  return buf;
}
