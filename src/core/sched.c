/* SPDX-License-Identifier: MIT */
/*
 * sched: the worker pool (see tend/sched.h for the contract).
 *
 * A task runs in a slot: the slot holds the tend_proc_t, the timeout
 * timer and the state of the two output pipes. Slots are allocated when
 * all the others are busy and then reused through a free list, so the
 * pool allocates nothing per task. A slot stays busy until its proc and
 * timer handles are closed (a later loop turn), but the task leaves it as
 * soon as it is done: the next task starts at once, in another slot if
 * need be, so up to max_running slots run tasks and a few more may be
 * closing.
 *
 * A task is done when its leader has exited and both captured outputs
 * have reached EOF (a grandchild that keeps a pipe open keeps the task
 * running, as with Python's communicate). After a timeout or a cancel,
 * the exit alone is enough: what is already in the pipes is read, then
 * they are closed.
 *
 * Output: every read lands in one scratch buffer of the pool (libuv calls
 * alloc_cb and read_cb back to back, so one buffer serves every pipe),
 * and is appended to the task's capture: memory up to mem_limit per stream
 * while the pool-wide budget allows, the rest to an unlinked temporary
 * file opened on the first spill. A task that prints nothing costs no
 * allocation at all.
 *
 * Callbacks are never called from inside an API call: submit, close, halt
 * and cancel only change state and schedule a "tick" (a uv_idle_t) that
 * runs the pump on the next loop turn. The pump starts tasks, hands back
 * skipped and unstartable ones, and asks the owner for more (feed_cb).
 */
#include "tend/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024u * 1024u)
#define DEFAULT_MEM_LIMIT MiB
#define DEFAULT_MEM_BUDGET (64u * MiB)
#define SCRATCH (256u * 1024u)
#define MEM_MIN_CAP (16u * 1024u)

struct slot {
  tend_sched_t *s;
  tend_proc_t proc; /* proc.data = the slot; its pipes' data stay = &proc */
  uv_timer_t timer; /* the task's timeout */
  tend_task_t *task; /* NULL once the task is done */
  bool out_open[2];  /* reading proc.pipes[1 + i] */
  bool exited;
  int handles;       /* proc + timer while closing */
  SLIST_ENTRY(slot) free_link; /* on free_slots */
  SLIST_ENTRY(slot) all_link;  /* on all_slots */
};

struct tend_sched_s {
  uv_loop_t *loop;
  tend_sched_opts_t o;
  char *tmpdir;

  STAILQ_HEAD(, tend_task_s) queue;
  tend_sched_stats_t st;
  uint64_t next_seq;

  SLIST_HEAD(, slot) all_slots;  /* every slot ever made, freed by tend_sched_free */
  SLIST_HEAD(, slot) free_slots; /* idle ones */
  unsigned closing;        /* slots whose handles are being closed */

  uv_idle_t tick;
  bool tick_open;
  bool closed;    /* no more submissions */
  bool halted;    /* no more starts */
  bool cancelled; /* running tasks were stopped */
  int cancel_signal;
  uint64_t cancel_grace_ms;
  bool fd_starved; /* a spawn ran out of descriptors: wait for a finish */
  bool in_pump, pump_again;
  bool joining, joined;

  size_t mem_used; /* capture memory not yet released */
  char *scratch;
};

static void pump(tend_sched_t *s);
static void maybe_join(tend_sched_t *s);

/* ---- the tick: deferred work, one loop turn later ----------------------- */

static void tick_cb(uv_idle_t *h) {
  tend_sched_t *s = h->data;
  uv_idle_stop(h);
  pump(s);
}

static void schedule(tend_sched_t *s) {
  if (s->joining)
    return;
  if (!s->tick_open) {
    uv_idle_init(s->loop, &s->tick);
    s->tick.data = s;
    s->tick_open = true;
  }
  uv_idle_start(&s->tick, tick_cb);
}

static void tick_closed_cb(uv_handle_t *h) {
  tend_sched_t *s = h->data;
  s->tick_open = false;
  s->joined = true;
  if (s->o.join_cb != NULL)
    s->o.join_cb(s); /* may free s */
}

