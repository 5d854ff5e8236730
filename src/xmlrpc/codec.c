/* SPDX-License-Identifier: MIT */
/*
 * XML-RPC codec (see codec.h): the request parser on expat's callbacks,
 * one stack of open elements whose frames hold the value being built, and
 * the writers, which follow Python 3.11's xmlrpc.client.Marshaller line by
 * line (a scalar's closing </value> ends a line, nil's does not, exactly as
 * there).
 */
#include "xmlrpc/codec.h"

#include <errno.h>
#include <expat.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fault codes -------------------------------------------------------- */

static const struct {
  int code;
  const char *name;
} fault_names[] = {
    {XMLRPC_UNKNOWN_METHOD, "UNKNOWN_METHOD"},
    {XMLRPC_INCORRECT_PARAMETERS, "INCORRECT_PARAMETERS"},
    {XMLRPC_BAD_ARGUMENTS, "BAD_ARGUMENTS"},
    {XMLRPC_SIGNATURE_UNSUPPORTED, "SIGNATURE_UNSUPPORTED"},
    {XMLRPC_SHUTDOWN_STATE, "SHUTDOWN_STATE"},
    {XMLRPC_BAD_NAME, "BAD_NAME"},
    {XMLRPC_BAD_SIGNAL, "BAD_SIGNAL"},
    {XMLRPC_NO_FILE, "NO_FILE"},
    {XMLRPC_NOT_EXECUTABLE, "NOT_EXECUTABLE"},
    {XMLRPC_FAILED, "FAILED"},
    {XMLRPC_ABNORMAL_TERMINATION, "ABNORMAL_TERMINATION"},
    {XMLRPC_SPAWN_ERROR, "SPAWN_ERROR"},
    {XMLRPC_ALREADY_STARTED, "ALREADY_STARTED"},
    {XMLRPC_NOT_RUNNING, "NOT_RUNNING"},
    {XMLRPC_SUCCESS, "SUCCESS"},
    {XMLRPC_ALREADY_ADDED, "ALREADY_ADDED"},
    {XMLRPC_STILL_RUNNING, "STILL_RUNNING"},
    {XMLRPC_CANT_REREAD, "CANT_REREAD"},
};

const char *xmlrpc_fault_name(int code) {
  for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
    if (fault_names[i].code == code)
      return fault_names[i].name;
  return "UNKNOWN";
}

char *xmlrpc_fault_text(int code, const char *extra) {
  const char *name = xmlrpc_fault_name(code);
  size_t n = strlen(name) + (extra != NULL ? strlen(extra) + 2 : 0) + 1;
  char *s = malloc(n);
  if (s != NULL)
    snprintf(s, n, extra != NULL ? "%s: %s" : "%s", name, extra);
  return s;
}

/* ---- the parser --------------------------------------------------------- */

/* The elements of a methodCall. Scalars share one kind, told apart by
 * their tag at their end. */
typedef enum {
  EL_ROOT,
  EL_METHODCALL,
  EL_METHODNAME,
  EL_PARAMS,
  EL_PARAM,
  EL_VALUE,
  EL_SCALAR,
  EL_NIL,
  EL_STRUCT,
  EL_MEMBER,
  EL_NAME,
  EL_ARRAY,
  EL_DATA,
} el_t;

/* Each nesting level is value, struct or array, member or data: three
 * frames; root, methodCall, params, param and a scalar's value and type
 * around them. */
enum { STACK_MAX = 3 * XMLRPC_MAX_DEPTH + 8 };

typedef struct {
  el_t el;
  char tag[20];   /* a scalar's type */
  json_t *value;  /* a value's, member's or param's value; a container */
  char *name;     /* a member's name */
  bool has_text;  /* non-blank text seen inside (value: besides a type) */
} frame_t;

typedef struct {
  XML_Parser xp;
  frame_t stack[STACK_MAX];
  int top;        /* stack[top] is the open element */
  int depth;      /* open structs and arrays */
  size_t nvalues;
  tend_buf_t text; /* the text of the open element */
  xmlrpc_call_t call;
  int rc;
  char *err;
  size_t errlen;
} parse_t;

