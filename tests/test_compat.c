/* SPDX-License-Identifier: MIT */
/*
 * Drop-in for supervisord: the config semantics of supervisord 4.2.5, end
 * to end. Each test writes a config the way supervisord's documentation
 * shows one, runs the real `tend daemon` on it in a temporary directory and
 * checks what supervisord would do through `tend status`, `tend logs` and
 * the children's own output (their environment, working directory, umask,
 * limits, printed by themselves).
 *
 * One rule of the issue per test. Every daemon is stopped by pid (also when
 * an assertion fails: the suite's fini), every wait is on an event (inotify
 * on a log, the daemon's replies, a pidfd) with a deadline; nothing here
 * sleeps.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixtures ------------------------------------------------------------ */

static tu_daemon_t d, d2;

/* Strings made by fmt(), freed after each test. */
static char *strs[256];
static int nstrs;

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static const char *fmt(const char *f, ...) {
  char *s;
  va_list ap;
  va_start(ap, f);
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  cr_assert(n >= 0 && nstrs < 256);
  strs[nstrs++] = s;
  return s;
}

/* Stop a daemon by pid and remove its directory; a child it left behind
 * is killed by pid (its group) so that no test leaks a process. */
static void stop_daemon(tu_daemon_t *x) {
  if (x->dir == NULL)
    return;
  pid_t kids[64];
  int n = x->pid > 0 ? tu_children_of(x->pid, kids, 64) : 0;
  tu_daemon_stop(x);
  for (int i = 0; i < n; i++) {
    if (!tu_wait_gone(kids[i], 2000)) {
      kill(-kids[i], SIGKILL);
      kill(kids[i], SIGKILL);
    }
  }
}

/* Each test process is a child subreaper (tu_strays_init): if a daemon
 * dies without stopping its programs, they come to us and are killed here
 * by pid. */
static void cleanup(void) {
  stop_daemon(&d);
  stop_daemon(&d2);
  pid_t orphans[64];
  int n = tu_children_of(getpid(), orphans, 64);
  for (int i = 0; i < n; i++) {
    kill(-orphans[i], SIGKILL);
    kill(orphans[i], SIGKILL);
    waitpid(orphans[i], NULL, 0);
  }
  for (int i = 0; i < nstrs; i++)
    free(strs[i]);
  nstrs = 0;
}

TestSuite(compat, .timeout = 60, .init = tu_strays_init, .fini = cleanup);

/* A temporary directory for a daemon: its config, socket and log paths. */
static void setup_dir(tu_daemon_t *x) {
  memset(x, 0, sizeof(*x));
  char *tmp = tu_tmpdir();
  /* the real path: %(here)s and pwd print it */
  x->dir = realpath(tmp, NULL);
  free(tmp);
  cr_assert(x->dir != NULL);
  cr_assert(asprintf(&x->conf, "%s/tend.conf", x->dir) > 0);
  cr_assert(asprintf(&x->sock, "%s/tend.sock", x->dir) > 0);
  cr_assert(asprintf(&x->log, "%s/daemon.log", x->dir) > 0);
}

/*
 * Write x->conf: a [tend] section of 4 lines (socket; logdir = DIR/log when
 * with_logdir, else a comment, so that [supervisord] childlogdir decides),
 * then text. Line k of text is line k + 4 of the file.
 */
static void write_conf(tu_daemon_t *x, bool with_logdir, const char *text) {
  char *all;
  if (with_logdir)
    cr_assert(asprintf(&all, "[tend]\nsocket = %s\nlogdir = %s/log\n\n%s", x->sock, x->dir,
                       text) > 0);
  else
    cr_assert(asprintf(&all, "[tend]\nsocket = %s\n; no logdir here\n\n%s", x->sock, text) > 0);
  tu_write_file(x->conf, all);
  free(all);
}

/* Start on x->conf and wait until the socket answers, or fail with the
 * daemon's log. */
static void start_ok(tu_daemon_t *x) {
  int status = 0;
  if (!tu_daemon_try(x, x->conf, &status)) {
    char *log = tu_read_file(x->log, NULL);
    cr_assert_fail("the daemon did not come up (wait status %d); its log:\n%s", status,
                   log != NULL ? log : "(none)");
  }
}

/* Start on x->conf expecting a refusal: the daemon's exit code. */
static int start_refused(tu_daemon_t *x) {
  int status = 0;
  bool up = tu_daemon_try(x, x->conf, &status);
  char *log = tu_read_file(x->log, NULL);
  cr_assert(!up, "the daemon started on a config it must refuse; its log:\n%s", log);
  free(log);
  cr_assert(WIFEXITED(status), "the daemon died of a signal (wait status %d)", status);
  return WEXITSTATUS(status);
}

static void mkdir_in(const char *dir, const char *sub) {
  const char *p = fmt("%s/%s", dir, sub);
  cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

/* ---- talking to the daemon ------------------------------------------------ */

/* `tend status --json [PATTERN]`: the array (caller decrefs). */
static json_t *status_list(tu_daemon_t *x, const char *pattern) {
  tu_result_t r;
  if (pattern != NULL)
    tu_ctl(x, &r, "status", "--json", pattern, NULL);
  else
    tu_ctl(x, &r, "status", "--json", NULL);
  json_t *arr = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(arr), "status --json %s: exit %d, %s %s", pattern ? pattern : "",
            r.exit_code, r.out, r.err);
  tu_result_free(&r);
  return arr;
}

/* The status entry of name (caller decrefs), or NULL. */
static json_t *status_of(tu_daemon_t *x, const char *name) {
  tu_result_t r;
  tu_ctl(x, &r, "status", "--json", name, NULL);
  json_t *arr = json_loads(r.out, 0, NULL);
  tu_result_free(&r);
  json_t *e = json_incref(json_array_get(arr, 0));
  json_decref(arr);
  return e;
}

static const char *state_of(tu_daemon_t *x, const char *name) {
  json_t *e = status_of(x, name);
  const char *s = fmt("%s", e != NULL ? json_string_value(json_object_get(e, "state")) : "?");
  json_decref(e);
  return s;
}

static long pid_of(tu_daemon_t *x, const char *name) {
  json_t *e = status_of(x, name);
  json_t *p = json_object_get(e, "pid");
  long pid = json_is_integer(p) ? (long)json_integer_value(p) : -1;
  json_decref(e);
  return pid;
}

static const char *field_of(tu_daemon_t *x, const char *name, const char *key) {
  json_t *e = status_of(x, name);
  json_t *v = json_object_get(e, key);
  const char *s = json_is_string(v)    ? fmt("%s", json_string_value(v))
                  : json_is_integer(v) ? fmt("%lld", (long long)json_integer_value(v))
                                       : fmt("%s", "null");
  json_decref(e);
  return s;
}

