/* SPDX-License-Identifier: MIT */
/*
 * Programs wired to channels: stdout_channel turns each stdout line into a
 * message, stdin_channel writes each message as a line into stdin.
 *
 * Backpressure both ways, never loss: when the channel is full the
 * program's stdout pipe is not read (uv_read_stop), so the program blocks
 * on its own write; lines already read wait in out_pending. On the other
 * side messages are taken only while the program's stdin pipe accepts
 * them at once; a message is written with one writev, and the one that
 * does not fit goes through libuv's queue alone: if that write is
 * cancelled (the program died) before a byte of it went out, the message
 * goes back to the head of the channel for the next consumer. What the
 * kernel already holds in a dead program's pipe is lost with it, as in
 * any pipeline.
 */
#include "supervisor/channels.h"
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define STDIN_BATCH 64 /* messages per writev */

static chanset_t *chans_of(sv_proc_t *p) { return p->sv->wiring.data; }

static channel_t *out_chan(sv_proc_t *p) {
  return chanset_find(chans_of(p), p->conf->stdout_channel);
}

static channel_t *in_chan(sv_proc_t *p) {
  return chanset_find(chans_of(p), p->conf->stdin_channel);
}

/* ---- stdout → channel ---------------------------------------------------- */

static void out_resume(void *data);

/* Send the complete lines of out_pending (a line longer than
 * OUTLOG_MAX_LINE is cut, as in the logs). False when the channel filled
 * up: the rest waits for room. */
static bool out_flush(sv_proc_t *p, channel_t *ch, bool final) {
  tend_buf_t *b = &p->chan.out_pending;
  while (p->chan.out_off < b->len) {
    const char *start = b->data + p->chan.out_off;
    size_t avail = b->len - p->chan.out_off;
    const char *nl = memchr(start, '\n', avail);
    size_t len = nl != NULL ? (size_t)(nl - start) : avail;
    if (nl == NULL && len < OUTLOG_MAX_LINE && !final)
      break; /* a partial line: wait for the rest */
    if (len > OUTLOG_MAX_LINE)
      len = OUTLOG_MAX_LINE;
    int r = channel_put(ch, start, len);
    if (r == -EAGAIN) {
      channel_wait_room(ch, &p->chan.out_wait);
      return false;
    }
    if (r != 0) {
      LOG("error", "channel", F_STR("program", p->name), F_STR("channel", ch->name),
          F_STR("error", strerror(-r)));
      return false;
    }
    p->chan.out_off += len + (nl != NULL && (size_t)(nl - start) == len ? 1 : 0);
  }
  /* Keep only the partial line. */
  memmove(b->data, b->data + p->chan.out_off, b->len - p->chan.out_off);
  b->len -= p->chan.out_off;
  p->chan.out_off = 0;
  return true;
}

static void out_resume(void *data) {
  sv_proc_t *p = data;
  channel_t *ch = out_chan(p);
  if (ch == NULL || !out_flush(p, ch, p->run == NULL))
    return;
  if (p->chan.out_paused && p->run != NULL && p->run->has_pipe[1]) {
    p->chan.out_paused = false;
    sv_read_stdout(p); /* uv_read_stop forgot the callbacks: start afresh */
  }
}

static bool svchan_output(sv_proc_t *p, const char *data, size_t len) {
  channel_t *ch = out_chan(p);
  if (ch == NULL)
    return false;
  if (tend_buf_append(&p->chan.out_pending, data, len) != 0) {
    LOG("error", "channel", F_STR("program", p->name), F_STR("error", strerror(ENOMEM)));
    return true;
  }
  if (!out_flush(p, ch, false) && !p->chan.out_paused && p->run != NULL && p->run->has_pipe[1]) {
    /* Full: stop reading, the program blocks on its pipe. At most one
     * read's worth stays in out_pending. */
    p->chan.out_paused = true;
    uv_read_stop((uv_stream_t *)&p->run->pipes[1]);
  }
  return true;
}

/* ---- channel → stdin ----------------------------------------------------- */

static void in_pump(void *data);

struct in_write {
  uv_write_t req;
  sv_proc_t *p;   /* NULL once p's child has exited */
  channel_t *ch;  /* channels live as long as the daemon */
  chan_msg_t *msg;
  size_t done; /* bytes of msg (with its newline) already written */
};

