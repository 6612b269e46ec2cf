/* SPDX-License-Identifier: MIT */
/* Unit tests of the mount object (lib/mount): constructors, setters and
 * getters, and validation. JSON and the spec syntax are in test-mount-json.c,
 * the translations in test-mount-qemu.c. */
#include <fcntl.h>
#include <stdbool.h>
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

#include "testutil.h"
#include "vmctr.h"

/* A scratch directory with an image file "disk.img" and a directory "dir". */
typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
  char img[96];
  char sub[96];
} fixture;

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-mount");
  int fd;
  if (!f)
    return -1;
  snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
  snprintf(f->sub, sizeof(f->sub), "%s/dir", f->dir);
  if ((fd = open(f->img, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) < 0 || ftruncate(fd, 1 << 20) < 0)
    return -1;
  close(fd);
  if (mkdir(f->sub, 0755) < 0)
    return -1;
  *state = f;
  return 0;
}

static void test_block_defaults(void **state) {
  fixture *f = *state;
  vmctr_mount *m = NULL;
  assert_int_equal(vmctr_mount_new_block(&m, f->img, "/data"), 0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_BLOCK);
  assert_string_equal(vmctr_mount_source(m), f->img);
  assert_string_equal(vmctr_mount_destination(m), "/data");
  assert_int_equal(vmctr_mount_read_only(m), 0);
  assert_null(vmctr_mount_options(m));
  assert_int_equal(vmctr_mount_format(m), VMCTR_MOUNT_FORMAT_EXT4);
  /* The documented default: cached + fsync (apple/container#614). */
  assert_int_equal(vmctr_mount_caching(m), VMCTR_MOUNT_CACHING_CACHED);
  assert_int_equal(vmctr_mount_sync(m), VMCTR_MOUNT_SYNC_FSYNC);
  assert_int_equal(VMCTR_MOUNT_DEFAULT_CACHING, VMCTR_MOUNT_CACHING_CACHED);
  assert_int_equal(VMCTR_MOUNT_DEFAULT_SYNC, VMCTR_MOUNT_SYNC_FSYNC);
  assert_string_equal(vmctr_mount_type(m), "ext4");
  /* Other kinds' getters answer 0/NULL. */
  assert_null(vmctr_mount_tag(m));
  assert_int_equal(vmctr_mount_share_cache(m), 0);
  assert_int_equal(vmctr_mount_tmpfs_mode(m), 0);
  assert_int_equal(vmctr_mount_tmpfs_size(m), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);
}

static void test_block_setters(void **state) {
  fixture *f = *state;
  vmctr_mount *m = NULL;
  assert_int_equal(vmctr_mount_new_block(&m, f->img, "/data"), 0);
  for (uint32_t c = VMCTR_MOUNT_CACHING_AUTO; c <= VMCTR_MOUNT_CACHING_UNCACHED; c++) {
    assert_int_equal(vmctr_mount_set_caching(m, c), 0);
    assert_int_equal(vmctr_mount_caching(m), c);
  }
  for (uint32_t s = VMCTR_MOUNT_SYNC_FULL; s <= VMCTR_MOUNT_SYNC_NONE; s++) {
    assert_int_equal(vmctr_mount_set_sync(m, s), 0);
    assert_int_equal(vmctr_mount_sync(m), s);
  }
  assert_fails_with(vmctr_mount_set_caching(m, 0), VMCTR_EINVAL, "unknown caching mode 0");
  assert_fails_with(vmctr_mount_set_caching(m, 4), VMCTR_EINVAL, "unknown caching mode 4");
  assert_fails_with(vmctr_mount_set_sync(m, 9), VMCTR_EINVAL, "unknown sync mode 9");
  assert_int_equal(vmctr_mount_sync(m), VMCTR_MOUNT_SYNC_NONE); /* unchanged */
  assert_int_equal(vmctr_mount_ephemeral(m), 0); /* the default */
  assert_int_equal(vmctr_mount_set_ephemeral(m, 1), 0);
  assert_int_equal(vmctr_mount_ephemeral(m), 1);
  assert_fails_with(vmctr_mount_set_ephemeral(m, 2), VMCTR_EINVAL, "neither 0 nor 1");
  assert_int_equal(vmctr_mount_ephemeral(m), 1); /* unchanged */
  assert_int_equal(vmctr_mount_set_ephemeral(m, 0), 0);
  assert_int_equal(vmctr_mount_ephemeral(m), 0);
  assert_int_equal(vmctr_mount_ephemeral(NULL), 0);
  assert_int_equal(vmctr_mount_set_format(m, VMCTR_MOUNT_FORMAT_EXT4), 0);
  assert_fails_with(vmctr_mount_set_format(m, 2), VMCTR_EINVAL, "unknown format 2");
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_mount_read_only(m), 1);
  assert_fails_with(vmctr_mount_set_read_only(m, 2), VMCTR_EINVAL, "2 is not 0 or 1");
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nodev,noexec,data=journal"), 0);
  assert_string_equal(vmctr_mount_options(m), "nosuid,nodev,noexec,data=journal");
  assert_int_equal(vmctr_mount_set_options(m, ""), 0);
  assert_null(vmctr_mount_options(m));
  assert_int_equal(vmctr_mount_set_source(m, "/other.img"), 0);
  assert_string_equal(vmctr_mount_source(m), "/other.img");
  assert_int_equal(vmctr_mount_set_destination(m, "/var/lib/db"), 0);
  assert_string_equal(vmctr_mount_destination(m), "/var/lib/db");
  /* Setters of other kinds refuse, naming both kinds. */
  assert_fails_with(vmctr_mount_set_tag(m, "x"), VMCTR_EINVAL,
                    "applies to share mounts only, and this is a block mount");
  assert_fails_with(vmctr_mount_set_share_cache(m, 1), VMCTR_EINVAL, "share mounts only");
  assert_fails_with(vmctr_mount_set_tmpfs_size(m, 1), VMCTR_EINVAL, "tmpfs mounts only");
  assert_fails_with(vmctr_mount_set_tmpfs_mode(m, 0700), VMCTR_EINVAL, "tmpfs mounts only");
  assert_fails_with(vmctr_mount_set_type(m, "proc"), VMCTR_EINVAL, "any mounts only");
  vmctr_mount_free(m);
}

