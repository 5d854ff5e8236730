/* SPDX-License-Identifier: MIT */
/*
 * The daemon's configuration: a supervisord-style INI file read into plain,
 * validated data. Nothing here runs anything. Semantics follow supervisord
 * 4.2.5 (same keys, same defaults, same expansions), plus tend's own keys.
 *
 * Every problem is reported as "FILE:LINE: [SECTION] KEY: message" with the
 * bad value and what was expected; a config with any error is refused whole.
 *
 * Paths in the config (directory, stdout/stderr_logfile, socket, logfile,
 * logdir, pidfile, childlogdir, include globs) are relative to the
 * directory of the file that holds them, not to the daemon's working
 * directory (supervisord's), and are stored absolute. FILE in messages is
 * absolute too.
 */
#ifndef TEND_CONFIG_H
#define TEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  TEND_AUTORESTART_FALSE = 0,
  TEND_AUTORESTART_TRUE,
  TEND_AUTORESTART_UNEXPECTED,
} tend_autorestart_t;

/* on_exit / on_fatal (tend): what a program's end does to the daemon. */
typedef enum {
  TEND_ON_IGNORE = 0, /* the usual rules (autorestart, startretries) */
  TEND_ON_SHUTDOWN,   /* the daemon stops everything and exits */
} tend_on_t;

typedef enum {
  TEND_LOGFMT_TEXT = 0,
  TEND_LOGFMT_JSON,
} tend_logfmt_t;

/* One child log: stdout or stderr of one process. */
typedef struct {
  char *path;        /* NULL: not logged (supervisord's NONE) */
  uint64_t maxbytes; /* 0: never rotate; default 50 MB as supervisord */
  int backups;       /* default 10 */
  bool timestamps;   /* stdout_timestamps: prefix lines with an RFC 3339 time */
  bool syslog;       /* each line also to syslog (stdout_logfile = syslog, or
                        stdout_syslog = true), ident the process name */
} tend_logconf_t;

/* The socket of an [fcgi-program:x] (supervisord's FastCGI group): bound
 * by the daemon, every process of the group gets it as its fd 0. */
typedef struct {
  char *url;     /* NULL: a plain [program:x]; else "tcp://HOST:PORT" or
                    "unix:///PATH" (PATH absolute, normal) */
  char *host;    /* tcp: an IPv4 address or a host name (IPv4, as supervisord) */
  int port;
  char *path;    /* unix */
  int backlog;   /* socket_backlog; 0: SOMAXCONN */
  int mode;      /* unix: socket_mode, default 0700 */
  char *owner;   /* unix: socket_owner "USER" or "USER:GROUP"; NULL: the
                    program's user when it has one, else unchanged */
  int line;      /* of socket =, for messages */
} tend_fcgi_socket_t;

/* ready = ...: when a started program counts as ready (and RUNNING). */
typedef enum {
  TEND_READY_STARTSECS = 0, /* supervisord's rule: alive after startsecs */
  TEND_READY_FD,            /* a line written to descriptor ready_fd */
  TEND_READY_TCP,           /* accepts connections on ready_host:ready_port */
  TEND_READY_UNIX,          /* accepts connections on ready_path */
} tend_ready_t;

