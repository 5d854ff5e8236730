/* SPDX-License-Identifier: MIT */
/*
 * tend run, end to end: every test drives the real tend binary through
 * tu_run (posix_spawn + poll, with a deadline) and checks what a user of
 * the command line sees: its outputs, its exit status, its timing.
 *
 * No process may outlive its test. The test process makes itself a child
 * subreaper, so anything tend leaves behind (even a grandchild that escaped
 * into a session of its own) is reparented to it; the teardown finds such
 * strays by their parent pid, fails the test if one is still alive, and
 * kills and reaps it by pid.
 */
#include "testutil.h"

/* 64 MiB each way: a deadlock never finishes, a slow (sanitized, loaded
 * 2-core) build merely takes long. */
#ifdef __SANITIZE_ADDRESS__
#define BIG_DEADLINE_MS 240000
#else
#define BIG_DEADLINE_MS 60000
#endif

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1024u * 1024u)

TestSuite(run, .init = tu_strays_init, .fini = tu_strays_fini);

/* A test of the run suite whose body ends with tu_assert_no_strays(). */
#define RUN_TEST(name)                                                                         \
  static void name##_body(void);                                                               \
  Test(run, name) {                                                                            \
    name##_body();                                                                             \
    tu_assert_no_strays(1000);                                                                 \
  }                                                                                            \
  static void name##_body(void)

/* ---- helpers ------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
  const char *p = data;
  while (len > 0) {
    ssize_t k = write(fd, p, len);
    cr_assert(k > 0, "write %s: %s", path, strerror(errno));
    p += k;
    len -= (size_t)k;
  }
  cr_assert(close(fd) == 0);
}

static bool all_bytes(const char *p, size_t n, char c) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != c)
      return false;
  return true;
}

static int count_lines(const char *s, size_t n) {
  int k = 0;
  for (size_t i = 0; i < n; i++)
    k += s[i] == '\n';
  return k;
}

/* Base64 decoding (RFC 4648, padded); -1 when malformed. */
static long b64_decode(const char *s, unsigned char *out, size_t cap) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s), k = 0;
  if (n % 4 != 0)
    return -1;
  for (size_t i = 0; i < n; i += 4) {
    unsigned v = 0;
    int pad = 0;
    for (int j = 0; j < 4; j++) {
      char c = s[i + j];
      const char *p;
      if (c == '=' && i + 4 == n && j >= 2) {
        pad++;
        v <<= 6;
      } else if (c != '\0' && c != '=' && pad == 0 && (p = strchr(tab, c)) != NULL) {
        v = v << 6 | (unsigned)(p - tab);
      } else {
        return -1;
      }
    }
    unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    for (int j = 0; j < 3 - pad; j++) {
      if (k >= cap)
        return -1;
      out[k++] = b[j];
    }
  }
  return (long)k;
}

/* tend's JSON result: one line on stdout, an object whose keys are all
 * known ones. */
static json_t *parse_result(const tu_result_t *r) {
  cr_assert(r->out_len > 0 && r->out[r->out_len - 1] == '\n',
            "JSON output must end with a newline: '%.300s'", r->out);
  cr_assert_eq(count_lines(r->out, r->out_len), 1, "JSON output must be one line: '%.300s'",
               r->out);
  json_error_t e;
  json_t *j = json_loads(r->out, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
  cr_assert(j != NULL, "invalid JSON (%s, at %d): '%.300s'", e.text, e.position, r->out);
  cr_assert(json_is_object(j), "not an object: '%.300s'", r->out);
  static const char *const known[] = {"command",   "pid",         "exit_code",     "signal",
                                      "stdout",    "stderr",      "stdout_base64", "stderr_base64",
                                      "duration_ms", "timed_out", "error"};
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    bool ok = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && !ok; i++)
      ok = strcmp(key, known[i]) == 0;
    cr_assert(ok, "unexpected key '%s' in '%.300s'", key, r->out);
  }
  return j;
}

static json_t *get(json_t *j, const char *key) {
  json_t *v = json_object_get(j, key);
  cr_assert(v != NULL, "no '%s' in the JSON result", key);
  return v;
}

static void assert_json_str(json_t *j, const char *key, const char *want, size_t want_len) {
  json_t *v = get(j, key);
  cr_assert(json_is_string(v), "'%s' is not a string", key);
  cr_assert_eq(json_string_length(v), want_len, "'%s' has %zu bytes, expected %zu ('%.200s')",
               key, json_string_length(v), want_len, json_string_value(v));
  cr_assert(memcmp(json_string_value(v), want, want_len) == 0, "'%s' is '%.200s'", key,
            json_string_value(v));
}