static void test_share(void **state) {
  fixture *f = *state;
  vmctr_mount *m = NULL;
  char tag37[38];
  assert_int_equal(vmctr_mount_new_share(&m, f->sub, "/srv"), 0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_SHARE);
  assert_null(vmctr_mount_tag(m));
  assert_int_equal(vmctr_mount_share_cache(m), VMCTR_MOUNT_SHARE_CACHE_AUTO);
  assert_string_equal(vmctr_mount_type(m), "virtiofs");
  assert_int_equal(vmctr_mount_caching(m), 0);
  assert_int_equal(vmctr_mount_format(m), 0);
  for (uint32_t c = VMCTR_MOUNT_SHARE_CACHE_AUTO; c <= VMCTR_MOUNT_SHARE_CACHE_NEVER; c++) {
    assert_int_equal(vmctr_mount_set_share_cache(m, c), 0);
    assert_int_equal(vmctr_mount_share_cache(m), c);
  }
  assert_fails_with(vmctr_mount_set_share_cache(m, 4), VMCTR_EINVAL, "unknown cache mode 4");
  assert_int_equal(vmctr_mount_set_tag(m, "web-root_1.x"), 0);
  assert_string_equal(vmctr_mount_tag(m), "web-root_1.x");
  memset(tag37, 'a', 37);
  tag37[37] = '\0';
  assert_fails_with(vmctr_mount_set_tag(m, tag37), VMCTR_EINVAL,
                    "is 37 bytes long; a virtiofs tag has 1 to 36 bytes");
  tag37[36] = '\0';
  assert_int_equal(vmctr_mount_set_tag(m, tag37), 0); /* exactly 36 */
  assert_fails_with(vmctr_mount_set_tag(m, ""), VMCTR_EINVAL, "is 0 bytes long");
  assert_fails_with(vmctr_mount_set_tag(m, "a b"), VMCTR_EINVAL,
                    "may hold only letters, digits");
  assert_fails_with(vmctr_mount_set_tag(m, "vmctr-fs0"), VMCTR_EINVAL, "reserved");
  assert_string_equal(vmctr_mount_tag(m), tag37);
  assert_int_equal(vmctr_mount_set_tag(m, NULL), 0);
  assert_null(vmctr_mount_tag(m));
  assert_fails_with(vmctr_mount_set_caching(m, 1), VMCTR_EINVAL, "block mounts only");
  assert_fails_with(vmctr_mount_set_sync(m, 1), VMCTR_EINVAL, "block mounts only");
  assert_fails_with(vmctr_mount_set_ephemeral(m, 1), VMCTR_EINVAL, "block mounts only");
  assert_int_equal(vmctr_mount_ephemeral(m), 0);
  assert_fails_with(vmctr_mount_set_format(m, 1), VMCTR_EINVAL, "block mounts only");
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);
}

