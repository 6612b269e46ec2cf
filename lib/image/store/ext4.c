/* SPDX-License-Identifier: MIT */
/* The ext4 form of an image: sized from the tree's real data, made by mke2fs -d in a
 * staging directory, renamed into the snapshot, reused while large enough. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/options.h"
#include "core/log.h"
#include "core/util.h"
#include "image/store/store-priv.h"

#define BLK 4096ull
#define INODE_SIZE 256ull
#define MIB (1024ull * 1024)
#define MKE2FS_TIMEOUT_MS (30 * 60 * 1000)

static uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

/* nftw has no userdata: the walk runs under this thread's accumulator.
 * Sizes are allocated blocks (st_blocks), never apparent sizes: a layer's
 * sparse file declaring a terabyte must not give the container a terabyte
 * disk. A file with several links is counted once (inodes seen is an
 * open-addressing set of dev/ino), or a layer of many links to one big file
 * would size the disk at links x size. */
static _Thread_local struct {
  uint64_t bytes, inodes;
  uint64_t *seen; /* ino ^ dev mix, 0 = empty slot */
  size_t cap, len;
  bool nomem;
} walk;

static uint64_t ino_key(const struct stat *st) {
  uint64_t k = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_dev;
  return k ? k : 1;
}

/* 1 if first seen, 0 if seen, -1 out of memory. */
static int seen_add(uint64_t k) {
  if (walk.len * 2 >= walk.cap) {
    size_t ncap = walk.cap ? walk.cap * 2 : 1024;
    uint64_t *n = calloc(ncap, sizeof(*n));
    if (!n)
      return -1;
    for (size_t i = 0; i < walk.cap; i++)
      if (walk.seen[i]) {
        size_t j = (size_t)(walk.seen[i] % ncap);
        while (n[j])
          j = (j + 1) % ncap;
        n[j] = walk.seen[i];
      }
    free(walk.seen);
    walk.seen = n;
    walk.cap = ncap;
  }
  size_t j = (size_t)(k % walk.cap);
  while (walk.seen[j]) {
    if (walk.seen[j] == k)
      return 0;
    j = (j + 1) % walk.cap;
  }
  walk.seen[j] = k;
  walk.len++;
  return 1;
}

static int account(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)path;
  (void)flag;
  (void)ftw;
  if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
    int r = seen_add(ino_key(st));
    if (r < 0) {
      walk.nomem = true;
      return 1;
    }
    if (r == 0)
      return 0; /* another name of a file already counted */
  }
  walk.inodes++;
  if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode))
    walk.bytes += round_up((uint64_t)st->st_blocks * 512u, BLK); /* data really held */
  return 0;
}

/* Measure tree: its data bytes (whole blocks) and inodes. */
static int measure(const char *tree, uint64_t *bytes, uint64_t *inodes) {
  int r = 0;
  memset(&walk, 0, sizeof(walk));
  if (nftw(tree, account, 64, FTW_PHYS | FTW_MOUNT) != 0)
    r = walk.nomem ? vmctr__err_nomem() : vmctr__err_os(errno, "measuring %s", tree);
  *bytes = walk.bytes;
  *inodes = walk.inodes;
  free(walk.seen);
  memset(&walk, 0, sizeof(walk));
  return r;
}

/* mke2fs on PATH, else in /sbin (not on a user's PATH): malloc'd, or NULL. */
static char *find_mke2fs(void) {
  char *mke2fs = vmctr__find_executable("mke2fs");
  return mke2fs ? mke2fs : vmctr__find_executable("/sbin/mke2fs");
}

/* Whether mke2fs (1.47.0 and later) takes -E assume_storage_prezeroed: it
 * then neither writes the inode tables nor leaves them for the kernel's
 * lazy init, and the file stays sparse. Asked once per process. */
static bool prezeroed_known(const char *mke2fs) {
  static int known = -1; /* -1: not asked yet */
  int k = __atomic_load_n(&known, __ATOMIC_ACQUIRE);
  if (k >= 0)
    return k;
  char *argv[] = {(char *)mke2fs, "-V", NULL}, *out = NULL;
  int status = 0, major = 0, minor = 0;
  k = 0;
  if (vmctr__run_capture(argv, 10000, 4096, &out, &status) == 0 && out &&
      sscanf(out, "mke2fs %d.%d", &major, &minor) == 2)
    k = major > 1 || (major == 1 && minor >= 47);
  vmctr_error_clear();
  free(out);
  __atomic_store_n(&known, k, __ATOMIC_RELEASE);
  return k;
}

