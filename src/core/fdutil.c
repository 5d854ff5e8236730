/* SPDX-License-Identifier: MIT */
/*
 * Descriptor hygiene. posix_spawn (like uv_spawn before it) closes nothing
 * it is not told to; anything tend (or a library inside it, or whoever
 * started tend) opened without O_CLOEXEC would leak into every child.
 * Marking the whole range close-on-exec right before each spawn is one
 * syscall and catches descriptors opened at any time, not only those
 * present at start-up.
 */
#include "build_config.h"
#include "core/fdutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#if HAVE_CLOSE_RANGE
#include <linux/close_range.h>
#endif

static int cloexec_by_proc(int lowfd) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -errno;
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end != '\0' || fd < lowfd || fd == self)
      continue;
    int fl = fcntl((int)fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC))
      fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
  }
  closedir(d);
  return 0;
}

int fd_cloexec_from(int lowfd) {
#if HAVE_CLOSE_RANGE
  if (close_range((unsigned)lowfd, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  /* Kernels before 5.11 answer EINVAL for the flag; fall through. */
#endif
  return cloexec_by_proc(lowfd);
}

int fd_pipe_grow(int fd, int size) {
  /* Never shrink a pipe someone else made larger. */
  int cur = fcntl(fd, F_GETPIPE_SZ);
  if (cur >= size)
    return cur;
  int r = fcntl(fd, F_SETPIPE_SZ, size);
  if (r >= 0)
    return r;
  /* Above /proc/sys/fs/pipe-max-size an unprivileged user gets EPERM: keep
   * the default size rather than fail, the pipe still works. */
  return -errno;
}