static void in_write_cb(uv_write_t *req, int status) {
  struct in_write *w = (struct in_write *)req;
  sv_proc_t *p = w->p;
  channel_t *ch = w->ch;
  /* A message that never reached the program goes back: not lost. */
  if (status == 0 || w->done != 0 || ch == NULL || channel_unget(ch, w->msg) != 0)
    free(w->msg);
  free(w);
  if (p != NULL) {
    p->chan.in_busy = false;
    p->chan.in_write = NULL;
    if (status == 0)
      in_pump(p);
  }
}

static void in_pump(void *data) {
  sv_proc_t *p = data;
  channel_t *ch = in_chan(p);
  if (ch == NULL || p->chan.in_busy || p->run == NULL || !p->run->has_pipe[0] ||
      uv_is_closing((uv_handle_t *)&p->run->pipes[0]))
    return;
  uv_stream_t *pipe = (uv_stream_t *)&p->run->pipes[0];
  static const char nl = '\n';
  for (;;) {
    chan_msg_t *m[STDIN_BATCH];
    uv_buf_t iov[STDIN_BATCH * 2];
    int n = 0;
    while (n < STDIN_BATCH && (m[n] = channel_get(ch)) != NULL) {
      iov[2 * n] = uv_buf_init(m[n]->data, (unsigned)m[n]->len);
      iov[2 * n + 1] = uv_buf_init((char *)&nl, 1);
      n++;
    }
    if (n == 0) {
      channel_wait_message(ch, &p->chan.in_wait);
      return;
    }
    int wrote = uv_try_write(pipe, iov, (unsigned)(2 * n));
    size_t done = wrote > 0 ? (size_t)wrote : 0;
    int k = 0; /* messages fully written */
    while (k < n && done >= m[k]->len + 1) {
      done -= m[k]->len + 1;
      free(m[k]);
      k++;
    }
    if (k == n)
      continue;
    /* Put back what was not touched, last first, so the order holds. */
    /* (Just taken: their slots are free, unget cannot fail.) */
    for (int i = n - 1; i > k; i--)
      channel_unget(ch, m[i]);
    if (wrote < 0 && wrote != UV_EAGAIN) {
      channel_unget(ch, m[k]); /* the pipe is broken: for another consumer */
      return;
    }
    /* m[k] is partly written (or not at all): the rest through libuv. */
    struct in_write *w = malloc(sizeof(*w));
    if (w == NULL) {
      channel_unget(ch, m[k]);
      return;
    }
    w->p = p;
    w->ch = ch;
    w->msg = m[k];
    w->done = done;
    uv_buf_t rest[2];
    int nb = 0;
    if (done < m[k]->len)
      rest[nb++] = uv_buf_init(m[k]->data + done, (unsigned)(m[k]->len - done));
    rest[nb++] = uv_buf_init((char *)&nl, 1);
    p->chan.in_busy = true;
    p->chan.in_write = w;
    if (uv_write(&w->req, pipe, rest, (unsigned)nb, in_write_cb) != 0) {
      p->chan.in_busy = false;
      p->chan.in_write = NULL;
      if (done == 0)
        channel_unget(ch, m[k]);
      else
        free(m[k]);
      free(w);
    }
    return;
  }
}

/* ---- lifecycle ------------------------------------------------------------ */

static void svchan_started(sv_proc_t *p) {
  if (p->chan.out_wait.set == NULL) {
    chanset_waiter_init(chans_of(p), &p->chan.out_wait, out_resume, p);
    chanset_waiter_init(chans_of(p), &p->chan.in_wait, in_pump, p);
  }
  p->chan.out_paused = false;
  in_pump(p);
}

static void svchan_exited(sv_proc_t *p) {
  if (p->chan.in_write != NULL) {
    p->chan.in_write->p = NULL; /* its callback comes with the pipe's close */
    p->chan.in_write = NULL;
  }
  p->chan.in_busy = false;
  chanset_waiter_cancel(in_chan(p), &p->chan.in_wait);
  /* The last partial line is a message too. */
  channel_t *ch = out_chan(p);
  if (ch != NULL && p->chan.out_pending.len > p->chan.out_off)
    out_flush(p, ch, true);
}

static void svchan_forget(sv_proc_t *p) {
  if (p->chan.out_wait.set == NULL)
    return;
  svchan_exited(p);
  chanset_waiter_cancel(out_chan(p), &p->chan.out_wait);
  tend_buf_free(&p->chan.out_pending);
}

void svchan_attach(sv_t *sv, chanset_t *chans) {
  sv->wiring = (sv_wiring_t){.output = svchan_output,
                             .started = svchan_started,
                             .exited = svchan_exited,
                             .forget = svchan_forget,
                             .data = chans};
}
