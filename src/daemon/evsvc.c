/* SPDX-License-Identifier: MIT */
/*
 * The events service: what happens in the daemon as supervisord's events
 * (payloads as supervisor/events.py renders them), the listener pools fed
 * with them, and `tend events`, which prints them to a client as they
 * come. A client that reads slower than they come is not waited for: its
 * events are counted and it gets "dropped N" once it catches up.
 */
#include "daemon/evsvc.h"
#include "core/log.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"
#include "tend/text.h"

/* A follower whose client has this much unread is skipped (its events
 * counted as dropped) until it reads. */
#define FOLLOW_BACKLOG_MAX (1u << 20)

typedef struct follower {
  devents_t *owner;
  ctl_conn_t *conn;
  evsub_t sub;
  uint64_t dropped;
  LIST_ENTRY(follower) link;
} follower_t;

/* PROCESS_COMMUNICATION capture of one stream of one process. */
typedef struct evcap {
  const sv_proc_t *p;
  int stream;
  bool on;          /* between BEGIN and END */
  tend_buf_t pend;  /* bytes that may start a token */
  tend_buf_t text;  /* captured so far */
  LIST_ENTRY(evcap) link;
} evcap_t;

static const char begin_token[] = "<!--XSUPERVISOR:BEGIN-->";
static const char end_token[] = "<!--XSUPERVISOR:END-->";

static devents_t *of_recorder(evsub_t *s) {
  return (devents_t *)(void *)((char *)s - offsetof(devents_t, recorder));
}

static follower_t *of_sub(evsub_t *s) {
  return (follower_t *)(void *)((char *)s - offsetof(follower_t, sub));
}

/* supervisord's config.name: the process's name without its group. */
static const char *bare_name(const sv_proc_t *p) {
  const char *colon = strchr(p->name, ':');
  return colon != NULL ? colon + 1 : p->name;
}

/* ---- what the processes do -------------------------------------------------- */

static evtype_t state_event(pstate_t s) {
  switch (s) {
  case PS_STOPPED: return EV_PROCESS_STATE_STOPPED;
  case PS_STARTING: return EV_PROCESS_STATE_STARTING;
  case PS_RUNNING: return EV_PROCESS_STATE_RUNNING;
  case PS_BACKOFF: return EV_PROCESS_STATE_BACKOFF;
  case PS_STOPPING: return EV_PROCESS_STATE_STOPPING;
  case PS_EXITED: return EV_PROCESS_STATE_EXITED;
  case PS_FATAL: return EV_PROCESS_STATE_FATAL;
  }
  return EV_PROCESS_STATE_UNKNOWN;
}

static bool exit_expected(const sv_proc_t *p) {
  for (int i = 0; p->last_signal == 0 && i < p->conf->nexitcodes; i++)
    if (p->conf->exitcodes[i] == p->last_exit)
      return true;
  return false;
}

static void cap_free(evcap_t *c) {
  LIST_REMOVE(c, link);
  tend_buf_free(&c->pend);
  tend_buf_free(&c->text);
  free(c);
}

static void caps_drop(devents_t *e, const sv_proc_t *p) {
  for (evcap_t *c = LIST_FIRST(&e->caps), *next; c != NULL; c = next) {
    next = LIST_NEXT(c, link);
    if (c->p == p)
      cap_free(c);
  }
}

/* ProcessStateEvent.payload with each state's extra values: tries
 * (STARTING, BACKOFF), expected and pid (EXITED), pid (RUNNING,
 * STOPPING, STOPPED; 0 when no child ended on the way). */
static void watch_state(void *arg, sv_proc_t *p, pstate_t from, pstate_t to) {
  devents_t *e = arg;
  dlisten_state(&e->listen, p, from, to);
  if (to == PS_STARTING)
    caps_drop(e, p); /* a new child: supervisord makes new dispatchers */
  evtype_t t = state_event(to);
  bool had_child = from == PS_STARTING || from == PS_RUNNING || from == PS_STOPPING;
  int pid = to == PS_RUNNING || to == PS_STOPPING || had_child ? p->pid : 0;
  char extra[64] = "";
  if (to == PS_STARTING || to == PS_BACKOFF)
    snprintf(extra, sizeof(extra), " tries:%d", p->fsm.fails);
  else if (to == PS_EXITED)
    snprintf(extra, sizeof(extra), " expected:%d pid:%d", exit_expected(p), pid);
  else if (to != PS_FATAL)
    snprintf(extra, sizeof(extra), " pid:%d", pid);
  evbus_emitf(&e->bus, t, "processname:%s groupname:%s from_state:%s%s", bare_name(p),
              p->conf->group, pstate_name(from), extra);
}

