/* SPDX-License-Identifier: MIT */
/* File-system helpers shared by the daemon's parts. */
#ifndef TEND_FSUTIL_H
#define TEND_FSUTIL_H

/* mkdir -p of path's parent directories (0755). 0 or a negative errno. */
int fs_mkdir_parents(const char *path);

#include <sys/types.h>

/* An owner as supervisord's chown keys give it: "USER" or "USER:GROUP",
 * names or numbers; USER alone leaves the group ((gid_t)-1). 0 or
 * -EINVAL (no such user or group), -ENOMEM. */
int fs_owner_parse(const char *spec, uid_t *uid, gid_t *gid);

#endif
