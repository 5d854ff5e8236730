/* SPDX-License-Identifier: MIT */
/*
 * supervisord 4.2.5's XML-RPC methods (supervisor/rpcinterface.py and
 * xmlrpc.py's system namespace): the table, and the methods on processes.
 * Each becomes typed control requests (status, start, stop, send,
 * shutdown, reload) put through the daemon as the control socket's are;
 * what supervisorctl tells apart by fault code is mapped back from their
 * replies. Names are looked up as supervisord does (rpc_lookup), on the
 * status reply, so "x" means the process x of the group x, not tend's
 * wider "a group or a process".
 */
#include "daemon/rpc_methods.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/reread.h"
#include "daemon/evsvc.h"
#include "daemon/sv.h"
#include "tend/text.h"
#include "xmlrpc/codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The API supervisorctl checks (it exits 5 on another), the version it
 * prints, and the identification of supervisord's default config. */
#define API_VERSION "3.0"
#define SUPERVISOR_VERSION "4.2.5"
#define IDENTIFICATION "supervisor"

/* ---- processes as supervisord shows them ---------------------------------- */

static const struct {
  const char *name;
  int code;
} states[] = {
    {"STOPPED", 0},   {"STARTING", 10}, {"RUNNING", 20}, {"BACKOFF", 30},
    {"STOPPING", 40}, {"EXITED", 100},  {"FATAL", 200},
};

int rpc_state_code(const char *statename) {
  for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
    if (strcmp(states[i].name, statename) == 0)
      return states[i].code;
  return 1000; /* UNKNOWN */
}

/* supervisord's RUNNING_STATES and SIGNALLABLE_STATES. */
static bool is_running(int code) { return code == 10 || code == 20 || code == 30; }
static bool is_signallable(int code) { return code == 10 || code == 20 || code == 40; }

static const char *bare_name(const char *name) {
  const char *colon = strchr(name, ':');
  return colon != NULL ? colon + 1 : name;
}

/* Python's str(timedelta) of whole seconds: "H:MM:SS", "1 day, H:MM:SS". */
static void uptime_text(char *buf, size_t len, int64_t secs) {
  if (secs < 0)
    secs = 0;
  int64_t days = secs / 86400, rest = secs % 86400;
  int n = 0;
  if (days > 0)
    n = snprintf(buf, len, "%lld day%s, ", (long long)days, days == 1 ? "" : "s");
  snprintf(buf + n, len - (size_t)n, "%lld:%02lld:%02lld", (long long)(rest / 3600),
           (long long)(rest / 60 % 60), (long long)(rest % 60));
}

/* rpcinterface._interpretProcessInfo. */
static void description(char *buf, size_t len, json_t *st, int code, int64_t start,
                        int64_t stop, int64_t now, const char *spawnerr, const char *name) {
  buf[0] = '\0';
  if (code == 20) {
    char up[64];
    uptime_text(up, sizeof(up), now - start);
    snprintf(buf, len, "pid %lld, uptime %s",
             (long long)json_integer_value(json_object_get(st, "pid")), up);
  } else if (code == 200 || code == 30) {
    if (spawnerr[0] != '\0')
      snprintf(buf, len, "%s", spawnerr);
    else
      snprintf(buf, len, "unknown error (try \"tail %s\")", name);
  } else if (code == 0 || code == 100) {
    if (start != 0) {
      time_t t = (time_t)stop;
      struct tm tm;
      localtime_r(&t, &tm);
      strftime(buf, len, "%b %d %I:%M %p", &tm);
    } else {
      snprintf(buf, len, "Not started");
    }
  } else if (json_is_string(json_object_get(st, "reason"))) {
    /* tend's own: STARTING while it waits for a dependency */
    snprintf(buf, len, "%s", json_string_value(json_object_get(st, "reason")));
  }
}

static const char *str_or(json_t *o, const char *key, const char *dflt) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

/* getProcessInfo's struct, in supervisord's key order, from one process
 * of a status reply; "_tend" keeps tend's name of it until stripped. */
