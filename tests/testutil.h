/* SPDX-License-Identifier: MIT */
/*
 * Test helpers. They deliberately do not use libtend: a CLI test runs the
 * real tend binary through plain posix_spawn and poll, so a bug in the
 * library cannot hide itself. Every wait has a deadline.
 */
#ifndef TEND_TESTUTIL_H
#define TEND_TESTUTIL_H

#include <criterion/criterion.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

/* tu_run, calling hook(pid, hook_data) every 10 ms or so while the process
 * runs, to act on it or sample it, until the hook returns true. */
typedef bool (*tu_hook_fn)(pid_t pid, void *data);
void tu_run_hooked(char *const argv[], const char *input, size_t input_len, int deadline_ms,
                   tu_hook_fn hook, void *hook_data, tu_result_t *r);

/* Path of the built tend binary (TEND_BIN). */
const char *tu_tend(void);
/* The Python the tests run supervisord's own code with: Debian's
 * /usr/bin/python3 (with Debian's supervisor package), or $TEND_PYTHON. */
const char *tu_python(void);
/* tu_python(), after checking it can import module (a dotted name of
 * Python's supervisor package); else the test is skipped, saying why. */
const char *tu_python_with(const char *module);

/* A fresh temporary directory (removed by tu_rmdir). */
char *tu_tmpdir(void);
void tu_rmdir(char *dir);

/* Whether pid still exists (and is not a zombie). */
bool tu_alive(pid_t pid);

/* Poll until pid is gone or deadline_ms passed; true if gone. */
/* posix_spawnp argv with the file actions fa (destroyed here), in a
 * process group of its own, with a clean signal mask and default
 * dispositions; asserts it started. */
pid_t tu_spawn(char *const argv[], posix_spawn_file_actions_t *fa);
bool tu_wait_gone(pid_t pid, int deadline_ms);

/* Wait (tu_wait_file) until path holds a number and a newline; returns
 * the number, or -1 at the deadline. */
long tu_wait_number_file(const char *path, int deadline_ms);

/* Current monotonic time in milliseconds. */
int64_t tu_now_ms(void);

/* Format into a new string (the caller frees it). */
char *tu_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* ---- tend on the command line ------------------------------------------ */

/* tend ARGS... (args NULL-terminated) with the input_len bytes at input on
 * its stdin (input NULL: /dev/null). */
void tu_tend_v(tu_result_t *r, const char *input, size_t input_len, int deadline_ms,
               const char *const *args);

/* tend ARGS... with input_len bytes of input (NULL: /dev/null) on its
 * stdin; with the string text (NULL: /dev/null); with /dev/null. */
#define TEND_BYTES(r, input, input_len, deadline_ms, ...)                                     \
  tu_tend_v((r), (input), (input_len), (deadline_ms), (const char *const[]){__VA_ARGS__, NULL})
#define TEND_IN(r, text, deadline_ms, ...)                                                    \
  TEND_BYTES(r, text, tu_strlen0(text), deadline_ms, __VA_ARGS__)
#define TEND(r, deadline_ms, ...) TEND_BYTES(r, NULL, 0, deadline_ms, __VA_ARGS__)

static inline size_t tu_strlen0(const char *s) { return s != NULL ? strlen(s) : 0; }

/* What a run (tu_run, tu_ctl, TEND) must have done, as assertions that
 * report the caller's line. assert_finished: tend ended by itself within
 * the deadline, not by a signal (else it hung or crashed); assert_exit:
 * that, with exit code `code`; assert_out / assert_err: stdout / stderr are
 * exactly `text`. */
#define assert_finished(r)                                                                     \
  do {                                                                                         \
    cr_assert(!(r)->timed_out,                                                                 \
              "tend did not finish within the deadline (%.1fs); stderr: %.300s", (r)->seconds,  \
              (r)->err);                                                                       \
    cr_assert((r)->signal == 0, "tend died of signal %d; stderr: %.300s", (r)->signal,         \
              (r)->err);                                                                       \
  } while (0)

#define assert_exit(r, code)                                                                   \
  do {                                                                                         \
    assert_finished(r);                                                                        \
    cr_assert_eq((r)->exit_code, (code), "exit %d, expected %d\nstdout: %.500s\nstderr: %.2000s", \
                 (r)->exit_code, (code), (r)->out, (r)->err);                                  \
  } while (0)

