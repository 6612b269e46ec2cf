/* SPDX-License-Identifier: MIT */
/*
 * The default seccomp profile of a container's process, built here as a
 * classic BPF program (no libseccomp: vmctr-init stays libc-only and static,
 * and an allow-list compiled against the guest's own <sys/syscall.h> needs
 * no name resolution at run time). Semantics follow the Docker/containerd
 * default: an allow-list, EPERM for everything else, a few argument rules,
 * and groups of calls that a capability in the process's set unlocks. The
 * host sends only the profile id and the capability set (VMCTR_AT_SECCOMP,
 * VMCTR_AT_CAPS); the syscall lists are ours and live here.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest-priv.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

/* Newer than some build hosts' headers: -1 entries are skipped. */
#ifndef __NR_cachestat
#define __NR_cachestat -1
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 -1
#endif
#ifndef __NR_map_shadow_stack
#define __NR_map_shadow_stack -1
#endif

/* Allowed whatever the capabilities. Left out on purpose (EPERM): keyctl,
 * add_key, request_key (the kernel keyring is not namespaced), userfaultfd,
 * io_uring_* (a large attack surface), uselib, ustat, sysfs, _sysctl,
 * modify_ldt, vm86, nfsservctl, lookup_dcookie, and the groups below. */
static const int allow_always[] = {
  __NR_accept, __NR_accept4, __NR_adjtimex, __NR_bind, __NR_brk, __NR_capget, __NR_capset,
  __NR_chdir, __NR_clock_adjtime, __NR_clock_getres, __NR_clock_gettime, __NR_clock_nanosleep,
  __NR_close, __NR_close_range, __NR_connect, __NR_copy_file_range, __NR_dup, __NR_dup3,
  __NR_epoll_create1, __NR_epoll_ctl, __NR_epoll_pwait, __NR_epoll_pwait2, __NR_eventfd2,
  __NR_execve, __NR_execveat, __NR_exit, __NR_exit_group, __NR_faccessat, __NR_faccessat2,
  __NR_fadvise64, __NR_fallocate, __NR_fanotify_mark, __NR_fchdir, __NR_fchmod, __NR_fchmodat,
  __NR_fchmodat2, __NR_fchown, __NR_fchownat, __NR_fcntl, __NR_fdatasync, __NR_fgetxattr,
  __NR_flistxattr, __NR_flock, __NR_fremovexattr, __NR_fsetxattr, __NR_fstat, __NR_fstatfs,
  __NR_fsync, __NR_ftruncate, __NR_futex, __NR_futex_waitv, __NR_get_robust_list,
  __NR_getcpu, __NR_getcwd, __NR_getdents64, __NR_getegid, __NR_geteuid, __NR_getgid,
  __NR_getgroups, __NR_getitimer, __NR_getpeername, __NR_getpgid, __NR_getpid, __NR_getppid,
  __NR_getpriority, __NR_getrandom, __NR_getresgid, __NR_getresuid, __NR_getrlimit,
  __NR_getrusage, __NR_getsid, __NR_getsockname, __NR_getsockopt, __NR_gettid,
  __NR_gettimeofday, __NR_getuid, __NR_getxattr, __NR_inotify_add_watch, __NR_inotify_init1,
  __NR_inotify_rm_watch, __NR_io_cancel, __NR_io_destroy, __NR_io_getevents,
  __NR_io_pgetevents, __NR_io_setup, __NR_io_submit, __NR_ioctl, __NR_ioprio_get,
  __NR_ioprio_set, __NR_kill, __NR_landlock_add_rule, __NR_landlock_create_ruleset,
  __NR_landlock_restrict_self, __NR_lgetxattr, __NR_linkat, __NR_listen, __NR_listxattr,
  __NR_llistxattr, __NR_lremovexattr, __NR_lseek, __NR_lsetxattr, __NR_madvise,
  __NR_membarrier, __NR_memfd_create, __NR_mincore, __NR_mkdirat, __NR_mknodat, __NR_mlock,
  __NR_mlock2, __NR_mlockall, __NR_mmap, __NR_mprotect, __NR_mq_getsetattr, __NR_mq_notify,
  __NR_mq_open, __NR_mq_timedreceive, __NR_mq_timedsend, __NR_mq_unlink, __NR_mremap,
  __NR_msgctl, __NR_msgget, __NR_msgrcv, __NR_msgsnd, __NR_msync, __NR_munlock,
  __NR_munlockall, __NR_munmap, __NR_nanosleep, __NR_newfstatat, __NR_openat, __NR_openat2,
  __NR_pidfd_open, __NR_pidfd_send_signal, __NR_pipe2, __NR_pkey_alloc, __NR_pkey_free,
  __NR_pkey_mprotect, __NR_ppoll, __NR_prctl, __NR_pread64, __NR_preadv, __NR_preadv2,
  __NR_prlimit64, __NR_process_mrelease, __NR_process_vm_readv, __NR_process_vm_writev,
  __NR_pselect6, __NR_ptrace, __NR_pwrite64, __NR_pwritev, __NR_pwritev2, __NR_read,
  __NR_readahead, __NR_readlinkat, __NR_readv, __NR_recvfrom, __NR_recvmmsg, __NR_recvmsg,
  __NR_remap_file_pages, __NR_removexattr, __NR_renameat, __NR_renameat2,
  __NR_restart_syscall, __NR_rseq, __NR_rt_sigaction, __NR_rt_sigpending,
  __NR_rt_sigprocmask, __NR_rt_sigqueueinfo, __NR_rt_sigreturn, __NR_rt_sigsuspend,
  __NR_rt_sigtimedwait, __NR_rt_tgsigqueueinfo, __NR_sched_get_priority_max,
  __NR_sched_get_priority_min, __NR_sched_getaffinity, __NR_sched_getattr,
  __NR_sched_getparam, __NR_sched_getscheduler, __NR_sched_rr_get_interval,
  __NR_sched_setaffinity, __NR_sched_setattr, __NR_sched_setparam, __NR_sched_setscheduler,
  __NR_sched_yield, __NR_seccomp, __NR_semctl, __NR_semget, __NR_semop, __NR_semtimedop,
  __NR_sendfile, __NR_sendmmsg, __NR_sendmsg, __NR_sendto, __NR_set_robust_list,
  __NR_set_tid_address, __NR_setfsgid, __NR_setfsuid, __NR_setgid, __NR_setgroups,
  __NR_setitimer, __NR_setpgid, __NR_setpriority, __NR_setregid, __NR_setresgid,
  __NR_setresuid, __NR_setreuid, __NR_setrlimit, __NR_setsid, __NR_setsockopt, __NR_setuid,
  __NR_setxattr, __NR_shmat, __NR_shmctl, __NR_shmdt, __NR_shmget, __NR_shutdown,
  __NR_sigaltstack, __NR_signalfd4, __NR_socketpair, __NR_splice, __NR_statfs, __NR_statx,
  __NR_symlinkat, __NR_sync, __NR_sync_file_range, __NR_syncfs, __NR_sysinfo, __NR_tee,
  __NR_tgkill, __NR_timer_create, __NR_timer_delete, __NR_timer_getoverrun,
  __NR_timer_gettime, __NR_timer_settime, __NR_timerfd_create, __NR_timerfd_gettime,
  __NR_timerfd_settime, __NR_times, __NR_tkill, __NR_truncate, __NR_umask, __NR_uname,
  __NR_unlinkat, __NR_utimensat, __NR_vmsplice, __NR_wait4, __NR_waitid, __NR_write,
  __NR_writev, __NR_cachestat, __NR_map_shadow_stack,
#if defined(__x86_64__)
  __NR_access, __NR_alarm, __NR_arch_prctl, __NR_chmod, __NR_chown, __NR_creat, __NR_dup2,
  __NR_epoll_create, __NR_epoll_wait, __NR_eventfd, __NR_fork, __NR_futimesat,
  __NR_getdents, __NR_getpgrp, __NR_inotify_init, __NR_lchown, __NR_link, __NR_lstat,
  __NR_mkdir, __NR_mknod, __NR_open, __NR_pause, __NR_pipe, __NR_poll, __NR_readlink,
  __NR_rename, __NR_rmdir, __NR_select, __NR_signalfd, __NR_stat, __NR_symlink, __NR_time,
  __NR_unlink, __NR_utime, __NR_utimes, __NR_vfork,
#endif
};

