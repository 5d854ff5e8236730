/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the XML-RPC codec (src/xmlrpc/codec.c). The input is parsed
 * as a <methodCall>. Checked:
 *   - a parse succeeds with a method and an array of params, or fails with
 *     a negative errno, a message and nothing allocated (ASan's leak check);
 *   - what parsed is written back as a call, and that re-parses to the same
 *     call: written again, the same bytes. XML reads a carriage return as a
 *     newline, and the writer keeps a string's \r raw as Python does, so
 *     the first writing is compared with CR and CRLF read as LF.
 */
#include <errno.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "xmlrpc/codec.h"

/* b's bytes with CRLF and CR as LF, as an XML parser reads them. */
static void newlines(tend_buf_t *b) {
  size_t k = 0;
  for (size_t i = 0; i < b->len; i++) {
    if (b->data[i] == '\r' && i + 1 < b->len && b->data[i + 1] == '\n')
      continue;
    b->data[k++] = b->data[i] == '\r' ? '\n' : b->data[i];
  }
  b->len = k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xmlrpc_call_t c1, c2;
  char err[256] = "";
  int r = xmlrpc_parse_call((const char *)data, size, &c1, err, sizeof(err));
  if (r < 0) {
    CHECK(err[0] != '\0' && c1.method == NULL && c1.params == NULL);
    CHECK(r == -EINVAL || r == -EPERM || r == -E2BIG || r == -ERANGE || r == -ENOMEM);
    return 0;
  }
  CHECK(c1.method != NULL && json_is_array(c1.params));
  tend_buf_t w1 = {0}, w2 = {0};
  CHECK(xmlrpc_dump_call(&w1, c1.method, c1.params, XMLRPC_ALLOW_NONE) == 0);
  r = xmlrpc_parse_call(w1.data, w1.len, &c2, err, sizeof(err));
  if (r < 0)
    fprintf(stderr, "re-parse: %s\n%.*s", err, (int)w1.len, w1.data);
  CHECK(r == 0);
  CHECK(xmlrpc_dump_call(&w2, c2.method, c2.params, XMLRPC_ALLOW_NONE) == 0);
  newlines(&w1);
  CHECK(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
  tend_buf_free(&w1);
  tend_buf_free(&w2);
  xmlrpc_call_free(&c1);
  xmlrpc_call_free(&c2);
  return 0;
}
