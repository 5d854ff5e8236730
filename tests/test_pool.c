/* SPDX-License-Identifier: MIT */
/*
 * tend pool, end to end: every test drives the real tend binary (tu_run,
 * or tu_run_hooked when it needs to act while tend runs)
 * and checks what a user sees: the commands run ({} {#} and the appended
 * task, ::: and stdin), the concurrency (-j1 against -j4, from timestamps
 * the tasks record themselves: nothing here sleeps), grouped output,
 * --keep-order, --joblog, the exit status, --halt-on-error, --dry-run,
 * --timeout, SIGINT, and memory that stays bounded over 40 MB of tasks.
 *
 * No process may outlive its test: the test process is a child subreaper,
 * and the teardown fails the test if anything tend started is still alive
 * (then kills it by pid).
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

TestSuite(pool, .init = tu_strays_init, .fini = tu_strays_fini, .timeout = 240);

#define POOL_TEST(name)                                                                        \
  static void name##_body(void);                                                               \
  Test(pool, name) {                                                                           \
    name##_body();                                                                             \
    tu_assert_no_strays(1000);                                                                 \
  }                                                                                            \
  static void name##_body(void)

/* ---- helpers ------------------------------------------------------------ */

/* Split text into lines (in place); returns how many. */
static int split_lines(char *text, char **lines, int max) {
  int n = 0;
  for (char *p = text; *p != '\0' && n < max;) {
    char *nl = strchr(p, '\n');
    lines[n++] = p;
    if (nl == NULL)
      break;
    *nl = '\0';
    p = nl + 1;
  }
  return n;
}

/* Nanosecond timestamp a task wrote to dir/name. */
static int64_t stamp(const char *name) {
  char *path = tu_fmt("%s/%s", tu_test_dir(), name);
  char *s = tu_read_file(path, NULL);
  cr_assert(s != NULL, "no %s: the task did not run", path);
  int64_t v = strtoll(s, NULL, 10);
  cr_assert(v > 0, "bad stamp in %s: '%s'", path, s);
  free(s);
  free(path);
  return v;
}

/* ---- substitution and task sources -------------------------------------- */

POOL_TEST(braces_and_sequence_numbers) {
  tu_result_t r;
  TEND(&r, 20000, "pool", "-j", "1", "--", "echo", "x{}y", "{#}", "{}", ":::", "a", "b c", "d");
  assert_exit(&r, 0);
  assert_out(&r, "xay 1 a\nxb cy 2 b c\nxdy 3 d\n");
  tu_result_free(&r);
}

POOL_TEST(task_is_appended_as_one_argument_without_a_shell) {
  tu_result_t r;
  /* No {}: the task is the last argument, spaces, quotes and $ intact. */
  TEND(&r, 20000, "pool", "-k", "--", "sh", "-c", "printf '[%s]' \"$@\"; echo", "sh", "pre",
       ":::", "a b", "it's $HOME", "");
  assert_exit(&r, 0);
  assert_out(&r, "[pre][a b]\n[pre][it's $HOME]\n[pre][]\n");
  tu_result_free(&r);
  /* {#} alone counts as a replacement string, as in GNU parallel. */
  TEND(&r, 20000, "pool", "-k", "--", "echo", "n{#}", ":::", "a", "b");
  assert_exit(&r, 0);
  assert_out(&r, "n1\nn2\n");
  tu_result_free(&r);
}

POOL_TEST(tasks_from_stdin) {
  tu_result_t r;
  /* The last line has no newline; an empty line is a task too. */
  TEND_IN(&r, "one\ntwo words\n\nlast", 20000, "pool", "-k", "-j", "3", "--", "echo", "<{}>");
  assert_exit(&r, 0);
  assert_out(&r, "<one>\n<two words>\n<>\n<last>\n");
  tu_result_free(&r);
  TEND_IN(&r, "", 20000, "pool", "--", "echo");
  assert_exit(&r, 0);
  assert_out(&r, "");
  tu_result_free(&r);
}

