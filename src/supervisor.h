/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: the configured processes and their state machine, as
 * supervisord defines it (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING,
 * EXITED, FATAL). What the user wants (want_up) is kept apart from what
 * the process is (state), as runit does; every event goes through one
 * function, sv_event, which logs each transition and each exit with the
 * action taken.
 *
 * It knows nothing of the control socket or the CLI: the daemon layer gets
 * exits and output through hooks.
 */
#ifndef TEND_SUPERVISOR_H
#define TEND_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "channel.h"
#include "outlog.h"
#include "syslog_sink.h"
#include "tend/buf.h"
#include "tend/config.h"
#include "tend/proc.h"

typedef enum {
  PS_STOPPED = 0,
  PS_STARTING,
  PS_RUNNING,
  PS_BACKOFF,
  PS_STOPPING,
  PS_EXITED,
  PS_FATAL,
} pstate_t;

const char *pstate_name(pstate_t s);

typedef struct sv sv_t;
typedef struct sv_proc sv_proc_t;

/* A config generation, shared by the processes configured from it. */
typedef struct {
  tend_config_t *config;
  int refs;
} sv_gen_t;

struct sv_proc {
  sv_t *sv;
  sv_gen_t *gen;
  const tend_program_t *conf; /* inside gen->config */
  char *name;                 /* == conf->name, kept across reloads */

  pstate_t state;
  bool want_up;  /* the user's wish: started or stopped */
  bool removed;  /* dropped by a reload: forget once stopped */
  bool fresh;    /* added by the sv_apply under way, not started yet */
  sv_gen_t *next_gen;               /* changed by a reload: restart with it */
  const tend_program_t *next_conf;

  tend_proc_t *run; /* the current child, NULL when none */
  int pid;          /* of the current or last child */
  uv_timer_t timer; /* startsecs, or the backoff delay */
  int fails;        /* failed starts in a row */
  uint64_t restarts; /* automatic restarts and `restart`s that happened */
  bool restart_due;  /* the next spawn is one of those */
  uint64_t started_at_ms;  /* wall clock, ms since the epoch */
  bool has_exit;
  int64_t last_exit;
  int last_signal;
  bool stop_requested; /* this stop came from the user (or reload/shutdown) */
  const char *waiting_for; /* STARTING without a child: the dependency
                              (program name, in conf) not RUNNING yet */
  struct sv_probe *probe;  /* a readiness connect in flight */
  uv_pipe_t *ready_pipe;   /* ready = fd:N: our end of the child's fd N */
  uint64_t ready_deadline; /* uv_now() limit for ready = tcp:/unix: */

  uint64_t cpu_sample_ns;  /* group CPU time at the last status ... */
  uint64_t cpu_sample_at;  /* ... and when (uv_hrtime) */

  /* stdout_channel / stdin_channel wiring (sv_channels.c) */
  chan_waiter_t out_wait, in_wait;
  tend_buf_t out_pending; /* stdout bytes not yet turned into messages */
  size_t out_off;         /* first byte of out_pending still to send */
  bool out_paused;        /* stdout reading stopped: the channel is full */
  bool in_busy;           /* a message is being written to stdin */
  struct in_write *in_write; /* that write */

  outlog_t log[2]; /* stdout, stderr */
  bool log_open[2];
  outlog_t slog[2]; /* the same streams cut into lines for syslog */
  bool slog_open[2];

  unsigned mark;     /* for callers that pick a set of processes (the
                        daemon's name selection): scratch, not state */
  sv_proc_t *next, *prev; /* sv->procs, in tend_program_cmp order */
};

typedef struct {
  /* A child of p ended (after the state machine ran). */
  void (*exited)(sv_proc_t *p, int64_t exit_code, int term_signal);
  /* p wrote data on stream (0 stdout, 1 stderr) — for `logs -f`. */
  void (*output)(sv_proc_t *p, int stream, const char *data, size_t len);
  /* p moved from one state to another. */
  void (*state)(sv_proc_t *p, pstate_t from, pstate_t to);
  /* p is about to be freed (removed by a reload). */
  void (*forget)(sv_proc_t *p);
} sv_hooks_t;

