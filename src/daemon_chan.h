/* SPDX-License-Identifier: MIT */
/* The daemon's `put` and `get` requests on channels (daemon_chan.c). */
#ifndef TEND_DAEMON_CHAN_H
#define TEND_DAEMON_CHAN_H

#include <jansson.h>

#include "channel.h"
#include "ctl_server.h"

void dchan_put(chanset_t *set, ctl_conn_t *c, json_t *req, const char *data, size_t len);
void dchan_get(chanset_t *set, ctl_conn_t *c, json_t *req);
/* The connection is going away: drop its waiting requests. */
void dchan_conn_gone(ctl_conn_t *c);
/* Shutdown: end every waiting request. */
void dchan_end_all(void);

#endif
