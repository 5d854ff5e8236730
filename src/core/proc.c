/* SPDX-License-Identifier: MIT */
/*
 * The process core: one child, its stdio, its exit, its process group.
 *
 * Children are started with glibc's posix_spawn, not uv_spawn. libuv 1.44
 * forks on Linux (the page tables are copied, a cost that grows with the
 * daemon's memory), waits on an error pipe, resets signals one by one in
 * the child, and learns of exits through SIGCHLD, a self-pipe and a waitpid
 * per live child: 0.69x the rate of a plain posix_spawn loop (bench/).
 * glibc clones with CLONE_VM | CLONE_VFORK, so nothing is copied, and an
 * exec error (ENOENT, EACCES) is posix_spawn's return value. The attributes
 * give each child what UV_PROCESS_DETACHED and libuv's child code gave it:
 * a new session and process group (POSIX_SPAWN_SETSID, so kill(-pid)
 * reaches every descendant that stays in the group), every signal at its
 * default (SETSIGDEF) and an empty signal mask (SETSIGMASK).
 *
 * argv[0] is searched the way execvp searches, but in the PATH of the
 * child's environment, as libuv did; the search runs here in the parent
 * (one stat per PATH entry instead of one failed clone+exec), and the
 * errors are execvp's: ENOENT when nothing is found, EACCES when only
 * something not executable was.
 *
 * Exit: right after the spawn a pidfd is opened on the child (it is not
 * reaped yet, so its pid cannot have been reused), polled on the loop, and
 * waitid(P_PIDFD) reaps exactly that child once it is readable. There is no
 * SIGCHLD handler and no waitpid(-1): nothing here can take another child's
 * status, and a daemon's orphan reaper needs only skip the pids of procs.
 *
 * Running as another user (set_ids) needs setgroups, setgid and setuid in
 * the child, which posix_spawn cannot do: that rare path forks, does the
 * same steps by hand and reports a failed step's errno through a
 * close-on-exec pipe; it ends with a pidfd too.
 *
 * tend creates the stdio pipes itself (pipe2) and grows them to 1 MiB: a
 * busy child streams at full speed through a large pipe (see
 * NOTES-libraries.md). Our ends become uv_pipe_t handles.
 */
#include "tend/proc.h"
#include "core/fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* execvp's search path when the environment has no PATH. */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* Everything a spawn needs, prepared in the parent. */
struct plan {
  int src[3];        /* what the child's fd i is dup2'ed from; -1: /dev/null */
  int extra_src;     /* -1, or dup2'ed onto extra_target after stdio */
  int extra_target;
  char **argv;
  char **envp;
  const char *cwd;
  char **cands;      /* the files to try, in order (NULL-terminated) */
  bool search;       /* cands come from a PATH search */
  char **sh_argv;    /* "/bin/sh", cand, argv[1]...: for a file without #! */
  gid_t *groups;     /* set_ids */
  bool set_ids;
  pid_t die_with;    /* > 0: SIGKILL the child when this parent dies */
  int ngroups;
  /* The parent's descriptors for the spawn, closed once it is done. */
  int child_fds[3];  /* what opts->stdio opened or named, per slot */
  bool owned[3];     /* child_fds[i] was opened here */
  int moved[4];      /* copies above 2: stdio, extra; -1: none */
};

/* Which step of a spawn failed, for err_what. */
enum { STEP_STDIO = 1, STEP_CWD, STEP_EXEC };

static void handle_closed_cb(uv_handle_t *h) {
  tend_proc_t *p = h->data;
  if (h == (uv_handle_t *)&p->exit_poll && p->pidfd >= 0) {
    close(p->pidfd);
    p->pidfd = -1;
  }
  if (--p->open_handles == 0 && p->close_cb != NULL)
    p->close_cb(p);
}

static void close_handle(tend_proc_t *p, uv_handle_t *h) {
  if (h->data == p && !uv_is_closing(h))
    uv_close(h, handle_closed_cb);
}

/* ---- the children this process will reap -------------------------------- */

/* A hash of the live tend_proc_t by pid: a subreaper's SIGCHLD handler asks
 * about every child it sees, and a daemon may have thousands. */
