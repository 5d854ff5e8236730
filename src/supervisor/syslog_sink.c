/* SPDX-License-Identifier: MIT */
/* Child output lines to a syslog socket: see supervisor/syslog_sink.h. */
#include "supervisor/syslog_sink.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* LOG_USER | LOG_INFO, as supervisord's syslog.syslog(msg) sends them. */
#define SYSLOG_PRI 14

void syslog_sink_init(syslog_sink_t *s) {
  memset(s, 0, sizeof(*s));
  s->fd = -1;
}

int syslog_sink_set_path(syslog_sink_t *s, const char *path) {
  if (s->path != NULL && strcmp(s->path, path) == 0)
    return 0;
  char *p = strdup(path);
  if (p == NULL)
    return -ENOMEM;
  free(s->path);
  s->path = p;
  return 0;
}

static void streak_start(syslog_sink_t *s, int err) {
  s->streak++;
  if (s->error == 0)
    LOG("error", "syslog_error", F_STR("socket", s->path), F_STR("error", strerror(-err)),
        F_STR("action", "dropping lines until it works"));
  s->error = err;
}

static void streak_end(syslog_sink_t *s) {
  if (s->error == 0)
    return;
  LOG("info", "syslog_resumed", F_STR("socket", s->path), F_INT("dropped", (long long)s->streak));
  s->error = 0;
  s->streak = 0;
}

int syslog_sink_send(syslog_sink_t *s, const char *ident, const char *a, size_t alen,
                     const char *b, size_t blen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (s->path == NULL || strlen(s->path) >= sizeof(sa.sun_path)) {
    streak_start(s, -ENAMETOOLONG);
    return -ENAMETOOLONG;
  }
  memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
  if (s->fd < 0) {
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
      int err = -errno;
      streak_start(s, err);
      return err;
    }
  }
  /* syslog(3)'s header: "<PRI>Mmm dd hh:mm:ss IDENT: ", local time */
  char head[64 + 256];
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  int n = snprintf(head, sizeof(head), "<%d>", SYSLOG_PRI);
  n += (int)strftime(head + n, sizeof(head) - (size_t)n, "%b %e %H:%M:%S ", &tm);
  n += snprintf(head + n, sizeof(head) - (size_t)n, "%.255s: ", ident);
  struct iovec iov[3] = {{head, (size_t)n}, {(void *)a, alen}, {(void *)b, blen}};
  struct msghdr m = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = iov, .msg_iovlen = 3};
  /* Unconnected: every line looks the path up again, so a syslog daemon
   * that restarted (a new socket at the same path) gets the next one. */
  if (sendmsg(s->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    int err = -errno;
    streak_start(s, err);
    return err;
  }
  streak_end(s);
  return 0;
}

void syslog_sink_close(syslog_sink_t *s) {
  if (s->fd >= 0)
    close(s->fd);
  free(s->path);
  syslog_sink_init(s);
}
