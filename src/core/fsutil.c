/* SPDX-License-Identifier: MIT */
/* File-system helpers (see core/fsutil.h). */
#include "core/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdir_parents(const char *path) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0)
    return -ENOENT;
  if (n >= sizeof(buf))
    return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  for (char *s = strchr(buf + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
    if (s[-1] == '/')
      continue;
    *s = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
      return -errno;
    *s = '/';
  }
  return 0;
}
