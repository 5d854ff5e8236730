/* SPDX-License-Identifier: MIT */
/*
 * The web page (see http/webui.h): its routes, the HTML of the status
 * table and of the tail page, the forms' parsing and the answers to them.
 *
 * Every name is escaped where it goes: as HTML text or attribute
 * (put_html), in a URL (put_url, then put_html). The pages carry a
 * Content-Security-Policy that allows only this server's own scripts and
 * styles (there is no inline script or style), so a name that got through
 * unescaped still could not run. Actions are POSTs only, refused when the
 * browser says the form came from another origin (Sec-Fetch-Site): a link
 * or a page elsewhere cannot stop a process with the user's credentials.
 */
#include "http/webui.h"
#include "http/webui/assets.h"
#include "tend/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest message carried back to the page in the redirect's URL:
 * past it, the message is cut (the JSON answer has it whole). */
#define MESSAGE_MAX 600

/* Headers every answer of the page has. */
#define SECURITY_HEADERS                                                                      \
  "X-Content-Type-Options: nosniff\r\n"                                                       \
  "Referrer-Policy: no-referrer\r\n"                                                          \
  "X-Frame-Options: DENY\r\n"                                                                 \
  "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "       \
  "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "   \
  "base-uri 'none'\r\n"

/* ---- output ---------------------------------------------------------------- */

/* A buffer that remembers running out of memory, so the writers below
 * need no checks and the answer is a 500 at the end. */
typedef struct {
  tend_buf_t b;
  int err;
} out_t;

static void put_n(out_t *o, const char *s, size_t n) {
  if (o->err == 0 && tend_buf_append(&o->b, s, n) != 0)
    o->err = -ENOMEM;
}

static void put(out_t *o, const char *s) { put_n(o, s, strlen(s)); }

static void putf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out_t *o, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0)
    o->err = -EINVAL;
  else
    put_n(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* s as HTML text or a quoted attribute's value. */
static void put_html(out_t *o, const char *s) {
  for (const char *p = s; *p != '\0'; p++) {
    switch (*p) {
    case '&': put(o, "&amp;"); break;
    case '<': put(o, "&lt;"); break;
    case '>': put(o, "&gt;"); break;
    case '"': put(o, "&quot;"); break;
    case '\'': put(o, "&#39;"); break;
    default: put_n(o, p, 1);
    }
  }
}

/* s percent-encoded but for RFC 3986's unreserved characters: safe in
 * a path segment, a query value, and (then) in HTML. */
static void put_url(out_t *o, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      put_n(o, (const char *)p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      put_n(o, e, 3);
    }
  }
}

/* A whole answer with the page's security headers. The connection is
 * closed by the server if a write fails. */
static void respond(http_req_t *req, int status, const char *headers, const char *type,
                    const void *body, size_t len) {
  char head[3500];
  int n = snprintf(head, sizeof(head), "%s%s", SECURITY_HEADERS, headers != NULL ? headers : "");
  if (n < 0 || (size_t)n >= sizeof(head)) {
    http_respond(req, 500, "text/plain", "headers too long\n", 17);
    return;
  }
  http_respond_headers(req, status, head, type, body, len);
}

static void respond_text(http_req_t *req, int status, const char *headers, const char *text) {
  respond(req, status, headers, "text/plain; charset=utf-8", text, strlen(text));
}

/* The page in o, or a 500 when it could not be written whole. */
static void respond_out(http_req_t *req, out_t *o, const char *type) {
  if (o->err != 0)
    respond_text(req, 500, NULL, "out of memory\n");
  else
    respond(req, 200, "Cache-Control: no-store\r\n", type, o->b.data, o->b.len);
  tend_buf_free(&o->b);
}

/* ---- requests ---------------------------------------------------------------- */

/* The value of key in a query the server has decoded whole: only a query
 * of that one key ("message=a&b" is the message "a&b"), as the page
 * writes them. NULL if it is not that key's. */
