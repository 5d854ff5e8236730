/* SPDX-License-Identifier: MIT */
/*
 * The config reader: supervisord 4.2.5's meaning of supervisord.conf (its
 * defaults, value types, expansions, includes, groups), the INI dialect of
 * Python's configparser as supervisord uses it, and one exact message per
 * kind of mistake, at its file and line. Each test writes its files into a
 * fresh temporary directory.
 */
#include "core/evtype.h"
#include "tend/config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "testutil.h"

static char *dir;

static void setup(void) {
  dir = tu_tmpdir();
}

static void teardown(void) {
  tu_rmdir(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

/* A formatted string in a ring of static buffers (no frees in tests). */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static const char *fmt(const char *f, ...) {
  static char ring[16][PATH_MAX + 512];
  static int next;
  char *b = ring[next++ % 16];
  va_list ap;
  va_start(ap, f);
  vsnprintf(b, sizeof(ring[0]), f, ap);
  va_end(ap);
  return b;
}

/* The absolute path of rel in the test's directory. */
static const char *P(const char *rel) {
  return fmt("%s/%s", dir, rel);
}

/* Write text to rel, creating its directories. */
static void put(const char *rel, const char *text) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s", P(rel));
  for (char *s = strchr(path + strlen(dir) + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(path, 0755);
    *s = '/';
  }
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static int load(const char *rel, tend_config_t **c, tend_diag_t *d) {
  memset(d, 0, sizeof(*d));
  return tend_config_load(P(rel), c, d);
}

/* Load text as t.conf; it must load without errors. */
static tend_config_t *load_ok(const char *text, tend_diag_t *d) {
  put("t.conf", text);
  tend_config_t *c = NULL;
  int rc = load("t.conf", &c, d);
  cr_assert_eq(d->nerrors, 0, "unexpected error: %s", d->nerrors ? d->errors[0] : "");
  cr_assert_eq(rc, 0);
  cr_assert_not_null(c);
  return c;
}

/* tmpl with each "{f}" replaced by the path of t.conf. */
static const char *subst(const char *tmpl) {
  static char ring[8][PATH_MAX + 1024];
  static int next;
  char *b = ring[next++ % 8], *o = b;
  const char *f = P("t.conf");
  for (const char *t = tmpl; *t != '\0';) {
    if (strncmp(t, "{f}", 3) == 0) {
      o = stpcpy(o, f);
      t += 3;
    } else {
      *o++ = *t++;
    }
  }
  *o = '\0';
  return b;
}

/* Load text as t.conf; it must be refused with exactly the n messages
 * given ("{f}" in them stands for the path of t.conf). */
static void expect_errors(const char *text, size_t n, ...) {
  put("t.conf", text);
  tend_config_t *c = (tend_config_t *)1;
  tend_diag_t d;
  int rc = load("t.conf", &c, &d);
  cr_assert_eq(rc, -EINVAL);
  cr_assert_null(c);
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    const char *want = subst(va_arg(ap, const char *));
    cr_assert_lt(i, d.nerrors, "missing error %zu: %s", i, want);
    cr_assert_str_eq(d.errors[i], want);
  }
  va_end(ap);
  cr_assert_eq(d.nerrors, n, "%zu errors, expected %zu; extra: %s", d.nerrors, n,
               d.nerrors > n ? d.errors[n] : "");
  tend_diag_free(&d);
}

static size_t strv_len(char **v) {
  size_t n = 0;
  while (v[n] != NULL)
    n++;
  return n;
}

static void assert_argv(const tend_program_t *p, size_t n, ...) {
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    const char *want = va_arg(ap, const char *);
    cr_assert_not_null(p->argv[i], "argv[%zu] missing, expected '%s'", i, want);
    cr_assert_str_eq(p->argv[i], want, "argv[%zu]", i);
  }
  va_end(ap);
  cr_assert_null(p->argv[n], "argv has more than %zu words: '%s'", n, p->argv[n]);
}

static bool has_notice(const tend_diag_t *d, const char *msg) {
  for (size_t i = 0; i < d->nnotices; i++)
    if (strcmp(d->notices[i], msg) == 0)
      return true;
  return false;
}

static const tend_program_t *find(const tend_config_t *c, const char *name) {
  const tend_program_t *p = tend_config_find(c, name);
  cr_assert_not_null(p, "no program named '%s'", name);
  return p;
}

/* ---- defaults and keys ---------------------------------------------------- */

Test(config, defaults_are_supervisords) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:web]\ncommand = /bin/true\n", &d);
  cr_assert_eq(d.nnotices, 0);
  cr_assert_str_eq(c->path, P("t.conf"));
  cr_assert_str_eq(c->socket, P("tend.sock"));
  cr_assert_eq(c->socket_mode, 0600);
  cr_assert_null(c->socket_owner);
  cr_assert_null(c->logfile);
  cr_assert_eq(c->log_format, TEND_LOGFMT_TEXT);
  cr_assert_str_eq(c->logdir, P("log"));
  cr_assert_null(c->pidfile);
  cr_assert_eq(c->umask, -1);
  cr_assert_eq(c->minfds, 0);
  cr_assert_eq(c->minprocs, 0);

  cr_assert_eq(c->nprograms, 1);
  const tend_program_t *p = &c->programs[0];
  cr_assert_str_eq(p->name, "web");
  cr_assert_str_eq(p->program, "web");
  cr_assert_str_eq(p->group, "web");
  cr_assert_eq(p->process_num, 0);
  cr_assert_str_eq(p->command, "/bin/true");
  assert_argv(p, 1, "/bin/true");
  cr_assert_null(p->directory);
  cr_assert_not_null(p->env);
  cr_assert_null(p->env[0]);
  cr_assert_null(p->user);
  cr_assert_eq(p->umask, -1);
  cr_assert(p->autostart);
  cr_assert_eq(p->autorestart, TEND_AUTORESTART_UNEXPECTED);
  cr_assert_eq(p->nexitcodes, 1);
  cr_assert_eq(p->exitcodes[0], 0);
  cr_assert_float_eq(p->startsecs, 1.0, 1e-9);
  cr_assert_eq(p->startretries, 3);
  cr_assert_eq(p->stopsignal, SIGTERM);
  cr_assert_float_eq(p->stopwaitsecs, 10.0, 1e-9);
  cr_assert(p->stopasgroup, "tend stops the process group by default");
  cr_assert(p->killasgroup);
  cr_assert_eq(p->priority, 999);
  cr_assert_eq(p->group_priority, 999);
  cr_assert(!p->redirect_stderr);
  cr_assert_str_eq(p->out.path, P("log/web.out"));
  cr_assert_eq(p->out.maxbytes, 50 * 1024 * 1024);
  cr_assert_eq(p->out.backups, 10);
  cr_assert_str_eq(p->err.path, P("log/web.err"));
  cr_assert_eq(p->err.maxbytes, 50 * 1024 * 1024);
  cr_assert_eq(p->err.backups, 10);
  cr_assert(p->stdin_pipe);
  cr_assert_str_eq(p->file, P("t.conf"));
  cr_assert_eq(p->line, 1);
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, every_key_is_read) {
  setenv("HOME", dir, 1);
  tend_diag_t d;
  tend_config_t *c = load_ok(
      "[tend]\n"
      "socket = run/tend.sock\n"
      "socket_mode = 0660\n"
      "socket_owner = root:root\n"
      "logfile = tend.log\n"
      "log_format = JSON\n"
      "logdir = /var/tmp/tend-logs\n"
      "pidfile = ~/tend.pid\n"
      "\n"
      "[supervisord]\n"
      "umask = 022\n"
      "minfds = 2048\n"
      "minprocs = 300\n"
      "logfile = supervisord.log\n"
      "childlogdir = /var/log/elsewhere\n"
      "\n"
      "[program:full]\n"
      "command = /usr/bin/env FOO=1 printenv\n"
      "process_name = %(program_name)s-%(process_num)d\n"
      "numprocs = 1\n"
      "numprocs_start = 3\n"
      "directory = work\n"
      "environment = A=1\n"
      "user = nobody\n"
      "umask = 027\n"
      "autostart = false\n"
      "autorestart = true\n"
      "exitcodes = 0, 2 ,3\n"
      "startsecs = 2.5\n"
      "startretries = infinite\n"
      "stopsignal = SIGUSR1\n"
      "stopwaitsecs = 0.5\n"
      "stopasgroup = false\n"
      "killasgroup = false\n"
      "priority = -5\n"
      "redirect_stderr = true\n"
      "stdout_logfile = logs/out.log\n"
      "stdout_logfile_maxbytes = 10KB\n"
      "stdout_logfile_backups = 0\n"
      "stderr_logfile = NONE\n"
      "stderr_logfile_maxbytes = 1GB\n"
      "stderr_logfile_backups = 7\n"
      "stdin = null\n",
      &d);
  cr_assert_str_eq(c->socket, P("run/tend.sock"));
  cr_assert_eq(c->socket_mode, 0660);
  cr_assert_str_eq(c->socket_owner, "root:root");
  cr_assert_str_eq(c->logfile, P("tend.log"), "[tend] logfile wins over [supervisord]'s");
  cr_assert_eq(c->log_format, TEND_LOGFMT_JSON);
  cr_assert_str_eq(c->logdir, "/var/tmp/tend-logs", "[tend] logdir wins over childlogdir");
  cr_assert_str_eq(c->pidfile, P("tend.pid"), "~ is $HOME");
  cr_assert_eq(c->umask, 022);
  cr_assert_eq(c->minfds, 2048);
  cr_assert_eq(c->minprocs, 300);
  cr_assert_eq(d.nnotices, 1);
  cr_assert_str_eq(d.notices[0], fmt("%s:10: [supervisord] not used by tend, ignored: logfile",
                                     P("t.conf")));

  cr_assert_eq(c->nprograms, 1);
  const tend_program_t *p = find(c, "full:full-3");
  cr_assert_str_eq(p->group, "full");
  cr_assert_eq(p->process_num, 3);
  assert_argv(p, 3, "/usr/bin/env", "FOO=1", "printenv");
  cr_assert_str_eq(p->directory, P("work"));
  cr_assert_str_eq(p->env[0], "A=1");
  cr_assert_null(p->env[1]);
  cr_assert_str_eq(p->user, "nobody");
  cr_assert_eq(p->umask, 027);
  cr_assert(!p->autostart);
  cr_assert_eq(p->autorestart, TEND_AUTORESTART_TRUE);
  cr_assert_eq(p->nexitcodes, 3);
  cr_assert(p->exitcodes[0] == 0 && p->exitcodes[1] == 2 && p->exitcodes[2] == 3);
  cr_assert_float_eq(p->startsecs, 2.5, 1e-9);
  cr_assert_eq(p->startretries, -1);
  cr_assert_eq(p->stopsignal, SIGUSR1);
  cr_assert_float_eq(p->stopwaitsecs, 0.5, 1e-9);
  cr_assert(!p->stopasgroup);
  cr_assert(!p->killasgroup);
  cr_assert_eq(p->priority, -5);
  cr_assert(p->redirect_stderr);
  cr_assert_str_eq(p->out.path, P("logs/out.log"), "relative to the file's directory");
  cr_assert_eq(p->out.maxbytes, 10 * 1024);
  cr_assert_eq(p->out.backups, 0);
  cr_assert_null(p->err.path);
  cr_assert_eq(p->err.maxbytes, 1024ULL * 1024 * 1024);
  cr_assert_eq(p->err.backups, 7);
  cr_assert(!p->stdin_pipe);
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, supervisord_section_fills_what_tend_does_not_set) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[supervisord]\n"
                             "logfile = /var/log/supervisord.log\n"
                             "pidfile = run/supervisord.pid\n"
                             "childlogdir = children\n"
                             "loglevel = debug\n"
                             "nodaemon = true\n"
                             "[program:a]\n"
                             "command = a\n",
                             &d);
  cr_assert_str_eq(c->logfile, "/var/log/supervisord.log");
  cr_assert_str_eq(c->pidfile, P("run/supervisord.pid"));
  cr_assert_str_eq(c->logdir, P("children"));
  cr_assert_str_eq(c->programs[0].out.path, P("children/a.out"));
  cr_assert_eq(d.nnotices, 1);
  cr_assert_str_eq(d.notices[0], fmt("%s:1: [supervisord] not used by tend, ignored: loglevel, "
                                     "nodaemon", P("t.conf")));
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, value_syntaxes) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:a]\ncommand = a\nautostart = Yes\nstopsignal = hup\n"
                             "stdout_logfile_maxbytes = 1024\nstderr_logfile_maxbytes = 50mb\n"
                             "autorestart = UNEXPECTED\nexitcodes =\n"
                             "[program:b]\ncommand = b\nautostart = OFF\nstopsignal = 9\n"
                             "stdout_logfile_maxbytes = 0\nstderr_logfile_maxbytes = 2 KB\n"
                             "autorestart = off\nstartsecs = 0\nstopasgroup = 1\n"
                             "killasgroup = on\nstdout_logfile = off\nstderr_logfile = Auto\n"
                             "umask = 0o2\nstartretries = 0\n",
                             &d);
  const tend_program_t *a = find(c, "a"), *b = find(c, "b");
  cr_assert(a->autostart);
  cr_assert_eq(a->stopsignal, SIGHUP);
  cr_assert_eq(a->out.maxbytes, 1024);
  cr_assert_eq(a->err.maxbytes, 50 * 1024 * 1024);
  cr_assert_eq(a->autorestart, TEND_AUTORESTART_UNEXPECTED);
  cr_assert_eq(a->nexitcodes, 0, "an empty exitcodes is an empty list, as supervisord");
  cr_assert(!b->autostart);
  cr_assert_eq(b->stopsignal, SIGKILL);
  cr_assert_eq(b->out.maxbytes, 0);
  cr_assert_eq(b->err.maxbytes, 2048);
  cr_assert_eq(b->autorestart, TEND_AUTORESTART_FALSE);
  cr_assert_float_eq(b->startsecs, 0.0, 1e-9);
  cr_assert(b->stopasgroup && b->killasgroup);
  cr_assert_null(b->out.path);
  cr_assert_str_eq(b->err.path, P("log/b.err"));
  cr_assert_eq(b->umask, 02);
  cr_assert_eq(b->startretries, 0);
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, killasgroup_follows_stopasgroup) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:a]\ncommand = a\nstopasgroup = false\n", &d);
  cr_assert(!c->programs[0].stopasgroup);
  cr_assert(!c->programs[0].killasgroup, "killasgroup defaults to stopasgroup, as supervisord");
  tend_config_free(c);
  tend_diag_free(&d);
  expect_errors("[program:a]\ncommand = a\nkillasgroup = false\n", 1,
                "{f}:3: [program:a] killasgroup: cannot be false when stopasgroup is true "
                "(stopping the group but killing only the process would leave the group "
                "running)");
}

