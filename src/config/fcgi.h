/* SPDX-License-Identifier: MIT */
/*
 * The socket URL of an [fcgi-program:x] (supervisord's parse_fcgi_socket in
 * supervisor/options.py): a pure parser; *why says what was expected, config/config.c words the message.
 */
#ifndef TEND_CONFIG_FCGI_H
#define TEND_CONFIG_FCGI_H

#include "tend/config.h"

/*
 * "tcp://HOST:PORT" (HOST without ':' or spaces, PORT 1-65535) or
 * "unix://PATH" (PATH relative to here, the directory of the file holding
 * it; supervisord takes only absolute ones). Sets out->url (normalised),
 * out->host and out->port, or out->path. 0, -ENOMEM, or -EINVAL with *why
 * a sentence.
 */
int cfg_parse_fcgi_socket(const char *url, const char *here, tend_fcgi_socket_t *out,
                          const char **why);

/* Free what the parser and config/config.c put in s, and zero it. */
void cfg_fcgi_socket_clear(tend_fcgi_socket_t *s);

#endif
