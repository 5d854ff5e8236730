/* SPDX-License-Identifier: MIT */
/* File-system helpers shared by the daemon's parts. */
#ifndef TEND_FSUTIL_H
#define TEND_FSUTIL_H

/* mkdir -p of path's parent directories (0755). 0 or a negative errno. */
int fs_mkdir_parents(const char *path);

#endif
