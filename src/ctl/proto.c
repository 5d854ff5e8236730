/* SPDX-License-Identifier: MIT */
/* The control protocol's framing (see include/tend/ctl.h) and its blocking
 * client side. */
#include "tend/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static uint32_t get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

int tend_ctl_header(const unsigned char hdr[TEND_CTL_HDR], uint32_t max_json,
                    uint32_t *json_len, uint32_t *data_len) {
  *json_len = get_be32(hdr);
  *data_len = get_be32(hdr + 4);
  if (*json_len == 0 || *json_len > max_json || *data_len > TEND_CTL_MAX_DATA)
    return -EMSGSIZE;
  return 0;
}

int tend_ctl_frame(tend_buf_t *out, uint32_t max_json, const char *json, size_t json_len,
                   const void *data, size_t data_len) {
  if (json_len == 0 || json_len > max_json || data_len > TEND_CTL_MAX_DATA)
    return -EMSGSIZE;
  unsigned char hdr[TEND_CTL_HDR];
  put_be32(hdr, (uint32_t)json_len);
  put_be32(hdr + 4, (uint32_t)data_len);
  int r = tend_buf_reserve(out, TEND_CTL_HDR + json_len + data_len);
  if (r != 0)
    return r;
  tend_buf_append(out, hdr, sizeof(hdr));
  tend_buf_append(out, json, json_len);
  if (data_len > 0)
    tend_buf_append(out, data, data_len);
  return 0;
}

int tend_ctl_connect(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return -ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int read_all(int fd, char *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, p + got, n - got);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (k == 0)
      return got == 0 ? -EPIPE : -EPROTO;
    got += (size_t)k;
  }
  return 0;
}

int tend_ctl_send(int fd, const char *json, const void *data, size_t data_len) {
  tend_buf_t b = {0};
  int r = tend_ctl_frame(&b, TEND_CTL_MAX_JSON, json, strlen(json), data, data_len);
  if (r == 0)
    r = write_all(fd, b.data, b.len);
  tend_buf_free(&b);
  return r;
}

int tend_ctl_recv(int fd, char **json, char **data, size_t *data_len) {
  unsigned char hdr[TEND_CTL_HDR];
  *json = NULL;
  *data = NULL;
  *data_len = 0;
  int r = read_all(fd, (char *)hdr, sizeof(hdr));
  if (r != 0)
    return r;
  uint32_t jl, dl;
  if ((r = tend_ctl_header(hdr, TEND_CTL_MAX_REPLY_JSON, &jl, &dl)) != 0)
    return r;
  char *j = malloc((size_t)jl + 1);
  char *d = dl ? malloc(dl) : NULL;
  if (j == NULL || (dl && d == NULL)) {
    free(j);
    free(d);
    return -ENOMEM;
  }
  if ((r = read_all(fd, j, jl)) == 0 && dl)
    r = read_all(fd, d, dl);
  if (r != 0) {
    free(j);
    free(d);
    return r == -EPIPE ? -EPROTO : r;
  }
  j[jl] = '\0';
  *json = j;
  *data = d;
  *data_len = dl;
  return 0;
}