struct sv {
  uv_loop_t *loop;
  sv_hooks_t hooks;
  chanset_t *chans; /* the daemon's channels (NULL: none) */
  sv_gen_t *gen; /* the config in force */
  sv_proc_t *procs;
  int nprocs;
  bool shutting_down;
  void (*shutdown_cb)(sv_t *sv);
  int open_handles; /* timers and children still closing */
  uv_timer_t reap_timer; /* looks for zombies a moment after a kill */
  int reap_tries;
  syslog_sink_t syslog;  /* where every stdout_logfile = syslog goes */
  LIST_HEAD(, sv_fcgi) fcgi; /* the fcgi-programs' sockets (sv_fcgi.c) */
  char readbuf[64 * 1024];
};

/* The changes a config brought; arrays of borrowed names. */
typedef struct {
  const char **added, **changed, **removed;
  int nadded, nchanged, nremoved;
} sv_diff_t;

void sv_init(sv_t *sv, uv_loop_t *loop, const sv_hooks_t *hooks);

/*
 * Make config the one in force (sv takes ownership): start new programs
 * (autostart), stop removed ones, restart changed ones, leave unchanged
 * ones running. diff (may be NULL) lists the names; free it with
 * sv_diff_free.
 */
void sv_apply(sv_t *sv, tend_config_t *config, sv_diff_t *diff);
void sv_diff_free(sv_diff_t *d);

sv_proc_t *sv_find(sv_t *sv, const char *name);

/*
 * Call fn for each process that pattern names: "all", "GROUP:*", a group
 * name, "GROUP:PROCESS" or a process name. Returns how many matched.
 */
int sv_select(sv_t *sv, const char *pattern, void (*fn)(sv_proc_t *p, void *arg),
              void *arg);

/* User actions. 0 or a negative errno with *why set to a sentence. */
int sv_start(sv_proc_t *p, const char **why);
int sv_stop(sv_proc_t *p, const char **why);
int sv_restart(sv_proc_t *p, const char **why);

/* Write to the child's stdin (eof: close it after). -ENOTCONN when not
 * running, -EPIPE when it has no stdin pipe. */
int sv_send(sv_proc_t *p, const char *data, size_t len, bool eof, const char **why);

/* Open p's log files again (logrotate moved them). 0 or the first
 * negative errno. */
int sv_reopen_logs(sv_proc_t *p);

/* Stop everything (reverse priority) and close all handles; cb at the end. */
void sv_shutdown(sv_t *sv, void (*cb)(sv_t *sv));

/* Uptime in ms of a RUNNING/STARTING process. */
uint64_t sv_uptime_ms(const sv_proc_t *p);

/* Start (again) reading p's stdout pipe. */
void sv_read_stdout(sv_proc_t *p);

/* Channels (sv_channels.c): called by the supervisor itself. */
/* stdout data of p: true if it went to p's stdout_channel. */
bool svchan_output(sv_proc_t *p, const char *data, size_t len);
/* p's child started / exited / p is forgotten. */
void svchan_started(sv_proc_t *p);
void svchan_exited(sv_proc_t *p);
void svchan_forget(sv_proc_t *p);

/* fcgi-program sockets (sv_fcgi.c). */
/* Bind the sockets config names that are not open yet, close those it
 * no longer names (errors logged). */
void svfcgi_apply(sv_t *sv, const tend_config_t *config);
/* The listening socket for p (an fcgi-program), bound now if an earlier
 * try failed; a negative errno (for the caller to report) when it cannot
 * be. */
int svfcgi_fd(sv_proc_t *p);
/* Close them all (shutdown). */
void svfcgi_close_all(sv_t *sv);

/* Reap orphans re-parented to us (we are a child subreaper) that libuv
 * does not know about. Called on SIGCHLD. */
void sv_reap_orphans(sv_t *sv);
/* Reap again shortly (killed processes become zombies a moment later). */
void sv_reap_soon(sv_t *sv);

#endif
