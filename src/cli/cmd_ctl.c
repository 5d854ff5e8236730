/* SPDX-License-Identifier: MIT */
/*
 * The control commands of the table in include/tend/ctl.h (status, start,
 * stop, ..., put, get, submit, join): each is a request over the daemon's
 * Unix socket, built with that table, and its reply printed for people
 * or, with --json, for scripts.
 *
 * Exit statuses: 0 done; 1 the daemon refused or the action failed for at
 * least one process; 2 bad usage; 3 (status) some process is not RUNNING;
 * 4 no daemon answers on the socket. `wait` exits with the process's own
 * status (128+N for signal N).
 */
#include "build_config.h"
#include "cli.h"
#include "core/units.h"
#include "tend/config.h"
#include "tend/ctl.h"
#include "tend/text.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_NOT_RUNNING = 3,
  EXIT_NO_DAEMON = 4,
  EXIT_TIMEOUT = 124,  /* get: nothing came in time (GNU timeout's code) */
  EXIT_TEMPFAIL = 75,  /* put --nowait on a full channel (sysexits EX_TEMPFAIL) */
};

typedef struct {
  const char *cmd;
  tend_ctl_cmd_t id;
  const char *socket;
  const char *config;
  bool json;
  bool follow;
  bool nowait;
  int64_t timeout_ms; /* get: -1 none */
  bool stderr_stream;
  int lines;
  const char **types; /* events: the --type patterns */
  size_t ntypes;
  char **args;
  int nargs;
} ctl_args_t;

static const char common_opts[] =
    "  -c, --config FILE  find the daemon's socket in FILE (default: $TEND_CONFIG,\n"
    "                     ./conf/tend.conf, " TEND_SYSCONFDIR "/tend/tend.conf)\n"
    "  -s, --socket PATH  the daemon's control socket (default: $TEND_SOCKET)\n";

/* ---- talking to the daemon --------------------------------------------- */

static char *socket_path(const ctl_args_t *a) {
  if (a->socket != NULL)
    return strdup(a->socket);
  const char *env = getenv("TEND_SOCKET");
  if (env != NULL && *env != '\0')
    return strdup(env);
  const char *path = a->config != NULL ? a->config : cli_default_config();
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  char *sock = NULL;
  if (tend_config_load(path, &cfg, &diag) == 0) {
    sock = strdup(cfg->socket);
    tend_config_free(cfg);
  } else {
    /* The file may have errors the daemon has not loaded yet: the socket
     * is still where it is by default, beside the file. */
    char *copy = strdup(path);
    if (copy != NULL && asprintf(&sock, "%s/tend.sock", dirname(copy)) < 0)
      sock = NULL;
    free(copy);
  }
  tend_diag_free(&diag);
  return sock;
}

static int connect_daemon(const ctl_args_t *a) {
  char *path = socket_path(a);
  if (path == NULL) {
    cli_error(a->cmd, "out of memory");
    return -ENOMEM;
  }
  int fd = tend_ctl_connect(path);
  if (fd < 0)
    fprintf(stderr, "tend %s: no daemon answers on %s: %s\n", a->cmd, path, strerror(-fd));
  free(path);
  return fd;
}

/* A request for a's command with the optional arguments in given
 * (CTL_BIT of each); the caller fills in their values. */
static tend_ctl_req_t request(const ctl_args_t *a, uint32_t given) {
  return (tend_ctl_req_t){.cmd = a->id, .given = given};
}

/* Send req and read one reply. 0, or an exit status. */
static int call(int fd, const ctl_args_t *a, const tend_ctl_req_t *req, const void *data,
                size_t len, json_t **reply, char **rdata, size_t *rlen) {
  char *json = tend_ctl_encode(req);
  int r = json ? tend_ctl_send(fd, json, data, len) : -ENOMEM;
  free(json);
  char *rjson = NULL, *rd = NULL;
  size_t rl = 0;
  if (r == 0)
    r = tend_ctl_recv(fd, &rjson, &rd, &rl);
  if (r != 0) {
    cli_error(a->cmd, "the daemon did not answer: %s",
              r == -EPIPE ? "connection closed" : strerror(-r));
    return EXIT_NO_DAEMON;
  }
  json_error_t err;
  *reply = json_loads(rjson, 0, &err);
  free(rjson);
  if (!json_is_object(*reply)) {
    cli_error(a->cmd, "bad reply from the daemon: %s", err.text);
    json_decref(*reply);
    free(rd);
    return EXIT_FAILED;
  }
  if (rdata != NULL) {
    *rdata = rd;
    *rlen = rl;
  } else {
    free(rd);
  }
  return 0;
}

