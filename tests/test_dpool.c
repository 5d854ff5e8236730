/* SPDX-License-Identifier: MIT */
/*
 * Pools inside the daemon (multiprocessing.Pool): submit prints an id at
 * once, at most `workers` tasks run together (the tasks record their own
 * start and end times), join before close is an error, join reports every
 * task's exit code, every task exit is in the daemon log, and a joined pool
 * takes a new batch.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tu_daemon_t d;

static void stop_left_daemon(void) {
  if (d.dir != NULL)
    tu_daemon_stop(&d);
}

TestSuite(dpool, .timeout = 120, .fini = stop_left_daemon);

Test(dpool, bounded_concurrency_close_join) {
  tu_daemon_start(&d, "[pool:work]\nworkers = 2\n");
  /* Each task writes "START END" nanosecond times into its own file. */
  char script[1024];
  snprintf(script, sizeof(script),
           "s=$(date +%%s%%N); sleep 0.2; e=$(date +%%s%%N); echo \"$s $e\" > %s/t.$1; "
           "exit $(($1 %% 3))",
           d.dir);
  tu_result_t r;
  for (int i = 1; i <= 6; i++) {
    char num[8];
    snprintf(num, sizeof(num), "%d", i);
    tu_ctl(&d, &r, "submit", "work", "--", "sh", "-c", script, "task", num, NULL);
    assert_exit(&r, 0);
    char want[32];
    snprintf(want, sizeof(want), "work/%d\n", i);
    cr_assert_str_eq(r.out, want);
    tu_result_free(&r);
  }
  /* join before close: Python's ValueError */
  tu_ctl(&d, &r, "join", "work", NULL);
  assert_exit(&r, 1);
  cr_assert(strstr(r.err, "pool work is still running: close it before joining"), "%s", r.err);
  tu_result_free(&r);
  tu_ctl(&d, &r, "close", "work", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "submit", "work", "--", "true", NULL);
  assert_exit(&r, 1);
  cr_assert(strstr(r.err, "pool work is closed"), "%s", r.err);
  tu_result_free(&r);
  tu_ctl(&d, &r, "join", "work", NULL);
  assert_exit(&r, 1); /* tasks 1, 2, 4, 5 exit non-zero */
  cr_assert_str_eq(r.out, "work/1: exit code 1\nwork/2: exit code 2\nwork/3: exit code 0\n"
                          "work/4: exit code 1\nwork/5: exit code 2\nwork/6: exit code 0\n");
  tu_result_free(&r);

  /* never more than 2 at once, by the tasks' own clocks */
  long long st[7], en[7];
  for (int i = 1; i <= 6; i++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/t.%d", d.dir, i);
    char *s = tu_read_file(path, NULL);
    cr_assert(s != NULL && sscanf(s, "%lld %lld", &st[i], &en[i]) == 2, "task %d left no times", i);
    free(s);
  }
  for (int i = 1; i <= 6; i++) {
    int overlapping = 0;
    for (int k = 1; k <= 6; k++)
      overlapping += st[k] <= st[i] && en[k] > st[i];
    cr_assert_leq(overlapping, 2, "%d tasks ran at once when task %d started", overlapping, i);
  }
  cr_assert(tu_file_count(d.log, "exit program=pool:work/") == 6);
  cr_assert(tu_file_count(d.log, "exit program=pool:work/5 ") == 1);
  cr_assert(tu_file_count(d.log, "exit_code=2 signal=null expected=false") == 2);

  /* joined: the pool takes a new batch, with new ids */
  tu_ctl(&d, &r, "submit", "work", "--", "sh", "-c", "echo hello", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "work/7\n");
  tu_result_free(&r);
  tu_ctl(&d, &r, "close", "work", NULL);
  tu_result_free(&r);
  tu_ctl(&d, &r, "join", "work", NULL);
  assert_exit(&r, 0);
  cr_assert_str_eq(r.out, "work/7: exit code 0\n");
  tu_result_free(&r);
  tu_ctl(&d, &r, "pool-status", "--json", "work", NULL);
  assert_exit(&r, 0);
  json_t *j = json_loads(r.out, 0, NULL);
  cr_assert(json_is_object(j), "%s", r.out);
  json_t *tasks = json_object_get(j, "tasks");
  json_t *last = json_array_get(tasks, json_array_size(tasks) - 1);
  cr_assert_eq(json_integer_value(json_object_get(last, "id")), 7);
  cr_assert_str_eq(json_string_value(json_object_get(last, "stdout")), "hello\n");
  cr_assert_str_eq(json_string_value(json_object_get(last, "state")), "done");
  json_decref(j);
  tu_result_free(&r);
  tu_daemon_stop(&d);
}

Test(dpool, errors) {
  tu_daemon_start(&d, "[pool:p]\nworkers = 1\n");
  tu_result_t r;
  tu_ctl(&d, &r, "submit", "nosuch", "--", "true", NULL);
  assert_exit(&r, 1);
  cr_assert(strstr(r.err, "no such pool: nosuch"), "%s", r.err);
  tu_result_free(&r);
  tu_ctl(&d, &r, "submit", "p", NULL);
  assert_exit(&r, 2);
  tu_result_free(&r);
  tu_ctl(&d, &r, "submit", "p", "--", "/nonexistent/cmd", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  tu_ctl(&d, &r, "close", "p", NULL);
  tu_result_free(&r);
  tu_ctl(&d, &r, "join", "p", NULL);
  assert_exit(&r, 1);
  cr_assert_str_eq(r.out, "p/1: could not start\n");
  tu_result_free(&r);
  cr_assert(tu_file_count(d.log, "spawn_error program=pool:p/1") == 1, "%s",
            tu_read_file(d.log, NULL));
  tu_daemon_stop(&d);
}

Test(dpool, shutdown_stops_running_tasks) {
  tu_daemon_start(&d, "[pool:long]\nworkers = 2\n");
  tu_result_t r;
  for (int i = 0; i < 3; i++) {
    tu_ctl(&d, &r, "submit", "long", "--", "sleep", "300", NULL);
    tu_result_free(&r);
  }
  cr_assert(tu_wait_file_contains(d.log, "", 1));
  tu_ctl(&d, &r, "pool-status", "--json", "long", NULL);
  json_t *j = json_loads(r.out, 0, NULL);
  long long pid = json_integer_value(json_object_get(json_array_get(json_object_get(j, "tasks"), 0), "pid"));
  json_decref(j);
  tu_result_free(&r);
  int64_t t0 = tu_now_ms();
  tu_ctl(&d, &r, "shutdown", NULL);
  assert_exit(&r, 0);
  tu_result_free(&r);
  cr_assert_lt(tu_now_ms() - t0, 10000);
  if (pid > 0)
    cr_assert(tu_wait_gone((pid_t)pid, 5000), "a task outlived the daemon");
  cr_assert(tu_file_count(d.log, "action=skipped") == 1, "%s", tu_read_file(d.log, NULL));
  tu_daemon_stop(&d);
}
