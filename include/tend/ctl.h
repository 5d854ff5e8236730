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
 * Requests ({"cmd": ...}):
 *   status   {"names": [..]}              → {"ok":true,"processes":[{...}]}
 *   start|stop|restart {"names": [..]}    → {"ok":true,"results":[{"name","ok","error"}]}
 *            names may be "all", "GROUP:*" or a process name
 *   send     {"name": N, "eof": bool}     + data → {"ok":true}
 *   logs     {"name": N, "lines": K, "stream": "stdout"|"stderr", "follow": bool}
 *            → frames {"ok":true} + data (the last K lines, then, with
 *              follow, every new chunk) until the client hangs up
 *   wait     {"name": N}                  → when it next exits (at once if
 *              it is not running): {"ok":true,"exit_code":C|null,"signal":S|null}
 *   reload   {}                           → {"ok":true,"added":[..],"changed":[..],
 *                                            "removed":[..]} or errors
 *   shutdown {}                           → {"ok":true}, then the daemon stops
 * Every reply has "ok"; a failed one has "error" (a sentence for the user).
 */
#ifndef TEND_CTL_H
#define TEND_CTL_H

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

/* Client side, blocking (a CLI command does one thing at a time). */
int tend_ctl_connect(const char *path);
/* Send one request frame. 0 or a negative errno. */
int tend_ctl_send(int fd, const char *json, const void *data, size_t data_len);
/* Read one reply frame: *json (NUL-terminated) and *data (may be NULL), both
 * malloc'd. 0, -EPIPE at a clean end of stream, or a negative errno. */
int tend_ctl_recv(int fd, char **json, char **data, size_t *data_len);

#endif