static void test_tmpfs_and_any(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/tmp"), 0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_TMPFS);
  assert_null(vmctr_mount_source(m));
  assert_int_equal(vmctr_mount_tmpfs_size(m), 0);
  assert_int_equal(vmctr_mount_tmpfs_mode(m), 01777);
  assert_string_equal(vmctr_mount_type(m), "tmpfs");
  assert_int_equal(vmctr_mount_set_tmpfs_size(m, 64ull << 20), 0);
  assert_int_equal(vmctr_mount_tmpfs_size(m), 64ull << 20);
  assert_int_equal(vmctr_mount_set_tmpfs_mode(m, 0700), 0);
  assert_int_equal(vmctr_mount_tmpfs_mode(m), 0700);
  assert_fails_with(vmctr_mount_set_tmpfs_mode(m, 010000), VMCTR_EINVAL, "beyond 07777");
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_any(&m, "proc", NULL, "/proc"), 0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_ANY);
  assert_string_equal(vmctr_mount_source(m), "none");
  assert_string_equal(vmctr_mount_type(m), "proc");
  assert_int_equal(vmctr_mount_set_type(m, "sysfs"), 0);
  assert_string_equal(vmctr_mount_type(m), "sysfs");
  assert_fails_with(vmctr_mount_set_type(m, "a/b"), VMCTR_EINVAL, "may hold only letters");
  assert_fails_with(vmctr_mount_set_type(m, ""), VMCTR_EINVAL, "must be 1 to 63 bytes");
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);
  assert_fails_with(vmctr_mount_new_any(&m, NULL, "x", "/x"), VMCTR_EINVAL,
                    "filesystem type is NULL");
  assert_fails_with(vmctr_mount_new_any(&m, "proc", "", "/x"), VMCTR_EINVAL,
                    "the source is empty");
}

static void test_constructor_errors(void **state) {
  fixture *f = *state;
  vmctr_mount *m = (vmctr_mount *)0x1;
  assert_fails_with(vmctr_mount_new_block(NULL, f->img, "/d"), VMCTR_EINVAL, "out is NULL");
  assert_fails_with(vmctr_mount_new_block(&m, NULL, "/d"), VMCTR_EINVAL, "host path is NULL");
  assert_fails_with(vmctr_mount_new_share(&m, "", "/d"), VMCTR_EINVAL, "host path is empty");
  /* A block or share mount without a destination is a root filesystem; no other kind may be. */
  assert_int_equal(vmctr_mount_new_block(&m, f->img, NULL), 0);
  assert_null(vmctr_mount_destination(m));
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);
  m = (vmctr_mount *)0x1;
  assert_fails_with(vmctr_mount_new_tmpfs(&m, NULL), VMCTR_EINVAL, "destination is NULL");
  assert_fails_with(vmctr_mount_new_block(&m, f->img, "data"), VMCTR_EINVAL,
                    "destination \"data\" is relative");
  assert_fails_with(vmctr_mount_new_tmpfs(&m, "/"), VMCTR_EINVAL,
                    "would hide the container's root filesystem");
  assert_fails_with(vmctr_mount_new_tmpfs(&m, "/a/../etc"), VMCTR_EINVAL,
                    "has a \"..\" component");
  assert_fails_with(vmctr_mount_new_tmpfs(&m, "/a/./b"), VMCTR_EINVAL,
                    "has a \".\" component");
  assert_fails_with(vmctr_mount_new_tmpfs(&m, "/a//b"), VMCTR_EINVAL, "is not normalized");
  assert_fails_with(vmctr_mount_new_tmpfs(&m, "/a/"), VMCTR_EINVAL, "is not normalized");
  assert_fails_with(vmctr_mount_new_tmpfs(&m, "/a\nb"), VMCTR_EINVAL, "control character");
  assert_ptr_equal(m, (vmctr_mount *)0x1); /* untouched on failure */
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/a/..b/c.."), 0); /* names, not components */
  assert_fails_with(vmctr_mount_set_destination(m, "rel"), VMCTR_EINVAL, "relative");
  assert_string_equal(vmctr_mount_destination(m), "/a/..b/c..");
  assert_fails_with(vmctr_mount_set_source(m, ""), VMCTR_EINVAL, "the source is empty");
  assert_fails_with(vmctr_mount_set_options(m, "nosuid,,nodev"), VMCTR_EINVAL,
                    "have an empty element");
  assert_fails_with(vmctr_mount_set_options(m, "a b"), VMCTR_EINVAL, "holds a blank");
  assert_fails_with(vmctr_mount_set_options(m, "x=\"y\""), VMCTR_EINVAL, "quote");
  assert_fails_with(vmctr_mount_set_options(m, "nosuid,ro"), VMCTR_EINVAL,
                    "option \"ro\" is not an extra option");
  assert_fails_with(vmctr_mount_set_options(m, "rw"), VMCTR_EINVAL, "vmctr_mount_set_read_only");
  assert_int_equal(vmctr_mount_set_options(m, "rows=1,roo"), 0); /* only the exact words */
  vmctr_mount_free(m);
  /* NULL objects */
  vmctr_mount_free(NULL);
  assert_int_equal(vmctr_mount_kind(NULL), 0);
  assert_null(vmctr_mount_source(NULL));
  assert_null(vmctr_mount_destination(NULL));
  assert_null(vmctr_mount_type(NULL));
  assert_int_equal(vmctr_mount_read_only(NULL), 0);
  assert_fails_with(vmctr_mount_set_read_only(NULL, 1), VMCTR_EINVAL, "m is NULL");
  assert_fails_with(vmctr_mount_set_caching(NULL, 1), VMCTR_EINVAL, "m is NULL");
  assert_fails_with(vmctr_mount_validate(NULL), VMCTR_EINVAL, "m is NULL");
  assert_fails_with(vmctr_mount_clone(&m, NULL), VMCTR_EINVAL, "m is NULL");
}