/* A reply with ok=false: print its error. True if it was one. */
static bool failed(const ctl_args_t *a, json_t *reply) {
  if (json_is_true(json_object_get(reply, "ok")))
    return false;
  const char *e = json_string_value(json_object_get(reply, "error"));
  fprintf(stderr, "tend %s: %s\n", a->cmd, e ? e : "failed");
  return true;
}

/* call() for a request whose reply must say ok: an error reply is printed
 * and gives EXIT_FAILED. On 0, the caller owns *reply. */
static int call_ok(int fd, const ctl_args_t *a, const tend_ctl_req_t *req, json_t **reply) {
  int r = call(fd, a, req, NULL, 0, reply, NULL, NULL);
  if (r == 0 && failed(a, *reply)) {
    json_decref(*reply);
    r = EXIT_FAILED;
  }
  return r;
}

/* The operands, as the "names" of a request. */
static tend_ctl_strv_t operands(const ctl_args_t *a) {
  return (tend_ctl_strv_t){(const char **)a->args, (size_t)a->nargs};
}

static void print_json(json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT);
  if (s != NULL)
    puts(s);
  free(s);
}

/* ---- the commands ------------------------------------------------------ */

static void format_uptime(char *out, size_t n, long long ms) {
  long long s = ms / 1000;
  if (s >= 86400)
    snprintf(out, n, "%lldd %02lld:%02lld:%02lld", s / 86400, s % 86400 / 3600, s % 3600 / 60,
             s % 60);
  else
    snprintf(out, n, "%lld:%02lld:%02lld", s / 3600, s % 3600 / 60, s % 60);
}

static int do_status(int fd, const ctl_args_t *a) {
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_NAMES));
  req.names = operands(a);
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  json_t *procs = json_object_get(reply, "processes");
  int status = 0;
  size_t i;
  json_t *p;
  json_array_foreach(procs, i, p) {
    if (strcmp(json_string_value(json_object_get(p, "state")), "RUNNING") != 0)
      status = EXIT_NOT_RUNNING;
  }
  if (a->json) {
    print_json(procs);
    json_decref(reply);
    return status;
  }
  printf("%-24s %-9s %8s %12s %9s %6s %-12s %s\n", "NAME", "STATE", "PID", "UPTIME", "RSS",
         "CPU%", "LAST EXIT", "RESTARTS");
  json_array_foreach(procs, i, p) {
    char pid[16] = "-", up[32] = "-", last[32] = "-", rss[16] = "-", cpu[16] = "-";
    json_t *jr = json_object_get(p, "rss"), *jc = json_object_get(p, "cpu_percent");
    if (json_is_integer(jr)) {
      double v = (double)json_integer_value(jr);
      const char *unit = "K";
      v /= 1024;
      if (v >= 1024) {
        v /= 1024;
        unit = "M";
      }
      if (v >= 1024) {
        v /= 1024;
        unit = "G";
      }
      snprintf(rss, sizeof(rss), "%.1f%s", v, unit);
    }
    if (json_is_number(jc))
      snprintf(cpu, sizeof(cpu), "%.1f", json_number_value(jc));
    json_t *jp = json_object_get(p, "pid");
    if (json_is_integer(jp))
      snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(jp));
    long long ms = json_integer_value(json_object_get(p, "uptime_ms"));
    if (ms > 0)
      format_uptime(up, sizeof(up), ms);
    json_t *ec = json_object_get(p, "exit_code"), *sg = json_object_get(p, "signal");
    if (json_is_integer(ec))
      snprintf(last, sizeof(last), "%lld", (long long)json_integer_value(ec));
    else if (json_is_string(sg))
      snprintf(last, sizeof(last), "%s", json_string_value(sg));
    const char *reason = json_string_value(json_object_get(p, "reason"));
    printf("%-24s %-9s %8s %12s %9s %6s %-12s %lld%s%s\n",
           json_string_value(json_object_get(p, "name")),
           json_string_value(json_object_get(p, "state")), pid, up, rss, cpu, last,
           (long long)json_integer_value(json_object_get(p, "restarts")), reason ? "  " : "",
           reason ? reason : "");
  }
  json_decref(reply);
  return status;
}

