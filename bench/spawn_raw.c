/* SPDX-License-Identifier: MIT */
/*
 * spawn_raw: the baseline for bench/spawn. It starts COUNT runs of PROGRAM
 * (default 2000 of /bin/true) with posix_spawn, keeping JOBS (default 2) in
 * flight, and reaps them with waitpid. Each child gets what a tend child
 * with TEND_STDIO_NULL on all three slots gets: /dev/null as stdin, stdout
 * and stderr, and a session of its own. It prints one line:
 *   spawn_raw COUNT SECONDS TASKS_PER_SECOND
 *
 * usage: spawn_raw [COUNT [JOBS [PROGRAM]]]
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long count = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
  long jobs = argc > 2 ? strtol(argv[2], NULL, 10) : 2;
  char *prog = argc > 3 ? argv[3] : "/bin/true";
  if (count <= 0 || jobs <= 0) {
    fprintf(stderr, "usage: spawn_raw [COUNT [JOBS [PROGRAM]]]\n");
    return 2;
  }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_RDWR, 0);
  posix_spawnattr_init(&attr);
  /* tend makes every child a session leader; do the same work here. */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);

  char *cargv[] = {prog, NULL};
  long started = 0, reaped = 0, failed = 0;
  double t0 = now();
  while (reaped < count) {
    while (started < count && started - reaped < jobs) {
      pid_t pid;
      int r = posix_spawn(&pid, prog, &fa, &attr, cargv, environ);
      if (r != 0) {
        fprintf(stderr, "spawn_raw: posix_spawn %s: %s\n", prog, strerror(r));
        return 1;
      }
      started++;
    }
    int st;
    if (waitpid(-1, &st, 0) < 0) {
      if (errno == EINTR)
        continue;
      perror("spawn_raw: waitpid");
      return 1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      failed++;
    reaped++;
  }
  double dt = now() - t0;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (failed > 0) {
    fprintf(stderr, "spawn_raw: %ld of %ld runs failed\n", failed, count);
    return 1;
  }
  printf("spawn_raw %ld %.6f %.1f\n", count, dt, (double)count / dt);
  return 0;
}