__attribute__((format(printf, 3, 4))) static void fail(parse_t *p, int rc, const char *fmt,
                                                       ...) {
  if (p->rc != 0)
    return;
  p->rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, p->errlen, fmt, ap);
  va_end(ap);
  XML_StopParser(p->xp, XML_FALSE);
}

/* The element name without a namespace prefix, as Python's Unmarshaller
 * (tag.split(':')[-1]), so "ex:nil" is nil. */
static const char *local_name(const char *tag) {
  const char *c = strrchr(tag, ':');
  return c != NULL ? c + 1 : tag;
}

static bool is_scalar(const char *t) {
  static const char *const names[] = {"int",    "i4",     "i8",     "boolean",
                                      "string", "double", "base64", "dateTime.iso8601"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(t, names[i]) == 0)
      return true;
  return false;
}

/* Which element tag may open inside parent, and as what; -1 if none. */
static int child_kind(el_t parent, const char *t) {
  switch (parent) {
  case EL_ROOT:
    return strcmp(t, "methodCall") == 0 ? EL_METHODCALL : -1;
  case EL_METHODCALL:
    return strcmp(t, "methodName") == 0 ? EL_METHODNAME
           : strcmp(t, "params") == 0   ? EL_PARAMS
                                        : -1;
  case EL_PARAMS:
    return strcmp(t, "param") == 0 ? EL_PARAM : -1;
  case EL_PARAM:
  case EL_DATA:
    return strcmp(t, "value") == 0 ? EL_VALUE : -1;
  case EL_VALUE:
    return is_scalar(t)                 ? EL_SCALAR
           : strcmp(t, "nil") == 0      ? EL_NIL
           : strcmp(t, "struct") == 0   ? EL_STRUCT
           : strcmp(t, "array") == 0    ? EL_ARRAY
                                        : -1;
  case EL_STRUCT:
    return strcmp(t, "member") == 0 ? EL_MEMBER : -1;
  case EL_MEMBER:
    return strcmp(t, "name") == 0 ? EL_NAME : strcmp(t, "value") == 0 ? EL_VALUE : -1;
  case EL_ARRAY:
    return strcmp(t, "data") == 0 ? EL_DATA : -1;
  default:
    return -1;
  }
}

/* Checks a child may open here; the new frame's value where it starts
 * one (a struct's object, an array's array). */
