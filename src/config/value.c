/* SPDX-License-Identifier: MIT */
/* Value types of the config: see config/value.h. */
#include "config/value.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* p made absolute (against the working directory) and lexically normal:
 * no "//", "/./" or "/../" (as Python's os.path.abspath). */
char *cfg_path_abs(const char *p) {
  char *joined;
  if (p[0] == '/') {
    joined = strdup(p);
  } else {
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL)
      return NULL;
    if (asprintf(&joined, "%s/%s", cwd, p) < 0)
      joined = NULL;
    free(cwd);
  }
  if (joined == NULL)
    return NULL;
  /* Rewrite in place: out never runs ahead of in. */
  char *out = joined;
  const char *in = joined;
  while (*in != '\0') {
    while (*in == '/')
      in++;
    size_t n = strcspn(in, "/");
    if (n == 0)
      break;
    if (n == 1 && in[0] == '.') {
      /* skip */
    } else if (n == 2 && in[0] == '.' && in[1] == '.') {
      while (out > joined && *--out != '/')
        ;
    } else {
      *out++ = '/';
      memmove(out, in, n);
      out += n;
    }
    in += n;
  }
  if (out == joined)
    *out++ = '/';
  *out = '\0';
  return joined;
}

/* The directory of an absolute, normal path. */
char *cfg_path_dir(const char *file) {
  const char *slash = strrchr(file, '/');
  if (slash == file)
    return strdup("/");
  return strndup(file, (size_t)(slash - file));
}

/* A path from the config: "~" and "~user" as Python's expanduser, then
 * relative to dir (the directory of the file holding it). */
char *cfg_path_resolve(const char *dir, const char *p) {
  char *home = NULL;
  const char *rest = p;
  if (p[0] == '~') {
    size_t n = strcspn(p + 1, "/");
    const char *h = NULL;
    if (n == 0) {
      h = getenv("HOME");
      if (h == NULL || *h == '\0') {
        struct passwd *pw = getpwuid(getuid());
        h = pw != NULL ? pw->pw_dir : NULL;
      }
    } else {
      char *user = strndup(p + 1, n);
      if (user == NULL)
        return NULL;
      struct passwd *pw = getpwnam(user);
      free(user);
      h = pw != NULL ? pw->pw_dir : NULL;
    }
    if (h != NULL) {
      home = strdup(h);
      if (home == NULL)
        return NULL;
      rest = p + 1 + n;
    }
  }
  char *joined;
  int r;
  if (home != NULL)
    r = asprintf(&joined, "%s%s", home, rest);
  else if (p[0] == '/')
    r = asprintf(&joined, "%s", p);
  else
    r = asprintf(&joined, "%s/%s", dir, p);
  free(home);
  if (r < 0)
    return NULL;
  char *norm = cfg_path_abs(joined);
  free(joined);
  return norm;
}

/* Python's int(): optional sign, digits. */
bool cfg_parse_long(const char *s, long *out) {
  const char *p = s;
  if (*p == '+' || *p == '-')
    p++;
  if (!isdigit((unsigned char)*p))
    return false;
  errno = 0;
  char *end;
  long n = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = n;
  return true;
}

bool cfg_parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = true;
      return true;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = false;
      return true;
    }
  }
  return false;
}

/* supervisord's octal_type: int(value, 8), "0o" prefix allowed. */
bool cfg_parse_octal(const char *s, int *out) {
  const char *p = s;
  if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
    p += 2;
  if (*p == '\0' || strspn(p, "01234567") != strlen(p) || strlen(p) > 8)
    return false;
  long v = strtol(p, NULL, 8);
  if (v > 07777)
    return false;
  *out = (int)v;
  return true;
}

bool cfg_user_exists(const char *name) {
  long id;
  if (cfg_parse_long(name, &id))
    return id >= 0 && getpwuid((uid_t)id) != NULL;
  return getpwnam(name) != NULL;
}

bool cfg_group_exists(const char *name) {
  long id;
  if (cfg_parse_long(name, &id))
    return id >= 0 && getgrgid((gid_t)id) != NULL;
  return getgrnam(name) != NULL;
}

/* supervisord's process_or_group_name: no spaces, ':' or '/'. */
bool cfg_name_ok(const char *n) {
  return *n != '\0' && strpbrk(n, " \t\n:/") == NULL;
}