static void assert_json_int(json_t *j, const char *key, json_int_t want) {
  json_t *v = get(j, key);
  cr_assert(json_is_integer(v), "'%s' is not an integer", key);
  cr_assert_eq(json_integer_value(v), want, "'%s' is %lld, expected %lld", key,
               (long long)json_integer_value(v), (long long)want);
}

static void assert_json_null(json_t *j, const char *key) {
  cr_assert(json_is_null(get(j, key)), "'%s' should be null", key);
}

/* The fields every result of a started command has. */
static void assert_json_common(json_t *j, bool timed_out, json_int_t *duration_ms) {
  json_t *pid = get(j, "pid");
  cr_assert(json_is_integer(pid) && json_integer_value(pid) > 0, "pid must be an int > 0");
  json_t *d = get(j, "duration_ms");
  cr_assert(json_is_integer(d) && json_integer_value(d) >= 0, "duration_ms must be an int >= 0");
  if (duration_ms != NULL)
    *duration_ms = json_integer_value(d);
  json_t *t = get(j, "timed_out");
  cr_assert(json_is_boolean(t), "timed_out must be a boolean");
  cr_assert_eq(json_is_true(t), timed_out, "timed_out is %s", json_is_true(t) ? "true" : "false");
  cr_assert(json_is_array(get(j, "command")), "command must be an array");
  json_t *code = get(j, "exit_code"), *sig = get(j, "signal");
  cr_assert(json_is_integer(code) == json_is_null(sig),
            "exactly one of exit_code and signal must be set");
  cr_assert(json_is_integer(code) || json_is_null(code), "exit_code must be an int or null");
  cr_assert(json_is_string(sig) || json_is_null(sig), "signal must be a string or null");
  cr_assert(json_is_string(get(j, "stdout")) && json_is_string(get(j, "stderr")),
            "stdout and stderr must be strings");
}

/* ---- input and output --------------------------------------------------- */

RUN_TEST(input_output_round_trip) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--input", "hello\nworld\n", "--", "sort", "-r");
  assert_exit(&r, 0);
  assert_out(&r, "world\nhello\n");
  assert_err(&r, "");
  tu_result_free(&r);
}

RUN_TEST(show_exit_goes_to_stderr_only) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--show-exit", "--input", "hello\nworld\n", "--", "sort", "-r");
  assert_exit(&r, 0);
  assert_out(&r, "world\nhello\n");
  assert_err(&r, "Exit code: 0\n");
  tu_result_free(&r);

  TEND(&r, 10000, "run", "--show-exit", "--", "sh", "-c", "exit 3");
  assert_exit(&r, 3);
  assert_out(&r, "");
  assert_err(&r, "Exit code: 3\n");
  tu_result_free(&r);
}

/* The child fills both output pipes before it reads a byte of its input:
 * writing the input first, or reading one output after the other, would
 * deadlock. */
RUN_TEST(large_output_both_ways_before_reading_input) {
  const size_t n = 64 * MiB;
  const char *dir = tu_test_dir();
  char *in = tu_fmt("%s/in", dir);
  int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert(fd >= 0);
  char *chunk = malloc(MiB);
  memset(chunk, 'x', MiB);
  for (size_t i = 0; i < n / MiB; i++)
    cr_assert(write(fd, chunk, MiB) == (ssize_t)MiB);
  close(fd);
  free(chunk);

  tu_result_t r;
  TEND(&r, BIG_DEADLINE_MS, "run", "--input-file", in, "--", "sh", "-c",
       "head -c 67108864 /dev/zero; head -c 67108864 /dev/zero >&2; wc -c");
  assert_exit(&r, 0);
  cr_assert_eq(r.err_len, n, "stderr has %zu bytes, expected %zu", r.err_len, n);
  cr_assert(all_bytes(r.err, r.err_len, '\0'), "stderr is not the child's zero bytes");
  cr_assert(r.out_len > n, "stdout has %zu bytes, expected more than %zu", r.out_len, n);
  cr_assert(all_bytes(r.out, n, '\0'), "stdout does not start with the child's zero bytes");
  char *tail = r.out + n, *end;
  long counted = strtol(tail, &end, 10);
  cr_assert(end != tail && strcmp(end, "\n") == 0 && (size_t)(end + 1 - r.out) == r.out_len,
            "after the zeros stdout should be wc's count, got '%.100s'", tail);
  cr_assert_eq(counted, 67108864L, "wc counted %ld input bytes, expected 67108864", counted);
  tu_result_free(&r);
  free(in);
}

