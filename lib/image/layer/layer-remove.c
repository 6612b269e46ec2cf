/* SPDX-License-Identifier: MIT */
/* Removing things: entries replaced by a new entry, whiteouts and opaque
 * directories. Removal works on directory fds and never follows a link. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "image/layer/layer-priv.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s)
    h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static size_t find(char *const *slots, size_t cap, const char *path) {
  size_t i = (size_t)hash(path) & (cap - 1);
  while (slots[i] && strcmp(slots[i], path) != 0)
    i = (i + 1) & (cap - 1);
  return i;
}

int vmctr__pathset_add(vmctr__layer_pathset *s, const char *path) {
  size_t i;
  if ((s->len + 1) * 2 > s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    char **n = calloc(ncap, sizeof(*n));
    if (!n)
      return vmctr__err_nomem();
    for (size_t j = 0; j < s->cap; j++)
      if (s->slots[j])
        n[find(n, ncap, s->slots[j])] = s->slots[j];
    free(s->slots);
    s->slots = n;
    s->cap = ncap;
  }
  i = find(s->slots, s->cap, path);
  if (s->slots[i])
    return 0;
  if (!(s->slots[i] = strdup(path)))
    return vmctr__err_nomem();
  s->len++;
  return 1;
}

bool vmctr__pathset_has(const vmctr__layer_pathset *s, const char *path) {
  return s->cap && s->slots[find(s->slots, s->cap, path)] != NULL;
}

void vmctr__pathset_free(vmctr__layer_pathset *s) {
  for (size_t i = 0; i < s->cap; i++)
    free(s->slots[i]);
  free(s->slots);
  memset(s, 0, sizeof(*s));
}

/* Open a directory for removing its children; a directory without owner
 * write/search permission (a read-only dir from a lower layer, when not
 * root) gets them first. */
static int open_for_removal(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
    (void)fchmod(fd, (st.st_mode & 07777) | 0700);
  return fd;
}

static int rm_children(vmctr__layer_ctx *c, int fd, const char *prefix);

int vmctr__layer_rm_rf(int dirfd, const char *name) {
  int fd, r;
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -errno;
  fd = open_for_removal(dirfd, name);
  if (fd < 0)
    return fd;
  r = rm_children(NULL, fd, NULL);
  close(fd);
  if (r < 0)
    return r;
  return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -errno;
}

/* With c set: an opaque directory's lower children go, those that this
 * layer created stay (and directories among them are cleaned the same way). */
static int rm_children(vmctr__layer_ctx *c, int fd, const char *prefix) {
  for (int pass = 0; pass < 8; pass++) {
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0), r = 0;
    bool removed = false, kept = false;
    DIR *d;
    struct dirent *de;
    if (dfd < 0 || !(d = fdopendir(dfd))) {
      if (dfd >= 0)
        close(dfd);
      return -errno;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
      char child[LAYER_PATH_MAX];
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (c) {
        int n = snprintf(child, sizeof(child), "%s%s%s", prefix, prefix[0] ? "/" : "",
                         de->d_name);
        if (n > 0 && (size_t)n < sizeof(child) && vmctr__pathset_has(&c->seen, child)) {
          struct stat st;
          kept = true;
          if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            int sub = open_for_removal(fd, de->d_name);
            if (sub < 0) {
              r = sub;
              break;
            }
            r = rm_children(c, sub, child);
            close(sub);
            if (r < 0)
              break;
          }
          continue;
        }
        vmctr__layer_cache_forget(c, child);
      }
      r = vmctr__layer_rm_rf(fd, de->d_name);
      if (r < 0)
        break;
      removed = true;
    }
    closedir(d);
    if (r < 0)
      return r;
    if (!removed || kept)
      return 0; /* a second pass only picks up what readdir skipped while we deleted */
  }
  return 0;
}

int vmctr__layer_replace(vmctr__layer_ctx *c, int dirfd, const char *name, const char *path) {
  struct stat st;
  int r;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : vmctr__layer_err(c, 0, errno, "cannot inspect the existing entry");
  if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
    vmctr__layer_cache_forget(c, path);
  r = S_ISDIR(st.st_mode) ? vmctr__layer_rm_rf(dirfd, name)
                          : (unlinkat(dirfd, name, 0) == 0 ? 0 : -errno);
  return r < 0 ? vmctr__layer_err(c, 0, -r, "cannot remove the existing entry it replaces") : 0;
}

int vmctr__layer_whiteout(vmctr__layer_ctx *c, const char *path, const char *base) {
  const char *name, *wname = base + strlen(WH_PREFIX);
  size_t dlen = (size_t)(base - path);
  char target[LAYER_PATH_MAX];
  int fd, r;

  r = vmctr__layer_parent(c, path, false, false, &name, &fd);
  if (r < 0)
    return r;
  if (r == 1)
    return 0; /* its directory does not exist: nothing to hide */
  if (strcmp(base, WH_OPAQUE) == 0) {
    memcpy(target, path, dlen ? dlen - 1 : 0);
    target[dlen ? dlen - 1 : 0] = '\0';
    fd = open_for_removal(fd, ".");
    r = fd < 0 ? fd : rm_children(c, fd, target);
    if (fd >= 0)
      close(fd);
    if (r < 0)
      return vmctr__layer_err(c, 0, -r, "cannot empty the opaque directory");
    return 0;
  }
  if (!wname[0] || strcmp(wname, ".") == 0 || strcmp(wname, "..") == 0 ||
      strncmp(wname, WH_PREFIX, strlen(WH_PREFIX)) == 0)
    return vmctr__layer_err(c, VMCTR_EPARSE, 0, "is a malformed whiteout");
  memcpy(target, path, dlen);
  strcpy(target + dlen, wname);
  if (vmctr__pathset_has(&c->seen, target))
    return 0; /* a whiteout hides lower layers only, never its own layer's entries */
  vmctr__layer_cache_forget(c, target);
  r = vmctr__layer_rm_rf(fd, wname);
  return r < 0 ? vmctr__layer_err(c, 0, -r, "cannot remove the whited-out entry") : 0;
}
