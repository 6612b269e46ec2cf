/* SPDX-License-Identifier: MIT */
/* The image store against hostile images and a hostile local disk: a sparse
 * file declaring a terabyte, a gzip bomb, too many entries, a FIFO or device
 * node as /etc/passwd, a store directory others can write, and the debris a
 * crashed process leaves. Each is refused with a clear error (or handled
 * without harm), and the store is checked after. See doc/security-images.md. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/container-priv.h"
#include "core/util.h"
#include "image/oci/oci.h"
#include "layout-util.h"
#include "testutil.h"
#include "vmctr.h"

typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
  char store[128], layout[128], raw[128];
} fixture;

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-image-hostile");
  if (!f)
    return -1;
  snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
  snprintf(f->layout, sizeof(f->layout), "%s/layout", f->dir);
  snprintf(f->raw, sizeof(f->raw), "%s/layer.tar", f->dir);
  *state = f;
  return 0;
}

static const char *const cmd[] = {"/bin/sh", NULL};
static const char *const env[] = {"PATH=/bin", NULL};

/* Entries of dir whose names start with prefix. */
static int count_prefix(const char *dir, const char *prefix) {
  char c[1400];
  snprintf(c, sizeof(c), "ls -A '%s' 2>/dev/null | grep -c '^%s' > '%s.count'", dir, prefix, dir);
  (void)system(c);
  snprintf(c, sizeof(c), "%s.count", dir);
  char *t = tl_read(c);
  int n = t ? atoi(t) : -1;
  free(t);
  unlink(c);
  return n;
}

