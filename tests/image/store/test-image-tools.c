/* SPDX-License-Identifier: MIT */
/* Integration tests of the image API with the real tools: images made by
 * umoci and converted by skopeo, ext4 images checked by e2fsck and debugfs,
 * writable copies, and a full disk (a small tmpfs, as root). Each test skips
 * with a reason when a tool or root is missing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/oci/oci.h"
#include "layout-util.h"
#include "testutil.h"
#include "vmctr.h"

static char dir[64];

static int have(const char *tool) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1 || test -x /usr/sbin/%s", tool, tool);
  return system(cmd) == 0;
}

static void need(const char *tool) {
  if (!have(tool)) {
    print_message("# skip: %s is not installed\n", tool);
    skip();
  }
}

static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...) {
  char cmd[4096], *out = NULL;
  size_t len = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r"), *m = open_memstream(&out, &len);
  int c;
  while (p && (c = fgetc(p)) != EOF)
    fputc(c, m);
  fclose(m);
  if (p)
    pclose(p);
  return out;
}

/* An OCI layout made by umoci from a busybox-static rootfs, once per run. */
static const char *umoci_layout(void) {
  static char layout[128];
  if (!layout[0]) {
    if (access("/bin/busybox", X_OK) != 0) {
      print_message("# skip: /bin/busybox (busybox-static) is missing\n");
      skip();
    }
    need("umoci");
    snprintf(layout, sizeof(layout), "%s/umoci", dir);
    tu_sh("set -e; cd %s; mkdir -p bb/bin bb/etc bb/tmp; cp /bin/busybox bb/bin/;"
       "for l in sh ls cat echo mount; do ln -s busybox bb/bin/$l; done;"
       "ln bb/bin/busybox bb/bin/hardbox; chmod 1777 bb/tmp; echo root:x:0:0::/:/bin/sh > bb/etc/passwd;"
       "umoci init --layout umoci && umoci new --image umoci:bb"
       " && umoci unpack %s --image umoci:bb bundle >/dev/null && cp -a bb/. bundle/rootfs/"
       " && umoci repack --image umoci:bb bundle >/dev/null"
       " && umoci config --image umoci:bb --config.cmd /bin/sh --config.env FOO=bar",
       dir, geteuid() == 0 ? "" : "--rootless");
  }
  return layout;
}

static vmctr_image *import_into(const char *store_name, const char *src, vmctr_image_store **s) {
  char store[256];
  vmctr_image *img = NULL;
  snprintf(store, sizeof(store), "%s/%s", dir, store_name);
  assert_ok(vmctr_image_store_open(s, store, 0));
  assert_ok(vmctr_image_store_import(*s, src, NULL, &img));
  return img;
}

static void test_interop(void **state) {
  (void)state;
  const char *layout = umoci_layout();
  need("skopeo");
  tu_sh("cd %s && skopeo --insecure-policy copy -q oci:%s:bb oci-archive:bb.oci.tar:bb"
     " && skopeo --insecure-policy copy -q oci:%s:bb docker-archive:bb.docker.tar:bb:latest",
     dir, layout, layout);
  char src[3][256];
  snprintf(src[0], sizeof(src[0]), "%s", layout);
  snprintf(src[1], sizeof(src[1]), "%s/bb.oci.tar", dir);
  snprintf(src[2], sizeof(src[2]), "%s/bb.docker.tar", dir);
  const char *names[3] = {"s-layout", "s-ociarchive", "s-dockerarchive"};
  vmctr_image_store *s[3];
  vmctr_image *img[3];
  char *tree[3];
  for (int i = 0; i < 3; i++) {
    img[i] = import_into(names[i], src[i], &s[i]);
    tree[i] = tl_tree_listing(vmctr_image_rootfs(img[i]));
    assert_string_equal(vmctr_image_cmd(img[i])[0], "/bin/sh");
  }
  assert_string_equal(tree[0], tree[1]);
  assert_string_equal(tree[0], tree[2]);
  /* the content is busybox itself, a hardlink stayed one, links kept */
  char p[512], *want = capture("sha256sum /bin/busybox | cut -d' ' -f1");
  snprintf(p, sizeof(p), "/bin/busybox 100000 755 0:0 ");
  if (!strstr(tree[0], want))
    fail_msg("busybox content missing from the tree:\n%s", tree[0]);
  snprintf(p, sizeof(p), "%s/bin/hardbox", vmctr_image_rootfs(img[0]));
  struct stat a, b;
  assert_int_equal(stat(p, &a), 0);
  snprintf(p, sizeof(p), "%s/bin/busybox", vmctr_image_rootfs(img[0]));
  assert_int_equal(stat(p, &b), 0);
  assert_true(a.st_ino == b.st_ino);
  assert_non_null(strstr(tree[0], "/bin/sh 120000 777 0:0 7 busybox"));
  assert_non_null(strstr(tree[0], "/tmp 40000 1777"));
  bool found = false;
  for (const char *const *e = vmctr_image_env(img[0]); *e; e++)
    found |= strcmp(*e, "FOO=bar") == 0;
  assert_true(found);
  free(want);
  for (int i = 0; i < 3; i++) {
    free(tree[i]);
    vmctr_image_free(img[i]);
    vmctr_image_store_free(s[i]);
  }
}

