/* SPDX-License-Identifier: MIT */
/*
 * supervisord's reread / add / remove / avail (src/daemon/reread.c) through
 * the library: a daemon core (daemon_open, as fuzz/fuzz_request.c drives
 * it) on a real config file in a temp dir, with real children (sleep).
 * The file is rewritten, then daemon_reread, daemon_group_add,
 * daemon_group_remove and daemon_config_info are called as the XML-RPC
 * methods will; the processes are looked at in the supervisor. Every wait
 * is a deadline on the daemon's loop; daemon_close stops every child.
 *
 * The expected groups, faults and getAllConfigInfo structs are those
 * Debian's supervisord 4.2.5 gave for the same two configs (run by hand,
 * asked with /usr/bin/python3's xmlrpc.client), pinned here.
 */
#include "looputil.h"
#include "testutil.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/reread.h"
#include "supervisor/supervisor.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static char conf_path[512], log_path[512];
static daemon_t *d;
static tend_buf_t replies; /* of daemon_request: outlives d */

static void setup(void) {
  dir = tu_tmpdir();
  snprintf(conf_path, sizeof(conf_path), "%s/tend.conf", dir);
  snprintf(log_path, sizeof(log_path), "%s/tend.log", dir);
  cr_assert(log_open(log_path, TEND_LOGFMT_TEXT) == 0);
  d = NULL;
}

static void teardown(void) {
  if (d != NULL)
    cr_expect(daemon_close(d) == 0, "handles left open on the daemon's loop");
  tend_buf_free(&replies);
  log_close();
  tu_rmdir(dir);
}

TestSuite(reread, .init = setup, .fini = teardown, .timeout = 60);

/* text with every @ replaced by the test's directory. */
static char *at_dir(const char *text) {
  tend_buf_t b = {0};
  for (const char *s = text; *s != '\0'; s++) {
    if (*s == '@')
      tend_buf_append(&b, dir, strlen(dir));
    else
      tend_buf_append(&b, s, 1);
  }
  tend_buf_append(&b, "", 1);
  return b.data;
}

static void write_conf(const char *text) {
  char *t = at_dir(text);
  tu_write_file(conf_path, t);
  free(t);
}

/* A daemon core on text, its autostart programs started. */
static void start(const char *text) {
  write_conf(text);
  tend_config_t *cfg;
  tend_diag_t diag = {0};
  cr_assert(tend_config_load(conf_path, &cfg, &diag) == 0, "the config does not load: %s",
            diag.nerrors > 0 ? diag.errors[0] : "?");
  tend_diag_free(&diag);
  d = daemon_open(cfg, conf_path);
  cr_assert(d != NULL);
}

static sv_proc_t *proc(const char *name) {
  sv_proc_t *p = sv_find(daemon_supervisor(d), name);
  return p != NULL && !p->removed ? p : NULL;
}

/* Run the loop until name is in state s, or deadline_ms (then say what
 * it is, with the daemon's log). */
static bool wait_state(const char *name, pstate_t s, int deadline_ms) {
  int64_t end = tu_now_ms() + deadline_ms;
  bool never = false;
  for (;;) {
    sv_proc_t *p = proc(name);
    if (p != NULL && p->state == s)
      return true;
    if (tu_now_ms() >= end) {
      char *log = tu_read_file(log_path, NULL);
      fprintf(stderr, "%s: %s\n%s\n", name, p != NULL ? pstate_name(p->state) : "none", log);
      free(log);
      return false;
    }
    lu_run_until(daemon_loop(d), &never, 10);
  }
}

static int pid_of(const char *name) {
  sv_proc_t *p = proc(name);
  return p != NULL && p->state == PS_RUNNING ? p->pid : 0;
}

/* reread, expecting success and these three lists (JSON arrays). */
static void reread_expect(const char *added, const char *changed, const char *removed) {
  json_t *a, *c, *r;
  char *err;
  int rc = daemon_reread(d, &a, &c, &r, &err);
  cr_assert(rc == 0, "reread: %d %s", rc, err);
  const char *want[3] = {added, changed, removed};
  json_t *got[3] = {a, c, r};
  for (int i = 0; i < 3; i++) {
    json_t *w = json_loads(want[i], 0, NULL);
    char *g = json_dumps(got[i], JSON_COMPACT);
    cr_expect(json_equal(w, got[i]), "list %d: %s, expected %s", i, g, want[i]);
    free(g);
    json_decref(w);
    json_decref(got[i]);
  }
}

