/* SPDX-License-Identifier: MIT */
/* Integration, security (paths inside the rootfs, doc/security-guest.md):
 * real containers in real VMs from images built for the attack.
 * - Planted links: the image's /data is a link to ../../../../tmp/escape
 *   and its /ro a link to /run/vmctr, the guest directory that holds the
 *   container's rootfs; a tmpfs goes to /data and a read-only share to /ro.
 *   Each mount lands inside the rootfs (the container sees it where the
 *   link points inside its own root, and the disk holds the mount points
 *   afterwards), the host's /tmp/escape never appears, and the share's
 *   source is unchanged.
 * - FROM scratch: an image of /bin/busybox alone, no /etc: the container
 *   runs and finds /etc/hosts, /etc/hostname and /etc/resolv.conf made for
 *   it, as Docker gives every container.
 * Public API only; exits 77 without a guest kernel. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmctr.h>

#include "busybox-image.h"
#include "testutil.h"
#include "vmtest.h"

static struct vmtest F;

static int setup(void **state) {
  (void)state;
  return vmtest_setup(&F, "vmctr-test-paths");
}

static int teardown(void **state) {
  (void)state;
  return vmtest_teardown(&F);
}

/* A variant of the busybox image, imported into the fixture's store. */
static vmctr_image *variant(const char *name, const struct tu_image_options *o) {
  char layout[256];
  vmctr_image *img = NULL;
  snprintf(layout, sizeof(layout), "%s/%s", F.dir, name);
  assert_int_equal(tu_busybox_image_opts(F.dir, layout, o), 0);
  int r = vmctr_image_store_import(F.store, layout, NULL, &img);
  if (r < 0)
    fprintf(stderr, "# import %s: %s\n", name, vmctr_error_last()->message);
  assert_int_equal(r, 0);
  return img;
}

/* Runs argv as the init of a container of img with mounts; its output in
 * out, its exit code returned. The root disk is kept in root for the
 * caller to inspect and free. */
static int32_t run(const char *id, vmctr_image *img, vmctr_mount *const *mounts, size_t nmounts,
                   const char *const *argv, size_t argc, struct vmtest_out *out,
                   struct vmtest_rootfs *root) {
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  vmctr_container *c;
  vmtest_out_init(out);
  assert_int_equal(vmtest_rootfs(&F, img, id, root), 0);
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, argc), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, out, NULL), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, img), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  for (size_t i = 0; i < nmounts; i++)
    assert_int_equal(vmctr_container_config_add_mount(cfg, mounts[i]), 0);
  int r = vmctr_container_new(&c, id, root->mount, b, cfg);
  if (r < 0)
    fprintf(stderr, "# create: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  r = vmctr_container_start(c);
  if (r < 0)
    fprintf(stderr, "# start: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  int32_t code = -1, sig = -1;
  r = vmctr_process_wait(vmctr_container_init_process(c), 120000, &code, &sig);
  fprintf(stderr, "# %s (exit %d):\n%s# stderr: %s\n", id, code, out->buf, out->err);
  assert_int_equal(r, 0);
  vmctr_container_free(c);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  return code;
}

static void test_planted_links(void **state) {
  (void)state;
  static const char *const links[] = {"data", "../../../../tmp/escape", "ro", "/run/vmctr", NULL};
  /* The targets exist inside the rootfs; outside it, in the guest, the
   * first does not and the second holds the rootfs itself. */
  static const char *const dirs[] = {"tmp/escape", "run/vmctr", NULL};
  const struct tu_image_options o = {.links = links, .dirs = dirs};
  struct stat st;
  char share[256], f[300], host_escape[] = "/tmp/escape";
  /* A host /tmp/escape left by someone else would make the check moot. */
  if (lstat(host_escape, &st) == 0)
    skip();
  snprintf(share, sizeof(share), "%s/share", F.dir);
  snprintf(f, sizeof(f), "%s/f", share);
  tu_sh("mkdir -p '%s' && echo original > '%s'", share, f);
  vmctr_image *img = variant("links", &o);
  vmctr_mount *m[2];
  assert_int_equal(vmctr_mount_new_tmpfs(&m[0], "/data"), 0);
  assert_int_equal(vmctr_mount_new_share(&m[1], share, "/ro"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m[1], 1), 0);
  /* mountinfo field 5 is the mount point, field 9 the type (after "-"). */
  static const char *const argv[] = {
    "sh", "-c",
    "awk '{ for (i = 7; $i != \"-\"; i++); print \"mnt\", $5, $(i + 1) }' /proc/self/mountinfo;"
    "echo inside > /data/planted && echo \"via-link: $(cat /tmp/escape/planted)\";"
    "echo \"share: $(cat /run/vmctr/f)\";"
    "echo hacked > /ro/f 2>/dev/null && echo 'FAIL wrote the read-only share';"
    "echo done"};
  struct vmtest_out out;
  struct vmtest_rootfs root;
  int32_t code = run("paths-links", img, m, 2, argv, 3, &out, &root);
  assert_int_equal(code, 0);
  assert_non_null(strstr(out.buf, "\ndone\n"));
  /* The tmpfs is at the link's target inside the root, the share likewise. */
  assert_non_null(strstr(out.buf, "mnt /tmp/escape tmpfs\n"));
  assert_non_null(strstr(out.buf, "mnt /run/vmctr virtiofs\n"));
  assert_non_null(strstr(out.buf, "via-link: inside\n"));
  assert_non_null(strstr(out.buf, "share: original\n"));
  assert_null(strstr(out.buf, "FAIL"));
  /* The links are still the image's links on the container's disk, not
   * replaced by directories (debugfs reads it without mounting). */
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "debugfs -R 'stat /data' '%s' 2>/dev/null | grep -q 'Type: symlink' && "
                             "debugfs -R 'stat /ro' '%s' 2>/dev/null | grep -q 'Type: symlink'",
           root.disk, root.disk);
  if (access("/sbin/debugfs", X_OK) == 0 || access("/usr/sbin/debugfs", X_OK) == 0)
    assert_int_equal(system(cmd), 0);
  else
    fprintf(stderr, "# no debugfs (e2fsprogs): the disk was not inspected\n");
  /* On the host: nothing at the escape target, the share untouched. */
  assert_int_not_equal(lstat(host_escape, &st), 0);
  char buf[64] = "";
  FILE *fp = fopen(f, "re");
  assert_non_null(fp);
  assert_non_null(fgets(buf, sizeof(buf), fp));
  fclose(fp);
  assert_string_equal(buf, "original\n");
  vmtest_rootfs_free(&root);
  vmctr_mount_free(m[0]);
  vmctr_mount_free(m[1]);
  vmctr_image_free(img);
}

