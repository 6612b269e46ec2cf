/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/jail-cleanup.h"
#include "core/log.h"
#include "core/util.h"
#include "mount/mount.h"
#include "vmm/jail-priv.h"
#include "vmm/qemu-argv-priv.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define CGROUP_ROOT "/sys/fs/cgroup"
/* QEMU's own memory beside guest RAM and the translation cache: its heap,
 * libraries, device state, virtqueues, and virtiofsd's buffers. */
#define CGROUP_OVERHEAD (256ull << 20)

char *const vmctr__jail_env[] = {"LANG=C", "PATH=/usr/bin:/bin", NULL};

static const char *keep(vmctr__vm_jail *j, char *s) {
  if (s && j->nstrs < VMCTR_ARRAY_SIZE(j->strs))
    j->strs[j->nstrs++] = s;
  else
    free(s);
  return s;
}

static int add_bind(vmctr__vm_jail *j, const char *src, const char *dst, uint32_t flags) {
  vmctr__jail *q = &j->qemu;
  if (q->nbinds >= VMCTR__JAIL_MAX_BINDS)
    return vmctr__err(VMCTR_EINVAL, 0, "too many files for the hypervisor's jail");
  if (!src || !dst)
    return vmctr__err_nomem();
  j->binds[q->nbinds++] = (vmctr__jail_bind){src, dst, flags};
  return 0;
}

/* /lib, /lib64, /bin, /sbin: a symlink into /usr on a merged-/usr host, a
 * directory otherwise. */
static int add_top(vmctr__vm_jail *j, const char *name) {
  char host[64], target[256];
  struct stat st;
  snprintf(host, sizeof(host), "/%s", name);
  if (lstat(host, &st) < 0)
    return 0;
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlink(host, target, sizeof(target) - 1);
    if (n <= 0)
      return 0;
    target[n] = 0;
    return add_bind(j, keep(j, vmctr__strdup(target)), name, VMCTR__JAIL_SYMLINK);
  }
  if (S_ISDIR(st.st_mode))
    return add_bind(j, keep(j, vmctr__strdup(host)), name,
                    VMCTR__JAIL_BIND_RO | VMCTR__JAIL_BIND_DIR);
  return 0;
}

/* An id of [first, first + count) that no other VM of this host holds: the
 * lock file <parent>/.uid-N, flocked while the VM lives (a dead process's
 * lock goes with it). */
static int take_id(vmctr__vm_jail *j, const char *parent, uint32_t first, uint32_t count,
                   uint32_t *out) {
  uint32_t start = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL);
  for (uint32_t k = 0; k < count && k < 4096; k++) {
    uint32_t id = first + (start + k) % count;
    char *path = NULL;
    struct stat a, b;
    if (asprintf(&path, "%s/.uid-%" PRIu32, parent, id) < 0)
      return vmctr__err_nomem();
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
        stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      j->uid_lock = path;
      j->uid_lock_fd = fd;
      vmctr__cleanup_add(path, VMCTR__CLEANUP_FILE);
      *out = id;
      return 0;
    }
    if (fd >= 0)
      close(fd);
    free(path);
  }
  return vmctr__err(VMCTR_EBUSY, 0,
                    "every id of the jail range %" PRIu32 "+%" PRIu32 " is in use by a VM; "
                    "widen it with vmctr_vmm_set_jail_ids()", first, count);
}

static char *parent_of(const char *dir) {
  char *p = vmctr__strdup(dir), *s = p ? strrchr(p, '/') : NULL;
  if (s && s != p)
    *s = 0;
  return p;
}

/* The VM's cgroup under ours, with memory.max and pids.max; skipped (with
 * the reason at INFO) where cgroup v2 does not let us. */