#define assert_out(r, text) assert_bytes("stdout", (r)->out, (r)->out_len, text)
#define assert_err(r, text) assert_bytes("stderr", (r)->err, (r)->err_len, text)
#define assert_bytes(what, buf, len, text)                                                     \
  do {                                                                                         \
    cr_assert_eq((len), strlen(text), "%s (%zu bytes): '%.300s', expected '%s'", (what),       \
                 (len), (buf), (text));                                                        \
    cr_assert(memcmp((buf), (text), (len)) == 0, "%s '%.300s', expected '%s'", (what), (buf),  \
              (text));                                                                         \
  } while (0)

/* ---- processes a test leaves behind ------------------------------------ */

/* State, parent and process group of pid from /proc/PID/stat; false if it
 * is gone. */
bool tu_proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp);

/* The processes (zombies too) whose parent is ppid, at most max of them:
 * read from each /proc/N/stat, as a per-thread children list misses those
 * reparented to another thread. */
int tu_children_of(pid_t ppid, pid_t *out, int max);

/* A suite's .init: make the test process a child subreaper, so that what
 * tend leaves behind (even a grandchild that escaped into a session of its
 * own) is reparented to it and found by the calls below. */
void tu_strays_init(void);

/* Kill (by pid) and reap every descendant still alive after grace_ms
 * (something tend signalled may still be on its way out); returns how
 * many there were, listed as " PID(COMM)" in names. */
int tu_strays_kill(int grace_ms, char *names, size_t cap);

/* The end of a test: nothing it started may still run after grace_ms (it
 * fails, after killing them). */
void tu_assert_no_strays(int grace_ms);

/* This test's temporary directory, made on first use. */
const char *tu_test_dir(void);

/* A suite's .fini, also after a failed assertion: kill what is left and
 * remove tu_test_dir(). It asserts nothing: Criterion does not count
 * assertions made in .fini. */
void tu_strays_fini(void);

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
/* Fork and exec argv (stdin /dev/null, stdout and stderr appended to out),
 * dying with the test process (PR_SET_PDEATHSIG), and wait until the Unix
 * socket sock answers (deadline). True when it does; false at the deadline
 * or when it exited first (then *pid is 0 and *status its wait status). */
bool tu_serve(char *const argv[], const char *out, const char *sock, int deadline_ms,
              pid_t *pid, int *status);
/* Whether TEND_VALGRIND=1: the daemons tu_daemon_try starts run under
 * valgrind --leak-check=full --error-exitcode=1 (report in d->log). */
bool tu_valgrind(void);
/* Start on an existing config file; false if it exited instead (then
 * *status is its wait status). */
bool tu_daemon_try(tu_daemon_t *d, const char *conf_path, int *status);
/* SIGTERM, wait for the exit (deadline), SIGKILL if needed; returns the
 * wait status. Frees d's strings and removes the directory. */
int tu_daemon_stop(tu_daemon_t *d);
/* tu_daemon_stop, asserting a clean shutdown (exit 0; under ASan also no
 * leak and no error), with the daemon's log in the message when not. */
void tu_daemon_stop_clean(tu_daemon_t *d);

/* Run `tend ARGS... -s SOCK` style control commands: argv without the
 * binary and without -s; NULL-terminated. */
void tu_ctl(tu_daemon_t *d, tu_result_t *r, const char *cmd, ...);

/* The `tend status --json NAME` entry of one process (a jansson json_t *,
 * the caller decrefs it), asserting the command answered. */
struct json_t;
struct json_t *tu_status_of(tu_daemon_t *d, const char *name);

/* Wait until pred(content of path, arg) is true, or the deadline (ms);
 * returns pred's last answer. The file's changes are inotify events on its
 * directory, which need not exist yet (nor the file: pred sees ""). */
bool tu_wait_file(const char *path, bool (*pred)(const char *s, const void *arg),
                  const void *arg, int deadline_ms);
/* tu_wait_file until the file contains needle. */
bool tu_wait_file_contains(const char *path, const char *needle, int deadline_ms);
/* tu_wait_file until needle occurs at least n times in the file. */
bool tu_wait_file_count(const char *path, const char *needle, int n, int deadline_ms);
/* How many times needle occurs in the file. */
int tu_file_count(const char *path, const char *needle);
/* The whole file, malloc'd and NUL-terminated, its length in *len (NULL
 * and 0 if missing). */
char *tu_read_file(const char *path, size_t *len);
/* Write a file. */
void tu_write_file(const char *path, const char *text);

#endif
