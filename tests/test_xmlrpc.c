/* SPDX-License-Identifier: MIT */
/*
 * The XML-RPC codec (src/xmlrpc/codec.c) against Python's xmlrpc.client,
 * which supervisord and supervisorctl use: the same value written by both
 * must be the same bytes, a request Python writes must parse to the value
 * it was written from, and what the codec writes from bad text must be
 * read back by Python's loads. The values go to Python as JSON (json.loads
 * keeps member order, ints and floats apart).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "testutil.h"
#include "xmlrpc/codec.h"

/* python3 -c SCRIPT with input on its stdin; its stdout, NUL-terminated
 * (the caller frees), its length in *out_len unless NULL. */
static char *py_n(const char *script, const char *input, size_t len, size_t *out_len) {
  tu_result_t r;
  char *const argv[] = {"python3", "-c", (char *)script, NULL};
  tu_run(argv, input, len, 20000, &r);
  cr_assert(r.exit_code == 0, "python3 failed: %.*s", (int)r.err_len, r.err);
  char *out = malloc(r.out_len + 1);
  cr_assert(out != NULL);
  memcpy(out, r.out, r.out_len);
  out[r.out_len] = '\0';
  if (out_len != NULL)
    *out_len = r.out_len;
  tu_result_free(&r);
  return out;
}

static char *py(const char *script, const char *input, size_t len) {
  return py_n(script, input, len, NULL);
}

static json_t *load(const char *text) {
  json_error_t e;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
  cr_assert(v != NULL, "%s: %s", text, e.text);
  return v;
}

static char *dump_response(const json_t *v) {
  tend_buf_t b = {0};
  cr_assert(xmlrpc_dump_response(&b, v, XMLRPC_ALLOW_NONE) == 0);
  cr_assert(tend_buf_append(&b, "", 1) == 0);
  return b.data;
}

static const char *const values[] = {
    "1", "0", "-1", "2147483647", "-2147483648", "true", "false", "null", "\"\"",
    "\"x\"", "\"a & b < c > d\"", "\"\\u00e9\\u263a\\ud83d\\ude00\"", "\"tab\\tnl\\ncr\\r\"",
    "\"\\\"quote' \"", "1.0", "-0.0", "0.1", "1.5", "123.456", "1e16", "1e15", "1e-5",
    "0.0001", "1e300", "-2.5e-300", "5e-324", "1.7976931348623157e308", "3.141592653589793",
    "100.0", "1234567890123456.0", "[]", "{}", "[1, \"a\", [true, [null]], {}]",
    "{\"name\": \"foo\", \"group\": \"foo\", \"pid\": 1234, \"state\": 20, \"z\": 0, "
    "\"a\": {\"nested\": [1.5, {\"deep\": \"x<y\"}]}}",
    "[{\"name\": \"a\", \"status\": 80, \"description\": \"OK\"}, {\"k<&>\": []}]",
};

Test(xmlrpc, response_as_python_writes_it) {
  /* One Python for all the values: their JSON texts a line each in, their
   * documents NUL-separated out. */
  const char *script = "import json,sys,xmlrpc.client as x\n"
                       "for line in sys.stdin.read().splitlines():\n"
                       "  sys.stdout.write(x.dumps((json.loads(line),), methodresponse=True, "
                       "allow_none=True) + '\\0')";
  tend_buf_t in = {0};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
    cr_assert(tend_buf_append(&in, values[i], strlen(values[i])) == 0 &&
              tend_buf_append(&in, "\n", 1) == 0);
  size_t len;
  char *theirs = py_n(script, in.data, in.len, &len);
  const char *next = theirs;
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    cr_assert(next < theirs + len, "python wrote %zu documents", i);
    json_t *v = load(values[i]);
    char *mine = dump_response(v);
    cr_expect_str_eq(mine, next, "%s", values[i]);
    next += strlen(next) + 1;
    free(mine);
    json_decref(v);
  }
  free(theirs);
  tend_buf_free(&in);
}

