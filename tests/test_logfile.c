/* SPDX-License-Identifier: MIT */
/*
 * src/http/logfile.c against supervisord itself: for a set of files and
 * (offset, length) pairs, Debian's /usr/bin/python3 runs
 * supervisor.options.readFile and tailFile (with rpcinterface's answers
 * for a missing file) and the bytes, offsets, flags and errors must be the
 * same. as_string is replaced by the identity there so that bytes which
 * are not UTF-8 compare too.
 */
#include "http/logfile.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *py_script =
    "import os, sys\n"
    "import supervisor.options as o\n"
    "o.as_string = lambda b: b\n"
    "def rd(p, off, ln):\n"
    "    if not os.path.exists(p):\n"
    "        return 'NO_FILE'\n"
    "    try:\n"
    "        return 'x' + o.readFile(p, off, ln).hex()\n"
    "    except ValueError as e:\n"
    "        return e.args[0]\n"
    "def tl(p, off, ln):\n"
    "    if not os.path.exists(p):\n"
    "        d, no, ov = b'', 0, False\n"
    "    else:\n"
    "        d, no, ov = o.tailFile(p, off, ln)\n"
    "    if isinstance(d, str):\n"
    "        d = d.encode()\n"
    "    return 'x%s %d %d' % (d.hex(), no, ov)\n"
    "for line in sys.stdin:\n"
    "    p, off, ln = line.split()\n"
    "    print('R', rd(p, int(off), int(ln)), 'T', tl(p, int(off), int(ln)))\n";

static const char *err_name(int r) {
  switch (r) {
  case -ENOENT:
    return "NO_FILE";
  case -EINVAL:
    return "BAD_ARGUMENTS";
  case -EIO:
    return "FAILED";
  default:
    return "?";
  }
}

static void hex_append(tend_buf_t *b, const char *data, size_t len) {
  char h[3];
  for (size_t i = 0; i < len; i++) {
    snprintf(h, sizeof(h), "%02x", (unsigned char)data[i]);
    tend_buf_append(b, h, 2);
  }
}

/* The line the Python script prints for one case, from logfile.c. */
static void c_line(tend_buf_t *line, const char *path, int64_t off, int64_t len) {
  tend_buf_t data = {0};
  int r = logfile_read(path, off, len, &data);
  tend_buf_append(line, "R ", 2);
  if (r == 0) {
    tend_buf_append(line, "x", 1);
    hex_append(line, data.data, data.len);
  } else {
    tend_buf_append(line, err_name(r), strlen(err_name(r)));
    cr_assert_eq(data.len, 0, "bytes appended on error %d", r);
  }
  data.len = 0;
  int64_t no = -7;
  bool ov = true;
  r = logfile_tail(path, off, len, &data, &no, &ov);
  cr_assert(r != -ENOMEM);
  tend_buf_append(line, " T x", 4);
  hex_append(line, data.data, data.len);
  char tail[64];
  snprintf(tail, sizeof(tail), " %lld %d\n", (long long)no, ov ? 1 : 0);
  tend_buf_append(line, tail, strlen(tail));
  tend_buf_free(&data);
}

static void write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(fd >= 0);
  cr_assert(write(fd, data, len) == (ssize_t)len);
  close(fd);
}

TestSuite(logfile, .timeout = 60);

