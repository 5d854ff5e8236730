/* SPDX-License-Identifier: MIT */
/*
 * supervisord 4.2.5's offset rules for reading a log file over XML-RPC
 * (supervisor/options.py readFile and tailFile, with the missing-file
 * answers of supervisor/rpcinterface.py), as plain synchronous reads: the
 * caller bounds the length, so each call costs one open and a few preads.
 * Only regular files are read: a FIFO or a device named as a log (a
 * `stdout_logfile = /dev/stdout`) would block the loop or steal a child's
 * output, so it is FAILED (-EIO) here where Python would try it.
 */
#ifndef TEND_HTTP_LOGFILE_H
#define TEND_HTTP_LOGFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "tend/buf.h"

/* readFile(path, offset, length), as readLog, readProcessStdoutLog and
 * readProcessStderrLog call it: offset >= 0 reads length bytes from offset
 * (length 0: to the end; past the end: nothing); offset < 0 reads the last
 * -offset bytes (then length must be 0). The bytes are appended to out.
 * 0; -ENOENT for a missing file (NO_FILE); -EINVAL for BAD_ARGUMENTS (a
 * negative length, or a length with a negative offset); -EIO when it
 * cannot be read (FAILED); -ENOMEM. Nothing is appended on error. */
int logfile_read(const char *path, int64_t offset, int64_t length, tend_buf_t *out);

/* tailFile(path, offset, length), as tailProcessStdoutLog and
 * tailProcessStderrLog call it: at most length bytes ending at the end of
 * the file, starting at offset unless the file grew past offset + length
 * (then *overflow is true and the read starts length bytes before the
 * end). *new_offset is the file size, the offset of the next call.
 * Negative arguments are not errors (supervisord clamps them to 0 in its
 * arithmetic). The outputs always hold the method's answer:
 * 0 read; -ENOENT missing file: ['', 0, False] as the method answers;
 * -EIO unreadable: ['', offset, False] as tailFile answers. Only -ENOMEM
 * leaves them unset (and out unchanged). */
int logfile_tail(const char *path, int64_t offset, int64_t length, tend_buf_t *out,
                 int64_t *new_offset, bool *overflow);

#endif
