/* SPDX-License-Identifier: MIT */
/* Unit tests of the image store (lib/image/store) through the full import
 * path: hand-made layouts, whiteouts, atomicity, cancellation, concurrency,
 * stale staging, get/list/remove, build_from_dir round trip. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/oci/oci.h"
#include "layout-util.h"
#include "testutil.h"
#include "vmctr.h"

typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
  char store[128], layout[128];
} fixture;

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-image");
  if (!f)
    return -1;
  snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
  snprintf(f->layout, sizeof(f->layout), "%s/layout", f->dir);
  *state = f;
  return 0;
}

/* Three layers: whiteouts, an opaque directory, a removed tree, overwrite, links. */
static const tl_entry l1[] = {
  {'d', "a", 0755, NULL},          {'f', "a/keep", 0644, "1"},   {'f', "a/gone", 0600, "x"},
  {'d', "d", 0750, NULL},          {'f', "d/old", 0644, "old"},  {'d', "e", 0755, NULL},
  {'d', "e/sub", 0755, NULL},      {'f', "e/sub/x", 0644, "x"},  {'f', "f", 0644, "f1"},
};
static const tl_entry l2[] = {
  {'f', "a/.wh.gone", 0644, ""},   {'f', "d/.wh..wh..opq", 0644, ""}, {'f', "d/new", 0640, "new"},
  {'f', "f", 0755, "f2"},          {'l', "link", 0777, "a/keep"},
};
static const tl_entry l3[] = {
  {'f', ".wh.e", 0644, ""},        {'f', "a/gone", 0644, "again"}, {'h', "h", 0644, "f"},
};
static const tl_layer three[] = {{l1, 9, 0}, {l2, 5, 0}, {l3, 3, 0}};
static const char *const cmd[] = {"/bin/sh", "-c", "echo hi", NULL};
static const char *const env[] = {"PATH=/bin", "A=1", NULL};

static vmctr_image *import_three(fixture *f, vmctr_image_store **store) {
  vmctr_image *img = NULL;
  assert_int_equal(tl_write_layout(f->layout, three, 3, cmd, env, vmctr__oci_host_arch()), 0);
  assert_ok(vmctr_image_store_open(store, f->store, 0));
  assert_ok(vmctr_image_store_import(*store, f->layout, NULL, &img));
  return img;
}

static char *at(const vmctr_image *img, const char *rel) {
  static char p[4096];
  snprintf(p, sizeof(p), "%s/%s", vmctr_image_rootfs(img), rel);
  return p;
}

