/* SPDX-License-Identifier: MIT */
/*
 * The supervisor as a service of the daemon (daemon/service.h, daemon/sv.c): its
 * commands (status, start, stop, restart, send, logs, wait, logrotate),
 * the requests that wait on a process (wait, logs -f, start/stop with
 * wait) and the systemd notifications of the processes' states.
 */
#ifndef TEND_DAEMON_SV_H
#define TEND_DAEMON_SV_H

#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "daemon/procs.h"
#include "daemon/service.h"
#include "supervisor/supervisor.h"

/* What else follows the processes (the events, daemon/evsvc.c): called
 * from the supervisor's hooks, with the arg it gave. */
typedef struct {
  void (*state)(void *arg, sv_proc_t *p, pstate_t from, pstate_t to);
  void (*output)(void *arg, sv_proc_t *p, int stream, const char *data, size_t len);
  void (*forget)(void *arg, sv_proc_t *p);
} dsv_watch_t;

typedef struct dsv {
  sv_t sv;
  LIST_HEAD(, sub) subs;        /* wait and logs -f requests, newest first */
  LIST_HEAD(, pending) pending; /* start/stop/restart that wait, newest first */
  unsigned generation;     /* the last marks a name selection used */
  unsigned output_gen;     /* the last hook_output call (sv.c) */
  dprocs_t side;           /* what we keep per process (daemon/procs.h) */
  bool stopping;
  sv_diff_t diff; /* what the last apply changed */
  bool ready_sent; /* READY=1 told to systemd */
  char last_status[160];
  service_done_t done; /* shutdown: once every program has stopped */
  /* A program with on_exit or on_fatal = shutdown has ended so (key names
   * the setting): the daemon's to act on, since it brings down more than
   * the programs. */
  void (*vital)(void *arg, sv_proc_t *p, const char *key);
  void *vital_arg;
  const dsv_watch_t *watch; /* NULL: none */
  void *watch_arg;
} dsv_t;

/* The supervisor on loop, its programs wired to the channels of chans. */
void dsv_init(dsv_t *s, uv_loop_t *loop, chanset_t *chans);

/* What the last apply added, changed and removed: the names are valid
 * until the loop runs again (a removed process is freed once stopped). */
const sv_diff_t *dsv_diff(const dsv_t *s);

/* Reopen the log files of what pattern names ("all": the daemon's log
 * too), as SIGUSR2 does. 0, -ENOENT (no such process) or -EIO (a file
 * failed: logged). */
int dsv_logrotate(dsv_t *s, const char *pattern);

/* supervisord's signalProcess: sig to the process tend calls name, its
 * pid alone (as supervisord). 0, -ENOENT (no such process), -ESRCH (no
 * child running) or kill's error. */
int dsv_signal(dsv_t *s, const char *name, int sig);

/* supervisord's clearProcessLogs: remove name's log files and open new
 * ones. 0, -ENOENT (no such process) or -EIO (logged). */
int dsv_clear_logs(dsv_t *s, const char *name);

/* Tell systemd how many processes are in which state, and READY=1 once
 * every autostart program has settled. */
void dsv_notify(dsv_t *s);

/* apply takes the config (the supervisor's generations keep it). */
extern const service_ops_t dsv_ops;

#endif
