/* SPDX-License-Identifier: MIT */
/*
 * The daemon's per-process table (see daemon/procs.h): open addressing on
 * the process's address, kept under 3/4 full, deletion by shifting the
 * cluster back (no tombstones: processes come and go with every reload).
 */
#include "daemon/procs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t home(const dprocs_t *t, const sv_proc_t *p) {
  /* Fibonacci hashing: allocations are aligned, the low bits say little. */
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 32) & (t->cap - 1);
}

static size_t slot_of(const dprocs_t *t, const sv_proc_t *p) {
  size_t i = home(t, p);
  while (t->slots[i].proc != NULL && t->slots[i].proc != p)
    i = (i + 1) & (t->cap - 1);
  return i;
}

static int grow(dprocs_t *t) {
  size_t cap = t->cap ? t->cap * 2 : 64;
  dproc_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -1;
  dprocs_t bigger = {slots, cap, t->n};
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].proc != NULL)
      slots[slot_of(&bigger, t->slots[i].proc)] = t->slots[i];
  free(t->slots);
  *t = bigger;
  return 0;
}

dproc_t *dprocs_find(const dprocs_t *t, const sv_proc_t *p) {
  if (t->cap == 0)
    return NULL;
  dproc_t *e = &t->slots[slot_of(t, p)];
  return e->proc != NULL ? e : NULL;
}

dproc_t *dprocs_get(dprocs_t *t, const sv_proc_t *p) {
  dproc_t *e = dprocs_find(t, p);
  if (e != NULL)
    return e;
  if ((t->n + 1) * 4 > t->cap * 3 && grow(t) != 0)
    return NULL;
  e = &t->slots[slot_of(t, p)];
  *e = (dproc_t){.proc = p};
  t->n++;
  return e;
}

int dprocs_count_exit(dproc_t *e, int64_t code, int sig) {
  dexit_t key = {.code = sig != 0 ? -1 : (int)code, .signal = sig};
  /* A program ends in a few ways only: a sorted array, found by a walk. */
  size_t i = 0;
  while (i < e->nexits && (e->exits[i].signal < key.signal ||
                           (e->exits[i].signal == key.signal && e->exits[i].code < key.code)))
    i++;
  if (i < e->nexits && e->exits[i].signal == key.signal && e->exits[i].code == key.code) {
    e->exits[i].n++;
    return 0;
  }
  dexit_t *grown = realloc(e->exits, (e->nexits + 1) * sizeof(*grown));
  if (grown == NULL)
    return -ENOMEM;
  memmove(&grown[i + 1], &grown[i], (e->nexits - i) * sizeof(*grown));
  key.n = 1;
  grown[i] = key;
  e->exits = grown;
  e->nexits++;
  return 0;
}

void dprocs_drop(dprocs_t *t, const sv_proc_t *p) {
  dproc_t *e = dprocs_find(t, p);
  if (e == NULL)
    return;
  free(e->exits);
  size_t mask = t->cap - 1, hole = (size_t)(e - t->slots);
  t->slots[hole].proc = NULL;
  t->n--;
  /* Move back each later entry of the cluster whose home is not between
   * the hole and itself: every entry stays reachable from its home. */
  for (size_t i = (hole + 1) & mask; t->slots[i].proc != NULL; i = (i + 1) & mask) {
    size_t h = home(t, t->slots[i].proc);
    if (((i - h) & mask) >= ((i - hole) & mask)) {
      t->slots[hole] = t->slots[i];
      t->slots[i].proc = NULL;
      hole = i;
    }
  }
}

void dprocs_free(dprocs_t *t) {
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].proc != NULL)
      free(t->slots[i].exits);
  free(t->slots);
  *t = (dprocs_t){0};
}
