/* SPDX-License-Identifier: MIT */
/* A container's writable root disk: a copy-on-write overlay over the image's
 * ext4 form, a reflink or sparse copy of it, or an empty scratch disk for an
 * overlay in the guest. */
#define _FILE_OFFSET_BITS 64
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/options.h"
#include "core/log.h"
#include "core/util.h"
#include "image/store/store-priv.h"
#include "image/store/writable-priv.h"

#define WRITABLE_KNOWN_FLAGS                                                                       \
  (VMCTR_IMAGE_WRITABLE_USE_OVERLAY | VMCTR_IMAGE_WRITABLE_NO_REFLINK |                          \
   VMCTR_IMAGE_WRITABLE_USE_COW)
#define MIB (1024ull * 1024)

/* Version 1 ends at ext4. */
#define WRITABLE_V1_SIZE (offsetof(vmctr_image_writable_options, ext4) + sizeof(void *))

int vmctr_image_writable_options_init(vmctr_image_writable_options *opts, uint32_t version) {
  static const vmctr_image_writable_options def = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  if (opts && version == 1) {
    memcpy(opts, &def, WRITABLE_V1_SIZE);
    opts->version = 1;
    return 0;
  }
  return vmctr__options_init(opts, &def, sizeof(def), version, VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION,
                             "vmctr_image_writable_options");
}

/* Copy [off, off+len) from in to out: copy_file_range where it works, else
 * read/write through a buffer. Returns 0 or -errno. */
static int copy_range(int in, int out, off_t off, off_t len) {
  enum { BUF = 1 << 16 };
  char *buf = NULL;
  int r = 0;
  while (len > 0) {
    ssize_t n;
    if (!buf) {
      loff_t io = off, oo = off;
      n = copy_file_range(in, &io, out, &oo, (size_t)len, 0);
      if (n < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) {
        if (!(buf = malloc(BUF)))
          return -ENOMEM;
        continue;
      }
    } else {
      n = pread(in, buf, (size_t)(len < BUF ? len : BUF), off);
      for (ssize_t w = 0; n > 0 && w < n;) {
        ssize_t m = pwrite(out, buf + w, (size_t)(n - w), off + w);
        if (m < 0 && errno == EINTR)
          continue;
        if (m <= 0) {
          r = m < 0 ? -errno : -EIO;
          goto out;
        }
        w += m;
      }
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      r = n < 0 ? -errno : -EIO; /* 0: the source shrank under us */
      goto out;
    }
    off += n;
    len -= n;
  }
out:
  free(buf);
  return r;
}

/* Copy only the data ranges, so holes stay holes. */
static int sparse_copy(int in, int out, off_t size) {
  off_t data = 0, hole;
  int r;
  for (;;) {
    data = lseek(in, data, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO)
        break; /* no data after this point */
      return -errno;
    }
    if ((hole = lseek(in, data, SEEK_HOLE)) < 0)
      return -errno;
    if ((r = copy_range(in, out, data, hole - data)) < 0)
      return r;
    data = hole;
  }
  return ftruncate(out, size) < 0 ? -errno : 0;
}

/* ---- the copy-on-write overlay: a qcow2 (version 3) file ----
 *
 * Four 64 KiB clusters: the header (with the backing format extension and
 * the backing file's name), the refcount table, its one refcount block, and
 * the L1 table, all zero: every guest block reads through to the backing
 * file until the guest writes it. Fields are big-endian. */

#define QCOW_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW_CLUSTER_BITS 16
#define QCOW_CLUSTER (1u << QCOW_CLUSTER_BITS)
#define QCOW_HEADER_LEN 104u
#define QCOW_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW_BACKING_NAME_MAX 1023u /* the format's own limit */

static void put32(unsigned char *p, uint32_t v) {
  v = htobe32(v);
  memcpy(p, &v, 4);
}
static void put64(unsigned char *p, uint64_t v) {
  v = htobe64(v);
  memcpy(p, &v, 8);
}
static uint32_t get32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return be32toh(v);
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return be64toh(v);
}

