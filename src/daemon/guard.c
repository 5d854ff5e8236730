/* SPDX-License-Identifier: MIT */
/* The guard of the daemon's process groups (see daemon/guard.h). */
#include "daemon/guard.h"
#include "core/fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int guard_fd = -1; /* our end: the write end, non-blocking */
static pid_t guard_pid;

struct rec {
  int32_t op; /* 'A' add, 'D' delete */
  int32_t pgid;
};

static _Noreturn void guard_main(int fd) {
  /* Only the pipe matters: signals sent to the daemon's group (a terminal's
   * Ctrl-C) must not take the guard down first. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_IGN);
  prctl(PR_SET_NAME, "tend-guard");
  int *set = NULL;
  size_t n = 0, cap = 0;
  struct rec r;
  ssize_t k;
  while ((k = read(fd, &r, sizeof(r))) == (ssize_t)sizeof(r) || (k < 0 && errno == EINTR)) {
    if (k < 0)
      continue;
    if (r.op == 'A') {
      if (n == cap) {
        size_t c = cap ? cap * 2 : 64;
        int *g = realloc(set, c * sizeof(*g));
        if (g == NULL)
          continue;
        set = g;
        cap = c;
      }
      set[n++] = r.pgid;
    } else {
      for (size_t i = 0; i < n; i++) {
        if (set[i] == r.pgid) {
          set[i] = set[--n];
          break;
        }
      }
    }
  }
  /* EOF: the daemon is gone. What it still supervised dies with it. */
  for (size_t i = 0; i < n; i++)
    kill(-set[i], SIGKILL);
  free(set);
  _exit(0);
}

int guard_start(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -errno;
  fd_pipe_grow(fds[1], TEND_PIPE_SIZE); /* 131 072 records before a drop */
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return -e;
  }
  if (pid == 0) {
    close(fds[1]);
    /* Hold nothing else of the daemon's open (its socket, its logs). */
    for (int fd = 3; fd < 1024; fd++)
      if (fd != fds[0])
        close(fd);
    guard_main(fds[0]);
  }
  close(fds[0]);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  guard_fd = fds[1];
  guard_pid = pid;
  return 0;
}

void guard_stop(void) {
  if (guard_fd < 0)
    return;
  close(guard_fd); /* EOF: it kills what is left on its list (nothing,
                      after a clean shutdown) and exits at once */
  guard_fd = -1;
  int status;
  while (waitpid(guard_pid, &status, 0) < 0 && errno == EINTR)
    ;
}

static void send_rec(int op, int pgid) {
  if (guard_fd < 0 || pgid <= 0)
    return;
  struct rec r = {op, pgid};
  /* 8 bytes: atomic on a pipe. A full pipe drops the record; the guard is
   * a safety net, not a bookkeeper. */
  ssize_t k = write(guard_fd, &r, sizeof(r));
  (void)k;
}

void guard_add(int pgid) { send_rec('A', pgid); }
void guard_del(int pgid) { send_rec('D', pgid); }
