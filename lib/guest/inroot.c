/* SPDX-License-Identifier: MIT */
/*
 * Paths inside a container's rootfs, resolved as the container would see
 * them: openat2(RESOLVE_IN_ROOT) treats every absolute link and every ".."
 * as relative to the root, so a link planted in the image (/etc -> /,
 * /data -> ../../..) cannot send a volume mount or /etc/hosts outside it
 * (the runc CVE-2021-30465 class). Missing directories are created one
 * level at a time, each under a parent resolved the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest-priv.h"

static int resolve(int root_fd, const char *rel, int flags) {
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int)syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how, sizeof(how));
  return fd < 0 ? -errno : fd;
}

int guest_open_in_root(int root_fd, const char *path, bool mkdir_p, bool dir, const char **leaf) {
  char buf[4096];
  while (*path == '/')
    path++;
  size_t len = strlen(path);
  while (len && path[len - 1] == '/')
    len--;
  if (len >= sizeof(buf))
    return -ENAMETOOLONG;
  memcpy(buf, path, len);
  buf[len] = '\0';
  /* The directory to open: all of it, or all but the last component. */
  size_t end = len;
  if (!dir) {
    char *slash = strrchr(buf, '/');
    if (!len)
      return -EISDIR;
    *leaf = path + (slash ? (size_t)(slash - buf) + 1 : 0);
    end = slash ? (size_t)(slash - buf) : 0;
    buf[end] = '\0';
  }
  int fd = resolve(root_fd, buf, O_PATH | O_DIRECTORY);
  if (fd != -ENOENT || !mkdir_p)
    return fd;
  /* Create what is missing, from the top. */
  for (size_t i = 0; i <= end; i++) {
    if (i < end && buf[i] != '/')
      continue;
    char save = buf[i];
    buf[i] = '\0';
    char *name = strrchr(buf, '/');
    name = name ? name + 1 : buf;
    int parent;
    if (name == buf) {
      parent = resolve(root_fd, "", O_PATH | O_DIRECTORY);
    } else {
      name[-1] = '\0';
      parent = resolve(root_fd, buf, O_PATH | O_DIRECTORY);
      name[-1] = '/';
    }
    if (parent < 0) {
      buf[i] = save;
      return parent;
    }
    if (*name && mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
      int e = errno;
      close(parent);
      buf[i] = save;
      return -e;
    }
    close(parent);
    buf[i] = save;
  }
  return resolve(root_fd, buf, O_PATH | O_DIRECTORY);
}

int guest_resolve_in_root(int root_fd, const char *path) {
  while (*path == '/')
    path++;
  return resolve(root_fd, path, O_PATH);
}

int guest_open_file_in_root(int root_fd, const char *path, bool mkdir_p, bool *created) {
  struct stat st;
  const char *leaf = NULL;
  *created = false;
  int fd = guest_resolve_in_root(root_fd, path);
  if (fd == -ENOENT) {
    /* Missing (or a link to nothing inside the root): make the file in its
     * parent, resolved the same way; never through a link at the leaf. */
    int dir = guest_open_in_root(root_fd, path, mkdir_p, false, &leaf);
    if (dir < 0)
      return dir;
    int w = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w < 0) {
      int e = errno;
      close(dir);
      return -e;
    }
    close(w);
    *created = true;
    fd = openat(dir, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dir);
    if (fd < 0)
      return -e;
  }
  if (fd < 0)
    return fd;
  int e = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
  if (e) {
    close(fd);
    return -e;
  }
  return fd;
}
