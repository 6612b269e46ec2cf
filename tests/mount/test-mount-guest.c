/* SPDX-License-Identifier: MIT */
/* Unit tests of the backend-neutral guest side of a mount
 * (lib/mount/mount-guest.c): the MS_* constants, the disk serial and share
 * tag names, and the mount(2) request the guest agent receives for every
 * kind. The QEMU half is tested in tests/vmm/test-qemu-mounts.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mount/mount.h"
#include "vmctr.h"

/* The request for m at index, with the four fields it must have. */
static void assert_request(const vmctr_mount *m, uint32_t index, const char *source,
                           const char *target, const char *fstype, uint64_t flags,
                           const char *data) {
  vmctr__mount_request req;
  assert_int_equal(vmctr__mount_guest_request(m, index, &req), 0);
  assert_string_equal(req.source, source);
  assert_string_equal(req.target, target);
  assert_string_equal(req.fstype, fstype);
  assert_int_equal(req.flags, flags);
  if (data)
    assert_string_equal(req.data, data);
  else
    assert_null(req.data);
  vmctr__mount_request_clear(&req);
  /* clear leaves it empty, so a second clear is harmless. */
  assert_null(req.source);
  assert_null(req.target);
  assert_null(req.fstype);
  assert_null(req.data);
  assert_int_equal(req.flags, 0);
  vmctr__mount_request_clear(&req);
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

static void test_names(void **state) {
  char buf[24];
  (void)state;
  vmctr__mount_serial(0, buf);
  assert_string_equal(buf, "vmctr-mnt0");
  vmctr__mount_serial(42, buf);
  assert_string_equal(buf, "vmctr-mnt42");
  /* The longest index still fits virtio-blk's 20-byte serial. */
  vmctr__mount_serial(VMCTR__MOUNT_INDEX_MAX, buf);
  assert_string_equal(buf, "vmctr-mnt999");
  assert_true(strlen(buf) <= 20);
  vmctr__mount_auto_tag(0, buf);
  assert_string_equal(buf, "vmctr-fs0");
  vmctr__mount_auto_tag(VMCTR__MOUNT_INDEX_MAX, buf);
  assert_string_equal(buf, "vmctr-fs999");
  assert_true(strlen(buf) <= VMCTR_MOUNT_TAG_MAX);
}

static void test_block(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  assert_int_equal(vmctr_mount_new_block(&m, "/img/a,b.ext4", "/data"), 0);
  /* The source names the disk by serial, never by host path. */
  assert_request(m, 3, "vmctr-blk:vmctr-mnt3", "/data", "ext4", 0, NULL);
  assert_request(m, VMCTR__MOUNT_INDEX_MAX, "vmctr-blk:vmctr-mnt999", "/data", "ext4", 0, NULL);
  /* Caching and sync are the host's business: the request does not change. */
  assert_int_equal(vmctr_mount_set_caching(m, VMCTR_MOUNT_CACHING_UNCACHED), 0);
  assert_int_equal(vmctr_mount_set_sync(m, VMCTR_MOUNT_SYNC_NONE), 0);
  assert_request(m, 3, "vmctr-blk:vmctr-mnt3", "/data", "ext4", 0, NULL);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_mount_set_options(m, "noatime,errors=remount-ro,nodev"), 0);
  assert_request(m, 0, "vmctr-blk:vmctr-mnt0", "/data", "ext4",
                 MS_RDONLY | MS_NOATIME | MS_NODEV, "errors=remount-ro");
  vmctr_mount_free(m);
}