POOL_TEST(tasks_start_before_the_input_ends) {
  /* The producer writes the second line only once the first task has
   * run: a pool that read its stdin to the end first would never finish. */
  const char *d = tu_test_dir();
  char *script = tu_fmt("{ echo a; while [ ! -e %s/a ]; do sleep 0.01; done; echo b; } | "
                        "%s pool -j 2 -- touch %s/{}", d, tu_tend(), d);
  char *argv[] = {"sh", "-c", script, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 20000, &r);
  assert_exit(&r, 0);
  char *b = tu_fmt("%s/b", d);
  cr_assert(access(b, F_OK) == 0);
  tu_result_free(&r);
  free(b);
  free(script);
}

POOL_TEST(a_closed_stdout_stops_the_pool) {
  /* tend pool ... | head -1: the reader goes away; tend stops starting
   * tasks, stops the running ones and exits 141, as a pipeline member
   * killed by SIGPIPE would. */
  char *script = tu_fmt("%s pool -j 2 -- seq 1 1000000 ::: 1 2 3 4 5 6 7 8 | head -1; "
                        "echo \"status ${PIPESTATUS[0]}\"", tu_tend());
  char *argv[] = {"bash", "-c", script, NULL};
  tu_result_t r;
  tu_run(argv, NULL, 0, 20000, &r);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "1\nstatus 141\n");
  tu_result_free(&r);
  free(script);
}

/* ---- concurrency -------------------------------------------------------- */

/* Four tasks that stamp their start and end (date +%s%N) around a 0.3 s
 * sleep: their workload, not our synchronisation. */
static void run_stamped(const char *jobs, double *seconds) {
  char *script = tu_fmt("date +%%s%%N > %s/s.$0; sleep 0.3; date +%%s%%N > %s/e.$0", tu_test_dir(),
                        tu_test_dir());
  tu_result_t r;
  TEND(&r, 30000, "pool", "-j", jobs, "--", "sh", "-c", script, ":::", "1", "2", "3", "4");
  assert_exit(&r, 0);
  *seconds = r.seconds;
  tu_result_free(&r);
  free(script);
}

POOL_TEST(one_job_runs_tasks_one_after_another) {
  double secs;
  run_stamped("1", &secs);
  int64_t prev_end = 0;
  for (int i = 1; i <= 4; i++) {
    char s[16], e[16];
    snprintf(s, sizeof(s), "s.%d", i);
    snprintf(e, sizeof(e), "e.%d", i);
    int64_t st = stamp(s), en = stamp(e);
    cr_assert(st >= prev_end, "task %d started before task %d ended", i, i - 1);
    prev_end = en;
  }
  cr_assert(secs >= 1.2, "4 x 0.3 s one at a time took only %.2f s", secs);
}

POOL_TEST(four_jobs_run_tasks_together) {
  double secs;
  run_stamped("4", &secs);
  int64_t last_start = 0, first_end = INT64_MAX;
  for (int i = 1; i <= 4; i++) {
    char s[16], e[16];
    snprintf(s, sizeof(s), "s.%d", i);
    snprintf(e, sizeof(e), "e.%d", i);
    int64_t st = stamp(s), en = stamp(e);
    if (st > last_start)
      last_start = st;
    if (en < first_end)
      first_end = en;
  }
  cr_assert(last_start < first_end, "the 4 tasks did not all run at the same time");
  cr_assert(secs < 1.2, "4 x 0.3 s four at a time took %.2f s", secs);
}

POOL_TEST(never_more_than_n_at_once) {
  /* 10 tasks, -j 3: at no instant are more than 3 between start and end. */
  char *script = tu_fmt("date +%%s%%N > %s/s.$0; sleep 0.1; date +%%s%%N > %s/e.$0", tu_test_dir(),
                        tu_test_dir());
  tu_result_t r;
  TEND(&r, 30000, "pool", "-j", "3", "--", "sh", "-c", script, ":::", "1", "2", "3", "4", "5",
       "6", "7", "8", "9", "10");
  assert_exit(&r, 0);
  tu_result_free(&r);
  free(script);
  int64_t s[10], e[10];
  for (int i = 0; i < 10; i++) {
    char n[16];
    snprintf(n, sizeof(n), "s.%d", i + 1);
    s[i] = stamp(n);
    snprintf(n, sizeof(n), "e.%d", i + 1);
    e[i] = stamp(n);
  }
  int most = 0;
  for (int i = 0; i < 10; i++) { /* at each start, who is inside? */
    int inside = 0;
    for (int j = 0; j < 10; j++)
      inside += s[j] <= s[i] && s[i] < e[j];
    if (inside > most)
      most = inside;
  }
  cr_assert(most <= 3, "%d tasks ran at once with -j 3", most);
  cr_assert(most >= 2, "-j 3 never ran two tasks at once");
}