/* ---- the INI dialect ----------------------------------------------------- */

Test(config, long_command_line_is_intact) {
  /* Debian's inih cuts lines at 200 bytes: tend must not. */
  char cmd[8192] = "/bin/echo";
  for (int i = 0; i < 500; i++)
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " arg%05d", i);
  cr_assert_gt(strlen(cmd), 4096);
  char *text;
  cr_assert(asprintf(&text, "[program:long]\ncommand = %s\nautostart = false\n", cmd) > 0);
  tend_diag_t d;
  tend_config_t *c = load_ok(text, &d);
  free(text);
  const tend_program_t *p = &c->programs[0];
  cr_assert_str_eq(p->command, cmd);
  cr_assert_eq(strv_len(p->argv), 501);
  cr_assert_str_eq(p->argv[500], "arg00499");
  cr_assert(!p->autostart, "the line after the long one is read as its own");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, continuation_lines) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:a]\n"
                             "command = /bin/prog --one\n"
                             "    --two 'with space'\n"
                             "\n"
                             "\t--three\n"
                             "environment = A=1,\n"
                             "   B=2\n"
                             "priority = 5\n",
                             &d);
  const tend_program_t *p = &c->programs[0];
  cr_assert_str_eq(p->command, "/bin/prog --one\n--two 'with space'\n\n--three",
                   "joined with newlines, the blank line kept");
  assert_argv(p, 5, "/bin/prog", "--one", "--two", "with space", "--three");
  cr_assert_str_eq(p->env[0], "A=1");
  cr_assert_str_eq(p->env[1], "B=2");
  cr_assert_eq(p->priority, 5);
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, comments) {
  tend_diag_t d;
  tend_config_t *c = load_ok("; a comment\n"
                             "# another\n"
                             "[program:a]   ; after a header\n"
                             "command = /bin/echo a;b c#d ; the rest is a comment\n"
                             "   ; an indented comment line, not a continuation\n"
                             "   # nor this\n"
                             "directory = /srv # comment\n"
                             "[program:b]\n"
                             "command: /bin/echo \"x; y\" ; z\n",
                             &d);
  const tend_program_t *a = find(c, "a");
  cr_assert_str_eq(a->command, "/bin/echo a;b c#d");
  assert_argv(a, 3, "/bin/echo", "a;b", "c#d");
  cr_assert_str_eq(a->directory, "/srv");
  assert_argv(find(c, "b"), 2, "/bin/echo", "x; y");
  /* As in supervisord, " ;" starts a comment even inside quotes. */
  expect_errors("[program:b]\ncommand = /bin/echo \"x ;y\"\n", 1,
                "{f}:2: [program:b] command: invalid value '/bin/echo \"x': unbalanced quote: no "
                "closing \"");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, keys_are_case_insensitive_and_either_delimiter) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:a]\nCOMMAND: /bin/a x=1\nAutoStart=false\n", &d);
  cr_assert_str_eq(c->programs[0].command, "/bin/a x=1");
  cr_assert(!c->programs[0].autostart);
  tend_config_free(c);
  tend_diag_free(&d);
}