static json_t *process_info(json_t *st, int64_t now) {
  const char *name = bare_name(str_or(st, "name", ""));
  const char *statename = str_or(st, "state", "UNKNOWN");
  int code = rpc_state_code(statename);
  int64_t start = json_integer_value(json_object_get(st, "start"));
  int64_t stop = json_integer_value(json_object_get(st, "stop"));
  const char *spawnerr = str_or(st, "spawnerr", "");
  /* tend's reason for a start that exited before startsecs, in
   * supervisord's words (process.finish). */
  if (strcmp(spawnerr, "exited too quickly") == 0)
    spawnerr = "Exited too quickly (process log may have details)";
  json_t *exit_code = json_object_get(st, "exit_code");
  int64_t exitstatus = json_is_integer(exit_code) ? json_integer_value(exit_code)
                       : json_is_string(json_object_get(st, "signal")) ? -1
                                                                        : 0;
  const char *out = str_or(st, "stdout_logfile", "");
  char desc[256];
  description(desc, sizeof(desc), st, code, start, stop, now, spawnerr, name);
  json_t *pid = json_object_get(st, "pid");
  return json_pack("{s:s,s:s,s:I,s:I,s:I,s:i,s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:s,s:s}", "name",
                   name, "group", str_or(st, "group", name), "start", (json_int_t)start, "stop",
                   (json_int_t)stop, "now", (json_int_t)now, "state", code, "statename",
                   statename, "spawnerr", spawnerr, "exitstatus", (json_int_t)exitstatus,
                   "logfile", out, "stdout_logfile", out, "stderr_logfile",
                   str_or(st, "stderr_logfile", ""), "pid",
                   (json_int_t)(json_is_integer(pid) ? json_integer_value(pid) : 0),
                   "description", desc, "_tend", str_or(st, "name", ""));
}

static int info_cmp(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  int c = strcmp(str_or(x, "group", ""), str_or(y, "group", ""));
  return c != 0 ? c : strcmp(str_or(x, "name", ""), str_or(y, "name", ""));
}

json_t *rpc_process_infos(json_t *status_reply) {
  json_t *procs = json_object_get(status_reply, "processes");
  size_t n = json_array_size(procs);
  json_t **v = calloc(n + 1, sizeof(*v));
  json_t *out = json_array();
  if (v == NULL || out == NULL) {
    free(v);
    json_decref(out);
    return NULL;
  }
  int64_t now = (int64_t)time(NULL);
  for (size_t i = 0; i < n; i++)
    v[i] = process_info(json_array_get(procs, i), now);
  qsort(v, n, sizeof(*v), info_cmp);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(out, v[i]);
  free(v);
  return out;
}

/* The infos as a client sees them: without tend's names. */
static json_t *public_info(json_t *info) {
  json_t *o = json_deep_copy(info);
  json_object_del(o, "_tend");
  return o;
}

static json_t *public_infos(json_t *infos) {
  json_t *out = json_array();
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) json_array_append_new(out, public_info(info));
  return out;
}

int rpc_lookup(json_t *infos, const char *namespec, const char **group, json_t **proc) {
  char g[256];
  const char *colon = strchr(namespec, ':');
  const char *p = namespec;
  size_t glen = colon != NULL ? (size_t)(colon - namespec) : strlen(namespec);
  if (glen >= sizeof(g))
    return -ENOENT;
  memcpy(g, namespec, glen);
  g[glen] = '\0';
  if (colon != NULL)
    p = colon[1] == '\0' || strcmp(colon + 1, "*") == 0 ? NULL : colon + 1;
  *group = NULL;
  *proc = NULL;
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    if (strcmp(str_or(info, "group", ""), g) != 0)
      continue;
    *group = str_or(info, "group", "");
    if (p != NULL && strcmp(str_or(info, "name", ""), p) == 0)
      *proc = info;
  }
  return *group == NULL || (p != NULL && *proc == NULL) ? -ENOENT : 0;
}

void rpc_namespec(json_t *info, char *buf, size_t len) {
  const char *g = str_or(info, "group", ""), *n = str_or(info, "name", "");
  if (strcmp(g, n) == 0)
    snprintf(buf, len, "%s", n);
  else
    snprintf(buf, len, "%s:%s", g, n);
}

/* ---- the steps every process method takes ------------------------------------ */

static const char *param_str(rpc_call_t *call, size_t i) {
  return json_string_value(json_array_get(call->params, i));
}

static bool param_bool(rpc_call_t *call, size_t i, bool dflt) {
  json_t *v = json_array_get(call->params, i);
  return v == NULL ? dflt : json_is_true(v) || (json_is_integer(v) && json_integer_value(v));
}

