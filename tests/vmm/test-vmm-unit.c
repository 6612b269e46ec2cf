/* SPDX-License-Identifier: MIT */
/* Unit tests of the VM manager's pure parts: QEMU argv construction, QMP
 * parsing, runtime dirs, child supervision (with real short-lived processes),
 * and the public API's argument and state checks. */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/child.h"
#include "core/util.h"
#include "testutil.h"
#include "vmctr.h"
#include "vmm/qemu-argv-priv.h"
#include "vmm/qemu-net-priv.h"
#include "vmm/vmm.h"
#include "vmm/qmp-priv.h"
#include "vmm/rundir-priv.h"

static char *kargs[] = {"panic=-1", "quiet", NULL};

static vmctr__vm_spec base_spec(void) {
  vmctr__vm_spec s = {
    .kernel = "/k/bzImage", .initfs = "/k/initfs.cpio.gz", .kernel_args = kargs,
    .cpus = 2, .memory = 256ull << 20, .accel = VMCTR_ACCEL_TCG, .arch = "x86_64",
    .runtime_dir = "/run/x", .console_log = "/run/x/boot,log", .entropy = true,
    .agent_name = "vmctr.agent", .agent_port = 1024,
  };
  return s;
}

static const vmctr__qemu_layout base_layout = {
  .binary = "/usr/bin/qemu", .qmp_fd = 3, .agent_fd = 4, .tsc_khz = 2400000,
};

/* Index of the value that follows opt whose value starts with prefix, or -1. */
static int find_opt(char **argv, const char *opt, const char *prefix) {
  for (int i = 0; argv[i] && argv[i + 1]; i++)
    if (strcmp(argv[i], opt) == 0 && strncmp(argv[i + 1], prefix, strlen(prefix)) == 0)
      return i + 1;
  return -1;
}

/* The jailed layout: seccomp, the console as a stream, the kernel and
 * initfs at their jail paths, disks as fd sets (read-only: one O_RDONLY fd;
 * writable: both), shares on connected sockets. */
