/* SPDX-License-Identifier: MIT */
/*
 * supervisord's events, end to end (issue #17): [eventlistener:x] pools run
 * by the real `tend daemon`, their listeners written with Debian's
 * supervisor.childutils, unchanged, as supervisord's users write them
 * (the checks of every header field, a crashmail and a memmon of their
 * own), supervisord's fixtures issue-663.conf and issue-733.conf, the
 * protocol's rejections, and `tend events`.
 *
 * Every wait is on a file (inotify) or the daemon's replies, with a
 * deadline; every daemon and follower is stopped by pid.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURES "/usr/lib/python3/dist-packages/supervisor/tests/fixtures"

static tu_daemon_t d;
static pid_t follower = -1;

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

/* stop_daemon, asserting a clean shutdown (exit 0: under ASan, no leak
 * and no error either), with the daemon's log when not. */
static void stop_clean(tu_daemon_t *x) {
  char *log = tu_read_file(x->log, NULL);
  pid_t kids[64];
  int n = x->pid > 0 ? tu_children_of(x->pid, kids, 64) : 0;
  int status = tu_daemon_stop(x);
  for (int i = 0; i < n; i++) {
    if (!tu_wait_gone(kids[i], 2000)) {
      kill(-kids[i], SIGKILL);
      kill(kids[i], SIGKILL);
    }
  }
  const char *text = fmt("%s", log != NULL ? log : "");
  free(log);
  cr_assert_eq(status, 0, "the daemon exited with wait status %d; its log:\n%s", status, text);
}

static void stop_follower(void) {
  if (follower <= 0)
    return;
  kill(follower, SIGTERM);
  waitpid(follower, NULL, 0);
  follower = -1;
}

static void cleanup(void) {
  stop_follower();
  stop_daemon(&d);
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

TestSuite(events, .timeout = 90, .init = tu_strays_init, .fini = cleanup);

static const char *python(void) {
  return getenv("TEND_PYTHON") != NULL ? getenv("TEND_PYTHON") : "/usr/bin/python3";
}

/* The listeners are Debian's supervisor.childutils: without it, say so. */
static void need_childutils(void) {
  char *probe[] = {(char *)python(), "-c", "import supervisor.childutils", NULL};
  tu_result_t pr;
  tu_run(probe, NULL, 0, 30000, &pr);
  bool missing = pr.exit_code != 0;
  tu_result_free(&pr);
  if (missing)
    cr_skip("SKIPPED: Python's supervisor module is missing (%s -c 'import "
            "supervisor.childutils'): install Debian's supervisor package, as dev.sh does",
            python());
}

static void setup_dir(tu_daemon_t *x) {
  memset(x, 0, sizeof(*x));
  char *tmp = tu_tmpdir();
  x->dir = realpath(tmp, NULL);
  free(tmp);
  cr_assert(x->dir != NULL);
  cr_assert(asprintf(&x->conf, "%s/tend.conf", x->dir) > 0);
  cr_assert(asprintf(&x->sock, "%s/tend.sock", x->dir) > 0);
  cr_assert(asprintf(&x->log, "%s/daemon.log", x->dir) > 0);
}

/* A [tend] section of 4 lines, then text (its line k is line k + 4). */
static void write_conf(tu_daemon_t *x, const char *text) {
  tu_write_file(x->conf, fmt("[tend]\nsocket = %s\nlogdir = %s/log\n\n%s", x->sock, x->dir,
                             text));
}

static void start_ok(tu_daemon_t *x) {
  int status = 0;
  if (!tu_daemon_try(x, x->conf, &status)) {
    char *log = tu_read_file(x->log, NULL);
    cr_assert_fail("the daemon did not come up (wait status %d); its log:\n%s", status,
                   log != NULL ? log : "(none)");
  }
}

static const char *daemon_log(tu_daemon_t *x) {
  char *log = tu_read_file(x->log, NULL);
  const char *s = fmt("%s", log != NULL ? log : "");
  free(log);
  return s;
}

/* The lines of a JSON Lines file, as an array (caller decrefs). */
static json_t *jsonl(const char *path) {
  json_t *arr = json_array();
  char *text = tu_read_file(path, NULL);
  char *save = NULL;
  for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l != NULL;
       l = strtok_r(NULL, "\n", &save)) {
    json_t *o = json_loads(l, 0, NULL);
    cr_assert(o != NULL, "%s: not JSON: %s", path, l);
    json_array_append_new(arr, o);
  }
  free(text);
  return arr;
}

