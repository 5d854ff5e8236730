/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the config reader (src/config/config.c, config/ini.c and the
 * value, word and expansion parsers behind them). The input is written as
 * a config file in a private directory and loaded with tend_config_load,
 * as `tend daemon -c` and a reload do. Checked:
 *   - a load succeeds with no error, or fails with at least one, each
 *     naming the file ("FILE:..."), and the result is fully freed (ASan's
 *     leak check);
 *   - a loaded config is consistent: every process has a name, a command
 *     split into a non-empty argv, is found by its name, and equals
 *     itself; the programs are in start order;
 *   - loading the same bytes twice gives the same answer.
 *
 * [include] and [tend] include read other files through globs: an input
 * using them may not name a path outside the directory ('/', '..' or a %
 * expansion), or a fuzzer would read the whole file system (and block on
 * /dev/zero). Includes inside the directory are still fuzzed: a glob such
 * as '*.conf' reads the input itself, which is the include cycle check.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "tend/config.h"

static char dir[64], path[128];

static bool has_ci(const uint8_t *d, size_t n, const char *word) {
  size_t w = strlen(word);
  for (size_t i = 0; i + w <= n; i++)
    if (strncasecmp((const char *)d + i, word, w) == 0)
      return true;
  return false;
}

static bool write_file(const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return false;
  bool ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

/* Load and check; returns the load's result and how many programs/errors. */
static int load_and_check(size_t *nprog, size_t *nerr) {
  tend_config_t *c = NULL;
  tend_diag_t diag = {0};
  int r = tend_config_load(path, &c, &diag);
  *nprog = 0;
  *nerr = diag.nerrors;
  if (r == 0) {
    CHECK(c != NULL && diag.nerrors == 0);
    *nprog = c->nprograms;
    for (size_t i = 0; i < c->nprograms; i++) {
      const tend_program_t *p = &c->programs[i];
      CHECK(p->name != NULL && p->name[0] != '\0');
      CHECK(p->argv != NULL && p->argv[0] != NULL);
      CHECK(tend_config_find(c, p->name) == p);
      CHECK(tend_program_same(p, p));
      if (i > 0)
        CHECK(tend_program_cmp(&c->programs[i - 1], p) <= 0);
    }
    tend_config_free(c);
  } else {
    CHECK(c == NULL);
    CHECK(diag.nerrors > 0 || r == -ENOMEM);
    /* Every error names the file it is about. */
    for (size_t i = 0; i < diag.nerrors; i++)
      CHECK(strncmp(diag.errors[i], dir, strlen(dir)) == 0);
  }
  tend_diag_free(&diag);
  return r;
}

static void cleanup(void) {
  unlink(path);
  rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[0] == '\0') {
    snprintf(dir, sizeof(dir), "/tmp/tend-fuzz-config-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/tend.conf", dir);
    atexit(cleanup);
  }
  if (has_ci(data, size, "include") &&
      (memchr(data, '/', size) != NULL || memchr(data, '%', size) != NULL ||
       has_ci(data, size, "..")))
    return 0;
  if (!write_file(data, size))
    return 0;
  size_t p1, e1, p2, e2;
  int r1 = load_and_check(&p1, &e1);
  int r2 = load_and_check(&p2, &e2);
  CHECK(r1 == r2 && p1 == p2 && e1 == e2);
  return 0;
}