static void stop(const char *name) {
  const char *why;
  cr_assert(sv_stop(proc(name), &why) == 0, "%s: %s", name, why);
  cr_assert(wait_state(name, PS_STOPPED, 10000), "%s never stopped", name);
}

/* supervisord's own test config, as tend reads it (killasgroup is
 * false by default there, true in tend). */
static const char conf_a[] = "[program:alpha]\n"
                             "command=sleep 1000\n"
                             "startsecs=0\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[program:beta]\n"
                             "command=sleep 1001\n"
                             "autostart=false\n"
                             "priority=5\n"
                             "directory=/tmp\n"
                             "stdout_logfile=@/beta.out\n"
                             "redirect_stderr=true\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[program:web]\n"
                             "command=sleep 1002\n"
                             "process_name=web_%(process_num)d\n"
                             "numprocs=2\n"
                             "startsecs=0\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[program:wk]\n"
                             "command=sleep 1003\n"
                             "startsecs=0\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[group:pool]\n"
                             "programs=web,wk\n"
                             "priority=50\n";

/* conf_a with alpha's command changed, beta renamed gamma, zed added. */
static const char conf_b[] = "[program:alpha]\n"
                             "command=sleep 1999\n"
                             "startsecs=0\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[program:gamma]\n"
                             "command=sleep 1001\n"
                             "autostart=false\n"
                             "priority=5\n"
                             "directory=/tmp\n"
                             "stdout_logfile=@/beta.out\n"
                             "redirect_stderr=true\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[program:web]\n"
                             "command=sleep 1002\n"
                             "process_name=web_%(process_num)d\n"
                             "numprocs=2\n"
                             "startsecs=0\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[program:wk]\n"
                             "command=sleep 1003\n"
                             "startsecs=0\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n"
                             "\n"
                             "[group:pool]\n"
                             "programs=web,wk\n"
                             "priority=50\n"
                             "\n"
                             "[program:zed]\n"
                             "command=sleep 1004\n"
                             "priority=1\n"
                             "user=nobody\n"
                             "killasgroup=false\n"
                             "stopasgroup=false\n";

static const char *const running_a[] = {"alpha", "pool:web_0", "pool:web_1", "pool:wk"};

Test(reread, sees_groups_and_applies_nothing) {
  start(conf_a);
  int pids[4];
  for (int i = 0; i < 4; i++) {
    cr_assert(wait_state(running_a[i], PS_RUNNING, 10000), "%s never ran", running_a[i]);
    pids[i] = pid_of(running_a[i]);
  }
  /* Nothing changed yet. */
  reread_expect("[]", "[]", "[]");
  write_conf(conf_b);
  /* supervisord: [[['zed', 'gamma'], ['alpha'], ['beta']]] */
  reread_expect("[\"zed\", \"gamma\"]", "[\"alpha\"]", "[\"beta\"]");
  /* A second reread of the same file says the same. */
  reread_expect("[\"zed\", \"gamma\"]", "[\"alpha\"]", "[\"beta\"]");
  for (int i = 0; i < 4; i++)
    cr_expect(pid_of(running_a[i]) == pids[i], "%s was restarted", running_a[i]);
  cr_expect(proc("beta") != NULL && proc("gamma") == NULL && proc("zed") == NULL);
  cr_expect(strcmp(proc("alpha")->conf->command, "sleep 1000") == 0);

  /* The faults supervisord gave, in order: BAD_NAME, ALREADY_ADDED,
   * STILL_RUNNING, BAD_NAME, then beta (STOPPED) removed. */
  cr_expect(daemon_group_add(d, "nope") == -ENOENT);
  cr_expect(daemon_group_add(d, "alpha") == -EEXIST);
  cr_expect(daemon_group_remove(d, "alpha") == -EBUSY);
  cr_expect(daemon_group_remove(d, "gamma") == -ENOENT);
  cr_expect(daemon_group_remove(d, "beta") == 0);
  cr_expect(proc("beta") == NULL);
  cr_expect(daemon_group_remove(d, "beta") == -ENOENT);
  /* Not in the file read last: it cannot come back. */
  cr_expect(daemon_group_add(d, "beta") == -ENOENT);

  cr_expect(daemon_group_add(d, "gamma") == 0);
  cr_expect(daemon_group_add(d, "gamma") == -EEXIST);
  cr_assert(proc("gamma") != NULL);
  cr_expect(proc("gamma")->state == PS_STOPPED, "gamma is autostart=false");
  for (int i = 0; i < 4; i++)
    cr_expect(pid_of(running_a[i]) == pids[i], "%s was restarted", running_a[i]);
  /* Changed, not updated: alpha runs as before. */
  cr_expect(strcmp(proc("alpha")->conf->command, "sleep 1000") == 0);
}