static void make_cgroup(vmctr__vm_jail *j, const vmctr__vm_spec *spec) {
  struct statfs sf;
  char line[4096], *ctl = NULL, *path = NULL, *procs = NULL;
  const char *why = NULL, *name = strrchr(spec->runtime_dir, '/');
  size_t len;
  if (statfs(CGROUP_ROOT, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
    why = "cgroup v2 is not mounted at " CGROUP_ROOT " (cgroup v1 or a hybrid layout)";
    goto skip;
  }
  if (vmctr__read_line("/proc/self/cgroup", line, sizeof(line)) < 0 ||
      strncmp(line, "0::/", 4) != 0) {
    vmctr_error_clear();
    why = "cannot tell our cgroup from /proc/self/cgroup";
    goto skip;
  }
  if (asprintf(&ctl, CGROUP_ROOT "%s/cgroup.subtree_control", line + 3) < 0) {
    ctl = NULL;
    goto skip;
  }
  int fd = open(ctl, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "+memory +pids", 13) != 13) {
    why = "cannot enable the memory and pids controllers below our cgroup (not delegated, "
          "or it holds processes)";
    if (fd >= 0)
      close(fd);
    goto skip;
  }
  close(fd);
  if (asprintf(&path, CGROUP_ROOT "%s%svmctr-%s", line + 3, strcmp(line + 3, "/") ? "/" : "",
               name ? name + 1 : "vm") < 0) {
    path = NULL;
    goto skip;
  }
  if (mkdir(path, 0755) < 0) {
    why = "cannot create the VM's cgroup";
    goto skip;
  }
  uint64_t cache = spec->accel == VMCTR_ACCEL_TCG ? (uint64_t)VMCTR__QEMU_TB_MIB << 20 : 0;
  snprintf(line, sizeof(line), "%" PRIu64, (uint64_t)(spec->memory + cache + CGROUP_OVERHEAD));
  len = strlen(path) + 32;
  char *file = malloc(len);
  int ok = file != NULL;
  if (ok) {
    snprintf(file, len, "%s/memory.max", path);
    int f = open(file, O_WRONLY | O_CLOEXEC);
    ok = f >= 0 && write(f, line, strlen(line)) == (ssize_t)strlen(line);
    if (f >= 0)
      close(f);
    snprintf(file, len, "%s/pids.max", path);
    snprintf(line, sizeof(line), "%" PRIu32, 256 + 4 * spec->cpus);
    f = open(file, O_WRONLY | O_CLOEXEC);
    ok = ok && f >= 0 && write(f, line, strlen(line)) == (ssize_t)strlen(line);
    if (f >= 0)
      close(f);
    snprintf(file, len, "%s/cgroup.procs", path);
    j->cgroup_procs_fd = ok ? open(file, O_WRONLY | O_CLOEXEC) : -1;
    free(file);
  }
  vmctr_error_clear();
  if (j->cgroup_procs_fd < 0) {
    rmdir(path);
    why = "cannot set the limits of the VM's cgroup";
    goto skip;
  }
  j->cgroup = path;
  vmctr__cleanup_add(path, VMCTR__CLEANUP_RMDIR);
  /* For the sweep after a crash: which cgroup this runtime dir owned. */
  if (asprintf(&procs, "%s/cgroup", spec->runtime_dir) >= 0) {
    if (vmctr__write_file_atomic(procs, path, strlen(path), 0600) < 0)
      vmctr_error_clear();
    free(procs);
  }
  free(ctl);
  return;
skip:
  if (why)
    vmctr__log(VMCTR_LOG_INFO, "jail", "VM %s runs without its own cgroup: %s", spec->runtime_dir,
               why);
  free(ctl);
  free(path);
}

/* A file the jail uid may read: src itself when others may read it, else a
 * read-only copy in the runtime directory (a private kernel or initfs). */