Test(xmlrpc, fault_as_python_writes_it) {
  char *text = xmlrpc_fault_text(XMLRPC_BAD_NAME, "foo<&>");
  cr_assert_str_eq(text, "BAD_NAME: foo<&>");
  tend_buf_t b = {0};
  cr_assert(xmlrpc_dump_fault(&b, XMLRPC_BAD_NAME, text) == 0);
  cr_assert(tend_buf_append(&b, "", 1) == 0);
  char *theirs = py("import sys,xmlrpc.client as x; "
                    "sys.stdout.write(x.dumps(x.Fault(10, 'BAD_NAME: foo<&>'), methodresponse=True))",
                    NULL, 0);
  cr_expect_str_eq(b.data, theirs);
  free(theirs);
  free(text);
  tend_buf_free(&b);
}

Test(xmlrpc, fault_names_as_supervisord) {
  char *s = xmlrpc_fault_text(XMLRPC_SHUTDOWN_STATE, NULL);
  cr_expect_str_eq(s, "SHUTDOWN_STATE");
  free(s);
  cr_expect_str_eq(xmlrpc_fault_name(XMLRPC_CANT_REREAD), "CANT_REREAD");
  cr_expect_str_eq(xmlrpc_fault_name(5), "UNKNOWN");
  /* Every code and name as in supervisor/xmlrpc.py's Faults (Debian's
   * package, beside whichever python3 runs). */
  char *theirs = py("import sys; sys.path.append('/usr/lib/python3/dist-packages')\n"
                    "from supervisor.xmlrpc import Faults as F\n"
                    "for k, v in sorted(vars(F).items(), key=lambda kv: str(kv[1])):\n"
                    "  print(v, k) if isinstance(v, int) else None",
                    NULL, 0);
  for (char *line = strtok(theirs, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    int code = atoi(line);
    cr_expect_str_eq(xmlrpc_fault_name(code), strchr(line, ' ') + 1);
  }
  free(theirs);
}

Test(xmlrpc, call_as_python_writes_it) {
  const char *params = "[\"foo\", true, [1, {\"a\": \"b\"}], 2.5]";
  json_t *v = load(params);
  tend_buf_t b = {0};
  cr_assert(xmlrpc_dump_call(&b, "supervisor.startProcess", v, 0) == 0);
  cr_assert(tend_buf_append(&b, "", 1) == 0);
  char *theirs = py("import json,sys,xmlrpc.client as x; "
                    "sys.stdout.write(x.dumps(tuple(json.loads(sys.stdin.read())), "
                    "'supervisor.startProcess'))",
                    params, strlen(params));
  cr_expect_str_eq(b.data, theirs);
  free(theirs);
  tend_buf_free(&b);
  json_decref(v);
}

static const char *const calls[] = {
    "[\"foo\", true]",
    "[]",
    "[[{\"methodName\": \"supervisor.startProcess\", \"params\": [\"a:*\", false]}, "
    "{\"methodName\": \"supervisor.getProcessInfo\", \"params\": [\"b\"]}]]",
    "[\"x\", 0, 100, -7, 1.25, \"\\u263a & <tag>\", \"\", {}, [], null, {\"k\": [[[]]]}]",
};

Test(xmlrpc, parses_what_python_sends) {
  const char *script = "import json,sys,xmlrpc.client as x; "
                       "sys.stdout.write(x.dumps(tuple(json.loads(sys.stdin.read())), "
                       "'supervisor.startProcess', allow_none=True))";
  for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
    json_t *want = load(calls[i]);
    char *xml = py(script, calls[i], strlen(calls[i]));
    xmlrpc_call_t c;
    char err[256];
    int r = xmlrpc_parse_call(xml, strlen(xml), &c, err, sizeof(err));
    cr_assert(r == 0, "%s: %s", calls[i], err);
    cr_expect_str_eq(c.method, "supervisor.startProcess");
    cr_expect(json_equal(c.params, want), "%s", calls[i]);
    xmlrpc_call_free(&c);
    free(xml);
    json_decref(want);
  }
}

