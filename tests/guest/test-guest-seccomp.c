/* SPDX-License-Identifier: MIT */
/* Unit: vmctr-init's default seccomp profile and capability sets
 * (lib/guest/seccomp.c, caps.c), installed in a forked child of the test
 * and probed with the calls it must refuse or allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/guest-priv.h"

/* guest-priv.h declares these for the agent; the probes need no agent. */
bool guest_is_pid1;
void guest_log(const char *fmt, ...) { (void)fmt; }

/* Run fn in a child under profile/caps; its exit code is the test's. */
static int in_child(uint64_t caps, int (*fn)(void)) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); /* so an unprivileged run can install it too */
    if (guest_seccomp_install(VMCTR_ASECCOMP_DEFAULT, caps) < 0)
      _exit(100);
    _exit(fn());
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

static int eperm(long r) { return r == -1 && errno == EPERM; }

static int probe_default(void) {
  if (!eperm(syscall(SYS_keyctl, 0, -3, 0)) || !eperm(syscall(SYS_add_key, "user", "k", "v", 1, -3)))
    return 1;
  if (!eperm(unshare(CLONE_NEWNS)) || !eperm(unshare(CLONE_NEWUSER)))
    return 2;
  if (!eperm(mount("none", "/", "tmpfs", 0, NULL)) || !eperm(umount2("/", MNT_DETACH)))
    return 3;
  if (!eperm(syscall(SYS_init_module, NULL, 0, "")) || !eperm(syscall(SYS_finit_module, -1, "", 0)) ||
      !eperm(syscall(SYS_kexec_load, 0, 0, NULL, 0)) || !eperm(syscall(SYS_bpf, 0, NULL, 0)) ||
      !eperm(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)) ||
      !eperm(syscall(SYS_open_by_handle_at, -1, NULL, 0)) || !eperm(syscall(SYS_userfaultfd, 0)))
    return 4;
  if (!eperm(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0)))
    return 5;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0)
    return 6;
  close(s);
  if (!eperm(syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL)))
    return 7;
  if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
    return 8;
  if (personality(0xffffffff) < 0 || !eperm(personality(READ_IMPLIES_EXEC)))
    return 9;
  pid_t pid = fork(); /* clone without namespace flags */
  if (pid < 0)
    return 10;
  if (pid == 0)
    _exit(0);
  int st;
  if (waitpid(pid, &st, 0) != pid || getpid() <= 0)
    return 11;
  return 0;
}

static void test_default_profile_refuses(void **state) {
  (void)state;
  assert_int_equal(in_child(VMCTR_AGENT_CAPS_DEFAULT, probe_default), 0);
}

static int probe_sys_admin(void) {
  /* CAP_SYS_ADMIN in the set unlocks unshare and namespace clones (the
   * kernel still checks the caller's real capabilities). */
  long r = unshare(CLONE_NEWNS);
  if (eperm(r) && geteuid() == 0)
    return 1;
  return eperm(syscall(SYS_keyctl, 0, -3, 0)) ? 0 : 2; /* keyctl: never */
}

static void test_sys_admin_unlocks(void **state) {
  (void)state;
  assert_int_equal(in_child(VMCTR_AGENT_CAPS_DEFAULT | 1ull << 21, probe_sys_admin), 0);
}

static void test_program_size(void **state) {
  (void)state;
  static struct sock_filter f[BPF_MAXINSNS];
  size_t n1 = 0, n2 = 0;
  assert_int_equal(guest_seccomp_build(VMCTR_AGENT_CAPS_DEFAULT, f, BPF_MAXINSNS, &n1), 0);
  assert_int_equal(guest_seccomp_build(VMCTR_AGENT_CAPS_ALL, f, BPF_MAXINSNS, &n2), 0);
  assert_true(n1 > 100 && n2 > n1 && n2 < BPF_MAXINSNS);
  /* A buffer too small is refused, not overrun. */
  assert_int_equal(guest_seccomp_build(VMCTR_AGENT_CAPS_DEFAULT, f, 10, &n1), -E2BIG);
  assert_int_equal(guest_seccomp_install(7, 0), -EINVAL);
}

static int status_hex(const char *key, uint64_t *v) {
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  int found = -1;
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, key, strlen(key)) == 0 && sscanf(line + strlen(key), " %lx", v) == 1)
      found = 0;
  if (f)
    fclose(f);
  return found;
}

static void test_caps_sets(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t eff, bnd, inh, amb;
    if (guest_caps_bound(VMCTR_AGENT_CAPS_DEFAULT) < 0 || guest_caps_set(VMCTR_AGENT_CAPS_DEFAULT) < 0)
      _exit(1);
    if (status_hex("CapEff:", &eff) || status_hex("CapBnd:", &bnd) || status_hex("CapInh:", &inh) ||
        status_hex("CapAmb:", &amb))
      _exit(2);
    if (eff != 0xa00425fbu || bnd != 0xa00425fbu || inh || amb)
      _exit(3);
    /* A dropped capability stays dropped: CAP_MKNOD cannot be raised again. */
    if (prctl(PR_CAPBSET_READ, 27, 0, 0, 0) != 0)
      _exit(4);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_program_size),
    cmocka_unit_test(test_default_profile_refuses),
    cmocka_unit_test(test_sys_admin_unlocks),
    cmocka_unit_test(test_caps_sets),
  };
  return cmocka_run_group_tests_name("guest-seccomp", tests, NULL, NULL);
}
