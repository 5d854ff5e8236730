/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's state machine (see supervisor.h). supervisord's rules:
 *
 *   start          STOPPED/EXITED/FATAL/BACKOFF → STARTING (spawn)
 *   startsecs      STARTING → RUNNING (failed starts reset)
 *   exit           STARTING → BACKOFF (retry after 1 s, 2 s, 3 s ...)
 *                  → FATAL after startretries failed starts
 *                  RUNNING → EXITED, then STARTING again if autorestart
 *                  says so (true, or unexpected and the exit was unexpected)
 *                  STOPPING → STOPPED
 *   stop           STARTING/RUNNING → STOPPING (stopsignal, then SIGKILL
 *                  after stopwaitsecs); BACKOFF → STOPPED
 *
 * A spawn that fails (command not found, bad directory) counts as a failed
 * start. Every transition and every exit is one line in the daemon log.
 * Nothing here polls: timers run only while a start or a backoff is timed.
 */
#include "supervisor.h"
#include "childenv.h"
#include "log.h"
#include "procstat.h"
#include "tend/text.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A run shorter than this is a quick failure, like a failed start: the
 * next restart backs off instead of spinning. */
#define QUICK_RUN_S 1.0

static const char *const state_names[] = {
    [PS_STOPPED] = "STOPPED", [PS_STARTING] = "STARTING", [PS_RUNNING] = "RUNNING",
    [PS_BACKOFF] = "BACKOFF", [PS_STOPPING] = "STOPPING", [PS_EXITED] = "EXITED",
    [PS_FATAL] = "FATAL",
};

const char *pstate_name(pstate_t s) { return state_names[s]; }

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- config generations ------------------------------------------------ */

static sv_gen_t *gen_ref(sv_gen_t *g) {
  g->refs++;
  return g;
}

static void gen_unref(sv_gen_t *g) {
  if (g != NULL && --g->refs == 0) {
    tend_config_free(g->config);
    free(g);
  }
}

/* ---- transitions ------------------------------------------------------- */

static void deps_changed(sv_t *sv);

static void set_state(sv_proc_t *p, pstate_t to, const char *why) {
  if (p->state == to)
    return;
  LOG("info", "state", F_STR("program", p->name), F_STR("from", pstate_name(p->state)),
      F_STR("to", pstate_name(to)), F_STR("reason", why));
  pstate_t from = p->state;
  p->state = to;
  if (p->sv->hooks.state != NULL)
    p->sv->hooks.state(p, from, to);
  if (to == PS_RUNNING || to == PS_FATAL || to == PS_STOPPED)
    deps_changed(p->sv);
}

static void spawn(sv_proc_t *p);
static void check_shutdown(sv_t *sv);
static void forget(sv_proc_t *p);