/* `tend logs [-n N] NAME` (or --stderr): stdout of the command. */
static const char *logs_of(tu_daemon_t *x, const char *name, bool err) {
  tu_result_t r;
  if (err)
    tu_ctl(x, &r, "logs", "-n", "50", "--stderr", name, NULL);
  else
    tu_ctl(x, &r, "logs", "-n", "50", name, NULL);
  assert_exit(&r, 0);
  const char *s = fmt("%s", r.out);
  tu_result_free(&r);
  return s;
}

static bool has(tu_daemon_t *x, const char *needle, int ms) {
  return tu_wait_file_contains(x->log, needle, ms);
}

static void wait_running(tu_daemon_t *x, const char *name) {
  const char *needle = fmt("state program=%s from=STARTING to=RUNNING", name);
  cr_assert(has(x, needle, 8000), "%s never RUNNING; daemon log:\n%s", name,
            tu_read_file(x->log, NULL));
}

/* Whether one line of the file holds every needle (NULL-terminated). */
static bool line_with(const char *path, ...) {
  char *s = tu_read_file(path, NULL);
  bool found = false;
  for (char *save = NULL, *line = s != NULL ? strtok_r(s, "\n", &save) : NULL;
       line != NULL && !found; line = strtok_r(NULL, "\n", &save)) {
    va_list ap;
    va_start(ap, path);
    bool all = true;
    for (const char *n; (n = va_arg(ap, const char *)) != NULL;)
      all = all && strstr(line, n) != NULL;
    va_end(ap);
    found = all;
  }
  free(s);
  return found;
}

static const char *daemon_log(tu_daemon_t *x) {
  char *s = tu_read_file(x->log, NULL);
  const char *c = fmt("%s", s != NULL ? s : "(none)");
  free(s);
  return c;
}

/* ---- string expansions --------------------------------------------------- */

Test(compat, expansions_in_command_directory_environment_logfiles_process_name) {
  setenv("COMPAT_SITE", "site-from-env", 1);
  /* supervisord expands the config, never the inherited environment
   * (not named TEND_*: tend keeps its own TEND_ variables from children) */
  setenv("COMPAT_PCT", "50%(here)s %% %d", 1);
  setup_dir(&d);
  mkdir_in(d.dir, "wd_exp_7");
  mkdir_in(d.dir, "logs");
  write_conf(&d, true,
             "[group:grp]\n"
             "programs = exp\n"
             "\n"
             "[program:exp]\n"
             "command = sh -c 'echo \"cmd: here=%(here)s program=%(program_name)s "
             "num=%(process_num)02d group=%(group_name)s host=%(host_node_name)s "
             "site=%(ENV_COMPAT_SITE)s pct=100%%\"; echo \"env: $EXP_VAR\"; "
             "echo \"inherited: $COMPAT_PCT\"; echo \"cwd: $(pwd)\"; "
             "echo \"to stderr\" >&2; exec sleep 300'\n"
             "process_name = %(program_name)s_%(process_num)02d\n"
             "numprocs_start = 7\n"
             "directory = %(here)s/wd_%(program_name)s_%(process_num)d\n"
             "environment = EXP_VAR=\"%(program_name)s/%(process_num)03d/%(group_name)s/"
             "%(ENV_COMPAT_SITE)s/%%\"\n"
             "stdout_logfile = %(here)s/logs/%(group_name)s-%(program_name)s-%(process_num)d.out\n"
             "stderr_logfile = %(here)s/logs/%(program_name)s_%(process_num)d.err\n"
             "startsecs = 0\n");
  start_ok(&d);
  wait_running(&d, "grp:exp_07");
  struct utsname u;
  cr_assert(uname(&u) == 0);

  const char *out = fmt("%s/logs/grp-exp-7.out", d.dir);
  cr_assert(tu_wait_file_contains(out, "cwd: ", 5000), "no output in %s; daemon log:\n%s", out,
            daemon_log(&d));
  const char *want =
      fmt("cmd: here=%s program=exp num=07 group=grp host=%s site=site-from-env pct=100%%\n"
          "env: exp/007/grp/site-from-env/%%\n"
          "inherited: 50%%(here)s %%%% %%d\n"
          "cwd: %s/wd_exp_7\n",
          d.dir, u.nodename, d.dir);
  char *file = tu_read_file(out, NULL);
  cr_assert_str_eq(file, want, "the child's own output (%s):\n%s\nwanted:\n%s", out, file, want);
  free(file);
  cr_assert(tu_wait_file_contains(fmt("%s/logs/exp_7.err", d.dir), "to stderr\n", 5000));

  /* status and logs know it by its expanded name, GROUP:PROCESS */
  cr_assert_str_eq(logs_of(&d, "grp:exp_07", false), want);
  cr_assert_str_eq(field_of(&d, "grp:exp_07", "stdout_logfile"), out);
  cr_assert_str_eq(field_of(&d, "grp:exp_07", "stderr_logfile"),
                   fmt("%s/logs/exp_7.err", d.dir));
  tu_result_t r;
  tu_ctl(&d, &r, "status", NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "grp:exp_07") != NULL && strstr(r.out, "RUNNING") != NULL, "%s",
            r.out);
  tu_result_free(&r);
  stop_daemon(&d);
}

Test(compat, unknown_expansion_name_is_an_error_at_file_line) {
  unsetenv("COMPAT_NOT_SET");
  setup_dir(&d);
  write_conf(&d, true,
             "[program:a]\n"                                  /* line 5 */
             "command = /bin/echo %(nosuch)s\n"               /* line 6 */
             "\n"                                             /* line 7 */
             "[program:b]\n"                                  /* line 8 */
             "command = /bin/echo b\n"                        /* line 9 */
             "directory = %(ENV_COMPAT_NOT_SET)s/x\n"    /* line 10 */
             "[program:c]\n"                                  /* line 11 */
             "command = /bin/echo c\n"                        /* line 12 */
             "stdout_logfile = %(here)s/%(program)s.log\n");  /* line 13 */
  cr_assert_eq(start_refused(&d), 2);
  cr_assert(line_with(d.log, "tend.conf:6:", "command", "nosuch", NULL), "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "tend.conf:10:", "directory", "ENV_COMPAT_NOT_SET", NULL),
            "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "tend.conf:13:", "stdout_logfile", "program", NULL), "%s",
            daemon_log(&d));
  cr_assert(strstr(daemon_log(&d), "refusing to start") != NULL, "%s", daemon_log(&d));
  stop_daemon(&d);
}

/* ---- [supervisord] -------------------------------------------------------- */