/* The first event of that name in a listener's record whose payload
 * contains needle (NULL: any), or NULL. Borrowed from arr. */
static json_t *find_event(json_t *arr, const char *name, const char *needle) {
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o) {
    const char *en = json_string_value(json_object_get(json_object_get(o, "headers"),
                                                       "eventname"));
    const char *pl = json_string_value(json_object_get(o, "payload"));
    if (strcmp(en, name) == 0 && (needle == NULL || strstr(pl, needle) != NULL))
      return o;
  }
  return NULL;
}

static long pid_of(tu_daemon_t *x, const char *name) {
  json_t *e = tu_status_of(x, name);
  long pid = (long)json_integer_value(json_object_get(e, "pid"));
  json_decref(e);
  return pid;
}

/* A childutils listener that records each event (its headers, its payload
 * as childutils read it, and len() of that) as one JSON line of out. */
static const char recorder_py[] =
    "import json, sys\n"
    "from supervisor import childutils\n"
    "out = sys.argv[1]\n"
    "while True:\n"
    "    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)\n"
    "    with open(out, 'a') as f:\n"
    "        f.write(json.dumps({'headers': headers, 'payload': payload,\n"
    "                            'chars': len(payload)}) + '\\n')\n"
    "    childutils.listener.ok(sys.stdout)\n";

/* ---- the protocol, with supervisor.childutils ----------------------------- */

Test(events, childutils_listener_gets_process_state_and_tick_5_with_every_header) {
  need_childutils();
  setup_dir(&d);
  tu_write_file(fmt("%s/rec.py", d.dir), recorder_py);
  /* A payload of non-ASCII text: len: counts its characters, as
   * childutils reads them (a count of bytes would make it read into the
   * next event and stall). */
  tu_write_file(fmt("%s/hi.sh", d.dir),
                "printf 'h\\303\\251llo w\\303\\266rld \\342\\234\\223\\n'\nexec sleep 60\n");
  write_conf(&d, fmt("[supervisord]\n"
                     "identifier = box-1\n"
                     "[eventlistener:watch]\n"
                     "command = %s %s/rec.py %s/events.jsonl\n"
                     "events = PROCESS_STATE, TICK_5, PROCESS_LOG_STDOUT\n"
                     "startsecs = 0\n"
                     "[program:hi]\n"
                     "command = sh %s/hi.sh\n"
                     "startsecs = 0\n"
                     "stdout_events_enabled = true\n",
                     python(), d.dir, d.dir, d.dir));
  start_ok(&d);
  const char *rec = fmt("%s/events.jsonl", d.dir);
  cr_assert(tu_wait_file_contains(rec, "\"TICK_5\"", 15000), "no TICK_5 in 15 s: %s\n%s",
            tu_read_file(rec, NULL), daemon_log(&d));
  cr_assert(tu_wait_file_contains(rec, "PROCESS_LOG_STDOUT", 5000));
  json_t *all = jsonl(rec);
  size_t i;
  json_t *o;
  long last = -1;
  json_array_foreach(all, i, o) {
    json_t *h = json_object_get(o, "headers");
    cr_assert_str_eq(json_string_value(json_object_get(h, "ver")), "3.0");
    cr_assert_str_eq(json_string_value(json_object_get(h, "server")), "box-1");
    cr_assert_str_eq(json_string_value(json_object_get(h, "pool")), "watch");
    long serial = atol(json_string_value(json_object_get(h, "serial")));
    long poolserial = atol(json_string_value(json_object_get(h, "poolserial")));
    /* one pool takes every event that has a serial: both count from 0 */
    cr_assert_eq(serial, (long)i, "event %zu has serial %ld", i, serial);
    cr_assert_eq(poolserial, (long)i);
    cr_assert(serial > last);
    last = serial;
    cr_assert_eq(atol(json_string_value(json_object_get(h, "len"))),
                 (long)json_integer_value(json_object_get(o, "chars")));
  }
  long lpid = pid_of(&d, "watch"), hpid = pid_of(&d, "hi");
  json_t *e = find_event(all, "PROCESS_STATE_STARTING", "processname:hi ");
  cr_assert(e != NULL, "%s", json_dumps(all, 0));
  cr_assert_str_eq(json_string_value(json_object_get(e, "payload")),
                   "processname:hi groupname:hi from_state:STOPPED tries:0");
  e = find_event(all, "PROCESS_STATE_RUNNING", "processname:hi ");
  cr_assert(e != NULL);
  cr_assert_str_eq(json_string_value(json_object_get(e, "payload")),
                   fmt("processname:hi groupname:hi from_state:STARTING pid:%ld", hpid));
  e = find_event(all, "PROCESS_STATE_RUNNING", "processname:watch ");
  cr_assert(e != NULL, "a listener hears of itself once RUNNING");
  cr_assert_str_eq(json_string_value(json_object_get(e, "payload")),
                   fmt("processname:watch groupname:watch from_state:STARTING pid:%ld", lpid));
  e = find_event(all, "PROCESS_LOG_STDOUT", NULL);
  cr_assert_str_eq(json_string_value(json_object_get(e, "payload")),
                   fmt("processname:hi groupname:hi pid:%ld channel:stdout\nh\xc3\xa9llo "
                       "w\xc3\xb6rld \xe2\x9c\x93\n", hpid));
  e = find_event(all, "TICK_5", NULL);
  long when = atol(json_string_value(json_object_get(e, "payload")) + 5);
  cr_assert(when > 0 && when % 5 == 0, "%s", json_string_value(json_object_get(e, "payload")));
  json_decref(all);

  /* tend events shows them too, with the serials the pool gave */
  tu_result_t r;
  tu_ctl(&d, &r, "events", "--json", "--type", "PROCESS_STATE", NULL);
  assert_exit(&r, 0);
  cr_assert(strstr(r.out, fmt("\"payload\": \"processname:hi groupname:hi from_state:STARTING "
                              "pid:%ld\"", hpid)) != NULL ||
                strstr(r.out, fmt("\"payload\":\"processname:hi groupname:hi "
                                  "from_state:STARTING pid:%ld\"", hpid)) != NULL,
            "%s", r.out);
  cr_assert(strstr(r.out, "TICK_5") == NULL, "--type PROCESS_STATE: %s", r.out);
  tu_result_free(&r);
  tu_ctl(&d, &r, "events", "--type", "nothing_like_it", NULL);
  assert_exit(&r, 1);
  cr_assert(strstr(r.err, "no event type matches 'nothing_like_it'") != NULL, "%s", r.err);
  tu_result_free(&r);
  stop_clean(&d);
}