static void maybe_join(tend_sched_t *s) {
  if (!s->closed || s->joining || s->in_pump || !STAILQ_EMPTY(&s->queue) || s->st.running > 0 ||
      s->closing > 0)
    return;
  s->joining = true;
  /* close() always opened the tick, so there is a handle to close. */
  uv_close((uv_handle_t *)&s->tick, tick_closed_cb);
}

/* ---- captures ----------------------------------------------------------- */

static void capture_reset(tend_capture_t *c) {
  memset(c, 0, sizeof(*c));
  c->fd = -1;
}

static int spill_open(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    return fd;
  /* No O_TMPFILE on this file system: a named file, unlinked at once. */
  char path[4096];
  if (snprintf(path, sizeof(path), "%s/tend-sched-XXXXXX", dir) >= (int)sizeof(path))
    return -ENAMETOOLONG;
  fd = mkostemp(path, O_CLOEXEC);
  if (fd < 0)
    return -errno;
  unlink(path);
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, -1);
        continue;
      }
      return -errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Make room for want more bytes in memory: within the stream's limit and
 * the pool's budget, or regardless of them (force). Returns how many of
 * the want bytes fit. */
static size_t mem_room(tend_sched_t *s, tend_capture_t *c, size_t want, bool force) {
  if (c->mem_cap - c->mem_len >= want)
    return want;
  size_t cap = c->mem_cap ? c->mem_cap * 2 : MEM_MIN_CAP;
  while (cap < c->mem_len + want)
    cap *= 2;
  if (!force && cap > s->o.mem_limit)
    cap = s->o.mem_limit; /* still >= mem_len + want: the caller capped want */
  size_t grow = cap - c->mem_cap;
  if (force || s->mem_used + grow <= s->o.mem_budget) {
    char *m = realloc(c->mem, cap);
    if (m != NULL) {
      c->mem = m;
      c->mem_cap = cap;
      s->mem_used += grow;
    }
  }
  size_t room = c->mem_cap - c->mem_len;
  return room < want ? room : want;
}

static void mem_add(tend_capture_t *c, const char *p, size_t n) {
  if (n > 0) /* (c->mem may still be NULL) */
    memcpy(c->mem + c->mem_len, p, n);
  c->mem_len += n;
  c->kept += n;
}

/* Keep n more bytes of a stream: in memory while the stream's limit and
 * the pool's budget allow, then (for good, so the order holds) in the
 * temporary file. */
static void capture_add(tend_sched_t *s, tend_capture_t *c, const char *p, size_t n) {
  c->bytes += n;
  if (c->error != 0)
    return;
  if (c->fd < 0 && c->mem_len < s->o.mem_limit) {
    size_t take = s->o.mem_limit - c->mem_len;
    take = mem_room(s, c, take < n ? take : n, false);
    mem_add(c, p, take);
    p += take;
    n -= take;
  }
  if (n == 0)
    return;
  if (c->fd < 0) {
    int fd = spill_open(s->tmpdir);
    if (fd < 0) {
      /* No temporary file (out of descriptors, a full or read-only
       * tmpdir): memory past the limits rather than lost output. A later
       * read tries the file again; what it gets follows what is here. */
      if (mem_room(s, c, n, true) < n) {
        c->error = fd;
        return;
      }
      mem_add(c, p, n);
      return;
    }
    c->fd = fd;
    c->spilled = true;
  }
  int r = write_all(c->fd, p, n);
  if (r != 0) {
    c->error = r;
    return;
  }
  c->kept += n;
}

static void capture_free(tend_sched_t *s, tend_capture_t *c) {
  if (s != NULL)
    s->mem_used -= c->mem_cap;
  free(c->mem);
  if (c->fd >= 0)
    close(c->fd);
  uint64_t bytes = c->bytes, kept = c->kept;
  int err = c->error;
  bool spilled = c->spilled;
  capture_reset(c);
  /* What happened stays readable; only the bytes are gone. */
  c->bytes = bytes;
  c->kept = kept;
  c->error = err;
  c->spilled = spilled;
}

/* ---- slots -------------------------------------------------------------- */