/* Calls a capability unlocks, as in Docker's profile. */
static const struct cap_group {
  int cap;
  int nrs[24];
} cap_groups[] = {
  {21 /* SYS_ADMIN */, {__NR_mount, __NR_umount2, __NR_unshare, __NR_setns, __NR_pivot_root,
                        __NR_fsconfig, __NR_fsmount, __NR_fsopen, __NR_fspick, __NR_move_mount,
                        __NR_open_tree, __NR_mount_setattr, __NR_sethostname,
                        __NR_setdomainname, __NR_quotactl, __NR_quotactl_fd,
                        __NR_fanotify_init, __NR_name_to_handle_at, __NR_bpf,
                        __NR_perf_event_open, __NR_syslog, __NR_clone3, __NR_swapon,
                        __NR_swapoff}},
  {16 /* SYS_MODULE */, {__NR_init_module, __NR_finit_module, __NR_delete_module}},
  {22 /* SYS_BOOT */, {__NR_reboot, __NR_kexec_load, __NR_kexec_file_load}},
  {18 /* SYS_CHROOT */, {__NR_chroot}},
  {19 /* SYS_PTRACE */, {__NR_kcmp, __NR_pidfd_getfd, __NR_process_madvise}},
  {25 /* SYS_TIME */, {__NR_settimeofday, __NR_clock_settime}},
  {26 /* SYS_TTY_CONFIG */, {__NR_vhangup}},
  {23 /* SYS_NICE */, {__NR_get_mempolicy, __NR_mbind, __NR_set_mempolicy,
                       __NR_set_mempolicy_home_node, __NR_migrate_pages, __NR_move_pages}},
  {20 /* SYS_PACCT */, {__NR_acct}},
  {2 /* DAC_READ_SEARCH */, {__NR_open_by_handle_at}},
  {34 /* SYSLOG */, {__NR_syslog}},
  {38 /* PERFMON */, {__NR_perf_event_open}},
  {39 /* BPF */, {__NR_bpf}},
#if defined(__x86_64__)
  {17 /* SYS_RAWIO */, {__NR_iopl, __NR_ioperm}},
#endif
};

