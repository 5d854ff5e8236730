/* SPDX-License-Identifier: MIT */
/*
 * tend pool: GNU parallel's core on the sched module. Tasks are lines of
 * our stdin (or the arguments after :::); each becomes a command from the
 * template CMD ARG... with {} replaced by the line and {#} by its sequence
 * number (the line is appended when the template has neither). No shell
 * is involved unless the user runs one.
 *
 * Output is grouped: a task's stdout, then its stderr, are written in one
 * piece when it ends (in input order with --keep-order). Those writes are
 * synchronous, as GNU parallel's are: while a slow reader takes them,
 * nothing new starts, and the running tasks' output waits in their pipes
 * and captures. Input is read lazily, only when the pool's queue runs
 * low, so a list of any length costs the same memory; with --keep-order
 * the tasks finished ahead of an unfinished one are held, and the number
 * of tasks started ahead of the oldest unprinted one is capped (each may
 * hold temporary files, see window_size).
 *
 * Exit status (GNU parallel's): 0 all succeeded; 1-100 that many failed;
 * 101 more than 100 failed; 128+N interrupted by signal N (SIGINT,
 * SIGTERM, SIGHUP: running groups get SIGTERM, then SIGKILL); 141 our
 * stdout was closed (as a pipeline member killed by SIGPIPE); 255 tend
 * pool itself failed (bad option, unwritable joblog).
 */
#include "cli.h"
#include "core/lines.h"
#include "core/template.h"
#include "tend/sched.h"
#include "tend/text.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { EXIT_MAX_FAILED = 101, EXIT_BROKEN = 128 + SIGPIPE, EXIT_OWN = 255 };

const char cmd_pool_usage[] =
    "usage: tend pool [OPTIONS] [--] CMD [ARG...] [::: TASK...]\n"
    "\n"
    "Run CMD once per task, several at a time (GNU parallel's core). Tasks are\n"
    "the lines of stdin, or the arguments after :::. In CMD and its ARGs, {} is\n"
    "replaced by the task and {#} by its sequence number (1, 2, ...); with\n"
    "neither, the task is appended as the last argument. No shell is used\n"
    "(run one yourself: tend pool -- sh -c 'grep x {} | wc -l').\n"
    "\n"
    "  -j, --jobs N        run at most N tasks at once (default: CPUs online)\n"
    "  -k, --keep-order    print the outputs in input order, not finish order\n"
    "  --joblog FILE       one tab-separated line per task, GNU parallel's columns:\n"
    "                      Seq Host Starttime JobRuntime Send Receive Exitval\n"
    "                      Signal Command (after a header line)\n"
    "  --timeout SECONDS   SIGTERM a task's process group after SECONDS (1.5, 2s,\n"
    "                      3m), SIGKILL after --kill-after more; it counts as failed\n"
    "  --kill-after SECONDS  grace period after SIGTERM (default 2)\n"
    "  --halt-on-error     after the first failed task start nothing more; wait\n"
    "                      for the running ones\n"
    "  --dry-run           print the commands (shell-quoted), run nothing\n"
    "  --progress          a progress line on stderr (done, failed, running,\n"
    "                      tasks/s, ETA with ::: tasks); on by default when\n"
    "                      stderr is a terminal; --no-progress turns it off\n"
    "\n"
    "Each task's stdout and stderr are printed in one piece when it ends, never\n"
    "interleaved with another task's. SIGINT/SIGTERM: start nothing more, stop\n"
    "the running tasks' process groups, print a summary on stderr.\n"
    "\n"
    "Exit status: 0 all succeeded; N (1-100) N tasks failed; 101 more than 100\n"
    "failed; 128+N interrupted by signal N; 141 stdout closed; 255 tend pool\n"
    "failed (bad option, unwritable joblog).\n";

/* ---- input lines -------------------------------------------------------- */

struct pool;
static void feed(struct pool *P);

struct ptask {
  tend_task_t t;
  char *argv[]; /* the command, then its replaced words (template_expand) */
};