/* ---- output ------------------------------------------------------------- */

/* 8 tasks, 4 at a time, each writing 2000 lines to stdout and 500 to
 * stderr one write at a time: each task's lines must come out as one
 * block, in order. */
POOL_TEST(grouped_output_is_never_interleaved) {
  const char *script = "i=0; while [ $i -lt 2000 ]; do echo \"$0 $i\"; "
                       "[ $((i % 4)) = 0 ] && echo \"$0 e$i\" >&2; i=$((i+1)); done";
  tu_result_t r;
  TEND(&r, 60000, "pool", "-j", "4", "--", "sh", "-c", script, ":::", "a", "b", "c", "d", "e",
       "f", "g", "h");
  assert_exit(&r, 0);
  for (int stream = 0; stream < 2; stream++) {
    char *text = stream ? r.err : r.out;
    int per = stream ? 500 : 2000;
    static char *lines[20000];
    int n = split_lines(text, lines, 20000);
    cr_assert_eq(n, 8 * per, "%d lines on stream %d", n, stream);
    bool seen[8] = {false};
    for (int b = 0; b < 8; b++) {
      char task = lines[b * per][0];
      cr_assert(task >= 'a' && task <= 'h');
      cr_assert(!seen[task - 'a'], "task %c's output is split", task);
      seen[task - 'a'] = true;
      for (int i = 0; i < per; i++) {
        char want[32];
        snprintf(want, sizeof(want), stream ? "%c e%d" : "%c %d", task, stream ? i * 4 : i);
        cr_assert_str_eq(lines[b * per + i], want, "line %d of block %d", i, b);
      }
    }
  }
  tu_result_free(&r);
}

POOL_TEST(keep_order_prints_in_input_order) {
  /* The first task takes longest: without -k it would be printed last. */
  tu_result_t r;
  TEND(&r, 30000, "pool", "-j", "4", "-k", "--", "sh", "-c",
       "sleep 0.$((4 - $0))$((4 - $0)); echo $0; echo err$0 >&2", ":::", "1", "2", "3", "4");
  assert_exit(&r, 0);
  assert_out(&r, "1\n2\n3\n4\n");
  cr_assert_str_eq(r.err, "err1\nerr2\nerr3\nerr4\n");
  tu_result_free(&r);
}

POOL_TEST(big_outputs_spill_and_stay_exact) {
  /* 3 MB per task, past the 1 MiB kept in memory per stream. */
  tu_result_t r;
  TEND(&r, 60000, "pool", "-j", "4", "-k", "--", "sh", "-c",
       "head -c 3000000 /dev/zero | tr '\\0' $0", ":::", "a", "b", "c", "d", "e");
  assert_exit(&r, 0);
  cr_assert_eq(r.out_len, 5 * 3000000u);
  for (size_t i = 0; i < r.out_len; i++)
    if (r.out[i] != "abcde"[i / 3000000]) {
      cr_assert_fail("byte %zu is '%c'", i, r.out[i]);
      break;
    }
  tu_result_free(&r);
}

/* ---- joblog, exit status ------------------------------------------------ */