#define CLONE_NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                        CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | 0x00000080 /* NEWTIME */)
#define AF_VSOCK_ 40

#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define ALLOW SECCOMP_RET_ALLOW
#define DENY (SECCOMP_RET_ERRNO | EPERM)
#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
/* The low 32 bits of an argument (little-endian on both our arches). */
#define OFF_ARG0 offsetof(struct seccomp_data, args[0])

struct prog {
  struct sock_filter *f;
  size_t n, cap;
  bool overflow;
};

static void emit(struct prog *p, struct sock_filter ins) {
  if (p->n < p->cap)
    p->f[p->n++] = ins;
  else
    p->overflow = true;
}

static bool has(uint64_t caps, int cap) {
  return (caps >> cap) & 1;
}

/* A call allowed unconditionally: nr is in A. */
static void allow_nr(struct prog *p, int nr) {
  if (nr < 0)
    return;
  emit(p, (struct sock_filter)JEQ((uint32_t)nr, 0, 1));
  emit(p, (struct sock_filter)RET(ALLOW));
}

int guest_seccomp_build(uint64_t caps, struct sock_filter *out, size_t cap, size_t *n) {
#ifndef NATIVE_ARCH
  (void)caps; (void)out; (void)cap; (void)n;
  return -ENOSYS;
#else
  struct prog p = {out, 0, cap, false};
  /* Another arch (i386 or x32 entry points into a 64-bit kernel) is refused. */
  emit(&p, (struct sock_filter)LD(OFF_ARCH));
  emit(&p, (struct sock_filter)JEQ(NATIVE_ARCH, 1, 0));
  emit(&p, (struct sock_filter)RET(DENY));
  emit(&p, (struct sock_filter)LD(OFF_NR));
#if defined(__x86_64__)
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
  emit(&p, (struct sock_filter)RET(DENY));
#endif
  for (size_t i = 0; i < sizeof(allow_always) / sizeof(allow_always[0]); i++)
    allow_nr(&p, allow_always[i]);
  for (size_t g = 0; g < sizeof(cap_groups) / sizeof(cap_groups[0]); g++) {
    if (!has(caps, cap_groups[g].cap))
      continue;
    for (size_t i = 0; i < 24 && cap_groups[g].nrs[i]; i++)
      allow_nr(&p, cap_groups[g].nrs[i]);
  }
  /* clone: new namespaces only with CAP_SYS_ADMIN. clone3 carries its flags
   * in memory a filter cannot read: ENOSYS (without SYS_ADMIN) makes libc
   * fall back to clone. */
  if (has(caps, 21)) {
    allow_nr(&p, __NR_clone);
  } else {
    emit(&p, (struct sock_filter)JEQ(__NR_clone, 0, 4));
    emit(&p, (struct sock_filter)LD(OFF_ARG0));
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NS_FLAGS, 0, 1));
    emit(&p, (struct sock_filter)RET(DENY));
    emit(&p, (struct sock_filter)RET(ALLOW));
    emit(&p, (struct sock_filter)JEQ(__NR_clone3, 0, 1));
    emit(&p, (struct sock_filter)RET(SECCOMP_RET_ERRNO | ENOSYS));
  }
  /* socket: any family but AF_VSOCK, the host's channel. */
  emit(&p, (struct sock_filter)JEQ(__NR_socket, 0, 4));
  emit(&p, (struct sock_filter)LD(OFF_ARG0));
  emit(&p, (struct sock_filter)JEQ(AF_VSOCK_, 0, 1));
  emit(&p, (struct sock_filter)RET(DENY));
  emit(&p, (struct sock_filter)RET(ALLOW));
  /* personality: the harmless personas only (PER_LINUX, PER_LINUX32,
   * UNAME26, PER_LINUX32|UNAME26, query). nr is reloaded after an arg. */
  static const uint32_t personas[] = {0, 8, 0x20000, 0x20008, 0xffffffffu};
  emit(&p, (struct sock_filter)LD(OFF_NR));
  emit(&p, (struct sock_filter)JEQ(__NR_personality, 0, 8));
  emit(&p, (struct sock_filter)LD(OFF_ARG0));
  for (uint8_t i = 0; i < 5; i++)  /* true: over the rest and the DENY */
    emit(&p, (struct sock_filter)JEQ(personas[i], (uint8_t)(5 - i), 0));
  emit(&p, (struct sock_filter)RET(DENY));
  emit(&p, (struct sock_filter)RET(ALLOW));
  emit(&p, (struct sock_filter)RET(DENY)); /* the default action */
  if (p.overflow || p.n > BPF_MAXINSNS)
    return -E2BIG;
  *n = p.n;
  return 0;
