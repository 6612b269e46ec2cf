/* SPDX-License-Identifier: MIT */
/*
 * Leaving the initramfs. The kernel unpacks the initfs into "rootfs", the
 * root of the mount tree, which pivot_root(2) cannot move (EINVAL). So, as
 * PID 1's first act, copy the few files of the initfs into a tmpfs, free
 * the originals, and make the tmpfs the root (MS_MOVE + chroot, what
 * switch_root does). Containers can then pivot_root into their rootfs.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "guest/guest-priv.h"

/* EXT4_IOC_RESIZE_FS: grow a mounted ext4 to a block count (the kernel's
 * fs/ext4/ext4.h; not in the exported headers). */
#define EXT4_IOC_RESIZE_FS_ _IOW('f', 16, uint64_t)
#define EXT4_SUPER_MAGIC_ 0xef53

#define NEWROOT "/.vmctr-root"
#define RAMFS_MAGIC_ 0x858458f6
#define TMPFS_MAGIC_ 0x01021994

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st) {
  int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return -errno;
  int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  int e = out < 0 ? errno : 0;
  char buf[65536];
  ssize_t n;
  while (!e && (n = read(in, buf, sizeof(buf))) != 0) {
    if (n < 0 || write(out, buf, (size_t)n) != n)
      e = errno ? errno : EIO;
  }
  close(in);
  if (out >= 0 && close(out) < 0 && !e)
    e = errno;
  return -e;
}

/* Copy the tree at sdir into ddir, then remove the source entries (the
 * initramfs's memory is freed only by unlinking). Skips the new root. */
static int move_tree(int sdir, int ddir, int depth) {
  DIR *d = fdopendir(dup(sdir));
  struct dirent *e;
  int r = 0;
  if (!d)
    return -errno;
  while (r == 0 && (e = readdir(d))) {
    const char *n = e->d_name;
    struct stat st;
    if (!strcmp(n, ".") || !strcmp(n, "..") || (depth == 0 && !strcmp(n, NEWROOT + 1)))
      continue;
    if (fstatat(sdir, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      r = -errno;
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(ddir, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
        r = -errno;
        break;
      }
      int s2 = openat(sdir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int d2 = openat(ddir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      r = s2 < 0 || d2 < 0 ? -errno : move_tree(s2, d2, depth + 1);
      if (s2 >= 0)
        close(s2);
      if (d2 >= 0)
        close(d2);
      if (r == 0)
        unlinkat(sdir, n, AT_REMOVEDIR); /* nothing is mounted yet: all are plain dirs */
      continue;
    }
    if (S_ISREG(st.st_mode)) {
      r = copy_file(sdir, ddir, n, &st);
    } else if (S_ISLNK(st.st_mode)) {
      char t[4096];
      ssize_t k = readlinkat(sdir, n, t, sizeof(t) - 1);
      if (k < 0)
        r = -errno;
      else {
        t[k] = '\0';
        r = symlinkat(t, ddir, n) < 0 ? -errno : 0;
      }
    } else if (mknodat(ddir, n, st.st_mode, st.st_rdev) < 0) {
      r = -errno;
    }
    if (r == 0)
      unlinkat(sdir, n, 0);
  }
  closedir(d);
  return r;
}

void guest_leave_initramfs(void) {
  struct statfs sf;
  if (statfs("/", &sf) < 0 || (sf.f_type != RAMFS_MAGIC_ && sf.f_type != TMPFS_MAGIC_))
    return; /* booted from a disk: nothing to do */
  if (mkdir(NEWROOT, 0755) < 0 && errno != EEXIST)
    goto fail;
  if (mount("tmpfs", NEWROOT, "tmpfs", 0, "mode=0755") < 0)
    goto fail;
  int s = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int d = open(NEWROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r = s < 0 || d < 0 ? -errno : move_tree(s, d, 0);
  if (s >= 0)
    close(s);
  if (d >= 0)
    close(d);
  if (r < 0) {
    errno = -r;
    goto fail;
  }
  if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
      chdir("/") < 0)
    goto fail;
  return;
fail:
  /* Not fatal: containers then fall back to move + chroot. */
  guest_log("cannot leave the initramfs (%s); containers will chroot instead of pivot_root",
            strerror(errno));
}

/* The block count of the ext4 on the open device fd, from its superblock
 * (1024 bytes at 1024; little-endian): 0 if it cannot be read. */
static uint64_t ext4_blocks(int fd) {
  unsigned char sb[1024];
  if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb))
    return 0;
  uint32_t lo, hi = 0, incompat;
  memcpy(&lo, sb + 0x04, 4);
  memcpy(&incompat, sb + 0x60, 4);
  if ((sb[0x38] | sb[0x39] << 8) != EXT4_SUPER_MAGIC_)
    return 0;
  if (le32toh(incompat) & 0x80) /* INCOMPAT_64BIT */
    memcpy(&hi, sb + 0x150, 4);
  return (uint64_t)le32toh(hi) << 32 | le32toh(lo);
}

/* The disk's size is the container's free space setting; the store lays
 * the file system out at that size on the host, so usually there is
 * nothing to do, which the superblock tells at once (the resize ioctl
 * would first read the device's last block). A raw disk larger than its
 * ext4 grows here: by the kernel on the mounted filesystem (no resize2fs in
 * the guest), about one block group descriptor per 128 MiB of new space. */
int guest_grow_ext4(const char *mountpoint, const char *dev) {
  struct statfs sf;
  uint64_t bytes = 0, blocks, have;
  int fd = open(dev, O_RDONLY | O_CLOEXEC), r = 0;
  if (fd < 0)
    return -errno;
  if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
    r = -errno;
  have = r == 0 ? ext4_blocks(fd) : 0;
  close(fd);
  if (r < 0)
    return r;
  if ((fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return -errno;
  if (fstatfs(fd, &sf) < 0) {
    r = -errno;
    close(fd);
    return r;
  }
  if (sf.f_type != EXT4_SUPER_MAGIC_ || sf.f_bsize <= 0) {
    close(fd);
    return 0;
  }
  blocks = bytes / (uint64_t)sf.f_bsize;
  /* Without a readable superblock, f_blocks (which leaves out the metadata
   * overhead, so it is no exact count) decides, and the kernel returns at
   * once when the count is unchanged. */
  bool grow = have ? blocks > have : blocks > (uint64_t)sf.f_blocks;
  if (grow && ioctl(fd, EXT4_IOC_RESIZE_FS_, &blocks) < 0)
    r = -errno;
  close(fd);
  return r;
}
