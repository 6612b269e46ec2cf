/* SPDX-License-Identifier: MIT */
/* Names in the image store (import --name, tag, untag, lookup, list) and
 * sources imported before, which are not read again: an archive by its
 * identity or content, a layout by its index.json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/oci/oci.h"
#include "layout-util.h"
#include "testutil.h"
#include "vmctr.h"

typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
  char store[128], layout[128], archive[160];
} fixture;

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-names");
  if (!f)
    return -1;
  snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
  snprintf(f->layout, sizeof(f->layout), "%s/layout", f->dir);
  snprintf(f->archive, sizeof(f->archive), "%s/image.tar", f->dir);
  *state = f;
  return 0;
}

static const tl_entry l1[] = {{'d', "etc", 0755, NULL}, {'f', "etc/motd", 0644, "hello"}};
static const tl_layer one[] = {{l1, 2, 0}};
static const tl_entry l2[] = {{'f', "other", 0644, "x"}};
static const tl_layer two[] = {{l2, 1, 0}};
static const char *const cmd[] = {"/bin/sh", NULL};

/* Counts progress reports: an import that reads its source reports at least one. */
static int count_cb(const vmctr_progress *p, void *userdata) {
  (void)p;
  (*(int *)userdata)++;
  return 0;
}

static int import_counted(vmctr_image_store *s, const char *src, const char *name,
                          char digest[80]) {
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  vmctr_image *img = NULL;
  int calls = 0;
  io.progress = count_cb;
  io.userdata = &calls;
  io.flags = VMCTR_IMAGE_IMPORT_NO_SYNC;
  io.name = name;
  assert_ok(vmctr_image_store_import(s, src, &io, &img));
  snprintf(digest, 80, "%s", vmctr_image_digest(img));
  vmctr_image_free(img);
  return calls;
}

