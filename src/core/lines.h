/* SPDX-License-Identifier: MIT */
/*
 * A descriptor (stdin for `tend pool` and `tend submit --from-stdin`) read
 * as lines, only when the reader wants more. Regular files and devices are
 * read directly (they never block for long); pipes, terminals and sockets
 * are polled on the loop through a descriptor of our own, so a slow
 * producer never blocks it.
 */
#ifndef TEND_LINES_H
#define TEND_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

enum {
  LINES_POLL = (1 << 0),     /* poll streams on the loop (else plain reads) */
  LINES_STRIP_CR = (1 << 1), /* a line's trailing '\r' is dropped (CRLF input) */
};

typedef struct tend_lines tend_lines_t;
typedef void (*tend_lines_cb)(tend_lines_t *L);

struct tend_lines {
  void *data; /* the caller's */
  bool eof;   /* nothing more will be read */
  int error;  /* a negative errno once reading failed (eof is set too) */
  /* private */
  int fd, flags;
  tend_lines_cb ready_cb;
  uv_poll_t poll;
  bool polled, poll_open, polling;
  int restore_fd, restore_flags; /* a socket's shared flags */
  char *buf;
  size_t start, len, cap;
};

/*
 * Read the lines of fd (-1: there is none, so no lines). With LINES_POLL,
 * ready_cb runs on loop after lines_next returned 0 and lines_wait was
 * called, once more can be read. L must be zeroed before. 0, or a negative
 * errno; either way L is released with lines_close.
 */
int lines_open(tend_lines_t *L, uv_loop_t *loop, int fd, int flags, tend_lines_cb ready_cb);

/*
 * The next line, NUL-terminated in place without its newline (a last line
 * without one counts), valid until the next call: 1; 0 none yet (polled:
 * call lines_wait); -1 no more (L->error tells whether reading failed).
 */
int lines_next(tend_lines_t *L, char **line);

/* Polled input: call ready_cb once more can be read. */
void lines_wait(tend_lines_t *L);

/* Stop reading and free the buffer (in the handle's close callback when
 * polled: the loop must run). Harmless twice, and on a zeroed L. */
void lines_close(tend_lines_t *L);

#endif
