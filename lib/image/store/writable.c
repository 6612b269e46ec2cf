/* SPDX-License-Identifier: MIT */
/* A container's writable root disk: a reflink or sparse copy of the image's
 * ext4 form, or an empty scratch disk for an overlay in the guest. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
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

#define WRITABLE_KNOWN_FLAGS (VMCTR_IMAGE_WRITABLE_USE_OVERLAY | VMCTR_IMAGE_WRITABLE_NO_REFLINK)

int vmctr_image_writable_options_init(vmctr_image_writable_options *opts, uint32_t version) {
  static const vmctr_image_writable_options def = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
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

static int make_copy(vmctr_image *img, const char *dest, const vmctr_image_writable_options *o,
                     int32_t *form) {
  char *src = NULL;
  int in = -1, out = -1, r;
  struct stat st;
  if ((r = vmctr_image_ext4(img, o->ext4, &src)) < 0)
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
  if (!(o->flags & VMCTR_IMAGE_WRITABLE_NO_REFLINK) && ioctl(out, FICLONE, in) == 0) {
    *form = VMCTR_IMAGE_WRITABLE_REFLINK;
  } else {
    if ((r = sparse_copy(in, out, st.st_size)) < 0) {
      r = vmctr__err_os(-r, "copying %s to %s", src, dest);
      goto fail;
    }
    *form = VMCTR_IMAGE_WRITABLE_SPARSE_COPY;
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
  const vmctr_image_writable_options def = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  const vmctr_image_writable_options *o = opts ? opts : &def;
  int32_t form = 0;
  int r;
  if (!img || !dest || !*dest)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_create_writable: %s is NULL",
                      !img ? "image" : "dest_path");
  if ((r = vmctr__options_check(o, VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION, WRITABLE_KNOWN_FLAGS,
                                "vmctr_image_writable_options")) < 0)
    return r;
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