/* supervisorctl update: stop and remove what is removed or changed, add
 * what is changed or added; what is not named keeps running. */
Test(reread, update_as_supervisorctl) {
  start(conf_a);
  cr_assert(wait_state("pool:wk", PS_RUNNING, 10000));
  cr_assert(wait_state("alpha", PS_RUNNING, 10000));
  int wk = pid_of("pool:wk"), alpha = pid_of("alpha");
  write_conf(conf_b);
  reread_expect("[\"zed\", \"gamma\"]", "[\"alpha\"]", "[\"beta\"]");
  cr_expect(daemon_group_remove(d, "beta") == 0);
  stop("alpha");
  cr_expect(!tu_alive(alpha));
  cr_expect(daemon_group_remove(d, "alpha") == 0);
  cr_expect(proc("alpha") == NULL);
  cr_expect(daemon_group_add(d, "alpha") == 0);
  cr_expect(daemon_group_add(d, "zed") == 0);
  cr_expect(daemon_group_add(d, "gamma") == 0);
  cr_assert(wait_state("alpha", PS_RUNNING, 10000));
  cr_expect(strcmp(proc("alpha")->conf->command, "sleep 1999") == 0);
  cr_assert(wait_state("zed", PS_RUNNING, 10000), "zed (autostart) did not start");
  cr_expect(pid_of("pool:wk") == wk);
  /* Everything is in force: nothing left to do. */
  reread_expect("[]", "[]", "[]");
}

static const char conf_one[] = "[program:keep]\n"
                               "command=sleep 300\n"
                               "startsecs=0\n";

Test(reread, add_starts_autostart_programs) {
  start(conf_one);
  cr_assert(wait_state("keep", PS_RUNNING, 10000));
  int keep = pid_of("keep");
  write_conf("[program:keep]\n"
             "command=sleep 300\n"
             "startsecs=0\n"
             "\n"
             "[program:new]\n"
             "command=sleep 301\n"
             "startsecs=0\n"
             "numprocs=2\n"
             "process_name=%(program_name)s_%(process_num)d\n");
  reread_expect("[\"new\"]", "[]", "[]");
  cr_expect(proc("new:new_0") == NULL);
  cr_expect(daemon_group_add(d, "new") == 0);
  cr_expect(wait_state("new:new_0", PS_RUNNING, 10000));
  cr_expect(wait_state("new:new_1", PS_RUNNING, 10000));
  cr_expect(daemon_group_add(d, "new") == -EEXIST);
  cr_expect(pid_of("keep") == keep);
}

Test(reread, remove_running_then_stopped) {
  start(conf_one);
  cr_assert(wait_state("keep", PS_RUNNING, 10000));
  int pid = pid_of("keep");
  cr_expect(daemon_group_remove(d, "keep") == -EBUSY);
  cr_expect(pid_of("keep") == pid);
  stop("keep");
  cr_expect(daemon_group_remove(d, "keep") == 0);
  cr_expect(proc("keep") == NULL);
  cr_expect(!tu_alive(pid));
  /* Without a reread, the file read last still has it (supervisord). */
  json_t *info = daemon_config_info(d);
  cr_assert(json_array_size(info) == 1);
  cr_expect(json_is_false(json_object_get(json_array_get(info, 0), "inuse")));
  json_decref(info);
  cr_expect(daemon_group_add(d, "keep") == 0);
  cr_expect(wait_state("keep", PS_RUNNING, 10000));
  cr_expect(pid_of("keep") != pid);
}

