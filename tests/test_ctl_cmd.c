/* SPDX-License-Identifier: MIT */
/*
 * The control commands' table (include/tend/ctl.h, src/ctl/cmd.c): what
 * the CLI encodes is what the daemon decodes, the requests keep their
 * bytes on the wire, and a bad argument gets an error that names the
 * command, the key, what it must be and what it was.
 */
#include "ctl/cmd.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* text must be refused with the return value want and the message msg. */
static void expect_error(const char *text, int want, const char *msg) {
  json_t *obj = json_loads(text, 0, NULL);
  cr_assert(obj != NULL, "not JSON: %s", text);
  tend_ctl_req_t req;
  char err[256] = "";
  int r = ctl_req_decode(obj, "", 0, &req, err, sizeof(err));
  json_decref(obj);
  cr_assert_eq(r, want, "%s: got %d (%s)", text, r, err);
  cr_assert_str_eq(err, msg, "%s", text);
}

/* Each command with its required arguments, encoded, decodes to itself. */
Test(ctl_cmd, every_command_round_trips) {
  static const char *argv[] = {"echo", "hi"};
  for (int i = 0; i < CTL_NCMDS; i++) {
    cr_assert_eq(tend_ctl_cmd_find(tend_ctl_cmds[i].name), i);
    tend_ctl_req_t in = {.cmd = (tend_ctl_cmd_t)i, .name = "web", .pool = "p",
                         .argv = {argv, 2}};
    char *text = tend_ctl_encode(&in);
    cr_assert(text != NULL, "%s", tend_ctl_cmds[i].name);
    tend_ctl_req_t out;
    char err[256] = "";
    json_t *obj = json_loads(text, 0, NULL);
    cr_assert_eq(ctl_req_decode(obj, "", 0, &out, err, sizeof(err)), 0, "%s: %s", text, err);
    cr_assert_eq(out.cmd, (tend_ctl_cmd_t)i);
    ctl_req_free(&out);
    json_decref(obj);
    free(text);
  }
  cr_assert_eq(tend_ctl_cmd_find("explode"), -ENOENT);
}

/* The bytes the CLI sent before the table: the keys in the same order. */
Test(ctl_cmd, encodes_as_before) {
  static const char *names[] = {"a", "g:*"};
  tend_ctl_req_t logs = {.cmd = CTL_CMD_LOGS,
                         .given = CTL_BIT(CTL_ARG_LINES) | CTL_BIT(CTL_ARG_STREAM) |
                                  CTL_BIT(CTL_ARG_FOLLOW),
                         .name = "web", .lines = 5, .stream = 1, .follow = true};
  tend_ctl_req_t stop = {.cmd = CTL_CMD_STOP,
                         .given = CTL_BIT(CTL_ARG_NAMES) | CTL_BIT(CTL_ARG_WAIT),
                         .names = {names, 2}, .wait = true};
  tend_ctl_req_t get = {.cmd = CTL_CMD_GET, .given = CTL_BIT(CTL_ARG_COUNT), .name = "c",
                        .count = 1, .timeout_ms = -1};
  struct {
    tend_ctl_req_t *req;
    const char *want;
  } cases[] = {
      {&logs, "{\"cmd\":\"logs\",\"name\":\"web\",\"lines\":5,\"stream\":\"stderr\","
              "\"follow\":true}"},
      {&stop, "{\"cmd\":\"stop\",\"names\":[\"a\",\"g:*\"],\"wait\":true}"},
      {&get, "{\"cmd\":\"get\",\"name\":\"c\",\"count\":1}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *text = tend_ctl_encode(cases[i].req);
    cr_assert_str_eq(text, cases[i].want);
    free(text);
  }
  tend_ctl_req_t nameless = {.cmd = CTL_CMD_WAIT};
  cr_assert_null(tend_ctl_encode(&nameless), "a required argument left NULL");
}

Test(ctl_cmd, absent_arguments_take_their_defaults) {
  tend_ctl_req_t req;
  char err[256] = "";
  json_t *obj = json_loads("{\"cmd\":\"logs\",\"name\":\"web\"}", 0, NULL);
  cr_assert_eq(ctl_req_decode(obj, "", 0, &req, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(req.lines, 10);
  cr_assert_eq(req.stream, 0);
  cr_assert(!req.follow);
  cr_assert_eq(req.given, CTL_BIT(CTL_ARG_NAME));
  cr_assert_str_eq(req.name, "web");
  json_decref(obj);
  obj = json_loads("{\"cmd\":\"get\",\"name\":\"c\",\"extra\":[1]}", 0, NULL);
  cr_assert_eq(ctl_req_decode(obj, "xy", 2, &req, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(req.count, 1);
  cr_assert_eq(req.timeout_ms, -1);
  cr_assert_eq(req.len, 2);
  json_decref(obj);
  obj = json_loads("{\"cmd\":\"status\"}", 0, NULL);
  cr_assert_eq(ctl_req_decode(obj, "", 0, &req, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(req.names.n, 0);
  ctl_req_free(&req);
  json_decref(obj);
}

Test(ctl_cmd, bad_requests_name_what_is_wrong) {
  expect_error("{\"cmd\":\"explode\"}", -ENOENT, "unknown command 'explode'");
  expect_error("{\"cmd\":\"wait\"}", -EINVAL,
               "bad request: wait: \"name\" (a string) is required");
  expect_error("{\"cmd\":\"logs\",\"name\":\"web\",\"lines\":\"5\"}", -EINVAL,
               "bad request: logs: \"lines\" must be an integer, not \"5\"");
  expect_error("{\"cmd\":\"logs\",\"name\":\"web\",\"stream\":\"both\"}", -EINVAL,
               "bad request: logs: \"stream\" must be \"stdout\" or \"stderr\", not \"both\"");
  expect_error("{\"cmd\":\"stop\",\"names\":[\"web\",3]}", -EINVAL,
               "bad request: stop: \"names\"[1] must be a string, not 3");
  expect_error("{\"cmd\":\"status\",\"names\":\"web\"}", -EINVAL,
               "bad request: status: \"names\" must be an array of strings, not \"web\"");
  expect_error("{\"cmd\":\"put\",\"name\":\"c\",\"nowait\":1}", -EINVAL,
               "bad request: put: \"nowait\" must be true or false, not 1");
  expect_error("{\"cmd\":\"submit\",\"pool\":\"p\",\"argv\":[]}", -EINVAL,
               "bad request: submit: \"argv\" must be a non-empty array of strings, not []");
  /* A long value is cut. */
  expect_error("{\"cmd\":\"send\",\"name\":\"web\","
               "\"eof\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
               -EINVAL,
               "bad request: send: \"eof\" must be true or false, not "
               "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...");
}
