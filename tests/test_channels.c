/* SPDX-License-Identifier: MIT */
/*
 * Queue channels end to end: FIFO order, full and empty behaviour of
 * `tend put` and `tend get`, programs wired with stdout_channel and
 * stdin_channel, and backpressure with a million messages: none lost, none
 * duplicated, in order, the daemon's memory bounded.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tu_daemon_t d;

/* A test that fails an assertion never reaches its own tu_daemon_stop. */
static void stop_left_daemon(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
}

TestSuite(channels, .timeout = 120, .fini = stop_left_daemon);

Test(channels, fifo_through_put_and_get) {
  tu_daemon_start(&d, "[channel:q]\ncapacity = 1000\n");
  char input[8192] = "";
  size_t len = 0;
  for (int i = 0; i < 500; i++)
    len += (size_t)snprintf(input + len, sizeof(input) - len, "m%d\n", i);
  char *argv[] = {(char *)tu_tend(), "put", "-s", d.sock, "q", "-", NULL};
  tu_result_t r;
  tu_run(argv, input, len, 10000, &r);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "put", "q", "with spaces and = signs", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "get", "-n", "501", "q", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out + len, "with spaces and = signs\n");
  r.out[len] = '\0';
  cr_assert_str_eq(r.out, input, "order or content changed");
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(channels, full_and_empty) {
  tu_daemon_start(&d, "[channel:q]\ncapacity = 2\n");
  tu_result_t r;
  tu_ctl(&d, &r, "put", "q", "a", NULL);
  tu_result_free(&r);
  tu_ctl(&d, &r, "put", "q", "b", NULL);
  tu_result_free(&r);
  tu_ctl(&d, &r, "put", "--nowait", "q", "c", NULL);
  assert_exit(&r, 75);
  cr_assert(strstr(r.err, "channel is full: q"), "%s", r.err);
  tu_result_free(&r);

  /* A put on a full channel waits for room: it is still there after a
   * moment, and done as soon as a message leaves. */
  pid_t put = fork();
  cr_assert(put >= 0);
  if (put == 0) {
    execl(tu_tend(), "tend", "put", "-s", d.sock, "q", "c", (char *)NULL);
    _exit(127);
  }
  cr_assert(!tu_wait_gone(put, 300), "a put on a full channel returned at once");
  tu_ctl(&d, &r, "get", "q", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "a\n");
  tu_result_free(&r);
  cr_assert(tu_wait_gone(put, 5000), "the waiting put never finished");
  int status;
  waitpid(put, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  tu_ctl(&d, &r, "get", "-n", "2", "q", NULL);
  cr_assert_str_eq(r.out, "b\nc\n");
  tu_result_free(&r);

  /* empty: get waits, then times out with 124 */
  int64_t t0 = tu_now_ms();
  tu_ctl(&d, &r, "get", "--timeout", "0.3", "q", NULL);
  assert_exit(&r, 124);
  cr_assert(tu_now_ms() - t0 >= 290);
  cr_assert(strstr(r.err, "timed out waiting on channel q"), "%s", r.err);
  tu_result_free(&r);
  tu_ctl(&d, &r, "get", "nosuch", NULL);
  assert_exit(&r, 1);
  cr_assert(strstr(r.err, "no such channel: nosuch"), "%s", r.err);
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(channels, a_million_messages_with_backpressure) {
  /* seq writes as fast as it can, seqcheck checks every number in order;
   * the channel holds 64 messages: the producer must be held back. */
  char *conf;
  cr_assert(asprintf(&conf,
                     "[channel:nums]\ncapacity = 64\n"
                     "[program:producer]\ncommand = seq 0 999999\nstdout_channel = nums\n"
                     "startsecs = 0\nautorestart = false\n"
                     "[program:consumer]\ncommand = %s 1000000\n"
                     "stdin_channel = nums\nstartsecs = 0\nautorestart = false\n",
                     getenv("TEND_SEQCHECK")) > 0);
  tu_daemon_start(&d, conf);
  free(conf);
  char *out;
  cr_assert(asprintf(&out, "%s/log/consumer.out", d.dir) > 0);
  cr_assert(tu_wait_file_contains(out, "\n", 90000), "the consumer never finished");
  char *s = tu_read_file(out, NULL);
  cr_assert_str_eq(s, "count 1000000\n", "messages lost, duplicated or reordered: %s", s);
  free(s);
  /* Bounded memory: the daemon's peak RSS stays far below 1 000 000
   * messages' worth (about 40 MB with their allocations). */
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", d.pid);
  char *st = tu_read_file(path, NULL);
  long hwm = 0;
  char *h = strstr(st, "VmHWM:");
  cr_assert(h != NULL && sscanf(h, "VmHWM: %ld", &hwm) == 1);
#ifndef __SANITIZE_ADDRESS__
  cr_assert_lt(hwm, 32 * 1024, "daemon peak RSS %ld KiB", hwm);
#else
  (void)hwm; /* ASan's shadow and quarantine dwarf it: the normal build checks */
#endif
  free(st);
  free(out);
  tu_daemon_stop(&d);
}

Test(channels, unknown_channel_is_a_config_error) {
  char *dir = tu_tmpdir();
  char path[512];
  snprintf(path, sizeof(path), "%s/c.conf", dir);
  tu_write_file(path, "[program:p]\ncommand = true\nstdout_channel = nope\n");
  char *argv[] = {(char *)tu_tend(), "check", "-c", path, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 10000, &r);
  assert_exit(&r, 2);
  cr_assert(strstr(r.err, "c.conf:1: [program:p] stdout_channel: unknown channel 'nope'"), "%s",
            r.err);
  tu_result_free(&r);
  tu_rmdir(dir);
}
