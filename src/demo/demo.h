/* SPDX-License-Identifier: MIT */
/*
 * tend demo: the lessons of the Python processes-and-threads tutorial as
 * small C programs on libuv, one file each in src/demo/. demo.c holds the
 * table of demos and the option parser they share; this header is what the
 * demo files see of it, plus the few helpers more than one demo uses.
 */
#ifndef TEND_DEMO_H
#define TEND_DEMO_H

#include <stdint.h>
#include <uv.h>

/* The options of `tend demo NAME`, defaults filled in; each demo reads the
 * ones its entry in demo.c's table accepts. */
struct demo_opts {
  double scale;         /* --scale: multiplies every random pause (1) */
  unsigned seed;        /* --seed, else drawn from the pid and the clock */
  uint64_t interval_ms; /* --interval (thread: 1 s) */
  long iterations;      /* --iterations (race, lock: 1000000) */
  int threads;          /* --threads (multicore: one per CPU) */
  uint64_t seconds_ms;  /* --seconds (multicore: 2 s) */
  const char *redis;    /* --redis URL (distributed), or NULL */
  const char *child;    /* --child ROLE: this run is a demo's child process */
  char **args;          /* the arguments after ROLE */
  int nargs;
};

int demo_fork(const struct demo_opts *o);
int demo_process(const struct demo_opts *o);
int demo_pool(const struct demo_opts *o);
int demo_subprocess(const struct demo_opts *o);
int demo_queue(const struct demo_opts *o);
int demo_thread(const struct demo_opts *o);
int demo_race(const struct demo_opts *o);
int demo_lock(const struct demo_opts *o);
int demo_threadlocal(const struct demo_opts *o);
int demo_multicore(const struct demo_opts *o);
int demo_distributed(const struct demo_opts *o);

/*
 * Start tend itself again as `tend demo DEMO --child ROLE ARGS...` (role is
 * a NULL-terminated list: ROLE, then ARGS), the way Python's multiprocessing
 * "spawn" start method runs a fresh interpreter on the target function.
 * stdio NULL: stdin /dev/null, stdout and stderr ours. Returns uv_spawn's
 * 0 or negative errno; either way p is to be closed with uv_close.
 */
int demo_spawn_self(uv_loop_t *loop, uv_process_t *p, const char *demo,
                    const char *const role[], uv_stdio_container_t *stdio, int nstdio,
                    uv_exit_cb exit_cb);

/* A random number in [0, 1), from and advancing *seed (rand_r). */
double demo_random(unsigned *seed);

/* Name the calling thread, as Thread(name=...) does; the kernel keeps it
 * (15 bytes at most, shown by `ps -L`). demo_thread_name reads it back
 * into buf, like threading.current_thread().name. */
void demo_thread_name_set(const char *name);
const char *demo_thread_name(char buf[16]);

/* The bank of the race and lock demos (race.c): two threads change one
 * balance by +5/-5 and +8/-8 `iterations` times each, under `lock` when it
 * is not NULL. The final balance and the wall time. 0 or negative errno. */
int bank_run(long iterations, uv_mutex_t *lock, long *balance, uint64_t *elapsed_ns);

#endif
