/* SPDX-License-Identifier: MIT */
/*
 * Resource use of process groups, from /proc: resident memory and CPU time
 * summed over every process in the group (a program's children count
 * too, which is what a user asking "how much does web use" means).
 */
#ifndef TEND_PROCSTAT_H
#define TEND_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int pgid;          /* in: the group (its leader's pid) */
  uint64_t rss;      /* out: bytes */
  uint64_t cpu_ns;   /* out: user + system time, nanoseconds */
  int nprocs;        /* out: processes found in the group */
} procstat_t;

/* Fill every entry of groups in one pass over /proc. 0 or a negative
 * errno. */
int procstat_collect(procstat_t *groups, size_t n);

/* The live processes whose process group or session is id (a program's
 * leader pid): what a program left behind. Up to max pids; returns how
 * many, or a negative errno. */
int procstat_members(int id, int *pids, size_t max);

#endif
