/* SPDX-License-Identifier: MIT */
/*
 * The daemon's core: one loop, the control server, the daemon's own
 * signals and the list of its services (daemon/service.h): channels, pools,
 * Redis workers, events and the supervisor. A request is decoded once with the
 * command table (ctl/cmd.c) and goes to the service that serves its
 * command; the daemon itself answers reload and shutdown. Start-up and
 * reload are one path (every service applies the config, in the list's
 * order); shutdown asks every service to stop and counts them down.
 *
 * Signals: SIGTERM/SIGINT shut down gracefully (a second one while shutting
 * down is logged and ignored: the stop deadlines still bound the wait),
 * SIGHUP reloads, SIGUSR2 reopens every log file (logrotate's postrotate),
 * SIGCHLD reaps orphans (tend is a child subreaper).
 */
#include "daemon/daemon.h"
#include "ctl/cmd.h"
#include "daemon/ctl_server.h"
#include "daemon/chan.h"
#include "daemon/evsvc.h"
#include "daemon/pool.h"
#include "daemon/rpc.h"
#include "daemon/sv.h"
#include "daemon/worker.h"
#include "core/log.h"
#include "daemon/notify.h"
#include "daemon/service.h"
#include "tend/proc.h"
#include "tend/text.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSERVICES 6
#define NSIGNALS 5

/* The commands the daemon answers itself. */
#define DAEMON_CMDS (CTL_BIT(CTL_CMD_RELOAD) | CTL_BIT(CTL_CMD_SHUTDOWN))

struct daemon {
  uv_loop_t loop;
  ctl_server_t ctl;
  uv_signal_t sigs[NSIGNALS];
  int nsigs;
  dchan_t chans;
  dpools_t pools;
  dworkers_t workers;
  dsv_t sv;
  devents_t events;
  rpc_t rpc;
  service_t services[NSERVICES];       /* in the order they apply a config */
  const service_t *serves[CTL_NCMDS];  /* which one answers each command */
  char *config_path;
  unsigned config_flags; /* TEND_CONFIG_*: a reload reads as the start did */
  tend_config_t *pending; /* read by a reread, not applied whole
                             (daemon/reread.c); NULL: the one in force */
  bool stopping;
  /* A vital program ended (on_exit/on_fatal = shutdown): the shutdown is
   * begun from the loop, not inside the supervisor's state change. */
  uv_timer_t vital_timer;
  int exit_code; /* of the daemon: [tend] exit_code = first sets it */
  int stopping_left; /* services not stopped yet (+ 1 while asking them) */
  bool closed;       /* all stopped, every connection closed */
};

void daemon_print_diag(const tend_diag_t *d, bool to_log) {
  for (size_t i = 0; i < d->nnotices; i++) {
    if (to_log)
      LOG("notice", "config", F_STR("msg", d->notices[i]));
    else
      fprintf(stderr, "tend: notice: %s\n", d->notices[i]);
  }
  for (size_t i = 0; i < d->nerrors; i++) {
    if (to_log)
      LOG("error", "config", F_STR("msg", d->errors[i]));
    else
      fprintf(stderr, "tend: %s\n", d->errors[i]);
  }
}

void daemon_apply(daemon_t *d, tend_config_t *cfg) {
  /* The whole file is in force again: an earlier reread is superseded. */
  tend_config_free(d->pending);
  d->pending = NULL;
  daemon_apply_part(d, cfg);
}

void daemon_apply_part(daemon_t *d, tend_config_t *cfg) {
  for (int i = 0; i < NSERVICES; i++)
    d->services[i].ops->apply(d->services[i].self, cfg);
  dsv_notify(&d->sv); /* nothing to start at all: ready at once */
}

/* ---- reload and shutdown ------------------------------------------------- */

/* The errors of a config that did not load, as one reply. */
static void reply_config_errors(ctl_conn_t *c, const tend_diag_t *diag, int r) {
  tend_buf_t msg = {0};
  for (size_t i = 0; i < diag->nerrors; i++) {
    tend_buf_append(&msg, diag->errors[i], strlen(diag->errors[i]));
    tend_buf_append(&msg, "\n", 1);
  }
  if (diag->nerrors == 0)
    tend_buf_append(&msg, strerror(-r), strlen(strerror(-r)));
  tend_buf_append(&msg, "", 1);
  ctl_reply(c,
            json_pack("{s:b,s:s}", "ok", 0, "error", msg.data ? msg.data : "invalid configuration"),
            NULL, 0);
  tend_buf_free(&msg);
}

