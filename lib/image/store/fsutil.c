/* SPDX-License-Identifier: MIT */
/* File-system helpers of the image store: recursive removal that never
 * follows links, flock-based locks, and staging directories that a cleaner
 * can tell apart from debris. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "image/store/store-priv.h"

/* Depth-first removal of the contents of the open directory fd. Returns 0 or -errno. */
static int rm_contents(int fd, unsigned depth) {
  DIR *d;
  struct dirent *de;
  int r = 0;
  if (depth > 4096)
    return -ELOOP;
  d = fdopendir(fd);
  if (!d) {
    r = -errno;
    close(fd);
    return r;
  }
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
      continue;
    if (unlinkat(dirfd(d), n, 0) == 0 || errno == ENOENT)
      continue;
    if (errno != EISDIR && errno != EPERM) {
      r = -errno;
      break;
    }
    /* A directory: make it searchable and writable for us, empty it, drop it. */
    int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0 && (errno == EACCES || errno == EPERM) &&
        fchmodat(dirfd(d), n, 0700, AT_SYMLINK_NOFOLLOW) == 0)
      sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      r = -errno;
      break;
    }
    (void)fchmod(sub, 0700);
    if ((r = rm_contents(sub, depth + 1)) < 0)
      break;
    if (unlinkat(dirfd(d), n, AT_REMOVEDIR) < 0 && errno != ENOENT) {
      r = -errno;
      break;
    }
  }
  closedir(d);
  return r;
}

int vmctr__rm_rf_at(int dirfd, const char *path) {
  int fd, r;
  if (unlinkat(dirfd, path, 0) == 0 || errno == ENOENT)
    return 0;
  fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : vmctr__err_os(errno, "removing %s", path);
  (void)fchmod(fd, 0700);
  if ((r = rm_contents(fd, 0)) < 0)
    return vmctr__err_os(-r, "removing %s", path);
  if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return vmctr__err_os(errno, "removing %s", path);
  return 0;
}

int vmctr__store_lock(int root_fd, const char *name, int op, bool nonblock) {
  char path[128];
  struct stat a, b;
  int fd;
  snprintf(path, sizeof(path), "locks/%s", name);
  for (int tries = 0;; tries++) {
    fd = openat(root_fd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0)
      return vmctr__err_os(errno, "image store lock %s", path);
    while (flock(fd, op | (nonblock ? LOCK_NB : 0)) < 0) {
      int e = errno;
      if (e == EINTR)
        continue;
      close(fd);
      if (e == EWOULDBLOCK)
        return vmctr__err(VMCTR_EBUSY, e, "image store lock %s is held by another user", path);
      return vmctr__err_os(e, "image store lock %s", path);
    }
    /* The sweeper unlinks unheld stale lock files: a lock taken on a file
     * that was unlinked (or replaced) meanwhile protects nothing, so retry. */
    if (fstat(fd, &a) == 0 && fstatat(root_fd, path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      return fd;
    close(fd);
    if (tries > 100)
      return vmctr__err(VMCTR_EIO, 0, "image store lock %s keeps vanishing", path);
  }
}

int vmctr__store_check_dir(int dirfd, const char *name, const char *shown) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return vmctr__err_os(errno, "image store %s", shown);
  if (!S_ISDIR(st.st_mode))
    return vmctr__err(VMCTR_EPERM, ENOTDIR, "image store %s is not a directory (a symlink or "
                      "file there is refused); remove it or choose another store", shown);
  if (st.st_uid != geteuid() || (st.st_mode & 022))
    return vmctr__err(VMCTR_EPERM, EPERM,
                      "image store %s is %s (uid %u, mode %04o): another user could plant "
                      "blobs or snapshots there; it must be owned by uid %u and not writable by "
                      "group or others (chown/chmod go-w it, or choose another store)", shown,
                      st.st_uid != geteuid() ? "owned by another user" : "group- or world-writable",
                      (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
  return 0;
}

int vmctr__store_staging(int root_fd, const char *prefix, char **name_out, int *fd_out) {
  int lock, fd = -1, r;
  char name[96];
  /* The store lock (shared) keeps the cleaner (exclusive) away between mkdir and flock. */
  if ((lock = vmctr__store_lock(root_fd, "store.lock", LOCK_SH, false)) < 0)
    return lock;
  for (int tries = 0;; tries++) {
    unsigned rnd = (unsigned)random() ^ ((unsigned)getpid() << 8) ^ (unsigned)tries * 2654435761u;
    snprintf(name, sizeof(name), "tmp/%s-%d-%08x", prefix, (int)getpid(), rnd);
    if (mkdirat(root_fd, name, 0700) == 0)
      break;
    if (errno != EEXIST || tries > 100) {
      r = vmctr__err_os(errno, "image store: creating %s", name);
      goto out;
    }
  }
  fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
    r = vmctr__err_os(errno, "image store: locking %s", name);
    if (fd >= 0)
      close(fd);
    fd = -1;
    (void)unlinkat(root_fd, name, AT_REMOVEDIR);
    goto out;
  }
  if (!(*name_out = vmctr__strdup(name))) {
    r = VMCTR_ENOMEM;
    close(fd);
    (void)unlinkat(root_fd, name, AT_REMOVEDIR);
    goto out;
  }
  *fd_out = fd;
  r = 0;
out:
  close(lock);
  return r;
}

/* Remove the entries of dir (under root_fd) that match keep() and that no
 * live process holds a flock on: their owner died. */
static void sweep_dir(int root_fd, const char *dir, bool (*match)(int root_fd, const char *name)) {
  struct dirent *de;
  DIR *d;
  int fd = openat(root_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || !(d = fdopendir(fd))) {
    if (fd >= 0)
      close(fd);
    return;
  }
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || !match(root_fd, de->d_name))
      continue;
    int e = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (e < 0) {
      if (errno == ELOOP) /* a symlink has no owner to ask: debris */
        (void)unlinkat(dirfd(d), de->d_name, 0);
      continue;
    }
    /* A live owner holds LOCK_EX on its staging directory / temp file for its whole life. */
    if (flock(e, LOCK_EX | LOCK_NB) == 0) {
      vmctr__log(VMCTR_LOG_INFO, "image", "removing %s/%s, left by a process that died", dir,
                 de->d_name);
      (void)vmctr__rm_rf_at(dirfd(d), de->d_name);
    }
    close(e);
  }
  closedir(d);
}

