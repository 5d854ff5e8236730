/* SPDX-License-Identifier: MIT */
/*
 * Child output logs, supervisord style: chunks read from a child's pipe are
 * cut into lines and appended to a size-rotated file. The lines of one
 * outlog_write call are gathered into an iovec batch that points into the
 * caller's chunk (and the kept partial line), so a chunk of many lines
 * costs one writev per file it lands in, with no copy: the batch is only
 * cut where a rotation has to happen between two lines.
 * Every emitted line ends with exactly one '\n', which is what lets a short
 * write be accounted line by line and lets outlog_tail count lines by
 * newlines.
 */
#include "supervisor/outlog.h"
#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* A line takes at most 5 entries (prefix, time stamp, kept partial, bytes
 * of the chunk, added newline); consecutive lines of the chunk share one entry, so the array
 * only fills up with cut long lines, and flushing early is then harmless. */
#define BATCH_IOV 64
#define TAIL_BLOCK (64 * 1024)

static char newline[] = "\n";

/* The lines of one outlog_write/outlog_flush call not yet written. */
typedef struct {
  outlog_t *l;
  struct iovec iov[BATCH_IOV];
  int niov;
  size_t bytes;    /* in iov */
  uint64_t nlines; /* in iov */
  bool ready;      /* lines were due: the live file was (re)opened if needed */
  bool norotate;   /* rotating failed in this call: keep appending */
  int fail;        /* lines are being dropped for this error */
  int report;      /* first error of the call, for the streak */
  char ts[48];     /* "TIME " prefix of every line, when l->timestamps */
  size_t tslen;
} batch_t;

static void batch_error(batch_t *b, int err, bool drop) {
  if (b->report == 0)
    b->report = err;
  if (drop && b->fail == 0)
    b->fail = err;
}

int outlog_stdio_fd(const char *path) {
  static const char *const names[][3] = {
      {"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"},
      {"/dev/stderr", "/dev/fd/2", "/proc/self/fd/2"},
  };
  for (int fd = 1; fd <= 2; fd++)
    for (int i = 0; i < 3; i++)
      if (strcmp(path, names[fd - 1][i]) == 0)
        return fd;
  return 0;
}

static int open_live(outlog_t *l) {
  if (l->path == NULL)
    return -ENOMEM;
  int stdio = outlog_stdio_fd(l->path);
  if (stdio != 0) {
    l->fd = fcntl(stdio, F_DUPFD_CLOEXEC, 3);
    /* Never rotated, even when the daemon's stdout is a regular file:
     * renaming "/dev/stdout" would move the device's link itself. */
    l->maxbytes = 0;
    l->size = 0;
    return l->fd < 0 ? -errno : 0;
  }
  /* O_NOCTTY: tend may be a session leader without a terminal, and a log
   * path naming a tty must not become its controlling terminal. */
  const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY;
  int fd = open(l->path, flags, 0644);
  if (fd < 0 && errno == ENOENT) {
    int r = fs_mkdir_parents(l->path);
    if (r < 0)
      return r;
    fd = open(l->path, flags, 0644);
  }
  if (fd < 0)
    return -errno;
  struct stat st;
  l->fd = fd;
  l->size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
  return 0;
}

static void close_live(outlog_t *l) {
  if (l->fd >= 0)
    close(l->fd);
  l->fd = -1;
}

static void batch_prepare(batch_t *b) {
  b->ready = true;
  if (b->l->fd < 0) {
    int r = open_live(b->l);
    if (r < 0)
      batch_error(b, r, true);
  }
}

/* Before rotating, trust the file, not our count: smaller, copytruncate
 * emptied it under us (O_APPEND already puts our next write at its new
 * end); larger, someone else appends too. Checked only here, not on every
 * write, because an fstat costs as much as the writev of a small chunk.
 * False when the file must not be rotated at all (not a regular file). */
