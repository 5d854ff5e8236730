/* SPDX-License-Identifier: MIT */
/* Lines of a descriptor, read on demand: plain reads of a file, polled
 * reads of a pipe, a last line without a newline, CRLF, long lines. */
#include "core/lines.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A file holding text, opened for reading. */
static int file_with(const char *text, size_t n) {
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(text, 1, n, f), n);
  fflush(f);
  int fd = dup(fileno(f));
  fclose(f);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* text read from a file, with flags, gives the lines want and no more. */
static void expect_lines(const char *text, int flags, const char *const *want, int n) {
  int fd = file_with(text, strlen(text));
  tend_lines_t L = {0};
  cr_assert_eq(lines_open(&L, NULL, fd, flags, NULL), 0);
  char *line;
  for (int i = 0; i < n; i++) {
    cr_assert_eq(lines_next(&L, &line), 1, "line %d", i);
    cr_assert_str_eq(line, want[i]);
  }
  cr_assert_eq(lines_next(&L, &line), -1);
  cr_assert_eq(lines_next(&L, &line), -1, "the end stays the end");
  cr_assert_eq(L.error, 0);
  cr_assert(L.eof);
  lines_close(&L);
  lines_close(&L); /* twice is harmless */
  close(fd);
}

Test(lines, a_file_read_directly) {
  const char *want[] = {"one", "two\r", "", "last"};
  expect_lines("one\ntwo\r\n\nlast", 0, want, 4);
}

Test(lines, crlf_stripped_when_asked) {
  const char *want[] = {"a", "b", "", "c", "d"};
  expect_lines("a\r\nb\r\n\r\nc\r\nd\r", LINES_STRIP_CR, want, 5);
}

Test(lines, no_descriptor_no_lines) {
  tend_lines_t L = {0};
  char *line;
  cr_assert_eq(lines_open(&L, NULL, -1, 0, NULL), 0);
  cr_assert_eq(lines_next(&L, &line), -1);
  lines_close(&L);
  tend_lines_t Z = {0};
  lines_close(&Z); /* never opened */
}

Test(lines, a_long_line_grows_the_buffer) {
  size_t n = 300 * 1024;
  char *text = malloc(n + 3);
  memset(text, 'x', n);
  memcpy(text + n, "\ny", 3);
  int fd = file_with(text, n + 2);
  tend_lines_t L = {0};
  cr_assert_eq(lines_open(&L, NULL, fd, 0, NULL), 0);
  char *line;
  cr_assert_eq(lines_next(&L, &line), 1);
  cr_assert_eq(strlen(line), n);
  cr_assert_eq(lines_next(&L, &line), 1);
  cr_assert_str_eq(line, "y");
  cr_assert_eq(lines_next(&L, &line), -1);
  lines_close(&L);
  close(fd);
  free(text);
}

/* A pipe, polled: lines as they come, the writer in pieces. */
struct polled {
  tend_lines_t L;
  int wfd;
  int step;
  char got[8][16];
  int ngot;
  bool done;
};

static void drain(tend_lines_t *L) {
  struct polled *p = L->data;
  static const char *const pieces[] = {"al", "pha\nbe", "ta\ngam", "ma"};
  char *line;
  int r;
  while ((r = lines_next(L, &line)) == 1)
    snprintf(p->got[p->ngot++], sizeof(p->got[0]), "%s", line);
  if (r < 0) {
    p->done = true;
    lines_close(L);
    return;
  }
  if (p->step < 4) {
    cr_assert_eq(write(p->wfd, pieces[p->step], strlen(pieces[p->step])),
                 (ssize_t)strlen(pieces[p->step]));
    if (++p->step == 4)
      close(p->wfd);
  }
  lines_wait(L);
}

Test(lines, a_pipe_polled_on_the_loop) {
  uv_loop_t loop;
  cr_assert_eq(uv_loop_init(&loop), 0);
  int fds[2];
  cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
  struct polled p = {.wfd = fds[1]};
  p.L.data = &p;
  cr_assert_eq(lines_open(&p.L, &loop, fds[0], LINES_POLL, drain), 0);
  int fl = fcntl(fds[0], F_GETFL);
  drain(&p.L);
  cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  cr_assert(p.done);
  cr_assert_eq(p.ngot, 3);
  cr_assert_str_eq(p.got[0], "alpha");
  cr_assert_str_eq(p.got[1], "beta");
  cr_assert_str_eq(p.got[2], "gamma");
  cr_assert_eq(p.L.error, 0);
  cr_assert_eq(fcntl(fds[0], F_GETFL), fl, "our own descriptor was polled, not the shared one");
  cr_assert_null(p.L.buf, "freed with the handle");
  cr_assert_eq(uv_loop_close(&loop), 0);
  close(fds[0]);
}
