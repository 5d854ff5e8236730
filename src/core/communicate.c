/* SPDX-License-Identifier: MIT */
/*
 * communicate: feed the input, drain both outputs, wait for the exit, all on
 * one loop. The run is finished when the child has exited and both outputs
 * reached EOF (a grandchild holding a pipe keeps it open, as with Python),
 * or, after a timeout, as soon as the child has exited: what it wrote is
 * still read from the pipes, but nothing waits for EOF any more.
 *
 * Backpressure: reading a child's output stops while the writes waiting
 * for our descriptor hold more than HIGH_WATER bytes of buffers, and input
 * is read only while those waiting to enter the child's stdin hold less.
 *
 * No byte is copied on the way through: an output streamed to a
 * descriptor is read into an endpoint chunk and written from it (what the
 * descriptor does not take at once is queued from the same chunk), input
 * is read into a chunk that is then written to the child, and both kinds
 * of chunks are recycled through small free lists instead of being
 * malloc'ed per read (a fresh 1 MiB block costs its page faults again).
 */
#include "tend/communicate.h"
#include "core/endpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <string.h>
#include <unistd.h>

#define CHUNK EP_CHUNK
#define HIGH_WATER (4u << 20)
/* Spare input chunks kept (HIGH_WATER / CHUNK can be in flight). */
#define IN_FREE_MAX 4

typedef struct comm comm_t;

struct inreq {
  uv_write_t req;
  comm_t *c;
  size_t len;
  SLIST_ENTRY(inreq) link; /* on in_free */
  char data[];
};

/* One output of the child: its pipe, and where the bytes go. */
typedef struct {
  comm_t *c;
  int idx;      /* 0 stdout, 1 stderr */
  bool open;    /* still reading */
  bool to_fd;   /* streamed to ep, else captured in res->out[idx] */
  bool paused;  /* reading stopped for backpressure */
  ep_t ep;      /* to_fd: our descriptor; its chunks are the read buffers */
  bool ep_open;
} output_t;

struct comm {
  uv_loop_t *loop;
  tend_proc_t proc;
  tend_comm_opts_t opts;
  tend_comm_result_t *res;
  tend_comm_done_cb done;
  void *data;

  output_t out[2];

  /* input */
  bool in_open;     /* the child's stdin pipe is ours to write */
  bool in_eof;      /* no more input to read */
  bool in_paused;
  size_t in_flight; /* bytes queued on the child's stdin */
  size_t in_held;   /* chunk memory those writes hold (backpressure) */
  SLIST_HEAD(, inreq) in_free; /* spare input chunks */
  unsigned in_nfree;
  ep_t in_ep;
  bool in_ep_open;
  uv_write_t in_req; /* the single write of an input buffer */

  uv_timer_t timer;
  uv_signal_t sigs[4];
  int nsigs;
  bool finishing;
  int handles; /* our own handles still open, plus 1 for proc */
};

static void maybe_finish(comm_t *c);

/* ---- closing ---------------------------------------------------------- */

static void release(comm_t *c) {
  if (--c->handles > 0)
    return;
  struct inreq *w;
  while ((w = SLIST_FIRST(&c->in_free)) != NULL) {
    SLIST_REMOVE_HEAD(&c->in_free, link);
    free(w);
  }
  c->done(c->data, c->res);
  free(c);
}

static void handle_closed_cb(uv_handle_t *h) { release(h->data); }
static void proc_closed_cb(tend_proc_t *p) { release(p->data); }
static void ep_closed_cb(ep_t *ep) { release(ep->data); }

static void close_input(comm_t *c) {
  if (c->in_ep_open) {
    c->in_ep_open = false;
    c->handles++;
    ep_close(&c->in_ep, ep_closed_cb);
  }
  if (c->in_open) {
    c->in_open = false;
    tend_proc_close_pipe(&c->proc, 0);
  }
}

/* Read what is already in the pipe without waiting: after a timeout the
 * child is gone but a grandchild may keep the pipe open forever. */
static void drain_now(output_t *o);

static void finish(comm_t *c) {
  c->finishing = true;
  tend_comm_result_t *res = c->res;
  for (int i = 0; i < 2; i++) {
    output_t *o = &c->out[i];
    if (o->open)
      drain_now(o);
    if (o->ep_open) {
      o->ep_open = false;
      c->handles++;
      ep_close(&o->ep, ep_closed_cb);
    }
  }
  close_input(c);
  res->pid = c->proc.pid;
  res->exit_status = c->proc.exit_status;
  res->term_signal = c->proc.term_signal;
  res->duration_ns = tend_proc_runtime_ns(&c->proc);
  uv_close((uv_handle_t *)&c->timer, handle_closed_cb);
  for (int i = 0; i < c->nsigs; i++)
    uv_close((uv_handle_t *)&c->sigs[i], handle_closed_cb);
  tend_proc_close(&c->proc, proc_closed_cb);
}

