/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between `tend` commands and the daemon, shared by
 * both ends so they cannot drift.
 *
 * Transport: a Unix stream socket. Each message is one frame:
 *
 *   u32 json_len (big endian) | u32 data_len (big endian) | json | data
 *
 * json is one UTF-8 JSON object: at most TEND_CTL_MAX_JSON bytes in a
 * request, TEND_CTL_MAX_REPLY_JSON in a reply (the status of thousands of
 * processes); data is an optional binary payload (what `send` writes to a
 * child, what `logs` returns), at most TEND_CTL_MAX_DATA bytes. A request
 * over a limit, or whose json is not an object with a string "cmd", gets an
 * error reply and the connection is closed.
 *
 * Requests: {"cmd": NAME, ARGS...}, the commands and their arguments of
 * the table below (tend_ctl_cmds, tend_ctl_args), from which both ends
 * build and read them. An argument may be left out unless marked
 * required; keys a command does not take are ignored; one of the wrong
 * type (or a value outside its choices) gets an error naming it, and an
 * unknown command {"ok":false,"error":"unknown command 'NAME'"}; the
 * connection stays open for the next request.
 *
 *   status    names?:[str]                → {"ok":true,"processes":[{"name","group",
 *             "state","pid","uptime_ms","restarts","priority","exit_code","signal",
 *             "reason"?,"stdout_logfile","stderr_logfile","rss","cpu_percent",
 *             "group_processes"?}]}
 *   start, stop, restart  names?:[str] wait?:bool
 *                                         → {"ok":all ok,"results":[{"name","ok","error"?}]}
 *             (with wait, once every process got where it was sent)
 *   send      name:str eof?:bool + data   → {"ok":true}
 *   logs      name:str lines?:int(10) stream?:"stdout"|"stderr" follow?:bool
 *                                         → frames {"ok":true} + data: the last
 *             `lines` lines, then, with follow, every new chunk until the
 *             client hangs up
 *   wait      name:str                    → when it next exits (at once if it
 *             is not running): {"ok":true,"exit_code":C|null,"signal":S|null}
 *   reload    (none)                      → {"ok":true,"added":[..],"changed":[..],
 *                                            "removed":[..]} or the config errors
 *   shutdown  (none)                      → {"ok":true}, then the daemon stops and
 *             closes every connection
 *   submit    pool:str argv:[str] (not empty) → {"ok":true,"id":"POOL/N","seq":N}
 *   pool-status pool:str                  → {"ok":true,"pool","closed","workers","queued",
 *             "running","done","succeeded","failed","tasks":[{"id","state","command",
 *             "pid",...}]}
 *   close     pool:str                    → {"ok":true}
 *   join      pool:str                    → once the closed pool's tasks are done:
 *             {"ok":true,"tasks":[{"id","ok","exit_code","signal","timed_out","error"?}]}
 *   put       name:str split?:bool nowait?:bool + data (a message, or one a line)
 *                                         → {"ok":true,"put":N} or {"ok":false,
 *                                            "full":true,"put":N,"error"} (nowait)
 *   get       name:str count?:int(1) timeout_ms?:int(none)
 *                                         → a frame {"ok":true} + data per message,
 *             then the end of the stream, or {"ok":false,"timed_out":true,"got":N,"error"}
 *   logrotate names?:[str]                → {"ok":true}
 *   events    types?:[str] follow?:bool   → a frame {"ok":true}, then frames {"ok":true,
 *             "eventname","serial":N|null} + data: the payload, of the last events
 *             (at most 32) of the types
 *             (fnmatch patterns of supervisord's names, a parent taking its
 *             children; none: all), then, with follow, each new one; a client
 *             that fell behind gets {"ok":true,"dropped":N} before the next
 *
 * names may be "all", "GROUP:*", a group or a process name; an empty or
 * absent list means all. While the daemon shuts down it answers only
 * status, logs, wait and events (the others: an error).
 * Every reply has "ok"; a failed one has "error" (a sentence for the user).
 */
#ifndef TEND_CTL_H
#define TEND_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tend/buf.h"

#define TEND_CTL_HDR 8
#define TEND_CTL_MAX_JSON (64u * 1024)
#define TEND_CTL_MAX_REPLY_JSON (64u * 1024 * 1024)
#define TEND_CTL_MAX_DATA (1024u * 1024)

/* Lengths from a frame header. 0, or -EMSGSIZE when json is over max_json
 * (TEND_CTL_MAX_JSON for requests, TEND_CTL_MAX_REPLY_JSON for replies) or
 * data over TEND_CTL_MAX_DATA. */
int tend_ctl_header(const unsigned char hdr[TEND_CTL_HDR], uint32_t max_json,
                    uint32_t *json_len, uint32_t *data_len);

/* Append a frame to out. 0, -EMSGSIZE (over max_json or TEND_CTL_MAX_DATA)
 * or -ENOMEM. */
int tend_ctl_frame(tend_buf_t *out, uint32_t max_json, const char *json, size_t json_len,
                   const void *data, size_t data_len);

/* ---- the commands ------------------------------------------------------ */

