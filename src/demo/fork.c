/* SPDX-License-Identifier: MIT */
/*
 * tend demo fork — the tutorial's 多进程 › fork():
 *
 *     print('Process (%s) start...' % os.getpid())
 *     pid = os.fork()
 *     if pid == 0:
 *         print('I am child process (%s) and my parent is (%s).' % (os.getpid(), os.getppid()))
 *     else:
 *         print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
 *
 * os.fork() is this very system call: called once, it returns twice, 0 in
 * the child and the child's pid in the parent. What C adds is the
 * bookkeeping Python's runtime does for you:
 *   - stdio buffers live in our memory, and fork copies memory: a line
 *     still in stdout's buffer would be printed by both processes. Flush
 *     before fork.
 *   - the child leaves with _exit(), not by returning into main(): it must
 *     not run the parent's exit handlers or flush its copies again.
 *   - the parent reaps the child with waitpid(), or the child stays a
 *     zombie in the process table until the parent exits. Waiting also
 *     keeps the parent alive while the child calls getppid(), so the
 *     child really reports our pid (an orphan would report its new
 *     parent, often 1).
 */
#include "demo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int demo_fork(const struct demo_opts *o) {
  (void)o;
  printf("Process (%d) start...\n", (int)getpid());
  fflush(stdout);

  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "tend demo fork: fork: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    printf("I am child process (%d) and my parent is (%d).\n", (int)getpid(), (int)getppid());
    fflush(stdout);
    _exit(0);
  }
  printf("I (%d) just created a child process (%d).\n", (int)getpid(), (int)pid);

  int status;
  if (waitpid(pid, &status, 0) != pid) {
    fprintf(stderr, "tend demo fork: waitpid: %s\n", strerror(errno));
    return 1;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