static int open_checks(parse_t *p, frame_t *parent, int kind, const char *t) {
  if (kind < 0)
    return fail(p, -EINVAL, "unexpected <%s> in %s", t,
                parent->el == EL_ROOT ? "the document" : parent->tag),
           -1;
  if (p->top + 1 >= STACK_MAX)
    return fail(p, -E2BIG, "nesting deeper than %d", XMLRPC_MAX_DEPTH), -1;
  if (parent->el == EL_VALUE && parent->value != NULL)
    return fail(p, -EINVAL, "<value> with two values"), -1;
  if ((kind == EL_METHODNAME && p->call.method != NULL) ||
      (kind == EL_PARAMS && p->call.params != NULL) ||
      (kind == EL_NAME && parent->name != NULL) ||
      (kind == EL_VALUE && parent->el != EL_DATA && parent->value != NULL))
    return fail(p, -EINVAL, "a second <%s>", t), -1;
  if (kind == EL_VALUE && ++p->nvalues > XMLRPC_MAX_VALUES)
    return fail(p, -E2BIG, "more than %d values", XMLRPC_MAX_VALUES), -1;
  if ((kind == EL_STRUCT || kind == EL_ARRAY) && ++p->depth > XMLRPC_MAX_DEPTH)
    return fail(p, -E2BIG, "nesting deeper than %d", XMLRPC_MAX_DEPTH), -1;
  return 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *tag, const XML_Char **attrs) {
  parse_t *p = ud;
  const char *t = local_name(tag);
  frame_t *parent = &p->stack[p->top];
  int kind = child_kind(parent->el, t);
  if (p->rc != 0 || open_checks(p, parent, kind, t) < 0)
    return;
  frame_t *f = &p->stack[++p->top];
  *f = (frame_t){.el = (el_t)kind};
  snprintf(f->tag, sizeof(f->tag), "%s", t);
  p->text.len = 0;
  if (kind == EL_STRUCT)
    f->value = json_object();
  else if (kind == EL_ARRAY)
    f->value = json_array();
  else if (kind == EL_PARAMS)
    f->value = p->call.params = json_array();
  else if (kind == EL_DATA)
    f->value = parent->value; /* the array's, borrowed */
  if ((kind == EL_STRUCT || kind == EL_ARRAY || kind == EL_PARAMS) && f->value == NULL)
    fail(p, -ENOMEM, "out of memory");
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  parse_t *p = ud;
  frame_t *f = &p->stack[p->top];
  if (p->rc != 0)
    return;
  switch (f->el) {
  case EL_METHODNAME:
  case EL_SCALAR:
  case EL_NAME:
  case EL_VALUE:
    if (tend_buf_append(&p->text, s, (size_t)len) < 0)
      fail(p, -ENOMEM, "out of memory");
    if (!blank(s, (size_t)len))
      f->has_text = true;
    break;
  default:
    if (!blank(s, (size_t)len))
      fail(p, -EINVAL, "text in <%s>", f->tag);
  }
}

/* The text of the element that ends, NUL-terminated (the buffer keeps a
 * spare byte: expat's text holds no NUL, so the length is the string's). */
static const char *end_text(parse_t *p) {
  if (tend_buf_reserve(&p->text, 1) < 0)
    return fail(p, -ENOMEM, "out of memory"), NULL;
  p->text.data[p->text.len] = '\0';
  return p->text.data;
}

/* Python's int() and float() allow blanks around the number. */
static bool only_blanks(const char *s) { return blank(s, strlen(s)); }

static json_t *scalar(parse_t *p, const char *tag, const char *s) {
  char *end;
  if (strcmp(tag, "string") == 0 || strcmp(tag, "base64") == 0 ||
      strcmp(tag, "dateTime.iso8601") == 0)
    return json_stringn(s, p->text.len);
  if (strcmp(tag, "boolean") == 0) {
    if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0)
      return json_boolean(s[0] == '1');
    return fail(p, -EINVAL, "bad boolean value"), NULL;
  }
  if (strcmp(tag, "double") == 0) {
    double d = strtod(s, &end);
    /* json_real refuses nan and infinities: so does this parser. */
    json_t *v = end != s && only_blanks(end) ? json_real(d) : NULL;
    return v != NULL ? v : (fail(p, -EINVAL, "bad double value"), NULL);
  }
  errno = 0;
  long long i = strtoll(s, &end, 10);
  if (end == s || !only_blanks(end))
    return fail(p, -EINVAL, "bad %s value", tag), NULL;
  if (errno == ERANGE)
    return fail(p, -ERANGE, "%s value out of range", tag), NULL;
  return json_integer(i);
}

/* Hand a finished value to the element it is in: appended to an array
 * (a param's is the call's; the param keeps it, borrowed, to know it has
 * one), or held by a member until its end. */
static void deliver(parse_t *p, frame_t *to, json_t *v) {
  if (v == NULL)
    fail(p, -ENOMEM, "out of memory");
  else if (to->el != EL_MEMBER &&
           json_array_append_new(to->el == EL_PARAM ? p->call.params : to->value, v) < 0)
    fail(p, -ENOMEM, "out of memory");
  else if (to->el != EL_DATA)
    to->value = v;
}