static void test_argv_jailed(void **state) {
  vmctr__vm_spec s = base_spec();
  vmctr__vm_disk disks[] = {
    {.path = "/img/ro,1.ext4", .read_only = true, .serial = "vmctr-d0"},
    {.path = "/img/rw.ext4", .read_only = false, .serial = "vmctr-d1"},
  };
  vmctr__vm_share shares[] = {{.host_path = "/h", .tag = "t0", .cache = 1}};
  s.disks = disks;
  s.ndisks = 2;
  s.shares = shares;
  s.nshares = 1;
  vmctr__qemu_layout l = base_layout;
  l.sandbox = true;
  l.console_fd = 5;
  l.share_fd0 = 6;
  l.disk_fd0 = 7;
  l.kernel = "/kernel";
  l.initfs = "/initfs";
  char **argv = NULL;
  (void)state;
  assert_int_equal(vmctr__qemu_argv(&s, &l, &argv), 0);
  assert_string_equal(argv[find_opt(argv, "-sandbox", "")],
                      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  assert_string_equal(argv[find_opt(argv, "-kernel", "")], "/kernel");
  assert_string_equal(argv[find_opt(argv, "-initrd", "")], "/initfs");
  assert_true(find_opt(argv, "-chardev", "socket,id=console,fd=5") > 0);
  assert_int_equal(find_opt(argv, "-chardev", "file,id=console"), -1);
  assert_true(find_opt(argv, "-chardev", "socket,id=vfs0,fd=6") > 0);
  assert_true(find_opt(argv, "-add-fd", "fd=7,set=1,opaque=/img/ro,,1.ext4") > 0);
  assert_int_equal(find_opt(argv, "-add-fd", "fd=8,"), -1); /* read-only: no writable fd */
  assert_true(find_opt(argv, "-add-fd", "fd=9,set=2,opaque=/img/rw.ext4") > 0);
  assert_true(find_opt(argv, "-add-fd", "fd=10,set=2,opaque=/img/rw.ext4") > 0);
  assert_true(find_opt(argv, "-blockdev", "driver=file,node-name=vmctr-d0-file,filename=/dev/fdset/1,read-only=on") > 0);
  assert_true(find_opt(argv, "-blockdev", "driver=file,node-name=vmctr-d1-file,filename=/dev/fdset/2,read-only=off") > 0);
  /* No host path of a disk reaches QEMU as a file name. */
  for (char **a = argv; *a; a++)
    assert_null(strstr(*a, "filename=/img"));
  vmctr__strv_free(argv);
}

static void test_argv_x86(void **state) {
  vmctr__vm_spec s = base_spec();
  char **argv = NULL;
  char *extra[] = {"-d", "guest_errors", NULL};
  s.hypervisor_args = extra;
  assert_int_equal(vmctr__qemu_argv(&s, &base_layout, &argv), 0);
  assert_string_equal(argv[0], "/usr/bin/qemu");
  assert_string_equal(argv[find_opt(argv, "-M", "")], "microvm,acpi=off,memory-backend=mem");
  /* A bounded translation cache; no -sandbox unless the layout asks. */
  assert_string_equal(argv[find_opt(argv, "-accel", "")], "tcg,tb-size=128");
  assert_int_equal(find_opt(argv, "-sandbox", ""), -1);
  assert_int_equal(find_opt(argv, "-cpu", ""), -1);
  assert_string_equal(argv[find_opt(argv, "-m", "")], "256M");
  assert_string_equal(argv[find_opt(argv, "-smp", "")], "2");
  assert_true(find_opt(argv, "-object", "memory-backend-memfd,id=mem,size=256M,share=on") > 0);
  assert_true(find_opt(argv, "-global", "virtio-mmio.force-legacy=false") > 0);
  assert_string_equal(argv[find_opt(argv, "-kernel", "")], "/k/bzImage");
  assert_string_equal(argv[find_opt(argv, "-initrd", "")], "/k/initfs.cpio.gz");
  /* The machine's own arguments first (console, reboot, the TCG timer hints), then the spec's. */
  assert_string_equal(argv[find_opt(argv, "-append", "")],
                      "console=ttyS0 reboot=t no_timer_check tsc_early_khz=2400000 tsc=reliable "
                      "panic=-1 quiet");
  /* The comma in the log path is escaped for QEMU's option syntax. */
  assert_true(find_opt(argv, "-chardev", "file,id=console,path=/run/x/boot,,log") > 0);
  assert_true(find_opt(argv, "-chardev", "socket,id=qmp,fd=3") > 0);
  assert_true(find_opt(argv, "-chardev", "socket,id=agent,fd=4") > 0);
  assert_true(find_opt(argv, "-device", "virtserialport,chardev=agent,name=vmctr.agent") > 0);
  assert_true(find_opt(argv, "-device", "virtio-rng-device") > 0);
  size_t n = vmctr__strv_len(argv);
  bool nodef = false, noreboot = false;
  for (size_t i = 0; i < n; i++) {
    nodef |= strcmp(argv[i], "-nodefaults") == 0;
    noreboot |= strcmp(argv[i], "-no-reboot") == 0;
    /* Nothing names a pit=off or rtc=off: TCG needs the PIT, the RTC saves 1 s. */
    assert_null(strstr(argv[i], "pit=off"));
    assert_null(strstr(argv[i], "rtc=off"));
  }
  assert_true(nodef && noreboot);
  assert_string_equal(argv[n - 2], "-d");
  assert_string_equal(argv[n - 1], "guest_errors");
  vmctr__strv_free(argv);
}

static void test_argv_kvm_and_arm(void **state) {
  vmctr__vm_spec s = base_spec();
  char **argv = NULL;
  s.accel = VMCTR_ACCEL_KVM;
  s.initfs = NULL;
  assert_int_equal(vmctr__qemu_argv(&s, &base_layout, &argv), 0);
  assert_string_equal(argv[find_opt(argv, "-accel", "")], "kvm");
  assert_string_equal(argv[find_opt(argv, "-cpu", "")], "host");
  assert_int_equal(find_opt(argv, "-initrd", ""), -1);
  /* No TCG timer hints under KVM. */
  assert_null(strstr(argv[find_opt(argv, "-append", "")], "tsc_early_khz"));
  assert_null(strstr(argv[find_opt(argv, "-append", "")], "tsc=reliable"));
  vmctr__strv_free(argv);

  /* Firmware tables (a stock kernel), no entropy device, and a disk and a share. */
  s = base_spec();
  s.firmware_tables = true;
  s.entropy = false;
  vmctr__vm_disk disk = {.path = "/img/a,b.ext4", .read_only = true,
                         .caching = VMCTR_MOUNT_CACHING_UNCACHED, .sync = VMCTR_MOUNT_SYNC_NONE,
                         .serial = "vmctr-mnt0"};
  vmctr__vm_share share = {.host_path = "/srv", .tag = "data,1", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO};
  char *socks[] = {"/run/x/vfsd-0.sock", NULL};
  vmctr__qemu_layout l = base_layout;
  l.share_sockets = socks;
  s.disks = &disk;
  s.ndisks = 1;
  s.shares = &share;
  s.nshares = 1;
  assert_int_equal(vmctr__qemu_argv(&s, &l, &argv), 0);
  assert_string_equal(argv[find_opt(argv, "-M", "")], "microvm,acpi=on,memory-backend=mem");
  assert_int_equal(find_opt(argv, "-device", "virtio-rng-device"), -1);
  assert_true(find_opt(argv, "-blockdev",
                       "driver=file,node-name=vmctr-mnt0-file,filename=/img/a,,b.ext4,read-only=on,"
                       "cache.direct=on,cache.no-flush=on") > 0);
  assert_true(find_opt(argv, "-blockdev", "driver=raw,node-name=vmctr-mnt0,file=vmctr-mnt0-file,"
                                         "read-only=on,cache.direct=on,cache.no-flush=on") > 0);
  assert_true(find_opt(argv, "-device",
                       "virtio-blk-device,id=vmctr-mnt0-dev,drive=vmctr-mnt0,serial=vmctr-mnt0") > 0);
  assert_true(find_opt(argv, "-chardev", "socket,id=vfs0,path=/run/x/vfsd-0.sock") > 0);
  assert_true(find_opt(argv, "-device", "vhost-user-fs-device,id=vfs0-dev,chardev=vfs0,tag=data,,1") > 0);
  vmctr__strv_free(argv);

  s = base_spec();
  s.arch = "aarch64";
  assert_int_equal(vmctr__qemu_argv(&s, &base_layout, &argv), 0);
  assert_true(find_opt(argv, "-M", "virt,") > 0);
  assert_true(find_opt(argv, "-cpu", "max,pauth-impdef=on") > 0);
  assert_true(find_opt(argv, "-device", "virtio-serial-device") > 0); /* virtio-mmio */
  vmctr__strv_free(argv);
  char *cl = vmctr__qemu_cmdline(&s, 2000000);
  assert_non_null(strstr(cl, "console=ttyAMA0"));
  assert_null(strstr(cl, "tsc_early_khz")); /* x86 only */
  assert_null(strstr(cl, "tsc=reliable"));
  free(cl);

  s.arch = "riscv64";
  argv = NULL;
  assert_int_equal(vmctr__qemu_argv(&s, &base_layout, &argv), VMCTR_EUNSUPPORTED);
  assert_null(argv);
  assert_non_null(strstr(vmctr_error_last()->message, "riscv64"));
}

static void test_escape(void **state) {
  char *e = vmctr__qemu_escape("a,b,,c");
  assert_string_equal(e, "a,,b,,,,c");
  free(e);
  e = vmctr__qemu_escape("");
  assert_string_equal(e, "");
  free(e);
}

static void test_qmp_parse(void **state) {
  vmctr__qmp_msg m;
  const char *greet = "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n";
  assert_int_equal(vmctr__qmp_parse(greet, strlen(greet), &m), 0);
  assert_int_equal(m.kind, VMCTR__QMP_GREETING);
  vmctr__qmp_msg_clear(&m);

  const char *ret = "{\"return\": {\"status\": \"running\", \"running\": true}}";
  assert_int_equal(vmctr__qmp_parse(ret, strlen(ret), &m), 0);
  assert_int_equal(m.kind, VMCTR__QMP_RETURN);
  assert_string_equal(vmctr__qmp_status(&m), "running");
  vmctr__qmp_msg_clear(&m);

  const char *empty = "{\"return\": {}}";
  assert_int_equal(vmctr__qmp_parse(empty, strlen(empty), &m), 0);
  assert_null(vmctr__qmp_status(&m));
  assert_int_equal(vmctr_error_last()->code, VMCTR_EPROTO);
  vmctr__qmp_msg_clear(&m);

  const char *err = "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"nope\"}}";
  assert_int_equal(vmctr__qmp_parse(err, strlen(err), &m), 0);
  assert_int_equal(m.kind, VMCTR__QMP_ERROR);
  assert_string_equal(m.err_desc, "nope");
  assert_string_equal(m.err_class, "CommandNotFound");
  vmctr__qmp_msg_clear(&m);

  const char *ev = "{\"timestamp\": {\"seconds\": 1}, \"event\": \"SHUTDOWN\", \"data\": {}}";
  assert_int_equal(vmctr__qmp_parse(ev, strlen(ev), &m), 0);
  assert_int_equal(m.kind, VMCTR__QMP_EVENT);
  assert_string_equal(m.event, "SHUTDOWN");
  vmctr__qmp_msg_clear(&m);

  /* Hostile or broken output from QEMU. */
  const char *bad[] = {"", "[]", "42", "{\"event\": 5}", "{\"foo\": 1}", "{\"return\": 1} x",
                       "{\"return\": 1, \"return\": 2}", "{\"return\""};
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(bad); i++) {
    memset(&m, 0, sizeof(m));
    int r = vmctr__qmp_parse(bad[i], strlen(bad[i]), &m);
    assert_true(r == VMCTR_EPROTO || r == VMCTR_EPARSE);
    assert_null(m.root);
  }
}

