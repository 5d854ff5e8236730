/* SPDX-License-Identifier: MIT */
/*
 * tend demo: the table of demos, `tend demo list`, the options they share,
 * and the helpers more than one of them uses. Each lesson itself is a file
 * of its own (fork.c, pool.c, ...), written to be read beside the tutorial.
 */
#include "demo.h"

#include "cli.h"
#include "core/units.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The options; getopt_long returns their index + 1, so that bit (1 << index)
 * says "given" and longopts[index].name names it. */
static const struct option longopts[] = {
    {"scale", required_argument, NULL, 1},      {"seed", required_argument, NULL, 2},
    {"interval", required_argument, NULL, 3},   {"iterations", required_argument, NULL, 4},
    {"threads", required_argument, NULL, 5},    {"seconds", required_argument, NULL, 6},
    {"redis", required_argument, NULL, 7},      {"child", required_argument, NULL, 8},
    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
};
enum {
  OPT_SCALE = (1 << 0),
  OPT_SEED = (1 << 1),
  OPT_INTERVAL = (1 << 2),
  OPT_ITERATIONS = (1 << 3),
  OPT_THREADS = (1 << 4),
  OPT_SECONDS = (1 << 5),
  OPT_REDIS = (1 << 6),
  OPT_CHILD = (1 << 7),
};

struct demo {
  const char *name;
  const char *alias; /* another name it answers to, or NULL */
  int (*run)(const struct demo_opts *o);
  const char *summary; /* the tutorial's lesson, and what the demo shows */
  unsigned opts;       /* the options it takes */
};

static const struct demo demos[] = {
    {"fork", NULL, demo_fork, "os.fork(): one call, two returns, a real parent and child", 0},
    {"process", NULL, demo_process, "multiprocessing.Process: start() and join() a child",
     OPT_CHILD},
    {"pool", NULL, demo_pool, "multiprocessing.Pool(4): 5 tasks, never more than 4 at once",
     OPT_SCALE | OPT_SEED | OPT_CHILD},
    {"subprocess", NULL, demo_subprocess,
     "subprocess communicate(): input in, output and exit code out", 0},
    {"queue", NULL, demo_queue, "multiprocessing.Queue: a writer and a reader process",
     OPT_SCALE | OPT_SEED},
    {"thread", NULL, demo_thread, "threading.Thread: a LoopThread counts to 5", OPT_INTERVAL},
    {"race", NULL, demo_race, "two threads change one balance with no lock: updates get lost",
     OPT_ITERATIONS},
    {"lock", NULL, demo_lock, "threading.Lock: the same bank, always 0, and what the lock costs",
     OPT_ITERATIONS},
    {"threadlocal", "local", demo_threadlocal,
     "threading.local(): a student per thread, no cross-talk", 0},
    {"multicore", NULL, demo_multicore, "busy threads on every core: C has no GIL",
     OPT_THREADS | OPT_SECONDS},
    {"distributed", NULL, demo_distributed, "master and worker processes around a task queue",
     OPT_REDIS | OPT_SCALE | OPT_SEED | OPT_CHILD},
};
#define NDEMOS (sizeof(demos) / sizeof(demos[0]))

const char cmd_demo_usage[] =
    "usage: tend demo list\n"
    "       tend demo NAME [OPTIONS]\n"
    "\n"
    "Run one lesson of the Python processes-and-threads tutorial, written in C on\n"
    "libuv: its source is src/demo/NAME.c. 'tend demo list' names them; 'local'\n"
    "is another name for 'threadlocal'.\n"
    "\n"
    "  --scale X            pool, queue, distributed: multiply the pauses by X\n"
    "                       (default 1; 0.01 for a quick run)\n"
    "  --seed N             pool, queue, distributed: the same random numbers\n"
    "                       every run (default: from the pid and the clock)\n"
    "  --interval SECONDS   thread: the LoopThread's pause (default 1)\n"
    "  --iterations N       race, lock: changes per thread (default 1000000)\n"
    "  --threads N          multicore: busy threads (default: one per CPU)\n"
    "  --seconds SECONDS    multicore: how long they run (default 2)\n"
    "  --redis URL          distributed: show the Redis Streams commands for URL\n"
    "                       instead of running master and worker locally\n";

/* "tend demo: MESSAGE (see 'tend help demo')"; returns the usage status, 2. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "tend demo: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'tend help demo')\n");
  return 2;
}

/* A whole number in [min, max]. */
static int parse_long(const char *s, long min, long max, long *v) {
  char *end;
  errno = 0;
  long n = strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || n < min || n > max)
    return -EINVAL;
  *v = n;
  return 0;
}

/* The options, anywhere before "--" (getopt permutes the operands to the
 * end): the demo's name, then a child's arguments, are o->args. */
