/* SPDX-License-Identifier: MIT */
/*
 * Real supervisord configs, loaded by tend and by supervisord's own loader.
 *
 * tests/compat/real/ holds configs collected from public projects (each
 * names its source, and what was adapted, in its first comment lines),
 * with the files they include. For each one, `tend check --json` must
 * list the process names that supervisor.options.ServerOptions lists in
 * process_group_configs after realize() and process_config(), the
 * [eventlistener:] pools' processes too (tend runs them), and tend check
 * skips nothing and exits 0.
 *
 * supervisord's loader runs in a temporary directory, with its checks that
 * log and pidfile directories exist turned off: those are directories of
 * the machine each config was written for, and they decide nothing about
 * which processes run. Without Python's supervisor module (Debian's
 * supervisor package, which dev.sh installs) these tests are skipped, and
 * say so.
 *
 * Last, Debian's own regression fixture issue-1224.conf (read from the
 * installed package) runs under `tend daemon`.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURE "/usr/lib/python3/dist-packages/supervisor/tests/fixtures/issue-1224.conf"

/* argv[1]: the config; argv[2]: the directory to run in. One line per
 * process: "process GROUP:NAME" (NAME alone when group and name agree, as
 * tend names processes); an event listener is one, its pool its group. */
static const char probe[] =
    "import os, sys\n"
    "from supervisor import datatypes, options\n"
    "same = lambda v: v\n"
    "options.existing_dirpath = datatypes.existing_dirpath = same\n"
    "options.existing_directory = datatypes.existing_directory = same\n"
    "os.chdir(sys.argv[2])\n"
    "o = options.ServerOptions()\n"
    "o.realize(['-c', sys.argv[1]])\n"
    "o.process_config()\n"
    "for g in o.process_group_configs:\n"
    "    for p in g.process_configs:\n"
    "        print('process', p.name if p.name == g.name else g.name + ':' + p.name)\n";

static tu_daemon_t d;
static char *tmp;

static void cleanup(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
  if (tmp != NULL)
    tu_rmdir(tmp);
  tmp = NULL;
}

TestSuite(realconf, .timeout = 120, .fini = cleanup);

/* The directory of the real configs (TEND_REALCONF, set by meson). */
static const char *real_dir(void) {
  const char *dir = getenv("TEND_REALCONF");
  cr_assert(dir != NULL, "TEND_REALCONF is not set (tests/meson.build sets it)");
  return dir;
}

static int line_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted, joined again with '\n'. */
static char *sorted_lines(const char *text) {
  char *copy = strdup(text), *save = NULL;
  char **lines = NULL;
  size_t n = 0;
  for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
    lines = realloc(lines, (n + 1) * sizeof(*lines));
    lines[n++] = l;
  }
  if (n > 1)
    qsort(lines, n, sizeof(*lines), line_cmp);
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen(lines[i]) + 1;
  char *out = calloc(1, len);
  for (size_t i = 0; i < n; i++) {
    strcat(out, lines[i]);
    strcat(out, "\n");
  }
  free(lines);
  free(copy);
  return out;
}

/* The environment the configs expand (%(ENV_X)s), for both loaders. */
static void set_env(void) {
  setenv("HOME", "/home/cvat", 1);
  setenv("NUMPROCS", "2", 1);
  setenv("POSTGREY_DELAY", "300", 1);
  setenv("POSTGREY_MAX_AGE", "35", 1);
  setenv("POSTGREY_AUTO_WHITELIST_CLIENTS", "5", 1);
  setenv("POSTGREY_TEXT", "Delayed by postgrey", 1);
  setenv("FETCHMAIL_POLL", "300", 1);
  setenv("JAVA_OPTIONS", "-Xmx512m", 1);
}

