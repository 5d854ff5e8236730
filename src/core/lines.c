/* SPDX-License-Identifier: MIT */
/*
 * Lines of a descriptor, read on demand (core/lines.h). The buffer grows
 * geometrically for a long line. A polled descriptor is reopened via
 * /proc, so the O_NONBLOCK that libuv sets does not leak into the
 * description our parent shares; a socket cannot be reopened, so it is
 * shared and its flags are put back when we are done.
 */
#include "core/lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { LINES_CAP0 = 64 * 1024, LINES_MIN_READ = 4096 };

/* Our own descriptor for fd, to poll: 0 or a negative errno. */
static int lines_poll_open(tend_lines_t *L, uv_loop_t *loop) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", L->fd);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fd = fcntl(L->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      return -errno;
    L->restore_fd = L->fd;
    L->restore_flags = fcntl(L->fd, F_GETFL);
  }
  int r = uv_poll_init(loop, &L->poll, fd);
  if (r != 0) {
    close(fd);
    L->restore_fd = -1;
    return r;
  }
  L->fd = fd;
  L->polled = true;
  L->poll_open = true;
  L->poll.data = L;
  return 0;
}

int lines_open(tend_lines_t *L, uv_loop_t *loop, int fd, int flags, tend_lines_cb ready_cb) {
  L->fd = fd;
  L->flags = flags;
  L->ready_cb = ready_cb;
  L->restore_fd = -1;
  L->cap = LINES_CAP0;
  L->buf = malloc(L->cap);
  if (L->buf == NULL)
    return -ENOMEM;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    L->eof = true; /* no input at all: no lines */
    return 0;
  }
  bool stream = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(fd);
  if (!(flags & LINES_POLL) || !stream)
    return 0;
  return lines_poll_open(L, loop);
}

static void lines_fail(tend_lines_t *L, int error) {
  L->error = error;
  L->eof = true;
}

/* Read once into the buffer (making room first). */
static void lines_fill(tend_lines_t *L) {
  if (L->start > 0) {
    memmove(L->buf, L->buf + L->start, L->len - L->start);
    L->len -= L->start;
    L->start = 0;
  }
  if (L->cap - L->len < LINES_MIN_READ) { /* a long line: grow */
    char *b = realloc(L->buf, L->cap * 2);
    if (b == NULL) {
      lines_fail(L, -ENOMEM);
      return;
    }
    L->buf = b;
    L->cap *= 2;
  }
  ssize_t n;
  do
    n = read(L->fd, L->buf + L->len, L->cap - L->len - 1); /* room for a NUL */
  while (n < 0 && errno == EINTR);
  if (n > 0)
    L->len += (size_t)n;
  else if (n == 0)
    L->eof = true;
  else if (errno != EAGAIN)
    lines_fail(L, -errno);
}

/* The line from the buffer's start to end (exclusive), terminated. */
static char *lines_take(tend_lines_t *L, char *end, size_t next) {
  char *line = L->buf + L->start;
  if ((L->flags & LINES_STRIP_CR) && end > line && end[-1] == '\r')
    end--;
  *end = '\0';
  L->start = next;
  return line;
}

int lines_next(tend_lines_t *L, char **line) {
  if (L->buf == NULL)
    return -1;
  for (;;) {
    char *p = L->buf + L->start;
    char *nl = memchr(p, '\n', L->len - L->start);
    if (nl != NULL) {
      *line = lines_take(L, nl, (size_t)(nl + 1 - L->buf));
      return 1;
    }
    if (L->eof) {
      if (L->start == L->len)
        return -1;
      *line = lines_take(L, L->buf + L->len, L->len); /* no newline at the end */
      return 1;
    }
    if (L->polled)
      return 0;
    lines_fill(L);
  }
}

static void lines_poll_cb(uv_poll_t *h, int status, int events) {
  tend_lines_t *L = h->data;
  (void)events;
  uv_poll_stop(h);
  L->polling = false;
  if (status < 0)
    lines_fail(L, status);
  else
    lines_fill(L);
  L->ready_cb(L);
}

void lines_wait(tend_lines_t *L) {
  if (L->poll_open && !L->polling) {
    L->polling = true;
    uv_poll_start(&L->poll, UV_READABLE | UV_DISCONNECT, lines_poll_cb);
  }
}

static void lines_closed_cb(uv_handle_t *h) {
  tend_lines_t *L = h->data;
  close(L->fd);
  if (L->restore_fd >= 0)
    fcntl(L->restore_fd, F_SETFL, L->restore_flags);
  free(L->buf);
  L->buf = NULL;
}

void lines_close(tend_lines_t *L) {
  if (L->poll_open) {
    L->poll_open = false;
    uv_close((uv_handle_t *)&L->poll, lines_closed_cb);
  } else if (!L->polled) {
    free(L->buf);
    L->buf = NULL;
  }
}