static const char *query_value(http_req_t *req, const char *key) {
  const char *q = http_req_query(req);
  size_t n = strlen(key);
  if (q == NULL || strncmp(q, key, n) != 0 || q[n] != '=')
    return NULL;
  return q + n + 1;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* application/x-www-form-urlencoded: the value of key in body (len
 * bytes), decoded into a new string; NULL when absent, or out of memory
 * (*err then -ENOMEM). */
static char *form_value(const char *body, size_t len, const char *key, int *err) {
  size_t klen = strlen(key);
  const char *end = body + len;
  for (const char *p = body; p < end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp != NULL ? amp : end;
    if ((size_t)(stop - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
      const char *v = p + klen + 1;
      char *out = malloc((size_t)(stop - v) + 1), *w = out;
      if (out == NULL) {
        *err = -ENOMEM;
        return NULL;
      }
      for (; v < stop; v++) {
        int hi, lo;
        if (*v == '+') {
          *w++ = ' ';
        } else if (*v == '%' && stop - v >= 3 && (hi = hexval(v[1])) >= 0 &&
                   (lo = hexval(v[2])) >= 0) {
          *w++ = (char)(hi << 4 | lo);
          v += 2;
        } else {
          *w++ = *v;
        }
      }
      *w = '\0';
      return out;
    }
    p = stop + 1;
  }
  return NULL;
}

static bool wants_json(http_req_t *req) {
  const char *accept = http_req_header(req, "Accept");
  return accept != NULL && strstr(accept, "application/json") != NULL;
}

/* ---- processes as the page shows them ---------------------------------------- */

static const char *str_of(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s != NULL ? s : "";
}

/* supervisorctl's name of it: "GROUP:NAME", or "NAME" when both agree. */
static void namespec(json_t *info, char *buf, size_t len) {
  const char *g = str_of(info, "group"), *n = str_of(info, "name");
  if (strcmp(g, n) == 0)
    snprintf(buf, len, "%s", n);
  else
    snprintf(buf, len, "%s:%s", g, n);
}

/* supervisord's RUNNING_STATES: what can be stopped, not started. */
static bool is_running(json_t *info) {
  const char *s = str_of(info, "statename");
  return strcmp(s, "STARTING") == 0 || strcmp(s, "RUNNING") == 0 || strcmp(s, "BACKOFF") == 0;
}

/* The state's CSS class: the colour of a state at a glance. */
static const char *state_class(const char *statename) {
  if (strcmp(statename, "RUNNING") == 0)
    return "running";
  if (strcmp(statename, "STARTING") == 0 || strcmp(statename, "STOPPING") == 0)
    return "moving";
  if (strcmp(statename, "BACKOFF") == 0 || strcmp(statename, "FATAL") == 0 ||
      strcmp(statename, "UNKNOWN") == 0)
    return "failed";
  return "stopped";
}

/* ---- the status page ----------------------------------------------------------- */

static void put_asset_link(out_t *o, const char *path) {
  const webui_asset_t *a = webui_asset_find(path);
  /* The content's hash in the URL: cached for good, never stale. */
  put(o, path + 1);
  put(o, "?v=");
  put(o, a != NULL ? a->hash : "0");
}

static void put_head(out_t *o, const char *title, const char *script, bool refresh) {
  put(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  put_html(o, title);
  put(o, "</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"");
  put_asset_link(o, "/webui.css");
  put(o, "\">\n<script defer src=\"");
  put_asset_link(o, script);
  put(o, "\"></script>\n");
  /* Without JavaScript the table still updates itself, by reloading (the
   * plain URL: a message shown once is not shown again). */
  if (refresh)
    put(o, "<noscript><meta http-equiv=\"refresh\" content=\"5; url=index.html\"></noscript>\n");
  put(o, "</head>\n");
}

static void put_button(out_t *o, const char *action, const char *label, bool enabled) {
  putf(o, "<button name=\"action\" value=\"%s\"%s>%s</button>", action,
       enabled ? "" : " disabled", label);
}

/* One row. The same markup, empty, is the <template> webui.js fills for a
 * process that appears later: the rows have one author. */
static void put_row(out_t *o, json_t *info) {
  char spec[512] = "";
  const char *statename = "";
  bool running = false;
  if (info != NULL) {
    namespec(info, spec, sizeof(spec));
    statename = str_of(info, "statename");
    running = is_running(info);
  }
  put(o, "<tr data-name=\"");
  put_html(o, spec);
  put(o, "\">\n<td class=\"state\"><span class=\"");
  put(o, info != NULL ? state_class(statename) : "");
  put(o, "\">");
  put_html(o, statename);
  put(o, "</span></td>\n<td class=\"name\"><a title=\"Follow its output\" href=\"tail.html?processname=");
  put_url(o, spec);
  put(o, "\">");
  put_html(o, spec);
  put(o, "</a></td>\n<td class=\"desc\">");
  put_html(o, info != NULL ? str_of(info, "description") : "");
  put(o, "</td>\n<td class=\"actions\"><form method=\"post\" action=\"index.html\">"
         "<input type=\"hidden\" name=\"name\" value=\"");
  put_html(o, spec);
  put(o, "\">");
  put_button(o, "start", "Start", !running);
  put_button(o, "stop", "Stop", running);
  put_button(o, "restart", "Restart", true);
  put_button(o, "clearlog", "Clear log", true);
  put(o, "</form></td>\n</tr>\n");
}

static void put_summary(out_t *o, json_t *infos) {
  size_t n = json_array_size(infos), running = 0, failed = 0, i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    const char *c = state_class(str_of(info, "statename"));
    running += strcmp(c, "running") == 0;
    failed += strcmp(c, "failed") == 0;
  }
  putf(o, "%zu process%s, %zu running", n, n == 1 ? "" : "es", running);
  if (failed > 0)
    putf(o, ", %zu failed", failed);
}

static void page(http_req_t *req, json_t *infos) {
  out_t o = {0};
  const char *message = query_value(req, "message");
  const char *error = query_value(req, "error");
  put_head(&o, "tend: status", "/webui.js", true);
  put(&o, "<body>\n<header><h1>tend</h1><p id=\"summary\">");
  put_summary(&o, infos);
  put(&o, "</p></header>\n<main>\n<div id=\"message\" role=\"status\"");
  if (message != NULL || error != NULL) {
    put(&o, error != NULL ? " class=\"error\">" : " class=\"ok\">");
    put_html(&o, error != NULL ? error : message);
  } else {
    put(&o, " hidden>");
  }
  put(&o, "</div>\n<form class=\"all\" method=\"post\" action=\"index.html\">");
  put_button(&o, "startall", "Start all", true);
  put_button(&o, "stopall", "Stop all", true);
  put_button(&o, "restartall", "Restart all", true);
  put_button(&o, "clearlogall", "Clear all logs", true);
  put(&o, "</form>\n<table id=\"processes\">\n<thead><tr><th>State</th><th>Name</th>"
          "<th>Description</th><th>Actions</th></tr></thead>\n<tbody>\n");
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) put_row(&o, info);
  put(&o, "</tbody>\n</table>\n<p id=\"empty\"");
  put(&o, json_array_size(infos) > 0 ? " hidden" : "");
  put(&o, ">No processes.</p>\n<template id=\"row\">");
  put_row(&o, NULL);
  put(&o, "</template>\n</main>\n<footer><span id=\"live\">"
          "<noscript>Reloads every 5 seconds. </noscript></span>"
          "<a href=\"index.html\">Refresh</a> · <a href=\"status.json\">status.json</a>"
          "</footer>\n</body>\n</html>\n");
  respond_out(req, &o, "text/html; charset=utf-8");
}

/* /status.json: the processes as webui.js renders them. */
static void status_json(http_req_t *req, json_t *infos) {
  json_t *procs = json_array();
  size_t i;
  json_t *info;
  json_array_foreach(infos, i, info) {
    char spec[512];
    namespec(info, spec, sizeof(spec));
    const char *statename = str_of(info, "statename");
    json_array_append_new(
        procs, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:O*}", "namespec", spec, "name",
                         str_of(info, "name"), "group", str_of(info, "group"), "statename",
                         statename, "class", state_class(statename), "description",
                         str_of(info, "description"), "running", is_running(info), "pid",
                         json_object_get(info, "pid")));
  }
  out_t o = {0};
  put_summary(&o, infos);
  put_n(&o, "", 1);
  json_t *doc = json_pack("{s:o,s:s}", "processes", procs, "summary",
                          o.err == 0 ? o.b.data : "");
  tend_buf_free(&o.b);
  char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (text == NULL) {
    respond_text(req, 500, NULL, "out of memory\n");
    return;
  }
  respond(req, 200, "Cache-Control: no-store\r\n", "application/json", text, strlen(text));
  free(text);
}