RUN_TEST(binary_input_file_round_trip) {
  const char *dir = tu_test_dir();
  char *in = tu_fmt("%s/bytes", dir);
  unsigned char bytes[256];
  for (int i = 0; i < 256; i++)
    bytes[i] = (unsigned char)i;
  write_file(in, bytes, sizeof(bytes), 0644);

  tu_result_t r;
  TEND(&r, 10000, "run", "--input-file", in, "--", "cat");
  assert_exit(&r, 0);
  cr_assert_eq(r.out_len, sizeof(bytes), "stdout has %zu bytes, expected 256", r.out_len);
  cr_assert(memcmp(r.out, bytes, sizeof(bytes)) == 0, "the bytes changed on the way");
  assert_err(&r, "");
  tu_result_free(&r);
  free(in);
}

RUN_TEST(missing_input_file) {
  const char *dir = tu_test_dir();
  char *in = tu_fmt("%s/absent", dir);
  tu_result_t r;
  TEND(&r, 10000, "run", "--input-file", in, "--", "sh", "-c", "echo ran");
  assert_exit(&r, 125);
  assert_out(&r, "");
  cr_assert(strstr(r.err, in) != NULL && strstr(r.err, "No such file or directory") != NULL,
            "stderr should name the file and the error: '%s'", r.err);
  tu_result_free(&r);
  free(in);
}

RUN_TEST(stdin_passthrough) {
  static const char small[] = "one\0two\nthree";
  tu_result_t r;
  TEND_BYTES(&r, small, sizeof(small) - 1, 10000, "run", "--stdin", "--", "cat");
  assert_exit(&r, 0);
  cr_assert_eq(r.out_len, sizeof(small) - 1);
  cr_assert(memcmp(r.out, small, sizeof(small) - 1) == 0);
  assert_err(&r, "");
  tu_result_free(&r);
}

RUN_TEST(stdin_passthrough_large) {
  const size_t n = 8 * MiB;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (char)(i * 2654435761u >> 13); /* every offset matters */
  tu_result_t r;
  TEND_BYTES(&r, big, n, 30000, "run", "--stdin", "--", "cat");
  assert_exit(&r, 0);
  cr_assert_eq(r.out_len, n, "stdout has %zu bytes, expected %zu", r.out_len, n);
  cr_assert(memcmp(r.out, big, n) == 0, "the input came back changed");
  assert_err(&r, "");
  tu_result_free(&r);
  free(big);
}

RUN_TEST(stdin_is_dev_null_by_default) {
  tu_result_t r;
  TEND_IN(&r, "not for the child\n", 10000, "run", "--", "cat");
  assert_exit(&r, 0);
  assert_out(&r, "");
  assert_err(&r, "");
  tu_result_free(&r);
}

RUN_TEST(empty_input) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--input", "", "--", "cat");
  assert_exit(&r, 0);
  assert_out(&r, "");
  assert_err(&r, "");
  tu_result_free(&r);

  TEND(&r, 10000, "run", "--input", "", "--", "wc", "-c");
  assert_exit(&r, 0);
  assert_out(&r, "0\n");
  tu_result_free(&r);
}

/* ---- exit statuses ------------------------------------------------------ */

RUN_TEST(exit_codes_pass_through) {
  static const int codes[] = {0, 1, 2, 42, 255};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    char script[32];
    snprintf(script, sizeof(script), "exit %d", codes[i]);
    tu_result_t r;
    TEND(&r, 10000, "run", "--", "sh", "-c", script);
    assert_exit(&r, codes[i]);
    assert_out(&r, "");
    assert_err(&r, "");
    tu_result_free(&r);
  }
}

RUN_TEST(signal_death_is_128_plus_n) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--", "sh", "-c", "kill -TERM $$");
  assert_exit(&r, 143);
  assert_err(&r, "");
  tu_result_free(&r);

  TEND(&r, 10000, "run", "--", "sh", "-c", "kill -KILL $$");
  assert_exit(&r, 137);
  tu_result_free(&r);

  TEND(&r, 10000, "run", "--show-exit", "--", "sh", "-c", "kill -TERM $$");
  assert_exit(&r, 143);
  assert_err(&r, "Exit code: 143 (killed by SIGTERM)\n");
  tu_result_free(&r);
}

/* ---- timeouts ----------------------------------------------------------- */

RUN_TEST(timeout_terminates) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--timeout", "0.3", "--", "sleep", "30");
  assert_exit(&r, 124);
  cr_assert(r.seconds >= 0.25 && r.seconds < 5, "took %.2fs for a 0.3s timeout", r.seconds);
  assert_out(&r, "");
  cr_assert_eq(count_lines(r.err, r.err_len), 1, "stderr should be one line: '%s'", r.err);
  cr_assert(r.err[r.err_len - 1] == '\n');
  cr_assert(strncmp(r.err, "tend: ", 6) == 0 && strstr(r.err, "sleep 30") != NULL &&
                strstr(r.err, "timed out") != NULL && strstr(r.err, "0.3s") != NULL,
            "stderr should name the command and the timeout: '%s'", r.err);
  tu_result_free(&r);
}