/* Python's repr() of bytes: b'...' (b"..." when only ' is in them),
 * \t \n \r \\ and the quote escaped, other bytes outside ASCII's
 * printable ones as \xNN. */
static int py_bytes_repr(tend_buf_t *out, const char *data, size_t len) {
  char quote = memchr(data, '\'', len) != NULL && memchr(data, '"', len) == NULL ? '"' : '\'';
  char head[2] = {'b', quote};
  int r = tend_buf_append(out, head, 2);
  for (size_t i = 0; r == 0 && i < len; i++) {
    unsigned char ch = (unsigned char)data[i];
    char esc[5];
    int n;
    if (ch == (unsigned char)quote || ch == '\\')
      n = snprintf(esc, sizeof(esc), "\\%c", ch);
    else if (ch == '\t' || ch == '\n' || ch == '\r')
      n = snprintf(esc, sizeof(esc), "\\%c", ch == '\t' ? 't' : ch == '\n' ? 'n' : 'r');
    else if (ch < 0x20 || ch >= 0x7f)
      n = snprintf(esc, sizeof(esc), "\\x%02x", ch);
    else
      n = snprintf(esc, sizeof(esc), "%c", ch);
    r = tend_buf_append(out, esc, (size_t)n);
  }
  return r == 0 ? tend_buf_append(out, &quote, 1) : r;
}

/* An event of a process's output: "HEADER\nDATA"; DATA that is not
 * UTF-8 is "Undecodable: " and its repr(), as supervisord sends it. */
static void emit_output(devents_t *e, evtype_t t, const sv_proc_t *p, const char *channel,
                        const char *data, size_t len) {
  tend_buf_t repr = {0};
  if (!tend_utf8_valid(data, len)) {
    static const char undecodable[] = "Undecodable: ";
    if (tend_buf_append(&repr, undecodable, sizeof(undecodable) - 1) != 0 ||
        py_bytes_repr(&repr, data, len) != 0) {
      tend_buf_free(&repr);
      LOG("error", "event", F_STR("type", evtype_name(t)), F_STR("error", strerror(ENOMEM)));
      return;
    }
    data = repr.data;
    len = repr.len;
  }
  char head[512];
  int n = snprintf(head, sizeof(head), "processname:%s groupname:%s pid:%d%s%s\n",
                   bare_name(p), p->conf->group, p->pid, channel ? " channel:" : "",
                   channel ? channel : "");
  char *payload = n > 0 && (size_t)n < sizeof(head) ? malloc((size_t)n + len) : NULL;
  if (payload == NULL) {
    tend_buf_free(&repr);
    LOG("error", "event", F_STR("type", evtype_name(t)), F_STR("error", strerror(ENOMEM)));
    return;
  }
  memcpy(payload, head, (size_t)n);
  memcpy(payload + n, data, len);
  evbus_emit(&e->bus, t, payload, (size_t)n + len);
  free(payload);
  tend_buf_free(&repr);
}

/* Keep the last max bytes captured (supervisord's BoundIO keeps a tail). */
static int cap_keep(evcap_t *c, const char *data, size_t len, uint64_t max) {
  if (tend_buf_append(&c->text, data, len) != 0)
    return -ENOMEM;
  if (c->text.len > max) {
    size_t cut = c->text.len - (size_t)max;
    memmove(c->text.data, c->text.data + cut, c->text.len - cut);
    c->text.len -= cut;
  }
  return 0;
}

/* supervisord's record_output in capture mode: what is between the
 * tokens becomes one PROCESS_COMMUNICATION event; a token may be split
 * across reads, so the bytes that could start one wait for the next. */
static void capture(devents_t *e, sv_proc_t *p, int stream, const char *data, size_t len) {
  uint64_t max = p->conf->capture_maxbytes[stream];
  evcap_t *c;
  LIST_FOREACH(c, &e->caps, link)
    if (c->p == p && c->stream == stream)
      break;
  if (c == NULL) {
    if ((c = calloc(1, sizeof(*c))) == NULL)
      return;
    c->p = p;
    c->stream = stream;
    LIST_INSERT_HEAD(&e->caps, c, link);
  }
  if (tend_buf_append(&c->pend, data, len) != 0)
    return;
  size_t off = 0;
  for (;;) {
    const char *tok = c->on ? end_token : begin_token;
    size_t toklen = strlen(tok);
    char *at = memmem(c->pend.data + off, c->pend.len - off, tok, toklen);
    if (at == NULL) {
      size_t keep = c->pend.len - off < toklen - 1 ? c->pend.len - off : toklen - 1;
      if (c->on)
        cap_keep(c, c->pend.data + off, c->pend.len - off - keep, max);
      off = c->pend.len - keep;
      break;
    }
    size_t before = (size_t)(at - (c->pend.data + off));
    if (c->on) {
      cap_keep(c, c->pend.data + off, before, max);
      emit_output(e, stream ? EV_PROCESS_COMMUNICATION_STDERR : EV_PROCESS_COMMUNICATION_STDOUT,
                  p, NULL, c->text.data ? c->text.data : "", c->text.len);
      c->text.len = 0;
    }
    c->on = !c->on;
    off += before + toklen;
  }
  memmove(c->pend.data, c->pend.data + off, c->pend.len - off);
  c->pend.len -= off;
}