Test(reread, group_section) {
  start("[program:a]\ncommand=sleep 300\nstartsecs=0\n\n"
        "[program:b]\ncommand=sleep 301\nstartsecs=0\n\n"
        "[program:x]\ncommand=sleep 302\nstartsecs=0\n\n"
        "[group:g]\nprograms=a,b\n");
  cr_assert(wait_state("g:a", PS_RUNNING, 10000));
  cr_assert(wait_state("g:b", PS_RUNNING, 10000));
  cr_assert(wait_state("x", PS_RUNNING, 10000));
  int x = pid_of("x");
  write_conf("[program:a]\ncommand=sleep 300\nstartsecs=0\n\n"
             "[program:b]\ncommand=sleep 301\nstartsecs=0\n\n"
             "[program:c]\ncommand=sleep 303\nstartsecs=0\n\n"
             "[program:x]\ncommand=sleep 302\nstartsecs=0\n\n"
             "[group:g]\nprograms=a,b,c\n");
  /* c joins g: g changed, no group c. */
  reread_expect("[]", "[\"g\"]", "[]");
  cr_expect(daemon_group_remove(d, "a") == -ENOENT, "a is no group");
  cr_expect(daemon_group_remove(d, "g") == -EBUSY);
  stop("g:a");
  cr_expect(daemon_group_remove(d, "g") == -EBUSY, "b still runs");
  stop("g:b");
  cr_expect(daemon_group_remove(d, "g") == 0);
  cr_expect(proc("g:a") == NULL && proc("g:b") == NULL);
  cr_expect(daemon_group_add(d, "g") == 0);
  cr_expect(wait_state("g:a", PS_RUNNING, 10000));
  cr_expect(wait_state("g:b", PS_RUNNING, 10000));
  cr_expect(wait_state("g:c", PS_RUNNING, 10000));
  cr_expect(strcmp(proc("g:c")->conf->group, "g") == 0);
  cr_expect(pid_of("x") == x);

  /* x moves into g2: removed x, added g2. Process g2:x is not x: both
   * may run at once, as in supervisord, until x is removed. */
  write_conf("[program:a]\ncommand=sleep 300\nstartsecs=0\n\n"
             "[program:b]\ncommand=sleep 301\nstartsecs=0\n\n"
             "[program:c]\ncommand=sleep 303\nstartsecs=0\n\n"
             "[program:x]\ncommand=sleep 302\nstartsecs=0\n\n"
             "[group:g]\nprograms=a,b,c\n\n"
             "[group:g2]\nprograms=x\npriority=10\n");
  reread_expect("[\"g2\"]", "[]", "[\"x\"]");
  cr_expect(daemon_group_add(d, "g2") == 0);
  cr_expect(wait_state("g2:x", PS_RUNNING, 10000));
  cr_expect(strcmp(proc("g2:x")->conf->group, "g2") == 0);
  cr_expect(pid_of("x") == x);
  stop("x");
  cr_expect(daemon_group_remove(d, "x") == 0);
  cr_expect(proc("x") == NULL);
  cr_expect(!tu_alive(x));
  reread_expect("[]", "[]", "[]");
}

Test(reread, config_errors) {
  start(conf_one);
  cr_assert(wait_state("keep", PS_RUNNING, 10000));
  write_conf("[program:keep]\ncommand=sleep 300\nstartsecs=0\n\n"
             "[program:more]\ncommand=sleep 301\n");
  reread_expect("[\"more\"]", "[]", "[]");
  write_conf("[program:keep]\ncommand=sleep 300\nstartsecs=0\n\n"
             "[program:bad]\ncommand=sleep 301\nstartsecs=x\n");
  json_t *a, *c, *r;
  char *err;
  cr_assert(daemon_reread(d, &a, &c, &r, &err) == -EINVAL);
  cr_expect(a == NULL && c == NULL && r == NULL);
  char *where = tu_fmt("%s:7: [program:bad] startsecs", conf_path);
  cr_expect(strstr(err, where) == err, "%s", err);
  free(where);
  free(err);
  /* The config read before is still the pending one. */
  cr_expect(daemon_group_add(d, "bad") == -ENOENT);
  cr_expect(daemon_group_add(d, "more") == 0);
  cr_expect(wait_state("more", PS_RUNNING, 10000));
}

