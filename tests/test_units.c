/* SPDX-License-Identifier: MIT */
/* Durations and byte sizes: one syntax for the config and the options. */
#include "core/units.h"

#include <criterion/criterion.h>
#include <errno.h>

Test(units, seconds) {
  static const struct {
    const char *s;
    double secs;
  } ok[] = {
      {"0", 0},     {"2", 2},       {"2.5", 2.5}, {".5", 0.5},   {"5.", 5},
      {"+3", 3},    {"1e3", 1000},  {"30s", 30},  {"2m", 120},   {"1.5h", 5400},
      {"1d", 86400}, {"-0", 0},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    double v = -1;
    cr_assert_eq(units_seconds(ok[i].s, &v), 0, "'%s'", ok[i].s);
    cr_assert_float_eq(v, ok[i].secs, 1e-9, "'%s' is %g", ok[i].s, v);
  }
  static const char *const bad[] = {"", "abc", "-1", "1x", "2mm", "2 m", "inf", "nan", "1e999",
                                    "soon", "."};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    double v;
    cr_assert_eq(units_seconds(bad[i], &v), -EINVAL, "'%s'", bad[i]);
  }
}

Test(units, milliseconds_round_up_and_are_capped) {
  uint64_t ms;
  cr_assert_eq(units_ms("1.5", &ms), 0);
  cr_assert_eq(ms, 1500);
  cr_assert_eq(units_ms("0.0001", &ms), 0);
  cr_assert_eq(ms, 1);
  cr_assert_eq(units_ms("2m", &ms), 0);
  cr_assert_eq(ms, 120000);
  cr_assert_eq(units_ms("1e12", &ms), 0);
  cr_assert_eq(ms, 1000000000000000ull);
  cr_assert_eq(units_ms("2e12", &ms), -EINVAL);
  cr_assert_eq(units_ms("-5", &ms), -EINVAL);
}

Test(units, bytes) {
  static const struct {
    const char *s;
    uint64_t bytes;
  } ok[] = {
      {"0", 0},          {"1024", 1024},     {"+7", 7},          {"10KB", 10240},
      {"50mb", 50 << 20}, {"1GB", 1ull << 30}, {"2 KB", 2048},     {"64K", 65536},
      {"1M", 1 << 20},   {"3g", 3ull << 30}, {"100B", 100},      {"5 ", 5},
      {" 8k", 8192},     {"1kB", 1024},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    uint64_t v = 1234567;
    cr_assert_eq(units_bytes(ok[i].s, &v), 0, "'%s'", ok[i].s);
    cr_assert_eq(v, ok[i].bytes, "'%s' is %llu", ok[i].s, (unsigned long long)v);
  }
  static const char *const bad[] = {"", "KB", "-1", "5TB", "1.5MB", "10 K B", "1KBB", "0x10",
                                    "12abc", "B5"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t v;
    cr_assert_eq(units_bytes(bad[i], &v), -EINVAL, "'%s'", bad[i]);
  }
  uint64_t v;
  cr_assert_eq(units_bytes("18446744073709551615", &v), 0);
  cr_assert_eq(v, UINT64_MAX);
  cr_assert_eq(units_bytes("18446744073709551616", &v), -ERANGE);
  cr_assert_eq(units_bytes("17179869184GB", &v), -ERANGE);
  cr_assert_eq(units_bytes("99999999999999999999999", &v), -ERANGE);
}
