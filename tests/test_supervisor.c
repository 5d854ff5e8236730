/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's state machine without a daemon: sv_event driven on a
 * real loop with real children (/bin/true, /bin/false, sleep, sh), every
 * row of the table at the top of src/supervisor/supervisor.c, then the ignored pairs
 * as a group. Every wait is on an event (a state change, the shutdown)
 * with a deadline.
 */
#include "looputil.h"
#include "testutil.h"
#include "core/log.h"
#include "supervisor/supervisor.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static uv_loop_t loop;
static char *dir;
static char log_path[512];
static sv_t sv;
static bool sv_up, down;

/* Every change of a shown state, in order. */
struct rec {
  const sv_proc_t *p;
  pstate_t from, to;
};
static struct rec recs[512];
static int nrecs;
static int nexits;
static bool forgotten;
/* wait_for: the process and state waited for, and whether it came. */
static const sv_proc_t *watch;
static sv_state_t watch_state;
static bool reached;

static void on_state(sv_proc_t *p, pstate_t from, pstate_t to) {
  if (nrecs < (int)(sizeof(recs) / sizeof(recs[0])))
    recs[nrecs++] = (struct rec){p, from, to};
  if (p == watch && p->fsm.state == watch_state)
    reached = true;
}

static void on_exited(sv_proc_t *p, int64_t code, int sig) {
  (void)p;
  (void)code;
  (void)sig;
  nexits++;
}

static void on_forget(sv_proc_t *p) {
  (void)p;
  forgotten = true;
}

static const sv_hooks_t hooks = {.exited = on_exited, .state = on_state, .forget = on_forget};

static void setup(void) {
  cr_assert(uv_loop_init(&loop) == 0);
  dir = tu_tmpdir();
  snprintf(log_path, sizeof(log_path), "%s/tend.log", dir);
  cr_assert(log_open(log_path, TEND_LOGFMT_TEXT) == 0);
  nrecs = nexits = 0;
  sv_up = down = forgotten = false;
}

static void down_cb(sv_t *s) {
  (void)s;
  down = true;
}

static void teardown(void) {
  if (sv_up) {
    sv_shutdown(&sv, down_cb);
    cr_expect(lu_run_until(&loop, &down, 10000), "the shutdown never finished");
  }
  tend_proc_release();
  uv_run(&loop, UV_RUN_NOWAIT);
  cr_expect(uv_loop_close(&loop) == 0, "handles left open on the loop");
  log_close();
  tu_rmdir(dir);
}

TestSuite(supervisor, .init = setup, .fini = teardown, .timeout = 60);

/* The config text with every @ replaced by the test's directory. */
static tend_config_t *config(const char *text) {
  char conf[8192], path[600];
  size_t n = 0;
  n += (size_t)snprintf(conf, sizeof(conf), "[tend]\nlogdir = %s\n", dir);
  for (const char *c = text; *c != '\0' && n < sizeof(conf) - 600; c++) {
    if (*c == '@')
      n += (size_t)snprintf(conf + n, sizeof(conf) - n, "%s", dir);
    else
      conf[n++] = *c;
  }
  conf[n] = '\0';
  snprintf(path, sizeof(path), "%s/tend.conf", dir);
  tu_write_file(path, conf);
  tend_config_t *cfg;
  tend_diag_t diag = {0};
  int r = tend_config_load(path, &cfg, &diag);
  cr_assert(r == 0, "config: %s", diag.nerrors > 0 ? diag.errors[0] : strerror(-r));
  tend_diag_free(&diag);
  return cfg;
}

/* A supervisor with these programs (none autostarts: each test sends the
 * events). */
static void start_sv(const char *programs) {
  sv_init(&sv, &loop, &hooks);
  sv_up = true;
  sv_apply(&sv, config(programs), NULL);
}

static sv_proc_t *proc(const char *name) {
  sv_proc_t *p = sv_find(&sv, name);
  cr_assert(p != NULL, "no process %s", name);
  return p;
}

/* Run the loop until p enters state s (as a shown state changes). */
static bool wait_for(sv_proc_t *p, sv_state_t s, int ms) {
  if (p->fsm.state == s)
    return true;
  watch = p;
  watch_state = s;
  reached = false;
  lu_run_until(&loop, &reached, ms);
  watch = NULL;
  return reached;
}