/* superlance's crashmail, in short: an unexpected exit is mailed with
 * sendmail -t -i (a fake one here, writing the mail to a file). */
Test(events, crashmail_mails_an_unexpected_exit) {
  need_childutils();
  setup_dir(&d);
  tu_write_file(fmt("%s/sendmail", d.dir), fmt("#!/bin/sh\ncat >> %s/mail.txt\n", d.dir));
  chmod(fmt("%s/sendmail", d.dir), 0755);
  tu_write_file(fmt("%s/crashmail.py", d.dir),
                "import os, subprocess, sys\n"
                "from supervisor import childutils\n"
                "sendmail = sys.argv[1]\n"
                "while True:\n"
                "    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)\n"
                "    if headers['eventname'] == 'PROCESS_STATE_EXITED':\n"
                "        ph, _ = childutils.eventdata(payload + '\\n')\n"
                "        if not int(ph['expected']):\n"
                "            msg = ('To: ops@example.com\\nSubject: %s crashed\\n\\n'\n"
                "                   'Process %s in group %s exited unexpectedly (pid %s) '\n"
                "                   'from state %s\\n' % (ph['processname'], ph['processname'],\n"
                "                   ph['groupname'], ph['pid'], ph['from_state']))\n"
                "            subprocess.run([sendmail, '-t', '-i'], input=msg.encode(), "
                "check=True)\n"
                "            sys.stderr.write('mailed\\n')\n"
                "    childutils.listener.ok(sys.stdout)\n");
  write_conf(&d, fmt("[eventlistener:crashmail]\n"
                     "command = %s %s/crashmail.py %s/sendmail\n"
                     "events = PROCESS_STATE_EXITED\n"
                     "[program:fine]\n"
                     "command = sh -c 'sleep 1.5; exit 0'\n"
                     "autorestart = false\n"
                     "[program:crashy]\n"
                     "command = sh -c 'sleep 1.5; exit 3'\n"
                     "autorestart = false\n",
                     python(), d.dir, d.dir));
  start_ok(&d);
  const char *mail = fmt("%s/mail.txt", d.dir);
  cr_assert(tu_wait_file_contains(mail, "Subject: crashy crashed\n", 20000),
            "no mail: %s\n%s", tu_read_file(mail, NULL), daemon_log(&d));
  cr_assert(tu_wait_file_contains(fmt("%s/log/crashmail.err", d.dir), "mailed\n", 5000));
  cr_assert(tu_file_count(mail, "Subject:") == 1, "only crashy: %s", tu_read_file(mail, NULL));
  cr_assert(tu_file_count(mail, "from state RUNNING") == 1);
  stop_clean(&d);
}