static void test_clone(void **state) {
  fixture *f = *state;
  vmctr_mount *m = NULL, *c = NULL;
  assert_int_equal(vmctr_mount_new_share(&m, f->sub, "/srv"), 0);
  assert_int_equal(vmctr_mount_set_tag(m, "www"), 0);
  assert_int_equal(vmctr_mount_set_options(m, "noexec"), 0);
  assert_int_equal(vmctr_mount_set_share_cache(m, VMCTR_MOUNT_SHARE_CACHE_NEVER), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_mount_clone(&c, m), 0);
  vmctr_mount_free(m); /* the clone owns its own strings */
  assert_int_equal(vmctr_mount_kind(c), VMCTR_MOUNT_SHARE);
  assert_string_equal(vmctr_mount_source(c), f->sub);
  assert_string_equal(vmctr_mount_destination(c), "/srv");
  assert_string_equal(vmctr_mount_tag(c), "www");
  assert_string_equal(vmctr_mount_options(c), "noexec");
  assert_int_equal(vmctr_mount_share_cache(c), VMCTR_MOUNT_SHARE_CACHE_NEVER);
  assert_int_equal(vmctr_mount_read_only(c), 1);
  vmctr_mount_free(c);
}

/* ---- validation: one case per rule, each with its message ---- */

