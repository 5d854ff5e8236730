/* SPDX-License-Identifier: MIT */
/*
 * Live log streams (see logtail.h). One struct per stream owns the file
 * descriptor and three handles: an inotify watch on the file, one on its
 * directory (armed only while the name is missing, to see it come back)
 * and a check handle (active only while the client is behind, to resume
 * once its queue drains: check handles run after each poll of the loop,
 * which wakes up for the client's socket anyway, so draining needs no
 * timer). Every event comes down to tail_sync: follow the name, then send
 * what the file holds past what was sent.
 */
#include "http/logtail.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (16 * 1024)

static const char truncated[] = "\n==> File truncated <==\n";

struct logtail {
  http_req_t *req;
  char *path;
  char *dir;        /* the directory of path, watched while path is missing */
  const char *base; /* path's last component */
  uv_fs_event_t file_ev;
  uv_fs_event_t dir_ev;
  uv_check_t drain;
  int fd;
  dev_t dev;
  ino_t ino;
  int64_t pos;      /* bytes of fd sent */
  bool dir_watched;
  bool dir_failed;  /* watching the directory failed: said once */
  bool paused;      /* the client's queue is over LOGTAIL_MAX_BACKLOG */
  bool done;        /* req is finished or gone: touch it no more */
  int open;         /* handles not closed yet */
};

static void tail_sync(struct logtail *t);

static void handle_closed_cb(uv_handle_t *h) {
  struct logtail *t = h->data;
  if (--t->open > 0)
    return;
  free(t->path);
  free(t->dir);
  free(t);
}

/* Release everything; t is freed once its handles are closed. */
static void tail_free(struct logtail *t) {
  t->done = true;
  if (t->fd >= 0)
    close(t->fd);
  t->fd = -1;
  uv_close((uv_handle_t *)&t->file_ev, handle_closed_cb);
  uv_close((uv_handle_t *)&t->dir_ev, handle_closed_cb);
  uv_close((uv_handle_t *)&t->drain, handle_closed_cb);
}

static void gone_cb(http_req_t *req, void *data) {
  struct logtail *t = data;
  if (!t->done)
    tail_free(t);
}

/* Stop streaming (the file cannot be read any more): the reply ends. */
static void tail_end(struct logtail *t, int err) {
  log_msg("warn", "logtail", "%s: %s; ending the stream", t->path, strerror(-err));
  http_req_on_gone(t->req, NULL, NULL);
  t->done = true;
  http_stream_end(t->req);
  tail_free(t);
}

/* A write failed: the connection is closing, and its gone callback has
 * run or will not run any more; either way, nothing more goes to it. */
static void tail_write_failed(struct logtail *t) {
  if (t->done)
    return;
  http_req_on_gone(t->req, NULL, NULL);
  tail_free(t);
}

static bool tail_write(struct logtail *t, const void *data, size_t len) {
  if (http_stream_write(t->req, data, len) == 0)
    return true;
  tail_write_failed(t);
  return false;
}

static void drain_cb(uv_check_t *h) {
  struct logtail *t = h->data;
  /* Half the bound, so that a reader just behind is not paused again at
   * once for every chunk. */
  if (http_req_backlog(t->req) > LOGTAIL_MAX_BACKLOG / 2)
    return;
  uv_check_stop(&t->drain);
  t->paused = false;
  tail_sync(t);
}

/* The length of buf[0..n) without a UTF-8 sequence cut at its end, when
 * one is: supervisorctl decodes each chunk on its own and prints a chunk
 * that does not decode as "Undecodable: b'...'". Bytes that are not UTF-8
 * at all are left as they are. */
static size_t utf8_whole(const char *buf, size_t n) {
  for (size_t back = 1; back <= 4 && back <= n; back++) {
    unsigned char c = (unsigned char)buf[n - back];
    if ((c & 0xC0) == 0x80)
      continue; /* a continuation byte: its lead is further back */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back && n > back ? n - back : n;
  }
  return n;
}