/* superlance's memmon, in short: on each TICK_5 it asks the daemon over
 * XML-RPC (childutils.getRPCInterface: SUPERVISOR_SERVER_URL) for the
 * processes, and restarts one whose RSS is over its limit. */
Test(events, memmon_restarts_a_program_over_its_rss_limit) {
  need_childutils();
  setup_dir(&d);
  tu_write_file(fmt("%s/memmon.py", d.dir),
                "import os, sys\n"
                "from supervisor import childutils\n"
                "name, limit, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
                "rpc = childutils.getRPCInterface(os.environ)\n"
                "def rss(pid):\n"
                "    for l in open('/proc/%d/status' % pid):\n"
                "        if l.startswith('VmRSS:'):\n"
                "            return int(l.split()[1]) * 1024\n"
                "    return 0\n"
                "while True:\n"
                "    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)\n"
                "    for info in rpc.supervisor.getAllProcessInfo():\n"
                "        if info['name'] == name and info['pid'] and rss(info['pid']) > limit:\n"
                "            rpc.supervisor.stopProcess(name)\n"
                "            rpc.supervisor.startProcess(name)\n"
                "            with open(out, 'a') as f:\n"
                "                f.write('restarted %d\\n' % info['pid'])\n"
                "    childutils.listener.ok(sys.stdout)\n");
  write_conf(&d, fmt("[unix_http_server]\n"
                     "file = %%(here)s/http.sock\n"
                     "[eventlistener:memmon]\n"
                     "command = %s %s/memmon.py hog 40000000 %s/restarts.txt\n"
                     "events = TICK_5\n"
                     "[program:hog]\n"
                     "command = %s -c 'import time; b = bytearray(80 << 20); b[::4096] = "
                     "b\"x\" * len(b[::4096]); time.sleep(300)'\n"
                     "startsecs = 0\n",
                     python(), d.dir, d.dir, python()));
  start_ok(&d);
  long first = pid_of(&d, "hog");
  const char *out = fmt("%s/restarts.txt", d.dir);
  cr_assert(tu_wait_file_contains(out, fmt("restarted %ld\n", first), 20000),
            "memmon did not restart hog (pid %ld): %s\n%s", first, tu_read_file(out, NULL),
            daemon_log(&d));
  json_t *e = tu_status_of(&d, "hog");
  long now = (long)json_integer_value(json_object_get(e, "pid"));
  cr_assert(now != first && now > 0, "hog has pid %ld, was %ld", now, first);
  json_decref(e);
  stop_clean(&d);
}

/* The other types, each as supervisord renders it: the daemon's RUNNING
 * and STOPPING, groups added and removed (a reload), a program's
 * PROCESS_COMMUNICATION (the text between the tokens, one of them split
 * across writes) and a PROCESS_LOG that is not UTF-8, and what XML-RPC's
 * sendRemoteCommEvent sends. */