static void watch_output(void *arg, sv_proc_t *p, int stream, const char *data, size_t len) {
  devents_t *e = arg;
  if (p->conf->listener && stream == 0) {
    dlisten_output(&e->listen, p, data, len); /* the protocol, not output */
    return;
  }
  if (p->conf->events_enabled[stream])
    emit_output(e, stream ? EV_PROCESS_LOG_STDERR : EV_PROCESS_LOG_STDOUT, p,
                stream ? "stderr" : "stdout", data, len);
  if (p->conf->capture_maxbytes[stream] > 0)
    capture(e, p, stream, data, len);
}

static void watch_forget(void *arg, sv_proc_t *p) {
  devents_t *e = arg;
  dlisten_forget(&e->listen, p);
  caps_drop(e, p);
}

const dsv_watch_t devents_watch = {
    .state = watch_state,
    .output = watch_output,
    .forget = watch_forget,
};

void devents_remote(devents_t *e, const char *type, const char *data) {
  evbus_emitf(&e->bus, EV_REMOTE_COMMUNICATION, "type:%s\n%s", type, data);
}

/* ---- tend events ------------------------------------------------------------- */

static void recorder_cb(evsub_t *s, evt_t *ev) {
  devents_t *e = of_recorder(s);
  unsigned slot = (e->recent_head + e->nrecent) % DEVENTS_RECENT;
  if (e->nrecent == DEVENTS_RECENT) {
    evt_unref(e->recent[e->recent_head]);
    e->recent_head = (e->recent_head + 1) % DEVENTS_RECENT;
  } else {
    e->nrecent++;
  }
  e->recent[slot] = evt_ref(ev);
}

/* One frame: {"ok", "eventname", "serial"} and the payload as data. */
static int send_event(ctl_conn_t *c, const evt_t *ev) {
  json_t *o = json_pack("{s:b,s:s}", "ok", 1, "eventname", evtype_name(ev->type));
  if (o != NULL)
    json_object_set_new(o, "serial",
                        ev->has_serial ? json_integer((json_int_t)ev->serial) : json_null());
  return ctl_reply(c, o, ev->payload, ev->len);
}

static void follower_free(follower_t *f) {
  evbus_unsubscribe(&f->owner->bus, &f->sub);
  LIST_REMOVE(f, link);
  free(f);
}

static void follower_cb(evsub_t *s, evt_t *ev) {
  follower_t *f = of_sub(s);
  ctl_conn_t *c = f->conn;
  if (ctl_conn_backlog(c) > FOLLOW_BACKLOG_MAX) {
    f->dropped++;
    return;
  }
  if (f->dropped > 0) {
    uint64_t n = f->dropped;
    f->dropped = 0;
    /* A reply that fails ends the connection, and conn_gone frees f. */
    if (ctl_reply(c, json_pack("{s:b,s:I}", "ok", 1, "dropped", (json_int_t)n), NULL, 0) != 0)
      return;
  }
  send_event(c, ev);
}

/* The types the patterns name: a pattern (fnmatch, any case) names a
 * type when it matches its name or that of one of its parents. 0 when
 * one of them names none (*bad is it). */
static uint32_t types_named(const tend_ctl_strv_t *pats, const char **bad) {
  if (pats->n == 0)
    return evtype_covers(EV_EVENT);
  uint32_t all = 0;
  for (size_t i = 0; i < pats->n; i++) {
    uint32_t set = 0;
    for (int t = 0; t < EV_NTYPES; t++)
      if (fnmatch(pats->v[i], evtype_name((evtype_t)t), FNM_CASEFOLD) == 0)
        set |= evtype_covers((evtype_t)t);
    if (set == 0) {
      *bad = pats->v[i];
      return 0;
    }
    all |= set;
  }
  return all;
}