static void test_ext4(void **state) {
  (void)state;
  need("mke2fs");
  need("e2fsck");
  need("debugfs");
  vmctr_image_store *s;
  vmctr_image *img = import_into("s-ext4", umoci_layout(), &s);
  vmctr_image_ext4_options eo = VMCTR_IMAGE_EXT4_OPTIONS_INIT;
  char *path = NULL, *path2 = NULL, *out;
  struct stat st;
  eo.extra_bytes = 32ull << 20;
  assert_ok(vmctr_image_ext4(img, &eo, &path));
  assert_int_equal(stat(path, &st), 0);
  print_message("# ext4: %lld bytes, %lld allocated\n", (long long)st.st_size,
                (long long)st.st_blocks * 512);
  assert_true((uint64_t)st.st_size >= (32ull << 20));
  assert_true((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size); /* sparse */
  tu_sh("e2fsck -fn %s >/dev/null 2>&1", path);
  out = capture("debugfs -R 'stat /bin/busybox' %s 2>/dev/null", path);
  if (!strstr(out, "Mode:  0755") || !strstr(out, "User:     0"))
    fail_msg("debugfs stat /bin/busybox:\n%s", out);
  free(out);
  out = capture("debugfs -R 'stat /tmp' %s 2>/dev/null", path);
  assert_non_null(strstr(out, "Mode:  01777"));
  free(out);
  out = capture("debugfs -R 'stat /' %s 2>/dev/null", path);
  assert_non_null(strstr(out, "User:     0"));
  free(out);
  /* cached: same file, not rebuilt */
  struct stat st2;
  assert_ok(vmctr_image_ext4(img, &eo, &path2));
  assert_string_equal(path, path2);
  assert_int_equal(stat(path2, &st2), 0);
  assert_true(st.st_ino == st2.st_ino);
  vmctr_free(path2);
  /* a larger minimum rebuilds it */
  eo.min_size = 256ull << 20;
  assert_ok(vmctr_image_ext4(img, &eo, &path2));
  assert_int_equal(stat(path2, &st2), 0);
  assert_true((uint64_t)st2.st_size >= (256ull << 20));
  tu_sh("e2fsck -fn %s >/dev/null 2>&1", path2);
  vmctr_free(path2);
  vmctr_free(path);
  vmctr_image_free(img);
  vmctr_image_store_free(s);
}

static void test_writable(void **state) {
  (void)state;
  need("mke2fs");
  need("e2fsck");
  need("debugfs");
  vmctr_image_store *s;
  vmctr_image *img = import_into("s-writable", umoci_layout(), &s);
  vmctr_image_writable_options wo = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  char copy[256], copy2[256], scratch[256], *base = NULL, *h1, *h2, *out;
  int32_t form = 0;
  struct stat st;
  snprintf(copy, sizeof(copy), "%s/c1.ext4", dir);
  snprintf(copy2, sizeof(copy2), "%s/c2.ext4", dir);
  snprintf(scratch, sizeof(scratch), "%s/scratch.ext4", dir);
  assert_ok(vmctr_image_create_writable(img, copy, NULL, &form));
  print_message("# writable form: %s\n", form == VMCTR_IMAGE_WRITABLE_REFLINK ? "reflink" : "sparse copy");
  assert_true(form == VMCTR_IMAGE_WRITABLE_REFLINK || form == VMCTR_IMAGE_WRITABLE_SPARSE_COPY);
  wo.flags = VMCTR_IMAGE_WRITABLE_NO_REFLINK;
  wo.size = 1; /* the image's own size, so that cmp compares it byte for byte */
  assert_ok(vmctr_image_create_writable(img, copy2, &wo, &form));
  assert_int_equal(form, VMCTR_IMAGE_WRITABLE_SPARSE_COPY);
  assert_int_equal(vmctr_image_create_writable(img, copy2, &wo, &form), VMCTR_EEXIST);
  assert_ok(vmctr_image_ext4(img, NULL, &base));
  tu_sh("cmp -s %s %s", base, copy2);
  assert_int_equal(stat(copy2, &st), 0);
  assert_true((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size);
  /* independent: write into the copy, the original stays as it was */
  h1 = capture("sha256sum < %s", base);
  tu_sh("debugfs -w -R 'write /etc/passwd /newfile' %s >/dev/null 2>&1", copy2);
  out = capture("debugfs -R 'ls -l /' %s 2>/dev/null", copy2);
  assert_non_null(strstr(out, "newfile"));
  free(out);
  h2 = capture("sha256sum < %s", base);
  assert_string_equal(h1, h2);
  out = capture("debugfs -R 'ls -l /' %s 2>/dev/null", base);
  assert_null(strstr(out, "newfile"));
  free(out);
  tu_sh("e2fsck -fn %s >/dev/null 2>&1", copy2);
  /* the overlay form: an empty scratch disk */
  wo.flags = VMCTR_IMAGE_WRITABLE_USE_OVERLAY;
  wo.scratch_size = 64ull << 20;
  assert_ok(vmctr_image_create_writable(img, scratch, &wo, &form));
  assert_int_equal(form, VMCTR_IMAGE_WRITABLE_OVERLAY);
  tu_sh("e2fsck -fn %s >/dev/null 2>&1", scratch);
  assert_int_equal(stat(scratch, &st), 0);
  assert_true((uint64_t)st.st_size == (64ull << 20));
  wo.scratch_size = 1024;
  assert_int_equal(vmctr_image_create_writable(img, copy, &wo, &form), VMCTR_EINVAL);
  free(h1);
  free(h2);
  vmctr_free(base);
  vmctr_image_free(img);
  vmctr_image_store_free(s);
}

/* A layer of 24 MiB that gzips to little, into an 8 MiB tmpfs: blobs fit, unpack cannot. */
static void test_full_disk(void **state) {
  (void)state;
  if (geteuid() != 0) {
    print_message("# skip: mounting a small tmpfs needs root\n");
    skip();
  }
  char mnt[128], store[160], layout[160];
  size_t big = 24u << 20;
  char *data = malloc(big + 1);
  for (size_t i = 0; i < big; i++)
    data[i] = "vmctr-full-disk-"[i % 16] + (char)(i / 65536 % 7);
  data[big] = '\0';
  tl_entry e[] = {{'d', "big", 0755, NULL}, {'f', "big/file", 0644, data}};
  tl_layer l = {e, 2, 0};
  snprintf(layout, sizeof(layout), "%s/fulllayout", dir);
  assert_int_equal(tl_write_layout(layout, &l, 1, NULL, NULL, vmctr__oci_host_arch()), 0);
  free(data);
  snprintf(mnt, sizeof(mnt), "%s/small", dir);
  mkdir(mnt, 0700);
  if (mount("tmpfs", mnt, "tmpfs", 0, "size=8m") != 0) {
    print_message("# skip: cannot mount a tmpfs: %s\n", strerror(errno));
    skip();
  }
  snprintf(store, sizeof(store), "%s/store", mnt);
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  assert_ok(vmctr_image_store_open(&s, store, 0));
  int r = vmctr_image_store_import(s, layout, NULL, &img);
  const vmctr_error *err = vmctr_error_last();
  print_message("# full disk: %d %s\n", r, err->message);
  assert_true(r < 0);
  assert_null(img);
  assert_int_equal(r, VMCTR_ENOSPC);
  assert_int_equal(err->os_errno, ENOSPC);
  assert_non_null(strstr(err->message, "No space left on device"));
  char p[256];
  snprintf(p, sizeof(p), "%s/snapshots", store);
  assert_int_equal(tu_count_entries(p), 0);
  snprintf(p, sizeof(p), "%s/tmp", store);
  assert_int_equal(tu_count_entries(p), 0);
  vmctr_image_store_free(s);
  assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

static int group_setup(void **state) {
  (void)state;
  return tu_tmpdir(dir, sizeof(dir), "vmctr-test-image-tools");
}

static int group_teardown(void **state) {
  (void)state;
  char p[128];
  snprintf(p, sizeof(p), "%s/small", dir);
  umount2(p, MNT_DETACH);
  tu_rm_rf(dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_interop),
    cmocka_unit_test(test_ext4),
    cmocka_unit_test(test_writable),
    cmocka_unit_test(test_full_disk),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