/* A planted link whose target is missing inside the rootfs: the guest does
 * not create the target through the link (runc would, inside the root);
 * the container is refused with an error that names the mount, and nothing
 * appears on the host. */
static void test_dangling_link_refused(void **state) {
  (void)state;
  static const char *const links[] = {"data", "../../../../tmp/escape-dangling", NULL};
  const struct tu_image_options o = {.links = links};
  struct stat st;
  const char *host_escape = "/tmp/escape-dangling";
  if (lstat(host_escape, &st) == 0)
    skip();
  vmctr_image *img = variant("dangling", &o);
  struct vmtest_rootfs root;
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  vmctr_container *c = NULL;
  vmctr_mount *m;
  static const char *const argv[] = {"true"};
  assert_int_equal(vmtest_rootfs(&F, img, "paths-dangling", &root), 0);
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 1), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, img), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/data"), 0);
  assert_int_equal(vmctr_container_config_add_mount(cfg, m), 0);
  int r = vmctr_container_new(&c, "paths-dangling", root.mount, b, cfg);
  fprintf(stderr, "# dangling: %d %s\n", r, r < 0 ? vmctr_error_last()->message : "");
  assert_true(r < 0);
  assert_null(c);
  assert_non_null(strstr(vmctr_error_last()->message, "/data"));
  assert_int_not_equal(lstat(host_escape, &st), 0);
  assert_int_equal(vmtest_children("qemu", NULL, NULL, 0, true), 0);
  vmctr_mount_free(m);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  vmtest_rootfs_free(&root);
  vmctr_image_free(img);
}

static void test_scratch_no_etc(void **state) {
  (void)state;
  const struct tu_image_options o = {.scratch = true};
  vmctr_image *img = variant("scratch", &o);
  /* The image really is bare: busybox and its directory, nothing else. */
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "test \"$(cd '%s' && find . | sort | tr '\\n' ' ')\" = "
           "'. ./bin ./bin/busybox '", vmctr_image_rootfs(img));
  assert_int_equal(system(cmd), 0);
  static const char *const argv[] = {
    "/bin/busybox", "sh", "-c",
    "for f in hosts hostname resolv.conf; do"
    "  if [ -f /etc/$f ]; then echo \"have $f\"; else echo \"FAIL no /etc/$f\"; fi;"
    "done;"
    "echo \"hostname: $(/bin/busybox cat /etc/hostname)\";"
    "/bin/busybox grep -q localhost /etc/hosts && echo 'hosts: localhost';"
    "echo done"};
  struct vmtest_out out;
  struct vmtest_rootfs root;
  int32_t code = run("paths-scratch", img, NULL, 0, argv, 4, &out, &root);
  assert_int_equal(code, 0);
  assert_non_null(strstr(out.buf, "have hosts\n"));
  assert_non_null(strstr(out.buf, "have hostname\n"));
  assert_non_null(strstr(out.buf, "have resolv.conf\n"));
  assert_non_null(strstr(out.buf, "hostname: paths-scratch\n"));
  assert_non_null(strstr(out.buf, "hosts: localhost\n"));
  assert_non_null(strstr(out.buf, "\ndone\n"));
  assert_null(strstr(out.buf, "FAIL"));
  vmtest_rootfs_free(&root);
  vmctr_image_free(img);
}

int main(void) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_planted_links),
    cmocka_unit_test(test_dangling_link_refused),
    cmocka_unit_test(test_scratch_no_etc),
  };
  return cmocka_run_group_tests_name("security-paths", tests, setup, teardown);
}
