/* SPDX-License-Identifier: MIT */
/* Unit tests of the mount translations (lib/mount/mount-qemu.c): the guest
 * mount request, the QEMU arguments and the virtiofsd argv, written out from
 * DESIGN.md's mapping; and the real virtiofsd started with that argv. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "mount/mount-priv.h"
#include "vmctr.h"

static void assert_argv(char **got, const char *const *want) {
  size_t i;
  assert_non_null(got);
  for (i = 0; want[i]; i++) {
    if (!got[i])
      fail_msg("argument %zu missing, want \"%s\"", i, want[i]);
    if (strcmp(got[i], want[i]) != 0)
      fail_msg("argument %zu: got \"%s\", want \"%s\"", i, got[i], want[i]);
  }
  if (got[i])
    fail_msg("extra argument %zu: \"%s\"", i, got[i]);
}

static void test_ms_constants(void **state) {
  (void)state;
  assert_int_equal(VMCTR__MS_RDONLY, MS_RDONLY);
  assert_int_equal(VMCTR__MS_NOSUID, MS_NOSUID);
  assert_int_equal(VMCTR__MS_NODEV, MS_NODEV);
  assert_int_equal(VMCTR__MS_NOEXEC, MS_NOEXEC);
  assert_int_equal(VMCTR__MS_SYNCHRONOUS, MS_SYNCHRONOUS);
  assert_int_equal(VMCTR__MS_DIRSYNC, MS_DIRSYNC);
  assert_int_equal(VMCTR__MS_NOATIME, MS_NOATIME);
  assert_int_equal(VMCTR__MS_NODIRATIME, MS_NODIRATIME);
  assert_int_equal(VMCTR__MS_RELATIME, MS_RELATIME);
  assert_int_equal(VMCTR__MS_STRICTATIME, MS_STRICTATIME);
  assert_int_equal(VMCTR__MS_LAZYTIME, MS_LAZYTIME);
}

/* Block: one case per caching × sync × read-only. */
static void test_qemu_block(void **state) {
  static const struct {
    uint32_t caching, sync;
    int32_t ro;
    const char *direct, *no_flush, *read_only;
  } cases[] = {
    {VMCTR_MOUNT_CACHING_CACHED, VMCTR_MOUNT_SYNC_FSYNC, 0, "off", "off", "off"}, /* default */
    {VMCTR_MOUNT_CACHING_AUTO, VMCTR_MOUNT_SYNC_FSYNC, 0, "off", "off", "off"},
    {VMCTR_MOUNT_CACHING_UNCACHED, VMCTR_MOUNT_SYNC_FSYNC, 0, "on", "off", "off"},
    {VMCTR_MOUNT_CACHING_CACHED, VMCTR_MOUNT_SYNC_FULL, 0, "off", "off", "off"},
    {VMCTR_MOUNT_CACHING_CACHED, VMCTR_MOUNT_SYNC_NONE, 0, "off", "on", "off"},
    {VMCTR_MOUNT_CACHING_UNCACHED, VMCTR_MOUNT_SYNC_FULL, 1, "on", "off", "on"},
    {VMCTR_MOUNT_CACHING_AUTO, VMCTR_MOUNT_SYNC_NONE, 1, "off", "on", "on"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vmctr_mount *m = NULL;
    vmctr__mount_qemu q;
    char file_node[256], fmt_node[256];
    assert_int_equal(vmctr_mount_new_block(&m, "/img/a,b.ext4", "/data"), 0);
    assert_int_equal(vmctr_mount_set_caching(m, cases[i].caching), 0);
    assert_int_equal(vmctr_mount_set_sync(m, cases[i].sync), 0);
    assert_int_equal(vmctr_mount_set_read_only(m, cases[i].ro), 0);
    assert_int_equal(vmctr__mount_qemu_translate(m, 3, "/run/vm", NULL, 0, &q), 0);
    snprintf(file_node, sizeof(file_node),
             "driver=file,node-name=vmctr-mnt3-file,filename=/img/a,,b.ext4,read-only=%s,"
             "cache.direct=%s,cache.no-flush=%s",
             cases[i].read_only, cases[i].direct, cases[i].no_flush);
    snprintf(fmt_node, sizeof(fmt_node),
             "driver=raw,node-name=vmctr-mnt3,file=vmctr-mnt3-file,read-only=%s,"
             "cache.direct=%s,cache.no-flush=%s",
             cases[i].read_only, cases[i].direct, cases[i].no_flush);
    const char *want[] = {"-blockdev", file_node, "-blockdev", fmt_node, "-device",
                          "virtio-blk-device,id=vmctr-mnt3-dev,drive=vmctr-mnt3,serial=vmctr-mnt3",
                          NULL};
    assert_argv(q.args, want);
    assert_null(q.virtiofsd_argv);
    assert_null(q.socket_path);
    assert_false(q.needs_shared_memory);
    assert_string_equal(q.request.source, "vmctr-blk:vmctr-mnt3");
    assert_string_equal(q.request.target, "/data");
    assert_string_equal(q.request.fstype, "ext4");
    assert_int_equal(q.request.flags, cases[i].ro ? MS_RDONLY : 0);
    assert_null(q.request.data);
    vmctr__mount_qemu_clear(&q);
    vmctr_mount_free(m);
  }
}

/* A host block device gets the host_device driver. Only the node's type
 * matters to the translation, so a node made here (root) or /dev/loop0 serves. */
static void test_qemu_block_device(void **state) {
  char dir[] = "/tmp/vmctr-test-blkdev-XXXXXX";
  char node[64];
  vmctr_mount *m = NULL;
  vmctr__mount_qemu q;
  char want[256];
  struct stat st;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(node, sizeof(node), "%s/blk", dir);
  if (mknod(node, S_IFBLK | 0600, makedev(7, 0)) < 0)
    snprintf(node, sizeof(node), "/dev/loop0");
  if (stat(node, &st) < 0 || !S_ISBLK(st.st_mode)) {
    printf("# no block device node to test with (not root, no /dev/loop0)\n");
    rmdir(dir);
    return;
  }
  assert_int_equal(vmctr_mount_new_block(&m, node, "/d"), 0);
  assert_int_equal(vmctr__mount_qemu_translate(m, 0, "/run/vm", NULL, 0, &q), 0);
  snprintf(want, sizeof(want),
           "driver=host_device,node-name=vmctr-mnt0-file,filename=%s,read-only=off,"
           "cache.direct=off,cache.no-flush=off", node);
  assert_string_equal(q.args[1], want);
  vmctr__mount_qemu_clear(&q);
  vmctr_mount_free(m);
  unlink(node);
  rmdir(dir);
}

static void test_qemu_share(void **state) {
  static const struct {
    uint32_t cache;
    const char *name;
  } cases[] = {
    {VMCTR_MOUNT_SHARE_CACHE_AUTO, "auto"},
    {VMCTR_MOUNT_SHARE_CACHE_ALWAYS, "always"},
    {VMCTR_MOUNT_SHARE_CACHE_NEVER, "none"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vmctr_mount *m = NULL;
    vmctr__mount_qemu q;
    char cache[32];
    assert_int_equal(vmctr_mount_new_share(&m, "/srv/a,b\\c", "/srv"), 0);
    assert_int_equal(vmctr_mount_set_share_cache(m, cases[i].cache), 0);
    assert_int_equal(vmctr_mount_set_options(m, "nosuid,nodev,noexec"), 0);
    assert_int_equal(vmctr__mount_qemu_translate(m, 2, "/run/v,m", "/opt/virtiofsd", 0, &q), 0);
    const char *want[] = {"-chardev", "socket,id=vmctr-fs2,path=/run/v,,m/vfsd-2.sock",
                          "-device",
                          "vhost-user-fs-device,id=vmctr-fs2-dev,chardev=vmctr-fs2,tag=vmctr-fs2",
                          NULL};
    assert_argv(q.args, want);
    snprintf(cache, sizeof(cache), "cache=%s", cases[i].name);
    const char *daemon[] = {"/opt/virtiofsd", "--socket-path=/run/v,m/vfsd-2.sock", "-o",
                            "source=/srv/a\\,b\\\\c", "-o", cache, "-o", "sandbox=namespace",
                            "-o", "no_xattr", "-o", "announce_submounts", "-o",
                            "log_level=warn", "--thread-pool-size=0", NULL};
    assert_argv(q.virtiofsd_argv, daemon);
    assert_string_equal(q.socket_path, "/run/v,m/vfsd-2.sock");
    assert_true(q.needs_shared_memory);
    assert_string_equal(q.request.source, "vmctr-fs2");
    assert_string_equal(q.request.fstype, "virtiofs");
    assert_string_equal(q.request.target, "/srv");
    assert_int_equal(q.request.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    assert_null(q.request.data);
    vmctr__mount_qemu_clear(&q);
    vmctr_mount_free(m);
  }
}

static void test_qemu_share_tag_unprivileged(void **state) {
  vmctr_mount *m = NULL;
  vmctr__mount_qemu q;
  (void)state;
  assert_int_equal(vmctr_mount_new_share(&m, "/srv", "/srv"), 0);
  assert_int_equal(vmctr_mount_set_tag(m, "www"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr__mount_qemu_translate(m, 0, "/r", NULL, VMCTR__MOUNT_QEMU_UNPRIVILEGED,
                                               &q),
                   0);
  const char *want[] = {"-chardev", "socket,id=vmctr-fs0,path=/r/vfsd-0.sock", "-device",
                        "vhost-user-fs-device,id=vmctr-fs0-dev,chardev=vmctr-fs0,tag=www", NULL};
  assert_argv(q.args, want);
  /* NULL: the configured or found daemon. */
  assert_non_null(q.virtiofsd_argv);
  assert_true(q.virtiofsd_argv[0][0] == '/');
  assert_non_null(strstr(q.virtiofsd_argv[0], "virtiofsd"));
  const char *daemon[] = {q.virtiofsd_argv[0], "--socket-path=/r/vfsd-0.sock", "-o",
                          "source=/srv", "-o", "cache=auto", "-o", "sandbox=chroot", "-o",
                          "no_xattr", "-o", "announce_submounts", "-o", "log_level=warn",
                          "--thread-pool-size=0", "--rlimit-nofile=0", NULL};
  assert_argv(q.virtiofsd_argv, daemon);
  assert_string_equal(q.request.source, "www");
  assert_int_equal(q.request.flags, MS_RDONLY);
  vmctr__mount_qemu_clear(&q);
  vmctr_mount_free(m);
}

static void test_qemu_guest_only(void **state) {
  vmctr_mount *m = NULL;
  vmctr__mount_qemu q;
  vmctr__mount_request req;
  (void)state;
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/tmp"), 0);
  assert_int_equal(vmctr_mount_set_tmpfs_size(m, 1048576), 0);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nr_inodes=100,noexec,exec"), 0);
  assert_int_equal(vmctr__mount_qemu_translate(m, 0, "/r", NULL, 0, &q), 0);
  assert_non_null(q.args);
  assert_null(q.args[0]);
  assert_null(q.virtiofsd_argv);
  assert_false(q.needs_shared_memory);
  assert_string_equal(q.request.source, "tmpfs");
  assert_string_equal(q.request.fstype, "tmpfs");
  assert_int_equal(q.request.flags, MS_NOSUID); /* exec cancels noexec */
  assert_string_equal(q.request.data, "size=1048576,mode=1777,nr_inodes=100");
  vmctr__mount_qemu_clear(&q);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/run"), 0);
  assert_int_equal(vmctr__mount_guest_request(m, 0, &req), 0);
  assert_string_equal(req.data, "mode=1777");
  vmctr__mount_request_clear(&req);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_any(&m, "proc", "proc", "/proc"), 0);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nodev,noexec,relatime,hidepid=2,defaults"),
                   0);
  assert_int_equal(vmctr__mount_guest_request(m, 7, &req), 0);
  assert_string_equal(req.source, "proc");
  assert_string_equal(req.target, "/proc");
  assert_string_equal(req.fstype, "proc");
  assert_int_equal(req.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
  assert_string_equal(req.data, "hidepid=2");
  vmctr__mount_request_clear(&req);
  vmctr_mount_free(m);
}

static void test_qemu_errors(void **state) {
  vmctr_mount *m = NULL;
  vmctr__mount_qemu q;
  char longdir[120];
  (void)state;
  memset(longdir, 'x', sizeof(longdir) - 1);
  longdir[0] = '/';
  longdir[sizeof(longdir) - 1] = '\0';
  assert_int_equal(vmctr_mount_new_share(&m, "/srv", "/srv"), 0);
  assert_int_equal(vmctr__mount_qemu_translate(m, 0, longdir, NULL, 0, &q), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "longer than a unix socket allows"));
  assert_int_equal(vmctr__mount_qemu_translate(m, 1000, "/r", NULL, 0, &q), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "index 1000 is past the limit"));
  assert_int_equal(vmctr__mount_qemu_translate(m, 0, "/r", NULL, 4, &q), VMCTR_EINVAL);
  assert_int_equal(vmctr__mount_qemu_translate(m, 0, NULL, NULL, 0, &q), VMCTR_EINVAL);
  /* The longest index still fits the 20-byte serial. */
  {
    char serial[24];
    vmctr__mount_serial(VMCTR__MOUNT_INDEX_MAX, serial);
    assert_true(strlen(serial) <= 20);
  }
  vmctr_mount_free(m);
}

/* ---- the real virtiofsd with the generated argv ---- */

/* The daemon DESIGN.md names on Debian. */
#define VFSD "/usr/lib/qemu/virtiofsd"

static bool socket_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void test_virtiofsd_runs(void **state) {
  char dir[] = "/tmp/vmctr-test-vfsd-XXXXXX";
  char share[128], rt[128];
  vmctr_mount *m = NULL;
  vmctr__mount_qemu q;
  pid_t pid;
  int status;
  (void)state;
  if (geteuid() != 0 || access(VFSD, X_OK) < 0) {
    printf("# virtiofsd not run: needs root and %s\n", VFSD);
    return;
  }
  assert_non_null(mkdtemp(dir));
  /* A comma and a backslash in the shared path prove the -o escaping. */
  snprintf(share, sizeof(share), "%s/sh,a\\re", dir);
  snprintf(rt, sizeof(rt), "%s/rt", dir);
  assert_int_equal(mkdir(share, 0755), 0);
  assert_int_equal(mkdir(rt, 0700), 0);

  for (uint32_t cache = 1; cache <= 3; cache++) {
    assert_int_equal(vmctr_mount_new_share(&m, share, "/srv"), 0);
    assert_int_equal(vmctr_mount_set_share_cache(m, cache), 0);
    assert_int_equal(vmctr_mount_validate(m), 0);
    assert_int_equal(vmctr__mount_qemu_translate(m, 0, rt, VFSD, 0, &q), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      execv(q.virtiofsd_argv[0], q.virtiofsd_argv);
      _exit(127);
    }
    /* It accepts every option and listens within a few seconds. */
    for (int i = 0; i < 100 && !socket_exists(q.socket_path); i++) {
      struct timespec ts = {0, 50 * 1000 * 1000};
      assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still running */
      nanosleep(&ts, NULL);
    }
    assert_true(socket_exists(q.socket_path));
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) || WIFSIGNALED(status));
    /* It leaves its socket behind: the VM manager must unlink it. */
    unlink(q.socket_path);
    vmctr__mount_qemu_clear(&q);
    vmctr_mount_free(m);
  }

  /* A wrong source (the escaping undone) makes it exit at once: the check
   * above is not vacuous. */
  {
    char *argv[] = {(char *)VFSD, NULL, (char *)"-o", NULL, NULL};
    char sock[160], src[160];
    snprintf(sock, sizeof(sock), "--socket-path=%s/bad.sock", rt);
    snprintf(src, sizeof(src), "source=%s", share); /* unescaped: cut at the comma */
    argv[1] = sock;
    argv[3] = src;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execv(argv[0], argv);
      _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    snprintf(sock, sizeof(sock), "%s/bad.sock", rt);
    unlink(sock);
  }
  rmdir(share);
  rmdir(rt);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ms_constants),
    cmocka_unit_test(test_qemu_block),
    cmocka_unit_test(test_qemu_block_device),
    cmocka_unit_test(test_qemu_share),
    cmocka_unit_test(test_qemu_share_tag_unprivileged),
    cmocka_unit_test(test_qemu_guest_only),
    cmocka_unit_test(test_qemu_errors),
    cmocka_unit_test(test_virtiofsd_runs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
