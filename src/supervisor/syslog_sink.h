/* SPDX-License-Identifier: MIT */
/*
 * Child output lines to syslog (stdout_logfile = syslog): one datagram per
 * line, RFC 3164 as syslog(3) writes it to /dev/log,
 * "<14>Mmm dd hh:mm:ss IDENT: LINE" (facility user, priority info, the
 * priority supervisord's Python syslog.syslog gives every line).
 *
 * Sent with a non-blocking sendto on an unconnected Unix datagram socket,
 * so the loop never waits for the syslog daemon: when the socket is
 * missing, refuses, or its queue is full, the line is dropped and counted.
 * The first failure of a streak is logged once in the daemon log, and the
 * end of the streak (with the number of lines lost) once too; every line
 * tries again, so a syslog daemon that comes back gets the next line.
 */
#ifndef TEND_SYSLOG_SINK_H
#define TEND_SYSLOG_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *path;        /* the socket; NULL: not set yet */
  int fd;            /* -1 until the first line */
  int error;         /* negative errno of the current failure streak, or 0 */
  uint64_t streak;   /* lines lost in the current streak */
} syslog_sink_t;

void syslog_sink_init(syslog_sink_t *s);

/* Send to path from now on (a reload may change it). 0 or -ENOMEM (the
 * old path stays). */
int syslog_sink_set_path(syslog_sink_t *s, const char *path);

/* One line: the bytes a then b (no newline), ident before it. 0, or a
 * negative errno when the line was dropped (reported by the sink). */
int syslog_sink_send(syslog_sink_t *s, const char *ident, const char *a, size_t alen,
                     const char *b, size_t blen);

/* Close the socket and free the path. */
void syslog_sink_close(syslog_sink_t *s);

#endif