/* Load rel (under TEND_REALCONF) with both loaders and compare. */
static void same_as_supervisord(const char *rel) {
  set_env();
  char *path = tu_fmt("%s/%s", real_dir(), rel);
  tmp = tu_tmpdir();

  const char *python = tu_python();
  char *pargv[] = {(char *)python, "-c", (char *)probe, path, tmp, NULL};
  tu_result_t py;
  tu_run(pargv, NULL, 0, 60000, &py);
  if (py.exit_code != 0 && strstr(py.err, "No module named 'supervisor'") != NULL)
    cr_skip("SKIPPED: Python's supervisor module is missing (%s -c 'import supervisor'): "
            "install Debian's supervisor package, as dev.sh does", python);
  cr_assert(py.exit_code == 0, "supervisord's loader refused %s (exit %d):\n%s%s", rel,
            py.exit_code, py.out, py.err);
  char *want = sorted_lines(py.out);

  char *targv[] = {(char *)tu_tend(), "check", "--json", "-c", path, NULL};
  tu_result_t t;
  tu_run(targv, NULL, 0, 60000, &t);
  json_t *o = json_loads(t.out, 0, NULL);
  cr_assert(o != NULL, "tend check --json printed no JSON (exit %d): %s %s", t.exit_code, t.out,
            t.err);
  cr_assert(json_is_true(json_object_get(o, "valid")), "tend refused %s: %s", rel, t.out);
  char *got = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&got, &len);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(o, "names"), i, v)
    fprintf(f, "process %s\n", json_string_value(v));
  cr_assert_eq(json_array_size(json_object_get(o, "skipped")), 0, "%s: tend skips %s", rel,
               t.out);
  fclose(f);
  char *got_sorted = sorted_lines(got);
  cr_assert_str_eq(got_sorted, want, "%s: tend (got) and supervisord (want) differ", rel);
  json_int_t total = json_integer_value(json_object_get(o, "supervisord_processes"));
  json_int_t runs = json_integer_value(json_object_get(o, "processes"));
  cr_assert_eq(total, runs, "supervisord_processes %lld", (long long)total);
  cr_assert_eq(t.exit_code, 0, "exit %d: %s", t.exit_code, t.out);

  free(got_sorted);
  free(got);
  free(want);
  json_decref(o);
  tu_result_free(&t);
  tu_result_free(&py);
  free(path);
}

/* Includes three files of reusable/ (one missing, as in the repository), an
 * [fcgi-program:] and numprocs from %(ENV_NUMPROCS)s. */
Test(realconf, cvat_server) { same_as_supervisord("cvat/server.conf"); }
Test(realconf, cvat_worker) { same_as_supervisord("cvat/worker.annotation.conf"); }
/* A [group:] with numprocs = 5 in it, an [fcgi-program:], and a conf.d
 * file adding chown to the main file's [unix_http_server]. */
Test(realconf, zulip) { same_as_supervisord("zulip/supervisord.conf"); }
Test(realconf, laravel_sail) { same_as_supervisord("laravel-sail/supervisord.conf"); }
/* Debian's supervisord.conf with sail's conf.d/supervisord.conf: a
 * second [supervisord], from an included file. */
Test(realconf, debian_with_sail) { same_as_supervisord("debian-sail/supervisord.conf"); }
Test(realconf, docker_mailserver) { same_as_supervisord("docker-mailserver/supervisord.conf"); }
Test(realconf, supervisorgo) { same_as_supervisord("supervisorgo/supervisord.conf"); }
Test(realconf, mailcow_postfix) { same_as_supervisord("mailcow/postfix.conf"); }
Test(realconf, mailcow_dovecot) { same_as_supervisord("mailcow/dovecot.conf"); }
/* nodaemon = true twice in [supervisord] */
Test(realconf, supervisor_issue_1224) { same_as_supervisord("supervisor/issue-1224.conf"); }
Test(realconf, supervisor_issue_1170b) { same_as_supervisord("supervisor/issue-1170b.conf"); }
Test(realconf, supervisor_issue_565) { same_as_supervisord("supervisor/issue-565.conf"); }
Test(realconf, supervisor_issue_733) { same_as_supervisord("supervisor/issue-733.conf"); }
Test(realconf, supervisor_issue_1298) { same_as_supervisord("supervisor/issue-1298.conf"); }
/* [supervisord] in two files, each with its own %(here)s */
Test(realconf, supervisor_include) { same_as_supervisord("supervisor/include.conf"); }

/* Debian's issue-1224.conf, unchanged, through a [tend] section that
 * includes it: the socket, child logs and pidfile go to a temporary
 * directory (the fixture's pidfile is /tmp/issue-1224.pid). */
