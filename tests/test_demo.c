/* SPDX-License-Identifier: MIT */
/*
 * tend demo, end to end: every demo of the tutorial runs through the real
 * tend binary (tu_run: posix_spawn + poll, with a deadline) with small
 * parameters, and its output is checked line by line with patterns: the
 * real pid relationships (a forked child names its parent's pid), the
 * pool's bound (never more than 4 tasks between their Run and Task lines),
 * the lock's balance (0, every run), the threads' names (no cross-talk).
 * Values that are the point of a race (the unlocked balance, CPU figures)
 * are checked for shape only.
 *
 * Every demo's children inherit its stdout, so a child left behind would
 * hold the pipe open: tu_run would reach its deadline and kill the group.
 * Asserting that no run timed out is also the check that nothing stayed.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEADLINE_MS 30000
#define MAXLINES 64

/* tend demo ARGS... (NULL-terminated). */
static void demo_v(tu_result_t *r, const char *const *args) {
  const char *argv[32] = {tu_tend(), "demo"};
  int n = 2;
  for (int i = 0; args[i] != NULL && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  tu_run((char *const *)argv, NULL, 0, DEADLINE_MS, r);
}
#define DEMO(r, ...) demo_v((r), (const char *const[]){__VA_ARGS__, NULL})

/* Ran to the end, exit status 0. */
static void assert_ok(const tu_result_t *r) {
  cr_assert(!r->timed_out, "timed out (or left a process holding its stdout)\n%s", r->out);
  cr_assert_eq(r->exit_code, 0, "exit %d, signal %d\nstdout:\n%s\nstderr:\n%s", r->exit_code,
               r->signal, r->out, r->err);
}

/* The output's lines, split in place in a copy (freed with free(l.text)). */
typedef struct {
  char *text;
  char *line[MAXLINES];
  int n;
} lines_t;

static void lines_of(lines_t *l, const char *out) {
  l->text = strdup(out);
  cr_assert(l->text != NULL);
  l->n = 0;
  char *save = NULL;
  for (char *s = strtok_r(l->text, "\n", &save); s != NULL; s = strtok_r(NULL, "\n", &save)) {
    cr_assert(l->n < MAXLINES, "too many lines:\n%s", out);
    l->line[l->n++] = s;
  }
}

/* Whether line matches the extended regex pattern (anchored at both ends);
 * the groups go to caps as numbers (or -1 when a group is not a number). */
static bool match(const char *line, const char *pattern, long *caps, int ncaps) {
  char anchored[512];
  snprintf(anchored, sizeof(anchored), "^%s$", pattern);
  regex_t re;
  cr_assert(regcomp(&re, anchored, REG_EXTENDED) == 0, "bad pattern %s", pattern);
  regmatch_t m[8];
  bool ok = regexec(&re, line, 8, m, 0) == 0;
  regfree(&re);
  for (int i = 0; ok && i < ncaps && i < 7; i++) {
    char num[32] = "";
    int len = (int)(m[i + 1].rm_eo - m[i + 1].rm_so);
    if (m[i + 1].rm_so >= 0 && len < (int)sizeof(num))
      snprintf(num, sizeof(num), "%.*s", len, line + m[i + 1].rm_so);
    char *end;
    caps[i] = strtol(num, &end, 10);
    if (*num == '\0' || *end != '\0')
      caps[i] = -1;
  }
  return ok;
}

/* The index of the first line from `from` on that matches, or -1. */
static int find(const lines_t *l, int from, const char *pattern, long *caps, int ncaps) {
  for (int i = from; i < l->n; i++)
    if (match(l->line[i], pattern, caps, ncaps))
      return i;
  return -1;
}

static int count(const lines_t *l, const char *pattern) {
  int n = 0;
  for (int i = 0; i < l->n; i++)
    n += match(l->line[i], pattern, NULL, 0);
  return n;
}

TestSuite(demo);

/* ---- the table and its options ------------------------------------------ */

Test(demo, list_names_every_demo) {
  static const char *const names[] = {"fork", "process", "pool", "subprocess", "queue",
                                      "thread", "race", "lock", "threadlocal", "multicore",
                                      "distributed"};
  tu_result_t r;
  DEMO(&r, "list");
  assert_ok(&r);
  lines_t l;
  lines_of(&l, r.out);
  cr_assert_eq(l.n, 11, "%s", r.out);
  for (int i = 0; i < 11; i++) {
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "%s +[^ ].*", names[i]);
    cr_assert(match(l.line[i], pattern, NULL, 0), "line %d: %s", i, l.line[i]);
  }
  free(l.text);
  tu_result_free(&r);
}