/* Was p seen going from one shown state to the other? */
static bool saw(const sv_proc_t *p, pstate_t from, pstate_t to) {
  for (int i = 0; i < nrecs; i++)
    if (recs[i].p == p && recs[i].from == from && recs[i].to == to)
      return true;
  return false;
}

/* The shown states p went through, as "STOPPED>STARTING>...". */
static const char *path_of(const sv_proc_t *p) {
  static char buf[1024];
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < nrecs && n < sizeof(buf) - 32; i++) {
    if (recs[i].p != p)
      continue;
    if (n == 0)
      n += (size_t)snprintf(buf, sizeof(buf), "%s", pstate_name(recs[i].from));
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, ">%s", pstate_name(recs[i].to));
  }
  return buf;
}

static int log_count(const char *needle) { return tu_file_count(log_path, needle); }

#define ASSERT_STATE(p, s) \
  cr_assert_eq((p)->fsm.state, (s), "%s: state %d, path %s", (p)->name, (p)->fsm.state, path_of(p))

/* STOPPED×START (spawn) → SPAWNED → STARTING, STARTING×TIMER → RUNNING,
 * RUNNING×STOP → STOPPING, STOPPING×STOP, STOPPING×EXITED → STOPPED. */
Test(supervisor, start_startsecs_stop) {
  start_sv("[program:svc]\ncommand = sleep 300\nstartsecs = 0.2\nautostart = false\n");
  sv_proc_t *p = proc("svc");
  ASSERT_STATE(p, SV_STOPPED);
  cr_assert_eq(sv_event(p, SV_EV_START), 0);
  ASSERT_STATE(p, SV_STARTING);
  cr_assert(p->run != NULL && p->pid > 0 && p->want_up);
  cr_assert(wait_for(p, SV_RUNNING, 5000), "startsecs never made it RUNNING: %s", path_of(p));
  cr_assert_eq(log_count("program=svc from=STARTING to=RUNNING reason=startsecs"), 1);
  long pid = p->pid;
  cr_assert_eq(sv_event(p, SV_EV_STOP), 0);
  ASSERT_STATE(p, SV_STOPPING);
  cr_assert(!p->want_up);
  cr_assert_eq(sv_event(p, SV_EV_STOP), 0, "a second STOP while STOPPING is fine");
  ASSERT_STATE(p, SV_STOPPING);
  cr_assert(wait_for(p, SV_STOPPED, 5000), "never STOPPED: %s", path_of(p));
  cr_assert_str_eq(path_of(p), "STOPPED>STARTING>RUNNING>STOPPING>STOPPED");
  cr_assert(p->run == NULL && p->has_exit && p->last_signal == SIGTERM);
  cr_assert_eq(nexits, 1);
  cr_assert(tu_wait_gone((pid_t)pid, 5000));
  cr_assert_eq(log_count("state=STOPPING action=stopped"), 1);
}

/* SPAWNED with startsecs = 0 → STARTING → RUNNING at once;
 * RUNNING×EXITED without autorestart → EXITED; EXITED×START. */
Test(supervisor, startsecs_zero_and_exit_without_restart) {
  start_sv("[program:once]\ncommand = /bin/true\nstartsecs = 0\nautostart = false\n");
  sv_proc_t *p = proc("once");
  cr_assert_eq(sv_event(p, SV_EV_START), 0);
  ASSERT_STATE(p, SV_RUNNING);
  cr_assert_eq(log_count("from=STARTING to=RUNNING reason=\"startsecs=0\""), 1);
  cr_assert(wait_for(p, SV_EXITED, 5000), "%s", path_of(p));
  cr_assert(p->run == NULL && p->last_exit == 0 && nexits == 1);
  cr_assert_eq(log_count("state=RUNNING action=none"), 1);
  cr_assert_eq(log_count("to=EXITED reason=\"expected exit\""), 1);
  cr_assert_eq(sv_event(p, SV_EV_START), 0, "EXITED×START spawns again");
  cr_assert(wait_for(p, SV_EXITED, 5000) && nexits == 2);
  cr_assert_str_eq(path_of(p), "STOPPED>STARTING>RUNNING>EXITED>STARTING>RUNNING>EXITED");
  cr_assert_eq(p->restarts, 0, "a user's start is not a restart");
}