RUN_TEST(timeout_units) {
  tu_result_t r;
  /* 0.005m = 300 ms */
  TEND(&r, 10000, "run", "--timeout", "0.005m", "--", "sleep", "30");
  assert_exit(&r, 124);
  cr_assert(r.seconds >= 0.25 && r.seconds < 5, "took %.2fs for a 0.3s timeout", r.seconds);
  tu_result_free(&r);

  /* A timeout that does not expire changes nothing. */
  TEND(&r, 10000, "run", "--timeout", "30s", "--", "sh", "-c", "echo fast; exit 7");
  assert_exit(&r, 7);
  assert_out(&r, "fast\n");
  assert_err(&r, "");
  cr_assert(r.seconds < 5);
  tu_result_free(&r);
}

/* A command that ignores SIGTERM gets SIGKILL once --kill-after expires.
 * SIG_IGN survives exec, so the sleep really ignores it. */
RUN_TEST(timeout_kill_after_for_term_ignoring_child) {
  const char *dir = tu_test_dir();
  char *pidfile = tu_fmt("%s/pid", dir);
  char *script = tu_fmt("trap '' TERM; echo $$ > %s; exec sleep 30", pidfile);
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--timeout", "0.3", "--kill-after", "0.4", "--", "sh", "-c",
       script);
  long pid = tu_wait_number_file(pidfile, 2000);
  cr_assert(pid > 0, "the child did not write its pid");
  bool gone = tu_wait_gone((pid_t)pid, 2000);
  if (!gone)
    kill((pid_t)pid, SIGKILL);
  assert_exit(&r, 124);
  cr_assert(gone, "the TERM-ignoring child is still alive after tend returned");
  cr_assert(r.seconds >= 0.65 && r.seconds < 5,
            "took %.2fs; expected about 0.3s timeout + 0.4s grace", r.seconds);
  json_t *j = parse_result(&r);
  json_int_t ms;
  assert_json_common(j, true, &ms);
  assert_json_int(j, "pid", pid);
  assert_json_null(j, "exit_code");
  assert_json_str(j, "signal", "SIGKILL", 7);
  cr_assert(ms >= 650, "duration_ms %lld, expected about 700", (long long)ms);
  json_decref(j);
  cr_assert_eq(count_lines(r.err, r.err_len), 1, "stderr: '%s'", r.err);
  tu_result_free(&r);
  free(script);
  free(pidfile);
}

/* A grandchild that leaves the process group (setsid) and keeps the output
 * pipes open: tend can neither kill it nor wait for EOF, and must return
 * once the timeout has ended the child. */
static void grandchild_escape(bool json) {
  const char *dir = tu_test_dir();
  char *gcfile = tu_fmt("%s/gc", dir), *fgfile = tu_fmt("%s/fg", dir);
  char *script = tu_fmt("echo before; setsid sleep 300 & echo $! > %s; "
                        "sleep 300 & echo $! > %s; wait",
                        gcfile, fgfile);
  tu_result_t r;
  if (json)
    TEND(&r, 10000, "run", "--json", "--timeout", "0.5", "--kill-after", "0.5", "--", "sh", "-c",
         script);
  else
    TEND(&r, 10000, "run", "--timeout", "0.5", "--kill-after", "0.5", "--", "sh", "-c", script);

  /* Clean up first, by pid, then judge. */
  long gc = tu_wait_number_file(gcfile, 2000), fg = tu_wait_number_file(fgfile, 2000);
  bool gc_alive = gc > 0 && tu_alive((pid_t)gc);
  if (gc > 0)
    kill((pid_t)gc, SIGKILL);
  bool fg_gone = fg > 0 && tu_wait_gone((pid_t)fg, 2000);
  if (fg > 0 && !fg_gone)
    kill((pid_t)fg, SIGKILL);
  bool gc_gone = gc > 0 && tu_wait_gone((pid_t)gc, 2000);

  cr_assert(gc > 0 && fg > 0, "the script did not record its children");
  assert_exit(&r, 124);
  cr_assert(r.seconds < 5, "tend took %.2fs to return after a 0.5s timeout", r.seconds);
  cr_assert(gc_alive, "the escaped grandchild should still have been alive (it left the group)");
  cr_assert(gc_gone, "the grandchild did not die of SIGKILL");
  cr_assert(fg_gone, "the child's sleep, in its process group, survived the timeout");
  if (json) {
    json_t *j = parse_result(&r);
    assert_json_common(j, true, NULL);
    assert_json_str(j, "stdout", "before\n", 7);
    assert_json_str(j, "stderr", "", 0);
    assert_json_null(j, "exit_code");
    assert_json_str(j, "signal", "SIGTERM", 7);
    json_decref(j);
  } else {
    assert_out(&r, "before\n");
  }
  cr_assert_eq(count_lines(r.err, r.err_len), 1, "stderr: '%s'", r.err);
  cr_assert(strstr(r.err, "timed out after 0.5s") != NULL, "stderr: '%s'", r.err);
  tu_result_free(&r);
  free(script);
  free(gcfile);
  free(fgfile);
}

