/* SPDX-License-Identifier: MIT */
/* A growable byte buffer, for output captured in memory. */
#ifndef TEND_BUF_H
#define TEND_BUF_H

#include <stddef.h>

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} tend_buf_t;

/* Make room for at least `more` bytes after len. 0 or -ENOMEM. */
int tend_buf_reserve(tend_buf_t *b, size_t more);
int tend_buf_append(tend_buf_t *b, const void *data, size_t n);
void tend_buf_free(tend_buf_t *b);

#endif