static struct slot *slot_get(tend_sched_t *s) {
  struct slot *sl = SLIST_FIRST(&s->free_slots);
  if (sl != NULL) {
    SLIST_REMOVE_HEAD(&s->free_slots, free_link);
    return sl;
  }
  sl = calloc(1, sizeof(*sl));
  if (sl == NULL)
    return NULL;
  sl->s = s;
  SLIST_INSERT_HEAD(&s->all_slots, sl, all_link);
  return sl;
}

static void slot_handle_closed(struct slot *sl) {
  if (--sl->handles > 0)
    return;
  tend_sched_t *s = sl->s;
  s->closing--;
  SLIST_INSERT_HEAD(&s->free_slots, sl, free_link);
  maybe_join(s);
}

static void proc_closed_cb(tend_proc_t *p) { slot_handle_closed(p->data); }
static void timer_closed_cb(uv_handle_t *h) { slot_handle_closed(h->data); }

/* Release the slot's handles; it becomes free once both are closed. */
static void slot_close(struct slot *sl) {
  sl->s->closing++;
  sl->handles = 2;
  uv_close((uv_handle_t *)&sl->timer, timer_closed_cb);
  tend_proc_close(&sl->proc, proc_closed_cb);
}

/* ---- finishing ---------------------------------------------------------- */

bool tend_task_failed(const tend_task_t *t) {
  switch (t->outcome) {
  case TEND_TASK_SPAWN_FAILED:
    return true;
  case TEND_TASK_EXITED:
    return t->timed_out || t->term_signal != 0 || t->exit_status != 0;
  case TEND_TASK_SKIPPED:
    break;
  }
  return false;
}

/* The task is done: count it and give it back. */
static void task_done(tend_sched_t *s, tend_task_t *t, tend_task_outcome_t outcome) {
  t->state = TEND_TASK_DONE;
  t->outcome = outcome;
  s->st.done++;
  if (outcome == TEND_TASK_SKIPPED)
    s->st.skipped++;
  else if (tend_task_failed(t))
    s->st.failed++;
  else
    s->st.succeeded++;
  s->o.done_cb(s, t);
}

/* n bytes of output i of the slot's task, just read. */
static void output_add(struct slot *sl, int i, const char *data, size_t n) {
  tend_task_t *t = sl->task;
  if (t->out[i] == TEND_OUT_STREAM) {
    t->cap[i].bytes += n; /* passed on, not kept */
    sl->s->o.output_cb(sl->s, t, i, data, n);
    return;
  }
  capture_add(sl->s, &t->cap[i], data, n);
}

/* What is already in a pipe, without waiting for EOF, then close it. */
static void drain_now(struct slot *sl, int i) {
  int fd = -1;
  uv_pipe_t *pipe = &sl->proc.pipes[1 + i];
  if (uv_fileno((uv_handle_t *)pipe, &fd) == 0) {
    for (;;) {
      ssize_t n = read(fd, sl->s->scratch, SCRATCH);
      if (n <= 0)
        break;
      output_add(sl, i, sl->s->scratch, (size_t)n);
    }
  }
  sl->out_open[i] = false;
  tend_proc_close_pipe(&sl->proc, 1 + i);
}

static void slot_finish(struct slot *sl) {
  tend_sched_t *s = sl->s;
  tend_task_t *t = sl->task;
  for (int i = 0; i < 2; i++)
    if (sl->out_open[i])
      drain_now(sl, i);
  uv_timer_stop(&sl->timer);
  t->exit_status = sl->proc.exit_status;
  t->term_signal = sl->proc.term_signal;
  t->runtime_ns = tend_proc_runtime_ns(&sl->proc);
  sl->task = NULL;
  s->st.running--;
  s->fd_starved = false;
  slot_close(sl);
  task_done(s, t, TEND_TASK_EXITED);
  pump(s);
}

static void maybe_finish(struct slot *sl) {
  if (sl->task == NULL || !sl->exited)
    return;
  bool stopped = sl->task->timed_out || sl->task->cancelled;
  if (!stopped && (sl->out_open[0] || sl->out_open[1]))
    return;
  slot_finish(sl);
}

/* ---- a running task ----------------------------------------------------- */

