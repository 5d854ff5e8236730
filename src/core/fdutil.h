/* SPDX-License-Identifier: MIT */
/* Descriptor helpers shared by the process core and the stdio endpoints. */
#ifndef TEND_FDUTIL_H
#define TEND_FDUTIL_H

#include <stddef.h>

/* Mark every descriptor >= lowfd close-on-exec. 0 or a negative errno. */
int fd_cloexec_from(int lowfd);

/* Grow a pipe's kernel buffer to `size` bytes (never shrink it), best
 * effort (returns the size in effect, or a negative errno). */
int fd_pipe_grow(int fd, int size);

/* The capacity tend asks for on the pipes it creates. */
#define TEND_PIPE_SIZE (1 << 20)

#endif
