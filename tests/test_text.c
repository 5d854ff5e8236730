/* SPDX-License-Identifier: MIT */
/* Signal names, UTF-8 checking and repair, base64: the pieces that keep
 * tend's JSON valid and lossless. */
#include "tend/text.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

Test(text, signal_names_both_ways) {
  char b[32];
  cr_assert_str_eq(tend_signame(SIGTERM, b, sizeof(b)), "SIGTERM");
  cr_assert_str_eq(tend_signame(SIGKILL, b, sizeof(b)), "SIGKILL");
  cr_assert_str_eq(tend_signame(SIGRTMIN + 3, b, sizeof(b)), "SIG37");
  cr_assert_eq(tend_signum("TERM"), SIGTERM);
  cr_assert_eq(tend_signum("sigterm"), SIGTERM);
  cr_assert_eq(tend_signum("SIGHUP"), SIGHUP);
  cr_assert_eq(tend_signum("9"), SIGKILL);
  cr_assert_lt(tend_signum("NOPE"), 0);
  cr_assert_lt(tend_signum("0"), 0);
  cr_assert_lt(tend_signum("9x"), 0);
  cr_assert_lt(tend_signum(""), 0);
}

Test(text, utf8_validity) {
  cr_assert(tend_utf8_valid("", 0));
  cr_assert(tend_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
  cr_assert(tend_utf8_valid("a\0b", 3));
  cr_assert(!tend_utf8_valid("\xff", 1));
  cr_assert(!tend_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
  cr_assert(!tend_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  cr_assert(!tend_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
  cr_assert(!tend_utf8_valid("\xe2\x82", 2));         /* truncated */
}

Test(text, utf8_sanitize_replaces_only_bad_bytes) {
  tend_buf_t b = {0};
  cr_assert(tend_utf8_sanitize(&b, "a\xff" "b\xc3\xa9\xe2\x82", 7) == 0);
  const char want[] = "a\xef\xbf\xbd" "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd";
  cr_assert_eq(b.len, sizeof(want) - 1);
  cr_assert(memcmp(b.data, want, b.len) == 0);
  cr_assert(tend_utf8_valid(b.data, b.len));
  tend_buf_free(&b);
}

Test(text, base64_rfc4648_vectors) {
  const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    tend_buf_t b = {0};
    cr_assert(tend_base64(&b, in[i], strlen(in[i])) == 0);
    cr_assert_eq(b.len, strlen(out[i]));
    cr_assert(b.len == 0 || memcmp(b.data, out[i], b.len) == 0, "base64(%s)", in[i]);
    tend_buf_free(&b);
  }
}

Test(text, buffer_grows_and_keeps_content) {
  tend_buf_t b = {0};
  int failed = 0;
  for (int i = 0; i < 100000; i++)
    failed += tend_buf_append(&b, "0123456789", 10) != 0;
  cr_assert_eq(failed, 0);
  cr_assert_eq(b.len, 1000000);
  cr_assert_geq(b.cap, b.len);
  cr_assert(memcmp(b.data + 999990, "0123456789", 10) == 0);
  tend_buf_free(&b);
  cr_assert_null(b.data);
}
