/* SPDX-License-Identifier: MIT */
/*
 * The sockets of the [fcgi-program:x] groups (supervisord's SocketManager,
 * supervisor/socket_manager.py and datatypes.py create_and_bind). The
 * supervisor owns them, one per socket URL, in sv->fcgi: each is bound
 * and listening before the first process of its group starts, is every
 * process's fd 0, and stays open across the processes' restarts (no
 * connection is refused while one restarts; supervisord closes it when
 * the last process has exited). A reload keeps a socket whose URL is
 * still configured, and closes (and unlinks) one that is not any more;
 * the processes still stopping keep their own copy until they exit.
 * Shutdown closes them all.
 *
 * These are plain descriptors, never read by the daemon, so closing one
 * needs no loop turn. They stay blocking: the descriptor's flags are
 * shared with the children that accept on it.
 */
#include "core/log.h"
#include "supervisor/supervisor.h"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct sv_fcgi {
  char *url;
  char *path; /* a unix socket's file, ours to unlink */
  int fd;     /* -1 after a failed bind: the next spawn tries again */
  LIST_ENTRY(sv_fcgi) link; /* on sv->fcgi */
};

/* A user or group name, or a number. */
static int uid_of(const char *name, uid_t *uid, gid_t *gid) {
  struct passwd *pw = getpwnam(name);
  char *end;
  long n = strtol(name, &end, 10);
  if (pw == NULL && *name != '\0' && *end == '\0')
    pw = getpwuid((uid_t)n);
  if (pw == NULL)
    return -EINVAL;
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return 0;
}

static int gid_of(const char *name, gid_t *gid) {
  struct group *gr = getgrnam(name);
  char *end;
  long n = strtol(name, &end, 10);
  if (gr == NULL && *name != '\0' && *end == '\0')
    gr = getgrgid((gid_t)n);
  if (gr == NULL)
    return -EINVAL;
  *gid = gr->gr_gid;
  return 0;
}

/* socket_owner, or (as supervisord) the program's user when it is not
 * ours; 0 and *chown_it false when nothing is to change. */
static int owner_of(const tend_program_t *c, bool *chown_it, uid_t *uid, gid_t *gid) {
  *chown_it = false;
  if (c->fcgi.owner != NULL) {
    char *spec = strdup(c->fcgi.owner);
    if (spec == NULL)
      return -ENOMEM;
    char *group = strchr(spec, ':');
    if (group != NULL)
      *group++ = '\0';
    int r = uid_of(spec, uid, gid);
    if (r == 0 && group != NULL)
      r = gid_of(group, gid);
    else if (r == 0)
      *gid = (gid_t)-1; /* "user" alone keeps the group, as supervisord */
    free(spec);
    *chown_it = r == 0;
    return r;
  }
  if (c->user != NULL && uid_of(c->user, uid, gid) == 0 && *uid != geteuid())
    *chown_it = true;
  return 0;
}

static int bind_tcp(const tend_fcgi_socket_t *f, int fd) {
  /* IPv4, as supervisord; a name is looked up (blocking, like
   * supervisord's bind), a numeric address is not. */
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
  struct addrinfo *res = NULL;
  char port[16];
  snprintf(port, sizeof(port), "%d", f->port);
  int g = getaddrinfo(f->host, port, &hints, &res);
  if (g == EAI_NONAME) {
    hints.ai_flags = AI_PASSIVE;
    g = getaddrinfo(f->host, port, &hints, &res);
  }
  if (g != 0)
    return g == EAI_MEMORY ? -ENOMEM : -EADDRNOTAVAIL;
  int one = 1;
  int r = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (r == 0)
    r = bind(fd, res->ai_addr, res->ai_addrlen);
  r = r == 0 ? 0 : -errno;
  freeaddrinfo(res);
  return r;
}

