/* SPDX-License-Identifier: MIT */
/* Child output logs: line splitting over arbitrary chunk boundaries, size
 * rotation that keeps every line exactly once, long-line cutting, external
 * rotation (mv + reopen, copytruncate), failure streaks and tail. */
#include "supervisor/outlog.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* PATH.i, a backup's name. */
static char *numbered(const char *path, int i) {
  char *p;
  cr_assert(asprintf(&p, "%s.%d", path, i) >= 0);
  return p;
}

static char *join(const char *dir, const char *name) {
  char *p;
  cr_assert(asprintf(&p, "%s/%s", dir, name) >= 0);
  return p;
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void expect_file(const char *path, const char *want) {
  size_t len;
  char *got = tu_read_file(path, &len);
  cr_assert_not_null(got, "%s missing", path);
  cr_assert_eq(len, strlen(want), "%s: %zu bytes, want %zu", path, len, strlen(want));
  cr_assert(memcmp(got, want, len) == 0, "%s: got \"%s\", want \"%s\"", path, got, want);
  free(got);
}

/* Lines of varied lengths, empty ones included, deterministic. */
static char *make_text(size_t *len, int nlines, unsigned seed) {
  size_t cap = (size_t)nlines * 200 + 1, o = 0;
  char *t = malloc(cap);
  cr_assert_not_null(t);
  srand(seed);
  for (int i = 0; i < nlines; i++) {
    int w = rand() % 7 == 0 ? 0 : rand() % 180;
    o += (size_t)snprintf(t + o, cap - o, "%d:", i);
    for (int k = 0; k < w; k++)
      t[o++] = (char)('a' + (i + k) % 26);
    t[o++] = '\n';
  }
  *len = o;
  return t;
}

static void write_chunked(outlog_t *l, const char *data, size_t len, size_t maxchunk) {
  size_t o = 0;
  while (o < len) {
    size_t k = maxchunk == 1 ? 1 : 1 + (size_t)rand() % maxchunk;
    if (k > len - o)
      k = len - o;
    cr_assert_eq(outlog_write(l, data + o, k), 0);
    o += k;
  }
}

static void check_chunking(size_t maxchunk, unsigned seed) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "c.log");
  size_t len;
  char *text = make_text(&len, 3000, seed);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  /* The text ends in mid-line: the tail must wait for the flush. */
  write_chunked(&l, text, len, maxchunk);
  cr_assert_eq(outlog_write(&l, "tail-without-newline", 20), 0);
  outlog_close(&l);
  cr_assert_eq(l.lines, 3001);
  cr_assert_eq(l.dropped, 0);
  size_t glen;
  char *got = tu_read_file(path, &glen);
  cr_assert_eq(glen, len + 21);
  cr_assert(memcmp(got, text, len) == 0, "content differs (maxchunk %zu)", maxchunk);
  cr_assert(memcmp(got + len, "tail-without-newline\n", 21) == 0);
  free(got);
  free(text);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, one_byte_chunks_are_reassembled) {
  check_chunking(1, 1);
}

Test(outlog, random_chunks_are_reassembled) {
  check_chunking(7, 2);
  check_chunking(300, 3);
  check_chunking(70000, 4);
}

