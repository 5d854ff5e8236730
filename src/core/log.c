/* SPDX-License-Identifier: MIT */
/*
 * The daemon log (see core/log.h). Each event is formatted whole into memory and
 * written with one write(2), so lines from one process never interleave and
 * a crash never leaves half a line. Text values are quoted only when they
 * need it, so `grep program=web` and `awk` work on the plain case.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tend/buf.h"
#include "tend/text.h"

static int log_fd = STDERR_FILENO;
static tend_logfmt_t log_fmt = TEND_LOGFMT_TEXT;
static char *log_path; /* NULL: stderr */
static bool log_syslog;

int log_open(const char *path, tend_logfmt_t fmt) {
  int fd = STDERR_FILENO;
  if (path != NULL) {
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return -errno;
  }
  char *copy = path != NULL ? strdup(path) : NULL;
  log_close();
  log_fd = fd;
  log_fmt = fmt;
  log_path = copy;
  return 0;
}

void log_open_syslog(tend_logfmt_t fmt) {
  log_close();
  openlog("tend", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  log_syslog = true;
  log_fmt = fmt;
}

static int syslog_priority(const char *level) {
  if (strcmp(level, "error") == 0)
    return LOG_ERR;
  if (strcmp(level, "warn") == 0)
    return LOG_WARNING;
  if (strcmp(level, "notice") == 0)
    return LOG_NOTICE;
  return LOG_INFO;
}

int log_reopen(void) {
  if (log_path == NULL)
    return 0;
  int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno; /* keep writing to the old file rather than nowhere */
  close(log_fd);
  log_fd = fd;
  return 0;
}

void log_close(void) {
  if (log_syslog)
    closelog();
  log_syslog = false;
  if (log_fd > STDERR_FILENO)
    close(log_fd);
  log_fd = STDERR_FILENO;
  free(log_path);
  log_path = NULL;
}

void log_time(char *out, size_t outlen) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  char date[32], zone[8];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  strftime(zone, sizeof(zone), "%z", &tm); /* +0100 → +01:00 for RFC 3339 */
  snprintf(out, outlen, "%s.%03ld%.3s:%.2s", date, ts.tv_nsec / 1000000, zone, zone + 3);
}

static bool needs_quotes(const char *s) {
  if (*s == '\0')
    return true;
  for (; *s; s++)
    if (*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
      return true;
  return false;
}

static void text_value(tend_buf_t *b, const char *s) {
  if (!needs_quotes(s)) {
    tend_buf_append(b, s, strlen(s));
    return;
  }
  tend_buf_append(b, "\"", 1);
  for (; *s; s++) {
    char esc[8];
    const char *e = NULL;
    switch (*s) {
    case '"': e = "\\\""; break;
    case '\\': e = "\\\\"; break;
    case '\n': e = "\\n"; break;
    case '\t': e = "\\t"; break;
    case '\r': e = "\\r"; break;
    default:
      if ((unsigned char)*s < ' ' || *s == 0x7f) {
        snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*s);
        e = esc;
      }
    }
    if (e != NULL)
      tend_buf_append(b, e, strlen(e));
    else
      tend_buf_append(b, s, 1);
  }
  tend_buf_append(b, "\"", 1);
}

static void format_text(tend_buf_t *b, const char *t, const char *level, const char *event,
                        const log_field_t *f) {
  char num[64];
  tend_buf_append(b, t, strlen(t));
  tend_buf_append(b, " ", 1);
  tend_buf_append(b, level, strlen(level));
  tend_buf_append(b, " ", 1);
  tend_buf_append(b, event, strlen(event));
  for (; f->type != LF_END; f++) {
    tend_buf_append(b, " ", 1);
    tend_buf_append(b, f->key, strlen(f->key));
    tend_buf_append(b, "=", 1);
    switch (f->type) {
    case LF_STR: text_value(b, f->s ? f->s : ""); continue;
    case LF_INT: snprintf(num, sizeof(num), "%lld", f->i); break;
    case LF_BOOL: snprintf(num, sizeof(num), "%s", f->i ? "true" : "false"); break;
    case LF_NULL: snprintf(num, sizeof(num), "null"); break;
    case LF_NUM: snprintf(num, sizeof(num), "%.3f", f->d); break;
    case LF_END: break;
    }
    tend_buf_append(b, num, strlen(num));
  }
  tend_buf_append(b, "\n", 1);
}

static void format_json(tend_buf_t *b, const char *t, const char *level, const char *event,
                        const log_field_t *f) {
  json_t *o = json_object();
  json_object_set_new(o, "time", json_string(t));
  json_object_set_new(o, "level", json_string(level));
  json_object_set_new(o, "event", json_string(event));
  for (; f->type != LF_END; f++) {
    json_t *v = NULL;
    switch (f->type) {
    case LF_STR: v = f->s ? json_string(f->s) : json_null(); break;
    case LF_INT: v = json_integer(f->i); break;
    case LF_BOOL: v = json_boolean(f->i); break;
    case LF_NULL: v = json_null(); break;
    case LF_NUM: v = json_real(f->d); break;
    case LF_END: break;
    }
    /* A value that is not UTF-8 (a command line, say) must not drop the
     * field silently: keep it, repaired. */
    if (v == NULL && f->type == LF_STR) {
      tend_buf_t fixed = {0};
      tend_utf8_sanitize(&fixed, f->s, strlen(f->s));
      v = json_stringn(fixed.data ? fixed.data : "", fixed.len);
      tend_buf_free(&fixed);
    }
    json_object_set_new(o, f->key, v);
  }
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (s != NULL) {
    tend_buf_append(b, s, strlen(s));
    free(s);
  }
  tend_buf_append(b, "\n", 1);
}

void log_fields(const char *level, const char *event, const log_field_t *fields) {
  char t[48];
  log_time(t, sizeof(t));
  tend_buf_t b = {0};
  if (log_fmt == TEND_LOGFMT_JSON)
    format_json(&b, t, level, event, fields);
  else
    format_text(&b, t, level, event, fields);
  if (b.data != NULL && log_syslog) {
    /* syslog stamps its own time: skip ours ("TIME " in text, and the
     * line's newline). */
    const char *line = b.data;
    if (log_fmt == TEND_LOGFMT_TEXT && strchr(line, ' ') != NULL)
      line = strchr(line, ' ') + 1;
    int len = (int)(b.data + b.len - line) - 1;
    syslog(syslog_priority(level), "%.*s", len > 0 ? len : 0, line);
  } else if (b.data != NULL) {
    /* One write per line; a failing log must not stop supervision. */
    ssize_t n = write(log_fd, b.data, b.len);
    (void)n;
  }
  tend_buf_free(&b);
}

void log_msg(const char *level, const char *event, const char *fmt, ...) {
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  LOG(level, event, F_STR("msg", n >= 0 ? msg : fmt));
  free(msg);
}