Test(events, every_other_event_type_as_supervisord_renders_it) {
  need_childutils();
  setup_dir(&d);
  tu_write_file(fmt("%s/rec.py", d.dir), recorder_py);
  /* outside the daemon's directory: read once the daemon is gone */
  char *keep = tu_tmpdir();
  const char *rec = fmt("%s/events.jsonl", keep);
  tu_write_file(fmt("%s/talker.sh", d.dir),
                "trap 'sleep 1; exit 0' TERM\n"
                "printf 'before <!--XSUPERVISOR:BEGIN-->caf\\303\\251 <!--XSUPER'\n"
                "sleep 0.2\n"
                "printf 'VISOR:END--> after\\n'\n"
                "printf '\\377\\n' >&2\n"
                "while :; do sleep 0.1; done\n");
  const char *common = fmt("[unix_http_server]\n"
                           "file = %%(here)s/http.sock\n"
                           "[eventlistener:rec]\n"
                           "command = %s %s/rec.py %s\n"
                           "events = PROCESS_COMMUNICATION, SUPERVISOR_STATE_CHANGE, "
                           "PROCESS_GROUP, REMOTE_COMMUNICATION, PROCESS_LOG_STDERR\n"
                           "startsecs = 0\n"
                           "[program:talker]\n"
                           "command = sh %s/talker.sh\n"
                           "startsecs = 0\n"
                           "stdout_capture_maxbytes = 1KB\n"
                           "stderr_events_enabled = true\n",
                           python(), d.dir, rec, d.dir);
  write_conf(&d, fmt("%s[program:gone]\ncommand = sleep 60\n", common));
  start_ok(&d);
  cr_assert(tu_wait_file_contains(rec, "PROCESS_COMMUNICATION_STDOUT", 15000), "%s\n%s",
            tu_read_file(rec, NULL), daemon_log(&d));
  cr_assert(tu_wait_file_contains(rec, "PROCESS_LOG_STDERR", 5000));
  char *send[] = {(char *)python(), "-c",
                  "import sys, xmlrpc.client\n"
                  "from supervisor.xmlrpc import SupervisorTransport\n"
                  "t = SupervisorTransport(None, None, 'unix://' + sys.argv[1])\n"
                  "s = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t)\n"
                  "print(s.supervisor.sendRemoteCommEvent('greeting', 'hej \\u2713'))\n",
                  (char *)fmt("%s/http.sock", d.dir), NULL};
  tu_result_t r;
  tu_run(send, NULL, 0, 30000, &r);
  assert_exit(&r, 0);
  assert_out(&r, "True\n");
  tu_result_free(&r);
  write_conf(&d, common);
  tu_ctl(&d, &r, "reload", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  cr_assert(tu_wait_file_contains(rec, "PROCESS_GROUP_REMOVED", 10000), "%s",
            tu_read_file(rec, NULL));
  long talker = pid_of(&d, "talker");
  stop_clean(&d);

  json_t *all = jsonl(rec);
  struct {
    const char *name, *payload;
  } want[] = {
      {"SUPERVISOR_STATE_CHANGE_RUNNING", ""},
      {"PROCESS_GROUP_ADDED", "groupname:rec\n"},
      {"PROCESS_GROUP_ADDED", "groupname:talker\n"},
      {"PROCESS_GROUP_ADDED", "groupname:gone\n"},
      {"PROCESS_COMMUNICATION_STDOUT",
       fmt("processname:talker groupname:talker pid:%ld\ncaf\xc3\xa9 ", talker)},
      {"PROCESS_LOG_STDERR", fmt("processname:talker groupname:talker pid:%ld channel:stderr\n"
                                 "Undecodable: b'\\xff\\n'", talker)},
      {"REMOTE_COMMUNICATION", "type:greeting\nhej \xe2\x9c\x93"},
      {"PROCESS_GROUP_REMOVED", "groupname:gone\n"},
      {"SUPERVISOR_STATE_CHANGE_STOPPING", ""},
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    json_t *e = find_event(all, want[i].name, NULL);
    if (strcmp(want[i].name, "PROCESS_GROUP_ADDED") == 0)
      e = find_event(all, want[i].name, want[i].payload);
    cr_assert(e != NULL, "no %s %s in %s", want[i].name, want[i].payload, json_dumps(all, 0));
    cr_assert_str_eq(json_string_value(json_object_get(e, "payload")), want[i].payload);
  }
  json_decref(all);
  tu_rmdir(keep);
}

/* ---- the protocol's edges ---------------------------------------------------- */

/* A listener that answers FAIL gets the same event again (supervisord
 * puts a rejected event back at the head of the queue); one that writes
 * out of turn is UNKNOWN and gets nothing more. */
Test(events, fail_sends_the_event_again_and_garbage_is_unknown) {
  setup_dir(&d);
  /* Reads the header line and the payload, records them; FAIL the first
   * time, OK the second, then writes out of turn. */
  tu_write_file(fmt("%s/l.sh", d.dir),
                "n=0\n"
                "while :; do\n"
                "  printf 'READY\\n'\n"
                "  read -r header || exit 0\n"
                "  len=${header##*len:}\n"
                "  payload=$(dd bs=1 count=$len 2>/dev/null)\n"
                "  echo \"$header|$payload\" >> \"$1\"\n"
                "  n=$((n + 1))\n"
                "  if [ $n = 1 ]; then printf 'RESULT 4\\nFAIL'; else printf 'RESULT 2\\nOK'; fi\n"
                "  if [ $n = 2 ]; then printf 'READY\\nnonsense\\n'; sleep 60; fi\n"
                "done\n");
  write_conf(&d, fmt("[eventlistener:l]\n"
                     "command = sh %s/l.sh %s/got.txt\n"
                     "events = PROCESS_GROUP_ADDED\n"
                     "startsecs = 0\n"
                     "[program:a]\n"
                     "command = sleep 60\n"
                     "startsecs = 0\n",
                     d.dir, d.dir));
  start_ok(&d);
  const char *got = fmt("%s/got.txt", d.dir);
  cr_assert(tu_wait_file_contains(d.log, "to=UNKNOWN", 15000), "%s\n%s",
            tu_read_file(got, NULL), daemon_log(&d));
  char *text = tu_read_file(got, NULL);
  /* the first event twice (same serials), then nothing */
  const char *first = "ver:3.0 server:supervisor serial:0 pool:l poolserial:0 "
                      "eventname:PROCESS_GROUP_ADDED len:12|groupname:l\n";
  cr_assert(text != NULL && strncmp(text, first, strlen(first)) == 0, "%s", text);
  cr_assert(strncmp(text + strlen(first), first, strlen(first)) == 0, "%s", text);
  cr_assert(strlen(text) == 2 * strlen(first), "%s", text);
  free(text);
  cr_assert(tu_file_count(d.log, "event=rejected") == 1, "%s", daemon_log(&d));
  stop_clean(&d);
}

/* A RESULT line supervisord cannot read (not a length) makes the listener
 * UNKNOWN, with a warning that shows the line; so does one that never
 * ends. */
Test(events, a_bad_result_line_is_unknown) {
  setup_dir(&d);
  tu_write_file(fmt("%s/l.sh", d.dir),
                "printf 'READY\\n'\n"
                "read -r header\n"
                "dd bs=1 count=${header##*len:} >/dev/null 2>&1\n"
                "if [ \"$2\" = nonl ]; then printf '%s' \"$1\"; else printf '%s\\n' \"$1\"; fi\n"
                "exec sleep 60\n");
  write_conf(&d, fmt("[eventlistener:l1]\n"
                     "command = sh %s/l.sh 'RESULT two'\n"
                     "events = PROCESS_GROUP_ADDED\n"
                     "startsecs = 0\n"
                     "[eventlistener:l2]\n"
                     "command = sh %s/l.sh %s nonl\n"
                     "events = PROCESS_GROUP_ADDED\n"
                     "startsecs = 0\n",
                     d.dir, d.dir, fmt("%02000d", 0)));
  start_ok(&d);
  cr_assert(tu_wait_file_contains(d.log, "program=l1 event=\"bad result line\" line=\"RESULT "
                                         "two\"", 10000), "%s", daemon_log(&d));
  cr_assert(tu_wait_file_contains(d.log, "program=l2 event=\"bad result line\"", 10000), "%s",
            daemon_log(&d));
  cr_assert_eq(tu_file_count(d.log, "to=UNKNOWN"), 2, "%s", daemon_log(&d));
  stop_clean(&d);
}

/* numprocs listeners make one pool: each event goes to one READY listener,
 * once, the oldest first; a busy one is passed over. */
Test(events, a_pool_of_listeners_shares_the_events) {
  setup_dir(&d);
  tu_write_file(fmt("%s/l.sh", d.dir),
                "while :; do\n"
                "  printf 'READY\\n'\n"
                "  read -r header || exit 0\n"
                "  len=${header##*len:}\n"
                "  dd bs=1 count=$len >/dev/null 2>&1\n"
                "  ps=${header##*poolserial:}\n"
                "  echo \"$SUPERVISOR_PROCESS_NAME ${ps%% *}\" >> \"$1\"\n"
                "  sleep 0.3\n"
                "  printf 'RESULT 2\\nOK'\n"
                "done\n");
  write_conf(&d, fmt("[eventlistener:pool]\n"
                     "command = sh %s/l.sh %s/got.txt\n"
                     "events = PROCESS_STATE\n"
                     "numprocs = 2\n"
                     "process_name = l%%(process_num)d\n"
                     "startsecs = 0\n"
                     "[program:a]\n"
                     "command = true\n"
                     "startsecs = 0\n"
                     "autorestart = false\n",
                     d.dir, d.dir));
  start_ok(&d);
  /* l0, l1 and a: STARTING and RUNNING each, a's EXITED */
  const char *got = fmt("%s/got.txt", d.dir);
  tu_wait_file_count(got, "\n", 7, 20000);
  char *text = tu_read_file(got, NULL);
  cr_assert_eq(tu_file_count(got, "\n"), 7, "%s\n%s", text, daemon_log(&d));
  bool seen[7] = {false};
  int by[2] = {0, 0};
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
    int who, serial;
    cr_assert(sscanf(l, "l%d %d", &who, &serial) == 2 && who >= 0 && who < 2 && serial >= 0 &&
                  serial < 7, "%s", l);
    cr_assert(!seen[serial], "poolserial %d twice", serial);
    seen[serial] = true;
    by[who]++;
  }
  free(text);
  cr_assert(by[0] > 0 && by[1] > 0, "one listener got them all: %d, %d", by[0], by[1]);
  stop_clean(&d);
}