static void test_validate_block(void **state) {
  fixture *f = *state;
  vmctr_mount *m = NULL;
  char missing[128];
  snprintf(missing, sizeof(missing), "%s/nope.img", f->dir);

  assert_int_equal(vmctr_mount_new_block(&m, missing, "/data"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_ENOENT, "does not exist; create the image");
  assert_int_equal(vmctr_mount_set_source(m, f->sub), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "is a directory, not a disk image file or block device; share directories");
  assert_int_equal(vmctr_mount_set_source(m, "/dev/null"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL, "is a special file");
  assert_int_equal(vmctr_mount_set_source(m, "disk.img"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "source \"disk.img\" is relative; give an absolute host path");
  assert_int_equal(vmctr_mount_set_source(m, NULL), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL, "a block mount needs a source");
  assert_int_equal(vmctr_mount_set_source(m, f->img), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  /* The message names the mount. */
  assert_int_equal(vmctr_mount_set_caching(m, VMCTR_MOUNT_CACHING_UNCACHED), 0);
  assert_int_equal(vmctr_mount_set_sync(m, VMCTR_MOUNT_SYNC_NONE), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "mount at /data: caching \"uncached\" with sync \"none\" contradicts itself");
  /* Read-only: nothing is written, so nothing contradicts. */
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  if (vmctr_mount_validate(m) < 0) /* only /tmp without O_DIRECT (tmpfs) may refuse */
    assert_non_null(strstr(vmctr_error_last()->message, "O_DIRECT"));
  assert_int_equal(vmctr_mount_set_caching(m, VMCTR_MOUNT_CACHING_CACHED), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  /* Every other combination of modes is accepted. */
  assert_int_equal(vmctr_mount_set_read_only(m, 0), 0);
  for (uint32_t c = 1; c <= 3; c++)
    for (uint32_t s = 1; s <= 3; s++) {
      assert_int_equal(vmctr_mount_set_caching(m, c), 0);
      assert_int_equal(vmctr_mount_set_sync(m, s), 0);
      int r = vmctr_mount_validate(m);
      if (c == VMCTR_MOUNT_CACHING_UNCACHED && s == VMCTR_MOUNT_SYNC_NONE)
        assert_int_equal(r, VMCTR_EINVAL);
      else if (r < 0) /* uncached on a filesystem without O_DIRECT */
        assert_non_null(strstr(vmctr_error_last()->message, "without O_DIRECT"));
    }
  vmctr_mount_free(m);
}

/* An uncached image on a filesystem without O_DIRECT (tmpfs before Linux
 * 6.6) is refused up front; where /dev/shm has O_DIRECT it is accepted. */
static void test_validate_odirect(void **state) {
  vmctr_mount *m = NULL;
  char path[] = "/dev/shm/vmctr-test-mount-XXXXXX";
  int fd = mkstemp(path);
  bool has_direct;
  (void)state;
  assert_true(fd >= 0);
  close(fd);
  fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
  has_direct = fd >= 0;
  if (fd >= 0)
    close(fd);
  assert_int_equal(vmctr_mount_new_block(&m, path, "/d"), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  assert_int_equal(vmctr_mount_set_caching(m, VMCTR_MOUNT_CACHING_UNCACHED), 0);
  if (has_direct)
    assert_int_equal(vmctr_mount_validate(m), 0);
  else
    assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                      "on a filesystem without O_DIRECT, which caching \"uncached\" needs");
  vmctr_mount_free(m);
  unlink(path);
}

static void test_validate_share_tmpfs(void **state) {
  fixture *f = *state;
  vmctr_mount *m = NULL;
  char missing[128];
  snprintf(missing, sizeof(missing), "%s/nope", f->dir);

  assert_int_equal(vmctr_mount_new_share(&m, missing, "/srv"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_ENOENT, "does not exist; create the directory");
  /* A regular file is a file share; a FIFO is neither kind of source. */
  assert_int_equal(vmctr_mount_set_source(m, f->img), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  snprintf(missing, sizeof(missing), "%s/fifo", f->dir);
  assert_int_equal(mkfifo(missing, 0600), 0);
  assert_int_equal(vmctr_mount_set_source(m, missing), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "is neither a directory nor a regular file; a share exports a directory or "
                    "one regular file");
  unlink(missing);
  vmctr_mount_free(m);
  /* A root filesystem (no destination) is a directory, never a file. */
  assert_int_equal(vmctr_mount_new_share(&m, f->img, NULL), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "is a file, and a root filesystem is a directory");
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/run"), 0);
  assert_int_equal(vmctr_mount_set_source(m, "/x"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "a tmpfs has no source, and this one has \"/x\"; unset it");
  assert_int_equal(vmctr_mount_set_source(m, NULL), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL, "a read-only tmpfs is always empty");
  assert_int_equal(vmctr_mount_set_read_only(m, 0), 0);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,size=1m"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "give a tmpfs's size and mode with their own settings");
  assert_int_equal(vmctr_mount_set_options(m, "mode=700"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL, "size and mode");
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nr_inodes=100"), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);
}

/* A read-write image this process cannot write. Root may write anything, so
 * as root the check runs in a child that became nobody. */
static void unwritable_checks(const fixture *f) {
  vmctr_mount *m = NULL;
  assert_int_equal(vmctr_mount_new_block(&m, f->img, "/d"), 0);
  assert_fails_with(vmctr_mount_validate(m), VMCTR_EINVAL,
                    "cannot be read and written by this process; fix its permissions or mount "
                    "it read-only");
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);
}

static void test_validate_unwritable(void **state) {
  fixture *f = *state;
  int status;
  pid_t pid;
  assert_int_equal(chmod(f->dir, 0755), 0);
  assert_int_equal(chmod(f->img, 0444), 0);
  if (geteuid() != 0) {
    unwritable_checks(f);
  } else {
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
        _exit(2);
      unwritable_checks(f); /* a failed assertion ends the child non-zero */
      _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  assert_int_equal(chmod(f->img, 0644), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_block_defaults, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_block_setters, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_share, setup, tu_fixture_teardown),
    cmocka_unit_test(test_tmpfs_and_any),
    cmocka_unit_test_setup_teardown(test_constructor_errors, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_clone, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_validate_block, setup, tu_fixture_teardown),
    cmocka_unit_test(test_validate_odirect),
    cmocka_unit_test_setup_teardown(test_validate_share_tmpfs, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_validate_unwritable, setup, tu_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
