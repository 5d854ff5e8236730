/* SPDX-License-Identifier: MIT */
/*
 * Programs wired to the daemon's channels (stdout_channel, stdin_channel):
 * see supervisor/channels.c. The wiring plugs into the supervisor through its
 * sv_wiring_t; the supervisor never calls this module by name.
 */
#ifndef TEND_SV_CHANNELS_H
#define TEND_SV_CHANNELS_H

#include "core/channel.h"
#include "supervisor/supervisor.h"

/* Wire sv's processes to chans (which outlive sv's processes). */
void svchan_attach(sv_t *sv, chanset_t *chans);

#endif
