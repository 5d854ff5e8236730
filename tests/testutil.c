/* SPDX-License-Identifier: MIT */
/* Test helpers: see testutil.h. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t tu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *tu_tend(void) {
  const char *p = getenv("TEND_BIN");
  cr_assert(p != NULL, "TEND_BIN is not set: run the tests through meson test");
  return p;
}

const char *tu_python(void) {
  const char *p = getenv("TEND_PYTHON");
  return p != NULL ? p : "/usr/bin/python3";
}

const char *tu_python_with(const char *module) {
  char *code = tu_fmt("import %s", module);
  char *probe[] = {(char *)tu_python(), "-c", code, NULL};
  tu_result_t r;
  tu_run(probe, NULL, 0, 30000, &r);
  bool missing = r.exit_code != 0;
  tu_result_free(&r);
  free(code);
  if (missing)
    cr_skip("SKIPPED: %s cannot import %s: install Debian's supervisor package, as dev.sh "
            "does", tu_python(), module);
  return tu_python();
}

/* Append n bytes to *buf (holding *len of *cap), keeping it NUL-terminated.
 * The capacity doubles: growing by exactly n would copy the whole buffer on
 * every read, quadratic in the output (minutes for 64 MiB under ASan). */
static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap > 0 ? *cap : 4096;
    while (c < *len + n + 1)
      c *= 2;
    *buf = realloc(*buf, c);
    cr_assert(*buf != NULL);
    *cap = c;
  }
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = '\0';
}

void tu_run(char *const argv[], const char *input, size_t input_len, int deadline_ms,
            tu_result_t *r) {
  tu_run_hooked(argv, input, input_len, deadline_ms, NULL, NULL, r);
}

pid_t tu_spawn(char *const argv[], posix_spawn_file_actions_t *fa) {
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&at, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  pid_t pid;
  int e = posix_spawnp(&pid, argv[0], fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(fa);
  posix_spawnattr_destroy(&at);
  cr_assert(e == 0, "spawn %s: %s", argv[0], strerror(e));
  return pid;
}

void tu_run_hooked(char *const argv[], const char *input, size_t input_len, int deadline_ms,
                   tu_hook_fn hook, void *hook_data, tu_result_t *r) {
  memset(r, 0, sizeof(*r));
  size_t out_cap = 0, err_cap = 0;
  append(&r->out, &r->out_len, &out_cap, "", 0);
  append(&r->err, &r->err_len, &err_cap, "", 0);
  int in[2] = {-1, -1}, out[2], err[2];
  cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
  if (input != NULL)
    cr_assert(pipe2(in, O_CLOEXEC) == 0);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (input != NULL)
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  pid_t pid = tu_spawn(argv, &fa);
  close(out[1]);
  close(err[1]);
  if (input != NULL) {
    close(in[0]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    if (input_len == 0) {
      close(in[1]);
      in[1] = -1;
    }
  }

  int64_t start = tu_now_ms(), deadline = start + deadline_ms;
  size_t sent = 0;
  bool out_open = true, err_open = true, hooking = hook != NULL;
  static char chunk[1 << 16];
  while (out_open || err_open) {
    if (hooking && hook(pid, hook_data))
      hooking = false;
    struct pollfd p[3];
    int n = 0;
    int io = -1, ie = -1, ii = -1;
    if (out_open) { p[n] = (struct pollfd){out[0], POLLIN, 0}; io = n++; }
    if (err_open) { p[n] = (struct pollfd){err[0], POLLIN, 0}; ie = n++; }
    if (in[1] >= 0) { p[n] = (struct pollfd){in[1], POLLOUT, 0}; ii = n++; }
    int64_t left = deadline - tu_now_ms();
    if (left <= 0) {
      r->timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    /* A hook looks at the process from outside: no event tells it when. */
    if (poll(p, (nfds_t)n, hooking && left > 10 ? 10 : (int)left) < 0)
      continue;
    if (io >= 0 && p[io].revents) {
      ssize_t k = read(out[0], chunk, sizeof(chunk));
      if (k > 0) append(&r->out, &r->out_len, &out_cap, chunk, (size_t)k);
      else out_open = false;
    }
    if (ie >= 0 && p[ie].revents) {
      ssize_t k = read(err[0], chunk, sizeof(chunk));
      if (k > 0) append(&r->err, &r->err_len, &err_cap, chunk, (size_t)k);
      else err_open = false;
    }
    if (ii >= 0 && p[ii].revents) {
      ssize_t k = write(in[1], input + sent, input_len - sent);
      if (k > 0) sent += (size_t)k;
      if (k < 0 && errno != EAGAIN) sent = input_len;
      if (sent == input_len) { close(in[1]); in[1] = -1; }
    }
  }
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  close(err[0]);
  /* Reap with the same deadline (plus a little after a kill): a pidfd
   * turns the exit into an event to poll. */
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  cr_assert(pfd >= 0, "pidfd_open: %s", strerror(errno));
  struct pollfd pp = {pfd, POLLIN, 0};
  int64_t left = deadline + 2000 - tu_now_ms();
  if (poll(&pp, 1, left > 0 ? (int)left : 0) != 1) {
    r->timed_out = true;
    kill(-pid, SIGKILL);
  }
  close(pfd);
  waitpid(pid, &r->status, 0);
  r->exit_code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
  r->signal = WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0;
  r->seconds = (double)(tu_now_ms() - start) / 1000.0;
}

void tu_result_free(tu_result_t *r) {
  free(r->out);
  free(r->err);
}

char *tu_tmpdir(void) {
  char *d = strdup("/tmp/tend-test-XXXXXX");
  cr_assert(mkdtemp(d) != NULL);
  return d;
}

static int rm_cb(const char *p, const struct stat *s, int f, struct FTW *w) {
  (void)s; (void)f; (void)w;
  return remove(p);
}

void tu_rmdir(char *dir) {
  nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

bool tu_proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return false;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name in parentheses may hold anything: the fields start
   * after the last ')'. */
  const char *rp = strrchr(buf, ')');
  int pp, pg;
  if (rp == NULL || sscanf(rp + 1, " %c %d %d", state, &pp, &pg) != 3)
    return false;
  *ppid = (pid_t)pp;
  *pgrp = (pid_t)pg;
  return true;
}

bool tu_alive(pid_t pid) {
  char state;
  pid_t ppid, pgrp;
  return tu_proc_stat(pid, &state, &ppid, &pgrp) && state != 'Z';
}

bool tu_wait_gone(pid_t pid, int deadline_ms) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0)
    return errno == ESRCH;
  struct pollfd pp = {pfd, POLLIN, 0};
  int64_t end = tu_now_ms() + deadline_ms;
  bool gone = false;
  /* Readable once the process has exited; a zombie counts as gone (its
   * parent, not us, reaps it). */
  for (int64_t left; !gone && (left = end - tu_now_ms()) >= 0;)
    gone = poll(&pp, 1, (int)left) == 1 || !tu_alive(pid);
  close(pfd);
  return gone;
}

/* A whole number line: "%ld\n". */
static bool number_line(const char *s, const void *v) {
  char *end;
  *(long *)v = strtol(s, &end, 10);
  return end != s && *end == '\n';
}

long tu_wait_number_file(const char *path, int deadline_ms) {
  long v = -1;
  return tu_wait_file(path, number_line, &v, deadline_ms) ? v : -1;
}

char *tu_fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  cr_assert(n >= 0);
  return s;
}