#define LIVE_BUCKETS 1024
static LIST_HEAD(, tend_proc_s) live_table[LIVE_BUCKETS];

static void live_add(tend_proc_t *p) {
  LIST_INSERT_HEAD(&live_table[(unsigned)p->pid % LIVE_BUCKETS], p, live_link);
  p->live = true;
}

static void live_del(tend_proc_t *p) {
  if (!p->live)
    return;
  LIST_REMOVE(p, live_link);
  p->live = false;
}

static void (*watch_started)(int pid);
static void (*watch_closed)(int pid);

void tend_proc_set_watch(void (*started)(int pid), void (*closed)(int pid)) {
  watch_started = started;
  watch_closed = closed;
}

bool tend_proc_is_child(int pid) {
  tend_proc_t *p;
  LIST_FOREACH(p, &live_table[(unsigned)pid % LIVE_BUCKETS], live_link)
    if (p->pid == pid)
      return true;
  return false;
}

/* The child has been reaped (r == 0, info filled) or reaping failed
 * (r != 0): record how it ended and tell the owner. */
static void proc_reaped(tend_proc_t *p, int r, const siginfo_t *info) {
  live_del(p);
  p->end_ns = uv_hrtime();
  if (r != 0) {
    /* ECHILD: someone else reaped it (SIGCHLD ignored, or a waitpid(-1)
     * elsewhere). It is gone; how it ended is not known. */
    p->exit_status = -1;
    p->term_signal = 0;
  } else if (info->si_code == CLD_EXITED) {
    p->exit_status = info->si_status;
    p->term_signal = 0;
  } else { /* CLD_KILLED, CLD_DUMPED */
    p->exit_status = 0;
    p->term_signal = info->si_status;
  }
  p->state = TEND_PROC_EXITED;
  if (p->exit_cb != NULL)
    p->exit_cb(p);
}

static void exit_poll_cb(uv_poll_t *h, int status, int events) {
  tend_proc_t *p = h->data;
  (void)status;
  (void)events;
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  int r;
  do
    r = waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &info, WEXITED | WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0)
    return; /* not exited yet: a spurious wakeup */
  uv_poll_stop(h);
  proc_reaped(p, r, &info);
}

/* Without pidfd_open (kernels before 5.3, or valgrind 3.19, which does not
 * know the call): exits come through SIGCHLD, and each such child is
 * reaped by its own pid (never waitpid(-1), which would steal others').
 * The handle lives as long as the process: it is unref'ed, so it keeps no
 * loop running. */
static uv_signal_t fallback_sigchld;
static bool fallback_on;

static void fallback_cb(uv_signal_t *h, int signum) {
  (void)h;
  (void)signum;
  for (int b = 0; b < LIVE_BUCKETS; b++) {
    for (tend_proc_t *p = LIST_FIRST(&live_table[b]), *next; p != NULL; p = next) {
      next = LIST_NEXT(p, live_link);
      if (p->pidfd >= 0 || p->state != TEND_PROC_RUNNING)
        continue;
      siginfo_t info;
      memset(&info, 0, sizeof(info));
      int r = waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG);
      if (r == 0 && info.si_pid == 0)
        continue;
      proc_reaped(p, r, &info);
    }
  }
}

static int watch_by_sigchld(tend_proc_t *p) {
  if (!fallback_on) {
    int r = uv_signal_init(p->loop, &fallback_sigchld);
    if (r == 0)
      r = uv_signal_start(&fallback_sigchld, fallback_cb, SIGCHLD);
    if (r != 0)
      return r;
    uv_unref((uv_handle_t *)&fallback_sigchld);
    fallback_on = true;
  }
  return 0;
}

static void fallback_closed_cb(uv_handle_t *h) { (void)h; }

void tend_proc_release(void) {
  if (fallback_on) {
    fallback_on = false;
    uv_close((uv_handle_t *)&fallback_sigchld, fallback_closed_cb);
  }
}

/* Once per process: does the kernel (or valgrind) know pidfd_open? If not,
 * the SIGCHLD handler must be in place before the first child can exit. */