Test(realconf, debian_issue_1224_runs) {
  if (access(FIXTURE, R_OK) != 0)
    cr_skip("SKIPPED: %s is missing: install Debian's supervisor package, as dev.sh does",
            FIXTURE);
  char *dir = tu_tmpdir();
  d.dir = realpath(dir, NULL);
  free(dir);
  d.conf = tu_fmt("%s/tend.conf", d.dir);
  d.sock = tu_fmt("%s/tend.sock", d.dir);
  d.log = tu_fmt("%s/daemon.log", d.dir);
  char *text = tu_fmt("[tend]\nsocket = %s\nlogdir = %s/log\npidfile = %s/tend.pid\n"
                      "include = " FIXTURE "\n",
                      d.sock, d.dir, d.dir);
  tu_write_file(d.conf, text);
  free(text);
  int status = 0;
  if (!tu_daemon_try(&d, d.conf, &status)) {
    char *log = tu_read_file(d.log, NULL);
    cr_assert_fail("tend daemon refused issue-1224.conf (wait status %d); its log:\n%s", status,
                   log != NULL ? log : "(none)");
  }
  cr_assert(tu_wait_file_contains(d.log, "program=cat from=STARTING to=RUNNING", 10000),
            "cat never RUNNING");
  json_t *e = tu_status_of(&d, "cat");
  cr_assert_str_eq(json_string_value(json_object_get(e, "state")), "RUNNING");
  json_decref(e);
  tu_result_t r;
  tu_ctl(&d, &r, "send", "cat", "hello from issue 1224", NULL);
  cr_assert_eq(r.exit_code, 0, "tend send: %s %s", r.out, r.err);
  tu_result_free(&r);
  char *out = tu_fmt("%s/log/cat.out", d.dir);
  cr_assert(tu_wait_file_contains(out, "hello from issue 1224", 10000),
            "what was sent to cat is not in %s", out);
  free(out);
}

/* ---- what tend check says about them ---------------------------------- */

/* Run `tend A0 A1 ...` into r (the unused last ones NULL). */
static void tend_run(tu_result_t *r, const char *a0, const char *a1, const char *a2,
                     const char *a3, const char *a4) {
  char *argv[] = {(char *)tu_tend(), (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4,
                  NULL};
  tu_run(argv, NULL, 0, 30000, r);
}

/* A key supervisord ignores is a notice; --strict makes it an error, for
 * tend check and for tend daemon, which then refuses to start. */
Test(realconf, strict_makes_unknown_keys_errors) {
  tmp = tu_tmpdir();
  char *conf = tu_fmt("%s/s.conf", tmp);
  tu_write_file(conf, "[program:a]\ncommand = /bin/cat\npidfile = /run/a.pid\n");
  tu_result_t r;
  tend_run(&r, "check", "-c", conf, NULL, NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, "s.conf:3: [program:a] pidfile: unknown key, ignored as supervisord "
                          "does") != NULL, "%s", r.out);
  tu_result_free(&r);
  tend_run(&r, "check", "--strict", "-c", conf, NULL);
  assert_exit(&r, 2);
  cr_assert(strstr(r.err, "s.conf:3: [program:a] pidfile: unknown key (supervisord ignores it; "
                          "an error with --strict)") != NULL, "%s", r.err);
  tu_result_free(&r);
  tend_run(&r, "daemon", "--strict", "-c", conf, NULL);
  assert_exit(&r, 2);
  cr_assert(strstr(r.err, "pidfile: unknown key (supervisord ignores it") != NULL, "%s", r.err);
  tu_result_free(&r);
  free(conf);
}

/* The summary line counts a pool's listeners as supervisord does: tend
 * runs them all, so nothing is skipped and the check passes. */
Test(realconf, check_summary_counts_the_event_listeners) {
  tmp = tu_tmpdir();
  char *conf = tu_fmt("%s/s.conf", tmp);
  tu_write_file(conf, "[program:web]\ncommand = /bin/cat\nnumprocs = 2\n"
                      "process_name = web%(process_num)d\n"
                      "[eventlistener:watch]\ncommand = /bin/cat\nevents = PROCESS_STATE\n"
                      "numprocs = 3\nprocess_name = w%(process_num)d\n");
  tu_result_t r;
  tend_run(&r, "check", "-c", conf, NULL, NULL);
  assert_exit(&r, 0);
  char *want = tu_fmt("%s: valid, 5 processes; supervisord would run 5\n", conf);
  const char *last = r.out + r.out_len - strlen(want);
  cr_assert(r.out_len >= strlen(want) && strcmp(last, want) == 0, "stdout:\n%s", r.out);
  tu_result_free(&r);
  free(want);
  free(conf);
}