static bool batch_sync(batch_t *b) {
  outlog_t *l = b->l;
  struct stat st;
  if (fstat(l->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    /* Start counting again: this check comes back after maxbytes more. */
    l->size = 0;
    return false;
  }
  l->size = (uint64_t)st.st_size;
  return true;
}

/* A write stopped after `done` bytes of the batch: count the lines that made
 * it whole, and cut a torn last line off the file so that it never holds
 * half a line followed by the next one. */
static void batch_account_short(batch_t *b, size_t done) {
  outlog_t *l = b->l;
  uint64_t whole = 0;
  size_t since_nl = 0, left = done;
  for (int i = 0; i < b->niov && left > 0; i++) {
    const char *p = b->iov[i].iov_base;
    size_t k = b->iov[i].iov_len < left ? b->iov[i].iov_len : left;
    const char *end = p + k, *q;
    left -= k;
    while (p < end && (q = memchr(p, '\n', (size_t)(end - p))) != NULL) {
      whole++;
      since_nl = 0;
      p = q + 1;
    }
    since_nl += (size_t)(end - p);
  }
  if (since_nl > 0) {
    struct stat st;
    if (fstat(l->fd, &st) == 0 && (uint64_t)st.st_size >= since_nl &&
        ftruncate(l->fd, st.st_size - (off_t)since_nl) == 0)
      done -= since_nl;
  }
  l->size += done;
  l->lines += whole;
  l->dropped += b->nlines - whole;
}

static void batch_reset(batch_t *b) {
  b->niov = 0;
  b->bytes = 0;
  b->nlines = 0;
}

static int batch_flush(batch_t *b) {
  outlog_t *l = b->l;
  if (b->niov == 0)
    return 0;
  ssize_t w = writev(l->fd, b->iov, b->niov);
  if (w >= 0 && (size_t)w == b->bytes) {
    l->size += b->bytes;
    l->lines += b->nlines;
    batch_reset(b);
    return 0;
  }
  /* Rare: a short write (disk filling up) or an error. Continue from where
   * the kernel stopped, on a copy of the vector, so the original still
   * describes what the lines were. */
  struct iovec rest[BATCH_IOV];
  memcpy(rest, b->iov, sizeof(rest[0]) * (size_t)b->niov);
  struct iovec *v = rest;
  int nv = b->niov;
  size_t done = 0;
  int err = 0;
  for (;;) {
    if (w < 0) {
      if (errno == EINTR) {
        w = writev(l->fd, v, nv);
        continue;
      }
      err = -errno;
      break;
    }
    done += (size_t)w;
    if (done == b->bytes)
      break;
    if (w == 0) {
      err = -ENOSPC;
      break;
    }
    size_t k = (size_t)w;
    while (k >= v->iov_len) {
      k -= v->iov_len;
      v++;
      nv--;
    }
    v->iov_base = (char *)v->iov_base + k;
    v->iov_len -= k;
    w = writev(l->fd, v, nv);
  }
  if (err == 0) {
    l->size += b->bytes;
    l->lines += b->nlines;
    batch_reset(b);
    return 0;
  }
  batch_account_short(b, done);
  batch_reset(b);
  /* The next write opens the path again: that also gets past a file system
   * gone bad under an open descriptor. */
  close_live(l);
  batch_error(b, err, true);
  return err;
}

static int backup_name(char *buf, size_t size, const char *path, int i) {
  int n = i == 0 ? snprintf(buf, size, "%s", path) : snprintf(buf, size, "%s.%d", path, i);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* PATH.(k-1) -> PATH.k down to PATH -> PATH.1 (rename replaces the oldest),
 * then a new PATH; or, without backups, truncate PATH. */
static void batch_rotate(batch_t *b) {
  outlog_t *l = b->l;
  if (l->backups <= 0) {
    if (ftruncate(l->fd, 0) < 0) {
      batch_error(b, -errno, false);
      b->norotate = true;
      return;
    }
    l->size = 0;
    return;
  }
  char from[PATH_MAX], to[PATH_MAX];
  for (int i = l->backups; i >= 1; i--) {
    int r = backup_name(to, sizeof(to), l->path, i);
    if (r == 0)
      r = backup_name(from, sizeof(from), l->path, i - 1);
    if (r == 0 && rename(from, to) < 0)
      r = -errno;
    if (r == 0 || r == -ENOENT || r == -ENOTDIR)
      continue;
    /* Shifting further would overwrite a backup; keep appending to the live
     * file, past maxbytes, rather than lose lines. */
    batch_error(b, r, false);
    b->norotate = true;
    return;
  }
  /* Renaming PATH away failed with ENOENT/ENOTDIR when the file already left
   * its path (moved, directory removed): our descriptor writes to something
   * nobody reads, so a new PATH is wanted just the same. */
  close_live(l);
  int r = open_live(l);
  if (r < 0)
    batch_error(b, r, true);
}

/* Queue one line: a + c, then a newline if add_nl (the bytes given do not
 * end with one). */
static void emit(batch_t *b, const char *a, size_t alen, const char *c, size_t clen,
                 bool add_nl) {
  outlog_t *l = b->l;
  if (l->line_fn != NULL) {
    /* the bytes given end with the newline unless add_nl */
    if (l->line_fn(l->line_arg, a, alen, c, add_nl ? clen : clen - 1) == 0)
      l->lines++;
    else
      l->dropped++;
    return;
  }
  if (!b->ready)
    batch_prepare(b);
  if (b->fail != 0) {
    l->dropped++;
    return;
  }
  if (l->timestamps && b->tslen == 0) {
    /* One time for the whole call: the lines arrived together. */
    log_time(b->ts, sizeof(b->ts) - 1);
    b->tslen = strlen(b->ts);
    b->ts[b->tslen++] = ' ';
  }
  size_t len = l->prefix_len + b->tslen + alen + clen + (add_nl ? 1 : 0);
  uint64_t cur = l->size + b->bytes;
  if (l->maxbytes > 0 && cur > 0 && cur + len > l->maxbytes && !b->norotate) {
    /* Rotate before the line, unless the file is empty: a line longer
     * than maxbytes still has to go somewhere. */
    if (batch_flush(b) == 0 && batch_sync(b) && l->size > 0 && l->size + len > l->maxbytes)
      batch_rotate(b);
    if (b->fail != 0) {
      l->dropped++;
      return;
    }
  }
  if (b->niov + 5 > BATCH_IOV && batch_flush(b) < 0) {
    l->dropped++;
    return;
  }
  const char *part[5] = {l->prefix, b->ts, a, c, newline};
  size_t plen[5] = {l->prefix_len, b->tslen, alen, clen, add_nl ? 1 : 0};
  for (int i = 0; i < 5; i++) {
    if (plen[i] == 0)
      continue;
    struct iovec *last = b->niov > 0 ? &b->iov[b->niov - 1] : NULL;
    if (last != NULL && (const char *)last->iov_base + last->iov_len == part[i]) {
      last->iov_len += plen[i];
    } else {
      b->iov[b->niov].iov_base = (char *)part[i];
      b->iov[b->niov].iov_len = plen[i];
      b->niov++;
    }
  }
  b->bytes += len;
  b->nlines++;
}

/* Write what is left and turn the call's outcome into the streak rule. */
static int batch_finish(batch_t *b) {
  outlog_t *l = b->l;
  if (b->fail == 0)
    batch_flush(b);
  if (b->report != 0) {
    int ret = l->last_error == 0 ? b->report : 0;
    l->last_error = b->report;
    return ret;
  }
  if (b->ready)
    l->last_error = 0;
  return 0;
}

/* Room for the partial line grows by powers of two up to OUTLOG_MAX_LINE;
 * the capacity follows from partial_len, so it needs no field of its own. */
static size_t partial_cap(size_t len) {
  size_t cap = 256;
  while (cap < len)
    cap *= 2;
  return cap;
}

static int partial_set(outlog_t *l, size_t keep, const char *data, size_t n) {
  size_t len = keep + n, want = partial_cap(len), have = partial_cap(l->partial_len);
  if (l->partial == NULL || want != have) {
    /* Shrinks too, so one long line does not pin 64 KiB per log. A failed
     * shrink keeps the larger block, which is just as good. */
    char *p = realloc(l->partial, want);
    if (p != NULL)
      l->partial = p;
    else if (l->partial == NULL || want > have)
      return -ENOMEM;
  }
  if (n > 0)
    memcpy(l->partial + keep, data, n);
  l->partial_len = len;
  return 0;
}

void outlog_open_lines(outlog_t *l, outlog_line_fn fn, void *arg) {
  memset(l, 0, sizeof(*l));
  l->fd = -1;
  l->line_fn = fn;
  l->line_arg = arg;
}

int outlog_open(outlog_t *l, const char *path, uint64_t maxbytes, int backups) {
  l->line_fn = NULL;
  l->line_arg = NULL;
  l->path = NULL;
  l->maxbytes = maxbytes;
  l->backups = backups > 0 ? backups : 0;
  l->fd = -1;
  l->size = 0;
  l->partial = NULL;
  l->partial_len = 0;
  l->last_error = 0;
  l->lines = 0;
  l->dropped = 0;
  l->timestamps = false;
  l->prefix = NULL;
  l->prefix_len = 0;
  l->path = strdup(path);
  int r = l->path == NULL ? -ENOMEM : open_live(l);
  l->last_error = r;
  return r;
}

int outlog_write(outlog_t *l, const char *data, size_t n) {
  batch_t b = {.l = l};
  const char *p = data, *end = data + n;
  size_t pend = l->partial_len; /* kept bytes that start the next line */
  while (p < end) {
    size_t room = OUTLOG_MAX_LINE - pend;
    size_t avail = (size_t)(end - p);
    /* Looking one byte past the room tells a line of exactly
     * OUTLOG_MAX_LINE bytes from one to cut, and bounds the scan, so a
     * huge chunk without newlines is not searched again for every piece. */
    const char *nl = memchr(p, '\n', avail < room + 1 ? avail : room + 1);
    if (nl != NULL) {
      emit(&b, l->partial, pend, p, (size_t)(nl + 1 - p), false);
      p = nl + 1;
    } else if (avail > room) {
      emit(&b, l->partial, pend, p, room, true);
      p += room;
    } else {
      break;
    }
    pend = 0;
  }
  /* The batch may point into l->partial: write it before touching that. */
  int ret = batch_finish(&b);
  if (p < end || pend != l->partial_len) {
    int r = partial_set(l, pend, p, (size_t)(end - p));
    if (r < 0) {
      l->partial_len = 0;
      l->dropped++;
      if (l->last_error == 0 && ret == 0)
        ret = r;
      l->last_error = r;
    }
  }
  return ret;
}

int outlog_set_prefix(outlog_t *l, const char *prefix) {
  char *p = prefix != NULL ? strdup(prefix) : NULL;
  if (prefix != NULL && p == NULL)
    return -ENOMEM;
  free(l->prefix);
  l->prefix = p;
  l->prefix_len = p != NULL ? strlen(p) : 0;
  return 0;
}

int outlog_flush(outlog_t *l) {
  if (l->partial_len == 0)
    return 0;
  batch_t b = {.l = l};
  emit(&b, l->partial, l->partial_len, NULL, 0, true);
  int ret = batch_finish(&b);
  l->partial_len = 0;
  return ret;
}

int outlog_reopen(outlog_t *l) {
  if (l->line_fn != NULL)
    return 0;
  close_live(l);
  int r = open_live(l);
  if (r < 0)
    l->last_error = r;
  return r;
}

void outlog_close(outlog_t *l) {
  outlog_flush(l);
  close_live(l);
  free(l->path);
  free(l->partial);
  free(l->prefix);
  l->prefix = NULL;
  l->prefix_len = 0;
  l->path = NULL;
  l->partial = NULL;
  l->partial_len = 0;
}

static int read_at(int fd, char *buf, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = pread(fd, buf, n, off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      return -EIO; /* truncated while we read */
    buf += r;
    n -= (size_t)r;
    off += r;
  }
  return 0;
}

/* The last `want` lines of one file, found by scanning back from its end
 * block by block. A missing file, or one that is not a regular file, has
 * no lines. */
static int tail_file(const char *path, int want, char **out, size_t *outlen, int *got) {
  *out = NULL;
  *outlen = 0;
  *got = 0;
  /* O_NONBLOCK: a FIFO at the path must not hang the caller. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return errno == ENOENT ? 0 : -errno;
  char *blk = NULL;
  int r = 0;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    r = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode) || st.st_size == 0)
    goto out;
  blk = malloc(TAIL_BLOCK);
  if (blk == NULL) {
    r = -ENOMEM;
    goto out;
  }
  off_t pos = st.st_size, start = 0;
  int found = 0;
  bool last = true;
  while (pos > 0 && found < want) {
    size_t k = pos < TAIL_BLOCK ? (size_t)pos : TAIL_BLOCK;
    pos -= (off_t)k;
    if ((r = read_at(fd, blk, k, pos)) < 0)
      goto out;
    size_t lim = k;
    /* The file's final newline ends the last line; it does not start one. */
    if (last && blk[k - 1] == '\n')
      lim--;
    last = false;
    const char *q;
    while (lim > 0 && (q = memrchr(blk, '\n', lim)) != NULL) {
      if (++found == want) {
        start = pos + (q - blk) + 1;
        break;
      }
      lim = (size_t)(q - blk);
    }
  }
  /* Reaching the start of the file, the first line is one more. */
  *got = found == want ? want : found + 1;
  size_t len = (size_t)(st.st_size - start);
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    r = -ENOMEM;
    goto out;
  }
  if ((r = read_at(fd, buf, len, start)) < 0) {
    free(buf);
    goto out;
  }
  *out = buf;
  *outlen = len;
out:
  free(blk);
  close(fd);
  if (r < 0)
    *got = 0;
  return r;
}