static json_t *names_json(const char **names, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(a, json_string(names[i]));
  return a;
}

/* Read the config file again and apply it; c (NULL for SIGHUP) gets what
 * changed, or the errors (the running configuration is kept). */
static void reload(daemon_t *d, ctl_conn_t *c) {
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  int r = tend_config_load_flags(d->config_path, d->config_flags, &cfg, &diag);
  daemon_print_diag(&diag, true);
  if (r != 0) {
    LOG("error", "reload", F_STR("config", d->config_path),
        F_STR("action", "kept the running configuration"));
    if (c != NULL)
      reply_config_errors(c, &diag, r);
    tend_diag_free(&diag);
    return;
  }
  tend_diag_free(&diag);
  daemon_apply(d, cfg);
  const sv_diff_t *diff = dsv_diff(&d->sv);
  LOG("info", "reload", F_STR("config", d->config_path), F_INT("added", diff->nadded),
      F_INT("changed", diff->nchanged), F_INT("removed", diff->nremoved));
  if (c != NULL)
    ctl_reply(c,
              json_pack("{s:b,s:o,s:o,s:o}", "ok", 1, "added",
                        names_json(diff->added, diff->nadded), "changed",
                        names_json(diff->changed, diff->nchanged), "removed",
                        names_json(diff->removed, diff->nremoved)),
              NULL, 0);
}

static void closed_cb(uv_handle_t *h) { (void)h; /* inside the daemon_t */ }

static void ctl_closed_cb(ctl_server_t *s) { (void)s; }

/* Every service has stopped: let what waits go, close the rest. */
static void finish_shutdown(daemon_t *d) {
  for (int i = 0; i < NSERVICES; i++)
    if (d->services[i].ops->close != NULL)
      d->services[i].ops->close(d->services[i].self);
  ctl_server_close(&d->ctl, ctl_closed_cb);
  for (int i = 0; i < d->nsigs; i++)
    uv_close((uv_handle_t *)&d->sigs[i], closed_cb);
  d->nsigs = 0;
  uv_close((uv_handle_t *)&d->vital_timer, closed_cb);
  d->closed = true;
  LOG("info", "shutdown", F_STR("state", "complete"));
}

static void service_stopped_cb(void *arg) {
  daemon_t *d = arg;
  if (--d->stopping_left == 0)
    finish_shutdown(d);
}

/* The programs, pools and workers stop side by side; the channels serve
 * them until all are done. */
static void shutdown_daemon(daemon_t *d) {
  if (d->stopping)
    return;
  d->stopping = true;
  notify_send("STOPPING=1\nSTATUS=stopping every program");
  /* One more than the services: a service done at once must not finish
   * the shutdown before the others are asked. */
  d->stopping_left = NSERVICES + 1;
  for (int i = 0; i < NSERVICES; i++)
    d->services[i].ops->shutdown(d->services[i].self, (service_done_t){service_stopped_cb, d});
  service_stopped_cb(d);
}

static void vital_timer_cb(uv_timer_t *t) { shutdown_daemon(t->data); }

/* p, whose on_exit or on_fatal (key) is shutdown, has ended so: one line
 * says which program brings the daemon down and why, and with exit_code
 * = first its code (128 + signal; 127 when it never ran, as a shell's
 * command not found) becomes the daemon's. The first such end decides. */
static void vital_ended(void *arg, sv_proc_t *p, const char *key) {
  daemon_t *d = arg;
  if (d->stopping || uv_is_active((uv_handle_t *)&d->vital_timer))
    return;
  int code = !p->has_exit ? 127 : p->last_signal ? 128 + p->last_signal : (int)p->last_exit;
  bool first = p->gen->config->exit_code_first;
  if (first)
    d->exit_code = code;
  char reason[64], sig[32];
  snprintf(reason, sizeof(reason), "%s = shutdown: %s", key, pstate_name(p->state));
  LOG("warn", "shutdown", F_STR("program", p->name), F_STR("reason", reason),
      !p->has_exit || p->last_signal ? (log_field_t)F_NULL("exit_code")
                                     : (log_field_t)F_INT("exit_code", p->last_exit),
      p->has_exit && p->last_signal
          ? (log_field_t)F_STR("signal", tend_signame(p->last_signal, sig, sizeof(sig)))
          : (log_field_t)F_NULL("signal"),
      F_INT("daemon_exit_code", first ? code : 0));
  uv_timer_start(&d->vital_timer, vital_timer_cb, 0, 0);
}

