/* SPDX-License-Identifier: MIT */
/*
 * dist: tasks across machines on Redis Streams (multiprocessing.managers'
 * task and result queues, with at-least-once delivery). Everything runs on
 * the caller's libuv loop through hiredis's async API: no thread, no
 * blocking call.
 *
 * Keys, for a stream NAME:
 *   NAME          the tasks: one entry per task, field "task" = JSON
 *                 {"argv": [...], "env": {...}, "cwd": ..., "timeout_ms": N,
 *                  "attempt": 0, "max_attempts": K, "submitted_at_ms": T,
 *                  "submitter": HOST}; the task id is the entry id
 *   NAME:results  one entry per finished task, field "result" = JSON (see
 *                 tend_dist_result_t; the JSON keys are the field names)
 *   NAME:dead     tasks given up on: fields id, task (as submitted),
 *                 error (the last one), attempts, worker, host
 * Workers read NAME through a consumer group (XREADGROUP), write the result,
 * then XACK. A worker that dies holds its tasks in the group's pending list;
 * after the visibility timeout another worker takes them over (XAUTOCLAIM).
 * A running task is kept visible by its worker (XCLAIM ... JUSTID every
 * third of the visibility timeout), so a task may run longer than it.
 *
 * Attempts: the entry's delivery count. A worker that dies, hangs or loses
 * Redis for longer than the visibility timeout costs the task an attempt;
 * past max_attempts the task goes to NAME:dead and gets a "dead" result.
 * A task handed back by a worker that stops (SIGTERM) is not charged.
 * A task that runs and exits, whatever its status, has its result: it is
 * not retried.
 *
 * Conventions as in the rest of tend: functions return 0 or a negative
 * errno; callbacks come from the loop, never from inside the call that
 * caused them; every object is released through one close/stop call whose
 * callback is the last one.
 */
#ifndef TEND_DIST_H
#define TEND_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- URLs ---------------------------------------------------------------- */

typedef struct {
  char *host;     /* TCP: a name or an address (IPv6 without brackets); NULL
                     for a Unix socket */
  int port;       /* TCP: 6379 unless given */
  char *path;     /* Unix socket: its path; NULL for TCP */
  char *user;     /* ACL user (AUTH user password), or NULL */
  char *password; /* AUTH password, or NULL: no AUTH */
  int db;         /* SELECT db when not 0 */
} tend_redis_url_t;

/*
 * Parse redis://[[user]:password@]host[:port][/db] (host may be [IPv6];
 * user and password may be %-encoded) or unix://[[user]:password@]/path
 * [?db=N]. 0, or -EINVAL with a message in err (the URL in it has its
 * password masked), or -ENOMEM. Free with tend_redis_url_free.
 */
int tend_redis_url_parse(const char *s, tend_redis_url_t *u, char *err, size_t errlen);
void tend_redis_url_free(tend_redis_url_t *u);

/* "host:port" or the socket path, for messages (never the password). */
const char *tend_redis_url_where(const tend_redis_url_t *u, char *buf, size_t len);

/* What went wrong with Redis (the CLI turns it into an exit status). */
typedef enum {
  TEND_DIST_OK = 0,
  TEND_DIST_ERR_UNREACHABLE, /* no server answered: refused, no route, no such
                                name or socket, connect timeout */
  TEND_DIST_ERR_AUTH,        /* it refused our credentials, or wants some */
  TEND_DIST_ERR_SERVER,      /* it answered a command with an error */
  TEND_DIST_ERR_LOST,        /* a connection that worked was lost, or a
                                command got no reply in time */
} tend_dist_err_t;

/* ---- tasks and results ---------------------------------------------------- */

typedef struct {
  char **argv;           /* required; argv[0] is searched in the worker's PATH */
  char **env;            /* "NAME=VALUE" set on top of the worker's own
                            environment; NULL: none */
  const char *cwd;       /* NULL: the worker's */
  uint64_t timeout_ms;   /* 0: none; then SIGTERM, SIGKILL after the
                            worker's kill-after */
  unsigned max_attempts; /* 0: TEND_DIST_MAX_ATTEMPTS */
} tend_dist_task_t;

#define TEND_DIST_MAX_ATTEMPTS 3

typedef enum {
  TEND_DIST_SUCCEEDED = 0, /* exited 0 */
  TEND_DIST_FAILED,        /* exited non-zero, killed, timed out, or could
                              not start (error says why) */
  TEND_DIST_DEAD,          /* given up on after max_attempts, or malformed;
                              it is in NAME:dead */
} tend_dist_status_t;