/* A fake QEMU on the other end of a socketpair, for the QMP client's I/O. */
static void test_qmp_client(void **state) {
  int sv[2];
  vmctr__qmp q;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const char *script = "{\"QMP\": {}}\r\n{\"return\": {}}\r\n"
                       "{\"event\": \"SHUTDOWN\"}\r\n{\"return\": {\"status\": \"paused\"}}\r\n"
                       "{\"error\": {\"desc\": \"bad\"}}\r\n";
  assert_int_equal(write(sv[1], script, strlen(script)), (ssize_t)strlen(script));
  assert_int_equal(vmctr__qmp_open(&q, sv[0], 1000), 0);
  vmctr__qmp_msg m;
  assert_int_equal(vmctr__qmp_execute(&q, "query-status", 1000, &m), 0);
  assert_string_equal(vmctr__qmp_status(&m), "paused");
  assert_true(q.shutdown_seen);
  vmctr__qmp_msg_clear(&m);
  assert_int_equal(vmctr__qmp_execute(&q, "quit", 1000, NULL), VMCTR_EPROTO);
  assert_non_null(strstr(vmctr_error_last()->message, "bad"));
  /* No answer: a timeout, not a hang. */
  assert_int_equal(vmctr__qmp_execute(&q, "quit", 50, NULL), VMCTR_ETIMEDOUT);
  /* An endless line is refused at the bound. */
  char *big = malloc(VMCTR__QMP_MAX_LINE + 10);
  memset(big, 'x', VMCTR__QMP_MAX_LINE + 10);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  (void)!write(sv[1], big, VMCTR__QMP_MAX_LINE + 10);
  assert_int_equal(vmctr__qmp_execute(&q, "quit", 1000, NULL), VMCTR_EPROTO);
  free(big);
  vmctr__qmp_close(&q);
  close(sv[1]);
  /* Peer gone. */
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  close(sv[1]);
  assert_int_equal(vmctr__qmp_open(&q, sv[0], 1000), VMCTR_EIO);
}

