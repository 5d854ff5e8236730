/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Redis task and result codec (src/dist/codec.c): what a
 * worker makes of a stream entry's "task" field and `tend results` of a
 * "result" field, and what they write. The first byte chooses:
 *   0  the rest is a task field: dist_task_decode either refuses it with a
 *      message or gives an argv with a non-empty argv[0], "NAME=VALUE"
 *      env entries with distinct names, every string no longer than the
 *      input; encoding that spec and decoding it again gives it back
 *      (attempt reset to 0), and so does a second round;
 *   1  the rest is a result field: dist_result_decode refuses it or gives
 *      a result whose id, strings and outputs lie within the input;
 *      encoding it and decoding it again gives the same result;
 *   2  the rest builds a result as a worker would (status, exit code or
 *      signal, stdout and stderr of any bytes, an error message):
 *      encode then decode gives it back, output byte for byte;
 *   3  the rest is NUL-separated words, a task's argv then env entries:
 *      dist_task_encode refuses it with -EINVAL (no argv[0], an env entry
 *      without a name, text that is not UTF-8) or encodes it, and the
 *      decoded spec is those words.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "dist/codec.h"
#include "tend/text.h"

static size_t strv_len(char **v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

static bool strv_eq(char **a, char **b) {
  size_t n = strv_len(a);
  if (n != strv_len(b))
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(a[i], b[i]) != 0)
      return false;
  return true;
}

/* env as a set: the same entries in any order. */
static bool env_eq(char **a, char **b) {
  size_t n = strv_len(a);
  if (n != strv_len(b))
    return false;
  for (size_t i = 0; i < n; i++) {
    bool found = false;
    for (size_t j = 0; j < n && !found; j++)
      found = strcmp(a[i], b[j]) == 0;
    if (!found)
      return false;
  }
  return true;
}

static bool spec_eq(const struct dist_spec *a, const struct dist_spec *b) {
  return strv_eq(a->argv, b->argv) && env_eq(a->env, b->env) &&
         ((a->cwd == NULL && b->cwd == NULL) ||
          (a->cwd != NULL && b->cwd != NULL && strcmp(a->cwd, b->cwd) == 0)) &&
         a->timeout_ms == b->timeout_ms && a->max_attempts == b->max_attempts;
}

/* Encode s as a submitter would and decode it: the same spec. */
static void task_round_trip(const struct dist_spec *s) {
  tend_dist_task_t t = {.argv = s->argv, .env = s->env, .cwd = s->cwd,
                        .timeout_ms = s->timeout_ms, .max_attempts = s->max_attempts};
  int err = 0;
  char *json = dist_task_encode(&t, "fuzz-host", &err);
  CHECK(json != NULL);
  struct dist_spec back;
  char msg[256];
  CHECK(dist_task_decode(json, strlen(json), &back, msg, sizeof(msg)) == 0);
  CHECK(spec_eq(s, &back));
  CHECK(back.attempt == 0);
  dist_spec_free(&back);
  free(json);
}

static void fuzz_task(const uint8_t *in, size_t n) {
  struct dist_spec s;
  char msg[256] = "";
  int r = dist_task_decode((const char *)in, n, &s, msg, sizeof(msg));
  if (r != 0) {
    CHECK(r == -EINVAL && msg[0] != '\0');
    CHECK(s.argv == NULL && s.env == NULL && s.cwd == NULL);
    return;
  }
  CHECK(s.argv != NULL && s.argv[0] != NULL && s.argv[0][0] != '\0');
  for (char **a = s.argv; *a != NULL; a++)
    CHECK(strlen(*a) <= n);
  CHECK(s.env != NULL);
  for (char **e = s.env; *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    CHECK(eq != NULL && eq != *e && strlen(*e) <= n);
    for (char **f = s.env; f != e; f++)
      CHECK(strncmp(*f, *e, (size_t)(eq - *e) + 1) != 0);
  }
  CHECK(s.cwd == NULL || strlen(s.cwd) <= n);
  CHECK(s.max_attempts > 0);
  task_round_trip(&s);
  /* What the first round wrote, decoded and encoded again: stable. */
  tend_dist_task_t t = {.argv = s.argv, .env = s.env, .cwd = s.cwd,
                        .timeout_ms = s.timeout_ms, .max_attempts = s.max_attempts};
  int err;
  char *json = dist_task_encode(&t, NULL, &err);
  CHECK(json != NULL);
  struct dist_spec s2;
  CHECK(dist_task_decode(json, strlen(json), &s2, msg, sizeof(msg)) == 0);
  task_round_trip(&s2);
  dist_spec_free(&s2);
  free(json);
  dist_spec_free(&s);
}