static void probe_pidfd(uv_loop_t *loop) {
  static bool probed;
  if (probed)
    return;
  probed = true;
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd >= 0) {
    close(fd);
    return;
  }
  if (errno == ENOSYS) {
    tend_proc_t tmp = {.loop = loop};
    watch_by_sigchld(&tmp);
  }
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

/* ---- the search for argv[0] ------------------------------------------ */

static const char *env_path(char *const *env) {
  if (env == NULL) {
    const char *path = getenv("PATH");
    return path != NULL ? path : DEFAULT_PATH;
  }
  for (; *env != NULL; env++)
    if (strncmp(*env, "PATH=", 5) == 0)
      return *env + 5;
  return DEFAULT_PATH;
}

/* The files execvp would try for `file`, in one allocation: `file` itself
 * when it holds a '/', else each PATH entry joined with it (an empty entry
 * is the current directory). NULL when out of memory. */
static char **path_candidates(const char *file, char *const *env, bool *search) {
  *search = strchr(file, '/') == NULL;
  const char *path = *search ? env_path(env) : "";
  size_t flen = strlen(file), plen = strlen(path), n = 1;
  for (const char *s = path; *s != '\0'; s++)
    n += *s == ':';
  char **v = malloc((n + 1) * sizeof(char *) + plen + n * (flen + 2));
  if (v == NULL)
    return NULL;
  char *out = (char *)(v + n + 1);
  if (!*search) {
    v[0] = memcpy(out, file, flen + 1);
    v[1] = NULL;
    return v;
  }
  size_t k = 0;
  for (const char *s = path;; s++) {
    const char *e = strchr(s, ':');
    size_t dlen = e != NULL ? (size_t)(e - s) : strlen(s);
    v[k++] = out;
    if (dlen > 0) {
      memcpy(out, s, dlen);
      out += dlen;
      *out++ = '/';
    }
    memcpy(out, file, flen + 1);
    out += flen + 1;
    if (e == NULL)
      break;
    s = e;
  }
  v[k] = NULL;
  return v;
}

/* Whether execvp goes on to the next PATH entry after this error. */
static bool search_goes_on(int err) {
  switch (err) {
  case EACCES:
  case ENOENT:
  case ESTALE:
  case ENOTDIR:
  case ENODEV:
  case ETIMEDOUT:
    return true;
  default:
    return false;
  }
}

/* The error execve would give for a candidate, as far as stat tells it:
 * skipping a missing file here saves a clone and an exec. */
static int exec_precheck(const char *file) {
  struct stat st;
  if (stat(file, &st) != 0)
    return errno;
  return S_ISREG(st.st_mode) ? 0 : EACCES;
}

/* execvp's fallback for a file the kernel cannot execute (no #! line):
 * run it with /bin/sh. */
static int make_sh_argv(struct plan *pl) {
  size_t argc = 0;
  while (pl->argv[argc] != NULL)
    argc++;
  pl->sh_argv = malloc((argc + 2) * sizeof(char *));
  if (pl->sh_argv == NULL)
    return ENOMEM;
  pl->sh_argv[0] = "/bin/sh";
  pl->sh_argv[1] = NULL;
  memcpy(pl->sh_argv + 2, pl->argv + 1, argc * sizeof(char *));
  return 0;
}

/* ---- posix_spawn ------------------------------------------------------ */