/* Every control command, in the order `tend --help` lists them. */
typedef enum {
  CTL_CMD_STATUS,
  CTL_CMD_START,
  CTL_CMD_STOP,
  CTL_CMD_RESTART,
  CTL_CMD_SEND,
  CTL_CMD_LOGS,
  CTL_CMD_WAIT,
  CTL_CMD_RELOAD,
  CTL_CMD_SHUTDOWN,
  CTL_CMD_SUBMIT,
  CTL_CMD_POOL_STATUS,
  CTL_CMD_CLOSE,
  CTL_CMD_JOIN,
  CTL_CMD_PUT,
  CTL_CMD_GET,
  CTL_CMD_LOGROTATE,
  CTL_CMD_EVENTS,
  CTL_NCMDS
} tend_ctl_cmd_t;

/* Every argument a request may carry: one JSON key with one type, in
 * whichever command takes it. */
typedef enum {
  CTL_ARG_NAMES,
  CTL_ARG_WAIT,
  CTL_ARG_NAME,
  CTL_ARG_EOF,
  CTL_ARG_LINES,
  CTL_ARG_STREAM,
  CTL_ARG_FOLLOW,
  CTL_ARG_POOL,
  CTL_ARG_ARGV,
  CTL_ARG_SPLIT,
  CTL_ARG_NOWAIT,
  CTL_ARG_COUNT,
  CTL_ARG_TIMEOUT_MS,
  CTL_ARG_TYPES,
  CTL_NARGS
} tend_ctl_arg_t;

/* A set of arguments (or of commands) as bits: CTL_BIT(CTL_ARG_NAME). */
#define CTL_BIT(x) (1u << (x))

typedef enum {
  CTL_T_STRING,
  CTL_T_STRINGS, /* an array of strings */
  CTL_T_INT,
  CTL_T_BOOL,
  CTL_T_CHOICE, /* one of a few strings, read as its index */
} tend_ctl_type_t;

typedef struct {
  const char **v;
  size_t n;
} tend_ctl_strv_t;

/* A request, typed. Strings are borrowed: from the JSON a request was read
 * from (valid while it is handled), or from the caller that encodes it. */
typedef struct {
  tend_ctl_cmd_t cmd;
  uint32_t given; /* CTL_BIT(CTL_ARG_*) of each argument present */
  tend_ctl_strv_t names, argv, types;
  const char *name, *pool;
  int64_t lines, count, timeout_ms;
  int stream; /* 0 stdout, 1 stderr */
  bool wait, eof, follow, split, nowait;
  /* Not on the wire: set by the daemon's own front ends (XML-RPC) that
   * never show RSS and CPU, so status skips its scan of /proc. */
  bool no_resources;
  /* Not on the wire either: a waited start fails at its first failed
   * attempt (BACKOFF), as supervisord's startProcess does, where `tend
   * start` waits for the retries to end (RUNNING or FATAL). */
  bool first_failure;
  const char *data; /* the frame's data (never NULL in a decoded request) */
  size_t len;
} tend_ctl_req_t;

/* An argument: its key, its type and where its value is in
 * tend_ctl_req_t; absent, it has the value dflt (ints, choices) or
 * false/NULL/empty. */
typedef struct {
  const char *key;
  tend_ctl_type_t type;
  size_t offset;
  int64_t dflt;
  const char *const *choices; /* CTL_T_CHOICE: NULL-terminated */
} tend_ctl_argspec_t;

enum {
  CTL_REQUIRED = 1 << 0, /* the request is refused without it */
  CTL_NONEMPTY = 1 << 1, /* CTL_T_STRINGS: at least one */
};

typedef struct {
  tend_ctl_arg_t arg;
  unsigned flags; /* CTL_REQUIRED, CTL_NONEMPTY */
} tend_ctl_param_t;

enum {
  CTL_F_DATA = 1 << 0,     /* takes the frame's data */
  CTL_F_STREAM = 1 << 1,   /* may answer with several frames */
  CTL_F_STOPPING = 1 << 2, /* still served while the daemon shuts down */
};

#define CTL_MAX_PARAMS 4

typedef struct {
  const char *name; /* on the wire, and the CLI subcommand */
  unsigned flags;   /* CTL_F_* */
  unsigned nparams;
  tend_ctl_param_t params[CTL_MAX_PARAMS]; /* in the order a request lists them */
  const char *reply; /* the reply's shape, for people */
  const char *help;  /* one line, for `tend --help` */
} tend_ctl_cmdspec_t;

extern const tend_ctl_argspec_t tend_ctl_args[CTL_NARGS];
extern const tend_ctl_cmdspec_t tend_ctl_cmds[CTL_NCMDS];

/* The command called name, or -ENOENT. */
int tend_ctl_cmd_find(const char *name);

/* req as a request's JSON (malloc'd, NUL-terminated): its command, its
 * required arguments and the optional ones in req->given, in the table's
 * order. NULL when out of memory or a required argument is NULL. */
char *tend_ctl_encode(const tend_ctl_req_t *req);

/* Client side, blocking (a CLI command does one thing at a time). */
int tend_ctl_connect(const char *path);
/* Send one request frame. 0 or a negative errno. */
int tend_ctl_send(int fd, const char *json, const void *data, size_t data_len);
/* Read one reply frame: *json (NUL-terminated) and *data (may be NULL), both
 * malloc'd. 0, -EPIPE at a clean end of stream, or a negative errno. */
int tend_ctl_recv(int fd, char **json, char **data, size_t *data_len);

#endif