/* ---- environment ----------------------------------------------------------- */

Test(config, environment_quotes_commas_and_merge) {
  tend_diag_t d;
  tend_config_t *c = load_ok(
      "[supervisord]\n"
      "environment = LANG=\"C.UTF-8\",SHARED=global,PATH=\"/usr/bin:/bin\"\n"
      "[program:a]\n"
      "command = a\n"
      "environment = LIST=\"x,y,z\",EQ='k=v',SHARED=mine,EMPTY=\"\",\n"
      "   SPACED=\"a b\",URL=http://h:80/p,A=1\n",
      &d);
  const tend_program_t *p = &c->programs[0];
  const char *want[] = {"LANG=C.UTF-8", "SHARED=mine", "PATH=/usr/bin:/bin", "LIST=x,y,z",
                        "EQ=k=v", "EMPTY=", "SPACED=a b", "URL=http://h:80/p", "A=1"};
  cr_assert_eq(strv_len(p->env), 9);
  for (size_t i = 0; i < 9; i++)
    cr_assert_str_eq(p->env[i], want[i]);
  tend_config_free(c);
  tend_diag_free(&d);
}

/* ---- expansions -------------------------------------------------------------- */

Test(config, expansions) {
  setenv("TEND_TEST_VAR", "from-env", 1);
  struct utsname u;
  cr_assert(uname(&u) == 0);
  tend_diag_t d;
  tend_config_t *c = load_ok(
      "[program:app]\n"
      "command = %(here)s/bin/app --name %(program_name)s --n %(process_num)03d/%(numprocs)d\n"
      "          --host %(host_node_name)s --v %(ENV_TEND_TEST_VAR)s --own %(ENV_MINE)s\n"
      "          --group %(group_name)s --pct 100%% --left '%(process_num)-3d|'\n"
      "process_name = %(program_name)s_%(process_num)02d\n"
      "numprocs = 2\n"
      "numprocs_start = 7\n"
      "environment = MINE=\"%(program_name)s-%(process_num)d\"\n"
      "directory = %(here)s/%(process_num)d\n"
      "stdout_logfile = %(ENV_TEND_TEST_VAR)s/%(process_num)x.log\n",
      &d);
  cr_assert_eq(c->nprograms, 2);
  const tend_program_t *p = find(c, "app:app_08");
  cr_assert_eq(p->process_num, 8);
  assert_argv(p, 17, P("bin/app"), "--name", "app", "--n", "008/2", "--host", u.nodename, "--v",
              "from-env", "--own", "app-8", "--group", "app", "--pct", "100%", "--left", "8  |");
  cr_assert_str_eq(p->env[0], "MINE=app-8");
  cr_assert_str_eq(p->directory, P("8"));
  cr_assert_str_eq(p->out.path, P("from-env/8.log"));
  cr_assert_not_null(find(c, "app:app_07"));
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, expansion_errors) {
  expect_errors("[program:web]\ncommand = /bin/web %(nope)s\n", 1,
                "{f}:2: [program:web] command: unknown expansion '%(nope)s' (known names: here, "
                "host_node_name, program_name, group_name, process_num, numprocs, "
                "ENV_<variable>)");
  unsetenv("TEND_NO_SUCH_VAR");
  expect_errors("[program:web]\ncommand = /bin/web %(ENV_TEND_NO_SUCH_VAR)s\n", 1,
                "{f}:2: [program:web] command: unknown expansion '%(ENV_TEND_NO_SUCH_VAR)s': "
                "TEND_NO_SUCH_VAR is not in tend's environment");
  expect_errors("[program:web]\ncommand = date +%s\n", 1,
                "{f}:2: [program:web] command: '%' must start an expansion such as '%(here)s' "
                "(at '%s'); write '%%' for a literal '%'");
  expect_errors("[program:web]\ncommand = web\npriority = %(process_num)d\n", 1,
                "{f}:3: [program:web] priority: unknown expansion '%(process_num)d' (known names: "
                "here, host_node_name, program_name, group_name, ENV_<variable>)");
  expect_errors("[program:web]\ncommand = web %(program_name)d\n", 1,
                "{f}:2: [program:web] command: '%(program_name)d' needs a number, but "
                "program_name is text: use '%(program_name)s'");
}

/* ---- command splitting --------------------------------------------------- */

Test(config, command_is_split_like_shlex) {
  tend_diag_t d;
  tend_config_t *c = load_ok(
      "[program:a]\n"
      "command = /bin/sh -c 'echo \"$HOME\" | tr a b' \"dq \\\"x\\\" \\$y\" back\\ slash '' e\\'\n",
      &d);
  assert_argv(&c->programs[0], 7, "/bin/sh", "-c", "echo \"$HOME\" | tr a b", "dq \"x\" \\$y",
              "back slash", "", "e'");
  tend_config_free(c);
  tend_diag_free(&d);
}