/* The first three clusters of an overlay of size bytes over backing: hdr
 * (cluster 0), then the refcount table and its block at reftable (clusters
 * 1 and 2), all zeroed by the caller. The L1 table (cluster 3) stays zero. */
static void qcow_build(unsigned char *hdr, unsigned char *reftable, uint64_t size,
                       const char *backing) {
  size_t name_len = strlen(backing);
  /* One L2 table maps cluster_size / 8 clusters. */
  uint64_t l2_span = (uint64_t)(QCOW_CLUSTER / 8) * QCOW_CLUSTER;
  uint32_t l1_size = (uint32_t)((size + l2_span - 1) / l2_span);
  size_t ext = QCOW_HEADER_LEN;
  put32(hdr + 0, QCOW_MAGIC);
  put32(hdr + 4, 3);                      /* version */
  put32(hdr + 20, QCOW_CLUSTER_BITS);
  put64(hdr + 24, size);                  /* virtual size */
  put32(hdr + 32, 0);                     /* no encryption */
  put32(hdr + 36, l1_size);
  put64(hdr + 40, 3ull * QCOW_CLUSTER);   /* L1 table */
  put64(hdr + 48, 1ull * QCOW_CLUSTER);   /* refcount table */
  put32(hdr + 56, 1);                     /* its size in clusters */
  /* 60: no snapshots; 72..95: no feature bits */
  put32(hdr + 96, 4);                     /* refcount order: 16-bit refcounts */
  put32(hdr + 100, QCOW_HEADER_LEN);
  /* Header extension: the backing file is raw (never probed). */
  put32(hdr + ext, QCOW_EXT_BACKING_FORMAT);
  put32(hdr + ext + 4, 3);
  memcpy(hdr + ext + 8, "raw", 3);
  ext += 16;        /* 8 + 3, padded to 8 */
  ext += 8;         /* end of extensions: type 0, length 0 */
  put64(hdr + 8, ext); /* the backing file name follows */
  put32(hdr + 16, (uint32_t)name_len);
  memcpy(hdr + ext, backing, name_len);
  /* Refcount table entry 0 → the block in cluster 2, in which clusters 0..3
   * (everything allocated so far) have a count of one. */
  unsigned char *refblock = reftable + QCOW_CLUSTER;
  put64(reftable, 2ull * QCOW_CLUSTER);
  for (int i = 0; i < 4; i++) {
    refblock[2 * i] = 0;
    refblock[2 * i + 1] = 1;
  }
}

static int make_cow(const char *backing, int out, uint64_t size) {
  /* Clusters 0 (header) and 1..2 (refcount table and block); 3 (L1) is a hole. */
  unsigned char *buf;
  int r = 0;
  if (strlen(backing) > QCOW_BACKING_NAME_MAX)
    return -ENAMETOOLONG;
  if (!(buf = calloc(3, QCOW_CLUSTER)))
    return -ENOMEM;
  qcow_build(buf, buf + QCOW_CLUSTER, size, backing);
  for (size_t done = 0, n = 3 * (size_t)QCOW_CLUSTER; done < n;) {
    ssize_t w = pwrite(out, buf + done, n - done, (off_t)done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      r = w < 0 ? -errno : -EIO;
      break;
    }
    done += (size_t)w;
  }
  free(buf);
  if (r == 0 && ftruncate(out, 4 * (off_t)QCOW_CLUSTER) < 0)
    r = -errno;
  return r;
}

