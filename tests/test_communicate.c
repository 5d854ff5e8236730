/* SPDX-License-Identifier: MIT */
/* communicate on the library level: capture, streaming to a descriptor (a
 * file; a pipe whose reader stalls, byte-exact; a pipe without a reader,
 * EPIPE), input from a buffer and from a descriptor, the timeout, and a
 * clean loop afterwards. The CLI tests cover the same paths through the
 * binary. */
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

/* ---- streaming through pipes: zero copy, backpressure, EPIPE ----------- */

static struct {
  uv_loop_t loop;
  char *data; /* what goes in, and must come out the same */
  size_t len;
  uv_pipe_t feed; /* our end of the input pipe */
  uv_write_t feed_req;
  uv_pipe_t sink; /* our end of the output pipe */
  uv_timer_t stall;
  size_t got;
  bool stalled, mismatch, sink_eof, done;
  char buf[65536];
} S;

static void feed_written_cb(uv_write_t *req, int status) {
  (void)status;
  uv_close((uv_handle_t *)req->handle, NULL); /* the child sees EOF */
}

static void sink_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  (void)hint;
  *b = uv_buf_init(S.buf, sizeof(S.buf));
}

static void stall_cb(uv_timer_t *t);

static void sink_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    S.sink_eof = true;
    uv_close((uv_handle_t *)s, NULL);
    return;
  }
  if (S.got + (size_t)n > S.len || memcmp(S.data + S.got, b->base, (size_t)n) != 0)
    S.mismatch = true;
  S.got += (size_t)n;
  /* Once, after 4 MiB: stop reading for a while, so tend's queue towards
   * us fills up and its backpressure has to hold the child back. */
  if (!S.stalled && S.got >= (4u << 20)) {
    S.stalled = true;
    uv_read_stop(s);
    uv_timer_start(&S.stall, stall_cb, 300, 0);
  }
}

static void stall_cb(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  uv_read_start((uv_stream_t *)&S.sink, sink_alloc_cb, sink_read_cb);
}

static void stream_done_cb(void *data, tend_comm_result_t *res) {
  (void)data;
  (void)res;
  S.done = true;
}

Test(communicate, streams_pipe_to_pipe_byte_exact) {
  /* Input from a pipe (a stream endpoint), output to a pipe (zero-copy
   * writes from chunks) whose reader stalls for a while: every byte must
   * come out once and in order. */
  memset(&S, 0, sizeof(S));
  S.len = 24u << 20;
  S.data = malloc(S.len);
  cr_assert(S.data != NULL);
  uint32_t x = 12345;
  for (size_t i = 0; i < S.len; i++) {
    x = x * 1103515245u + 12345u;
    S.data[i] = (char)(x >> 24);
  }
  int in[2], out[2];
  cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
  cr_assert(uv_loop_init(&S.loop) == 0);
  uv_pipe_init(&S.loop, &S.feed, 0);
  cr_assert(uv_pipe_open(&S.feed, in[1]) == 0);
  uv_pipe_init(&S.loop, &S.sink, 0);
  cr_assert(uv_pipe_open(&S.sink, out[0]) == 0);
  uv_timer_init(&S.loop, &S.stall);

  char *argv[] = {"cat", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.input_fd = in[0];
  o.out_fd[0] = out[1];
  tend_comm_result_t r;
  cr_assert(tend_comm_start(&S.loop, &po, &o, &r, stream_done_cb, NULL) == 0);
  /* tend has its own descriptions now (reopened through /proc). */
  close(in[0]);
  /* Our output pipe was grown for fewer, larger writes and reads. */
  cr_assert_geq(fcntl(out[1], F_GETPIPE_SZ), 1 << 20);
  uv_buf_t b = uv_buf_init(S.data, (unsigned)S.len);
  cr_assert(uv_write(&S.feed_req, (uv_stream_t *)&S.feed, &b, 1, feed_written_cb) == 0);
  uv_read_start((uv_stream_t *)&S.sink, sink_alloc_cb, sink_read_cb);

  int64_t deadline = tu_now_ms() + 30000;
  while (!S.done && tu_now_ms() < deadline)
    uv_run(&S.loop, UV_RUN_ONCE);
  cr_assert(S.done, "the run never finished");
  close(out[1]); /* the last writer: the sink sees EOF */
  while (!S.sink_eof && tu_now_ms() < deadline)
    uv_run(&S.loop, UV_RUN_ONCE);
  cr_assert(S.sink_eof);
  uv_run(&S.loop, UV_RUN_DEFAULT);
  cr_assert_eq(uv_loop_close(&S.loop), 0, "handles left open");

  cr_assert(S.stalled);
  cr_assert_eq(r.exit_status, 0);
  cr_assert_eq(r.input_error, 0);
  cr_assert_eq(r.out_error[0], 0);
  cr_assert_eq(S.got, S.len);
  cr_assert(!S.mismatch, "the output differs from the input");
  tend_comm_result_free(&r);
  free(S.data);
}

Test(communicate, reader_gone_is_epipe_and_the_child_meets_it) {
  /* Our output pipe has no reader: the write fails with EPIPE (tend does
   * not die of SIGPIPE), reading stops, and the child, which writes
   * forever, meets a closed pipe as in `yes | head`. */
  int out[2];
  cr_assert(pipe2(out, O_CLOEXEC) == 0);
  close(out[0]);
  char *argv[] = {"yes", NULL};
  tend_proc_options_t po = {.argv = argv};
  tend_comm_opts_t o = capture();
  o.out_fd[0] = out[1];
  o.timeout_ms = 20000; /* a safety net, not the expected end */
  tend_comm_result_t r;
  cr_assert(tend_communicate(&po, &o, &r) == 0);
  cr_assert(!r.timed_out);
  cr_assert_eq(r.out_error[0], UV_EPIPE);
  cr_assert_eq(r.term_signal, SIGPIPE);
  close(out[1]);
  tend_comm_result_free(&r);
}
