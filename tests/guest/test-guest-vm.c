/* SPDX-License-Identifier: MIT */
/*
 * vmctr-init as PID 1 in a real VM (QEMU microvm, TCG): boot, channel
 * discovery over virtio-serial, spawn, MOUNT of a virtio-blk disk by serial,
 * a container rooted on that disk (pivot from the initramfs), POWEROFF and a
 * clean QEMU exit. Plain QEMU, no lib/vmm, so it tests the guest alone.
 * argv: vmctr-init, source root. Skips without a kernel, QEMU or tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent-harness.h"
#include "testutil.h"

static const char *init_path, *srcdir;
static char kernel[4096], modules[4096], tmp[64];
static bool tailored;
#define T 120000

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[16384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  return system(cmd);
}

static bool find_kernel(void) {
  const char *k = getenv("VMCTR_TEST_KERNEL");
  if (k && access(k, R_OK) == 0) {
    snprintf(kernel, sizeof(kernel), "%s", k);
    tailored = true;
    return true;
  }
  snprintf(kernel, sizeof(kernel), "%s/kernel/out/bzImage", srcdir);
  if (access(kernel, R_OK) == 0) {
    tailored = true;
    return true;
  }
  snprintf(kernel, sizeof(kernel), "%s/kernel/out/debian/vmlinuz", srcdir);
  snprintf(modules, sizeof(modules), "%s/kernel/out/debian/modules", srcdir);
  return access(kernel, R_OK) == 0;
}

static uint32_t spawn_sh(h_conn *c, const char *root, uint32_t out, const char *script) {
  vmctr__agent_buf b;
  vmctr__agent_msg m;
  uint8_t *keep;
  uint32_t pid = 0;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "/bin/busybox");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "sh");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "-c");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, script);
  vmctr__agent_put_str(&b, VMCTR_AT_ENV, "PATH=/bin");
  if (root) {
    vmctr__agent_put_str(&b, VMCTR_AT_ROOT, root);
    vmctr__agent_put_str(&b, VMCTR_AT_HOSTNAME, "vm-ctr");
    vmctr__agent_put_str(&b, VMCTR_AT_CGROUP, "vmctr/ctr1");
    vmctr__agent_put_u32(&b, VMCTR_AT_NAMESPACES, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
                                                  CLONE_NEWIPC | CLONE_NEWCGROUP);
    vmctr__agent_put_u64(&b, VMCTR_AT_MEMORY_MAX, 64u << 20);
  }
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, out);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDERR, out);
  assert_int_equal(h_response(c, h_request(c, &b), T, &m, &keep), 0);
  if (h_errno_of(&m) != 0) {
    char *msg = NULL;
    vmctr__agent_get_str(&m, VMCTR_AT_MESSAGE, &msg);
    print_error("spawn: %s\n", msg ? msg : "?");
    free(msg);
    fail();
  }
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_PID, &pid), 0);
  vmctr__agent_msg_free(&m);
  free(keep);
  return pid;
}

static int32_t wait_exit(h_conn *c, uint32_t pid) {
  vmctr__agent_buf b;
  vmctr__agent_msg m;
  uint8_t *keep;
  int32_t code = -1;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WAIT);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  assert_int_equal(h_response(c, h_request(c, &b), T, &m, &keep), 0);
  vmctr__agent_get_i32(&m, VMCTR_AT_EXIT_CODE, &code);
  vmctr__agent_msg_free(&m);
  free(keep);
  return code;
}

static int32_t simple(h_conn *c, vmctr__agent_buf *b) {
  vmctr__agent_msg m;
  uint8_t *keep;
  assert_int_equal(h_response(c, h_request(c, b), T, &m, &keep), 0);
  int32_t e = h_errno_of(&m);
  if (e) {
    char *msg = NULL;
    vmctr__agent_get_str(&m, VMCTR_AT_MESSAGE, &msg);
    print_error("request failed: %d %s\n", e, msg ? msg : "");
    free(msg);
  }
  vmctr__agent_msg_free(&m);
  free(keep);
  return e;
}

static void show_console(void) {
  sh("tail -n 30 %s/console.log >&2", tmp);
}

static void test_boot(void **state) {
  char sock[108], cmd[16384];
  /* initramfs: /init, busybox, modules; a disk with a file and a rootfs. */
  assert_int_equal(sh("set -e; cd %s; mkdir -p ir/dev ir/bin ir/lib/modules/vmctr disk/rootfs/bin; "
                      "cp %s ir/init; cp /bin/busybox ir/bin/; cp /bin/busybox disk/rootfs/bin/; "
                      "ln -s busybox disk/rootfs/bin/sh; echo from-disk > disk/hello.txt; "
                      "mknod ir/dev/console c 5 1; %s%s%s"
                      "(cd ir && find . | cpio -o -H newc --quiet > ../initrd); "
                      "mke2fs -q -t ext4 -d disk disk.img 64M >/dev/null 2>&1",
                      tmp, init_path, modules[0] ? "cp " : "", modules[0] ? modules : "",
                      modules[0] ? "/* ir/lib/modules/vmctr/; " : ""), 0);
  snprintf(sock, sizeof(sock), "%.90s/agent.sock", tmp);
  snprintf(cmd, sizeof(cmd),
           "exec qemu-system-x86_64 -M microvm%s -cpu max -m 512 -no-reboot -nodefaults -display none "
           "-monitor none -serial file:%s/console.log -kernel %s -initrd %s/initrd "
           "-append 'console=ttyS0 reboot=t panic=-1 %s' "
           "-global virtio-mmio.force-legacy=false -device virtio-serial-device "
           "-chardev socket,id=agent,path=%s,server=on,wait=off "
           "-device virtserialport,chardev=agent,name=vmctr.agent "
           "-drive file=%s/disk.img,if=none,format=raw,id=d0 "
           "-device virtio-blk-device,drive=d0,serial=vmctrtest",
           tailored ? ",acpi=off" : "", tmp, kernel, tmp, tailored ? "" : "", sock, tmp);
  pid_t qemu = fork();
  if (qemu == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  int fd = -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
  for (int i = 0; i < 200 && fd < 0; i++) {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
      close(fd);
      fd = -1;
      usleep(50000);
    }
  }
  assert_true(fd >= 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  h_conn *c = calloc(1, sizeof(*c));
  if (h_handshake(c, fd, VMCTR_AGENT_DEFAULT_WINDOW, T) < 0) {
    show_console();
    kill(qemu, SIGKILL);
    waitpid(qemu, NULL, 0);
    fail_msg("no HELLO from the guest");
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("# HELLO after %.2f s: %s\n",
         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
         c->guest_info);

  uint32_t pid = spawn_sh(c, NULL, 1,
                          "echo pid1=$(cat /proc/1/comm); test -d /sys/fs/cgroup/ && "
                          "grep -q memory /sys/fs/cgroup/cgroup.subtree_control && echo cg-ok");
  assert_int_equal(wait_exit(c, pid), 0);
  assert_true(h_wait_eof(c, 1, T));
  h_stream *s = h_stream_get(c, 1);
  assert_non_null(memmem(s->data, s->len, "pid1=init", 9));
  assert_non_null(memmem(s->data, s->len, "cg-ok", 5));

  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&b, VMCTR_AT_SOURCE, "vmctr-blk:vmctrtest");
  vmctr__agent_put_str(&b, VMCTR_AT_TARGET, "/run/disk");
  vmctr__agent_put_str(&b, VMCTR_AT_FSTYPE, "ext4");
  vmctr__agent_put_u32(&b, VMCTR_AT_MKDIR, 1);
  assert_int_equal(simple(c, &b), 0);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&b, VMCTR_AT_SOURCE, "vmctr-blk:nope");
  vmctr__agent_put_str(&b, VMCTR_AT_TARGET, "/run/x");
  assert_int_equal(simple(c, &b), ENOENT);

  /* A container on the disk: pid 1 inside, its hostname, its cgroup. */
  pid = spawn_sh(c, "/run/disk/rootfs", 2,
                 "cat /hello.txt 2>/dev/null || echo no-escape; busybox hostname; echo pid=$$; "
                 "cat /sys/fs/cgroup/memory.max");
  int32_t code = wait_exit(c, pid);
  assert_true(h_wait_eof(c, 2, T));
  s = h_stream_get(c, 2);
  if (code != 0)
    print_error("container output: %.*s\n", (int)s->len, (char *)s->data);
  assert_int_equal(code, 0);
  if (!memmem(s->data, s->len, "no-escape\nvm-ctr\npid=1\n67108864", 31)) {
    print_error("container output: %.*s\n", (int)s->len, (char *)s->data);
    fail();
  }

  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_POWEROFF);
  assert_int_equal(simple(c, &b), 0);
  int st = 0;
  for (int i = 0; i < 600; i++) {
    if (waitpid(qemu, &st, WNOHANG) == qemu)
      break;
    usleep(50000);
    if (i == 599) {
      show_console();
      kill(qemu, SIGKILL);
      waitpid(qemu, &st, 0);
      fail_msg("QEMU did not exit after POWEROFF");
    }
  }
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  c->pid = 0;
  h_close(c);
  free(c);
}

int main(int argc, char **argv) {
  if (argc < 3 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP vmctr-init not given\n");
    return 77;
  }
  init_path = argv[1];
  srcdir = argv[2];
  if (!find_kernel()) {
    printf("1..0 # SKIP no guest kernel (kernel/build-kernel.sh or kernel/fetch-debian-kernel.sh)\n");
    return 77;
  }
  if (system("command -v qemu-system-x86_64 cpio mke2fs >/dev/null") != 0 ||
      access("/bin/busybox", X_OK) != 0) {
    printf("1..0 # SKIP needs qemu-system-x86_64, cpio, mke2fs and busybox-static\n");
    return 77;
  }
  if (tu_tmpdir(tmp, sizeof(tmp), "vmctr-guest-vm") < 0)
    return 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_boot)};
  int r = cmocka_run_group_tests_name("guest-vm", tests, NULL, NULL);
  if (r == 0 || getenv("VMCTR_TEST_KEEP") == NULL)
    tu_rm_rf(tmp);
  return r;
}