/* ---- tend on the command line ------------------------------------------ */

void tu_tend_v(tu_result_t *r, const char *input, size_t input_len, int deadline_ms,
               const char *const *args) {
  const char *argv[256];
  int n = 0;
  argv[n++] = tu_tend();
  for (int i = 0; args[i] != NULL; i++) {
    cr_assert(n < 255, "too many arguments for tend");
    argv[n++] = args[i];
  }
  argv[n] = NULL;
  tu_run((char *const *)argv, input, input_len, deadline_ms, r);
}

/* ---- processes a test leaves behind ------------------------------------ */

int tu_children_of(pid_t ppid, pid_t *out, int max) {
  DIR *d = opendir("/proc");
  cr_assert(d != NULL);
  int n = 0;
  for (struct dirent *e; n < max && (e = readdir(d)) != NULL;) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    char state;
    pid_t pp, pg;
    if (*end == '\0' && pid > 0 && tu_proc_stat((pid_t)pid, &state, &pp, &pg) && pp == ppid)
      out[n++] = (pid_t)pid;
  }
  closedir(d);
  return n;
}

void tu_strays_init(void) {
  cr_assert(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER: %s",
            strerror(errno));
}

static void reap_zombies(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

int tu_strays_kill(int grace_ms, char *names, size_t cap) {
  int nleft = 0;
  names[0] = '\0';
  /* Rounds: a killed process may have had children, reparented to us. */
  for (int round = 0; round < 20; round++) {
    reap_zombies();
    pid_t kids[64];
    int n = tu_children_of(getpid(), kids, 64);
    if (n == 0)
      break;
    for (int i = 0; i < n; i++) {
      if (tu_wait_gone(kids[i], grace_ms))
        continue;
      char path[64], comm[64] = "?";
      snprintf(path, sizeof(path), "/proc/%d/comm", (int)kids[i]);
      FILE *f = fopen(path, "r");
      if (f != NULL) {
        if (fgets(comm, sizeof(comm), f) != NULL)
          comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
      }
      size_t used = strlen(names);
      snprintf(names + used, cap - used, " %d(%s)", (int)kids[i], comm);
      nleft++;
      kill(kids[i], SIGKILL);
      tu_wait_gone(kids[i], 2000);
    }
  }
  reap_zombies();
  return nleft;
}

void tu_assert_no_strays(int grace_ms) {
  char names[512];
  int n = tu_strays_kill(grace_ms, names, sizeof(names));
  cr_assert(n == 0, "processes left behind (now killed):%s", names);
}

static char *test_dir_path;

const char *tu_test_dir(void) {
  if (test_dir_path == NULL)
    test_dir_path = tu_tmpdir();
  return test_dir_path;
}

void tu_strays_fini(void) {
  char names[512];
  tu_strays_kill(1000, names, sizeof(names));
  if (test_dir_path != NULL) {
    tu_rmdir(test_dir_path);
    test_dir_path = NULL;
  }
}

/* ---- the daemon -------------------------------------------------------- */

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>

char *tu_read_file(const char *path, size_t *len) {
  if (len != NULL)
    *len = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  char chunk[65536];
  size_t k;
  while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
    append(&buf, &n, &cap, chunk, k);
  fclose(f);
  if (buf == NULL)
    append(&buf, &n, &cap, "", 0);
  if (len != NULL)
    *len = n;
  return buf;
}

void tu_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL, "write %s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

int tu_file_count(const char *path, const char *needle) {
  char *s = tu_read_file(path, NULL);
  int n = 0;
  for (char *p = s; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  free(s);
  return n;
}

bool tu_wait_file(const char *path, bool (*pred)(const char *s, const void *arg),
                  const void *arg, int deadline_ms) {
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  cr_assert(in >= 0);
  /* Watch the directory: the file may not exist yet. Nor may the directory
   * (the daemon makes log/ when it opens the first log): then watch its
   * parent, whose event wakes us to watch the directory itself. Without
   * that the wait would sleep to its deadline through the run it waits for. */
  char *dir = strdup(path);
  *strrchr(dir, '/') = '\0';
  char *parent = strdup(dir);
  char *slash = strrchr(parent, '/');
  if (slash != NULL)
    *slash = '\0';
  bool watching = false;
  int64_t end = tu_now_ms() + deadline_ms;
  bool ok;
  for (;;) {
    if (!watching) {
      inotify_add_watch(in, parent, IN_CREATE | IN_MOVED_TO);
      watching = inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
                                                IN_CLOSE_WRITE) >= 0;
    }
    char *s = tu_read_file(path, NULL);
    ok = pred(s != NULL ? s : "", arg);
    free(s);
    int64_t left = end - tu_now_ms();
    if (ok || left <= 0)
      break;
    struct pollfd p = {in, POLLIN, 0};
    if (poll(&p, 1, (int)left) == 1) {
      char ev[4096];
      while (read(in, ev, sizeof(ev)) > 0)
        ;
    }
  }
  free(parent);
  free(dir);
  close(in);
  return ok;
}

static bool has_needle(const char *s, const void *needle) { return strstr(s, needle) != NULL; }

bool tu_wait_file_contains(const char *path, const char *needle, int deadline_ms) {
  return tu_wait_file(path, has_needle, needle, deadline_ms);
}

typedef struct {
  const char *needle;
  int n;
} needles_t;

static bool has_needles(const char *s, const void *arg) {
  const needles_t *w = arg;
  int seen = 0;
  for (const char *p = s; seen < w->n && (p = strstr(p, w->needle)) != NULL; p++)
    seen++;
  return seen >= w->n;
}

bool tu_wait_file_count(const char *path, const char *needle, int n, int deadline_ms) {
  needles_t w = {needle, n};
  return tu_wait_file(path, has_needles, &w, deadline_ms);
}

static bool socket_answers(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  close(fd);
  return ok;
}

/* TEND_VALGRIND=1 in the environment runs the daemon under valgrind
 * (memcheck; its report goes to the daemon's log, d->log). Its exit status
 * is then 1 when valgrind found an error or a definite leak: check what
 * tu_daemon_stop returns. */
bool tu_valgrind(void) {
  const char *v = getenv("TEND_VALGRIND");
  return v != NULL && strcmp(v, "1") == 0;
}

bool tu_serve(char *const argv[], const char *out, const char *sock, int deadline_ms,
              pid_t *pid, int *status) {
  /* fork, not posix_spawn: the server must die with the test process
   * (PR_SET_PDEATHSIG), even when a failed assertion or a Criterion
   * timeout ends the test before it stops the server itself. */
  int log = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  cr_assert(log >= 0, "open %s: %s", out, strerror(errno));
  pid_t parent = getpid();
  *pid = fork();
  cr_assert(*pid >= 0, "fork: %s", strerror(errno));
  if (*pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
      signal(sig, SIG_DFL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
      _exit(126);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
      _exit(126);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(log);
  /* Ready when the socket answers; gone if it exits first. The socket
   * appears in the directory: wait on inotify events, with a deadline. */
  int pfd = (int)syscall(SYS_pidfd_open, *pid, 0);
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  char *dir = strdup(sock);
  *strrchr(dir, '/') = '\0';
  inotify_add_watch(in, dir, IN_CREATE | IN_ATTRIB);
  free(dir);
  int64_t end = tu_now_ms() + deadline_ms;
  bool up = false;
  while (!(up = socket_answers(sock))) {
    int64_t left = end - tu_now_ms();
    if (left <= 0)
      break;
    struct pollfd p[2] = {{pfd, POLLIN, 0}, {in, POLLIN, 0}};
    poll(p, 2, left > 50 ? 50 : (int)left); /* bind and listen are two steps */
    if (p[0].revents) {
      waitpid(*pid, status, 0);
      *pid = 0;
      break;
    }
    char ev[4096];
    while (read(in, ev, sizeof(ev)) > 0)
      ;
  }
  close(in);
  close(pfd);
  return up;
}

bool tu_daemon_try(tu_daemon_t *d, const char *conf_path, int *status) {
  char *plain[] = {(char *)tu_tend(), "daemon", "-c", (char *)conf_path, NULL};
  char *vg[] = {"valgrind", "--quiet", "--leak-check=full", "--error-exitcode=1",
                "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                (char *)tu_tend(), "daemon", "-c", (char *)conf_path, NULL};
  return tu_serve(tu_valgrind() ? vg : plain, d->log, d->sock, tu_valgrind() ? 60000 : 10000,
                  &d->pid, status);
}

void tu_daemon_start(tu_daemon_t *d, const char *conf_text) {
  memset(d, 0, sizeof(*d));
  d->dir = tu_tmpdir();
  cr_assert(asprintf(&d->conf, "%s/tend.conf", d->dir) > 0);
  cr_assert(asprintf(&d->sock, "%s/tend.sock", d->dir) > 0);
  cr_assert(asprintf(&d->log, "%s/daemon.log", d->dir) > 0);
  char *text;
  cr_assert(asprintf(&text, "[tend]\nsocket = %s\nlogdir = %s/log\n\n%s", d->sock, d->dir,
                     conf_text) > 0);
  tu_write_file(d->conf, text);
  free(text);
  int status = 0;
  bool up = tu_daemon_try(d, d->conf, &status);
  if (!up) {
    char *log = tu_read_file(d->log, NULL);
    if (d->pid > 0)
      kill(d->pid, SIGKILL), waitpid(d->pid, &status, 0);
    cr_assert_fail("the daemon did not come up (status %d); its log:\n%s", status,
                   log ? log : "(none)");
  }
}

int tu_daemon_stop(tu_daemon_t *d) {
  int status = -1;
  if (d->pid > 0) {
    kill(d->pid, SIGTERM);
    int pfd = (int)syscall(SYS_pidfd_open, d->pid, 0);
    struct pollfd p = {pfd, POLLIN, 0};
    if (pfd < 0 || poll(&p, 1, tu_valgrind() ? 60000 : 20000) != 1)
      kill(d->pid, SIGKILL);
    if (pfd >= 0)
      close(pfd);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
  }
  free(d->conf);
  free(d->sock);
  free(d->log);
  tu_rmdir(d->dir);
  memset(d, 0, sizeof(*d));
  return status;
}

void tu_daemon_stop_clean(tu_daemon_t *d) {
  char *log = tu_read_file(d->log, NULL);
  int status = tu_daemon_stop(d);
  cr_assert_eq(status, 0, "the daemon exited with wait status %d; its log:\n%s", status,
               log != NULL ? log : "");
  free(log);
}

void tu_ctl(tu_daemon_t *d, tu_result_t *r, const char *cmd, ...) {
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)tu_tend();
  argv[n++] = (char *)cmd;
  argv[n++] = "-s";
  argv[n++] = d->sock;
  va_list ap;
  va_start(ap, cmd);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL && n < 63)
    argv[n++] = (char *)a;
  va_end(ap);
  argv[n] = NULL;
  tu_run(argv, NULL, 0, 30000, r);
}

#include <jansson.h>

json_t *tu_status_of(tu_daemon_t *d, const char *name) {
  tu_result_t r;
  tu_ctl(d, &r, "status", "--json", name, NULL);
  json_t *arr = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(arr), "status --json: %s %s", r.out, r.err);
  tu_result_free(&r);
  json_t *e = json_incref(json_array_get(arr, 0));
  json_decref(arr);
  return e;
}
