/* SPDX-License-Identifier: MIT */
/* Integration tests of the VM manager: boot real VMs (TCG) through the public
 * API. Needs the tailored kernel (kernel/out/bzImage, or $VMCTR_TEST_KERNEL
 * with $VMCTR_TEST_INITFS for a kernel that needs modules), vmctr-init and
 * qemu; exits 77 naming what is missing. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "vmctr.h"

static char kernel[1024], initfs[1024], cmdline[4096], parent[256];

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d)
    return -1;
  while ((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static bool pid_alive(int32_t pid) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d", (int)pid);
  return access(p, F_OK) == 0;
}

static vmctr_vmm *new_vm(void) {
  vmctr_bootcfg *cfg;
  vmctr_vmm *vm;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, kernel), 0);
  if (initfs[0])
    assert_int_equal(vmctr_bootcfg_set_initfs(cfg, initfs), 0);
  if (cmdline[0])
    assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", cmdline), 0);
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 256ull << 20), 0);
  assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
  vmctr_bootcfg_free(cfg);
  assert_int_equal(vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_TCG), 0);
  assert_int_equal(vmctr_vmm_set_runtime_parent(vm, parent), 0);
  assert_int_equal(vmctr_vmm_set_agent_timeout(vm, 60000), 0);
  return vm;
}

static void start(vmctr_vmm *vm) {
  int64_t t0 = now_ms();
  int r = vmctr_vmm_start(vm);
  if (r < 0) {
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", vmctr_error_last()->message);
    vmctr_vmm_free(vm); /* fail_msg leaves the test: leave nothing behind */
    fail_msg("start: %s", msg);
  }
  printf("# booted to agent in %lld ms\n", (long long)(now_ms() - t0));
}

static void test_boot_and_stop(void **state) {
  vmctr_vmm *vm = new_vm();
  int32_t st;
  start(vm);
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_RUNNING);
  assert_int_equal(vmctr_vmm_accelerator(vm), VMCTR_ACCEL_TCG);
  int32_t pid = vmctr_vmm_pid(vm);
  assert_true(pid > 0 && pid_alive(pid));
  char dir[512];
  snprintf(dir, sizeof(dir), "%s", vmctr_vmm_runtime_dir(vm));
  struct stat sb;
  assert_int_equal(stat(dir, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0700);
  assert_int_equal(stat(vmctr_vmm_boot_log(vm), &sb), 0);
  assert_true(sb.st_size > 0); /* the console reached the boot log */
  assert_int_equal(vmctr_vmm_wait(vm, 10), VMCTR_ETIMEDOUT);
  int64_t t0 = now_ms();
  assert_int_equal(vmctr_vmm_stop(vm, 10000), 0);
  printf("# stopped in %lld ms\n", (long long)(now_ms() - t0));
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_STOPPED);
  assert_int_equal(vmctr_vmm_exit_status(vm, &st), 0);
  assert_int_equal(st, 0); /* clean power-off, not the QMP quit or a kill */
  assert_int_equal(vmctr_vmm_pid(vm), 0);
  assert_false(pid_alive(pid));
  assert_int_equal(vmctr_vmm_stop(vm, 0), 0); /* again: nothing to do */
  vmctr_vmm_free(vm);
  assert_int_equal(stat(dir, &sb), -1);
  assert_int_equal(entries(parent), 0);
}

static void test_killed_outside(void **state) {
  vmctr_vmm *vm = new_vm();
  int32_t st;
  start(vm);
  int32_t pid = vmctr_vmm_pid(vm);
  int efd = vmctr_vmm_event_fd(vm);
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_RUNNING);
  struct pollfd p = {.fd = efd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 0), 0); /* nothing to collect */
  int64_t t0 = now_ms();
  assert_int_equal(kill(pid, SIGKILL), 0);
  assert_int_equal(poll(&p, 1, 5000), 1);
  int64_t dt = now_ms() - t0;
  printf("# death noticed in %lld ms\n", (long long)dt);
  assert_true(dt < 1000);
  /* state() notices the exit without consuming the event; dispatch() does. */
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_FAILED);
  assert_int_equal(poll(&p, 1, 0), 1);
  assert_int_equal(vmctr_vmm_dispatch(vm), VMCTR_VMM_STATE_FAILED);
  assert_int_equal(poll(&p, 1, 0), 0); /* collected */
  assert_int_equal(vmctr_vmm_wait(vm, 1000), 0);
  assert_int_equal(vmctr_vmm_exit_status(vm, &st), 0);
  assert_int_equal(st, 128 + SIGKILL);
  assert_false(pid_alive(pid)); /* reaped, no zombie */
  vmctr_vmm_free(vm);
  assert_int_equal(entries(parent), 0);
}

