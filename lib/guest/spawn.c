/* SPDX-License-Identifier: MIT */
/*
 * The child side of SPAWN, between fork and exec. Any failure goes back to
 * the agent over the CLOEXEC error pipe as {stage, errno}, so the SPAWN
 * response carries it (ENOENT for a missing binary, not exit 127).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest-priv.h"

enum {
  ST_SETSID, ST_CTTY, ST_CGROUP, ST_SETNS, ST_CHROOT, ST_CONTAINER, ST_RLIMIT,
  ST_STDIO, ST_CWD, ST_GROUPS, ST_UID, ST_NNP, ST_EXEC, ST_FDS, ST_SECCOMP, ST_CAPS,
  ST_COUNT
};

static const char *const stage_names[ST_COUNT] = {
  [ST_SETSID] = "setsid for", [ST_CTTY] = "controlling tty for",
  [ST_CGROUP] = "joining the cgroup for", [ST_SETNS] = "entering the namespaces for",
  [ST_CHROOT] = "entering the root of JOIN_PID for",
  [ST_CONTAINER] = "setting up the container for", [ST_RLIMIT] = "setrlimit for",
  [ST_STDIO] = "stdio for", [ST_CWD] = "changing to CWD for",
  [ST_GROUPS] = "setting groups for", [ST_UID] = "setting uid/gid for",
  [ST_NNP] = "no_new_privs for", [ST_EXEC] = "exec",
  [ST_FDS] = "closing the agent's fds for", [ST_SECCOMP] = "installing the seccomp profile for",
  [ST_CAPS] = "setting the capabilities of",
};

const char *guest_spawn_stage(int stage) {
  if (stage >= 0 && stage < ST_COUNT)
    return stage_names[stage];
  static const char *const cstages[] = {  /* container.c's own, from 100 */
    "mounting the container's filesystems for", "creating the container's /dev for",
    "setting the hostname for", "entering ROOT for",
    "masking /proc and /sys paths for"};
  if (stage >= 100 && stage < 105)
    return cstages[stage - 100];
  return "spawning";
}

static void __attribute__((noreturn)) fail(const guest_spawn *sp, int stage, int err) {
  int32_t rep[2] = {stage, err};
  (void)!write(sp->errfd, rep, sizeof(rep));
  _exit(127);
}

static const char *env_path(char *const *env) {
  for (; *env; env++)
    if (strncmp(*env, "PATH=", 5) == 0)
      return *env + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* execvpe with the PATH of the new environment, not ours. */
static int exec_path(char *const *argv, char *const *env) {
  const char *file = argv[0];
  char buf[4096];
  int err = ENOENT;
  if (strchr(file, '/')) {
    execve(file, argv, env);
    return errno;
  }
  for (const char *p = env_path(env), *end; ; p = end + 1) {
    end = strchr(p, ':');
    size_t dl = end ? (size_t)(end - p) : strlen(p);
    if (dl + 1 + strlen(file) < sizeof(buf)) {
      if (dl == 0)
        snprintf(buf, sizeof(buf), "%s", file);
      else
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, p, file);
      execve(buf, argv, env);
      if (errno != ENOENT && errno != ENOTDIR)
        err = errno; /* EACCES etc. win over a later ENOENT, as in execvp */
    }
    if (!end)
      break;
  }
  return err;
}

/* Enter JOIN_PID's cgroup, namespaces (pid was done by the parent) and root. */
static void join(const guest_spawn *sp) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%u/cgroup", sp->join_pid);
  FILE *f = fopen(path, "re");
  if (f) {
    while (fgets(line, sizeof(line), f)) {
      if (strncmp(line, "0::/", 4) != 0)
        continue;
      line[strcspn(line, "\n")] = '\0';
      int stage;
      if (line[4] && guest_cgroup_join(line + 4, NULL, &stage) < 0)
        fail(sp, ST_CGROUP, errno);
    }
    fclose(f);
  }
  static const int types[5] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWCGROUP,
                               CLONE_NEWNS};
  for (int i = 0; i < 5; i++)
    if (sp->join_ns[i] >= 0 && setns(sp->join_ns[i], types[i]) < 0)
      fail(sp, ST_SETNS, errno);
  if (fchdir(sp->join_root) < 0 || chroot(".") < 0 || chdir("/") < 0)
    fail(sp, ST_CHROOT, errno);
}