RUN_TEST(timeout_with_escaped_grandchild_holding_pipes) { grandchild_escape(false); }

RUN_TEST(timeout_with_escaped_grandchild_holding_pipes_json) { grandchild_escape(true); }

/* The child exits at once, but its escaped grandchild holds the pipes: the
 * outputs never reach EOF, and the timeout still ends the wait. */
RUN_TEST(child_exited_grandchild_holds_pipes_until_timeout) {
  const char *dir = tu_test_dir();
  char *gcfile = tu_fmt("%s/gc", dir);
  char *script = tu_fmt("setsid sleep 300 & echo $! > %s; echo done", gcfile);
  tu_result_t r;
  TEND(&r, 10000, "run", "--timeout", "0.5", "--kill-after", "0.5", "--", "sh", "-c", script);
  long gc = tu_wait_number_file(gcfile, 2000);
  bool gc_alive = gc > 0 && tu_alive((pid_t)gc);
  if (gc > 0)
    kill((pid_t)gc, SIGKILL);
  bool gc_gone = gc > 0 && tu_wait_gone((pid_t)gc, 2000);
  cr_assert(gc > 0, "the script did not record the grandchild");
  assert_finished(&r);
  cr_assert(r.seconds < 5, "tend took %.2fs to return after a 0.5s timeout", r.seconds);
  /* Like Python's communicate(timeout=): the run did not complete in time,
   * even though the child itself exited 0. */
  assert_exit(&r, 124);
  assert_out(&r, "done\n");
  cr_assert(gc_alive && gc_gone);
  tu_result_free(&r);
  free(script);
  free(gcfile);
}

/* ---- cannot run --------------------------------------------------------- */

RUN_TEST(command_not_found) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--", "no-such-cmd-xyz");
  assert_exit(&r, 127);
  assert_out(&r, "");
  assert_err(&r, "tend: cannot run 'no-such-cmd-xyz': No such file or directory\n");
  tu_result_free(&r);

  TEND(&r, 10000, "run", "--json", "--", "no-such-cmd-xyz");
  assert_exit(&r, 127);
  json_t *j = parse_result(&r);
  assert_json_null(j, "pid");
  json_t *e = get(j, "error");
  cr_assert(json_is_string(e) && strstr(json_string_value(e), "no-such-cmd-xyz") != NULL);
  json_decref(j);
  tu_result_free(&r);
}

RUN_TEST(command_not_executable) {
  const char *dir = tu_test_dir();
  char *path = tu_fmt("%s/script", dir);
  write_file(path, "#!/bin/sh\necho ran\n", 19, 0644);
  char *want = tu_fmt("tend: cannot run '%s': Permission denied\n", path);
  tu_result_t r;
  TEND(&r, 10000, "run", "--", path);
  assert_exit(&r, 126);
  assert_out(&r, "");
  assert_err(&r, want);
  tu_result_free(&r);

  /* The same file made executable runs: the 126 was about the mode. */
  cr_assert(chmod(path, 0755) == 0);
  TEND(&r, 10000, "run", "--", path);
  assert_exit(&r, 0);
  assert_out(&r, "ran\n");
  tu_result_free(&r);
  free(want);
  free(path);
}

RUN_TEST(bad_cwd) {
  const char *dir = tu_test_dir();
  char *missing = tu_fmt("%s/missing", dir);
  tu_result_t r;
  TEND(&r, 10000, "run", "--cwd", missing, "--", "sh", "-c", "echo ran");
  assert_exit(&r, 125);
  assert_out(&r, "");
  cr_assert_eq(count_lines(r.err, r.err_len), 1, "stderr: '%s'", r.err);
  cr_assert(strstr(r.err, missing) != NULL && strstr(r.err, "No such file or directory") != NULL,
            "stderr should name the directory and the error: '%s'", r.err);
  tu_result_free(&r);

  char *file = tu_fmt("%s/file", dir);
  write_file(file, "", 0, 0644);
  TEND(&r, 10000, "run", "--cwd", file, "--", "sh", "-c", "echo ran");
  assert_exit(&r, 125);
  assert_out(&r, "");
  cr_assert(strstr(r.err, file) != NULL && strstr(r.err, "Not a directory") != NULL,
            "stderr should name the directory and the error: '%s'", r.err);
  tu_result_free(&r);
  free(file);
  free(missing);
}

