/* SPDX-License-Identifier: MIT */
/*
 * tend demo thread — the tutorial's 线程 › 多线程:
 *
 *     def loop():
 *         print('thread %s is running...' % threading.current_thread().name)
 *         n = 0
 *         while n < 5:
 *             n = n + 1
 *             print('thread %s >>> %s' % (threading.current_thread().name, n))
 *             time.sleep(1)
 *         print('thread %s ended.' % threading.current_thread().name)
 *
 *     print('thread %s is running...' % threading.current_thread().name)
 *     t = threading.Thread(target=loop, name='LoopThread')
 *     t.start(); t.join()
 *     print('thread %s ended.' % threading.current_thread().name)
 *
 * threading.Thread is uv_thread_create (a pthread underneath), join() is
 * uv_thread_join. The name is the kernel's own name for the thread, set and
 * read with prctl (see demo.c): `ps -L` shows LoopThread while it runs. The
 * main thread keeps the program's name, which ps shows for the process;
 * Python calls it MainThread, and so does this demo.
 *
 * What C changes: the thread is an operating-system thread and nothing
 * else; there is no interpreter lock for it to take, so while it sleeps or
 * computes, every other thread runs at the same time (see `tend demo
 * multicore`). --interval replaces the 1 s sleep.
 */
#include "demo.h"

#include <stdio.h>
#include <string.h>

static void loop(void *arg) {
  const struct demo_opts *o = arg;
  char name[16];
  demo_thread_name_set("LoopThread");
  printf("thread %s is running...\n", demo_thread_name(name));
  for (int n = 1; n <= 5; n++) {
    printf("thread %s >>> %d\n", demo_thread_name(name), n);
    uv_sleep((unsigned)o->interval_ms);
  }
  printf("thread %s ended.\n", demo_thread_name(name));
}

int demo_thread(const struct demo_opts *o) {
  printf("thread MainThread is running...\n");
  uv_thread_t t;
  int r = uv_thread_create(&t, loop, (void *)o);
  if (r != 0) {
    fprintf(stderr, "tend demo thread: cannot start LoopThread: %s\n", uv_strerror(r));
    return 1;
  }
  uv_thread_join(&t);
  printf("thread MainThread ended.\n");
  return 0;
}
