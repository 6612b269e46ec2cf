/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/jail.h"
#include "core/log.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_NOEXEC 0x8
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID)

static bool ns_ok;
static pthread_once_t ns_once = PTHREAD_ONCE_INIT;

static void probe_ns(void) {
  int p[2], e = 0;
  if (pipe2(p, O_CLOEXEC) < 0)
    return;
  pid_t pid = (pid_t)syscall(SYS_clone, NS_FLAGS | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) {
    e = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ? errno : 0;
    (void)!write(p[1], &e, sizeof(e));
    _exit(0);
  }
  if (pid < 0)
    e = errno;
  close(p[1]);
  if (pid > 0) {
    if (read(p[0], &e, sizeof(e)) != sizeof(e))
      e = EIO;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  close(p[0]);
  ns_ok = e == 0;
  if (!ns_ok)
    vmctr__log(VMCTR_LOG_INFO, "jail",
               "hypervisor processes run without their own namespaces and root: %s (%s)",
               pid < 0 ? "cannot create mount, ipc, uts and pid namespaces"
                       : "cannot make mounts private in a new mount namespace",
               strerror(e));
}

bool vmctr__jail_namespaces_available(void) {
  pthread_once(&ns_once, probe_ns);
  return ns_ok;
}

/* --- in the child: system calls only, no allocation --- */

static int join(char *buf, size_t n, const char *a, const char *b) {
  size_t la = a ? strlen(a) : 0, lb = strlen(b);
  if (la + lb + 2 > n) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (a) {
    memcpy(buf, a, la);
    buf[la++] = '/';
  }
  memcpy(buf + la, b, lb + 1);
  return 0;
}

/* mkdir -p of path's parents (path is ours, in the jail's tmpfs). */
static int make_parents(char *path) {
  for (char *s = path + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = 0;
    int r = mkdir(path, 0755);
    *s = '/';
    if (r < 0 && errno != EEXIST)
      return -1;
  }
  return 0;
}

static int set_attrs(const char *path, uint32_t flags) {
  struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID};
  unsigned long ms = MS_REMOUNT | MS_BIND | MS_NOSUID;
  if (!(flags & VMCTR__JAIL_BIND_DEV)) {
    a.attr_set |= MOUNT_ATTR_NODEV;
    ms |= MS_NODEV;
  }
  if (flags & VMCTR__JAIL_BIND_RO) {
    a.attr_set |= MOUNT_ATTR_RDONLY;
    ms |= MS_RDONLY;
  }
  if (flags & VMCTR__JAIL_BIND_NOEXEC) {
    a.attr_set |= MOUNT_ATTR_NOEXEC;
    ms |= MS_NOEXEC;
  }
  if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) == 0)
    return 0;
  if (errno != ENOSYS)
    return -1;
  /* Before Linux 5.12: the top mount only. */
  return mount(NULL, path, NULL, ms, NULL);
}

static int bind_one(const char *root, const vmctr__jail_bind *b, const char **step) {
  char path[PATH_MAX];
  *step = b->dst;
  if (join(path, sizeof(path), root, b->dst) < 0)
    return -1;
  if (root) {
    if (make_parents(path) < 0)
      return -1;
    if (b->flags & VMCTR__JAIL_SYMLINK)
      return symlink(b->src, path);
    if (b->flags & VMCTR__JAIL_BIND_DIR) {
      if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -1;
    } else {
      int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0)
        return -1;
      close(fd);
    }
  }
  if (mount(b->src, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return -1;
  return set_attrs(path, b->flags);
}

int vmctr__jail_apply(const vmctr__jail *j, const char **step) {
  /* First, while we still hold every capability (the ids drop below). */
  if (j->netns_fd >= 0) {
    *step = "join the network namespace";
    if (setns(j->netns_fd, CLONE_NEWNET) < 0)
      return -1;
  }
  if (j->namespaces) {
    *step = "make mounts private";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
      return -1;
    const char *root = j->root;
    if (root) {
      *step = "mount the jail's tmpfs";
      if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256") <
          0)
        return -1;
    }
    for (size_t i = 0; i < j->nbinds; i++)
      if (bind_one(root, &j->binds[i], step) < 0)
        return -1;
    if (root) {
      *step = "make the jail read-only";
      if (mount(NULL, root, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
          0)
        return -1;
      *step = "pivot_root into the jail";
      if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
          chdir("/") < 0)
        return -1;
    }
  }
  if (j->cgroup_procs_fd >= 0) {
    *step = "join the VM's cgroup";
    if (write(j->cgroup_procs_fd, "0", 1) != 1)
      return -1;
  }
  struct rlimit none = {0, 0};
  *step = "RLIMIT_CORE";
  if (setrlimit(RLIMIT_CORE, &none) < 0)
    return -1;
  if (j->nofile) {
    struct rlimit nf = {j->nofile, j->nofile};
    *step = "RLIMIT_NOFILE";
    if (setrlimit(RLIMIT_NOFILE, &nf) < 0)
      return -1;
  }
  if (j->set_ids) {
    /* Raw calls: this thread only (it is the only one after fork). */
    *step = "drop to the jail's uid and gid";
    if (syscall(SYS_setgroups, 0, NULL) < 0 ||
        syscall(SYS_setresgid, j->gid, j->gid, j->gid) < 0 ||
        syscall(SYS_setresuid, j->uid, j->uid, j->uid) < 0)
      return -1;
    /* A change of credentials clears the parent-death signal: arm it again
     * (the caller checks afterwards that the parent still lives). */
    *step = "PR_SET_PDEATHSIG after the id change";
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
      return -1;
  }
  *step = "PR_SET_NO_NEW_PRIVS";
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  return 0;
}

