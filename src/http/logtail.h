/* SPDX-License-Identifier: MIT */
/*
 * supervisord's /logtail/NAME and /mainlogtail: an HTTP stream of a log
 * file, `tail -f` style. The last 1 KiB first, then each byte as it is
 * written, pushed from the loop by inotify (uv_fs_event): an idle stream
 * arms no timer and wakes nothing. The name is followed across rotation (a
 * rename away and a new file, as tend's child logs and logrotate's
 * `create` do: the old file is read to its end first) and truncation
 * (copytruncate: "\n==> File truncated <==\n", then from the new start).
 * A reader slower than the log costs at most LOGTAIL_MAX_BACKLOG bytes
 * queued: past it the file is not read until the queue drains; nothing is
 * skipped, the reader only falls behind.
 */
#ifndef TEND_HTTP_LOGTAIL_H
#define TEND_HTTP_LOGTAIL_H

#include <uv.h>

#include "http/server.h"

/* Queued bytes past which a stream stops reading its file. */
#define LOGTAIL_MAX_BACKLOG (64 * 1024)
/* The bytes of the file sent first, as supervisord's tail_f_producer. */
#define LOGTAIL_HEAD 1024

/* Answer req (a GET: the caller checks the method and resolves the path)
 * with a chunked stream of path's file on loop, until the client goes
 * away or the server closes (http_req_on_gone is taken: do not set it).
 * 0: answered; everything is freed by itself later.
 * Otherwise req is not answered and the caller answers it: -ENOENT the
 * file does not exist (supervisord answers 404), -EINVAL it is not a
 * regular file, another negative errno (-ENOMEM, -EACCES, an inotify
 * error). */
int logtail_serve(http_req_t *req, uv_loop_t *loop, const char *path);

#endif
