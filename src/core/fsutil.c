/* SPDX-License-Identifier: MIT */
/* File-system helpers (see core/fsutil.h). */
#include "core/fsutil.h"

#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
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

/* A name, or a number when it is all digits. */
static int id_of(const char *s, bool user, unsigned *id) {
  char *end;
  unsigned long n = strtoul(s, &end, 10);
  if (*s != '\0' && *end == '\0') {
    *id = (unsigned)n;
    return 0;
  }
  if (user) {
    struct passwd *pw = getpwnam(s);
    if (pw == NULL)
      return -EINVAL;
    *id = pw->pw_uid;
  } else {
    struct group *gr = getgrnam(s);
    if (gr == NULL)
      return -EINVAL;
    *id = gr->gr_gid;
  }
  return 0;
}

int fs_owner_parse(const char *spec, uid_t *uid, gid_t *gid) {
  char *user = strdup(spec);
  if (user == NULL)
    return -ENOMEM;
  char *group = strchr(user, ':');
  if (group != NULL)
    *group++ = '\0';
  unsigned u, g = (unsigned)-1;
  int r = id_of(user, true, &u);
  if (r == 0 && group != NULL)
    r = id_of(group, false, &g);
  free(user);
  if (r == 0) {
    *uid = (uid_t)u;
    *gid = (gid_t)g;
  }
  return r;
}