int vmctr__jail_seccomp(const vmctr__jail *j, const char **step) {
  if (!j->seccomp)
    return 0;
  *step = "install the seccomp filter";
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, j->seccomp, 0, 0);
}

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

/* --- the O_RDWR open notification --- */

#if defined(NATIVE_ARCH) && defined(SECCOMP_FILTER_FLAG_NEW_LISTENER)
/* The low word of argument i: the kernel reads open flags as an int. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FLAGS_ARG(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))
#else
#define FLAGS_ARG(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t) + 4)
#endif

/* Another architecture's entry points pass (the hypervisor's own filter, if
 * any, rules them): a notification only ever hands over a read-only fd, so
 * going around one gains nothing. */
static struct sock_filter notify_insns[] = {
  {BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch)},
  {BPF_JMP | BPF_JEQ | BPF_K, 1, 0, NATIVE_ARCH},
  {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW},
  {BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr)},
#if defined(__x86_64__)
  {BPF_JMP | BPF_JEQ | BPF_K, 0, 2, __NR_openat},  /* -> flags of openat, or open? */
  {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)FLAGS_ARG(2)},
  {BPF_JMP | BPF_JA, 0, 0, 2},                      /* -> the O_RDWR test */
  {BPF_JMP | BPF_JEQ | BPF_K, 0, 3, __NR_open},    /* -> allow */
  {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)FLAGS_ARG(1)},
#else
  {BPF_JMP | BPF_JEQ | BPF_K, 0, 3, __NR_openat},  /* -> allow */
  {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)FLAGS_ARG(2)},
#endif
  {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, O_RDWR},
  {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_USER_NOTIF},
  {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW},
};

int vmctr__jail_notify_install(void) {
  struct sock_fprog fp = {(unsigned short)(sizeof(notify_insns) / sizeof(notify_insns[0])),
                          notify_insns};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
}
#else
int vmctr__jail_notify_install(void) {
  errno = ENOSYS;
  return -1;
}
#endif

/* --- the file server filter --- */

#ifdef NATIVE_ARCH
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))
#define ERR(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
static struct sock_filter insns[96];
static struct sock_fprog prog;
static pthread_once_t prog_once = PTHREAD_ONCE_INIT;
static unsigned n;

static void emit(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  insns[n++] = (struct sock_filter){code, jt, jf, k};
}

/* nr: EPERM when (arg & mask) != 0 */
static void deny_bits(int nr, unsigned arg, uint32_t mask) {
  emit(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 5);
  emit(BPF_LD | BPF_W | BPF_ABS, (uint32_t)ARG_LO(arg), 0, 0);
  emit(BPF_ALU | BPF_AND | BPF_K, mask, 0, 0);
  emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
  emit(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  emit(BPF_RET | BPF_K, ERR(EPERM), 0, 0);
}

/* nr: EPERM when the file type in arg is a character or block device */
static void deny_dev(int nr, unsigned arg) {
  emit(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 6);
  emit(BPF_LD | BPF_W | BPF_ABS, (uint32_t)ARG_LO(arg), 0, 0);
  emit(BPF_ALU | BPF_AND | BPF_K, S_IFMT, 0, 0);
  emit(BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 2, 0);
  emit(BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 1, 0);
  emit(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  emit(BPF_RET | BPF_K, ERR(EPERM), 0, 0);
}

static void enosys(int nr) {
  emit(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
  emit(BPF_RET | BPF_K, ERR(ENOSYS), 0, 0);
}

static void build(void) {
  const uint32_t ids = S_ISUID | S_ISGID;
  emit(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
  emit(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
  emit(BPF_RET | BPF_K, ERR(ENOSYS), 0, 0); /* no compat entry points around the rules */
  emit(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
#if defined(__x86_64__)
  emit(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1); /* x32 */
  emit(BPF_RET | BPF_K, ERR(ENOSYS), 0, 0);
  deny_bits(__NR_chmod, 1, ids);
  deny_bits(__NR_open, 2, ids);
  deny_bits(__NR_creat, 1, ids);
  deny_dev(__NR_mknod, 1);
#endif
  deny_bits(__NR_fchmod, 1, ids);
  deny_bits(__NR_fchmodat, 2, ids);
  deny_bits(__NR_openat, 3, ids);
  deny_dev(__NR_mknodat, 2);
  enosys(437); /* openat2 */
  enosys(452); /* fchmodat2 */
  emit(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  prog.len = (unsigned short)n;
  prog.filter = insns;
}

const struct sock_fprog *vmctr__jail_fileserver_filter(void) {
  pthread_once(&prog_once, build);
  return &prog;
}
#else
const struct sock_fprog *vmctr__jail_fileserver_filter(void) {
  return NULL;
}
#endif
