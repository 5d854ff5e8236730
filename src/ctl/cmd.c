/* SPDX-License-Identifier: MIT */
/*
 * The control commands' table (include/tend/ctl.h): what each one takes
 * and answers. The CLI encodes its requests with it, the daemon decodes
 * them with it into a typed request, `tend --help`, the manual's test and
 * the completion's test list the commands from it: adding a command here
 * is what makes it exist at both ends.
 */
#include "ctl/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const streams[] = {"stdout", "stderr", NULL};

#define OFF(field) offsetof(tend_ctl_req_t, field)

const tend_ctl_argspec_t tend_ctl_args[CTL_NARGS] = {
    [CTL_ARG_NAMES] = {"names", CTL_T_STRINGS, OFF(names), 0, NULL},
    [CTL_ARG_WAIT] = {"wait", CTL_T_BOOL, OFF(wait), 0, NULL},
    [CTL_ARG_NAME] = {"name", CTL_T_STRING, OFF(name), 0, NULL},
    [CTL_ARG_EOF] = {"eof", CTL_T_BOOL, OFF(eof), 0, NULL},
    [CTL_ARG_LINES] = {"lines", CTL_T_INT, OFF(lines), 10, NULL},
    [CTL_ARG_STREAM] = {"stream", CTL_T_CHOICE, OFF(stream), 0, streams},
    [CTL_ARG_FOLLOW] = {"follow", CTL_T_BOOL, OFF(follow), 0, NULL},
    [CTL_ARG_POOL] = {"pool", CTL_T_STRING, OFF(pool), 0, NULL},
    [CTL_ARG_ARGV] = {"argv", CTL_T_STRINGS, OFF(argv), 0, NULL},
    [CTL_ARG_SPLIT] = {"split", CTL_T_BOOL, OFF(split), 0, NULL},
    [CTL_ARG_NOWAIT] = {"nowait", CTL_T_BOOL, OFF(nowait), 0, NULL},
    [CTL_ARG_COUNT] = {"count", CTL_T_INT, OFF(count), 1, NULL},
    [CTL_ARG_TIMEOUT_MS] = {"timeout_ms", CTL_T_INT, OFF(timeout_ms), -1, NULL},
    [CTL_ARG_TYPES] = {"types", CTL_T_STRINGS, OFF(types), 0, NULL},
};

#define OPT(a) {CTL_ARG_##a, 0}
#define REQ(a) {CTL_ARG_##a, CTL_REQUIRED}
#define ACTION_REPLY "{ok: all ok, results: [{name, ok, error?}]}"

const tend_ctl_cmdspec_t tend_ctl_cmds[CTL_NCMDS] = {
    [CTL_CMD_STATUS] = {"status", CTL_F_STOPPING, 1, {OPT(NAMES)},
                        "{ok, processes: [{name, group, state, pid, uptime_ms, ...}]}",
                        "show each process: state, pid, uptime, last exit, restarts"},
    [CTL_CMD_START] = {"start", 0, 2, {OPT(NAMES), OPT(WAIT)}, ACTION_REPLY,
                       "start processes (NAME, GROUP:*, all); waits until they run"},
    [CTL_CMD_STOP] = {"stop", 0, 2, {OPT(NAMES), OPT(WAIT)}, ACTION_REPLY,
                      "stop processes; waits until they are stopped"},
    [CTL_CMD_RESTART] = {"restart", 0, 2, {OPT(NAMES), OPT(WAIT)}, ACTION_REPLY,
                         "stop, then start processes"},
    [CTL_CMD_SEND] = {"send", CTL_F_DATA, 2, {REQ(NAME), OPT(EOF)}, "{ok}",
                      "write TEXT and a newline (or our stdin with -) to a process's stdin"},
    [CTL_CMD_LOGS] = {"logs", CTL_F_STREAM | CTL_F_STOPPING, 4,
                      {REQ(NAME), OPT(LINES), OPT(STREAM), OPT(FOLLOW)},
                      "frames {ok} + data: the last lines, then (follow) new output",
                      "print a process's log (-f: follow, -n N lines, --stderr)"},
    [CTL_CMD_WAIT] = {"wait", CTL_F_STOPPING, 1, {REQ(NAME)},
                      "{ok, exit_code: C|null, signal: S|null} once it exits",
                      "wait for a process to exit; exit with its status"},
    [CTL_CMD_RELOAD] = {"reload", 0, 0, {{0, 0}}, "{ok, added: [..], changed: [..], removed: [..]}",
                        "re-read the config: start new, stop removed, restart changed"},
    [CTL_CMD_SHUTDOWN] = {"shutdown", 0, 0, {{0, 0}}, "{ok}, then the daemon stops",
                          "stop every process and the daemon"},
    [CTL_CMD_SUBMIT] = {"submit", 0, 2, {REQ(POOL), {CTL_ARG_ARGV, CTL_REQUIRED | CTL_NONEMPTY}},
                        "{ok, id: \"POOL/N\", seq: N}",
                        "queue a task in a daemon pool, print its id (apply_async)"},
    [CTL_CMD_POOL_STATUS] = {"pool-status", 0, 1, {REQ(POOL)},
                             "{ok, pool, closed, workers, queued, running, done, ..., tasks}",
                             "a daemon pool's queued, running and finished tasks"},
    [CTL_CMD_CLOSE] = {"close", 0, 1, {REQ(POOL)}, "{ok}",
                       "a daemon pool takes no more tasks (Pool.close)"},
    [CTL_CMD_JOIN] = {"join", 0, 1, {REQ(POOL)},
                      "{ok, tasks: [{id, ok, exit_code, signal, timed_out, error?}]}",
                      "wait for every task of a closed pool; print each exit code (Pool.join)"},
    [CTL_CMD_PUT] = {"put", CTL_F_DATA, 3, {REQ(NAME), OPT(SPLIT), OPT(NOWAIT)},
                     "{ok, put: N} or {ok: false, full: true, put: N, error}",
                     "put a message (or each stdin line with -) into a channel; waits while full"},
    [CTL_CMD_GET] = {"get", CTL_F_STREAM, 3, {REQ(NAME), OPT(COUNT), OPT(TIMEOUT_MS)},
                     "frames {ok} + data, one per message; {ok: false, timed_out: true, got: N}",
                     "take K messages (default 1) from a channel, waiting for them"},
    [CTL_CMD_LOGROTATE] = {"logrotate", 0, 1, {OPT(NAMES)}, "{ok}",
                           "reopen log files (after logrotate moved them); also SIGUSR2"},
    [CTL_CMD_EVENTS] = {"events", CTL_F_STREAM | CTL_F_STOPPING, 2, {OPT(TYPES), OPT(FOLLOW)},
                        "{ok}, frames {ok, eventname, serial} + payload; {ok, dropped: N}",
                        "print supervisord's events (-f: as they come, --type PATTERN)"},
};

