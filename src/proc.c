/* SPDX-License-Identifier: MIT */
/*
 * The process core: one child, its stdio, its exit, its process group.
 *
 * tend creates the stdio pipes itself (pipe2) instead of letting libuv make
 * them: libuv 1.44 hands children a socketpair, whose buffer cannot be grown
 * with F_SETPIPE_SZ, and a 1 MiB pipe is what lets a busy child stream at
 * full speed (see NOTES-libraries.md). The child's ends are passed with
 * UV_INHERIT_FD; our ends become uv_pipe_t handles.
 *
 * UV_PROCESS_DETACHED makes the child a session and process-group leader,
 * so kill(-pid) reaches every descendant that stays in the group.
 */
#include "tend/proc.h"
#include "fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void handle_closed_cb(uv_handle_t *h) {
  tend_proc_t *p = h->data;
  if (--p->open_handles == 0 && p->close_cb != NULL)
    p->close_cb(p);
}

static void close_handle(tend_proc_t *p, uv_handle_t *h) {
  if (h->data == p && !uv_is_closing(h))
    uv_close(h, handle_closed_cb);
}

static void proc_exit_cb(uv_process_t *proc, int64_t status, int signum) {
  tend_proc_t *p = proc->data;
  p->end_ns = uv_hrtime();
  p->exit_status = status;
  p->term_signal = signum;
  p->state = TEND_PROC_EXITED;
  if (p->exit_cb != NULL)
    p->exit_cb(p);
}

static void kill_timer_cb(uv_timer_t *t) {
  tend_proc_t *p = t->data;
  /* The leader may be gone while others in its group are not: the group
   * id stays reserved as long as one member lives, so this cannot hit an
   * unrelated process. */
  if (p->stop_flags & TEND_STOP_KILL_LEADER) {
    if (p->state == TEND_PROC_RUNNING && kill(p->pid, SIGKILL) == 0)
      p->killed = true;
    return;
  }
  if (kill(-p->pid, SIGKILL) == 0)
    p->killed = true;
}

static int check_cwd(const char *cwd) {
  struct stat st;
  if (stat(cwd, &st) != 0)
    return -errno;
  if (!S_ISDIR(st.st_mode))
    return -ENOTDIR;
  if (access(cwd, X_OK) != 0)
    return -errno;
  return 0;
}

/* Open the child's end of stdio slot i (child_fd) and, for a pipe, our end
 * as p->pipes[i]. child_fd is -1 for /dev/null. */
static int setup_stdio(tend_proc_t *p, int i, const tend_stdio_t *s,
                       int *child_fd, bool *child_owned) {
  *child_fd = -1;
  *child_owned = false;
  switch (s->kind) {
  case TEND_STDIO_NULL:
    return 0;
  case TEND_STDIO_INHERIT:
    *child_fd = i;
    return 0;
  case TEND_STDIO_FD:
    *child_fd = s->fd;
    return 0;
  case TEND_STDIO_STDOUT:
    return -EINVAL; /* resolved by the caller, after stdout */
  case TEND_STDIO_FILE: {
    int fd = open(s->path, s->flags | O_CLOEXEC, 0666);
    if (fd < 0)
      return -errno;
    *child_fd = fd;
    *child_owned = true;
    return 0;
  }
  case TEND_STDIO_PIPE: {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      return -errno;
    fd_pipe_grow(fds[0], TEND_PIPE_SIZE);
    int ours = i == 0 ? fds[1] : fds[0];
    *child_fd = i == 0 ? fds[0] : fds[1];
    *child_owned = true;
    int r = uv_pipe_init(p->loop, &p->pipes[i], 0);
    if (r == 0)
      r = uv_pipe_open(&p->pipes[i], ours);
    if (r != 0) {
      close(fds[0]);
      close(fds[1]);
      *child_fd = -1;
      *child_owned = false;
      return r;
    }
    p->pipes[i].data = p;
    p->has_pipe[i] = true;
    p->open_handles++;
    return 0;
  }
  }
  return -EINVAL;
}

