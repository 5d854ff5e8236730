/* SPDX-License-Identifier: MIT */
/*
 * communicate: run one child to the end the way Python's
 * Popen.communicate(input, timeout) does. The input is written while both
 * outputs are read, so no pipe can fill up and deadlock the pair; each
 * output is captured in memory or streamed to a descriptor of ours with
 * backpressure (memory stays bounded however fast the child writes).
 */
#ifndef TEND_COMMUNICATE_H
#define TEND_COMMUNICATE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "tend/buf.h"
#include "tend/proc.h"

typedef struct {
  /* Input, at most one: a buffer (has_input) or a descriptor (input_fd >=
   * 0, read to its end). With neither the child's stdin is /dev/null. */
  bool has_input;
  const char *input;
  size_t input_len;
  int input_fd;

  /* Where stdout (0) and stderr (1) go: a descriptor of ours, or -1 to
   * capture into the result. */
  int out_fd[2];

  uint64_t timeout_ms;    /* 0: none */
  uint64_t kill_after_ms; /* after the timeout signal, SIGKILL the group */
  int timeout_signal;     /* default SIGTERM when 0 */
  bool forward_signals;   /* tend_communicate: pass SIGINT/TERM/HUP/QUIT on */
} tend_comm_opts_t;

typedef struct {
  int spawn_error;          /* negative errno if the child never started */
  tend_proc_err_t err_what; /* which step failed */
  int pid;
  int64_t exit_status;
  int term_signal;
  bool timed_out;
  uint64_t duration_ns;
  tend_buf_t out[2];  /* captured stdout and stderr */
  int out_error[2];   /* first error writing stdout/stderr to out_fd */
  int input_error;    /* first error reading the input descriptor */
} tend_comm_result_t;

/* Run argv as described, on a private loop, and fill res (free its buffers
 * with tend_comm_result_free). Returns 0, or a negative errno when the
 * machinery itself failed (spawn errors are in res->spawn_error). */
int tend_communicate(const tend_proc_options_t *popts, const tend_comm_opts_t *opts,
                     tend_comm_result_t *res);

/* Same on the caller's loop. Both set SIGPIPE to SIG_IGN if it is still at
 * its default: a write to a child that exited must fail with EPIPE.
 * done(data, res) is called once everything is finished and every handle
 * closed; res lives until then. */
typedef void (*tend_comm_done_cb)(void *data, tend_comm_result_t *res);
int tend_comm_start(uv_loop_t *loop, const tend_proc_options_t *popts,
                    const tend_comm_opts_t *opts, tend_comm_result_t *res,
                    tend_comm_done_cb done, void *data);

void tend_comm_result_free(tend_comm_result_t *res);

/* A shell-style status: the exit code, 128+N for signal N. */
int tend_comm_status(const tend_comm_result_t *res);

#endif