Test(compat, supervisord_environment_applies_to_every_program_own_wins) {
  setenv("WHO", "daemon", 1);
  setenv("ONLY_DAEMON", "inherited", 1);
  setup_dir(&d);
  write_conf(&d, true,
             "[supervisord]\n"
             "environment = SHARED=\"from supervisord\",WHO=\"supervisord\"\n"
             "\n"
             "[program:plain]\n"
             "command = sh -c 'echo \"SHARED=$SHARED WHO=$WHO ONLY_DAEMON=$ONLY_DAEMON\"; "
             "exec sleep 300'\n"
             "startsecs = 0\n"
             "\n"
             "[program:own]\n"
             "command = sh -c 'echo \"SHARED=$SHARED WHO=$WHO ONLY_DAEMON=$ONLY_DAEMON\"; "
             "exec sleep 300'\n"
             "environment = WHO=\"own\"\n"
             "startsecs = 0\n");
  start_ok(&d);
  cr_assert(tu_wait_file_contains(fmt("%s/log/plain.out", d.dir), "\n", 5000), "%s",
            daemon_log(&d));
  cr_assert(tu_wait_file_contains(fmt("%s/log/own.out", d.dir), "\n", 5000), "%s",
            daemon_log(&d));
  cr_assert_str_eq(logs_of(&d, "plain", false),
                   "SHARED=from supervisord WHO=supervisord ONLY_DAEMON=inherited\n");
  cr_assert_str_eq(logs_of(&d, "own", false),
                   "SHARED=from supervisord WHO=own ONLY_DAEMON=inherited\n");
  stop_daemon(&d);
}

Test(compat, supervisord_childlogdir_is_the_default_log_directory) {
  setup_dir(&d);
  mkdir_in(d.dir, "childlogs");
  write_conf(&d, false,
             "[supervisord]\n"
             "childlogdir = %(here)s/childlogs\n"
             "\n"
             "[program:talker]\n"
             "command = sh -c 'echo \"to stdout\"; echo \"to stderr\" >&2; exec sleep 300'\n"
             "startsecs = 0\n");
  start_ok(&d);
  const char *out = fmt("%s/childlogs/talker.out", d.dir);
  const char *err = fmt("%s/childlogs/talker.err", d.dir);
  cr_assert(tu_wait_file_contains(out, "to stdout\n", 5000), "nothing in %s; daemon log:\n%s",
            out, daemon_log(&d));
  cr_assert(tu_wait_file_contains(err, "to stderr\n", 5000), "nothing in %s", err);
  cr_assert_str_eq(field_of(&d, "talker", "stdout_logfile"), out);
  cr_assert_str_eq(field_of(&d, "talker", "stderr_logfile"), err);
  cr_assert_str_eq(logs_of(&d, "talker", false), "to stdout\n");
  cr_assert_str_eq(logs_of(&d, "talker", true), "to stderr\n");
  struct stat st;
  cr_assert(stat(fmt("%s/log", d.dir), &st) != 0, "logs went to <config dir>/log too");
  stop_daemon(&d);

  /* [tend] logdir, when set, wins over childlogdir */
  setup_dir(&d2);
  mkdir_in(d2.dir, "childlogs");
  write_conf(&d2, true,
             "[supervisord]\n"
             "childlogdir = %(here)s/childlogs\n"
             "\n"
             "[program:talker]\n"
             "command = sh -c 'echo \"to stdout\"; exec sleep 300'\n"
             "startsecs = 0\n");
  start_ok(&d2);
  cr_assert(tu_wait_file_contains(fmt("%s/log/talker.out", d2.dir), "to stdout\n", 5000),
            "%s", daemon_log(&d2));
  cr_assert(stat(fmt("%s/childlogs/talker.out", d2.dir), &st) != 0);
  stop_daemon(&d2);
}

Test(compat, supervisord_umask_applies_to_children) {
  umask(022);
  setup_dir(&d);
  write_conf(&d, true,
             "[supervisord]\n"
             "umask = 027\n"
             "\n"
             "[program:um]\n"
             "command = sh -c 'umask; touch %(here)s/made-by-child; echo made; exec sleep 300'\n"
             "startsecs = 0\n"
             "\n"
             "[program:own]\n"
             "command = sh -c 'umask; exec sleep 300'\n"
             "umask = 077\n"
             "startsecs = 0\n");
  start_ok(&d);
  cr_assert(tu_wait_file_contains(fmt("%s/log/um.out", d.dir), "made\n", 5000), "%s",
            daemon_log(&d));
  cr_assert(tu_wait_file_contains(fmt("%s/log/own.out", d.dir), "\n", 5000));
  cr_assert_str_eq(logs_of(&d, "um", false), "0027\nmade\n");
  cr_assert_str_eq(logs_of(&d, "own", false), "0077\n");
  struct stat st;
  cr_assert(stat(fmt("%s/made-by-child", d.dir), &st) == 0);
  cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
  stop_daemon(&d);
}

/* "Max open files" or "Max processes" of /proc/PID/limits: soft and hard
 * (-1 for unlimited). */
static void proc_limit(long pid, const char *what, long *soft, long *hard) {
  char *s = tu_read_file(fmt("/proc/%ld/limits", pid), NULL);
  cr_assert(s != NULL);
  char *line = strstr(s, what);
  cr_assert(line != NULL, "%s", s);
  char a[32], b[32];
  cr_assert(sscanf(line + strlen(what), " %31s %31s", a, b) == 2);
  *soft = strcmp(a, "unlimited") == 0 ? -1 : atol(a);
  *hard = strcmp(b, "unlimited") == 0 ? -1 : atol(b);
  free(s);
}