static void timer_closed_cb(uv_handle_t *h) {
  sv_proc_t *p = h->data;
  sv_t *sv = p->sv;
  free(p->name);
  free(p);
  if (--sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

/* A run being closed points at the supervisor, not at its process: the
 * process may be freed before the run's handles are (shutdown). */
static void close_run(sv_t *sv, tend_proc_t *run);

static void run_closed_cb(tend_proc_t *run) {
  sv_t *sv = run->data;
  free(run);
  if (--sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

static void close_run(sv_t *sv, tend_proc_t *run) {
  run->data = sv;
  tend_proc_close(run, run_closed_cb);
}

static void probe_start(sv_proc_t *p);
static void ready_timeout(sv_proc_t *p);

static void timer_cb(uv_timer_t *t) {
  sv_proc_t *p = t->data;
  if (p->state == PS_STARTING && p->run != NULL) {
    if (p->conf->ready == TEND_READY_TCP || p->conf->ready == TEND_READY_UNIX) {
      probe_start(p);
      return;
    }
    if (p->conf->ready == TEND_READY_FD) {
      ready_timeout(p);
      return;
    }
    if (p->conf->startsecs >= QUICK_RUN_S)
      p->fails = 0;
    set_state(p, PS_RUNNING, "startsecs");
  } else if (p->state == PS_BACKOFF) {
    spawn(p);
  }
}

/* ---- readiness: ready = tcp:HOST:PORT | unix:PATH ---------------------- */

/* One connection attempt. It outlives its process if that is forgotten
 * meanwhile (p is then NULL), and is freed in its close callback. */
struct sv_probe {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h;
  uv_connect_t req;
  sv_proc_t *p;
  sv_t *sv;
};

#define PROBE_INTERVAL_MS 100

static void probe_closed_cb(uv_handle_t *h) {
  struct sv_probe *pr = h->data;
  sv_t *sv = pr->sv;
  free(pr);
  if (--sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

static void ready_timeout(sv_proc_t *p) {
  const tend_program_t *c = p->conf;
  char sig[32];
  LOG("warn", "not_ready", F_STR("program", p->name), F_INT("pid", p->pid),
      F_NUM("ready_timeout", c->ready_timeout),
      F_STR("action", tend_signame(c->stopsignal, sig, sizeof(sig))));
  /* Still STARTING: its exit will count as a failed start. */
  tend_proc_stop(p->run, c->stopsignal, (uint64_t)(c->stopwaitsecs * 1000), 0);
}

static void probe_cb(uv_connect_t *req, int status) {
  struct sv_probe *pr = req->data;
  sv_proc_t *p = pr->p;
  uv_close(&pr->h.handle, probe_closed_cb);
  if (p == NULL)
    return;
  p->probe = NULL;
  if (p->state != PS_STARTING || p->run == NULL)
    return;
  if (status == 0) {
    p->fails = 0;
    set_state(p, PS_RUNNING, "ready");
  } else if (uv_now(p->sv->loop) >= p->ready_deadline) {
    ready_timeout(p);
  } else {
    uv_timer_start(&p->timer, timer_cb, PROBE_INTERVAL_MS, 0);
  }
}

static void probe_start(sv_proc_t *p) {
  const tend_program_t *c = p->conf;
  struct sv_probe *pr = calloc(1, sizeof(*pr));
  if (pr == NULL) {
    uv_timer_start(&p->timer, timer_cb, PROBE_INTERVAL_MS, 0);
    return;
  }
  pr->p = p;
  pr->sv = p->sv;
  pr->req.data = pr;
  int r;
  if (c->ready == TEND_READY_TCP) {
    struct sockaddr_storage sa;
    r = uv_ip4_addr(c->ready_host, c->ready_port, (struct sockaddr_in *)&sa);
    if (r != 0)
      r = uv_ip6_addr(c->ready_host, c->ready_port, (struct sockaddr_in6 *)&sa);
    if (r != 0 && strcmp(c->ready_host, "localhost") == 0)
      r = uv_ip4_addr("127.0.0.1", c->ready_port, (struct sockaddr_in *)&sa);
    uv_tcp_init(p->sv->loop, &pr->h.tcp);
    if (r == 0)
      r = uv_tcp_connect(&pr->req, &pr->h.tcp, (struct sockaddr *)&sa, probe_cb);
  } else {
    uv_pipe_init(p->sv->loop, &pr->h.pipe, 0);
    uv_pipe_connect(&pr->req, &pr->h.pipe, c->ready_path, probe_cb);
    r = 0;
  }
  pr->h.handle.data = pr;
  p->sv->open_handles++;
  if (r != 0) {
    /* An address the loop cannot use (a host name): say so once a try. */
    LOG("error", "not_ready", F_STR("program", p->name), F_STR("host", c->ready_host),
        F_STR("error", uv_strerror(r)));
    pr->p = NULL;
    uv_close(&pr->h.handle, probe_closed_cb);
    uv_timer_start(&p->timer, timer_cb, PROBE_INTERVAL_MS, 0);
    return;
  }
  p->probe = pr;
}

/* ---- readiness: ready = fd:N ------------------------------------------- */

static void ready_pipe_closed_cb(uv_handle_t *h) {
  sv_t *sv = h->data;
  free(h);
  if (--sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

static void ready_pipe_close(sv_proc_t *p) {
  if (p->ready_pipe == NULL)
    return;
  p->ready_pipe->data = p->sv;
  uv_close((uv_handle_t *)p->ready_pipe, ready_pipe_closed_cb);
  p->ready_pipe = NULL;
}

static void ready_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char small[256]; /* a newline is all we look for */
  (void)h;
  (void)hint;
  *buf = uv_buf_init(small, sizeof(small));
}

static void ready_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sv_proc_t *p = s->data;
  if (n > 0 && memchr(buf->base, '\n', (size_t)n) != NULL && p->state == PS_STARTING) {
    uv_timer_stop(&p->timer);
    p->fails = 0;
    set_state(p, PS_RUNNING, "ready");
    ready_pipe_close(p);
  } else if (n < 0) {
    /* Closed without a newline: never ready; ready_timeout decides. */
    ready_pipe_close(p);
  }
}

/* The pipe whose write end the child gets as fd N; -1 on failure. */
static int ready_pipe_open(sv_proc_t *p, int *child_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -errno;
  uv_pipe_t *h = malloc(sizeof(*h));
  if (h == NULL) {
    close(fds[0]);
    close(fds[1]);
    return -ENOMEM;
  }
  uv_pipe_init(p->sv->loop, h, 0);
  h->data = p;
  p->sv->open_handles++;
  p->ready_pipe = h;
  int r = uv_pipe_open(h, fds[0]);
  if (r != 0) {
    close(fds[0]);
    close(fds[1]);
    ready_pipe_close(p);
    return r;
  }
  *child_end = fds[1];
  return 0;
}

/* ---- dependencies ------------------------------------------------------ */

/* 1 when every program p depends on is RUNNING; 0 while one is still on
 * its way (p->waiting_for names it); -1 when one is not wanted up at all
 * (*why says which). */
static int deps_ready(sv_proc_t *p, const char **why) {
  p->waiting_for = NULL;
  for (char **d = p->conf->depends_on; d != NULL && *d != NULL; d++) {
    for (sv_proc_t *q = p->sv->procs; q != NULL; q = q->next) {
      if (q->removed || strcmp(q->conf->program, *d) != 0 || q->state == PS_RUNNING)
        continue;
      if (!q->want_up || q->state == PS_FATAL) {
        *why = q->state == PS_FATAL ? "a dependency is FATAL" : "a dependency is not started";
        p->waiting_for = *d;
        return -1;
      }
      p->waiting_for = *d;
      return 0;
    }
  }
  return 1;
}

/* Something changed state: start what was waiting for it, or give up on
 * it when its dependency will not come. */
static void deps_changed(sv_t *sv) {
  if (sv->shutting_down)
    return;
  for (sv_proc_t *p = sv->procs; p != NULL; p = p->next) {
    if (p->state != PS_STARTING || p->run != NULL || p->waiting_for == NULL)
      continue;
    const char *why = NULL;
    int r = deps_ready(p, &why);
    /* Neither spawn nor set_state unlinks a process: the walk goes on. */
    if (r > 0) {
      spawn(p);
    } else if (r < 0) {
      char reason[160];
      snprintf(reason, sizeof(reason), "%s: %s", why, p->waiting_for);
      p->want_up = false;
      p->waiting_for = NULL;
      set_state(p, PS_STOPPED, reason);
    }
  }
}

/* ---- output ------------------------------------------------------------ */

static void log_output(sv_proc_t *p, int stream, const char *data, size_t len) {
  /* With stdout_channel, stdout lines are messages, not log lines. */
  bool to_channel = stream == 0 && p->conf->stdout_channel != NULL && svchan_output(p, data, len);
  if (p->log_open[stream] && !to_channel) {
    int r = outlog_write(&p->log[stream], data, len);
    if (r != 0)
      LOG("error", "log_error", F_STR("program", p->name), F_STR("file", p->log[stream].path),
          F_STR("error", strerror(-r)), F_STR("action", "dropping lines until it works"));
  }
  if (p->slog_open[stream] && !to_channel)
    outlog_write(&p->slog[stream], data, len); /* the sink reports */
  if (p->sv->hooks.output != NULL)
    p->sv->hooks.output(p, stream, data, len);
}

static int stream_of(tend_proc_t *run, uv_handle_t *h) {
  return (uv_pipe_t *)h == &run->pipes[1] ? 0 : 1;
}

static void out_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  sv_proc_t *p = ((tend_proc_t *)h->data)->data;
  (void)hint;
  /* Output is copied to the log at once, so one buffer serves all. */
  *buf = uv_buf_init(p->sv->readbuf, sizeof(p->sv->readbuf));
}

static void out_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  tend_proc_t *run = s->data;
  sv_proc_t *p = run->data;
  if (n > 0)
    log_output(p, stream_of(run, (uv_handle_t *)s), buf->base, (size_t)n);
  else if (n < 0)
    uv_read_stop(s); /* EOF: a grandchild may still hold the other end */
}

void sv_read_stdout(sv_proc_t *p) {
  if (p->run != NULL && p->run->has_pipe[1])
    uv_read_start((uv_stream_t *)&p->run->pipes[1], out_alloc_cb, out_read_cb);
}

/* What the child wrote before it exited is in the pipe: take it now, the
 * pipe closes with the run. */
static void drain_pipes(sv_proc_t *p, tend_proc_t *run) {
  for (int i = 1; i <= 2; i++) {
    int fd;
    if (!run->has_pipe[i] || uv_fileno((uv_handle_t *)&run->pipes[i], &fd) != 0)
      continue;
    ssize_t n;
    while ((n = read(fd, p->sv->readbuf, sizeof(p->sv->readbuf))) > 0)
      log_output(p, i - 1, p->sv->readbuf, (size_t)n);
  }
  for (int i = 0; i < 2; i++) {
    if (p->log_open[i])
      outlog_flush(&p->log[i]);
    if (p->slog_open[i])
      outlog_flush(&p->slog[i]);
  }
}

/* One line for syslog, its ident the bare process name (supervisord's
 * config.name). */
static int syslog_line(void *arg, const char *a, size_t alen, const char *b, size_t blen) {
  sv_proc_t *p = arg;
  const char *bare = strchr(p->name, ':') ? strchr(p->name, ':') + 1 : p->name;
  return syslog_sink_send(&p->sv->syslog, bare, a, alen, b, blen);
}

static void open_logs(sv_proc_t *p) {
  const tend_logconf_t *lc[2] = {&p->conf->out, &p->conf->err};
  for (int i = 0; i < 2; i++) {
    if (lc[i]->syslog && !p->slog_open[i]) {
      outlog_open_lines(&p->slog[i], syslog_line, p);
      p->slog_open[i] = true;
    }
    if (p->log_open[i] || lc[i]->path == NULL)
      continue;
    int r = outlog_open(&p->log[i], lc[i]->path, lc[i]->maxbytes, lc[i]->backups);
    p->log[i].timestamps = lc[i]->timestamps;
    p->log_open[i] = true; /* it retries by itself after a failure */
    if (r != 0)
      LOG("error", "log_error", F_STR("program", p->name), F_STR("file", lc[i]->path),
          F_STR("error", strerror(-r)), F_STR("action", "dropping lines until it works"));
  }
}

int sv_reopen_logs(sv_proc_t *p) {
  int ret = 0;
  for (int i = 0; i < 2; i++) {
    if (!p->log_open[i])
      continue;
    /* outlog keeps a partial line across the reopen: nothing is split */
    int r = outlog_reopen(&p->log[i]);
    if (r != 0 && ret == 0)
      ret = r;
  }
  return ret;
}

static void close_logs(sv_proc_t *p) {
  for (int i = 0; i < 2; i++) {
    if (p->log_open[i])
      outlog_close(&p->log[i]);
    p->log_open[i] = false;
    if (p->slog_open[i])
      outlog_close(&p->slog[i]);
    p->slog_open[i] = false;
  }
}

/* ---- spawning ---------------------------------------------------------- */

/* The daemon's environment, then the program's (it wins per key), then
 * the names supervisord gives its children, which programs test for
 * (SUPERVISOR_PROCESS_NAME is the bare process name, as supervisord's). */
static char **child_env(const sv_proc_t *p, childenv_t *env) {
  const char *bare = strchr(p->name, ':') ? strchr(p->name, ':') + 1 : p->name;
  int r = childenv_init(env, NULL);
  if (r == 0)
    r = childenv_setv(env, p->conf->env);
  if (r == 0)
    r = childenv_set(env, "SUPERVISOR_ENABLED=1");
  if (r == 0)
    r = childenv_setf(env, "SUPERVISOR_PROCESS_NAME=%s", bare);
  if (r == 0)
    r = childenv_setf(env, "SUPERVISOR_GROUP_NAME=%s", p->conf->group);
  if (r == 0)
    r = childenv_setf(env, "TEND_PROCESS_NAME=%s", p->name);
  if (r != 0)
    childenv_free(env);
  return env->envp;
}

static void proc_exit_cb(tend_proc_t *run);

static void failed_start(sv_proc_t *p, const char *what);

static void spawn(sv_proc_t *p) {
  sv_t *sv = p->sv;
  const tend_program_t *c = p->conf;
  uv_timer_stop(&p->timer);

  tend_proc_options_t o;
  memset(&o, 0, sizeof(o));
  o.argv = c->argv;
  o.cwd = c->directory;
  o.stdio[0].kind = c->stdin_pipe ? TEND_STDIO_PIPE : TEND_STDIO_NULL;
  if (c->fcgi.url != NULL) {
    /* the group's listening socket is its stdin, as FastCGI wants */
    int fd = svfcgi_fd(p);
    if (fd < 0) {
      LOG("error", "spawn_error", F_STR("program", p->name), F_STR("socket", c->fcgi.url),
          F_STR("error", strerror(-fd)));
      failed_start(p, "socket error");
      return;
    }
    o.stdio[0].kind = TEND_STDIO_FD;
    o.stdio[0].fd = fd;
  }
  /* Always a pipe for output, even unlogged: `tend logs -f` may watch. */
  o.stdio[1].kind = TEND_STDIO_PIPE;
  o.stdio[2].kind = c->redirect_stderr ? TEND_STDIO_STDOUT : TEND_STDIO_PIPE;
  /* A daemon killed with SIGKILL takes its children along: nothing keeps
   * running unsupervised (its successor starts them again). */
  o.die_with_parent = true;
  if (c->umask >= 0) {
    o.set_umask = true;
    o.umask = (unsigned)c->umask;
  }
  if (c->user != NULL) {
    struct passwd *pw = getpwnam(c->user);
    if (pw == NULL) {
      LOG("error", "spawn_error", F_STR("program", p->name), F_STR("user", c->user),
          F_STR("error", "no such user"));
      failed_start(p, "no such user");
      return;
    }
    if (geteuid() != 0 && pw->pw_uid != geteuid()) {
      LOG("error", "spawn_error", F_STR("program", p->name), F_STR("user", c->user),
          F_STR("error", "user= needs the daemon to run as root"));
      failed_start(p, "user= needs root");
      return;
    }
    o.set_ids = true;
    o.uid = pw->pw_uid;
    o.gid = pw->pw_gid;
    o.user = c->user; /* for its supplementary groups */
  }
  childenv_t env;
  o.env = child_env(p, &env);
  tend_proc_t *run = calloc(1, sizeof(*run));
  if (run == NULL || o.env == NULL) {
    free(run);
    childenv_free(&env);
    LOG("error", "spawn_error", F_STR("program", p->name), F_STR("error", strerror(ENOMEM)));
    failed_start(p, "out of memory");
    return;
  }
  open_logs(p);
  run->data = p;
  sv->open_handles++;
  int ready_fd = -1, r = 0;
  if (c->ready == TEND_READY_FD) {
    ready_pipe_close(p); /* one left from a run that never wrote */
    r = ready_pipe_open(p, &ready_fd);
    o.has_extra = r == 0;
    o.extra_src = ready_fd;
    o.extra_target = c->ready_fd;
  }
  if (r == 0)
    r = tend_proc_spawn(sv->loop, run, &o, proc_exit_cb);
  if (ready_fd >= 0)
    close(ready_fd); /* the child has its copy: EOF when it closes it */
  childenv_free(&env);
  if (r != 0) {
    const char *what = run->err_what == TEND_PROC_ERR_CWD     ? "directory"
                       : run->err_what == TEND_PROC_ERR_STDIO ? "stdio"
                                                              : "command";
    LOG("error", "spawn_error", F_STR("program", p->name),
        F_STR(what, run->err_what == TEND_PROC_ERR_CWD ? c->directory : c->argv[0]),
        F_STR("error", strerror(-r)));
    close_run(sv, run);
    ready_pipe_close(p);
    failed_start(p, "spawn error");
    return;
  }
  p->run = run;
  p->pid = run->pid;
  if (p->restart_due)
    p->restarts++;
  p->restart_due = false;
  svchan_started(p);
  p->started_at_ms = now_ms();
  for (int i = 1; i <= 2; i++) {
    if (run->has_pipe[i]) {
      run->pipes[i].data = run;
      uv_read_start((uv_stream_t *)&run->pipes[i], out_alloc_cb, out_read_cb);
    }
  }
  LOG("info", "spawn", F_STR("program", p->name), F_INT("pid", run->pid),
      F_STR("command", c->command));
  p->waiting_for = NULL;
  set_state(p, PS_STARTING, "start");
  if (c->ready == TEND_READY_TCP || c->ready == TEND_READY_UNIX) {
    p->ready_deadline = uv_now(sv->loop) + (uint64_t)(c->ready_timeout * 1000);
    probe_start(p);
  } else if (c->ready == TEND_READY_FD) {
    uv_read_start((uv_stream_t *)p->ready_pipe, ready_alloc_cb, ready_read_cb);
    uv_timer_start(&p->timer, timer_cb, (uint64_t)(c->ready_timeout * 1000), 0);
  } else if (c->startsecs <= 0) {
    /* fails is not reset: with no startsecs only the run's length tells a
     * crash loop from a healthy restart */
    set_state(p, PS_RUNNING, "startsecs=0");
  } else {
    uv_timer_start(&p->timer, timer_cb, (uint64_t)(c->startsecs * 1000), 0);
  }
}

/* The wait before the next start after `fails` quick failures in a row:
 * backoff_initial * backoff_factor^(fails-1), capped at backoff_max. */
static uint64_t backoff_ms(const tend_program_t *c, int fails) {
  if (fails <= 0)
    return 0;
  double d = c->backoff_initial;
  for (int i = 1; i < fails && d < c->backoff_max; i++)
    d *= c->backoff_factor;
  if (d > c->backoff_max)
    d = c->backoff_max;
  return (uint64_t)(d * 1000 + 0.5);
}

/* Wait in BACKOFF, then start again. */
static void back_off(sv_proc_t *p, const char *why) {
  set_state(p, PS_BACKOFF, why);
  uv_timer_start(&p->timer, timer_cb, backoff_ms(p->conf, p->fails), 0);
}

/* A start that did not last startsecs (or did not happen): back off, or
 * give up after startretries. */
static void failed_start(sv_proc_t *p, const char *what) {
  p->fails++;
  int retries = p->conf->startretries;
  if (retries >= 0 && p->fails > retries) {
    set_state(p, PS_BACKOFF, what);
    set_state(p, PS_FATAL, "too many failed starts");
    return;
  }
  back_off(p, what);
}

static bool exit_expected(const tend_program_t *c, int64_t code, int sig) {
  if (sig != 0)
    return false;
  for (int i = 0; i < c->nexitcodes; i++)
    if (c->exitcodes[i] == code)
      return true;
  return false;
}

/* A program changed by a reload takes its new config once stopped. */
static void adopt_next(sv_proc_t *p) {
  if (p->next_gen == NULL)
    return;
  gen_unref(p->gen);
  p->gen = p->next_gen;
  p->conf = p->next_conf;
  p->next_gen = NULL;
  p->next_conf = NULL;
  close_logs(p); /* the paths may have changed */
}

/* After an exit, kill what the program's group or session left behind
 * (daemonised helpers, a grandchild that ignored the stop signal), and
 * say what it was: nothing a program started outlives it. */
static void kill_leftovers(sv_proc_t *p, int pid) {
  int pids[64];
  int n = procstat_members(pid, pids, 64);
  /* The group at once as well: the scan cannot see a child being forked
   * right now, a signal to the group reaches it. */
  if (n > 0 || kill(-pid, 0) == 0)
    kill(-pid, SIGKILL);
  if (n <= 0)
    return;
  char list[64 * 12] = "";
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    kill(pids[i], SIGKILL);
    len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i ? "," : "", pids[i]);
  }
  LOG("warn", "leftovers_killed", F_STR("program", p->name), F_INT("count", n),
      F_STR("pids", list));
  sv_reap_soon(p->sv);
}

static void proc_exit_cb(tend_proc_t *run) {
  sv_proc_t *p = run->data;
  sv_t *sv = p->sv;
  const tend_program_t *c = p->conf;
  int64_t code = run->exit_status;
  int sig = run->term_signal;
  double runtime = (double)tend_proc_runtime_ns(run) / 1e9;
  bool killed = run->killed;

  drain_pipes(p, run);
  svchan_exited(p);
  ready_pipe_close(p);
  p->run = NULL;
  close_run(sv, run);
  uv_timer_stop(&p->timer);
  p->has_exit = true;
  p->last_exit = code;
  p->last_signal = sig;

  bool expected = exit_expected(c, code, sig);
  bool restart = false;
  uint64_t delay = 0;
  char action[64];
  char signame[32];
  pstate_t was = p->state;
  switch (was) {
  case PS_STOPPING:
    snprintf(action, sizeof(action), "%s", killed ? "stopped (SIGKILL after stopwaitsecs)"
                                                  : "stopped");
    break;
  case PS_STARTING: {
    int retries = c->startretries;
    if (retries >= 0 && p->fails + 1 > retries)
      snprintf(action, sizeof(action), "fatal");
    else
      snprintf(action, sizeof(action), "backoff, restart in %gs",
               (double)backoff_ms(c, p->fails + 1) / 1000);
    break;
  }
  default: {
    restart = p->want_up && !sv->shutting_down &&
              (c->autorestart == TEND_AUTORESTART_TRUE ||
               (c->autorestart == TEND_AUTORESTART_UNEXPECTED && !expected));
    if (restart) {
      p->fails = runtime < QUICK_RUN_S ? p->fails + 1 : 0;
      delay = backoff_ms(c, p->fails);
    }
    if (!restart)
      snprintf(action, sizeof(action), "none");
    else if (delay == 0)
      snprintf(action, sizeof(action), "restart");
    else
      snprintf(action, sizeof(action), "backoff, restart in %gs", (double)delay / 1000);
    break;
  }
  }
  LOG(expected || was == PS_STOPPING ? "info" : "warn", "exit", F_STR("program", p->name),
      F_INT("pid", p->pid),
      sig ? (log_field_t)F_NULL("exit_code") : (log_field_t)F_INT("exit_code", code),
      sig ? (log_field_t)F_STR("signal", tend_signame(sig, signame, sizeof(signame)))
          : (log_field_t)F_NULL("signal"),
      F_BOOL("expected", expected || was == PS_STOPPING), F_NUM("runtime", runtime),
      F_STR("state", pstate_name(was)), F_STR("action", action));

  /* Whatever ended the program, what its group or session left behind
   * is not supervised by anyone: kill it (systemd's control-group rule). */
  kill_leftovers(p, p->pid);
  switch (was) {
  case PS_STOPPING:
    set_state(p, PS_STOPPED, killed ? "killed" : "stopped");
    if (p->removed) {
      forget(p);
      check_shutdown(sv);
      return;
    }
    adopt_next(p);
    if (p->want_up && !sv->shutting_down) {
      p->restart_due = true;
      spawn(p);
    }
    break;
  case PS_STARTING:
    failed_start(p, "exited too quickly");
    break;
  default:
    set_state(p, PS_EXITED, expected ? "expected exit" : "unexpected exit");
    if (restart) {
      p->restart_due = true; /* counted when it happens, not when planned */
      if (delay == 0)
        spawn(p);
      else
        back_off(p, "quick exit");
    }
    break;
  }
  if (sv->hooks.exited != NULL)
    sv->hooks.exited(p, sig ? -1 : code, sig);
  check_shutdown(sv);
}

/* ---- user actions ------------------------------------------------------ */

int sv_start(sv_proc_t *p, const char **why) {
  switch (p->state) {
  case PS_STARTING:
  case PS_RUNNING:
    *why = "already started";
    return -EALREADY;
  case PS_STOPPING:
    p->want_up = true; /* starts again once stopped */
    return 0;
  default:
    if (p->sv->shutting_down) {
      *why = "the daemon is shutting down";
      return -ESHUTDOWN;
    }
    p->fails = 0;
    uv_timer_stop(&p->timer);
    switch (deps_ready(p, why)) {
    case -1: {
      static char msg[160];
      snprintf(msg, sizeof(msg), "depends on %s: %s", p->waiting_for, *why);
      *why = msg;
      p->waiting_for = NULL;
      p->want_up = false;
      return -EAGAIN;
    }
    case 0: {
      char reason[160];
      p->want_up = true;
      snprintf(reason, sizeof(reason), "waiting for %s", p->waiting_for);
      set_state(p, PS_STARTING, reason);
      return 0;
    }
    default:
      p->want_up = true;
      spawn(p);
      return 0;
    }
  }
}

int sv_stop(sv_proc_t *p, const char **why) {
  p->want_up = false;
  p->restart_due = false;
  if (p->state == PS_STARTING && p->run == NULL) {
    p->waiting_for = NULL; /* waiting for a dependency: nothing runs yet */
    set_state(p, PS_STOPPED, "stop");
    return 0;
  }
  switch (p->state) {
  case PS_STARTING:
  case PS_RUNNING: {
    const tend_program_t *c = p->conf;
    unsigned flags = (c->stopasgroup ? 0 : TEND_STOP_LEADER_ONLY) |
                     (c->killasgroup ? 0 : TEND_STOP_KILL_LEADER);
    char signame[32];
    uv_timer_stop(&p->timer);
    set_state(p, PS_STOPPING, "stop");
    LOG("info", "stop", F_STR("program", p->name), F_INT("pid", p->pid),
        F_STR("signal", tend_signame(c->stopsignal, signame, sizeof(signame))),
        F_NUM("stopwaitsecs", c->stopwaitsecs));
    tend_proc_stop(p->run, c->stopsignal, (uint64_t)(c->stopwaitsecs * 1000), flags);
    return 0;
  }
  case PS_BACKOFF:
    uv_timer_stop(&p->timer);
    set_state(p, PS_STOPPED, "stop");
    return 0;
  case PS_STOPPING:
    return 0;
  default:
    *why = "not running";
    return -ENOTCONN;
  }
}

int sv_restart(sv_proc_t *p, const char **why) {
  if (p->state == PS_STARTING || p->state == PS_RUNNING) {
    int r = sv_stop(p, why);
    p->want_up = true;
    return r;
  }
  return sv_start(p, why);
}

static void send_done_cb(uv_write_t *req, int status) {
  (void)status; /* a child that closed its stdin is not our error */
  free(req);
}

int sv_send(sv_proc_t *p, const char *data, size_t len, bool eof, const char **why) {
  if (p->run == NULL || (p->state != PS_STARTING && p->state != PS_RUNNING)) {
    *why = "not running";
    return -ENOTCONN;
  }
  tend_proc_t *run = p->run;
  if (!run->has_pipe[0] || uv_is_closing((uv_handle_t *)&run->pipes[0])) {
    *why = p->conf->fcgi.url != NULL ? "its stdin is its fcgi socket"
           : p->conf->stdin_pipe    ? "its stdin is closed"
                                    : "it has no stdin pipe (stdin = null)";
    return -EPIPE;
  }
  if (len > 0) {
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&run->pipes[0], &b, 1);
    if (n == UV_EAGAIN)
      n = 0;
    if (n < 0) {
      *why = uv_strerror(n);
      return n;
    }
    if ((size_t)n < len) {
      /* The child is not reading fast enough: queue the rest. */
      size_t rest = len - (size_t)n;
      uv_write_t *req = malloc(sizeof(*req) + rest);
      if (req == NULL) {
        *why = "out of memory";
        return -ENOMEM;
      }
      memcpy(req + 1, data + n, rest);
      b = uv_buf_init((char *)(req + 1), (unsigned)rest);
      int r = uv_write(req, (uv_stream_t *)&run->pipes[0], &b, 1, send_done_cb);
      if (r != 0) {
        free(req);
        *why = uv_strerror(r);
        return r;
      }
    }
  }
  if (eof)
    tend_proc_close_pipe(run, 0);
  return 0;
}

/* ---- the set of processes ---------------------------------------------- */

void sv_init(sv_t *sv, uv_loop_t *loop, const sv_hooks_t *hooks) {
  memset(sv, 0, sizeof(*sv));
  sv->loop = loop;
  sv->hooks = *hooks;
  syslog_sink_init(&sv->syslog);
}

sv_proc_t *sv_find(sv_t *sv, const char *name) {
  for (sv_proc_t *p = sv->procs; p != NULL; p = p->next)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

int sv_select(sv_t *sv, const char *pattern, void (*fn)(sv_proc_t *p, void *arg), void *arg) {
  int n = 0;
  size_t plen = strlen(pattern);
  bool group_all = plen > 2 && strcmp(pattern + plen - 2, ":*") == 0;
  for (sv_proc_t *p = sv->procs, *next; p != NULL; p = next) {
    next = p->next;
    const tend_program_t *c = p->conf;
    bool match = strcmp(pattern, "all") == 0 || strcmp(p->name, pattern) == 0 ||
                 strcmp(c->group, pattern) == 0 ||
                 (group_all && strncmp(c->group, pattern, plen - 2) == 0 &&
                  c->group[plen - 2] == '\0');
    if (!match) {
      /* "GROUP:PROCESS" for a process whose display name is bare. */
      const char *colon = strchr(pattern, ':');
      match = colon != NULL && strncmp(c->group, pattern, (size_t)(colon - pattern)) == 0 &&
              c->group[colon - pattern] == '\0' &&
              strcmp(colon + 1, strchr(p->name, ':') ? strchr(p->name, ':') + 1 : p->name) ==
                  0;
    }
    if (match && !p->removed) {
      n++;
      fn(p, arg);
    }
  }
  return n;
}

static void link_sorted(sv_t *sv, sv_proc_t *p) {
  sv_proc_t **at = &sv->procs, *prev = NULL;
  while (*at != NULL) {
    if (tend_program_cmp((*at)->conf, p->conf) > 0)
      break;
    prev = *at;
    at = &(*at)->next;
  }
  p->next = *at;
  p->prev = prev;
  if (*at != NULL)
    (*at)->prev = p;
  *at = p;
  sv->nprocs++;
}

static void unlink_proc(sv_t *sv, sv_proc_t *p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    sv->procs = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  p->next = p->prev = NULL;
  sv->nprocs--;
}

static sv_proc_t *proc_new(sv_t *sv, sv_gen_t *gen, const tend_program_t *conf) {
  sv_proc_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->sv = sv;
  p->gen = gen_ref(gen);
  p->conf = conf;
  p->name = strdup(conf->name);
  p->state = PS_STOPPED;
  p->fresh = true;
  uv_timer_init(sv->loop, &p->timer);
  p->timer.data = p;
  sv->open_handles++;
  link_sorted(sv, p);
  return p;
}

/* Drop a stopped process for good; its memory goes with its timer. */
static void forget(sv_proc_t *p) {
  sv_t *sv = p->sv;
  if (p->probe != NULL)
    p->probe->p = NULL;
  ready_pipe_close(p);
  svchan_forget(p);
  if (sv->hooks.forget != NULL)
    sv->hooks.forget(p);
  unlink_proc(sv, p);
  close_logs(p);
  gen_unref(p->gen);
  gen_unref(p->next_gen);
  p->gen = p->next_gen = NULL;
  uv_close((uv_handle_t *)&p->timer, timer_closed_cb);
}

static void diff_add(const char ***list, int *n, const char *name) {
  const char **l = realloc(*list, sizeof(char *) * (size_t)(*n + 1));
  if (l == NULL)
    return;
  l[(*n)++] = name;
  *list = l;
}

void sv_diff_free(sv_diff_t *d) {
  free(d->added);
  free(d->changed);
  free(d->removed);
  memset(d, 0, sizeof(*d));
}

void sv_apply(sv_t *sv, tend_config_t *config, sv_diff_t *diff) {
  sv_diff_t local = {0};
  sv_diff_t *d = diff != NULL ? diff : &local;
  memset(d, 0, sizeof(*d));
  sv_gen_t *gen = calloc(1, sizeof(*gen));
  if (gen == NULL) {
    LOG("error", "reload", F_STR("error", strerror(ENOMEM)));
    tend_config_free(config);
    return;
  }
  gen->config = config;
  gen_ref(gen);
  if (syslog_sink_set_path(&sv->syslog, config->syslog_socket) != 0)
    LOG("error", "reload", F_STR("syslog_socket", config->syslog_socket),
        F_STR("error", strerror(ENOMEM)));
  /* Before anything starts: a changed program may start within the loops
   * below, and it needs its socket. */
  svfcgi_apply(sv, config);

  /* Removed programs first: stop them (they are forgotten once stopped). */
  for (sv_proc_t *p = sv->procs, *next; p != NULL; p = next) {
    next = p->next;
    if (p->removed || tend_config_find(config, p->name) != NULL)
      continue;
    diff_add(&d->removed, &d->nremoved, p->name);
    p->removed = true;
    const char *why;
    if (p->run != NULL)
      sv_stop(p, &why);
    else
      forget(p);
  }

  /* In priority order: keep, change or add. */
  for (size_t i = 0; i < config->nprograms; i++) {
    const tend_program_t *c = &config->programs[i];
    sv_proc_t *p = sv_find(sv, c->name);
    if (p != NULL && p->removed)
      p = NULL; /* a removed one still stopping under the same name */
    if (p == NULL) {
      p = proc_new(sv, gen, c);
      if (p == NULL)
        continue;
      if (sv->gen != NULL)
        diff_add(&d->added, &d->nadded, p->name);
      p->want_up = c->autostart; /* started below, once all exist */
      continue;
    }
    if (tend_program_same(p->conf, c)) {
      gen_unref(p->gen);
      p->gen = gen_ref(gen);
      p->conf = c;
      /* priority may differ */
      unlink_proc(sv, p);
      link_sorted(sv, p);
      continue;
    }
    diff_add(&d->changed, &d->nchanged, p->name);
    gen_unref(p->next_gen);
    p->next_gen = gen_ref(gen);
    p->next_conf = c;
    if (p->run != NULL) {
      const char *why;
      sv_stop(p, &why);
      p->want_up = c->autostart;
    } else {
      adopt_next(p);
      uv_timer_stop(&p->timer);
      if (p->state == PS_BACKOFF)
        set_state(p, PS_STOPPED, "reload");
      if (c->autostart) {
        const char *why;
        sv_start(p, &why);
      }
    }
    unlink_proc(sv, p);
    link_sorted(sv, p);
  }
  gen_unref(sv->gen);
  sv->gen = gen;
  /* New programs start only now, in priority order, so that a dependency
   * defined further down the file is known to what depends on it. */
  for (sv_proc_t *p = sv->procs; p != NULL; p = p->next) {
    if (!p->fresh)
      continue;
    p->fresh = false;
    const char *why;
    if (p->want_up && sv_start(p, &why) != 0)
      LOG("warn", "start", F_STR("program", p->name), F_STR("error", why));
  }
  if (diff == NULL)
    sv_diff_free(&local);
}

uint64_t sv_uptime_ms(const sv_proc_t *p) {
  if (p->state != PS_RUNNING && p->state != PS_STARTING && p->state != PS_STOPPING)
    return 0;
  return now_ms() - p->started_at_ms;
}

/* ---- shutdown ---------------------------------------------------------- */

static void shutdown_step(sv_t *sv);

static void reap_timer_closed_cb(uv_handle_t *h) {
  sv_t *sv = h->data;
  if (--sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

static void check_shutdown(sv_t *sv) {
  if (!sv->shutting_down)
    return;
  shutdown_step(sv);
  for (sv_proc_t *p = sv->procs; p != NULL; p = p->next)
    if (p->run != NULL)
      return;
  /* Everything has stopped: release it all. */
  if (sv->reap_timer.data != NULL && !uv_is_closing((uv_handle_t *)&sv->reap_timer))
    uv_close((uv_handle_t *)&sv->reap_timer, reap_timer_closed_cb);
  while (sv->procs != NULL)
    forget(sv->procs);
  gen_unref(sv->gen);
  sv->gen = NULL;
  /* after the forgets: they flush the last lines to syslog */
  syslog_sink_close(&sv->syslog);
  svfcgi_close_all(sv);
  if (sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

/* Does a process that still runs depend on p's program? */
static bool has_running_dependent(sv_t *sv, const sv_proc_t *p) {
  for (sv_proc_t *q = sv->procs; q != NULL; q = q->next) {
    if (q->run == NULL)
      continue;
    for (char **d = q->conf->depends_on; d != NULL && *d != NULL; d++)
      if (strcmp(*d, p->conf->program) == 0)
        return true;
  }
  return false;
}

/* Stop, in reverse priority, everything no running process depends on;
 * called again after each exit, so dependencies stop after dependents. */
static void shutdown_step(sv_t *sv) {
  sv_proc_t *last = sv->procs;
  while (last != NULL && last->next != NULL)
    last = last->next;
  for (sv_proc_t *p = last; p != NULL; p = p->prev) {
    const char *why;
    bool idle_wait = p->state == PS_BACKOFF || (p->state == PS_STARTING && p->run == NULL);
    if ((idle_wait || (p->run != NULL && p->state != PS_STOPPING)) &&
        !has_running_dependent(sv, p))
      sv_stop(p, &why);
  }
}

void sv_shutdown(sv_t *sv, void (*cb)(sv_t *sv)) {
  if (sv->shutting_down)
    return;
  sv->shutting_down = true;
  sv->shutdown_cb = cb;
  shutdown_step(sv);
  check_shutdown(sv);
}

/* ---- orphans ----------------------------------------------------------- */

/* One pass: reap the orphans that are zombies now. Returns how many
 * children no tend_proc_t watches are still alive. */
static int reap_pass(void) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  int pid, alive = 0;
  while (fscanf(f, "%d", &pid) == 1) {
    if (tend_proc_is_child(pid))
      continue; /* a program's, a pool task's or a worker task's */
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
      LOG("info", "orphan_reaped", F_INT("pid", pid),
          WIFSIGNALED(status) ? (log_field_t)F_INT("signal", WTERMSIG(status))
                              : (log_field_t)F_INT("exit_code", WEXITSTATUS(status)));
    else
      alive++;
  }
  fclose(f);
  return alive;
}

static void reap_timer_cb(uv_timer_t *t) {
  sv_t *sv = t->data;
  /* Killed leftovers turn into zombies a moment later, and their SIGCHLD
   * may merge with one already handled: look again for a second. The
   * guard (a child of ours too) never dies, hence the bound. */
  if (reap_pass() > 0 && ++sv->reap_tries < 20)
    uv_timer_start(t, reap_timer_cb, 50, 0);
}

void sv_reap_orphans(sv_t *sv) {
  /* Orphans re-parented to us are listed among our children. Every child
   * tend started itself is reaped through its pidfd, and waitpid(-1) would
   * steal its status: reap exactly the children no tend_proc_t watches. */
  (void)sv;
  reap_pass();
}

void sv_reap_soon(sv_t *sv) {
  if (sv->reap_timer.data == NULL) {
    uv_timer_init(sv->loop, &sv->reap_timer);
    sv->reap_timer.data = sv;
    uv_unref((uv_handle_t *)&sv->reap_timer); /* never keeps the loop up */
    sv->open_handles++;
  }
  sv->reap_tries = 0;
  uv_timer_start(&sv->reap_timer, reap_timer_cb, 50, 0);
}