int vmctr__writable_cow_backing(const char *path, char **backing_out) {
  unsigned char h[QCOW_HEADER_LEN];
  char *name = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;
  ssize_t n;
  if (fd < 0)
    return vmctr__err(VMCTR_EINVAL, errno, "copy-on-write disk %s: %s", path, strerror(errno));
  n = pread(fd, h, sizeof(h), 0);
  if (n != (ssize_t)sizeof(h) || get32(h) != QCOW_MAGIC || get32(h + 4) != 3) {
    r = vmctr__err(VMCTR_EINVAL, 0,
                   "%s is not a copy-on-write disk made by vmctr_image_create_writable() "
                   "(no qcow2 version 3 header); mount it as a raw image instead", path);
    goto out;
  }
  uint64_t off = get64(h + 8);
  uint32_t len = get32(h + 16);
  if (off < QCOW_HEADER_LEN || off >= QCOW_CLUSTER || len == 0 || len > QCOW_BACKING_NAME_MAX ||
      off + len > QCOW_CLUSTER) {
    r = vmctr__err(VMCTR_EINVAL, 0, "copy-on-write disk %s names no valid backing file", path);
    goto out;
  }
  if (!(name = calloc(1, len + 1))) {
    r = vmctr__err_nomem();
    goto out;
  }
  if (pread(fd, name, len, (off_t)off) != (ssize_t)len || strlen(name) != len || name[0] != '/') {
    r = vmctr__err(VMCTR_EINVAL, 0,
                   "copy-on-write disk %s: its backing file name is not an absolute path", path);
    goto out;
  }
  *backing_out = name;
  name = NULL;
  r = 0;
out:
  free(name);
  close(fd);
  return r;
}

int vmctr__writable_cow_size(const char *path, uint64_t *size_out) {
  unsigned char h[QCOW_HEADER_LEN];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return vmctr__err(VMCTR_EINVAL, errno, "copy-on-write disk %s: %s", path, strerror(errno));
  ssize_t n = pread(fd, h, sizeof(h), 0);
  close(fd);
  if (n != (ssize_t)sizeof(h) || get32(h) != QCOW_MAGIC || get32(h + 4) != 3)
    return vmctr__err(VMCTR_EINVAL, 0, "%s is not a copy-on-write disk (no qcow2 version 3 header)",
                      path);
  *size_out = get64(h + 24);
  return 0;
}

/* The disk's size asked for: the requested one (0: the default) rounded up
 * to 1 MiB; never below the image's ext4 (vmctr__image_ext4_for_disk). */
static uint64_t disk_want(const vmctr_image_writable_options *o) {
  uint64_t want = o->size ? o->size : VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE;
  return (want + MIB - 1) / MIB * MIB;
}

/* Share every block of in with out, in constant time, where the host
 * filesystem can (Linux: FICLONE on btrfs, XFS). This is the seam of the
 * constant-time forms: on macOS the same form is clonefile(2) of APFS, which
 * makes the destination itself (so it would replace the create-then-clone
 * here), and needs no backing file at run time. 0 or -1. */
static int reflink(int in, int out) { return ioctl(out, FICLONE, in); }

static int make_copy(vmctr_image *img, const char *dest, const vmctr_image_writable_options *o,
                     int32_t *form) {
  char *src = NULL;
  int in = -1, out = -1, r;
  struct stat st;
  uint64_t size = 0;
  if ((r = vmctr__image_ext4_for_disk(img, o->ext4, disk_want(o), &src, &size)) < 0)
    return r;
  in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0 || fstat(in, &st) < 0) {
    r = vmctr__err_os(errno, "%s", src);
    goto out;
  }
  out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    r = errno == EEXIST ? vmctr__err(VMCTR_EEXIST, errno, "%s exists: choose a new path", dest)
                        : vmctr__err_os(errno, "creating %s", dest);
    goto out;
  }
  if (!(o->flags & VMCTR_IMAGE_WRITABLE_NO_REFLINK) && reflink(in, out) == 0) {
    *form = VMCTR_IMAGE_WRITABLE_REFLINK;
  } else if (o->flags & VMCTR_IMAGE_WRITABLE_USE_COW) {
    /* The backing file is named, never opened for writing: the overlay
     * holds every block the container writes. */
    if ((r = make_cow(src, out, size)) < 0) {
      r = vmctr__err_os(-r, "writing the copy-on-write disk %s", dest);
      goto fail;
    }
    *form = VMCTR_IMAGE_WRITABLE_COW;
  } else {
    if ((r = sparse_copy(in, out, st.st_size)) < 0) {
      r = vmctr__err_os(-r, "copying %s to %s", src, dest);
      goto fail;
    }
    *form = VMCTR_IMAGE_WRITABLE_SPARSE_COPY;
  }
  if (*form != VMCTR_IMAGE_WRITABLE_COW && size > (uint64_t)st.st_size &&
      ftruncate(out, (off_t)size) < 0) {
    r = vmctr__err_os(errno, "sizing %s", dest);
    goto fail;
  }
  if (fsync(out) < 0) {
    r = vmctr__err_os(errno, "%s", dest);
    goto fail;
  }
  r = 0;
  goto out;