void webui_status_reply(http_req_t *req, json_t *infos, const char *error) {
  if (infos == NULL) {
    char msg[300];
    snprintf(msg, sizeof(msg), "cannot list the processes: %s\n", error != NULL ? error : "?");
    respond_text(req, 500, NULL, msg);
  } else if (strcmp(http_req_path(req), "/status.json") == 0) {
    status_json(req, infos);
  } else {
    page(req, infos);
  }
}

/* ---- the tail page ---------------------------------------------------------------- */

static void put_pane(out_t *o, const char *name, const char *channel) {
  put(o, "<section>\n<h2>");
  put(o, channel);
  put(o, " <span class=\"live\" hidden></span></h2>\n<pre data-src=\"logtail/");
  put_url(o, name);
  putf(o, "/%s\"></pre>\n<noscript><p><a href=\"logtail/", channel);
  put_url(o, name);
  putf(o, "/%s\">Follow %s</a> (a stream of the file, as supervisorctl tail -f).</p>"
          "</noscript>\n</section>\n",
       channel, channel);
}

/* tail.html?processname=NAME, as supervisord names it. */
static void tail_page(http_req_t *req) {
  const char *name = query_value(req, "processname");
  if (name == NULL || name[0] == '\0') {
    respond_text(req, 400, NULL, "tail.html?processname=NAME\n");
    return;
  }
  out_t o = {0};
  char title[512];
  snprintf(title, sizeof(title), "tend: %s", name);
  put_head(&o, title, "/tail.js", false);
  put(&o, "<body>\n<header><h1><a href=\"index.html\">tend</a> › ");
  put_html(&o, name);
  put(&o, "</h1></header>\n<main class=\"tail\">\n");
  put_pane(&o, name, "stdout");
  put_pane(&o, name, "stderr");
  put(&o, "</main>\n</body>\n</html>\n");
  respond_out(req, &o, "text/html; charset=utf-8");
}