Test(compat, supervisord_minfds_minprocs_raise_the_soft_limits) {
  struct rlimit nofile, nproc;
  cr_assert(getrlimit(RLIMIT_NOFILE, &nofile) == 0 && getrlimit(RLIMIT_NPROC, &nproc) == 0);
  cr_assert(nofile.rlim_max == RLIM_INFINITY || nofile.rlim_max >= 2000,
            "the hard limit of open files is too low for this test");
  cr_assert(nproc.rlim_max == RLIM_INFINITY || nproc.rlim_max >= 6000,
            "the hard limit of processes is too low for this test");
  /* The daemon inherits soft limits below minfds/minprocs, hard above. */
  struct rlimit low_files = {256, nofile.rlim_max}, low_procs = {4000, nproc.rlim_max};
  cr_assert(setrlimit(RLIMIT_NOFILE, &low_files) == 0);
  cr_assert(setrlimit(RLIMIT_NPROC, &low_procs) == 0);
  setup_dir(&d);
  write_conf(&d, true,
             "[supervisord]\n"
             "minfds = 1000\n"
             "minprocs = 5000\n"
             "\n"
             "[program:lim]\n"
             "command = /bin/cat\n"
             "startsecs = 0\n");
  start_ok(&d);
  setrlimit(RLIMIT_NOFILE, &nofile);
  setrlimit(RLIMIT_NPROC, &nproc);
  wait_running(&d, "lim");
  long pid = pid_of(&d, "lim");
  cr_assert(pid > 0);
  long soft, hard;
  proc_limit(pid, "Max open files", &soft, &hard);
  cr_assert_eq(soft, 1000, "the child's soft limit of open files");
  cr_assert_eq(hard, nofile.rlim_max == RLIM_INFINITY ? -1 : (long)nofile.rlim_max,
               "the hard limit changed");
  proc_limit(pid, "Max processes", &soft, &hard);
  cr_assert_eq(soft, 5000, "the child's soft limit of processes");
  stop_daemon(&d);
}

/* Whether a process started by us could raise a hard limit
 * (CAP_SYS_RESOURCE in what it would get at exec). */
static bool exec_gets_sys_resource(void) {
  if (geteuid() != 0)
    return false;
  char *s = tu_read_file("/proc/self/status", NULL);
  cr_assert(s != NULL);
  unsigned long long caps = 0;
  const char *keys[] = {"CapBnd:", "CapInh:", "CapAmb:"};
  for (int i = 0; i < 3; i++) {
    char *p = strstr(s, keys[i]);
    if (p != NULL)
      caps |= strtoull(p + strlen(keys[i]), NULL, 16);
  }
  free(s);
  return (caps >> 24) & 1; /* CAP_SYS_RESOURCE */
}

Test(compat, supervisord_minfds_minprocs_above_the_hard_limit_refuse_to_start) {
  /* As root, drop CAP_SYS_RESOURCE for the daemon we start: then the hard
   * limit is the ceiling, as for any user (this test's process only). */
  prctl(PR_CAPBSET_DROP, 24 /* CAP_SYS_RESOURCE */, 0, 0, 0);
  bool can_raise = exec_gets_sys_resource();
  struct rlimit nofile, nproc;
  cr_assert(getrlimit(RLIMIT_NOFILE, &nofile) == 0 && getrlimit(RLIMIT_NPROC, &nproc) == 0);
  long want_fds = (long)nofile.rlim_max + 1;
  if (can_raise) { /* root with the capability: above what the kernel allows */
    char *nr = tu_read_file("/proc/sys/fs/nr_open", NULL);
    long n = nr != NULL ? atol(nr) : 0;
    free(nr);
    if (n >= want_fds)
      want_fds = n + 1;
  }
  setup_dir(&d);
  write_conf(&d, true,
             fmt("[supervisord]\n"
                 "minfds = %ld\n"
                 "\n"
                 "[program:never]\n"
                 "command = sh -c 'touch %%(here)s/it-ran; exec sleep 300'\n"
                 "startsecs = 0\n",
                 want_fds));
  cr_assert_eq(start_refused(&d), 2, "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "minfds", fmt("%ld", want_fds), NULL),
            "the refusal does not name minfds = %ld:\n%s", want_fds, daemon_log(&d));
  struct stat st;
  cr_assert(stat(fmt("%s/it-ran", d.dir), &st) != 0, "a program ran under a refused config");
  stop_daemon(&d);

  if (can_raise || nproc.rlim_max == RLIM_INFINITY || nproc.rlim_max >= (rlim_t)INT_MAX)
    return; /* no hard limit of processes to exceed here */
  long want_procs = (long)nproc.rlim_max + 1;
  setup_dir(&d2);
  write_conf(&d2, true,
             fmt("[supervisord]\n"
                 "minprocs = %ld\n"
                 "\n"
                 "[program:never]\n"
                 "command = sh -c 'touch %%(here)s/it-ran; exec sleep 300'\n"
                 "startsecs = 0\n",
                 want_procs));
  cr_assert_eq(start_refused(&d2), 2, "%s", daemon_log(&d2));
  cr_assert(line_with(d2.log, "minprocs", fmt("%ld", want_procs), NULL),
            "the refusal does not name minprocs = %ld:\n%s", want_procs, daemon_log(&d2));
  cr_assert(!line_with(d2.log, "minfds", NULL), "%s", daemon_log(&d2));
  cr_assert(stat(fmt("%s/it-ran", d2.dir), &st) != 0, "a program ran under a refused config");
  stop_daemon(&d2);
}

Test(compat, supervisord_logfile_and_pidfile_when_tend_sets_none) {
  setup_dir(&d);
  write_conf(&d, true,
             "[supervisord]\n"
             "logfile = %(here)s/supervisord.log\n"
             "pidfile = %(here)s/supervisord.pid\n"
             "\n"
             "[program:p]\n"
             "command = sleep 300\n"
             "startsecs = 0\n");
  start_ok(&d);
  const char *log = fmt("%s/supervisord.log", d.dir);
  const char *pidfile = fmt("%s/supervisord.pid", d.dir);
  cr_assert(tu_wait_file_contains(log, "state program=p from=STARTING to=RUNNING", 5000),
            "the daemon log is not in [supervisord] logfile; stderr:\n%s", daemon_log(&d));
  cr_assert_eq(tu_wait_number_file(pidfile, 5000), (long)d.pid, "the pidfile");
  cr_assert(strstr(daemon_log(&d), "state program=p") == NULL,
            "the log went to stderr as well:\n%s", daemon_log(&d));
  /* gone with the daemon, as supervisord removes its pidfile */
  kill(d.pid, SIGTERM);
  cr_assert(tu_wait_gone(d.pid, 15000));
  int status;
  waitpid(d.pid, &status, 0);
  d.pid = 0;
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %d", status);
  struct stat st;
  cr_assert(stat(pidfile, &st) != 0, "pidfile left behind");
  stop_daemon(&d);

  /* [tend] logfile and pidfile, when set, win */
  setup_dir(&d2);
  write_conf(&d2, true,
             "logfile = %(here)s/tend.log\n"
             "pidfile = %(here)s/tend.pid\n"
             "[supervisord]\n"
             "logfile = %(here)s/supervisord.log\n"
             "pidfile = %(here)s/supervisord.pid\n"
             "\n"
             "[program:p]\n"
             "command = sleep 300\n"
             "startsecs = 0\n");
  start_ok(&d2);
  cr_assert(tu_wait_file_contains(fmt("%s/tend.log", d2.dir),
                                  "state program=p from=STARTING to=RUNNING", 5000),
            "%s", daemon_log(&d2));
  cr_assert_eq(tu_wait_number_file(fmt("%s/tend.pid", d2.dir), 5000), (long)d2.pid);
  cr_assert(stat(fmt("%s/supervisord.log", d2.dir), &st) != 0);
  cr_assert(stat(fmt("%s/supervisord.pid", d2.dir), &st) != 0);
  stop_daemon(&d2);
}

