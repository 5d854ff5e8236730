/* SPDX-License-Identifier: MIT */
/*
 * One of tend's own descriptors (its stdin, stdout, stderr, or an input
 * file) used on the loop without ever blocking it.
 *
 * Pipes, sockets and terminals become libuv streams; regular files and
 * devices such as /dev/null are read and written directly (they never
 * block for long, and cannot be polled anyway). Putting a descriptor in
 * non-blocking mode changes the open file description that tend shares with
 * its parent shell and siblings, so a pipe is reopened through /proc to get
 * a description of its own, a terminal is reopened by libuv, and a socket's
 * flags are restored on close.
 *
 * Writing from a chunk (ep_chunk_get, ep_write_chunk) is zero copy: what
 * the descriptor does not take at once is queued from the chunk itself,
 * and chunks are recycled through a small free list, so a stream of 1 MiB
 * reads costs neither a copy nor fresh pages per read.
 */
#ifndef TEND_ENDPOINT_H
#define TEND_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <uv.h>

typedef struct ep ep_t;
typedef void (*ep_cb)(ep_t *ep);
struct ep_chunk;

/* The size of a chunk. */
#define EP_CHUNK (1u << 20)

struct ep {
  void *data;
  bool stream;   /* libuv stream in h; otherwise blocking I/O on fd */
  int fd;        /* file mode: the descriptor */
  size_t queued; /* stream mode: bytes accepted by ep_write, not yet written */
  size_t held;   /* memory the queued writes hold: a whole EP_CHUNK for a
                    chunk, len for a copy (>= queued; for backpressure) */
  int error;     /* first write error (negative errno), sticky */
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } h;
  ep_cb drain_cb; /* queued fell to 0 */
  ep_cb close_cb;
  int restore_fd;
  int restore_flags;
  SLIST_HEAD(, ep_chunk) free_chunks; /* spare chunks */
  unsigned nfree;
  bool closing;
};

/* Wrap fd for reading or writing. 0 or a negative errno; either way the
 * owner calls ep_close. */
int ep_open(uv_loop_t *loop, ep_t *ep, int fd, bool writable);

/* Write all of data: at once when the descriptor takes it, otherwise a copy
 * of the rest is queued (ep->queued grows; drain_cb when it is empty again).
 * Returns 0 or the sticky error, e.g. -EPIPE. */
int ep_write(ep_t *ep, const char *data, size_t len);

/* A buffer of EP_CHUNK bytes to read into, from the free list or new.
 * NULL when out of memory. It goes back with ep_write_chunk or
 * ep_chunk_put. */
char *ep_chunk_get(ep_t *ep);
void ep_chunk_put(ep_t *ep, char *chunk);

/* Write the first len bytes of a chunk (from ep_chunk_get), which the
 * endpoint takes over in every case: what the descriptor does not take at
 * once is queued without a copy, and the chunk is recycled once written
 * (ep->queued and ep->held grow meanwhile; drain_cb when all is written).
 * Returns 0 or the sticky error, e.g. -EPIPE. */
int ep_write_chunk(ep_t *ep, char *chunk, size_t len);

/* Release: cb runs once the handle is closed (on a later loop turn for a
 * stream, at once in file mode). Queued writes still pending are cancelled:
 * wait for drain_cb first to deliver them. */
void ep_close(ep_t *ep, ep_cb cb);

#endif
