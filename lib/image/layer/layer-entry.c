/* SPDX-License-Identifier: MIT */
/* Creating one entry: regular file, directory, symlink, hard link, device
 * node or fifo, with its owner, mode, xattrs and times. The last component
 * is always created with *at() calls on its resolved parent and O_NOFOLLOW
 * or O_EXCL semantics, so a symlink in that place is replaced, never
 * written through. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "image/layer/layer-priv.h"

static uint32_t entry_mode(vmctr__layer_ctx *c, struct archive_entry *e) {
  return (uint32_t)archive_entry_perm(e) & (c->opts.keep_owner ? 07777u : 01777u);
}

static void entry_times(struct archive_entry *e, struct timespec t[2]) {
  t[1].tv_sec = archive_entry_mtime(e);
  t[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    t[0].tv_sec = archive_entry_atime(e);
    t[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    t[0] = t[1];
  }
  if (t[0].tv_nsec < 0 || t[0].tv_nsec > 999999999)
    t[0].tv_nsec = 0;
  if (t[1].tv_nsec < 0 || t[1].tv_nsec > 999999999)
    t[1].tv_nsec = 0;
}

/* Which xattrs a layer may set: user.* always, security.capability when
 * keeping owners (file capabilities only mean something as root). */
static bool xattr_wanted(vmctr__layer_ctx *c, const char *name) {
  return strncmp(name, "user.", 5) == 0 ||
         (c->opts.keep_owner && strcmp(name, "security.capability") == 0);
}

static int set_xattrs(vmctr__layer_ctx *c, struct archive_entry *e, int fd) {
  const char *name;
  const void *value;
  size_t size;
  if (archive_entry_xattr_reset(e) == 0)
    return 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (!name || !xattr_wanted(c, name)) {
      vmctr__log(VMCTR_LOG_DEBUG, "layer", "%s: xattr %s skipped", c->disp, name ? name : "?");
      continue;
    }
    if (fsetxattr(fd, name, value, size, 0) < 0) {
      if (errno == ENOSPC || errno == EDQUOT)
        return vmctr__layer_err(c, 0, errno, "cannot set xattr %s", name);
      vmctr__log(VMCTR_LOG_WARN, "layer", "%s: xattr %s not set: %s", c->disp, name,
                 strerror(errno));
    }
  }
  return 0;
}

static int write_all(int fd, const char *p, size_t n, int64_t off, bool seq) {
  while (n) {
    ssize_t w = seq ? write(fd, p, n) : pwrite(fd, p, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
    off += w;
  }
  return 0;
}

static int file_data(vmctr__layer_ctx *c, struct archive_entry *e, int fd) {
  int64_t pos = 0, size = archive_entry_size(e);
  for (;;) {
    const void *buf;
    size_t len;
    la_int64_t off;
    int r = archive_read_data_block(c->a, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN)
      return vmctr__layer_err(c, VMCTR_EPARSE, 0, "cannot read its data: %s",
                              archive_error_string(c->a) ? archive_error_string(c->a)
                                                         : "archive error");
    if (len) {
      if ((r = vmctr__layer_charge_bytes(c, len)) < 0)
        return r;
      r = write_all(fd, buf, len, off, off == pos);
      if (r < 0)
        return vmctr__layer_err(c, 0, -r, "cannot write its data");
      pos = off + (int64_t)len;
    }
    r = vmctr__layer_progress(c, false);
    if (r < 0)
      return r;
  }
  /* A sparse file may end with a hole. */
  if (size > pos && ftruncate(fd, (off_t)size) < 0)
    return vmctr__layer_err(c, 0, errno, "cannot set its size");
  return 0;
}

static int make_file(vmctr__layer_ctx *c, struct archive_entry *e, int pfd, const char *name,
                     const char *path) {
  struct timespec t[2];
  int fd, r;
  /* A plain entry's declared size is data that follows: refuse it before
   * writing any when it cannot fit. A sparse entry's declared size is mostly
   * holes, which stay holes: only the data written is charged. */
  if (archive_entry_sparse_count(e) == 0 && archive_entry_size_is_set(e) &&
      archive_entry_size(e) > 0 && c->opts.max_bytes) {
    uint64_t want = (uint64_t)archive_entry_size(e), used = c->usage->bytes;
    if (used > c->opts.max_bytes || want > c->opts.max_bytes - used)
      return vmctr__layer_charge_bytes(c, want);
  }
  fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    if ((r = vmctr__layer_replace(c, pfd, name, path)) < 0)
      return r;
    fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0)
    return vmctr__layer_err(c, 0, errno, "cannot create the file");
  r = file_data(c, e, fd);
  if (r < 0)
    goto out;
  /* chown first: it clears setuid bits and file capabilities. */
  if (c->opts.keep_owner &&
      fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0) {
    r = vmctr__layer_err(c, 0, errno, "cannot set its owner");
    goto out;
  }
  if (fchmod(fd, entry_mode(c, e)) < 0) {
    r = vmctr__layer_err(c, 0, errno, "cannot set its mode");
    goto out;
  }
  if ((r = set_xattrs(c, e, fd)) < 0)
    goto out;
  entry_times(e, t);
  if (futimens(fd, t) < 0)
    r = vmctr__layer_err(c, 0, errno, "cannot set its times");
out:
  close(fd);
  return r;
}

