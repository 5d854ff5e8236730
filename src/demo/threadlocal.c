/* SPDX-License-Identifier: MIT */
/*
 * tend demo threadlocal — the tutorial's ThreadLocal:
 *
 *     local = threading.local()
 *     def process_student():
 *         std = local.student
 *         print('Hello, %s (in %s)' % (std, threading.current_thread().name))
 *     def process_thread(name):
 *         local.student = name
 *         process_student()
 *     t1 = threading.Thread(target=process_thread, args=('Alice',), name='Thread-A')
 *     t2 = threading.Thread(target=process_thread, args=('Bob',), name='Thread-B')
 *
 * threading.local() is uv_key_t (pthread_key_t): one global key, and under
 * it each thread finds only the value it stored itself. process_student()
 * takes no argument; the key carries the student down the call chain.
 *
 * What C changes: the key is created and deleted by hand, and it holds a
 * bare pointer, so what it points to must outlive the thread's use of it
 * (here a struct on the main thread's stack, alive until both threads are
 * joined). To show there is no cross-talk, both threads bind their student
 * and then meet at a barrier before either reads it back: a plain global
 * would by then hold one name for both.
 */
#include "demo.h"

#include <stdio.h>

static uv_key_t local;      /* local = threading.local() */
static uv_barrier_t bound;  /* both students are bound */

struct student {
  const char *name;   /* Alice */
  const char *thread; /* Thread-A */
  uv_thread_t tid;
};

static void process_student(void) {
  const struct student *std = uv_key_get(&local);
  char thread[16];
  printf("Hello, %s (in %s)\n", std->name, demo_thread_name(thread));
}

static void process_thread(void *arg) {
  struct student *std = arg;
  demo_thread_name_set(std->thread);
  uv_key_set(&local, std); /* local.student = name */
  uv_barrier_wait(&bound);
  process_student();
}

int demo_threadlocal(const struct demo_opts *o) {
  (void)o;
  struct student students[] = {{"Alice", "Thread-A", 0}, {"Bob", "Thread-B", 0}};
  if (uv_key_create(&local) != 0)
    return 1;
  if (uv_barrier_init(&bound, 2) != 0) {
    uv_key_delete(&local);
    return 1;
  }
  int r = uv_thread_create(&students[0].tid, process_thread, &students[0]);
  if (r == 0) {
    r = uv_thread_create(&students[1].tid, process_thread, &students[1]);
    if (r != 0)
      uv_barrier_wait(&bound); /* stand in for Bob, so Alice is not left waiting */
    uv_thread_join(&students[0].tid);
    if (r == 0)
      uv_thread_join(&students[1].tid);
  }
  uv_barrier_destroy(&bound);
  uv_key_delete(&local);
  if (r != 0) {
    fprintf(stderr, "tend demo threadlocal: cannot start a thread: %s\n", uv_strerror(r));
    return 1;
  }
  return 0;
}