static int do_action(int fd, const ctl_args_t *a) {
  if (a->nargs == 0) {
    cli_error(a->cmd, "name a process, GROUP:*, or all (usage: tend %s NAME...|all)", a->cmd);
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_NAMES) | CTL_BIT(CTL_ARG_WAIT));
  req.names = operands(a);
  req.wait = true;
  json_t *reply;
  int r = call(fd, a, &req, NULL, 0, &reply, NULL, NULL);
  if (r != 0)
    return r;
  json_t *results = json_object_get(reply, "results");
  if (results == NULL) {
    failed(a, reply);
    json_decref(reply);
    return EXIT_FAILED;
  }
  int status = json_is_true(json_object_get(reply, "ok")) ? 0 : EXIT_FAILED;
  if (a->json) {
    print_json(results);
  } else {
    const char *verb = a->id == CTL_CMD_START  ? "started"
                       : a->id == CTL_CMD_STOP ? "stopped"
                                               : "restarted";
    size_t i;
    json_t *res;
    json_array_foreach(results, i, res) {
      const char *name = json_string_value(json_object_get(res, "name"));
      if (json_is_true(json_object_get(res, "ok")))
        printf("%s: %s\n", name, verb);
      else
        fprintf(stderr, "%s: ERROR (%s)\n", name,
                json_string_value(json_object_get(res, "error")));
    }
  }
  json_decref(reply);
  return status;
}

static int send_chunk(int fd, const ctl_args_t *a, const char *data, size_t len, bool eof) {
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_EOF));
  req.name = a->args[0];
  req.eof = eof;
  json_t *reply;
  int r = call(fd, a, &req, data, len, &reply, NULL, NULL);
  if (r != 0)
    return r;
  r = failed(a, reply) ? EXIT_FAILED : 0;
  json_decref(reply);
  return r;
}

static int do_send(int fd, const ctl_args_t *a) {
  if (a->nargs != 2) {
    cli_error(a->cmd, "usage: tend send NAME TEXT|-");
    return EXIT_USAGE;
  }
  if (strcmp(a->args[1], "-") != 0) {
    /* TEXT and a newline: one line of input, as typed. */
    size_t n = strlen(a->args[1]);
    char *line = malloc(n + 1);
    if (line == NULL)
      return EXIT_FAILED;
    memcpy(line, a->args[1], n);
    line[n] = '\n';
    int r = n + 1 > TEND_CTL_MAX_DATA ? (cli_error(a->cmd, "TEXT is over 1 MiB: use -"), 2)
                                      : send_chunk(fd, a, line, n + 1, false);
    free(line);
    return r;
  }
  static char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      cli_error(a->cmd, "reading stdin: %s", strerror(errno));
      return EXIT_FAILED;
    }
    if (n == 0)
      return 0;
    int r = send_chunk(fd, a, buf, (size_t)n, false);
    if (r != 0)
      return r;
  }
}

/* Send req: 0, or EXIT_NO_DAEMON (said). */
static int send_request(int fd, const ctl_args_t *a, const tend_ctl_req_t *req) {
  char *json = tend_ctl_encode(req);
  int r = json != NULL ? tend_ctl_send(fd, json, NULL, 0) : -ENOMEM;
  free(json);
  if (r == 0)
    return 0;
  cli_error(a->cmd, "the daemon did not answer: %s", strerror(-r));
  return EXIT_NO_DAEMON;
}

/* The next frame of a streamed reply: 1 with *reply (decoded, NULL if it
 * is not JSON) and its data (*data malloc'd, NULL if none), 0 when the
 * daemon ended the stream, or EXIT_NO_DAEMON (said). */
static int next_frame(int fd, const ctl_args_t *a, json_t **reply, char **data, size_t *len) {
  char *rj;
  int r = tend_ctl_recv(fd, &rj, data, len);
  if (r == -EPIPE)
    return 0;
  if (r != 0) {
    cli_error(a->cmd, "reading from the daemon: %s", strerror(-r));
    return EXIT_NO_DAEMON;
  }
  *reply = json_loads(rj, 0, NULL);
  free(rj);
  return 1;
}

