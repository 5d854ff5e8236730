/* SPDX-License-Identifier: MIT */
/*
 * tend demo queue — the tutorial's 多进程 › 进程间的通信 (Queue):
 *
 *     def write(q):
 *         for value in ['A', 'B', 'C']:
 *             print('Put %s to queue...' % value)
 *             q.put(value)
 *             time.sleep(random.random())
 *     def read(q):
 *         while True:
 *             value = q.get(True)
 *             print('Get %s from queue' % value)
 *
 *     q = Queue()
 *     pw = Process(target=write, args=(q,)); pr = Process(target=read, args=(q,))
 *     pw.start(); pr.start(); pw.join(); pr.terminate()
 *
 * Under multiprocessing.Queue there is a pipe, and that is all this uses:
 * put() is write(), get() is read(), and each item is one byte, which a
 * pipe delivers whole and in order. The children are fork()s, as
 * Process.start() does on Linux; join() is waitpid(), terminate() is
 * SIGTERM.
 *
 * What C changes: Python's terminate() can land while the reader is
 * between get() and print(), and that item is lost. Here the reader is
 * born with SIGTERM blocked (the parent blocks it around the fork, so there
 * is no moment it is exposed): a blocked SIGTERM waits, readable on a
 * signalfd. The reader polls the queue and the signalfd together, always
 * takes an item first, and lets SIGTERM in only when the queue is empty.
 * The parent sends it after the writer has exited, so every item put is
 * printed before the reader dies: terminate() becomes deterministic.
 */
#include "demo.h"

#include "tend/text.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void queue_write(int q, unsigned seed, double scale) {
  printf("Process to write: %d\n", (int)getpid());
  for (const char *v = "ABC"; *v != '\0'; v++) {
    printf("Put %c to queue...\n", *v);
    if (write(q, v, 1) != 1)
      return;
    uv_sleep((unsigned)(demo_random(&seed) * 1000 * scale));
  }
}

static void queue_read(int q) {
  printf("Process to read: %d\n", (int)getpid());
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  int sig = signalfd(-1, &term, SFD_CLOEXEC); /* readable once SIGTERM is pending */
  if (sig < 0)
    sigprocmask(SIG_UNBLOCK, &term, NULL); /* then SIGTERM lands anywhere, as in Python */
  for (;;) {
    struct pollfd p[2] = {{.fd = q, .events = POLLIN}, {.fd = sig, .events = POLLIN}};
    if (poll(p, 2, -1) < 0)
      continue;
    if (p[0].revents != 0) { /* q.get(True): an item first, always */
      char value;
      if (read(q, &value, 1) != 1)
        return; /* every writer is gone (the parent holds one, so not here) */
      printf("Get %c from queue\n", value);
    } else if (p[1].revents != 0) { /* the queue is empty: let SIGTERM in */
      sigprocmask(SIG_UNBLOCK, &term, NULL);
    }
  }
}

int demo_queue(const struct demo_opts *o) {
  int q[2];
  if (pipe(q) != 0) {
    fprintf(stderr, "tend demo queue: pipe: %s\n", strerror(errno));
    return 1;
  }
  fflush(stdout);
  pid_t pw = fork(); /* pw.start() */
  if (pw == 0) {
    close(q[0]);
    queue_write(q[1], o->seed, o->scale);
    fflush(stdout);
    _exit(0);
  }
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &old); /* the reader is born with SIGTERM blocked */
  pid_t pr = pw < 0 ? -1 : fork(); /* pr.start() */
  if (pr == 0) {
    close(q[1]);
    queue_read(q[0]);
    fflush(stdout);
    _exit(0);
  }
  int err = errno;
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(q[0]); /* the parent keeps the write end open, as the Queue object does */

  int wstatus = 0, rstatus = 0;
  if (pw > 0)
    waitpid(pw, &wstatus, 0); /* pw.join() */
  if (pr > 0) {
    kill(pr, SIGTERM); /* pr.terminate() */
    waitpid(pr, &rstatus, 0);
    char sig[32];
    if (WIFSIGNALED(rstatus))
      printf("Reader (%d) terminated by %s.\n", (int)pr,
             tend_signame(WTERMSIG(rstatus), sig, sizeof(sig)));
  }
  close(q[1]);
  if (pw < 0 || pr < 0) {
    fprintf(stderr, "tend demo queue: fork: %s\n", strerror(err));
    return 1;
  }
  return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? 0 : 1;
}