Test(compat, supervisord_keys_without_meaning_are_one_notice) {
  setup_dir(&d);
  write_conf(&d, true,
             "[supervisord]\n"                 /* line 5 */
             "logfile_maxbytes = 50MB\n"
             "logfile_backups = 10\n"
             "loglevel = info\n"
             "nodaemon = false\n"
             "silent = false\n"
             "nocleanup = true\n"
             "strip_ansi = false\n"
             "\n"
             "[program:p]\n"
             "command = sleep 300\n"
             "startsecs = 0\n");
  start_ok(&d);
  wait_running(&d, "p");
  const char *keys[] = {"logfile_maxbytes", "logfile_backups", "loglevel",
                        "nodaemon",         "silent",          "nocleanup", "strip_ansi"};
  for (int i = 0; i < 7; i++) {
    cr_assert(line_with(d.log, "notice", "tend.conf:5:", "[supervisord]", keys[i], NULL),
              "no notice for %s:\n%s", keys[i], daemon_log(&d));
    cr_assert_eq(tu_file_count(d.log, keys[i]), 1, "%s reported more than once:\n%s", keys[i],
                 daemon_log(&d));
  }
  cr_assert_eq(tu_file_count(d.log, "[supervisord]"), 1, "one notice for the section:\n%s",
               daemon_log(&d));
  stop_daemon(&d);
}

/* ---- stdin ----------------------------------------------------------------- */

Test(compat, stdin_is_a_pipe_held_open_unless_null) {
  setup_dir(&d);
  write_conf(&d, true,
             "[program:cat]\n"
             "command = /bin/cat\n"
             "\n"
             "[program:catnull]\n"
             "command = /bin/cat\n"
             "stdin = null\n"
             "startretries = 0\n");
  start_ok(&d);
  /* default startsecs = 1: cat has to stay up a second on an open stdin */
  wait_running(&d, "cat");
  long pid = pid_of(&d, "cat");
  cr_assert(pid > 0);
  char link[256] = "";
  ssize_t n = readlink(fmt("/proc/%ld/fd/0", pid), link, sizeof(link) - 1);
  cr_assert(n > 0);
  link[n] = '\0';
  cr_assert(strncmp(link, "pipe:", 5) == 0, "cat's stdin is %s", link);

  tu_result_t r;
  tu_ctl(&d, &r, "send", "cat", "hello", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  cr_assert(tu_wait_file_contains(fmt("%s/log/cat.out", d.dir), "hello\n", 5000));
  cr_assert_str_eq(logs_of(&d, "cat", false), "hello\n");
  cr_assert_str_eq(state_of(&d, "cat"), "RUNNING");

  /* stdin = null: cat reads end of file and exits, a failed start */
  cr_assert(has(&d, "state program=catnull from=BACKOFF to=FATAL", 8000), "%s",
            daemon_log(&d));
  cr_assert(tu_file_count(d.log, "exit program=catnull") == 1, "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "exit program=catnull", "exit_code=0", NULL), "%s",
            daemon_log(&d));
  tu_ctl(&d, &r, "send", "catnull", "x", NULL);
  assert_exit(&r, 1);
  tu_result_free(&r);
  stop_daemon(&d);
}

/* ---- [include] -------------------------------------------------------------- */

Test(compat, include_globs_relative_nested_missing_ok) {
  setup_dir(&d);
  mkdir_in(d.dir, "conf.d");
  mkdir_in(d.dir, "conf.d/sub");
  mkdir_in(d.dir, "extra");
  tu_write_file(fmt("%s/conf.d/a.conf", d.dir),
                "[program:from_a]\n"
                "command = sh -c 'echo \"here=%(here)s\"; exec sleep 300'\n"
                "startsecs = 0\n"
                "\n"
                "; relative to conf.d, the directory of this file\n"
                "[include]\n"
                "files = sub/*.ini\n");
  tu_write_file(fmt("%s/conf.d/b.conf", d.dir),
                "[program:from_b]\n"
                "command = sleep 300\n"
                "startsecs = 0\n");
  tu_write_file(fmt("%s/conf.d/not-matched.txt", d.dir),
                "[program:not_included]\n"
                "command = sleep 300\n");
  tu_write_file(fmt("%s/conf.d/sub/deep.ini", d.dir),
                "[program:deep]\n"
                "command = sh -c 'echo \"here=%(here)s\"; exec sleep 300'\n"
                "startsecs = 0\n");
  tu_write_file(fmt("%s/extra/solo.ini", d.dir),
                "[program:solo]\n"
                "command = sleep 300\n"
                "startsecs = 0\n");
  write_conf(&d, true,
             "[include]\n"
             "files = conf.d/*.conf extra/solo.ini nothing/*.conf not-there.conf\n");
  start_ok(&d);
  const char *names[] = {"from_a", "from_b", "deep", "solo"};
  for (int i = 0; i < 4; i++)
    wait_running(&d, names[i]);
  json_t *all = status_list(&d, NULL);
  cr_assert_eq(json_array_size(all), 4, "%s", json_dumps(all, 0));
  json_decref(all);
  tu_result_t r;
  tu_ctl(&d, &r, "status", "not_included", NULL);
  assert_exit(&r, 1);
  tu_result_free(&r);
  /* %(here)s is the directory of the file that holds the section */
  cr_assert(tu_wait_file_contains(fmt("%s/log/from_a.out", d.dir), "\n", 5000));
  cr_assert(tu_wait_file_contains(fmt("%s/log/deep.out", d.dir), "\n", 5000));
  cr_assert_str_eq(logs_of(&d, "from_a", false), fmt("here=%s/conf.d\n", d.dir));
  cr_assert_str_eq(logs_of(&d, "deep", false), fmt("here=%s/conf.d/sub\n", d.dir));
  stop_daemon(&d);
}

/* ---- [group:x] ----------------------------------------------------------------- */

/* Index of the first line holding needle in the daemon log, or -1. */
static long log_pos(tu_daemon_t *x, const char *needle) {
  const char *s = daemon_log(x);
  const char *p = strstr(s, needle);
  return p != NULL ? (long)(p - s) : -1;
}

Test(compat, groups_address_members_as_supervisorctl) {
  setup_dir(&d);
  write_conf(&d, true,
             "[group:web]\n"
             "programs = front,back\n"
             "priority = 100\n"
             "\n"
             "[program:front]\n"
             "command = sh -c 'echo \"front up\"; exec sleep 300'\n"
             "priority = 2\n"
             "startsecs = 0\n"
             "\n"
             "[program:back]\n"
             "command = sleep 300\n"
             "priority = 1\n"
             "startsecs = 0\n"
             "\n"
             "[program:solo]\n"
             "command = sleep 300\n"
             "priority = 50\n"
             "startsecs = 0\n"
             "\n"
             "[program:last]\n"
             "command = sleep 300\n"
             "priority = 3\n"
             "startsecs = 0\n");
  start_ok(&d);
  wait_running(&d, "web:front");
  wait_running(&d, "web:back");
  wait_running(&d, "solo");
  wait_running(&d, "last");

  tu_result_t r;
  tu_ctl(&d, &r, "status", NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "\nweb:front ") && strstr(r.out, "\nweb:back "), "%s", r.out);
  tu_result_free(&r);
  json_t *members = status_list(&d, "web:*");
  cr_assert_eq(json_array_size(members), 2, "%s", json_dumps(members, 0));
  json_decref(members);

  long front = pid_of(&d, "web:front"), back = pid_of(&d, "web:back"),
       solo = pid_of(&d, "solo");
  tu_ctl(&d, &r, "stop", "web:front", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "web:front: stopped\n");
  tu_result_free(&r);
  cr_assert(tu_wait_gone((pid_t)front, 5000));
  cr_assert_str_eq(state_of(&d, "web:front"), "STOPPED");
  cr_assert_str_eq(state_of(&d, "web:back"), "RUNNING");

  tu_ctl(&d, &r, "start", "web:front", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "web:front: started\n");
  tu_result_free(&r);
  cr_assert_eq(pid_of(&d, "web:back"), back, "start web:front touched web:back");

  /* the second run's line: the first one's was there already */
  cr_assert(tu_wait_file_contains(fmt("%s/log/web:front.out", d.dir), "front up\nfront up\n",
                                  5000));
  cr_assert_str_eq(logs_of(&d, "web:front", false), "front up\nfront up\n");

  tu_ctl(&d, &r, "stop", "web:*", NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "web:front: stopped") && strstr(r.out, "web:back: stopped"), "%s",
            r.out);
  tu_result_free(&r);
  tu_ctl(&d, &r, "status", "web:*", NULL);
  assert_exit(&r, 3);
  cr_assert(strstr(r.out, "web:front") && strstr(r.out, "web:back") && !strstr(r.out, "solo"),
            "%s", r.out);
  tu_result_free(&r);
  cr_assert_str_eq(state_of(&d, "solo"), "RUNNING");

  tu_ctl(&d, &r, "start", "web:*", NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "web:front: started") && strstr(r.out, "web:back: started"), "%s",
            r.out);
  tu_result_free(&r);

  /* restart GROUP:*: every member gets a new process, nothing else does */
  front = pid_of(&d, "web:front");
  back = pid_of(&d, "web:back");
  tu_ctl(&d, &r, "restart", "web:*", NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "web:front: ") && strstr(r.out, "web:back: "), "%s", r.out);
  tu_result_free(&r);
  cr_assert(tu_wait_gone((pid_t)front, 5000) && tu_wait_gone((pid_t)back, 5000));
  cr_assert_str_eq(state_of(&d, "web:front"), "RUNNING");
  cr_assert_str_eq(state_of(&d, "web:back"), "RUNNING");
  cr_assert(pid_of(&d, "web:front") != front && pid_of(&d, "web:back") != back);
  cr_assert_eq(pid_of(&d, "solo"), solo, "restart web:* touched a program outside the group");
  stop_daemon(&d);
}