/* ---- actions ------------------------------------------------------------------------ */

static const char *const action_names[] = {
    [WEBUI_START] = "start",
    [WEBUI_STOP] = "stop",
    [WEBUI_RESTART] = "restart",
    [WEBUI_CLEARLOG] = "clearlog",
};

/* "stop" or "stopall" (supervisord's form names) into its action. */
static int parse_action(const char *s, webui_action_t *action, bool *all) {
  for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
    size_t n = strlen(action_names[i]);
    if (strncmp(s, action_names[i], n) == 0 && (s[n] == '\0' || strcmp(s + n, "all") == 0)) {
      *action = (webui_action_t)i;
      *all = s[n] != '\0';
      return 0;
    }
  }
  return -EINVAL;
}

static void post_action(http_req_t *req, const webui_ops_t *ops, void *data) {
  /* Sent by a page of another origin (with this user's Basic credentials,
   * which the browser adds by itself; "same-site" is another port of the
   * same host too): refused. Browsers without the header are let
   * through, as supervisord lets everyone. */
  const char *site = http_req_header(req, "Sec-Fetch-Site");
  if (site != NULL && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
    respond_text(req, 403, NULL, "actions come from this server's own page\n");
    return;
  }
  const char *ctype = http_req_header(req, "Content-Type");
  if (ctype != NULL && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
    respond_text(req, 415, NULL, "a form: application/x-www-form-urlencoded\n");
    return;
  }
  size_t len;
  const char *body = http_req_body(req, &len);
  int err = 0;
  char *action_s = form_value(body, len, "action", &err);
  char *name = form_value(body, len, "name", &err);
  webui_action_t action;
  bool all = false;
  if (err != 0) {
    respond_text(req, 500, NULL, "out of memory\n");
  } else if (action_s == NULL || parse_action(action_s, &action, &all) != 0) {
    respond_text(req, 400, NULL, "action: start, stop, restart, clearlog, or those and all\n");
  } else if (!all && (name == NULL || name[0] == '\0')) {
    respond_text(req, 400, NULL, "name: the process (or GROUP:*) the action is for\n");
  } else {
    ops->action(data, req, action, all ? NULL : name);
  }
  free(action_s);
  free(name);
}