int tend_ctl_cmd_find(const char *name) {
  for (int i = 0; i < CTL_NCMDS; i++)
    if (strcmp(tend_ctl_cmds[i].name, name) == 0)
      return i;
  return -ENOENT;
}

/* Where arg's value is in req. */
static void *slot(const tend_ctl_req_t *req, tend_ctl_arg_t arg) {
  return (char *)req + tend_ctl_args[arg].offset;
}

/* ---- encoding (the CLI) ------------------------------------------------- */

static json_t *encode_value(const tend_ctl_req_t *req, tend_ctl_arg_t arg) {
  const tend_ctl_argspec_t *a = &tend_ctl_args[arg];
  const void *v = slot(req, arg);
  switch (a->type) {
  case CTL_T_STRING: {
    const char *s = *(const char *const *)v;
    return s != NULL ? json_string(s) : NULL;
  }
  case CTL_T_INT: return json_integer(*(const int64_t *)v);
  case CTL_T_BOOL: return json_boolean(*(const bool *)v);
  case CTL_T_CHOICE: return json_string(a->choices[*(const int *)v]);
  case CTL_T_STRINGS: {
    const tend_ctl_strv_t *sv = v;
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < sv->n; i++) {
      if (json_array_append_new(arr, json_string(sv->v[i])) != 0) {
        json_decref(arr);
        arr = NULL;
      }
    }
    return arr;
  }
  }
  return NULL;
}

char *tend_ctl_encode(const tend_ctl_req_t *req) {
  const tend_ctl_cmdspec_t *c = &tend_ctl_cmds[req->cmd];
  json_t *o = json_pack("{s:s}", "cmd", c->name);
  for (unsigned i = 0; o != NULL && i < c->nparams; i++) {
    tend_ctl_arg_t arg = c->params[i].arg;
    if (!(c->params[i].flags & CTL_REQUIRED) && !(req->given & CTL_BIT(arg)))
      continue;
    json_t *v = encode_value(req, arg);
    if (v == NULL || json_object_set_new(o, tend_ctl_args[arg].key, v) != 0) {
      json_decref(o);
      o = NULL;
    }
  }
  char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

/* ---- decoding (the daemon) ---------------------------------------------- */

/* What a's values must be, for an error message: into buf for a choice. */
static const char *expected(const tend_ctl_argspec_t *a, char *buf, size_t n) {
  switch (a->type) {
  case CTL_T_STRING: return "a string";
  case CTL_T_STRINGS: return "an array of strings";
  case CTL_T_INT: return "an integer";
  case CTL_T_BOOL: return "true or false";
  case CTL_T_CHOICE: break;
  }
  size_t off = 0;
  buf[0] = '\0';
  for (int i = 0; a->choices[i] != NULL && off < n; i++)
    off += (size_t)snprintf(buf + off, n - off, "%s\"%s\"", i == 0 ? "" : " or ", a->choices[i]);
  return buf;
}

/* "bad request: CMD: "KEY"[i] must be TYPE, not VALUE" into err. */
static int bad_value(const tend_ctl_req_t *req, const tend_ctl_argspec_t *a, long idx,
                     const char *want, const json_t *v, char *err, size_t errlen) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  char at[32] = "";
  if (idx >= 0)
    snprintf(at, sizeof(at), "[%ld]", idx);
  const int shown = 40; /* a huge value would drown the message */
  snprintf(err, errlen, "bad request: %s: \"%s\"%s must be %s, not %.*s%s",
           tend_ctl_cmds[req->cmd].name, a->key, at, want, shown, text ? text : "?",
           text != NULL && strlen(text) > (size_t)shown ? "..." : "");
  free(text);
  return -EINVAL;
}