/* Whether this host's mke2fs takes assume_storage_prezeroed. */
static bool mke2fs_prezeroes(void) {
  char *mke2fs = find_mke2fs();
  bool k = mke2fs && prezeroed_known(mke2fs);
  free(mke2fs);
  return k;
}

int vmctr__mke2fs(const char *dest, uint64_t size, uint64_t inodes, const char *src_dir) {
  char *mke2fs = find_mke2fs(), *out = NULL;
  char n_arg[32], j_arg[32];
  int status = 0, r;
  /* The journal: 4 MiB for small images, 32 MiB from 1 GiB. */
  uint64_t journal_mib = size >= 1024 * MIB ? 32 : size >= 256 * MIB ? 16 : 4;
  if (!mke2fs)
    return vmctr__err(VMCTR_EUNSUPPORTED, ENOENT,
                      "mke2fs not found: install e2fsprogs to make ext4 images");
  snprintf(n_arg, sizeof(n_arg), "%" PRIu64, inodes);
  snprintf(j_arg, sizeof(j_arg), "size=%" PRIu64, journal_mib);
  /* root_owner: the root directory belongs to root whoever runs mke2fs. No
   * reserved blocks (-m 0): the guest's root needs none. Size in KiB. */
  char size_arg[32];
  snprintf(size_arg, sizeof(size_arg), "%" PRIu64 "k", size / 1024);
  char *argv[24];
  int a = 0;
  argv[a++] = mke2fs;
  argv[a++] = "-q";
  argv[a++] = "-F";
  argv[a++] = "-t";
  argv[a++] = "ext4";
  argv[a++] = "-b";
  argv[a++] = "4096";
  argv[a++] = "-I";
  argv[a++] = "256";
  argv[a++] = "-N";
  argv[a++] = n_arg;
  argv[a++] = "-m";
  argv[a++] = "0";
  argv[a++] = "-J";
  argv[a++] = j_arg;
  argv[a++] = "-E";
  /* dest is always a fresh sparse file, which reads as zeros: the journal
   * and the inode tables need no zeroing and stay holes, and the groups are
   * marked zeroed, so the guest kernel has no lazy init to do in a copy.
   * An older mke2fs writes the inode tables instead (lazy_itable_init=0). */
  argv[a++] = prezeroed_known(mke2fs)
                  ? "root_owner=0:0,assume_storage_prezeroed=1,nodiscard"
                  : "root_owner=0:0,lazy_itable_init=0,lazy_journal_init=1,nodiscard";
  if (src_dir) {
    argv[a++] = "-d";
    argv[a++] = (char *)src_dir;
  }
  argv[a++] = (char *)dest;
  argv[a++] = size_arg;
  argv[a] = NULL;
  r = vmctr__run_capture(argv, MKE2FS_TIMEOUT_MS, 16384, &out, &status);
  if (r == 0 && status != 0) {
    size_t n = out ? strlen(out) : 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
      out[--n] = '\0';
    r = vmctr__err(VMCTR_EIO, 0, "mke2fs failed (exit %d) making %s: %s", status, dest,
                   out && *out ? out : "no output");
  }
  free(out);
  free(mke2fs);
  return r;
}

int vmctr_image_ext4_options_init(vmctr_image_ext4_options *opts, uint32_t version) {
  static const vmctr_image_ext4_options def = VMCTR_IMAGE_EXT4_OPTIONS_INIT;
  return vmctr__options_init(opts, &def, sizeof(def), version, VMCTR_IMAGE_EXT4_OPTIONS_VERSION,
                             "vmctr_image_ext4_options");
}

