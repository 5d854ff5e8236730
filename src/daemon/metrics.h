/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics on the daemon's HTTP listeners (issue #16, beyond
 * supervisord): what the daemon knows of its processes, pools and
 * channels, in Prometheus' text exposition format (version 0.0.4), read
 * from the services at the moment of the scrape.
 */
#ifndef TEND_DAEMON_METRICS_H
#define TEND_DAEMON_METRICS_H

#include "http/server.h"
#include "tend/buf.h"

typedef struct daemon daemon_t;

/* The media type of the page, as Prometheus asks for it. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append the page to out: per process (labels group, name) its state,
 * restarts, exits by code or signal, uptime, and for a running one its
 * group's resident memory and CPU time; per pool (label name) its
 * workers, queued and running tasks, tasks done and failed; per channel
 * (label name) its depth, capacity, messages put and got. 0 or -ENOMEM
 * (out holds part of a page: the caller frees it). */
int metrics_render(daemon_t *d, tend_buf_t *out);

/* Answer req (GET or HEAD /metrics) with the page, or 500 when it cannot
 * be made. */
void metrics_serve(daemon_t *d, http_req_t *req);

#endif