static void events_request(void *self, const tend_ctl_req_t *req, ctl_conn_t *c) {
  devents_t *e = self;
  const char *bad = NULL;
  uint32_t types = types_named(&req->types, &bad);
  if (types == 0) {
    ctl_reply_error(c, "no event type matches '%s' (see supervisord's list: PROCESS_STATE, "
                       "TICK_60, ...)", bad);
    return;
  }
  /* {ok} first: the types are taken, even when no event follows */
  if (ctl_reply(c, json_pack("{s:b}", "ok", 1), NULL, 0) != 0)
    return;
  for (unsigned i = 0; i < e->nrecent; i++) {
    const evt_t *ev = e->recent[(e->recent_head + i) % DEVENTS_RECENT];
    if ((types & EV_BIT(ev->type)) && send_event(c, ev) != 0)
      return;
  }
  if (!req->follow) {
    ctl_conn_end(c);
    return;
  }
  follower_t *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    ctl_reply_error(c, "out of memory");
    ctl_conn_end(c);
    return;
  }
  f->owner = e;
  f->conn = c;
  f->sub = (evsub_t){.types = types, .fn = follower_cb};
  LIST_INSERT_HEAD(&e->followers, f, link);
  evbus_subscribe(&e->bus, &f->sub);
}

static void events_conn_gone(void *self, ctl_conn_t *c) {
  devents_t *e = self;
  for (follower_t *f = LIST_FIRST(&e->followers), *next; f != NULL; f = next) {
    next = LIST_NEXT(f, link);
    if (f->conn == c)
      follower_free(f);
  }
}

/* ---- the service ------------------------------------------------------------- */

void devents_init(devents_t *e, uv_loop_t *loop) {
  memset(e, 0, sizeof(*e));
  evbus_init(&e->bus, loop);
  dlisten_init(&e->listen, &e->bus);
  LIST_INIT(&e->followers);
  LIST_INIT(&e->caps);
  e->recorder = (evsub_t){.types = evtype_covers(EV_EVENT), .passive = true, .fn = recorder_cb};
  evbus_subscribe(&e->bus, &e->recorder);
}

static bool has(char **list, const char *s) {
  for (; list != NULL && *list != NULL; list++)
    if (strcmp(*list, s) == 0)
      return true;
  return false;
}

/* The pools first (a listener pool takes the events of its own group's
 * arrival, as supervisord's does, its priority -1 putting it first); then
 * each group new to this config, each one gone; RUNNING once, at start. */
static void events_apply(void *self, tend_config_t *cfg) {
  devents_t *e = self;
  dlisten_apply(&e->listen, cfg);
  char **groups = NULL;
  for (size_t i = 0; i < cfg->nprograms; i++) {
    const char *g = cfg->programs[i].group;
    if (!has(groups, g) && strv_add(&groups, g) < 0)
      LOG("error", "event", F_STR("error", strerror(ENOMEM)));
  }
  for (char **g = groups; g != NULL && *g != NULL; g++)
    if (!has(e->groups, *g))
      evbus_emitf(&e->bus, EV_PROCESS_GROUP_ADDED, "groupname:%s\n", *g);
  for (char **g = e->groups; g != NULL && *g != NULL; g++)
    if (!has(groups, *g))
      evbus_emitf(&e->bus, EV_PROCESS_GROUP_REMOVED, "groupname:%s\n", *g);
  strv_free(e->groups);
  e->groups = groups;
  if (!e->started) {
    e->started = true;
    evbus_emit(&e->bus, EV_SUPERVISOR_STATE_CHANGE_RUNNING, "", 0);
  }
}

/* The listeners go on (the supervisor stops them last): they hear it. */
static void events_shutdown(void *self, service_done_t done) {
  devents_t *e = self;
  evbus_emit(&e->bus, EV_SUPERVISOR_STATE_CHANGE_STOPPING, "", 0);
  done.fn(done.arg);
}

static void events_close(void *self) {
  devents_t *e = self;
  follower_t *f;
  while ((f = LIST_FIRST(&e->followers)) != NULL) {
    ctl_conn_t *c = f->conn;
    follower_free(f);
    ctl_conn_end(c);
  }
  evcap_t *c;
  while ((c = LIST_FIRST(&e->caps)) != NULL)
    cap_free(c);
  dlisten_free(&e->listen);
  evbus_unsubscribe(&e->bus, &e->recorder);
  for (unsigned i = 0; i < e->nrecent; i++)
    evt_unref(e->recent[(e->recent_head + i) % DEVENTS_RECENT]);
  e->nrecent = 0;
  strv_free(e->groups);
  e->groups = NULL;
  evbus_close(&e->bus);
}

const service_ops_t devents_ops = {
    .name = "events",
    .cmds = CTL_BIT(CTL_CMD_EVENTS),
    .apply = events_apply,
    .request = events_request,
    .conn_gone = events_conn_gone,
    .shutdown = events_shutdown,
    .close = events_close,
};
