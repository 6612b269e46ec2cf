/* SPDX-License-Identifier: MIT */
/* vmctr__initfs_get: content-addressed cache of initfs archives. The name is the SHA-256
 * of every input, so a cached file is reused only for identical inputs; next to it,
 * NAME.sha256 records the hash of its content, checked before every reuse. Files appear
 * under their names only once complete (locked temp file, fsync, rename). The
 * directory must be the caller's own and closed to others (see doc/initfs.md). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/util.h"
#include "initfs/initfs-priv.h"

#define LOCK_NAME "initfs.lock"
#define TMP_PREFIX ".new-"

static void hash_u64(vmctr__sha256 *c, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  vmctr__sha256_update(c, b, sizeof(b));
}

/* Length-prefix every field so that no two different input sets hash the same stream. */
static void hash_field(vmctr__sha256 *c, const void *data, size_t len) {
  hash_u64(c, len);
  vmctr__sha256_update(c, data, len);
}

static void hash_inputs(const vmctr__initfs_inputs *in, char hex[65]) {
  static const char tag[] = "vmctr-initfs";
  vmctr__sha256 c;
  uint8_t d[32];

  vmctr__sha256_init(&c);
  hash_field(&c, tag, sizeof(tag) - 1);
  hash_u64(&c, VMCTR__INITFS_FORMAT);
  hash_field(&c, in->init.data, in->init.len);
  hash_u64(&c, (uint64_t)in->has_modules);
  hash_u64(&c, in->n_mods);
  for (size_t i = 0; i < in->n_mods; i++) {
    hash_field(&c, in->mods[i].name, strlen(in->mods[i].name));
    hash_field(&c, in->mods[i].data, in->mods[i].len);
  }
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
}

/* mkdir -p, for the cache directory: what we create is 0700. */
static int make_dirs(const char *dir) {
  char *p = vmctr__strdup(dir);
  int r = 0;

  if (!p)
    return VMCTR_ENOMEM;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0700) < 0 && errno != EEXIST) {
      r = vmctr__err_os(errno, "initfs cache directory %s: creating %s", dir, p);
      break;
    }
    *s = saved;
    if (!saved)
      break;
  }
  free(p);
  return r;
}

/* The cache holds what becomes PID 1 of every guest: only a directory of
 * ours that nobody else can write is used. Ours but too open (0755, as older
 * releases made it) is tightened to 0700; group/world-writable or another
 * owner's is refused, since entries may have been planted. Returns the
 * directory's fd. */
static int open_cache_dir(const char *dir) {
  struct stat st;
  int fd, r;
  if ((r = make_dirs(dir)) < 0)
    return r;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
    bool link = errno == ELOOP || (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode));
    return vmctr__err(link ? VMCTR_EPERM : VMCTR_EINVAL, ENOTDIR, "initfs cache directory %s "
                      "is not a directory (%s); remove it or set VMCTR_CACHE_DIR", dir,
                      link ? "a symlink there is refused" : "a file");
  }
  if (fd < 0)
    return vmctr__err_os(errno, "initfs cache directory %s", dir);
  if (fstat(fd, &st) < 0) {
    r = vmctr__err_os(errno, "initfs cache directory %s", dir);
    goto fail;
  }
  if (st.st_uid != geteuid() || (st.st_mode & 022)) {
    r = vmctr__err(VMCTR_EPERM, EPERM,
                   "initfs cache directory %s is %s (uid %u, mode %04o): another user could "
                   "plant the guest's init there; it must be owned by uid %u and not writable "
                   "by group or others (remove it, or set VMCTR_CACHE_DIR elsewhere)", dir,
                   st.st_uid != geteuid() ? "owned by another user" : "group- or world-writable",
                   (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
    goto fail;
  }
  if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0) {
    r = vmctr__err_os(errno, "initfs cache directory %s: chmod 0700", dir);
    goto fail;
  }
  return fd;
fail:
  close(fd);
  return r;
}