/* ---- errors ----------------------------------------------------------------- */

Test(config, error_messages) {
  expect_errors("[program:web]\ncommand = web\nautostrat = false\n", 1,
                "{f}:3: [program:web] autostrat: unknown key; did you mean 'autostart'?");
  expect_errors("[program:web]\ncommand = web\nautostart = maybe\n", 1,
                "{f}:3: [program:web] autostart: invalid value 'maybe': expected true or false "
                "(or yes/no, on/off, 1/0)");
  expect_errors("[program:web]\ncommand = web\nstartsecs = abc\n", 1,
                "{f}:3: [program:web] startsecs: invalid value 'abc': expected a number of "
                "seconds >= 0");
  expect_errors("[program:web]\ncommand = web\nstartsecs = -1\n", 1,
                "{f}:3: [program:web] startsecs: invalid value '-1': expected a number of "
                "seconds >= 0");
  expect_errors("[program:web]\ncommand = web\npriority = high\n", 1,
                "{f}:3: [program:web] priority: invalid value 'high': expected an integer");
  expect_errors("[program:web]\ncommand = web\nnumprocs = 0\n", 1,
                "{f}:3: [program:web] numprocs: invalid value '0': expected an integer >= 1");
  expect_errors("[program:web]\ncommand = web\nstartretries = often\n", 1,
                "{f}:3: [program:web] startretries: invalid value 'often': expected an integer "
                ">= 0 or 'infinite'");
  expect_errors("[program:web]\ncommand = web\nstopsignal = FOO\n", 1,
                "{f}:3: [program:web] stopsignal: invalid value 'FOO': expected a signal name "
                "(TERM, HUP, INT, QUIT, KILL, USR1, USR2, ...) or number");
  expect_errors("[program:web]\ncommand = web\nexitcodes = 0,256\n", 1,
                "{f}:3: [program:web] exitcodes: invalid value '0,256': expected a "
                "comma-separated list of exit codes 0-255");
  expect_errors("[program:web]\ncommand = web\nautorestart = sometimes\n", 1,
                "{f}:3: [program:web] autorestart: invalid value 'sometimes': expected true, "
                "false or unexpected");
  expect_errors("[program:web]\ncommand = web\nstdout_logfile_maxbytes = 5TB\n", 1,
                "{f}:3: [program:web] stdout_logfile_maxbytes: invalid value '5TB': expected a "
                "byte size such as 1024, 10KB, 50MB or 1GB");
  expect_errors("[program:web]\ncommand = web\numask = 8\n", 1,
                "{f}:3: [program:web] umask: invalid value '8': expected an octal mode such as "
                "022");
  expect_errors("[program:web]\ncommand = web\nstdin = tty\n", 1,
                "{f}:3: [program:web] stdin: invalid value 'tty': expected pipe or null");
  expect_errors("[program:web]\ncommand = web\nuser = tend-no-such-user\n", 1,
                "{f}:3: [program:web] user: invalid value 'tend-no-such-user': expected the name "
                "or id of an existing user");
  expect_errors("[program:web]\ncommand = web\nenvironment = A=1,B\n", 1,
                "{f}:3: [program:web] environment: invalid value 'A=1,B': expected KEY=VALUE "
                "pairs separated by commas (quote a value that holds anything but letters, "
                "digits and _/.+-():)");
  expect_errors("[program:web]\nautostart = true\n", 1,
                "{f}:1: [program:web] command: missing (every program needs one)");
  expect_errors("[program:web]\ncommand = web\nnumprocs = 2\n", 1,
                "{f}:3: [program:web] numprocs: %(process_num) must be present within "
                "process_name when numprocs > 1");
  expect_errors("[program:web]\ncommand = web\nprocess_name = w\nnumprocs = 2\n", 1,
                "{f}:3: [program:web] process_name: %(process_num) must be present within "
                "process_name when numprocs > 1");
  expect_errors("[program:web]\ncommand = /bin/echo \"hi\n", 1,
                "{f}:2: [program:web] command: invalid value '/bin/echo \"hi': unbalanced quote: "
                "no closing \"");
  expect_errors("[program:web]\ncommand = /bin/echo 'hi\n", 1,
                "{f}:2: [program:web] command: invalid value '/bin/echo 'hi': unbalanced quote: "
                "no closing '");
  expect_errors("[program:web]\ncommand = ''\n", 1,
                "{f}:2: [program:web] command: invalid value '''': expected a program to run");
  expect_errors("[frobnicate]\nx = 1\n", 1, "{f}:1: [frobnicate] unknown section");
  expect_errors("[program:a b]\ncommand = x\n", 1,
                "{f}:1: [program:a b] invalid program name 'a b': names cannot contain spaces, "
                "':' or '/'");
  expect_errors("[tend]\nlog_format = xml\n", 1,
                "{f}:2: [tend] log_format: invalid value 'xml': expected text or json");
  expect_errors("[tend]\nsocket_owner = tend-no-such-user\n", 1,
                "{f}:2: [tend] socket_owner: invalid value 'tend-no-such-user': expected user or "
                "user:group, of an existing user and group");
}

Test(config, ini_syntax_errors) {
  expect_errors("command = x\n[program:web]\ncommand = web\n", 1,
                "{f}:1: 'command = x' comes before any [section]");
  expect_errors("[program:web]\ncommand = web\njust words\n", 1,
                "{f}:3: [program:web] expected 'key = value' or '[section]', got 'just words'");
  expect_errors("[program:web]\ncommand = web\n= 1\n", 1,
                "{f}:3: [program:web] a line starts with '=': the key is missing");
}

Test(config, duplicate_process_names) {
  expect_errors("[group:g]\nprograms = a,b\n"
                "[program:a]\ncommand = a\nprocess_name = x\n"
                "[program:b]\ncommand = b\nprocess_name = x\n",
                1, "{f}:6: [program:b] duplicate process name 'g:x' (also from [program:a] at "
                   "{f}:3)");
}

Test(config, all_errors_are_reported_together) {
  put("t.conf", "[program:a]\n"                /* 1 */
                "command = a\n"                /* 2 */
                "startsecs = soon\n"           /* 3 */
                "stopsignal = NOPE\n"          /* 4 */
                "[mystery]\n"                  /* 5 */
                "[program:b]\n"                /* 6 */
                "autostart = true\n"           /* 7 */
                "stopsignl = x\n"              /* 8 */
                "[program:c]\n"                /* 9 */
                "command = c %(oops)s\n"       /* 10 */
                "[program:d]\n"                /* 11 */
                "command = d\n");              /* 12 */
  tend_config_t *c = (tend_config_t *)1;
  tend_diag_t d;
  cr_assert_eq(load("t.conf", &c, &d), -EINVAL);
  cr_assert_null(c);
  const char *f = P("t.conf");
  const char *want[] = {
      fmt("%s:3: [program:a] startsecs: invalid value 'soon': expected a number of seconds "
          ">= 0", f),
      fmt("%s:4: [program:a] stopsignal: invalid value 'NOPE': expected a signal name (TERM, "
          "HUP, INT, QUIT, KILL, USR1, USR2, ...) or number", f),
      fmt("%s:5: [mystery] unknown section", f),
      fmt("%s:6: [program:b] command: missing (every program needs one)", f),
      fmt("%s:8: [program:b] stopsignl: unknown key; did you mean 'stopsignal'?", f),
      fmt("%s:10: [program:c] command: unknown expansion '%%(oops)s' (known names: here, "
          "host_node_name, program_name, group_name, process_num, numprocs, ENV_<variable>)", f),
  };
  cr_assert_eq(d.nerrors, 6);
  for (size_t i = 0; i < 6; i++)
    cr_assert_str_eq(d.errors[i], want[i]);
  tend_diag_free(&d);
}

