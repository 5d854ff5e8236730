/* SPDX-License-Identifier: MIT */
/*
 * Test helpers. They deliberately do not use libtend: a CLI test runs the
 * real tend binary through plain posix_spawn and poll, so a bug in the
 * library cannot hide itself. Every wait has a deadline.
 */
#ifndef TEND_TESTUTIL_H
#define TEND_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
  char *out;
  size_t out_len;
  char *err;
  size_t err_len;
  int status;     /* raw wait status */
  int exit_code;  /* WEXITSTATUS, or -1 */
  int signal;     /* WTERMSIG, or 0 */
  double seconds; /* wall time */
  bool timed_out; /* the deadline passed; the process group was killed */
} tu_result_t;

/* Run argv (argv[0] searched in PATH) with `input` on its stdin (NULL:
 * /dev/null), collect both outputs, wait at most deadline_ms. */
void tu_run(char *const argv[], const char *input, size_t input_len, int deadline_ms,
            tu_result_t *r);
void tu_result_free(tu_result_t *r);

/* Path of the built tend binary (TEND_BIN). */
const char *tu_tend(void);

/* A fresh temporary directory (removed by tu_rmdir). */
char *tu_tmpdir(void);
void tu_rmdir(char *dir);

/* Whether pid still exists (and is not a zombie). */
bool tu_alive(pid_t pid);

/* Poll until pid is gone or deadline_ms passed; true if gone. */
bool tu_wait_gone(pid_t pid, int deadline_ms);

/* Poll until path exists and holds a line; returns the number read from
 * it, or -1 at the deadline. */
long tu_wait_number_file(const char *path, int deadline_ms);

/* Current monotonic time in milliseconds. */
int64_t tu_now_ms(void);

#endif

/* ---- the daemon, for end-to-end tests ---------------------------------- */

typedef struct {
  char *dir;    /* temporary directory holding everything below */
  char *conf;   /* dir/tend.conf */
  char *sock;   /* dir/tend.sock */
  char *log;    /* dir/daemon.log: the daemon's stderr (its log) */
  pid_t pid;
} tu_daemon_t;

/* Write conf_text (after a [tend] section naming the socket and logdir
 * in the temp dir, unless with_tend is false) and start `tend daemon`;
 * wait until its socket answers. */
void tu_daemon_start(tu_daemon_t *d, const char *conf_text);
/* Whether TEND_VALGRIND=1: the daemons tu_daemon_try starts run under
 * valgrind --leak-check=full --error-exitcode=1 (report in d->log). */
bool tu_valgrind(void);
/* Start on an existing config file; false if it exited instead (then
 * *status is its wait status). */
bool tu_daemon_try(tu_daemon_t *d, const char *conf_path, int *status);
/* SIGTERM, wait for the exit (deadline), SIGKILL if needed; returns the
 * wait status. Frees d's strings and removes the directory. */
int tu_daemon_stop(tu_daemon_t *d);

/* Run `tend ARGS... -s SOCK` style control commands: argv without the
 * binary and without -s; NULL-terminated. */
void tu_ctl(tu_daemon_t *d, tu_result_t *r, const char *cmd, ...);

/* The `tend status --json NAME` entry of one process (a jansson json_t *,
 * the caller decrefs it), asserting the command answered. */
struct json_t;
struct json_t *tu_status_of(tu_daemon_t *d, const char *name);

/* Wait until file path contains needle (inotify + deadline). */
bool tu_wait_file_contains(const char *path, const char *needle, int deadline_ms);
/* How many times needle occurs in the file. */
int tu_file_count(const char *path, const char *needle);
/* The whole file, malloc'd (NULL if missing). */
char *tu_read_file(const char *path, size_t *len);
/* Write a file. */
void tu_write_file(const char *path, const char *text);
