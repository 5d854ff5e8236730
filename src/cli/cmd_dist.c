/* SPDX-License-Identifier: MIT */
/*
 * tend submit / worker / results: distributed tasks on Redis Streams
 * (tend/dist.h). Thin: parse, call the library on one loop, print.
 *
 * `tend submit` has two forms: with --redis it queues on Redis (here);
 * without, `tend submit POOL -- CMD` queues in a daemon pool (cmd_ctl).
 *
 * Exit statuses, shared by the three: 0 done; 1 Redis refused something
 * (credentials, a command) or the connection was lost; 2 usage (bad
 * option, no or malformed URL); 3 (results --wait) a task did not
 * succeed; 4 no Redis server answers at the URL; 124 (results --wait
 * --timeout) the time ran out first.
 */
#include "cli.h"
#include "core/lines.h"
#include "core/units.h"
#include "tend/dist.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  EXIT_REFUSED = 1,
  EXIT_USAGE = 2,
  EXIT_NOT_ALL_OK = 3,
  EXIT_NO_REDIS = 4,
  EXIT_TIMEOUT = 124,
  SUBMIT_WINDOW = 1000,
};

#define DEFAULT_STREAM "tend"
#define URL_HELP "redis://[user:password@]host[:port][/db] or unix:///path"

const char cmd_submit_usage[] =
    "usage: tend submit --redis URL [OPTIONS] -- CMD [ARG...]\n"
    "       tend submit --redis URL [OPTIONS] --from-stdin [-- CMD [ARG...]]\n"
    "       tend submit [--json] [-c FILE | -s SOCKET] POOL -- CMD [ARG...]\n"
    "\n"
    "Queue a task on a Redis stream for 'tend worker' on any machine, and print\n"
    "its id (for tend results). Without --redis, queue it in a pool\n"
    "of a running daemon instead (the last form).\n"
    "\n"
    "  --redis URL         " URL_HELP "\n"
    "  --redis-timeout SECONDS  for connecting and for each reply (default 5)\n"
    "  --stream NAME       the task stream (default " DEFAULT_STREAM "); results go to\n"
    "                      NAME:results, tasks given up on to NAME:dead\n"
    "  --max-attempts K    runs lost with their worker before the task is dead\n"
    "                      (default 3)\n"
    "  --timeout SECONDS   the worker stops the task after SECONDS (1.5, 30s, 2m)\n"
    "  --cwd DIR           run in DIR on the worker (default: the worker's)\n"
    "  --env NAME=VALUE    set a variable for the task (repeatable); --env NAME\n"
    "                      passes our value of NAME; the rest is the worker's\n"
    "  --from-stdin        one task per line of stdin: the line split into words\n"
    "                      as a shell would (no expansion), or appended to\n"
    "                      CMD [ARG...] as one argument when a command is given\n"
    "\n"
    "Daemon pool form: --json prints the reply as JSON; -c FILE / -s SOCKET find\n"
    "the daemon.\n"
    "\n"
    "Exit status: 0 queued; 1 Redis refused it or the connection was lost; 2\n"
    "usage; 4 no Redis server answers at the URL.\n";

const char cmd_worker_usage[] =
    "usage: tend worker --redis URL [OPTIONS]\n"
    "\n"
    "Take tasks from a Redis stream (a consumer group: each task goes to one\n"
    "worker) and run up to N at once, each in its own process group. A result\n"
    "per task goes to NAME:results: exit code or signal, stdout and stderr (up\n"
    "to --output-cap), duration, worker, host, attempt. A worker that dies\n"
    "loses nothing: after the visibility timeout another one takes its tasks\n"
    "over. SIGINT/SIGTERM: take no more tasks, give the running ones --grace to\n"
    "finish, stop and hand back the rest, exit 0 (a second signal: at once).\n"
    "\n"
    "  --redis URL          " URL_HELP "\n"
    "  --redis-timeout SECONDS  for connecting and for each reply (default 5)\n"
    "  --stream NAME        the task stream (default " DEFAULT_STREAM ")\n"
    "  -j, --jobs N         tasks at once (default: CPUs online)\n"
    "  --prefetch N         tasks taken ahead of a free slot (default: as many as\n"
    "                       --jobs); 0 for long tasks, so idle workers get them\n"
    "  --group G            the consumer group, created if missing (default tend)\n"
    "  --name W             this worker's name in the group, unique (default\n"
    "                       HOST-PID)\n"
    "  --visibility SECONDS  a task held by a worker silent this long is taken\n"
    "                       over by another (default 30); running tasks are kept\n"
    "                       visible, so they may run longer\n"
    "  --output-cap BYTES   stdout and stderr kept per result, each (default 64K;\n"
    "                       K, M suffixes)\n"
    "  --grace SECONDS      on SIGTERM, how long running tasks may finish (default 10)\n"
    "  --kill-after SECONDS  after a task's --timeout SIGTERM, SIGKILL (default 2)\n"
    "  -v, --verbose        a line per task taken and finished\n"
    "\n"
    "Exit status: 0 stopped by a signal; 1 Redis refused the credentials or the\n"
    "group; 2 usage; 4 no Redis server answers at the URL (once connected, a\n"
    "lost connection is retried with backoff, never fatal).\n";

