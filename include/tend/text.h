/* SPDX-License-Identifier: MIT */
/* Text helpers for machine-readable output: signal names, UTF-8, base64. */
#ifndef TEND_TEXT_H
#define TEND_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "tend/buf.h"

/* "SIGTERM" for 15; "SIG42" for a number with no name. Static storage per
 * call site is not needed: the result is written into out (>= 16 bytes). */
const char *tend_signame(int signum, char *out, size_t outlen);

/* Parse "TERM", "SIGTERM", "15" or "SIG15". Returns the number, or -EINVAL. */
int tend_signum(const char *name);

/* True if data[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool tend_utf8_valid(const char *data, size_t n);

/* Append data to out as valid UTF-8: each byte that does not start a
 * valid sequence becomes U+FFFD. */
int tend_utf8_sanitize(tend_buf_t *out, const char *data, size_t n);

/* Append the standard base64 (RFC 4648, padded) encoding of data. */
int tend_base64(tend_buf_t *out, const char *data, size_t n);

#endif