Test(outlog, creates_parents_and_appends_to_existing) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "a/b//c/x.log");
  umask(022);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  cr_assert_eq(outlog_write(&l, "first\n", 6), 0);
  outlog_close(&l);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0644);
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  cr_assert_eq(l.size, 6, "size comes from the existing file");
  cr_assert_eq(outlog_write(&l, "second\n", 7), 0);
  cr_assert_eq(fcntl(l.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  outlog_close(&l);
  expect_file(path, "first\nsecond\n");
  free(path);
  tu_rmdir(dir);
}

Test(outlog, rotation_keeps_every_line_once_in_order) {
  const int nlines = 100000, backups = 200;
  const uint64_t maxbytes = 64 * 1024;
  char *dir = tu_tmpdir();
  char *path = join(dir, "r.log");
  size_t cap = (size_t)nlines * 64, o = 0;
  char *text = malloc(cap);
  for (int i = 0; i < nlines; i++) {
    o += (size_t)snprintf(text + o, cap - o, "%d ", i);
    for (int k = 0; k < i % 41; k++)
      text[o++] = 'x';
    text[o++] = '\n';
  }
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, maxbytes, backups), 0);
  srand(5);
  write_chunked(&l, text, o, 20000);
  outlog_close(&l);
  cr_assert_eq(l.lines, (uint64_t)nlines);
  cr_assert_eq(l.dropped, 0);

  int oldest = 0;
  while (oldest < backups) {
    char *p = numbered(path, oldest + 1);
    bool e = exists(p);
    free(p);
    if (!e)
      break;
    oldest++;
  }
  cr_assert_gt(oldest, 20, "only %d rotations", oldest);
  cr_assert_lt(oldest, backups, "the test needs room for every file");
  int next = 0;
  for (int f = oldest; f >= 0; f--) {
    char *p = f == 0 ? strdup(path) : numbered(path, f);
    size_t len;
    char *s = tu_read_file(p, &len);
    cr_assert_not_null(s);
    cr_assert_leq(len, maxbytes, "%s has %zu bytes", p, len);
    /* Only the live file may be far from full. */
    cr_assert(f == 0 || len > maxbytes - 64, "%s rotated early at %zu bytes", p, len);
    cr_assert(len > 0 && s[len - 1] == '\n', "%s ends in mid-line", p);
    for (char *q = s; q < s + len;) {
      char *end;
      long v = strtol(q, &end, 10);
      cr_assert_eq(v, next, "%s: line %ld where %d was due", p, v, next);
      cr_assert_eq(*end, ' ');
      char *nl = memchr(q, '\n', (size_t)(s + len - q));
      cr_assert_eq(nl - end - 1, next % 41, "line %d damaged", next);
      next++;
      q = nl + 1;
    }
    free(s);
    free(p);
  }
  cr_assert_eq(next, nlines);
  free(text);
  free(path);
  tu_rmdir(dir);
}

/* Write system calls made by this process so far (writev counts once). */
static long write_calls(void) {
  char buf[512];
  int fd = open("/proc/self/io", O_RDONLY);
  cr_assert_geq(fd, 0);
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  cr_assert_gt(n, 0);
  buf[n] = '\0';
  const char *p = strstr(buf, "syscw: ");
  cr_assert_not_null(p);
  return atol(p + 7);
}

Test(outlog, lines_of_a_chunk_go_out_in_one_write_per_file) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "batch.log");
  size_t len;
  char *text = make_text(&len, 2000, 11);
  outlog_t l;
  /* A partial line first, so the batch also carries the kept bytes. */
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  cr_assert_eq(outlog_write(&l, "head", 4), 0);
  long before = write_calls();
  cr_assert_eq(outlog_write(&l, text, len), 0);
  long calls = write_calls() - before;
  cr_assert_eq(calls, 1, "%ld write calls for one chunk", calls);
  outlog_close(&l);
  /* Across a rotation: one call per file. */
  tu_rmdir(dir);
  dir = tu_tmpdir();
  free(path);
  path = join(dir, "batch.log");
  cr_assert_eq(outlog_open(&l, path, len / 2 + 200, 1), 0);
  before = write_calls();
  cr_assert_eq(outlog_write(&l, text, len), 0);
  calls = write_calls() - before;
  cr_assert_eq(calls, 2, "%ld write calls for one chunk over two files", calls);
  outlog_close(&l);
  free(text);
  free(path);
  tu_rmdir(dir);
}

static void write_numbered(outlog_t *l, int from, int to, int width) {
  for (int i = from; i < to; i++) {
    char line[256];
    int n = snprintf(line, sizeof(line), "%0*d\n", width - 1, i);
    cr_assert_eq(outlog_write(l, line, (size_t)n), 0);
  }
}

