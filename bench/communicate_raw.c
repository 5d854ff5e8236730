/* SPDX-License-Identifier: MIT */
/*
 * communicate_raw: the baseline for bench/communicate. It does what
 * `tend run --input-file FILE -- CMD` does, with nothing but pipe2, fork,
 * exec and one poll() loop: feed FILE to the child's stdin while copying its
 * stdout and stderr to ours, then wait for it and exit with its status.
 * It is meant to be the fastest plausible hand-written loop, so that tend
 * is measured against something fair: 1 MiB buffers, 1 MiB pipes (as tend
 * asks for), non-blocking descriptors, and each buffer written on as soon
 * as it is filled instead of waiting for another poll() round.
 *
 * --grow-stdout also grows our own stdout to 1 MiB when it is a pipe, as
 * tend run does since its zero-copy change: the like-for-like comparison.
 * Without it the pipe to the consumer stays the shell's 64 KiB.
 *
 * usage: communicate_raw [--grow-stdout] INPUT_FILE CMD [ARG...]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUFSZ (1 << 20)
#define PIPESZ (1 << 20)

/* One direction of the copy: from src to dst through buf. */
typedef struct {
  int src, dst;
  char *buf;
  size_t off, len; /* pending bytes are buf[off, len) */
  bool src_eof;
  bool src_is_file; /* never polled, never EAGAIN */
} flow_t;

static void die(const char *what) {
  fprintf(stderr, "communicate_raw: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void set_nonblock(int fd, bool on) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
    die("fcntl");
}

/* Move as much as the descriptors take right now, without blocking.
 * Returns false once the flow is finished (source at EOF, buffer empty).
 * Like libuv, it goes back to poll() after a short read from a pipe (it is
 * empty now) and after a short write (it is full now) rather than spend a
 * syscall to hear EAGAIN. */
static bool pump(flow_t *f) {
  bool may_read = true;
  for (;;) {
    while (f->off < f->len) {
      ssize_t n = write(f->dst, f->buf + f->off, f->len - f->off);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN)
          return true; /* wait for POLLOUT */
        if (errno == EPIPE) {
          /* The reader is gone: drop the rest, as a shell pipeline does. */
          f->src_eof = true;
          f->off = f->len = 0;
          return false;
        }
        die("write");
      }
      f->off += (size_t)n;
      if (f->off < f->len)
        return true;
    }
    if (f->src_eof)
      return false;
    if (!may_read)
      return true; /* wait for POLLIN */
    f->off = f->len = 0;
    ssize_t n = read(f->src, f->buf, BUFSZ);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        return true;
      die("read");
    }
    if (n == 0) {
      f->src_eof = true;
      return false;
    }
    f->len = (size_t)n;
    /* A short read from a regular file only means EOF is next. */
    may_read = f->src_is_file || n == BUFSZ;
  }
}

int main(int argc, char **argv) {
  bool grow_stdout = argc > 1 && strcmp(argv[1], "--grow-stdout") == 0;
  if (grow_stdout) {
    argv++;
    argc--;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: communicate_raw [--grow-stdout] INPUT_FILE CMD [ARG...]\n");
    return 125;
  }
  int in_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (in_fd < 0)
    die(argv[1]);
  /* The loop never polls the input (a regular file cannot be polled), so
   * anything else would be busy-read or block it. */
  struct stat st_in;
  if (fstat(in_fd, &st_in) != 0)
    die(argv[1]);
  if (!S_ISREG(st_in.st_mode)) {
    fprintf(stderr, "communicate_raw: %s: not a regular file\n", argv[1]);
    return 125;
  }

  /* Our stdout/stderr may be a pipe to a slow reader: an EPIPE must come
   * back as an error from write(), not kill us. */
  signal(SIGPIPE, SIG_IGN);

  int p_in[2], p_out[2], p_err[2];
  if (pipe2(p_in, O_CLOEXEC) || pipe2(p_out, O_CLOEXEC) || pipe2(p_err, O_CLOEXEC))
    die("pipe2");
  /* Same size tend asks for; best effort, as in tend. */
  fcntl(p_in[0], F_SETPIPE_SZ, PIPESZ);
  fcntl(p_out[0], F_SETPIPE_SZ, PIPESZ);
  fcntl(p_err[0], F_SETPIPE_SZ, PIPESZ);
  struct stat st_out;
  if (grow_stdout && fstat(1, &st_out) == 0 && S_ISFIFO(st_out.st_mode) &&
      fcntl(1, F_GETPIPE_SZ) < PIPESZ)
    fcntl(1, F_SETPIPE_SZ, PIPESZ);

  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    /* dup2 clears FD_CLOEXEC on the copies; everything else closes at exec. */
    if (dup2(p_in[0], 0) < 0 || dup2(p_out[1], 1) < 0 || dup2(p_err[1], 2) < 0)
      _exit(125);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[2], argv + 2);
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(p_in[0]);
  close(p_out[1]);
  close(p_err[1]);

  /* Our stdout and stderr become non-blocking for the run: a full output
   * pipe must not stall the input feed. Restored before exit, since the
   * open file description is shared with whoever started us. */
  int fl1 = fcntl(1, F_GETFL), fl2 = fcntl(2, F_GETFL);
  set_nonblock(p_in[1], true);
  set_nonblock(p_out[0], true);
  set_nonblock(p_err[0], true);
  set_nonblock(1, true);
  set_nonblock(2, true);

  flow_t fl[3] = {
      {.src = in_fd, .dst = p_in[1], .src_is_file = true},
      {.src = p_out[0], .dst = 1},
      {.src = p_err[0], .dst = 2},
  };
  /* live: not finished; ready: poll() said its descriptor can move (or it
   * was never polled yet). Only ready flows are pumped, so no syscall is
   * spent on an EAGAIN we could have predicted. */
  bool live[3], ready[3];
  for (int i = 0; i < 3; i++) {
    if ((fl[i].buf = malloc(BUFSZ)) == NULL)
      die("malloc");
    live[i] = ready[i] = true;
  }

  for (;;) {
    struct pollfd pfd[3];
    int map[3], n = 0;
    /* Outputs first: emptying the child's stdout lets it go on writing
     * while we feed it, instead of finding its pipe still full. */
    static const int order[3] = {1, 2, 0};
    for (int j = 0; j < 3; j++) {
      int i = order[j];
      if (!live[i])
        continue;
      if (ready[i] && !(live[i] = pump(&fl[i]))) {
        /* Close the child's stdin so it sees EOF; close drained outputs. */
        close(i == 0 ? fl[i].dst : fl[i].src);
        continue;
      }
      /* Pending bytes: wait until dst takes more; else until src has more.
       * The input flow always has bytes pending here (a regular file never
       * says EAGAIN), so a file is never polled. */
      if (fl[i].off < fl[i].len)
        pfd[n] = (struct pollfd){.fd = fl[i].dst, .events = POLLOUT};
      else
        pfd[n] = (struct pollfd){.fd = fl[i].src, .events = POLLIN};
      map[n++] = i;
    }
    if (n == 0)
      break;
    int r = poll(pfd, (nfds_t)n, -1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      die("poll");
    }
    for (int k = 0; k < n; k++)
      ready[map[k]] = pfd[k].revents != 0;
  }

  fcntl(1, F_SETFL, fl1);
  fcntl(2, F_SETFL, fl2);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      die("waitpid");
  for (int i = 0; i < 3; i++)
    free(fl[i].buf);
  close(in_fd);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}