static const char *readable(vmctr__vm_jail *j, const vmctr__vm_spec *spec, const char *src,
                            const char *name, int *r) {
  struct stat st;
  char *dst = NULL;
  *r = 0;
  if (!j->qemu.set_ids || (stat(src, &st) == 0 && (st.st_mode & S_IROTH)))
    return src;
  if (asprintf(&dst, "%s/%s", spec->runtime_dir, name) < 0) {
    *r = vmctr__err_nomem();
    return NULL;
  }
  int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
  ssize_t n = 1;
  if (in >= 0)
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  while (out >= 0 && (n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0) {
  }
  if (in < 0 || out < 0 || n < 0)
    *r = vmctr__err_os(errno, "cannot copy %s for the jailed hypervisor", src);
  if (in >= 0)
    close(in);
  if (out >= 0)
    close(out);
  return keep(j, dst);
}

int vmctr__vm_jail_plan(vmctr__vm_jail *j, const vmctr__vm_spec *spec) {
  const char *binary = vmctr_caps_qemu_path(spec->caps);
  int r = 0;
  memset(j, 0, sizeof(*j));
  j->qemu = (vmctr__jail)VMCTR__JAIL_INIT;
  j->qemu.binds = j->binds;
  j->uid_lock_fd = j->cgroup_procs_fd = -1;
  j->kernel = spec->kernel;
  j->initfs = spec->initfs;
  j->qemu.netns_fd = spec->netns ? spec->netns_fd : -1;

  if (geteuid() == 0 && spec->jail_id_count > 0) {
    char *parent = parent_of(spec->runtime_dir);
    uint32_t id = 0;
    if (!parent)
      return vmctr__err_nomem();
    r = take_id(j, parent, spec->jail_id_first, spec->jail_id_count, &id);
    free(parent);
    if (r < 0)
      return r;
    j->qemu.set_ids = true;
    j->qemu.uid = j->qemu.gid = id;
  }
  make_cgroup(j, spec);
  j->qemu.cgroup_procs_fd = j->cgroup_procs_fd;

  if (!vmctr__jail_namespaces_available())
    return 0;
  if (asprintf(&j->root, "%s/jail", spec->runtime_dir) < 0) {
    j->root = NULL;
    return vmctr__err_nomem();
  }
  if (mkdir(j->root, 0755) < 0 && errno != EEXIST)
    return vmctr__err_os(errno, "cannot create %s", j->root);
  j->qemu.namespaces = true;
  j->qemu.root = j->root;
  /* The binary, its libraries and its firmware (/usr/share/qemu). */
  if ((r = add_bind(j, "/usr", "usr", VMCTR__JAIL_BIND_RO | VMCTR__JAIL_BIND_DIR)) < 0)
    return r;
  static const char *const tops[] = {"lib", "lib64", "lib32", "libx32", "bin", "sbin"};
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(tops); i++)
    if ((r = add_top(j, tops[i])) < 0)
      return r;
  if (access("/etc/ld.so.cache", R_OK) == 0 &&
      (r = add_bind(j, "/etc/ld.so.cache", "etc/ld.so.cache", VMCTR__JAIL_BIND_RO)) < 0)
    return r;
  if (binary && strncmp(binary, "/usr/", 5) != 0) {
    /* A QEMU outside /usr: its directory at the same place, read-only. */
    char *dir = parent_of(binary);
    if ((r = add_bind(j, keep(j, dir), dir ? dir + 1 : NULL,
                      VMCTR__JAIL_BIND_RO | VMCTR__JAIL_BIND_DIR)) < 0)
      return r;
  }
  static const char *const devs[] = {"null", "zero", "urandom"};
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(devs); i++) {
    char src[32], dst[32];
    snprintf(src, sizeof(src), "/dev/%s", devs[i]);
    snprintf(dst, sizeof(dst), "dev/%s", devs[i]);
    if ((r = add_bind(j, keep(j, vmctr__strdup(src)), keep(j, vmctr__strdup(dst)),
                      VMCTR__JAIL_BIND_DEV)) < 0)
      return r;
  }
  if (spec->accel == VMCTR_ACCEL_KVM &&
      (r = add_bind(j, "/dev/kvm", "dev/kvm", VMCTR__JAIL_BIND_DEV)) < 0)
    return r;
  const char *k = readable(j, spec, spec->kernel, "kernel.copy", &r);
  if (r < 0 || (r = add_bind(j, k, "kernel", VMCTR__JAIL_BIND_RO | VMCTR__JAIL_BIND_NOEXEC)) < 0)
    return r;
  j->kernel = "/kernel";
  if (spec->initfs) {
    const char *i = readable(j, spec, spec->initfs, "initfs.copy", &r);
    if (r < 0 || (r = add_bind(j, i, "initfs", VMCTR__JAIL_BIND_RO | VMCTR__JAIL_BIND_NOEXEC)) < 0)
      return r;
    j->initfs = "/initfs";
  }
  return 0;
}

/* A file share's private directory, <rundir>/fshare-<i>, holding an empty
 * placeholder that the daemon's namespace binds the file onto. */