static void test_options_init(void **state) {
  vmctr_image_import_options io;
  vmctr_image_ext4_options eo;
  vmctr_image_writable_options wo;
  vmctr_image_build_options bo;
  (void)state;
  assert_int_equal(vmctr_image_import_options_init(&io, VMCTR_IMAGE_IMPORT_OPTIONS_VERSION), 0);
  assert_int_equal(io.version, 3);
  assert_true(io.max_bytes == 0 && io.max_entries == 0 && io.name == NULL);
  memset(&io, 0xff, sizeof(io));
  assert_int_equal(vmctr_image_import_options_init(&io, 2), 0);
  assert_true(io.version == 2 && io.max_bytes == 0);
  assert_true(io.name == (const char *)(uintptr_t)UINTPTR_MAX); /* not a v2 field: untouched */
  memset(&io, 0xff, sizeof(io));
  assert_int_equal(vmctr_image_import_options_init(&io, 1), 0);
  assert_int_equal(io.version, 1);
  assert_true(io.max_bytes == UINT64_MAX); /* not a v1 field: untouched */
  assert_int_equal(vmctr_image_ext4_options_init(&eo, 1), 0);
  assert_true(eo.extra_bytes == VMCTR_IMAGE_EXT4_DEFAULT_EXTRA);
  assert_int_equal(vmctr_image_writable_options_init(&wo, 1), 0);
  assert_true(wo.scratch_size == VMCTR_IMAGE_WRITABLE_DEFAULT_SCRATCH);
  assert_int_equal(vmctr_image_build_options_init(&bo, 1), 0);
  assert_int_equal(vmctr_image_import_options_init(&io, 99), VMCTR_EINVAL);
  assert_int_equal(vmctr_image_ext4_options_init(NULL, 1), VMCTR_EINVAL);
  assert_int_equal(vmctr_image_writable_options_init(&wo, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_image_build_options_init(&bo, 2), VMCTR_EINVAL);
}

static void test_bad_args(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  assert_int_equal(vmctr_image_store_open(NULL, f->store, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 8), VMCTR_EINVAL);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  struct stat st;
  assert_int_equal(stat(f->store, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  io.flags = 1u << 30;
  assert_fails_with(vmctr_image_store_import(s, f->layout, &io, &img), VMCTR_EINVAL, "flags");
  io.flags = 0;
  io.version = 7;
  assert_fails_with(vmctr_image_store_import(s, f->layout, &io, &img), VMCTR_EINVAL, "version");
  assert_int_equal(vmctr_image_store_import(s, "/nonexistent/x", NULL, &img), VMCTR_ENOENT);
  assert_fails_with(vmctr_image_store_get(s, "sha256:zz", &img), VMCTR_EINVAL, "digest");
  assert_fails_with(vmctr_image_store_get(s, "abc", &img), VMCTR_EINVAL, "too short");
  assert_int_equal(vmctr_image_store_get(s, "abcd", &img), VMCTR_ENOENT);
  assert_int_equal(vmctr_image_store_remove(s, "abcd"), VMCTR_ENOENT);
  assert_null(img);
  assert_null(vmctr_image_rootfs(NULL));
  assert_null(vmctr_image_cmd(NULL));
  vmctr_image_free(NULL);
  vmctr_image_store_free(NULL);
  vmctr_image_store_free(s);
}

static void test_import_whiteouts(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  vmctr_image *img = import_three(f, &s);
  struct stat st, st2;
  char *t;
  /* whiteout removed a/gone in layer 2, layer 3 recreated it */
  assert_string_equal((t = tl_read(at(img, "a/gone"))), "again");
  free(t);
  assert_string_equal((t = tl_read(at(img, "a/keep"))), "1");
  free(t);
  /* opaque d: only the new entry, the directory itself kept */
  assert_int_equal(tu_count_entries(at(img, "d")), 1);
  assert_int_equal(stat(at(img, "d/new"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  /* .wh.e removed the whole tree */
  assert_int_equal(lstat(at(img, "e"), &st), -1);
  /* overwrite with new mode; hardlink to it; symlink kept as is */
  assert_string_equal((t = tl_read(at(img, "f"))), "f2");
  free(t);
  assert_int_equal(lstat(at(img, "f"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0755);
  assert_int_equal(lstat(at(img, "h"), &st2), 0);
  assert_true(st.st_ino == st2.st_ino);
  char target[64] = "";
  assert_true(readlink(at(img, "link"), target, sizeof(target)) > 0);
  assert_string_equal(target, "a/keep");
  /* no whiteout files survive */
  assert_int_equal(lstat(at(img, "a/.wh.gone"), &st), -1);
  assert_int_equal(lstat(at(img, "d/.wh..wh..opq"), &st), -1);
  /* config */
  assert_string_equal(vmctr_image_cmd(img)[2], "echo hi");
  assert_null(vmctr_image_cmd(img)[3]);
  assert_string_equal(vmctr_image_env(img)[1], "A=1");
  assert_non_null(vmctr_image_entrypoint(img));
  assert_null(vmctr_image_entrypoint(img)[0]);
  assert_string_equal(vmctr_image_workdir(img), "/a");
  assert_null(vmctr_image_user(img));
  assert_string_equal(vmctr_image_os(img), "linux");
  assert_string_equal(vmctr_image_architecture(img), vmctr__oci_host_arch());
  assert_int_equal(strncmp(vmctr_image_digest(img), "sha256:", 7), 0);
  assert_int_equal(strncmp(vmctr_image_manifest_digest(img), "sha256:", 7), 0);
  /* staging is gone, the snapshot is named by the config digest */
  char p[512];
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  snprintf(p, sizeof(p), "%s/snapshots/%s/image.json", f->store, vmctr_image_digest(img) + 7);
  assert_int_equal(access(p, R_OK), 0);
  vmctr_image_free(img);
  vmctr_image_store_free(s);
}

static void test_list_get_remove(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  vmctr_image *img = import_three(f, &s), *again = NULL, *img2 = NULL;
  char **list = NULL, digest[80], prefix[16];
  snprintf(digest, sizeof(digest), "%s", vmctr_image_digest(img));
  assert_int_equal(vmctr_image_store_list(s, &list), 1);
  assert_string_equal(list[0], digest);
  assert_null(list[1]);
  vmctr_strv_free(list);
  /* a second import is the fast path: same snapshot */
  assert_ok(vmctr_image_store_import(s, f->layout, NULL, &img2));
  assert_string_equal(vmctr_image_rootfs(img2), vmctr_image_rootfs(img));
  vmctr_image_free(img2);
  snprintf(prefix, sizeof(prefix), "%.12s", digest + 7);
  assert_ok(vmctr_image_store_get(s, prefix, &again));
  assert_string_equal(vmctr_image_digest(again), digest);
  /* in use: refused while handles are open */
  assert_fails_with(vmctr_image_store_remove(s, digest), VMCTR_EBUSY, "in use");
  vmctr_image_free(again);
  assert_int_equal(vmctr_image_store_remove(s, digest), VMCTR_EBUSY);
  vmctr_image_free(img);
  assert_ok(vmctr_image_store_remove(s, digest));
  assert_int_equal(vmctr_image_store_list(s, &list), 0);
  assert_null(list[0]);
  vmctr_strv_free(list);
  char p[512];
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  assert_int_equal(vmctr_image_store_get(s, digest, &again), VMCTR_ENOENT);
  vmctr_image_store_free(s);
}

static void assert_store_empty(const fixture *f) {
  char p[512];
  snprintf(p, sizeof(p), "%s/snapshots", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  assert_int_equal(tu_count_entries(p), 0);
}

static void test_corrupt_layer(void **state) {
  fixture *f = *state;
  const tl_layer bad[] = {{l1, 9, 0}, {l2, 5, 1}};
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  assert_int_equal(tl_write_layout(f->layout, bad, 2, cmd, env, vmctr__oci_host_arch()), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  int r = vmctr_image_store_import(s, f->layout, NULL, &img);
  assert_true(r < 0);
  assert_null(img);
  if (!strstr(vmctr_error_last()->message, "layer 2/2"))
    fail_msg("message \"%s\" does not name the layer", vmctr_error_last()->message);
  assert_store_empty(f);
  vmctr_image_store_free(s);
}

static int cancel_cb(const vmctr_progress *p, void *userdata) {
  int *calls = userdata;
  if (p->phase == VMCTR_PROGRESS_UNPACK && p->item_index == 1)
    return 1;
  (*calls)++;
  return 0;
}

static void test_cancel(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  int calls = 0;
  assert_int_equal(tl_write_layout(f->layout, three, 3, cmd, env, vmctr__oci_host_arch()), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  io.progress = cancel_cb;
  io.userdata = &calls;
  assert_int_equal(vmctr_image_store_import(s, f->layout, &io, &img), VMCTR_ECANCELED);
  assert_true(calls > 0);
  assert_null(img);
  assert_store_empty(f);
  vmctr_image_store_free(s);
}

static void test_concurrent(void **state) {
  fixture *f = *state;
  pid_t pids[3];
  char **list = NULL;
  assert_int_equal(tl_write_layout(f->layout, three, 3, cmd, env, vmctr__oci_host_arch()), 0);
  for (int i = 0; i < 3; i++) {
    if ((pids[i] = fork()) == 0) {
      vmctr_image_store *s = NULL;
      vmctr_image *img = NULL;
      int r = vmctr_image_store_open(&s, f->store, 0);
      if (r == 0)
        r = vmctr_image_store_import(s, f->layout, NULL, &img);
      if (r == 0 && access(at(img, "d/new"), F_OK) != 0)
        r = -100;
      vmctr_image_free(img);
      vmctr_image_store_free(s);
      _exit(r == 0 ? 0 : 1);
    }
  }
  for (int i = 0; i < 3; i++) {
    int st;
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  vmctr_image_store *s = NULL;
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  assert_int_equal(vmctr_image_store_list(s, &list), 1);
  vmctr_strv_free(list);
  char p[512];
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  vmctr_image_store_free(s);
}

static void test_stale_staging(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  char p[512];
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  vmctr_image_store_free(s);
  /* what a crashed importer leaves: a staging dir with a read-only subtree */
  snprintf(p, sizeof(p), "mkdir -p %s/tmp/import-1-dead/rootfs/ro && touch %s/tmp/import-1-dead/rootfs/ro/x"
           " && chmod 0 %s/tmp/import-1-dead/rootfs/ro", f->store, f->store, f->store);
  assert_int_equal(system(p), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  vmctr_image_store_free(s);
}

static void test_build_round_trip(void **state) {
  fixture *f = *state;
  vmctr_image_build_options bo = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
  const char *const bcmd[] = {"/bin/echo", "round", "trip", NULL};
  const char *const benv[] = {"PATH=/usr/bin:/bin", "X=y z", NULL};
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  char src[256], p[1200], *t;
  snprintf(src, sizeof(src), "%s/src", f->dir);
  snprintf(p, sizeof(p), "mkdir -p %s/bin %s/etc && echo hello > %s/etc/motd && ln -s motd %s/etc/l",
           src, src, src, src);
  assert_int_equal(system(p), 0);
  bo.cmd = bcmd;
  bo.env = benv;
  bo.workdir = "/etc";
  bo.user = "1000:1000";
  assert_int_equal(vmctr_image_build_from_dir(NULL, f->layout, &bo), VMCTR_EINVAL);
  assert_ok(vmctr_image_build_from_dir(src, f->layout, &bo));
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  assert_ok(vmctr_image_store_import(s, f->layout, NULL, &img));
  assert_string_equal(vmctr_image_cmd(img)[0], "/bin/echo");
  assert_string_equal(vmctr_image_cmd(img)[2], "trip");
  assert_null(vmctr_image_cmd(img)[3]);
  assert_string_equal(vmctr_image_env(img)[1], "X=y z");
  assert_string_equal(vmctr_image_workdir(img), "/etc");
  assert_string_equal(vmctr_image_user(img), "1000:1000");
  assert_string_equal((t = tl_read(at(img, "etc/motd"))), "hello\n");
  free(t);
  char *a = tl_tree_listing(src), *b = tl_tree_listing(vmctr_image_rootfs(img));
  assert_string_equal(a, b);
  free(a);
  free(b);
  vmctr_image_free(img);
  vmctr_image_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_options_init),
    cmocka_unit_test_setup_teardown(test_bad_args, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_import_whiteouts, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_list_get_remove, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_corrupt_layer, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_cancel, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_concurrent, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_stale_staging, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_build_round_trip, setup, tu_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
