/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

void tu_sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(cmd))
    fail_msg("command too long: %.80s...", cmd);
  int r = system(cmd);
  if (r != 0)
    fail_msg("command failed (%d): %s", r, cmd);
}

int tu_tmpdir(char *buf, size_t size, const char *name) {
  int n = snprintf(buf, size, "/tmp/%s-XXXXXX", name);
  if (n < 0 || (size_t)n >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return mkdtemp(buf) ? 0 : -1;
}

void *tu_fixture_new(size_t size, const char *name) {
  char *f = size >= TU_DIR_SIZE ? calloc(1, size) : NULL;
  if (f && tu_tmpdir(f, TU_DIR_SIZE, name) < 0) {
    free(f);
    return NULL;
  }
  return f;
}

int tu_fixture_teardown(void **state) {
  char *dir = *state; /* the fixture's first member */
  int r = dir ? tu_rm_rf(dir) : 0;
  free(dir);
  *state = NULL;
  return r;
}

/* Remove name in dirfd; dev is the file system we stay on. */
static int rm_at(int dirfd, const char *name, dev_t dev) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode) || st.st_dev != dev)
    return -1; /* a file we may not remove, or a mount point: leave it */
  fchmodat(dirfd, name, 0700, 0);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  int r = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && rm_at(fd, e->d_name, dev) < 0)
      r = -1;
  closedir(d);
  return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -1 : r;
}

int tu_rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : -1;
  return rm_at(AT_FDCWD, path, st.st_dev);
}

int tu_count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}
