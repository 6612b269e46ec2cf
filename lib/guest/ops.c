/* SPDX-License-Identifier: MIT */
/* The file-system and system operations: MOUNT, MKDIR, WRITE_FILE,
 * SET_HOSTNAME, SET_TIME. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest/guest-priv.h"

#define BLK_PREFIX "vmctr-blk:"

int guest_write_str(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t n = strlen(s);
  ssize_t r = write(fd, s, n);
  int e = r < 0 ? errno : r == (ssize_t)n ? 0 : EIO;
  close(fd);
  return -e;
}

int guest_mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(buf))
    return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p)
      continue;
    char c = *p;
    *p = '\0';
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
      return -errno;
    if (c == '\0')
      break;
    *p = c;
  }
  struct stat st;
  if (stat(path, &st) < 0)
    return -errno;
  return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static bool absolute(const char *p) {
  return p && p[0] == '/';
}

/* The VM's virtio disks by serial, read from /sys/block once: a VM's disks
 * are its devices from boot (no hotplug), and a clone has its template's.
 * Walking sysfs is slow in a fresh VM under TCG (every kernel path it takes
 * is translated anew), so the map is taken once, at the template's PING
 * before its save, and kept in the guest's memory. */
static guest_disk disk_map[GUEST_MAX_DISKS];
static size_t disk_count;
static bool disks_scanned;

int guest_disks_scan(void) {
  DIR *d = opendir("/sys/block");
  struct dirent *e;
  char path[300], buf[64];
  size_t n = 0;
  if (!d)
    return -errno;
  while (n < GUEST_MAX_DISKS && (e = readdir(d))) {
    if (strncmp(e->d_name, "vd", 2) != 0 || strlen(e->d_name) >= sizeof(disk_map[0].name))
      continue;
    snprintf(path, sizeof(path), "/sys/block/%s/serial", e->d_name);
    FILE *f = fopen(path, "re");
    if (!f)
      continue;
    if (fgets(buf, sizeof(buf), f)) {
      buf[strcspn(buf, "\n")] = '\0';
      if (strlen(buf) < sizeof(disk_map[0].serial)) {
        snprintf(disk_map[n].name, sizeof(disk_map[n].name), "%s", e->d_name);
        snprintf(disk_map[n].serial, sizeof(disk_map[n].serial), "%s", buf);
        n++;
      }
    }
    fclose(f);
  }
  closedir(d);
  disk_count = n;
  disks_scanned = true;
  return 0;
}

const guest_disk *guest_disks(size_t *n) {
  if (!disks_scanned)
    guest_disks_scan();
  *n = disk_count;
  return disk_map;
}

/* "vmctr-blk:SERIAL" -> /dev/vdX whose /sys/block/vdX/serial is SERIAL:
 * from the map, which is read again when it lacks the serial (a disk that
 * has not appeared yet: the caller retries). */
static int find_disk(const char *serial, char *dev, size_t size) {
  for (int pass = 0; pass < 2; pass++) {
    size_t n;
    const guest_disk *m = guest_disks(&n);
    for (size_t i = 0; i < n; i++)
      if (strcmp(m[i].serial, serial) == 0) {
        snprintf(dev, size, "/dev/%s", m[i].name);
        return 0;
      }
    if (pass == 0 && guest_disks_scan() < 0)
      return -errno;
  }
  return -ENOENT;
}

/* A read-write ext4 disk grows to its device (guest_grow_ext4). A failure
 * leaves the filesystem as it was, still usable: logged, not fatal. */
static void grow(const char *source, const char *dev, const char *type, uint64_t flags,
                 const char *at) {
  int r;
  if (source != dev || !type || strcmp(type, "ext4") != 0 || (flags & MS_RDONLY))
    return;
  if ((r = guest_grow_ext4(at, dev)) < 0)
    guest_log("growing the ext4 on %s to its disk's size: %s", dev, strerror(-r));
}

/* A file share (VMCTR_AT_SHARE_FILE): the share at a private staging
 * directory, its entry `file` bound onto the file target (in root when
 * root_fd >= 0), then the staging mount detached, so that nothing but the
 * bind is left: a container made later sees the one file, and no staging
 * mount in its mountinfo. The bind keeps the share's flags (read-only,
 * nosuid...): a bind copies its source mount's. 0 or -errno, *what set. */