/* Where to start sending: the last LOGTAIL_HEAD bytes, as supervisord,
 * but not in the middle of a UTF-8 sequence (see utf8_whole). */
static int64_t head_start(int fd, int64_t size) {
  if (size <= LOGTAIL_HEAD)
    return 0;
  int64_t pos = size - LOGTAIL_HEAD;
  unsigned char b[3];
  ssize_t n = pread(fd, b, sizeof(b), (off_t)pos);
  for (ssize_t i = 0; i < n && (b[i] & 0xC0) == 0x80; i++)
    pos++;
  return pos;
}

/* Send what fd holds past pos, until its end or the client's bound. */
static void tail_pump(struct logtail *t) {
  char buf[CHUNK];
  while (!t->done) {
    if (http_req_backlog(t->req) > LOGTAIL_MAX_BACKLOG) {
      t->paused = true;
      uv_check_start(&t->drain, drain_cb);
      return;
    }
    struct stat st;
    if (fstat(t->fd, &st) < 0) {
      tail_end(t, -errno);
      return;
    }
    if (st.st_size < t->pos) {
      /* Truncated under us (copytruncate): what it holds now is new. */
      if (!tail_write(t, truncated, sizeof(truncated) - 1))
        return;
      t->pos = 0;
    }
    if (st.st_size == t->pos)
      return;
    int64_t want = st.st_size - t->pos;
    ssize_t n = pread(t->fd, buf, want < CHUNK ? (size_t)want : CHUNK, (off_t)t->pos);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      tail_end(t, n < 0 ? -errno : -EIO);
      return;
    }
    if (n < want)
      n = (ssize_t)utf8_whole(buf, (size_t)n);
    t->pos += n;
    if (!tail_write(t, buf, (size_t)n))
      return;
  }
}

