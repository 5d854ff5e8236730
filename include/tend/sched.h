/* SPDX-License-Identifier: MIT */
/*
 * sched: a worker pool on the caller's libuv loop. Tasks (argv, env, cwd,
 * what to do with stdout and stderr) wait in a FIFO queue and start as
 * soon as a slot is free, never more than max_running at once. A task's
 * output is captured (in memory up to a per-stream limit and a pool-wide
 * budget, the rest in an unlinked temporary file), so the owner can hand
 * it on in one piece when the task ends; or it is passed on as it comes
 * (TEND_OUT_STREAM), or not read at all (NULL, INHERIT). The pool asks for more tasks
 * (feed_cb) only when its queue runs low: a producer reading a long list
 * feeds it lazily, and memory stays bounded however many tasks there are.
 *
 * No globals, no CLI knowledge: `tend pool` and the daemon use it alike.
 *
 * Ownership: the owner allocates each tend_task_t (typically inside a
 * struct of its own, with its argv), submits it, gets it back exactly once
 * in done_cb, reads its output, calls tend_sched_release on it and frees
 * it when it likes. The pool keeps no pointer to a task after done_cb.
 * The pool makes no allocation per task (its slots, one per running task,
 * are reused); only captured output takes memory.
 *
 * Callbacks come from the loop only, never from inside a tend_sched_*
 * call. They may call any tend_sched_* function; tend_sched_free is
 * allowed in join_cb (or after it), never in the other callbacks.
 *
 * Children start with tend_proc_spawn: stdin /dev/null, each in a session
 * and process group of its own, so stopping a task stops its group.
 */
#ifndef TEND_SCHED_H
#define TEND_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <uv.h>

#include "tend/proc.h"

typedef struct tend_sched_s tend_sched_t;
typedef struct tend_task_s tend_task_t;

/* Where a task's stdout (out[0]) or stderr (out[1]) goes. */
typedef enum {
  TEND_OUT_CAPTURE = 0, /* captured: memory, then a temporary file */
  TEND_OUT_NULL,        /* /dev/null */
  TEND_OUT_INHERIT,     /* our own descriptor 1 or 2, as is (not grouped) */
  TEND_OUT_MERGE,       /* stderr only: into whatever stdout is */
  TEND_OUT_STREAM,      /* each piece to output_cb as it is read, not kept
                           (cap[i].bytes counts them) */
} tend_out_t;

typedef enum {
  TEND_TASK_NEW = 0, /* not submitted */
  TEND_TASK_QUEUED,
  TEND_TASK_RUNNING,
  TEND_TASK_DONE, /* given back through done_cb */
} tend_task_state_t;

typedef enum {
  TEND_TASK_EXITED = 0,   /* it ran: exit_status or term_signal */
  TEND_TASK_SPAWN_FAILED, /* it could not start: spawn_error, err_what */
  TEND_TASK_SKIPPED,      /* never started: the pool was halted or cancelled */
} tend_task_outcome_t;

/* One captured stream: its first bytes in memory, the rest (if any) in an
 * unlinked temporary file. Read it with tend_task_output_read/_write. */
typedef struct {
  uint64_t bytes; /* what the task wrote to the stream */
  uint64_t kept;  /* what was kept (== bytes unless error; 0 for STREAM) */
  int error;      /* first error keeping them (-ENOSPC, -EMFILE, -ENOMEM):
                     every byte from there on was dropped */
  bool spilled;   /* part of it is in the temporary file */

  /* private */
  char *mem;
  size_t mem_len, mem_cap;
  int fd; /* the temporary file, -1 if none */
} tend_capture_t;

struct tend_task_s {
  void *data; /* for the owner */

  /* Set by the owner before tend_sched_submit; the pool does not copy
   * them: they must stay valid until done_cb. */
  char **argv;     /* argv[0] searched in PATH (see tend_proc_options_t) */
  char **env;      /* NULL: ours */
  const char *cwd; /* NULL: ours */
  tend_out_t out[2];
  uint64_t timeout_ms; /* 0: the pool's timeout_ms */

  /* Filled by the pool, read-only for the owner. */
  uint64_t seq; /* 1, 2, 3... in submission order */
  tend_task_state_t state;
  tend_task_outcome_t outcome;
  int pid;
  int spawn_error;          /* SPAWN_FAILED: a negative errno */
  tend_proc_err_t err_what; /* SPAWN_FAILED: the step that failed */
  int64_t exit_status;      /* EXITED and term_signal == 0 */
  int term_signal;          /* EXITED: the signal that ended it, or 0 */
  bool timed_out;           /* its timeout stopped it */
  bool cancelled;           /* tend_sched_cancel stopped it */
  int64_t start_unix_ns;    /* wall clock (CLOCK_REALTIME) at the start */
  uint64_t runtime_ns;      /* from spawn to exit */
  tend_capture_t cap[2];    /* stdout, stderr (when TEND_OUT_CAPTURE) */

  /* private */
  STAILQ_ENTRY(tend_task_s) queue_; /* the queue */
};

