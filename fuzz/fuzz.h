/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets (fuzz_*.c): each defines the libFuzzer entry
 * point, built two ways: with clang's -fsanitize=fuzzer for fuzzing
 * (./dev.sh fuzz), and with replay.c, a Criterion test that runs every file
 * of fuzz/corpus/NAME through it in every build (gcc too).
 */
#ifndef TEND_FUZZ_H
#define TEND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle that holds whatever NDEBUG says: a failure is a crash, which
 * is what a fuzzer reports. */
#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
      abort();                                                                          \
    }                                                                                   \
  } while (0)

#endif