static int cmp_int(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

/* Close every fd of vmctr-init's (the channel, the signalfd, other
 * processes' pipes and pty masters) but 0-2 and those the child needs, so
 * that nothing of the agent's is open when the process enters the container. */
static int close_agent_fds(const guest_spawn *sp) {
  int keep[12], n = 0;
  keep[n++] = sp->errfd;
  for (int i = 0; i < 3; i++)
    keep[n++] = sp->stdio[i];
  keep[n++] = sp->join_root;
  for (int i = 0; i < 6; i++)
    keep[n++] = sp->join_ns[i];
  qsort(keep, (size_t)n, sizeof(keep[0]), cmp_int);
  unsigned lo = 3;
  for (int i = 0; i <= n; i++) {
    unsigned hi = i < n ? (unsigned)keep[i] : ~0u;
    if (i < n && (keep[i] < 3 || (unsigned)keep[i] < lo))
      continue;
    if (hi > lo) {
      if (syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
        if (errno != ENOSYS)
          return -1;
        for (unsigned fd = lo; fd < hi && fd < 65536; fd++) /* kernels before 5.9 */
          close((int)fd);
      }
    }
    lo = hi + 1;
    if (hi == ~0u)
      break;
  }
  return 0;
}

/* The exec'd binary's capabilities and syscalls; ids in between. Seccomp
 * comes first, while the child still has CAP_SYS_ADMIN (no no_new_privs
 * needed); the calls after it are all in the default profile. A caller's
 * filter (SECCOMP_FILTER) goes here only without no_new_privs, as runc
 * loads it while still privileged; with no_new_privs it comes last, right
 * before exec (guest_spawn_child). */
static void set_ids_and_confine(const guest_spawn *sp) {
  int r;
  if (sp->confine && sp->filter) {
    if (!sp->no_new_privs && (r = guest_seccomp_install_filter(sp->filter, sp->nfilter)) < 0)
      fail(sp, ST_SECCOMP, -r);
  } else if (sp->confine && (r = guest_seccomp_install(sp->seccomp, sp->caps)) < 0) {
    fail(sp, ST_SECCOMP, -r);
  }
  if (sp->confine && (r = guest_caps_bound(sp->caps)) < 0)
    fail(sp, ST_CAPS, -r);
  if (sp->has_uid || sp->has_gid || sp->ngids) {
    gid_t g[VMCTR_AGENT_MAX_LIST];
    for (size_t i = 0; i < sp->ngids && i < VMCTR_AGENT_MAX_LIST; i++)
      g[i] = sp->gids[i];
    if (setgroups(sp->ngids, g) < 0)
      fail(sp, ST_GROUPS, errno);
    if (sp->has_gid && setgid(sp->gid) < 0)
      fail(sp, ST_UID, errno);
    if (sp->has_uid && setuid(sp->uid) < 0)
      fail(sp, ST_UID, errno);
  }
  if (sp->confine && (r = guest_caps_set(sp->caps)) < 0)
    fail(sp, ST_CAPS, -r);
}

/* Order, for a process that enters a container (doc/security-guest.md):
 * it was forked non-dumpable (vmctr-init is), so nothing in the container
 * can ptrace it or take its fds; it first closes the agent's fds, then
 * joins the cgroup, the namespaces and the root, and only then takes the
 * container's limits, seccomp, capabilities and ids. execve makes it
 * dumpable again, as the container's own process. */
void guest_spawn_child(const guest_spawn *sp) {
  sigset_t all;
  int stage;

  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* inherited already; never rely on it */
  if (close_agent_fds(sp) < 0)
    fail(sp, ST_FDS, errno);
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (setsid() < 0)
    fail(sp, ST_SETSID, errno);
  if (sp->pty && ioctl(sp->stdio[0], TIOCSCTTY, 0) < 0)
    fail(sp, ST_CTTY, errno);
  if (sp->cgroup && guest_cgroup_join(sp->cgroup, sp, &stage) < 0)
    fail(sp, stage, errno);
  if (sp->join_pid)
    join(sp);
  if (sp->root && guest_container_setup(sp, &stage) < 0)
    fail(sp, stage, errno);
  for (size_t i = 0; i < sp->nrlimits; i++) {
    const uint8_t *r = sp->rlimits[i];
    uint32_t res = (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 |
                   (uint32_t)r[3] << 24;
    uint64_t v[2] = {0, 0};
    for (int k = 0; k < 2; k++)
      for (int j = 7; j >= 0; j--)
        v[k] = v[k] << 8 | r[4 + 8 * k + j];
    struct rlimit rl = {.rlim_cur = v[0], .rlim_max = v[1]};
    if (setrlimit((int)res, &rl) < 0)
      fail(sp, ST_RLIMIT, errno);
  }
  for (int i = 0; i < 3; i++)
    if (dup2(sp->stdio[i], i) < 0)
      fail(sp, ST_STDIO, errno);
  if (chdir(sp->cwd ? sp->cwd : "/") < 0)
    fail(sp, ST_CWD, errno);
  set_ids_and_confine(sp);
  if (sp->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail(sp, ST_NNP, errno);
  int r;
  if (sp->confine && sp->filter && sp->no_new_privs &&
      (r = guest_seccomp_install_filter(sp->filter, sp->nfilter)) < 0)
    fail(sp, ST_SECCOMP, -r);
  fail(sp, ST_EXEC, exec_path(sp->argv, sp->env));
}