static int report(const vmctr_image_ext4_options *o, uint64_t done, uint64_t total) {
  vmctr_progress p = {.version = 1, .phase = VMCTR_PROGRESS_DISK, .item = "rootfs.ext4",
                      .item_count = 1, .item_bytes_done = done, .item_bytes_total = total,
                      .bytes_done = done, .bytes_total = total};
  if (o->progress && o->progress(&p, o->userdata) != 0)
    return vmctr__err(VMCTR_ECANCELED, 0, "making the ext4 image: cancelled");
  return 0;
}

/* The size and inode count the content of img needs, as vmctr_image_ext4()
 * documents it. */
static int content_size(vmctr_image *img, const vmctr_image_ext4_options *o, uint64_t *size_out,
                        uint64_t *inodes_out) {
  uint64_t size, inodes, data;
  int r = measure(img->rootfs, &data, &inodes);
  if (r < 0)
    return r;
  inodes += 1024 + o->extra_bytes / (16 * 1024);
  if (o->extra_bytes > UINT64_MAX / 4 || data > UINT64_MAX / 4)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_ext4: extra_bytes is too large");
  /* Content + inode tables + journal + ~5% metadata (bitmaps, descriptors, extents). */
  size = data + inodes * INODE_SIZE;
  size += size / 20 + 8 * MIB + o->extra_bytes;
  size += size >= 1024 * MIB ? 32 * MIB : size >= 256 * MIB ? 16 * MIB : 4 * MIB;
  if (size < o->min_size)
    size = o->min_size;
  *size_out = round_up(size, MIB);
  *inodes_out = inodes;
  return 0;
}

/* Make img's ext4 form fname (in its snapshot) of size bytes with inodes
 * inodes: in a staging directory, renamed into place; the caller holds the
 * image's lock. */
static int make_form(vmctr_image *img, const vmctr_image_ext4_options *o, const char *fname,
                     const char *final, uint64_t size, uint64_t inodes) {
  char *staging = NULL, *tmp = NULL, *tmp_abs = NULL, *root = NULL;
  int sfd = -1, fd, r;
  if ((r = report(o, 0, size)) < 0)
    return r;
  if ((r = vmctr__store_staging(img->root_fd, "ext4", &staging, &sfd)) < 0)
    return r;
  /* img->dir is ROOT/snapshots/<hex> */
  if (!(tmp = vmctr__path_join(staging, fname)) ||
      !(root = strndup(img->dir, strlen(img->dir) - strlen("/snapshots/") - VMCTR__DIGEST_HEX)) ||
      !(tmp_abs = vmctr__path_join(root, tmp))) {
    r = vmctr__err_nomem();
    goto out;
  }
  fd = openat(img->root_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
    r = vmctr__err_os(errno, "creating %s", tmp_abs);
    if (fd >= 0)
      close(fd);
    goto out;
  }
  close(fd);
  if ((r = vmctr__mke2fs(tmp_abs, size, inodes, img->rootfs)) < 0)
    goto out;
  if (rename(tmp_abs, final) < 0) {
    r = vmctr__err_os(errno, "publishing %s", final);
    goto out;
  }
  vmctr__log(VMCTR_LOG_INFO, "image", "made %s (%" PRIu64 " MiB, %" PRIu64 " inodes)", final,
             (uint64_t)(size / MIB), inodes);
  (void)report(o, size, size); /* done: too late to cancel */
out:
  (void)vmctr__rm_rf_at(img->root_fd, staging);
  close(sfd);
  free(staging);
  free(tmp);
  free(tmp_abs);
  free(root);
  return r;
}

/* The image's build lock: one builder per image at a time; a second caller
 * waits and reuses. The fd, or a negative error. */
static int lock_image(vmctr_image *img) {
  char name[VMCTR__DIGEST_HEX + 32];
  snprintf(name, sizeof(name), "%s.import", img->hex);
  return vmctr__store_lock(img->root_fd, name, LOCK_EX, false);
}

/* rootfs.ext4 at plain, reused when at least size bytes, else made anew;
 * the caller holds the image's lock. */
static int plain_form(vmctr_image *img, const vmctr_image_ext4_options *o, const char *plain,
                      uint64_t size, uint64_t inodes) {
  struct stat st;
  if (stat(plain, &st) == 0 && (uint64_t)st.st_size >= size)
    return 0;
  return make_form(img, o, "rootfs.ext4", plain, size, inodes);
}

