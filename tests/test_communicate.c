/* SPDX-License-Identifier: MIT */
/* communicate on the library level: capture, streaming to a descriptor,
 * input from a buffer and from a descriptor, the timeout, and a clean loop
 * afterwards. The CLI tests cover the same paths through the binary. */
#include "testutil.h"
#include "tend/communicate.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(communicate, .timeout = 60);

static tend_comm_opts_t capture(void) {
  tend_comm_opts_t o;
  memset(&o, 0, sizeof(o));
  o.input_fd = -1;
  o.out_fd[0] = o.out_fd[1] = -1;
  o.kill_after_ms = 1000;
  return o;
}

Test(communicate, captures_both_streams_and_status) {
  char *argv[] = {"sh", "-c", "cat; echo oops >&2; exit 3", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.has_input = true;
  o.input = "in\x00put";
  o.input_len = 6;
  tend_comm_result_t r;
  cr_assert(tend_communicate(&po, &o, &r) == 0);
  cr_assert_eq(r.spawn_error, 0);
  cr_assert(r.pid > 0);
  cr_assert_eq(r.exit_status, 3);
  cr_assert_eq(tend_comm_status(&r), 3);
  cr_assert_eq(r.out[0].len, 6);
  cr_assert(memcmp(r.out[0].data, "in\x00put", 6) == 0);
  cr_assert_eq(r.out[1].len, 5);
  cr_assert(memcmp(r.out[1].data, "oops\n", 5) == 0);
  cr_assert(!r.timed_out);
  tend_comm_result_free(&r);
}

Test(communicate, large_output_while_input_pending) {
  /* 16 MiB out and err before a byte of the 16 MiB input is read: only a
   * loop that reads while it writes gets through. */
  size_t n = 16u << 20;
  char *in = malloc(n);
  cr_assert(in != NULL);
  memset(in, 'x', n);
  char *argv[] = {"sh", "-c",
                  "head -c 16777216 /dev/zero; head -c 16777216 /dev/zero >&2; wc -c", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.has_input = true;
  o.input = in;
  o.input_len = n;
  tend_comm_result_t r;
  cr_assert(tend_communicate(&po, &o, &r) == 0);
  cr_assert_eq(r.exit_status, 0);
  cr_assert_eq(r.out[1].len, n);
  cr_assert_eq(r.out[0].len, n + 9);
  cr_assert(memcmp(r.out[0].data + n, "16777216\n", 9) == 0);
  tend_comm_result_free(&r);
  free(in);
}

Test(communicate, input_from_descriptor_output_to_descriptor) {
  char *dir = tu_tmpdir();
  char inpath[256], outpath[256];
  snprintf(inpath, sizeof(inpath), "%s/in", dir);
  snprintf(outpath, sizeof(outpath), "%s/out", dir);
  FILE *f = fopen(inpath, "w");
  for (int i = 0; i < 200000; i++)
    fprintf(f, "line %d\n", i);
  long size = ftell(f);
  fclose(f);
  int infd = open(inpath, O_RDONLY | O_CLOEXEC);
  int outfd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char *argv[] = {"cat", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.input_fd = infd;
  o.out_fd[0] = outfd;
  tend_comm_result_t r;
  cr_assert(tend_communicate(&po, &o, &r) == 0);
  cr_assert_eq(r.exit_status, 0);
  cr_assert_eq(r.out[0].len, 0, "streamed output must not be captured");
  cr_assert_eq(r.out_error[0], 0);
  cr_assert_eq(lseek(outfd, 0, SEEK_CUR), size);
  close(infd);
  close(outfd);
  tu_rmdir(dir);
  tend_comm_result_free(&r);
}

Test(communicate, child_that_ignores_its_input) {
  /* The child exits without reading: the rest of the input is dropped and
   * the run still ends (no EPIPE error, no hang). */
  size_t n = 8u << 20;
  char *in = calloc(1, n);
  char *argv[] = {"true", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.has_input = true;
  o.input = in;
  o.input_len = n;
  tend_comm_result_t r;
  cr_assert(tend_communicate(&po, &o, &r) == 0);
  cr_assert_eq(r.exit_status, 0);
  tend_comm_result_free(&r);
  free(in);
}

Test(communicate, timeout_kills_group_and_keeps_output) {
  char *argv[] = {"sh", "-c", "echo started; exec sleep 30", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.timeout_ms = 200;
  tend_comm_result_t r;
  int64_t t0 = tu_now_ms();
  cr_assert(tend_communicate(&po, &o, &r) == 0);
  cr_assert(r.timed_out);
  cr_assert_eq(r.term_signal, SIGTERM);
  cr_assert_lt(tu_now_ms() - t0, 3000);
  cr_assert_eq(r.out[0].len, 8);
  cr_assert(memcmp(r.out[0].data, "started\n", 8) == 0);
  tend_comm_result_free(&r);
}

Test(communicate, spawn_error_reported_in_result) {
  char *argv[] = {"tend-no-such-command", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  tend_comm_result_t r;
  cr_assert(tend_communicate(&po, &o, &r) == 0, "the loop must still close cleanly");
  cr_assert_eq(r.spawn_error, UV_ENOENT);
  cr_assert_eq(r.err_what, TEND_PROC_ERR_EXEC);
  tend_comm_result_free(&r);
}

Test(communicate, rejects_two_inputs) {
  char *argv[] = {"cat", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.has_input = true;
  o.input_fd = 0;
  tend_comm_result_t r;
  cr_assert_lt(tend_communicate(&po, &o, &r), 0);
}