/* RUNNING×EXITED with autorestart: → EXITED then a spawn at once (no
 * backoff configured), or → BACKOFF after a quick run; BACKOFF×TIMER,
 * BACKOFF×START, BACKOFF×STOP. */
Test(supervisor, autorestart_at_once_or_after_backoff) {
  start_sv("[program:flap]\ncommand = /bin/false\nstartsecs = 0\nautorestart = true\n"
           "backoff_initial = 0\nautostart = false\n"
           "[program:crash]\ncommand = /bin/false\nstartsecs = 0\nautorestart = true\n"
           "backoff_initial = 0.1\nautostart = false\n");
  sv_proc_t *flap = proc("flap"), *crash = proc("crash");
  cr_assert_eq(sv_event(flap, SV_EV_START), 0);
  cr_assert(wait_for(flap, SV_EXITED, 5000));
  /* EXITED, then STARTING in the same turn */
  cr_assert(saw(flap, PS_EXITED, PS_STARTING), "%s", path_of(flap));
  cr_assert_geq(flap->restarts, 1);
  cr_assert(log_count("program=flap pid=") >= 1 && log_count("state=RUNNING action=restart") >= 1);
  ASSERT_STATE(flap, SV_RUNNING);
  cr_assert_eq(sv_event(flap, SV_EV_STOP), 0);
  cr_assert(wait_for(flap, SV_STOPPED, 5000), "%s", path_of(flap));

  cr_assert_eq(sv_event(crash, SV_EV_START), 0);
  cr_assert(wait_for(crash, SV_BACKOFF, 5000), "%s", path_of(crash));
  cr_assert(saw(crash, PS_RUNNING, PS_EXITED) && saw(crash, PS_EXITED, PS_BACKOFF));
  cr_assert_eq(log_count("program=crash from=EXITED to=BACKOFF reason=\"quick exit\""), 1);
  cr_assert_eq(crash->fsm.fails, 1);
  cr_assert(wait_for(crash, SV_RUNNING, 5000), "BACKOFF×TIMER never spawned: %s", path_of(crash));
  cr_assert(saw(crash, PS_BACKOFF, PS_STARTING));
  cr_assert(wait_for(crash, SV_BACKOFF, 5000));
  cr_assert_eq(crash->fsm.fails, 2);
  cr_assert_eq(sv_event(crash, SV_EV_START), 0, "BACKOFF×START starts at once");
  ASSERT_STATE(crash, SV_RUNNING);
  cr_assert_eq(crash->fsm.fails, 0);
  cr_assert(wait_for(crash, SV_BACKOFF, 5000));
  cr_assert_eq(sv_event(crash, SV_EV_STOP), 0);
  ASSERT_STATE(crash, SV_STOPPED);
  cr_assert(saw(crash, PS_BACKOFF, PS_STOPPED));
  /* the backoff timer was disarmed: nothing starts it again */
  bool never = false;
  lu_run_until(&loop, &never, 300);
  ASSERT_STATE(crash, SV_STOPPED);
}

/* STARTING×EXITED → START_FAILED → BACKOFF, BACKOFF×TIMER, then FATAL
 * past startretries; FATAL×START spawns; STARTING×STOP → STOPPING. */
Test(supervisor, failed_starts_back_off_then_fatal) {
  start_sv("[program:broken]\ncommand = sh -c 'exit 7'\nstartsecs = 1\nstartretries = 1\n"
           "backoff_initial = 0.05\nautostart = false\n");
  sv_proc_t *p = proc("broken");
  cr_assert_eq(sv_event(p, SV_EV_START), 0);
  cr_assert(wait_for(p, SV_FATAL, 5000), "%s", path_of(p));
  cr_assert_str_eq(path_of(p), "STOPPED>STARTING>BACKOFF>STARTING>BACKOFF>FATAL");
  cr_assert_eq(p->fsm.fails, 2);
  cr_assert_eq(log_count("exit_code=7"), 2);
  cr_assert_eq(log_count("state=STARTING action=\"backoff, restart in 0.05s\""), 1);
  cr_assert_eq(log_count("state=STARTING action=fatal"), 1);
  cr_assert_eq(log_count("to=BACKOFF reason=\"exited too quickly\""), 2);
  cr_assert_eq(log_count("from=BACKOFF to=FATAL reason=\"too many failed starts\""), 1);
  cr_assert_eq(sv_event(p, SV_EV_START), 0, "FATAL×START spawns again");
  ASSERT_STATE(p, SV_STARTING);
  cr_assert_eq(p->fsm.fails, 0);
  cr_assert_eq(sv_event(p, SV_EV_STOP), 0, "STARTING×STOP");
  ASSERT_STATE(p, SV_STOPPING);
  cr_assert(wait_for(p, SV_STOPPED, 5000), "%s", path_of(p));
}