/* One result, parsed from its JSON. Strings point into the result's own
 * storage: valid during the callback that hands it over. */
typedef struct {
  const char *entry_id; /* of the NAME:results entry */
  const char *id;       /* the task's id */
  tend_dist_status_t status;
  bool exited;          /* exit_code is valid */
  int exit_code;
  int signal;           /* the signal that ended it, or 0 */
  bool timed_out;
  const char *error;    /* NULL, or why it could not run / is dead */
  const char *out[2];   /* stdout, stderr: the bytes kept (exact, also when
                           they were not UTF-8) */
  size_t out_len[2];
  uint64_t out_bytes[2]; /* what the task wrote */
  bool out_truncated[2]; /* more than the worker's output cap */
  uint64_t duration_ms;
  int64_t started_at_ms; /* Unix time, or 0 */
  const char *worker;    /* consumer name */
  const char *host;
  unsigned attempt;      /* 1, 2, ...: the attempt that produced it */
  const char *json;      /* the result as stored, one line of JSON */
  size_t json_len;
} tend_dist_result_t;

/* The status line of a result: "exit 3", "killed by SIGKILL", "timed out
 * (SIGTERM)", "cannot run 'x': ...", "dead: ...". */
const char *tend_dist_result_summary(const tend_dist_result_t *r, char *buf, size_t len);

/* Split a line into words as a POSIX shell would, without any expansion
 * (quotes and backslashes as Python's shlex.split): the task of one line of
 * `tend submit --from-stdin`. 0 with *argv (NULL-terminated, malloc'd,
 * free with tend_dist_strv_free), -EINVAL with *why, -ENOMEM. */
int tend_dist_split_line(const char *line, char ***argv, const char **why);
void tend_dist_strv_free(char **argv);

/* ---- the client: submit tasks, read results -------------------------------- */

typedef struct tend_dist_client_s tend_dist_client_t;
typedef void (*tend_dist_client_cb)(tend_dist_client_t *c);
/* The connection failed or was lost: kind and a message naming the server.
 * retrying false (no reconnect, or no success yet): the client is dead,
 * close it. retrying true: it tries again (backoff 0.1 s doubling to 5 s)
 * and calls ready_cb again when it is back. */
typedef void (*tend_dist_client_err_cb)(tend_dist_client_t *c, tend_dist_err_t kind,
                                        const char *msg, bool retrying);
/* id: the new task's id; NULL on failure, with error (the connection was
 * lost: the task may or may not have been added). */
typedef void (*tend_dist_submit_cb)(tend_dist_client_t *c, void *arg, const char *id,
                                    const char *error);
typedef void (*tend_dist_result_cb)(tend_dist_client_t *c, const tend_dist_result_t *r);

typedef struct {
  const char *url;              /* required */
  const char *stream;           /* required: NAME */
  uint64_t connect_timeout_ms;  /* 0: 5000 (name lookup, connect, AUTH) */
  uint64_t command_timeout_ms;  /* 0: 5000 (a reply later than this: lost) */
  bool reconnect;               /* after a loss that follows a success */
  tend_dist_client_cb ready_cb; /* connected (again) */
  tend_dist_client_err_cb error_cb; /* required */
  void *data;
} tend_dist_client_opts_t;

/* Parse the URL and start connecting. 0 (ready_cb or error_cb follows),
 * -EINVAL (bad URL or options: message in err), -ENOMEM. */
int tend_dist_client_open(uv_loop_t *loop, const tend_dist_client_opts_t *opts,
                          tend_dist_client_t **out, char *err, size_t errlen);

void *tend_dist_client_data(const tend_dist_client_t *c);

/* XADD the task to NAME. Replies come in submission order. 0, -EINVAL,
 * -ENOTCONN (not ready), -ENOMEM. */
int tend_dist_submit(tend_dist_client_t *c, const tend_dist_task_t *t, tend_dist_submit_cb cb,
                     void *arg);

/* Submissions sent and not answered yet (to keep a window). */
size_t tend_dist_client_pending(const tend_dist_client_t *c);

/* Read NAME:results from after entry id `after` ("0" for all): result_cb
 * for each, in order; caught_up_cb once when the backlog is read. With
 * follow, go on with blocking reads for new results (across reconnects,
 * from the last one seen) until closed; without it, stop there. One
 * reader per client. 0, -EBUSY, -ENOMEM. */
int tend_dist_results_read(tend_dist_client_t *c, const char *after, bool follow,
                           tend_dist_result_cb result_cb, tend_dist_client_cb caught_up_cb);

