/* SPDX-License-Identifier: MIT */
/* Integration: file shares and masked/read-only paths in real containers in
 * real VMs, through the public API only.
 *
 * File shares: a host file seen at a destination in the container, read-only
 * (writes fail with EROFS) and read-write (writes seen both ways: a bind,
 * not a copy); two from one host directory; one over the image's /etc/hosts;
 * no sibling of the host directory and no staging mount visible; a missing
 * source refused with nothing left behind.
 *
 * Masked and read-only paths: custom lists take effect (a masked file reads
 * empty, a masked directory is empty and read-only, a read-only path refuses
 * writes, missing paths are skipped) and replace the defaults; empty lists
 * unmask the defaults; not calling the setters keeps them.
 *
 * Needs VMCTR_TEST_KERNEL; skips (exit 0, "# SKIP") without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

static struct vmtest F;
static char H[128]; /* the host directory of the shared files */

struct ct {
  vmctr_container *c;
  struct vmtest_rootfs root;
  struct vmtest_out out;
};

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", H, name);
}

/* Write text into the host file name in place (same inode: what a bind sees). */
static void host_write(const char *name, const char *text) {
  char p[192];
  path_of(p, sizeof(p), name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void host_read(const char *name, char *buf, size_t n) {
  char p[192];
  path_of(p, sizeof(p), name);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  ssize_t k = read(fd, buf, n - 1);
  close(fd);
  assert_true(k >= 0);
  buf[k] = 0;
}

static void add_file_share(vmctr_container_config *cfg, const char *name, const char *dest,
                           int32_t ro) {
  char p[192];
  vmctr_mount *m = NULL;
  path_of(p, sizeof(p), name);
  assert_int_equal(vmctr_mount_new_share(&m, p, dest), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, ro), 0);
  int r = vmctr_container_config_add_mount(cfg, m);
  if (r < 0)
    fprintf(stderr, "# add_mount %s: %s\n", p, vmctr_error_last()->message);
  assert_int_equal(r, 0);
  vmctr_mount_free(m);
}

/* A sleeping container from the busybox image; tweak shapes its config.
 * Returns vmctr_container_new's result (the container only on 0). */
static int ct_new(struct ct *t, const char *id, void (*tweak)(vmctr_container_config *)) {
  static int seq;
  static const char *const argv[] = {"sleep", "600"};
  char name[96];
  memset(t, 0, sizeof(*t));
  vmtest_out_init(&t->out);
  snprintf(name, sizeof(name), "%s-%d", id, ++seq);
  assert_int_equal(vmtest_rootfs(&F, NULL, name, &t->root), 0);
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 2), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  if (tweak)
    tweak(cfg);
  int r = vmctr_container_new(&t->c, id, t->root.mount, b, cfg);
  if (r < 0)
    fprintf(stderr, "# create %s: %s\n", id, vmctr_error_last()->message);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  if (r == 0 && vmctr_container_start(t->c) < 0) {
    fprintf(stderr, "# start %s: %s\n", id, vmctr_error_last()->message);
    r = -1;
  }
  return r;
}

static void ct_free(struct ct *t) {
  vmctr_container_free(t->c);
  t->c = NULL;
  vmtest_rootfs_free(&t->root);
}

/* Run `sh -c script` in the container; its exit code, output in o. */
static int32_t sh(struct ct *t, const char *script, struct vmtest_out *o) {
  vmctr_process_config *p;
  vmctr_process *proc = NULL;
  const char *argv[] = {"sh", "-c", script};
  int32_t code = -1, sig = -1;
  vmtest_out_init(o);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, o, NULL), 0);
  int r = vmctr_container_exec(t->c, p, &proc);
  if (r < 0)
    fprintf(stderr, "# exec: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  assert_int_equal(vmctr_process_wait(proc, 60000, &code, &sig), 0);
  vmctr_process_free(proc);
  vmctr_process_config_free(p);
  return code;
}

static void assert_sh(struct ct *t, const char *script, const char *want) {
  struct vmtest_out o;
  int32_t code = sh(t, script, &o);
  if (code != 0 || strcmp(o.buf, want) != 0)
    fail_msg("`%s`: exit %d, out \"%s\", err \"%s\"; wanted \"%s\"", script, (int)code, o.buf,
             o.err, want);
}