int tend_proc_spawn(uv_loop_t *loop, tend_proc_t *p,
                    const tend_proc_options_t *opts, tend_proc_exit_cb exit_cb) {
  void *data = p->data;
  memset(p, 0, sizeof(*p));
  p->data = data;
  p->loop = loop;
  p->exit_cb = exit_cb;
  p->state = TEND_PROC_IDLE;

  int child_fds[3] = {-1, -1, -1};
  bool owned[3] = {false, false, false};
  int r;

  uv_timer_init(loop, &p->kill_timer);
  p->kill_timer.data = p;
  p->open_handles++;

  if (opts->cwd != NULL && (r = check_cwd(opts->cwd)) != 0) {
    p->err_what = TEND_PROC_ERR_CWD;
    return r;
  }

  for (int i = 0; i < 3; i++) {
    if (i == 2 && opts->stdio[2].kind == TEND_STDIO_STDOUT) {
      child_fds[2] = child_fds[1]; /* owned (and closed) as stdout */
      continue;
    }
    r = setup_stdio(p, i, &opts->stdio[i], &child_fds[i], &owned[i]);
    if (r != 0) {
      p->err_what = TEND_PROC_ERR_STDIO;
      goto fail;
    }
  }

  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = child_fds[i] < 0 ? UV_IGNORE : UV_INHERIT_FD;
    stdio[i].data.fd = child_fds[i];
  }

  uv_process_options_t uo;
  memset(&uo, 0, sizeof(uo));
  uo.exit_cb = proc_exit_cb;
  uo.file = opts->argv[0];
  uo.args = opts->argv;
  uo.env = opts->env;
  uo.cwd = opts->cwd;
  uo.flags = UV_PROCESS_DETACHED;
  if (opts->set_ids) {
    uo.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
    uo.uid = opts->uid;
    uo.gid = opts->gid;
  }
  uo.stdio_count = 3;
  uo.stdio = stdio;

  fd_cloexec_from(3);
  p->process.data = p;
  p->start_ns = uv_hrtime();
  /* uv_spawn initialises the handle even when it fails: it must be closed
   * either way, so it counts as open from here on. */
  p->open_handles++;
  /* No hook runs in the child before exec (libuv), but the loop is
   * single-threaded: a umask set around the fork is the child's alone. */
  mode_t old_umask = opts->set_umask ? umask((mode_t)opts->umask) : 0;
  r = uv_spawn(loop, &p->process, &uo);
  if (opts->set_umask)
    umask(old_umask);
  if (r != 0) {
    p->err_what = TEND_PROC_ERR_EXEC;
    goto fail;
  }
  p->pid = p->process.pid;
  p->state = TEND_PROC_RUNNING;

fail:
  for (int i = 0; i < 3; i++)
    if (owned[i])
      close(child_fds[i]);
  return r;
}

int tend_proc_signal(tend_proc_t *p, int signum, bool group) {
  if (p->pid <= 0)
    return -ESRCH;
  if (!group && p->state != TEND_PROC_RUNNING)
    return -ESRCH;
  if (kill(group ? -p->pid : p->pid, signum) != 0)
    return -errno;
  return 0;
}

int tend_proc_stop(tend_proc_t *p, int signum, uint64_t grace_ms, unsigned flags) {
  if (p->pid <= 0)
    return -ESRCH;
  bool group = !(flags & TEND_STOP_LEADER_ONLY);
  int r = tend_proc_signal(p, signum, group);
  /* A process stopped with SIGSTOP would hold the signal until continued. */
  if (signum != SIGKILL && signum != SIGCONT)
    tend_proc_signal(p, SIGCONT, group);
  if (!p->stopping) {
    p->stopping = true;
    p->stop_flags = flags;
    uv_timer_start(&p->kill_timer, kill_timer_cb, grace_ms, 0);
  }
  return r;
}

void tend_proc_close(tend_proc_t *p, tend_proc_close_cb cb) {
  if (p->state == TEND_PROC_CLOSING)
    return;
  if (p->state == TEND_PROC_EXITED && uv_is_active((uv_handle_t *)&p->kill_timer) &&
      !(p->stop_flags & TEND_STOP_KILL_LEADER))
    kill(-p->pid, SIGKILL);
  p->state = TEND_PROC_CLOSING;
  p->close_cb = cb;
  /* Close callbacks run on a later loop turn, never from here, so the
   * count cannot reach zero before every uv_close below was issued. */
  close_handle(p, (uv_handle_t *)&p->kill_timer);
  if (p->process.data == p)
    close_handle(p, (uv_handle_t *)&p->process);
  for (int i = 0; i < 3; i++)
    if (p->has_pipe[i])
      close_handle(p, (uv_handle_t *)&p->pipes[i]);
}

void tend_proc_close_pipe(tend_proc_t *p, int i) {
  if (p->has_pipe[i])
    close_handle(p, (uv_handle_t *)&p->pipes[i]);
}

uint64_t tend_proc_runtime_ns(const tend_proc_t *p) {
  if (p->start_ns == 0)
    return 0;
  uint64_t end = p->end_ns != 0 ? p->end_ns : uv_hrtime();
  return end - p->start_ns;
}
