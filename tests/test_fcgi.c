/* SPDX-License-Identifier: MIT */
/*
 * [fcgi-program:x], end to end, as supervisord runs it: the daemon binds
 * the socket (loopback TCP on a free port, or a Unix socket in the test's
 * directory), and numprocs processes accept on it as their fd 0. Each
 * process is a small responder that writes its own pid to every
 * connection, so the test sees which process answered: all of them on one
 * socket, the socket still serving after one restarts, and the socket
 * closed once a reload removed the group.
 *
 * Every wait has a deadline (connect, poll, the daemon's replies); each
 * daemon is stopped by pid in the suite's fini, its processes with it.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static tu_daemon_t d;
static int blocker = -1; /* a listener of the test's own */
static char *tmp;        /* a directory of the test's own */

static void cleanup(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
  if (blocker >= 0)
    close(blocker);
  blocker = -1;
  if (tmp != NULL)
    tu_rmdir(tmp); /* frees it */
  tmp = NULL;
}

TestSuite(fcgi, .timeout = 120, .fini = cleanup);

/* Writes its pid to each connection it accepts on fd 0, for ever. */
#define RESPONDER                                                                    \
  "python3 -c 'import socket,os; s=socket.socket(fileno=0); "                        \
  "[(lambda c: (c.sendall(b\"%%%%d\\n\" %%%% os.getpid()), c.close()))(s.accept()[0]) " \
  "for _ in iter(int, 1)]'"

typedef struct {
  bool tcp;
  int port;
  char path[108];
} target_t;

/* A loopback port nobody listens on now: bind port 0, read it back. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* One connection: 0 and the answering pid, or -errno of the connect
 * (-ECONNREFUSED, -ENOENT), or -ETIMEDOUT when nothing came back. */
static long ask(const target_t *t) {
  int fd = socket(t->tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  int r;
  if (t->tcp) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  } else {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  }
  if (r != 0) {
    r = -errno;
    close(fd);
    return r;
  }
  char b[64];
  size_t n = 0;
  struct pollfd p = {fd, POLLIN, 0};
  while (n < sizeof(b) - 1 && poll(&p, 1, 10000) == 1) {
    ssize_t k = read(fd, b + n, sizeof(b) - 1 - n);
    if (k <= 0)
      break;
    n += (size_t)k;
  }
  close(fd);
  b[n] = '\0';
  return n > 0 ? strtol(b, NULL, 10) : -ETIMEDOUT;
}

static long pid_of(const char *name) {
  json_t *e = tu_status_of(&d, name);
  json_t *p = json_object_get(e, "pid");
  long pid = json_is_integer(p) ? (long)json_integer_value(p) : -1;
  const char *st = json_string_value(json_object_get(e, "state"));
  bool running = st != NULL && strcmp(st, "RUNNING") == 0;
  json_decref(e);
  return running ? pid : -1;
}

/* Connect again and again until every pid of want[] answered once. */
static void all_answer(const target_t *t, const long *want, int n) {
  bool seen[8] = {false};
  int left = n;
  long last = 0;
  int64_t end = tu_now_ms() + 60000;
  while (left > 0 && tu_now_ms() < end) {
    long pid = ask(t);
    last = pid;
    for (int i = 0; i < n; i++) {
      if (pid == want[i] && !seen[i]) {
        seen[i] = true;
        left--;
      }
    }
    if (pid < 0)
      break; /* the socket is bound before the processes start */
  }
  char *log = left > 0 ? tu_read_file(d.log, NULL) : NULL;
  cr_assert(left == 0, "%d of %d processes never answered (last answer %ld); log:\n%s", left, n,
            last, log != NULL ? log : "");
}

/* The pids of web:web_0..2, all RUNNING. */
static void running_pids(long *pids) {
  for (int i = 0; i < 3; i++) {
    char name[32], needle[96];
    snprintf(name, sizeof(name), "web:web_%d", i);
    snprintf(needle, sizeof(needle), "state program=%s from=STARTING to=RUNNING", name);
    cr_assert(tu_wait_file_contains(d.log, needle, 30000), "%s never RUNNING", name);
    pids[i] = pid_of(name);
    cr_assert(pids[i] > 0, "%s not RUNNING", name);
  }
}

static void ctl_ok(const char *cmd, const char *arg) {
  tu_result_t r;
  tu_ctl(&d, &r, cmd, arg, NULL);
  cr_assert_eq(r.exit_code, 0, "%s %s: %s %s", cmd, arg ? arg : "", r.out, r.err);
  tu_result_free(&r);
}

static const char *group(const char *socket_lines) {
  static char text[2048];
  snprintf(text, sizeof(text),
           "[fcgi-program:web]\n"
           "command = " RESPONDER "\n"
           "%s"
           "process_name = %%(program_name)s_%%(process_num)d\n"
           "numprocs = 3\n"
           "startsecs = 0\n",
           socket_lines);
  return text;
}

/* The config without the group: a reload removes it. */
static void remove_group(void) {
  char *text;
  cr_assert(asprintf(&text, "[tend]\nsocket = %s\nlogdir = %s/log\n\n[program:other]\n"
                            "command = sh -c 'read x'\n", d.sock, d.dir) > 0);
  tu_write_file(d.conf, text);
  free(text);
  ctl_ok("reload", NULL);
}

static void wait_all_gone(const long *pids) {
  for (int i = 0; i < 3; i++)
    cr_assert(tu_wait_gone((pid_t)pids[i], 30000), "pid %ld still there", pids[i]);
}

