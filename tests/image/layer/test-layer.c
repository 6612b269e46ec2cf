/* SPDX-License-Identifier: MIT */
/* Layer application semantics (lib/image/layer): entry types, metadata,
 * whiteouts and opaque directories across layers, compression, progress.
 * Every test builds its layers here with libarchive's writer. */
#include <archive_entry.h>
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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/layer/layer.h"
#include "layer-testutil.h"
#include "vmctr.h"

static int setup(void **state) {
  sandbox *s = malloc(sizeof(*s));
  sb_init(s);
  *state = s;
  return 0;
}

static int teardown(void **state) {
  sandbox *s = *state;
  sb_check(s);
  sb_free(s);
  free(s);
  vmctr__layer_force_walk(false);
  return 0;
}

static void apply_ok(sandbox *s, const vmctr__layer_opts *o) {
  int r = vmctr__layer_apply(s->root_fd, s->layer, o);
  if (r != 0)
    fail_msg("apply: %d %s", r, vmctr_error_last()->message);
}

static void assert_content(sandbox *s, const char *rel, const char *want) {
  char *got = sb_read(s, rel);
  if (!got)
    fail_msg("%s is missing", rel);
  assert_string_equal(got, want);
  free(got);
}

static struct stat lst(sandbox *s, const char *rel) {
  struct stat st;
  if (fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
    fail_msg("%s: %s", rel, strerror(errno));
  return st;
}

static void one_layer_basic(sandbox *s, int filter) {
  tb *t = tb_new(s->layer, filter);
  struct stat st, st2;
  char buf[64];
  ssize_t n;

  tb_dir(t, "./", 0755);
  tb_next_mtime(t, 1234567890, 500);
  tb_dir(t, "./etc/", 0750);
  tb_next_mtime(t, 1111111111, 0);
  tb_file(t, "./etc/hosts", "127.0.0.1 localhost\n", 0640);
  tb_file(t, "usr/lib/deep/file", "implicit parents\n", 0600); /* no dir entries before */
  tb_file_big(t, "big", 3 * 1024 * 1024 + 17, 7);
  tb_symlink(t, "etc/link", "../anywhere/../../at/all");
  tb_hardlink(t, "etc/hosts2", "etc/hosts");
  tb_file(t, "empty", "", 0644);
  tb_close(t);
  apply_ok(s, NULL);

  assert_content(s, "etc/hosts", "127.0.0.1 localhost\n");
  assert_content(s, "usr/lib/deep/file", "implicit parents\n");
  st = lst(s, "etc/hosts");
  assert_int_equal(st.st_mode & 07777, 0640);
  assert_int_equal(st.st_mtim.tv_sec, 1111111111);
  assert_int_equal(st.st_uid, geteuid());
  st2 = lst(s, "etc/hosts2");
  assert_int_equal(st.st_ino, st2.st_ino);
  assert_int_equal(st2.st_nlink, 2);
  st = lst(s, "etc");
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(st.st_mtim.tv_sec, 1234567890); /* set after its children */
  assert_int_equal(st.st_mtim.tv_nsec, 500);
  st = lst(s, "big");
  assert_int_equal(st.st_size, 3 * 1024 * 1024 + 17);
  n = readlinkat(s->root_fd, "etc/link", buf, sizeof(buf) - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, "../anywhere/../../at/all"); /* stored as data, never resolved */
  assert_int_equal(lst(s, "empty").st_size, 0);
}

static void test_basic_gzip(void **state) { one_layer_basic(*state, TB_GZIP); }
static void test_basic_tar(void **state) { one_layer_basic(*state, TB_NONE); }
static void test_basic_zstd(void **state) { one_layer_basic(*state, TB_ZSTD); }

static void test_basic_walk(void **state) {
  vmctr__layer_force_walk(true);
  one_layer_basic(*state, TB_GZIP);
}

/* Three layers: whiteouts, opaque directories (entries of the same layer
 * before and after the marker survive), and re-adding what was removed. */
static void test_whiteouts(void **state) {
  sandbox *s = *state;
  tb *t = tb_new(s->layer, TB_GZIP);
  char *tree;
  tb_dir(t, "a", 0755);
  tb_file(t, "a/x", "x1", 0644);
  tb_file(t, "a/y", "y1", 0644);
  tb_dir(t, "b", 0755);
  tb_file(t, "b/z", "z1", 0644);
  tb_dir(t, "b/sub", 0755);
  tb_file(t, "b/sub/deep", "d1", 0644);
  tb_file(t, "c", "c1", 0644);
  tb_dir(t, "d", 0755);
  tb_dir(t, "d/keepdir", 0755);
  tb_file(t, "d/keepdir/old", "o1", 0644);
  tb_file(t, "d/e", "e1", 0644);
  tb_close(t);
  apply_ok(s, NULL);

  t = tb_new(s->layer, TB_GZIP);
  tb_file(t, "a/.wh.x", "", 0644);
  tb_file(t, ".wh.c", "", 0644);
  tb_file(t, "d/before", "b2", 0644);
  tb_dir(t, "d/keepdir", 0755);
  tb_file(t, "d/keepdir/new", "n2", 0644);
  tb_file(t, "d/.wh..wh..opq", "", 0644);
  tb_file(t, "d/after", "a2", 0644);
  tb_file(t, "new", "n2", 0644);
  tb_file(t, ".wh.new", "", 0644); /* same layer: does not hide its own entry */
  tb_file(t, ".wh.missing", "", 0644);
  tb_file(t, "nodir/.wh.x", "", 0644);
  tb_close(t);
  apply_ok(s, NULL);

  t = tb_new(s->layer, TB_ZSTD);
  tb_file(t, "b/.wh..wh..opq", "", 0644);
  tb_file(t, "a/x", "x3", 0644);
  tb_file(t, "c", "c3", 0644);
  tb_file(t, ".wh.d", "", 0644);
  tb_close(t);
  apply_ok(s, NULL);

  tree = sb_tree(s);
  assert_string_equal(tree, "a d\n"
                            "a/x f\n"
                            "a/y f\n"
                            "b d\n"
                            "c f\n"
                            "new f\n");
  free(tree);
  assert_content(s, "a/x", "x3");
  assert_content(s, "c", "c3");
}

static void test_opaque_tree(void **state) {
  sandbox *s = *state;
  tb *t = tb_new(s->layer, TB_NONE);
  char *tree;
  tb_dir(t, "d", 0755);
  tb_dir(t, "d/keepdir", 0755);
  tb_file(t, "d/keepdir/old", "o1", 0644);
  tb_file(t, "d/e", "e1", 0644);
  tb_symlink(t, "d/l", "/etc");
  tb_close(t);
  apply_ok(s, NULL);
  t = tb_new(s->layer, TB_NONE);
  tb_file(t, "d/before", "b2", 0644);
  tb_dir(t, "d/keepdir", 0755);
  tb_file(t, "d/keepdir/new", "n2", 0644);
  tb_file(t, "d/.wh..wh..opq", "", 0644);
  tb_file(t, "d/after", "a2", 0644);
  tb_close(t);
  apply_ok(s, NULL);
  tree = sb_tree(s);
  assert_string_equal(tree, "d d\n"
                            "d/after f\n"
                            "d/before f\n"
                            "d/keepdir d\n"
                            "d/keepdir/new f\n");
  free(tree);
}

/* A later entry replaces an earlier one of another type. */
static void test_replace(void **state) {
  sandbox *s = *state;
  tb *t = tb_new(s->layer, TB_NONE);
  tb_dir(t, "d2f", 0755);
  tb_file(t, "d2f/child", "c", 0644);
  tb_file(t, "f2d", "f", 0644);
  tb_file(t, "f2l", "f", 0644);
  tb_symlink(t, "l2f", "/etc/passwd");
  tb_file(t, "f2f", "old", 0644);
  tb_hardlink(t, "f2f-link", "f2f");
  tb_close(t);
  apply_ok(s, NULL);
  t = tb_new(s->layer, TB_NONE);
  tb_file(t, "d2f", "now a file", 0644);
  tb_dir(t, "f2d", 0755);
  tb_symlink(t, "f2l", "target");
  tb_file(t, "l2f", "replaced the link", 0644);
  tb_file(t, "f2f", "new", 0644);
  tb_close(t);
  apply_ok(s, NULL);
  assert_content(s, "d2f", "now a file");
  assert_true(S_ISDIR(lst(s, "f2d").st_mode));
  assert_true(S_ISLNK(lst(s, "f2l").st_mode));
  assert_content(s, "l2f", "replaced the link");
  assert_content(s, "f2f", "new");
  assert_content(s, "f2f-link", "old"); /* a new inode: the old hard link keeps its data */
}

/* A relative symlink that stays inside the root is followed (merged /usr). */
static void test_symlink_inside(void **state) {
  sandbox *s = *state;
  tb *t = tb_new(s->layer, TB_NONE);
  tb_dir(t, "usr/lib", 0755);
  tb_symlink(t, "lib", "usr/lib");
  tb_file(t, "lib/libc.so", "elf", 0755);
  tb_dir(t, "x/y", 0755);
  tb_symlink(t, "x/y/up", "../../usr");
  tb_file(t, "x/y/up/lib/two", "2", 0644);
  tb_hardlink(t, "three", "lib/libc.so");
  tb_close(t);
  apply_ok(s, NULL);
  assert_content(s, "usr/lib/libc.so", "elf");
  assert_content(s, "usr/lib/two", "2");
  assert_int_equal(lst(s, "three").st_ino, lst(s, "usr/lib/libc.so").st_ino);
}

static void test_owner_modes(void **state) {
  sandbox *s = *state;
  vmctr__layer_opts o = {.keep_owner = true};
  tb *t;
  if (geteuid() != 0)
    skip();
  t = tb_new(s->layer, TB_GZIP);
  tb_next_owner(t, 1234, 5678);
  tb_file(t, "suid", "x", 04755);
  tb_next_owner(t, 42, 43);
  tb_dir(t, "dir", 01777);
  tb_next_owner(t, 7, 8);
  tb_symlink(t, "sym", "nowhere");
  tb_close(t);
  apply_ok(s, &o);
  assert_int_equal(lst(s, "suid").st_uid, 1234);
  assert_int_equal(lst(s, "suid").st_gid, 5678);
  assert_int_equal(lst(s, "suid").st_mode & 07777, 04755);
  assert_int_equal(lst(s, "dir").st_uid, 42);
  assert_int_equal(lst(s, "dir").st_mode & 07777, 01777);
  assert_int_equal(lst(s, "sym").st_uid, 7);

  sb_reset_root(s);
  apply_ok(s, NULL); /* keep_owner off: caller's owner, no setuid */
  assert_int_equal(lst(s, "suid").st_uid, geteuid());
  assert_int_equal(lst(s, "suid").st_mode & 07777, 0755);
  assert_int_equal(lst(s, "dir").st_mode & 07777, 01777);
}

static void test_devices(void **state) {
  sandbox *s = *state;
  vmctr__layer_opts o = {.allow_devices = true};
  tb *t = tb_new(s->layer, TB_NONE);
  tb_node(t, "dev/null", AE_IFCHR, 1, 3);
  tb_node(t, "dev/loop", AE_IFBLK, 7, 0);
  tb_node(t, "fifo", AE_IFIFO, 0, 0);
  tb_close(t);
  apply_ok(s, NULL); /* devices off: skipped with a warning */
  assert_int_equal(faccessat(s->root_fd, "dev/null", F_OK, AT_SYMLINK_NOFOLLOW), -1);
  assert_true(S_ISFIFO(lst(s, "fifo").st_mode));
  if (geteuid() != 0)
    return;
  sb_reset_root(s);
  apply_ok(s, &o);
  assert_true(S_ISCHR(lst(s, "dev/null").st_mode));
  assert_int_equal(lst(s, "dev/null").st_rdev, makedev(1, 3));
  assert_true(S_ISBLK(lst(s, "dev/loop").st_mode));
  assert_int_equal(lst(s, "dev/null").st_mode & 07777, 0644);
}

static ssize_t xattr_of(sandbox *s, const char *rel, const char *name, char *buf, size_t n) {
  int fd = openat(s->root_fd, rel, O_RDONLY | O_CLOEXEC);
  ssize_t r;
  assert_true(fd >= 0);
  r = fgetxattr(fd, name, buf, n);
  close(fd);
  return r;
}

static void test_xattrs(void **state) {
  sandbox *s = *state;
  tb *t;
  char buf[64];
  if (fsetxattr(s->root_fd, "user.probe", "1", 1, 0) < 0)
    skip(); /* this filesystem has no user xattrs */
  fremovexattr(s->root_fd, "user.probe");
  t = tb_new(s->layer, TB_GZIP);
  tb_next_xattr(t, "user.vmctr", "hello");
  tb_file(t, "f", "data", 0644);
  tb_next_xattr(t, "user.dir", "d");
  tb_dir(t, "d", 0755);
  tb_next_xattr(t, "trusted.nope", "skipped");
  tb_file(t, "g", "data", 0644);
  tb_close(t);
  apply_ok(s, NULL);
  assert_int_equal(xattr_of(s, "f", "user.vmctr", buf, sizeof(buf)), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(xattr_of(s, "d", "user.dir", buf, sizeof(buf)), 1);
  assert_int_equal(xattr_of(s, "g", "trusted.nope", buf, sizeof(buf)), -1);
}

static int count_calls, cancel_after;
static uint64_t last_done, last_entries;
static int on_progress(const vmctr_progress *p, void *ud) {
  assert_ptr_equal(ud, &count_calls);
  assert_int_equal(p->phase, VMCTR_PROGRESS_UNPACK);
  assert_string_equal(p->item, "sha256:feed");
  assert_int_equal(p->item_count, 3);
  assert_true(p->item_bytes_done >= last_done);
  assert_true(p->item_bytes_done <= p->item_bytes_total);
  assert_int_equal(p->bytes_done, 100 + p->item_bytes_done);
  last_done = p->item_bytes_done;
  last_entries = p->item_entries_done;
  return ++count_calls == cancel_after;
}

static void test_progress(void **state) {
  sandbox *s = *state;
  vmctr__layer_opts o = {.progress = on_progress, .userdata = &count_calls,
                         .item = "sha256:feed", .item_index = 1, .item_count = 3,
                         .bytes_before = 100, .bytes_total = 1000000};
  tb *t = tb_new(s->layer, TB_GZIP);
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof(name), "f%d", i);
    tb_file(t, name, "x", 0644);
  }
  tb_close(t);
  count_calls = 0;
  cancel_after = -1;
  apply_ok(s, &o);
  assert_true(count_calls >= 2);
  assert_int_equal(last_entries, 50);
  assert_true(last_done > 0);