Test(outlog, backups_limit_drops_the_oldest) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "b.log");
  outlog_t l;
  /* 50-byte lines, two per file. */
  cr_assert_eq(outlog_open(&l, path, 100, 2), 0);
  write_numbered(&l, 0, 10, 50);
  outlog_close(&l);
  char *p1 = numbered(path, 1), *p2 = numbered(path, 2);
  char *p3 = numbered(path, 3);
  char want[3][128];
  for (int f = 0; f < 3; f++) {
    int a = 8 - 2 * f;
    snprintf(want[f], sizeof(want[f]), "%049d\n%049d\n", a, a + 1);
  }
  expect_file(path, want[0]);
  expect_file(p1, want[1]);
  expect_file(p2, want[2]);
  cr_assert(!exists(p3));
  free(p1);
  free(p2);
  free(p3);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, no_backups_truncates) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "t.log");
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 100, 0), 0);
  write_numbered(&l, 0, 5, 40);
  cr_assert_eq(l.size, 40);
  outlog_close(&l);
  char want[64];
  snprintf(want, sizeof(want), "%039d\n", 4);
  expect_file(path, want);
  char *p1 = numbered(path, 1);
  cr_assert(!exists(p1));
  free(p1);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, line_larger_than_maxbytes_goes_to_an_empty_file) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "big.log");
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 10, 5), 0);
  /* The first line is written as is: rotating the empty file would only
   * make an empty backup. */
  const char *in = "0123456789abcdef\nabc\n0123456789ABCDEF\nxyz\n";
  cr_assert_eq(outlog_write(&l, in, strlen(in)), 0);
  outlog_close(&l);
  const char *want[] = {"xyz\n", "0123456789ABCDEF\n", "abc\n", "0123456789abcdef\n"};
  for (int i = 0; i < 4; i++) {
    char *p = i == 0 ? strdup(path) : numbered(path, i);
    expect_file(p, want[i]);
    free(p);
  }
  char *p4 = numbered(path, 4);
  cr_assert(!exists(p4));
  free(p4);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, long_line_is_cut_into_max_line_pieces) {
  const size_t n = 200 * 1024;
  char *dir = tu_tmpdir();
  char *path = join(dir, "long.log");
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (char)('A' + i % 23);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  /* In uneven chunks, without a newline: three whole pieces go out, the
   * rest waits. */
  srand(9);
  write_chunked(&l, big, n, 30000);
  cr_assert_eq(l.lines, 3);
  cr_assert_eq(l.partial_len, n - 3 * OUTLOG_MAX_LINE);
  cr_assert_eq(outlog_flush(&l), 0);
  cr_assert_eq(l.lines, 4);
  /* A line of exactly OUTLOG_MAX_LINE bytes stays whole, in one chunk too. */
  cr_assert_eq(outlog_write(&l, big, OUTLOG_MAX_LINE), 0);
  cr_assert_eq(outlog_write(&l, "\n", 1), 0);
  char *one = malloc(OUTLOG_MAX_LINE + 1);
  memcpy(one, big, OUTLOG_MAX_LINE);
  one[OUTLOG_MAX_LINE] = '\n';
  cr_assert_eq(outlog_write(&l, one, OUTLOG_MAX_LINE + 1), 0);
  cr_assert_eq(l.lines, 6);
  outlog_close(&l);
  size_t len;
  char *got = tu_read_file(path, &len);
  cr_assert_eq(len, n + 4 + 2 * (OUTLOG_MAX_LINE + 1));
  size_t at = 0, piece = 0;
  for (size_t i = 0; i < 4; i++) {
    size_t want = i < 3 ? OUTLOG_MAX_LINE : n - 3 * OUTLOG_MAX_LINE;
    cr_assert(memcmp(got + at, big + piece, want) == 0, "piece %zu differs", i);
    cr_assert_eq(got[at + want], '\n', "piece %zu has %zu bytes?", i, want);
    at += want + 1;
    piece += want;
  }
  for (int i = 0; i < 2; i++) {
    cr_assert(memcmp(got + at, one, OUTLOG_MAX_LINE + 1) == 0);
    at += OUTLOG_MAX_LINE + 1;
  }
  free(got);
  free(one);
  free(big);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, partial_line_waits_for_newline_or_flush) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "p.log");
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  cr_assert_eq(outlog_write(&l, "abc", 3), 0);
  expect_file(path, "");
  cr_assert_eq(outlog_write(&l, "de\nfg", 5), 0);
  expect_file(path, "abcde\n");
  cr_assert_eq(outlog_flush(&l), 0);
  expect_file(path, "abcde\nfg\n");
  cr_assert_eq(outlog_flush(&l), 0);
  cr_assert_eq(outlog_write(&l, "h", 1), 0);
  outlog_close(&l);
  expect_file(path, "abcde\nfg\nh\n");
  free(path);
  tu_rmdir(dir);
}

