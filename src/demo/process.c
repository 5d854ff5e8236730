/* SPDX-License-Identifier: MIT */
/*
 * tend demo process — the tutorial's 多进程 › multiprocessing:
 *
 *     def run_proc(name):
 *         print('Run child process %s (%s)...' % (name, os.getpid()))
 *
 *     print('Parent process %s.' % os.getpid())
 *     p = Process(target=run_proc, args=('test',))
 *     print('Child process will start.')
 *     p.start()
 *     p.join()
 *     print('Child process end.')
 *
 * C cannot hand a function to a new process by name, so this does what
 * multiprocessing's "spawn" start method does: it starts a fresh copy of
 * its own program (`tend demo process --child run_proc test`) and the copy
 * runs the target. start() is uv_spawn; join() is the exit callback,
 * delivered by the libuv loop, which runs until the child has exited and
 * its handle is closed. Nothing blocks: the loop could watch a thousand
 * children the same way.
 */
#include "demo.h"

#include <stdio.h>
#include <unistd.h>

/* The target, run in the child. */
static int run_proc(const char *name) {
  printf("Run child process %s (%d)...\n", name, (int)getpid());
  return 0;
}

static void joined_cb(uv_process_t *p, int64_t exit_status, int term_signal) {
  *(int *)p->data = exit_status == 0 && term_signal == 0 ? 0 : 1;
  uv_close((uv_handle_t *)p, NULL); /* a uv_process_t is closed once it has exited */
}

int demo_process(const struct demo_opts *o) {
  if (o->child != NULL)
    return run_proc(o->nargs > 0 ? o->args[0] : "?");

  printf("Parent process %d.\n", (int)getpid());
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_process_t p;
  int status = 1;
  p.data = &status;
  printf("Child process will start.\n");
  int r = demo_spawn_self(&loop, &p, "process", (const char *const[]){"run_proc", "test", NULL},
                          NULL, 0, joined_cb);
  if (r != 0) {
    fprintf(stderr, "tend demo process: cannot start the child: %s\n", uv_strerror(r));
    uv_close((uv_handle_t *)&p, NULL);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* join(): until the child is gone */
  uv_loop_close(&loop);
  if (r == 0)
    printf("Child process end.\n");
  return status;
}