static int parse_opts(int argc, char **argv, struct demo_opts *o, unsigned *given) {
  o->scale = 1;
  o->seed = (unsigned)getpid() ^ (unsigned)uv_hrtime();
  o->interval_ms = 1000;
  o->iterations = 1000000;
  o->seconds_ms = 2000;
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    long n = 0;
    char *end;
    switch (ch) {
    case 1:
      o->scale = strtod(optarg, &end);
      if (end == optarg || *end != '\0' || !(o->scale >= 0 && o->scale <= 1000))
        return usage_error("--scale: invalid value '%s': expected 0 to 1000", optarg);
      break;
    case 2:
      if (parse_long(optarg, 0, 4294967295L, &n) != 0)
        return usage_error("--seed: invalid value '%s': expected a whole number >= 0", optarg);
      o->seed = (unsigned)n;
      break;
    case 3:
    case 6:
      if (units_ms(optarg, ch == 3 ? &o->interval_ms : &o->seconds_ms) != 0)
        return usage_error("--%s: invalid value '%s': expected seconds (e.g. 0.5, 2s)",
                           longopts[ch - 1].name, optarg);
      break;
    case 4:
      if (parse_long(optarg, 1, 1000000000000L, &o->iterations) != 0)
        return usage_error("--iterations: invalid value '%s': expected a number >= 1", optarg);
      break;
    case 5:
      if (parse_long(optarg, 1, 1024, &n) != 0)
        return usage_error("--threads: invalid value '%s': expected 1 to 1024", optarg);
      o->threads = (int)n;
      break;
    case 7:
      o->redis = optarg;
      break;
    case 8:
      o->child = optarg;
      break;
    case 'h':
      fputs(cmd_demo_usage, stdout);
      exit(0);
    default:
      cli_bad_option("demo", argv, longopts);
      return 2;
    }
    if (ch >= 1 && ch <= 8)
      *given |= 1u << (ch - 1);
  }
  o->args = argv + optind;
  o->nargs = argc - optind;
  return 0;
}

int cmd_demo(int argc, char **argv) {
  struct demo_opts o = {0};
  unsigned given = 0;
  int r = parse_opts(argc, argv, &o, &given);
  if (r != 0)
    return r;
  if (o.nargs == 0) {
    fputs(cmd_demo_usage, stderr);
    return 2;
  }
  const char *name = o.args[0];
  o.args++;
  o.nargs--;
  if (strcasecmp(name, "list") == 0) {
    if (given != 0 || o.nargs > 0)
      return usage_error("'list' takes no options or arguments");
    for (size_t i = 0; i < NDEMOS; i++) {
      printf("%-12s %s", demos[i].name, demos[i].summary);
      if (demos[i].alias != NULL)
        printf(" (also: %s)", demos[i].alias);
      putchar('\n');
    }
    return 0;
  }
  const struct demo *d = NULL;
  for (size_t i = 0; i < NDEMOS && d == NULL; i++)
    if (strcmp(demos[i].name, name) == 0 ||
        (demos[i].alias != NULL && strcmp(demos[i].alias, name) == 0))
      d = &demos[i];
  if (d == NULL)
    return usage_error("unknown demo '%s': 'tend demo list' names them", name);
  for (int i = 0; i < 8; i++)
    if ((given & ~d->opts) & (1u << i))
      return usage_error("option '--%s' does not apply to this demo", longopts[i].name);
  if (o.nargs > 0 && o.child == NULL)
    return usage_error("unexpected argument '%s'", o.args[0]);

  /* One write per line: the lines of parent and children (and threads)
   * then interleave whole, even when stdout is a pipe. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  return d->run(&o);
}

int demo_spawn_self(uv_loop_t *loop, uv_process_t *p, const char *demo,
                    const char *const role[], uv_stdio_container_t *stdio, int nstdio,
                    uv_exit_cb exit_cb) {
  char *argv[16] = {"tend", "demo", (char *)demo, "--child"};
  int n = 4;
  for (int i = 0; role[i] != NULL && n < 15; i++)
    argv[n++] = (char *)role[i];
  uv_stdio_container_t ours[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_INHERIT_FD, .data.fd = 1},
      {.flags = UV_INHERIT_FD, .data.fd = 2},
  };
  uv_process_options_t opts = {
      /* Linux names our own binary here, whatever PATH or argv[0] say. */
      .file = "/proc/self/exe",
      .args = argv,
      .exit_cb = exit_cb,
      .stdio = stdio != NULL ? stdio : ours,
      .stdio_count = stdio != NULL ? nstdio : 3,
  };
  return uv_spawn(loop, p, &opts);
}

double demo_random(unsigned *seed) {
  return rand_r(seed) / ((double)RAND_MAX + 1);
}

void demo_thread_name_set(const char *name) {
  prctl(PR_SET_NAME, name, 0, 0, 0);
}

const char *demo_thread_name(char buf[16]) {
  if (prctl(PR_GET_NAME, buf, 0, 0, 0) != 0)
    strcpy(buf, "?");
  return buf;
}