Test(outlog, reopen_after_mv_writes_to_the_new_file) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "m.log");
  char *moved = join(dir, "m.log.moved");
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  cr_assert_eq(outlog_write(&l, "one\n", 4), 0);
  cr_assert_eq(rename(path, moved), 0);
  cr_assert_eq(outlog_write(&l, "two\nthr", 7), 0);
  cr_assert_eq(outlog_reopen(&l), 0);
  cr_assert_eq(l.size, 0);
  cr_assert_eq(outlog_write(&l, "ee\nfour\n", 8), 0);
  outlog_close(&l);
  expect_file(moved, "one\ntwo\n");
  expect_file(path, "three\nfour\n");
  free(moved);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, copytruncate_is_detected) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "ct.log");
  char *p1 = numbered(path, 1);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 1000, 3), 0);
  write_numbered(&l, 0, 9, 100);
  cr_assert_eq(l.size, 900);
  cr_assert_eq(truncate(path, 0), 0);
  /* Without the check, 900 + 200 > 1000 would rotate a nearly empty file. */
  char line[201];
  memset(line, 'z', 200);
  line[199] = '\n';
  line[200] = '\0';
  cr_assert_eq(outlog_write(&l, line, 200), 0);
  cr_assert_eq(l.size, 200);
  cr_assert(!exists(p1), "rotated after copytruncate");
  outlog_close(&l);
  expect_file(path, line);
  free(p1);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, open_failure_streak_then_resume) {
  char *dir = tu_tmpdir();
  char *sub = join(dir, "sub");
  char *path = join(dir, "sub/o.log");
  int fd = open(sub, O_WRONLY | O_CREAT, 0644);
  cr_assert_geq(fd, 0);
  close(fd);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), -ENOTDIR);
  cr_assert_eq(l.last_error, -ENOTDIR);
  /* Reported by the open already: the writes stay quiet. */
  cr_assert_eq(outlog_write(&l, "lost1\nlost2\n", 12), 0);
  cr_assert_eq(outlog_write(&l, "lost3\npart", 10), 0);
  cr_assert_eq(l.dropped, 3);
  cr_assert_eq(unlink(sub), 0);
  cr_assert_eq(mkdir(sub, 0755), 0);
  cr_assert_eq(outlog_write(&l, "ial\n", 4), 0);
  cr_assert_eq(l.last_error, 0);
  cr_assert_eq(l.dropped, 3);
  outlog_close(&l);
  expect_file(path, "partial\n");
  free(path);
  free(sub);
  tu_rmdir(dir);
}

Test(outlog, write_failure_reported_once_and_resumes) {
  char *dir = tu_tmpdir();
  char *sub = join(dir, "sub");
  char *path = join(dir, "sub/w.log");
  char *p1 = numbered(path, 1);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 10, 1), 0);
  cr_assert_eq(outlog_write(&l, "12345678\n", 9), 0);
  /* The directory goes away and a regular file takes its name: the
   * rotation this line needs cannot open a new file. */
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(rmdir(sub), 0);
  int fd = open(sub, O_WRONLY | O_CREAT, 0644);
  cr_assert_geq(fd, 0);
  close(fd);
  cr_assert_eq(outlog_write(&l, "a\nb\n", 4), -ENOTDIR);
  cr_assert_eq(l.last_error, -ENOTDIR);
  cr_assert_eq(l.fd, -1);
  cr_assert_eq(outlog_write(&l, "c\n", 2), 0, "the streak is reported once");
  cr_assert_eq(outlog_write(&l, "d\n", 2), 0);
  cr_assert_eq(l.dropped, 4);
  cr_assert_eq(l.lines, 1);
  /* Cause gone: the next write opens again, creating the directory. */
  cr_assert_eq(unlink(sub), 0);
  cr_assert_eq(outlog_write(&l, "e\n", 2), 0);
  cr_assert_eq(l.last_error, 0);
  cr_assert_eq(l.dropped, 4);
  /* A new streak is reported again. */
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(rmdir(sub), 0);
  fd = open(sub, O_WRONLY | O_CREAT, 0644);
  close(fd);
  cr_assert_eq(outlog_reopen(&l), -ENOTDIR);
  cr_assert_eq(outlog_write(&l, "f\n", 2), 0);
  cr_assert_eq(unlink(sub), 0);
  cr_assert_eq(outlog_write(&l, "g\n", 2), 0);
  cr_assert_eq(outlog_write(&l, "12345678\n", 9), 0);
  outlog_close(&l);
  cr_assert_eq(l.dropped, 5);
  expect_file(p1, "g\n");
  expect_file(path, "12345678\n");
  free(p1);
  free(path);
  free(sub);
  tu_rmdir(dir);
}