static struct slot *slot_of_pipe(uv_handle_t *h, int *i) {
  tend_proc_t *p = h->data;
  struct slot *sl = p->data;
  *i = (uv_pipe_t *)h == &p->pipes[1] ? 0 : 1;
  return sl;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  int i;
  struct slot *sl = slot_of_pipe(h, &i);
  (void)hint;
  *buf = uv_buf_init(sl->s->scratch, SCRATCH);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  int i;
  struct slot *sl = slot_of_pipe((uv_handle_t *)st, &i);
  if (n > 0) {
    output_add(sl, i, buf->base, (size_t)n);
    return;
  }
  if (n == 0)
    return;
  /* EOF, or an error reading (nothing more will come either way). */
  if (n != UV_EOF && sl->task->cap[i].error == 0)
    sl->task->cap[i].error = (int)n;
  sl->out_open[i] = false;
  tend_proc_close_pipe(&sl->proc, 1 + i);
  maybe_finish(sl);
}

static void read_pipe(struct slot *sl, int i) {
  sl->out_open[i] = true;
  int r = uv_read_start((uv_stream_t *)&sl->proc.pipes[1 + i], alloc_cb, read_cb);
  if (r != 0) {
    sl->task->cap[i].error = r;
    sl->out_open[i] = false;
    tend_proc_close_pipe(&sl->proc, 1 + i);
  }
}

static void exit_cb(tend_proc_t *p) {
  struct slot *sl = p->data;
  sl->exited = true;
  maybe_finish(sl);
}

static void timeout_cb(uv_timer_t *h) {
  struct slot *sl = h->data;
  tend_sched_t *s = sl->s;
  if (sl->task == NULL)
    return;
  sl->task->timed_out = true;
  int sig = s->o.timeout_signal != 0 ? s->o.timeout_signal : SIGTERM;
  tend_proc_stop(&sl->proc, sig, s->o.kill_after_ms, 0);
  maybe_finish(sl);
}

static tend_stdio_kind_t stdio_kind(tend_out_t out, int i) {
  switch (out) {
  case TEND_OUT_CAPTURE:
  case TEND_OUT_STREAM: return TEND_STDIO_PIPE;
  case TEND_OUT_NULL: return TEND_STDIO_NULL;
  case TEND_OUT_INHERIT: return TEND_STDIO_INHERIT;
  case TEND_OUT_MERGE: return i == 1 ? TEND_STDIO_STDOUT : TEND_STDIO_NULL;
  }
  return TEND_STDIO_NULL;
}

static void queue_push_front(tend_sched_t *s, tend_task_t *t) {
  STAILQ_INSERT_HEAD(&s->queue, t, queue_);
  s->st.queued++;
}

static tend_task_t *queue_pop(tend_sched_t *s) {
  tend_task_t *t = STAILQ_FIRST(&s->queue);
  if (t == NULL)
    return NULL;
  STAILQ_REMOVE_HEAD(&s->queue, queue_);
  s->st.queued--;
  return t;
}

/* Start t in a free slot. Every way out either runs it or hands it back
 * (done_cb), except running out of descriptors while other tasks run: then
 * it goes back to the head of the queue until one of them finishes. */
static void task_start(tend_sched_t *s, tend_task_t *t) {
  struct slot *sl = slot_get(s);
  if (sl == NULL) {
    t->spawn_error = -ENOMEM;
    t->err_what = TEND_PROC_ERR_EXEC;
    task_done(s, t, TEND_TASK_SPAWN_FAILED);
    return;
  }
  tend_proc_options_t po;
  memset(&po, 0, sizeof(po));
  po.argv = t->argv;
  po.env = t->env;
  po.cwd = t->cwd;
  po.stdio[0].kind = TEND_STDIO_NULL;
  po.stdio[1].kind = stdio_kind(t->out[0], 0);
  po.stdio[2].kind = t->out[1] == TEND_OUT_MERGE ? TEND_STDIO_STDOUT : stdio_kind(t->out[1], 1);

  sl->task = t;
  sl->exited = false;
  sl->out_open[0] = sl->out_open[1] = false;
  uv_timer_init(s->loop, &sl->timer);
  sl->timer.data = sl;
  sl->proc.data = sl;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  t->start_unix_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
  int r = tend_proc_spawn(s->loop, &sl->proc, &po, exit_cb);
  if (r != 0) {
    tend_proc_err_t what = sl->proc.err_what;
    sl->task = NULL;
    slot_close(sl); /* required after a failed spawn too */
    if ((r == -EMFILE || r == -ENFILE) && s->st.running > 0) {
      s->fd_starved = true;
      queue_push_front(s, t);
      return;
    }
    t->spawn_error = r;
    t->err_what = what;
    task_done(s, t, TEND_TASK_SPAWN_FAILED);
    return;
  }
  t->state = TEND_TASK_RUNNING;
  t->pid = sl->proc.pid;
  s->st.running++;
  s->st.started++;
  for (int i = 0; i < 2; i++)
    if (sl->proc.has_pipe[1 + i])
      read_pipe(sl, i);
  uint64_t ms = t->timeout_ms != 0 ? t->timeout_ms : s->o.timeout_ms;
  if (ms > 0)
    uv_timer_start(&sl->timer, timeout_cb, ms, 0);
  if (s->o.start_cb != NULL)
    s->o.start_cb(s, t);
}