Test(config, a_bad_value_of_many_processes_is_reported_once) {
  expect_errors("[program:w]\ncommand = w %(bad)s\nprocess_name = w%(process_num)d\n"
                "numprocs = 5\n",
                1, "{f}:2: [program:w] command: unknown expansion '%(bad)s' (known names: here, "
                   "host_node_name, program_name, group_name, process_num, numprocs, "
                   "ENV_<variable>)");
}

Test(config, missing_file) {
  tend_config_t *c = (tend_config_t *)1;
  tend_diag_t d;
  cr_assert_eq(load("nope.conf", &c, &d), -ENOENT);
  cr_assert_null(c);
  cr_assert_eq(d.nerrors, 1);
  cr_assert_str_eq(d.errors[0], fmt("%s: cannot read config file: No such file or directory",
                                    P("nope.conf")));
  tend_diag_free(&d);
}

/* ---- includes ------------------------------------------------------------------ */

Test(config, includes_nest_relative_to_their_file) {
  put("t.conf", "[include]\n"
                "files = conf.d/*.conf missing/*.conf\n"
                "[program:main]\n"
                "command = m %(here)s\n");
  put("conf.d/a.conf", "[program:a]\ncommand = a %(here)s\n"
                       "[include]\nfiles = ../more/*.ini\n");
  put("conf.d/b.conf", "[program:b]\ncommand = b\nstdout_logfile = b.log\n");
  put("conf.d/skip.txt", "[program:skipped]\ncommand = no\n");
  put("more/c.ini", "[program:c]\ncommand = c %(here)s\n");
  tend_config_t *c;
  tend_diag_t d;
  cr_assert_eq(load("t.conf", &c, &d), 0);
  cr_assert_eq(c->nprograms, 4);
  assert_argv(find(c, "main"), 2, "m", dir);
  assert_argv(find(c, "a"), 2, "a", P("conf.d"));
  cr_assert_str_eq(find(c, "b")->out.path, P("conf.d/b.log"));
  cr_assert_str_eq(find(c, "b")->file, P("conf.d/b.conf"));
  assert_argv(find(c, "c"), 2, "c", P("more"));
  cr_assert_null(tend_config_find(c, "skipped"));
  cr_assert_eq(d.nnotices, 1);
  cr_assert_str_eq(d.notices[0], fmt("%s:2: [include] files: no file matches '%s'", P("t.conf"),
                                     P("missing/*.conf")));
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, tend_include_key) {
  put("t.conf", "[tend]\ninclude = progs/*.conf\n");
  put("progs/x.conf", "[program:x]\ncommand = x\n");
  tend_config_t *c;
  tend_diag_t d;
  cr_assert_eq(load("t.conf", &c, &d), 0);
  cr_assert_eq(c->nprograms, 1);
  cr_assert_str_eq(c->programs[0].name, "x");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, include_cycle_is_an_error) {
  put("t.conf", "[include]\nfiles = sub/*.conf\n[program:a]\ncommand = a\n");
  put("sub/loop.conf", "[program:b]\ncommand = b\n[include]\nfiles = ../t.conf\n");
  tend_config_t *c = (tend_config_t *)1;
  tend_diag_t d;
  cr_assert_eq(load("t.conf", &c, &d), -EINVAL);
  cr_assert_null(c);
  cr_assert_eq(d.nerrors, 1);
  cr_assert_str_eq(d.errors[0], fmt("%s:4: [include] files: include cycle: '%s' is already "
                                    "being read", P("sub/loop.conf"), P("t.conf")));
  tend_diag_free(&d);

  put("t.conf", "[include]\nfiles = *.conf\n");
  cr_assert_eq(load("t.conf", &c, &d), -EINVAL);
  cr_assert_str_eq(d.errors[0], fmt("%s:2: [include] files: include cycle: '%s' is already "
                                    "being read", P("t.conf"), P("t.conf")));
  tend_diag_free(&d);
}

Test(config, include_errors_name_the_included_file) {
  put("t.conf", "[include]\nfiles = more.conf\n");
  put("more.conf", "[program:x]\ncommand = x\nstartsec = 1\n");
  expect_errors("[include]\nfiles = more.conf\n", 1,
                fmt("%s:3: [program:x] startsec: unknown key; did you mean 'startsecs'?",
                    P("more.conf")));
  put("t.conf", "[include]\n");
  tend_config_t *c;
  tend_diag_t d;
  cr_assert_eq(load("t.conf", &c, &d), -EINVAL);
  cr_assert_str_eq(d.errors[0], fmt("%s:1: [include] files: missing (an [include] section names "
                                    "its files with files = GLOB ...)", P("t.conf")));
  tend_diag_free(&d);
}

/* ---- groups and names ---------------------------------------------------------- */

Test(config, groups) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[group:g]\n"
                             "programs = a, b\n"
                             "priority = 5\n"
                             "[program:a]\n"
                             "command = a %(group_name)s\n"
                             "[program:b]\n"
                             "command = b\n"
                             "numprocs = 2\n"
                             "process_name = %(program_name)s_%(process_num)d\n"
                             "[group:solo]\n"
                             "programs = solo\n"
                             "[program:solo]\n"
                             "command = s\n"
                             "[program:alone]\n"
                             "command = x %(group_name)s\n"
                             "priority = 7\n",
                             &d);
  cr_assert_eq(c->nprograms, 5);
  const tend_program_t *a = find(c, "g:a");
  cr_assert_str_eq(a->group, "g");
  cr_assert_str_eq(a->program, "a");
  cr_assert_eq(a->group_priority, 5);
  cr_assert_eq(a->priority, 999);
  assert_argv(a, 2, "a", "g");
  cr_assert_str_eq(a->out.path, P("log/g:a.out"));
  cr_assert_str_eq(find(c, "g:b_0")->group, "g");
  cr_assert_str_eq(find(c, "g:b_1")->program, "b");
  cr_assert_str_eq(find(c, "solo")->group, "solo", "group and process names agree: one name");
  const tend_program_t *alone = find(c, "alone");
  cr_assert_str_eq(alone->group, "alone");
  cr_assert_eq(alone->group_priority, 7);
  assert_argv(alone, 2, "x", "alone");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, group_errors) {
  expect_errors("[group:g]\nprograms = a,nope\n[program:a]\ncommand = a\n", 1,
                "{f}:2: [group:g] programs: unknown program 'nope' (there is no [program:nope])");
  expect_errors("[group:g]\nprograms = a\n[group:h]\nprograms = a\n[program:a]\ncommand = a\n",
                1, "{f}:4: [group:h] programs: program 'a' is already in [group:g]");
  expect_errors("[group:web]\nprograms = a\n[program:a]\ncommand = a\n"
                "[program:web]\ncommand = w\n",
                1, "{f}:1: [group:web] group 'web' clashes with [program:web] at {f}:5, which is "
                   "in no group and so a group of its own name");
}

