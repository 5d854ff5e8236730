/* SPDX-License-Identifier: MIT */
/*
 * The daemon's core (daemon/daemon.c): its services (channels, pools, workers,
 * events, supervisor) and control server on a loop of its own, the dispatcher of
 * control requests and the daemon's signals. tend_daemon_run
 * (daemon/run.c, tend/daemon.h) puts the process-wide parts around it
 * (config file, limits, log file, socket, pid file, guard, subreaper);
 * fuzz/fuzz_request.c drives it alone: requests in, reply frames out, no
 * socket. One at a time per process: the log and the process core
 * (tend/proc.h) it runs on are process-wide.
 */
#ifndef TEND_DAEMON_CORE_H
#define TEND_DAEMON_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "tend/buf.h"
#include "tend/config.h"
#include "tend/ctl.h"

typedef struct daemon daemon_t;

/* A core with its services set up and no config yet; reload reads
 * config_path with config_flags (TEND_CONFIG_*). 0, -ENOMEM, a libuv
 * error, or -EPROTO when its services do not serve every control command
 * exactly once. */
int daemon_new(daemon_t **d, const char *config_path, unsigned config_flags);

/* Serve the control socket at path (ctl_server_start): 0 or its error. */
int daemon_listen(daemon_t *d, const char *path, int mode);

/* Handle SIGTERM, SIGINT, SIGHUP, SIGCHLD and SIGUSR2 on d's loop. */
void daemon_signals(daemon_t *d);

/* Make cfg (taken) the config in force, as start-up and reload both do:
 * every service applies it in turn. */
void daemon_apply(daemon_t *d, tend_config_t *cfg);

/* cfg (taken) in force as daemon_apply does, keeping the config of a
 * reread (daemon/reread.c: one group added or removed). */
void daemon_apply_part(daemon_t *d, tend_config_t *cfg);

/* Read the config file as a reload does (tend_config_load_flags). */
int daemon_load(daemon_t *d, tend_config_t **cfg, tend_diag_t *diag);

/* Where the config of a reread is kept, not applied whole: freed by the
 * next daemon_apply and by daemon_close; NULL when the config in force
 * is the one read last. */
tend_config_t **daemon_pending(daemon_t *d);

/* The supervisor: its processes, and its config in force (gen->config;
 * no gen before the first apply). */
struct sv *daemon_supervisor(daemon_t *d);

/* Shutting down: nothing may start or change any more. */
bool daemon_stopping(const daemon_t *d);

/* What the daemon exits with: 0, or with [tend] exit_code = first the
 * code of the program whose on_exit/on_fatal = shutdown brought it down. */
int daemon_exit_code(const daemon_t *d);

/* A config's notices and errors: to the daemon's log, or to stderr. */
void daemon_print_diag(const tend_diag_t *diag, bool to_log);

/* daemon_new and daemon_apply(cfg) with no config flags (cfg is taken
 * either way): autostart programs run. NULL when it cannot be set up. */
daemon_t *daemon_open(tend_config_t *cfg, const char *config_path);

/* Its loop: run it to let what the requests began go on. */
uv_loop_t *daemon_loop(daemon_t *d);

/* Hand req (an object with a string "cmd", as the control server passes
 * it on) and its data (not NULL, even when len is 0) to the dispatcher, on
 * a connection of its own whose reply frames are appended to out, now or
 * later as the loop runs (a get that waits, a follower); out must outlive
 * d. 0, -ENOMEM, or -ESHUTDOWN once the daemon has shut down (its
 * connections are closed). */
int daemon_request(daemon_t *d, json_t *req, const char *data, size_t len,
                   tend_buf_t *out);

/* The front ends' way in (the control server's, XML-RPC's): req
 * answered on c as its command's service answers, now or later. */
typedef struct ctl_conn ctl_conn_t;
typedef struct ctl_server ctl_server_t;
void daemon_dispatch(daemon_t *d, const tend_ctl_req_t *req, ctl_conn_t *c);
/* The control server (its connections with no socket are the other front
 * ends'), the supervisor's service, the config file it reads. */
ctl_server_t *daemon_ctl(daemon_t *d);
struct dsv *daemon_sv(daemon_t *d);
/* The pools' and the channels' services (the metrics page reads them). */
struct dpools *daemon_pools(daemon_t *d);
struct dchan *daemon_chans(daemon_t *d);
/* The events service (daemon/evsvc.h). */
struct devents *daemon_events(daemon_t *d);
const char *daemon_config_path(const daemon_t *d);

/* Shut down as `tend shutdown` does (if it has not yet) and run the loop
 * until all is closed, then free d. 0, or -EBUSY when a handle is still
 * open (d is not freed: the handles point into it). */
int daemon_close(daemon_t *d);

#endif