struct pool {
  /* options */
  unsigned jobs;
  bool keep_order, halt_on_error, dry_run;
  int progress; /* -1 default (on a terminal), 0 off, 1 forced */
  const char *joblog_path;
  uint64_t timeout_ms, kill_after_ms;
  const char *timeout_arg;
  char **tmpl; /* CMD ARG... */
  int ntmpl;
  char **args;   /* after :::, or NULL: stdin */
  int nargs, next_arg;

  /* run */
  uv_loop_t loop;
  tend_sched_t *s;
  tend_lines_t in; /* stdin, read only when the pool wants tasks */
  bool input_done;
  cli_signals_t sigs;
  FILE *joblog;
  int joblog_error;
  uint64_t submitted;

  /* --keep-order: finished tasks waiting for their turn, by seq */
  struct ptask **ring;
  uint64_t window;
  uint64_t next_print;

  /* --progress: one line on stderr, redrawn at most 10 times a second */
  uint64_t started_ms, progress_ms;
  bool progress_shown;

  /* outcome */
  uint64_t failed, stopped;
  int interrupted_by;
  int nsignals;
  bool out_broken;
  bool halted;
  int own_error;
};

static void lines_ready_cb(tend_lines_t *L) { feed(L->data); }

/* ---- commands ----------------------------------------------------------- */

/* One allocation: the task and its command (core/template.h). */
static struct ptask *make_task(struct pool *P, const char *line, uint64_t seq) {
  struct ptask *pt = calloc(1, sizeof(*pt) + template_size(P->tmpl, P->ntmpl, line, seq));
  if (pt == NULL)
    return NULL;
  pt->t.argv = template_expand(pt->argv, P->tmpl, P->ntmpl, line, seq);
  pt->t.out[0] = pt->t.out[1] = TEND_OUT_CAPTURE;
  pt->t.data = P;
  return pt;
}

/* ---- the run ------------------------------------------------------------ */

static void input_end(struct pool *P) {
  if (P->input_done)
    return;
  P->input_done = true;
  lines_close(&P->in);
  tend_sched_close(P->s);
}

static void feed(struct pool *P) {
  while (!P->input_done && tend_sched_wanted(P->s) > 0) {
    if (P->keep_order && P->submitted + 1 - P->next_print >= P->window)
      break; /* the oldest unprinted task holds the window: wait for it */
    char *line;
    if (P->args != NULL) {
      if (P->next_arg >= P->nargs) {
        input_end(P);
        break;
      }
      line = P->args[P->next_arg++];
    } else {
      int r = lines_next(&P->in, &line);
      if (r == 0) {
        lines_wait(&P->in);
        break;
      }
      if (r < 0) {
        if (P->in.error != 0)
          cli_error("pool", "reading the tasks from stdin: %s", strerror(-P->in.error));
        input_end(P);
        break;
      }
    }
    struct ptask *pt = make_task(P, line, P->submitted + 1);
    if (pt == NULL) {
      cli_error("pool", "out of memory");
      P->own_error = 1;
      input_end(P);
      break;
    }
    if (tend_sched_submit(P->s, &pt->t) != 0) {
      free(pt);
      break;
    }
    P->submitted++;
  }
}

static void feed_cb(tend_sched_t *s) { feed(tend_sched_data(s)); }

static void stop_everything(struct pool *P, int signum) {
  lines_close(&P->in);
  P->input_done = true;
  tend_sched_cancel(P->s, signum, signum == SIGKILL ? 0 : P->kill_after_ms);
}