static void test_two_and_free_running(void **state) {
  vmctr_vmm *a = new_vm(), *b = new_vm();
  start(a);
  start(b);
  int32_t pa = vmctr_vmm_pid(a), pb = vmctr_vmm_pid(b);
  assert_true(pa != pb);
  assert_string_not_equal(vmctr_vmm_runtime_dir(a), vmctr_vmm_runtime_dir(b));
  assert_int_equal(entries(parent), 2);
  assert_int_equal(vmctr_vmm_stop(a, 10000), 0);
  assert_int_equal(vmctr_vmm_state(b), VMCTR_VMM_STATE_RUNNING);
  vmctr_vmm_free(a);
  /* Freed while running: killed, reaped, directory gone. */
  vmctr_vmm_free(b);
  assert_false(pid_alive(pa));
  assert_false(pid_alive(pb));
  assert_int_equal(entries(parent), 0);
}

static void test_bad_kernel(void **state) {
  vmctr_bootcfg *cfg;
  vmctr_vmm *vm;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/nonexistent/bzImage"), 0);
  assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
  assert_int_equal(vmctr_vmm_set_runtime_parent(vm, parent), 0);
  assert_int_equal(vmctr_vmm_start(vm), VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, "/nonexistent/bzImage"));
  assert_int_equal(vmctr_vmm_pid(vm), 0);
  assert_int_equal(entries(parent), 0); /* nothing was made, nothing ran */
  vmctr_vmm_free(vm);

  /* KVM where it does not work: refused with the reason. */
  vmctr_caps *caps;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  if (vmctr_caps_accelerator(caps, NULL) != VMCTR_ACCEL_KVM) {
    assert_int_equal(vmctr_bootcfg_set_kernel(cfg, kernel), 0);
    assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
    assert_int_equal(vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_KVM), 0);
    assert_int_equal(vmctr_vmm_start(vm), VMCTR_EUNSUPPORTED);
    assert_non_null(strstr(vmctr_error_last()->message, "KVM"));
    vmctr_vmm_free(vm);
  }
  vmctr_caps_free(caps);
  vmctr_bootcfg_free(cfg);
}

/* The pid of the process whose command line mentions needle, or 0. */
static int32_t find_process(const char *needle) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int32_t found = 0;
  while (d && !found && (e = readdir(d))) {
    char path[300], buf[4096];
    int32_t pid = atoi(e->d_name);
    if (pid <= 0)
      continue;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
      if (!buf[i])
        buf[i] = ' ';
    buf[n] = 0;
    if (strstr(buf, needle) && !strstr(buf, "qemu-system"))
      found = pid;
  }
  if (d)
    closedir(d);
  return found;
}

/* A share gets a supervised virtiofsd: killing it ends the VM, noticed at once. */
static void test_share_daemon_death(void **state) {
  vmctr_caps *caps;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  int have = vmctr_caps_has(caps, VMCTR_CAP_VIRTIOFS, NULL);
  vmctr_caps_free(caps);
  if (have != 1)
    skip();
  char dir[64];
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-test-share"), 0);
  vmctr_mount *m;
  vmctr_vmm *vm = new_vm();
  assert_int_equal(vmctr_mount_new_share(&m, dir, "/mnt/share"), 0);
  assert_int_equal(vmctr_vmm_add_mount(vm, m), 0);
  vmctr_mount_free(m);
  start(vm);
  char needle[600];
  snprintf(needle, sizeof(needle), "%s/", vmctr_vmm_runtime_dir(vm));
  int32_t vfsd = find_process(needle);
  assert_true(vfsd > 0);
  struct pollfd p = {.fd = vmctr_vmm_event_fd(vm), .events = POLLIN};
  assert_int_equal(poll(&p, 1, 0), 0);
  int32_t qemu = vmctr_vmm_pid(vm);
  assert_int_equal(kill(vfsd, SIGKILL), 0);
  assert_int_equal(poll(&p, 1, 5000), 1);
  assert_int_equal(vmctr_vmm_dispatch(vm), VMCTR_VMM_STATE_FAILED);
  assert_false(pid_alive(qemu));
  assert_false(pid_alive(vfsd));
  vmctr_vmm_free(vm);
  assert_int_equal(entries(parent), 0);
  rmdir(dir);
}

