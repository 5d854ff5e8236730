/* SPDX-License-Identifier: MIT */
/*
 * `tend daemon` (tend/daemon.h): the process-wide parts around the
 * daemon's core (daemon/daemon.c). Read the config, raise the limits it asks
 * for, open the log, listen on the control socket, write the pid file,
 * start the guard and become a child subreaper; then run the core until
 * it has shut down, and clean up after it.
 */
#include "build_config.h"
#include "tend/daemon.h"
#include "daemon/daemon.h"
#include "core/fsutil.h"
#include "daemon/guard.h"
#include "core/log.h"
#include "tend/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* minfds/minprocs: raise the soft limit, or refuse to start, saying which. */
static int apply_rlimits(const tend_config_t *c) {
  struct {
    int res;
    long want;
    const char *key;
  } lim[] = {{RLIMIT_NOFILE, c->minfds, "minfds"}, {RLIMIT_NPROC, c->minprocs, "minprocs"}};
  for (int i = 0; i < 2; i++) {
    struct rlimit rl;
    if (lim[i].want <= 0 || getrlimit(lim[i].res, &rl) != 0)
      continue;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)lim[i].want)
      continue;
    if (rl.rlim_cur == RLIM_INFINITY)
      continue;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)lim[i].want) {
      rl.rlim_max = (rlim_t)lim[i].want; /* only root may raise the hard limit */
    }
    rl.rlim_cur = (rlim_t)lim[i].want;
    if (setrlimit(lim[i].res, &rl) != 0) {
      fprintf(stderr, "tend: %s = %ld: cannot raise the limit: %s\n", lim[i].key, lim[i].want,
              strerror(errno));
      return -errno;
    }
  }
  return 0;
}

/* The config, with its limits, umask and log file in force: 0, or the
 * exit status 2 after saying why on stderr. */
static int load_config(const char *path, unsigned flags, tend_config_t **out) {
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  int r = tend_config_load_flags(path, flags, &cfg, &diag);
  daemon_print_diag(&diag, false);
  tend_diag_free(&diag);
  if (r != 0) {
    if (r != -EINVAL)
      fprintf(stderr, "tend: cannot read config %s: %s\n", path, strerror(-r));
    fprintf(stderr, "tend: refusing to start: the configuration is invalid\n");
    return 2;
  }
  if (apply_rlimits(cfg) != 0) {
    tend_config_free(cfg);
    return 2;
  }
  if (cfg->umask >= 0)
    umask((mode_t)cfg->umask);
  if (cfg->logfile != NULL)
    fs_mkdir_parents(cfg->logfile);
  if (cfg->log_syslog) {
    log_open_syslog(cfg->log_format);
  } else if ((r = log_open(cfg->logfile, cfg->log_format)) != 0) {
    fprintf(stderr, "tend: cannot open log file %s: %s\n", cfg->logfile, strerror(-r));
    tend_config_free(cfg);
    return 2;
  }
  *out = cfg;
  return 0;
}

/* socket_owner = USER or USER:GROUP: who else may connect (with a
 * socket_mode that lets them). */
static int chown_socket(const char *path, const char *owner) {
  char *spec = strdup(owner);
  if (spec == NULL) {
    fprintf(stderr, "tend: socket_owner: %s\n", strerror(ENOMEM));
    return -ENOMEM;
  }
  char *group = strchr(spec, ':');
  if (group != NULL)
    *group++ = '\0';
  struct passwd *pw = getpwnam(spec);
  struct group *gr = group != NULL ? getgrnam(group) : NULL;
  int r = 0;
  if (pw == NULL) {
    fprintf(stderr, "tend: socket_owner: no such user '%s'\n", spec);
    r = -EINVAL;
  } else if (group != NULL && gr == NULL) {
    fprintf(stderr, "tend: socket_owner: no such group '%s'\n", group);
    r = -EINVAL;
  } else if (chown(path, pw->pw_uid, gr != NULL ? gr->gr_gid : pw->pw_gid) != 0) {
    r = -errno;
    fprintf(stderr, "tend: socket_owner: chown %s: %s\n", path, strerror(errno));
  }
  free(spec);
  return r;
}

/* The control socket, owned as the config says: 0, or a negative errno
 * after saying why on stderr. */
