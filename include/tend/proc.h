/* SPDX-License-Identifier: MIT */
/*
 * tend process core: spawn one child on a libuv loop, wire its stdio, report
 * how it ended, signal it or its whole process group, and stop it with a
 * grace period. It knows nothing of jobs, pools or the CLI.
 *
 * Every child is the leader of a new session and process group (its pgid
 * equals its pid), so signalling "the group" reaches every descendant that
 * did not leave the group itself.
 */
#ifndef TEND_PROC_H
#define TEND_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

typedef enum {
  TEND_STDIO_NULL = 0, /* /dev/null */
  TEND_STDIO_INHERIT,  /* the same descriptor as ours */
  TEND_STDIO_PIPE,     /* a pipe; our end is tend_proc_t.pipes[i] */
  TEND_STDIO_FILE,     /* open(path, flags, 0666) in the parent */
  TEND_STDIO_FD,       /* a descriptor of ours, dup'ed into the child */
  TEND_STDIO_STDOUT,   /* stderr only: the same as the child's stdout */
} tend_stdio_kind_t;

typedef struct {
  tend_stdio_kind_t kind;
  const char *path; /* TEND_STDIO_FILE */
  int flags;        /* TEND_STDIO_FILE: O_* flags (O_CLOEXEC is added) */
  int fd;           /* TEND_STDIO_FD */
} tend_stdio_t;

typedef struct {
  char **argv;     /* argv[0] is searched as execvp does, in the PATH of env
                      when env is given (default "/usr/local/bin:/usr/bin:
                      /bin" if it has none), else in ours; a file that is not
                      a binary and has no #! line runs with /bin/sh */
  char **env;      /* NULL: inherit ours */
  const char *cwd; /* NULL: inherit ours */
  tend_stdio_t stdio[3];
  bool set_umask;  /* give the child this umask (set in tend around the
                      spawn: the loop is single-threaded) */
  unsigned umask;
  bool set_ids;    /* run as uid/gid (tend must be root, or already be
                      uid/gid); the supplementary groups are those of user
                      (as initgroups gives them) when user is set, else none */
  unsigned uid, gid;
  const char *user; /* set_ids: the user name for the supplementary groups */
  bool die_with_parent; /* SIGKILL the child if this process dies
                           (PR_SET_PDEATHSIG; starts it with fork, not
                           posix_spawn: the flag must be set in the child) */
  bool has_extra;   /* also give the child descriptor extra_src of ours as
                       its descriptor extra_target (>= 3): s6-style
                       readiness notification, ready = fd:N */
  int extra_src, extra_target;
} tend_proc_options_t;

/* What failed when tend_proc_spawn returns an error. */
typedef enum {
  TEND_PROC_ERR_NONE = 0,
  TEND_PROC_ERR_CWD,   /* the working directory is missing or not usable */
  TEND_PROC_ERR_STDIO, /* a stdio file could not be opened, a pipe made, or
                          a descriptor given (INHERIT, FD) is not open */
  TEND_PROC_ERR_EXEC,  /* the command was not found or cannot be executed */
} tend_proc_err_t;

typedef enum {
  TEND_PROC_IDLE = 0, /* initialised, not started (or failed to start) */
  TEND_PROC_RUNNING,
  TEND_PROC_EXITED,
  TEND_PROC_CLOSING,
} tend_proc_state_t;

typedef struct tend_proc_s tend_proc_t;
typedef void (*tend_proc_exit_cb)(tend_proc_t *p);
typedef void (*tend_proc_close_cb)(tend_proc_t *p);

struct tend_proc_s {
  void *data; /* for the owner */

  /* read-only for the owner */
  tend_proc_state_t state;
  int pid;
  int64_t exit_status; /* valid when EXITED and term_signal == 0; -1 if
                          the status was lost (someone else reaped the
                          child, e.g. SIGCHLD set to SIG_IGN) */
  int term_signal;     /* the signal that ended it, or 0 */
  uint64_t start_ns;   /* uv_hrtime() at spawn */
  uint64_t end_ns;     /* uv_hrtime() at exit */
  bool stopping;       /* tend_proc_stop was called */
  bool killed;         /* the stop escalated to SIGKILL */
  unsigned stop_flags;
  tend_proc_err_t err_what;
  uv_pipe_t pipes[3];  /* our ends of TEND_STDIO_PIPE descriptors */
  bool has_pipe[3];

