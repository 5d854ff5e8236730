/* SPDX-License-Identifier: MIT */
/* Test helper: print the descriptors this process has open, one a line,
 * leaving out the one used to list them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return 2;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
      continue;
    printf("%s\n", e->d_name);
  }
  closedir(d);
  return 0;
}