/* Close: pending submissions get their callback with an error, then
 * close_cb (optional) once every handle is closed; c is freed after it. */
void tend_dist_client_close(tend_dist_client_t *c, tend_dist_client_cb close_cb);

/* ---- the worker ------------------------------------------------------------- */

typedef struct tend_dist_worker_s tend_dist_worker_t;
typedef void (*tend_dist_worker_cb)(tend_dist_worker_t *w);

typedef enum {
  TEND_DIST_LOG_DEBUG = 0, /* every task: taken, done */
  TEND_DIST_LOG_INFO,      /* connected, stopping, handed back */
  TEND_DIST_LOG_WARN,      /* connection lost (reconnecting), dead tasks */
  TEND_DIST_LOG_ERROR,     /* fatal: the worker cannot go on */
} tend_dist_level_t;

typedef void (*tend_dist_log_cb)(tend_dist_worker_t *w, tend_dist_level_t level,
                                 const char *msg);
typedef void (*tend_dist_fatal_cb)(tend_dist_worker_t *w, tend_dist_err_t kind,
                                   const char *msg);

typedef struct {
  const char *url;          /* required */
  const char *stream;       /* required: NAME */
  const char *group;        /* consumer group (created if missing, reading
                               NAME from its start); NULL: "tend" */
  const char *name;         /* consumer name, unique per worker; NULL:
                               HOST-PID */
  unsigned jobs;            /* tasks at once; 0: CPUs */
  int prefetch;             /* tasks taken ahead of a free slot, so a slot
                               that frees starts the next one at once (they
                               are held from other workers meanwhile);
                               0: as many as jobs; -1: none (long tasks) */
  uint64_t visibility_ms;   /* 0: 30000 */
  size_t output_cap;        /* bytes of stdout (and of stderr) kept per
                               result; 0: 64 KiB */
  uint64_t kill_after_ms;   /* task timeout: SIGKILL this long after
                               SIGTERM (0: 2000) */
  uint64_t connect_timeout_ms, command_timeout_ms; /* 0: 5000 */
  bool fail_fast;           /* the first connection failing is fatal (the
                               CLI); else retry with backoff (a daemon) */
  tend_dist_log_cb log_cb;  /* optional */
  tend_dist_fatal_cb fatal_cb; /* required with fail_fast: the first
                               connection failed (unreachable, credentials
                               refused) or the group could not be created;
                               the worker does nothing more: the owner calls
                               tend_dist_worker_stop. Never called without
                               fail_fast (it logs and retries instead). */
  void *data;
} tend_dist_worker_opts_t;

typedef struct {
  bool connected;
  unsigned running;          /* tasks taken and not done */
  uint64_t taken, claimed;   /* from the group; of them, taken over from
                                other workers (XAUTOCLAIM) */
  uint64_t succeeded, failed, dead, handed_back;
  uint64_t reconnects;
} tend_dist_worker_stats_t;

/* Start: parse the URL, connect (two connections: one for the blocking
 * reads, one for the rest), create the group, take tasks. 0 (then log_cb
 * and, if things go wrong, fatal_cb follow), -EINVAL (bad options, message
 * in err), -ENOMEM. Tasks run in a tend_sched pool of `jobs` slots, each in
 * its own process group, with TEND_TASK_ID, TEND_TASK_ATTEMPT and
 * TEND_WORKER in its environment. */
int tend_dist_worker_start(uv_loop_t *loop, const tend_dist_worker_opts_t *opts,
                           tend_dist_worker_t **out, char *err, size_t errlen);

void *tend_dist_worker_data(const tend_dist_worker_t *w);

/* Whether pid is a task this worker runs now. A process that reaps orphan
 * children (a subreaper daemon) must leave these alone: the pool reaps
 * them through their pidfds, and a status taken elsewhere is lost. */
bool tend_dist_worker_owns_pid(const tend_dist_worker_t *w, int pid);
void tend_dist_worker_stats(const tend_dist_worker_t *w, tend_dist_worker_stats_t *st);

/*
 * Stop: take no more tasks; hand back at once those not started; give the
 * running ones grace_ms to finish (their results are written), then SIGTERM
 * their process groups (SIGKILL kill_after_ms later) and hand them back.
 * stop_cb once everything is closed; w is freed after it returns. Calling
 * it again shortens the grace (0: stop the running tasks now); the first
 * stop_cb stands.
 */
void tend_dist_worker_stop(tend_dist_worker_t *w, uint64_t grace_ms, tend_dist_worker_cb stop_cb);

#endif