static void test_names(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  char d1[80], d2[80], **names = NULL, **digests = NULL, other[160];
  assert_int_equal(tl_write_layout(f->layout, one, 1, cmd, NULL, vmctr__oci_host_arch()), 0);
  snprintf(other, sizeof(other), "%s/other", f->dir);
  assert_int_equal(tl_write_layout(other, two, 1, cmd, NULL, vmctr__oci_host_arch()), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  /* A bad name fails before any work. */
  io.name = "Not/A:Name!";
  assert_fails_with(vmctr_image_store_import(s, f->layout, &io, NULL), VMCTR_EINVAL, "name");
  assert_int_equal(tu_count_entries(f->dir), 0 + 3); /* layout, other, store: nothing imported */
  {
    char **v = NULL;
    assert_int_equal(vmctr_image_store_list(s, &v), 0);
    vmctr_strv_free(v);
  }
  import_counted(s, f->layout, "mybox:1", d1);
  import_counted(s, other, "registry.example:5000/team/app", d2);
  assert_string_not_equal(d1, d2);
  /* One concept: the short name, its normalized form and the digest all find it. */
  const char *as[] = {"mybox:1", "docker.io/library/mybox:1", "library/mybox:1",
                      "index.docker.io/library/mybox:1", d1, d1 + 7};
  for (size_t i = 0; i < sizeof(as) / sizeof(*as); i++) {
    assert_ok(vmctr_image_store_lookup(s, as[i], &img));
    assert_string_equal(vmctr_image_digest(img), d1);
    vmctr_image_free(img);
    img = NULL;
  }
  assert_ok(vmctr_image_store_lookup(s, "registry.example:5000/team/app:latest", &img));
  assert_string_equal(vmctr_image_digest(img), d2);
  vmctr_image_free(img);
  img = NULL;
  assert_fails_with(vmctr_image_store_lookup(s, "mybox:2", &img), VMCTR_ENOENT, "mybox:2");
  assert_int_equal(vmctr_image_store_list_names(s, &names, &digests), 2);
  assert_string_equal(names[0], "docker.io/library/mybox:1");
  assert_string_equal(digests[0], d1);
  assert_string_equal(names[1], "registry.example:5000/team/app:latest");
  assert_string_equal(digests[1], d2);
  vmctr_strv_free(names);
  vmctr_strv_free(digests);
  /* Retag: the name moves; untag: it goes, the image stays. */
  assert_ok(vmctr_image_store_tag(s, "mybox:1", d2));
  assert_ok(vmctr_image_store_lookup(s, "mybox:1", &img));
  assert_string_equal(vmctr_image_digest(img), d2);
  vmctr_image_free(img);
  img = NULL;
  assert_ok(vmctr_image_store_untag(s, "docker.io/library/mybox:1"));
  assert_fails_with(vmctr_image_store_untag(s, "mybox:1"), VMCTR_ENOENT, "mybox:1");
  assert_fails_with(vmctr_image_store_lookup(s, "mybox:1", &img), VMCTR_ENOENT, "mybox");
  assert_fails_with(vmctr_image_store_tag(s, "UPPER", d1), VMCTR_EINVAL, "lowercase");
  assert_fails_with(vmctr_image_store_tag(s, "ok", "sha256:0000"), VMCTR_ENOENT, "no image");
  /* A removed image takes its names with it. */
  assert_ok(vmctr_image_store_remove(s, d2));
  assert_int_equal(vmctr_image_store_list_names(s, &names, NULL), 0);
  assert_null(names[0]);
  vmctr_strv_free(names);
  assert_fails_with(vmctr_image_store_lookup(s, "registry.example:5000/team/app", &img),
                    VMCTR_ENOENT, "no image");
  vmctr_image_store_free(s);
}

static void test_known_archive(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  char d1[80], d2[80], cmdline[512], copy[200], sources[200];
  assert_int_equal(tl_write_layout(f->layout, one, 1, cmd, NULL, vmctr__oci_host_arch()), 0);
  snprintf(cmdline, sizeof(cmdline), "tar -C '%s' -cf '%s' .", f->layout, f->archive);
  assert_int_equal(system(cmdline), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  assert_true(import_counted(s, f->archive, NULL, d1) > 0);
  /* The same file: not read again (no progress at all), same image. */
  assert_int_equal(import_counted(s, f->archive, "again:1", d2), 0);
  assert_string_equal(d1, d2);
  /* A copy (another inode) is known by its content. */
  snprintf(copy, sizeof(copy), "%s/copy.tar", f->dir);
  snprintf(cmdline, sizeof(cmdline), "cp '%s' '%s'", f->archive, copy);
  assert_int_equal(system(cmdline), 0);
  assert_int_equal(import_counted(s, copy, NULL, d2), 0);
  assert_string_equal(d1, d2);
  snprintf(sources, sizeof(sources), "%s/sources", f->store);
  assert_int_equal(tu_count_entries(sources), 3); /* identity x2, content x1 */
  /* Another architecture is another image: the record does not answer for it. */
  {
    vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
    const char *o = strcmp(vmctr__oci_host_arch(), "amd64") == 0 ? "arm64" : "amd64";
    io.architecture = o;
    assert_fails_with(vmctr_image_store_import(s, f->archive, &io, NULL), VMCTR_ENOENT, o);
  }
  /* Once the image is removed, the record no longer answers: a full import. */
  assert_ok(vmctr_image_store_remove(s, d1));
  assert_true(import_counted(s, f->archive, NULL, d2) > 0);
  assert_string_equal(d1, d2);
  vmctr_image_store_free(s);
}

static void test_known_layout(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  char d1[80], d2[80], cmdline[512];
  assert_int_equal(tl_write_layout(f->layout, one, 1, cmd, NULL, vmctr__oci_host_arch()), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  assert_true(import_counted(s, f->layout, NULL, d1) > 0);
  /* Its blobs gone: the same index.json still names the image in the store. */
  snprintf(cmdline, sizeof(cmdline), "rm -rf '%s/blobs'", f->layout);
  assert_int_equal(system(cmdline), 0);
  assert_int_equal(import_counted(s, f->layout, "fromlayout", d2), 0);
  assert_string_equal(d1, d2);
  vmctr_image_store_free(s);
}

/* A blob already in the store is taken as it is: the source's copy is not needed. */
static void test_blob_reused(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  char d1[80], d2[80], idx[200], cmdline[700];
  assert_int_equal(tl_write_layout(f->layout, one, 1, cmd, NULL, vmctr__oci_host_arch()), 0);
  assert_ok(vmctr_image_store_open(&s, f->store, 0));
  import_counted(s, f->layout, NULL, d1);
  assert_ok(vmctr_image_store_remove(s, d1));
  /* A new index.json (same manifest, one more space) and no layer blob in the source. */
  snprintf(idx, sizeof(idx), "%s/index.json", f->layout);
  /* The gzip layer is the one blob that is not JSON text. */
  snprintf(cmdline, sizeof(cmdline),
           "cd '%s' && n=0 && for b in blobs/sha256/*; do "
           "if ! head -c1 $b | grep -q '{'; then rm $b; n=$((n+1)); fi; done && [ $n = 1 ] && "
           "echo ' ' >> '%s'", f->layout, idx);
  assert_int_equal(system(cmdline), 0);
  import_counted(s, f->layout, NULL, d2);
  assert_string_equal(d1, d2);
  vmctr_image_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_names, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_known_archive, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_known_layout, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_blob_reused, setup, tu_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