static void test_child(void **state) {
  vmctr__child c;
  int p[2];
  char buf[256] = {0};
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  /* Only the mapped fds survive exec: fd 5 is the pipe, 3 and 4 are closed. */
  char *argv[] = {"/bin/sh", "-c", "ls /proc/self/fd >&5; exit 7", NULL};
  vmctr__child_fd fds[] = {{p[1], 5}};
  int leak = open("/dev/null", O_RDONLY); /* not CLOEXEC: must still not leak */
  assert_int_equal(vmctr__child_spawn(&c, "sh", "/bin/sh", argv, NULL, fds, 1), 0);
  close(p[1]);
  assert_true(c.pidfd >= 0);
  assert_int_equal(vmctr__child_wait(&c, 5000), 0);
  assert_int_equal(c.status, 7);
  assert_int_equal(vmctr__child_poll(&c), 1);
  ssize_t n = read(p[0], buf, sizeof(buf) - 1);
  assert_true(n > 0);
  /* 0 1 2 5 and the fd ls opens for /proc/self/fd itself (3). */
  assert_null(strstr(buf, "4\n"));
  assert_non_null(strstr(buf, "5\n"));
  close(p[0]);
  close(leak);
  vmctr__child_release(&c);
  assert_int_equal(c.pidfd, -1);

  /* Killed: 128 + signal, and release is idempotent. */
  char *sleeper[] = {"/bin/sleep", "30", NULL};
  assert_int_equal(vmctr__child_spawn(&c, "sleep", "/bin/sleep", sleeper, NULL, NULL, 0), 0);
  assert_int_equal(vmctr__child_poll(&c), 0);
  assert_int_equal(vmctr__child_wait(&c, 50), VMCTR_ETIMEDOUT);
  pid_t pid = c.pid;
  vmctr__child_release(&c);
  assert_int_equal(c.status, 128 + SIGKILL);
  assert_int_equal(kill(pid, 0), -1); /* reaped: no zombie */
  vmctr__child_release(&c);

  /* exec failure is reported by spawn, with the program named. */
  char *nope[] = {"/nonexistent/prog", NULL};
  assert_int_equal(vmctr__child_spawn(&c, "prog", "/nonexistent/prog", nope, NULL, NULL, 0),
                   VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, "/nonexistent/prog"));
  assert_int_equal(c.pid, 0);
}