fail:
  (void)unlink(dest);
out:
  if (out >= 0)
    close(out);
  if (in >= 0)
    close(in);
  free(src);
  return r;
}

static int make_scratch(const char *dest, uint64_t size) {
  int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), r;
  if (fd < 0)
    return errno == EEXIST ? vmctr__err(VMCTR_EEXIST, errno, "%s exists: choose a new path", dest)
                           : vmctr__err_os(errno, "creating %s", dest);
  if (ftruncate(fd, (off_t)size) < 0) {
    r = vmctr__err_os(errno, "sizing %s", dest);
    close(fd);
    (void)unlink(dest);
    return r;
  }
  close(fd);
  /* One inode per 16 KiB, as for a general-purpose file system. */
  if ((r = vmctr__mke2fs(dest, size, size / 16384, NULL)) < 0)
    (void)unlink(dest);
  return r;
}

int vmctr_image_create_writable(vmctr_image *img, const char *dest,
                                const vmctr_image_writable_options *opts, int32_t *form_out) {
  vmctr_image_writable_options latest = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  const vmctr_image_writable_options *o = &latest;
  int32_t form = 0;
  int r;
  if (!img || !dest || !*dest)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_create_writable: %s is NULL",
                      !img ? "image" : "dest_path");
  if (opts) {
    uint32_t version;
    memcpy(&version, opts, sizeof(version));
    if (version == 1) {
      /* A caller from before the size field: the image's own size, as then. */
      memcpy(&latest, opts, WRITABLE_V1_SIZE);
      latest.version = VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION;
      latest.size = 1;
    } else {
      o = opts;
    }
  }
  if ((r = vmctr__options_check(o, VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION, WRITABLE_KNOWN_FLAGS,
                                "vmctr_image_writable_options")) < 0)
    return r;
  if (o->size > VMCTR_IMAGE_WRITABLE_MAX_SIZE)
    return vmctr__err(VMCTR_EINVAL, 0, "writable disk: %llu bytes is more than the %llu allowed",
                      (unsigned long long)o->size,
                      (unsigned long long)VMCTR_IMAGE_WRITABLE_MAX_SIZE);
  if ((o->flags & VMCTR_IMAGE_WRITABLE_USE_OVERLAY) && (o->flags & VMCTR_IMAGE_WRITABLE_USE_COW))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "writable disk: USE_OVERLAY and USE_COW exclude each other; choose one");
  if (o->flags & VMCTR_IMAGE_WRITABLE_USE_OVERLAY) {
    if (o->scratch_size < 16ull * 1024 * 1024)
      return vmctr__err(VMCTR_EINVAL, 0, "overlay scratch disk: %llu bytes is less than 16 MiB",
                        (unsigned long long)o->scratch_size);
    r = make_scratch(dest, o->scratch_size);
    form = VMCTR_IMAGE_WRITABLE_OVERLAY;
  } else {
    r = make_copy(img, dest, o, &form);
  }
  if (r < 0)
    return r;
  vmctr__log(VMCTR_LOG_DEBUG, "image", "writable disk %s: form %d", dest, (int)form);
  if (form_out)
    *form_out = form;
  return 0;
}