static int bind_unix(const tend_program_t *c, int fd) {
  const tend_fcgi_socket_t *f = &c->fcgi;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(f->path) >= sizeof(sa.sun_path))
    return -ENAMETOOLONG;
  memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
  struct stat st;
  /* A socket left by a daemon that died is replaced; anything else at
   * the path is not ours to remove (supervisord removes whatever it is). */
  if (lstat(f->path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return -EEXIST;
    unlink(f->path);
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    return -errno;
  bool chown_it;
  uid_t uid;
  gid_t gid;
  int r = owner_of(c, &chown_it, &uid, &gid);
  if (r == 0 && chown_it && chown(f->path, uid, gid) != 0)
    r = -errno;
  if (r == 0 && chmod(f->path, (mode_t)f->mode) != 0)
    r = -errno;
  if (r != 0)
    unlink(f->path);
  return r;
}

/* Bind and listen; 0 and *out, or a negative errno (nothing left). */
static int sock_open(const tend_program_t *c, int *out) {
  const tend_fcgi_socket_t *f = &c->fcgi;
  int fd = socket(f->path != NULL ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int r = f->path != NULL ? bind_unix(c, fd) : bind_tcp(f, fd);
  if (r == 0 && listen(fd, f->backlog > 0 ? f->backlog : SOMAXCONN) != 0) {
    r = -errno;
    if (f->path != NULL)
      unlink(f->path);
  }
  if (r != 0) {
    close(fd);
    return r;
  }
  *out = fd;
  return 0;
}

static struct sv_fcgi *find(sv_t *sv, const char *url) {
  struct sv_fcgi *s;
  LIST_FOREACH(s, &sv->fcgi, link)
    if (strcmp(s->url, url) == 0)
      return s;
  return NULL;
}

static void sock_close(struct sv_fcgi *s) {
  if (s->fd >= 0) {
    LOG("info", "fcgi_socket", F_STR("socket", s->url), F_STR("action", "closed"));
    close(s->fd);
    if (s->path != NULL)
      unlink(s->path);
  }
  free(s->url);
  free(s->path);
  free(s);
}

/* Bind s for c now. 0, or a negative errno for the caller to report. */
static int sock_bind(struct sv_fcgi *s, const tend_program_t *c) {
  int r = sock_open(c, &s->fd);
  if (r != 0) {
    s->fd = -1;
    return r;
  }
  LOG("info", "fcgi_socket", F_STR("program", c->program), F_STR("socket", s->url),
      F_STR("action", "listening"));
  return 0;
}

/* A kept socket takes the mode, owner and backlog of the new config (each
 * process of a group has the same). */
static void sock_refresh(struct sv_fcgi *s, const tend_program_t *c) {
  const tend_fcgi_socket_t *f = &c->fcgi;
  bool chown_it;
  uid_t uid;
  gid_t gid;
  int r = 0;
  if (s->path != NULL) {
    r = owner_of(c, &chown_it, &uid, &gid);
    if (r == 0 && chown_it && chown(s->path, uid, gid) != 0)
      r = -errno;
    if (r == 0 && chmod(s->path, (mode_t)f->mode) != 0)
      r = -errno;
  }
  /* listen() again only changes the backlog */
  if (r == 0 && listen(s->fd, f->backlog > 0 ? f->backlog : SOMAXCONN) != 0)
    r = -errno;
  if (r != 0)
    LOG("error", "fcgi_socket", F_STR("program", c->program), F_STR("socket", s->url),
        F_STR("error", strerror(-r)));
}

void svfcgi_apply(sv_t *sv, const tend_config_t *c) {
  /* Sockets no longer configured first: a unix path or port may be
   * taken up by another group in the same reload. */
  for (struct sv_fcgi *s = LIST_FIRST(&sv->fcgi), *next; s != NULL; s = next) {
    next = LIST_NEXT(s, link);
    bool wanted = false;
    for (size_t i = 0; i < c->nprograms && !wanted; i++)
      wanted = c->programs[i].fcgi.url != NULL && strcmp(c->programs[i].fcgi.url, s->url) == 0;
    if (!wanted) {
      LIST_REMOVE(s, link);
      sock_close(s);
    }
  }
  for (size_t i = 0; i < c->nprograms; i++) {
    const tend_program_t *p = &c->programs[i];
    if (p->fcgi.url == NULL)
      continue;
    struct sv_fcgi *kept = find(sv, p->fcgi.url);
    if (kept != NULL) {
      if (kept->fd >= 0)
        sock_refresh(kept, p);
      continue;
    }
    struct sv_fcgi *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->url = strdup(p->fcgi.url)) == NULL ||
        (p->fcgi.path != NULL && (s->path = strdup(p->fcgi.path)) == NULL)) {
      if (s != NULL)
        free(s->url);
      free(s);
      LOG("error", "fcgi_socket", F_STR("program", p->program), F_STR("error", strerror(ENOMEM)));
      continue;
    }
    LIST_INSERT_HEAD(&sv->fcgi, s, link);
    int r = sock_bind(s, p);
    if (r != 0) /* tried again at each spawn, which reports it then */
      LOG("error", "fcgi_socket", F_STR("program", p->program), F_STR("socket", s->url),
          F_STR("error", strerror(-r)));
  }
}

int svfcgi_fd(sv_proc_t *p) {
  struct sv_fcgi *s = find(p->sv, p->conf->fcgi.url);
  if (s == NULL)
    return -ENOENT; /* svfcgi_apply ran out of memory */
  if (s->fd < 0) {
    int r = sock_bind(s, p->conf);
    if (r != 0)
      return r;
  }
  return s->fd;
}

void svfcgi_close_all(sv_t *sv) {
  struct sv_fcgi *s;
  while ((s = LIST_FIRST(&sv->fcgi)) != NULL) {
    LIST_REMOVE(s, link);
    sock_close(s);
  }
}