typedef void (*tend_sched_cb)(tend_sched_t *s);
typedef void (*tend_sched_task_cb)(tend_sched_t *s, tend_task_t *t);
/* TEND_OUT_STREAM: n bytes of stream (0 stdout, 1 stderr) just read from
 * a running task; data is valid during the call only. There is no
 * backpressure: what the owner cannot take now, it copies. */
typedef void (*tend_sched_output_cb)(tend_sched_t *s, tend_task_t *t, int stream,
                                     const char *data, size_t n);

typedef struct {
  unsigned max_running; /* tasks running at once, >= 1 */
  unsigned queue_low;   /* feed_cb when fewer than this wait in the queue
                           (0: max_running); tend_sched_wanted tops it up to
                           twice that */
  size_t mem_limit;     /* per stream, bytes kept in memory before the rest
                           goes to a temporary file (0: 1 MiB) */
  size_t mem_budget;    /* all captures not yet released, in memory; past it
                           every stream spills (0: 64 MiB) */
  const char *tmpdir;   /* for temporary files (NULL: $TMPDIR, else /tmp);
                           O_TMPFILE, else mkstemp + unlink */
  uint64_t timeout_ms;  /* per task (0: none); a task's own wins */
  int timeout_signal;   /* sent to the group at the timeout (0: SIGTERM) */
  uint64_t kill_after_ms; /* then SIGKILL to the group after this long */

  tend_sched_task_cb start_cb; /* optional: the task runs (pid is set) */
  tend_sched_task_cb done_cb;  /* required: every submitted task, once */
  tend_sched_cb feed_cb;       /* optional: the queue runs low; submit up to
                                  tend_sched_wanted() tasks, now or later */
  tend_sched_cb join_cb;       /* optional: after tend_sched_close (or halt,
                                  cancel), every task is done and every
                                  handle closed */
  tend_sched_output_cb output_cb; /* required by TEND_OUT_STREAM */
  void *data;
} tend_sched_opts_t;

typedef struct {
  uint64_t submitted;
  uint64_t queued;
  uint64_t running;
  uint64_t started;   /* spawned */
  uint64_t done;      /* given back in done_cb, skipped ones included */
  uint64_t succeeded; /* exited 0, no signal, no timeout */
  uint64_t failed;    /* see tend_task_failed */
  uint64_t skipped;
} tend_sched_stats_t;

/* A new pool. It opens nothing on the loop yet. 0, -EINVAL (no done_cb,
 * max_running 0) or -ENOMEM. */
int tend_sched_new(uv_loop_t *loop, const tend_sched_opts_t *opts, tend_sched_t **out);

/* Free a pool that has joined, or that never had a task submitted nor was
 * closed. -EBUSY (and nothing freed) otherwise. */
int tend_sched_free(tend_sched_t *s);

void *tend_sched_data(const tend_sched_t *s);

/* Queue t (state NEW or DONE: a task may be reused after release). It
 * starts on a later loop turn, or later still when no slot is free.
 * 0, -EINVAL (no argv[0], bad state, MERGE for stdout, STREAM without
 * output_cb), -EPIPE (closed). */
int tend_sched_submit(tend_sched_t *s, tend_task_t *t);

/* How many more tasks the pool would like queued now (0 once closed). */
size_t tend_sched_wanted(const tend_sched_t *s);

/* Accept no more tasks; join_cb once everything accepted is done. */
void tend_sched_close(tend_sched_t *s);

/* Close, and start nothing more: queued tasks come back SKIPPED; running
 * ones finish on their own. */
void tend_sched_halt(tend_sched_t *s);

/* Halt, and stop the running tasks: signum to each one's process group
 * now, SIGKILL to it grace_ms later (tend_proc_stop). A task stopped this
 * way is done as soon as its leader has exited (a grandchild that left
 * its group may still hold the pipes: what is in them is read, then they
 * are closed). Calling it again resends signum (SIGKILL: at once). */
void tend_sched_cancel(tend_sched_t *s, int signum, uint64_t grace_ms);

void tend_sched_stats(const tend_sched_t *s, tend_sched_stats_t *st);

/* Free a done task's captured output (memory and temporary files) and
 * give its memory back to the budget. Call it once per task, after
 * reading the output; the task may then be freed or submitted again. */
void tend_sched_release(tend_sched_t *s, tend_task_t *t);

/* It did not succeed: it could not start, exited non-zero, was killed by
 * a signal, or timed out. Skipped tasks did not fail. */
bool tend_task_failed(const tend_task_t *t);

/* Copy up to len bytes of stream (0 stdout, 1 stderr) from offset off of
 * what was kept. Returns the count, 0 at the end, or a negative errno. */
ssize_t tend_task_output_read(const tend_task_t *t, int stream, uint64_t off, void *buf,
                              size_t len);

/* Write all that was kept of stream to fd, synchronously: it returns when
 * everything is written (waiting in poll() if fd is non-blocking and
 * full) or on the first error (e.g. -EPIPE: the caller ignores SIGPIPE).
 * A reader that never reads blocks the caller, and with it the loop: the
 * owner decides whether that is acceptable (GNU parallel does the same). */
int tend_task_output_write(const tend_task_t *t, int stream, int fd);

#endif