Test(outlog, disk_full_reported_once_and_resumes) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "full.log");
  cr_assert_eq(symlink("/dev/full", path), 0);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 100, 2), 0);
  cr_assert_eq(outlog_write(&l, "x\ny\n", 4), -ENOSPC);
  cr_assert_eq(outlog_write(&l, "z\n", 2), 0);
  cr_assert_eq(l.dropped, 3);
  cr_assert_eq(l.last_error, -ENOSPC);
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(outlog_write(&l, "ok\n", 3), 0);
  cr_assert_eq(l.last_error, 0);
  outlog_close(&l);
  expect_file(path, "ok\n");
  free(path);
  tu_rmdir(dir);
}

Test(outlog, short_write_keeps_whole_lines_only) {
  /* A file size limit makes the kernel write part of the batch and then
   * fail, as a disk filling up does. Criterion runs each test in its own
   * process, so the limit goes away with it. */
  char *dir = tu_tmpdir();
  char *path = join(dir, "short.log");
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {.rlim_cur = 1000, .rlim_max = RLIM_INFINITY};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 0), 0);
  char text[40 * 30 + 1];
  for (int i = 0; i < 40; i++)
    snprintf(text + i * 30, 31, "%029d\n", i);
  cr_assert_eq(outlog_write(&l, text, 40 * 30), -EFBIG);
  /* 1000 bytes went out: 33 whole lines, and 10 bytes of the 34th that
   * must not stay in the file. */
  cr_assert_eq(l.lines, 33);
  cr_assert_eq(l.dropped, 7);
  cr_assert_eq(l.size, 990);
  rl.rlim_cur = RLIM_INFINITY;
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  cr_assert_eq(outlog_write(&l, "next\n", 5), 0);
  outlog_close(&l);
  text[990] = '\0';
  size_t len;
  char *got = tu_read_file(path, &len);
  cr_assert_eq(len, 995);
  cr_assert(memcmp(got, text, 990) == 0);
  cr_assert(memcmp(got + 990, "next\n", 5) == 0);
  free(got);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, device_is_never_rotated) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "null.log");
  char *p1 = numbered(path, 1);
  cr_assert_eq(symlink("/dev/null", path), 0);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 100, 3), 0);
  write_numbered(&l, 0, 100, 30);
  outlog_close(&l);
  cr_assert_eq(l.lines, 100);
  cr_assert(!exists(p1), "/dev/null was rotated");
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISLNK(st.st_mode));
  free(p1);
  free(path);
  tu_rmdir(dir);
}

/* stdout_logfile = /dev/stdout, as container users write it: the daemon's
 * own descriptor, duplicated (its offset shared: a file a shell opened
 * with '>' is not overwritten), never rotated, lines prefixed. */
