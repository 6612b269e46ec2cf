/* SPDX-License-Identifier: MIT */
/* Path handling: normalizing tar paths and resolving them beneath the root.
 *
 * Every lookup is relative to the root fd and never follows a symlink out of
 * it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where the kernel has
 * it (5.6+), else a component walk with O_NOFOLLOW that expands symlinks
 * itself and refuses the same ones (absolute targets, ".." above the root).
 * Symlinks that stay inside (lib -> usr/lib) are followed, as tar does. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/error.h"
#include "image/layer/layer-priv.h"

#define MAX_LINKS 40

static bool force_walk;

void vmctr__layer_force_walk(bool on) { force_walk = on; }

int vmctr__layer_normalize(vmctr__layer_ctx *c, const char *what, const char *in, char *out) {
  size_t o = 0;
  const char *p = in;

  if (!in)
    return vmctr__layer_err(c, VMCTR_EPARSE, 0, "%s cannot be decoded", what);
  if (in[0] == '/')
    return vmctr__layer_err(c, VMCTR_EPARSE, 0,
                            "%s is absolute; layer paths must be relative to the root", what);
  while (*p) {
    const char *s = p;
    size_t n;
    while (*p && *p != '/')
      p++;
    n = (size_t)(p - s);
    while (*p == '/')
      p++;
    if (n == 0 || (n == 1 && s[0] == '.'))
      continue;
    if (n == 2 && s[0] == '.' && s[1] == '.')
      return vmctr__layer_err(c, VMCTR_EPARSE, 0,
                              "%s has a '..' component; layers may not leave the root", what);
    if (o + n + 2 > LAYER_PATH_MAX)
      return vmctr__layer_err(c, VMCTR_ETOOBIG, 0, "%s is longer than %d bytes", what,
                              LAYER_PATH_MAX - 1);
    if (o)
      out[o++] = '/';
    memcpy(out + o, s, n);
    o += n;
  }
  out[o] = '\0';
  return 0;
}

/* The portable walk: resolve path beneath root_fd to an O_PATH fd. Each step
 * holds the fds of the directories above it, so ".." from a symlink target
 * pops without a lookup and can never climb above the root. */
static int walk(int root_fd, const char *path, int *out) {
  int stack[LAYER_PATH_MAX / 2 + 1];
  size_t depth = 0;
  int links = 0, r = 0;
  char *rem = strdup(path), *p;
  char target[LAYER_PATH_MAX];

  if (!rem)
    return -ENOMEM;
  stack[0] = root_fd;
  p = rem;
  while (*p) {
    char *s = p, save;
    int fd;
    struct stat st;
    while (*p && *p != '/')
      p++;
    save = *p;
    *p = '\0';
    if (s[0] == '\0' || strcmp(s, ".") == 0) {
      /* nothing */
    } else if (strcmp(s, "..") == 0) {
      if (depth == 0) {
        r = -EXDEV;
        goto out;
      }
      close(stack[depth--]);
    } else {
      fd = openat(stack[depth], s, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || fstat(fd, &st) < 0) {
        r = -errno;
        if (fd >= 0)
          close(fd);
        goto out;
      }
      if (S_ISDIR(st.st_mode)) {
        if (depth + 1 >= sizeof(stack) / sizeof(stack[0])) {
          close(fd);
          r = -ENAMETOOLONG;
          goto out;
        }
        stack[++depth] = fd;
      } else if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
        char *next;
        size_t restlen = save ? strlen(p + 1) : 0;
        close(fd);
        if (n < 0) {
          r = -errno;
          goto out;
        }
        target[n] = '\0';
        if (++links > MAX_LINKS) {
          r = -ELOOP;
          goto out;
        }
        if (target[0] == '/' || n == 0) {
          r = n == 0 ? -ENOENT : -EXDEV;
          goto out;
        }
        /* Continue with the target's components, then the rest. */
        next = malloc((size_t)n + restlen + 2);
        if (!next) {
          r = -ENOMEM;
          goto out;
        }
        memcpy(next, target, (size_t)n);
        next[n] = '/';
        memcpy(next + n + 1, save ? p + 1 : "", restlen + 1);
        free(rem);
        rem = p = next;
        continue;
      } else {
        close(fd);
        r = -ENOTDIR;
        goto out;
      }
    }
    *p = save;
    if (*p)
      p++;
  }
  *out = depth ? stack[depth] : fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (*out < 0)
    r = -errno;
  else if (depth)
    depth--; /* the result is handed over, not closed */
out:
  while (depth > 0)
    close(stack[depth--]);
  free(rem);
  return r;
}