static void end_frame(parse_t *p, frame_t *f, frame_t *parent) {
  const char *s = end_text(p);
  if (s == NULL)
    return;
  switch (f->el) {
  case EL_METHODNAME:
    if ((p->call.method = strdup(s)) == NULL)
      fail(p, -ENOMEM, "out of memory");
    break;
  case EL_SCALAR:
    parent->value = scalar(p, f->tag, s);
    break;
  case EL_NIL:
    parent->value = json_null();
    break;
  case EL_NAME:
    if ((parent->name = strdup(s)) == NULL)
      fail(p, -ENOMEM, "out of memory");
    break;
  case EL_VALUE:
    if (f->value != NULL && f->has_text) {
      fail(p, -EINVAL, "text beside a typed value");
    } else {
      deliver(p, parent, f->value != NULL ? f->value : json_stringn(s, p->text.len));
      f->value = NULL;
    }
    break;
  case EL_MEMBER:
    if (f->name == NULL || f->value == NULL) {
      fail(p, -EINVAL, "<member> without %s", f->name == NULL ? "<name>" : "<value>");
      break;
    }
    /* set_new takes the value, even when it fails. */
    if (json_object_set_new(parent->value, f->name, f->value) < 0)
      fail(p, -ENOMEM, "out of memory");
    f->value = NULL;
    free(f->name);
    f->name = NULL;
    break;
  case EL_STRUCT:
  case EL_ARRAY:
    p->depth--;
    parent->value = f->value;
    f->value = NULL;
    break;
  case EL_PARAM:
    if (f->value == NULL)
      fail(p, -EINVAL, "<param> without <value>");
    break;
  default:
    break;
  }
}

static void XMLCALL on_end(void *ud, const XML_Char *tag) {
  parse_t *p = ud;
  if (p->rc != 0)
    return;
  frame_t *f = &p->stack[p->top];
  end_frame(p, f, &p->stack[p->top - 1]);
  /* A frame that failed keeps what it holds, for unwind to free. */
  if (p->rc != 0)
    return;
  p->text.len = 0;
  p->top--;
}

/* A DTD could declare entities (billion laughs, external files): none is
 * wanted in XML-RPC, so any DOCTYPE is refused before its content. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
  fail(ud, -EPERM, "DOCTYPE refused");
}

/* What failed frames still hold, from the top: a half-built tree. */
static void unwind(parse_t *p) {
  for (; p->top > 0; p->top--) {
    frame_t *f = &p->stack[p->top];
    free(f->name);
    if (f->el == EL_VALUE || f->el == EL_MEMBER || f->el == EL_STRUCT || f->el == EL_ARRAY)
      json_decref(f->value);
  }
}

static int parse_run(parse_t *p, const char *data, size_t len) {
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  /* expat takes an int length. */
  if (len > INT32_MAX)
    return fail(p, -E2BIG, "request too large"), p->rc;
  if (XML_Parse(p->xp, data, (int)len, XML_TRUE) != XML_STATUS_OK && p->rc == 0) {
    enum XML_Error e = XML_GetErrorCode(p->xp);
    fail(p, e == XML_ERROR_NO_MEMORY ? -ENOMEM : -EINVAL, "line %lu: %s",
         (unsigned long)XML_GetCurrentLineNumber(p->xp), XML_ErrorString(e));
  }
  if (p->rc == 0 && p->call.method == NULL)
    fail(p, -EINVAL, "no <methodName>");
  return p->rc;
}

