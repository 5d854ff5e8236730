/* SPDX-License-Identifier: MIT */
/*
 * Loop helpers for the tests that drive libtend on a libuv loop of their
 * own (proc, sched, the dist library). Apart from testutil on purpose: the
 * CLI tests stay free of libuv and libtend, and only these link this.
 */
#ifndef TEND_LOOPUTIL_H
#define TEND_LOOPUTIL_H

#include <stdbool.h>
#include <uv.h>

/* Run loop until *cond is true (checked after every turn) or deadline_ms
 * have passed from now; returns *cond. A timer bounds the wait and is
 * closed again, so no handle is left behind. */
bool lu_run_until(uv_loop_t *loop, const bool *cond, int deadline_ms);

#endif