const char cmd_results_usage[] =
    "usage: tend results --redis URL [--stream NAME] [--follow] [--json]\n"
    "       tend results --redis URL [--stream NAME] [--json] [--timeout SECONDS]\n"
    "                    --wait ID...\n"
    "\n"
    "Print the results of the tasks of a stream, oldest first: for each a line\n"
    "'ID: exit 0, attempt 1, worker W on HOST, 0.012 s', then the task's stdout\n"
    "(on stdout) and stderr (on stderr), as they were.\n"
    "\n"
    "  --redis URL          " URL_HELP "\n"
    "  --redis-timeout SECONDS  for connecting and for each reply (default 5)\n"
    "  --stream NAME        the task stream (default " DEFAULT_STREAM ")\n"
    "  -f, --follow         then wait for new results (until SIGINT/SIGTERM)\n"
    "  -j, --json           one JSON object per result, as stored\n"
    "  --wait               print the results of the tasks ID... only, waiting for\n"
    "                       those not finished yet\n"
    "  --timeout SECONDS    with --wait: give up after SECONDS (exit 124)\n"
    "\n"
    "Exit status: 0 done (--wait: every task succeeded); 1 Redis refused a\n"
    "command or its credentials; 2 usage; 3 (--wait) a task failed or is dead;\n"
    "4 no Redis server answers at the URL; 124 --timeout ran out.\n";

static int err_status(tend_dist_err_t kind) {
  return kind == TEND_DIST_ERR_UNREACHABLE ? EXIT_NO_REDIS : EXIT_REFUSED;
}

static int no_url(const char *cmd) {
  cli_error(cmd, "a Redis URL is required: --redis " URL_HELP " (see 'tend help %s')", cmd);
  return EXIT_USAGE;
}

static int parse_count(const char *cmd, const char *opt, const char *s, unsigned long max,
                       unsigned long *v) {
  char *end;
  errno = 0;
  unsigned long x = strtoul(s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || x == 0 || x > max || s[0] == '-') {
    cli_error(cmd, "%s: invalid value '%s': expected a number from 1 to %lu", opt, s, max);
    return -EINVAL;
  }
  *v = x;
  return 0;
}

/* Open the Redis client on loop, saying why it failed: 0, or the exit
 * status. */
static int client_open(const char *cmd, uv_loop_t *loop, const tend_dist_client_opts_t *o,
                       tend_dist_client_t **c) {
  char err[512];
  int r = tend_dist_client_open(loop, o, c, err, sizeof(err));
  if (r == 0)
    return 0;
  cli_error(cmd, "%s", err);
  return r == -EINVAL ? EXIT_USAGE : EXIT_REFUSED;
}

/* ---- tend submit ----------------------------------------------------------------- */

struct submit {
  uv_loop_t loop;
  tend_dist_client_t *c;
  tend_dist_task_t task; /* the options; argv per task */
  char **cmd;            /* CMD [ARG...] or NULL */
  int ncmd;
  bool from_stdin;
  int status;
  bool failed, done_reading;
  uint64_t submitted, answered, line_no;
  tend_lines_t in; /* stdin, read only when the window has room */
};

static void submit_pump(struct submit *S);

static void submit_close(struct submit *S) {
  lines_close(&S->in);
  if (S->c != NULL) {
    tend_dist_client_close(S->c, NULL);
    S->c = NULL;
  }
}

static void submit_err_cb(tend_dist_client_t *c, tend_dist_err_t kind, const char *msg,
                          bool retrying) {
  struct submit *S = tend_dist_client_data(c);
  (void)retrying; /* never: submit does not reconnect */
  cli_error("submit", "%s", msg);
  if (S->answered > 0)
    cli_error("submit", "%" PRIu64 " task%s queued before that (the ids printed)", S->answered,
              S->answered == 1 ? "" : "s");
  if (S->status == 0)
    S->status = err_status(kind);
  S->failed = true;
  submit_close(S);
}