/* A reload applies the whole file and drops the pending config. */
Test(reread, reload_supersedes) {
  start(conf_one);
  cr_assert(wait_state("keep", PS_RUNNING, 10000));
  int keep = pid_of("keep");
  write_conf("[program:keep]\ncommand=sleep 300\nstartsecs=0\n\n"
             "[program:more]\ncommand=sleep 301\nstartsecs=0\n");
  reread_expect("[\"more\"]", "[]", "[]");
  json_t *req = json_pack("{s:s}", "cmd", "reload");
  cr_assert(daemon_request(d, req, "", 0, &replies) == 0);
  json_decref(req);
  cr_expect(wait_state("more", PS_RUNNING, 10000));
  cr_expect(daemon_group_add(d, "more") == -EEXIST);
  cr_expect(pid_of("keep") == keep);
  /* Shut down with a pending config: freed too (the ASan build). */
  write_conf(conf_one);
  reread_expect("[]", "[]", "[\"more\"]");
}

/* getAllConfigInfo of supervisord 4.2.5 for conf_a then conf_b, minus the
 * log files: supervisord names its AUTO logs with a random part (and
 * "auto" before the group is in use), tend's are LOGDIR/NAME.out|err. */
static const char *const info_keys[] = {
    "autostart", "directory", "uid", "command", "exitcodes", "group", "group_prio", "inuse",
    "killasgroup", "name", "process_prio", "redirect_stderr", "startretries", "startsecs",
    "stdout_capture_maxbytes", "stdout_events_enabled", "stdout_logfile",
    "stdout_logfile_backups", "stdout_logfile_maxbytes", "stdout_syslog", "stopsignal",
    "stopwaitsecs", "stderr_capture_maxbytes", "stderr_events_enabled", "stderr_logfile",
    "stderr_logfile_backups", "stderr_logfile_maxbytes", "stderr_syslog", "serverurl"};

static const char info_alpha[] =
    "{'autostart': True, 'directory': 'none', 'uid': 'none', 'command': 'sleep 1000', "
    "'exitcodes': [0], 'group': 'alpha', 'group_prio': 999, 'inuse': True, 'killasgroup': "
    "False, 'name': 'alpha', 'process_prio': 999, 'redirect_stderr': False, 'startretries': 3, "
    "'startsecs': 0, 'stdout_capture_maxbytes': 0, 'stdout_events_enabled': False, "
    "'stdout_logfile': '@/log/alpha.out', 'stdout_logfile_backups': 10, "
    "'stdout_logfile_maxbytes': 52428800, 'stdout_syslog': False, 'stopsignal': 15, "
    "'stopwaitsecs': 10, 'stderr_capture_maxbytes': 0, 'stderr_events_enabled': False, "
    "'stderr_logfile': '@/log/alpha.err', 'stderr_logfile_backups': 10, "
    "'stderr_logfile_maxbytes': 52428800, 'stderr_syslog': False, 'serverurl': 'none'}";
static const char info_beta[] =
    "{'autostart': False, 'directory': '/tmp', 'uid': 'none', 'command': 'sleep 1001', "
    "'exitcodes': [0], 'group': 'beta', 'group_prio': 5, 'inuse': True, 'killasgroup': False, "
    "'name': 'beta', 'process_prio': 5, 'redirect_stderr': True, 'startretries': 3, "
    "'startsecs': 1, 'stdout_capture_maxbytes': 0, 'stdout_events_enabled': False, "
    "'stdout_logfile': '@/beta.out', 'stdout_logfile_backups': 10, "
    "'stdout_logfile_maxbytes': 52428800, 'stdout_syslog': False, 'stopsignal': 15, "
    "'stopwaitsecs': 10, 'stderr_capture_maxbytes': 0, 'stderr_events_enabled': False, "
    "'stderr_logfile': 'none', 'stderr_logfile_backups': 10, 'stderr_logfile_maxbytes': "
    "52428800, 'stderr_syslog': False, 'serverurl': 'none'}";
static const char info_web_1[] =
    "{'autostart': True, 'directory': 'none', 'uid': 'none', 'command': 'sleep 1002', "
    "'exitcodes': [0], 'group': 'pool', 'group_prio': 50, 'inuse': True, 'killasgroup': False, "
    "'name': 'web_1', 'process_prio': 999, 'redirect_stderr': False, 'startretries': 3, "
    "'startsecs': 0, 'stdout_capture_maxbytes': 0, 'stdout_events_enabled': False, "
    "'stdout_logfile': '@/log/pool:web_1.out', 'stdout_logfile_backups': 10, "
    "'stdout_logfile_maxbytes': 52428800, 'stdout_syslog': False, 'stopsignal': 15, "
    "'stopwaitsecs': 10, 'stderr_capture_maxbytes': 0, 'stderr_events_enabled': False, "
    "'stderr_logfile': '@/log/pool:web_1.err', 'stderr_logfile_backups': 10, "
    "'stderr_logfile_maxbytes': 52428800, 'stderr_syslog': False, 'serverurl': 'none'}";