/* After a refused import: no snapshot, no staging, no blob temp file. */
static void assert_nothing_left(const fixture *f) {
  char p[512];
  snprintf(p, sizeof(p), "%s/snapshots", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  assert_int_equal(tu_count_entries(p), 0);
  snprintf(p, sizeof(p), "%s/blobs", f->store);
  assert_int_equal(count_prefix(p, "\\.tmp-"), 0);
}

static void expect_msg(const char *want) {
  const char *m = vmctr_error_last()->message;
  if (!strstr(m, want))
    fail_msg("message \"%s\" does not say \"%s\"", m, want);
}

static int import_raw(fixture *f, const vmctr_image_import_options *io, vmctr_image **img) {
  vmctr_image_store *s = NULL;
  int r;
  assert_int_equal(tl_write_layout_tar(f->layout, f->raw, cmd, env, vmctr__oci_host_arch()), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  r = vmctr_image_store_import(s, f->layout, io, img);
  vmctr_image_store_free(s);
  return r;
}

/* A 10 KiB tar (GNU tar --sparse, PAX sparse 1.0) declaring a 1 TiB file:
 * applied sparsely (holes stay holes), charged at its real data, and the
 * ext4 image and writable copy are sized from real blocks, not 1 TiB. */
static void test_sparse_bomb(void **state) {
  fixture *f = *state;
  vmctr_image *img = NULL;
  struct stat st;
  char *ext4 = NULL, p[512];
  tu_sh("cd '%s' && mkdir -p src && printf data > src/big && truncate -s 1T src/big && "
        "printf tail | dd of=src/big bs=1 seek=1099511627000 conv=notrunc status=none && "
        "tar --sparse --posix -C src -cf '%s' big", f->dir, f->raw);
  assert_int_equal(stat(f->raw, &st), 0);
  assert_true(st.st_size < 64 * 1024);
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  io.max_bytes = 1024 * 1024; /* the real data fits; the declared size would not */
  assert_int_equal(import_raw(f, &io, &img), 0);
  snprintf(p, sizeof(p), "%s/big", vmctr_image_rootfs(img));
  assert_int_equal(stat(p, &st), 0);
  assert_true((uint64_t)st.st_size == 1ull << 40);
  assert_true((uint64_t)st.st_blocks * 512 < 1024 * 1024);
  char head[4], tail[4];
  int fd = open(p, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, head, 4, 0), 4);
  assert_int_equal(pread(fd, tail, 4, 1099511627000), 4);
  close(fd);
  assert_memory_equal(head, "data", 4);
  assert_memory_equal(tail, "tail", 4);

  char *mke2fs = vmctr__find_executable("mke2fs");
  if (!mke2fs)
    mke2fs = vmctr__find_executable("/sbin/mke2fs");
  if (mke2fs) {
    assert_int_equal(vmctr_image_ext4(img, NULL, &ext4), 0);
    assert_int_equal(stat(ext4, &st), 0);
    if ((uint64_t)st.st_size > 512ull << 20)
      fail_msg("ext4 image is %llu bytes: sized from the declared 1 TiB", (unsigned long long)st.st_size);
    snprintf(p, sizeof(p), "%s/disk.img", f->dir);
    vmctr_image_writable_options wo = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
    wo.flags = VMCTR_IMAGE_WRITABLE_NO_REFLINK;
    wo.size = 1; /* the image's own size, not the default root disk's */
    assert_int_equal(vmctr_image_create_writable(img, p, &wo, NULL), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_true((uint64_t)st.st_size <= 512ull << 20);
    vmctr_free(ext4);
    free(mke2fs);
  }
  vmctr_image_free(img);
}

/* A few hundred KiB of gzip that expands to 64 MiB, over a 16 MiB limit. */
static void test_gzip_bomb(void **state) {
  fixture *f = *state;
  vmctr_image *img = NULL;
  tu_sh("cd '%s' && mkdir -p src && head -c 64M /dev/zero > src/zeros && "
        "tar -C src -cf '%s' zeros && rm src/zeros", f->dir, f->raw);
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  io.max_bytes = 16u << 20;
  assert_int_equal(import_raw(f, &io, &img), VMCTR_ETOOBIG);
  assert_null(img);
  expect_msg("more than 16 MiB of file data");
  expect_msg("max_bytes");
  expect_msg("layer 1/1");
  assert_nothing_left(f);
  /* The default (64 GiB) takes it. */
  assert_int_equal(import_raw(f, NULL, &img), 0);
  vmctr_image_free(img);
}

static void test_entry_limit(void **state) {
  fixture *f = *state;
  vmctr_image *img = NULL;
  tu_sh("cd '%s' && mkdir -p src/d && for i in 1 2 3 4 5 6 7 8 9 10; do : > src/d/$i; done && "
        "tar -C src -cf '%s' d", f->dir, f->raw);
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  io.max_entries = 5;
  assert_int_equal(import_raw(f, &io, &img), VMCTR_ETOOBIG);
  assert_null(img);
  expect_msg("more than 5 entries");
  expect_msg("max_entries");
  assert_nothing_left(f);
  io.max_entries = 11;
  assert_int_equal(import_raw(f, &io, &img), 0);
  vmctr_image_free(img);
  /* A version-1 caller (no limit fields) gets the defaults. */
  vmctr_image_import_options v1;
  assert_int_equal(vmctr_image_import_options_init(&v1, 1), 0);
  assert_int_equal(import_raw(f, &v1, &img), 0);
  vmctr_image_free(img);
}

static jmp_buf hung;
static void on_alarm(int sig) {
  (void)sig;
  longjmp(hung, 1);
}

/* Resolve a user name in an image whose etc/passwd is `type` ('p' FIFO,
 * 'c' device): refused at once, never a blocking open. */
static void user_refused(fixture *f, char type) {
  static const tl_entry fifo[] = {{'d', "etc", 0755, NULL}, {'p', "etc/passwd", 0644, NULL}};
  static const tl_entry dev[] = {{'d', "etc", 0755, NULL}, {'c', "etc/passwd", 0644, "1:3"}};
  const tl_layer l[] = {{type == 'p' ? fifo : dev, 2, 0}};
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  uint32_t uid = 0, gid = 0, *gids = NULL;
  size_t ngids = 0;
  struct stat st;
  char p[512];
  assert_int_equal(tl_write_layout(f->layout, l, 1, cmd, env, vmctr__oci_host_arch()), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  assert_int_equal(vmctr_image_store_import(s, f->layout, NULL, &img), 0);
  snprintf(p, sizeof(p), "%s/etc/passwd", vmctr_image_rootfs(img));
  assert_int_equal(lstat(p, &st), 0);
  assert_true(type == 'p' ? S_ISFIFO(st.st_mode) : S_ISCHR(st.st_mode));
  signal(SIGALRM, on_alarm);
  if (setjmp(hung))
    fail_msg("resolving a user blocked on a %s /etc/passwd", type == 'p' ? "FIFO" : "device");
  alarm(10);
  int r = vmctr__resolve_user(vmctr_image_rootfs(img), "daemon", &uid, &gid, &gids, &ngids);
  alarm(0);
  assert_int_equal(r, VMCTR_EINVAL);
  expect_msg("not a regular file");
  free(gids);
  vmctr_image_free(img);
  vmctr_image_store_free(s);
}

static void test_fifo_passwd(void **state) { user_refused(*state, 'p'); }

static void test_device_passwd(void **state) {
  if (geteuid() != 0)
    skip(); /* without root the layer's device node is skipped, not created */
  user_refused(*state, 'c');
}

/* A FIFO where the layout has a blob, or as its index.json: refused, no hang. */
static void test_fifo_in_layout(void **state) {
  fixture *f = *state;
  static const tl_entry e[] = {{'f', "x", 0644, "x"}};
  const tl_layer l[] = {{e, 1, 0}};
  vmctr_image_store *s = NULL;
  vmctr_image *img = NULL;
  char p[512];
  assert_int_equal(tl_write_layout(f->layout, l, 1, cmd, env, vmctr__oci_host_arch()), 0);
  snprintf(p, sizeof(p), "%s/index.json", f->layout);
  unlink(p);
  assert_int_equal(mkfifo(p, 0644), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  signal(SIGALRM, on_alarm);
  if (setjmp(hung))
    fail_msg("import blocked on a FIFO index.json");
  alarm(10);
  int r = vmctr_image_store_import(s, f->layout, NULL, &img);
  alarm(0);
  assert_true(r < 0);
  expect_msg("not a regular file");
  assert_nothing_left(f);
  vmctr_image_store_free(s);
}

static void test_store_perms(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  char p[512];
  assert_int_equal(mkdir(f->store, 0700), 0);
  assert_int_equal(chmod(f->store, 0777), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), VMCTR_EPERM);
  assert_null(s);
  expect_msg("group- or world-writable");
  assert_int_equal(tu_count_entries(f->store), 0);
  assert_int_equal(chmod(f->store, 0700), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  vmctr_image_store_free(s);
  /* A subdirectory opened to everyone, or a symlink in its place. */
  snprintf(p, sizeof(p), "%s/blobs/sha256", f->store);
  assert_int_equal(chmod(p, 0777), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), VMCTR_EPERM);
  expect_msg("blobs/sha256");
  assert_int_equal(chmod(p, 0700), 0);
  snprintf(p, sizeof(p), "%s/tmp", f->store);
  tu_rm_rf(p);
  assert_int_equal(symlink("/tmp", p), 0);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), VMCTR_EPERM);
  expect_msg("not a directory");
  unlink(p);
  if (geteuid() == 0) {
    assert_int_equal(chown(f->store, 4242, 4242), 0);
    assert_int_equal(vmctr_image_store_open(&s, f->store, 0), VMCTR_EPERM);
    expect_msg("owned by another user");
    assert_int_equal(chown(f->store, 0, 0), 0);
  }
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  vmctr_image_store_free(s);
}

/* A child that flocks paths (NULL-terminated) and waits to be killed. */
static pid_t hold_locks(const char *const *paths) {
  int pfd[2];
  char c;
  assert_int_equal(pipe(pfd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    for (size_t i = 0; paths[i]; i++) {
      int fd = open(paths[i], O_RDONLY | O_NONBLOCK);
      if (fd < 0 || flock(fd, LOCK_EX) < 0)
        _exit(1);
    }
    if (write(pfd[1], "x", 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(pfd[1]);
  assert_int_equal(read(pfd[0], &c, 1), 1);
  close(pfd[0]);
  return pid;
}

/* What crashed processes leave, and what live ones hold: the next open
 * sweeps exactly the dead debris. */
static void test_debris_sweep(void **state) {
  fixture *f = *state;
  vmctr_image_store *s = NULL;
  char blob_dead[256], blob_live[256], stg_dead[256], stg_live[256], lock_dead[256],
      lock_live[256], lock_kept[256], snap[256];
  const char *hexa = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const char *hexb = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const char *hexc = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  vmctr_image_store_free(s);
  snprintf(blob_dead, sizeof(blob_dead), "%s/blobs/.tmp-00000000dead0001", f->store);
  snprintf(blob_live, sizeof(blob_live), "%s/blobs/.tmp-00000000bee00002", f->store);
  snprintf(stg_dead, sizeof(stg_dead), "%s/tmp/import-1-dead", f->store);
  snprintf(stg_live, sizeof(stg_live), "%s/tmp/import-2-live", f->store);
  snprintf(lock_dead, sizeof(lock_dead), "%s/locks/%s.use", f->store, hexa);
  snprintf(lock_live, sizeof(lock_live), "%s/locks/%s.import", f->store, hexb);
  snprintf(lock_kept, sizeof(lock_kept), "%s/locks/%s.use", f->store, hexc);
  snprintf(snap, sizeof(snap), "%s/snapshots/%s", f->store, hexc);
  tu_sh("cd '%s' && printf torn > '%s' && printf busy > '%s' && mkdir -p '%s/rootfs' '%s/rootfs' "
        "'%s' && : > '%s' && : > '%s' && : > '%s'", f->store, blob_dead, blob_live, stg_dead,
        stg_live, snap, lock_dead, lock_live, lock_kept);
  const char *const held[] = {blob_live, stg_live, lock_live, NULL};
  pid_t pid = hold_locks(held);

  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  vmctr_image_store_free(s);
  assert_int_equal(access(blob_dead, F_OK), -1);
  assert_int_equal(access(stg_dead, F_OK), -1);
  assert_int_equal(access(lock_dead, F_OK), -1);
  assert_int_equal(access(blob_live, F_OK), 0);
  assert_int_equal(access(stg_live, F_OK), 0);
  assert_int_equal(access(lock_live, F_OK), 0);
  assert_int_equal(access(lock_kept, F_OK), 0); /* its snapshot exists */

  /* While another process holds the store lock (an import running), nothing is swept. */
  char store_lock[256];
  snprintf(store_lock, sizeof(store_lock), "%s/locks/store.lock", f->store);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  const char *const busy[] = {store_lock, NULL};
  pid = hold_locks(busy);
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  vmctr_image_store_free(s);
  assert_int_equal(access(blob_live, F_OK), 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);

  /* Its owner dead, the rest goes. */
  assert_int_equal(vmctr_image_store_open(&s, f->store, 0), 0);
  vmctr_image_store_free(s);
  assert_int_equal(access(blob_live, F_OK), -1);
  assert_int_equal(access(stg_live, F_OK), -1);
  assert_int_equal(access(lock_live, F_OK), -1);
  assert_int_equal(access(lock_kept, F_OK), 0);
  assert_int_equal(access(store_lock, F_OK), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_sparse_bomb, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_gzip_bomb, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_entry_limit, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_fifo_passwd, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_device_passwd, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_fifo_in_layout, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_store_perms, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_debris_sweep, setup, tu_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