/* One process to supervise: a [program:x] section expanded per numprocs. */
typedef struct {
  char *name;     /* process name, unique: process_name expanded */
  char *program;  /* the section's name (x of [program:x]) */
  char *group;    /* group name: the [group:g] that lists it, else program */
  int process_num;

  char *command;  /* as written (expanded) */
  char **argv;    /* command split as POSIX sh words (quotes, backslashes);
                     NULL-terminated */
  char *directory; /* NULL: the daemon's */
  char **env;      /* NULL-terminated "K=V" list: [supervisord] environment
                      merged with the program's own (the program's wins per
                      key); the daemon's environment is added at spawn */
  char *user;      /* NULL: unchanged */
  int umask;       /* -1: unchanged */

  bool autostart;                 /* default true */
  tend_autorestart_t autorestart; /* default unexpected */
  int *exitcodes;                 /* default {0} */
  int nexitcodes;
  double startsecs;   /* default 1 */
  int startretries;   /* default 3; -1: infinite */
  int stopsignal;     /* default SIGTERM */
  double stopwaitsecs; /* default 10 */
  bool stopasgroup;   /* default true in tend */
  bool killasgroup;   /* default true in tend */
  int priority;       /* default 999; lower starts first, stops last */
  int group_priority; /* the [group:g] priority (default 999) of the group
                         that lists it, else the program's own priority */

  bool redirect_stderr; /* default false */
  tend_logconf_t out;   /* stdout_logfile*; AUTO: LOGDIR/NAME.out */
  tend_logconf_t err;   /* stderr_logfile*; AUTO: LOGDIR/NAME.err */
  bool stdin_pipe;      /* tend's stdin = pipe|null; default pipe */

  /* Crash-loop backoff (tend): after the k-th quick failure in a row the
   * next start waits min(backoff_max, backoff_initial * factor^(k-1)). A
   * quick failure is a failed start, or a run shorter than 1 s. */
  double backoff_initial; /* default 1; 0: restart at once */
  double backoff_max;     /* default 60 */
  double backoff_factor;  /* default 2 */

  /* Start dependencies (tend): program names that must be RUNNING (ready)
   * before this one starts; stops go in reverse. NULL-terminated. */
  char **depends_on;
  int depends_on_line;
  char *stdout_channel; /* each stdout line becomes a message of it */
  char *stdin_channel;  /* each message of it is written as a stdin line */
  tend_ready_t ready;
  int ready_fd;      /* TEND_READY_FD: 3 or more */
  char *ready_host;  /* TEND_READY_TCP */
  int ready_port;
  char *ready_path;  /* TEND_READY_UNIX */
  double ready_timeout; /* default 60: then it is a failed start */

  /* A vital program (tend, s6-overlay's S6_BEHAVIOUR_IF_STAGE2_FAILS): on_exit
   * = shutdown brings the daemon down when the program ends in any way but
   * a stop asked for (it is not restarted); on_fatal = shutdown when it is
   * FATAL (its starts failed startretries times). Default ignore. */
  tend_on_t on_exit, on_fatal;

  tend_fcgi_socket_t fcgi; /* [fcgi-program:x]: its socket (fcgi.url set) */

  /* supervisord's events. [eventlistener:x]: a listener of the pool x (its
   * group), whose stdout speaks the event protocol and is not logged. */
  bool listener;
  uint32_t events;  /* listener: the concrete types it takes, as bits of
                       core/evtype.h (an abstract type stands for all below) */
  int buffer_size;  /* listener: events its pool holds; default 10 */
  /* stdout_events_enabled, stderr_events_enabled: PROCESS_LOG_* events of
   * the output; *_capture_maxbytes (0: off): PROCESS_COMMUNICATION_* events
   * of what is between <!--XSUPERVISOR:BEGIN--> and <!--XSUPERVISOR:END-->,
   * at most that many bytes. Index 0 stdout, 1 stderr. */
  bool events_enabled[2];
  uint64_t capture_maxbytes[2];

  char *file; /* where the section is, for messages */
  int line;
} tend_program_t;

/* [channel:NAME]: a bounded FIFO of messages in the daemon. */
typedef struct {
  char *name;
  int capacity; /* messages; default 1024 */
  char *file;
  int line;
} tend_channel_conf_t;

/* [pool:NAME]: a worker pool in the daemon (tend submit). */
typedef struct {
  char *name;
  int workers;    /* tasks at once; default: the number of CPUs */
  double timeout; /* seconds per task; 0: none */
  int keep;       /* finished tasks kept for pool-status; default 100 */
  char *file;
  int line;
} tend_pool_conf_t;

/* [worker:NAME]: the daemon as a node agent of a Redis Streams queue. */
typedef struct {
  char *name;
  char *redis;      /* URL, required */
  char *stream;     /* default: NAME */
  char *group;      /* default "tend" */
  int workers;      /* tasks at once; default: the number of CPUs */
  double visibility; /* seconds; default 30 */
  char *file;
  int line;
} tend_worker_conf_t;

/* A section supervisord would run processes of and tend does not. */
typedef struct {
  char *section;   /* "eventlistener:NAME" */
  int processes;   /* its numprocs: what supervisord would run */
  const char *why; /* a static sentence: why tend does not run it */
  char *file;
  int line;
} tend_skipped_t;

/* [unix_http_server] or [inet_http_server]: supervisord's XML-RPC/HTTP
 * interface (issue #16), read and checked with supervisord's defaults; the
 * daemon does not serve it yet. */
typedef struct {
  bool enabled;   /* the section is there */
  char *file;     /* unix: the socket's path, required */
  int chmod;      /* unix: default 0700 */
  char *chown;    /* unix: "user" or "user:group"; NULL: unchanged */
  char *host;     /* inet: "" for all interfaces ("*:9001", ":9001") */
  int port;       /* inet: required */
  char *username; /* NULL: no authentication */
  char *password; /* plain, or "{SHA}" and the hex SHA-1 of it */
  char *conf;     /* the file of the section */
  int line;
} tend_http_conf_t;