/* Ask for the status of every process, then go on with then(call,
 * infos): infos is kept in call->scratch's "infos". */
typedef void (*infos_fn)(rpc_call_t *call, json_t *infos);

static void status_cb(rpc_call_t *call, json_t *reply) {
  json_t *infos = rpc_process_infos(reply);
  if (infos == NULL) {
    rpc_fault(call, XMLRPC_FAILED, "out of memory");
    return;
  }
  json_object_set_new(call->scratch, "infos", infos);
  call->next(call, infos);
}

static void with_infos(rpc_call_t *call, infos_fn then) {
  if (call->scratch == NULL)
    call->scratch = json_object();
  call->next = then;
  tend_ctl_req_t req = {.cmd = CTL_CMD_STATUS, .no_resources = true};
  rpc_ctl(call, &req, status_cb);
}

/* Look spec up (the first param if NULL); on BAD_NAME, naming the first
 * param as supervisord does, the call is finished (false). */
static bool lookup_param(rpc_call_t *call, json_t *infos, const char *spec, const char **group,
                         json_t **proc) {
  const char *name = param_str(call, 0);
  if (rpc_lookup(infos, spec != NULL ? spec : name, group, proc) != 0) {
    rpc_fault(call, XMLRPC_BAD_NAME, name);
    return false;
  }
  return true;
}

/* ---- start and stop ------------------------------------------------------------ */

/* The fault a start or stop result's error stands for, among those
 * supervisorctl knows for it (it raises on any other). */
static int action_fault(bool start, const char *error) {
  if (!start)
    return strstr(error, "not running") != NULL ? XMLRPC_NOT_RUNNING : XMLRPC_FAILED;
  if (strstr(error, "already started") != NULL)
    return XMLRPC_ALREADY_STARTED;
  /* supervisord: SPAWN_ERROR when the start failed (its spawnerr is set:
   * the process exited before startsecs, or could not be spawned),
   * ABNORMAL_TERMINATION when it left STARTING another way (stopped). */
  if (strstr(error, "failed to start") != NULL)
    return XMLRPC_SPAWN_ERROR;
  if (strstr(error, "stopped before") != NULL)
    return XMLRPC_ABNORMAL_TERMINATION;
  if (strstr(error, "removed") != NULL)
    return XMLRPC_BAD_NAME;
  return XMLRPC_SPAWN_ERROR; /* a dependency refused it: it could not spawn */
}

static bool is_start(rpc_call_t *call) {
  return json_is_true(json_object_get(call->scratch, "start"));
}

/* One process: True or its fault. */
static void single_done(rpc_call_t *call, json_t *reply) {
  json_t *res = json_array_get(json_object_get(reply, "results"), 0);
  const char *spec = param_str(call, 0);
  if (json_is_true(json_object_get(res, "ok"))) {
    rpc_return(call, json_true());
  } else if (res == NULL) {
    /* refused as a whole: the daemon is shutting down */
    rpc_fault(call, XMLRPC_SHUTDOWN_STATE, NULL);
  } else {
    int code = action_fault(is_start(call), str_or(res, "error", ""));
    rpc_fault(call, code, code == XMLRPC_FAILED ? str_or(res, "error", "") : spec);
  }
}