  sb_reset_root(s);
  count_calls = 0;
  last_done = 0;
  cancel_after = 1; /* cancel at the start */
  assert_int_equal(vmctr__layer_apply(s->root_fd, s->layer, &o), VMCTR_ECANCELED);
  assert_int_equal(vmctr_error_last()->code, VMCTR_ECANCELED);
}

static void test_not_a_layer(void **state) {
  sandbox *s = *state;
  FILE *f = fopen(s->layer, "w");
  fputs("\xfd" "7zXZ", f);
  fputc(0, f);
  fclose(f);
  assert_int_equal(vmctr__layer_apply(s->root_fd, s->layer, NULL), VMCTR_EUNSUPPORTED);
  assert_non_null(strstr(vmctr_error_last()->message, "xz"));
  f = fopen(s->layer, "w");
  fputs("this is not a tar archive at all, just some text that goes on and on", f);
  fclose(f);
  assert_int_equal(vmctr__layer_apply(s->root_fd, s->layer, NULL), VMCTR_EPARSE);
  assert_int_equal(vmctr__layer_apply(s->root_fd, "/nonexistent/layer", NULL), VMCTR_ENOENT);
  assert_int_equal(vmctr__layer_apply(-1, s->layer, NULL), VMCTR_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_basic_gzip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_basic_tar, setup, teardown),
    cmocka_unit_test_setup_teardown(test_basic_zstd, setup, teardown),
    cmocka_unit_test_setup_teardown(test_basic_walk, setup, teardown),
    cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
    cmocka_unit_test_setup_teardown(test_opaque_tree, setup, teardown),
    cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
    cmocka_unit_test_setup_teardown(test_symlink_inside, setup, teardown),
    cmocka_unit_test_setup_teardown(test_owner_modes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
    cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
    cmocka_unit_test_setup_teardown(test_not_a_layer, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