static void maybe_finish(comm_t *c) {
  if (c->finishing || c->proc.state != TEND_PROC_EXITED)
    return;
  for (int i = 0; i < 2; i++) {
    output_t *o = &c->out[i];
    if (o->open && !c->res->timed_out)
      return;
    if (o->ep_open && o->ep.queued > 0)
      return; /* drain_cb comes back here */
  }
  finish(c);
}

/* ---- outputs ---------------------------------------------------------- */

static void output_stop(output_t *o) {
  if (!o->open)
    return;
  o->open = false;
  tend_proc_close_pipe(&o->c->proc, o->idx + 1);
}

/* n bytes were read into data: the capture buffer's free space, or (to_fd)
 * an endpoint chunk, which this passes on to the endpoint. */
static void output_bytes(output_t *o, char *data, size_t n) {
  comm_t *c = o->c;
  if (!o->to_fd) {
    c->res->out[o->idx].len += n; /* read straight into the buffer */
    return;
  }
  int r = ep_write_chunk(&o->ep, data, n);
  if (r != 0) {
    /* Our reader went away (EPIPE) or the disk is full: stop reading, so
     * the child meets a closed pipe, as it would in a shell pipeline. */
    if (c->res->out_error[o->idx] == 0)
      c->res->out_error[o->idx] = r;
    output_stop(o);
    return;
  }
  if (o->ep.held > HIGH_WATER && !o->paused) {
    o->paused = true;
    uv_read_stop((uv_stream_t *)&c->proc.pipes[o->idx + 1]);
  }
}

/* The output a child pipe belongs to: pipe handles point at the proc,
 * the proc at the comm. */
static output_t *output_of(uv_handle_t *h) {
  comm_t *c = ((tend_proc_t *)h->data)->data;
  return (uv_pipe_t *)h == &c->proc.pipes[1] ? &c->out[0] : &c->out[1];
}

static void out_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  output_t *o = output_of(h);
  (void)hint;
  if (o->to_fd) {
    char *chunk = ep_chunk_get(&o->ep);
    /* No memory: libuv reports UV_ENOBUFS to out_read_cb. */
    *buf = chunk != NULL ? uv_buf_init(chunk, CHUNK) : uv_buf_init(NULL, 0);
    return;
  }
  tend_buf_t *b = &o->c->res->out[o->idx];
  if (tend_buf_reserve(b, CHUNK) != 0) {
    *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
    return;
  }
  *buf = uv_buf_init(b->data + b->len, (unsigned)(b->cap - b->len));
}

static void out_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  output_t *o = output_of((uv_handle_t *)s);
  comm_t *c = o->c;
  if (n > 0) {
    output_bytes(o, buf->base, (size_t)n);
    return;
  }
  if (o->to_fd && buf->base != NULL)
    ep_chunk_put(&o->ep, buf->base); /* nothing read into it */
  if (n < 0) {
    if (n != UV_EOF && c->res->out_error[o->idx] == 0)
      c->res->out_error[o->idx] = (int)n;
    output_stop(o);
    maybe_finish(c);
  }
}

static void drain_now(output_t *o) {
  comm_t *c = o->c;
  int fd = -1;
  if (uv_fileno((uv_handle_t *)&c->proc.pipes[o->idx + 1], &fd) == 0) {
    for (;;) {
      uv_buf_t b;
      out_alloc_cb((uv_handle_t *)&c->proc.pipes[o->idx + 1], CHUNK, &b);
      if (b.base == NULL)
        break;
      ssize_t n = read(fd, b.base, b.len);
      if (n <= 0 || !o->open) {
        if (o->to_fd)
          ep_chunk_put(&o->ep, b.base);
        break;
      }
      output_bytes(o, b.base, (size_t)n);
    }
  }
  output_stop(o);
}

/* ---- input ------------------------------------------------------------ */

static void input_pump(comm_t *c);

static struct inreq *in_get(comm_t *c) {
  struct inreq *w = SLIST_FIRST(&c->in_free);
  if (w == NULL)
    return malloc(sizeof(*w) + CHUNK);
  SLIST_REMOVE_HEAD(&c->in_free, link);
  c->in_nfree--;
  return w;
}

static void in_put(comm_t *c, struct inreq *w) {
  if (w == NULL)
    return;
  if (c->in_nfree >= IN_FREE_MAX) {
    free(w);
    return;
  }
  SLIST_INSERT_HEAD(&c->in_free, w, link);
  c->in_nfree++;
}

static void input_failed(comm_t *c) {
  /* The child closed its stdin (EPIPE) or exited: what is left of the
   * input has nowhere to go. Not an error, as in Python. */
  c->in_eof = true;
  if (c->in_ep_open && c->in_ep.stream)
    uv_read_stop(&c->in_ep.h.stream);
  close_input(c);
}

