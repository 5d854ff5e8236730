/* SPDX-License-Identifier: MIT */
/*
 * Child output logs: the bytes a process writes to stdout or stderr, cut
 * into lines and appended to a file that is rotated by size, supervisord
 * style (NAME.out, NAME.out.1 ... NAME.out.BACKUPS).
 *
 * A line is never split across two files and never lost at rotation: the
 * file is rotated before a line that would make it exceed maxbytes. A line
 * longer than OUTLOG_MAX_LINE is cut into pieces of that size (each piece
 * written as its own line, nothing dropped). A partial last line is kept
 * in memory until its newline arrives or outlog_flush is called (at exit).
 *
 * Writes are plain writev(2) calls on a regular file, which does not block
 * the loop for long. When the file cannot be opened or written (directory
 * gone, disk full) the lines are dropped and counted; the error is returned
 * once per failure streak, so the caller reports it once, and each later
 * write tries again, so logging resumes by itself when the cause is gone.
 */
#ifndef TEND_OUTLOG_H
#define TEND_OUTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTLOG_MAX_LINE (64 * 1024)

/* A line for a line sink (outlog_open_lines): the bytes a then b, without
 * the newline. 0, or a negative errno when it was dropped (the sink
 * reports its own errors; the log counts the line in dropped). */
typedef int (*outlog_line_fn)(void *arg, const char *a, size_t alen, const char *b,
                              size_t blen);

typedef struct {
  char *path;
  uint64_t maxbytes; /* 0: never rotate */
  int backups;       /* files kept besides the live one; 0: truncate */
  int fd;            /* -1 while closed or after an open failure */
  uint64_t size;     /* bytes in the live file, as counted; re-read from the
                        file before each rotation (copytruncate) */
  char *partial;     /* the incomplete last line */
  size_t partial_len;
  int last_error;    /* negative errno of the current failure streak, or 0 */
  uint64_t lines;    /* lines written */
  uint64_t dropped;  /* lines that could not be written */
  bool timestamps;   /* prefix each line with an RFC 3339 time and a space
                        (set after outlog_open) */
  char *prefix;      /* before each line (and its time): "web  | ", docker
                        compose's way of telling programs apart on one
                        stream; outlog_set_prefix */
  size_t prefix_len;
  outlog_line_fn line_fn; /* a line sink instead of a file */
  void *line_arg;
} outlog_t;

/* Open (create, append) path, creating missing parent directories. 0 or a
 * negative errno; on error the log still accepts writes and retries opening
 * on each of them, and that error counts as the start of a failure streak
 * (the writes that fail after it return 0). A path that is not a regular
 * file (/dev/null, a tty) is written but never rotated. */
int outlog_open(outlog_t *l, const char *path, uint64_t maxbytes, int backups);

/* Whether path names the daemon's own stdout or stderr (/dev/stdout,
 * /dev/fd/2, /proc/self/fd/1, ...): such a log writes to a duplicate of
 * that descriptor instead of opening the path, which works where opening
 * it does not (a socket, as journald's and some container runtimes'
 * stdout) and shares the daemon's file offset (a file opened by a shell's
 * '>' is appended to, not overwritten). 1 or 2, else 0. */
int outlog_stdio_fd(const char *path);

/* Start every line of l with prefix (copied; NULL: none). 0 or -ENOMEM. */
int outlog_set_prefix(outlog_t *l, const char *prefix);

/* A log whose lines go to fn (syslog) instead of a file: cut exactly as
 * a file log cuts them (partial lines kept, long lines cut at
 * OUTLOG_MAX_LINE, flushed at close). outlog_write and outlog_flush then
 * return 0 (fn reports); outlog_reopen does nothing. */
void outlog_open_lines(outlog_t *l, outlog_line_fn fn, void *arg);

/* Append data: complete lines are written, the rest kept. Returns 0, or a
 * negative errno the first time a failure streak starts (later failures of
 * the same streak return 0: the caller reports once). A streak ends, and
 * last_error goes back to 0, with the first call whose lines are written.
 * A failed rotation (a backup cannot be renamed) also reports an error but
 * drops nothing: the live file then grows past maxbytes. A piece of a cut
 * long line is OUTLOG_MAX_LINE bytes plus its newline; a line of exactly
 * OUTLOG_MAX_LINE bytes is not cut. */
int outlog_write(outlog_t *l, const char *data, size_t n);

/* Write the partial last line, newline-terminated. 0 or a negative errno,
 * with the same streak rule as outlog_write. */
int outlog_flush(outlog_t *l);

/* Close and open the path again (after an external rotation); the partial
 * line is kept. 0 or a negative errno (always returned; it starts a failure
 * streak, and the next writes retry opening). */
int outlog_reopen(outlog_t *l);

/* Flush and close; frees everything. */
void outlog_close(outlog_t *l);

/* The last n lines of the live file (and older files if needed), for
 * `tend logs -n`, oldest first. Returns a malloc'd, NUL-terminated buffer
 * (caller frees), *len set; files are read backwards in blocks, never
 * whole. A missing file has no lines; n <= 0 gives an empty buffer. NULL
 * with errno set if a file cannot be read or memory runs out. */
char *outlog_tail(const char *path, int backups, int n, size_t *len);

#endif
