/* SPDX-License-Identifier: MIT */
/*
 * The units tend reads from the config and the command line: durations and
 * byte sizes, one syntax each wherever they are written. Pure parsers:
 * callers word the message, naming the value and what they expected.
 */
#ifndef TEND_UNITS_H
#define TEND_UNITS_H

#include <stdint.h>

/*
 * A duration >= 0: a decimal number as strtod reads it ("2", "2.5", ".5",
 * "1e3") with an optional unit right after it, s (the default), m, h or d.
 * units_seconds gives seconds; units_ms milliseconds, rounded up, at most
 * 1e15. 0 or -EINVAL.
 */
int units_seconds(const char *s, double *secs);
int units_ms(const char *s, uint64_t *ms);

/*
 * A byte size: digits (an optional '+'), then optionally, blanks allowed
 * before it, a unit K, M or G (any case, powers of 1024) with an optional
 * B, or B alone: "1024", "10KB", "50mb", "2 KB", "64K", "1M", "100B".
 * 0, -EINVAL (not a size) or -ERANGE (over 2^64 - 1).
 */
int units_bytes(const char *s, uint64_t *bytes);

#endif