static int spawn_posix(struct plan *pl, pid_t *pid, int *step) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t fa;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  int e = posix_spawnattr_init(&attr);
  if (e != 0)
    return e;
  e = posix_spawn_file_actions_init(&fa);
  if (e != 0) {
    posix_spawnattr_destroy(&attr);
    return e;
  }
  e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETSIGMASK);
  if (e == 0)
    e = posix_spawnattr_setsigdefault(&attr, &all);
  if (e == 0)
    e = posix_spawnattr_setsigmask(&attr, &none);
  /* Sources below 3 were moved above 2 (unless already in place), so no
   * dup2 here can overwrite another one's source, whatever the order. */
  for (int i = 0; i < 3 && e == 0; i++)
    e = pl->src[i] < 0
            ? posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_RDWR, 0)
            : posix_spawn_file_actions_adddup2(&fa, pl->src[i], i);
  if (e == 0 && pl->extra_src >= 0)
    e = posix_spawn_file_actions_adddup2(&fa, pl->extra_src, pl->extra_target);
  if (e == 0 && pl->cwd != NULL)
    e = posix_spawn_file_actions_addchdir_np(&fa, pl->cwd);
  if (e != 0) {
    *step = STEP_STDIO;
    goto out;
  }

  *step = STEP_EXEC;
  bool eacces = false;
  e = ENOENT;
  for (char **c = pl->cands; *c != NULL; c++) {
    /* A relative candidate is resolved in the child's cwd: stat it here
     * only when that is ours. */
    e = pl->search && (**c == '/' || pl->cwd == NULL) ? exec_precheck(*c) : 0;
    if (e == 0) {
      e = posix_spawn(pid, *c, &fa, &attr, pl->argv, pl->envp);
      if (e == ENOEXEC && pl->sh_argv == NULL)
        e = make_sh_argv(pl) == 0 ? ENOEXEC : ENOMEM;
      if (e == ENOEXEC) {
        pl->sh_argv[1] = *c;
        e = posix_spawn(pid, "/bin/sh", &fa, &attr, pl->sh_argv, pl->envp);
      }
    }
    if (e == 0 || !pl->search || !search_goes_on(e))
      break;
    eacces |= e == EACCES;
  }
  if (e != 0 && pl->search && search_goes_on(e) && eacces)
    e = EACCES;
out:
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return e;
}

/* ---- fork, for set_ids and die_with_parent ---------------------------- */

struct child_err {
  int step;
  int err;
};

static _Noreturn void child_fail(int errfd, int step, int err) {
  struct child_err ce = {step, err};
  ssize_t n;
  do
    n = write(errfd, &ce, sizeof(ce));
  while (n < 0 && errno == EINTR);
  _exit(127);
}

/* In the forked child: only async-signal-safe calls from here on (the
 * daemon may have other threads, e.g. libuv's pool). Everything that
 * allocates was prepared in the parent. */