static int setup(void **state) {
  (void)state;
  if (vmtest_setup(&F, "vmctr-test-fshare") < 0)
    return -1;
  snprintf(H, sizeof(H), "%s/hostdir", F.dir);
  if (mkdir(H, 0755) < 0)
    return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  static const char *const names[] = {"ro.txt", "rw.txt", "secret.txt", "hosts", "gone.txt"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char p[192];
    path_of(p, sizeof(p), names[i]);
    unlink(p);
  }
  rmdir(H);
  return vmtest_teardown(&F);
}

/* ---- file shares, and custom masked/read-only lists, in one VM ---- */

static void fs_config(vmctr_container_config *cfg) {
  add_file_share(cfg, "ro.txt", "/data/ro.txt", 1);
  add_file_share(cfg, "rw.txt", "/data/rw.txt", 0); /* the same host directory */
  add_file_share(cfg, "hosts", "/etc/hosts", 1);    /* over the image's file */
  static const char *const masked[] = {"/etc/group", "/home", "/no/such/path"};
  static const char *const ro[] = {"/var", "/missing"};
  assert_int_equal(vmctr_container_config_set_masked_paths(cfg, masked, 3), 0);
  assert_int_equal(vmctr_container_config_set_readonly_paths(cfg, ro, 2), 0);
}