/* ---- JSON --------------------------------------------------------------- */

RUN_TEST(json_fields) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--input", "in\n", "--", "sh", "-c",
       "read x; echo \"out $x\"; echo err >&2; exit 3");
  assert_exit(&r, 3);
  assert_err(&r, "");
  json_t *j = parse_result(&r);
  assert_json_common(j, false, NULL);
  assert_json_int(j, "exit_code", 3);
  assert_json_null(j, "signal");
  assert_json_str(j, "stdout", "out in\n", 7);
  assert_json_str(j, "stderr", "err\n", 4);
  cr_assert(json_object_get(j, "stdout_base64") == NULL);
  cr_assert(json_object_get(j, "stderr_base64") == NULL);
  cr_assert(json_object_get(j, "error") == NULL);
  json_t *cmd = get(j, "command");
  cr_assert_eq(json_array_size(cmd), 3);
  cr_assert_str_eq(json_string_value(json_array_get(cmd, 0)), "sh");
  cr_assert_str_eq(json_string_value(json_array_get(cmd, 1)), "-c");
  json_decref(j);
  tu_result_free(&r);
}

RUN_TEST(json_pid_is_the_child) {
  const char *dir = tu_test_dir();
  char *pidfile = tu_fmt("%s/pid", dir);
  char *script = tu_fmt("echo $$ > %s", pidfile);
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--", "sh", "-c", script);
  assert_exit(&r, 0);
  long pid = tu_wait_number_file(pidfile, 2000);
  json_t *j = parse_result(&r);
  assert_json_common(j, false, NULL);
  assert_json_int(j, "pid", pid);
  assert_json_int(j, "exit_code", 0);
  json_decref(j);
  tu_result_free(&r);
  free(script);
  free(pidfile);
}

RUN_TEST(json_signalled_child) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--", "sh", "-c", "echo hi; kill -TERM $$");
  assert_exit(&r, 143);
  json_t *j = parse_result(&r);
  assert_json_common(j, false, NULL);
  assert_json_null(j, "exit_code");
  assert_json_str(j, "signal", "SIGTERM", 7);
  assert_json_str(j, "stdout", "hi\n", 3);
  json_decref(j);
  tu_result_free(&r);
}

RUN_TEST(json_non_utf8_output) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--", "sh", "-c", "printf '\\377abc'; printf 'x\\300y' >&2");
  assert_exit(&r, 0);
  json_t *j = parse_result(&r);
  assert_json_common(j, false, NULL);
  assert_json_str(j, "stdout", "\xef\xbf\xbd" "abc", 6);
  assert_json_str(j, "stderr", "x\xef\xbf\xbdy", 5);
  unsigned char raw[64];
  json_t *b = get(j, "stdout_base64");
  cr_assert(json_is_string(b));
  long n = b64_decode(json_string_value(b), raw, sizeof(raw));
  cr_assert(n == 4 && memcmp(raw, "\377abc", 4) == 0, "stdout_base64 '%s' is not the bytes",
            json_string_value(b));
  b = get(j, "stderr_base64");
  cr_assert(json_is_string(b));
  n = b64_decode(json_string_value(b), raw, sizeof(raw));
  cr_assert(n == 3 && memcmp(raw, "x\300y", 3) == 0, "stderr_base64 '%s' is not the bytes",
            json_string_value(b));
  json_decref(j);
  tu_result_free(&r);
}

/* All 256 byte values: NUL survives as \u0000, each byte >= 0x80 becomes
 * one U+FFFD, and the base64 holds the exact bytes. */
RUN_TEST(json_all_bytes) {
  const char *dir = tu_test_dir();
  char *in = tu_fmt("%s/bytes", dir);
  unsigned char bytes[256];
  for (int i = 0; i < 256; i++)
    bytes[i] = (unsigned char)i;
  write_file(in, bytes, sizeof(bytes), 0644);
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--input-file", in, "--", "cat");
  assert_exit(&r, 0);
  json_t *j = parse_result(&r);
  assert_json_common(j, false, NULL);
  char text[128 + 128 * 3];
  memcpy(text, bytes, 128);
  for (int i = 0; i < 128; i++)
    memcpy(text + 128 + 3 * i, "\xef\xbf\xbd", 3);
  assert_json_str(j, "stdout", text, sizeof(text));
  unsigned char raw[300];
  json_t *b = get(j, "stdout_base64");
  cr_assert(json_is_string(b));
  long n = b64_decode(json_string_value(b), raw, sizeof(raw));
  cr_assert(n == 256 && memcmp(raw, bytes, 256) == 0, "stdout_base64 is not the bytes");
  cr_assert(json_object_get(j, "stderr_base64") == NULL);
  json_decref(j);
  tu_result_free(&r);
  free(in);
}