static _Noreturn void child_exec(struct plan *pl, uid_t uid, gid_t gid, int errfd) {
  if (setsid() < 0)
    child_fail(errfd, STEP_EXEC, errno);
  for (int i = 0; i < 3; i++) {
    int s = pl->src[i];
    if (s == i) {
      int fl = fcntl(i, F_GETFD);
      if (fl < 0 || fcntl(i, F_SETFD, fl & ~FD_CLOEXEC) < 0)
        child_fail(errfd, STEP_STDIO, errno);
    } else if (s >= 0) {
      if (dup2(s, i) < 0)
        child_fail(errfd, STEP_STDIO, errno);
    } else {
      int fd = open("/dev/null", i == 0 ? O_RDONLY : O_RDWR);
      if (fd < 0)
        child_fail(errfd, STEP_STDIO, errno);
      if (fd != i) {
        if (dup2(fd, i) < 0)
          child_fail(errfd, STEP_STDIO, errno);
        close(fd);
      }
    }
  }
  if (pl->extra_src >= 0) {
    if (pl->extra_src == pl->extra_target) {
      int fl = fcntl(pl->extra_src, F_GETFD);
      if (fl < 0 || fcntl(pl->extra_src, F_SETFD, fl & ~FD_CLOEXEC) < 0)
        child_fail(errfd, STEP_STDIO, errno);
    } else if (dup2(pl->extra_src, pl->extra_target) < 0) {
      child_fail(errfd, STEP_STDIO, errno);
    }
  }
  if (pl->cwd != NULL && chdir(pl->cwd) < 0)
    child_fail(errfd, STEP_CWD, errno);
  if (pl->set_ids) {
    /* As libuv: a failure to set the groups is not fatal (a non-root tend
     * may "switch" to its own uid and gid). */
    (void)setgroups((size_t)pl->ngroups, pl->groups);
    if (setgid(gid) < 0 || setuid(uid) < 0)
      child_fail(errfd, STEP_EXEC, errno);
  }
  if (pl->die_with > 0) {
    /* Killed if the daemon dies, even between fork and here: a child that
     * lost its supervisor must not run on unwatched. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != pl->die_with)
      child_fail(errfd, STEP_EXEC, ECHILD);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    (void)sigaction(sig, &sa, NULL); /* KILL, STOP and glibc's own refuse */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  bool eacces = false;
  int e = ENOENT;
  for (char **c = pl->cands; *c != NULL; c++) {
    execve(*c, pl->argv, pl->envp);
    e = errno;
    if (e == ENOEXEC && pl->sh_argv != NULL) {
      pl->sh_argv[1] = *c;
      execve("/bin/sh", pl->sh_argv, pl->envp);
      e = errno;
    }
    if (!pl->search || !search_goes_on(e))
      break;
    eacces |= e == EACCES;
  }
  if (pl->search && search_goes_on(e) && eacces)
    e = EACCES;
  child_fail(errfd, STEP_EXEC, e);
}

/* The supplementary groups of user, as initgroups would set them; none
 * without a user (libuv's behaviour). */
static int user_groups(struct plan *pl, const char *user, gid_t gid) {
  if (user == NULL)
    return 0;
  int n = 32;
  for (;;) {
    gid_t *g = realloc(pl->groups, (size_t)n * sizeof(gid_t));
    if (g == NULL)
      return ENOMEM;
    pl->groups = g;
    int got = n;
    if (getgrouplist(user, gid, g, &got) >= 0) {
      pl->ngroups = got;
      return 0;
    }
    n = got > n ? got : n * 2;
  }
}

static int spawn_fork(struct plan *pl, const tend_proc_options_t *opts, pid_t *pid,
                      int *step) {
  *step = STEP_EXEC;
  int e = user_groups(pl, opts->user, (gid_t)opts->gid);
  if (e == 0)
    e = make_sh_argv(pl);
  if (e != 0)
    return e;
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0)
    return errno;
  /* The child's dup2s onto 0-2 must not hit the error pipe. */
  for (int i = 0; i < 2; i++) {
    if (ep[i] < 3) {
      int fd = fcntl(ep[i], F_DUPFD_CLOEXEC, 3);
      e = errno;
      close(ep[i]);
      ep[i] = fd;
    }
  }
  if (ep[0] < 0 || ep[1] < 0) {
    if (ep[0] >= 0)
      close(ep[0]);
    if (ep[1] >= 0)
      close(ep[1]);
    return e;
  }
  /* No handler of ours may run in the child before it resets them all. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  *pid = fork();
  if (*pid == 0)
    child_exec(pl, (uid_t)opts->uid, (gid_t)opts->gid, ep[1]);
  e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(ep[1]);
  if (*pid < 0) {
    close(ep[0]);
    return e;
  }
  struct child_err ce;
  ssize_t n;
  do
    n = read(ep[0], &ce, sizeof(ce));
  while (n < 0 && errno == EINTR);
  close(ep[0]);
  if (n == 0)
    return 0; /* the exec closed the pipe */
  while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
    ;
  if (n != (ssize_t)sizeof(ce))
    return EIO;
  *step = ce.step;
  return ce.err;
}

/* ---- exit watch ------------------------------------------------------- */

static int watch_exit(tend_proc_t *p) {
  int fd = (int)syscall(SYS_pidfd_open, p->pid, 0); /* O_CLOEXEC always */
  if (fd < 0 && errno == ENOSYS)
    return watch_by_sigchld(p);
  if (fd < 0)
    return -errno;
  int r = uv_poll_init(p->loop, &p->exit_poll, fd);
  if (r != 0) {
    close(fd);
    return r;
  }
  /* From here the handle exists: tend_proc_close closes it, then the fd. */
  p->pidfd = fd;
  p->exit_poll.data = p;
  p->open_handles++;
  return uv_poll_start(&p->exit_poll, UV_READABLE, exit_poll_cb);
}

/* p as new (the caller's data kept), its kill timer its first handle. */
static void proc_reset(tend_proc_t *p, uv_loop_t *loop, tend_proc_exit_cb exit_cb) {
  void *data = p->data;
  memset(p, 0, sizeof(*p));
  p->data = data;
  p->loop = loop;
  p->exit_cb = exit_cb;
  p->state = TEND_PROC_IDLE;
  p->pidfd = -1;
  probe_pidfd(loop);
  uv_timer_init(loop, &p->kill_timer);
  p->kill_timer.data = p;
  p->open_handles++;
}