Test(outlog, daemon_stdout_is_shared_never_rotated_and_prefixed) {
  cr_assert_eq(outlog_stdio_fd("/dev/stdout"), 1);
  cr_assert_eq(outlog_stdio_fd("/proc/self/fd/2"), 2);
  cr_assert_eq(outlog_stdio_fd("/dev/fd/2"), 2);
  cr_assert_eq(outlog_stdio_fd("/dev/stdout.log"), 0);
  char *dir = tu_tmpdir();
  char *path = join(dir, "out");
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* no O_APPEND, as '>' */
  cr_assert(fd >= 0);
  int saved = dup(1);
  cr_assert(dup2(fd, 1) == 1);
  close(fd);
  cr_assert_eq(write(1, "before\n", 7), 7);
  outlog_t l;
  cr_assert_eq(outlog_open(&l, "/dev/stdout", 10, 2), 0);
  cr_assert_eq(outlog_set_prefix(&l, "web | "), 0);
  cr_assert_eq(outlog_write(&l, "one\ntwo\nthr", 11), 0);
  cr_assert_eq(outlog_write(&l, "ee\n", 3), 0);
  cr_assert_eq(write(1, "after\n", 6), 6);
  outlog_close(&l);
  cr_assert(dup2(saved, 1) == 1);
  close(saved);
  expect_file(path, "before\nweb | one\nweb | two\nweb | three\nafter\n");
  cr_assert_eq(l.lines, 3);
  struct stat st;
  cr_assert_eq(lstat("/dev/stdout", &st), 0, "the device's link is where it was");
  free(path);
  tu_rmdir(dir);
}

Test(outlog, tail_within_one_file) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "tail.log");
  outlog_t l;
  cr_assert_eq(outlog_open(&l, path, 0, 3), 0);
  write_numbered(&l, 0, 10, 3);
  size_t len;
  char *t = outlog_tail(path, 3, 3, &len);
  cr_assert_not_null(t);
  cr_assert_str_eq(t, "07\n08\n09\n");
  cr_assert_eq(len, 9);
  free(t);
  t = outlog_tail(path, 3, 50, &len);
  cr_assert_eq(len, 30);
  cr_assert(strncmp(t, "00\n01\n", 6) == 0);
  free(t);
  t = outlog_tail(path, 3, 0, &len);
  cr_assert_str_eq(t, "");
  free(t);
  /* Someone else left a last line without its newline. */
  cr_assert_eq(outlog_write(&l, "last", 4), 0);
  outlog_close(&l);
  int fd = open(path, O_WRONLY | O_APPEND);
  cr_assert_eq(write(fd, "xx", 2), 2);
  close(fd);
  t = outlog_tail(path, 3, 2, &len);
  cr_assert_str_eq(t, "last\nxx");
  free(t);
  /* An older file cut off mid-line does not glue onto the newer one. */
  char *p1 = numbered(path, 1);
  fd = open(p1, O_WRONLY | O_CREAT, 0644);
  cr_assert_eq(write(fd, "old1\nold2", 9), 9);
  close(fd);
  t = outlog_tail(path, 3, 13, &len);
  cr_assert_str_eq(t, "old2\n00\n01\n02\n03\n04\n05\n06\n07\n08\n09\nlast\nxx");
  free(t);
  free(p1);
  t = outlog_tail("/nonexistent/tail.log", 3, 5, &len);
  cr_assert_not_null(t);
  cr_assert_eq(len, 0);
  free(t);
  free(path);
  tu_rmdir(dir);
}

Test(outlog, tail_across_backups_and_blocks) {
  char *dir = tu_tmpdir();
  char *path = join(dir, "tb.log");
  outlog_t l;
  /* 10-byte lines, 30 000 per file: 300 KB files, several read blocks. */
  cr_assert_eq(outlog_open(&l, path, 300000, 2), 0);
  write_numbered(&l, 0, 70000, 10);
  outlog_close(&l);
  size_t len;
  char *live = tu_read_file(path, &len);
  cr_assert_eq(len, 100000);
  free(live);
  for (int n = 1; n <= 90000; n = n * 3 + 7) {
    char *t = outlog_tail(path, 2, n, &len);
    cr_assert_not_null(t);
    int want = n < 70000 ? n : 70000;
    cr_assert_eq(len, (size_t)want * 10, "tail %d: %zu bytes", n, len);
    for (int i = 0; i < want; i++) {
      char line[16];
      snprintf(line, sizeof(line), "%09d\n", 70000 - want + i);
      cr_assert(memcmp(t + (size_t)i * 10, line, 10) == 0, "tail %d: line %d", n, i);
    }
    free(t);
  }
  /* With fewer backups asked for, older files are not read. */
  char *t = outlog_tail(path, 1, 90000, &len);
  cr_assert_eq(len, 40000 * 10);
  cr_assert(memcmp(t, "000030000\n", 10) == 0);
  free(t);
  free(path);
  tu_rmdir(dir);
}