int xmlrpc_parse_call(const char *data, size_t len, xmlrpc_call_t *call, char *err,
                      size_t errlen) {
  *call = (xmlrpc_call_t){0};
  parse_t *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  p->err = err;
  p->errlen = errlen;
  p->xp = XML_ParserCreate(NULL);
  if (p->xp == NULL) {
    free(p);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  int rc = parse_run(p, data, len);
  unwind(p);
  XML_ParserFree(p->xp);
  tend_buf_free(&p->text);
  if (rc == 0 && p->call.params == NULL)
    p->call.params = json_array();
  if (rc == 0 && p->call.params == NULL)
    rc = -ENOMEM, snprintf(err, errlen, "out of memory");
  if (rc == 0)
    *call = p->call;
  else
    xmlrpc_call_free(&p->call);
  free(p);
  return rc;
}

void xmlrpc_call_free(xmlrpc_call_t *call) {
  free(call->method);
  json_decref(call->params);
  *call = (xmlrpc_call_t){0};
}

/* ---- the writers -------------------------------------------------------- */

/* The output with a sticky error: the writers append without checking
 * each step and look once at the end. */
typedef struct {
  tend_buf_t *b;
  int rc;
  int flags;
} out_t;

static void put_n(out_t *o, const char *s, size_t n) {
  if (o->rc == 0 && tend_buf_append(o->b, s, n) < 0)
    o->rc = -ENOMEM;
}

static void put(out_t *o, const char *s) { put_n(o, s, strlen(s)); }

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 and in
 * *skip the length of its maximal invalid part (Unicode's Table 3-7, as
 * Python's decoder: overlongs, surrogates and beyond U+10FFFF are
 * invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *skip) {
  unsigned char c = s[0];
  size_t want = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c == 0xE0)
    lo = 0xA0;
  else if (c == 0xED)
    hi = 0x9F;
  else if (c == 0xF0)
    lo = 0x90;
  else if (c == 0xF4)
    hi = 0x8F;
  size_t i = 1;
  for (; i < want && i < n; i++) {
    unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
    if (s[i] < min || s[i] > max)
      break;
  }
  *skip = i;
  return want != 0 && i == want ? want : 0;
}

/* Python's escape (& < >), with what XML 1.0 cannot hold replaced. */
static void put_text(out_t *o, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t run = 0; /* bytes from s copied as they are */
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    const char *rep = c == '&'   ? "&amp;"
                      : c == '<' ? "&lt;"
                      : c == '>' ? "&gt;"
                      : (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ? replacement
                                                                            : NULL;
    size_t len = 1;
    if (c >= 0x80) {
      size_t skip;
      len = utf8_seq(s + i, n - i, &skip);
      /* U+FFFE and U+FFFF: EF BF BE/BF, not XML characters. */
      if (len == 0 || (len == 3 && c == 0xEF && s[i + 1] == 0xBF && s[i + 2] >= 0xBE))
        rep = replacement, len = len == 0 ? skip : len;
    }
    if (rep != NULL) {
      put_n(o, str + run, i - run);
      put(o, rep);
      run = i + len;
    }
    i += len;
  }
  put_n(o, str + run, n - run);
}

/* Python's repr of a float: the shortest digits that read back the same,
 * in fixed notation with at least one decimal ("1.0", "0.0001") when the
 * exponent is from -4 to 15, else as "1e+16", "1.5e-05". */
static void put_double(out_t *o, double v) {
  char e[40];
  for (int prec = 0; prec < 17; prec++) {
    snprintf(e, sizeof(e), "%.*e", prec, v);
    if (strtod(e, NULL) == v)
      break;
  }
  char *x = strchr(e, 'e');
  int exp = atoi(x + 1);
  if (exp < -4 || exp >= 16) {
    put(o, e); /* C's %e is Python's form: two exponent digits at least */
    return;
  }
  char digits[24], fixed[48];
  size_t nd = 0, k = 0;
  bool neg = e[0] == '-';
  for (char *c = e + neg; c < x; c++)
    if (*c != '.')
      digits[nd++] = *c;
  if (neg)
    fixed[k++] = '-';
  if (exp < 0) {
    fixed[k++] = '0', fixed[k++] = '.';
    for (int z = 0; z < -exp - 1; z++)
      fixed[k++] = '0';
    memcpy(fixed + k, digits, nd), k += nd;
  } else {
    for (size_t d = 0; d <= (size_t)exp; d++)
      fixed[k++] = d < nd ? digits[d] : '0';
    fixed[k++] = '.';
    if (nd > (size_t)exp + 1)
      memcpy(fixed + k, digits + exp + 1, nd - exp - 1), k += nd - exp - 1;
    else
      fixed[k++] = '0';
  }
  put_n(o, fixed, k);
}