Test(demo, usage_errors_exit_2) {
  static const char *const bad[][3] = {
      {NULL},                                  /* no demo named */
      {"nosuch", NULL},                        /* unknown demo */
      {"fork", "--iterations", "5"},           /* an option the demo does not take */
      {"race", "--iterations", "0"},           /* out of range */
      {"pool", "--scale", "x"},                /* not a number */
      {"thread", "extra", NULL},               /* an argument */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *argv[6] = {tu_tend(), "demo", bad[i][0], bad[i][0] ? bad[i][1] : NULL,
                           bad[i][0] && bad[i][1] ? bad[i][2] : NULL, NULL};
    tu_result_t r;
    tu_run((char *const *)argv, NULL, 0, DEADLINE_MS, &r);
    cr_assert_eq(r.exit_code, 2, "case %zu: exit %d\n%s", i, r.exit_code, r.err);
    cr_assert(strstr(r.err, "tend demo") != NULL || strstr(r.err, "usage:") != NULL,
              "case %zu: %s", i, r.err);
    cr_assert_eq(r.out_len, 0, "case %zu printed: %s", i, r.out);
    tu_result_free(&r);
  }
}

Test(demo, help_and_the_subcommand_table) {
  const char *help[] = {tu_tend(), "help", "demo", NULL};
  tu_result_t r;
  tu_run((char *const *)help, NULL, 0, DEADLINE_MS, &r);
  assert_ok(&r);
  cr_assert(strstr(r.out, "tend demo list") != NULL, "%s", r.out);
  tu_result_free(&r);

  const char *top[] = {tu_tend(), "--help", NULL};
  tu_run((char *const *)top, NULL, 0, DEADLINE_MS, &r);
  assert_ok(&r);
  cr_assert(strstr(r.out, "\n  demo ") != NULL, "%s", r.out);
  tu_result_free(&r);
}

/* ---- processes ------------------------------------------------------------ */

Test(demo, fork_child_names_its_real_parent) {
  for (int run = 0; run < 3; run++) {
    tu_result_t r;
    DEMO(&r, "fork");
    assert_ok(&r);
    lines_t l;
    lines_of(&l, r.out);
    cr_assert_eq(l.n, 3, "%s", r.out);
    long p[1], parent[2], child[2];
    cr_assert(match(l.line[0], "Process \\(([0-9]+)\\) start\\.\\.\\.", p, 1), "%s", r.out);
    /* The two later lines come in either order: two processes race. */
    int pi = find(&l, 1, "I \\(([0-9]+)\\) just created a child process \\(([0-9]+)\\)\\.",
                  parent, 2);
    int ci = find(&l, 1, "I am child process \\(([0-9]+)\\) and my parent is \\(([0-9]+)\\)\\.",
                  child, 2);
    cr_assert(pi > 0 && ci > 0, "%s", r.out);
    cr_assert_eq(parent[0], p[0], "%s", r.out);
    cr_assert_eq(parent[1], child[0], "the parent's child is the child: %s", r.out);
    cr_assert_eq(child[1], p[0], "getppid() in the child is the parent's pid: %s", r.out);
    cr_assert_neq(child[0], p[0], "%s", r.out);
    free(l.text);
    tu_result_free(&r);
  }
}

