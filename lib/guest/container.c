/* SPDX-License-Identifier: MIT */
/*
 * A new container, in the child after clone(CLONE_NEW*): its cgroup, the
 * standard mounts under ROOT, the hostname, and the switch into ROOT.
 * Functions return 0, or -1 with errno and *stage set.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest-priv.h"

enum { ST_CG = 2, ST_MNT = 100, ST_DEV, ST_HOST, ST_PIVOT, ST_MASK };

#define FAIL(st) do { *stage = (st); return -1; } while (0)

/* CGROUP is relative to /sys/fs/cgroup; each level gets the controllers
 * delegated so that the leaf's memory.max and cpu.max exist. */
int guest_cgroup_join(const char *cgroup, const guest_spawn *sp, int *stage) {
  char path[4096], file[4200];
  size_t n = (size_t)snprintf(path, sizeof(path), "/sys/fs/cgroup");
  const char *p = cgroup;
  *stage = ST_CG;
  while (*p) {
    while (*p == '/')
      p++;
    size_t len = strcspn(p, "/");
    if (!len)
      break;
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
      errno = EINVAL;
      return -1;
    }
    if (n + 1 + len >= sizeof(path)) {
      errno = ENAMETOOLONG;
      return -1;
    }
    snprintf(file, sizeof(file), "%s/cgroup.subtree_control", path);
    guest_write_str(file, "+memory");
    guest_write_str(file, "+cpu");
    guest_write_str(file, "+pids");
    n += (size_t)snprintf(path + n, sizeof(path) - n, "/%.*s", (int)len, p);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
      return -1;
    p += len;
  }
  int r = 0;
  if (sp && sp->has_memory_max) {
    char v[32];
    snprintf(v, sizeof(v), "%" PRIu64, sp->memory_max);
    snprintf(file, sizeof(file), "%s/memory.max", path);
    r = guest_write_str(file, v);
  }
  if (r == 0 && sp && sp->pids_max) {
    char v[32];
    snprintf(v, sizeof(v), "%" PRIu64, sp->pids_max);
    snprintf(file, sizeof(file), "%s/pids.max", path);
    r = guest_write_str(file, v);
  }
  if (r == 0 && sp && sp->cpu_max) {
    snprintf(file, sizeof(file), "%s/cpu.max", path);
    r = guest_write_str(file, sp->cpu_max);
  }
  /* A limit file that does not exist is a limit this kernel cannot enforce
   * (no memory or pids controller, or no CFS bandwidth control for cpu.max). */
  if (r == -ENOENT)
    r = -EOPNOTSUPP;
  if (r == 0) {
    snprintf(file, sizeof(file), "%s/cgroup.procs", path);
    r = guest_write_str(file, "0");
  }
  if (r < 0) {
    errno = -r;
    return -1;
  }
  return 0;
}

struct cmount {
  const char *src, *target, *type;
  unsigned long flags;
  const char *data;
  bool optional;
};