static void write_joblog(struct pool *P, tend_task_t *t) {
  if (P->joblog == NULL || t->outcome == TEND_TASK_SKIPPED)
    return;
  int exitval = (int)t->exit_status, sig = t->term_signal;
  if (t->outcome == TEND_TASK_SPAWN_FAILED) {
    exitval = t->err_what != TEND_PROC_ERR_EXEC ? 125 : t->spawn_error == -ENOENT ? 127 : 126;
  } else if (t->timed_out) {
    exitval = -1; /* as GNU parallel marks a timeout */
    if (sig == 0)
      sig = SIGTERM;
  } else if (sig != 0) {
    exitval = 0;
  }
  fprintf(P->joblog, "%" PRIu64 "\t:\t%.3f\t%10.3f\t0\t%" PRIu64 "\t%d\t%d\t", t->seq,
          (double)t->start_unix_ns / 1e9, (double)t->runtime_ns / 1e9, t->cap[0].bytes, exitval,
          sig);
  cli_put_command(P->joblog, t->argv);
  fputc('\n', P->joblog);
  /* A line per task as it ends, as GNU parallel does: the log is useful
   * while the run goes on, and after a crash. */
  if (fflush(P->joblog) != 0 && P->joblog_error == 0) {
    P->joblog_error = errno;
    cli_error("pool", "writing --joblog '%s': %s", P->joblog_path, strerror(errno));
  }
}

/* Erase the progress line, so output and messages start on a clean one. */
static void progress_clear(struct pool *P) {
  if (P->progress_shown) {
    fputs("\r\033[K", stderr);
    P->progress_shown = false;
  }
}

static void progress_show(struct pool *P, bool force) {
  if (P->progress <= 0 || P->s == NULL)
    return;
  uint64_t now = uv_now(&P->loop);
  if (!force && P->progress_shown && now - P->progress_ms < 100)
    return;
  P->progress_ms = now;
  tend_sched_stats_t st;
  tend_sched_stats(P->s, &st);
  double secs = (double)(now - P->started_ms) / 1000;
  double rate = secs > 0 ? (double)st.done / secs : 0;
  char eta[32] = "";
  if (P->args != NULL && rate > 0) { /* ::: tasks: the total is known */
    uint64_t left = (uint64_t)P->nargs > st.done ? (uint64_t)P->nargs - st.done : 0;
    long e = (long)((double)left / rate + 0.5);
    snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", e / 60, e % 60);
  }
  char total[32] = "";
  if (P->args != NULL)
    snprintf(total, sizeof(total), "/%d", P->nargs);
  fprintf(stderr, "\r\033[Ktend pool: %" PRIu64 "%s done (%" PRIu64 " failed), %" PRIu64
                  " running, %.1f tasks/s%s",
          st.done, total, P->failed, st.running, rate, eta);
  fflush(stderr);
  P->progress_shown = true;
}

static void print_task(struct pool *P, struct ptask *pt) {
  tend_task_t *t = &pt->t;
  if (t->outcome == TEND_TASK_SKIPPED)
    return;
  progress_clear(P);
  if (t->outcome == TEND_TASK_SPAWN_FAILED) {
    fprintf(stderr, "tend pool: cannot run '%s': %s\n", t->argv[0], strerror(-t->spawn_error));
    return;
  }
  if (!P->out_broken) {
    int r = tend_task_output_write(t, 0, STDOUT_FILENO);
    if (r == -EPIPE) {
      /* Our reader is gone (tend pool ... | head): stop, quietly, as a
       * pipeline member would. */
      P->out_broken = true;
      stop_everything(P, SIGTERM);
    } else if (r != 0) {
      cli_error("pool", "writing the output of task %" PRIu64 ": %s", t->seq, strerror(-r));
    }
  }
  tend_task_output_write(t, 1, STDERR_FILENO);
  for (int i = 0; i < 2; i++)
    if (t->cap[i].error != 0)
      cli_error("pool", "task %" PRIu64 ": %s cut after %" PRIu64 " of %" PRIu64 " bytes: %s",
                t->seq, i ? "stderr" : "stdout", t->cap[i].kept, t->cap[i].bytes,
                strerror(-t->cap[i].error));
  if (t->timed_out) {
    size_t n = strlen(P->timeout_arg);
    bool unit = n > 0 && strchr("smhd", P->timeout_arg[n - 1]) != NULL;
    fprintf(stderr, "tend pool: task %" PRIu64 " timed out after %s%s: ", t->seq,
            P->timeout_arg, unit ? "" : "s");
    cli_put_command(stderr, t->argv);
    fputc('\n', stderr);
  }
}

