/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

#include "core/error.h"
#include "core/util.h"

/* Read fd (named name in messages) whole: at most max bytes. Regular files
 * get a buffer of their size (they may still grow: the read stops past max);
 * others grow it as they go. Takes fd. */
static int read_fd(int fd, const char *name, size_t max, char **out, size_t *out_len) {
  struct stat st;
  char *buf = NULL;
  size_t len = 0, cap;
  int r;

  if (fstat(fd, &st) < 0) {
    r = vmctr__err_os(errno, "%s", name);
    goto out;
  }
  if (S_ISDIR(st.st_mode)) {
    r = vmctr__err(VMCTR_EINVAL, EISDIR, "%s: is a directory, not a file", name);
    goto out;
  }
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
    r = vmctr__err(VMCTR_ETOOBIG, EFBIG, "%s: file is %llu bytes, more than the %zu allowed", name,
                   (unsigned long long)st.st_size, max);
    goto out;
  }
  /* One byte more than expected, so that EOF is seen without a regrow. */
  cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
  if (cap > max + 1)
    cap = max + 1;
  if (!(buf = malloc(cap + 1))) {
    r = vmctr__err_nomem();
    goto out;
  }
  for (;;) {
    if (len == cap) {
      char *nb;
      if (cap > max) {
        r = vmctr__err(VMCTR_ETOOBIG, EFBIG, "%s: more than the %zu bytes allowed", name, max);
        goto out;
      }
      cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
      if (!(nb = realloc(buf, cap + 1))) {
        r = vmctr__err_nomem();
        goto out;
      }
      buf = nb;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      r = vmctr__err_os(errno, "%s: read", name);
      goto out;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  if (len > max) {
    r = vmctr__err(VMCTR_ETOOBIG, EFBIG, "%s: more than the %zu bytes allowed", name, max);
    goto out;
  }
  buf[len] = '\0';
  *out = buf;
  buf = NULL;
  if (out_len)
    *out_len = len;
  r = 0;
out:
  free(buf);
  close(fd);
  return r;
}

int vmctr__read_file(const char *path, size_t max, char **out, size_t *out_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return vmctr__err_os(errno, "%s", path);
  return read_fd(fd, path, max, out, out_len);
}

/* read_fd() for a regular file only (a FIFO or device opened O_NONBLOCK
 * is refused, never read). Takes fd. */
static int read_regular_fd(int fd, const char *name, size_t max, char **out, size_t *out_len) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    int e = errno;
    close(fd);
    return vmctr__err(VMCTR_EINVAL, e, "%s is not a regular file", name);
  }
  return read_fd(fd, name, max, out, out_len);
}

int vmctr__read_file_regular(const char *path, size_t max, char **out, size_t *out_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return vmctr__err_os(errno, "%s", path);
  return read_regular_fd(fd, path, max, out, out_len);
}

int vmctr__read_file_nofollow(const char *path, size_t max, char **out, size_t *out_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP)
    return vmctr__err(VMCTR_EINVAL, ELOOP, "%s is a symbolic link; it is refused", path);
  if (fd < 0)
    return vmctr__err_os(errno, "%s", path);
  return read_regular_fd(fd, path, max, out, out_len);
}

int vmctr__read_file_in_root(const char *root, const char *rel, size_t max, char **out,
                             size_t *out_len) {
#ifdef __linux__
  int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), e;
  if (rfd < 0)
    return vmctr__err_os(errno, "cannot open %s", root);
  /* Symlinks resolve as if root were /; O_NONBLOCK: a FIFO planted where a
   * file should be must not hang us (it is refused below). */
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, rfd, rel, &how, sizeof(how));
  e = errno;
  close(rfd);
  if (fd < 0)
    return vmctr__err_os(e, "cannot open %s in %s", rel, root);
  char name[512];
  snprintf(name, sizeof(name), "%s in %s", rel, root);
  return read_regular_fd(fd, name, max, out, out_len);
#else
  (void)max, (void)out, (void)out_len;
  return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                    "cannot read %s in %s safely on this host (no openat2 RESOLVE_IN_ROOT)", rel,
                    root);
#endif
}

int vmctr__read_line(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  ssize_t n;
  if (size == 0)
    return -EINVAL;
  if (fd < 0)
    return -errno;
  do
    n = read(fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  close(fd);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  return (int)n;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  /* Some filesystems refuse fsync on directories; the rename is done anyway. */
  if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
    int e = errno;
    close(fd);
    return -e;
  }
  close(fd);
  return 0;
}

int vmctr__write_file_atomic(const char *path, const void *data, size_t len, unsigned new_mode) {
  char *dircopy = NULL, *basecopy = NULL, *tmp = NULL;
  const char *dir, *base;
  struct stat st;
  const char *p = data;
  size_t left = len;
  int fd = -1, r;
  unsigned mode = new_mode;

  dircopy = vmctr__strdup(path);
  basecopy = vmctr__strdup(path);
  if (!dircopy || !basecopy) {
    r = vmctr__err_nomem();
    goto out;
  }
  dir = dirname(dircopy);
  base = basename(basecopy);
  if (stat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      r = vmctr__err(VMCTR_EINVAL, 0, "%s: exists and is not a regular file", path);
      goto out;
    }
    mode = st.st_mode & 07777;
  }
  if (asprintf(&tmp, "%s/.%s.tmp-XXXXXX", dir, base) < 0) {
    tmp = NULL;
    r = vmctr__err_nomem();
    goto out;
  }
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    r = vmctr__err_os(errno, "%s: cannot create a temporary file in %s", path, dir);
    free(tmp);
    tmp = NULL;
    goto out;
  }
  if (fchmod(fd, mode) < 0) {
    r = vmctr__err_os(errno, "%s: chmod", tmp);
    goto fail;
  }
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      r = vmctr__err_os(errno, "%s: write", path);
      goto fail;
    }
    p += n;
    left -= (size_t)n;
  }
  if (fsync(fd) < 0) {
    r = vmctr__err_os(errno, "%s: fsync", path);
    goto fail;
  }
  if (close(fd) < 0) {
    fd = -1;
    r = vmctr__err_os(errno, "%s: close", path);
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) < 0) {
    r = vmctr__err_os(errno, "%s: rename into place", path);
    goto fail;
  }
  r = fsync_dir(dir);
  if (r < 0) {
    /* The new file is in place; only durability of the rename is in doubt. */
    r = vmctr__err_os(-r, "%s: fsync of directory %s", path, dir);
  }
  goto out;
fail:
  if (fd >= 0)
    close(fd);
  unlink(tmp);
out:
  free(tmp);
  free(dircopy);
  free(basecopy);
  return r;
}

char *vmctr__find_executable(const char *name) {
  const char *path, *start;
  if (!name || !*name)
    return NULL;
  if (strchr(name, '/'))
    return access(name, X_OK) == 0 ? vmctr__strdup(name) : NULL;
  path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/local/bin:/usr/bin:/bin";
  for (start = path;;) {
    const char *end = strchr(start, ':');
    size_t dlen = end ? (size_t)(end - start) : strlen(start);
    char *cand = NULL;
    if (asprintf(&cand, "%.*s/%s", (int)dlen, dlen ? start : ".", name) < 0)
      return NULL;
    if (access(cand, X_OK) == 0) {
      struct stat st;
      if (stat(cand, &st) == 0 && S_ISREG(st.st_mode))
        return cand;
    }
    free(cand);
    if (!end)
      return NULL;
    start = end + 1;
  }
}