/* What is wrong before anything is opened: no argv[0], or a cwd that
 * cannot be entered. */
static int check_request(tend_proc_t *p, const tend_proc_options_t *opts) {
  int r;
  if (opts->argv == NULL || opts->argv[0] == NULL || opts->argv[0][0] == '\0') {
    p->err_what = TEND_PROC_ERR_EXEC;
    return opts->argv == NULL || opts->argv[0] == NULL ? -EINVAL : -ENOENT;
  }
  if (opts->cwd != NULL && (r = check_cwd(opts->cwd)) != 0) {
    p->err_what = TEND_PROC_ERR_CWD;
    return r;
  }
  return 0;
}

/* The child's stdio descriptors (and our pipe ends), slot by slot. */
static int open_stdio(tend_proc_t *p, const tend_proc_options_t *opts, struct plan *pl) {
  for (int i = 0; i < 3; i++) {
    if (i == 2 && opts->stdio[2].kind == TEND_STDIO_STDOUT) {
      pl->child_fds[2] = pl->child_fds[1]; /* owned (and closed) as stdout */
      continue;
    }
    int r = setup_stdio(p, i, &opts->stdio[i], &pl->child_fds[i], &pl->owned[i]);
    if (r != 0)
      return r;
  }
  return 0;
}

/* pl->src from the stdio descriptors, each one checked open. */
static int plan_stdio(struct plan *pl) {
  for (int i = 0; i < 3; i++) {
    int s = pl->child_fds[i];
    pl->src[i] = s;
    /* A descriptor of the caller's (INHERIT, FD) may be closed: say so as
     * a stdio error rather than as a failed exec. */
    if (s >= 0 && !pl->owned[i] && fcntl(s, F_GETFD) < 0)
      return -errno;
    /* A source below 3 that is not its own target could be overwritten by
     * an earlier dup2 in the child (our stdin was closed, so a pipe landed
     * on 0; or stdout and stderr swapped): use a copy above 2. */
    if (s >= 0 && s < 3 && s != i) {
      if ((pl->moved[i] = fcntl(s, F_DUPFD_CLOEXEC, 3)) < 0)
        return -errno;
      pl->src[i] = pl->moved[i];
    }
  }
  return 0;
}

/* The extra descriptor (opts->has_extra), checked open. */
static int plan_extra(struct plan *pl, const tend_proc_options_t *opts) {
  pl->extra_src = -1;
  if (!opts->has_extra)
    return 0;
  if (opts->extra_target < 3 || fcntl(opts->extra_src, F_GETFD) < 0)
    return opts->extra_target < 3 ? -EINVAL : -errno;
  pl->extra_src = opts->extra_src;
  pl->extra_target = opts->extra_target;
  /* Below 3 it would have been replaced by the stdio dup2s. */
  if (pl->extra_src < 3) {
    if ((pl->moved[3] = fcntl(pl->extra_src, F_DUPFD_CLOEXEC, 3)) < 0)
      return -errno;
    pl->extra_src = pl->moved[3];
  }
  return 0;
}

/* Start the child as pl says: posix_spawn, or fork for what posix_spawn
 * cannot do (set_ids, die_with_parent). p->err_what names a failed step. */
static int start_child(tend_proc_t *p, struct plan *pl, const tend_proc_options_t *opts) {
  /* posix_spawn closes nothing it was not asked to: anything opened
   * without O_CLOEXEC, by anyone, would leak into the child. */
  fd_cloexec_from(3);
  p->start_ns = uv_hrtime();
  /* The loop is single-threaded: a umask set around the spawn is the
   * child's alone. */
  mode_t old_umask = opts->set_umask ? umask((mode_t)opts->umask) : 0;
  pid_t pid = -1;
  int step = STEP_EXEC;
  pl->set_ids = opts->set_ids;
  pl->die_with = opts->die_with_parent ? getpid() : 0;
  int e = opts->set_ids || opts->die_with_parent ? spawn_fork(pl, opts, &pid, &step)
                                                 : spawn_posix(pl, &pid, &step);
  if (opts->set_umask)
    umask(old_umask);
  if (e != 0) {
    p->err_what = step == STEP_CWD    ? TEND_PROC_ERR_CWD
                  : step == STEP_STDIO ? TEND_PROC_ERR_STDIO
                                       : TEND_PROC_ERR_EXEC;
    return -e;
  }
  p->pid = pid;
  return 0;
}

