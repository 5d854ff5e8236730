/* SPDX-License-Identifier: MIT */
/*
 * Text helpers for output that scripts read: signal names both ways, and a
 * lossless way to put arbitrary child output in JSON. JSON strings must be
 * Unicode, child output is bytes: tend gives the text with invalid bytes
 * replaced (readable) and, only when something was replaced, the exact bytes
 * in base64 beside it (lossless).
 */
#include "tend/text.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *tend_signame(int signum, char *out, size_t outlen) {
  const char *abbrev = sigabbrev_np(signum);
  if (abbrev != NULL)
    snprintf(out, outlen, "SIG%s", abbrev);
  else
    snprintf(out, outlen, "SIG%d", signum);
  return out;
}

int tend_signum(const char *name) {
  if (name == NULL || *name == '\0')
    return -EINVAL;
  /* "SIG34": what tend_signame calls a signal without an abbreviation (the
   * real-time ones), so that a name it wrote reads back. */
  if (strncasecmp(name, "SIG", 3) == 0 && isdigit((unsigned char)name[3]))
    name += 3;
  if (isdigit((unsigned char)name[0])) {
    char *end;
    long n = strtol(name, &end, 10);
    if (*end != '\0' || n <= 0 || n >= NSIG)
      return -EINVAL;
    return (int)n;
  }
  if (strncasecmp(name, "SIG", 3) == 0)
    name += 3;
  for (int s = 1; s < NSIG; s++) {
    const char *a = sigabbrev_np(s);
    if (a != NULL && strcasecmp(a, name) == 0)
      return s;
  }
  return -EINVAL;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0; /* overlong or out of range */
  if (cp >= 0xd800 && cp <= 0xdfff)
    return 0; /* surrogates are not characters */
  return len;
}

bool tend_utf8_valid(const char *data, size_t n) {
  const unsigned char *s = (const unsigned char *)data;
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t l = utf8_seq(s + i, n - i);
    if (l == 0)
      return false;
    i += l;
  }
  return true;
}

int tend_utf8_sanitize(tend_buf_t *out, const char *data, size_t n) {
  const unsigned char *s = (const unsigned char *)data;
  int r = tend_buf_reserve(out, n);
  size_t i = 0, run = 0; /* run: start of the pending valid bytes */
  while (r == 0 && i < n) {
    size_t l = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i);
    if (l > 0) {
      i += l;
      continue;
    }
    r = tend_buf_append(out, data + run, i - run);
    if (r == 0)
      r = tend_buf_append(out, "\xef\xbf\xbd", 3);
    run = ++i;
  }
  if (r == 0)
    r = tend_buf_append(out, data + run, n - run);
  return r;
}

int tend_base64(tend_buf_t *out, const char *data, size_t n) {
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = (const unsigned char *)data;
  int r = tend_buf_reserve(out, (n + 2) / 3 * 4);
  if (r != 0)
    return r;
  char *o = out->data + out->len;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = tab[(v >> 6) & 63];
    *o++ = tab[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  out->len = (size_t)(o - out->data);
  return 0;
}