/* ---- the pump ----------------------------------------------------------- */

static unsigned queue_low(const tend_sched_t *s) {
  return s->o.queue_low != 0 ? s->o.queue_low : s->o.max_running;
}

/* Start what can start, hand back what will never start, ask for more. */
static void pump(tend_sched_t *s) {
  if (s->in_pump) {
    s->pump_again = true;
    return;
  }
  s->in_pump = true;
  struct slot *sl;
  do {
    s->pump_again = false;
    /* Tasks stopped by a cancel whose leader is gone are done now, even if
     * a grandchild holds their pipes. */
    if (s->cancelled)
      SLIST_FOREACH(sl, &s->all_slots, all_link)
        if (sl->task != NULL && sl->exited)
          maybe_finish(sl);
    while (s->halted && !STAILQ_EMPTY(&s->queue))
      task_done(s, queue_pop(s), TEND_TASK_SKIPPED);
    while (!s->halted && !s->fd_starved && !STAILQ_EMPTY(&s->queue) &&
           s->st.running < s->o.max_running)
      task_start(s, queue_pop(s));
    if (!s->closed && s->o.feed_cb != NULL && s->st.queued < queue_low(s)) {
      uint64_t before = s->st.submitted;
      s->o.feed_cb(s);
      if (s->st.submitted != before)
        s->pump_again = true;
    }
  } while (s->pump_again);
  s->in_pump = false;
  maybe_join(s);
}

/* ---- the API ------------------------------------------------------------ */

int tend_sched_new(uv_loop_t *loop, const tend_sched_opts_t *opts, tend_sched_t **out) {
  *out = NULL;
  if (opts->done_cb == NULL || opts->max_running == 0)
    return -EINVAL;
  tend_sched_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  STAILQ_INIT(&s->queue);
  s->loop = loop;
  s->o = *opts;
  if (s->o.mem_limit == 0)
    s->o.mem_limit = DEFAULT_MEM_LIMIT;
  if (s->o.mem_budget == 0)
    s->o.mem_budget = DEFAULT_MEM_BUDGET;
  const char *dir = opts->tmpdir;
  if (dir == NULL || *dir == '\0')
    dir = getenv("TMPDIR");
  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  s->tmpdir = strdup(dir);
  s->scratch = malloc(SCRATCH);
  if (s->tmpdir == NULL || s->scratch == NULL) {
    free(s->tmpdir);
    free(s->scratch);
    free(s);
    return -ENOMEM;
  }
  s->o.tmpdir = s->tmpdir;
  s->next_seq = 1;
  *out = s;
  return 0;
}

int tend_sched_free(tend_sched_t *s) {
  if (s == NULL)
    return 0;
  if (s->tick_open || s->st.running > 0 || !STAILQ_EMPTY(&s->queue) || s->closing > 0)
    return -EBUSY;
  struct slot *sl;
  while ((sl = SLIST_FIRST(&s->all_slots)) != NULL) {
    SLIST_REMOVE_HEAD(&s->all_slots, all_link);
    free(sl);
  }
  free(s->tmpdir);
  free(s->scratch);
  free(s);
  return 0;
}