static bool str_eq(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Encode what the result says, as its worker would, and decode it. */
static void result_round_trip(const tend_dist_result_t *r, char **argv) {
  struct dist_result_in in = {
      .id = r->id, .status = r->status, .exited = r->exited, .exit_code = r->exit_code,
      .signal = r->signal, .timed_out = r->timed_out, .error = r->error,
      .out = {r->out[0], r->out[1]}, .out_len = {r->out_len[0], r->out_len[1]},
      .out_bytes = {r->out_bytes[0], r->out_bytes[1]}, .duration_ms = r->duration_ms,
      .started_at_ms = r->started_at_ms, .worker = r->worker ? r->worker : "",
      .host = r->host ? r->host : "", .attempt = r->attempt, .max_attempts = 3, .argv = argv};
  char *json = dist_result_encode(&in);
  CHECK(json != NULL);
  struct dist_result_out o;
  CHECK(dist_result_decode("2-0", json, strlen(json), &o) == 0);
  const tend_dist_result_t *b = &o.r;
  CHECK(strcmp(b->entry_id, "2-0") == 0 && strcmp(b->id, r->id) == 0);
  CHECK(b->status == r->status);
  CHECK(b->exited == r->exited && b->exit_code == (r->exited ? r->exit_code : 0));
  CHECK(b->signal == r->signal);
  CHECK(b->timed_out == r->timed_out);
  CHECK(str_eq(b->error, r->error));
  for (int i = 0; i < 2; i++) {
    CHECK(b->out_len[i] == r->out_len[i]);
    CHECK(r->out_len[i] == 0 || memcmp(b->out[i], r->out[i], r->out_len[i]) == 0);
    CHECK(b->out_bytes[i] == (r->out_bytes[i] > 0 ? r->out_bytes[i] : r->out_len[i]));
    CHECK(b->out_truncated[i] == (b->out_bytes[i] > b->out_len[i]));
  }
  CHECK(b->duration_ms == r->duration_ms && b->started_at_ms == r->started_at_ms);
  CHECK(str_eq(b->worker, in.worker) && str_eq(b->host, in.host));
  CHECK(b->attempt == r->attempt);
  char line[512];
  tend_dist_result_summary(b, line, sizeof(line));
  dist_result_out_free(&o);
  free(json);
}

static void fuzz_result(const uint8_t *in, size_t n) {
  struct dist_result_out o;
  int r = dist_result_decode("1-0", (const char *)in, n, &o);
  if (r != 0) {
    CHECK(r == -EINVAL && o.json == NULL && o.text == NULL);
    return;
  }
  const tend_dist_result_t *res = &o.r;
  CHECK(res->id != NULL && strlen(res->id) <= n);
  CHECK(res->json_len == n && memcmp(res->json, in, n) == 0);
  for (int i = 0; i < 2; i++)
    CHECK(res->out[i] != NULL && res->out_len[i] <= n);
  CHECK(res->signal >= 0 && res->signal < NSIG);
  char line[512];
  tend_dist_result_summary(res, line, sizeof(line));
  result_round_trip(res, NULL);
  dist_result_out_free(&o);
}

/* A worker's result from bytes: a header, then error NUL stdout NUL stderr. */
static void fuzz_result_in(const uint8_t *in, size_t n) {
  if (n < 4)
    return;
  tend_dist_result_t r = {.id = "1764100000000-0"};
  r.status = in[0] % 3;
  r.exited = in[1] & 1;
  r.exit_code = r.exited ? (int)(int8_t)in[2] : 0;
  r.signal = r.exited ? 0 : in[2] % NSIG;
  r.timed_out = in[1] & 2;
  r.duration_ms = in[3];
  r.started_at_ms = (in[1] & 4) ? 1764100000000 : 0;
  r.worker = "w1";
  r.host = "h";
  r.attempt = 1 + (in[1] >> 4);
  bool cut = in[1] & 8; /* the task wrote more than was kept */
  in += 4, n -= 4;
  /* error (text up to the first NUL, used if UTF-8), stdout, stderr */
  const uint8_t *z = memchr(in, 0, n);
  size_t el = z != NULL ? (size_t)(z - in) : n;
  char *err = strndup((const char *)in, el);
  CHECK(err != NULL);
  r.error = el > 0 && tend_utf8_valid(err, el) ? err : NULL;
  in += z != NULL ? el + 1 : el, n -= z != NULL ? el + 1 : el;
  z = memchr(in, 0, n);
  size_t ol = z != NULL ? (size_t)(z - in) : n;
  r.out[0] = (const char *)in, r.out_len[0] = ol;
  r.out[1] = z != NULL ? (const char *)in + ol + 1 : "";
  r.out_len[1] = z != NULL ? n - ol - 1 : 0;
  r.out_bytes[0] = ol + (cut ? 4096 : 0);
  r.out_bytes[1] = r.out_len[1];
  char *argv[] = {"sh", "-c", "exit 3", NULL};
  result_round_trip(&r, argv);
  free(err);
}

/* A task from NUL-separated words: argv, then "--", then env entries. */
static void fuzz_task_in(const uint8_t *in, size_t n) {
  char *buf = malloc(n + 1);
  CHECK(buf != NULL);
  memcpy(buf, in, n);
  buf[n] = '\0';
  char *words[2][17];
  size_t nw[2] = {0, 0};
  int part = 0;
  bool utf8 = true, named = true;
  for (char *p = buf; p <= buf + n && nw[part] < 16; p += strlen(p) + 1) {
    if (part == 0 && strcmp(p, "--") == 0) {
      part = 1;
      continue;
    }
    utf8 &= tend_utf8_valid(p, strlen(p));
    if (part == 1)
      named &= strchr(p, '=') != NULL && p[0] != '=';
    words[part][nw[part]++] = p;
  }
  words[0][nw[0]] = words[1][nw[1]] = NULL;
  tend_dist_task_t t = {.argv = words[0], .env = nw[1] ? words[1] : NULL};
  int err = 0;
  char *json = dist_task_encode(&t, "fuzz-host", &err);
  bool valid = words[0][0] != NULL && words[0][0][0] != '\0' && utf8 && named;
  CHECK((json != NULL) == valid);
  if (json == NULL) {
    CHECK(err == -EINVAL);
    free(buf);
    return;
  }
  struct dist_spec s;
  char msg[256];
  CHECK(dist_task_decode(json, strlen(json), &s, msg, sizeof(msg)) == 0);
  CHECK(strv_eq(s.argv, words[0]));
  /* env: the last entry of each name wins, as in a shell */
  for (size_t i = 0; i < nw[1]; i++) {
    const char *eq = strchr(words[1][i], '=');
    bool later = false;
    for (size_t j = i + 1; j < nw[1]; j++)
      later |= strncmp(words[1][j], words[1][i], (size_t)(eq - words[1][i]) + 1) == 0;
    bool found = false;
    for (char **e = s.env; *e != NULL; e++)
      found |= strcmp(*e, words[1][i]) == 0;
    CHECK(found || later);
  }
  dist_spec_free(&s);
  free(json);
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  switch (data[0] & 3) {
  case 0: fuzz_task(data + 1, size - 1); break;
  case 1: fuzz_result(data + 1, size - 1); break;
  case 2: fuzz_result_in(data + 1, size - 1); break;
  default: fuzz_task_in(data + 1, size - 1); break;
  }
  return 0;
}