static void in_write_cb(uv_write_t *req, int status) {
  struct inreq *w = (struct inreq *)req;
  comm_t *c = w->c;
  c->in_flight -= w->len;
  c->in_held -= CHUNK;
  in_put(c, w);
  if (status != 0) {
    if (c->in_open)
      input_failed(c);
    return;
  }
  input_pump(c);
}

static int input_send(comm_t *c, struct inreq *w) {
  w->c = c;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
  int r = uv_write(&w->req, (uv_stream_t *)&c->proc.pipes[0], &b, 1, in_write_cb);
  if (r != 0) {
    in_put(c, w);
    input_failed(c);
    return r;
  }
  c->in_flight += w->len;
  c->in_held += CHUNK;
  return 0;
}

static void in_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  struct inreq *w = in_get(((ep_t *)h->data)->data);
  *buf = w == NULL ? uv_buf_init(NULL, 0) : uv_buf_init(w->data, CHUNK);
}

static void in_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  comm_t *c = ((ep_t *)s->data)->data;
  struct inreq *w =
      buf->base == NULL ? NULL : (struct inreq *)(buf->base - offsetof(struct inreq, data));
  if (n <= 0 || !c->in_open) {
    in_put(c, w);
    if (n == 0)
      return;
    if (n != UV_EOF && c->res->input_error == 0)
      c->res->input_error = (int)n;
    uv_read_stop(s);
    c->in_eof = true;
    input_pump(c);
    return;
  }
  w->len = (size_t)n;
  if (input_send(c, w) == 0 && c->in_held > HIGH_WATER) {
    c->in_paused = true;
    uv_read_stop(s);
  }
}

/* Move input along: read more from a file, resume a paused stream, or
 * close the child's stdin once everything is written. */
static void input_pump(comm_t *c) {
  if (!c->in_open)
    return;
  if (c->in_eof) {
    if (c->in_flight == 0)
      close_input(c);
    return;
  }
  if (!c->in_ep_open)
    return;
  if (c->in_ep.stream) {
    if (c->in_paused && c->in_held < HIGH_WATER / 2) {
      c->in_paused = false;
      uv_read_start(&c->in_ep.h.stream, in_alloc_cb, in_read_cb);
    }
    return;
  }
  while (c->in_open && !c->in_eof && c->in_held < HIGH_WATER) {
    struct inreq *w = in_get(c);
    if (w == NULL) {
      c->res->input_error = -ENOMEM;
      c->in_eof = true;
      break;
    }
    ssize_t n;
    do
      n = read(c->in_ep.fd, w->data, CHUNK);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
      if (n < 0)
        c->res->input_error = -errno;
      in_put(c, w);
      c->in_eof = true;
      break;
    }
    w->len = (size_t)n;
    if (input_send(c, w) != 0)
      return;
  }
  if (c->in_eof && c->in_flight == 0)
    close_input(c);
}

static void in_buffer_cb(uv_write_t *req, int status) {
  comm_t *c = req->data;
  (void)status; /* EPIPE: the child did not want it all, fine */
  c->in_flight = 0;
  close_input(c);
}

static int input_start(comm_t *c) {
  const tend_comm_opts_t *o = &c->opts;
  c->in_open = true;
  if (o->has_input) {
    c->in_eof = true;
    if (o->input_len == 0) {
      close_input(c);
      return 0;
    }
    uv_buf_t b = uv_buf_init((char *)o->input, (unsigned)o->input_len);
    c->in_req.data = c;
    c->in_flight = o->input_len;
    int r = uv_write(&c->in_req, (uv_stream_t *)&c->proc.pipes[0], &b, 1, in_buffer_cb);
    if (r != 0)
      input_failed(c);
    return 0;
  }
  c->in_ep.data = c;
  int r = ep_open(c->loop, &c->in_ep, o->input_fd, false);
  c->in_ep_open = true;
  if (r != 0) {
    c->res->input_error = r;
    input_failed(c);
    return 0;
  }
  if (c->in_ep.stream)
    return uv_read_start(&c->in_ep.h.stream, in_alloc_cb, in_read_cb);
  input_pump(c);
  return 0;
}

/* ---- exit, timeout, signals ------------------------------------------- */

static void exit_cb(tend_proc_t *p) {
  comm_t *c = p->data;
  if (c->in_open && !c->in_eof)
    input_failed(c);
  maybe_finish(c);
}

static void timeout_cb(uv_timer_t *t) {
  comm_t *c = t->data;
  c->res->timed_out = true;
  int sig = c->opts.timeout_signal ? c->opts.timeout_signal : SIGTERM;
  tend_proc_stop(&c->proc, sig, c->opts.kill_after_ms, 0);
  maybe_finish(c);
}