/* START_FAILED from a spawn that fails, in each state a spawn is tried
 * from: STOPPED, FATAL, EXITED, BACKOFF, WAITING. */
Test(supervisor, spawn_errors_are_failed_starts) {
  char script[600];
  snprintf(script, sizeof(script), "%s/once.sh", dir);
  tu_write_file(script, "#!/bin/sh\nexit 0\n");
  cr_assert(chmod(script, 0755) == 0);
  start_sv("[program:ghost]\ncommand = /nonexistent/ghost\nstartretries = 0\nautostart = false\n"
           "[program:once]\ncommand = @/once.sh\nstartsecs = 0\nstartretries = 1\n"
           "backoff_initial = 0.05\nautostart = false\n"
           "[program:db]\ncommand = sleep 300\nstartsecs = 0.1\nautostart = false\n"
           "[program:late]\ncommand = /nonexistent/late\ndepends_on = db\nstartretries = 0\n"
           "autostart = false\n");
  sv_proc_t *ghost = proc("ghost"), *once = proc("once"), *db = proc("db"), *late = proc("late");

  cr_assert_eq(sv_event(ghost, SV_EV_START), 0);
  ASSERT_STATE(ghost, SV_FATAL);
  cr_assert_str_eq(path_of(ghost), "STOPPED>BACKOFF>FATAL");
  cr_assert_eq(log_count("from=STOPPED to=BACKOFF reason=\"can't find command "
                         "'/nonexistent/ghost'\""), 1);
  cr_assert_eq(sv_event(ghost, SV_EV_START), 0);
  ASSERT_STATE(ghost, SV_FATAL);
  cr_assert_str_eq(path_of(ghost), "STOPPED>BACKOFF>FATAL>BACKOFF>FATAL");

  cr_assert_eq(sv_event(once, SV_EV_START), 0);
  cr_assert(wait_for(once, SV_EXITED, 5000), "%s", path_of(once));
  cr_assert(unlink(script) == 0);
  cr_assert_eq(sv_event(once, SV_EV_START), 0, "EXITED×START, the spawn fails");
  ASSERT_STATE(once, SV_BACKOFF);
  cr_assert(saw(once, PS_EXITED, PS_BACKOFF));
  /* BACKOFF×TIMER: the spawn fails again, past startretries */
  cr_assert(wait_for(once, SV_FATAL, 5000), "%s", path_of(once));
  cr_assert_eq(once->fsm.fails, 2);
  cr_assert_eq(log_count("spawn_error program=once"), 2);

  cr_assert_eq(sv_event(db, SV_EV_START), 0);
  cr_assert_eq(sv_event(late, SV_EV_START), 0);
  ASSERT_STATE(late, SV_WAITING);
  cr_assert(wait_for(db, SV_RUNNING, 5000));
  /* WAITING×DEPS_READY, and its spawn fails */
  ASSERT_STATE(late, SV_FATAL);
  cr_assert_str_eq(path_of(late), "STOPPED>STARTING>BACKOFF>FATAL");
}

/* STOPPING×EXITED after stopwaitsecs: SIGKILL, said so. */
Test(supervisor, stop_escalates_to_sigkill) {
  /* ready once the trap is set: the stop must find TERM ignored */
  start_sv("[program:stubborn]\ncommand = sh -c \"trap '' TERM; echo >&3; exec sleep 300\"\n"
           "ready = fd:3\nstopwaitsecs = 0.2\nautostart = false\n");
  sv_proc_t *p = proc("stubborn");
  cr_assert_eq(sv_event(p, SV_EV_START), 0);
  cr_assert(wait_for(p, SV_RUNNING, 5000), "%s", path_of(p));
  cr_assert_eq(sv_event(p, SV_EV_STOP), 0);
  cr_assert(wait_for(p, SV_STOPPED, 5000), "%s", path_of(p));
  cr_assert(p->fsm.killed && p->last_signal == SIGKILL);
  cr_assert_eq(log_count("action=\"stopped (SIGKILL after stopwaitsecs)\""), 1);
  cr_assert_eq(log_count("from=STOPPING to=STOPPED reason=killed"), 1);
}

