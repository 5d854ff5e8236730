/* SPDX-License-Identifier: MIT */
/*
 * XML-RPC codec for supervisord's interface (issue #16): a methodCall
 * parsed into a jansson tree, and responses, faults and calls written
 * byte for byte as Python 3.11's xmlrpc.client.dumps writes them (which
 * is what supervisord 4.2.5 sends). No I/O: the HTTP layer hands bytes in
 * and takes bytes out.
 *
 * Values as json_t: int/i4/i8 → integer, boolean → true/false, string
 * and bare text in <value> → string, double → real, struct → object
 * (member order kept; a repeated name keeps its first place and its last
 * value, as a Python dict), array → array, nil and ex:nil → null.
 * base64 and dateTime.iso8601 are kept as their text, undecoded (no
 * method of supervisord's takes them). Namespace prefixes are dropped
 * from element names, as Python does ("ex:nil" is nil).
 */
#ifndef TEND_XMLRPC_CODEC_H
#define TEND_XMLRPC_CODEC_H

#include <jansson.h>
#include <stddef.h>

#include "tend/buf.h"

/* supervisord's fault codes (supervisor/xmlrpc.py, class Faults). */
typedef enum {
  XMLRPC_UNKNOWN_METHOD = 1,
  XMLRPC_INCORRECT_PARAMETERS = 2,
  XMLRPC_BAD_ARGUMENTS = 3,
  XMLRPC_SIGNATURE_UNSUPPORTED = 4,
  XMLRPC_SHUTDOWN_STATE = 6,
  XMLRPC_BAD_NAME = 10,
  XMLRPC_BAD_SIGNAL = 11,
  XMLRPC_NO_FILE = 20,
  XMLRPC_NOT_EXECUTABLE = 21,
  XMLRPC_FAILED = 30,
  XMLRPC_ABNORMAL_TERMINATION = 40,
  XMLRPC_SPAWN_ERROR = 50,
  XMLRPC_ALREADY_STARTED = 60,
  XMLRPC_NOT_RUNNING = 70,
  XMLRPC_SUCCESS = 80,
  XMLRPC_ALREADY_ADDED = 90,
  XMLRPC_STILL_RUNNING = 91,
  XMLRPC_CANT_REREAD = 92,
} xmlrpc_fault_t;

enum {
  /* Struct and array nesting a request may have. */
  XMLRPC_MAX_DEPTH = 64,
  /* <value>s a request may hold (a multicall over every process of a big
   * config holds a few thousand). */
  XMLRPC_MAX_VALUES = 100000,
};

/* Flags of the writers. */
enum {
  /* null is written as <nil/> (Python's allow_none=True); without it a
   * null is refused, as Python raises TypeError. */
  XMLRPC_ALLOW_NONE = (1 << 0),
};

/* The fault's name ("BAD_NAME"), or "UNKNOWN" for a code not listed, as
 * supervisord's getFaultDescription. */
const char *xmlrpc_fault_name(int code);

/* supervisord's fault string, RPCError.text: "NAME", or "NAME: extra"
 * when extra is not NULL. A new string, or NULL when out of memory. */
char *xmlrpc_fault_text(int code, const char *extra);

typedef struct {
  char *method;   /* methodName */
  json_t *params; /* an array, one element per <param> */
} xmlrpc_call_t;

/* Parse a <methodCall> of len bytes. 0 and *call filled (free it with
 * xmlrpc_call_free), or a negative errno with *call zeroed and a message
 * in err (errlen bytes, NUL-terminated): -EINVAL malformed XML, a wrong
 * structure, an unknown type or a bad scalar; -EPERM a DOCTYPE (refused
 * outright, so no entity can expand); -E2BIG nesting deeper than
 * XMLRPC_MAX_DEPTH or more than XMLRPC_MAX_VALUES values; -ERANGE an
 * integer outside 64 bits; -ENOMEM. supervisord answers such a body with
 * HTTP 400. */
int xmlrpc_parse_call(const char *data, size_t len, xmlrpc_call_t *call, char *err,
                      size_t errlen);
void xmlrpc_call_free(xmlrpc_call_t *call);

/* Append to out what dumps((value,), methodresponse=True) writes. Strings
 * are escaped as Python's escape (& < >); what Python would write but XML
 * cannot hold is replaced by U+FFFD (the character, as UTF-8): each
 * invalid UTF-8 sequence (its maximal part, as Python's errors='replace'),
 * each C0 control but tab, newline and carriage return, NUL, U+FFFE and
 * U+FFFF (supervisord's bug #85: log text broke its XML). An integer
 * outside 32 bits, where Python raises OverflowError, is written as <i8>
 * (Python's loads and most clients read it). 0, -EINVAL (a null without
 * XMLRPC_ALLOW_NONE), -E2BIG (nesting deeper than XMLRPC_MAX_DEPTH) or
 * -ENOMEM; on error out may hold part of the document. */
int xmlrpc_dump_response(tend_buf_t *out, const json_t *value, int flags);

/* Append what dumps(Fault(code, string), methodresponse=True) writes.
 * 0 or -ENOMEM. */
int xmlrpc_dump_fault(tend_buf_t *out, int code, const char *string);

/* Append what dumps(tuple(params), method) writes: a <methodCall>. params
 * is an array. The method name is escaped too (Python writes it raw).
 * Errors as xmlrpc_dump_response, and -EINVAL if params is not an array. */
int xmlrpc_dump_call(tend_buf_t *out, const char *method, const json_t *params, int flags);

#endif
