/* SPDX-License-Identifier: MIT */
/*
 * The corpus of one fuzz target, replayed as a Criterion test: every file
 * of fuzz/corpus/NAME (the seeds, and every input that once crashed a
 * target, kept as regress-*) goes through the target's
 * LLVMFuzzerTestOneInput, in the normal and the ASan build alike, with no
 * fuzzer. A crash or a failed CHECK fails the test and names the file.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"

static char current[4096];

/* Say which input it was before dying. */
static void on_fatal(int sig) {
  static const char pre[] = "fuzz replay: crashed on ";
  ssize_t k = write(2, pre, sizeof(pre) - 1);
  k = write(2, current, strlen(current));
  k = write(2, "\n", 1);
  (void)k;
  signal(sig, SIG_DFL);
  raise(sig);
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
static void on_asan_death(void) { on_fatal(0); }
#endif

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

Test(fuzz, corpus_replays_clean) {
  const char *dir = getenv("FUZZ_CORPUS");
  cr_assert(dir != NULL, "FUZZ_CORPUS is not set: run through meson test");
  signal(SIGABRT, on_fatal);
  signal(SIGSEGV, on_fatal);
  signal(SIGBUS, on_fatal);
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback(on_asan_death);
#endif
  struct dirent **names;
  int n = scandir(dir, &names, NULL, by_name);
  cr_assert(n >= 0, "%s: cannot list", dir);
  int done = 0;
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      snprintf(current, sizeof(current), "%s/%s", dir, names[i]->d_name);
      FILE *f = fopen(current, "rb");
      cr_assert(f != NULL, "%s", current);
      static unsigned char buf[4 << 20];
      size_t len = fread(buf, 1, sizeof(buf), f);
      fclose(f);
      /* a copy of exactly len bytes: ASan sees reads past the input */
      unsigned char *in = malloc(len ? len : 1);
      memcpy(in, buf, len);
      LLVMFuzzerTestOneInput(in, len);
      free(in);
      done++;
    }
    free(names[i]);
  }
  free(names);
  cr_assert_gt(done, 0, "no input in %s", dir);
  cr_log_info("%d inputs from %s", done, dir);
}