static int listen_socket(daemon_t *d, const tend_config_t *cfg) {
  int r = daemon_listen(d, cfg->socket, cfg->socket_mode);
  if (r == -EADDRINUSE)
    fprintf(stderr, "tend: another tend daemon is running on %s\n", cfg->socket);
  else if (r == -EEXIST)
    fprintf(stderr, "tend: %s exists and is not a socket: refusing to replace it\n", cfg->socket);
  else if (r != 0)
    fprintf(stderr, "tend: cannot listen on %s: %s\n", cfg->socket, strerror(-r));
  else if (cfg->socket_owner != NULL)
    r = chown_socket(cfg->socket, cfg->socket_owner);
  return r;
}

static int write_pidfile(const char *path) {
  char buf[32];
  fs_mkdir_parents(path);
  int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  int r = write(fd, buf, (size_t)n) == n ? 0 : -errno;
  close(fd);
  return r;
}

/* The pid file (its path returned, to remove at exit), the guard, the
 * subreaper: what a failure of leaves the daemon running, logged. */
static char *setup_process(const tend_config_t *cfg) {
  char *pidfile = NULL;
  int r;
  if (cfg->pidfile != NULL && (pidfile = strdup(cfg->pidfile)) != NULL &&
      (r = write_pidfile(pidfile)) != 0)
    LOG("error", "pidfile", F_STR("file", pidfile), F_STR("error", strerror(-r)));

  /* The guard outlives a SIGKILLed daemon just long enough to kill what
   * it supervised (PR_SET_PDEATHSIG reaches only direct children). */
  if ((r = guard_start()) == 0)
    tend_proc_set_watch(guard_add, guard_del);
  else
    LOG("warn", "guard", F_STR("error", strerror(-r)));

  /* Grandchildren whose parent dies come to us, not to init, so nothing a
   * program starts can escape supervision or pile up as a zombie. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    LOG("warn", "subreaper", F_STR("error", strerror(errno)));
  /* Orphans are found in /proc/self/task/PID/children: a PID namespace
   * seeing its parent's /proc (unshare --pid without --mount-proc) hides
   * them, and as PID 1 they would pile up as zombies. */
  char children[64];
  snprintf(children, sizeof(children), "/proc/self/task/%d/children", (int)getpid());
  if (access(children, R_OK) != 0)
    LOG("warn", "orphans", F_STR("error", strerror(errno)), F_STR("file", children),
        F_STR("action", "orphans not reaped: mount a /proc of this PID namespace"));
  signal(SIGPIPE, SIG_IGN);
  return pidfile;
}

int tend_daemon_run(const char *config_path, unsigned config_flags) {
  /* A status or an XML-RPC answer for 100 programs builds and frees a few
   * 100 KiB buffers at the top of the heap: with glibc's default 128 KiB
   * trim threshold every call gave them back (brk) and faulted them in
   * again, 40% of the daemon's CPU per getAllProcessInfo (bench/xmlrpc).
   * Up to 1 MiB stays for the next one. */
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  tend_config_t *cfg = NULL;
  int status = load_config(config_path, config_flags, &cfg);
  if (status != 0)
    return status;
  daemon_t *d;
  int r = daemon_new(&d, cfg->path, config_flags);
  if (r != 0)
    fprintf(stderr, "tend: cannot set the daemon up: %s\n", strerror(-r));
  else if ((r = listen_socket(d, cfg)) != 0)
    daemon_close(d);
  if (r != 0) {
    tend_config_free(cfg);
    log_close();
    return 1;
  }
  char *pidfile = setup_process(cfg);
  daemon_signals(d);
  LOG("info", "start", F_STR("version", TEND_VERSION), F_INT("pid", getpid()),
      F_STR("config", cfg->path), F_STR("socket", cfg->socket),
      F_INT("programs", (long long)cfg->nprograms));
  daemon_apply(d, cfg);

  uv_run(daemon_loop(d), UV_RUN_DEFAULT);
  int code = daemon_exit_code(d);
  if (daemon_close(d) != 0)
    LOG("error", "exit", F_STR("error", "handles left open at exit"));
  tend_proc_set_watch(NULL, NULL);
  guard_stop();
  if (pidfile != NULL)
    unlink(pidfile);
  free(pidfile);
  log_close();
  return code;
}