static int cache_lock(int dfd, const char *dir, int op) {
  int fd = openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0)
    return vmctr__err_os(errno, "initfs cache %s: lock file", dir);
  while (flock(fd, op) < 0) {
    int e = errno;
    if (e == EINTR)
      continue;
    close(fd);
    if (e == EWOULDBLOCK)
      return VMCTR_EBUSY; /* no error recorded: only the sweeper asks without waiting */
    return vmctr__err_os(e, "initfs cache %s: lock", dir);
  }
  return fd;
}

/* Remove the .new-* temp files of builders that died: a live builder holds
 * LOCK_EX on its temp file, and creates it under the cache lock (shared),
 * so with the lock exclusive an unlocked one is debris. */
static void sweep(int dfd) {
  int lock = cache_lock(dfd, "", LOCK_EX | LOCK_NB), fd;
  struct dirent *de;
  DIR *d;
  if (lock < 0) {
    if (lock != VMCTR_EBUSY)
      vmctr_error_clear();
    return;
  }
  if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || !(d = fdopendir(fd))) {
    if (fd >= 0)
      close(fd);
    close(lock);
    return;
  }
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
      continue;
    int e = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (e < 0) {
      if (errno == ELOOP)
        (void)unlinkat(dfd, de->d_name, 0);
      continue;
    }
    if (flock(e, LOCK_EX | LOCK_NB) == 0) {
      vmctr__log(VMCTR_LOG_INFO, "initfs", "removing %s, left by a builder that died",
                 de->d_name);
      (void)unlinkat(dfd, de->d_name, 0);
    }
    close(e);
  }
  closedir(d);
  close(lock);
}

/* Write data as dfd/name: a locked .new-* temp file (made under the cache
 * lock, shared), fsync, rename. */
static int put_file(int dfd, const char *dir, const char *name, const void *data, size_t len) {
  char tmp[64];
  const char *p = data;
  int lock, fd = -1, r;
  if ((lock = cache_lock(dfd, dir, LOCK_SH)) < 0)
    return lock;
  for (int tries = 0;; tries++) {
    snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d-%08x", (int)getpid(),
             (unsigned)random() ^ (unsigned)tries * 2654435761u);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST || tries > 100)
      break;
  }
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
    r = vmctr__err_os(errno, "initfs cache %s: creating a temporary file", dir);
    close(lock);
    if (fd >= 0) {
      close(fd);
      unlinkat(dfd, tmp, 0);
    }
    return r;
  }
  close(lock);
  for (size_t left = len; left;) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = vmctr__err_os(errno, "initfs cache %s: writing %s", dir, name);
      goto fail;
    }
    p += n;
    left -= (size_t)n;
  }
  if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
    r = vmctr__err_os(errno, "initfs cache %s: syncing %s", dir, name);
    goto fail;
  }
  if (renameat(dfd, tmp, dfd, name) < 0) {
    r = vmctr__err_os(errno, "initfs cache %s: renaming into %s", dir, name);
    goto fail;
  }
  close(fd);
  (void)fsync(dfd);
  return 0;
fail:
  close(fd);
  unlinkat(dfd, tmp, 0);
  return r;
}

static void content_hex(const void *data, size_t len, char hex[65]) {
  vmctr__sha256 c;
  uint8_t d[32];
  vmctr__sha256_init(&c);
  vmctr__sha256_update(&c, data, len);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
}

/* Read dfd/name if it is a regular file of ours that only we can write
 * (else 0: not usable, no error recorded); at most max bytes. */
static int read_entry(int dfd, const char *name, size_t max, char **out, size_t *len) {
  struct stat st;
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  char *buf;
  size_t n = 0;
  if (fd < 0)
    return 0;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 022) || (uint64_t)st.st_size > max || !(buf = malloc((size_t)st.st_size + 1))) {
    close(fd);
    return 0;
  }
  while (n < (size_t)st.st_size) {
    ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    n += (size_t)k;
  }
  close(fd);
  if (n != (size_t)st.st_size) {
    free(buf);
    return 0;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 1;
}