static void submitted_cb(tend_dist_client_t *c, void *arg, const char *id, const char *error) {
  struct submit *S = tend_dist_client_data(c);
  (void)arg;
  if (id == NULL) {
    if (!S->failed) {
      cli_error("submit", "%s", error);
      S->status = EXIT_REFUSED;
      S->failed = true;
      submit_close(S);
    }
    return;
  }
  S->answered++;
  puts(id);
  submit_pump(S);
}

static void lines_ready_cb(tend_lines_t *L) { submit_pump(L->data); }

static int submit_one(struct submit *S, char **argv) {
  S->task.argv = argv;
  int r = tend_dist_submit(S->c, &S->task, submitted_cb, NULL);
  if (r != 0) {
    cli_error("submit", "cannot queue the task: %s", strerror(-r));
    S->status = EXIT_REFUSED;
    S->failed = true;
    submit_close(S);
    return r;
  }
  S->submitted++;
  return 0;
}

static void submit_pump(struct submit *S) {
  if (S->failed || S->c == NULL)
    return;
  if (!S->from_stdin) {
    if (S->submitted == 0)
      submit_one(S, S->cmd);
    else if (S->answered == S->submitted)
      submit_close(S);
    return;
  }
  while (!S->done_reading && tend_dist_client_pending(S->c) < SUBMIT_WINDOW) {
    char *line;
    int r = lines_next(&S->in, &line);
    if (r == 0) {
      lines_wait(&S->in);
      return;
    }
    if (r < 0) {
      if (S->in.error != 0) {
        cli_error("submit", "reading stdin: %s", strerror(-S->in.error));
        S->status = EXIT_REFUSED;
      }
      S->done_reading = true;
      break;
    }
    S->line_no++;
    if (line[strspn(line, " \t")] == '\0')
      continue; /* blank */
    char **argv = NULL;
    if (S->cmd != NULL) {
      argv = calloc((size_t)S->ncmd + 2, sizeof(char *));
      if (argv == NULL) {
        cli_error("submit", "out of memory");
        S->status = EXIT_REFUSED;
        S->done_reading = true;
        break;
      }
      memcpy(argv, S->cmd, (size_t)S->ncmd * sizeof(char *));
      argv[S->ncmd] = line;
      r = submit_one(S, argv);
      free(argv);
    } else {
      const char *why = NULL;
      if (tend_dist_split_line(line, &argv, &why) != 0 || argv == NULL || argv[0] == NULL) {
        cli_error("submit", "stdin line %" PRIu64 ": %s; skipped", S->line_no,
                  why != NULL ? why : "no command");
        S->status = EXIT_REFUSED;
        tend_dist_strv_free(argv);
        continue;
      }
      r = submit_one(S, argv);
      tend_dist_strv_free(argv);
    }
    if (r != 0)
      return;
  }
  if (S->done_reading && S->answered == S->submitted)
    submit_close(S);
}

static void submit_ready_cb(tend_dist_client_t *c) { submit_pump(tend_dist_client_data(c)); }

/* The options of both forms of `tend submit`: the Redis form's, and -c,
 * -s, --json of the daemon-pool form (cmd_ctl's), so that telling the
 * forms apart reads each option's value as its own parser will. */
