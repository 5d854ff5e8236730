/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the daemon's request handler behind the framing
 * (src/daemon/daemon.c, the decoder of src/ctl/cmd.c and the services it
 * dispatches to: daemon_sv, daemon_pool, daemon_chan), through the
 * core-alone seam of src/daemon/daemon.h: no socket, each
 * request on a connection of its own whose reply frames land in memory.
 *
 * Each input sets up a daemon from a small fixed config (two programs
 * with autostart = false, one with a log file; a pool; a channel of 4),
 * hands it the input's requests one by one, running the loop once after
 * each, then shuts it down (daemon_close) and checks:
 *   - every request got an answer: exactly one frame, except the two
 *     that stream: a get (one per message, up to its count, then maybe an
 *     error: it timed out or the daemon shut down), events ({ok}, then one
 *     per event, recent or, with follow, new) and logs -f (the tail,
 *     then the output, then maybe an error when the program goes away, as
 *     at shutdown), whose frames but the last are ok:true;
 *   - every frame is whole (include/tend/ctl.h) and a JSON object with a
 *     boolean "ok"; one with ok:false says why in "error", or, for stop,
 *     in the "error" of its failed "results" (one per process);
 *   - the loop closes with no handle left open, and nothing leaks.
 *
 * The input is lines, each a request's JSON; its data (send, put) is the
 * string "_data" of the object, taken out before dispatch. Lines that are
 * not an object with a string "cmd" are skipped: the control server
 * answers them itself (fuzz_ctl). start, restart and submit are skipped
 * too: they fork real processes, which would make each run slow and
 * dependent on the machine. At most 32 requests an input.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "daemon/daemon.h"
#include "core/log.h"
#include "tend/ctl.h"

#define MAX_REQ 32

static char dir[64], path[128], logpath[128];

static const char conf[] = "[program:web]\n"
                           "command = sleep 300\n"
                           "autostart = false\n"
                           "stdout_logfile = %(here)s/web.out\n"
                           "\n"
                           "[program:db]\n"
                           "command = sleep 300\n"
                           "autostart = false\n"
                           "redirect_stderr = true\n"
                           "stdout_logfile = NONE\n"
                           "\n"
                           "[pool:p]\n"
                           "workers = 2\n"
                           "\n"
                           "[channel:c]\n"
                           "capacity = 4\n";

static void cleanup(void) {
  unlink(logpath);
  unlink(path);
  rmdir(dir);
}

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/tend-fuzz-request-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof(path), "%s/tend.conf", dir);
  snprintf(logpath, sizeof(logpath), "%s/web.out", dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL && fputs(conf, f) >= 0 && fclose(f) == 0);
  /* The daemon's log says what every request did: not wanted here. */
  CHECK(log_open("/dev/null", TEND_LOGFMT_TEXT) == 0);
  atexit(cleanup);
}

static bool skipped(const char *cmd) {
  return strcmp(cmd, "start") == 0 || strcmp(cmd, "restart") == 0 || strcmp(cmd, "submit") == 0;
}

/* The frames of one request's replies. */
static void check_replies(const tend_buf_t *b, bool streams) {
  size_t off = 0, frames = 0;
  bool last_ok = true;
  while (off < b->len) {
    CHECK(last_ok || !streams); /* only a stream's last frame may be an error */
    uint32_t jl, dl;
    CHECK(b->len - off >= TEND_CTL_HDR);
    CHECK(tend_ctl_header((const unsigned char *)b->data + off, TEND_CTL_MAX_REPLY_JSON, &jl,
                          &dl) == 0);
    CHECK(b->len - off >= TEND_CTL_HDR + (size_t)jl + dl);
    json_t *rep = json_loadb(b->data + off + TEND_CTL_HDR, jl, 0, NULL);
    CHECK(json_is_object(rep));
    json_t *ok = json_object_get(rep, "ok");
    CHECK(json_is_boolean(ok));
    last_ok = json_is_true(ok);
    if (!last_ok && !json_is_string(json_object_get(rep, "error"))) {
      size_t i, failed = 0;
      json_t *res;
      json_array_foreach(json_object_get(rep, "results"), i, res) {
        if (!json_is_true(json_object_get(res, "ok"))) {
          CHECK(json_is_string(json_object_get(res, "error")));
          failed++;
        }
      }
      CHECK(failed > 0);
    }
    json_decref(rep);
    off += TEND_CTL_HDR + (size_t)jl + dl;
    frames++;
  }
  CHECK(frames >= 1);
  CHECK(frames == 1 || streams);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[0] == '\0')
    setup();
  unlink(logpath); /* a logrotate opens (creates) it: each input starts without */
  tend_config_t *cfg = NULL;
  tend_diag_t diag = {0};
  CHECK(tend_config_load(path, &cfg, &diag) == 0);
  tend_diag_free(&diag);
  daemon_t *d = daemon_open(cfg, path);
  CHECK(d != NULL);

  static tend_buf_t out[MAX_REQ];
  bool streams[MAX_REQ];
  size_t n = 0;
  const char *p = (const char *)data, *end = p + size;
  while (p < end && n < MAX_REQ) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
    json_t *req = json_loadb(p, len, 0, NULL);
    p += len + 1;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!json_is_object(req) || cmd == NULL || skipped(cmd)) {
      json_decref(req);
      continue;
    }
    char *body = NULL;
    size_t blen = 0;
    json_t *jd = json_object_get(req, "_data");
    if (json_is_string(jd)) {
      blen = json_string_length(jd);
      body = malloc(blen + 1);
      CHECK(body != NULL);
      memcpy(body, json_string_value(jd), blen);
      json_object_del(req, "_data");
    }
    streams[n] = strcmp(cmd, "get") == 0 || strcmp(cmd, "events") == 0 ||
                 (strcmp(cmd, "logs") == 0 && json_is_true(json_object_get(req, "follow")));
    /* Never NULL, as from the server (a pointer past the JSON). */
    int r = daemon_request(d, req, body != NULL ? body : "", blen, &out[n]);
    free(body);
    json_decref(req);
    if (r == -ESHUTDOWN)
      break;
    CHECK(r == 0);
    n++;
    uv_run(daemon_loop(d), UV_RUN_NOWAIT);
  }
  CHECK(daemon_close(d) == 0); /* every handle closed */

  for (size_t i = 0; i < n; i++) {
    check_replies(&out[i], streams[i]);
    tend_buf_free(&out[i]);
  }
  return 0;
}
