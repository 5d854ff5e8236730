/* SPDX-License-Identifier: MIT */
/*
 * What the daemon keeps about each supervised process, apart from the
 * supervisor (which has no use for it): the scratch marks of a name
 * selection, the CPU sample of the last status and how its children
 * ended (for the metrics page). A table keyed by the process's address;
 * an entry goes when the supervisor forgets the process.
 */
#ifndef TEND_DAEMON_PROCS_H
#define TEND_DAEMON_PROCS_H

#include <stddef.h>
#include <stdint.h>

#include "supervisor/supervisor.h"

/* How many children of a process ended one way: with exit code `code`,
 * or (signal not 0) killed by `signal`. */
typedef struct {
  int code;
  int signal;
  uint64_t n;
} dexit_t;

typedef struct {
  const sv_proc_t *proc; /* NULL: a free slot */
  unsigned mark;         /* the daemon's name selection: scratch */
  uint64_t cpu_sample_ns; /* group CPU time at the last status ... */
  uint64_t cpu_sample_at; /* ... and when (uv_hrtime) */
  dexit_t *exits;         /* malloc'd, sorted: signal, then code */
  size_t nexits;
} dproc_t;

typedef struct {
  dproc_t *slots; /* open addressing, linear probing */
  size_t cap, n;
} dprocs_t;

/* p's entry, added (zeroed) when new; NULL when out of memory. Valid
 * until the next dprocs_get or dprocs_drop. */
dproc_t *dprocs_get(dprocs_t *t, const sv_proc_t *p);
/* p's entry, or NULL when it has none. */
dproc_t *dprocs_find(const dprocs_t *t, const sv_proc_t *p);
/* One more child of e's process ended with code, or by sig (not 0).
 * 0 or -ENOMEM (not counted). */
int dprocs_count_exit(dproc_t *e, int64_t code, int sig);
/* Forget p's entry (p is about to be freed). */
void dprocs_drop(dprocs_t *t, const sv_proc_t *p);
void dprocs_free(dprocs_t *t);

#endif