Test(demo, process_starts_and_joins_a_child) {
  tu_result_t r;
  DEMO(&r, "process");
  assert_ok(&r);
  lines_t l;
  lines_of(&l, r.out);
  cr_assert_eq(l.n, 4, "%s", r.out);
  long parent[1], child[1];
  cr_assert(match(l.line[0], "Parent process ([0-9]+)\\.", parent, 1), "%s", r.out);
  cr_assert_str_eq(l.line[1], "Child process will start.");
  cr_assert(match(l.line[2], "Run child process test \\(([0-9]+)\\)\\.\\.\\.", child, 1), "%s",
            r.out);
  cr_assert_str_eq(l.line[3], "Child process end.");
  cr_assert_neq(child[0], parent[0]);
  free(l.text);
  tu_result_free(&r);
}

/* The pool's lines, in order: at most 4 tasks between "Run task i" and
 * "Task i runs", and task 4 runs only after some task ended. */
static void check_pool(const char *out) {
  lines_t l;
  lines_of(&l, out);
  long parent[1];
  cr_assert(l.n > 0 && match(l.line[0], "Parent process ([0-9]+)\\.", parent, 1), "%s", out);
  cr_assert_str_eq(l.line[l.n - 1], "All subprocesses done.", "%s", out);
  cr_assert_eq(count(&l, "Waiting for all subprocesses done\\.\\.\\."), 1, "%s", out);
  bool ran[5] = {false}, ended[5] = {false};
  long pids[5];
  int running = 0, most = 0, ended_before_4 = -1, nended = 0;
  for (int i = 1; i < l.n - 1; i++) {
    long c[2];
    if (match(l.line[i], "Run task ([0-9]) \\(([0-9]+)\\)\\.\\.\\.", c, 2)) {
      cr_assert(c[0] < 5 && !ran[c[0]], "%s", out);
      cr_assert_neq(c[1], parent[0], "%s", out);
      ran[c[0]] = true;
      pids[c[0]] = c[1];
      if (++running > most)
        most = running;
      if (c[0] == 4)
        ended_before_4 = nended;
    } else if (match(l.line[i], "Task ([0-9]) runs ([0-9]+)\\.[0-9][0-9] seconds\\.", c, 2)) {
      cr_assert(c[0] < 5 && ran[c[0]] && !ended[c[0]], "Task %ld before its Run: %s", c[0], out);
      ended[c[0]] = true;
      running--;
      nended++;
    } else {
      cr_assert_str_eq(l.line[i], "Waiting for all subprocesses done...", "%s", out);
    }
  }
  cr_assert_eq(nended, 5, "%s", out);
  cr_assert(most <= 4, "%d tasks ran at once: %s", most, out);
  cr_assert(ended_before_4 >= 1, "task 4 started before a slot was free: %s", out);
  for (int i = 0; i < 5; i++)
    for (int j = i + 1; j < 5; j++)
      cr_assert_neq(pids[i], pids[j], "each task is a process of its own: %s", out);
  free(l.text);
}

Test(demo, pool_runs_five_tasks_four_at_a_time) {
  static const char *const seeds[] = {"1", "2", "3", "4"};
  for (int i = 0; i < 4; i++) {
    tu_result_t r;
    DEMO(&r, "pool", "--scale", "0.02", "--seed", seeds[i]);
    assert_ok(&r);
    check_pool(r.out);
    tu_result_free(&r);
  }
}

Test(demo, subprocess_communicates_with_sort) {
  tu_result_t r;
  DEMO(&r, "subprocess");
  assert_ok(&r);
  cr_assert(strstr(r.out, "| sort -r\nset q=mx\npython.org\nexit\nExit code: 0\n") != NULL,
            "%s", r.out);
  tu_result_free(&r);
}