static void test_share(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  assert_int_equal(vmctr_mount_new_share(&m, "/srv/a,b", "/srv"), 0);
  /* Untagged: the tag generated from the index, as the VM manager names the device. */
  assert_request(m, 2, "vmctr-fs2", "/srv", "virtiofs", 0, NULL);
  assert_request(m, 17, "vmctr-fs17", "/srv", "virtiofs", 0, NULL);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nodev,noexec"), 0);
  assert_int_equal(vmctr_mount_set_share_cache(m, VMCTR_MOUNT_SHARE_CACHE_NEVER), 0);
  assert_request(m, 2, "vmctr-fs2", "/srv", "virtiofs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  /* Tagged: the tag, whatever the index. */
  assert_int_equal(vmctr_mount_set_tag(m, "www"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_request(m, 5, "www", "/srv", "virtiofs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 NULL);
  vmctr_mount_free(m);
}

static void test_tmpfs(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  /* No size: the guest kernel's default; the mode always. */
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/run"), 0);
  assert_request(m, 0, "tmpfs", "/run", "tmpfs", 0, "mode=1777");
  assert_int_equal(vmctr_mount_set_tmpfs_mode(m, 0700), 0);
  assert_request(m, 0, "tmpfs", "/run", "tmpfs", 0, "mode=0700");
  vmctr_mount_free(m);

  /* Size and mode first, then the other data options in their order;
   * exec cancels the noexec before it. */
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/tmp"), 0);
  assert_int_equal(vmctr_mount_set_tmpfs_size(m, 1048576), 0);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nr_inodes=100,noexec,exec,huge=never"), 0);
  assert_request(m, 9, "tmpfs", "/tmp", "tmpfs", MS_NOSUID,
                 "size=1048576,mode=1777,nr_inodes=100,huge=never");
  vmctr_mount_free(m);
}

static void test_any(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  assert_int_equal(vmctr_mount_new_any(&m, "proc", "proc", "/proc"), 0);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,nodev,noexec,relatime,hidepid=2,defaults"),
                   0);
  assert_request(m, 7, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
                 "hidepid=2");
  vmctr_mount_free(m);

  /* No source: "none", as mount(8) writes it. */
  assert_int_equal(vmctr_mount_new_any(&m, "sysfs", NULL, "/sys"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_request(m, 0, "none", "/sys", "sysfs", MS_RDONLY, NULL);
  vmctr_mount_free(m);
}

/* Every flag option sets or clears its flag; the last one for a flag wins. */
static void test_option_flags(void **state) {
  static const struct {
    const char *options;
    uint64_t flags;
    const char *data;
  } cases[] = {
    {"nosuid", MS_NOSUID, NULL},
    {"nodev", MS_NODEV, NULL},
    {"noexec", MS_NOEXEC, NULL},
    {"sync", MS_SYNCHRONOUS, NULL},
    {"dirsync", MS_DIRSYNC, NULL},
    {"noatime", MS_NOATIME, NULL},
    {"nodiratime", MS_NODIRATIME, NULL},
    {"relatime", MS_RELATIME, NULL},
    {"strictatime", MS_STRICTATIME, NULL},
    {"lazytime", MS_LAZYTIME, NULL},
    {"defaults", 0, NULL},
    {"nosuid,suid", 0, NULL},
    {"suid,nosuid", MS_NOSUID, NULL},
    {"nodev,dev", 0, NULL},
    {"noexec,exec", 0, NULL},
    {"exec,noexec", MS_NOEXEC, NULL},
    {"sync,async", 0, NULL},
    {"noatime,atime", 0, NULL},
    {"nodiratime,diratime", 0, NULL},
    {"relatime,norelatime", 0, NULL},
    {"strictatime,nostrictatime", 0, NULL},
    {"lazytime,nolazytime", 0, NULL},
    /* Near misses of flag names are data, passed through as written. */
    {"nosuidx,xnodev,noexe", 0, "nosuidx,xnodev,noexe"},
    {"uid=0,nodev,gid=5,mode=620", MS_NODEV, "uid=0,gid=5,mode=620"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vmctr_mount *m = NULL;
    assert_int_equal(vmctr_mount_new_any(&m, "devpts", "devpts", "/dev/pts"), 0);
    assert_int_equal(vmctr_mount_set_options(m, cases[i].options), 0);
    assert_request(m, 1, "devpts", "/dev/pts", "devpts", cases[i].flags, cases[i].data);
    /* The options cannot undo read-only: that is set apart. */
    assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
    assert_request(m, 1, "devpts", "/dev/pts", "devpts", cases[i].flags | MS_RDONLY,
                   cases[i].data);
    vmctr_mount_free(m);
  }
}

static void test_errors(void **state) {
  vmctr_mount *m = NULL;
  vmctr__mount_request req, untouched;
  (void)state;
  memset(&untouched, 0xa5, sizeof(untouched));
  assert_int_equal(vmctr_mount_new_share(&m, "/srv", "/srv"), 0);

  req = untouched;
  assert_int_equal(vmctr__mount_guest_request(m, VMCTR__MOUNT_INDEX_MAX + 1, &req), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "index 1000 is past the limit of 1000"));
  assert_memory_equal(&req, &untouched, sizeof(req));
  assert_int_equal(vmctr__mount_guest_request(m, UINT32_MAX, &req), VMCTR_EINVAL);
  assert_memory_equal(&req, &untouched, sizeof(req));

  assert_int_equal(vmctr__mount_guest_request(NULL, 0, &req), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "NULL argument"));
  assert_memory_equal(&req, &untouched, sizeof(req));
  assert_int_equal(vmctr__mount_guest_request(m, 0, NULL), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "NULL argument"));

  /* The last index allowed works. */
  assert_request(m, VMCTR__MOUNT_INDEX_MAX, "vmctr-fs999", "/srv", "virtiofs", 0, NULL);
  vmctr_mount_free(m);
}

/* A share settled as a file (vmctr__mount_settle, on the library's copy)
 * asks the guest for the bind of its one entry; a directory share and an
 * unsettled one do not. Settling keeps its first answer. */
static void test_file_share_request(void **state) {
  char dir[] = "/tmp/vmctr-test-fshare-XXXXXX", file[64];
  vmctr_mount *m = NULL, *d = NULL, *c = NULL;
  vmctr__mount_request req;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(file, sizeof(file), "%s/hosts", dir);
  FILE *fp = fopen(file, "w");
  assert_non_null(fp);
  fclose(fp);

  assert_int_equal(vmctr_mount_new_share(&m, file, "/etc/hosts"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr__mount_share_is_file(m), 0);
  assert_int_equal(vmctr__mount_guest_request(m, 3, &req), 0);
  assert_null(req.file);
  vmctr__mount_request_clear(&req);
  assert_int_equal(vmctr__mount_settle(m), 0);
  assert_int_equal(vmctr__mount_share_is_file(m), 1);
  assert_int_equal(vmctr__mount_guest_request(m, 3, &req), 0);
  assert_string_equal(req.source, "vmctr-fs3");
  assert_string_equal(req.target, "/etc/hosts");
  assert_string_equal(req.fstype, "virtiofs");
  assert_int_equal(req.flags, VMCTR__MS_RDONLY);
  assert_string_equal(req.file, VMCTR__SHARE_FILE_NAME);
  vmctr__mount_request_clear(&req);
  assert_null(req.file);
  /* A clone keeps what was found. */
  assert_int_equal(vmctr_mount_clone(&c, m), 0);
  assert_int_equal(vmctr__mount_share_is_file(c), 1);
  vmctr_mount_free(c);

  /* The first answer stays, even if the source changes kind later. */
  assert_int_equal(unlink(file), 0);
  assert_int_equal(mkdir(file, 0755), 0);
  assert_int_equal(vmctr__mount_settle(m), 0);
  assert_int_equal(vmctr__mount_share_is_file(m), 1);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_share(&d, file, "/srv"), 0);
  assert_int_equal(vmctr__mount_settle(d), 0);
  assert_int_equal(vmctr__mount_share_is_file(d), 0);
  assert_int_equal(vmctr__mount_guest_request(d, 1, &req), 0);
  assert_null(req.file);
  vmctr__mount_request_clear(&req);
  vmctr_mount_free(d);

  /* A source that went away cannot be settled. */
  assert_int_equal(rmdir(file), 0);
  assert_int_equal(vmctr_mount_new_share(&d, file, "/srv"), 0);
  assert_int_equal(vmctr__mount_settle(d), VMCTR_ENOENT);
  vmctr_mount_free(d);
  /* Other kinds: nothing to settle. */
  assert_int_equal(vmctr_mount_new_tmpfs(&d, "/tmp"), 0);
  assert_int_equal(vmctr__mount_settle(d), 0);
  assert_int_equal(vmctr__mount_share_is_file(d), 0);
  vmctr_mount_free(d);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ms_constants), cmocka_unit_test(test_names),
    cmocka_unit_test(test_block),        cmocka_unit_test(test_share),
    cmocka_unit_test(test_tmpfs),        cmocka_unit_test(test_any),
    cmocka_unit_test(test_option_flags), cmocka_unit_test(test_errors),
    cmocka_unit_test(test_file_share_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
