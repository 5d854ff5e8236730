/* SPDX-License-Identifier: MIT */
/*
 * A request's JSON read into a typed tend_ctl_req_t with the command table
 * of include/tend/ctl.h (ctl/cmd.c): the one place where the daemon looks
 * at a command's name and at its arguments' JSON.
 */
#ifndef TEND_CTL_CMD_H
#define TEND_CTL_CMD_H

#include <jansson.h>
#include <stddef.h>

#include "tend/ctl.h"

/*
 * Read obj (a request: an object with "cmd") and its frame's data into
 * req; its strings are borrowed from obj and data. 0; -ENOENT for an
 * unknown command, -EINVAL for a bad argument, err then saying which
 * ("unknown command 'x'", "bad request: logs: \"lines\" must be an
 * integer, not \"x\""); -ENOMEM. Free req with ctl_req_free on 0 only.
 */
int ctl_req_decode(const json_t *obj, const char *data, size_t len, tend_ctl_req_t *req,
                   char *err, size_t errlen);

void ctl_req_free(tend_ctl_req_t *req);

#endif
