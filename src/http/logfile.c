/* SPDX-License-Identifier: MIT */
/*
 * supervisord's readFile and tailFile over a log file (see logfile.h). The
 * arithmetic follows supervisor/options.py line by line; Python's integers
 * do not overflow, so sums that could leave int64_t are saturated, which
 * keeps every comparison's outcome.
 */
#include "http/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_STEP (64 * 1024)

/* Open path for reading, as Python's open() after os.path.exists(): a
 * path that stat cannot see is missing (-ENOENT, NO_FILE), anything else
 * that fails is -EIO (FAILED). O_NONBLOCK so that a FIFO never blocks the
 * open; it is refused as not regular right after. */
static int open_regular(const char *path, int64_t *size) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0)
    return stat(path, &st) < 0 ? -ENOENT : -EIO;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -EIO;
  }
  *size = (int64_t)st.st_size;
  return fd;
}

/* Append up to len bytes at off, to the end of the file or len (as
 * Python's f.read(len), which also takes what was appended since the
 * size was taken). out is put back as it was on error. */
static int read_at(int fd, int64_t off, uint64_t len, tend_buf_t *out) {
  size_t start = out->len;
  while (len > 0) {
    size_t step = len < READ_STEP ? (size_t)len : READ_STEP;
    int r = tend_buf_reserve(out, step);
    if (r < 0) {
      out->len = start;
      return r;
    }
    ssize_t n = pread(fd, out->data + out->len, step, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      out->len = start;
      return -EIO;
    }
    if (n == 0)
      break;
    out->len += (size_t)n;
    off += n;
    len -= (uint64_t)n;
  }
  return 0;
}

static uint64_t magnitude(int64_t v) { return v < 0 ? -(uint64_t)v : (uint64_t)v; }

int logfile_read(const char *path, int64_t offset, int64_t length, tend_buf_t *out) {
  int64_t size;
  int fd = open_regular(path, &size);
  if (fd < 0)
    return fd;
  int r;
  if (offset < 0) {
    /* The last -offset bytes; a length with them makes no sense. */
    if (length != 0) {
      r = -EINVAL;
    } else {
      uint64_t back = magnitude(offset);
      int64_t pos = back >= (uint64_t)size ? 0 : size - (int64_t)back;
      r = read_at(fd, pos, back, out);
    }
  } else if (length < 0) {
    r = -EINVAL;
  } else {
    r = read_at(fd, offset, length == 0 ? UINT64_MAX : (uint64_t)length, out);
  }
  close(fd);
  return r;
}

static int64_t add_sat(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b)
    return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b)
    return INT64_MIN;
  return a + b;
}

int logfile_tail(const char *path, int64_t offset, int64_t length, tend_buf_t *out,
                 int64_t *new_offset, bool *overflow) {
  int64_t sz;
  int fd = open_regular(path, &sz);
  if (fd < 0) {
    *new_offset = fd == -ENOENT ? 0 : offset;
    *overflow = false;
    return fd;
  }
  bool over = false;
  if (sz > add_sat(offset, length)) {
    over = true;
    offset = sz - 1;
  }
  /* offset + length > sz >= 0 bounds sz - length below INT64_MAX. */
  if (add_sat(offset, length) > sz) {
    if (offset > sz - 1)
      length = 0;
    offset = sz - length;
  }
  if (offset < 0)
    offset = 0;
  if (length < 0)
    length = 0;
  int r = length == 0 ? 0 : read_at(fd, offset, (uint64_t)length, out);
  close(fd);
  if (r == -ENOMEM)
    return r;
  if (r < 0) {
    /* A read error is an OSError inside tailFile's try. */
    *new_offset = offset;
    *overflow = false;
    return r;
  }
  *new_offset = sz;
  *overflow = over;
  return 0;
}
