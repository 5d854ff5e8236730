/* SPDX-License-Identifier: MIT */
/* Growable byte buffer: doubles, so appending n bytes costs O(n) overall. */
#include "tend/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int tend_buf_reserve(tend_buf_t *b, size_t more) {
  if (b->cap - b->len >= more)
    return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < more) {
    if (cap > SIZE_MAX / 2)
      return -ENOMEM;
    cap *= 2;
  }
  char *d = realloc(b->data, cap);
  if (d == NULL)
    return -ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

int tend_buf_append(tend_buf_t *b, const void *data, size_t n) {
  if (n == 0)
    return 0; /* data may be NULL then: memcpy must not see it */
  int r = tend_buf_reserve(b, n);
  if (r != 0)
    return r;
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return 0;
}

void tend_buf_free(tend_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