static void signal_cb(uv_signal_t *s, int signum) {
  comm_t *c = s->data;
  tend_proc_signal(&c->proc, signum, true);
}

/* ---- start ------------------------------------------------------------ */

static void out_ep_drain_cb(ep_t *ep);

int tend_comm_start(uv_loop_t *loop, const tend_proc_options_t *popts,
                    const tend_comm_opts_t *opts, tend_comm_result_t *res,
                    tend_comm_done_cb done, void *data) {
  if (opts->has_input && opts->input_fd >= 0)
    return -EINVAL;
  comm_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return -ENOMEM;
  /* Writing to a child that exited must be an EPIPE we handle, not a
   * signal that kills us. Pipes have no per-write MSG_NOSIGNAL, so the
   * disposition is process-wide; only the default is changed. */
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
  memset(res, 0, sizeof(*res));
  c->loop = loop;
  c->opts = *opts;
  c->res = res;
  c->done = done;
  c->data = data;
  c->handles = 2; /* timer + proc; endpoints and signals add theirs */

  uv_timer_init(loop, &c->timer);
  c->timer.data = c;

  tend_proc_options_t po = *popts;
  bool want_input = opts->has_input || opts->input_fd >= 0;
  po.stdio[0].kind = want_input ? TEND_STDIO_PIPE : TEND_STDIO_NULL;
  po.stdio[1].kind = TEND_STDIO_PIPE;
  po.stdio[2].kind = TEND_STDIO_PIPE;

  for (int i = 0; i < 2; i++) {
    output_t *o = &c->out[i];
    o->c = c;
    o->idx = i;
    o->to_fd = opts->out_fd[i] >= 0;
  }

  c->proc.data = c;
  int r = tend_proc_spawn(loop, &c->proc, &po, exit_cb);
  if (r != 0) {
    res->spawn_error = r;
    res->err_what = c->proc.err_what;
    goto fail;
  }

  for (int i = 0; i < 2; i++) {
    output_t *o = &c->out[i];
    if (o->to_fd) {
      o->ep.data = c;
      o->ep.drain_cb = out_ep_drain_cb;
      r = ep_open(loop, &o->ep, opts->out_fd[i], true);
      o->ep_open = true;
      if (r != 0)
        res->out_error[i] = r;
    }
    c->proc.pipes[i + 1].data = &c->proc;
    o->open = true;
    uv_read_start((uv_stream_t *)&c->proc.pipes[i + 1], out_alloc_cb, out_read_cb);
  }
  if (want_input)
    input_start(c);

  if (opts->timeout_ms > 0)
    uv_timer_start(&c->timer, timeout_cb, opts->timeout_ms, 0);
  if (opts->forward_signals) {
    static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (int i = 0; i < 4; i++) {
      uv_signal_init(loop, &c->sigs[i]);
      c->sigs[i].data = c;
      uv_signal_start(&c->sigs[i], signal_cb, fwd[i]);
      uv_unref((uv_handle_t *)&c->sigs[i]);
      c->nsigs++;
      c->handles++;
    }
  }
  return 0;

fail:
  /* The child never ran: close what exists and report through done. */
  c->finishing = true;
  uv_close((uv_handle_t *)&c->timer, handle_closed_cb);
  tend_proc_close(&c->proc, proc_closed_cb);
  return 0;
}

static void out_ep_drain_cb(ep_t *ep) {
  comm_t *c = ep->data;
  output_t *o = ep == &c->out[0].ep ? &c->out[0] : &c->out[1];
  if (o->paused && o->open) {
    o->paused = false;
    uv_read_start((uv_stream_t *)&c->proc.pipes[o->idx + 1], out_alloc_cb, out_read_cb);
  }
  maybe_finish(c);
}

/* ---- synchronous wrapper ---------------------------------------------- */

static void sync_done(void *data, tend_comm_result_t *res) {
  (void)res;
  *(bool *)data = true;
}

int tend_communicate(const tend_proc_options_t *popts, const tend_comm_opts_t *opts,
                     tend_comm_result_t *res) {
  uv_loop_t loop;
  int r = uv_loop_init(&loop);
  if (r != 0)
    return r;
  bool done = false;
  r = tend_comm_start(&loop, popts, opts, res, sync_done, &done);
  if (r == 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  int cr = uv_loop_close(&loop);
  if (r == 0 && !done)
    r = -EIO;
  return r != 0 ? r : cr;
}

void tend_comm_result_free(tend_comm_result_t *res) {
  tend_buf_free(&res->out[0]);
  tend_buf_free(&res->out[1]);
}

int tend_comm_status(const tend_comm_result_t *res) {
  if (res->term_signal != 0)
    return 128 + res->term_signal;
  return (int)(res->exit_status & 0xff);
}