/* Several: supervisord's array of {name, group, status, description}. */
static void many_done(rpc_call_t *call, json_t *reply) {
  json_t *out = json_array();
  size_t i;
  json_t *res;
  json_array_foreach(json_object_get(reply, "results"), i, res) {
    const char *tname = str_or(res, "name", "");
    const char *name = bare_name(tname);
    const char *group = str_or(res, "group", name);
    int code = XMLRPC_SUCCESS;
    char *text = NULL;
    if (!json_is_true(json_object_get(res, "ok"))) {
      code = action_fault(is_start(call), str_or(res, "error", ""));
      char spec[512];
      snprintf(spec, sizeof(spec), "%s:%s", group, name);
      text = xmlrpc_fault_text(code, code == XMLRPC_FAILED ? str_or(res, "error", "") : spec);
    }
    json_array_append_new(out, json_pack("{s:s,s:s,s:i,s:s}", "name", name, "group", group,
                                         "status", code, "description",
                                         text != NULL ? text : "OK"));
    free(text);
  }
  /* Those refused before any start (exec_check) in their place: by group
   * and name, the order the targets were taken in. */
  json_t *refused = json_object_get(call->scratch, "refused");
  if (json_array_size(refused) > 0) {
    json_array_extend(out, refused);
    size_t n = json_array_size(out);
    json_t **v = calloc(n + 1, sizeof(*v));
    if (v != NULL) {
      for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
      qsort(v, n, sizeof(*v), info_cmp);
      json_array_clear(out);
      for (i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
      free(v);
    }
  }
  rpc_return(call, out);
}

/* Put a start or stop of the processes in targets (infos) through. */
static void action_request(rpc_call_t *call, json_t *targets, rpc_then_fn then) {
  size_t n = json_array_size(targets);
  const char **names = calloc(n + 1, sizeof(*names));
  if (names == NULL) {
    rpc_fault(call, XMLRPC_FAILED, "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++)
    names[i] = str_or(json_array_get(targets, i), "_tend", "");
  tend_ctl_req_t req = {
      .cmd = is_start(call) ? CTL_CMD_START : CTL_CMD_STOP,
      .given = CTL_BIT(CTL_ARG_NAMES) | CTL_BIT(CTL_ARG_WAIT),
      .names = {names, n},
      .wait = json_is_true(json_object_get(call->scratch, "wait")),
      .first_failure = true,
  };
  rpc_ctl(call, &req, then);
  free(names);
}

static int exec_check(rpc_call_t *call, json_t *info, char *why, size_t len);

/* The processes of group (NULL: all) the action applies to: those not
 * running for a start, running for a stop (make_allfunc's predicates). */
static void action_many(rpc_call_t *call, json_t *infos, const char *group) {
  json_t *targets = json_array();
  bool start = is_start(call);
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    if (group != NULL && strcmp(str_or(info, "group", ""), group) != 0)
      continue;
    bool running = is_running((int)json_integer_value(json_object_get(info, "state")));
    char why[4200];
    int code = running != start && start ? exec_check(call, info, why, sizeof(why)) : 0;
    if (code != 0) {
      char *text = xmlrpc_fault_text(code, why);
      json_t *refused = json_object_get(call->scratch, "refused");
      if (refused == NULL)
        json_object_set_new(call->scratch, "refused", refused = json_array());
      json_array_append_new(refused, json_pack("{s:O,s:O,s:i,s:s}", "name",
                                               json_object_get(info, "name"), "group",
                                               json_object_get(info, "group"), "status", code,
                                               "description", text != NULL ? text : ""));
      free(text);
    } else if (running != start) {
      json_array_append(targets, info);
    }
  }
  json_t *refused = json_object_get(call->scratch, "refused");
  if (json_array_size(targets) == 0)
    rpc_return(call, refused != NULL ? json_incref(refused) : json_array());
  else
    action_request(call, targets, many_done);
  json_decref(targets);
}

/* supervisord's check before a start (process.get_execv_args and
 * options.check_execv_args): the command's file found (its PATH: the
 * program's environment's, else the daemon's) and executable, else
 * NO_FILE or NOT_EXECUTABLE with its words, nothing spawned. 0 when it
 * may be started. */
static int exec_check(rpc_call_t *call, json_t *info, char *why, size_t len) {
  const tend_config_t *cfg = call->rpc->cfg;
  const char *tname = str_or(info, "_tend", "");
  const tend_program_t *prog = NULL;
  for (size_t i = 0; cfg != NULL && i < cfg->nprograms && prog == NULL; i++)
    if (strcmp(cfg->programs[i].name, tname) == 0)
      prog = &cfg->programs[i];
  if (prog == NULL || prog->argv == NULL || prog->argv[0] == NULL)
    return 0; /* not a program of the file (a pool's): the start decides */
  const char *cmd = prog->argv[0];
  char found[4096];
  struct stat st;
  bool have = false;
  if (strchr(cmd, '/') != NULL) {
    snprintf(found, sizeof(found), "%s", cmd);
    have = stat(found, &st) == 0;
  } else {
    const char *path = getenv("PATH");
    for (char **e = prog->env; e != NULL && *e != NULL; e++)
      if (strncmp(*e, "PATH=", 5) == 0)
        path = *e + 5;
    if (path == NULL)
      path = "/usr/local/bin:/usr/bin:/bin";
    while (!have && *path != '\0') {
      size_t n = strcspn(path, ":");
      snprintf(found, sizeof(found), "%.*s/%s", (int)n, path, cmd);
      have = stat(found, &st) == 0;
      path += n + (path[n] == ':');
    }
    if (!have)
      snprintf(found, sizeof(found), "%s", cmd);
  }
  if (!have) {
    snprintf(why, len, "can't find command '%s'", found);
    return XMLRPC_NO_FILE;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(why, len, "command at '%s' is a directory", found);
    return XMLRPC_NOT_EXECUTABLE;
  }
  if ((st.st_mode & 0111) == 0) {
    snprintf(why, len, "command at '%s' is not executable", found);
    return XMLRPC_NOT_EXECUTABLE;
  }
  if (access(found, X_OK) != 0) {
    snprintf(why, len, "no permission to run command '%s'", found);
    return XMLRPC_NOT_EXECUTABLE;
  }
  return 0;
}

static void action_looked_up(rpc_call_t *call, json_t *infos) {
  json_t *spec = json_object_get(call->scratch, "spec");
  if (spec == NULL) {
    action_many(call, infos, NULL);
    return;
  }
  const char *group;
  json_t *proc;
  if (!lookup_param(call, infos, json_string_value(spec), &group, &proc))
    return;
  if (proc == NULL) {
    action_many(call, infos, group);
    return;
  }
  bool start = is_start(call);
  bool running = is_running((int)json_integer_value(json_object_get(proc, "state")));
  char why[4200];
  int code = start ? exec_check(call, proc, why, sizeof(why)) : 0;
  if (code != 0) {
    rpc_fault(call, code, why);
  } else if (start && running) {
    rpc_fault(call, XMLRPC_ALREADY_STARTED, param_str(call, 0));
  } else if (!start && !running) {
    rpc_fault(call, XMLRPC_NOT_RUNNING, param_str(call, 0));
  } else {
    json_t *one = json_pack("[O]", proc);
    action_request(call, one, single_done);
    json_decref(one);
  }
}

/* spec NULL: every process. */
static void action(rpc_call_t *call, bool start, const char *spec, bool wait) {
  call->scratch = json_pack("{s:b,s:b}", "start", start, "wait", wait);
  if (spec != NULL)
    json_object_set_new(call->scratch, "spec", json_string(spec));
  with_infos(call, action_looked_up);
}

static RPC_METHOD(startProcess) { action(call, true, param_str(call, 0), param_bool(call, 1, true)); }
static RPC_METHOD(startProcessGroup) {
  char spec[300];
  snprintf(spec, sizeof(spec), "%s:*", param_str(call, 0));
  action(call, true, spec, param_bool(call, 1, true));
}
static RPC_METHOD(startAllProcesses) { action(call, true, NULL, param_bool(call, 0, true)); }
static RPC_METHOD(stopProcess) { action(call, false, param_str(call, 0), param_bool(call, 1, true)); }
static RPC_METHOD(stopProcessGroup) {
  char spec[300];
  snprintf(spec, sizeof(spec), "%s:*", param_str(call, 0));
  action(call, false, spec, param_bool(call, 1, true));
}
static RPC_METHOD(stopAllProcesses) { action(call, false, NULL, param_bool(call, 0, true)); }

/* ---- signals --------------------------------------------------------------------- */

/* One process: 0 (SUCCESS) or a fault code, as signalProcess decides. */
static int signal_one(rpc_call_t *call, json_t *info, int sig) {
  if (sig < 0)
    return XMLRPC_BAD_SIGNAL;
  if (!is_signallable((int)json_integer_value(json_object_get(info, "state"))))
    return XMLRPC_NOT_RUNNING;
  int r = dsv_signal(daemon_sv(call->rpc->d), str_or(info, "_tend", ""), sig);
  return r == 0 ? XMLRPC_SUCCESS : r == -ESRCH ? XMLRPC_NOT_RUNNING : XMLRPC_FAILED;
}

static void signal_looked_up(rpc_call_t *call, json_t *infos) {
  json_t *spec = json_object_get(call->scratch, "spec");
  const char *signame = param_str(call, json_array_size(call->params) - 1);
  int sig = tend_signum(signame);
  const char *group = NULL;
  json_t *proc = NULL;
  if (spec != NULL && !lookup_param(call, infos, json_string_value(spec), &group, &proc))
    return;
  if (proc != NULL) {
    int code = signal_one(call, proc, sig);
    if (code == XMLRPC_SUCCESS)
      rpc_return(call, json_true());
    else
      rpc_fault(call, code, code == XMLRPC_BAD_SIGNAL ? signame : param_str(call, 0));
    return;
  }
  json_t *out = json_array();
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    if ((group != NULL && strcmp(str_or(info, "group", ""), group) != 0) ||
        !is_signallable((int)json_integer_value(json_object_get(info, "state"))))
      continue;
    int code = signal_one(call, info, sig);
    char spec_buf[512];
    rpc_namespec(info, spec_buf, sizeof(spec_buf));
    char *text = code == XMLRPC_SUCCESS ? NULL
                                        : xmlrpc_fault_text(code, code == XMLRPC_BAD_SIGNAL
                                                                      ? signame
                                                                      : spec_buf);
    json_array_append_new(out, json_pack("{s:s,s:s,s:i,s:s}", "name", str_or(info, "name", ""),
                                         "group", str_or(info, "group", ""), "status", code,
                                         "description", text != NULL ? text : "OK"));
    free(text);
  }
  rpc_return(call, out);
}

static void signal_begin(rpc_call_t *call, const char *spec) {
  call->scratch = json_object();
  if (spec != NULL)
    json_object_set_new(call->scratch, "spec", json_string(spec));
  with_infos(call, signal_looked_up);
}

static RPC_METHOD(signalProcess) { signal_begin(call, param_str(call, 0)); }
static RPC_METHOD(signalProcessGroup) {
  char spec[300];
  snprintf(spec, sizeof(spec), "%s:*", param_str(call, 0));
  signal_begin(call, spec);
}
static RPC_METHOD(signalAllProcesses) { signal_begin(call, NULL); }

/* ---- what is running ----------------------------------------------------------------- */

static void info_looked_up(rpc_call_t *call, json_t *infos) {
  const char *group;
  json_t *proc;
  if (!lookup_param(call, infos, NULL, &group, &proc))
    return;
  if (proc == NULL)
    rpc_fault(call, XMLRPC_BAD_NAME, param_str(call, 0));
  else
    rpc_return(call, public_info(proc));
}

static void all_info(rpc_call_t *call, json_t *infos) { rpc_return(call, public_infos(infos)); }

static RPC_METHOD(getProcessInfo) { with_infos(call, info_looked_up); }
static RPC_METHOD(getAllProcessInfo) { with_infos(call, all_info); }

static RPC_METHOD(getState) {
  bool stopping = daemon_stopping(call->rpc->d);
  rpc_return(call, json_pack("{s:i,s:s}", "statecode", stopping ? -1 : 1, "statename",
                             stopping ? "SHUTDOWN" : "RUNNING"));
}
static RPC_METHOD(getPID) { rpc_return(call, json_integer(getpid())); }
static RPC_METHOD(getAPIVersion) { rpc_return(call, json_string(API_VERSION)); }
static RPC_METHOD(getSupervisorVersion) { rpc_return(call, json_string(SUPERVISOR_VERSION)); }
static RPC_METHOD(getIdentification) {
  const tend_config_t *cfg = call->rpc->cfg;
  rpc_return(call, json_string(cfg != NULL && cfg->identifier != NULL ? cfg->identifier
                                                                       : IDENTIFICATION));
}

/* ---- stdin, remote events ------------------------------------------------------------- */

static void sent(rpc_call_t *call, json_t *reply) {
  if (json_is_true(json_object_get(reply, "ok"))) {
    rpc_return(call, json_true());
    return;
  }
  /* The process has no stdin pipe or it closed: NO_FILE, as supervisord
   * when its write fails; a stopped one: NOT_RUNNING. */
  const char *err = str_or(reply, "error", "");
  rpc_fault(call, strstr(err, "not running") != NULL ? XMLRPC_NOT_RUNNING : XMLRPC_NO_FILE,
            param_str(call, 0));
}

static void send_looked_up(rpc_call_t *call, json_t *infos) {
  const char *group;
  json_t *proc;
  if (!lookup_param(call, infos, NULL, &group, &proc))
    return;
  if (proc == NULL) {
    rpc_fault(call, XMLRPC_BAD_NAME, param_str(call, 0));
    return;
  }
  int code = (int)json_integer_value(json_object_get(proc, "state"));
  if (!is_running(code) && code != 40) {
    rpc_fault(call, XMLRPC_NOT_RUNNING, param_str(call, 0));
    return;
  }
  const char *chars = param_str(call, 1);
  tend_ctl_req_t req = {.cmd = CTL_CMD_SEND,
                        .given = CTL_BIT(CTL_ARG_NAME),
                        .name = str_or(proc, "_tend", ""),
                        .data = chars,
                        .len = strlen(chars)};
  rpc_ctl(call, &req, sent);
}

static RPC_METHOD(sendProcessStdin) { with_infos(call, send_looked_up); }

/* A REMOTE_COMMUNICATION event to whoever subscribes (daemon/evsvc.c). */
static RPC_METHOD(sendRemoteCommEvent) {
  devents_remote(daemon_events(call->rpc->d), param_str(call, 0), param_str(call, 1));
  rpc_return(call, json_true());
}

/* ---- the daemon ------------------------------------------------------------------------- */

static void shut(rpc_call_t *call, json_t *reply) {
  if (json_is_true(json_object_get(reply, "ok")))
    rpc_return(call, json_true());
  else
    rpc_fault(call, XMLRPC_SHUTDOWN_STATE, NULL);
}

static RPC_METHOD(shutdown) {
  tend_ctl_req_t req = {.cmd = CTL_CMD_SHUTDOWN};
  rpc_ctl(call, &req, shut);
}

/* supervisord's restart (supervisorctl reload): every program stopped,
 * the config read again, the autostart programs started; every pid
 * changes, where tend's own reload keeps unchanged programs running. The
 * file is read first, as reloadConfig reads it: one that does not load is
 * CANT_REREAD and nothing is stopped (supervisord would exit on it). The
 * answer comes once the starts are under way; supervisord answers first
 * and then restarts, closing its sockets (its clients reconnect). */

static void restart_started(rpc_call_t *call, json_t *reply) {
  (void)reply; /* "already started": what the reload started itself */
  rpc_return(call, json_true());
}

static void restart_reloaded(rpc_call_t *call, json_t *reply) {
  if (!json_is_true(json_object_get(reply, "ok"))) {
    rpc_fault(call, XMLRPC_CANT_REREAD, str_or(reply, "error", ""));
    return;
  }
  const tend_config_t *cfg = call->rpc->cfg; /* the one just applied */
  size_t n = cfg != NULL ? cfg->nprograms : 0, k = 0;
  const char **names = calloc(n + 1, sizeof(*names));
  if (names == NULL) {
    rpc_fault(call, XMLRPC_FAILED, "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++)
    if (cfg->programs[i].autostart)
      names[k++] = cfg->programs[i].name;
  if (k == 0) {
    free(names);
    rpc_return(call, json_true());
    return;
  }
  tend_ctl_req_t req = {
      .cmd = CTL_CMD_START,
      .given = CTL_BIT(CTL_ARG_NAMES) | CTL_BIT(CTL_ARG_WAIT),
      .names = {names, k},
      .wait = false,
  };
  rpc_ctl(call, &req, restart_started);
  free(names);
}

static void restart_stopped(rpc_call_t *call, json_t *reply) {
  (void)reply; /* a process that had stopped by itself meanwhile */
  tend_ctl_req_t req = {.cmd = CTL_CMD_RELOAD};
  rpc_ctl(call, &req, restart_reloaded);
}

static void restart_looked_up(rpc_call_t *call, json_t *infos) {
  json_t *targets = json_array();
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    if (is_running((int)json_integer_value(json_object_get(info, "state"))))
      json_array_append(targets, info);
  }
  if (json_array_size(targets) == 0)
    restart_stopped(call, NULL);
  else
    action_request(call, targets, restart_stopped);
  json_decref(targets);
}

static RPC_METHOD(restart) {
  json_t *added = NULL, *changed = NULL, *removed = NULL;
  char *err = NULL;
  int r = daemon_reread(call->rpc->d, &added, &changed, &removed, &err);
  json_decref(added);
  json_decref(changed);
  json_decref(removed);
  if (r != 0) {
    char *nl = err != NULL ? strchr(err, '\n') : NULL;
    if (nl != NULL)
      *nl = '\0';
    if (r == -ESHUTDOWN)
      rpc_fault(call, XMLRPC_SHUTDOWN_STATE, NULL);
    else
      rpc_fault(call, XMLRPC_CANT_REREAD, err != NULL ? err : "cannot read the config");
    free(err);
    return;
  }
  free(err);
  /* stop (and wait) every running process, as stopAllProcesses */
  call->scratch = json_pack("{s:b,s:b}", "start", false, "wait", true);
  with_infos(call, restart_looked_up);
}

/* ---- system.* and the table ------------------------------------------------------------------ */

static RPC_METHOD(listMethods);
static RPC_METHOD(methodHelp);
static RPC_METHOD(methodSignature);
static RPC_METHOD(multicall) { rpc_multicall(call, json_array_get(call->params, 0)); }

typedef struct {
  const char *name;
  void (*fn)(rpc_call_t *call);
  unsigned min, max;     /* params */
  const char *signature; /* the result's type, then each param's */
  const char *help;      /* supervisord's docstring, as methodHelp gives it */
} method_t;

/* Sorted by name, as system.listMethods lists them. The signatures and
 * help texts are supervisord 4.2.5's (its system.methodSignature and
 * system.methodHelp, read from Debian's supervisor package). */
static const method_t methods[] = {
#include "daemon/rpc_table.inc"
};

#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static const method_t *method_find(const char *name) {
  for (size_t i = 0; i < NMETHODS; i++)
    if (strcmp(methods[i].name, name) == 0)
      return &methods[i];
  return NULL;
}

static RPC_METHOD(listMethods) {
  json_t *out = json_array();
  for (size_t i = 0; i < NMETHODS; i++)
    json_array_append_new(out, json_string(methods[i].name));
  rpc_return(call, out);
}

static RPC_METHOD(methodHelp) {
  const method_t *m = method_find(param_str(call, 0));
  if (m == NULL)
    rpc_fault(call, XMLRPC_SIGNATURE_UNSUPPORTED, NULL);
  else
    rpc_return(call, json_string(m->help));
}

static RPC_METHOD(methodSignature) {
  const method_t *m = method_find(param_str(call, 0));
  if (m == NULL) {
    rpc_fault(call, XMLRPC_SIGNATURE_UNSUPPORTED, NULL);
    return;
  }
  json_t *out = json_array();
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", m->signature);
  char *save = NULL;
  for (char *t = strtok_r(buf, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
    json_array_append_new(out, json_string(t));
  rpc_return(call, out);
}

/* Does v fit the type the signature gives it? Python converts an int
 * given for a boolean, and int() takes a number in a string. */
static bool fits(const char *type, size_t tlen, json_t *v) {
  if (strncmp(type, "string", tlen) == 0)
    return json_is_string(v);
  if (strncmp(type, "int", tlen) == 0)
    return json_is_integer(v);
  if (strncmp(type, "boolean", tlen) == 0)
    return json_is_boolean(v) || json_is_integer(v);
  if (strncmp(type, "array", tlen) == 0)
    return json_is_array(v);
  return true;
}

static bool params_fit(const method_t *m, json_t *params) {
  size_t n = json_array_size(params);
  if (n < m->min || n > m->max)
    return false;
  const char *t = strchr(m->signature, ' ');
  for (size_t i = 0; i < n && t != NULL; i++) {
    t++;
    const char *end = strchr(t, ' ');
    size_t tlen = end != NULL ? (size_t)(end - t) : strlen(t);
    if (!fits(t, tlen, json_array_get(params, i)))
      return false;
    t = end;
  }
  return true;
}

/* Methods that change something: refused while the daemon shuts down, as
 * supervisord's _update refuses them. */
static bool changes(const method_t *m) {
  static const char *const read_only[] = {"get", "read", "tail", "system.", "supervisor.get",
                                          NULL};
  const char *dot = strchr(m->name, '.');
  const char *bare = dot != NULL ? dot + 1 : m->name;
  for (int i = 0; read_only[i] != NULL; i++)
    if (strncmp(bare, read_only[i], strlen(read_only[i])) == 0 ||
        strncmp(m->name, read_only[i], strlen(read_only[i])) == 0)
      return false;
  return true;
}

void rpc_dispatch(rpc_call_t *call) {
  const method_t *m = method_find(call->method);
  if (m == NULL)
    rpc_fault(call, XMLRPC_UNKNOWN_METHOD, NULL);
  else if (!params_fit(m, call->params))
    rpc_fault(call, XMLRPC_INCORRECT_PARAMETERS, NULL);
  else if (daemon_stopping(call->rpc->d) && changes(m))
    rpc_fault(call, XMLRPC_SHUTDOWN_STATE, NULL);
  else
    m->fn(call);
}