POOL_TEST(joblog_has_gnu_parallel_columns) {
  char *log = tu_fmt("%s/joblog", tu_test_dir());
  tu_result_t r;
  int64_t before = (int64_t)time(NULL);
  TEND(&r, 20000, "pool", "-j", "1", "--joblog", log, "--", "sh", "-c", "printf abc; exit $0",
       ":::", "0", "3");
  assert_exit(&r, 1);
  tu_result_free(&r);
  char *text = tu_read_file(log, NULL);
  cr_assert(text != NULL);
  char *lines[8];
  int n = split_lines(text, lines, 8);
  cr_assert_eq(n, 3, "a header and 2 lines, got %d", n);
  cr_assert_str_eq(lines[0],
                   "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand");
  for (int i = 1; i <= 2; i++) {
    char *f[10];
    int k = 0;
    for (char *p = lines[i], *tab; k < 10; p = tab + 1) {
      f[k++] = p;
      if ((tab = strchr(p, '\t')) == NULL)
        break;
      *tab = '\0';
    }
    cr_assert_eq(k, 9, "line %d has %d fields", i, k);
    cr_assert_eq(atoi(f[0]), i);
    cr_assert_str_eq(f[1], ":");
    double start = atof(f[2]);
    cr_assert(start >= (double)before - 1 && start <= (double)time(NULL) + 1, "Starttime %s", f[2]);
    cr_assert(strchr(f[2], '.') != NULL && strlen(strchr(f[2], '.')) == 4, "Starttime %s", f[2]);
    cr_assert_eq(strlen(f[3]), 10, "JobRuntime is %%10.3f: '%s'", f[3]);
    cr_assert(atof(f[3]) >= 0 && atof(f[3]) < 10);
    cr_assert_str_eq(f[4], "0");
    cr_assert_str_eq(f[5], "3", "Receive counts stdout bytes");
    cr_assert_str_eq(f[6], i == 1 ? "0" : "3");
    cr_assert_str_eq(f[7], "0");
    cr_assert_str_eq(f[8], i == 1 ? "sh -c 'printf abc; exit $0' 0" : "sh -c 'printf abc; exit $0' 3");
  }
  free(text);
  free(log);
}

POOL_TEST(exit_status_is_the_number_failed) {
  tu_result_t r;
  TEND(&r, 20000, "pool", "--", "sh", "-c", "exit $0", ":::", "0", "1", "2", "0", "7", "0");
  assert_exit(&r, 3);
  tu_result_free(&r);
  /* A command that cannot start fails too, with a message. */
  TEND(&r, 20000, "pool", "--", "/nonexistent/tend-no-such", ":::", "x");
  assert_exit(&r, 1);
  cr_assert(strstr(r.err, "cannot run '/nonexistent/tend-no-such'") != NULL, "%s", r.err);
  tu_result_free(&r);
}

POOL_TEST(exit_status_caps_at_101) {
  char input[150 * 4 + 1];
  input[0] = '\0';
  for (int i = 1; i <= 150; i++)
    snprintf(input + strlen(input), sizeof(input) - strlen(input), "%d\n", i);
  tu_result_t r;
  TEND_IN(&r, input, 60000, "pool", "-j", "8", "--", "false");
  assert_exit(&r, 101);
  tu_result_free(&r);
}

POOL_TEST(halt_on_error_starts_nothing_more) {
  tu_result_t r;
  char *log = tu_fmt("%s/joblog", tu_test_dir());
  TEND(&r, 20000, "pool", "-j", "1", "--halt-on-error", "--joblog", log, "--", "sh", "-c",
       "echo $0; exit $0", ":::", "0", "4", "0", "0");
  assert_exit(&r, 1);
  assert_out(&r, "0\n4\n");
  cr_assert(strstr(r.err, "task 2 failed") != NULL, "%s", r.err);
  cr_assert(strstr(r.err, "2 queued not started") != NULL, "%s", r.err);
  tu_result_free(&r);
  char *text = tu_read_file(log, NULL);
  char *lines[8];
  cr_assert_eq(split_lines(text, lines, 8), 3, "only the two tasks that ran are logged");
  free(text);
  free(log);
}

POOL_TEST(halt_on_error_waits_for_running_tasks) {
  /* Task 1 fails while task 2 still runs: 2 completes, 3 and 4 never start. */
  char *script = tu_fmt("[ $0 = 1 ] && exit 1; sleep 0.3; echo done$0 > %s/done.$0", tu_test_dir());
  tu_result_t r;
  TEND(&r, 20000, "pool", "-j", "2", "--halt-on-error", "--", "sh", "-c", script, ":::", "1",
       "2", "3", "4");
  assert_exit(&r, 1);
  tu_result_free(&r);
  char *p2 = tu_fmt("%s/done.2", tu_test_dir()), *p3 = tu_fmt("%s/done.3", tu_test_dir());
  cr_assert(access(p2, F_OK) == 0, "the running task was not waited for");
  cr_assert(access(p3, F_OK) != 0, "a task started after the failure");
  free(p2);
  free(p3);
  free(script);
}

