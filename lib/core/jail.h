/* SPDX-License-Identifier: MIT */
/* What confines a supervised child (QEMU, virtiofsd) between fork and exec:
 * its own session, no core dumps, no_new_privs, new mount/ipc/uts/pid
 * namespaces with a private root built of read-only bind mounts, a given
 * network namespace, an unprivileged uid/gid, a cgroup, an fd limit and an
 * extra seccomp filter.
 * The description is plain data built by the caller before the fork; the
 * child only makes system calls from it (async-signal-safe). */
#ifndef VMCTR_CORE_JAIL_H
#define VMCTR_CORE_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sock_fprog;

#define VMCTR__JAIL_BIND_RO (1u << 0)    /* read-only (recursively) */
#define VMCTR__JAIL_BIND_DIR (1u << 1)   /* the source is a directory */
#define VMCTR__JAIL_BIND_NOEXEC (1u << 2)
#define VMCTR__JAIL_SYMLINK (1u << 3)    /* not a mount: a symlink target -> src */
#define VMCTR__JAIL_BIND_DEV (1u << 4)   /* device nodes stay usable (the jail's /dev) */

/* src (a host path) appears at dst: a path inside root when the jail has
 * one, else an absolute host path (an existing, empty directory) that only
 * the child's mount namespace sees. Every bind is nosuid, and nodev unless
 * VMCTR__JAIL_BIND_DEV. */
typedef struct vmctr__jail_bind {
  const char *src;
  const char *dst;
  uint32_t flags;
} vmctr__jail_bind;

typedef struct vmctr__jail {
  bool namespaces;           /* new mount, ipc, uts and pid namespaces */
  const char *root;          /* with namespaces: pivot_root into a tmpfs here */
  const vmctr__jail_bind *binds;
  size_t nbinds;
  bool set_ids;              /* become uid/gid (no supplementary groups) */
  uint32_t uid, gid;
  int cgroup_procs_fd;       /* -1, or cgroup.procs of the cgroup to join */
  uint64_t nofile;           /* RLIMIT_NOFILE, 0: unchanged */
  const struct sock_fprog *seccomp; /* installed last, may be NULL */
  /* -1, or a network namespace the child joins (setns) before anything
   * else of the jail: what it opens afterwards (sockets) lives there. */
  int netns_fd;
  /* The child's open/openat calls whose flags are exactly O_RDWR stop and
   * wait for the spawner's answer (a seccomp user notification, installed
   * right before exec, after the seccomp filter); the listener comes back
   * to the spawner (vmctr__child.notify_fd). A template's clone gets its
   * RAM this way: read-only, from a file it cannot open itself. */
  bool notify_rdwr_open;
} vmctr__jail;

#define VMCTR__JAIL_INIT {false, NULL, NULL, 0, false, 0, 0, -1, 0, NULL, -1, false}

/* Whether this process can give children their own namespaces (probed once
 * with a throw-away child; the reason is logged at INFO when not). */
bool vmctr__jail_namespaces_available(void);

/* In the child: apply everything of j except the seccomp filter and the fd
 * shuffle. Returns 0, or -1 with errno set and *step naming what failed. */
int vmctr__jail_apply(const vmctr__jail *j, const char **step);
/* In the child, right before exec: the seccomp filter, if any. */
int vmctr__jail_seccomp(const vmctr__jail *j, const char **step);

/* In the child, right before exec and after vmctr__jail_seccomp: the
 * notification filter of notify_rdwr_open. Returns the listener fd, or -1
 * with errno set (EINVAL/ENOSYS: a kernel without user notifications). */
int vmctr__jail_notify_install(void);

/* A filter for file servers (virtiofsd): chmod/fchmod/fchmodat and
 * open/openat/creat with O_CREAT asking for a set-uid or set-gid bit, and
 * mknod/mknodat of a character or block device, fail with EPERM; openat2
 * and fchmodat2 (whose arguments a filter cannot inspect) fail with ENOSYS
 * so that the C library falls back. Static storage, valid for the process. */
const struct sock_fprog *vmctr__jail_fileserver_filter(void);

#endif