static int file_share_dir(const vmctr__vm_spec *spec, size_t i, char **dir, char **file) {
  *dir = *file = NULL;
  if (asprintf(dir, "%s/fshare-%zu", spec->runtime_dir, i) < 0 ||
      asprintf(file, "%s/fshare-%zu/" VMCTR__SHARE_FILE_NAME, spec->runtime_dir, i) < 0) {
    free(*dir);
    *dir = *file = NULL;
    return vmctr__err_nomem();
  }
  int fd = -1;
  if ((mkdir(*dir, 0700) < 0 && errno != EEXIST) ||
      (fd = open(*file, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
    int r = vmctr__err_os(errno, "cannot make the private directory %s for the file share %s",
                          *dir, spec->shares[i].host_path);
    unlink(*file);
    rmdir(*dir);
    free(*dir);
    free(*file);
    *dir = *file = NULL;
    return r;
  }
  close(fd);
  return 0;
}

int vmctr__vm_jail_share(const vmctr__vm_jail *vj, const vmctr__vm_spec *spec, size_t i,
                         vmctr__jail *out, vmctr__jail_bind *bind, char **source_out,
                         char **private_out) {
  const vmctr__vm_share *s = &spec->shares[i];
  char *dst = NULL;
  *out = (vmctr__jail)VMCTR__JAIL_INIT;
  out->cgroup_procs_fd = vj->cgroup_procs_fd;
  out->seccomp = vmctr__jail_fileserver_filter();
  out->netns_fd = vj->qemu.netns_fd;
  *source_out = *private_out = NULL;
  if (!vj->qemu.namespaces) {
    /* A file cannot be shared alone without a private mount namespace, and
     * its directory must not be shared in its place. */
    if (s->file)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "file share %s needs a mount namespace of its own for virtiofsd, which "
                        "this host does not allow (the library's INFO log says why); share a "
                        "directory that holds only the file instead",
                        s->host_path);
    /* No private mount namespace: the daemon serves the source itself. */
    *source_out = vmctr__strdup(s->host_path);
    return *source_out ? 0 : VMCTR_ENOMEM;
  }
  out->namespaces = true;
  out->binds = bind;
  if (s->file) {
    /* The daemon serves a private directory of ours, read-only, whose one
     * entry is the file bound over a placeholder: a bind, not a copy, and
     * nothing else of the file's host directory. */
    struct stat st;
    int e = stat(s->host_path, &st) < 0 ? errno : 0;
    if (e || !S_ISREG(st.st_mode))
      return vmctr__err(e == ENOENT ? VMCTR_ENOENT : VMCTR_EINVAL, e,
                        "file share %s: the source is gone or no longer a regular file; create "
                        "it again or fix the path", s->host_path);
    int r = file_share_dir(spec, i, source_out, private_out);
    if (r < 0)
      return r;
    bind[0] = (vmctr__jail_bind){*source_out, *source_out,
                                 VMCTR__JAIL_BIND_DIR | VMCTR__JAIL_BIND_RO};
    bind[1] = (vmctr__jail_bind){s->host_path, *private_out,
                                 s->read_only ? VMCTR__JAIL_BIND_RO : 0};
    out->nbinds = 2;
    return 0;
  }
  /* The source bound onto itself in the daemon's own mount namespace: the
   * same path, but nosuid, nodev, and read-only for a read-only share,
   * whatever the guest asks. Nothing of it is visible on the host. */
  if (!(dst = vmctr__strdup(s->host_path)))
    return VMCTR_ENOMEM;
  *bind = (vmctr__jail_bind){s->host_path, dst,
                             VMCTR__JAIL_BIND_DIR | (s->read_only ? VMCTR__JAIL_BIND_RO : 0)};
  out->nbinds = 1;
  *source_out = dst;
  return 0;
}

void vmctr__vm_jail_clear(vmctr__vm_jail *j) {
  if (j->cgroup_procs_fd >= 0)
    close(j->cgroup_procs_fd);
  if (j->cgroup && rmdir(j->cgroup) < 0 && errno != ENOENT)
    vmctr__log(VMCTR_LOG_WARN, "jail", "cannot remove cgroup %s: %s", j->cgroup, strerror(errno));
  if (j->cgroup)
    vmctr__cleanup_del(j->cgroup);
  free(j->cgroup);
  if (j->uid_lock) {
    unlink(j->uid_lock);
    vmctr__cleanup_del(j->uid_lock);
    free(j->uid_lock);
  }
  if (j->uid_lock_fd >= 0)
    close(j->uid_lock_fd);
  if (j->root)
    rmdir(j->root);
  free(j->root);
  for (size_t i = 0; i < j->nstrs; i++)
    free(j->strs[i]);
  memset(j, 0, sizeof(*j));
  j->uid_lock_fd = j->cgroup_procs_fd = -1;
}