/* Open path (normalized) beneath the root. flags: open(2) flags. */
static int resolve(vmctr__layer_ctx *c, const char *path, int flags, int *out) {
  static int have_openat2 = 1;
  if (!force_walk && __atomic_load_n(&have_openat2, __ATOMIC_RELAXED)) {
    struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    do
      fd = syscall(SYS_openat2, c->root_fd, path[0] ? path : ".", &how, sizeof(how));
    while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    if (fd >= 0) {
      *out = (int)fd;
      return 0;
    }
    if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter that denies it */
      return -errno;
    __atomic_store_n(&have_openat2, 0, __ATOMIC_RELAXED);
  }
  {
    int fd, r, last;
    const char *name;
    if (!path[0])
      r = walk(c->root_fd, "", &fd);
    else if (!(flags & O_NOFOLLOW))
      r = walk(c->root_fd, path, &fd);
    else {
      /* Final component not followed: walk to the parent, then openat. */
      char *dir = strdup(path), *slash;
      if (!dir)
        return -ENOMEM;
      slash = strrchr(dir, '/');
      name = slash ? path + (slash - dir) + 1 : path;
      if (slash)
        *slash = '\0';
      r = walk(c->root_fd, slash ? dir : "", &last);
      free(dir);
      if (r < 0)
        return r;
      fd = openat(last, name, flags | O_CLOEXEC);
      r = fd < 0 ? -errno : 0;
      close(last);
      if (r < 0)
        return r;
      *out = fd;
      return 0;
    }
    if (r < 0)
      return r;
    if (flags & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW)) {
      /* Reopen the O_PATH result with the wanted access mode. */
      int fd2 = openat(fd, ".", flags | O_CLOEXEC);
      r = fd2 < 0 ? -errno : 0;
      close(fd);
      fd = fd2;
    } else if (flags & O_DIRECTORY) {
      struct stat st;
      if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(fd);
        return -ENOTDIR;
      }
    }
    if (r < 0)
      return r;
    *out = fd;
    return 0;
  }
}

static int resolve_err(vmctr__layer_ctx *c, int e, const char *dir) {
  const char *d = dir[0] ? dir : ".";
  switch (e) {
  case EXDEV:
    return vmctr__layer_err(c, VMCTR_EPERM, 0,
                            "its directory '%.128s' leads outside the root (through a symlink "
                            "with an absolute target or too many '..'); refusing to write "
                            "through it", d);
  case ELOOP:
    return vmctr__layer_err(c, VMCTR_EPARSE, 0,
                            "too many levels of symlinks while resolving '%.128s'", d);
  case ENOTDIR:
    return vmctr__layer_err(c, VMCTR_EPARSE, 0, "a component of '%.128s' is not a directory", d);
  default:
    return vmctr__layer_err(c, 0, e, "cannot open directory '%.128s'", d);
  }
}

/* mkdir -p of dir (a normalized path), each step resolved from the root. */
static int make_parents(vmctr__layer_ctx *c, char *dir, int *out) {
  int prev = -1, r = 0;
  char *p = dir;
  for (;;) {
    char *slash = strchr(p, '/');
    int fd;
    if (slash)
      *slash = '\0';
    r = resolve(c, dir, O_PATH | O_DIRECTORY, &fd);
    if (r == -ENOENT) {
      const char *comp = strrchr(dir, '/');
      comp = comp ? comp + 1 : dir;
      if (mkdirat(prev >= 0 ? prev : c->root_fd, comp, 0755) < 0 && errno != EEXIST) {
        r = -errno;
      } else {
        r = resolve(c, dir, O_PATH | O_DIRECTORY, &fd);
      }
    }
    if (slash)
      *slash = '/';
    if (r < 0) {
      if (prev >= 0)
        close(prev);
      return r;
    }
    if (prev >= 0)
      close(prev);
    prev = fd;
    if (!slash)
      break;
    p = slash + 1;
  }
  *out = prev;
  return 0;
}

void vmctr__layer_cache_clear(vmctr__layer_ctx *c) {
  if (c->cache_fd >= 0)
    close(c->cache_fd);
  c->cache_fd = -1;
  free(c->cache_path);
  c->cache_path = NULL;
}

/* Removing path invalidates every cached directory reached through it,
 * including through an in-root symlink (lib -> usr/lib, then usr goes). Only
 * path's own parent is sure to survive: it is the directory being changed, and
 * callers may hold its fd from the cache. */
void vmctr__layer_cache_forget(vmctr__layer_ctx *c, const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (!c->cache_path)
    return;
  if (!slash || strlen(c->cache_path) != n || memcmp(c->cache_path, path, n) != 0)
    vmctr__layer_cache_clear(c);
}

int vmctr__layer_parent(vmctr__layer_ctx *c, const char *path, bool create, bool own,
                        const char **name, int *out) {
  const char *slash = strrchr(path, '/');
  size_t dlen;
  char *dir;
  int fd, r;

  if (!slash) {
    *name = path;
    if (own) {
      fd = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
      if (fd < 0)
        return vmctr__layer_err(c, 0, errno, "cannot duplicate the root fd");
      *out = fd;
    } else {
      *out = c->root_fd;
    }
    return 0;
  }
  *name = slash + 1;
  dlen = (size_t)(slash - path);
  if (!own && c->cache_path && strlen(c->cache_path) == dlen &&
      memcmp(c->cache_path, path, dlen) == 0) {
    *out = c->cache_fd;
    return 0;
  }
  dir = strndup(path, dlen);
  if (!dir)
    return vmctr__err_nomem();
  r = resolve(c, dir, O_PATH | O_DIRECTORY, &fd);
  if (r == -ENOENT && create)
    r = make_parents(c, dir, &fd);
  if (r < 0) {
    r = r == -ENOENT ? 1 : resolve_err(c, -r, dir);
    free(dir);
    return r;
  }
  if (own) {
    free(dir);
  } else {
    vmctr__layer_cache_clear(c);
    c->cache_path = dir;
    c->cache_fd = fd;
  }
  *out = fd;
  return 0;
}

int vmctr__layer_open_dir(vmctr__layer_ctx *c, const char *path, int flags) {
  int fd, r = resolve(c, path, flags | O_DIRECTORY | O_NOFOLLOW, &fd);
  return r < 0 ? r : fd;
}