Test(config, numprocs_names_and_order) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:w]\n"
                             "command = w %(process_num)d\n"
                             "process_name = %(program_name)s-%(process_num)d\n"
                             "numprocs = 3\n"
                             "numprocs_start = 9\n"
                             "[program:first]\n"
                             "command = f\n"
                             "priority = 1\n"
                             "[program:aaa]\n"
                             "command = a\n",
                             &d);
  const char *order[] = {"first", "aaa", "w:w-10", "w:w-11", "w:w-9"};
  cr_assert_eq(c->nprograms, 5);
  for (size_t i = 0; i < 5; i++)
    cr_assert_str_eq(c->programs[i].name, order[i], "sorted by (priority, name)");
  const tend_program_t *p = find(c, "w:w-11");
  cr_assert_eq(p->process_num, 11);
  assert_argv(p, 2, "w", "11");
  tend_config_free(c);
  tend_diag_free(&d);
}

/* ---- sections tend does not use ------------------------------------------------- */

Test(config, unused_sections_and_keys_are_notices) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[eventlistener:memmon]\n"
                             "command = memmon -a 200MB\n"
                             "events = TICK_60\n"
                             "[program:a]\n"
                             "command = a\n"
                             "stdout_capture_maxbytes = 1MB\n"
                             "serverurl = AUTO\n"
                             "[ctlplugin:serialrestart]\n"
                             "supervisor.ctl_factory = supervisorserialrestart.controllerplugin"
                             ":make_serialrestart_controllerplugin\n",
                             &d);
  cr_assert_eq(c->nprograms, 2);
  cr_assert_str_eq(c->programs[1].name, "a");
  cr_assert_eq(c->programs[1].capture_maxbytes[0], 1024 * 1024);
  const char *f = P("t.conf");
  cr_assert_eq(d.nnotices, 2);
  cr_assert_str_eq(d.notices[0], fmt("%s:7: [program:a] serverurl: supervisord key not used by "
                                     "tend, ignored", f));
  cr_assert_str_eq(d.notices[1], fmt("%s:8: [ctlplugin:serialrestart] not used by tend, ignored "
                                     "(keys: supervisor.ctl_factory)", f));
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, typical_supervisord_conf_loads) {
  /* conf/examples/supervisord.conf, found from this file's path: __FILE__
   * is relative to the build directory, two levels above the test. */
  char exe[PATH_MAX], path[PATH_MAX * 2];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  cr_assert_gt(n, 0);
  exe[n] = '\0';
  const char *src = __FILE__;
  *strrchr(exe, '/') = '\0'; /* build/tests */
  *strrchr(exe, '/') = '\0'; /* build */
  if (src[0] == '/')
    snprintf(path, sizeof(path), "%s", src);
  else if (snprintf(path, sizeof(path), "%s/%s", exe, src) > 0 && access(path, R_OK) != 0)
    snprintf(path, sizeof(path), "%s", src); /* relative to the working directory */
  *strrchr(path, '/') = '\0'; /* tests */
  *strrchr(path, '/') = '\0'; /* source root */
  strcat(path, "/conf/examples/supervisord.conf");
  char *conf = realpath(path, NULL);
  cr_assert_not_null(conf, "%s not found", path);
  char *confdir = strdup(conf);
  *strrchr(confdir, '/') = '\0';

  tend_config_t *c;
  tend_diag_t d = {0};
  int rc = tend_config_load(conf, &c, &d);
  cr_assert_eq(d.nerrors, 0, "error: %s", d.nerrors ? d.errors[0] : "");
  cr_assert_eq(rc, 0);
  cr_assert_gt(d.nnotices, 0);
  cr_assert(c->unix_http.enabled, "[unix_http_server] is served");
  cr_assert(has_notice(&d, fmt("%s:35: [supervisorctl] not used by tend, ignored "
                               "(keys: serverurl, history_file)", conf)),
            "%s", d.notices[0]);
  const tend_program_t *mm = find(c, "memmon");
  cr_assert(mm->listener && mm->events == EV_BIT(EV_TICK_60) && mm->priority == -1);

  cr_assert_eq(c->nprograms, 9);
  cr_assert_str_eq(c->programs[0].name, "memmon", "a listener's priority is -1");
  cr_assert_str_eq(c->programs[1].name, "nginx", "priority 10 next");
  cr_assert_str_eq(c->logdir, "/var/log/supervisor", "childlogdir");
  cr_assert_eq(c->umask, 022);
  cr_assert_eq(c->minfds, 4096);
  const tend_program_t *web = find(c, "app:web");
  cr_assert_eq(strv_len(web->argv), 12);
  cr_assert_str_eq(web->argv[11], "127.0.0.1,::1");
  cr_assert_str_eq(web->user, "www-data");
  cr_assert(web->redirect_stderr);
  cr_assert_null(web->err.path);
  cr_assert_eq(web->out.maxbytes, 20 * 1024 * 1024);
  cr_assert_str_eq(web->env[strv_len(web->env) - 2],
                   "DJANGO_SETTINGS_MODULE=app.settings.production");
  const tend_program_t *w = find(c, "app:worker_04");
  cr_assert_eq(w->process_num, 4);
  cr_assert_str_eq(w->err.path, "/var/log/supervisor/worker_04.err.log");
  cr_assert_float_eq(w->stopwaitsecs, 600, 1e-9);
  assert_argv(find(c, "nginx"), 3, "/usr/sbin/nginx", "-g", "daemon off;");
  cr_assert_eq(find(c, "nginx")->stopsignal, SIGQUIT);
  cr_assert_str_eq(find(c, "app:scheduler")->out.path, "/var/log/supervisor/app:scheduler.out");
  const tend_program_t *cl = find(c, "cleanup");
  cr_assert_str_eq(cl->argv[1], fmt("%s/conf.d/cleanup.sh", confdir));
  cr_assert_str_eq(cl->out.path, fmt("%s/log/cleanup.log", confdir));
  tend_config_free(c);
  tend_diag_free(&d);
  free(conf);
  free(confdir);
}

/* ---- reload helpers ----------------------------------------------------------- */

Test(config, program_same_and_find) {
  tend_diag_t d1, d2, d3;
  tend_config_t *a = load_ok("[program:x]\ncommand = x --flag\n[program:y]\ncommand = y\n", &d1);
  tend_config_t *b = load_ok("# moved down a line\n[program:y]\ncommand = y\n"
                             "[program:x]\ncommand = x --flag\n", &d2);
  tend_config_t *c = load_ok("[program:x]\ncommand = x --flag\nstopwaitsecs = 3\n"
                             "[program:y]\ncommand = y  \nenvironment = A=1\n", &d3);
  cr_assert_null(tend_config_find(a, "z"));
  cr_assert(tend_program_same(find(a, "x"), find(b, "x")), "file and line do not count");
  cr_assert(tend_program_same(find(a, "y"), find(b, "y")));
  cr_assert(!tend_program_same(find(a, "x"), find(c, "x")), "stopwaitsecs differs");
  cr_assert(!tend_program_same(find(a, "y"), find(c, "y")), "environment differs");
  cr_assert(!tend_program_same(find(a, "x"), find(a, "y")));
  tend_config_free(a);
  tend_config_free(b);
  tend_config_free(c);
  tend_diag_free(&d1);
  tend_diag_free(&d2);
  tend_diag_free(&d3);
}