static void test_file_shares_and_custom_paths(void **state) {
  (void)state;
  struct ct t;
  struct vmtest_out o;
  char buf[256];
  host_write("ro.txt", "ro-content\n");
  host_write("rw.txt", "rw-content\n");
  host_write("secret.txt", "do not show\n");
  host_write("hosts", "10.9.9.9\tfromhost\n");
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int r = ct_new(&t, "fshare", fs_config);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_int_equal(r, 0);
  fprintf(stderr, "# container with 3 file shares up and started in %.1f s\n",
          (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);

  /* The content of the host files, and only they: no sibling, nothing of
   * the private directory, no staging mount. */
  assert_sh(&t, "cat /data/ro.txt /data/rw.txt", "ro-content\nrw-content\n");
  assert_sh(&t, "ls -a /data", ".\n..\nro.txt\nrw.txt\n");
  assert_sh(&t, "test -f /data/ro.txt && test -f /etc/hosts && echo files", "files\n");
  assert_sh(&t, "cat /etc/hosts", "10.9.9.9\tfromhost\n");
  assert_sh(&t, "grep -c -e secret -e vmctr-stage -e /run/vmctr -e fshare /proc/self/mountinfo; true",
            "0\n");
  assert_sh(&t, "grep -c ' /data/' /proc/self/mountinfo", "2\n");
  assert_sh(&t, "find / -xdev -name secret.txt 2>/dev/null | wc -l", "0\n");

  /* Read-only: EROFS, and the host file is unchanged. */
  assert_int_not_equal(sh(&t, "echo x >> /data/ro.txt", &o), 0);
  assert_non_null(strstr(o.err, "Read-only file system"));
  assert_int_not_equal(sh(&t, "echo x > /etc/hosts", &o), 0);
  assert_non_null(strstr(o.err, "Read-only file system"));
  host_read("ro.txt", buf, sizeof(buf));
  assert_string_equal(buf, "ro-content\n");

  /* Read-write: the container's write is the host's file... */
  assert_sh(&t, "echo from-container > /data/rw.txt && echo ok", "ok\n");
  host_read("rw.txt", buf, sizeof(buf));
  assert_string_equal(buf, "from-container\n");
  /* ...and the host's write is the container's (within the cache timeout). */
  host_write("rw.txt", "from-host\n");
  host_write("ro.txt", "ro-changed\n");
  bool seen = false;
  for (int i = 0; i < 40 && !seen; i++) {
    seen = sh(&t, "cat /data/rw.txt /data/ro.txt", &o) == 0 &&
           strcmp(o.buf, "from-host\nro-changed\n") == 0;
    if (!seen)
      usleep(250000);
  }
  if (!seen)
    fail_msg("the host's writes did not reach the container: \"%s\"", o.buf);
  /* A file share is a file: it cannot be removed or renamed over. */
  assert_int_not_equal(sh(&t, "rm /data/rw.txt", &o), 0);
  host_read("rw.txt", buf, sizeof(buf));
  assert_string_equal(buf, "from-host\n");

  /* Custom masked paths: a file reads empty, a directory is an empty
   * read-only tmpfs; missing ones were skipped. The defaults are gone. */
  assert_sh(&t, "wc -c < /etc/group", "0\n");
  assert_sh(&t, "ls -A /home | wc -l", "0\n");
  assert_int_not_equal(sh(&t, "touch /home/x", &o), 0);
  assert_non_null(strstr(o.err, "Read-only file system"));
  /* Custom read-only paths: a write below /var fails, the rest is writable. */
  assert_int_not_equal(sh(&t, "echo x > /var/tmp/x", &o), 0);
  assert_non_null(strstr(o.err, "Read-only file system"));
  assert_sh(&t, "echo x > /tmp/x && echo ok", "ok\n");
  assert_sh(&t, "grep -c -e ' /proc/sys ' -e ' /proc/kcore ' -e ' /proc/keys ' "
                "-e ' /sys/firmware ' /proc/self/mountinfo; true", "0\n");
  ct_free(&t);
  assert_int_equal(vmtest_child_pid("qemu-system"), 0);
  assert_int_equal(vmtest_child_pid("virtiofsd"), 0);
  assert_int_equal(vmtest_runtime_entries(&F, true), 0);
}

/* ---- the defaults, and empty lists ---- */

static void test_default_paths(void **state) {
  (void)state;
  struct ct t;
  assert_int_equal(ct_new(&t, "defaults", NULL), 0);
  /* /proc/sys read-only, the image's /etc/group readable, some default
   * masked path covered (which ones exist depends on the kernel). */
  assert_sh(&t, "grep ' /proc/sys ' /proc/self/mountinfo | grep -c ' ro,'", "1\n");
  assert_sh(&t, "grep -c root /etc/group", "1\n");
  struct vmtest_out o;
  assert_int_equal(sh(&t, "grep -c -e ' /proc/kcore ' -e ' /proc/keys ' -e ' /proc/timer_list ' "
                          "-e ' /sys/firmware ' -e ' /proc/scsi ' /proc/self/mountinfo", &o), 0);
  assert_true(atoi(o.buf) >= 1);
  ct_free(&t);
}

static void no_paths(vmctr_container_config *cfg) {
  assert_int_equal(vmctr_container_config_set_masked_paths(cfg, NULL, 0), 0);
  assert_int_equal(vmctr_container_config_set_readonly_paths(cfg, NULL, 0), 0);
}

static void test_empty_lists(void **state) {
  (void)state;
  struct ct t;
  assert_int_equal(ct_new(&t, "nopaths", no_paths), 0);
  assert_sh(&t, "grep -c -e ' /proc/sys ' -e ' /proc/kcore ' -e ' /proc/keys ' "
                "-e ' /proc/timer_list ' -e ' /sys/firmware ' -e ' /proc/bus ' "
                "/proc/self/mountinfo; true", "0\n");
  ct_free(&t);
}

/* ---- a missing source ---- */

static void test_missing_source(void **state) {
  (void)state;
  char p[192];
  vmctr_mount *m = NULL;
  vmctr_container_config *cfg = NULL;
  path_of(p, sizeof(p), "absent.txt");
  assert_int_equal(vmctr_mount_new_share(&m, p, "/etc/absent"), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_fails_with(vmctr_container_config_add_mount(cfg, m), VMCTR_ENOENT, "does not exist");
  vmctr_container_config_free(cfg);
  vmctr_mount_free(m);

  /* Gone between the configuration and the container: refused before the
   * VM boots, nothing left (no process, no runtime entry). */
  path_of(p, sizeof(p), "gone.txt");
  host_write("gone.txt", "soon gone\n");
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_mount_new_share(&m, p, "/etc/gone"), 0);
  assert_int_equal(vmctr_container_config_add_mount(cfg, m), 0);
  assert_int_equal(unlink(p), 0);
  vmctr_bootcfg *b;
  vmctr_container *c = NULL;
  struct vmtest_rootfs root;
  assert_int_equal(vmtest_rootfs(&F, NULL, "gone-2", &root), 0);
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_fails_with(vmctr_container_new(&c, "gone", root.mount, b, cfg), VMCTR_ENOENT,
                    "the source is gone");
  assert_null(c);
  assert_int_equal(vmtest_child_pid("qemu-system"), 0);
  assert_int_equal(vmtest_child_pid("virtiofsd"), 0);
  assert_int_equal(vmtest_runtime_entries(&F, true), 0);
  vmtest_rootfs_free(&root);
  vmctr_bootcfg_free(b);
  vmctr_container_config_free(cfg);
  vmctr_mount_free(m);
}

int main(void) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_missing_source),
      cmocka_unit_test(test_file_shares_and_custom_paths),
      cmocka_unit_test(test_default_paths),
      cmocka_unit_test(test_empty_lists),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