static void task_finished(struct pool *P, struct ptask *pt) {
  print_task(P, pt);
  tend_sched_release(P->s, &pt->t);
  free(pt);
}

static void done_cb(tend_sched_t *s, tend_task_t *t) {
  struct pool *P = tend_sched_data(s);
  struct ptask *pt = (struct ptask *)t;
  uint64_t seq = t->seq; /* t may be freed below */
  write_joblog(P, t);
  if (t->cancelled)
    P->stopped++;
  bool failed = tend_task_failed(t);
  if (failed)
    P->failed++;
  if (!P->keep_order) {
    task_finished(P, pt);
  } else {
    P->ring[t->seq % P->window] = pt;
    struct ptask *next;
    while ((next = P->ring[P->next_print % P->window]) != NULL &&
           next->t.seq == P->next_print) {
      P->ring[P->next_print % P->window] = NULL;
      P->next_print++;
      task_finished(P, next);
    }
  }
  progress_show(P, false);
  if (failed && P->halt_on_error && !P->halted && P->interrupted_by == 0 && !P->out_broken) {
    progress_clear(P);
    P->halted = true;
    tend_sched_stats_t st;
    tend_sched_stats(s, &st);
    fprintf(stderr, "tend pool: task %" PRIu64 " failed; starting nothing more", seq);
    if (st.running > 0)
      fprintf(stderr, ", waiting for %" PRIu64 " running task%s", st.running,
              st.running == 1 ? "" : "s");
    fputc('\n', stderr);
    lines_close(&P->in);
    P->input_done = true;
    tend_sched_halt(s);
  }
}

static void signal_cb(uv_signal_t *h, int signum) {
  progress_clear(h->data);
  struct pool *P = h->data;
  if (P->nsignals++ == 0) {
    P->interrupted_by = signum;
    stop_everything(P, SIGTERM);
  } else {
    stop_everything(P, SIGKILL); /* a second one: no more grace */
  }
}

static void join_cb(tend_sched_t *s) {
  struct pool *P = tend_sched_data(s);
  progress_clear(P);
  cli_signals_close(&P->sigs);
  lines_close(&P->in);
}

/* How many tasks --keep-order may start ahead of the oldest unprinted one.
 * Each finished task waiting for its turn keeps its output, and past the
 * memory budget that means up to two temporary files: stay well inside
 * the descriptor limit (running tasks need 4 each: 2 pipes, a pidfd, a
 * spill file). */
static uint64_t window_size(unsigned jobs) {
  struct rlimit rl;
  uint64_t nofile = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    nofile = rl.rlim_cur;
  uint64_t reserve = 64 + 4 * (uint64_t)jobs;
  uint64_t w = nofile > reserve ? (nofile - reserve) / 2 : 0;
  if (w > 65536)
    w = 65536;
  if (w < 2 * (uint64_t)jobs)
    w = 2 * (uint64_t)jobs;
  return w;
}

/* ---- options ------------------------------------------------------------ */

