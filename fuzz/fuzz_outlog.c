/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the child-output log (src/supervisor/outlog.c). The input is a program
 * of writes: its first two bytes choose the rotation (maxbytes, backups)
 * and time stamps, then each op writes a chunk of literal bytes, a run of
 * one byte up to 128 KiB long (lines over OUTLOG_MAX_LINE), or reopens the
 * file (up to 320 KiB in all). After outlog_close the files are checked against a model of what
 * supervisor/outlog.h promises:
 *   - every line ends with one '\n'; a line over OUTLOG_MAX_LINE bytes is
 *     cut into pieces of exactly that size; nothing is lost or reordered:
 *     the files, oldest first, are the model's lines (a suffix of them
 *     when rotation dropped the oldest backups), with a time stamp before
 *     each when asked;
 *   - a file holds at most maxbytes unless it holds a single line;
 *   - the kept partial line never exceeds OUTLOG_MAX_LINE;
 *   - outlog_tail returns the last n lines of those files.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "supervisor/outlog.h"

#define TS_LEN 30 /* "2026-11-25T21:10:08.856+00:00 " */

typedef struct {
  char *p;
  size_t len, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, const void *d, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    CHECK(b->p != NULL);
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* The lines supervisor/outlog.h promises for the byte stream s (without stamps). */
static void model(const char *s, size_t n, sbuf_t *out, size_t *lines) {
  size_t cur = 0; /* bytes of the current line */
  const char *start = s;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n') {
      sb_add(out, start, cur + 1);
      (*lines)++;
      start = s + i + 1;
      cur = 0;
      continue;
    }
    if (cur == OUTLOG_MAX_LINE) { /* a byte past the maximum: cut */
      sb_add(out, start, cur);
      sb_add(out, "\n", 1);
      (*lines)++;
      start = s + i;
      cur = 0;
    }
    cur++;
  }
  if (cur > 0) { /* outlog_close flushes the partial line */
    sb_add(out, start, cur);
    sb_add(out, "\n", 1);
    (*lines)++;
  }
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  *len = 0;
  if (f == NULL)
    return NULL;
  sbuf_t b = {0};
  char chunk[65536];
  size_t k;
  while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
    sb_add(&b, chunk, k);
  fclose(f);
  if (b.p == NULL)
    sb_add(&b, "", 0);
  *len = b.len;
  return b.p;
}

static char dir[64], path[128];

static void remove_files(int upto) {
  char name[160];
  for (int i = 0; i <= upto; i++) {
    if (i == 0)
      snprintf(name, sizeof(name), "%s", path);
    else
      snprintf(name, sizeof(name), "%s.%d", path, i);
    unlink(name);
  }
}

static void cleanup(void) {
  remove_files(8);
  rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[0] == '\0') {
    /* tmpfs when there is one: the target renames and rewrites files a lot */
    snprintf(dir, sizeof(dir), "%s/tend-fuzz-outlog-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/p.out", dir);
    atexit(cleanup);
  }
  if (size < 2)
    return 0;
  remove_files(8);
  uint8_t f = data[0];
  int backups = f & 3;
  bool stamps = (f & 4) != 0;
  uint64_t maxbytes = (f & 8) ? ((uint64_t)data[1] + 1) * 64 : 0; /* 64 B .. 16 KiB */
  data += 2;
  size -= 2;

  outlog_t l;
  int r = outlog_open(&l, path, maxbytes, backups);
  CHECK(r == 0);
  l.timestamps = stamps;
  sbuf_t stream = {0};
  static char run[128 * 1024];
  size_t i = 0;
  /* At most 320 KiB per input (five maximal lines) and a few thousand
   * lines (with rotation a few hundred, each may rename every backup): a
   * fast target explores more. */
  size_t newlines = 0, max_newlines = maxbytes > 0 ? 256 : 4096;
  while (i < size && stream.len < 320 * 1024 && newlines < max_newlines) {
    size_t before = stream.len;
    uint8_t op = data[i++];
    if (op == 0x7f) {
      CHECK(outlog_reopen(&l) == 0);
    } else if (op & 0x80) { /* a run of one byte: (op & 0x7f) + 1 KiB */
      size_t n = ((size_t)(op & 0x7f) + 1) * 1024;
      char c = i < size ? (char)data[i++] : 'x';
      if (c == '\n' && n > max_newlines - newlines)
        n = max_newlines - newlines;
      memset(run, c, n);
      sb_add(&stream, run, n);
      CHECK(outlog_write(&l, run, n) == 0);
    } else { /* op + 1 literal bytes (op < 0x7f) */
      size_t n = (size_t)op + 1;
      if (n > size - i)
        n = size - i;
      sb_add(&stream, data + i, n);
      CHECK(outlog_write(&l, (const char *)data + i, n) == 0);
      i += n;
    }
    CHECK(l.partial_len <= OUTLOG_MAX_LINE);
    for (size_t k = before; k < stream.len; k++)
      newlines += stream.p[k] == '\n';
  }
  outlog_close(&l);

  sbuf_t want = {0};
  sb_add(&want, "", 0);
  size_t want_lines = 0;
  if (stream.len > 0)
    model(stream.p, stream.len, &want, &want_lines);
  CHECK(l.dropped == 0);
  CHECK(l.lines == want_lines);

  /* The files, oldest first, time stamps taken off. */
  sbuf_t got = {0};
  sb_add(&got, "", 0);
  char name[160];
  for (int k = backups; k >= 0; k--) {
    if (k == 0)
      snprintf(name, sizeof(name), "%s", path);
    else
      snprintf(name, sizeof(name), "%s.%d", path, k);
    size_t len;
    char *s = read_all(name, &len);
    if (s == NULL)
      continue;
    CHECK(len == 0 || s[len - 1] == '\n');
    size_t nl = 0;
    for (size_t j = 0; j < len; j++)
      nl += s[j] == '\n';
    if (maxbytes > 0)
      CHECK(len <= maxbytes || nl == 1);
    for (char *p = s; p < s + len;) {
      char *e = memchr(p, '\n', (size_t)(s + len - p));
      if (stamps) {
        CHECK(e - p >= TS_LEN && p[4] == '-' && p[10] == 'T' && p[19] == '.' &&
               p[TS_LEN - 1] == ' ');
        p += TS_LEN;
      }
      sb_add(&got, p, (size_t)(e + 1 - p));
      p = e + 1;
    }
    free(s);
  }
  /* No rotation: everything. Rotation: the newest lines, whole. */
  if (maxbytes == 0) {
    CHECK(got.len == want.len && memcmp(got.p, want.p, want.len) == 0);
  } else {
    CHECK(got.len <= want.len);
    CHECK(memcmp(got.p, want.p + (want.len - got.len), got.len) == 0);
    CHECK(got.len == want.len || got.len == 0 || want.p[want.len - got.len - 1] == '\n');
  }

  /* outlog_tail: the last n lines (checked without stamps). */
  if (!stamps) {
    for (int n = 1; n <= 3; n++) {
      size_t tl;
      char *t = outlog_tail(path, backups, n, &tl);
      CHECK(t != NULL);
      size_t k = got.len;
      int seen = 0;
      while (k > 0 && seen < n) {
        k--;
        while (k > 0 && got.p[k - 1] != '\n')
          k--;
        seen++;
      }
      CHECK(tl == got.len - k && memcmp(t, got.p + k, tl) == 0);
      free(t);
    }
  }
  free(stream.p);
  free(want.p);
  free(got.p);
  return 0;
}
