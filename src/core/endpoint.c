/* SPDX-License-Identifier: MIT */
/* tend's own descriptors on the loop: see core/endpoint.h for the why. */
#include "core/endpoint.h"
#include "core/fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct wreq {
  uv_write_t req;
  ep_t *ep;
  size_t len;
  char data[];
};

struct ep_chunk {
  uv_write_t req;
  ep_t *ep;
  size_t len; /* bytes queued from it */
  SLIST_ENTRY(ep_chunk) link; /* on free_chunks */
  char data[];
};

/* Spare chunks kept: as many as backpressure lets pile up (core/communicate.c
 * pauses once the queue holds more than 4 chunks, so 5) plus the one being
 * read into. */
#define EP_FREE_MAX 6

static int ep_setup(uv_loop_t *loop, ep_t *ep, int fd, bool writable);

int ep_open(uv_loop_t *loop, ep_t *ep, int fd, bool writable) {
  void *data = ep->data;
  ep_cb drain = ep->drain_cb;
  memset(ep, 0, sizeof(*ep));
  ep->data = data;
  ep->drain_cb = drain;
  /* A failed endpoint fails every write with the same error. */
  return ep->error = ep_setup(loop, ep, fd, writable);
}

static int ep_setup(uv_loop_t *loop, ep_t *ep, int fd, bool writable) {
  ep->fd = fd;
  ep->restore_fd = -1;

  struct stat st;
  if (fstat(fd, &st) != 0)
    return -errno;

  if (isatty(fd)) {
    int r = uv_tty_init(loop, &ep->h.tty, fd, !writable);
    if (r != 0)
      return r; /* nothing to close: uv_tty_init fails before init */
    ep->stream = true;
    ep->h.handle.data = ep;
    return 0;
  }
  if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
    return 0; /* file mode */

  int ours = -1;
  if (S_ISFIFO(st.st_mode)) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ours = open(path, (writable ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    /* Our output pipe (`tend run ... | consumer`) is the shell's, 64 KiB:
     * each write we make and each read the consumer makes moves at most
     * that much, and both sides wake up for every 64 KiB. A 1 MiB pipe
     * means fewer, larger writes and reads on both ends. Only the capacity
     * changes (not the description's flags, not what the reader sees);
     * best effort: over pipe-max-size or the user's pipe quota it stays
     * as it is. */
    if (writable)
      fd_pipe_grow(ours >= 0 ? ours : fd, TEND_PIPE_SIZE);
  }
  if (ours < 0) {
    /* A socket (or no /proc): share the description, put its flags back
     * when done. */
    ours = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (ours < 0)
      return -errno;
    ep->restore_fd = fd;
    ep->restore_flags = fcntl(fd, F_GETFL);
  }
  /* From here the handle exists and ep_close must close it, even when
   * opening the descriptor in it fails. */
  uv_pipe_init(loop, &ep->h.pipe, 0);
  ep->stream = true;
  ep->h.handle.data = ep;
  int r = uv_pipe_open(&ep->h.pipe, ours);
  if (r != 0)
    close(ours);
  return r;
}

static void written(ep_t *ep, int status) {
  if (status != 0 && status != UV_ECANCELED && ep->error == 0)
    ep->error = status;
  if (ep->queued == 0 && ep->drain_cb != NULL)
    ep->drain_cb(ep);
}

static void write_cb(uv_write_t *req, int status) {
  struct wreq *w = (struct wreq *)req;
  ep_t *ep = w->ep;
  ep->queued -= w->len;
  ep->held -= w->len;
  free(w);
  written(ep, status);
}

static struct ep_chunk *chunk_of(char *data) {
  return (struct ep_chunk *)(data - offsetof(struct ep_chunk, data));
}

char *ep_chunk_get(ep_t *ep) {
  struct ep_chunk *k = SLIST_FIRST(&ep->free_chunks);
  if (k != NULL) {
    SLIST_REMOVE_HEAD(&ep->free_chunks, link);
    ep->nfree--;
    return k->data;
  }
  /* Kept and reused rather than freed after each write: glibc would hand
   * a 1 MiB block back to the kernel (top of heap, or mmap) and the next
   * one would fault in its pages all over again. */
  k = malloc(sizeof(*k) + EP_CHUNK);
  return k != NULL ? k->data : NULL;
}

void ep_chunk_put(ep_t *ep, char *chunk) {
  struct ep_chunk *k = chunk_of(chunk);
  if (ep->closing || ep->nfree >= EP_FREE_MAX) {
    free(k);
    return;
  }
  SLIST_INSERT_HEAD(&ep->free_chunks, k, link);
  ep->nfree++;
}

static void chunk_write_cb(uv_write_t *req, int status) {
  struct ep_chunk *k = (struct ep_chunk *)req;
  ep_t *ep = k->ep;
  ep->queued -= k->len;
  ep->held -= EP_CHUNK;
  ep_chunk_put(ep, k->data);
  written(ep, status);
}

static int write_file(ep_t *ep, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(ep->fd, data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return ep->error = -errno;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int ep_write(ep_t *ep, const char *data, size_t len) {
  if (ep->error != 0)
    return ep->error;
  if (!ep->stream)
    return write_file(ep, data, len);

  if (ep->queued == 0) {
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write(&ep->h.stream, &b, 1);
    if (n >= 0) {
      data += n;
      len -= (size_t)n;
    } else if (n != UV_EAGAIN) {
      return ep->error = n;
    }
  }
  if (len == 0)
    return 0;
  struct wreq *w = malloc(sizeof(*w) + len);
  if (w == NULL)
    return ep->error = -ENOMEM;
  w->ep = ep;
  w->len = len;
  memcpy(w->data, data, len);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  int r = uv_write(&w->req, &ep->h.stream, &b, 1, write_cb);
  if (r != 0) {
    free(w);
    return ep->error = r;
  }
  ep->queued += len;
  ep->held += len;
  return 0;
}

int ep_write_chunk(ep_t *ep, char *chunk, size_t len) {
  int r = ep->error;
  if (r == 0 && !ep->stream)
    r = write_file(ep, chunk, len);
  if (r != 0 || !ep->stream) {
    ep_chunk_put(ep, chunk);
    return r;
  }
  size_t off = 0;
  if (ep->queued == 0) {
    /* Nothing queued ahead of it: as much as the pipe takes, right now. */
    uv_buf_t b = uv_buf_init(chunk, (unsigned)len);
    int n = uv_try_write(&ep->h.stream, &b, 1);
    if (n >= 0) {
      off = (size_t)n;
    } else if (n != UV_EAGAIN) {
      ep_chunk_put(ep, chunk);
      return ep->error = n;
    }
  }
  if (off == len) {
    ep_chunk_put(ep, chunk);
    return 0;
  }
  /* The rest is written from the chunk itself, which stays ours until
   * chunk_write_cb. */
  struct ep_chunk *k = chunk_of(chunk);
  k->ep = ep;
  k->len = len - off;
  uv_buf_t b = uv_buf_init(chunk + off, (unsigned)(len - off));
  r = uv_write(&k->req, &ep->h.stream, &b, 1, chunk_write_cb);
  if (r != 0) {
    ep_chunk_put(ep, chunk);
    return ep->error = r;
  }
  ep->queued += k->len;
  ep->held += EP_CHUNK;
  return 0;
}

static void free_chunks(ep_t *ep) {
  struct ep_chunk *k;
  while ((k = SLIST_FIRST(&ep->free_chunks)) != NULL) {
    SLIST_REMOVE_HEAD(&ep->free_chunks, link);
    free(k);
  }
  ep->nfree = 0;
}

static void closed_cb(uv_handle_t *h) {
  ep_t *ep = h->data;
  if (ep->close_cb != NULL)
    ep->close_cb(ep);
}

void ep_close(ep_t *ep, ep_cb cb) {
  if (ep->restore_fd >= 0 && ep->restore_flags >= 0)
    fcntl(ep->restore_fd, F_SETFL, ep->restore_flags);
  ep->close_cb = cb;
  /* From now on a chunk given back (the cancelled writes' come back
   * before closed_cb) is freed, not kept. */
  ep->closing = true;
  free_chunks(ep);
  if (!ep->stream) {
    if (cb != NULL)
      cb(ep);
    return;
  }
  uv_close(&ep->h.handle, closed_cb);
}