/* ---- requests ------------------------------------------------------------ */

void daemon_dispatch(daemon_t *d, const tend_ctl_req_t *req, ctl_conn_t *c) {
  const service_t *s = d->serves[req->cmd];
  if (d->stopping && !(tend_ctl_cmds[req->cmd].flags & CTL_F_STOPPING)) {
    ctl_reply_error(c, "the daemon is shutting down");
  } else if (s != NULL) {
    s->ops->request(s->self, req, c);
  } else if (req->cmd == CTL_CMD_RELOAD) {
    reload(d, c);
  } else { /* CTL_CMD_SHUTDOWN: DAEMON_CMDS and the services' cover every command */
    ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0);
    LOG("info", "shutdown", F_STR("reason", "tend shutdown"));
    shutdown_daemon(d);
  }
}

static void on_request(ctl_conn_t *c, json_t *json, const char *data, size_t len) {
  daemon_t *d = c->server->data;
  tend_ctl_req_t req;
  char err[256];
  if (ctl_req_decode(json, data, len, &req, err, sizeof(err)) != 0) {
    ctl_reply_error(c, "%s", err);
    return;
  }
  daemon_dispatch(d, &req, c);
  ctl_req_free(&req);
}

static void conn_gone(ctl_conn_t *c) {
  daemon_t *d = c->server->data;
  for (int i = 0; i < NSERVICES; i++)
    if (d->services[i].ops->conn_gone != NULL)
      d->services[i].ops->conn_gone(d->services[i].self, c);
}

/* ---- signals ------------------------------------------------------------- */

static void signal_cb(uv_signal_t *s, int signum) {
  daemon_t *d = s->data;
  char name[32];
  switch (signum) {
  case SIGCHLD:
    sv_reap_orphans(&d->sv.sv);
    break;
  case SIGHUP:
    LOG("info", "signal", F_STR("signal", "SIGHUP"), F_STR("action", "reload"));
    reload(d, NULL);
    break;
  case SIGUSR2:
    LOG("info", "signal", F_STR("signal", "SIGUSR2"), F_STR("action", "logrotate"));
    dsv_logrotate(&d->sv, "all");
    break;
  default:
    if (d->stopping) {
      LOG("info", "signal", F_STR("signal", tend_signame(signum, name, sizeof(name))),
          F_STR("action", "already shutting down"));
      break;
    }
    LOG("info", "signal", F_STR("signal", tend_signame(signum, name, sizeof(name))),
        F_STR("action", "shutdown"));
    shutdown_daemon(d);
  }
}

void daemon_signals(daemon_t *d) {
  static const int sigs[NSIGNALS] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR2};
  for (int i = 0; i < NSIGNALS; i++) {
    uv_signal_init(&d->loop, &d->sigs[i]);
    d->sigs[i].data = d;
    uv_signal_start(&d->sigs[i], signal_cb, sigs[i]);
    d->nsigs++;
  }
}

/* ---- the core ------------------------------------------------------------ */

/* The services on d's loop, and which one answers each command. -EPROTO
 * when the services and the daemon do not cover every command of the
 * table exactly once (a command added to the table and served by none). */
