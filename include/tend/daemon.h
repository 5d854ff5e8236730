/* SPDX-License-Identifier: MIT */
/* The supervisor daemon, in the foreground (systemd style). */
#ifndef TEND_DAEMON_H
#define TEND_DAEMON_H

/*
 * Load config_path (with config_flags, TEND_CONFIG_* of tend/config.h, also
 * at each reload) and supervise its programs until SIGTERM, SIGINT or a
 * `shutdown` request, or a program's on_exit/on_fatal = shutdown. Returns
 * the process exit status: 0 after a clean shutdown (with [tend] exit_code
 * = first, that program's code, 128 + signal), 2 for an invalid configuration (every error printed to stderr
 * as FILE:LINE: ...), 1 when the daemon cannot start (socket in use...).
 */
int tend_daemon_run(const char *config_path, unsigned config_flags);

#endif
