/* SPDX-License-Identifier: MIT */
/* [fcgi-program:x] socket = ...: see config/fcgi.h. */
#include "config/fcgi.h"
#include "config/value.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_unix(const char *rest, const char *here, tend_fcgi_socket_t *out,
                      const char **why) {
  if (*rest == '\0') {
    *why = "unix:///PATH";
    return -EINVAL;
  }
  out->path = cfg_path_resolve(here, rest);
  if (out->path == NULL)
    return -ENOMEM;
  if (asprintf(&out->url, "unix://%s", out->path) < 0) {
    out->url = NULL;
    return -ENOMEM;
  }
  return 0;
}

/* supervisord's pattern: tcp://([^\s:]+):(\d+)$ */
static int parse_tcp(const char *rest, tend_fcgi_socket_t *out, const char **why) {
  const char *colon = strchr(rest, ':');
  *why = "tcp://HOST:PORT (an IPv4 address or host name, a port 1-65535)";
  if (colon == NULL || colon == rest)
    return -EINVAL;
  for (const char *p = rest; p < colon; p++)
    if (isspace((unsigned char)*p))
      return -EINVAL;
  long port = 0;
  const char *p = colon + 1;
  if (*p == '\0')
    return -EINVAL;
  for (; *p != '\0'; p++) {
    if (!isdigit((unsigned char)*p) || port > 65535)
      return -EINVAL;
    port = port * 10 + (*p - '0');
  }
  if (port < 1 || port > 65535)
    return -EINVAL;
  out->host = strndup(rest, (size_t)(colon - rest));
  if (out->host == NULL)
    return -ENOMEM;
  for (char *h = out->host; *h; h++)
    *h = (char)tolower((unsigned char)*h);
  out->port = (int)port;
  if (asprintf(&out->url, "tcp://%s:%d", out->host, out->port) < 0) {
    out->url = NULL;
    return -ENOMEM;
  }
  return 0;
}

int cfg_parse_fcgi_socket(const char *url, const char *here, tend_fcgi_socket_t *out,
                          const char **why) {
  int r;
  if (strncmp(url, "unix://", 7) == 0)
    r = parse_unix(url + 7, here, out, why);
  else if (strncmp(url, "tcp://", 6) == 0)
    r = parse_tcp(url + 6, out, why);
  else {
    *why = "tcp://HOST:PORT or unix:///PATH";
    r = -EINVAL;
  }
  if (r < 0)
    cfg_fcgi_socket_clear(out);
  return r;
}

void cfg_fcgi_socket_clear(tend_fcgi_socket_t *s) {
  free(s->url);
  free(s->host);
  free(s->path);
  free(s->owner);
  memset(s, 0, sizeof(*s));
}