char *outlog_tail(const char *path, int backups, int n, size_t *len) {
  *len = 0;
  if (backups < 0)
    backups = 0;
  /* piece[0] is from the live file, piece[i] from PATH.i. */
  int np = 0;
  char **piece = calloc((size_t)backups + 1, sizeof(*piece));
  size_t *plen = calloc((size_t)backups + 1, sizeof(*plen));
  char *res = NULL;
  int r = piece == NULL || plen == NULL ? -ENOMEM : 0;
  char name[PATH_MAX];
  for (int got = 0; r == 0 && got < n && np <= backups; np++) {
    int k = 0;
    r = backup_name(name, sizeof(name), path, np);
    if (r == 0)
      r = tail_file(name, n - got, &piece[np], &plen[np], &k);
    got += k;
  }
  if (r < 0)
    goto out;
  size_t total = 0;
  for (int i = 0; i < np; i++)
    total += plen[i] + 1;
  res = malloc(total + 1);
  if (res == NULL) {
    r = -ENOMEM;
    goto out;
  }
  size_t o = 0;
  for (int i = np - 1; i >= 0; i--) {
    if (plen[i] == 0)
      continue;
    memcpy(res + o, piece[i], plen[i]);
    o += plen[i];
    /* An older file cut off mid-line must not glue onto the next one. */
    if (i > 0 && res[o - 1] != '\n')
      res[o++] = '\n';
  }
  res[o] = '\0';
  *len = o;
out:
  for (int i = 0; piece != NULL && i < np; i++)
    free(piece[i]);
  free(piece);
  free(plen);
  if (r < 0)
    errno = -r;
  return res;
}