/* supervisorctl's GROUP:* acts on the members not already in the state:
 * `start web:*` with web:back running prints "web:front: started" and
 * exits 0; `stop web:*` with both stopped prints nothing and exits 0
 * (supervisorctl 4.2.5 on this file, checked by hand). */
Test(compat, group_star_skips_members_already_in_the_state) {
  setup_dir(&d);
  write_conf(&d, true,
             "[group:web]\n"
             "programs = front,back\n"
             "\n"
             "[program:front]\n"
             "command = sleep 300\n"
             "startsecs = 0\n"
             "\n"
             "[program:back]\n"
             "command = sleep 300\n"
             "startsecs = 0\n");
  start_ok(&d);
  wait_running(&d, "web:front");
  wait_running(&d, "web:back");
  long back = pid_of(&d, "web:back");
  tu_result_t r;
  tu_ctl(&d, &r, "stop", "web:front", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "start", "web:*", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "web:front: started\n");
  cr_assert_str_eq(r.err, "");
  tu_result_free(&r);
  cr_assert_eq(pid_of(&d, "web:back"), back, "start web:* restarted a running member");
  cr_assert_str_eq(state_of(&d, "web:front"), "RUNNING");

  tu_ctl(&d, &r, "stop", "web:*", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "stop", "web:*", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "");
  cr_assert_str_eq(r.err, "");
  tu_result_free(&r);
  stop_daemon(&d);
}