/* STOPPING×START: a restart once stopped (what sv_restart does). */
Test(supervisor, start_while_stopping_restarts) {
  start_sv("[program:svc]\ncommand = sleep 300\nstartsecs = 0\nautostart = false\n");
  sv_proc_t *p = proc("svc");
  cr_assert_eq(sv_event(p, SV_EV_START), 0);
  int pid1 = p->pid;
  cr_assert_eq(sv_event(p, SV_EV_STOP), 0);
  cr_assert_eq(sv_event(p, SV_EV_START), 0);
  ASSERT_STATE(p, SV_STOPPING);
  cr_assert(p->want_up);
  cr_assert(wait_for(p, SV_RUNNING, 5000), "%s", path_of(p));
  cr_assert_str_eq(path_of(p), "STOPPED>STARTING>RUNNING>STOPPING>STOPPED>STARTING>RUNNING");
  cr_assert(p->pid != pid1 && p->restarts == 1);
  const char *why;
  cr_assert_eq(sv_restart(p, &why), 0);
  cr_assert(wait_for(p, SV_STOPPED, 5000) && wait_for(p, SV_RUNNING, 5000));
  cr_assert_eq(p->restarts, 2);
}

static int listen_unix(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert(strlen(path) < sizeof(sa.sun_path));
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0);
  return fd;
}

/* STARTING×READY (fd:N and unix:PATH), STARTING×NOT_READY: the child is
 * stopped and its exit is a failed start. */
Test(supervisor, readiness) {
  char sock[600];
  snprintf(sock, sizeof(sock), "%s/ready.sock", dir);
  start_sv("[program:fd]\ncommand = sh -c 'read go; echo ready >&3; exec sleep 300'\n"
           "ready = fd:3\nstdin = pipe\nautostart = false\n"
           "[program:sock]\ncommand = sleep 300\nready = unix:@/ready.sock\nautostart = false\n"
           "[program:never]\ncommand = sleep 300\nready = fd:3\nready_timeout = 0.2\n"
           "startretries = 0\nautostart = false\n");
  sv_proc_t *fd = proc("fd"), *sk = proc("sock"), *never = proc("never");
  cr_assert_eq(sv_event(fd, SV_EV_START), 0);
  ASSERT_STATE(fd, SV_STARTING);
  cr_assert(fd->ready != NULL);
  const char *why;
  cr_assert_eq(sv_send(fd, "go\n", 3, false, &why), 0);
  cr_assert(wait_for(fd, SV_RUNNING, 5000), "%s", path_of(fd));
  cr_assert(fd->ready == NULL, "the probe goes with STARTING");
  cr_assert_eq(log_count("program=fd from=STARTING to=RUNNING reason=ready"), 1);

  cr_assert_eq(sv_event(sk, SV_EV_START), 0);
  bool never_true = false;
  lu_run_until(&loop, &never_true, 250); /* a few failed connects */
  ASSERT_STATE(sk, SV_STARTING);
  int lfd = listen_unix(sock);
  cr_assert(wait_for(sk, SV_RUNNING, 5000), "%s", path_of(sk));
  close(lfd);
  cr_assert_eq(log_count("program=sock from=STARTING to=RUNNING reason=ready"), 1);

  cr_assert_eq(sv_event(never, SV_EV_START), 0);
  cr_assert(wait_for(never, SV_FATAL, 5000), "%s", path_of(never));
  cr_assert_eq(log_count("not_ready program=never"), 1);
  cr_assert_eq(log_count("exit program=never"), 1);
  cr_assert_eq(never->last_signal, SIGTERM);
  cr_assert_str_eq(path_of(never), "STOPPED>STARTING>BACKOFF>FATAL");
}

/* START refused (a dependency not wanted up), STOPPED×START → WAITING,
 * WAITING×DEPS_READY, WAITING×DEPS_FAILED, WAITING×STOP, WAITING×RELOAD. */