/* Send req, then take the reply frames until the daemon ends the stream:
 * each frame's data goes to out (stdout) followed by sep (if not 0).
 * Returns 0, or an exit status; timed_out_status is what an error reply
 * with "timed_out" gives. */
static int stream_frames(int fd, const ctl_args_t *a, const tend_ctl_req_t *req, char sep,
                         int timed_out_status) {
  int r = send_request(fd, a, req);
  if (r != 0)
    return r;
  json_t *reply;
  char *rd;
  size_t rl;
  while ((r = next_frame(fd, a, &reply, &rd, &rl)) == 1) {
    bool timed_out = json_is_true(json_object_get(reply, "timed_out"));
    bool bad = failed(a, reply);
    json_decref(reply);
    if (bad) {
      free(rd);
      return timed_out ? timed_out_status : EXIT_FAILED;
    }
    bool ok = (rl == 0 || fwrite(rd, 1, rl, stdout) == rl) && (sep == 0 || putchar(sep) != EOF);
    free(rd);
    if (!ok || fflush(stdout) != 0)
      return EXIT_FAILED; /* our reader went away */
  }
  return r;
}

static int do_logs(int fd, const ctl_args_t *a) {
  if (a->nargs != 1) {
    cli_error(a->cmd, "usage: tend logs [-f] [-n N] [--stderr] NAME");
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_LINES) | CTL_BIT(CTL_ARG_STREAM) |
                                      CTL_BIT(CTL_ARG_FOLLOW));
  req.name = a->args[0];
  req.lines = a->lines;
  req.stream = a->stderr_stream ? 1 : 0;
  req.follow = a->follow;
  /* Frames of output until the daemon ends the stream. */
  return stream_frames(fd, a, &req, 0, EXIT_FAILED);
}

/* An event's payload on one line: backslash, newline and the other
 * control characters escaped. */
static void print_escaped(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '\\')
      fputs("\\\\", stdout);
    else if (ch == '\n')
      fputs("\\n", stdout);
    else if (ch < 0x20 || ch == 0x7f)
      printf("\\x%02x", ch);
    else
      putchar(ch);
  }
}

/* The payload as a JSON string: bytes that are not UTF-8 become '?'. */
static json_t *payload_json(const char *s, size_t len) {
  json_t *v = json_stringn(s, len);
  if (v != NULL)
    return v;
  char *copy = malloc(len + 1);
  if (copy == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++)
    copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
  v = json_stringn(copy, len);
  free(copy);
  return v;
}

/* One event a line: "EVENTNAME serial:N PAYLOAD" (no serial when no pool
 * took it), or "dropped N" when the daemon skipped some for us; with
 * --json one object a line. */
static int print_event(const ctl_args_t *a, json_t *reply, const char *data, size_t len) {
  json_t *dropped = json_object_get(reply, "dropped");
  const char *name = json_string_value(json_object_get(reply, "eventname"));
  json_t *serial = json_object_get(reply, "serial");
  if (dropped == NULL && name == NULL)
    return 0; /* the first frame: the request is taken */
  if (a->json) {
    json_t *o = dropped != NULL
                    ? json_pack("{s:O}", "dropped", dropped)
                    : json_pack("{s:s,s:O,s:o}", "eventname", name ? name : "", "serial",
                                serial ? serial : json_null(), "payload", payload_json(data, len));
    if (o == NULL)
      return EXIT_FAILED;
    print_json(o);
    json_decref(o);
  } else if (dropped != NULL) {
    printf("dropped %lld\n", (long long)json_integer_value(dropped));
  } else {
    printf("%s", name ? name : "?");
    if (json_is_integer(serial))
      printf(" serial:%lld", (long long)json_integer_value(serial));
    putchar(' ');
    print_escaped(data, len);
    putchar('\n');
  }
  return fflush(stdout) == 0 ? 0 : EXIT_FAILED; /* our reader went away */
}