Test(demo, queue_reader_gets_every_item_then_is_terminated) {
  static const char *const seeds[] = {"1", "2", "3"};
  for (int i = 0; i < 3; i++) {
    tu_result_t r;
    DEMO(&r, "queue", "--scale", "0.01", "--seed", seeds[i]);
    assert_ok(&r);
    lines_t l;
    lines_of(&l, r.out);
    long w[1], rd[1], term[1];
    cr_assert(find(&l, 0, "Process to write: ([0-9]+)", w, 1) >= 0, "%s", r.out);
    int ri = find(&l, 0, "Process to read: ([0-9]+)", rd, 1);
    cr_assert(ri >= 0 && rd[0] != w[0], "%s", r.out);
    int prev_get = ri;
    for (const char *v = "ABC"; *v != '\0'; v++) {
      char put[32], get[32];
      snprintf(put, sizeof(put), "Put %c to queue\\.\\.\\.", *v);
      snprintf(get, sizeof(get), "Get %c from queue", *v);
      int pi = find(&l, 0, put, NULL, 0), gi = find(&l, 0, get, NULL, 0);
      cr_assert(pi >= 0 && gi > pi, "%c: put at %d, got at %d: %s", *v, pi, gi, r.out);
      cr_assert(gi > prev_get, "the queue keeps its order: %s", r.out);
      prev_get = gi;
    }
    cr_assert_eq(l.n, 9, "%s", r.out);
    cr_assert(match(l.line[8], "Reader \\(([0-9]+)\\) terminated by SIGTERM\\.", term, 1), "%s",
              r.out);
    cr_assert_eq(term[0], rd[0]);
    free(l.text);
    tu_result_free(&r);
  }
}

Test(demo, distributed_master_and_worker_over_pipes) {
  tu_result_t r;
  DEMO(&r, "distributed", "--scale", "0", "--seed", "7");
  assert_ok(&r);
  lines_t l;
  lines_of(&l, r.out);
  cr_assert(find(&l, 0, "  on every worker machine: +tend worker --redis URL", NULL, 0) >= 0,
            "%s", r.out);
  long put[10];
  int at = 0;
  for (int i = 0; i < 10; i++) {
    at = find(&l, at, "Put task ([0-9]+)\\.\\.\\.", &put[i], 1);
    cr_assert(at >= 0 && put[i] <= 10000, "%s", r.out);
    at++;
  }
  at = find(&l, at, "Try get results\\.\\.\\.", NULL, 0);
  cr_assert(at > 0, "%s", r.out);
  for (int i = 0; i < 10; i++) {
    long c[3];
    at = find(&l, at, "Result: ([0-9]+) \\* ([0-9]+) = ([0-9]+)", c, 3);
    cr_assert(at >= 0, "result %d missing: %s", i, r.out);
    cr_assert(c[0] == put[i] && c[1] == put[i] && c[2] == put[i] * put[i], "%s", r.out);
    at++;
  }
  cr_assert_eq(count(&l, "run task [0-9]+ \\* [0-9]+\\.\\.\\."), 10, "%s", r.out);
  cr_assert_eq(count(&l, "worker exit\\."), 1, "%s", r.out);
  cr_assert_str_eq(l.line[l.n - 1], "master exit.", "%s", r.out);

  /* --seed repeats the tasks. */
  tu_result_t again;
  DEMO(&again, "distributed", "--scale", "0", "--seed", "7");
  assert_ok(&again);
  lines_t l2;
  lines_of(&l2, again.out);
  at = 0;
  for (int i = 0; i < 10; i++) {
    long n[1];
    at = find(&l2, at, "Put task ([0-9]+)\\.\\.\\.", n, 1);
    cr_assert(at >= 0 && n[0] == put[i], "%s", again.out);
    at++;
  }
  free(l2.text);
  tu_result_free(&again);
  free(l.text);
  tu_result_free(&r);
}

Test(demo, distributed_with_redis_shows_the_commands) {
  tu_result_t r;
  DEMO(&r, "distributed", "--redis", "redis://127.0.0.1:6379");
  assert_ok(&r);
  cr_assert(strstr(r.out, "tend worker --redis redis://127.0.0.1:6379\n") != NULL, "%s", r.out);
  cr_assert(strstr(r.out, "tend submit --redis redis://127.0.0.1:6379 -- ") != NULL, "%s", r.out);
  cr_assert(strstr(r.out, "Put task") == NULL, "nothing runs locally: %s", r.out);
  tu_result_free(&r);
}

/* ---- threads ------------------------------------------------------------- */