static int check_opts(const vmctr_image_ext4_options *o) {
  return vmctr__options_check(o, VMCTR_IMAGE_EXT4_OPTIONS_VERSION, 0, "vmctr_image_ext4_options");
}

int vmctr_image_ext4(vmctr_image *img, const vmctr_image_ext4_options *opts, char **path_out) {
  const vmctr_image_ext4_options def = VMCTR_IMAGE_EXT4_OPTIONS_INIT;
  const vmctr_image_ext4_options *o = opts ? opts : &def;
  char *final = NULL;
  uint64_t size, inodes;
  int lock = -1, r;

  if (!img || !path_out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_ext4: %s is NULL", !img ? "image" : "path_out");
  if ((r = check_opts(o)) < 0 || (r = content_size(img, o, &size, &inodes)) < 0)
    return r;
  if (!(final = vmctr__path_join(img->dir, "rootfs.ext4")))
    return VMCTR_ENOMEM;
  if ((lock = lock_image(img)) < 0) {
    r = lock;
    goto out;
  }
  if ((r = plain_form(img, o, final, size, inodes)) < 0)
    goto out;
  *path_out = final;
  final = NULL;
  r = 0;
out:
  if (lock >= 0)
    close(lock);
  free(final);
  return r;
}

int vmctr__image_ext4_for_disk(vmctr_image *img, const vmctr_image_ext4_options *opts,
                               uint64_t want, char **path_out, uint64_t *size_out) {
  const vmctr_image_ext4_options def = VMCTR_IMAGE_EXT4_OPTIONS_INIT;
  const vmctr_image_ext4_options *o = opts ? opts : &def;
  char *sized = NULL, *plain = NULL, fname[48];
  uint64_t need, inodes;
  int lock = -1, r;
  struct stat st;

  if ((r = check_opts(o)) < 0)
    return r;
  want = round_up(want, MIB);
  snprintf(fname, sizeof(fname), "rootfs-%" PRIu64 "m.ext4", (uint64_t)(want / MIB));
  if (!(sized = vmctr__path_join(img->dir, fname)) ||
      !(plain = vmctr__path_join(img->dir, "rootfs.ext4"))) {
    r = vmctr__err_nomem();
    goto out;
  }
  if ((lock = lock_image(img)) < 0) {
    r = lock;
    goto out;
  }
  /* Made before: found by name, without walking the tree again. A sized
   * form is never rebuilt (copy-on-write disks read through to it). */
  if (stat(sized, &st) == 0) {
    if ((uint64_t)st.st_size != want) {
      r = vmctr__err(VMCTR_EIO, 0, "%s is %lld bytes, not %" PRIu64 ": the store is damaged",
                     sized, (long long)st.st_size, want);
      goto out;
    }
    goto use_sized;
  }
  if (stat(plain, &st) == 0 && (uint64_t)st.st_size >= want)
    goto use_plain;
  if ((r = content_size(img, o, &need, &inodes)) < 0)
    goto out;
  /* No room to lay out: the image's own size. An mke2fs without
   * assume_storage_prezeroed would write the inode tables of the whole
   * disk (16 GiB for 1 TiB): the guest grows the image's form instead. */
  if (want <= need || !mke2fs_prezeroes()) {
    if ((r = plain_form(img, o, plain, need, inodes)) < 0)
      goto out;
    goto use_plain;
  }
  /* The whole disk laid out now, on the host: the guest has nothing to
   * grow at mount. One inode per 16 KiB, as a general-purpose file system. */
  if (want / 16384 > inodes)
    inodes = want / 16384;
  if ((r = make_form(img, o, fname, sized, want, inodes)) < 0)
    goto out;
use_sized:
  *path_out = sized;
  *size_out = want;
  sized = NULL;
  r = 0;
  goto out;
use_plain:
  if (stat(plain, &st) < 0) {
    r = vmctr__err_os(errno, "%s", plain);
    goto out;
  }
  *path_out = plain;
  *size_out = (uint64_t)st.st_size;
  plain = NULL;
  r = 0;
out:
  if (lock >= 0)
    close(lock);
  free(sized);
  free(plain);
  return r;
}