static void test_rundir(void **state) {
  char tmpl[64], *dir = NULL, *dir2 = NULL, path[512];
  struct stat st;
  int lock = -1, lock2 = -1;
  assert_int_equal(tu_tmpdir(tmpl, sizeof(tmpl), "vmctr-rundir"), 0);
  snprintf(path, sizeof(path), "%s/parent", tmpl);
  assert_int_equal(vmctr__rundir_create(path, &dir, &lock), 0);
  assert_true(lock >= 0);
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_non_null(strstr(dir, "/vm-"));
  snprintf(path, sizeof(path), "%s/f", dir);
  close(open(path, O_CREAT | O_WRONLY, 0600));
  /* A live VM's directory survives another VM's sweep. */
  snprintf(path, sizeof(path), "%s/parent", tmpl);
  assert_int_equal(vmctr__rundir_create(path, &dir2, &lock2), 0);
  assert_int_equal(stat(dir, &st), 0);
  vmctr__rundir_remove(dir, lock);
  assert_int_equal(stat(dir, &st), -1);
  free(dir);
  /* One whose owner died (its lock gone, nothing removed) is swept by the next create. */
  close(lock2);
  assert_int_equal(stat(dir2, &st), 0);
  assert_int_equal(vmctr__rundir_create(path, &dir, &lock), 0);
  assert_int_equal(stat(dir2, &st), -1);
  vmctr__rundir_remove(dir, lock);
  free(dir);
  free(dir2);
  /* A parent others may write is refused. */
  chmod(path, 0777);
  assert_int_equal(vmctr__rundir_create(path, &dir, &lock), VMCTR_EPERM);
  rmdir(path);
  rmdir(tmpl);
  char *def = vmctr__rundir_default_parent();
  assert_non_null(def);
  assert_true(def[0] == '/');
  free(def);
}

static void test_api_checks(void **state) {
  vmctr_bootcfg *cfg;
  vmctr_vmm *vm = NULL;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_vmm_new(NULL, cfg), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_new(&vm, NULL), VMCTR_EINVAL);
  assert_null(vm);
  assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_NEW);
  assert_true(vmctr_vmm_event_fd(vm) >= 0);
  assert_int_equal(vmctr_vmm_set_accelerator(vm, 7), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_AUTO), 0);
  const char *hv[] = {"-d", NULL};
  assert_int_equal(vmctr_vmm_set_hypervisor_args(vm, hv, 2), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_set_hypervisor_args(vm, NULL, 1), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_set_hypervisor_args(vm, hv, 1), 0);
  assert_int_equal(vmctr_vmm_set_hypervisor_args(vm, NULL, 0), 0);
  assert_int_equal(vmctr_vmm_dispatch(vm), VMCTR_VMM_STATE_NEW);
  assert_int_equal(vmctr_vmm_dispatch(NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_TCG), 0);
  assert_int_equal(vmctr_vmm_set_boot_log(vm, ""), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_set_runtime_parent(vm, ""), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_set_agent_timeout(vm, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_vmm_wait(vm, 0), VMCTR_ESTATE);
  assert_int_equal(vmctr_vmm_stop(vm, 0), VMCTR_ESTATE);
  int32_t st;
  assert_int_equal(vmctr_vmm_exit_status(vm, &st), VMCTR_ESTATE);
  assert_int_equal(vmctr_vmm_accelerator(vm), VMCTR_ACCEL_NONE);
  assert_null(vmctr_vmm_runtime_dir(vm));
  /* No kernel: refused before anything runs, and the VM may still be started later. */
  assert_true(vmctr_vmm_start(vm) < 0);
  assert_non_null(strstr(vmctr_error_last()->message, "kernel"));
  assert_int_equal(vmctr_vmm_state(vm), VMCTR_VMM_STATE_NEW);
  assert_null(vmctr_vmm_runtime_dir(vm));
  vmctr_vmm_free(vm);
  vmctr_vmm_free(NULL);
  assert_int_equal(vmctr_vmm_state(NULL), VMCTR_EINVAL);
  vmctr_bootcfg_free(cfg);
}

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static vmctr__netdev nat_nic(void) {
  vmctr__netdev nd = {
    .kind = VMCTR__NETDEV_NAT, .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, .mtu = 1500,
    .tap_fd = -1, .nat_impl = VMCTR__NAT_PASST, .guest_ip = A4(10, 0, 2, 15), .prefix = 24,
    .gateway = A4(10, 0, 2, 2), .dns = A4(10, 0, 2, 3),
  };
  return nd;
}