#endif
}

struct sock_filter *guest_seccomp_decode(const uint8_t *p, size_t len, size_t *n, const char **why) {
  if (!len || len % VMCTR_AGENT_FILTER_INSN ||
      len / VMCTR_AGENT_FILTER_INSN > VMCTR_AGENT_MAX_FILTER) {
    *why = "SECCOMP_FILTER must be 1 to 4096 instructions of 8 bytes";
    return NULL;
  }
  size_t cnt = len / VMCTR_AGENT_FILTER_INSN;
  struct sock_filter *f = calloc(cnt, sizeof(*f));
  if (!f) {
    *why = "out of memory";
    return NULL;
  }
  for (size_t i = 0; i < cnt; i++) {
    const uint8_t *b = p + i * VMCTR_AGENT_FILTER_INSN;
    f[i].code = (uint16_t)(b[0] | b[1] << 8);
    f[i].jt = b[2];
    f[i].jf = b[3];
    f[i].k = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
    /* Every jump lands inside the program (the kernel checks the rest). */
    if (BPF_CLASS(f[i].code) == BPF_JMP) {
      bool bad = BPF_OP(f[i].code) == BPF_JA ? f[i].k >= cnt - i - 1
                                             : f[i].jt >= cnt - i - 1 || f[i].jf >= cnt - i - 1;
      if (bad) {
        free(f);
        *why = "SECCOMP_FILTER has a jump beyond its end";
        return NULL;
      }
    }
  }
  if (BPF_CLASS(f[cnt - 1].code) != BPF_RET) {
    free(f);
    *why = "SECCOMP_FILTER does not end in a return";
    return NULL;
  }
  *n = cnt;
  return f;
}

int guest_seccomp_install_filter(const struct sock_filter *f, size_t n) {
  if (!f || !n || n > BPF_MAXINSNS)
    return -EINVAL;
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)f};
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return -errno;
  return 0;
}

int guest_seccomp_install(uint32_t profile, uint64_t caps) {
  static struct sock_filter f[BPF_MAXINSNS];
  size_t n;
  if (profile == VMCTR_ASECCOMP_UNCONFINED)
    return 0;
  if (profile != VMCTR_ASECCOMP_DEFAULT)
    return -EINVAL;
  int r = guest_seccomp_build(caps, f, BPF_MAXINSNS, &n);
  if (r < 0)
    return r;
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  /* Installed while vmctr-init's child still holds CAP_SYS_ADMIN, so it
   * needs no no_new_privs; the calls that follow (capset, setuid, execve)
   * are all in the allow-list. */
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return -errno;
  return 0;
}