static bool is_staging(int root_fd, const char *name) {
  (void)root_fd;
  return name[0] != '.';
}

static bool is_blob_tmp(int root_fd, const char *name) {
  (void)root_fd;
  return strncmp(name, ".tmp-", 5) == 0;
}

/* locks/<hex>.<kind> of a snapshot that is gone (store.lock always stays). */
static bool is_stale_lock(int root_fd, const char *name) {
  char snap[VMCTR__DIGEST_HEX + 16];
  const char *dot = strchr(name, '.');
  struct stat st;
  if (!dot || dot - name != VMCTR__DIGEST_HEX || strspn(name, "0123456789abcdef") != VMCTR__DIGEST_HEX)
    return false;
  snprintf(snap, sizeof(snap), "snapshots/%.64s", name);
  return fstatat(root_fd, snap, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

void vmctr__store_clean_tmp(int root_fd) {
  int lock = vmctr__store_lock(root_fd, "store.lock", LOCK_EX, true);
  if (lock < 0) {
    vmctr_error_clear();
    return; /* an import or staging creation runs right now: clean next time */
  }
  sweep_dir(root_fd, "tmp", is_staging);
  sweep_dir(root_fd, "blobs", is_blob_tmp);
  sweep_dir(root_fd, "locks", is_stale_lock);
  close(lock);
}

const char *vmctr__digest_hex(const char *digest, size_t *len) {
  const char *h = digest;
  size_t n;
  if (!digest)
    return NULL;
  if (strncmp(h, "sha256:", 7) == 0)
    h += 7;
  n = strlen(h);
  if (n == 0 || n > VMCTR__DIGEST_HEX || strspn(h, "0123456789abcdef") != n)
    return NULL;
  *len = n;
  return h;
}

char *vmctr__path_join(const char *a, const char *b) {
  vmctr__strbuf sb = {0};
  vmctr__sb_puts(&sb, a);
  vmctr__sb_puts(&sb, "/");
  vmctr__sb_puts(&sb, b);
  return vmctr__sb_steal(&sb);
}