/* Pending only (inuse False); uid is nobody's (65534 on Debian). */
static const char info_zed[] =
    "{'autostart': True, 'directory': 'none', 'uid': NOBODY, 'command': 'sleep 1004', "
    "'exitcodes': [0], 'group': 'zed', 'group_prio': 1, 'inuse': False, 'killasgroup': False, "
    "'name': 'zed', 'process_prio': 1, 'redirect_stderr': False, 'startretries': 3, "
    "'startsecs': 1, 'stdout_capture_maxbytes': 0, 'stdout_events_enabled': False, "
    "'stdout_logfile': '@/log/zed.out', 'stdout_logfile_backups': 10, "
    "'stdout_logfile_maxbytes': 52428800, 'stdout_syslog': False, 'stopsignal': 15, "
    "'stopwaitsecs': 10, 'stderr_capture_maxbytes': 0, 'stderr_events_enabled': False, "
    "'stderr_logfile': '@/log/zed.err', 'stderr_logfile_backups': 10, "
    "'stderr_logfile_maxbytes': 52428800, 'stderr_syslog': False, 'serverurl': 'none'}";

/* A Python dict's repr (as printed from xmlrpc.client) as JSON. */
static json_t *py_dict(const char *repr) {
  char *t = at_dir(repr);
  struct passwd *pw = getpwnam("nobody");
  char uid[16];
  snprintf(uid, sizeof(uid), "%d", pw != NULL ? (int)pw->pw_uid : -1);
  tend_buf_t b = {0};
  for (const char *s = t; *s != '\0'; s++) {
    if (*s == '\'')
      tend_buf_append(&b, "\"", 1);
    else if (strncmp(s, "True", 4) == 0 || strncmp(s, "False", 5) == 0) {
      tend_buf_append(&b, *s == 'T' ? "true" : "false", *s == 'T' ? 4 : 5);
      s += *s == 'T' ? 3 : 4;
    } else if (strncmp(s, "NOBODY", 6) == 0) {
      tend_buf_append(&b, uid, strlen(uid));
      s += 5;
    } else
      tend_buf_append(&b, s, 1);
  }
  tend_buf_append(&b, "", 1);
  json_error_t e;
  json_t *j = json_loads(b.data, 0, &e);
  cr_assert(j != NULL, "%s: %s", b.data, e.text);
  tend_buf_free(&b);
  free(t);
  return j;
}

static void expect_info(json_t *info, size_t i, const char *repr) {
  json_t *got = json_array_get(info, i), *want = py_dict(repr);
  char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
  cr_expect(json_equal(got, want), "#%zu:\n%s\nexpected\n%s", i, g, w);
  /* supervisord's key order, which its XML keeps. */
  const char *key;
  json_t *v;
  size_t k = 0;
  json_object_foreach(got, key, v) {
    cr_expect(k < 29 && strcmp(key, info_keys[k]) == 0, "#%zu key %zu: %s", i, k, key);
    k++;
  }
  cr_expect(k == 29);
  free(g);
  free(w);
  json_decref(want);
}

static void expect_names(json_t *info, const char *const *names, size_t n) {
  cr_assert(json_array_size(info) == n, "%zu structs", json_array_size(info));
  for (size_t i = 0; i < n; i++)
    cr_expect(strcmp(json_string_value(json_object_get(json_array_get(info, i), "name")),
                     names[i]) == 0);
}

Test(reread, avail_as_supervisord) {
  start(conf_a);
  json_t *info = daemon_config_info(d);
  static const char *const names_a[] = {"alpha", "beta", "web_0", "web_1", "wk"};
  expect_names(info, names_a, 5);
  expect_info(info, 0, info_alpha);
  expect_info(info, 1, info_beta);
  expect_info(info, 3, info_web_1);
  json_decref(info);

  /* After the reread of conf_b and the removal of beta, supervisord gave
   * alpha True, gamma False, web_0 web_1 wk True, zed False (the config
   * read last: beta, in force until removed, was not listed). */
  write_conf(conf_b);
  reread_expect("[\"zed\", \"gamma\"]", "[\"alpha\"]", "[\"beta\"]");
  cr_expect(daemon_group_remove(d, "beta") == 0);
  info = daemon_config_info(d);
  static const char *const names_b[] = {"alpha", "gamma", "web_0", "web_1", "wk", "zed"};
  static const bool inuse_b[] = {true, false, true, true, true, false};
  expect_names(info, names_b, 6);
  for (size_t i = 0; i < 6; i++)
    cr_expect(json_is_true(json_object_get(json_array_get(info, i), "inuse")) == inuse_b[i],
              "%s", names_b[i]);
  expect_info(info, 5, info_zed);
  json_decref(info);
}