/* A pool holds buffer_size events: the oldest goes, with a line. */
Test(events, a_full_buffer_drops_the_oldest_with_a_line) {
  setup_dir(&d);
  write_conf(&d, "[eventlistener:deaf]\n"
                 "command = sleep 60\n" /* never READY */
                 "events = PROCESS_STATE\n"
                 "buffer_size = 2\n"
                 "[program:a]\n"
                 "command = sleep 60\n"
                 "startsecs = 0\n");
  start_ok(&d);
  cr_assert(tu_wait_file_contains(d.log, "event-overflow pool=deaf", 10000), "%s",
            daemon_log(&d));
  stop_clean(&d);
}

/* ---- config -------------------------------------------------------------------- */

Test(events, listener_config_errors_name_file_and_line) {
  setup_dir(&d);
  write_conf(&d, "[eventlistener:a]\n"        /* line 5 */
                 "command = cat\n"
                 "events = PROCESS_STATE\n"
                 "redirect_stderr = true\n"   /* line 8 */
                 "[eventlistener:b]\n"
                 "command = cat\n"
                 "events = TICK_5, NO_SUCH\n" /* line 11 */
                 "buffer_size = 0\n"          /* line 12 */
                 "[eventlistener:c]\n"        /* line 13 */
                 "command = cat\n"
                 "[eventlistener:d]\n"
                 "command = cat\n"
                 "events = TICK\n"
                 "result_handler = mine:handler\n" /* line 18 */
                 "stdin = null\n");                  /* line 19 */
  tu_result_t r;
  TEND(&r, 30000, "check", "-c", d.conf);
  assert_exit(&r, 2);
  const char *f = d.conf;
  cr_assert(strstr(r.err, fmt("%s:8: [eventlistener:a] redirect_stderr: an event listener "
                              "cannot redirect stderr", f)) != NULL, "%s", r.err);
  cr_assert(strstr(r.err, fmt("%s:11: [eventlistener:b] events: invalid value 'NO_SUCH'", f)) !=
                NULL, "%s", r.err);
  cr_assert(strstr(r.err, fmt("%s:12: [eventlistener:b] buffer_size:", f)) != NULL, "%s", r.err);
  cr_assert(strstr(r.err, fmt("%s:13: [eventlistener:c] events: missing", f)) != NULL, "%s",
            r.err);
  cr_assert(strstr(r.err, fmt("%s:18: [eventlistener:d] result_handler:", f)) != NULL, "%s",
            r.err);
  cr_assert(strstr(r.err, fmt("%s:19: [eventlistener:d] stdin: an event listener's stdin", f)) !=
                NULL, "%s", r.err);
  tu_result_free(&r);
  stop_daemon(&d); /* none was started: its directory */
}