/* A cached archive is used only if its content still hashes to what was
 * recorded next to it when it was built (name.sha256): a tampered or torn
 * entry under the right name is rebuilt, never booted. */
static bool entry_valid(int dfd, const char *name, const char *sum_name) {
  char *data = NULL, *sum = NULL, hex[65];
  size_t len, slen;
  bool ok = false;
  if (read_entry(dfd, name, (size_t)VMCTR__INITFS_MAX_TOTAL * 2, &data, &len) == 1 &&
      read_entry(dfd, sum_name, 128, &sum, &slen) == 1) {
    content_hex(data, len, hex);
    ok = slen >= 64 && memcmp(sum, hex, 64) == 0;
  }
  free(data);
  free(sum);
  return ok;
}

/* Build the archive and put it in place, then its content hash. A
 * concurrent builder of the same inputs renames identical files: fine. */
static int build(int dfd, const char *dir, const char *name, const char *sum_name,
                 const char *shown, const vmctr__initfs_inputs *in) {
  vmctr__strbuf cpio = {0};
  char hex[66];
  int r = vmctr__initfs_write(shown, in, &cpio);
  if (r < 0 && cpio.failed)
    r = vmctr__err_nomem();
  /* The record first: whoever sees the archive under its name also finds
   * its record, so a concurrent reader never takes a fresh archive for a
   * tampered one (the archive is reproducible: every builder of the same
   * inputs writes the same bytes and the same record). */
  if (r == 0) {
    content_hex(cpio.buf, cpio.len, hex);
    hex[64] = '\n';
    r = put_file(dfd, dir, sum_name, hex, 65);
  }
  if (r == 0)
    r = put_file(dfd, dir, name, cpio.buf, cpio.len);
  vmctr__sb_free(&cpio);
  return r;
}

int vmctr__initfs_get(const vmctr__initfs_params *p, char **out_path) {
  vmctr__initfs_inputs in;
  vmctr__strbuf sb = {0};
  char hex[65], name[96], sum_name[96], *path = NULL;
  int dfd = -1, r;

  if (!p || !out_path)
    return vmctr__err(VMCTR_EINVAL, 0, "initfs: params and out_path are required");
  if (!p->cache_dir || !*p->cache_dir)
    return vmctr__err(VMCTR_EINVAL, 0, "initfs: no cache directory given");
  if ((r = vmctr__initfs_inputs_load(p, &in)) < 0)
    return r;
  hash_inputs(&in, hex);
  snprintf(name, sizeof(name), "initfs-%s.cpio.gz", hex);
  snprintf(sum_name, sizeof(sum_name), "initfs-%s.sha256", hex);
  vmctr__sb_printf(&sb, "%s/%s", p->cache_dir, name);
  if (!(path = vmctr__sb_steal(&sb))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if ((dfd = open_cache_dir(p->cache_dir)) < 0) {
    r = dfd;
    goto out;
  }
  sweep(dfd);
  if (entry_valid(dfd, name, sum_name)) {
    vmctr__log(VMCTR_LOG_DEBUG, "initfs", "cached: %s", path);
  } else {
    if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
      vmctr__log(VMCTR_LOG_WARN, "initfs", "%s does not match its recorded content hash (or "
                 "is not a plain file of ours): rebuilding it", path);
    /* Whatever sits under the name (a symlink, a FIFO, a tampered file) is
     * replaced by the rename of the rebuilt one, never removed first: a
     * concurrent user of the name always finds a whole file there. */
    if ((r = build(dfd, p->cache_dir, name, sum_name, path, &in)) < 0)
      goto out;
    vmctr__log(VMCTR_LOG_DEBUG, "initfs", "built %s (%zu modules)", path, in.n_mods);
  }
  *out_path = path;
  path = NULL;
  r = 0;
out:
  if (dfd >= 0)
    close(dfd);
  free(path);
  vmctr__initfs_inputs_free(&in);
  return r;
}