typedef struct {
  char *path;       /* the main config file, absolute */
  char *socket;     /* control socket; default: beside the config file
                       ("<dir>/tend.sock") */
  int socket_mode;  /* default 0600 */
  char *socket_owner; /* NULL: unchanged ("user" or "user:group") */
  char *logfile;    /* daemon log; NULL: stderr */
  bool log_syslog;  /* log_target = syslog: the daemon log goes to syslog(3)
                       (journald picks it up) instead of logfile/stderr */
  tend_logfmt_t log_format;
  char *logdir;     /* child logs (AUTO); default "<config dir>/log" */
  char *pidfile;    /* NULL: none */
  bool stdout_prefix;   /* [tend] stdout_prefix: child logs written to the
                           daemon's own stdout/stderr start each line with
                           "NAME | ", as docker compose's */
  bool exit_code_first; /* [tend] exit_code = first: the daemon exits with
                           the code (128 + signal) of the program whose
                           on_exit/on_fatal brought it down; else 0 */
  char *identifier; /* [supervisord] identifier, for getIdentification;
                       NULL: supervisord's "supervisor" */
  int umask;        /* -1: unchanged; [supervisord] umask */
  long minfds, minprocs; /* [supervisord]; 0: not set */
  char *syslog_socket; /* where syslog lines go: a Unix datagram socket;
                          default /dev/log */

  tend_program_t *programs; /* sorted by tend_program_cmp */
  size_t nprograms;
  tend_channel_conf_t *channels;
  size_t nchannels;
  tend_pool_conf_t *pools;
  size_t npools;
  tend_worker_conf_t *workers;
  size_t nworkers;
  tend_skipped_t *skipped; /* in reading order */
  size_t nskipped;
  tend_http_conf_t unix_http, inet_http;
} tend_config_t;

/* Diagnostics collected while loading: errors refuse the config, notices
 * (unused supervisord keys and sections, unknown keys, keys given again
 * and sections repeated, once each) do not. */
typedef struct {
  char **errors;
  size_t nerrors;
  char **notices;
  size_t nnotices;
} tend_diag_t;

/*
 * Read path (and the files it includes). Returns 0 and *out, or a negative
 * errno with every problem in diag (diag->nerrors > 0 for config errors,
 * -EINVAL). The caller frees *out and diag.
 */
int tend_config_load(const char *path, tend_config_t **out, tend_diag_t *diag);

/* Flags of tend_config_load_flags. */
enum {
  /* Every unknown key is an error, not only a near miss of a known one
   * (tend check --strict, tend daemon --strict). */
  TEND_CONFIG_STRICT = 1 << 0,
};

/* tend_config_load with flags (TEND_CONFIG_*). */
int tend_config_load_flags(const char *path, unsigned flags, tend_config_t **out,
                           tend_diag_t *diag);

/* The processes supervisord would run on this config: tend's programs and
 * those of the skipped sections. */
size_t tend_config_supervisord_processes(const tend_config_t *c);
void tend_config_free(tend_config_t *c);
void tend_diag_free(tend_diag_t *d);

/* A deep copy of c, or NULL when out of memory (config/copy.c). */
tend_config_t *tend_config_dup(const tend_config_t *c);

/* A deep copy of c whose programs of group (tend_program_t.group) are
 * those of from instead, in start order: from's programs of that group
 * replace c's, or c's are dropped when from has none (or is NULL). The
 * rest (settings, channels, pools...) is c's. group NULL: a plain copy.
 * NULL when out of memory. What makes supervisord's addProcessGroup and
 * removeProcessGroup a config to apply. */
tend_config_t *tend_config_regroup(const tend_config_t *c, const tend_config_t *from,
                                   const char *group);

/* The channel / pool of that name, or NULL. */
const tend_channel_conf_t *tend_config_channel(const tend_config_t *c, const char *name);
const tend_pool_conf_t *tend_config_pool(const tend_config_t *c, const char *name);

/* The program of that name, or NULL. */
const tend_program_t *tend_config_find(const tend_config_t *c, const char *name);

/* Start order: group priority, then priority, then name (<0, 0, >0). */
int tend_program_cmp(const tend_program_t *a, const tend_program_t *b);

/* True when a and b would run the same way (reload keeps it running):
 * every field compared but name, file and line, and command, whose words
 * (argv) are compared instead. */
bool tend_program_same(const tend_program_t *a, const tend_program_t *b);

#endif