/* The copies that add and remove apply (config/copy.c): every section
 * copied deep (the original freed first: ASan sees any pointer shared),
 * one group swapped or dropped, start order kept. */
Test(reread, config_copies) {
  write_conf("[supervisord]\nlogfile=@/d.log\npidfile=@/d.pid\nenvironment=A=1\n\n"
             "[unix_http_server]\nfile=@/s.sock\nchown=nobody\n\n"
             "[inet_http_server]\nport=127.0.0.1:9001\nusername=u\npassword=p\n\n"
             "[channel:c]\ncapacity=8\n\n[pool:p]\nworkers=2\n\n"
             "[worker:w]\nredis=redis://127.0.0.1:6379\n\n"
             "[eventlistener:e]\ncommand=cat\nevents=PROCESS_STATE\n\n"
             "[fcgi-program:f]\ncommand=cat\nsocket=unix://@/f.sock\n\n"
             "[program:a]\ncommand=sleep 1\ndirectory=/tmp\nuser=nobody\nexitcodes=0,2\n"
             "environment=B=2\nstdout_channel=c\ndepends_on=b\nready=tcp:127.0.0.1:1\n\n"
             "[program:b]\ncommand=sleep 2\nstdout_logfile=NONE\npriority=1\n\n"
             "[group:g]\nprograms=a\npriority=500\n");
  tend_config_t *orig, *again;
  tend_diag_t diag = {0};
  cr_assert(tend_config_load(conf_path, &orig, &diag) == 0, "%s",
            diag.nerrors > 0 ? diag.errors[0] : "?");
  tend_diag_free(&diag);
  cr_assert(tend_config_load(conf_path, &again, &diag) == 0);
  tend_diag_free(&diag);
  tend_config_t *copy = tend_config_dup(orig);
  cr_assert(copy != NULL);
  tend_config_t *without_g = tend_config_regroup(orig, NULL, "g");
  tend_config_t *back = tend_config_regroup(without_g, orig, "g");
  tend_config_free(orig);
  const tend_config_t *both[2] = {copy, back};
  for (int k = 0; k < 2; k++) {
    const tend_config_t *c = both[k];
    cr_assert(c->nprograms == again->nprograms);
    for (size_t i = 0; i < c->nprograms; i++) {
      cr_expect(strcmp(c->programs[i].name, again->programs[i].name) == 0);
      cr_expect(tend_program_same(&c->programs[i], &again->programs[i]), "%s",
                c->programs[i].name);
      cr_expect(strcmp(c->programs[i].file, again->programs[i].file) == 0);
    }
    cr_expect(strcmp(c->logfile, again->logfile) == 0 && strcmp(c->pidfile, again->pidfile) == 0);
    cr_expect(c->nchannels == 1 && strcmp(c->channels[0].name, "c") == 0);
    cr_expect(c->channels[0].capacity == 8);
    cr_expect(c->npools == 1 && strcmp(c->pools[0].name, "p") == 0);
    cr_expect(c->nworkers == 1 && strcmp(c->workers[0].redis, again->workers[0].redis) == 0);
    const tend_program_t *e = tend_config_find(c, "e");
    cr_expect(e != NULL && e->listener && e->buffer_size == 10 && e->events != 0);
    cr_expect(strcmp(c->unix_http.file, again->unix_http.file) == 0);
    cr_expect(strcmp(c->unix_http.chown, "nobody") == 0);
    cr_expect(strcmp(c->inet_http.password, "p") == 0 && c->inet_http.port == 9001);
  }
  cr_assert(without_g->nprograms == again->nprograms - 1);
  cr_expect(tend_config_find(without_g, "g:a") == NULL);
  cr_expect(tend_config_find(without_g, "b") != NULL);
  tend_config_free(copy);
  tend_config_free(without_g);
  tend_config_free(back);
  tend_config_free(again);
}