POOL_TEST(dry_run_prints_and_runs_nothing) {
  char *target = tu_fmt("%s/f-{}", tu_test_dir());
  tu_result_t r;
  TEND(&r, 20000, "pool", "--dry-run", "--", "touch", target, "{#}", ":::", "a", "b c");
  assert_exit(&r, 0);
  char *want = tu_fmt("touch %s/f-a 1\ntouch '%s/f-b c' 2\n", tu_test_dir(), tu_test_dir());
  assert_out(&r, want);
  tu_result_free(&r);
  char *made = tu_fmt("%s/f-a", tu_test_dir());
  cr_assert(access(made, F_OK) != 0, "--dry-run ran the command");
  TEND_IN(&r, "x\ny\n", 20000, "pool", "--dry-run", "--", "rm", "-rf");
  assert_exit(&r, 0);
  assert_out(&r, "rm -rf x\nrm -rf y\n");
  tu_result_free(&r);
  free(made);
  free(want);
  free(target);
}

POOL_TEST(timeout_kills_a_task) {
  char *log = tu_fmt("%s/joblog", tu_test_dir());
  tu_result_t r;
  TEND(&r, 20000, "pool", "-j", "2", "--timeout", "0.3", "--joblog", log, "--", "sh", "-c",
       "sleep $0 & wait", ":::", "30", "0");
  assert_exit(&r, 1);
  cr_assert(r.seconds < 5, "the timeout took %.1f s", r.seconds);
  cr_assert(strstr(r.err, "task 1 timed out after 0.3s") != NULL, "%s", r.err);
  tu_result_free(&r);
  char *text = tu_read_file(log, NULL);
  cr_assert(strstr(text, "\t0\t0\t-1\t15\tsh -c 'sleep $0 & wait' 30\n") != NULL,
            "Exitval -1, Signal 15 for the timed-out task:\n%s", text);
  cr_assert(strstr(text, "\t0\t0\t0\t0\tsh -c 'sleep $0 & wait' 0\n") != NULL, "%s", text);
  free(text);
  free(log);
}

POOL_TEST(bad_usage_is_255) {
  tu_result_t r;
  TEND(&r, 10000, "pool", "-j", "0", "--", "true");
  assert_exit(&r, 255);
  cr_assert(strstr(r.err, "--jobs") != NULL, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "pool", "--timeout", "soon", "--", "true");
  assert_exit(&r, 255);
  tu_result_free(&r);
  TEND(&r, 10000, "pool", "--bogus", "--", "true");
  assert_exit(&r, 255);
  cr_assert(strstr(r.err, "unknown option '--bogus'") != NULL, "%s", r.err);
  tu_result_free(&r);
  TEND(&r, 10000, "pool", "--", ":::", "a");
  assert_exit(&r, 255);
  tu_result_free(&r);
  char *nodir = tu_fmt("%s/no/such/dir/log", tu_test_dir());
  TEND(&r, 10000, "pool", "--joblog", nodir, "--", "true", ":::", "a");
  assert_exit(&r, 255);
  tu_result_free(&r);
  free(nodir);
}

/* ---- signals ------------------------------------------------------------ */

struct sigint_hook {
  const char *dir;
  bool sent;
};

/* Once tasks 1 and 2 have written their grandchild's pid, SIGINT tend. */
static bool sigint_when_running(pid_t pid, void *data) {
  struct sigint_hook *h = data;
  char p1[512], p2[512];
  snprintf(p1, sizeof(p1), "%s/gc.1", h->dir);
  snprintf(p2, sizeof(p2), "%s/gc.2", h->dir);
  if (tu_wait_number_file(p1, 0) <= 0 || tu_wait_number_file(p2, 0) <= 0)
    return false;
  kill(pid, SIGINT);
  h->sent = true;
  return true;
}

