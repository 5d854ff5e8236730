/* SPDX-License-Identifier: MIT */
/*
 * tend run: Popen(...).communicate(input, timeout) from the shell.
 * Exit statuses follow GNU timeout(1) and POSIX shells: the command's own
 * status, 128+N when signal N killed it, 124 on timeout, 125 when tend run
 * itself fails, 126 when the command cannot be executed, 127 when it is not
 * found.
 */
#include "cli.h"
#include "core/childenv.h"
#include "tend/communicate.h"
#include "tend/text.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_TIMEOUT = 124, EXIT_OWN = 125, EXIT_NOEXEC = 126, EXIT_NOTFOUND = 127 };

const char cmd_run_usage[] =
    "usage: tend run [OPTIONS] [--] CMD [ARG...]\n"
    "\n"
    "Run CMD to its end, like Python's Popen.communicate(): write the input to\n"
    "its stdin and close it, read its stdout and stderr at the same time, wait\n"
    "for it to exit. CMD runs in a process group of its own; no shell is used.\n"
    "\n"
    "  --input TEXT        write TEXT to the command's stdin\n"
    "  --input-file FILE   write the contents of FILE to its stdin\n"
    "  --stdin             pass our stdin through (default: /dev/null)\n"
    "  --timeout SECONDS   SIGTERM the group after SECONDS (1.5, 2s, 3m, 1h),\n"
    "                      SIGKILL after --kill-after more; exit 124\n"
    "  --kill-after SECONDS  grace period after the timeout signal (default 2)\n"
    "  --cwd DIR           run in DIR\n"
    "  --env NAME=VALUE    set a variable (repeatable); the rest is inherited\n"
    "  --json              print one JSON object: pid, exit_code, signal,\n"
    "                      stdout, stderr, duration_ms, timed_out\n"
    "  --show-exit         print 'Exit code: N' on stderr at the end\n"
    "\n"
    "Exit status: the command's; 128+N if signal N ended it; 124 timed out;\n"
    "125 tend run failed; 126 cannot execute; 127 command not found.\n";

struct run_args {
  tend_comm_opts_t co;
  const char *cwd;
  const char *input_file;
  char **env_set;
  int nenv;
  bool json;
  bool show_exit;
  char **argv;
  const char *timeout_arg; /* as given, for the message */
};

static int parse(int argc, char **argv, struct run_args *a) {
  static const struct option longopts[] = {
      {"input", required_argument, NULL, 'i'},
      {"input-file", required_argument, NULL, 'f'},
      {"stdin", no_argument, NULL, 'S'},
      {"timeout", required_argument, NULL, 't'},
      {"kill-after", required_argument, NULL, 'k'},
      {"cwd", required_argument, NULL, 'C'},
      {"env", required_argument, NULL, 'e'},
      {"json", no_argument, NULL, 'j'},
      {"show-exit", no_argument, NULL, 'x'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int ninputs = 0;
  a->co.input_fd = -1;
  a->co.kill_after_ms = 2000;
  a->env_set = calloc((size_t)argc, sizeof(char *));
  if (a->env_set == NULL)
    return -ENOMEM;
  opterr = 0;
  optind = 1;
  int ch;
  /* '+': stop at the command, so its own options stay its own. */
  while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'i':
      a->co.has_input = true;
      a->co.input = optarg;
      a->co.input_len = strlen(optarg);
      ninputs++;
      break;
    case 'f':
      a->input_file = optarg;
      ninputs++;
      break;
    case 'S':
      a->co.input_fd = 0;
      ninputs++;
      break;
    case 't':
    case 'k': {
      uint64_t ms;
      const char *opt = ch == 't' ? "--timeout" : "--kill-after";
      if (args_seconds("run", opt, optarg, ch == 't', &ms) != 0)
        return -EINVAL;
      if (ch == 't') {
        a->co.timeout_ms = ms;
        a->timeout_arg = optarg;
      }
      else
        a->co.kill_after_ms = ms;
      break;
    }
    case 'C':
      a->cwd = optarg;
      break;
    case 'e':
      if (strchr(optarg, '=') == NULL || optarg[0] == '=') {
        cli_error("run", "--env: invalid value '%s': expected NAME=VALUE", optarg);
        return -EINVAL;
      }
      a->env_set[a->nenv++] = optarg;
      break;
    case 'j':
      a->json = true;
      break;
    case 'x':
      a->show_exit = true;
      break;
    case 'h':
      fputs(cmd_run_usage, stdout);
      exit(0);
    case '?':
    default:
      cli_bad_option("run", argv, longopts);
      return -EINVAL;
    }
  }
  if (ninputs > 1) {
    cli_error("run", "--input, --input-file and --stdin exclude each other");
    return -EINVAL;
  }
  if (optind >= argc) {
    cli_error("run", "no command given (usage: tend run [OPTIONS] -- CMD [ARG...])");
    return -EINVAL;
  }
  a->argv = argv + optind;
  return 0;
}

