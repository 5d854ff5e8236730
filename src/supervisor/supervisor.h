/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: the configured processes and their state machine, as
 * supervisord defines it (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING,
 * EXITED, FATAL, and tend's WAITING for dependencies). What the user
 * wants (want_up) is kept apart from what the process is (state), as
 * runit does; every event goes through one function, sv_event, which logs
 * each transition and each exit with the action taken.
 *
 * It knows nothing of the control socket, the CLI or the channels: the
 * daemon layer gets exits and output through hooks, the channels wire
 * themselves in through sv_wiring_t.
 */
#ifndef TEND_SUPERVISOR_H
#define TEND_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "core/channel.h"
#include "supervisor/outlog.h"
#include "supervisor/syslog_sink.h"
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

/* The state machine's own states: supervisord's, and WAITING (tend's
 * depends_on: no child yet, a dependency is not RUNNING), which status
 * shows as STARTING with a reason. */
typedef enum {
  SV_STOPPED = 0,
  SV_WAITING,
  SV_STARTING,
  SV_RUNNING,
  SV_BACKOFF,
  SV_STOPPING,
  SV_EXITED,
  SV_FATAL,
  SV_NSTATES,
} sv_state_t;

/* What happens to a process; sv_event says what it does about it. */
typedef enum {
  SV_EV_START = 0,   /* wanted up: the user, autostart, a reload */
  SV_EV_STOP,        /* wanted down: the user, a reload, the shutdown */
  SV_EV_EXITED,      /* its child ended (p->last_exit, p->last_signal) */
  SV_EV_TIMER,       /* startsecs passed (STARTING), the backoff is over */
  SV_EV_READY,       /* the ready= probe succeeded */
  SV_EV_NOT_READY,   /* ready_timeout passed first */
  SV_EV_DEPS_READY,  /* every depends_on program is RUNNING */
  SV_EV_DEPS_FAILED, /* one of them will not come (FATAL, not wanted up) */
  SV_EV_RELOAD,      /* its config changed while no child runs */
  /* Raised by sv_event itself as the outcome of a spawn or an exit;
   * refused from callers. */
  SV_EV_SPAWNED,
  SV_EV_START_FAILED,
  SV_NEVENTS,
} sv_ev_t;

typedef struct sv sv_t;
typedef struct sv_proc sv_proc_t;
typedef struct svready svready_t;

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

  /* What status shows. Written by sv_event only, except want_up (the
   * user's wish, runit's `want`), which a caller starting several
   * processes at once may set before their START events. */
  pstate_t state;          /* supervisord's name of fsm.state */
  bool want_up;
  const char *waiting_for; /* WAITING: the dependency (program name, in
                              conf) not RUNNING yet */
  tend_proc_t *run;        /* the current child, NULL when none */
  int pid;                 /* of the current or last child */
  uint64_t restarts;       /* automatic restarts and `restart`s done */
  uint64_t started_at_ms;  /* wall clock, ms since the epoch */
  uint64_t stopped_at_ms;  /* when the last child ended, likewise */
  bool has_exit;
  int64_t last_exit;
  int last_signal;

  /* The state machine (sv_event). */
  struct {
    sv_state_t state;
    uv_timer_t timer;   /* startsecs, or the backoff delay */
    int fails;          /* failed starts in a row */
    bool restart_due;   /* the next spawn is a restart (counted once done) */
    const char *why;    /* the reason of a failed or refused start */
    char why_buf[300];  /* why, when it names the command */
    const char *dep;    /* the dependency deps_check stopped at */
    double runtime;     /* of the child that just exited, in s */
    bool killed;        /* its stop escalated to SIGKILL */
  } fsm;

  /* Reloads. */
  bool removed;  /* dropped by a reload: forget once stopped */
  bool fresh;    /* added by the sv_apply under way, not started yet */
  sv_gen_t *next_gen; /* changed by a reload: restart with it */
  const tend_program_t *next_conf;

  svready_t *ready; /* STARTING with ready=: the probe (supervisor/ready.c) */

  /* stdout_channel / stdin_channel wiring (supervisor/channels.c's alone). */
  struct {
    chan_waiter_t out_wait, in_wait;
    tend_buf_t out_pending; /* stdout bytes not yet turned into messages */
    size_t out_off;         /* first byte of out_pending still to send */
    bool out_paused;        /* stdout reading stopped: the channel is full */
    bool in_busy;           /* a message is being written to stdin */
    struct in_write *in_write; /* that write */
  } chan;

  /* Output logs: stdout, stderr; each also cut into lines for syslog. */
  struct {
    outlog_t file[2];
    bool file_open[2];
    outlog_t lines[2];
    bool lines_open[2];
  } logs;

  TAILQ_ENTRY(sv_proc) link; /* on sv->procs, in tend_program_cmp order */
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

/* Where a process's stdio may be wired besides its logs (the daemon's
 * channels register these: supervisor/channels.h). The supervisor calls them and
 * knows nothing of what is behind. */
typedef struct {
  /* stdout data of p: true if taken (then it is not logged). */
  bool (*output)(sv_proc_t *p, const char *data, size_t len);
  void (*started)(sv_proc_t *p); /* p's child runs */
  void (*exited)(sv_proc_t *p);  /* p's child ended, its output drained */
  void (*forget)(sv_proc_t *p);  /* p is about to be freed */
  void *data;                    /* the wiring's own */
} sv_wiring_t;

struct sv {
  uv_loop_t *loop;
  sv_hooks_t hooks;
  sv_wiring_t wiring;
  sv_gen_t *gen; /* the config in force */
  TAILQ_HEAD(sv_procs, sv_proc) procs; /* in tend_program_cmp order */
  int nprocs;
  bool shutting_down;
  void (*shutdown_cb)(sv_t *sv);
  int open_handles; /* timers, children and probes still closing */
  uv_timer_t reap_timer; /* looks for zombies a moment after a kill */
  int reap_tries;
  syslog_sink_t syslog;  /* where every stdout_logfile = syslog goes */
  LIST_HEAD(, sv_fcgi) fcgi; /* the fcgi-programs' sockets (supervisor/fcgi.c) */
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

/*
 * The state machine: every change of p's state happens here (the table is
 * in supervisor/supervisor.c). 0 when ev was acted on; a negative errno when p's
 * state ignores it: -EALREADY (START while starting or up), -ENOTCONN
 * (STOP with nothing to stop), -ESHUTDOWN (START while shutting down),
 * -EAGAIN (START refused: p->fsm.dep is not coming, p->fsm.why says
 * why), -EINVAL (any other event the state has no use for, such as a
 * late timer, or one only sv_event raises).
 */
int sv_event(sv_proc_t *p, sv_ev_t ev);

/* User actions: the events above. 0 or a negative errno with *why set to
 * a sentence. */
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

/* fcgi-program sockets (supervisor/fcgi.c). */
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
