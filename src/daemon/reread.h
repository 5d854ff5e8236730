/* SPDX-License-Identifier: MIT */
/*
 * supervisord's finer-grained config changes (daemon/reread.c): reread
 * (reloadConfig) reads the file and keeps it pending, add / remove
 * (addProcessGroup, removeProcessGroup) bring one process group of it in
 * or take one out, avail (getAllConfigInfo) lists the processes of the
 * config read last. A group is what supervisord calls one: the programs
 * of a [group:g], else a [program:x] and its numprocs processes.
 *
 * The config read last is the pending one once a reread kept it, else the
 * one in force (the daemon's start and every reload apply the whole file,
 * and drop the pending one).
 */
#ifndef TEND_DAEMON_REREAD_H
#define TEND_DAEMON_REREAD_H

#include <jansson.h>

#include "daemon/daemon.h"

/* reloadConfig: read the config file again and keep it as the pending
 * config (replacing an earlier pending one); nothing is applied.
 * added, changed and removed: new JSON arrays of group names, compared with
 * the groups in force, each in supervisord's order (group priority, then
 * name). -ESHUTDOWN while shutting down (SHUTDOWN_STATE), -ENOMEM; a
 * negative errno when it does not load (-EINVAL for config errors:
 * CANT_REREAD) with *err a malloc'd text (its errors, "FILE:LINE: ..."
 * one a line, as reload gives them), the pending config unchanged. */
int daemon_reread(daemon_t *d, json_t **added, json_t **changed, json_t **removed, char **err);

/* addProcessGroup: put group of the config read last in force (its
 * autostart programs start). 0; -ENOENT not in the config read last
 * (BAD_NAME); -EEXIST in force already (ALREADY_ADDED); -ESHUTDOWN
 * (SHUTDOWN_STATE), -ENOMEM. */
int daemon_group_add(daemon_t *d, const char *group);

/* removeProcessGroup: take group out of force. 0; -ENOENT not in force
 * (BAD_NAME); -EBUSY a process of it is not STOPPED, EXITED or FATAL
 * (STILL_RUNNING); -ESHUTDOWN, -ENOMEM. It stays in the config read
 * last: an add puts it back. */
int daemon_group_remove(daemon_t *d, const char *group);

/* getAllConfigInfo: a new JSON array, one object per process of the
 * config read last, sorted by name (supervisord's: without "GROUP:"), with supervisord 4.2.5's fields in
 * its order and types ("none" for an unset directory, uid, log file or
 * serverurl); inuse: its group is in force. NULL when out of memory. */
json_t *daemon_config_info(daemon_t *d);

#endif
