/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the control protocol's decoders, both ends.
 *
 * Server: the input is what a client sends. The real ctl_server
 * (src/daemon/ctl_server.c) listens on a Unix socket on a libuv loop in this
 * process, with a request handler that echoes each request's cmd and data
 * (and ends the connection on {"cmd":"end"}); a client socket sends the
 * input and reads every reply. A model of include/tend/ctl.h says which
 * replies are due: one per complete frame whose json is an object with a
 * string "cmd", in order; at the first frame over the limits or not such an
 * object, one error reply ({"ok":false}) and the end of the connection; an
 * incomplete last frame gets nothing. The replies must be exactly those,
 * every one a whole frame, and the server must have closed everything
 * once the client is gone.
 *
 * Client: the same bytes read as replies by tend_ctl_recv (what a `tend`
 * command does with what the daemon sends): every complete frame within
 * the limits comes back byte for byte, then -EPIPE at a clean end, -EPROTO
 * inside a frame, -EMSGSIZE at a frame over the limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fuzz/fuzz.h"
#include "daemon/ctl_server.h"
#include "tend/ctl.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the server ---------------------------------------------------------- */

static uv_loop_t loop;
static ctl_server_t srv;
static char dir[64], sockpath[128];

static void on_request(ctl_conn_t *c, json_t *req, const char *data, size_t len) {
  const char *cmd = json_string_value(json_object_get(req, "cmd"));
  CHECK(cmd != NULL);
  json_t *rep = json_pack("{s:b,s:O}", "ok", 1, "cmd", json_object_get(req, "cmd"));
  CHECK(rep != NULL);
  ctl_reply(c, rep, data, len);
  if (strcmp(cmd, "end") == 0)
    ctl_conn_end(c);
}

static void cleanup(void) {
  ctl_server_close(&srv, NULL); /* removes the socket file */
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  rmdir(dir);
}

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/tend-fuzz-ctl-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  snprintf(sockpath, sizeof(sockpath), "%s/s.sock", dir);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(ctl_server_start(&srv, &loop, sockpath, 0600, on_request, NULL) == 0);
  atexit(cleanup);
}

/* A reply the model expects: ok with the request's cmd and data, or an
 * error (the last one). */
typedef struct {
  bool ok;
  const uint8_t *json; /* the request's cmd value is compared */
  size_t json_len;
  const uint8_t *data;
  size_t data_len;
} due_t;

/* Which replies the input deserves (see the top of the file); *ends when
 * the server is to end the connection after them. */
static size_t model_server(const uint8_t *in, size_t n, due_t *due, size_t max, bool *ends) {
  size_t off = 0, k = 0;
  *ends = false;
  while (n - off >= TEND_CTL_HDR && k < max) {
    uint32_t jl, dl;
    if (tend_ctl_header(in + off, TEND_CTL_MAX_JSON, &jl, &dl) != 0) {
      due[k++] = (due_t){.ok = false};
      *ends = true;
      break;
    }
    size_t need = TEND_CTL_HDR + (size_t)jl + dl;
    if (n - off < need)
      break;
    json_t *req = json_loadb((const char *)in + off + TEND_CTL_HDR, jl, 0, NULL);
    json_t *cmd = json_object_get(req, "cmd");
    if (!json_is_object(req) || !json_is_string(cmd)) {
      json_decref(req);
      due[k++] = (due_t){.ok = false};
      *ends = true;
      break;
    }
    bool end = strcmp(json_string_value(cmd), "end") == 0;
    json_decref(req);
    due[k++] = (due_t){true, in + off + TEND_CTL_HDR, jl, in + off + TEND_CTL_HDR + jl, dl};
    if (end) {
      *ends = true;
      break;
    }
    off += need;
  }
  return k;
}

/* Check one reply frame against what was due. */
static void check_reply(const uint8_t *f, const due_t *due) {
  uint32_t jl, dl;
  CHECK(tend_ctl_header(f, TEND_CTL_MAX_REPLY_JSON, &jl, &dl) == 0);
  json_error_t err;
  json_t *rep = json_loadb((const char *)f + TEND_CTL_HDR, jl, 0, &err);
  CHECK(json_is_object(rep));
  json_t *ok = json_object_get(rep, "ok");
  CHECK(json_is_boolean(ok));
  CHECK(json_is_true(ok) == due->ok);
  if (due->ok) {
    json_t *req = json_loadb((const char *)due->json, due->json_len, 0, NULL);
    CHECK(json_equal(json_object_get(rep, "cmd"), json_object_get(req, "cmd")));
    json_decref(req);
    CHECK(dl == due->data_len);
    CHECK(memcmp(f + TEND_CTL_HDR + jl, due->data, dl) == 0);
  } else {
    CHECK(json_is_string(json_object_get(rep, "error")));
  }
  json_decref(rep);
}