Test(xmlrpc, parses_other_forms) {
  const char *xml = "<?xml version='1.0' encoding='ISO-8859-1'?>"
                    "<methodCall><methodName>m</methodName><params>"
                    "<param><value>bare \xe9</value></param>"
                    "<param><value><i4> 42 </i4></value></param>"
                    "<param><value><ex:nil/></value></param>"
                    "<param><value><string><![CDATA[<&>]]>&amp;&#x263A;</string></value></param>"
                    "<param><value><base64>AAE=</base64></value></param>"
                    "<param><value><struct><member><name>b</name><value>1</value></member>"
                    "<member><name>a</name><value><int>2</int></value></member></struct></value></param>"
                    "<param><value></value></param>"
                    "</params></methodCall>";
  xmlrpc_call_t c;
  char err[256];
  cr_assert(xmlrpc_parse_call(xml, strlen(xml), &c, err, sizeof(err)) == 0, "%s", err);
  json_t *want = load("[\"bare \\u00e9\", 42, null, \"<&>&\\u263a\", \"AAE=\", "
                      "{\"b\": \"1\", \"a\": 2}, \"\"]");
  cr_expect(json_equal(c.params, want));
  /* Member order kept. */
  void *it = json_object_iter(json_array_get(c.params, 5));
  cr_expect_str_eq(json_object_iter_key(it), "b");
  json_decref(want);
  xmlrpc_call_free(&c);
  /* No params at all: an empty list. */
  const char *bare = "<methodCall><methodName>system.listMethods</methodName></methodCall>";
  cr_assert(xmlrpc_parse_call(bare, strlen(bare), &c, err, sizeof(err)) == 0, "%s", err);
  cr_expect(json_array_size(c.params) == 0);
  xmlrpc_call_free(&c);
}

static void refused(const char *xml, int want, const char *msg) {
  xmlrpc_call_t c;
  char err[256] = "";
  int r = xmlrpc_parse_call(xml, strlen(xml), &c, err, sizeof(err));
  cr_expect(r == want, "%s: %d (%s), not %d", xml, r, err, want);
  cr_expect(strstr(err, msg) != NULL, "%s: '%s' lacks '%s'", xml, err, msg);
  cr_expect(c.method == NULL && c.params == NULL);
}

#define CALL(params) "<methodCall><methodName>m</methodName><params>" params "</params></methodCall>"

Test(xmlrpc, refuses_bad_requests) {
  refused("", -EINVAL, "line 1");
  refused("<methodCall><methodName>m</methodName>", -EINVAL, "line 1");
  refused("<methodCall></methodCall>", -EINVAL, "no <methodName>");
  refused("<methodResponse/>", -EINVAL, "unexpected <methodResponse>");
  refused(CALL("<param><value><float>1</float></value></param>"), -EINVAL, "unexpected <float>");
  refused(CALL("<param><value><int>x</int></value></param>"), -EINVAL, "bad int value");
  refused(CALL("<param><value><int>99999999999999999999</int></value></param>"), -ERANGE,
          "out of range");
  refused(CALL("<param><value><boolean>true</boolean></value></param>"), -EINVAL, "bad boolean");
  refused(CALL("<param><value><double>nan</double></value></param>"), -EINVAL, "bad double");
  refused(CALL("<param><value>x<int>1</int></value></param>"), -EINVAL, "text beside");
  refused(CALL("<param><value><int>1</int><int>2</int></value></param>"), -EINVAL, "two values");
  refused(CALL("<param></param>"), -EINVAL, "without <value>");
  refused(CALL("<param><value><struct><member><name>a</name></member></struct></value></param>"),
          -EINVAL, "without <value>");
  refused(CALL("x"), -EINVAL, "text in <params>");
  refused("<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
          "<methodCall><methodName>&b;</methodName></methodCall>",
          -EPERM, "DOCTYPE");
  refused(CALL("<param><value><string>\x01</string></value></param>"), -EINVAL, "line 1");
  /* Refused as it opens: the rest of the document is not needed. */
  char deep[8192];
  char *end = deep + sprintf(deep, "<methodCall><methodName>m</methodName><params><param>");
  for (int i = 0; i <= XMLRPC_MAX_DEPTH; i++)
    end += sprintf(end, "<value><array><data>");
  refused(deep, -E2BIG, "nesting deeper than 64");
}