Test(supervisor, dependencies) {
  start_sv("[program:app]\ncommand = sleep 300\nstartsecs = 0\ndepends_on = db\n"
           "autostart = false\n"
           "[program:db]\ncommand = sleep 300\nstartsecs = 0.2\nautostart = false\n");
  sv_proc_t *app = proc("app"), *db = proc("db");
  const char *why = NULL;
  cr_assert_eq(sv_start(app, &why), -EAGAIN);
  cr_assert_str_eq(why, "depends on db: a dependency is not started");
  ASSERT_STATE(app, SV_STOPPED);
  cr_assert(!app->want_up && nrecs == 0);

  cr_assert_eq(sv_event(db, SV_EV_START), 0);
  cr_assert_eq(sv_event(app, SV_EV_START), 0);
  ASSERT_STATE(app, SV_WAITING);
  cr_assert(app->state == PS_STARTING && app->run == NULL && app->want_up);
  cr_assert_str_eq(app->waiting_for, "db");
  cr_assert_eq(log_count("program=app from=STOPPED to=STARTING reason=\"waiting for db\""), 1);
  cr_assert(wait_for(db, SV_RUNNING, 5000));
  ASSERT_STATE(app, SV_RUNNING); /* DEPS_READY: spawned, and startsecs = 0 */
  cr_assert(app->waiting_for == NULL && app->run != NULL);

  cr_assert_eq(sv_event(app, SV_EV_STOP), 0);
  cr_assert_eq(sv_event(db, SV_EV_STOP), 0);
  cr_assert(wait_for(app, SV_STOPPED, 5000) && wait_for(db, SV_STOPPED, 5000));
  cr_assert_eq(sv_event(db, SV_EV_START), 0);
  cr_assert_eq(sv_event(app, SV_EV_START), 0);
  ASSERT_STATE(app, SV_WAITING);
  cr_assert_eq(sv_event(db, SV_EV_STOP), 0);
  cr_assert(wait_for(db, SV_STOPPED, 5000));
  ASSERT_STATE(app, SV_STOPPED); /* DEPS_FAILED */
  cr_assert(!app->want_up && app->waiting_for == NULL);
  cr_assert_eq(log_count("program=app from=STARTING to=STOPPED "
                         "reason=\"a dependency is not started: db\""), 1);

  cr_assert_eq(sv_event(db, SV_EV_START), 0);
  cr_assert_eq(sv_event(app, SV_EV_START), 0);
  cr_assert_eq(sv_event(app, SV_EV_STOP), 0);
  ASSERT_STATE(app, SV_STOPPED);
  cr_assert_eq(log_count("program=app from=STARTING to=STOPPED reason=stop"), 1);
  cr_assert_eq(sv_event(app, SV_EV_START), 0);
  ASSERT_STATE(app, SV_WAITING);
  cr_assert_eq(sv_event(app, SV_EV_RELOAD), 0);
  ASSERT_STATE(app, SV_STOPPED);
  cr_assert_eq(log_count("program=app from=STARTING to=STOPPED reason=reload"), 1);
  cr_assert(app->waiting_for == NULL);
}

/* A START refused by a dependency changes nothing: a process in BACKOFF
 * keeps its timer, and the backoff ends in a spawn as it would have. */
Test(supervisor, refused_start_keeps_the_backoff) {
  start_sv("[program:app]\ncommand = sh -c 'exit 3'\nstartsecs = 1\nstartretries = 1\n"
           "backoff_initial = 0.3\ndepends_on = db\nautostart = false\n"
           "[program:db]\ncommand = sleep 300\nstartsecs = 0\nautostart = false\n");
  sv_proc_t *app = proc("app"), *db = proc("db");
  cr_assert_eq(sv_event(db, SV_EV_START), 0);
  ASSERT_STATE(db, SV_RUNNING);
  cr_assert_eq(sv_event(app, SV_EV_START), 0);
  cr_assert(wait_for(app, SV_BACKOFF, 5000), "%s", path_of(app));
  cr_assert_eq(sv_event(db, SV_EV_STOP), 0);
  cr_assert(wait_for(db, SV_STOPPED, 5000));
  const char *why = NULL;
  cr_assert_eq(sv_start(app, &why), -EAGAIN);
  cr_assert_str_eq(why, "depends on db: a dependency is not started");
  ASSERT_STATE(app, SV_BACKOFF);
  cr_assert(app->want_up && app->fsm.fails == 1, "want_up %d, fails %d", app->want_up,
            app->fsm.fails);
  /* the backoff's own timer: BACKOFF×TIMER spawns, the child fails again */
  cr_assert(wait_for(app, SV_FATAL, 5000), "%s", path_of(app));
  cr_assert_str_eq(path_of(app), "STOPPED>STARTING>BACKOFF>STARTING>BACKOFF>FATAL");
}