/* Watch the started child's exit, and count it live. */
static int watch_child(tend_proc_t *p) {
  int r = watch_exit(p);
  if (r != 0) {
    /* Out of descriptors, most likely. A child nobody watches must not run
     * on: kill its group and reap it (at once, it cannot ignore SIGKILL). */
    kill(-p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
      ;
    p->pid = 0;
    p->err_what = TEND_PROC_ERR_EXEC;
    return r;
  }
  p->state = TEND_PROC_RUNNING;
  live_add(p);
  if (watch_started != NULL)
    watch_started(p->pid);
  return 0;
}

/* An empty plan: no descriptor, nothing allocated. */
static void plan_init(struct plan *pl) {
  memset(pl, 0, sizeof(*pl));
  for (int i = 0; i < 3; i++)
    pl->child_fds[i] = -1;
  for (int i = 0; i < 4; i++)
    pl->moved[i] = -1;
}

/* Close the parent's descriptors of a spawn and free its plan. */
static void plan_free(struct plan *pl) {
  for (int i = 0; i < 3; i++)
    if (pl->owned[i])
      close(pl->child_fds[i]);
  for (int i = 0; i < 4; i++)
    if (pl->moved[i] >= 0)
      close(pl->moved[i]);
  free(pl->cands);
  free(pl->sh_argv);
  free(pl->groups);
}

int tend_proc_spawn(uv_loop_t *loop, tend_proc_t *p,
                    const tend_proc_options_t *opts, tend_proc_exit_cb exit_cb) {
  struct plan pl;
  plan_init(&pl);
  proc_reset(p, loop, exit_cb);
  int r = check_request(p, opts);
  if (r != 0)
    return r;
  r = open_stdio(p, opts, &pl);
  if (r == 0)
    r = plan_stdio(&pl);
  if (r == 0)
    r = plan_extra(&pl, opts);
  if (r != 0) {
    p->err_what = TEND_PROC_ERR_STDIO;
    goto out;
  }
  pl.argv = opts->argv;
  pl.envp = opts->env != NULL ? opts->env : environ;
  pl.cwd = opts->cwd;
  pl.cands = path_candidates(opts->argv[0], opts->env, &pl.search);
  if (pl.cands == NULL) {
    r = -ENOMEM;
    p->err_what = TEND_PROC_ERR_EXEC;
    goto out;
  }
  r = start_child(p, &pl, opts);
  if (r == 0)
    r = watch_child(p);
out:
  plan_free(&pl);
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
    /* The grace counts from the signal, not from the loop's last wake-up
     * (its cached time): on a busy machine that is tens of ms earlier,
     * and the SIGKILL would come before the grace the user gave. */
    uv_update_time(p->kill_timer.loop);
    uv_timer_start(&p->kill_timer, kill_timer_cb, grace_ms, 0);
  }
  return r;
}

void tend_proc_close(tend_proc_t *p, tend_proc_close_cb cb) {
  if (p->state == TEND_PROC_CLOSING)
    return;
  /* Closed while still running (against the contract): nothing here will
   * reap it any more, so an orphan reaper may. */
  live_del(p);
  if (watch_closed != NULL && p->pid > 0)
    watch_closed(p->pid);
  if (p->state == TEND_PROC_EXITED && uv_is_active((uv_handle_t *)&p->kill_timer) &&
      !(p->stop_flags & TEND_STOP_KILL_LEADER))
    kill(-p->pid, SIGKILL);
  p->state = TEND_PROC_CLOSING;
  p->close_cb = cb;
  /* Close callbacks run on a later loop turn, never from here, so the
   * count cannot reach zero before every uv_close below was issued. A
   * child still running is not reaped later: the owner stops it first. */
  close_handle(p, (uv_handle_t *)&p->kill_timer);
  close_handle(p, (uv_handle_t *)&p->exit_poll); /* then the pidfd */
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