Test(logfile, same_as_supervisord) {
  const char *python = tu_python();
  char *dir = tu_tmpdir();
  char *files[6];
  files[0] = tu_fmt("%s/empty", dir);
  files[1] = tu_fmt("%s/one", dir);
  files[2] = tu_fmt("%s/text", dir);
  files[3] = tu_fmt("%s/binary", dir);
  files[4] = tu_fmt("%s/missing", dir);
  files[5] = tu_fmt("%s/sub", dir);
  write_file(files[0], "", 0);
  write_file(files[1], "a", 1);
  char text[100], bin[3000];
  for (size_t i = 0; i < sizeof(text); i++)
    text[i] = i % 10 == 9 ? '\n' : (char)('a' + i % 26);
  for (size_t i = 0; i < sizeof(bin); i++)
    bin[i] = (char)(i * 7 % 256); /* not UTF-8: every byte value */
  write_file(files[2], text, sizeof(text));
  write_file(files[3], bin, sizeof(bin));
  cr_assert(mkdir(files[5], 0755) == 0);
  static const int64_t offs[] = {-5000, -3001, -3000, -2999, -1024, -101, -100, -99, -1,
                                 0,     1,     50,    98,    99,    100,   101, 1024, 2999,
                                 3000,  3001,  5000,  (int64_t)1 << 40};
  static const int64_t lens[] = {-100, -1, 0, 1, 2, 10, 99, 100, 101, 1024, 2999, 3000, 6000};
  tend_buf_t in = {0}, want = {0};
  size_t ncases = 0;
  for (size_t f = 0; f < 6; f++)
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
      for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
        char *l = tu_fmt("%s %lld %lld\n", files[f], (long long)offs[i], (long long)lens[j]);
        tend_buf_append(&in, l, strlen(l));
        free(l);
        c_line(&want, files[f], offs[i], lens[j]);
        ncases++;
      }
  char *argv[] = {(char *)python, "-c", (char *)py_script, NULL};
  tu_result_t r;
  tu_run(argv, in.data, in.len, 30000, &r);
  if (r.exit_code != 0 && strstr(r.err, "No module named 'supervisor'") != NULL) {
    tu_rmdir(dir);
    cr_skip("SKIPPED: Python's supervisor module is missing (%s -c 'import supervisor'): "
            "install Debian's supervisor package, as dev.sh does", python);
  }
  cr_assert_eq(r.exit_code, 0, "python: %s", r.err);
  /* Line by line, to name the first case that differs. */
  const char *a = want.data, *b = r.out, *c = in.data;
  size_t n = 0;
  tend_buf_append(&want, "", 1);
  for (; n < ncases; n++) {
    size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n"), lc = strcspn(c, "\n");
    cr_assert(la == lb && memcmp(a, b, la) == 0,
              "case %.*s:\n  tend:         %.*s\n  supervisord:  %.*s", (int)lc, c,
              (int)(la > 300 ? 300 : la), a, (int)(lb > 300 ? 300 : lb), b);
    a += la + 1;
    b += lb + 1;
    c += lc + 1;
  }
  cr_expect_eq(*b, '\0', "python printed more lines");
  tu_result_free(&r);
  tend_buf_free(&in);
  tend_buf_free(&want);
  for (size_t f = 0; f < 6; f++)
    free(files[f]);
  tu_rmdir(dir);
}

/* What Python would block on or read from a device is refused at once. */
Test(logfile, fifo_is_failed_without_blocking) {
  char *dir = tu_tmpdir();
  char *fifo = tu_fmt("%s/fifo", dir);
  cr_assert(mkfifo(fifo, 0644) == 0);
  tend_buf_t b = {0};
  cr_expect_eq(logfile_read(fifo, 0, 10, &b), -EIO);
  int64_t no;
  bool ov = true;
  cr_expect_eq(logfile_tail(fifo, 5, 10, &b, &no, &ov), -EIO);
  cr_expect_eq(no, 5);
  cr_expect(!ov);
  cr_expect_eq(logfile_read("/dev/zero", 0, 0, &b), -EIO);
  cr_expect_eq(b.len, 0);
  free(fifo);
  tu_rmdir(dir);
}

/* Data appended to a buffer that already holds some. */
Test(logfile, appends_to_out) {
  char *dir = tu_tmpdir();
  char *p = tu_fmt("%s/f", dir);
  write_file(p, "0123456789", 10);
  tend_buf_t b = {0};
  tend_buf_append(&b, "<", 1);
  cr_assert_eq(logfile_read(p, -3, 0, &b), 0);
  int64_t no;
  bool ov;
  cr_assert_eq(logfile_tail(p, 2, 4, &b, &no, &ov), 0);
  cr_expect_eq(b.len, 8);
  cr_expect(memcmp(b.data, "<7896789", 8) == 0, "%.*s", (int)b.len, b.data);
  cr_expect_eq(no, 10);
  cr_expect(ov);
  tend_buf_free(&b);
  free(p);
  tu_rmdir(dir);
}
