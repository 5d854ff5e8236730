/* SPDX-License-Identifier: MIT */
/*
 * dist_codec: the task and result encodings, one JSON document per stream
 * entry (field "task" in NAME, field "result" in NAME:results). Versioned
 * by a "v" key; unknown keys are ignored, so a newer submitter and an
 * older worker still understand each other.
 */
#ifndef TEND_DIST_CODEC_H
#define TEND_DIST_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tend/dist.h"

/* A task as a worker runs it. */
struct dist_spec {
  char **argv;          /* malloc'd, NULL-terminated */
  char **env;           /* "NAME=VALUE", malloc'd, NULL-terminated (maybe empty) */
  char *cwd;            /* or NULL */
  uint64_t timeout_ms;
  unsigned attempt;     /* as submitted: 0 */
  unsigned max_attempts;
};

/* JSON text of t (malloc'd), or NULL: -ENOMEM, or -EINVAL (no argv[0], an
 * env entry without NAME=, a string that is not UTF-8) in *err. */
char *dist_task_encode(const tend_dist_task_t *t, const char *submitter, int *err);

/* 0, or -EINVAL with why in msg. */
int dist_task_decode(const char *json, size_t len, struct dist_spec *s, char *msg, size_t msglen);
void dist_spec_free(struct dist_spec *s);

/* What a worker knows when a task ends. */
struct dist_result_in {
  const char *id;
  tend_dist_status_t status;
  bool exited;
  int64_t exit_code;
  int signal;
  bool timed_out;
  const char *error;
  const char *out[2];
  size_t out_len[2];
  uint64_t out_bytes[2];
  uint64_t duration_ms;
  int64_t started_at_ms;
  const char *worker, *host;
  unsigned attempt, max_attempts;
  char **argv; /* or NULL */
};

/* JSON text (malloc'd) or NULL (out of memory). Output that is not UTF-8
 * goes in as text with U+FFFD for bad bytes, plus the exact bytes in
 * stdout_base64 / stderr_base64. */
char *dist_result_encode(const struct dist_result_in *r);

/* A parsed result: r points into the rest. */
struct dist_result_out {
  tend_dist_result_t r;
  void *json;     /* json_t */
  char *bytes[2]; /* decoded base64, when present */
  char *entry_id;
  char *text;     /* the JSON as stored */
};

/* 0 or -EINVAL (not a result). */
int dist_result_decode(const char *entry_id, const char *json, size_t len,
                       struct dist_result_out *o);
void dist_result_out_free(struct dist_result_out *o);

/* Unix time in milliseconds. */
int64_t dist_now_ms(void);

#endif