/* ---- supervisord's own fixtures ------------------------------------------------ */

/* The fixture, unchanged, included from a [tend] section that puts the
 * socket, logs and pid file in the test's directory. */
static void start_fixture(const char *name, const char *extra_path) {
  const char *fixture = fmt("%s/%s", FIXTURES, name);
  if (access(fixture, R_OK) != 0)
    cr_skip("SKIPPED: %s is missing: install Debian's supervisor package, as dev.sh does",
            fixture);
  setup_dir(&d);
  tu_write_file(d.conf, fmt("[tend]\nsocket = %s\nlogdir = %s/log\npidfile = %s/tend.pid\n"
                            "logfile = %s\ninclude = %s\n",
                            d.sock, d.dir, d.dir, d.log, fixture));
  if (extra_path != NULL)
    setenv("PATH", fmt("%s:%s", extra_path, getenv("PATH")), 1);
  start_ok(&d);
}

/* issue-663: a Python 3 listener (the fixture's listener.py, run as
 * `python`) goes round READY → BUSY → ACKNOWLEDGED on each TICK_5. */
Test(events, supervisord_fixture_issue_663) {
  need_childutils();
  char *bin = tu_tmpdir();
  const char *link = fmt("%s/python", bin);
  cr_assert(symlink(python(), link) == 0, "%s", strerror(errno));
  start_fixture("issue-663.conf", bin);
  for (int i = 1; i <= 2; i++) {
    tu_wait_file_count(d.log, "from=BUSY to=ACKNOWLEDGED", i, 30000);
    cr_assert(tu_file_count(d.log, "from=BUSY to=ACKNOWLEDGED") >= i, "round %d:\n%s", i,
              daemon_log(&d));
  }
  cr_assert(tu_file_count(d.log, "UNKNOWN") == 0, "%s", daemon_log(&d));
  cr_assert(tu_wait_file_contains(fmt("%s/log/listener.err", d.dir), "eventname:TICK_5", 5000));
  stop_clean(&d);
  tu_rmdir(bin);
}