static const struct option submit_longopts[] = {
    {"redis", required_argument, NULL, 'r'},
    {"redis-timeout", required_argument, NULL, 'T'},
    {"stream", required_argument, NULL, 'S'},
    {"max-attempts", required_argument, NULL, 'm'},
    {"timeout", required_argument, NULL, 't'},
    {"cwd", required_argument, NULL, 'C'},
    {"env", required_argument, NULL, 'e'},
    {"from-stdin", no_argument, NULL, 'i'},
    {"config", required_argument, NULL, 'c'},
    {"socket", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
#define SUBMIT_SHORTOPTS "c:s:jh"

enum submit_form { SUBMIT_HELP, SUBMIT_REDIS, SUBMIT_POOL, SUBMIT_NO_URL, SUBMIT_REDIS_LATE };

/* Which form a `tend submit` line is. Options count up to the command's
 * first word (the first operand with --redis, else the one after POOL) or
 * "--": what follows is the command's own, even a --help or a --redis. */
static enum submit_form submit_form(int argc, char **argv) {
  bool redis = false, dist_only = false, redis_late = false;
  int operands = 0, ch;
  opterr = 0;
  optind = 0; /* 0: a fresh scan, in the mode of this optstring */
  /* '-': each operand comes back in place as option 1; argv stays as it is. */
  while ((ch = getopt_long(argc, argv, "-" SUBMIT_SHORTOPTS, submit_longopts, NULL)) != -1) {
    if (ch == 'h')
      return SUBMIT_HELP;
    if (ch == 1 && (redis || ++operands == 2))
      break;
    /* After POOL, these are the pool form's (bad) options, not a form. */
    if (ch == 'r' && operands == 0)
      redis = true;
    redis_late |= ch == 'r' && operands == 1; /* tend submit WORD --redis URL */
    if ((ch == 'T' || ch == 'S' || ch == 'm' || ch == 'i') && operands == 0)
      dist_only = true;
  }
  return redis        ? SUBMIT_REDIS
         : redis_late ? SUBMIT_REDIS_LATE
         : dist_only  ? SUBMIT_NO_URL
                      : SUBMIT_POOL;
}

/* Connect, submit, wait for every answer: the exit status. */
static int submit_run(struct submit *S, const char *url, const char *stream,
                      uint64_t redis_timeout) {
  int r = uv_loop_init(&S->loop);
  if (r != 0) {
    cli_error("submit", "event loop: %s", uv_strerror(r));
    return EXIT_REFUSED;
  }
  int status = EXIT_REFUSED;
  S->in.data = S;
  if (S->from_stdin && (r = lines_open(&S->in, &S->loop, STDIN_FILENO,
                                       LINES_POLL | LINES_STRIP_CR, lines_ready_cb)) != 0) {
    cli_error("submit", "reading stdin: %s", strerror(-r));
    goto out;
  }
  tend_dist_client_opts_t o = {
      .url = url,
      .stream = stream,
      .connect_timeout_ms = redis_timeout,
      .command_timeout_ms = redis_timeout,
      .ready_cb = submit_ready_cb,
      .error_cb = submit_err_cb,
      .data = S,
  };
  if ((status = client_open("submit", &S->loop, &o, &S->c)) != 0)
    goto out;
  uv_run(&S->loop, UV_RUN_DEFAULT);
  status = S->status;
  if (fflush(stdout) != 0 && status == 0) {
    cli_error("submit", "writing the ids: %s", strerror(errno));
    status = EXIT_REFUSED;
  }
out:
  submit_close(S);
  cli_loop_close("submit", &S->loop);
  return status;
}

int cmd_submit(int argc, char **argv) {
  switch (submit_form(argc, argv)) {
  case SUBMIT_HELP: fputs(cmd_submit_usage, stdout); return 0;
  case SUBMIT_NO_URL: return no_url("submit");
  case SUBMIT_REDIS_LATE:
    /* A word before --redis is POOL of the daemon pool's form, which has
     * no --redis: say where the option goes rather than "unknown". */
    cli_error("submit", "--redis goes before the command: tend submit --redis URL [OPTIONS] -- "
                        "CMD [ARG...] ('tend submit POOL -- CMD' is a daemon pool's)");
    return EXIT_USAGE;
  case SUBMIT_POOL: return cmd_ctl(argc, argv); /* tend submit POOL -- CMD: a daemon pool */
  case SUBMIT_REDIS: break;
  }
  struct submit *S = calloc(1, sizeof(*S));
  char **env = calloc((size_t)argc + 1, sizeof(char *));
  char **env_owned = calloc((size_t)argc + 1, sizeof(char *));
  if (S == NULL || env == NULL || env_owned == NULL) {
    cli_error("submit", "out of memory");
    free(S);
    free(env);
    free(env_owned);
    return EXIT_REFUSED;
  }
  int status = EXIT_USAGE, nenv = 0, nowned = 0;
  const char *url = NULL, *stream = DEFAULT_STREAM;
  uint64_t redis_timeout = 0;
  opterr = 0;
  optind = 0; /* 0: a fresh scan, in the mode of this optstring */
  int ch;
  /* '+': options end at the command's first word, so its own stay its own. */
  while ((ch = getopt_long(argc, argv, "+" SUBMIT_SHORTOPTS, submit_longopts, NULL)) != -1) {
    switch (ch) {
    case 'r': url = optarg; break;
    case 'T':
      if (args_seconds("submit", "--redis-timeout", optarg, true, &redis_timeout) != 0)
        goto out;
      break;
    case 'S': stream = optarg; break;
    case 'm': {
      unsigned long v;
      if (parse_count("submit", "--max-attempts", optarg, 1000, &v) != 0)
        goto out;
      S->task.max_attempts = (unsigned)v;
      break;
    }
    case 't':
      if (args_seconds("submit", "--timeout", optarg, true, &S->task.timeout_ms) != 0)
        goto out;
      break;
    case 'C': S->task.cwd = optarg; break;
    case 'e':
      if (optarg[0] == '=' || optarg[0] == '\0') {
        cli_error("submit", "--env: invalid value '%s': expected NAME=VALUE or NAME", optarg);
        goto out;
      }
      if (strchr(optarg, '=') != NULL) {
        env[nenv++] = optarg;
      } else {
        const char *v = getenv(optarg);
        if (v == NULL) {
          cli_error("submit", "--env %s: not set here (give NAME=VALUE)", optarg);
          goto out;
        }
        if (asprintf(&env_owned[nowned], "%s=%s", optarg, v) < 0) {
          cli_error("submit", "out of memory");
          goto out;
        }
        env[nenv++] = env_owned[nowned++];
      }
      break;
    case 'i': S->from_stdin = true; break;
    case 'c':
    case 's':
    case 'j':
      cli_error("submit", "option '%s' is for a daemon pool, not with --redis (see 'tend help "
                "submit')", ch == 'c' ? "--config" : ch == 's' ? "--socket" : "--json");
      goto out;
    default:
      cli_bad_option("submit", argv, submit_longopts);
      goto out;
    }
  }
  if (url == NULL || url[0] == '\0') {
    status = no_url("submit");
    goto out;
  }
  if (stream[0] == '\0') {
    cli_error("submit", "--stream: the name is empty");
    goto out;
  }
  if (optind < argc) {
    S->cmd = argv + optind;
    S->ncmd = argc - optind;
  } else if (!S->from_stdin) {
    cli_error("submit", "no command given (usage: tend submit --redis URL -- CMD [ARG...])");
    goto out;
  }
  S->task.env = nenv > 0 ? env : NULL;

  status = submit_run(S, url, stream, redis_timeout);
out:
  for (int i = 0; i < nowned; i++)
    free(env_owned[i]);
  free(env_owned);
  free(env);
  free(S);
  return status;
}

/* ---- tend worker ------------------------------------------------------------------ */

struct wk {
  uv_loop_t loop;
  tend_dist_worker_t *w;
  cli_signals_t sigs;
  int status;
  int nsignals;
  bool verbose;
  uint64_t grace_ms;
};

static void wk_stopped_cb(tend_dist_worker_t *w) {
  struct wk *K = tend_dist_worker_data(w);
  tend_dist_worker_stats_t st;
  tend_dist_worker_stats(w, &st);
  if (K->nsignals > 0)
    fprintf(stderr,
            "tend worker: stopped: %" PRIu64 " task%s done (%" PRIu64 " failed), %" PRIu64
            " handed back, %" PRIu64 " dead\n",
            st.succeeded + st.failed, st.succeeded + st.failed == 1 ? "" : "s", st.failed,
            st.handed_back, st.dead);
  cli_signals_close(&K->sigs);
  K->w = NULL;
}

static void wk_log_cb(tend_dist_worker_t *w, tend_dist_level_t level, const char *msg) {
  struct wk *K = tend_dist_worker_data(w);
  if (level == TEND_DIST_LOG_DEBUG && !K->verbose)
    return;
  if (level == TEND_DIST_LOG_ERROR)
    return; /* the fatal callback reports it */
  fprintf(stderr, "tend worker: %s%s\n", level == TEND_DIST_LOG_WARN ? "warning: " : "", msg);
}

static void wk_fatal_cb(tend_dist_worker_t *w, tend_dist_err_t kind, const char *msg) {
  struct wk *K = tend_dist_worker_data(w);
  cli_error("worker", "%s", msg);
  K->status = err_status(kind);
  tend_dist_worker_stop(w, 0, wk_stopped_cb);
}

static void wk_signal_cb(uv_signal_t *h, int signum) {
  struct wk *K = h->data;
  (void)signum;
  if (K->w == NULL)
    return;
  tend_dist_worker_stop(K->w, K->nsignals++ == 0 ? K->grace_ms : 0, wk_stopped_cb);
}

/* --output-cap: 1 byte to 256 MiB. */
static int parse_bytes(const char *s, size_t *out) {
  uint64_t v;
  if (units_bytes(s, &v) != 0 || v == 0 || v > (256u << 20))
    return -EINVAL;
  *out = (size_t)v;
  return 0;
}

/* Run the worker until it stops: the exit status. */
static int worker_run(struct wk *K, tend_dist_worker_opts_t *o) {
  int r = uv_loop_init(&K->loop);
  if (r != 0) {
    cli_error("worker", "event loop: %s", uv_strerror(r));
    return EXIT_REFUSED;
  }
  o->log_cb = wk_log_cb;
  o->fatal_cb = wk_fatal_cb;
  o->data = K;
  char err[512];
  if ((r = tend_dist_worker_start(&K->loop, o, &K->w, err, sizeof(err))) != 0) {
    cli_error("worker", "%s", err);
    uv_loop_close(&K->loop);
    return r == -EINVAL ? EXIT_USAGE : EXIT_REFUSED;
  }
  cli_signals_start(&K->sigs, &K->loop, true, wk_signal_cb, K);
  cli_loop_close("worker", &K->loop);
  return K->status;
}

int cmd_worker(int argc, char **argv) {
  static const struct option longopts[] = {
      {"redis", required_argument, NULL, 'r'},
      {"redis-timeout", required_argument, NULL, 'T'},
      {"stream", required_argument, NULL, 'S'},
      {"jobs", required_argument, NULL, 'j'},
      {"prefetch", required_argument, NULL, 'p'},
      {"group", required_argument, NULL, 'g'},
      {"name", required_argument, NULL, 'n'},
      {"visibility", required_argument, NULL, 'V'},
      {"output-cap", required_argument, NULL, 'o'},
      {"grace", required_argument, NULL, 'G'},
      {"kill-after", required_argument, NULL, 'k'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  tend_dist_worker_opts_t o;
  memset(&o, 0, sizeof(o));
  o.stream = DEFAULT_STREAM;
  o.fail_fast = true;
  struct wk *K = calloc(1, sizeof(*K));
  if (K == NULL) {
    cli_error("worker", "out of memory");
    return EXIT_REFUSED;
  }
  K->grace_ms = 10000;
  int status = EXIT_USAGE;
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "j:vh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'r': o.url = optarg; break;
    case 'T':
      if (args_seconds("worker", "--redis-timeout", optarg, true, &o.connect_timeout_ms) != 0)
        goto out;
      o.command_timeout_ms = o.connect_timeout_ms;
      break;
    case 'S': o.stream = optarg; break;
    case 'j': {
      unsigned long v;
      if (parse_count("worker", "--jobs", optarg, 100000, &v) != 0)
        goto out;
      o.jobs = (unsigned)v;
      break;
    }
    case 'p': {
      char *end;
      errno = 0;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end != '\0' || errno != 0 || v > 100000 || optarg[0] == '-') {
        cli_error("worker", "--prefetch: invalid value '%s': expected a number from 0 to 100000",
                  optarg);
        goto out;
      }
      o.prefetch = v == 0 ? -1 : (int)v;
      break;
    }
    case 'g': o.group = optarg; break;
    case 'n': o.name = optarg; break;
    case 'V':
      if (args_seconds("worker", "--visibility", optarg, true, &o.visibility_ms) != 0)
        goto out;
      break;
    case 'o':
      if (parse_bytes(optarg, &o.output_cap) != 0) {
        cli_error("worker", "--output-cap: invalid value '%s': expected bytes from 1 to 256M "
                  "(e.g. 4096, 64K, 1M)", optarg);
        goto out;
      }
      break;
    case 'G':
      if (args_seconds("worker", "--grace", optarg, false, &K->grace_ms) != 0)
        goto out;
      break;
    case 'k':
      if (args_seconds("worker", "--kill-after", optarg, false, &o.kill_after_ms) != 0)
        goto out;
      if (o.kill_after_ms == 0)
        o.kill_after_ms = 1; /* 0 means the default in the library */
      break;
    case 'v': K->verbose = true; break;
    case 'h': fputs(cmd_worker_usage, stdout); status = 0; goto out;
    default:
      cli_bad_option("worker", argv, longopts);
      goto out;
    }
  }
  if (optind < argc) {
    cli_error("worker", "unexpected argument '%s' (see 'tend help worker')", argv[optind]);
    goto out;
  }
  if (o.url == NULL || o.url[0] == '\0') {
    status = no_url("worker");
    goto out;
  }
  if (o.stream[0] == '\0' || (o.group != NULL && o.group[0] == '\0') ||
      (o.name != NULL && o.name[0] == '\0')) {
    cli_error("worker", "--stream, --group and --name may not be empty");
    goto out;
  }
  status = worker_run(K, &o);
out:
  free(K);
  return status;
}

/* ---- tend results ----------------------------------------------------------------- */

struct res {
  uv_loop_t loop;
  tend_dist_client_t *c;
  bool json, follow;
  char **wait;
  int nwait;
  bool *seen;
  int nseen;
  bool any_failed;
  int status;
  bool closed;
  uv_timer_t timer;
  bool timer_open;
  cli_signals_t sigs;
  bool out_broken;
};

static void res_close(struct res *R) {
  if (R->closed)
    return;
  R->closed = true;
  if (R->c != NULL)
    tend_dist_client_close(R->c, NULL);
  if (R->timer_open)
    uv_close((uv_handle_t *)&R->timer, NULL);
  cli_signals_close(&R->sigs);
}

static void print_result(struct res *R, const tend_dist_result_t *r) {
  if (R->out_broken)
    return;
  if (R->json) {
    fwrite(r->json, 1, r->json_len, stdout);
    fputc('\n', stdout);
  } else {
    char sum[1024];
    printf("%s: %s, attempt %u, worker %s on %s, %.3f s\n", r->id,
           tend_dist_result_summary(r, sum, sizeof(sum)), r->attempt, r->worker ? r->worker : "?",
           r->host ? r->host : "?", (double)r->duration_ms / 1000.0);
    fwrite(r->out[0], 1, r->out_len[0], stdout);
    fflush(stdout);
    fwrite(r->out[1], 1, r->out_len[1], stderr);
    for (int i = 0; i < 2; i++)
      if (r->out_truncated[i])
        fprintf(stderr, "tend results: %s: %s cut after %zu of %" PRIu64 " bytes (the worker's "
                "--output-cap)\n", r->id, i ? "stderr" : "stdout", r->out_len[i], r->out_bytes[i]);
  }
  if (fflush(stdout) != 0) {
    R->out_broken = true;
    if (errno != EPIPE)
      cli_error("results", "writing to stdout: %s", strerror(errno));
    if (R->status == 0)
      R->status = EXIT_REFUSED;
    res_close(R);
  }
}

static void res_result_cb(tend_dist_client_t *c, const tend_dist_result_t *r) {
  struct res *R = tend_dist_client_data(c);
  if (R->wait == NULL) {
    print_result(R, r);
    return;
  }
  for (int i = 0; i < R->nwait; i++) {
    if (R->seen[i] || strcmp(R->wait[i], r->id) != 0)
      continue;
    R->seen[i] = true; /* a task run twice (at-least-once): the first result */
    R->nseen++;
    if (r->status != TEND_DIST_SUCCEEDED)
      R->any_failed = true;
    print_result(R, r);
    break;
  }
  if (R->nseen == R->nwait) {
    R->status = R->any_failed ? EXIT_NOT_ALL_OK : 0;
    res_close(R);
  }
}

static void res_caught_up_cb(tend_dist_client_t *c) {
  struct res *R = tend_dist_client_data(c);
  if (R->wait == NULL && !R->follow)
    res_close(R);
}

static void res_ready_cb(tend_dist_client_t *c) {
  struct res *R = tend_dist_client_data(c);
  int r = tend_dist_results_read(c, "0", R->follow || R->wait != NULL, res_result_cb,
                                 res_caught_up_cb);
  if (r != 0 && r != -EBUSY) {
    cli_error("results", "%s", strerror(-r));
    R->status = EXIT_REFUSED;
    res_close(R);
  }
}

static void res_err_cb(tend_dist_client_t *c, tend_dist_err_t kind, const char *msg,
                       bool retrying) {
  struct res *R = tend_dist_client_data(c);
  if (retrying) { /* it reconnects and reads on from the last result seen */
    fprintf(stderr, "tend results: %s; reconnecting\n", msg);
    return;
  }
  cli_error("results", "%s", msg);
  R->status = err_status(kind);
  res_close(R);
}

static void res_timeout_cb(uv_timer_t *t) {
  struct res *R = t->data;
  int missing = R->nwait - R->nseen;
  cli_error("results", "timed out: %d task%s without a result:", missing, missing == 1 ? "" : "s");
  for (int i = 0; i < R->nwait; i++)
    if (!R->seen[i])
      fprintf(stderr, "  %s\n", R->wait[i]);
  R->status = EXIT_TIMEOUT;
  res_close(R);
}

static void res_signal_cb(uv_signal_t *h, int signum) {
  struct res *R = h->data;
  if (R->wait != NULL && R->status == 0)
    R->status = 128 + signum;
  res_close(R);
}

static bool valid_id(const char *s) {
  size_t a = strspn(s, "0123456789");
  if (a == 0 || a > 20 || s[a] != '-')
    return false;
  size_t b = strspn(s + a + 1, "0123456789");
  return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

/* Read the results until done (--wait), stopped, or the end: the exit
 * status. */
static int results_run(struct res *R, const char *url, const char *stream, uint64_t redis_timeout,
                       uint64_t timeout_ms) {
  int r = uv_loop_init(&R->loop);
  if (r != 0) {
    cli_error("results", "event loop: %s", uv_strerror(r));
    return EXIT_REFUSED;
  }
  int status;
  tend_dist_client_opts_t o = {
      .url = url,
      .stream = stream,
      .connect_timeout_ms = redis_timeout,
      .command_timeout_ms = redis_timeout,
      .reconnect = R->follow || R->wait != NULL,
      .ready_cb = res_ready_cb,
      .error_cb = res_err_cb,
      .data = R,
  };
  if ((status = client_open("results", &R->loop, &o, &R->c)) != 0)
    goto out;
  if (timeout_ms > 0) {
    uv_timer_init(&R->loop, &R->timer);
    R->timer.data = R;
    R->timer_open = true;
    uv_timer_start(&R->timer, res_timeout_cb, timeout_ms, 0);
  }
  cli_signals_start(&R->sigs, &R->loop, false, res_signal_cb, R);
  uv_run(&R->loop, UV_RUN_DEFAULT);
  status = R->status;
out:
  res_close(R);
  cli_loop_close("results", &R->loop);
  return status;
}

int cmd_results(int argc, char **argv) {
  static const struct option longopts[] = {
      {"redis", required_argument, NULL, 'r'},
      {"redis-timeout", required_argument, NULL, 'T'},
      {"stream", required_argument, NULL, 'S'},
      {"follow", no_argument, NULL, 'f'},
      {"json", no_argument, NULL, 'j'},
      {"wait", no_argument, NULL, 'w'},
      {"timeout", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct res *R = calloc(1, sizeof(*R));
  if (R == NULL) {
    cli_error("results", "out of memory");
    return EXIT_REFUSED;
  }
  const char *url = NULL, *stream = DEFAULT_STREAM;
  uint64_t redis_timeout = 0;
  bool wait = false;
  uint64_t timeout_ms = 0;
  int status = EXIT_USAGE;
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "fjh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'r': url = optarg; break;
    case 'T':
      if (args_seconds("results", "--redis-timeout", optarg, true, &redis_timeout) != 0)
        goto out;
      break;
    case 'S': stream = optarg; break;
    case 'f': R->follow = true; break;
    case 'j': R->json = true; break;
    case 'w': wait = true; break;
    case 't':
      if (args_seconds("results", "--timeout", optarg, true, &timeout_ms) != 0)
        goto out;
      break;
    case 'h': fputs(cmd_results_usage, stdout); status = 0; goto out;
    default:
      cli_bad_option("results", argv, longopts);
      goto out;
    }
  }
  if (url == NULL || url[0] == '\0') {
    status = no_url("results");
    goto out;
  }
  if (stream[0] == '\0') {
    cli_error("results", "--stream: the name is empty");
    goto out;
  }
  if (wait) {
    if (R->follow) {
      cli_error("results", "--wait and --follow exclude each other");
      goto out;
    }
    if (optind >= argc) {
      cli_error("results", "--wait needs task ids (usage: tend results --redis URL --wait ID...)");
      goto out;
    }
    for (int i = optind; i < argc; i++) {
      if (!valid_id(argv[i])) {
        cli_error("results", "'%s' is not a task id (as printed by tend submit: "
                  "1764100000000-0)", argv[i]);
        goto out;
      }
    }
    R->wait = argv + optind;
    R->nwait = argc - optind;
    R->seen = calloc((size_t)R->nwait, sizeof(bool));
    if (R->seen == NULL) {
      cli_error("results", "out of memory");
      status = EXIT_REFUSED;
      goto out;
    }
  } else if (optind < argc) {
    cli_error("results", "unexpected argument '%s' (task ids go after --wait)", argv[optind]);
    goto out;
  } else if (timeout_ms != 0) {
    cli_error("results", "--timeout applies to --wait only");
    goto out;
  }

  status = results_run(R, url, stream, redis_timeout, timeout_ms);
out:
  free(R->seen);
  free(R);
  return status;
}
