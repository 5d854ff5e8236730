/* SPDX-License-Identifier: MIT */
/*
 * SHA-1 (FIPS 180-4), only to check supervisord's `password = {SHA}<hex>`
 * form. Written here rather than linked: none of the libraries tend already
 * uses (libuv, jansson, hiredis) has it, and nettle or gcrypt would add a
 * dependency for sixty lines. Not for new security uses.
 */
#ifndef TEND_CORE_SHA1_H
#define TEND_CORE_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* The 20-byte digest of len bytes at data into out. */
void sha1(const void *data, size_t len, uint8_t out[20]);
/* The same digest as 40 lower-case hex digits and a NUL into out. */
void sha1_hex(const void *data, size_t len, char out[41]);

#endif
