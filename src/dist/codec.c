/* SPDX-License-Identifier: MIT */
/*
 * dist_codec: tasks and results as JSON (see dist/codec.h). A task:
 *   {"v":1,"argv":["sh","-c","..."],"env":{"K":"V"},"cwd":"/srv",
 *    "timeout_ms":5000,"attempt":0,"max_attempts":3,
 *    "submitted_at_ms":1764100000000,"submitter":"host1"}
 * A result:
 *   {"v":1,"id":"1764100000000-0","status":"failed","exit_code":3,
 *    "signal":null,"timed_out":false,"error":null,"stdout":"...",
 *    "stdout_bytes":12,"stdout_truncated":false,"stderr":"...",...,
 *    "duration_ms":4,"started_at_ms":...,"worker":"w1","host":"h",
 *    "attempt":1,"max_attempts":3,"command":["sh","-c","..."]}
 */
#include "dist/codec.h"
#include "config/words.h"
#include "core/strv.h"
#include "tend/text.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t dist_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tasks ------------------------------------------------------------------ */

char *dist_task_encode(const tend_dist_task_t *t, const char *submitter, int *err) {
  *err = -EINVAL;
  if (t->argv == NULL || t->argv[0] == NULL || t->argv[0][0] == '\0')
    return NULL;
  /* JSON holds text only: bytes that are not UTF-8 are the caller's error,
   * not the "out of memory" a failed json_string would say. */
  for (char **a = t->argv; *a != NULL; a++)
    if (!tend_utf8_valid(*a, strlen(*a)))
      return NULL;
  for (char **e = t->env; e != NULL && *e != NULL; e++)
    if (!tend_utf8_valid(*e, strlen(*e)))
      return NULL;
  if (t->cwd != NULL && !tend_utf8_valid(t->cwd, strlen(t->cwd)))
    return NULL;
  *err = -ENOMEM;
  json_t *o = json_object(), *argv = json_array(), *env = json_object();
  if (o == NULL || argv == NULL || env == NULL)
    goto fail;
  for (char **a = t->argv; *a != NULL; a++)
    if (json_array_append_new(argv, json_string(*a)) != 0)
      goto fail;
  for (char **e = t->env; e != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL || eq == *e) {
      *err = -EINVAL;
      goto fail;
    }
    char *name = strndup(*e, (size_t)(eq - *e));
    int r = name != NULL ? json_object_set_new(env, name, json_string(eq + 1)) : -1;
    free(name);
    if (r != 0)
      goto fail;
  }
  unsigned max = t->max_attempts != 0 ? t->max_attempts : TEND_DIST_MAX_ATTEMPTS;
  int r = json_object_set_new(o, "v", json_integer(1));
  r |= json_object_set(o, "argv", argv);
  if (json_object_size(env) > 0)
    r |= json_object_set(o, "env", env);
  if (t->cwd != NULL)
    r |= json_object_set_new(o, "cwd", json_string(t->cwd));
  if (t->timeout_ms != 0)
    r |= json_object_set_new(o, "timeout_ms", json_integer((json_int_t)t->timeout_ms));
  r |= json_object_set_new(o, "attempt", json_integer(0));
  r |= json_object_set_new(o, "max_attempts", json_integer(max));
  r |= json_object_set_new(o, "submitted_at_ms", json_integer(dist_now_ms()));
  if (submitter != NULL)
    r |= json_object_set_new(o, "submitter", json_string(submitter));
  if (r != 0)
    goto fail;
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  json_decref(argv);
  json_decref(env);
  return s;
fail:
  json_decref(o);
  json_decref(argv);
  json_decref(env);
  return NULL;
}

void dist_spec_free(struct dist_spec *s) {
  strv_free(s->argv);
  strv_free(s->env);
  free(s->cwd);
  memset(s, 0, sizeof(*s));
}

static int bad(char *msg, size_t len, const char *why) {
  snprintf(msg, len, "%s", why);
  return -EINVAL;
}