Test(xmlrpc, refuses_too_many_values) {
  tend_buf_t b = {0};
  const char *head = "<methodCall><methodName>m</methodName><params><param><value><array><data>";
  cr_assert(tend_buf_append(&b, head, strlen(head)) == 0);
  for (int i = 0; i <= XMLRPC_MAX_VALUES; i++)
    cr_assert(tend_buf_append(&b, "<value/>", 8) == 0);
  cr_assert(tend_buf_append(&b, "", 1) == 0);
  refused(b.data, -E2BIG, "more than");
  tend_buf_free(&b);
}

Test(xmlrpc, bad_text_stays_xml) {
  /* Invalid UTF-8 (a lone continuation, a truncated sequence, an overlong,
   * a surrogate), C0 controls, NUL and U+FFFF, as a log may hold them. */
  static const char raw[] = "a\x80 b\xe2\x82 c\xc0\xaf d\xed\xa0\x80 e\x01\x1b[0m f\0g"
                            "\xef\xbf\xbf h\t\n\xe2\x82\xac";
  json_t *v = json_pack("{s:s%}", "text", raw, sizeof(raw) - 1);
  cr_assert(v == NULL); /* jansson refuses such a string; the daemon's are unchecked */
  v = json_object();
  json_object_set_new(v, "text", json_stringn_nocheck(raw, sizeof(raw) - 1));
  char *mine = dump_response(v);
  char *theirs = py("import json,sys,xmlrpc.client as x; "
                    "print(json.dumps(x.loads(sys.stdin.buffer.read())[0][0]['text']))",
                    mine, strlen(mine));
  cr_expect_str_eq(theirs, "\"a\\ufffd b\\ufffd c\\ufffd\\ufffd d\\ufffd\\ufffd\\ufffd "
                           "e\\ufffd\\ufffd[0m f\\ufffdg\\ufffd h\\t\\n\\u20ac\"\n");
  free(theirs);
  free(mine);
  json_decref(v);
}

Test(xmlrpc, python_decodes_the_same_replacements) {
  /* The maximal-part rule is Python's errors='replace'. */
  static const char raw[] = "a\x80 b\xe2\x82 c\xc0\xaf d\xed\xa0\x80 \xf4\x90\x80\x80 \xf0\x9f\x98";
  json_t *v = json_stringn_nocheck(raw, sizeof(raw) - 1);
  char *mine = dump_response(v);
  char *theirs = py("import sys,xmlrpc.client as x; d=sys.stdin.buffer.read(); "
                    "t=d.split(b'<string>')[1].split(b'</string>')[0]; "
                    "raw=b'a\\x80 b\\xe2\\x82 c\\xc0\\xaf d\\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 "
                    "\\xf0\\x9f\\x98'; "
                    "print(t.decode() == raw.decode('utf-8', 'replace'))",
                    mine, strlen(mine));
  cr_expect_str_eq(theirs, "True\n");
  free(theirs);
  free(mine);
  json_decref(v);
}

Test(xmlrpc, big_ints_as_i8) {
  json_t *v = load("[2147483648, -2147483649, 9223372036854775807]");
  char *mine = dump_response(v);
  cr_expect(strstr(mine, "<value><i8>2147483648</i8></value>\n") != NULL);
  char *theirs = py("import sys,xmlrpc.client as x; print(x.loads(sys.stdin.read())[0][0])",
                    mine, strlen(mine));
  cr_expect_str_eq(theirs, "[2147483648, -2147483649, 9223372036854775807]\n");
  free(theirs);
  free(mine);
  json_decref(v);
}

Test(xmlrpc, null_needs_allow_none) {
  tend_buf_t b = {0};
  json_t *v = load("[null]");
  cr_expect(xmlrpc_dump_response(&b, v, 0) == -EINVAL);
  tend_buf_free(&b);
  cr_expect(xmlrpc_dump_call(&b, "m", json_null(), 0) == -EINVAL);
  tend_buf_free(&b);
  json_decref(v);
}