static int do_events(int fd, const ctl_args_t *a) {
  if (a->nargs != 0) {
    cli_error(a->cmd, "usage: tend events [-f] [--json] [--type PATTERN]...");
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_TYPES) | CTL_BIT(CTL_ARG_FOLLOW));
  req.types = (tend_ctl_strv_t){a->types, a->ntypes};
  req.follow = a->follow;
  int r = send_request(fd, a, &req);
  if (r != 0)
    return r;
  json_t *reply;
  char *rd;
  size_t rl;
  while ((r = next_frame(fd, a, &reply, &rd, &rl)) == 1) {
    int st = failed(a, reply) ? EXIT_FAILED : print_event(a, reply, rd ? rd : "", rl);
    json_decref(reply);
    free(rd);
    if (st != 0)
      return st;
  }
  return r;
}

static int do_wait(int fd, const ctl_args_t *a) {
  if (a->nargs != 1) {
    cli_error(a->cmd, "usage: tend wait NAME");
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, 0);
  req.name = a->args[0];
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  json_t *ec = json_object_get(reply, "exit_code");
  const char *sig = json_string_value(json_object_get(reply, "signal"));
  int status;
  if (a->json)
    print_json(reply);
  if (sig != NULL) {
    int n = tend_signum(sig);
    status = 128 + (n > 0 ? n : 0);
    if (!a->json)
      printf("%s: killed by %s\n", a->args[0], sig);
  } else {
    status = (int)json_integer_value(ec) & 0xff;
    if (!a->json)
      printf("%s: exit code %d\n", a->args[0], (int)json_integer_value(ec));
  }
  json_decref(reply);
  return status;
}

static void print_names(const char *label, json_t *arr) {
  if (json_array_size(arr) == 0)
    return;
  printf("%s:", label);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) printf(" %s", json_string_value(v));
  putchar('\n');
}

static int do_reload(int fd, const ctl_args_t *a) {
  if (a->nargs != 0) {
    cli_error(a->cmd, "unexpected argument '%s' (usage: tend reload [--json])", a->args[0]);
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, 0);
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  if (a->json) {
    print_json(reply);
  } else {
    print_names("added", json_object_get(reply, "added"));
    print_names("changed", json_object_get(reply, "changed"));
    print_names("removed", json_object_get(reply, "removed"));
  }
  json_decref(reply);
  return 0;
}

/* One put request: a message, or (split) lines. */
static int put_frame(int fd, const ctl_args_t *a, const char *data, size_t len, bool split) {
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_SPLIT) | CTL_BIT(CTL_ARG_NOWAIT));
  req.name = a->args[0];
  req.split = split;
  req.nowait = a->nowait;
  json_t *reply;
  int r = call(fd, a, &req, data, len, &reply, NULL, NULL);
  if (r != 0)
    return r;
  if (failed(a, reply))
    r = json_is_true(json_object_get(reply, "full")) ? EXIT_TEMPFAIL : EXIT_FAILED;
  json_decref(reply);
  return r;
}

static int do_put(int fd, const ctl_args_t *a) {
  if (a->nargs != 2) {
    cli_error(a->cmd, "usage: tend put [--nowait] NAME VALUE|-");
    return EXIT_USAGE;
  }
  if (strcmp(a->args[1], "-") != 0) {
    size_t n = strlen(a->args[1]);
    if (n > TEND_CTL_MAX_DATA) {
      cli_error(a->cmd, "VALUE is over 1 MiB");
      return EXIT_USAGE;
    }
    return put_frame(fd, a, a->args[1], n, false);
  }
  /* Each stdin line a message, sent in batches of whole lines. */
  static char buf[256 * 1024];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf + have, sizeof(buf) - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      cli_error(a->cmd, "reading stdin: %s", strerror(errno));
      return EXIT_FAILED;
    }
    have += (size_t)n;
    size_t cut = have;
    if (n > 0) {
      while (cut > 0 && buf[cut - 1] != '\n')
        cut--;
      if (cut == 0 && have == sizeof(buf))
        cut = have; /* one line longer than the buffer: send it as it is */
    }
    if (cut > 0) {
      int r = put_frame(fd, a, buf, cut, true);
      if (r != 0)
        return r;
      memmove(buf, buf + cut, have - cut);
      have -= cut;
    }
    if (n == 0)
      return 0;
  }
}

static int do_get(int fd, const ctl_args_t *a) {
  if (a->nargs != 1) {
    cli_error(a->cmd, "usage: tend get [--timeout S] [-n K] NAME");
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_COUNT) |
                                      (a->timeout_ms >= 0 ? CTL_BIT(CTL_ARG_TIMEOUT_MS) : 0));
  req.name = a->args[0];
  req.count = a->lines > 0 ? a->lines : 1;
  req.timeout_ms = a->timeout_ms;
  /* One frame per message, each printed with a newline. */
  return stream_frames(fd, a, &req, '\n', EXIT_TIMEOUT);
}