static const struct cmount cmounts[] = {
  {"proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false},
  {"sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, false},
  /* nodev: a node the container makes here opens nothing. The standard
   * nodes are bind mounts, with their own (device-allowing) mounts. */
  {"tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k", false},
  /* The agent's own devpts (init.c mounts it newinstance): the ptys the
   * agent opens for this container's processes are then /dev/pts/N inside
   * the container too, so ttyname(3) and tty(1) work. The VM holds one
   * container: no other tenant's pty is in this instance. */
  {"/dev/pts", "dev/pts", NULL, MS_BIND | MS_NOSUID | MS_NOEXEC, NULL, false},
  {"shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", false},
  {"mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
  /* Read-only unless RELAX_CGROUP (mount_std): the container cannot raise its own limits. */
  {"cgroup2", "sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
};

/* The OCI runtime spec's (and Docker's) defaults. Masked: a file gets
 * /dev/null bound over it, a directory an empty read-only tmpfs. */
static const char *const masked[] = {
  "proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats",
  "proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware",
  "sys/devices/virtual/powercap",
};
static const char *const readonly[] = {
  "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* A mount point under the rootfs must be a real directory: an image that
 * plants a symlink there must not redirect our mounts. */
static int mountpoint_dir(const char *path) {
  struct stat st;
  if (mkdir(path, 0755) < 0 && errno != EEXIST)
    return -1;
  if (lstat(path, &st) < 0)
    return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
    return -1;
  }
  return 0;
}

/* Mask or make read-only one path inside root (rel: without the leading
 * '/'), resolved in the root: a link of the image's cannot send it
 * outside. A missing path is skipped (a kernel without ACPI or sound, a
 * path the image lacks). Masked: a file gets /dev/null bound over it, a
 * directory an empty read-only tmpfs. Read-only: bound onto itself, then
 * remounted read-only with the flags it had (nosuid, nodev, noexec). */
static int cover(int root_fd, const char *rel, bool mask) {
  char fdpath[64];
  struct stat st;
  struct statvfs sv;
  int fd = guest_resolve_in_root(root_fd, rel);
  if (fd == -ENOENT || fd == -ENOTDIR)
    return 0;
  if (fd < 0) {
    errno = -fd;
    return -1;
  }
  snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
  int r = fstat(fd, &st);
  if (r == 0 && mask)
    r = S_ISDIR(st.st_mode)
            ? mount("tmpfs", fdpath, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    "size=0,mode=0555")
            : mount("/dev/null", fdpath, NULL, MS_BIND, NULL);
  else if (r == 0)
    r = mount(fdpath, fdpath, NULL, MS_BIND | MS_REC, NULL);
  int e = errno;
  close(fd);
  if (r < 0 || mask) {
    errno = e;
    return r;
  }
  /* Open it again: the fd we had names what lies under the new bind. */
  if ((fd = guest_resolve_in_root(root_fd, rel)) < 0) {
    errno = -fd;
    return -1;
  }
  snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
  unsigned long keep = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (fstatvfs(fd, &sv) == 0) {
    keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
           (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) | (sv.f_flag & ST_NOATIME ? MS_NOATIME : 0) |
           (sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
           (sv.f_flag & ST_RELATIME ? MS_RELATIME : 0);
  }
  r = mount(NULL, fdpath, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

/* The masked and read-only paths: the host's lists where it sent them
 * (sp->paths), else the defaults above, which a privileged container
 * (RELAX PATHS) goes without. */
static int mask_paths(const char *root, const guest_spawn *sp, int *stage) {
  bool own_masked = sp->paths & VMCTR_APATHS_MASKED, own_ro = sp->paths & VMCTR_APATHS_READONLY;
  bool relax = sp->relax & VMCTR_ARELAX_PATHS;
  int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    FAIL(ST_MASK);
  int r = 0;
  if (own_masked)
    for (size_t i = 0; r == 0 && sp->masked && sp->masked[i]; i++)
      r = cover(root_fd, sp->masked[i] + 1, true);
  else if (!relax)
    for (size_t i = 0; r == 0 && i < sizeof(masked) / sizeof(masked[0]); i++)
      r = cover(root_fd, masked[i], true);
  if (own_ro)
    for (size_t i = 0; r == 0 && sp->readonly && sp->readonly[i]; i++)
      r = cover(root_fd, sp->readonly[i] + 1, false);
  else if (!relax)
    for (size_t i = 0; r == 0 && i < sizeof(readonly) / sizeof(readonly[0]); i++)
      r = cover(root_fd, readonly[i], false);
  int e = errno;
  close(root_fd);
  if (r < 0) {
    errno = e;
    FAIL(ST_MASK);
  }
  return 0;
}

static int mount_std(const char *root, const guest_spawn *sp, int *stage) {
  uint32_t relax = sp->relax;
  char path[4200];
  for (size_t i = 0; i < sizeof(cmounts) / sizeof(cmounts[0]); i++) {
    const struct cmount *m = &cmounts[i];
    unsigned long flags = m->flags;
    if (m->type && !strcmp(m->type, "cgroup2") && !(relax & VMCTR_ARELAX_CGROUP))
      flags |= MS_RDONLY;
    snprintf(path, sizeof(path), "%s/%s", root, m->target);
    /* A bind's flags take a second, remounting step. */
    if (mountpoint_dir(path) < 0 || mount(m->src, path, m->type, flags, m->data) < 0 ||
        ((flags & MS_BIND) &&
         mount(NULL, path, NULL, flags | MS_REMOUNT, NULL) < 0)) {
      if (m->optional)
        continue;
      FAIL(ST_MNT);
    }
  }
  for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
    char src[32];
    snprintf(src, sizeof(src), "/dev/%s", devs[i]);
    snprintf(path, sizeof(path), "%s/dev/%s", root, devs[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
      FAIL(ST_DEV);
    close(fd);
    if (mount(src, path, NULL, MS_BIND, NULL) < 0)
      FAIL(ST_DEV);
  }
  static const char *const links[][2] = {
    {"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
  };
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
    snprintf(path, sizeof(path), "%s/dev/%s", root, links[i][1]);
    if (symlink(links[i][0], path) < 0)
      FAIL(ST_DEV);
  }
  return mask_paths(root, sp, stage);
}

/* pivot_root, or where the current root cannot be pivoted (the initramfs
 * rootfs, EINVAL) move the new root over / and chroot, as switch_root does. */
static int enter_root(const char *root, int *stage) {
  if (chdir(root) < 0)
    FAIL(ST_PIVOT);
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    if (umount2(".", MNT_DETACH) < 0)
      FAIL(ST_PIVOT);
  } else if (errno == EINVAL) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
      FAIL(ST_PIVOT);
  } else {
    FAIL(ST_PIVOT);
  }
  if (chdir("/") < 0)
    FAIL(ST_PIVOT);
  return 0;
}

int guest_container_setup(const guest_spawn *sp, int *stage) {
  /* Nothing we mount may propagate back to the guest's namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    FAIL(ST_MNT);
  /* After joining the cgroup, so the container sees its cgroup as its root. */
  if ((sp->ns & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    FAIL(ST_MNT);
  if (mount(sp->root, sp->root, NULL, MS_BIND | MS_REC, NULL) < 0)
    FAIL(ST_MNT);
  if (mount_std(sp->root, sp, stage) < 0)
    return -1;
  if (sp->hostname && sethostname(sp->hostname, strlen(sp->hostname)) < 0)
    FAIL(ST_HOST);
  return enter_root(sp->root, stage);
}