/* Each NIC kind's -netdev and its virtio-net device on the machine's MMIO
 * transport; port forwards in QEMU's and passt's syntax. */
static void test_argv_nics(void **state) {
  (void)state;
  vmctr__vm_spec s = base_spec();
  vmctr__net_port ports[] = {{VMCTR__NET_TCP, 0, 18080, 8080},
                             {VMCTR__NET_UDP, A4(127, 0, 0, 1), 5353, 53}};
  vmctr__netdev nics[3] = {nat_nic(), nat_nic(), nat_nic()};
  nics[1].mac[5] = 0x57;
  nics[1].ports = ports;
  nics[1].nports = 2;
  nics[2].kind = VMCTR__NETDEV_TAP;
  nics[2].mac[5] = 0x58;
  nics[2].mtu = 9000;
  s.nics = nics;
  s.nnics = 3;
  uint32_t how[] = {VMCTR__QEMU_NIC_PASST, VMCTR__QEMU_NIC_USER, VMCTR__QEMU_NIC_TAP};
  vmctr__qemu_layout l = base_layout;
  l.nic_how = how;
  l.nic_fd0 = 9;
  char **argv = NULL;
  assert_int_equal(vmctr__qemu_argv(&s, &l, &argv), 0);
  int i = find_opt(argv, "-netdev", "stream,");
  assert_true(i > 0);
  assert_string_equal(argv[i], "stream,id=n0,server=off,addr.type=fd,addr.str=9");
  assert_string_equal(argv[i + 1], "-device");
  assert_string_equal(argv[i + 2],
                      "virtio-net-device,id=n0-dev,netdev=n0,mac=52:54:00:12:34:56,host_mtu=1500");
  i = find_opt(argv, "-netdev", "user,");
  assert_true(i > 0);
  assert_string_equal(argv[i], "user,id=n1,ipv6=off,restrict=off,net=10.0.2.0/24,host=10.0.2.2,"
                               "dhcpstart=10.0.2.15,dns=10.0.2.3,"
                               "hostfwd=tcp::18080-10.0.2.15:8080,"
                               "hostfwd=udp:127.0.0.1:5353-10.0.2.15:53");
  assert_string_equal(argv[i + 2],
                      "virtio-net-device,id=n1-dev,netdev=n1,mac=52:54:00:12:34:57,host_mtu=1500");
  i = find_opt(argv, "-netdev", "tap,");
  assert_true(i > 0);
  assert_string_equal(argv[i], "tap,id=n2,fd=11,vhost=off");
  assert_string_equal(argv[i + 2],
                      "virtio-net-device,id=n2-dev,netdev=n2,mac=52:54:00:12:34:58,host_mtu=9000");
  assert_int_equal(find_opt(argv, "-device", "virtio-net-pci"), -1);
  vmctr__strv_free(argv);

  /* An attachment the backend did not plan is refused, nothing leaks. */
  l.nic_how = NULL;
  argv = NULL;
  assert_int_equal(vmctr__qemu_argv(&s, &l, &argv), VMCTR_EINVAL);
  assert_null(argv);

  /* passt: on the inherited socket, ready at its pid file, IPv4 only. */
  assert_int_equal(vmctr__qemu_passt_argv(&nics[1], "/usr/bin/passt", 3, "70000:70000", &argv),
                   0);
  const char *want[] = {"/usr/bin/passt", "--foreground", "--quiet", "--fd", "3", "--runas", "70000:70000", "--ipv4-only",
                        "--address", "10.0.2.15", "--netmask", "24", "--gateway", "10.0.2.2",
                        "--mtu", "1500", "--dns-forward", "10.0.2.3", "--no-dhcp-dns",
                        "--no-dhcp-search", "-t", "18080:8080", "-u", "127.0.0.1/5353:53", NULL};
  for (size_t k = 0; want[k] || argv[k]; k++) {
    assert_non_null(want[k]);
    assert_non_null(argv[k]);
    assert_string_equal(argv[k], want[k]);
  }
  vmctr__strv_free(argv);
  nics[0].dns = 0;
  assert_int_equal(vmctr__qemu_passt_argv(&nics[0], "passt", 3, NULL, &argv), 0);
  for (size_t k = 0; argv[k]; k++) {
    assert_string_not_equal(argv[k], "--dns-forward");
    assert_string_not_equal(argv[k], "--runas");
  }
  vmctr__strv_free(argv);
}