void webui_action_reply(http_req_t *req, bool ok, const char *message) {
  if (wants_json(req)) {
    json_t *doc = json_pack("{s:b,s:s}", "ok", ok, "message", message);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
      respond_text(req, 500, NULL, "out of memory\n");
    else
      respond(req, 200, "Cache-Control: no-store\r\n", "application/json", text, strlen(text));
    free(text);
    return;
  }
  /* Post/Redirect/Get: the page shows the message, a reload does not
   * repeat the action. Relative, so that the page works under a proxy's
   * prefix. */
  out_t o = {0};
  put(&o, "Location: index.html?");
  put(&o, ok ? "message=" : "error=");
  size_t n = strlen(message);
  char cut[MESSAGE_MAX + 4];
  if (n > MESSAGE_MAX) {
    /* on a character's first byte, with an ellipsis */
    n = MESSAGE_MAX;
    while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80)
      n--;
    memcpy(cut, message, n);
    memcpy(cut + n, "\xE2\x80\xA6", 4);
    message = cut;
  }
  put_url(&o, message);
  put(&o, "\r\nCache-Control: no-store\r\n");
  put_n(&o, "", 1);
  if (o.err != 0)
    respond_text(req, 500, NULL, "out of memory\n");
  else
    respond_text(req, 303, o.b.data, message);
  tend_buf_free(&o.b);
}

/* ---- routes -------------------------------------------------------------------------- */

static void asset(http_req_t *req, const webui_asset_t *a) {
  /* Asked for by the page, its URL changes with its content
   * (put_asset_link): cached for good. Asked for otherwise: checked. */
  const char *v = query_value(req, "v");
  bool versioned = v != NULL && strcmp(v, a->hash) == 0;
  respond(req, 200,
          versioned ? "Cache-Control: public, max-age=31536000, immutable\r\n"
                    : "Cache-Control: no-cache\r\n",
          a->type, a->data, a->len);
}

bool webui_serve(http_req_t *req, const webui_ops_t *ops, void *data) {
  const char *path = http_req_path(req);
  const char *method = http_req_method(req);
  bool get = strcmp(method, "GET") == 0;
  bool post = strcmp(method, "POST") == 0;
  bool index = strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0;
  const webui_asset_t *a = webui_asset_find(path);
  if (!index && a == NULL && strcmp(path, "/status.json") != 0 &&
      strcmp(path, "/tail.html") != 0)
    return false;
  if (index && post)
    post_action(req, ops, data);
  else if (!get)
    respond_text(req, 405, index ? "Allow: GET, POST\r\n" : "Allow: GET\r\n",
                 "Method Not Allowed\n");
  else if (a != NULL)
    asset(req, a);
  else if (strcmp(path, "/tail.html") == 0)
    tail_page(req);
  else
    ops->status(data, req);
  return true;
}
