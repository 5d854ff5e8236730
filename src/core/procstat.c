/* SPDX-License-Identifier: MIT */
/*
 * Process-group resource use from /proc/PID/stat (see core/procstat.h). One pass
 * over /proc answers every group of a status request: asking per group
 * would read /proc once per program, which with 1000 programs is a million
 * reads.
 */
#include "core/procstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int by_pgid(const void *a, const void *b) {
  const procstat_t *x = *(procstat_t *const *)a, *y = *(procstat_t *const *)b;
  return (x->pgid > y->pgid) - (x->pgid < y->pgid);
}

/* One line of /proc/PID/stat, the fields tend uses. */
typedef struct {
  int pid, pgrp, session;
  char state;
  unsigned long utime, stime;
  long rss;
} stat_line_t;

/* Call fn for every process in /proc. 0 or a negative errno. */
static int scan(void (*fn)(const stat_line_t *st, void *arg), void *arg) {
  DIR *d = opendir("/proc");
  if (d == NULL)
    return -errno;
  struct dirent *e;
  char path[300], buf[1024];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue; /* gone meanwhile */
    ssize_t k = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (k <= 0)
      continue;
    buf[k] = '\0';
    /* The command name may hold spaces and parentheses: parse after the
     * last ')'. Fields from there: state ppid pgrp session ... utime(14)
     * stime(15) ... rss(24), numbered as in proc(5). */
    char *p = strrchr(buf, ')');
    stat_line_t st = {.pid = atoi(e->d_name)};
    if (p == NULL ||
        sscanf(p + 2,
               "%c %*d %d %d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
               "%*u %*u %ld",
               &st.state, &st.pgrp, &st.session, &st.utime, &st.stime, &st.rss) != 6)
      continue;
    fn(&st, arg);
  }
  closedir(d);
  return 0;
}

struct collect {
  procstat_t **index;
  size_t n;
  uint64_t page, tick_ns;
};

static void collect_one(const stat_line_t *st, void *arg) {
  struct collect *c = arg;
  procstat_t key = {.pgid = st->pgrp}, *kp = &key;
  procstat_t **hit = bsearch(&kp, c->index, c->n, sizeof(*c->index), by_pgid);
  if (hit == NULL || st->state == 'Z')
    return;
  (*hit)->rss += (uint64_t)st->rss * c->page;
  (*hit)->cpu_ns += (uint64_t)(st->utime + st->stime) * c->tick_ns;
  (*hit)->nprocs++;
}

int procstat_collect(procstat_t *groups, size_t n) {
  struct collect c = {.n = n,
                      .page = (uint64_t)sysconf(_SC_PAGESIZE),
                      .tick_ns = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK)};
  c.index = malloc(n * sizeof(*c.index) + 1);
  if (c.index == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    groups[i].rss = groups[i].cpu_ns = 0;
    groups[i].nprocs = 0;
    c.index[i] = &groups[i];
  }
  qsort(c.index, n, sizeof(*c.index), by_pgid);
  int r = scan(collect_one, &c);
  free(c.index);
  return r;
}

struct members {
  int id;
  int *pids;
  size_t max, n;
};

static void member_one(const stat_line_t *st, void *arg) {
  struct members *m = arg;
  if ((st->pgrp == m->id || st->session == m->id) && st->state != 'Z' && m->n < m->max)
    m->pids[m->n++] = st->pid;
}

int procstat_members(int id, int *pids, size_t max) {
  struct members m = {.id = id, .pids = pids, .max = max};
  int r = scan(member_one, &m);
  return r < 0 ? r : (int)m.n;
}