static int defer_dir(vmctr__layer_ctx *c, struct archive_entry *e, const char *path) {
  vmctr__layer_dirmeta *d;
  if (c->ndirs == c->dirs_cap) {
    size_t ncap = c->dirs_cap ? c->dirs_cap * 2 : 64;
    vmctr__layer_dirmeta *n = realloc(c->dirs, ncap * sizeof(*n));
    if (!n)
      return vmctr__err_nomem();
    c->dirs = n;
    c->dirs_cap = ncap;
  }
  d = &c->dirs[c->ndirs];
  if (!(d->path = strdup(path)))
    return vmctr__err_nomem();
  d->mode = entry_mode(c, e);
  entry_times(e, d->times);
  c->ndirs++;
  return 0;
}

static int make_dir(vmctr__layer_ctx *c, struct archive_entry *e, int pfd, const char *name,
                    const char *path) {
  struct stat st;
  int r, fd;
  bool xattrs = archive_entry_xattr_count(e) > 0;
  if (mkdirat(pfd, name, 0700) < 0) {
    if (errno != EEXIST)
      return vmctr__layer_err(c, 0, errno, "cannot create the directory");
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return vmctr__layer_err(c, 0, errno, "cannot inspect the existing entry");
    if (!S_ISDIR(st.st_mode)) {
      if ((r = vmctr__layer_replace(c, pfd, name, path)) < 0)
        return r;
      if (mkdirat(pfd, name, 0700) < 0)
        return vmctr__layer_err(c, 0, errno, "cannot create the directory");
    }
  }
  if (c->opts.keep_owner && fchownat(pfd, name, (uid_t)archive_entry_uid(e),
                                     (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
    return vmctr__layer_err(c, 0, errno, "cannot set its owner");
  if (xattrs) {
    fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return vmctr__layer_err(c, 0, errno, "cannot open the directory");
    r = set_xattrs(c, e, fd);
    close(fd);
    if (r < 0)
      return r;
  }
  return defer_dir(c, e, path);
}

/* After creating a symlink or node at pfd/name: owner, mode, times, all
 * without following a link. */
static int finish_node(vmctr__layer_ctx *c, struct archive_entry *e, int pfd, const char *name,
                       bool is_link) {
  struct timespec t[2];
  if (c->opts.keep_owner && fchownat(pfd, name, (uid_t)archive_entry_uid(e),
                                     (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
    return vmctr__layer_err(c, 0, errno, "cannot set its owner");
  if (!is_link && fchmodat(pfd, name, entry_mode(c, e), AT_SYMLINK_NOFOLLOW) < 0)
    return vmctr__layer_err(c, 0, errno, "cannot set its mode");
  if (archive_entry_xattr_count(e) > 0)
    vmctr__log(VMCTR_LOG_DEBUG, "layer", "%s: xattrs on a %s are not applied", c->disp,
               is_link ? "symlink" : "special file");
  entry_times(e, t);
  if (utimensat(pfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
    return vmctr__layer_err(c, 0, errno, "cannot set its times");
  return 0;
}

static int make_symlink(vmctr__layer_ctx *c, struct archive_entry *e, int pfd, const char *name,
                        const char *path) {
  const char *target = archive_entry_symlink(e);
  int r;
  if (!target || !target[0])
    return vmctr__layer_err(c, VMCTR_EPARSE, 0, "is a symlink without a target");
  if (strlen(target) >= LAYER_PATH_MAX)
    return vmctr__layer_err(c, VMCTR_ETOOBIG, 0, "has a symlink target longer than %d bytes",
                            LAYER_PATH_MAX - 1);
  if (symlinkat(target, pfd, name) < 0) {
    if (errno != EEXIST)
      return vmctr__layer_err(c, 0, errno, "cannot create the symlink");
    if ((r = vmctr__layer_replace(c, pfd, name, path)) < 0)
      return r;
    if (symlinkat(target, pfd, name) < 0)
      return vmctr__layer_err(c, 0, errno, "cannot create the symlink");
  }
  return finish_node(c, e, pfd, name, true);
}

static int make_node(vmctr__layer_ctx *c, struct archive_entry *e, int pfd, const char *name,
                     const char *path, unsigned type) {
  dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
  int r;
  if (type != AE_IFIFO && !(c->opts.allow_devices && c->is_root)) {
    c->skipped++;
    vmctr__log(VMCTR_LOG_WARN, "layer", "%s: device node %u:%u skipped (%s)", c->disp,
               major(dev), minor(dev),
               c->opts.allow_devices ? "creating devices needs root" : "devices not allowed");
    return 0;
  }
  if (mknodat(pfd, name, (mode_t)type | 0600, dev) < 0) {
    if (errno != EEXIST)
      return vmctr__layer_err(c, 0, errno, "cannot create the special file");
    if ((r = vmctr__layer_replace(c, pfd, name, path)) < 0)
      return r;
    if (mknodat(pfd, name, (mode_t)type | 0600, dev) < 0)
      return vmctr__layer_err(c, 0, errno, "cannot create the special file");
  }
  return finish_node(c, e, pfd, name, false);
}

static int make_hardlink(vmctr__layer_ctx *c, const char *target_raw, int pfd, const char *name,
                         const char *path) {
  const char *tname;
  struct stat st, cur;
  int tfd = -1, r;
  char *tpath = c->linkbuf;

  if ((r = vmctr__layer_normalize(c, "its hard link target", target_raw, tpath)) < 0)
    return r;
  if (strcmp(tpath, path) == 0)
    return 0;
  if (!tpath[0])
    return vmctr__layer_err(c, VMCTR_EPARSE, 0, "is a hard link to the root directory");
  r = vmctr__layer_parent(c, tpath, false, true, &tname, &tfd);
  if (r < 0)
    return r;
  if (r == 1 || fstatat(tfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    r = vmctr__layer_err(c, VMCTR_EPARSE, r == 1 ? ENOENT : errno,
                         "its hard link target '%.128s' does not exist (it must come earlier "
                         "in the layer or from a lower layer)", tpath);
    goto out;
  }
  if (S_ISDIR(st.st_mode)) {
    r = vmctr__layer_err(c, VMCTR_EPARSE, 0, "is a hard link to the directory '%.128s'", tpath);
    goto out;
  }
  r = 0;
  if (linkat(tfd, tname, pfd, name, 0) < 0) {
    if (errno != EEXIST) {
      r = vmctr__layer_err(c, 0, errno, "cannot create the hard link to '%.128s'", tpath);
      goto out;
    }
    if (fstatat(pfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
        cur.st_dev == st.st_dev)
      goto out;
    if ((r = vmctr__layer_replace(c, pfd, name, path)) < 0)
      goto out;
    if (linkat(tfd, tname, pfd, name, 0) < 0)
      r = vmctr__layer_err(c, 0, errno, "cannot create the hard link to '%.128s'", tpath);
  }
out:
  if (tfd >= 0)
    close(tfd);
  return r;
}

int vmctr__layer_entry(vmctr__layer_ctx *c, struct archive_entry *e, const char *path) {
  unsigned type = archive_entry_filetype(e);
  const char *hard = archive_entry_hardlink(e), *name;
  int pfd, r;

  if (!path[0]) {
    if (hard || type != AE_IFDIR)
      return vmctr__layer_err(c, VMCTR_EPARSE, 0, "names the root but is not a directory");
    if (c->opts.keep_owner &&
        fchownat(c->root_fd, "", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_EMPTY_PATH) < 0)
      return vmctr__layer_err(c, 0, errno, "cannot set the root's owner");
    return defer_dir(c, e, "");
  }
  if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFCHR &&
      type != AE_IFBLK && type != AE_IFIFO)
    return vmctr__layer_err(c, VMCTR_EPARSE, 0, "has an unknown type (mode %#o)",
                            (unsigned)archive_entry_mode(e));
  r = vmctr__layer_parent(c, path, true, false, &name, &pfd);
  if (r != 0)
    return r;
  if ((r = vmctr__pathset_add(&c->seen, path)) < 0)
    return r;
  if (hard)
    return make_hardlink(c, hard, pfd, name, path);
  switch (type) {
  case AE_IFREG:
    return make_file(c, e, pfd, name, path);
  case AE_IFDIR:
    return make_dir(c, e, pfd, name, path);
  case AE_IFLNK:
    return make_symlink(c, e, pfd, name, path);
  default:
    return make_node(c, e, pfd, name, path, type);
  }
}