RUN_TEST(json_valid_utf8_round_trips) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--", "printf", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
  assert_exit(&r, 0);
  json_t *j = parse_result(&r);
  assert_json_common(j, false, NULL);
  static const char want[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
  assert_json_str(j, "stdout", want, sizeof(want) - 1);
  cr_assert(json_object_get(j, "stdout_base64") == NULL, "valid UTF-8 needs no base64");
  cr_assert(json_object_get(j, "stderr_base64") == NULL);
  json_decref(j);
  tu_result_free(&r);
}

RUN_TEST(json_timeout) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--json", "--timeout", "0.3", "--", "sh", "-c", "echo started; exec sleep 30");
  assert_exit(&r, 124);
  cr_assert(r.seconds < 5, "took %.2fs", r.seconds);
  json_t *j = parse_result(&r);
  json_int_t ms;
  assert_json_common(j, true, &ms);
  assert_json_null(j, "exit_code");
  assert_json_str(j, "signal", "SIGTERM", 7);
  assert_json_str(j, "stdout", "started\n", 8);
  cr_assert(ms >= 250 && ms < 5000, "duration_ms %lld for a 0.3s timeout", (long long)ms);
  json_decref(j);
  tu_result_free(&r);
}

/* ---- usage -------------------------------------------------------------- */

/* tend run with ARGS must refuse (125) without running the command, and
 * say something containing each of the given words. */
static void assert_usage_error(const char *const *args, const char *const *words) {
  const char *argv[32];
  int n = 0;
  argv[n++] = "run";
  for (int i = 0; args[i] != NULL; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  tu_result_t r;
  tu_tend_v(&r, NULL, 0, 10000, argv);
  assert_exit(&r, 125);
  assert_out(&r, "");
  cr_assert(r.err_len > 0 && strncmp(r.err, "tend run: ", 10) == 0,
            "stderr should be a 'tend run:' message: '%s'", r.err);
  cr_assert_eq(count_lines(r.err, r.err_len), 1, "stderr: '%s'", r.err);
  for (int i = 0; words[i] != NULL; i++)
    cr_assert(strstr(r.err, words[i]) != NULL, "stderr should mention \"%s\": '%s'", words[i],
              r.err);
  tu_result_free(&r);
}

#define USAGE_ERROR(words, ...)                                                                \
  assert_usage_error((const char *const[]){__VA_ARGS__, NULL}, (const char *const[]) words)
#define W(...) {__VA_ARGS__, NULL}

RUN_TEST(usage_no_command) {
  tu_result_t r;
  TEND(&r, 10000, "run");
  assert_exit(&r, 125);
  cr_assert(strstr(r.err, "no command") != NULL, "stderr: '%s'", r.err);
  tu_result_free(&r);
  USAGE_ERROR(W("no command"), "--");
  USAGE_ERROR(W("no command"), "--input", "x", "--");
}

RUN_TEST(usage_two_inputs) {
  USAGE_ERROR(W("--input", "--stdin"), "--input", "a", "--stdin", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--input", "--input-file"), "--input", "a", "--input-file", "/dev/null", "--", "sh",
              "-c", "echo ran");
  USAGE_ERROR(W("--input"), "--input", "a", "--input", "b", "--", "sh", "-c", "echo ran");
}

RUN_TEST(usage_bad_timeout) {
  USAGE_ERROR(W("--timeout", "'abc'"), "--timeout", "abc", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--timeout", "'-1'"), "--timeout", "-1", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--timeout", "'0'"), "--timeout", "0", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--timeout", "'5x'"), "--timeout", "5x", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--timeout", "'nan'"), "--timeout", "nan", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--kill-after", "'soon'"), "--kill-after", "soon", "--", "sh", "-c", "echo ran");
}