/* vmctr__vmm_add_netdev: every check, the deep copy, the tap fd's dup. */
static void test_add_netdev(void **state) {
  (void)state;
  vmctr_bootcfg *cfg;
  vmctr_vmm *vm;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_vmm_new(&vm, cfg), 0);
  vmctr_bootcfg_free(cfg);
  vmctr__netdev nd = nat_nic(), bad;
  assert_int_equal(vmctr__vmm_add_netdev(NULL, &nd), VMCTR_EINVAL);
  assert_int_equal(vmctr__vmm_add_netdev(vm, NULL), VMCTR_EINVAL);
  bad = nd, bad.kind = 9;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.mtu = 67;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.mtu = 65536;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.mac[0] = 0x01; /* multicast */
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "unicast"));
  memset(bad.mac, 0, 6);
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.gateway = A4(10, 0, 3, 2); /* outside 10.0.2.0/24 */
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "10.0.3.2"));
  bad = nd, bad.gateway = bad.guest_ip;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.guest_ip = A4(10, 0, 2, 255); /* broadcast */
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.prefix = 31;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad = nd, bad.nat_impl = 7;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  vmctr__net_port p[] = {{VMCTR__NET_TCP, 0, 0, 80}};
  bad = nd, bad.ports = p, bad.nports = 1;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  p[0].host_port = 8080;
  p[0].proto = 1;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  p[0].proto = VMCTR__NET_TCP;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), 0);
  p[0].host_port = 1; /* copied: the caller's array may change */
  /* The same MAC twice. */
  assert_int_equal(vmctr__vmm_add_netdev(vm, &nd), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "already"));

  /* A tap: fd checked and dup'ed; the caller's own stays open after free. */
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  bad = nd, bad.kind = VMCTR__NETDEV_TAP, bad.mac[5] = 0x99, bad.tap_fd = 1000;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  bad.tap_fd = fds[1];
  bad.ports = p, bad.nports = 1;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL); /* no ports on a tap */
  bad.nports = 0;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), 0);
  for (unsigned k = 2; k < VMCTR__VMM_MAX_NICS; k++) {
    bad.mac[5] = (uint8_t)k;
    assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), 0);
  }
  bad.mac[5] = 0xfe;
  assert_int_equal(vmctr__vmm_add_netdev(vm, &bad), VMCTR_EINVAL);
  vmctr_vmm_free(vm);
  /* Every dup is closed: the pipe's read end sees EOF only once our write end closes too. */
  assert_true(fcntl(fds[1], F_GETFD) >= 0);
  close(fds[1]);
  char c;
  assert_int_equal(read(fds[0], &c, 1), 0);
  close(fds[0]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_argv_x86),   cmocka_unit_test(test_argv_jailed),
    cmocka_unit_test(test_argv_kvm_and_arm),
    cmocka_unit_test(test_escape),     cmocka_unit_test(test_qmp_parse),
    cmocka_unit_test(test_qmp_client), cmocka_unit_test(test_child),
    cmocka_unit_test(test_rundir),     cmocka_unit_test(test_api_checks),
    cmocka_unit_test(test_argv_nics),  cmocka_unit_test(test_add_netdev),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