/* ---- daemon pools ---------------------------------------------------- */

static int do_submit(int fd, const ctl_args_t *a) {
  if (a->nargs < 2) {
    cli_error(a->cmd, "usage: tend submit POOL -- CMD [ARG...]");
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, 0);
  req.pool = a->args[0];
  /* the command: what follows POOL (cmd_ctl took a "--") */
  req.argv = (tend_ctl_strv_t){(const char **)a->args + 1, (size_t)a->nargs - 1};
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  if (a->json)
    print_json(reply);
  else
    printf("%s\n", json_string_value(json_object_get(reply, "id")));
  json_decref(reply);
  return 0;
}

static int do_pool_status(int fd, const ctl_args_t *a) {
  if (a->nargs != 1) {
    cli_error(a->cmd, "usage: tend pool-status [--json] POOL");
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, 0);
  req.pool = a->args[0];
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  if (a->json) {
    json_object_del(reply, "ok");
    print_json(reply);
    json_decref(reply);
    return 0;
  }
  printf("pool %s: %s, %lld workers, %lld queued, %lld running, %lld done (%lld failed)\n",
         a->args[0], json_is_true(json_object_get(reply, "closed")) ? "closed" : "open",
         (long long)json_integer_value(json_object_get(reply, "workers")),
         (long long)json_integer_value(json_object_get(reply, "queued")),
         (long long)json_integer_value(json_object_get(reply, "running")),
         (long long)json_integer_value(json_object_get(reply, "done")),
         (long long)json_integer_value(json_object_get(reply, "failed")));
  printf("%6s %-8s %8s %10s %-10s %s\n", "ID", "STATE", "PID", "RUNTIME", "EXIT", "COMMAND");
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(reply, "tasks"), i, t) {
    char pid[16] = "-", rt[32] = "-", ex[32] = "-";
    if (json_is_integer(json_object_get(t, "pid")))
      snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(json_object_get(t, "pid")));
    if (json_is_integer(json_object_get(t, "runtime_ms")))
      snprintf(rt, sizeof(rt), "%.3fs",
               (double)json_integer_value(json_object_get(t, "runtime_ms")) / 1000);
    if (json_is_integer(json_object_get(t, "exit_code")))
      snprintf(ex, sizeof(ex), "%lld",
               (long long)json_integer_value(json_object_get(t, "exit_code")));
    else if (json_is_string(json_object_get(t, "signal")))
      snprintf(ex, sizeof(ex), "%s", json_string_value(json_object_get(t, "signal")));
    else if (json_is_string(json_object_get(t, "error")))
      snprintf(ex, sizeof(ex), "%s", json_string_value(json_object_get(t, "error")));
    printf("%6lld %-8s %8s %10s %-10s", (long long)json_integer_value(json_object_get(t, "id")),
           json_string_value(json_object_get(t, "state")), pid, rt, ex);
    size_t k;
    json_t *w;
    json_array_foreach(json_object_get(t, "command"), k, w) printf(" %s", json_string_value(w));
    putchar('\n');
  }
  json_decref(reply);
  return 0;
}

static int do_close_join(int fd, const ctl_args_t *a) {
  if (a->nargs != 1) {
    cli_error(a->cmd, "usage: tend %s POOL", a->cmd);
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, 0);
  req.pool = a->args[0];
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  if (a->id == CTL_CMD_JOIN) {
    /* Every task accepted since the pool opened, with its exit code. */
    int failed_n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(reply, "tasks"), i, t) {
      bool ok = json_is_true(json_object_get(t, "ok"));
      failed_n += !ok;
      if (a->json)
        continue;
      json_t *ec = json_object_get(t, "exit_code");
      const char *sig = json_string_value(json_object_get(t, "signal"));
      const char *err = json_string_value(json_object_get(t, "error"));
      printf("%s/%lld: ", a->args[0], (long long)json_integer_value(json_object_get(t, "id")));
      if (json_is_integer(ec))
        printf("exit code %lld%s\n", (long long)json_integer_value(ec),
               json_is_true(json_object_get(t, "timed_out")) ? " (timed out)" : "");
      else
        printf("%s\n", sig != NULL ? sig : err != NULL ? err : "?");
    }
    if (a->json)
      print_json(json_object_get(reply, "tasks"));
    r = failed_n > 0 ? EXIT_FAILED : 0;
  }
  json_decref(reply);
  return r;
}

