/* SPDX-License-Identifier: MIT */
/* systemd's readiness protocol (sd_notify), spoken directly: one datagram
 * to $NOTIFY_SOCKET. Without that variable every call does nothing. */
#ifndef TEND_NOTIFY_H
#define TEND_NOTIFY_H

/* Send "READY=1", "STOPPING=1", "STATUS=..." (lines joined by '\n').
 * 0, or a negative errno (the caller ignores it: a supervisor must not
 * stop because its own supervisor is not listening). */
int notify_send(const char *state);

#endif