Test(fcgi, three_processes_share_one_tcp_socket) {
  target_t t = {.tcp = true, .port = free_port()};
  char sock[128];
  snprintf(sock, sizeof(sock), "socket = tcp://127.0.0.1:%d\n", t.port);
  tu_daemon_start(&d, group(sock));
  long pids[3];
  running_pids(pids);
  all_answer(&t, pids, 3);
  cr_assert(tu_wait_file_contains(d.log, "fcgi_socket program=web", 1000));

  /* A restart: the socket stays open, the new process answers on it. */
  ctl_ok("restart", "web:web_1");
  long again[3];
  running_pids(again);
  cr_assert_neq(again[1], pids[1]);
  all_answer(&t, again, 3);

  /* Removed by a reload: nobody listens once its processes are gone. */
  remove_group();
  wait_all_gone(again);
  long r = ask(&t);
  cr_assert_eq(r, -ECONNREFUSED, "still served after the group was removed: %ld", r);
  tu_daemon_stop_clean(&d);
}

Test(fcgi, unix_socket_with_mode_and_owner_removed_with_the_group) {
  tmp = tu_tmpdir();
  target_t t = {.tcp = false};
  snprintf(t.path, sizeof(t.path), "%s/web.sock", tmp);
  /* As root, give it away (the daemon chowns it); otherwise our own name. */
  const char *owner = geteuid() == 0 ? "nobody" : getpwuid(geteuid())->pw_name;
  struct passwd *pw = getpwnam(owner);
  cr_assert(pw != NULL);
  uid_t want_uid = pw->pw_uid;
  char lines[512];
  snprintf(lines, sizeof(lines), "socket = unix://%s\nsocket_mode = 0640\nsocket_owner = %s\n",
           t.path, owner);
  tu_daemon_start(&d, group(lines));
  long pids[3];
  running_pids(pids);
  struct stat st;
  cr_assert(lstat(t.path, &st) == 0 && S_ISSOCK(st.st_mode), "no socket at %s", t.path);
  cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
  cr_assert_eq(st.st_uid, want_uid);
  all_answer(&t, pids, 3);

  remove_group();
  /* the file goes with the reload, the listening socket with the
   * processes, which were stopping meanwhile */
  cr_assert(lstat(t.path, &st) != 0 && errno == ENOENT, "%s still there", t.path);
  wait_all_gone(pids);
  cr_assert_eq(ask(&t), -ENOENT);
  tu_daemon_stop_clean(&d);
}

/* A port in use: the processes cannot start (spawn error, as supervisord
 * cannot create the group), the daemon says why, and keeps running. */
Test(fcgi, port_in_use_is_a_spawn_error) {
  blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  cr_assert(bind(blocker, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  cr_assert(listen(blocker, 1) == 0);
  cr_assert(getsockname(blocker, (struct sockaddr *)&sa, &len) == 0);
  char lines[256];
  snprintf(lines, sizeof(lines), "socket = tcp://127.0.0.1:%d\nstartretries = 0\n",
           ntohs(sa.sin_port));
  tu_daemon_start(&d, group(lines));
  cr_assert(tu_wait_file_contains(d.log, "error=\"Address already in use\"", 20000),
            "%s", tu_read_file(d.log, NULL));
  cr_assert(tu_wait_file_contains(d.log, "program=web:web_2 from=BACKOFF to=FATAL", 20000),
            "%s", tu_read_file(d.log, NULL));
  cr_assert(tu_wait_file_contains(d.log, "spawn_error program=web:web_0", 1000));
  tu_daemon_stop_clean(&d);
}

/* A bad URL is a config error at its line, as every other bad value. */
Test(fcgi, bad_socket_url_is_a_config_error) {
  tmp = tu_tmpdir();
  char *conf;
  cr_assert(asprintf(&conf, "%s/tend.conf", tmp) > 0);
  tu_write_file(conf, "[fcgi-program:web]\n"
                      "command = cat\n"
                      "socket = udp://127.0.0.1:9000\n"
                      "[fcgi-program:api]\n"
                      "command = cat\n"
                      "socket = tcp://127.0.0.1:9001\n"
                      "socket_mode = 0600\n");
  char *argv[] = {(char *)tu_tend(), "check", "-c", conf, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 20000, &r);
  cr_assert_eq(r.exit_code, 2, "check: %s %s", r.out, r.err);
  char *want;
  cr_assert(asprintf(&want, "%s:3: [fcgi-program:web] socket: invalid value "
                            "'udp://127.0.0.1:9000': expected tcp://HOST:PORT or unix:///PATH",
                     conf) > 0);
  cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
  free(want);
  cr_assert(asprintf(&want, "%s:7: [fcgi-program:api] socket_mode: socket_owner and "
                            "socket_mode are for a unix:// socket only", conf) > 0);
  cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
  free(want);
  tu_result_free(&r);
  free(conf);
}

/* Messages about a whole program name its section as it was written. */
Test(fcgi, messages_name_the_fcgi_program_section) {
  tmp = tu_tmpdir();
  char *conf = tu_fmt("%s/tend.conf", tmp);
  tu_write_file(conf, "[fcgi-program:web]\n"
                      "command = cat\n"
                      "socket = tcp://127.0.0.1:9000\n"
                      "stdout_channel = nope\n"
                      "depends_on = web\n");
  tu_result_t r;
  TEND(&r, 20000, "check", "-c", conf);
  assert_exit(&r, 2);
  char *want = tu_fmt("%s:1: [fcgi-program:web] stdout_channel: unknown channel 'nope'", conf);
  cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
  free(want);
  want = tu_fmt("%s:5: [fcgi-program:web] depends_on: a program cannot depend on itself", conf);
  cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
  free(want);
  tu_result_free(&r);
  free(conf);
}