Test(demo, thread_loopthread_counts_to_five) {
  tu_result_t r;
  DEMO(&r, "thread", "--interval", "0.001");
  assert_ok(&r);
  cr_assert_str_eq(r.out, "thread MainThread is running...\n"
                          "thread LoopThread is running...\n"
                          "thread LoopThread >>> 1\n"
                          "thread LoopThread >>> 2\n"
                          "thread LoopThread >>> 3\n"
                          "thread LoopThread >>> 4\n"
                          "thread LoopThread >>> 5\n"
                          "thread LoopThread ended.\n"
                          "thread MainThread ended.\n");
  tu_result_free(&r);
}

Test(demo, thread_interval_paces_the_loop) {
  tu_result_t r;
  DEMO(&r, "thread", "--interval", "0.05");
  assert_ok(&r);
  cr_assert(r.seconds >= 0.25, "5 pauses of 50 ms took %.3f s", r.seconds);
  tu_result_free(&r);
}

Test(demo, race_prints_a_balance_and_why) {
  tu_result_t r;
  DEMO(&r, "race", "--iterations", "100000");
  assert_ok(&r);
  lines_t l;
  lines_of(&l, r.out);
  cr_assert_eq(l.n, 2, "%s", r.out);
  cr_assert(match(l.line[0], "balance = -?[0-9]+", NULL, 0), "%s", r.out);
  cr_assert(match(l.line[1], "Why.*", NULL, 0), "%s", r.out);
  free(l.text);
  tu_result_free(&r);
}

Test(demo, lock_keeps_the_balance_at_zero) {
  for (int run = 0; run < 5; run++) {
    tu_result_t r;
    DEMO(&r, "lock", "--iterations", "100000");
    assert_ok(&r);
    lines_t l;
    lines_of(&l, r.out);
    cr_assert(find(&l, 0, "without the lock: balance = -?[0-9]+ in [0-9]+\\.[0-9] ms", NULL,
                   0) >= 0, "%s", r.out);
    cr_assert(find(&l, 0, "with the lock: +balance = 0 in [0-9]+\\.[0-9] ms", NULL, 0) >= 0,
              "run %d: %s", run, r.out);
    free(l.text);
    tu_result_free(&r);
  }
}

Test(demo, threadlocal_each_thread_sees_its_own_student) {
  for (int run = 0; run < 5; run++) {
    tu_result_t r;
    DEMO(&r, "threadlocal");
    assert_ok(&r);
    lines_t l;
    lines_of(&l, r.out);
    cr_assert_eq(l.n, 2, "%s", r.out);
    cr_assert_eq(count(&l, "Hello, Alice \\(in Thread-A\\)"), 1, "%s", r.out);
    cr_assert_eq(count(&l, "Hello, Bob \\(in Thread-B\\)"), 1, "%s", r.out);
    free(l.text);
    tu_result_free(&r);
  }
}

Test(demo, multicore_counts_per_thread_and_measures_cpu) {
  tu_result_t r;
  DEMO(&r, "multicore", "--threads", "2", "--seconds", "0.2");
  assert_ok(&r);
  lines_t l;
  lines_of(&l, r.out);
  cr_assert_eq(l.n, 5, "%s", r.out);
  cr_assert(match(l.line[0], "2 busy threads on [0-9]+ CPUs for 0\\.20 s:", NULL, 0), "%s",
            r.out);
  for (int i = 1; i <= 2; i++) {
    long c[2];
    cr_assert(match(l.line[i], "thread ([0-9]): ([0-9]+) iterations, [0-9]+\\.[0-9]+ s of CPU",
                    c, 2), "%s", r.out);
    cr_assert(c[0] == i && c[1] > 0, "%s", r.out);
  }
  long c[2];
  cr_assert(match(l.line[3],
                  "total: [0-9]+\\.[0-9]+ s of CPU in ([0-9]+)\\.([0-9]+) s: [0-9]+% .*", c, 2),
            "%s", r.out);
  cr_assert(c[0] > 0 || c[1] >= 20, "ran the whole 0.2 s: %s", r.out);
  free(l.text);
  tu_result_free(&r);
}
