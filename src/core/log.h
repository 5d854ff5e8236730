/* SPDX-License-Identifier: MIT */
/*
 * The daemon log: one line per event, greppable key=value text or one JSON
 * object per line, each with an RFC 3339 time to the millisecond.
 *
 *   LOG("info", "exit", F_STR("program", "web"), F_INT("pid", 42));
 *
 * text: 2026-11-25T20:49:48.123+00:00 info exit program=web pid=42
 * json: {"time":"...","level":"info","event":"exit","program":"web","pid":42}
 */
#ifndef TEND_LOG_H
#define TEND_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "tend/config.h"

typedef enum { LF_END = 0, LF_STR, LF_INT, LF_BOOL, LF_NULL, LF_NUM } log_ftype_t;

typedef struct {
  log_ftype_t type;
  const char *key;
  const char *s;
  long long i;
  double d;
} log_field_t;

#define F_STR(k, v) {.type = LF_STR, .key = (k), .s = (v)}
#define F_INT(k, v) {.type = LF_INT, .key = (k), .i = (long long)(v)}
#define F_BOOL(k, v) {.type = LF_BOOL, .key = (k), .i = (v) ? 1 : 0}
#define F_NULL(k) {.type = LF_NULL, .key = (k)}
#define F_NUM(k, v) {.type = LF_NUM, .key = (k), .d = (double)(v)}

#define LOG(level, event, ...) \
  log_fields((level), (event), (const log_field_t[]){__VA_ARGS__, {.type = LF_END}})

/* Where and how to log: path NULL means stderr. 0 or a negative errno
 * (then the previous target stays). */
int log_open(const char *path, tend_logfmt_t fmt);
/* Log to syslog(3) (facility daemon, ident "tend") instead: each event's
 * line, without the time (syslog adds its own), at the event's level. */
void log_open_syslog(tend_logfmt_t fmt);
void log_close(void);
/* Open the log file again (after logrotate moved it). 0 or a negative
 * errno (then the old descriptor stays in use). */
int log_reopen(void);

void log_fields(const char *level, const char *event, const log_field_t *fields);

/* A plain message: LOG(level, event, F_STR("msg", ...)) with printf. */
void log_msg(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "2026-11-25T20:49:48.123+00:00" into out (>= 32 bytes). */
void log_time(char *out, size_t outlen);

#endif
