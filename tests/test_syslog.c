/* SPDX-License-Identifier: MIT */
/*
 * stdout_logfile = syslog, end to end: the test binds a Unix datagram
 * socket in its temporary directory, names it as [tend] syslog_socket, and
 * reads the datagrams the real daemon sends for a program's output lines.
 * The program writes each step only after the test sent it a line (tend
 * send), so the order across stdout and stderr is the program's, not the
 * scheduler's; every read waits on poll() with a deadline.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static tu_daemon_t d;
static char *dir;    /* the syslog socket's directory */
static int sock = -1;
static char *buf;    /* one datagram */
#define BUF_SIZE (256 * 1024)

static void cleanup(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
  if (sock >= 0)
    close(sock);
  sock = -1;
  if (dir != NULL)
    tu_rmdir(dir); /* frees it */
  dir = NULL;
  free(buf);
  buf = NULL;
}

TestSuite(syslog, .timeout = 90, .fini = cleanup);

static const char *sock_path(void) {
  static char path[256];
  snprintf(path, sizeof(path), "%s/syslog.sock", dir);
  return path;
}

/* The syslog daemon's side: a datagram socket bound at sock_path(). */
static void bind_syslog(void) {
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert(sock >= 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert(strlen(sock_path()) < sizeof(sa.sun_path));
  memcpy(sa.sun_path, sock_path(), strlen(sock_path()) + 1);
  cr_assert(bind(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s", sa.sun_path);
}

/* The next datagram (NUL-terminated in buf), or fail at the deadline. */
static size_t next_datagram(void) {
  struct pollfd p = {sock, POLLIN, 0};
  int r = poll(&p, 1, 20000);
  char *log = r == 1 ? NULL : tu_read_file(d.log, NULL);
  cr_assert(r == 1, "no datagram within 20 s; daemon log:\n%s", log != NULL ? log : "");
  ssize_t n = recv(sock, buf, BUF_SIZE - 1, 0);
  cr_assert(n > 0);
  buf[n] = '\0';
  return (size_t)n;
}

/* syslog(3)'s form: "<14>Mmm dd hh:mm:ss IDENT: LINE" (user.info). */
static const char *line_of(const char *ident) {
  cr_assert(strncmp(buf, "<14>", 4) == 0, "not user.info: %.80s", buf);
  /* "Dec  6 00:08:29 ": 16 characters, the day padded with a space */
  const char *ts = buf + 4;
  cr_assert(ts[3] == ' ' && ts[6] == ' ' && ts[9] == ':' && ts[12] == ':' && ts[15] == ' ',
            "not an RFC 3164 time stamp: %.40s", buf);
  size_t n = strlen(ident);
  cr_assert(strncmp(ts + 16, ident, n) == 0 && strncmp(ts + 16 + n, ": ", 2) == 0,
            "ident is not '%s': %.80s", ident, buf);
  return ts + 16 + n + 2;
}

static void expect_line(const char *ident, const char *want) {
  next_datagram();
  const char *got = line_of(ident);
  cr_assert_str_eq(got, want, "datagram: %.200s", buf);
}

static void send_line(const char *name) {
  tu_result_t r;
  tu_ctl(&d, &r, "send", name, "go", NULL);
  cr_assert_eq(r.exit_code, 0, "send: %s %s", r.out, r.err);
  tu_result_free(&r);
}

static void setup(void) {
  dir = tu_tmpdir();
  buf = malloc(BUF_SIZE);
  cr_assert(buf != NULL);
}

/* Both streams, in the program's order, a line longer than a log line
 * (cut as the file logs cut it) and a last line without its newline
 * (sent when the program exits). */
Test(syslog, lines_of_both_streams_in_order) {
  setup();
  bind_syslog();
  char *conf;
  cr_assert(asprintf(&conf,
                     "syslog_socket = %s\n"
                     "[program:chatty]\n"
                     "command = sh -c 'echo first; read x; echo second >&2; read x; "
                     "head -c 100000 /dev/zero | tr \"\\\\0\" a; echo; echo last; "
                     "printf partial; read x'\n"
                     "stdout_logfile = syslog\n"
                     "stderr_logfile = syslog\n"
                     "startsecs = 0\n"
                     "autorestart = false\n",
                     sock_path()) > 0);
  tu_daemon_start(&d, conf);
  free(conf);

  expect_line("chatty", "first");
  send_line("chatty");
  expect_line("chatty", "second"); /* stderr */
  send_line("chatty");
  /* 100000 bytes: a piece of 64 KiB, then the rest, as in a file log */
  size_t n = next_datagram();
  const char *l = line_of("chatty");
  cr_assert_eq(strlen(l), 65536, "first piece: %zu bytes (datagram %zu)", strlen(l), n);
  cr_assert(strspn(l, "a") == 65536);
  next_datagram();
  l = line_of("chatty");
  cr_assert_eq(strlen(l), 100000 - 65536);
  cr_assert(strspn(l, "a") == 100000 - 65536);
  expect_line("chatty", "last");
  send_line("chatty");
  expect_line("chatty", "partial"); /* flushed at the exit */
  cr_assert(tu_wait_file_contains(d.log, "exit program=chatty", 20000));
  cr_assert_eq(tu_file_count(d.log, "syslog_error"), 0);
  tu_daemon_stop_clean(&d);
}

/* The process name is the ident: the bare one, as supervisord's
 * config.name; stdout_syslog = true keeps the file log as well. */
Test(syslog, ident_is_the_process_name_and_stdout_syslog_keeps_the_file) {
  setup();
  bind_syslog();
  char *conf;
  cr_assert(asprintf(&conf,
                     "syslog_socket = %s\n"
                     "[program:many]\n"
                     "command = sh -c 'echo hello %%(process_num)d; read x'\n"
                     "process_name = worker_%%(process_num)d\n"
                     "numprocs = 1\n"
                     "stdout_syslog = true\n"
                     "startsecs = 0\n",
                     sock_path()) > 0);
  tu_daemon_start(&d, conf);
  free(conf);
  expect_line("worker_0", "hello 0");
  char *logfile;
  cr_assert(asprintf(&logfile, "%s/log/many:worker_0.out", d.dir) > 0);
  bool in_file = tu_wait_file_contains(logfile, "hello 0\n", 20000);
  free(logfile);
  cr_assert(in_file, "stdout_syslog = true dropped the file log");
  tu_daemon_stop_clean(&d);
}

/* No syslog socket yet: the lines are dropped, said once in the daemon
 * log; once it is there the next line goes through, and the daemon says
 * how many were lost. */
Test(syslog, missing_socket_reported_once_then_resumes) {
  setup();
  char *conf;
  cr_assert(asprintf(&conf,
                     "syslog_socket = %s\n"
                     "[program:early]\n"
                     "command = sh -c 'echo one; echo two; read x; echo three; read x'\n"
                     "stdout_logfile = syslog\n"
                     "startsecs = 0\n",
                     sock_path()) > 0);
  tu_daemon_start(&d, conf);
  free(conf);
  cr_assert(tu_wait_file_contains(d.log, "syslog_error", 20000), "no syslog_error logged");
  bind_syslog();
  send_line("early");
  /* one was dropped (the error came from it); two may have come before
   * or after the socket was bound */
  next_datagram();
  const char *first = line_of("early");
  int lost = 2;
  if (strcmp(first, "two") == 0) {
    lost = 1;
    expect_line("early", "three");
  } else {
    cr_assert_str_eq(first, "three");
  }
  cr_assert(tu_wait_file_contains(d.log, "syslog_resumed", 20000));
  cr_assert_eq(tu_file_count(d.log, "syslog_error"), 1, "reported once");
  char want[32];
  snprintf(want, sizeof(want), "dropped=%d", lost);
  cr_assert_eq(tu_file_count(d.log, want), 1, "%s", tu_read_file(d.log, NULL));
  tu_daemon_stop_clean(&d);
}