Test(config, expansion_edge_cases) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:program]\n"
                             "command = %(process_num)d x%(program_name).0sy %(program_name).2s\n"
                             "  '%(program_name)9s|' %(process_num)#x %(process_num)+d %%%%\n",
                             &d);
  assert_argv(&c->programs[0], 7, "0", "xy", "pr", "  program|", "0x0", "+0", "%%");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, supervisord_environment_is_visible_as_env_expansion) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[supervisord]\n"
                             "environment = APP_HOME=\"/srv/app\"\n"
                             "[program:a]\n"
                             "command = %(ENV_APP_HOME)s/bin/a\n"
                             "environment = OWN=1\n"
                             "directory = %(ENV_OWN)s\n",
                             &d);
  assert_argv(&c->programs[0], 1, "/srv/app/bin/a");
  cr_assert_str_eq(c->programs[0].directory, P("1"), "a program's own variables too");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, log_notices) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:a]\n"
                             "command = a\n"
                             "redirect_stderr = true\n"
                             "stderr_logfile = /var/log/a.err\n"
                             "stdout_logfile = syslog\n",
                             &d);
  cr_assert_null(c->programs[0].err.path);
  cr_assert_null(c->programs[0].out.path);
  cr_assert(c->programs[0].out.syslog, "stdout_logfile = syslog is stdout_syslog = true");
  cr_assert_str_eq(c->syslog_socket, "/dev/log");
  cr_assert_eq(d.nnotices, 1);
  cr_assert_str_eq(d.notices[0], fmt("%s:4: [program:a] stderr_logfile: redirect_stderr is true, "
                                     "so stderr goes to the stdout log; stderr_logfile ignored",
                                     P("t.conf")));
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, crlf_and_byte_order_mark) {
  tend_diag_t d;
  tend_config_t *c = load_ok("\xef\xbb\xbf[program:a]\r\ncommand = a b\r\n  c\r\n", &d);
  assert_argv(&c->programs[0], 3, "a", "b", "c");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, unknown_keys_in_every_section) {
  expect_errors("[tend]\nsockets = x\n[supervisord]\nlogfiles = y\n[group:g]\nprogram = a\n"
                "[include]\nfiles = none/*.conf\nfile = z\n",
                4, "{f}:2: [tend] sockets: unknown key; did you mean 'socket'?",
                "{f}:4: [supervisord] logfiles: unknown key; did you mean 'logfile'?",
                "{f}:6: [group:g] program: unknown key; did you mean 'programs'?",
                "{f}:9: [include] file: unknown key; did you mean 'files'?");
  /* tend's own sections have no keys of other tools: any unknown key is a
   * mistake */
  expect_errors("[tend]\nflavour = x\n[pool:p]\ncolour = y\n", 2,
                "{f}:2: [tend] flavour: unknown key", "{f}:4: [pool:p] colour: unknown key");
}

/* What supervisord ignores without a word (real files carry pidfile or
 * loglevel in [program:x], stdout_logfile in [supervisord]) is a notice;
 * --strict makes each an error. */
Test(config, unknown_keys_are_notices_unless_strict) {
  const char *text = "[supervisord]\n"               /* 1 */
                     "stdout_logfile = /dev/stdout\n" /* 2 */
                     "[program:a]\n"                  /* 3 */
                     "command = a\n"                  /* 4 */
                     "pidfile = /run/a.pid\n"         /* 5 */
                     "loglevel = debug\n";            /* 6 */
  tend_diag_t d;
  tend_config_t *c = load_ok(text, &d);
  const char *f = P("t.conf");
  cr_assert_eq(d.nnotices, 3);
  cr_assert_str_eq(d.notices[0], fmt("%s:2: [supervisord] stdout_logfile: unknown key, ignored "
                                     "as supervisord does", f));
  cr_assert_str_eq(d.notices[1], fmt("%s:5: [program:a] pidfile: unknown key, ignored as "
                                     "supervisord does", f));
  cr_assert_str_eq(d.notices[2], fmt("%s:6: [program:a] loglevel: unknown key, ignored as "
                                     "supervisord does", f));
  tend_config_free(c);
  tend_diag_free(&d);
  c = (tend_config_t *)1;
  cr_assert_eq(tend_config_load_flags(f, TEND_CONFIG_STRICT, &c, &d), -EINVAL);
  cr_assert_null(c);
  cr_assert_eq(d.nerrors, 3);
  cr_assert_str_eq(d.errors[0], fmt("%s:2: [supervisord] stdout_logfile: unknown key "
                                    "(supervisord ignores it; an error with --strict)", f));
  cr_assert_str_eq(d.errors[1], fmt("%s:5: [program:a] pidfile: unknown key (supervisord "
                                    "ignores it; an error with --strict)", f));
  cr_assert_str_eq(d.errors[2], fmt("%s:6: [program:a] loglevel: unknown key (supervisord "
                                    "ignores it; an error with --strict)", f));
  tend_diag_free(&d);
}

/* supervisord reads with configparser's strict = False: a key given again
 * wins, a section named again merges into the first. Each is a notice
 * naming both places. */
Test(config, a_key_given_again_wins_with_a_notice) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:web]\n"          /* 1 */
                             "command = web\n"          /* 2 */
                             "Command = other\n"        /* 3 */
                             "  --flag\n",              /* 4: continues line 3's value */
                             &d);
  const char *f = P("t.conf");
  cr_assert_eq(c->nprograms, 1);
  assert_argv(&c->programs[0], 2, "other", "--flag");
  cr_assert_eq(d.nnotices, 1);
  cr_assert_str_eq(d.notices[0], fmt("%s:3: [program:web] command: given again: this value "
                                     "replaces the one at %s:2", f, f));
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, a_section_named_again_merges_across_files) {
  /* the conf.d pattern: a later file adds to (and overrides in) a section
   * of the main file; %(here)s and relative paths of a merged key are
   * those of the file that holds it, as supervisord expands them file by
   * file */
  put("conf.d/extra.conf", "[program:a]\n"               /* 1 */
                           "startsecs = 7\n"             /* 2 */
                           "directory = %(here)s/run\n"  /* 3 */
                           "stdout_logfile = out.log\n"  /* 4 */
                           "[unix_http_server]\n"        /* 5 */
                           "chown = nobody\n");          /* 6 */
  tend_diag_t d;
  tend_config_t *c = load_ok("[unix_http_server]\n"      /* 1 */
                             "file = /run/s.sock\n"      /* 2 */
                             "[program:a]\n"             /* 3 */
                             "command = a\n"             /* 4 */
                             "startsecs = 2\n"           /* 5 */
                             "[program:a]\n"             /* 6 */
                             "autostart = false\n"       /* 7 */
                             "[include]\n"               /* 8 */
                             "files = conf.d/*.conf\n",  /* 9 */
                             &d);
  const char *f = P("t.conf"), *e = P("conf.d/extra.conf");
  cr_assert_eq(c->nprograms, 1);
  const tend_program_t *p = &c->programs[0];
  cr_assert_eq(p->startsecs, 7);
  cr_assert(!p->autostart);
  cr_assert_str_eq(p->directory, P("conf.d/run"));
  cr_assert_str_eq(p->out.path, P("conf.d/out.log"));
  cr_assert_str_eq(p->file, f, "the program is where its section first appears");
  cr_assert_eq(p->line, 3);
  cr_assert_str_eq(c->unix_http.chown, "nobody", "the key of the other file is merged in");
  const char *want[] = {
      fmt("%s:6: [program:a] section repeated: merged into the one at %s:3", f, f),
      fmt("%s:1: [program:a] section repeated: merged into the one at %s:3", e, f),
      fmt("%s:2: [program:a] startsecs: given again: this value replaces the one at %s:5", e, f),
      fmt("%s:5: [unix_http_server] section repeated: merged into the one at %s:1", e, f),
  };
  cr_assert_eq(d.nnotices, 4, "%zu notices, the first: %s", d.nnotices, d.notices[0]);
  for (size_t i = 0; i < 4; i++)
    cr_assert_str_eq(d.notices[i], want[i]);
  tend_config_free(c);
  tend_diag_free(&d);
}

