/* SPDX-License-Identifier: MIT */
/*
 * Readiness watchers (see supervisor/ready.h). A watcher holds a timer (the
 * ready_timeout of fd:N, the next connect of tcp:/unix:), the read end of
 * the fd:N pipe, and at most one connect in flight; it is freed when the
 * last of them is closed, so a connect that completes after the child was
 * stopped finds its watcher still there, closing.
 */
#include "supervisor/ready.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROBE_INTERVAL_MS 100

struct probe {
  union {
    uv_handle_t handle;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h;
  uv_connect_t req;
  svready_t *r;
};

struct svready {
  const tend_program_t *c;
  svready_cb cb;
  void *data;
  uv_loop_t *loop;
  uv_timer_t timer;
  uv_pipe_t pipe; /* fd:N: our end */
  bool pipe_open;
  struct probe *probe; /* a connect in flight */
  uint64_t deadline;   /* uv_now() limit for tcp:/unix: */
  int handles;         /* open handles, probes included */
  bool closing;
  void (*closed_cb)(void *arg);
  void *closed_arg;
};

static void handle_closed(svready_t *r) {
  if (--r->handles > 0)
    return;
  if (r->closed_cb != NULL) /* NULL: svready_open failed, nobody waits */
    r->closed_cb(r->closed_arg);
  free(r);
}

static void closed_cb(uv_handle_t *h) { handle_closed(h->data); }

static void report(svready_t *r, bool ready) {
  if (!r->closing)
    r->cb(r->data, ready); /* which usually closes r */
}

/* ---- tcp:HOST:PORT | unix:PATH ----------------------------------------- */

static void timer_cb(uv_timer_t *t);

static void probe_closed_cb(uv_handle_t *h) {
  struct probe *pr = h->data;
  svready_t *r = pr->r;
  free(pr);
  handle_closed(r);
}

static void probe_failed(svready_t *r) {
  if (uv_now(r->loop) >= r->deadline)
    report(r, false);
  else
    uv_timer_start(&r->timer, timer_cb, PROBE_INTERVAL_MS, 0);
}

static void probe_cb(uv_connect_t *req, int status) {
  struct probe *pr = req->data;
  svready_t *r = pr->r;
  if (!uv_is_closing(&pr->h.handle))
    uv_close(&pr->h.handle, probe_closed_cb);
  r->probe = NULL;
  if (r->closing)
    return;
  if (status == 0)
    report(r, true);
  else
    probe_failed(r);
}

static int probe_addr(const tend_program_t *c, struct sockaddr_storage *sa) {
  int e = uv_ip4_addr(c->ready_host, c->ready_port, (struct sockaddr_in *)sa);
  if (e != 0)
    e = uv_ip6_addr(c->ready_host, c->ready_port, (struct sockaddr_in6 *)sa);
  if (e != 0 && strcmp(c->ready_host, "localhost") == 0)
    e = uv_ip4_addr("127.0.0.1", c->ready_port, (struct sockaddr_in *)sa);
  return e;
}

static void probe_start(svready_t *r) {
  const tend_program_t *c = r->c;
  struct probe *pr = calloc(1, sizeof(*pr));
  if (pr == NULL) {
    probe_failed(r);
    return;
  }
  pr->r = r;
  pr->req.data = pr;
  int e = 0;
  if (c->ready == TEND_READY_TCP) {
    struct sockaddr_storage sa;
    e = probe_addr(c, &sa);
    uv_tcp_init(r->loop, &pr->h.tcp);
    if (e == 0)
      e = uv_tcp_connect(&pr->req, &pr->h.tcp, (struct sockaddr *)&sa, probe_cb);
  } else {
    uv_pipe_init(r->loop, &pr->h.pipe, 0);
    uv_pipe_connect(&pr->req, &pr->h.pipe, c->ready_path, probe_cb);
  }
  pr->h.handle.data = pr;
  r->handles++;
  if (e != 0) {
    /* An address the loop cannot use (a host name): say so once a try. */
    LOG("error", "not_ready", F_STR("program", c->name), F_STR("host", c->ready_host),
        F_STR("error", uv_strerror(e)));
    uv_close(&pr->h.handle, probe_closed_cb);
    probe_failed(r);
    return;
  }
  r->probe = pr;
}

/* ---- fd:N ---------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char small[256]; /* a newline is all we look for */
  (void)h;
  (void)hint;
  *buf = uv_buf_init(small, sizeof(small));
}

static void pipe_close(svready_t *r) {
  if (!r->pipe_open)
    return;
  r->pipe_open = false;
  uv_close((uv_handle_t *)&r->pipe, closed_cb);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  svready_t *r = s->data;
  if (n > 0 && memchr(buf->base, '\n', (size_t)n) != NULL) {
    pipe_close(r);
    report(r, true);
  } else if (n < 0) {
    pipe_close(r); /* closed without a newline: the timeout decides */
  }
}

/* ---- the watcher --------------------------------------------------------- */

static void timer_cb(uv_timer_t *t) {
  svready_t *r = t->data;
  if (r->c->ready == TEND_READY_FD)
    report(r, false);
  else
    probe_start(r);
}

int svready_open(uv_loop_t *loop, const tend_program_t *c, svready_cb cb, void *data,
                 svready_t **out, int *child_fd) {
  svready_t *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return -ENOMEM;
  int fds[2] = {-1, -1};
  if (c->ready == TEND_READY_FD && pipe2(fds, O_CLOEXEC) != 0) {
    free(r);
    return -errno;
  }
  r->c = c;
  r->cb = cb;
  r->data = data;
  r->loop = loop;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  r->handles = 1;
  if (fds[0] >= 0) {
    uv_pipe_init(loop, &r->pipe, 0);
    r->pipe.data = r;
    r->pipe_open = true;
    r->handles++;
    int e = uv_pipe_open(&r->pipe, fds[0]);
    if (e != 0) {
      close(fds[0]);
      close(fds[1]);
      fds[1] = -1;
      pipe_close(r);
      r->closing = true;
      uv_close((uv_handle_t *)&r->timer, closed_cb);
      return e;
    }
  }
  *child_fd = fds[1];
  *out = r;
  return 0;
}

void svready_start(svready_t *r) {
  const tend_program_t *c = r->c;
  uint64_t timeout = (uint64_t)(c->ready_timeout * 1000);
  if (c->ready == TEND_READY_FD) {
    uv_read_start((uv_stream_t *)&r->pipe, alloc_cb, read_cb);
    uv_timer_start(&r->timer, timer_cb, timeout, 0);
  } else {
    r->deadline = uv_now(r->loop) + timeout;
    probe_start(r);
  }
}

void svready_close(svready_t *r, void (*cb)(void *arg), void *arg) {
  r->closing = true;
  r->closed_cb = cb;
  r->closed_arg = arg;
  pipe_close(r);
  if (r->probe != NULL)
    uv_close(&r->probe->h.handle, probe_closed_cb); /* its connect is cancelled */
  r->probe = NULL;
  uv_close((uv_handle_t *)&r->timer, closed_cb);
}