void *tend_sched_data(const tend_sched_t *s) { return s->o.data; }

int tend_sched_submit(tend_sched_t *s, tend_task_t *t) {
  if (s->closed)
    return -EPIPE;
  if (t->argv == NULL || t->argv[0] == NULL ||
      (t->state != TEND_TASK_NEW && t->state != TEND_TASK_DONE) || t->out[0] == TEND_OUT_MERGE)
    return -EINVAL;
  if ((t->out[0] == TEND_OUT_STREAM || t->out[1] == TEND_OUT_STREAM) && s->o.output_cb == NULL)
    return -EINVAL;
  t->seq = s->next_seq++;
  t->state = TEND_TASK_QUEUED;
  t->outcome = TEND_TASK_EXITED;
  t->pid = 0;
  t->spawn_error = 0;
  t->err_what = TEND_PROC_ERR_NONE;
  t->exit_status = 0;
  t->term_signal = 0;
  t->timed_out = t->cancelled = false;
  t->start_unix_ns = 0;
  t->runtime_ns = 0;
  capture_reset(&t->cap[0]);
  capture_reset(&t->cap[1]);
  STAILQ_INSERT_TAIL(&s->queue, t, queue_);
  s->st.queued++;
  s->st.submitted++;
  if (s->in_pump)
    s->pump_again = true;
  else
    schedule(s);
  return 0;
}

size_t tend_sched_wanted(const tend_sched_t *s) {
  if (s->closed)
    return 0;
  uint64_t target = 2 * (uint64_t)queue_low(s);
  return s->st.queued < target ? (size_t)(target - s->st.queued) : 0;
}

void tend_sched_close(tend_sched_t *s) {
  if (s->closed)
    return;
  s->closed = true;
  schedule(s); /* join happens from the loop, even with nothing to do */
}

void tend_sched_halt(tend_sched_t *s) {
  tend_sched_close(s);
  if (s->halted)
    return;
  s->halted = true;
  schedule(s);
}

void tend_sched_cancel(tend_sched_t *s, int signum, uint64_t grace_ms) {
  tend_sched_halt(s);
  s->cancelled = true;
  s->cancel_signal = signum;
  s->cancel_grace_ms = grace_ms;
  struct slot *sl;
  SLIST_FOREACH(sl, &s->all_slots, all_link) {
    if (sl->task == NULL)
      continue;
    sl->task->cancelled = true;
    tend_proc_stop(&sl->proc, signum, grace_ms, 0);
  }
  schedule(s);
}

void tend_sched_stats(const tend_sched_t *s, tend_sched_stats_t *st) { *st = s->st; }

void tend_sched_release(tend_sched_t *s, tend_task_t *t) {
  capture_free(s, &t->cap[0]);
  capture_free(s, &t->cap[1]);
}

/* ---- reading the output ------------------------------------------------- */

ssize_t tend_task_output_read(const tend_task_t *t, int stream, uint64_t off, void *buf,
                              size_t len) {
  if (stream < 0 || stream > 1)
    return -EINVAL;
  const tend_capture_t *c = &t->cap[stream];
  if (off < c->mem_len) {
    size_t n = c->mem_len - (size_t)off;
    if (n > len)
      n = len;
    memcpy(buf, c->mem + off, n);
    return (ssize_t)n;
  }
  if (c->fd < 0 || off >= c->kept)
    return 0;
  ssize_t n;
  do
    n = pread(c->fd, buf, len, (off_t)(off - c->mem_len));
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

int tend_task_output_write(const tend_task_t *t, int stream, int fd) {
  if (stream < 0 || stream > 1)
    return -EINVAL;
  const tend_capture_t *c = &t->cap[stream];
  int r = write_all(fd, c->mem, c->mem_len);
  if (r != 0 || c->fd < 0)
    return r;
  char buf[64 * 1024];
  for (uint64_t off = c->mem_len; off < c->kept;) {
    ssize_t n = tend_task_output_read(t, stream, off, buf, sizeof(buf));
    if (n <= 0)
      return n < 0 ? (int)n : -EIO;
    if ((r = write_all(fd, buf, (size_t)n)) != 0)
      return r;
    off += (uint64_t)n;
  }
  return 0;
}