static int do_logrotate(int fd, const ctl_args_t *a) {
  tend_ctl_req_t req = request(a, CTL_BIT(CTL_ARG_NAMES));
  req.names = operands(a);
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  json_decref(reply);
  return 0;
}

static int do_shutdown(int fd, const ctl_args_t *a) {
  if (a->nargs != 0) {
    cli_error(a->cmd, "unexpected argument '%s' (usage: tend shutdown)", a->args[0]);
    return EXIT_USAGE;
  }
  tend_ctl_req_t req = request(a, 0);
  json_t *reply;
  int r = call_ok(fd, a, &req, &reply);
  if (r != 0)
    return r;
  json_decref(reply);
  /* The daemon closes every connection when it has stopped everything:
   * return only then, so `tend shutdown && ...` sees it gone. */
  char c;
  while (read(fd, &c, 1) > 0)
    ;
  if (!a->json)
    printf("shut down\n");
  return 0;
}

/* ---- table and options ------------------------------------------------- */

typedef int (*ctl_fn)(int fd, const ctl_args_t *a);

/* The CLI side of each command of the table (tend/ctl.h): its handler,
 * the extra options it takes, its usage. */
static const struct {
  ctl_fn fn;
  const char *opts;
  const char *usage;
} cli[CTL_NCMDS] = {
    [CTL_CMD_STATUS] = {do_status, "j",
                        "usage: tend status [--json] [NAME|GROUP:*...]\n"
                        "Exit status 3 when a process shown is not RUNNING.\n"},
    [CTL_CMD_START] = {do_action, "j", "usage: tend start [--json] NAME|GROUP:*|all...\n"},
    [CTL_CMD_STOP] = {do_action, "j", "usage: tend stop [--json] NAME|GROUP:*|all...\n"},
    [CTL_CMD_RESTART] = {do_action, "j", "usage: tend restart [--json] NAME|GROUP:*|all...\n"},
    [CTL_CMD_SEND] = {do_send, "",
                      "usage: tend send NAME TEXT|-\n"
                      "A TEXT that starts with '-' goes after '--': tend send NAME -- -x\n"},
    [CTL_CMD_LOGS] = {do_logs, "fnE", "usage: tend logs [-f] [-n N] [--stderr] NAME\n"},
    [CTL_CMD_WAIT] = {do_wait, "j", "usage: tend wait [--json] NAME\n"},
    [CTL_CMD_RELOAD] = {do_reload, "j", "usage: tend reload [--json]\n"},
    [CTL_CMD_SHUTDOWN] = {do_shutdown, "", "usage: tend shutdown\n"},
    [CTL_CMD_SUBMIT] = {do_submit, "j", "usage: tend submit [--json] POOL -- CMD [ARG...]\n"},
    [CTL_CMD_POOL_STATUS] = {do_pool_status, "j", "usage: tend pool-status [--json] POOL\n"},
    [CTL_CMD_CLOSE] = {do_close_join, "", "usage: tend close POOL\n"},
    [CTL_CMD_JOIN] = {do_close_join, "j",
                      "usage: tend join [--json] POOL\n"
                      "An error before `tend close` (as in Python). Exit 1 if a task failed.\n"},
    [CTL_CMD_PUT] = {do_put, "w",
                     "usage: tend put [--nowait] NAME VALUE|-\n"
                     "--nowait: fail at once on a full channel (exit 75).\n"},
    [CTL_CMD_GET] = {do_get, "nt",
                     "usage: tend get [--timeout SECONDS] [-n K] NAME\n"
                     "Prints each message and a newline; exit 124 when the timeout passes "
                     "first.\n"},
    [CTL_CMD_LOGROTATE] = {do_logrotate, "",
                           "usage: tend logrotate [NAME|GROUP:*...]\n"
                           "With no name: every process's logs and the daemon's own log file.\n"},
    [CTL_CMD_EVENTS] = {do_events, "fjT",
                        "usage: tend events [-f] [--json] [--type PATTERN]...\n"
                        "The last events, then (-f) each one as it comes. PATTERN: a type\n"
                        "of supervisord's (PROCESS_STATE takes every PROCESS_STATE_*) or a\n"
                        "glob (*_STDOUT); repeat it for several.\n"},
};