static void fuzz_server(const uint8_t *in, size_t n) {
  static due_t due[4096];
  bool ends;
  size_t ndue = model_server(in, n, due, sizeof(due) / sizeof(due[0]), &ends);
  if (ndue == sizeof(due) / sizeof(due[0]))
    return; /* more frames than the model keeps: not a useful input */

  int fd = tend_ctl_connect(sockpath);
  CHECK(fd >= 0);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t woff = 0, rlen = 0, rcap = 65536, got = 0;
  uint8_t *rbuf = malloc(rcap);
  CHECK(rbuf != NULL);
  bool eof = false, shut = false;
  int idle = 0;
  while (!(eof && srv.nconns == 0)) {
    bool progress = false;
    if (woff < n) {
      ssize_t w = send(fd, in + woff, n - woff, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0)
        woff += (size_t)w, progress = true;
      else if (w < 0 && errno != EAGAIN)
        woff = n; /* the server hung up: the rest is not read */
    }
    if (uv_run(&loop, UV_RUN_NOWAIT) != 0)
      progress = true;
    if (!eof) {
      if (rcap - rlen < 65536) {
        rcap *= 2;
        rbuf = realloc(rbuf, rcap);
        CHECK(rbuf != NULL);
      }
      ssize_t r = recv(fd, rbuf + rlen, rcap - rlen, MSG_DONTWAIT);
      if (r > 0)
        rlen += (size_t)r, progress = true;
      else if (r == 0 || (errno != EAGAIN && errno != EINTR))
        eof = true, progress = true;
    }
    /* Whole frames in: check them against the model as they come. */
    size_t off = 0;
    while (rlen - off >= TEND_CTL_HDR) {
      uint32_t jl = be32(rbuf + off), dl = be32(rbuf + off + 4);
      size_t need = TEND_CTL_HDR + (size_t)jl + dl;
      if (rlen - off < need)
        break;
      CHECK(got < ndue); /* no reply that was not due */
      check_reply(rbuf + off, &due[got++]);
      off += need;
    }
    memmove(rbuf, rbuf + off, rlen - off);
    rlen -= off;
    /* Every reply is in and the server keeps the connection: hang up. */
    if (!shut && woff == n && got == ndue && !ends) {
      shutdown(fd, SHUT_WR);
      shut = true;
      progress = true;
    }
    if (progress) {
      idle = 0;
    } else {
      CHECK(++idle < 5000); /* about 5 s without anything happening: stuck */
      struct pollfd p[2] = {{fd, POLLIN, 0}, {uv_backend_fd(&loop), POLLIN, 0}};
      poll(p, 2, 1);
    }
  }
  CHECK(got == ndue);  /* every reply that was due */
  CHECK(rlen == 0);    /* and no torn frame */
  close(fd);
  free(rbuf);
  CHECK(srv.nconns == 0 && LIST_EMPTY(&srv.conns));
  while (srv.open_handles > 1)
    uv_run(&loop, UV_RUN_ONCE);
}

/* ---- the client ---------------------------------------------------------- */

static void fuzz_client(const uint8_t *in, size_t n) {
  int p[2];
  CHECK(pipe2(p, O_CLOEXEC) == 0);
  int cap = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  if (cap > 0 && n > (size_t)cap)
    n = (size_t)cap;
  else if (cap <= 0 && n > 65536)
    n = 65536;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(p[1], in + off, n - off);
    CHECK(w > 0);
    off += (size_t)w;
  }
  close(p[1]);
  off = 0;
  for (;;) {
    char *json, *data;
    size_t dl;
    int r = tend_ctl_recv(p[0], &json, &data, &dl);
    /* What the bytes say comes next. */
    int want;
    uint32_t jl = 0, hdl = 0;
    if (n - off == 0)
      want = -EPIPE;
    else if (n - off < TEND_CTL_HDR)
      want = -EPROTO;
    else if (tend_ctl_header(in + off, TEND_CTL_MAX_REPLY_JSON, &jl, &hdl) != 0)
      want = -EMSGSIZE;
    else if (n - off < TEND_CTL_HDR + (size_t)jl + hdl)
      want = -EPROTO;
    else
      want = 0;
    CHECK(r == want);
    if (r != 0)
      break;
    CHECK(strlen(json) <= jl && json[jl] == '\0');
    CHECK(memcmp(json, in + off + TEND_CTL_HDR, jl) == 0);
    CHECK(dl == hdl && (dl == 0 || memcmp(data, in + off + TEND_CTL_HDR + jl, dl) == 0));
    free(json);
    free(data);
    off += TEND_CTL_HDR + (size_t)jl + hdl;
  }
  close(p[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[0] == '\0')
    setup();
  fuzz_server(data, size);
  fuzz_client(data, size);
  return 0;
}