  /* private */
  uv_loop_t *loop;
  uv_poll_t exit_poll; /* on pidfd: readable once the child has exited */
  int pidfd;           /* -1 when none */
  uv_timer_t kill_timer;
  tend_proc_exit_cb exit_cb;
  tend_proc_close_cb close_cb;
  int open_handles;
  bool live;                 /* in the registry of unreaped children */
  LIST_ENTRY(tend_proc_s) live_link; /* its hash chain */
};

/*
 * Start a child (posix_spawn; fork only for set_ids) and watch its exit
 * through a pidfd: exit_cb comes from the loop once the child has exited
 * and has been reaped (waitid on that pidfd: exactly this child, never
 * waitpid(-1), no SIGCHLD handler). Returns 0 or a negative errno (libuv
 * style); exec errors (-ENOENT not found, -EACCES not executable) are
 * returned here, synchronously. On error
 * p->err_what says which step failed and exit_cb is never called. In every
 * case, once tend_proc_spawn was called, the owner releases p with
 * tend_proc_close and frees it only in close_cb.
 * Pipe ends in p->pipes are initialised and open; the owner reads or writes
 * them and may close them early with uv_close (tend_proc_close skips closed
 * ones).
 */
int tend_proc_spawn(uv_loop_t *loop, tend_proc_t *p,
                    const tend_proc_options_t *opts, tend_proc_exit_cb exit_cb);

/* Send signum to the child, or to its whole process group. */
int tend_proc_signal(tend_proc_t *p, int signum, bool group);

/* Who tend_proc_stop signals: the whole group (default) or the leader. */
enum {
  TEND_STOP_LEADER_ONLY = (1 << 0), /* signum to the leader only */
  TEND_STOP_KILL_LEADER = (1 << 1), /* SIGKILL to the leader only */
};

/*
 * Stop: signum to the process group now, SIGKILL to the group after grace_ms
 * unless everything in it is gone by then (flags narrow either to the
 * leader). Calling it again only resends the signal; the first deadline
 * stands.
 */
int tend_proc_stop(tend_proc_t *p, int signum, uint64_t grace_ms, unsigned flags);

/*
 * Release every handle (and the pidfd). If a stop is pending and the leader
 * has exited, the rest of the group is SIGKILLed now: nothing is left
 * running unsupervised. If the leader is still running it is left alone
 * (the owner stops it first): it keeps running, and when it exits nothing
 * here reaps it; it stays a zombie until the owner's process reaps it (a
 * subreaper's orphan reaper can, as the pid belongs to no proc any more)
 * or exits itself.
 */
void tend_proc_close(tend_proc_t *p, tend_proc_close_cb cb);

/* Close our end of pipe i early (e.g. the child's stdin once the input is
 * written, so it sees EOF). The owner never uv_close()s p->pipes itself. */
void tend_proc_close_pipe(tend_proc_t *p, int i);

/* Is pid a child that some tend_proc_t of this process will reap? A
 * reaper of orphans (the daemon is a child subreaper) must leave those
 * alone, or it steals their exit status. Not thread-safe: call from the
 * thread that spawns. */
bool tend_proc_is_child(int pid);

/* Called with the pid of each child tend_proc starts (it leads its own
 * process group) and again when its tend_proc_t is closed: the daemon
 * tells its guard which groups to kill should the daemon die. NULL: none. */
void tend_proc_set_watch(void (*started)(int pid), void (*closed)(int pid));

/* Without pidfd_open (old kernels, valgrind 3.19) children are watched
 * through a process-wide SIGCHLD handle: close it before closing the loop
 * (a no-op otherwise). Run the loop once more afterwards. */
void tend_proc_release(void);

/* Wall time of the run in nanoseconds (so far, if still running). */
uint64_t tend_proc_runtime_ns(const tend_proc_t *p);

#endif