const char *cmd_ctl_usage(tend_ctl_cmd_t cmd) { return cli[cmd].usage; }

int cmd_ctl(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
      {"json", no_argument, NULL, 'j'},         {"follow", no_argument, NULL, 'f'},
      {"lines", required_argument, NULL, 'n'},  {"stderr", no_argument, NULL, 'E'},
      {"nowait", no_argument, NULL, 'w'},       {"timeout", required_argument, NULL, 't'},
      {"type", required_argument, NULL, 'T'},   {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  /* main (or cmd_submit) hands over only the commands of the table. */
  ctl_args_t a = {.cmd = argv[0],
                  .id = (tend_ctl_cmd_t)tend_ctl_cmd_find(argv[0]),
                  .lines = 10,
                  .timeout_ms = -1};
  if (a.id == CTL_CMD_GET)
    a.lines = 1;
  /* Options go anywhere before "--": getopt permutes the operands to the
   * end. submit's operands end with a command, whose options are its own:
   * there options are taken up to the command's first word, the operand
   * after POOL ('-': getopt returns each operand in place, as option 1). */
  bool submit = a.id == CTL_CMD_SUBMIT;
  const char *pool = NULL;
  static const char *types[64]; /* --type: they point into argv */
  a.types = types;
  int ch;
  opterr = 0;
  optind = 0; /* 0: a fresh scan, in the mode of this optstring (cmd_submit scanned first) */
  while ((ch = getopt_long(argc, argv, submit ? "-c:s:jfn:EwhT:" : "c:s:jfn:EwhT:", longopts,
                           NULL)) != -1) {
    if (ch == 1 && pool == NULL) {
      pool = optarg;
      continue;
    }
    if (ch == 1) {
      optind--; /* the command starts here */
      break;
    }
    if (ch != 'c' && ch != 's' && ch != 'h' && ch != '?' && strchr(cli[a.id].opts, ch) == NULL) {
      /* By its long name: argv[optind - 1] is the value after "-n 5". */
      const struct option *o = longopts;
      while (o->val != ch)
        o++;
      cli_error(a.cmd, "option '--%s' does not apply here (see 'tend help %s')", o->name, a.cmd);
      return EXIT_USAGE;
    }
    switch (ch) {
    case 'c': a.config = optarg; break;
    case 's': a.socket = optarg; break;
    case 'j': a.json = true; break;
    case 'f': a.follow = true; break;
    case 'E': a.stderr_stream = true; break;
    case 'w': a.nowait = true; break;
    case 'T':
      if (a.ntypes == sizeof(types) / sizeof(types[0])) {
        cli_error(a.cmd, "--type: at most %zu patterns", a.ntypes);
        return EXIT_USAGE;
      }
      types[a.ntypes++] = optarg;
      break;
    case 't': {
      uint64_t ms;
      if (units_ms(optarg, &ms) != 0) {
        cli_error(a.cmd, "--timeout: invalid value '%s': expected seconds (e.g. 1.5, 30s)",
                  optarg);
        return EXIT_USAGE;
      }
      a.timeout_ms = (int64_t)ms;
      break;
    }
    case 'n': {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end != '\0' || n < 0 || n > 1000000) {
        cli_error(a.cmd, "--lines: invalid value '%s': expected a number from 0 to 1000000",
                  optarg);
        return EXIT_USAGE;
      }
      a.lines = (int)n;
      break;
    }
    case 'h':
      fputs(cli[a.id].usage, stdout);
      fputs(common_opts, stdout);
      return 0;
    default:
      cli_bad_option(a.cmd, argv, longopts);
      return EXIT_USAGE;
    }
  }
  /* POOL back in front of the command, in the slot before it: that held
   * POOL itself, an option or "--", all parsed by now. */
  if (pool != NULL)
    argv[--optind] = (char *)pool;
  a.args = argv + optind;
  a.nargs = argc - optind;
  int fd = connect_daemon(&a);
  if (fd < 0)
    return EXIT_NO_DAEMON;
  int r = cli[a.id].fn(fd, &a);
  close(fd);
  return r;
}