RUN_TEST(usage_bad_env_and_unknown_option) {
  USAGE_ERROR(W("--env", "'NOEQUALS'"), "--env", "NOEQUALS", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--env", "'=x'"), "--env", "=x", "--", "sh", "-c", "echo ran");
  USAGE_ERROR(W("--bogus"), "--bogus", "--", "sh", "-c", "echo ran");
}

/* An option given without its value must be named as the user wrote it. */
RUN_TEST(usage_option_missing_value_names_it) {
  USAGE_ERROR(W("--cwd"), "--cwd");
  USAGE_ERROR(W("--timeout"), "--timeout");
}

RUN_TEST(command_options_stay_the_commands) {
  tu_result_t r;
  TEND(&r, 10000, "run", "--", "sh", "-c", "echo \"$1\"", "sh", "--timeout");
  assert_exit(&r, 0);
  assert_out(&r, "--timeout\n");
  tu_result_free(&r);
}

RUN_TEST(version) {
  tu_result_t r;
  TEND(&r, 10000, "--version");
  assert_exit(&r, 0);
  assert_out(&r, "tend 0.1.0\n");
  assert_err(&r, "");
  tu_result_free(&r);
}

RUN_TEST(help) {
  tu_result_t r;
  TEND(&r, 10000, "help", "run");
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "--timeout") != NULL, "'tend help run' should list --timeout");
  tu_result_free(&r);

  TEND(&r, 10000, "run", "--help");
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "--timeout") != NULL, "'tend run --help' should list --timeout");
  tu_result_free(&r);

  TEND(&r, 10000, "--help");
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "run") != NULL, "'tend --help' should list the run subcommand");
  tu_result_free(&r);
}

/* The brief asks for --timeout in the top-level help as well. */
RUN_TEST(help_top_level_lists_run) {
  tu_result_t r;
  TEND(&r, 10000, "--help");
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "  run ") != NULL, "'tend --help' does not list run:\n%s", r.out);
  tu_result_free(&r);
}

RUN_TEST(unknown_subcommand) {
  tu_result_t r;
  TEND(&r, 10000, "frobnicate");
  assert_exit(&r, 2);
  assert_out(&r, "");
  cr_assert(strstr(r.err, "frobnicate") != NULL, "stderr: '%s'", r.err);
  tu_result_free(&r);

  TEND(&r, 10000, "help", "frobnicate");
  assert_exit(&r, 2);
  cr_assert(strstr(r.err, "frobnicate") != NULL, "stderr: '%s'", r.err);
  tu_result_free(&r);

  const char *const none[] = {NULL};
  tu_tend_v(&r, NULL, 0, 10000, none);
  assert_exit(&r, 2);
  cr_assert(strstr(r.err, "usage") != NULL, "stderr: '%s'", r.err);
  tu_result_free(&r);
}

/* ---- environment and directory ----------------------------------------- */

RUN_TEST(env_sets_and_inherits) {
  cr_assert(setenv("TEND_T_FOOBAR", "kept", 1) == 0);
  cr_assert(setenv("TEND_T_OLD", "old", 1) == 0);
  tu_result_t r;
  TEND(&r, 10000, "run", "--env", "TEND_T_FOO=bar", "--env", "TEND_T_OLD=new", "--env",
       "TEND_T_EQ=a=b", "--", "sh", "-c",
       "echo \"$TEND_T_FOO|$TEND_T_FOOBAR|$TEND_T_OLD|$TEND_T_EQ\"; echo \"$PATH\"");
  assert_exit(&r, 0);
  char *want = tu_fmt("bar|kept|new|a=b\n%s\n", getenv("PATH"));
  assert_out(&r, want);
  free(want);
  tu_result_free(&r);

  /* The last --env for a name wins, and the variable appears once. */
  TEND(&r, 10000, "run", "--env", "TEND_T_FOO=1", "--env", "TEND_T_FOO=2", "--", "sh", "-c",
       "echo \"$TEND_T_FOO\"; env | grep -c '^TEND_T_FOO='");
  assert_exit(&r, 0);
  assert_out(&r, "2\n1\n");
  tu_result_free(&r);

  /* PATH still finds commands, and an empty value is a value. */
  TEND(&r, 10000, "run", "--env", "TEND_T_OLD=", "--", "sh", "-c",
       "echo \"[${TEND_T_OLD-unset}]\"");
  assert_exit(&r, 0);
  assert_out(&r, "[]\n");
  tu_result_free(&r);
}

RUN_TEST(cwd) {
  const char *dir = tu_test_dir();
  char real[PATH_MAX];
  cr_assert(realpath(dir, real) != NULL);
  char *want = tu_fmt("%s\n", real);
  tu_result_t r;
  TEND(&r, 10000, "run", "--cwd", dir, "--", "pwd");
  assert_exit(&r, 0);
  assert_out(&r, want);
  tu_result_free(&r);

  /* Relative paths in the command's arguments are relative to --cwd. */
  char *data = tu_fmt("%s/data", dir);
  write_file(data, "in the dir\n", 11, 0644);
  TEND(&r, 10000, "run", "--cwd", dir, "--", "cat", "data");
  assert_exit(&r, 0);
  assert_out(&r, "in the dir\n");
  tu_result_free(&r);
  free(data);
  free(want);
}
