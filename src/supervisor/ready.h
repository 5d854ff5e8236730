/* SPDX-License-Identifier: MIT */
/*
 * Readiness of a program's child (ready = fd:N | tcp:HOST:PORT |
 * unix:PATH): s6's notification-fd (a newline on descriptor N), or a
 * connect that succeeds, tried every 100 ms. One watcher per child; it
 * reports once through its callback, ready or not ready within
 * ready_timeout, and the supervisor turns that into an event of its state
 * machine. It knows nothing of the supervisor.
 */
#ifndef TEND_SV_READY_H
#define TEND_SV_READY_H

#include <stdbool.h>
#include <uv.h>

#include "tend/config.h"

typedef struct svready svready_t;

/* ready: the child is ready; false: ready_timeout passed first. */
typedef void (*svready_cb)(void *data, bool ready);

/*
 * A watcher for c's ready= (not TEND_READY_STARTSECS), made before the
 * spawn. For fd:N, *child_fd is the write end the child gets as its
 * descriptor N (the caller closes its copy after the spawn); else -1.
 * c must outlive the watcher. 0 or a negative errno.
 */
int svready_open(uv_loop_t *loop, const tend_program_t *c, svready_cb cb, void *data,
                 svready_t **out, int *child_fd);

/* The child runs: start watching (the first connect, the timeout). */
void svready_start(svready_t *r);

/* Stop watching: the callback is never called after this. The memory
 * goes with the last handle; closed_cb(arg) then. */
void svready_close(svready_t *r, void (*closed_cb)(void *arg), void *arg);

#endif