/* An error in a key merged in from another file points at that file. */
Test(config, an_error_in_a_merged_key_names_its_file) {
  put("extra.conf", "[program:a]\nstartsecs = soon\n");
  expect_errors("[include]\nfiles = extra.conf\n[program:a]\ncommand = a\n", 1,
                fmt("%s:2: [program:a] startsecs: invalid value 'soon': expected a number of "
                    "seconds >= 0", P("extra.conf")));
}

/* tend check's summary: the processes of the sections tend does not run. */
/* [eventlistener:l]: a pool l of numprocs listeners, started first (priority
 * -1), subscribed to the types named and to those below an abstract one. */
Test(config, event_listeners_are_pools) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[program:a]\ncommand = a\nstdout_events_enabled = true\n"
                             "[eventlistener:l]\ncommand = l\nevents = tick_5, PROCESS_STATE\n"
                             "numprocs = 3\nprocess_name = l%(process_num)d\nbuffer_size = 4\n"
                             "result_handler = supervisor.dispatchers:default_handler\n",
                             &d);
  cr_assert_eq(c->nprograms, 4);
  cr_assert_eq(c->nskipped, 0);
  cr_assert_eq(tend_config_supervisord_processes(c), 4);
  for (int i = 0; i < 3; i++) {
    const tend_program_t *l = &c->programs[i];
    cr_assert_str_eq(l->name, fmt("l:l%d", i));
    cr_assert_str_eq(l->group, "l");
    cr_assert(l->listener);
    cr_assert_eq(l->priority, -1);
    cr_assert_eq(l->buffer_size, 4);
    cr_assert_eq(l->events, EV_BIT(EV_TICK_5) | evtype_covers(EV_PROCESS_STATE));
    cr_assert(l->events & EV_BIT(EV_PROCESS_STATE_UNKNOWN));
    cr_assert(!(l->events & EV_BIT(EV_TICK_60)));
  }
  const tend_program_t *a = &c->programs[3];
  cr_assert(!a->listener && a->events_enabled[0] && !a->events_enabled[1]);
  tend_config_free(c);
  tend_diag_free(&d);
}

/* [fcgi-program:x]: a group x of numprocs processes, each with the
 * group's socket (supervisord's FastCGIGroupConfig). */
Test(config, fcgi_program) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[fcgi-program:web]\n"
                             "command = app\n"
                             "socket = unix://run/%(program_name)s.sock\n"
                             "socket_backlog = 64\n"
                             "process_name = %(program_name)s_%(process_num)d\n"
                             "numprocs = 2\n"
                             "[fcgi-program:api]\n"
                             "command = api\n"
                             "socket = tcp://LocalHost:9000\n",
                             &d);
  cr_assert_eq(c->nprograms, 3);
  const tend_program_t *w = tend_config_find(c, "web:web_1");
  cr_assert_not_null(w);
  cr_assert_str_eq(w->group, "web");
  cr_assert_str_eq(w->fcgi.url, fmt("unix://%s", P("run/web.sock")));
  cr_assert_str_eq(w->fcgi.path, P("run/web.sock"));
  cr_assert_eq(w->fcgi.backlog, 64);
  cr_assert_eq(w->fcgi.mode, 0700);
  cr_assert(!w->stdin_pipe);
  const tend_program_t *a = tend_config_find(c, "api");
  cr_assert_str_eq(a->fcgi.url, "tcp://localhost:9000");
  cr_assert_eq(a->fcgi.port, 9000);
  cr_assert_null(a->fcgi.path);
  tend_config_free(c);
  tend_diag_free(&d);
}

/* ---- [unix_http_server] and [inet_http_server] (issue #16) ------------------ */

/* getIdentification's answer, as dashboards over several servers show it. */
Test(config, supervisord_identifier) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[supervisord]\nidentifier = web-%(ENV_HOME)s\n", &d);
  cr_assert_str_eq(c->identifier, fmt("web-%s", getenv("HOME")));
  cr_assert_eq(d.nnotices, 0, "identifier is used: %s", d.nnotices ? d.notices[0] : "");
  tend_config_t *copy = tend_config_dup(c);
  cr_assert_str_eq(copy->identifier, c->identifier);
  tend_config_free(copy);
  tend_config_free(c);
  tend_diag_free(&d);
  c = load_ok("[supervisord]\n", &d);
  cr_assert_null(c->identifier, "unset: the method answers supervisord's default");
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, http_server_sections_with_supervisords_defaults) {
  tend_diag_t d;
  tend_config_t *c = load_ok("[unix_http_server]\n"
                             "file = run/s.sock\n"
                             "[inet_http_server]\n"
                             "port = *:9001\n"
                             "username = user\n"
                             "password = {SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef\n",
                             &d);
  cr_assert(c->unix_http.enabled);
  cr_assert_str_eq(c->unix_http.file, P("run/s.sock"));
  cr_assert_eq(c->unix_http.chmod, 0700);
  cr_assert_null(c->unix_http.chown);
  cr_assert_null(c->unix_http.username);
  cr_assert_eq(c->unix_http.line, 1);
  cr_assert(c->inet_http.enabled);
  cr_assert_str_eq(c->inet_http.host, "");
  cr_assert_eq(c->inet_http.port, 9001);
  cr_assert_str_eq(c->inet_http.username, "user");
  cr_assert_str_eq(c->inet_http.password, "{SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef");
  cr_assert_eq(d.nnotices, 0, "served sections, every key known: %s",
               d.nnotices ? d.notices[0] : "");
  tend_config_free(c);
  tend_diag_free(&d);

  c = load_ok("[unix_http_server]\nfile = /tmp/x.sock\nchmod = 0770\nchown = root:root\n"
              "[inet_http_server]\nport = 127.0.0.1:9002\n", &d);
  cr_assert_eq(c->unix_http.chmod, 0770);
  cr_assert_str_eq(c->unix_http.chown, "root:root");
  cr_assert_str_eq(c->inet_http.host, "127.0.0.1");
  cr_assert_eq(c->inet_http.port, 9002);
  tend_config_free(c);
  tend_diag_free(&d);

  c = load_ok("[inet_http_server]\nport = :9003\n", &d);
  cr_assert(!c->unix_http.enabled);
  cr_assert_str_eq(c->inet_http.host, "");
  cr_assert_eq(c->inet_http.port, 9003);
  tend_config_free(c);
  tend_diag_free(&d);
}

Test(config, http_server_sections_errors) {
  expect_errors("[inet_http_server]\nport = 127.0.0.1:http\n", 1,
                "{f}:2: [inet_http_server] port: invalid value '127.0.0.1:http': expected "
                "HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9001 or *:9001");
  expect_errors("[inet_http_server]\nport = *:70000\n", 1,
                "{f}:2: [inet_http_server] port: invalid value '*:70000': expected "
                "HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9001 or *:9001");
  expect_errors("[inet_http_server]\nusername = u\n", 2,
                "{f}:1: [inet_http_server] port: required (HOST:PORT, e.g. 127.0.0.1:9001 or "
                "*:9001)",
                "{f}:1: [inet_http_server] username and password: give both or neither");
  expect_errors("[unix_http_server]\nfile = /tmp/s.sock\nchmod = 0799\n", 1,
                "{f}:3: [unix_http_server] chmod: invalid value '0799': expected an octal mode "
                "such as 022");
  expect_errors("[unix_http_server]\nfile = /tmp/s.sock\nchown = tend-no-such-user:root\n", 1,
                "{f}:3: [unix_http_server] chown: invalid value 'tend-no-such-user:root': "
                "expected user or user:group, of an existing user and group");
  expect_errors("[unix_http_server]\nchmod = 0700\n", 1,
                "{f}:1: [unix_http_server] file: required (the socket's path)");
}
