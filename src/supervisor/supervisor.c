/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's state machine (see supervisor/supervisor.h), supervisord's rules
 * plus depends_on and ready=. Every change of state is made by sv_event,
 * in one switch with a case per row of this table; the actions (spawn,
 * signals, timers, the exit line) are helpers it calls.
 *
 *  state      event         action                              next state
 *  ---------  ------------  ----------------------------------  --------------------------
 *  STOPPED    START         want_up; fails = 0; dependencies:   all RUNNING: spawn, then
 *  EXITED                                                       SPAWNED or START_FAILED;
 *  FATAL                                                        one on its way: WAITING;
 *  BACKOFF                                                      one not coming: -EAGAIN
 *  WAITING    DEPS_READY    spawn                               SPAWNED | START_FAILED
 *  WAITING    DEPS_FAILED   want_up = false                     STOPPED
 *  STOPPED    SPAWNED       startsecs timer or ready= probe     STARTING (RUNNING at once
 *  WAITING                                                      with startsecs = 0 and no
 *  BACKOFF                                                      ready=)
 *  EXITED, FATAL
 *  the same,  START_FAILED  fails++                             BACKOFF, its timer; FATAL
 *  STARTING                                                     past startretries
 *  STARTING   TIMER         fails = 0 if startsecs >= 1 s       RUNNING
 *  STARTING   READY         fails = 0                           RUNNING
 *  STARTING   NOT_READY     log, stopsignal                     STARTING (its exit fails)
 *  STARTING   EXITED        exit line                           START_FAILED; EXITED with
 *                                                               on_exit = shutdown
 *  RUNNING    EXITED        exit line; autorestart? fails++     EXITED; then spawn (run of
 *                           after a run under 1 s               1 s or more) or BACKOFF
 *                           (never with on_exit = shutdown: the
 *                           daemon's hook stops everything)
 *  STARTING   STOP          stopsignal; core/proc.c sends SIGKILL    STOPPING
 *  RUNNING                  after stopwaitsecs
 *  STOPPING   EXITED        exit line; removed: forget;         STOPPED; then spawn if
 *                           adopt a reloaded config             want_up (a restart)
 *  STOPPING   START         want_up = true (restart once down)  STOPPING
 *  STOPPING   STOP          -                                   STOPPING
 *  WAITING    STOP          -                                   STOPPED
 *  BACKOFF
 *  BACKOFF    TIMER         spawn                               SPAWNED | START_FAILED
 *  WAITING    RELOAD        adopt the new config                STOPPED (a reload starts
 *  BACKOFF                                                      it again if autostart)
 *  STOPPED    RELOAD        adopt the new config                (the same)
 *  EXITED, FATAL
 *
 * Every other pair is ignored, the state unchanged: a START that depends_on
 * refuses (-EAGAIN: a BACKOFF keeps its timer), START while WAITING,
 * STARTING or RUNNING (-EALREADY), STOP while STOPPED, EXITED or FATAL
 * (-ENOTCONN), START while the daemon shuts down (-ESHUTDOWN), and -EINVAL
 * for the rest: a TIMER, READY, NOT_READY or DEPS_* in a state that did
 * not ask for it, EXITED with no child, RELOAD with a child (the reload
 * stops it and starts it again instead). STOP always clears want_up.
 * SPAWNED and START_FAILED are what sv_event raises itself after a spawn
 * (a spawn that fails, like a child that exits in STARTING, is a failed
 * start); callers cannot send them.
 *
 * supervisord's states map one to one; WAITING is tend's (depends_on: no
 * child yet) and shows as STARTING with "waiting for X". The daemon log
 * has one line per change of the state shown and one per exit with the
 * action taken. Nothing polls: timers run only while a start, a backoff
 * or a probe is timed.
 */
#include "supervisor/supervisor.h"
#include "core/childenv.h"
#include "core/log.h"
#include "core/procstat.h"
#include "supervisor/ready.h"
#include "tend/text.h"

#include <errno.h>
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

/* What status shows for each state of the machine. */
static const pstate_t shown[SV_NSTATES] = {
    [SV_STOPPED] = PS_STOPPED, [SV_WAITING] = PS_STARTING, [SV_STARTING] = PS_STARTING,
    [SV_RUNNING] = PS_RUNNING, [SV_BACKOFF] = PS_BACKOFF,  [SV_STOPPING] = PS_STOPPING,
    [SV_EXITED] = PS_EXITED,   [SV_FATAL] = PS_FATAL,
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t secs_ms(double s) { return (uint64_t)(s * 1000); }

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

/* ---- handles ----------------------------------------------------------- */

/* One of sv's handles is closed: the shutdown waits for the last. */
static void handle_gone(sv_t *sv) {
  if (--sv->open_handles == 0 && sv->shutdown_cb != NULL)
    sv->shutdown_cb(sv);
}

static void timer_closed_cb(uv_handle_t *h) {
  sv_proc_t *p = h->data;
  sv_t *sv = p->sv;
  free(p->name);
  free(p);
  handle_gone(sv);
}

/* A run being closed points at the supervisor, not at its process: the
 * process may be freed before the run's handles are (shutdown). */
static void run_closed_cb(tend_proc_t *run) {
  sv_t *sv = run->data;
  free(run);
  handle_gone(sv);
}

static void close_run(sv_t *sv, tend_proc_t *run) {
  run->data = sv;
  tend_proc_close(run, run_closed_cb);
}

static void ready_closed_cb(void *arg) { handle_gone(arg); }

static void ready_close(sv_proc_t *p) {
  if (p->ready == NULL)
    return;
  svready_close(p->ready, ready_closed_cb, p->sv);
  p->ready = NULL;
}

/* The probe's verdict, as an event. */
static void ready_cb(void *data, bool ready) {
  sv_event(data, ready ? SV_EV_READY : SV_EV_NOT_READY);
}

static void timer_cb(uv_timer_t *t) { sv_event(t->data, SV_EV_TIMER); }

/* ---- output ------------------------------------------------------------ */

static void log_output(sv_proc_t *p, int stream, const char *data, size_t len) {
  /* Wired stdout (stdout_channel: lines are messages) is not logged, nor
   * an event listener's (its stdout speaks the protocol to the daemon). */
  sv_wiring_t *w = &p->sv->wiring;
  bool to_channel = stream == 0 && (p->conf->listener ||
                                    (w->output != NULL && w->output(p, data, len)));
  if (p->logs.file_open[stream] && !to_channel) {
    int r = outlog_write(&p->logs.file[stream], data, len);
    if (r != 0)
      LOG("error", "log_error", F_STR("program", p->name),
          F_STR("file", p->logs.file[stream].path),
          F_STR("error", strerror(-r)), F_STR("action", "dropping lines until it works"));
  }
  if (p->logs.lines_open[stream] && !to_channel)
    outlog_write(&p->logs.lines[stream], data, len); /* the sink reports */
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
    if (p->logs.file_open[i])
      outlog_flush(&p->logs.file[i]);
    if (p->logs.lines_open[i])
      outlog_flush(&p->logs.lines[i]);
  }
}

/* One line for syslog, its ident the bare process name (supervisord's
 * config.name). */
static int syslog_line(void *arg, const char *a, size_t alen, const char *b, size_t blen) {
  sv_proc_t *p = arg;
  const char *bare = strchr(p->name, ':') ? strchr(p->name, ':') + 1 : p->name;
  return syslog_sink_send(&p->sv->syslog, bare, a, alen, b, blen);
}

/* With [tend] stdout_prefix, a log on the daemon's own stdout or stderr
 * starts each line with "NAME | ", the names padded to the longest of the
 * config, as docker compose lines up its services. */
static void set_prefix(sv_proc_t *p, outlog_t *l, const char *path) {
  const tend_config_t *cfg = p->gen->config;
  if (!cfg->stdout_prefix || outlog_stdio_fd(path) == 0)
    return;
  size_t width = 0;
  for (size_t i = 0; i < cfg->nprograms; i++)
    if (strlen(cfg->programs[i].name) > width)
      width = strlen(cfg->programs[i].name);
  char prefix[512];
  snprintf(prefix, sizeof(prefix), "%-*s | ", (int)(width < 400 ? width : 400), p->name);
  if (outlog_set_prefix(l, prefix) != 0)
    LOG("error", "log_error", F_STR("program", p->name), F_STR("error", strerror(ENOMEM)),
        F_STR("action", "lines without the name"));
}

static void open_logs(sv_proc_t *p) {
  const tend_logconf_t *lc[2] = {&p->conf->out, &p->conf->err};
  for (int i = 0; i < 2; i++) {
    if (lc[i]->syslog && !p->logs.lines_open[i]) {
      outlog_open_lines(&p->logs.lines[i], syslog_line, p);
      p->logs.lines_open[i] = true;
    }
    if (p->logs.file_open[i] || lc[i]->path == NULL)
      continue;
    int r = outlog_open(&p->logs.file[i], lc[i]->path, lc[i]->maxbytes, lc[i]->backups);
    p->logs.file[i].timestamps = lc[i]->timestamps;
    set_prefix(p, &p->logs.file[i], lc[i]->path);
    p->logs.file_open[i] = true; /* it retries by itself after a failure */
    if (r != 0)
      LOG("error", "log_error", F_STR("program", p->name), F_STR("file", lc[i]->path),
          F_STR("error", strerror(-r)), F_STR("action", "dropping lines until it works"));
  }
}

int sv_reopen_logs(sv_proc_t *p) {
  int ret = 0;
  for (int i = 0; i < 2; i++) {
    if (!p->logs.file_open[i])
      continue;
    /* outlog keeps a partial line across the reopen: nothing is split */
    int r = outlog_reopen(&p->logs.file[i]);
    if (r != 0 && ret == 0)
      ret = r;
  }
  return ret;
}

static void close_logs(sv_proc_t *p) {
  for (int i = 0; i < 2; i++) {
    if (p->logs.file_open[i])
      outlog_close(&p->logs.file[i]);
    p->logs.file_open[i] = false;
    if (p->logs.lines_open[i])
      outlog_close(&p->logs.lines[i]);
    p->logs.lines_open[i] = false;
  }
}

/* ---- spawning ---------------------------------------------------------- */

/* SUPERVISOR_SERVER_URL as supervisord sets it: the Unix socket if there
 * is one, else the TCP one (an empty host is localhost). */
static int set_server_url(childenv_t *env, const tend_config_t *cfg) {
  if (cfg->unix_http.enabled)
    return childenv_setf(env, "SUPERVISOR_SERVER_URL=unix://%s", cfg->unix_http.file);
  if (cfg->inet_http.enabled)
    return childenv_setf(env, "SUPERVISOR_SERVER_URL=http://%s:%d",
                         cfg->inet_http.host[0] != '\0' ? cfg->inet_http.host : "localhost",
                         cfg->inet_http.port);
  return 0;
}

/* The daemon's environment, then the program's (it wins per key), then
 * the names supervisord gives its children, which programs and
 * supervisor.childutils test for (SUPERVISOR_PROCESS_NAME is the bare
 * process name, as supervisord's). */
static char **child_env(const sv_proc_t *p, childenv_t *env) {
  const char *bare = strchr(p->name, ':') ? strchr(p->name, ':') + 1 : p->name;
  int r = childenv_init(env, NULL);
  if (r == 0)
    r = childenv_setv(env, p->conf->env);
  if (r == 0)
    r = set_server_url(env, p->gen->config);
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

/* A start that cannot happen: the event that says so, fsm.why the reason. */
static sv_ev_t start_failed(sv_proc_t *p, const char *why) {
  p->fsm.why = why;
  return SV_EV_START_FAILED;
}

/* The spawn options of p (o->env built in env, which the caller frees
 * either way); NULL, or why they cannot be (logged). */
static const char *spawn_options(sv_proc_t *p, tend_proc_options_t *o, childenv_t *env) {
  const tend_program_t *c = p->conf;
  memset(o, 0, sizeof(*o));
  o->argv = c->argv;
  o->cwd = c->directory;
  o->stdio[0].kind = c->stdin_pipe ? TEND_STDIO_PIPE : TEND_STDIO_NULL;
  if (c->fcgi.url != NULL) {
    /* the group's listening socket is its stdin, as FastCGI wants */
    int fd = svfcgi_fd(p);
    if (fd < 0) {
      LOG("error", "spawn_error", F_STR("program", p->name), F_STR("socket", c->fcgi.url),
          F_STR("error", strerror(-fd)));
      return "socket error";
    }
    o->stdio[0].kind = TEND_STDIO_FD;
    o->stdio[0].fd = fd;
  }
  /* Always a pipe for output, even unlogged: `tend logs -f` may watch. */
  o->stdio[1].kind = TEND_STDIO_PIPE;
  o->stdio[2].kind = c->redirect_stderr ? TEND_STDIO_STDOUT : TEND_STDIO_PIPE;
  /* A daemon killed with SIGKILL takes its children along: nothing keeps
   * running unsupervised (its successor starts them again). */
  o->die_with_parent = true;
  if (c->umask >= 0) {
    o->set_umask = true;
    o->umask = (unsigned)c->umask;
  }
  if (c->user != NULL) {
    struct passwd *pw = getpwnam(c->user);
    if (pw == NULL) {
      LOG("error", "spawn_error", F_STR("program", p->name), F_STR("user", c->user),
          F_STR("error", "no such user"));
      return "no such user";
    }
    if (geteuid() != 0 && pw->pw_uid != geteuid()) {
      LOG("error", "spawn_error", F_STR("program", p->name), F_STR("user", c->user),
          F_STR("error", "user= needs the daemon to run as root"));
      return "user= needs root";
    }
    o->set_ids = true;
    o->uid = pw->pw_uid;
    o->gid = pw->pw_gid;
    o->user = c->user; /* for its supplementary groups */
  }
  o->env = child_env(p, env);
  if (o->env == NULL) {
    LOG("error", "spawn_error", F_STR("program", p->name), F_STR("error", strerror(ENOMEM)));
    return "out of memory";
  }
  return NULL;
}

/* Why p's command could not be spawned, in supervisord's words where it
 * has some (its spawnerr, which status shows): err is the spawn's error,
 * what the step that failed. */
static const char *spawn_error(sv_proc_t *p, int what, int err) {
  const char *cmd = p->conf->argv[0];
  char *buf = p->fsm.why_buf;
  size_t len = sizeof(p->fsm.why_buf);
  if (what == TEND_PROC_ERR_EXEC && err == -ENOENT)
    snprintf(buf, len, "can't find command '%s'", cmd);
  else if (what == TEND_PROC_ERR_EXEC && err == -EACCES)
    snprintf(buf, len, "command at '%s' is not executable", cmd);
  else
    return "spawn error";
  return buf;
}

/* Spawn p's child (with its readiness probe when ready= says so):
 * SV_EV_SPAWNED, or SV_EV_START_FAILED when it cannot be. */
static sv_ev_t launch(sv_proc_t *p) {
  sv_t *sv = p->sv;
  const tend_program_t *c = p->conf;
  tend_proc_options_t o;
  childenv_t env = {NULL};
  const char *why = spawn_options(p, &o, &env);
  if (why != NULL) {
    childenv_free(&env);
    return start_failed(p, why);
  }
  tend_proc_t *run = calloc(1, sizeof(*run));
  if (run == NULL) {
    childenv_free(&env);
    LOG("error", "spawn_error", F_STR("program", p->name), F_STR("error", strerror(ENOMEM)));
    return start_failed(p, "out of memory");
  }
  open_logs(p);
  run->data = p;
  sv->open_handles++;
  int ready_fd = -1, r = 0;
  if (c->ready != TEND_READY_STARTSECS) {
    r = svready_open(sv->loop, c, ready_cb, p, &p->ready, &ready_fd);
    if (r == 0)
      sv->open_handles++;
    o.has_extra = ready_fd >= 0;
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
    ready_close(p);
    return start_failed(p, spawn_error(p, run->err_what, r));
  }
  p->run = run;
  p->pid = run->pid;
  if (p->fsm.restart_due)
    p->restarts++;
  p->fsm.restart_due = false;
  if (sv->wiring.started != NULL)
    sv->wiring.started(p);
  p->started_at_ms = now_ms();
  for (int i = 1; i <= 2; i++) {
    if (run->has_pipe[i]) {
      run->pipes[i].data = run;
      uv_read_start((uv_stream_t *)&run->pipes[i], out_alloc_cb, out_read_cb);
    }
  }
  LOG("info", "spawn", F_STR("program", p->name), F_INT("pid", run->pid),
      F_STR("command", c->command));
  return SV_EV_SPAWNED;
}

/* ---- dependencies ------------------------------------------------------ */

/* 1 when every program p depends on is RUNNING; 0 while one is still on
 * its way; -1 when one is not wanted up at all. fsm.dep names the one
 * stopped at, fsm.why says what is wrong with it. */
static int deps_check(sv_proc_t *p) {
  p->fsm.dep = NULL;
  p->fsm.why = "a dependency is not RUNNING";
  for (char **d = p->conf->depends_on; d != NULL && *d != NULL; d++) {
    sv_proc_t *q;
    TAILQ_FOREACH(q, &p->sv->procs, link) {
      if (q->removed || strcmp(q->conf->program, *d) != 0 || q->state == PS_RUNNING)
        continue;
      p->fsm.dep = *d;
      if (!q->want_up || q->state == PS_FATAL) {
        p->fsm.why = q->state == PS_FATAL ? "a dependency is FATAL" : "a dependency is not started";
        return -1;
      }
      return 0;
    }
  }
  return 1;
}

/* Something changed state: tell what waits for it whether it may start,
 * or that its dependency will not come. */
static void deps_changed(sv_t *sv) {
  if (sv->shutting_down)
    return;
  sv_proc_t *p;
  TAILQ_FOREACH(p, &sv->procs, link) {
    if (p->fsm.state != SV_WAITING)
      continue;
    int r = deps_check(p);
    /* No event here unlinks a process: the walk goes on. */
    if (r == 0)
      p->waiting_for = p->fsm.dep; /* the next one on its way */
    else
      sv_event(p, r > 0 ? SV_EV_DEPS_READY : SV_EV_DEPS_FAILED);
  }
}

/* ---- actions ----------------------------------------------------------- */

/* The one place a state changes (called from sv_event alone): a line in
 * the daemon log and the state hook when the state shown changes. What a
 * state arms (the timer of STARTING and BACKOFF, the readiness probe of
 * STARTING) is armed after entering it and disarmed on leaving it, here. */
static void enter(sv_proc_t *p, sv_state_t to, const char *why) {
  pstate_t from = p->state;
  uv_timer_stop(&p->fsm.timer);
  if (to != SV_STARTING)
    ready_close(p);
  p->fsm.state = to;
  if (to != SV_WAITING)
    p->waiting_for = NULL;
  if (shown[to] == from)
    return;
  LOG("info", "state", F_STR("program", p->name), F_STR("from", pstate_name(from)),
      F_STR("to", pstate_name(shown[to])), F_STR("reason", why));
  p->state = shown[to];
  if (p->sv->hooks.state != NULL)
    p->sv->hooks.state(p, from, p->state);
  if (p->state == PS_RUNNING || p->state == PS_FATAL || p->state == PS_STOPPED)
    deps_changed(p->sv);
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

static const char *backoff_action(char *buf, size_t len, uint64_t ms) {
  snprintf(buf, len, "backoff, restart in %gs", (double)ms / 1000);
  return buf;
}

static bool exit_expected(const sv_proc_t *p) {
  if (p->last_signal != 0)
    return false;
  for (int i = 0; i < p->conf->nexitcodes; i++)
    if (p->conf->exitcodes[i] == p->last_exit)
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

/* The exit line: how the child ended, in which state, and the action the
 * machine took; then, whatever ended the program, what its group or
 * session left behind is killed (systemd's control-group rule). */
static void log_exit(sv_proc_t *p, const char *action) {
  bool expected = exit_expected(p) || p->fsm.state == SV_STOPPING;
  int sig = p->last_signal;
  char signame[32];
  LOG(expected ? "info" : "warn", "exit", F_STR("program", p->name), F_INT("pid", p->pid),
      sig ? (log_field_t)F_NULL("exit_code") : (log_field_t)F_INT("exit_code", p->last_exit),
      sig ? (log_field_t)F_STR("signal", tend_signame(sig, signame, sizeof(signame)))
          : (log_field_t)F_NULL("signal"),
      F_BOOL("expected", expected), F_NUM("runtime", p->fsm.runtime),
      F_STR("state", pstate_name(p->state)), F_STR("action", action));
  kill_leftovers(p, p->pid);
}

/* A child that exits in STARTING: the exit line says what its failed
 * start leads to. */
static void log_exit_starting(sv_proc_t *p) {
  const tend_program_t *c = p->conf;
  char action[64];
  if (c->startretries >= 0 && p->fsm.fails + 1 > c->startretries)
    log_exit(p, "fatal");
  else
    log_exit(p, backoff_action(action, sizeof(action), backoff_ms(c, p->fsm.fails + 1)));
}

/* A child that exits in RUNNING: is it restarted (autorestart), and after
 * how long (*delay_ms: a quick run counts as a failure, and backs off)?
 * The exit line says. */
static bool restart_after_exit(sv_proc_t *p, uint64_t *delay_ms) {
  const tend_program_t *c = p->conf;
  bool restart = p->want_up && !p->sv->shutting_down && c->on_exit != TEND_ON_SHUTDOWN &&
                 (c->autorestart == TEND_AUTORESTART_TRUE ||
                  (c->autorestart == TEND_AUTORESTART_UNEXPECTED && !exit_expected(p)));
  char action[64];
  *delay_ms = 0;
  if (restart) {
    p->fsm.fails = p->fsm.runtime < QUICK_RUN_S ? p->fsm.fails + 1 : 0;
    *delay_ms = backoff_ms(c, p->fsm.fails);
  }
  log_exit(p, c->on_exit == TEND_ON_SHUTDOWN && !p->sv->shutting_down ? "shutdown (on_exit)"
              : !restart                                               ? "none"
              : *delay_ms == 0                                         ? "restart"
                               : backoff_action(action, sizeof(action), *delay_ms));
  return restart;
}

/* stopsignal to the child (its group unless stopasgroup = false), SIGKILL
 * after stopwaitsecs (core/proc.c's timer). */
static void signal_stop(sv_proc_t *p) {
  const tend_program_t *c = p->conf;
  unsigned flags = (c->stopasgroup ? 0 : TEND_STOP_LEADER_ONLY) |
                   (c->killasgroup ? 0 : TEND_STOP_KILL_LEADER);
  char signame[32];
  LOG("info", "stop", F_STR("program", p->name), F_INT("pid", p->pid),
      F_STR("signal", tend_signame(c->stopsignal, signame, sizeof(signame))),
      F_NUM("stopwaitsecs", c->stopwaitsecs));
  tend_proc_stop(p->run, c->stopsignal, secs_ms(c->stopwaitsecs), flags);
}

/* ready_timeout passed: stop the child; still STARTING, its exit counts
 * as a failed start. */
static void signal_not_ready(sv_proc_t *p) {
  const tend_program_t *c = p->conf;
  char sig[32];
  LOG("warn", "not_ready", F_STR("program", p->name), F_INT("pid", p->pid),
      F_NUM("ready_timeout", c->ready_timeout),
      F_STR("action", tend_signame(c->stopsignal, sig, sizeof(sig))));
  tend_proc_stop(p->run, c->stopsignal, secs_ms(c->stopwaitsecs), 0);
}

static void forget(sv_proc_t *p);
static void check_shutdown(sv_t *sv);

/* A START with nothing running: -ESHUTDOWN, or what depends_on says: 1
 * every dependency is RUNNING, 0 one is on its way (waiting_for), -EAGAIN
 * one is not coming. A refused START changes nothing: a process in
 * BACKOFF keeps its timer (stopping it left BACKOFF with nothing to end
 * it). */
static int want_start(sv_proc_t *p) {
  if (p->sv->shutting_down)
    return -ESHUTDOWN;
  int deps = deps_check(p);
  if (deps < 0)
    return -EAGAIN;
  p->fsm.fails = 0;
  uv_timer_stop(&p->fsm.timer); /* a backoff ends here */
  p->want_up = true;
  if (deps == 0)
    p->waiting_for = p->fsm.dep;
  return deps;
}

/* Arm what tells that p's new child is up: its probe or the startsecs
 * timer. False when nothing is to wait for (startsecs = 0, no ready=). */
static bool arm_start(sv_proc_t *p) {
  if (p->ready != NULL)
    svready_start(p->ready);
  else if (p->conf->startsecs > 0)
    uv_timer_start(&p->fsm.timer, timer_cb, secs_ms(p->conf->startsecs), 0);
  return p->ready != NULL || p->conf->startsecs > 0;
}

/* ---- the state machine ------------------------------------------------- */

#define ON(state, ev) ((int)(state) * SV_NEVENTS + (int)(ev))

/* One event e in p's state: the table at the top of this file, row by
 * row. An action's outcome (SPAWNED, START_FAILED) goes to *ev, the next
 * event to handle. */
static int step(sv_proc_t *p, sv_ev_t e, sv_ev_t *ev) {
  uint64_t delay;
  int r;
  char reason[160];
  switch (ON(p->fsm.state, e)) {
  case ON(SV_STOPPED, SV_EV_START):
  case ON(SV_EXITED, SV_EV_START):
  case ON(SV_FATAL, SV_EV_START):
  case ON(SV_BACKOFF, SV_EV_START):
    r = want_start(p);
    if (r < 0)
      return r;
    if (r > 0) {
      *ev = launch(p);
      return 0;
    }
    snprintf(reason, sizeof(reason), "waiting for %s", p->fsm.dep);
    enter(p, SV_WAITING, reason);
    return 0;
  case ON(SV_WAITING, SV_EV_DEPS_READY):
  case ON(SV_BACKOFF, SV_EV_TIMER):
    *ev = launch(p);
    return 0;
  case ON(SV_WAITING, SV_EV_DEPS_FAILED):
    snprintf(reason, sizeof(reason), "%s: %s", p->fsm.why, p->fsm.dep);
    p->want_up = false;
    enter(p, SV_STOPPED, reason);
    return 0;
  case ON(SV_STOPPED, SV_EV_SPAWNED):
  case ON(SV_WAITING, SV_EV_SPAWNED):
  case ON(SV_BACKOFF, SV_EV_SPAWNED):
  case ON(SV_EXITED, SV_EV_SPAWNED):
  case ON(SV_FATAL, SV_EV_SPAWNED):
    enter(p, SV_STARTING, "start");
    /* fails is not reset: with no startsecs only the run's length tells
     * a crash loop from a healthy restart */
    if (!arm_start(p))
      enter(p, SV_RUNNING, "startsecs=0");
    return 0;
  case ON(SV_STOPPED, SV_EV_START_FAILED):
  case ON(SV_WAITING, SV_EV_START_FAILED):
  case ON(SV_STARTING, SV_EV_START_FAILED):
  case ON(SV_BACKOFF, SV_EV_START_FAILED):
  case ON(SV_EXITED, SV_EV_START_FAILED):
  case ON(SV_FATAL, SV_EV_START_FAILED):
    p->fsm.fails++;
    enter(p, SV_BACKOFF, p->fsm.why);
    if (p->conf->startretries >= 0 && p->fsm.fails > p->conf->startretries)
      enter(p, SV_FATAL, "too many failed starts");
    else
      uv_timer_start(&p->fsm.timer, timer_cb, backoff_ms(p->conf, p->fsm.fails), 0);
    return 0;
  case ON(SV_STARTING, SV_EV_TIMER):
    if (p->conf->startsecs >= QUICK_RUN_S)
      p->fsm.fails = 0;
    enter(p, SV_RUNNING, "startsecs");
    return 0;
  case ON(SV_STARTING, SV_EV_READY):
    p->fsm.fails = 0;
    enter(p, SV_RUNNING, "ready");
    return 0;
  case ON(SV_STARTING, SV_EV_NOT_READY):
    ready_close(p);
    signal_not_ready(p);
    return 0;
  case ON(SV_STARTING, SV_EV_EXITED):
    if (p->conf->on_exit == TEND_ON_SHUTDOWN && !p->sv->shutting_down) {
      log_exit(p, "shutdown (on_exit)");
      enter(p, SV_EXITED, "exited too quickly");
      return 0;
    }
    log_exit_starting(p);
    *ev = start_failed(p, "exited too quickly");
    return 0;
  case ON(SV_RUNNING, SV_EV_EXITED):
    /* a restart is counted when it happens, not when planned */
    p->fsm.restart_due = restart_after_exit(p, &delay);
    enter(p, SV_EXITED, exit_expected(p) ? "expected exit" : "unexpected exit");
    if (p->fsm.restart_due && delay == 0) {
      *ev = launch(p);
    } else if (p->fsm.restart_due) {
      enter(p, SV_BACKOFF, "quick exit");
      uv_timer_start(&p->fsm.timer, timer_cb, delay, 0);
    }
    return 0;
  case ON(SV_STARTING, SV_EV_STOP):
  case ON(SV_RUNNING, SV_EV_STOP):
    enter(p, SV_STOPPING, "stop");
    signal_stop(p);
    return 0;
  case ON(SV_STOPPING, SV_EV_EXITED):
    log_exit(p, p->fsm.killed ? "stopped (SIGKILL after stopwaitsecs)" : "stopped");
    enter(p, SV_STOPPED, p->fsm.killed ? "killed" : "stopped");
    if (p->removed) {
      forget(p);
      return 0;
    }
    adopt_next(p);
    p->fsm.restart_due = p->want_up && !p->sv->shutting_down;
    if (p->fsm.restart_due)
      *ev = launch(p);
    return 0;
  case ON(SV_STOPPING, SV_EV_START):
    p->want_up = true; /* starts again once stopped */
    return 0;
  case ON(SV_STOPPING, SV_EV_STOP):
    return 0;
  case ON(SV_WAITING, SV_EV_STOP):
  case ON(SV_BACKOFF, SV_EV_STOP):
    enter(p, SV_STOPPED, "stop");
    return 0;
  case ON(SV_WAITING, SV_EV_RELOAD):
  case ON(SV_BACKOFF, SV_EV_RELOAD):
    adopt_next(p);
    enter(p, SV_STOPPED, "reload");
    return 0;
  case ON(SV_STOPPED, SV_EV_RELOAD):
  case ON(SV_EXITED, SV_EV_RELOAD):
  case ON(SV_FATAL, SV_EV_RELOAD):
    adopt_next(p);
    return 0;
  default:
    return e == SV_EV_START ? -EALREADY : e == SV_EV_STOP ? -ENOTCONN : -EINVAL;
  }
}

int sv_event(sv_proc_t *p, sv_ev_t ev) {
  if ((unsigned)ev >= SV_EV_SPAWNED)
    return -EINVAL; /* only an action of the machine raises those */
  if (ev == SV_EV_STOP) /* the user's wish, whatever the state */
    p->want_up = p->fsm.restart_due = false;
  int r;
  do {
    sv_ev_t e = ev;
    ev = SV_NEVENTS;
    r = step(p, e, &ev);
  } while (r == 0 && ev != SV_NEVENTS);
  return r;
}

static void proc_exit_cb(tend_proc_t *run) {
  sv_proc_t *p = run->data;
  sv_t *sv = p->sv;
  drain_pipes(p, run);
  if (sv->wiring.exited != NULL)
    sv->wiring.exited(p);
  p->run = NULL;
  p->stopped_at_ms = now_ms();
  p->has_exit = true;
  p->last_exit = run->exit_status;
  p->last_signal = run->term_signal;
  p->fsm.runtime = (double)tend_proc_runtime_ns(run) / 1e9;
  p->fsm.killed = run->killed;
  close_run(sv, run);
  sv_event(p, SV_EV_EXITED);
  /* A removed process was forgotten on its way to STOPPED: its waiters
   * were told already. */
  if (!p->removed && sv->hooks.exited != NULL)
    sv->hooks.exited(p, p->last_signal ? -1 : p->last_exit, p->last_signal);
  check_shutdown(sv);
}

/* ---- user actions ------------------------------------------------------ */

int sv_start(sv_proc_t *p, const char **why) {
  static char msg[160];
  int r = sv_event(p, SV_EV_START);
  if (r == -EALREADY)
    *why = "already started";
  else if (r == -ESHUTDOWN)
    *why = "the daemon is shutting down";
  else if (r == -EAGAIN) {
    snprintf(msg, sizeof(msg), "depends on %s: %s", p->fsm.dep, p->fsm.why);
    *why = msg;
  }
  return r;
}

int sv_stop(sv_proc_t *p, const char **why) {
  int r = sv_event(p, SV_EV_STOP);
  if (r != 0)
    *why = "not running";
  return r;
}

/* Stop, then START once stopped (what START while STOPPING means); what
 * runs no child starts at once. */
int sv_restart(sv_proc_t *p, const char **why) {
  if (p->state == PS_STARTING || p->state == PS_RUNNING) {
    int r = sv_stop(p, why);
    if (r != 0)
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
  TAILQ_INIT(&sv->procs);
  syslog_sink_init(&sv->syslog);
}

sv_proc_t *sv_find(sv_t *sv, const char *name) {
  sv_proc_t *p;
  TAILQ_FOREACH(p, &sv->procs, link)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

int sv_select(sv_t *sv, const char *pattern, void (*fn)(sv_proc_t *p, void *arg), void *arg) {
  int n = 0;
  size_t plen = strlen(pattern);
  bool group_all = plen > 2 && strcmp(pattern + plen - 2, ":*") == 0;
  for (sv_proc_t *p = TAILQ_FIRST(&sv->procs), *next; p != NULL; p = next) {
    next = TAILQ_NEXT(p, link);
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

/* After the ones that compare equal: among equals, the first linked
 * comes first. */
static void link_sorted(sv_t *sv, sv_proc_t *p) {
  sv_proc_t *q;
  TAILQ_FOREACH(q, &sv->procs, link)
    if (tend_program_cmp(q->conf, p->conf) > 0)
      break;
  if (q != NULL)
    TAILQ_INSERT_BEFORE(q, p, link);
  else
    TAILQ_INSERT_TAIL(&sv->procs, p, link);
  sv->nprocs++;
}

static void unlink_proc(sv_t *sv, sv_proc_t *p) {
  TAILQ_REMOVE(&sv->procs, p, link);
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
  p->fsm.state = SV_STOPPED;
  p->fresh = true;
  uv_timer_init(sv->loop, &p->fsm.timer);
  p->fsm.timer.data = p;
  sv->open_handles++;
  link_sorted(sv, p);
  return p;
}

/* Drop a stopped process for good; its memory goes with its timer. */
static void forget(sv_proc_t *p) {
  sv_t *sv = p->sv;
  if (sv->wiring.forget != NULL)
    sv->wiring.forget(p);
  if (sv->hooks.forget != NULL)
    sv->hooks.forget(p);
  unlink_proc(sv, p);
  close_logs(p);
  gen_unref(p->gen);
  gen_unref(p->next_gen);
  p->gen = p->next_gen = NULL;
  uv_close((uv_handle_t *)&p->fsm.timer, timer_closed_cb);
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
  for (sv_proc_t *p = TAILQ_FIRST(&sv->procs), *next; p != NULL; p = next) {
    next = TAILQ_NEXT(p, link);
    if (p->removed || tend_config_find(config, p->name) != NULL)
      continue;
    diff_add(&d->removed, &d->nremoved, p->name);
    p->removed = true;
    if (p->run != NULL)
      sv_event(p, SV_EV_STOP);
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
    /* A child stops and starts again with the new config (START while
     * STOPPING); with none, the new config is taken at once. */
    sv_event(p, p->run != NULL ? SV_EV_STOP : SV_EV_RELOAD);
    if (c->autostart)
      sv_event(p, SV_EV_START);
    unlink_proc(sv, p);
    link_sorted(sv, p);
  }
  gen_unref(sv->gen);
  sv->gen = gen;
  /* New programs start only now, in priority order, so that a dependency
   * defined further down the file is known to what depends on it. */
  sv_proc_t *p;
  TAILQ_FOREACH(p, &sv->procs, link) {
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

static void reap_timer_closed_cb(uv_handle_t *h) { handle_gone(h->data); }

static void check_shutdown(sv_t *sv) {
  if (!sv->shutting_down)
    return;
  shutdown_step(sv);
  sv_proc_t *p;
  TAILQ_FOREACH(p, &sv->procs, link)
    if (p->run != NULL)
      return;
  /* Everything has stopped: release it all. */
  if (sv->reap_timer.data != NULL && !uv_is_closing((uv_handle_t *)&sv->reap_timer))
    uv_close((uv_handle_t *)&sv->reap_timer, reap_timer_closed_cb);
  while ((p = TAILQ_FIRST(&sv->procs)) != NULL)
    forget(p);
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
  sv_proc_t *q;
  TAILQ_FOREACH(q, &sv->procs, link) {
    if (q->run == NULL)
      continue;
    for (char **d = q->conf->depends_on; d != NULL && *d != NULL; d++)
      if (strcmp(*d, p->conf->program) == 0)
        return true;
  }
  return false;
}

/* Is p an event listener while another program still runs? Listeners
 * hear the others stop: supervisord stops its groups one at a time in
 * reverse priority, the listeners' -1 last. */
static bool listener_waits(sv_t *sv, const sv_proc_t *p) {
  if (!p->conf->listener)
    return false;
  sv_proc_t *q;
  TAILQ_FOREACH(q, &sv->procs, link)
    if (q->run != NULL && !q->conf->listener)
      return true;
  return false;
}

/* Stop, in reverse priority, everything no running process depends on;
 * called again after each exit, so dependencies stop after dependents
 * and event listeners after the rest. */
static void shutdown_step(sv_t *sv) {
  sv_proc_t *p;
  /* A STOP forgets nothing (only an exit does): the walk goes on. */
  TAILQ_FOREACH_REVERSE(p, &sv->procs, sv_procs, link) {
    bool idle_wait = p->fsm.state == SV_BACKOFF || p->fsm.state == SV_WAITING;
    if ((idle_wait || (p->run != NULL && p->fsm.state != SV_STOPPING)) &&
        !has_running_dependent(sv, p) && !listener_waits(sv, p))
      sv_event(p, SV_EV_STOP);
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
