/* SPDX-License-Identifier: MIT */
/* Test helper: read lines from stdin, each must be the next number from 0;
 * print "count N" after N lines (argv[1]) and exit 0, or "BAD line value"
 * and exit 1. Reads what a pipe has, without waiting to fill a buffer
 * (unlike mawk, which holds the last lines of a pipe that stays open). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long want = argc > 1 ? atol(argv[1]) : 0;
  char line[64];
  long n = 0;
  while (fgets(line, sizeof(line), stdin) != NULL) {
    if (atol(line) != n) {
      printf("BAD %ld %s", n, line);
      return 1;
    }
    if (++n == want) {
      printf("count %ld\n", n);
      return 0;
    }
  }
  printf("EOF after %ld\n", n);
  return 1;
}