static int decode_strings(tend_ctl_req_t *req, const tend_ctl_argspec_t *a, const json_t *v,
                          tend_ctl_strv_t *out, char *err, size_t errlen) {
  if (!json_is_array(v))
    return bad_value(req, a, -1, "an array of strings", v, err, errlen);
  size_t n = json_array_size(v);
  out->v = calloc(n + 1, sizeof(*out->v));
  if (out->v == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(v, i);
    if (!json_is_string(e))
      return bad_value(req, a, (long)i, "a string", e, err, errlen);
    out->v[i] = json_string_value(e);
  }
  out->n = n;
  return 0;
}

static int decode_value(tend_ctl_req_t *req, tend_ctl_arg_t arg, const json_t *v, char *err,
                        size_t errlen) {
  const tend_ctl_argspec_t *a = &tend_ctl_args[arg];
  void *to = slot(req, arg);
  switch (a->type) {
  case CTL_T_STRING:
    if (!json_is_string(v))
      break;
    *(const char **)to = json_string_value(v);
    return 0;
  case CTL_T_INT:
    if (!json_is_integer(v))
      break;
    *(int64_t *)to = json_integer_value(v);
    return 0;
  case CTL_T_BOOL:
    if (!json_is_boolean(v))
      break;
    *(bool *)to = json_is_true(v);
    return 0;
  case CTL_T_CHOICE:
    for (int i = 0; json_is_string(v) && a->choices[i] != NULL; i++) {
      if (strcmp(a->choices[i], json_string_value(v)) == 0) {
        *(int *)to = i;
        return 0;
      }
    }
    break;
  case CTL_T_STRINGS: return decode_strings(req, a, v, to, err, errlen);
  }
  char choices[128];
  return bad_value(req, a, -1, expected(a, choices, sizeof(choices)), v, err, errlen);
}

int ctl_req_decode(const json_t *obj, const char *data, size_t len, tend_ctl_req_t *req,
                   char *err, size_t errlen) {
  memset(req, 0, sizeof(*req));
  const char *name = json_string_value(json_object_get(obj, "cmd"));
  int cmd = name != NULL ? tend_ctl_cmd_find(name) : -ENOENT;
  if (cmd < 0) {
    snprintf(err, errlen, "unknown command '%s'", name != NULL ? name : "");
    return -ENOENT;
  }
  req->cmd = (tend_ctl_cmd_t)cmd;
  req->data = data;
  req->len = len;
  for (int i = 0; i < CTL_NARGS; i++) {
    if (tend_ctl_args[i].type == CTL_T_INT)
      *(int64_t *)slot(req, (tend_ctl_arg_t)i) = tend_ctl_args[i].dflt;
  }
  const tend_ctl_cmdspec_t *c = &tend_ctl_cmds[cmd];
  for (unsigned i = 0; i < c->nparams; i++) {
    const tend_ctl_param_t *p = &c->params[i];
    const tend_ctl_argspec_t *a = &tend_ctl_args[p->arg];
    const json_t *v = json_object_get(obj, a->key);
    int r = 0;
    char choices[128];
    if (v == NULL && (p->flags & CTL_REQUIRED)) {
      snprintf(err, errlen, "bad request: %s: \"%s\" (%s) is required", c->name, a->key,
               expected(a, choices, sizeof(choices)));
      r = -EINVAL;
    } else if (v != NULL) {
      req->given |= CTL_BIT(p->arg);
      r = decode_value(req, p->arg, v, err, errlen);
    }
    if (r == 0 && (p->flags & CTL_NONEMPTY) && ((tend_ctl_strv_t *)slot(req, p->arg))->n == 0)
      r = bad_value(req, a, -1, "a non-empty array of strings", v, err, errlen);
    if (r == -ENOMEM)
      snprintf(err, errlen, "out of memory");
    if (r != 0) {
      ctl_req_free(req);
      return r;
    }
  }
  return 0;
}

void ctl_req_free(tend_ctl_req_t *req) {
  free(req->names.v);
  free(req->argv.v);
  free(req->types.v);
  req->names.v = req->argv.v = req->types.v = NULL;
}