static void put_value(out_t *o, const json_t *v, int depth);

static void put_container(out_t *o, const json_t *v, int depth) {
  if (depth >= XMLRPC_MAX_DEPTH) {
    if (o->rc == 0)
      o->rc = -E2BIG;
    return;
  }
  if (json_is_array(v)) {
    put(o, "<value><array><data>\n");
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) put_value(o, e, depth + 1);
    put(o, "</data></array></value>\n");
    return;
  }
  put(o, "<value><struct>\n");
  const char *k;
  const json_t *e;
  json_object_foreach((json_t *)v, k, e) {
    put(o, "<member>\n<name>");
    put_text(o, k, strlen(k));
    put(o, "</name>\n");
    put_value(o, e, depth + 1);
    put(o, "</member>\n");
  }
  put(o, "</struct></value>\n");
}

static void put_value(out_t *o, const json_t *v, int depth) {
  char num[32];
  switch (json_typeof(v)) {
  case JSON_OBJECT:
  case JSON_ARRAY:
    put_container(o, v, depth);
    break;
  case JSON_STRING:
    put(o, "<value><string>");
    put_text(o, json_string_value(v), json_string_length(v));
    put(o, "</string></value>\n");
    break;
  case JSON_INTEGER: {
    json_int_t i = json_integer_value(v);
    bool big = i > INT32_MAX || i < INT32_MIN;
    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, i);
    put(o, big ? "<value><i8>" : "<value><int>");
    put(o, num);
    put(o, big ? "</i8></value>\n" : "</int></value>\n");
    break;
  }
  case JSON_REAL:
    put(o, "<value><double>");
    put_double(o, json_real_value(v));
    put(o, "</double></value>\n");
    break;
  case JSON_TRUE:
  case JSON_FALSE:
    put(o, json_is_true(v) ? "<value><boolean>1</boolean></value>\n"
                           : "<value><boolean>0</boolean></value>\n");
    break;
  case JSON_NULL:
    if (!(o->flags & XMLRPC_ALLOW_NONE) && o->rc == 0)
      o->rc = -EINVAL;
    put(o, "<value><nil/></value>");
    break;
  }
}

static const char xml_header[] = "<?xml version='1.0'?>\n";

int xmlrpc_dump_response(tend_buf_t *out, const json_t *value, int flags) {
  out_t o = {.b = out, .flags = flags};
  put(&o, xml_header);
  put(&o, "<methodResponse>\n<params>\n<param>\n");
  put_value(&o, value, 0);
  put(&o, "</param>\n</params>\n</methodResponse>\n");
  return o.rc;
}

int xmlrpc_dump_fault(tend_buf_t *out, int code, const char *string) {
  out_t o = {.b = out};
  char num[16];
  snprintf(num, sizeof(num), "%d", code);
  /* The struct of Marshaller.dumps for a Fault, written out. */
  put(&o, xml_header);
  put(&o, "<methodResponse>\n<fault>\n<value><struct>\n"
          "<member>\n<name>faultCode</name>\n<value><int>");
  put(&o, num);
  put(&o, "</int></value>\n</member>\n"
          "<member>\n<name>faultString</name>\n<value><string>");
  put_text(&o, string, strlen(string));
  put(&o, "</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n");
  return o.rc;
}

int xmlrpc_dump_call(tend_buf_t *out, const char *method, const json_t *params, int flags) {
  if (!json_is_array(params))
    return -EINVAL;
  out_t o = {.b = out, .flags = flags};
  put(&o, xml_header);
  put(&o, "<methodCall>\n<methodName>");
  put_text(&o, method, strlen(method));
  put(&o, "</methodName>\n<params>\n");
  size_t i;
  const json_t *e;
  json_array_foreach(params, i, e) {
    put(&o, "<param>\n");
    put_value(&o, e, 0);
    put(&o, "</param>\n");
  }
  put(&o, "</params>\n</methodCall>\n");
  return o.rc;
}