int dist_task_decode(const char *json, size_t len, struct dist_spec *s, char *msg, size_t msglen) {
  memset(s, 0, sizeof(*s));
  json_error_t je;
  json_t *o = json_loadb(json, len, 0, &je);
  if (o == NULL) {
    snprintf(msg, msglen, "malformed task: not JSON (%s)", je.text);
    return -EINVAL;
  }
  int r = -EINVAL;
  if (!json_is_object(o)) {
    bad(msg, msglen, "malformed task: not a JSON object");
    goto out;
  }
  json_t *argv = json_object_get(o, "argv");
  if (!json_is_array(argv) || json_array_size(argv) == 0) {
    bad(msg, msglen, "malformed task: no argv");
    goto out;
  }
  size_t i;
  json_t *v;
  json_array_foreach(argv, i, v) {
    if (!json_is_string(v) || (i == 0 && json_string_length(v) == 0) ||
        strlen(json_string_value(v)) != json_string_length(v)) {
      bad(msg, msglen, "malformed task: argv holds something that is not a string");
      goto out;
    }
    if (strv_add(&s->argv, json_string_value(v)) != 0) {
      r = -ENOMEM;
      bad(msg, msglen, "out of memory");
      goto out;
    }
  }
  json_t *env = json_object_get(o, "env");
  if (env != NULL && !json_is_object(env) && !json_is_null(env)) {
    bad(msg, msglen, "malformed task: env is not an object");
    goto out;
  }
  if ((s->env = calloc(1, sizeof(char *))) == NULL) { /* an empty list, not NULL */
    r = -ENOMEM;
    goto out;
  }
  const char *k;
  json_object_foreach(env, k, v) {
    if (!json_is_string(v) || *k == '\0' || strchr(k, '=') != NULL) {
      bad(msg, msglen, "malformed task: bad env entry");
      goto out;
    }
    char *kv;
    if (asprintf(&kv, "%s=%s", k, json_string_value(v)) < 0) {
      r = -ENOMEM;
      goto out;
    }
    int e = strv_env_set(&s->env, kv);
    free(kv);
    if (e != 0) {
      r = -ENOMEM;
      goto out;
    }
  }
  json_t *cwd = json_object_get(o, "cwd");
  if (json_is_string(cwd) && (s->cwd = strdup(json_string_value(cwd))) == NULL) {
    r = -ENOMEM;
    goto out;
  }
  json_t *n = json_object_get(o, "timeout_ms");
  if (json_is_integer(n) && json_integer_value(n) > 0)
    s->timeout_ms = (uint64_t)json_integer_value(n);
  n = json_object_get(o, "attempt");
  if (json_is_integer(n) && json_integer_value(n) > 0 && json_integer_value(n) < 1000000)
    s->attempt = (unsigned)json_integer_value(n);
  n = json_object_get(o, "max_attempts");
  s->max_attempts = TEND_DIST_MAX_ATTEMPTS;
  if (json_is_integer(n) && json_integer_value(n) > 0 && json_integer_value(n) < 1000000)
    s->max_attempts = (unsigned)json_integer_value(n);
  r = 0;
out:
  json_decref(o);
  if (r != 0)
    dist_spec_free(s);
  return r;
}

/* ---- results ---------------------------------------------------------------- */

static int set_output(json_t *o, const char *name, const char *data, size_t n, uint64_t bytes) {
  char key[32];
  int r = 0;
  data = data != NULL ? data : "";
  if (tend_utf8_valid(data, n)) {
    r |= json_object_set_new(o, name, json_stringn(data, n));
  } else {
    tend_buf_t text = {0}, raw = {0};
    r = tend_utf8_sanitize(&text, data, n);
    if (r == 0)
      r = tend_base64(&raw, data, n);
    if (r == 0) {
      snprintf(key, sizeof(key), "%s_base64", name);
      r |= json_object_set_new(o, name, json_stringn(text.data ? text.data : "", text.len));
      r |= json_object_set_new(o, key, json_stringn(raw.data ? raw.data : "", raw.len));
    }
    tend_buf_free(&text);
    tend_buf_free(&raw);
  }
  snprintf(key, sizeof(key), "%s_bytes", name);
  r |= json_object_set_new(o, key, json_integer((json_int_t)bytes));
  snprintf(key, sizeof(key), "%s_truncated", name);
  r |= json_object_set_new(o, key, json_boolean(bytes > n));
  return r;
}

static const char *status_name(tend_dist_status_t s) {
  return s == TEND_DIST_SUCCEEDED ? "succeeded" : s == TEND_DIST_FAILED ? "failed" : "dead";
}