/* QEMU refusing its arguments: its own message, nothing left running. */
static void test_qemu_refuses(void **state) {
  vmctr_vmm *vm;
  vmctr_bootcfg *cfg;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, kernel), 0);
  if (initfs[0])
    assert_int_equal(vmctr_bootcfg_set_initfs(cfg, initfs), 0);
  /* A free key of that name is kept but never reaches the hypervisor. */
  assert_int_equal(vmctr_bootcfg_set(cfg, "qemu.args", "-no-such-file-option"), 0);
  assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
  vmctr_bootcfg_free(cfg);
  const char *extra[] = {"-no-such-option"};
  assert_int_equal(vmctr_vmm_set_hypervisor_args(vm, extra, 1), 0);
  assert_int_equal(vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_TCG), 0);
  assert_int_equal(vmctr_vmm_set_runtime_parent(vm, parent), 0);
  assert_int_equal(vmctr_vmm_start(vm), VMCTR_EIO);
  printf("# %s\n", vmctr_error_last()->message);
  assert_non_null(strstr(vmctr_error_last()->message, "no-such-option"));
  assert_null(strstr(vmctr_error_last()->message, "no-such-file-option"));
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_FAILED);
  assert_int_equal(vmctr_vmm_pid(vm), 0);
  assert_int_equal(vmctr_vmm_start(vm), VMCTR_ESTATE);
  vmctr_vmm_free(vm);
  assert_int_equal(entries(parent), 0);
}

/* A guest that dies before its agent speaks: reported at once with the boot
 * log's end, not after the agent timeout. */
static void test_guest_panics(void **state) {
  vmctr_vmm *vm;
  vmctr_bootcfg *cfg;
  char log[300];
  snprintf(log, sizeof(log), "%s.boot.log", parent);
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, kernel), 0);
  if (initfs[0])
    assert_int_equal(vmctr_bootcfg_set_initfs(cfg, initfs), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "console=ttyS0 reboot=t panic=-1 rdinit=/nonexistent"), 0);
  assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
  vmctr_bootcfg_free(cfg);
  assert_int_equal(vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_TCG), 0);
  assert_int_equal(vmctr_vmm_set_runtime_parent(vm, parent), 0);
  assert_int_equal(vmctr_vmm_set_boot_log(vm, log), 0);
  assert_int_equal(vmctr_vmm_set_agent_timeout(vm, 60000), 0);
  int64_t t0 = now_ms();
  assert_int_equal(vmctr_vmm_start(vm), VMCTR_EIO);
  assert_true(now_ms() - t0 < 30000);
  printf("# %.300s\n", vmctr_error_last()->message);
  assert_non_null(strstr(vmctr_error_last()->message, "ended"));
  assert_string_equal(vmctr_vmm_boot_log(vm), log);
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_FAILED);
  vmctr_vmm_free(vm);
  assert_int_equal(entries(parent), 0);
  /* A boot log the caller placed outside the runtime dir is kept. */
  assert_int_equal(access(log, F_OK), 0);
  unlink(log);
}

static int skip_all(const char *why) {
  printf("1..0 # SKIP %s\n", why);
  return 77;
}

int main(void) {
  const char *src = getenv("VMCTR_TEST_SRCDIR"), *k = getenv("VMCTR_TEST_KERNEL");
  const char *i = getenv("VMCTR_TEST_INITFS"), *init = getenv("VMCTR_GUEST_INIT");
  char path[1024];
  if (!src)
    return skip_all("VMCTR_TEST_SRCDIR is not set (run through meson test)");
  snprintf(kernel, sizeof(kernel), "%s", k ? k : "");
  if (!k)
    snprintf(kernel, sizeof(kernel), "%s/../kernel/out/bzImage", src);
  if (access(kernel, R_OK) < 0)
    return skip_all("no guest kernel: build kernel/out/bzImage with kernel/build-kernel.sh");
  if (i)
    snprintf(initfs, sizeof(initfs), "%s", i);
  else if (!init || access(init, X_OK) < 0)
    return skip_all("no vmctr-init: set VMCTR_GUEST_INIT (meson test sets it once lib/guest builds)");
  snprintf(path, sizeof(path), "%s/../kernel/cmdline.tailored", src);
  FILE *f = k ? NULL : fopen(path, "r");
  if (f) {
    if (!fgets(cmdline, sizeof(cmdline), f))
      cmdline[0] = 0;
    cmdline[strcspn(cmdline, "\n")] = 0;
    fclose(f);
  }
  const char *c = getenv("VMCTR_TEST_CMDLINE");
  if (c)
    snprintf(cmdline, sizeof(cmdline), "%s", c);
  vmctr_caps *caps;
  if (vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK) < 0 || !vmctr_caps_qemu_path(caps))
    return skip_all("qemu-system is not installed");
  vmctr_caps_free(caps);
  if (tu_tmpdir(parent, sizeof(parent), "vmctr-test-vmm") < 0)
    return skip_all("cannot create a temporary directory");

  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_kernel),
    cmocka_unit_test(test_boot_and_stop),
    cmocka_unit_test(test_killed_outside),
    cmocka_unit_test(test_two_and_free_running),
    cmocka_unit_test(test_share_daemon_death),
    cmocka_unit_test(test_qemu_refuses),
    cmocka_unit_test(test_guest_panics),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  rmdir(parent);
  return r;
}
