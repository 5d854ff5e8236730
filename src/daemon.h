/* SPDX-License-Identifier: MIT */
/*
 * The daemon's core alone (daemon.c): its supervisor, channels, pools and
 * workers on a loop of its own, and the dispatcher of control requests,
 * without the process-wide parts tend_daemon_run (tend/daemon.h) puts
 * around it (control socket, signals, log file, pid file, guard,
 * subreaper). What fuzz/fuzz_request.c drives: requests in, reply frames
 * out, no socket. One at a time per process (the request callbacks find it
 * through a global, as the daemon's do).
 */
#ifndef TEND_DAEMON_CORE_H
#define TEND_DAEMON_CORE_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "tend/buf.h"
#include "tend/config.h"

typedef struct daemon daemon_t;

/* The core of cfg (taken), started as the daemon starts it (autostart
 * programs run); reload reads config_path again. NULL when out of memory. */
daemon_t *daemon_open(tend_config_t *cfg, const char *config_path);

/* Its loop: run it to let what the requests began go on. */
uv_loop_t *daemon_loop(daemon_t *d);

/* Hand req (an object with a string "cmd", as the control server passes
 * it on) and its data (not NULL, even when len is 0) to the dispatcher, on a connection of its own whose
 * reply frames are appended to out, now or later as the loop runs (a get
 * that waits, a follower); out must outlive d. 0, -ENOMEM, or -ESHUTDOWN
 * once the daemon has shut down (its connections are closed). */
int daemon_request(daemon_t *d, json_t *req, const char *data, size_t len,
                   tend_buf_t *out);

/* Shut down as `tend shutdown` does and run the loop until all is closed,
 * then free d. 0, or -EBUSY when a handle is still open (d is not freed:
 * the handles point into it). */
int daemon_close(daemon_t *d);

#endif