static int spawn_status(int err, tend_proc_err_t what) {
  if (what != TEND_PROC_ERR_EXEC)
    return EXIT_OWN;
  return err == UV_ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

static void report_spawn_error(const struct run_args *a, const tend_comm_result_t *r) {
  const char *why = strerror(-r->spawn_error);
  if (r->err_what == TEND_PROC_ERR_CWD)
    fprintf(stderr, "tend: cannot run '%s': working directory '%s': %s\n", a->argv[0], a->cwd,
            why);
  else
    fprintf(stderr, "tend: cannot run '%s': %s\n", a->argv[0], why);
}

/* A JSON string for child output: valid UTF-8 always; the exact bytes in
 * base64 under NAME_base64 when the output was not UTF-8. */
static int json_output(json_t *obj, const char *name, const tend_buf_t *b) {
  const char *data = b->data ? b->data : "";
  if (tend_utf8_valid(data, b->len))
    return json_object_set_new(obj, name, json_stringn(data, b->len));
  tend_buf_t text = {0}, raw = {0};
  int r = tend_utf8_sanitize(&text, data, b->len);
  if (r == 0)
    r = tend_base64(&raw, data, b->len);
  if (r == 0) {
    char key[32];
    snprintf(key, sizeof(key), "%s_base64", name);
    r = json_object_set_new(obj, name, json_stringn(text.data ? text.data : "", text.len));
    r |= json_object_set_new(obj, key, json_stringn(raw.data ? raw.data : "", raw.len));
  }
  tend_buf_free(&text);
  tend_buf_free(&raw);
  return r;
}

static int print_json(const struct run_args *a, const tend_comm_result_t *r) {
  json_t *o = json_object();
  json_t *cmd = json_array();
  for (int i = 0; a->argv[i] != NULL; i++)
    json_array_append_new(cmd, json_string(a->argv[i]));
  json_object_set_new(o, "command", cmd);
  if (r->spawn_error != 0) {
    char msg[512];
    snprintf(msg, sizeof(msg), "cannot run '%s': %s", a->argv[0], strerror(-r->spawn_error));
    json_object_set_new(o, "error", json_string(msg));
    json_object_set_new(o, "pid", json_null());
  } else {
    json_object_set_new(o, "pid", json_integer(r->pid));
  }
  bool exited = r->spawn_error == 0 && r->term_signal == 0;
  json_object_set_new(o, "exit_code", exited ? json_integer(r->exit_status) : json_null());
  char sig[32];
  json_object_set_new(o, "signal",
                      r->term_signal ? json_string(tend_signame(r->term_signal, sig, sizeof(sig)))
                                     : json_null());
  int rc = json_output(o, "stdout", &r->out[0]);
  rc |= json_output(o, "stderr", &r->out[1]);
  json_object_set_new(o, "duration_ms", json_integer((json_int_t)(r->duration_ns / 1000000)));
  json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
  if (rc == 0)
    rc = json_dumpf(o, stdout, JSON_COMPACT);
  json_decref(o);
  if (rc == 0 && (fputc('\n', stdout) == EOF || fflush(stdout) != 0))
    rc = -1;
  if (rc != 0)
    cli_error("run", "cannot write the JSON result: %s", strerror(errno ? errno : ENOMEM));
  return rc;
}

int cmd_run(int argc, char **argv) {
  struct run_args a;
  memset(&a, 0, sizeof(a));
  int status = EXIT_OWN;
  childenv_t env = {NULL};
  tend_comm_result_t res;
  memset(&res, 0, sizeof(res));

  if (parse(argc, argv, &a) != 0)
    goto out;
  if (a.input_file != NULL) {
    a.co.input_fd = open(a.input_file, O_RDONLY | O_CLOEXEC);
    if (a.co.input_fd < 0) {
      cli_error("run", "--input-file '%s': %s", a.input_file, strerror(errno));
      goto out;
    }
  }
  if (a.nenv > 0 && (childenv_init(&env, NULL) != 0 || childenv_setv(&env, a.env_set) != 0)) {
    cli_error("run", "out of memory");
    goto out;
  }

  a.co.out_fd[0] = a.json ? -1 : STDOUT_FILENO;
  a.co.out_fd[1] = a.json ? -1 : STDERR_FILENO;
  a.co.forward_signals = true;
  tend_proc_options_t po = {.argv = a.argv, .env = env.envp, .cwd = a.cwd};

  int r = tend_communicate(&po, &a.co, &res);
  if (r != 0) {
    cli_error("run", "event loop failed: %s", uv_strerror(r));
    goto out;
  }
  if (res.spawn_error != 0) {
    report_spawn_error(&a, &res);
    status = spawn_status(res.spawn_error, res.err_what);
  } else if (res.timed_out) {
    status = EXIT_TIMEOUT;
  } else {
    status = tend_comm_status(&res);
  }
  if (res.timed_out) {
    fprintf(stderr, "tend: ");
    cli_put_command(stderr, a.argv);
    size_t n = strlen(a.timeout_arg);
    bool unit = n > 0 && strchr("smhd", a.timeout_arg[n - 1]) != NULL;
    fprintf(stderr, ": timed out after %s%s\n", a.timeout_arg, unit ? "" : "s");
  }
  for (int i = 0; i < 2; i++)
    if (res.out_error[i] != 0 && res.out_error[i] != UV_EPIPE)
      fprintf(stderr, "tend: writing the command's %s: %s\n", i ? "stderr" : "stdout",
              strerror(-res.out_error[i]));
  if (res.input_error != 0)
    fprintf(stderr, "tend: reading the input: %s\n", strerror(-res.input_error));
  if (a.json && print_json(&a, &res) != 0 && status == 0)
    status = EXIT_OWN;
  if (a.show_exit && res.spawn_error == 0) {
    char sig[32];
    fprintf(stderr, "Exit code: %d", status);
    if (res.timed_out)
      fprintf(stderr, " (timed out)");
    else if (res.term_signal)
      fprintf(stderr, " (killed by %s)", tend_signame(res.term_signal, sig, sizeof(sig)));
    fputc('\n', stderr);
  }
out:
  if (a.input_file != NULL && a.co.input_fd >= 0)
    close(a.co.input_fd);
  tend_comm_result_free(&res);
  childenv_free(&env);
  free(a.env_set);
  return status;
}