static int parse(int argc, char **argv, struct pool *P) {
  static const struct option longopts[] = {
      {"jobs", required_argument, NULL, 'j'},
      {"keep-order", no_argument, NULL, 'k'},
      {"joblog", required_argument, NULL, 'l'},
      {"timeout", required_argument, NULL, 't'},
      {"kill-after", required_argument, NULL, 'K'},
      {"halt-on-error", no_argument, NULL, 'H'},
      {"dry-run", no_argument, NULL, 'n'},
      {"progress", no_argument, NULL, 'P'},
      {"no-progress", no_argument, NULL, 'N'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  P->jobs = uv_available_parallelism();
  P->kill_after_ms = 2000;
  opterr = 0;
  optind = 1;
  int ch;
  /* '+': stop at the command, so its own options stay its own. */
  while ((ch = getopt_long(argc, argv, "+j:kh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'j': {
      char *end;
      errno = 0;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end != '\0' || errno != 0 || v == 0 || v > 1000000 ||
          optarg[0] == '-') {
        cli_error("pool", "--jobs: invalid value '%s': expected a positive number", optarg);
        return -EINVAL;
      }
      P->jobs = (unsigned)v;
      break;
    }
    case 'k':
      P->keep_order = true;
      break;
    case 'l':
      P->joblog_path = optarg;
      break;
    case 't':
    case 'K': {
      uint64_t ms;
      const char *opt = ch == 't' ? "--timeout" : "--kill-after";
      if (args_seconds("pool", opt, optarg, ch == 't', &ms) != 0)
        return -EINVAL;
      if (ch == 't') {
        P->timeout_ms = ms;
        P->timeout_arg = optarg;
      } else {
        P->kill_after_ms = ms;
      }
      break;
    }
    case 'P':
      P->progress = 1;
      break;
    case 'N':
      P->progress = 0;
      break;
    case 'H':
      P->halt_on_error = true;
      break;
    case 'n':
      P->dry_run = true;
      break;
    case 'h':
      fputs(cmd_pool_usage, stdout);
      exit(0);
    case '?':
    default:
      cli_bad_option("pool", argv, longopts);
      return -EINVAL;
    }
  }
  int end = argc;
  for (int i = optind; i < argc; i++) {
    if (strcmp(argv[i], ":::") == 0) {
      end = i;
      break;
    }
  }
  if (end < argc) {
    P->args = argv + end + 1;
    P->nargs = argc - end - 1;
    for (int i = 0; i < P->nargs; i++) {
      if (strcmp(P->args[i], ":::") == 0) {
        cli_error("pool", "only one ::: list is supported");
        return -EINVAL;
      }
    }
  }
  if (optind >= end) {
    cli_error("pool", "no command given (usage: tend pool [OPTIONS] -- CMD [ARG...])");
    return -EINVAL;
  }
  P->tmpl = argv + optind;
  P->ntmpl = end - optind;
  return 0;
}

/* --dry-run: the commands, in input order; nothing runs. */
static int dry_run(struct pool *P) {
  uint64_t seq = 0;
  for (;;) {
    char *line;
    if (P->args != NULL) {
      if (P->next_arg >= P->nargs)
        break;
      line = P->args[P->next_arg++];
    } else if (lines_next(&P->in, &line) != 1) {
      break;
    }
    struct ptask *pt = make_task(P, line, ++seq);
    if (pt == NULL) {
      cli_error("pool", "out of memory");
      return EXIT_OWN;
    }
    cli_put_command(stdout, pt->argv);
    fputc('\n', stdout);
    free(pt);
  }
  if (P->in.error != 0)
    cli_error("pool", "reading the tasks from stdin: %s", strerror(-P->in.error));
  if (fflush(stdout) != 0 && errno != EPIPE) {
    cli_error("pool", "writing to stdout: %s", strerror(errno));
    return EXIT_OWN;
  }
  return 0;
}

static void summary(struct pool *P) {
  tend_sched_stats_t st;
  tend_sched_stats(P->s, &st);
  uint64_t ran = st.done - st.skipped;
  char sig[32];
  if (P->interrupted_by != 0)
    fprintf(stderr, "tend pool: interrupted by %s: ",
            tend_signame(P->interrupted_by, sig, sizeof(sig)));
  else
    fprintf(stderr, "tend pool: halted after a failure: ");
  fprintf(stderr, "%" PRIu64 " task%s done (%" PRIu64 " failed), %" PRIu64
                  " stopped while running, %" PRIu64 " queued not started%s\n",
          ran, ran == 1 ? "" : "s", P->failed, P->stopped, st.skipped,
          P->input_done && !P->in.eof && P->args == NULL ? " (the rest of stdin unread)" : "");
}

int cmd_pool(int argc, char **argv) {
  struct pool *P = calloc(1, sizeof(*P));
  if (P == NULL) {
    cli_error("pool", "out of memory");
    return EXIT_OWN;
  }
  int status = EXIT_OWN;
  bool loop_open = false;
  P->progress = -1;
  if (parse(argc, argv, P) != 0)
    goto out;
  if (P->progress < 0)
    P->progress = isatty(STDERR_FILENO); /* never on a pipe by default */
  /* Before anything opens a descriptor: if our stdin is closed, the next
   * one would land on 0 and pass for it. */
  bool no_stdin = fcntl(STDIN_FILENO, F_GETFD) < 0;
  if (P->dry_run) {
    if (P->args == NULL && lines_open(&P->in, NULL, no_stdin ? -1 : STDIN_FILENO, 0, NULL) != 0) {
      cli_error("pool", "out of memory");
      goto out;
    }
    status = dry_run(P);
    goto out;
  }
  if (P->joblog_path != NULL) {
    P->joblog = fopen(P->joblog_path, "we");
    if (P->joblog == NULL) {
      cli_error("pool", "--joblog '%s': %s", P->joblog_path, strerror(errno));
      goto out;
    }
    fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n",
          P->joblog);
    fflush(P->joblog);
  }
  int r = uv_loop_init(&P->loop);
  if (r != 0) {
    cli_error("pool", "event loop: %s", uv_strerror(r));
    goto out;
  }
  loop_open = true;
  P->started_ms = uv_now(&P->loop);
  if (P->args == NULL) {
    P->in.data = P;
    r = lines_open(&P->in, &P->loop, no_stdin ? -1 : STDIN_FILENO, LINES_POLL, lines_ready_cb);
    if (r != 0) {
      cli_error("pool", "reading the tasks from stdin: %s", uv_strerror(r));
      goto out;
    }
    if (!no_stdin && isatty(STDIN_FILENO))
      fprintf(stderr, "tend pool: reading tasks from the terminal, one per line "
                      "(end with Ctrl-D)\n");
  }
  if (P->keep_order) {
    P->window = window_size(P->jobs);
    P->next_print = 1;
    P->ring = calloc(P->window, sizeof(*P->ring));
    if (P->ring == NULL) {
      cli_error("pool", "out of memory");
      goto out;
    }
  }

  tend_sched_opts_t so;
  memset(&so, 0, sizeof(so));
  so.max_running = P->jobs;
  so.timeout_ms = P->timeout_ms;
  so.kill_after_ms = P->kill_after_ms;
  so.done_cb = done_cb;
  so.feed_cb = feed_cb;
  so.join_cb = join_cb;
  so.data = P;
  if ((r = tend_sched_new(&P->loop, &so, &P->s)) != 0) {
    cli_error("pool", "%s", strerror(-r));
    goto out;
  }
  cli_signals_start(&P->sigs, &P->loop, true, signal_cb, P);

  feed(P);
  uv_run(&P->loop, UV_RUN_DEFAULT);

  if (P->interrupted_by != 0 || P->halted)
    summary(P);
  if (P->interrupted_by != 0)
    status = 128 + P->interrupted_by;
  else if (P->out_broken)
    status = EXIT_BROKEN;
  else if (P->own_error)
    status = EXIT_OWN;
  else
    status = P->failed > EXIT_MAX_FAILED ? EXIT_MAX_FAILED : (int)P->failed;

out:
  if (P->s != NULL && tend_sched_free(P->s) != 0)
    cli_error("pool", "internal error: the pool did not finish");
  lines_close(&P->in);
  if (loop_open) {
    uv_run(&P->loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&P->loop) != 0)
      cli_error("pool", "internal error: handles left open");
  }
  if (P->joblog != NULL && fclose(P->joblog) != 0 && P->joblog_error == 0) {
    cli_error("pool", "writing --joblog '%s': %s", P->joblog_path, strerror(errno));
    if (status == 0)
      status = EXIT_OWN;
  }
  free(P->ring);
  free(P);
  return status;
}
