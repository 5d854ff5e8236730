/* SPDX-License-Identifier: MIT */
/*
 * The guard: a tiny process the daemon forks at start that outlives a
 * SIGKILLed daemon just long enough to SIGKILL every process group the
 * daemon was supervising. PR_SET_PDEATHSIG reaches only direct children;
 * a program run as `sh -c 'server'` would leave `server` running without
 * a supervisor, and a restarted daemon would start a second one.
 *
 * The daemon tells the guard each group it starts and each it is done
 * with, over a pipe; the guard ignores signals and acts only when that
 * pipe reaches EOF: after a clean shutdown its list is empty.
 */
#ifndef TEND_GUARD_H
#define TEND_GUARD_H

/* Fork the guard. 0 or a negative errno (the daemon runs without one). */
int guard_start(void);
/* A process group to kill if the daemon dies / no more. No-ops without a
 * guard. */
void guard_add(int pgid);
void guard_del(int pgid);
/* At a clean exit: close the pipe and reap the guard (nothing lingers). */
void guard_stop(void);

#endif