/* RELOAD with no child: BACKOFF → STOPPED, STOPPED/EXITED/FATAL stay and
 * take the new config; a removed program is forgotten once stopped
 * (STOPPING×EXITED). */
Test(supervisor, reload) {
  start_sv("[program:idle]\ncommand = sleep 300\nautostart = false\n"
           "[program:crash]\ncommand = /bin/false\nstartsecs = 0\nautorestart = true\n"
           "backoff_initial = 30\nautostart = false\n"
           "[program:ghost]\ncommand = /nonexistent\nstartretries = 0\nautostart = false\n"
           "[program:once]\ncommand = /bin/true\nstartsecs = 0\nautostart = false\n"
           "[program:gone]\ncommand = sleep 300\nstartsecs = 0\nautostart = false\n");
  sv_proc_t *idle = proc("idle"), *crash = proc("crash"), *ghost = proc("ghost");
  sv_proc_t *once = proc("once"), *gone = proc("gone");
  cr_assert_eq(sv_event(crash, SV_EV_START), 0);
  cr_assert(wait_for(crash, SV_BACKOFF, 5000));
  cr_assert_eq(sv_event(crash, SV_EV_RELOAD), 0);
  ASSERT_STATE(crash, SV_STOPPED);
  cr_assert_eq(log_count("program=crash from=BACKOFF to=STOPPED reason=reload"), 1);
  cr_assert_eq(sv_event(ghost, SV_EV_START), 0);
  ASSERT_STATE(ghost, SV_FATAL);
  cr_assert_eq(sv_event(once, SV_EV_START), 0);
  cr_assert(wait_for(once, SV_EXITED, 5000));
  cr_assert_eq(sv_event(gone, SV_EV_START), 0);
  int before = nrecs;
  cr_assert_eq(sv_event(idle, SV_EV_RELOAD), 0);
  cr_assert_eq(sv_event(ghost, SV_EV_RELOAD), 0);
  cr_assert_eq(sv_event(once, SV_EV_RELOAD), 0);
  cr_assert_eq(nrecs, before, "RELOAD without a child changes no state: %s", path_of(once));

  /* A real reload: each changed one takes its new command. */
  sv_apply(&sv, config("[program:idle]\ncommand = sleep 301\nautostart = false\n"
                       "[program:crash]\ncommand = /bin/true\nautostart = false\n"
                       "[program:ghost]\ncommand = /nonexistent/2\nautostart = false\n"
                       "[program:once]\ncommand = /bin/echo\nautostart = false\n"),
           NULL);
  cr_assert_str_eq(idle->conf->command, "sleep 301");
  cr_assert_str_eq(crash->conf->command, "/bin/true");
  cr_assert_str_eq(ghost->conf->command, "/nonexistent/2");
  cr_assert_str_eq(once->conf->command, "/bin/echo");
  ASSERT_STATE(idle, SV_STOPPED);
  ASSERT_STATE(ghost, SV_FATAL);
  ASSERT_STATE(once, SV_EXITED);
  ASSERT_STATE(gone, SV_STOPPING);
  cr_assert(wait_for(gone, SV_STOPPED, 5000));
  cr_assert(forgotten && sv_find(&sv, "gone") == NULL, "a removed program is forgotten");
}

/* Expected results of the ignored pairs, the state unchanged. */
static int ignored_rc(sv_state_t s, sv_ev_t e) {
  static const unsigned legal[SV_NSTATES] = {
      [SV_STOPPED] = 1u << SV_EV_START | 1u << SV_EV_RELOAD,
      [SV_WAITING] = 1u << SV_EV_STOP | 1u << SV_EV_DEPS_READY | 1u << SV_EV_DEPS_FAILED |
                     1u << SV_EV_RELOAD,
      [SV_STARTING] = 1u << SV_EV_STOP | 1u << SV_EV_EXITED | 1u << SV_EV_TIMER |
                      1u << SV_EV_READY | 1u << SV_EV_NOT_READY,
      [SV_RUNNING] = 1u << SV_EV_STOP | 1u << SV_EV_EXITED,
      [SV_BACKOFF] = 1u << SV_EV_START | 1u << SV_EV_STOP | 1u << SV_EV_TIMER |
                     1u << SV_EV_RELOAD,
      [SV_STOPPING] = 1u << SV_EV_START | 1u << SV_EV_STOP | 1u << SV_EV_EXITED,
      [SV_EXITED] = 1u << SV_EV_START | 1u << SV_EV_RELOAD,
      [SV_FATAL] = 1u << SV_EV_START | 1u << SV_EV_RELOAD,
  };
  if (legal[s] & (1u << e))
    return 1; /* not ignored */
  return e == SV_EV_START ? -EALREADY : e == SV_EV_STOP ? -ENOTCONN : -EINVAL;
}