static int services_init(daemon_t *d) {
  dchan_init(&d->chans, &d->loop);
  dpools_init(&d->pools, &d->loop);
  dworkers_init(&d->workers, &d->loop);
  dsv_init(&d->sv, &d->loop, &d->chans.set);
  d->sv.vital = vital_ended;
  d->sv.vital_arg = d;
  devents_init(&d->events, &d->loop);
  d->sv.watch = &devents_watch;
  d->sv.watch_arg = &d->events;
  rpc_init(&d->rpc, d, &d->loop);
  const service_t list[NSERVICES] = {
      {&dchan_ops, &d->chans}, /* first: the programs' channels must exist */
      {&dpool_ops, &d->pools},
      {&dworker_ops, &d->workers},
      {&rpc_ops, &d->rpc}, /* listening before the programs start */
      {&devents_ops, &d->events}, /* its pools before their listeners start */
      {&dsv_ops, &d->sv},  /* last: it keeps the config */
  };
  memcpy(d->services, list, sizeof(list));
  uint32_t covered = DAEMON_CMDS;
  for (int i = 0; i < NSERVICES; i++) {
    uint32_t cmds = list[i].ops->cmds;
    if (cmds & covered)
      return -EPROTO;
    covered |= cmds;
    for (int k = 0; k < CTL_NCMDS; k++)
      if (cmds & CTL_BIT(k))
        d->serves[k] = &d->services[i];
  }
  return covered == CTL_BIT(CTL_NCMDS) - 1 ? 0 : -EPROTO;
}

int daemon_new(daemon_t **out, const char *config_path, unsigned config_flags) {
  daemon_t *d = calloc(1, sizeof(*d));
  if (d == NULL || (d->config_path = strdup(config_path)) == NULL) {
    free(d);
    return -ENOMEM;
  }
  d->config_flags = config_flags;
  int r = uv_loop_init(&d->loop);
  if (r != 0) {
    free(d->config_path);
    free(d);
    return r;
  }
  uv_timer_init(&d->loop, &d->vital_timer);
  d->vital_timer.data = d;
  ctl_server_init(&d->ctl, &d->loop, on_request, conn_gone);
  d->ctl.data = d;
  r = services_init(d);
  if (r != 0) {
    daemon_close(d);
    return r;
  }
  *out = d;
  return 0;
}

int daemon_listen(daemon_t *d, const char *path, int mode) {
  int r = ctl_server_start(&d->ctl, &d->loop, path, mode, on_request, conn_gone);
  d->ctl.data = d; /* ctl_server_start set the server up afresh */
  return r;
}

daemon_t *daemon_open(tend_config_t *cfg, const char *config_path) {
  daemon_t *d;
  if (daemon_new(&d, config_path, 0) != 0) {
    tend_config_free(cfg);
    return NULL;
  }
  daemon_apply(d, cfg);
  return d;
}

uv_loop_t *daemon_loop(daemon_t *d) { return &d->loop; }

ctl_server_t *daemon_ctl(daemon_t *d) { return &d->ctl; }

dsv_t *daemon_sv(daemon_t *d) { return &d->sv; }

dpools_t *daemon_pools(daemon_t *d) { return &d->pools; }

dchan_t *daemon_chans(daemon_t *d) { return &d->chans; }

devents_t *daemon_events(daemon_t *d) { return &d->events; }

bool daemon_stopping(const daemon_t *d) { return d->stopping; }

int daemon_exit_code(const daemon_t *d) { return d->exit_code; }

const char *daemon_config_path(const daemon_t *d) { return d->config_path; }

int daemon_request(daemon_t *d, json_t *req, const char *data, size_t len, tend_buf_t *out) {
  /* finish_shutdown has closed every connection: as with the socket, no
   * request can come any more. */
  if (d->closed)
    return -ESHUTDOWN;
  ctl_conn_t *c = ctl_conn_sink(&d->ctl, out);
  if (c == NULL)
    return -ENOMEM;
  on_request(c, req, data, len);
  return 0;
}

int daemon_close(daemon_t *d) {
  shutdown_daemon(d);
  uv_run(&d->loop, UV_RUN_DEFAULT);
  tend_proc_release();
  uv_run(&d->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&d->loop) != 0)
    return -EBUSY;
  tend_config_free(d->pending);
  free(d->config_path);
  free(d);
  return 0;
}

/* ---- for daemon/reread.c --------------------------------------------------- */

int daemon_load(daemon_t *d, tend_config_t **cfg, tend_diag_t *diag) {
  return tend_config_load_flags(d->config_path, d->config_flags, cfg, diag);
}

tend_config_t **daemon_pending(daemon_t *d) { return &d->pending; }

struct sv *daemon_supervisor(daemon_t *d) { return &d->sv.sv; }