static int mount_share_file(const char *source, const char *type, uint64_t flags,
                            const char *data, const char *file, int root_fd, const char *target,
                            bool mk, char *msg, size_t msgsize) {
  char stage[] = "/run/vmctr-stage-XXXXXX", from[64], to[64];
  int sfd = -1, tfd = -1, err = 0, r;
  bool created = false, mounted = false;
  struct stat st;
  if (!mkdtemp(stage)) {
    err = errno;
    snprintf(msg, msgsize, "cannot make a staging directory for the file share: %s", strerror(err));
    return -err;
  }
  if (mount(source, stage, type, (unsigned long)flags, data) < 0) {
    err = errno;
    snprintf(msg, msgsize, "mount %s (%s) for the file share: %s", source, type ? type : "-",
             strerror(err));
    goto out;
  }
  mounted = true;
  int dfd = open(stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
  sfd = dfd < 0 ? -1 : openat(dfd, file, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  err = sfd < 0 ? errno : fstat(sfd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
  if (dfd >= 0)
    close(dfd);
  if (err) {
    snprintf(msg, msgsize, "share %s has no regular file \"%s\": %s", source, file, strerror(err));
    goto out;
  }
  if (root_fd >= 0) {
    tfd = guest_open_file_in_root(root_fd, target, mk, &created);
  } else {
    const char *slash = strrchr(target, '/');
    char parent[4096];
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - target), target);
    if (mk && slash != target && (r = guest_mkdir_p(parent, 0755)) < 0) {
      tfd = r;
    } else {
      int w = open(target, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (w >= 0)
        close(w);
      tfd = open(target, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      tfd = tfd < 0 ? -errno : tfd;
      if (tfd >= 0 && (fstat(tfd, &st) < 0 || S_ISDIR(st.st_mode))) {
        close(tfd);
        tfd = -EISDIR;
      }
    }
  }
  if (tfd < 0) {
    err = -tfd;
    snprintf(msg, msgsize, "%s: %s%s", target, strerror(err),
             err == EISDIR ? " (a file share needs a file or nothing there)" : "");
    goto out;
  }
  snprintf(from, sizeof(from), "/proc/self/fd/%d", sfd);
  snprintf(to, sizeof(to), "/proc/self/fd/%d", tfd);
  if (mount(from, to, NULL, MS_BIND, NULL) < 0) {
    err = errno;
    snprintf(msg, msgsize, "bind of the shared file %s onto %s: %s", source, target, strerror(err));
  }
out:
  if (sfd >= 0)
    close(sfd);
  if (tfd >= 0)
    close(tfd);
  (void)created; /* an empty file made for a failed bind stays: the container fails anyway */
  if (mounted && umount2(stage, MNT_DETACH) < 0 && !err) {
    err = errno;
    snprintf(msg, msgsize, "cannot detach the staging mount of the file share: %s", strerror(err));
  }
  rmdir(stage);
  return -err;
}

void guest_op_mount(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  char *src = NULL, *target = NULL, *type = NULL, *data = NULL, *root = NULL, *file = NULL,
       dev[300], msg[600];
  uint64_t flags = 0;
  uint32_t mk = 0;
  int err = 0;
  const char *what = NULL;

  vmctr__agent_get_str(m, VMCTR_AT_SOURCE, &src);
  vmctr__agent_get_str(m, VMCTR_AT_TARGET, &target);
  vmctr__agent_get_str(m, VMCTR_AT_FSTYPE, &type);
  vmctr__agent_get_str(m, VMCTR_AT_MOUNT_DATA, &data);
  vmctr__agent_get_u64(m, VMCTR_AT_MOUNT_FLAGS, &flags);
  vmctr__agent_get_u32(m, VMCTR_AT_MKDIR, &mk);
  vmctr__agent_get_str(m, VMCTR_AT_ROOT, &root);
  if (vmctr__agent_get_str(m, VMCTR_AT_SHARE_FILE, &file) == -EINVAL || !src ||
      !absolute(target) || (root && !absolute(root))) {
    err = EINVAL;
    what = "MOUNT needs SOURCE and an absolute TARGET (and ROOT, when given)";
    goto out;
  }
  if (file) {
    /* One component of the share: never a path that walks out of it. */
    if (!file[0] || strchr(file, '/') || strlen(file) > 255 || !strcmp(file, ".") ||
        !strcmp(file, "..") || strncmp(src, BLK_PREFIX, strlen(BLK_PREFIX)) == 0) {
      err = EINVAL;
      what = "SHARE_FILE must be one path component, with a share's tag as SOURCE";
      goto out;
    }
    int rfd = root ? open(root, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    if (root && rfd < 0) {
      err = errno;
      snprintf(msg, sizeof(msg), "%s: %s", root, strerror(err));
    } else {
      err = -mount_share_file(src, type, flags, data, file, rfd, target, mk, msg, sizeof(msg));
    }
    if (rfd >= 0)
      close(rfd);
    what = err ? msg : NULL;
    goto out;
  }
  const char *source = src;
  if (strncmp(src, BLK_PREFIX, strlen(BLK_PREFIX)) == 0) {
    /* Disks can show up late while the driver probes. */
    int r = -ENOENT;
    for (int i = 0; i < 100 && (r = find_disk(src + strlen(BLK_PREFIX), dev, sizeof(dev))) < 0; i++)
      usleep(20000);
    if (r < 0) {
      err = -r;
      snprintf(msg, sizeof(msg), "no virtio-blk disk with serial \"%s\"", src + strlen(BLK_PREFIX));
      what = msg;
      goto out;
    }
    source = dev;
  }
  if (root) {
    /* TARGET is a path inside ROOT, resolved there (guest_open_in_root). */
    int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int tfd = rfd < 0 ? -errno : guest_open_in_root(rfd, target, mk, true, NULL);
    if (rfd >= 0)
      close(rfd);
    if (tfd < 0) {
      err = -tfd;
      snprintf(msg, sizeof(msg), "%s inside %s: %s", target, root, strerror(err));
      what = msg;
      goto out;
    }
    char fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", tfd);
    if (mount(source, fdpath, type, (unsigned long)flags, data) < 0) {
      err = errno;
      snprintf(msg, sizeof(msg), "mount %s (%s) on %s inside %s: %s", source, type ? type : "-",
               target, root, strerror(err));
      what = msg;
    } else {
      grow(source, dev, type, flags, fdpath);
    }
    close(tfd);
    goto out;
  }
  if (mk) {
    int r = guest_mkdir_p(target, 0755);
    if (r < 0) {
      err = -r;
      snprintf(msg, sizeof(msg), "mkdir %s: %s", target, strerror(err));
      what = msg;
      goto out;
    }
  }
  if (mount(source, target, type, (unsigned long)flags, data) < 0) {
    err = errno;
    snprintf(msg, sizeof(msg), "mount %s (%s) on %s: %s", source, type ? type : "-", target,
             strerror(err));
    what = msg;
  } else {
    grow(source, dev, type, flags, target);
  }
out:
  guest_respond(a, id, err, what);
  free(src);
  free(target);
  free(type);
  free(data);
  free(root);
  free(file);
}

void guest_op_mkdir(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  char *path = NULL;
  uint32_t mode = 0755;
  vmctr__agent_get_str(m, VMCTR_AT_PATH, &path);
  vmctr__agent_get_u32(m, VMCTR_AT_MODE, &mode);
  if (!absolute(path)) {
    guest_respond(a, id, EINVAL, "MKDIR needs an absolute PATH");
  } else {
    int r = guest_mkdir_p(path, mode & 07777);
    guest_respond(a, id, -r, r < 0 ? strerror(-r) : NULL);
  }
  free(path);
}

/* Temp file in the same directory, fsync (with durable), rename: readers see
 * the old or the new content, never a mix; nothing is left behind on failure. */
static int write_atomic(int dirfd, const char *leaf, const uint8_t *p, size_t n, mode_t mode,
                        bool durable) {
  char tmp[300];
  if (!leaf[0] || strchr(leaf, '/') || strlen(leaf) > 255)
    return -EINVAL;
  snprintf(tmp, sizeof(tmp), ".%.255s.vmctr-tmp.%d", leaf, (int)getpid());
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return -errno;
  int e = 0;
  while (n && !e) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno != EINTR)
      e = errno;
    else if (r > 0) {
      p += r;
      n -= (size_t)r;
    }
  }
  if (!e && fchmod(fd, mode) < 0) /* the umask must not narrow it */
    e = errno;
  if (!e && durable && fsync(fd) < 0)
    e = errno;
  if (close(fd) < 0 && !e)
    e = errno;
  /* rename replaces a link at leaf itself; it never follows it. */
  if (!e && renameat(dirfd, tmp, dirfd, leaf) < 0)
    e = errno;
  if (e)
    unlinkat(dirfd, tmp, 0);
  return -e;
}

/* PATH inside ROOT ("/" without one): the parent directory is resolved
 * with RESOLVE_IN_ROOT, and created when in_root (images FROM scratch have
 * no /etc); without ROOT it must exist. */
static int write_file_at(const char *root, const char *path, const uint8_t *p, size_t n,
                         mode_t mode) {
  int rfd = open(root ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0)
    return -errno;
  const char *leaf = NULL;
  int dfd = guest_open_in_root(rfd, path, root != NULL, false, &leaf);
  close(rfd);
  if (dfd < 0)
    return dfd;
  /* O_PATH fds serve as dirfd for openat, renameat and unlinkat. A file in
   * a container's root (its /etc/hosts, resolv.conf, hostname) is written
   * again at every start, so it goes without fsync: each one was a journal
   * commit and a disk flush, about 10 ms under TCG and 30 for the first.
   * A crash may leave such a file empty (a new one, or a file system
   * without ext4's auto_da_alloc); the next start writes it again. */
  int r = write_atomic(dfd, leaf, p, n, mode, root == NULL);
  close(dfd);
  return r;
}

/* procfs and sysfs files cannot be replaced, only written: sysctls. */
static int write_in_place(const char *path, const uint8_t *p, size_t n) {
  int fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int e = 0;
  ssize_t r = n ? write(fd, p, n) : 0;
  if (r < 0)
    e = errno;
  else if ((size_t)r != n)
    e = EIO;
  if (close(fd) < 0 && !e)
    e = errno;
  return -e;
}

void guest_op_write_file(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  char *path = NULL, *root = NULL;
  uint32_t in_place = 0;
  const uint8_t *p = NULL;
  size_t n = 0;
  uint32_t mode = 0644;
  vmctr__agent_get_str(m, VMCTR_AT_PATH, &path);
  vmctr__agent_get_u32(m, VMCTR_AT_MODE, &mode);
  vmctr__agent_get_u32(m, VMCTR_AT_IN_PLACE, &in_place);
  vmctr__agent_get_str(m, VMCTR_AT_ROOT, &root);
  if (vmctr__agent_get_bytes(m, VMCTR_AT_CONTENT, &p, &n) == -ENOENT)
    n = 0;
  if (!absolute(path) || (root && (!absolute(root) || in_place))) {
    guest_respond(a, id, EINVAL, "WRITE_FILE needs an absolute PATH (ROOT: absolute, not IN_PLACE)");
  } else if (n > VMCTR_AGENT_MAX_FILE) {
    guest_respond(a, id, EFBIG, "WRITE_FILE content is larger than 512 KiB");
  } else {
    int r = in_place ? write_in_place(path, p, n) : write_file_at(root, path, p, n, mode & 07777);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s: %s", path, strerror(-r));
    guest_respond(a, id, -r, r < 0 ? msg : NULL);
  }
  free(path);
  free(root);
}

void guest_op_set_hostname(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  char *name = NULL;
  if (vmctr__agent_get_str(m, VMCTR_AT_NAME, &name) < 0 || !name[0] || strlen(name) > 64) {
    guest_respond(a, id, EINVAL, "SET_HOSTNAME needs a NAME of 1 to 64 bytes");
  } else {
    int r = sethostname(name, strlen(name));
    guest_respond(a, id, r < 0 ? errno : 0, r < 0 ? strerror(errno) : NULL);
  }
  free(name);
}

void guest_op_set_time(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  uint64_t ns;
  if (vmctr__agent_get_u64(m, VMCTR_AT_TIME_NS, &ns) < 0) {
    guest_respond(a, id, EINVAL, "SET_TIME needs TIME_NS");
    return;
  }
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
  int r = clock_settime(CLOCK_REALTIME, &ts);
  guest_respond(a, id, r < 0 ? errno : 0, r < 0 ? strerror(errno) : NULL);
}