/* issue-733: a one-line listener brings the daemon down when a program
 * is FATAL, by SIGTERM to its parent (the daemon). */
Test(events, supervisord_fixture_issue_733) {
  start_fixture("issue-733.conf", NULL);
  cr_assert(tu_wait_gone(d.pid, 20000), "the daemon is still up:\n%s", daemon_log(&d));
  char *log = tu_read_file(d.log, NULL);
  cr_assert(strstr(log, "program=nonexistent from=STARTING to=FATAL") != NULL ||
                strstr(log, "program=nonexistent from=BACKOFF to=FATAL") != NULL,
            "%s", log);
  cr_assert(strstr(log, "signal=SIGTERM action=shutdown") != NULL, "%s", log);
  free(log);
  int status = tu_daemon_stop(&d);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %d", status);
}

/* ---- tend events ----------------------------------------------------------------- */

/* `tend events -f [ARGS]` with its stdout to path (or to the write end of
 * a pipe: fd >= 0). */
static pid_t start_follower(const char *path, int fd, const char *type) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
  else
    posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char *argv[] = {(char *)tu_tend(), "events", "-f", "-s", d.sock, "--type", (char *)type, NULL};
  return tu_spawn(argv, &fa);
}

Test(events, tend_events_follows_and_filters) {
  setup_dir(&d);
  write_conf(&d, "[program:a]\ncommand = sleep 60\nstartsecs = 0\n");
  start_ok(&d);
  const char *out = fmt("%s/follow.txt", d.dir);
  follower = start_follower(out, -1, "process_state_r*");
  /* the recent ones first: a's RUNNING of the start */
  cr_assert(tu_wait_file_contains(out, "PROCESS_STATE_RUNNING processname:a groupname:a "
                                       "from_state:STARTING pid:", 10000), "%s",
            tu_read_file(out, NULL));
  tu_result_t r;
  tu_ctl(&d, &r, "restart", "a", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_wait_file_count(out, "PROCESS_STATE_RUNNING", 2, 10000);
  cr_assert_eq(tu_file_count(out, "PROCESS_STATE_RUNNING"), 2, "%s", tu_read_file(out, NULL));
  cr_assert_eq(tu_file_count(out, "STOPPING"), 0, "only what the type names");
  stop_follower();
  stop_clean(&d);
}

/* A follower that does not read is not waited for: once it reads again it
 * is told how many events it missed. */
Test(events, a_slow_follower_gets_dropped_n) {
  setup_dir(&d);
  write_conf(&d, "[program:spew]\n"
                 "command = sh -c 'head -c 30000000 /dev/zero | tr \"\\\\0\" x; echo done > burst; "
                 "while :; do echo tick; sleep 0.05; done'\n"
                 "directory = %(here)s\n"
                 "startsecs = 0\n"
                 "stdout_events_enabled = true\n"
                 "stdout_logfile = NONE\n");
  int fds[2];
  cr_assert(pipe(fds) == 0);
  start_ok(&d);
  follower = start_follower(NULL, fds[1], "PROCESS_LOG");
  close(fds[1]);
  /* Not read until the burst is over: the daemon must drop, not buffer. */
  const char *burst = fmt("%s/burst", d.dir);
  int64_t deadline = tu_now_ms() + 40000;
  cr_assert(tu_wait_file_contains(burst, "done\n", 40000), "the burst did not end in time");
  char buf[65536];
  char tail[256] = "";
  bool seen = false;
  /* then the ticks' events come in, the first of them after "dropped N" */
  while (!seen && tu_now_ms() < deadline) {
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    if (n <= 0)
      break;
    buf[n] = '\0';
    char joined[sizeof(tail) + sizeof(buf)];
    snprintf(joined, sizeof(joined), "%s%s", tail, buf);
    seen = strstr(joined, "\ndropped ") != NULL || strncmp(joined, "dropped ", 8) == 0;
    size_t jl = strlen(joined);
    snprintf(tail, sizeof(tail), "%s", jl > 200 ? joined + jl - 200 : joined);
  }
  close(fds[0]);
  cr_assert(seen, "no 'dropped N' line");
  stop_follower();
  stop_clean(&d);
}