static int open_log(const char *path, struct stat *st) {
  /* O_NONBLOCK: a FIFO at the path must not block the loop in open. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -errno;
  if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
    close(fd);
    return -EINVAL;
  }
  return fd;
}

static void file_cb(uv_fs_event_t *h, const char *name, int events, int status);
static void dir_cb(uv_fs_event_t *h, const char *name, int events, int status);

/* Watch the directory until the name is back. A failure is logged once:
 * the stream goes on with the file it has. */
static void tail_watch_dir(struct logtail *t) {
  if (t->dir_watched)
    return;
  int r = uv_fs_event_start(&t->dir_ev, dir_cb, t->dir, 0);
  if (r < 0) {
    if (!t->dir_failed)
      log_msg("warn", "logtail", "%s: cannot watch its directory: %s", t->path,
              uv_strerror(r));
    t->dir_failed = true;
    return;
  }
  t->dir_watched = true;
}

/* The file is watched again: its directory need not be, unless watching
 * the file failed and the directory's events are all that is left. */
static void tail_unwatch_dir(struct logtail *t) {
  if (!t->dir_watched || !uv_is_active((uv_handle_t *)&t->file_ev))
    return;
  uv_fs_event_stop(&t->dir_ev);
  t->dir_watched = false;
}

/* A new file at the name: send the rest of the old one, then the new one
 * from its start. False if the name cannot be opened (it stays missing). */
static bool tail_switch(struct logtail *t) {
  struct stat st;
  int fd = open_log(t->path, &st);
  if (fd < 0)
    return false;
  tail_pump(t);
  if (t->done || t->paused) {
    /* Behind: the switch is done once caught up (drain_cb syncs again). */
    close(fd);
    return true;
  }
  close(t->fd);
  t->fd = fd;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  t->pos = 0;
  uv_fs_event_stop(&t->file_ev);
  int r = uv_fs_event_start(&t->file_ev, file_cb, t->path, 0);
  if (r < 0) {
    log_msg("warn", "logtail", "%s: cannot watch it: %s", t->path, uv_strerror(r));
    tail_watch_dir(t); /* its events still drive the stream */
  }
  return true;
}

/* Follow the name as supervisord's tail_f_producer._follow does (a new
 * inode at the path is a rotation), then send what is new. */
static void tail_sync(struct logtail *t) {
  if (t->done || t->paused)
    return;
  struct stat st;
  for (int pass = 0; pass < 2; pass++) {
    if (stat(t->path, &st) == 0) {
      if (st.st_dev == t->dev && st.st_ino == t->ino) {
        tail_unwatch_dir(t);
      } else if (tail_switch(t)) {
        if (t->done || t->paused)
          return;
        tail_unwatch_dir(t);
      }
      break;
    }
    /* Missing: watch for its return, and look again once watching, in
     * case it came back in between. */
    if (t->dir_watched)
      break;
    tail_watch_dir(t);
  }
  tail_pump(t);
}

static void file_cb(uv_fs_event_t *h, const char *name, int events, int status) {
  struct logtail *t = h->data;
  if (status < 0) {
    log_msg("warn", "logtail", "%s: watch: %s", t->path, uv_strerror(status));
    return;
  }
  tail_sync(t);
}

static void dir_cb(uv_fs_event_t *h, const char *name, int events, int status) {
  struct logtail *t = h->data;
  /* Every file of the directory reports here: only the name matters. */
  if (status < 0 || name == NULL || strcmp(name, t->base) != 0)
    return;
  tail_sync(t);
}

/* "Last-Modified: Sun, 06 Dec 2026 05:19:24 GMT\r\n" as supervisord sends
 * it, in English whatever the locale. */
static void last_modified(char *out, size_t len, time_t mtime) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&mtime, &tm);
  snprintf(out, len, "Last-Modified: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
           days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

static int tail_new(struct logtail **out, uv_loop_t *loop, const char *path) {
  struct logtail *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return -ENOMEM;
  t->fd = -1;
  t->path = strdup(path);
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    t->dir = strdup(".");
  else
    t->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
  if (t->path == NULL || t->dir == NULL) {
    free(t->path);
    free(t->dir);
    free(t);
    return -ENOMEM;
  }
  t->base = t->path + (slash != NULL ? slash - path + 1 : 0);
  uv_fs_event_init(loop, &t->file_ev);
  uv_fs_event_init(loop, &t->dir_ev);
  uv_check_init(loop, &t->drain);
  t->file_ev.data = t->dir_ev.data = t->drain.data = t;
  t->open = 3;
  *out = t;
  return 0;
}

int logtail_serve(http_req_t *req, uv_loop_t *loop, const char *path) {
  struct stat st;
  int fd = open_log(path, &st);
  if (fd < 0)
    return fd;
  struct logtail *t;
  int r = tail_new(&t, loop, path);
  if (r < 0) {
    close(fd);
    return r;
  }
  t->req = req;
  t->fd = fd;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  t->pos = head_start(fd, st.st_size);
  r = uv_fs_event_start(&t->file_ev, file_cb, path, 0);
  if (r < 0) {
    log_msg("warn", "logtail", "%s: cannot watch it: %s", path, uv_strerror(r));
    tail_free(t);
    return r;
  }
  char headers[256];
  int n = snprintf(headers, sizeof(headers),
                   "Content-Type: text/plain;charset=utf-8\r\n"
                   "X-Accel-Buffering: no\r\n"
                   "Cache-Control: no-cache\r\n");
  last_modified(headers + n, sizeof(headers) - (size_t)n, st.st_mtime);
  http_req_on_gone(req, gone_cb, t);
  if (http_stream_start(req, 200, headers) < 0) {
    /* The connection is closing (the headers fit: nothing else fails), so
     * req is done with: nothing is left for the caller to answer. */
    tail_write_failed(t);
    return 0;
  }
  tail_pump(t);
  return 0;
}