Test(compat, group_priority_orders_the_start) {
  setup_dir(&d);
  write_conf(&d, true,
             "[group:web]\n"
             "programs = front,back\n"
             "priority = 100\n"
             "\n"
             "[program:front]\n"
             "command = sleep 300\n"
             "priority = 2\n"
             "startsecs = 0\n"
             "\n"
             "[program:back]\n"
             "command = sleep 300\n"
             "priority = 1\n"
             "startsecs = 0\n"
             "\n"
             "[program:solo]\n"
             "command = sleep 300\n"
             "priority = 50\n"
             "startsecs = 0\n"
             "\n"
             "[program:last]\n"
             "command = sleep 300\n"
             "priority = 3\n"
             "startsecs = 0\n");
  start_ok(&d);
  wait_running(&d, "web:front");
  wait_running(&d, "web:back");
  wait_running(&d, "solo");
  wait_running(&d, "last");
  /* supervisord starts the groups in the order of their priority (a
   * program in no group is a group of its own, with its priority): last
   * (3), solo (50), then web (100): both its members after solo, although
   * their own priorities (1, 2) are lower. supervisord 4.2.5 on this file:
   * spawned last, solo, front, back. */
  long p_last = log_pos(&d, "spawn program=last "), p_solo = log_pos(&d, "spawn program=solo "),
       p_back = log_pos(&d, "spawn program=web:back "),
       p_front = log_pos(&d, "spawn program=web:front ");
  cr_assert(p_last >= 0 && p_solo >= 0 && p_back >= 0 && p_front >= 0, "%s", daemon_log(&d));
  cr_assert(p_last < p_solo && p_solo < p_back && p_solo < p_front,
            "start order is not last, solo, then web's members:\n%s", daemon_log(&d));
  /* and stops in reverse: web's members first, solo, last */
  tu_result_t r;
  tu_ctl(&d, &r, "shutdown", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  cr_assert(tu_wait_gone(d.pid, 15000));
  waitpid(d.pid, NULL, 0);
  d.pid = 0;
  long s_last = log_pos(&d, "stop program=last "), s_solo = log_pos(&d, "stop program=solo "),
       s_back = log_pos(&d, "stop program=web:back "),
       s_front = log_pos(&d, "stop program=web:front ");
  cr_assert(s_last >= 0 && s_solo >= 0 && s_back >= 0 && s_front >= 0, "%s", daemon_log(&d));
  cr_assert(s_back < s_solo && s_front < s_solo && s_solo < s_last,
            "stop order is not web's members, solo, last:\n%s", daemon_log(&d));
  stop_daemon(&d);
}

/* ---- numprocs ---------------------------------------------------------------- */

Test(compat, numprocs_give_distinct_process_names) {
  setup_dir(&d);
  write_conf(&d, true,
             "[program:worker]\n"
             "command = sh -c 'echo \"I am %(process_num)d\"; exec sleep 300'\n"
             "process_name = %(program_name)s_%(process_num)02d\n"
             "numprocs = 3\n"
             "numprocs_start = 5\n"
             "startsecs = 0\n");
  start_ok(&d);
  long pids[3];
  for (int i = 0; i < 3; i++) {
    const char *name = fmt("worker:worker_%02d", 5 + i);
    wait_running(&d, name);
    pids[i] = pid_of(&d, name);
    cr_assert(pids[i] > 0);
    for (int k = 0; k < i; k++)
      cr_assert_neq(pids[i], pids[k]);
    cr_assert(tu_wait_file_contains(fmt("%s/log/%s.out", d.dir, name), "\n", 5000));
    cr_assert_str_eq(logs_of(&d, name, false),
                     fmt("I am %d\n", 5 + i));
  }
  json_t *all = status_list(&d, "worker:*");
  cr_assert_eq(json_array_size(all), 3, "%s", json_dumps(all, 0));
  json_decref(all);
  tu_result_t r;
  tu_ctl(&d, &r, "stop", "worker:worker_06", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "worker:worker_06: stopped\n");
  tu_result_free(&r);
  cr_assert_str_eq(state_of(&d, "worker:worker_05"), "RUNNING");
  cr_assert_str_eq(state_of(&d, "worker:worker_07"), "RUNNING");
  stop_daemon(&d);
}

/* supervisord gives each child SUPERVISOR_PROCESS_NAME = its process name
 * (process_name expanded, without the group) and SUPERVISOR_GROUP_NAME;
 * programs test for them. supervisord 4.2.5 on this file: "worker_01
 * worker" and "front web". */
Test(compat, supervisor_env_names_are_supervisords) {
  setup_dir(&d);
  write_conf(&d, true,
             "[group:web]\n"
             "programs = front\n"
             "\n"
             "[program:front]\n"
             "command = sh -c 'echo \"$SUPERVISOR_ENABLED $SUPERVISOR_PROCESS_NAME "
             "$SUPERVISOR_GROUP_NAME\"; exec sleep 300'\n"
             "startsecs = 0\n"
             "\n"
             "[program:worker]\n"
             "command = sh -c 'echo \"$SUPERVISOR_ENABLED $SUPERVISOR_PROCESS_NAME "
             "$SUPERVISOR_GROUP_NAME\"; exec sleep 300'\n"
             "process_name = %(program_name)s_%(process_num)02d\n"
             "numprocs = 2\n"
             "startsecs = 0\n");
  start_ok(&d);
  const char *names[] = {"web:front", "worker:worker_00", "worker:worker_01"};
  const char *want[] = {"1 front web\n", "1 worker_00 worker\n", "1 worker_01 worker\n"};
  for (int i = 0; i < 3; i++) {
    wait_running(&d, names[i]);
    cr_assert(tu_wait_file_contains(fmt("%s/log/%s.out", d.dir, names[i]), "\n", 5000));
  }
  for (int i = 0; i < 3; i++)
  {
    const char *got = logs_of(&d, names[i], false);
    cr_assert_str_eq(got, want[i],
                     "%s: SUPERVISOR_ENABLED, SUPERVISOR_PROCESS_NAME, SUPERVISOR_GROUP_NAME "
                     "are '%s', supervisord's would be '%s'", names[i], got, want[i]);
  }
  stop_daemon(&d);
}

/* A program calls the daemon back as supervisord's programs and event
 * listeners do: supervisor.childutils.getRPCInterface(os.environ), which
 * reads SUPERVISOR_SERVER_URL (the Unix socket when there is one), and
 * asks for its own entry while the daemon is busy starting it. */
Test(compat, children_reach_the_daemon_through_supervisor_server_url) {
  const char *python = tu_python_with("supervisor.childutils");
  setup_dir(&d);
  const char *script = fmt("%s/probe.py", d.dir);
  tu_write_file(script,
                "import os, sys\n"
                "from supervisor import childutils\n"
                "rpc = childutils.getRPCInterface(os.environ)\n"
                "name = os.environ['SUPERVISOR_GROUP_NAME'] + ':' + "
                "os.environ['SUPERVISOR_PROCESS_NAME']\n"
                "info = rpc.supervisor.getProcessInfo(name)\n"
                "print(os.environ['SUPERVISOR_SERVER_URL'], rpc.supervisor.getIdentification(),\n"
                "      info['group'], info['name'], info['pid'] == os.getpid(), flush=True)\n");
  write_conf(&d, true,
             fmt("[supervisord]\n"
                 "identifier = box-1\n"
                 "[unix_http_server]\n"
                 "file = %%(here)s/http.sock\n"
                 "[group:web]\n"
                 "programs = probe\n"
                 "[program:probe]\n"
                 "command = %s %s\n"
                 "startsecs = 0\n"
                 "autorestart = false\n",
                 python, script));
  start_ok(&d);
  const char *out = fmt("%s/log/web:probe.out", d.dir);
  const char *want = fmt("unix://%s/http.sock box-1 web probe True\n", d.dir);
  bool seen = tu_wait_file_contains(out, want, 20000);
  char *got = tu_read_file(out, NULL);
  char *err = tu_read_file(fmt("%s/log/web:probe.err", d.dir), NULL);
  cr_assert(seen, "the program's output is '%s', not '%s' (stderr: %s)", got ? got : "",
            want, err ? err : "");
  free(got);
  free(err);
  stop_daemon(&d);
}

Test(compat, numprocs_without_process_num_is_supervisords_error) {
  setup_dir(&d);
  write_conf(&d, true,
             "[program:a]\n"                           /* line 5 */
             "command = sleep 300\n"
             "numprocs = 2\n"                          /* line 7 */
             "\n"
             "[program:b]\n"                           /* line 9 */
             "command = sleep 300\n"
             "process_name = %(program_name)s\n"       /* line 11 */
             "numprocs = 3\n");
  cr_assert_eq(start_refused(&d), 2);
  const char *msg = "%(process_num) must be present within process_name when numprocs > 1";
  /* at file:line, in the section (tend points at numprocs, or at
   * process_name when it is there) */
  cr_assert(line_with(d.log, "tend.conf:7:", "[program:a]", msg, NULL) ||
                line_with(d.log, "tend.conf:5:", "[program:a]", msg, NULL),
            "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "tend.conf:11:", "[program:b]", msg, NULL) ||
                line_with(d.log, "tend.conf:12:", "[program:b]", msg, NULL) ||
                line_with(d.log, "tend.conf:9:", "[program:b]", msg, NULL),
            "%s", daemon_log(&d));
  stop_daemon(&d);
}

/* ---- defaults ------------------------------------------------------------------ */

Test(compat, defaults_are_supervisords) {
  setup_dir(&d);
  /* No key but command (and autostart for the one started by hand). */
  write_conf(&d, true,
             "[program:slow]\n"
             "command = sleep 300\n"
             "autostart = false\n"
             "\n"
             "[program:fails]\n"
             "command = sh -c 'exit 9'\n"
             "\n"
             "[program:ok]\n"
             "command = sh -c 'read x; echo out-line; echo err-line >&2; exit 0'\n"
             "\n"
             "[program:bad]\n"
             "command = sh -c 'read x; exit 1'\n"
             "\n"
             "[program:stubborn]\n"
             "command = sh -c 'trap \"\" TERM; echo ready; exec sleep 300'\n");
  start_ok(&d);

  /* startsecs 1: `start` returns once RUNNING, a second after the spawn */
  tu_result_t r;
  tu_ctl(&d, &r, "start", "slow", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "slow: started\n");
  cr_assert(r.seconds >= 0.9 && r.seconds < 3, "RUNNING after %.3f s, not startsecs = 1",
            r.seconds);
  tu_result_free(&r);
  cr_assert(has(&d, "state program=slow from=STARTING to=RUNNING reason=startsecs", 1000));

  /* priority 999 */
  cr_assert_str_eq(field_of(&d, "slow", "priority"), "999");

  /* exitcodes 0, autorestart unexpected */
  wait_running(&d, "ok");
  wait_running(&d, "bad");
  tu_ctl(&d, &r, "send", "ok", "go", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "send", "bad", "go", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  cr_assert(has(&d, "exit program=ok ", 5000));
  cr_assert(has(&d, "exit program=bad ", 5000));
  cr_assert(line_with(d.log, "exit program=ok ", "exit_code=0", "expected=true", "action=none",
                      NULL),
            "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "exit program=bad ", "exit_code=1", "expected=false",
                      "action=restart", NULL),
            "%s", daemon_log(&d));
  cr_assert(has(&d, "state program=ok from=RUNNING to=EXITED", 5000), "%s", daemon_log(&d));
  cr_assert_str_eq(state_of(&d, "ok"), "EXITED");

  /* redirect_stderr false: two logs */
  cr_assert_str_eq(logs_of(&d, "ok", false), "out-line\n");
  cr_assert_str_eq(logs_of(&d, "ok", true), "err-line\n");

  /* stopsignal TERM */
  tu_ctl(&d, &r, "stop", "slow", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  cr_assert(line_with(d.log, "exit program=slow ", "signal=SIGTERM", "action=stopped", NULL),
            "%s", daemon_log(&d));

  /* stopwaitsecs 10: a program that ignores TERM is killed 10 s later */
  cr_assert(tu_wait_file_contains(fmt("%s/log/stubborn.out", d.dir), "ready\n", 5000));
  wait_running(&d, "stubborn");
  long stubborn = pid_of(&d, "stubborn");
  tu_ctl(&d, &r, "stop", "stubborn", NULL);
  assert_exit(&r, 0);
  cr_assert(r.seconds >= 9.5 && r.seconds < 13, "stopped after %.3f s, not stopwaitsecs = 10",
            r.seconds);
  tu_result_free(&r);
  cr_assert(line_with(d.log, "stop program=stubborn ", "signal=SIGTERM", "stopwaitsecs=10.000",
                      NULL),
            "%s", daemon_log(&d));
  cr_assert(line_with(d.log, "exit program=stubborn ", "signal=SIGKILL",
                      "SIGKILL after stopwaitsecs", NULL),
            "%s", daemon_log(&d));
  cr_assert(tu_wait_gone((pid_t)stubborn, 5000));

  /* startretries 3: one start and three retries, then FATAL (long done) */
  cr_assert(has(&d, "state program=fails from=BACKOFF to=FATAL", 5000), "%s", daemon_log(&d));
  cr_assert_eq(tu_file_count(d.log, "exit program=fails "), 4, "%s", daemon_log(&d));
  cr_assert_str_eq(state_of(&d, "fails"), "FATAL");
  stop_daemon(&d);
}

/* ---- unsupported sections ---------------------------------------------------- */

Test(compat, unsupported_sections_are_reported_and_the_rest_runs) {
  setup_dir(&d);
  write_conf(&d, true,
             "[ctlplugin:serialrestart]\n"                    /* line 5 */
             "supervisor.ctl_factory = x:make\n"
             "\n"
             "\n"
             "[program:app]\n"
             "command = sh -c 'echo \"app ran\"; exec sleep 300'\n"
             "startsecs = 0\n");
  start_ok(&d);
  wait_running(&d, "app");
  cr_assert(line_with(d.log, "tend.conf:5:", "[ctlplugin:serialrestart]", "not used by tend",
                      NULL), "%s", daemon_log(&d));
  cr_assert_eq(tu_file_count(d.log, "ctlplugin:serialrestart"), 1, "%s", daemon_log(&d));
  cr_assert(tu_wait_file_contains(fmt("%s/log/app.out", d.dir), "app ran\n", 5000));
  cr_assert_str_eq(logs_of(&d, "app", false), "app ran\n");
  json_t *all = status_list(&d, NULL);
  cr_assert_eq(json_array_size(all), 1, "only app runs: %s", json_dumps(all, 0));
  json_decref(all);
  stop_daemon(&d);
}
