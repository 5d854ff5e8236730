/* SPDX-License-Identifier: MIT */
/*
 * What the daemon keeps about each supervised process, apart from the
 * supervisor (which has no use for it): the scratch marks of a name
 * selection and the CPU sample of the last status. A table keyed by the
 * process's address; an entry goes when the supervisor forgets the
 * process.
 */
#ifndef TEND_DAEMON_PROCS_H
#define TEND_DAEMON_PROCS_H

#include <stddef.h>
#include <stdint.h>

#include "supervisor/supervisor.h"

typedef struct {
  const sv_proc_t *proc; /* NULL: a free slot */
  unsigned mark;         /* the daemon's name selection: scratch */
  uint64_t cpu_sample_ns; /* group CPU time at the last status ... */
  uint64_t cpu_sample_at; /* ... and when (uv_hrtime) */
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
/* Forget p's entry (p is about to be freed). */
void dprocs_drop(dprocs_t *t, const sv_proc_t *p);
void dprocs_free(dprocs_t *t);

#endif