/* Every pair the table does not list, in every state: the event is
 * refused with its errno and nothing changes. */
Test(supervisor, ignored_events_change_nothing) {
  start_sv("[program:stopped]\ncommand = sleep 300\nautostart = false\n"
           "[program:db]\ncommand = sleep 300\nstartsecs = 60\nautostart = false\n"
           "[program:waiting]\ncommand = sleep 300\ndepends_on = db\nautostart = false\n"
           "[program:running]\ncommand = sleep 300\nstartsecs = 0\nautostart = false\n"
           "[program:backoff]\ncommand = /bin/false\nstartsecs = 0\nautorestart = true\n"
           "backoff_initial = 60\nautostart = false\n"
           "[program:stopping]\ncommand = sh -c \"trap '' TERM; exec sleep 300\"\n"
           "startsecs = 0\nstopwaitsecs = 1\nautostart = false\n"
           "[program:exited]\ncommand = /bin/true\nstartsecs = 0\nautostart = false\n"
           "[program:fatal]\ncommand = /nonexistent\nstartretries = 0\nautostart = false\n");
  sv_proc_t *ps[SV_NSTATES] = {
      [SV_STOPPED] = proc("stopped"),   [SV_WAITING] = proc("waiting"),
      [SV_STARTING] = proc("db"),       [SV_RUNNING] = proc("running"),
      [SV_BACKOFF] = proc("backoff"),   [SV_STOPPING] = proc("stopping"),
      [SV_EXITED] = proc("exited"),     [SV_FATAL] = proc("fatal"),
  };
  cr_assert_eq(sv_event(ps[SV_STARTING], SV_EV_START), 0); /* first: WAITING waits for it */
  for (int s = SV_WAITING; s < SV_NSTATES; s++)
    cr_assert_eq(sv_event(ps[s], SV_EV_START), s == SV_STARTING ? -EALREADY : 0);
  cr_assert(wait_for(ps[SV_BACKOFF], SV_BACKOFF, 5000));
  cr_assert(wait_for(ps[SV_EXITED], SV_EXITED, 5000));
  cr_assert_eq(sv_event(ps[SV_STOPPING], SV_EV_STOP), 0);
  int checked = 0;
  for (int s = 0; s < SV_NSTATES; s++) {
    sv_proc_t *p = ps[s];
    ASSERT_STATE(p, (sv_state_t)s);
    for (int e = 0; e < SV_NEVENTS; e++) {
      int want = ignored_rc((sv_state_t)s, (sv_ev_t)e);
      if (want > 0 && e < SV_EV_SPAWNED)
        continue;
      if (e >= SV_EV_SPAWNED)
        want = -EINVAL; /* never from a caller */
      int before = nrecs, pid = p->pid;
      tend_proc_t *run = p->run;
      cr_assert_eq(sv_event(p, (sv_ev_t)e), want, "state %d event %d", s, e);
      cr_assert_eq(p->fsm.state, (sv_state_t)s, "state %d event %d moved it", s, e);
      cr_assert(nrecs == before && p->run == run && p->pid == pid, "state %d event %d", s, e);
      checked++;
    }
  }
  cr_assert_geq(checked, 50);
  /* START while shutting down: -ESHUTDOWN, and nothing starts. */
  sv_shutdown(&sv, down_cb);
  ASSERT_STATE(ps[SV_STOPPING], SV_STOPPING); /* it keeps the others alive */
  cr_assert_eq(sv_event(ps[SV_STOPPED], SV_EV_START), -ESHUTDOWN);
  ASSERT_STATE(ps[SV_STOPPED], SV_STOPPED);
}