POOL_TEST(sigint_stops_running_groups_and_prints_a_summary) {
  const char *d = tu_test_dir();
  char *script = tu_fmt("echo started $0; sleep 300 & echo $! > %s/gc.$0.tmp; "
                        "mv %s/gc.$0.tmp %s/gc.$0; wait", d, d, d);
  char *argv[] = {(char *)tu_tend(), "pool", "-j", "2", "--", "sh", "-c", script, ":::", "1",
                  "2", "3", "4", NULL};
  struct sigint_hook h = {d, false};
  tu_result_t r;
  tu_run_hooked(argv, NULL, 0, 20000, sigint_when_running, &h, &r);
  cr_assert(h.sent, "the tasks never started");
  assert_exit(&r, 130);
  cr_assert(strstr(r.err, "tend pool: interrupted by SIGINT: 2 tasks done (2 failed), "
                            "2 stopped while running, 2 queued not started") != NULL,
            "summary: %s", r.err);
  /* What the stopped tasks printed is still delivered, grouped. */
  cr_assert(strstr(r.out, "started 1\n") != NULL && strstr(r.out, "started 2\n") != NULL,
            "%s", r.out);
  for (int i = 1; i <= 2; i++) {
    char *p = tu_fmt("%s/gc.%d", d, i);
    pid_t gc = (pid_t)tu_wait_number_file(p, 1000);
    cr_assert(tu_wait_gone(gc, 3000), "grandchild %d of task %d survived", (int)gc, i);
    free(p);
  }
  char *p3 = tu_fmt("%s/gc.3", d);
  cr_assert(access(p3, F_OK) != 0, "task 3 started after SIGINT");
  free(p3);
  tu_result_free(&r);
  free(script);
}

/* ---- memory ------------------------------------------------------------- */

/* tend's peak RSS so far (VmHWM, KiB), kept in *data; never done. Not
 * wait4's ru_maxrss: posix_spawn (CLONE_VM) makes the exec'ing child
 * inherit our own high-water mark, which holds the 40 MB input. */
static bool sample_hwm(pid_t pid, void *data) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return false;
  long kb;
  while (fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1 && kb > *(long *)data)
      *(long *)data = kb;
  fclose(f);
  return false;
}

/* 2 500 tasks of /bin/true, 8 at a time, each task line 16 000 bytes:
 * 40 MB of input that a pool holding every task would keep. tend reads
 * lazily, so its peak RSS stays far below. The bound is in bytes, so few
 * long lines prove it as well as many short ones: 20 000 lines of 2 000
 * bytes took 95 s on a busy 2-core machine, nearly all of it spawning. */
POOL_TEST(forty_megabytes_of_tasks_in_bounded_memory) {
  enum { N = 2500, LINE = 16000 };
  size_t len = (size_t)N * LINE;
  char *input = malloc(len + 1);
  cr_assert(input != NULL);
  for (int i = 0; i < N; i++) {
    char *l = input + (size_t)i * LINE;
    memset(l, 'x', LINE - 1);
    int k = snprintf(l, 16, "%d", i);
    l[k] = 'x';
    l[LINE - 1] = '\n';
  }
  input[len] = '\0';
  char *argv[] = {(char *)tu_tend(), "pool", "-j", "8", "--", "/bin/true", NULL};
  tu_result_t r;
  long hwm_kb = 0;
  tu_run_hooked(argv, input, len, 200000, sample_hwm, &hwm_kb, &r);
  assert_exit(&r, 0);
  long limit_kb = 16 * 1024;
#if defined(__SANITIZE_ADDRESS__)
  limit_kb = 160 * 1024; /* shadow memory and the allocator's quarantine */
#endif
  fprintf(stderr, "pool: %d tasks in %.1f s, tend peak RSS %ld KiB\n", N, r.seconds, hwm_kb);
  cr_assert(hwm_kb > 0, "VmHWM was never read");
  cr_assert(hwm_kb < limit_kb, "tend peaked at %ld KiB for %d tasks", hwm_kb, N);
  tu_result_free(&r);
  free(input);
}

POOL_TEST(progress_only_when_asked_or_on_a_terminal) {
  tu_result_t r;
  /* stderr is a pipe here: no progress by default */
  TEND(&r, 20000, "pool", "-j", "2", "--", "true", ":::", "a", "b", "c");
  assert_exit(&r, 0);
  cr_assert(strstr(r.err, "tend pool:") == NULL, "progress on a pipe: %s", r.err);
  tu_result_free(&r);
  TEND(&r, 20000, "pool", "--progress", "-j", "2", "--", "true", ":::", "a", "b", "c");
  assert_exit(&r, 0);
  cr_assert(strstr(r.err, "tend pool: 3/3 done (0 failed), 0 running"), "%s", r.err);
  cr_assert(strstr(r.err, "ETA"), "%s", r.err);
  /* the line is erased at the end */
  cr_assert(r.err_len >= 4 && memcmp(r.err + r.err_len - 4, "\r\033[K", 4) == 0, "%s", r.err);
  tu_result_free(&r);
}