char *dist_result_encode(const struct dist_result_in *in) {
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  char sig[32];
  int r = json_object_set_new(o, "v", json_integer(1));
  r |= json_object_set_new(o, "id", json_string(in->id));
  r |= json_object_set_new(o, "status", json_string(status_name(in->status)));
  r |= json_object_set_new(o, "exit_code",
                           in->exited ? json_integer((json_int_t)in->exit_code) : json_null());
  r |= json_object_set_new(o, "signal",
                           in->signal ? json_string(tend_signame(in->signal, sig, sizeof(sig)))
                                      : json_null());
  r |= json_object_set_new(o, "timed_out", json_boolean(in->timed_out));
  r |= json_object_set_new(o, "error", in->error != NULL ? json_string(in->error) : json_null());
  r |= set_output(o, "stdout", in->out[0], in->out_len[0], in->out_bytes[0]);
  r |= set_output(o, "stderr", in->out[1], in->out_len[1], in->out_bytes[1]);
  r |= json_object_set_new(o, "duration_ms", json_integer((json_int_t)in->duration_ms));
  if (in->started_at_ms != 0)
    r |= json_object_set_new(o, "started_at_ms", json_integer(in->started_at_ms));
  r |= json_object_set_new(o, "finished_at_ms", json_integer(dist_now_ms()));
  r |= json_object_set_new(o, "worker", json_string(in->worker));
  r |= json_object_set_new(o, "host", json_string(in->host));
  r |= json_object_set_new(o, "attempt", json_integer(in->attempt));
  r |= json_object_set_new(o, "max_attempts", json_integer(in->max_attempts));
  if (in->argv != NULL) {
    json_t *a = json_array();
    for (char **p = in->argv; a != NULL && *p != NULL; p++)
      r |= json_array_append_new(a, json_string(*p));
    r |= json_object_set_new(o, "command", a);
  }
  char *s = r == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 (malloc'd); NULL if malformed or out of memory. */
static char *unbase64(const char *s, size_t n, size_t *outlen) {
  char *d = malloc(n / 4 * 3 + 3), *o = d;
  if (d == NULL)
    return NULL;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=')
      break;
    int v = b64val((unsigned char)s[i]);
    if (v < 0) {
      free(d);
      return NULL;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *o++ = (char)(acc >> bits & 0xff);
    }
  }
  *outlen = (size_t)(o - d);
  return d;
}

static const char *get_str(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t get_int(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int dist_result_decode(const char *entry_id, const char *json, size_t len,
                       struct dist_result_out *o) {
  memset(o, 0, sizeof(*o));
  /* A task's output may hold NUL bytes, written as \u0000 (valid UTF-8,
   * so not in base64): refusing them would lose the whole result. */
  json_t *j = json_loadb(json, len, JSON_ALLOW_NUL, NULL);
  if (j == NULL || !json_is_object(j) || get_str(j, "id") == NULL) {
    json_decref(j);
    return -EINVAL;
  }
  o->json = j;
  o->entry_id = strdup(entry_id);
  o->text = strndup(json, len);
  if (o->entry_id == NULL || o->text == NULL) {
    dist_result_out_free(o);
    return -ENOMEM;
  }
  tend_dist_result_t *r = &o->r;
  r->entry_id = o->entry_id;
  r->json = o->text;
  r->json_len = len;
  r->id = get_str(j, "id");
  const char *st = get_str(j, "status");
  r->status = st == NULL                      ? TEND_DIST_FAILED
              : strcmp(st, "succeeded") == 0 ? TEND_DIST_SUCCEEDED
              : strcmp(st, "dead") == 0      ? TEND_DIST_DEAD
                                             : TEND_DIST_FAILED;
  json_t *ec = json_object_get(j, "exit_code");
  r->exited = json_is_integer(ec);
  r->exit_code = r->exited ? (int)json_integer_value(ec) : 0;
  const char *sig = get_str(j, "signal");
  int sn = sig != NULL ? tend_signum(sig) : 0;
  r->signal = sn > 0 ? sn : 0;
  r->timed_out = json_is_true(json_object_get(j, "timed_out"));
  r->error = get_str(j, "error");
  static const char *const names[2] = {"stdout", "stderr"};
  for (int i = 0; i < 2; i++) {
    char key[32];
    snprintf(key, sizeof(key), "%s_base64", names[i]);
    const char *b = get_str(j, key);
    if (b != NULL && (o->bytes[i] = unbase64(b, strlen(b), &r->out_len[i])) != NULL) {
      r->out[i] = o->bytes[i];
    } else {
      json_t *t = json_object_get(j, names[i]);
      r->out[i] = json_is_string(t) ? json_string_value(t) : "";
      r->out_len[i] = json_is_string(t) ? json_string_length(t) : 0;
    }
    snprintf(key, sizeof(key), "%s_bytes", names[i]);
    int64_t nb = get_int(j, key);
    r->out_bytes[i] = nb > 0 ? (uint64_t)nb : r->out_len[i];
    snprintf(key, sizeof(key), "%s_truncated", names[i]);
    r->out_truncated[i] = json_is_true(json_object_get(j, key));
  }
  int64_t d = get_int(j, "duration_ms");
  r->duration_ms = d > 0 ? (uint64_t)d : 0;
  r->started_at_ms = get_int(j, "started_at_ms");
  r->worker = get_str(j, "worker");
  r->host = get_str(j, "host");
  int64_t a = get_int(j, "attempt");
  r->attempt = a > 0 && a < 1000000 ? (unsigned)a : 0;
  return 0;
}

void dist_result_out_free(struct dist_result_out *o) {
  json_decref(o->json);
  free(o->bytes[0]);
  free(o->bytes[1]);
  free(o->entry_id);
  free(o->text);
  memset(o, 0, sizeof(*o));
}

const char *tend_dist_result_summary(const tend_dist_result_t *r, char *buf, size_t len) {
  char sig[32];
  if (r->status == TEND_DIST_DEAD)
    snprintf(buf, len, "dead: %s", r->error != NULL ? r->error : "given up on");
  else if (r->error != NULL && !r->exited && r->signal == 0)
    snprintf(buf, len, "%s", r->error);
  else if (r->timed_out)
    snprintf(buf, len, "timed out (%s)",
             r->signal ? tend_signame(r->signal, sig, sizeof(sig)) : "exited after the signal");
  else if (r->signal != 0)
    snprintf(buf, len, "killed by %s", tend_signame(r->signal, sig, sizeof(sig)));
  else
    snprintf(buf, len, "exit %d", r->exit_code);
  return buf;
}

int tend_dist_split_line(const char *line, char ***argv, const char **why) {
  size_t argc;
  *argv = NULL;
  return cfg_split_command(line, argv, &argc, why);
}

void tend_dist_strv_free(char **argv) { strv_free(argv); }
