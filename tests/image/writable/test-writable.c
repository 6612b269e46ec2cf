/* SPDX-License-Identifier: MIT */
/* Writable root disks: the copy-on-write form checked by qemu-img (a valid
 * qcow2 whose raw backing is the image's ext4 laid out at the disk's size,
 * reading exactly as it, made in constant size), the disk size rules, the
 * refusals, and the
 * block mount's image format (setter, validate, JSON, spec). No VM: the
 * boot tests are tests/container/test_rootfs_size.py. Each qemu-img check
 * skips when qemu-img is missing. */
#define _GNU_SOURCE
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
#include <unistd.h>

#include <cmocka.h>

#include "busybox-image.h"
#include "testutil.h"
#include "vmctr.h"

static char dir[64], layout[128];
static vmctr_image_store *store;
static vmctr_image *img;
static char *ext4; /* the image's ext4 form */

#define MIB (1024ull * 1024)

static int setup(void **state) {
  (void)state;
  if (tu_tmpdir(dir, sizeof(dir), "vmctr-writable") < 0)
    return -1;
  snprintf(layout, sizeof(layout), "%s/busybox", dir);
  if (tu_busybox_image(dir, layout) < 0 || vmctr_image_store_open(&store, dir, 0) < 0 ||
      vmctr_image_store_import(store, layout, NULL, &img) < 0 ||
      vmctr_image_ext4(img, NULL, &ext4) < 0) {
    fprintf(stderr, "# setup: %s\n", vmctr_error_last()->message);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  vmctr_free(ext4);
  vmctr_image_free(img);
  vmctr_image_store_free(store);
  return tu_rm_rf(dir);
}

static int have_qemu_img(void) { return system("command -v qemu-img >/dev/null 2>&1") == 0; }

/* The output of a shell command (at most size - 1 bytes), and its status. */
static int run_out(char *out, size_t size, const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  size_t n = 0;
  if (!p)
    return -1;
  while (n + 1 < size) {
    size_t k = fread(out + n, 1, size - 1 - n, p);
    if (k == 0)
      break;
    n += k;
  }
  out[n] = '\0';
  return pclose(p);
}

static uint64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The image's ext4 form laid out at size bytes (a whole number of MiB). */
static void sized_form(uint64_t size, char *out, size_t n) {
  snprintf(out, n, "%.*s/rootfs-%llum.ext4", (int)(strrchr(ext4, '/') - ext4), ext4,
           (unsigned long long)(size / MIB));
}

/* A hash (FNV-1a) of a sparse file's data ranges and where they are: the
 * file is 8 GiB of mostly holes, which sha256sum would read in full. */
static uint64_t data_hash(const char *path) {
  uint64_t h = 1469598103934665603ull;
  unsigned char buf[65536];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  for (off_t data = 0, hole;; data = hole) {
    if ((data = lseek(fd, data, SEEK_DATA)) < 0)
      break;
    assert_true((hole = lseek(fd, data, SEEK_HOLE)) > data);
    for (int k = 0; k < 8; k++)
      h = (h ^ (unsigned char)(data >> (8 * k))) * 1099511628211ull;
    for (off_t off = data; off < hole;) {
      ssize_t n = pread(fd, buf, (size_t)(hole - off < (off_t)sizeof(buf) ? hole - off
                                                                          : (off_t)sizeof(buf)), off);
      assert_true(n > 0);
      for (ssize_t i = 0; i < n; i++)
        h = (h ^ buf[i]) * 1099511628211ull;
      off += n;
    }
  }
  close(fd);
  return h;
}

static int32_t make(const char *name, uint32_t flags, uint64_t size, char *path, size_t n) {
  vmctr_image_writable_options wo = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  int32_t form = 0;
  wo.flags = flags;
  wo.size = size;
  snprintf(path, n, "%s/%s", dir, name);
  assert_int_equal(vmctr_image_create_writable(img, path, &wo, &form), 0);
  return form;
}

static void test_cow_form(void **state) {
  (void)state;
  char path[160], out[8192];
  uint64_t size = 3 * 1024 * MIB + 1; /* rounded up to 1 MiB */
  int32_t form = make("cow.qcow2", VMCTR_IMAGE_WRITABLE_USE_COW | VMCTR_IMAGE_WRITABLE_NO_REFLINK,
                      size, path, sizeof(path));
  assert_int_equal(form, VMCTR_IMAGE_WRITABLE_COW);
  /* Constant size: four clusters of metadata, nothing of the image. */
  print_message("# image ext4 %llu bytes, overlay %llu bytes\n",
                (unsigned long long)file_size(ext4), (unsigned long long)file_size(path));
  assert_true(file_size(path) <= 256 * 1024);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);

  /* The library's own reading of the header names the image's ext4. */
  vmctr_mount *m = NULL;
  assert_int_equal(vmctr_mount_new_block(&m, path, NULL), 0);
  assert_int_equal(vmctr_mount_image_format(m), VMCTR_MOUNT_IMAGE_RAW);
  assert_int_equal(vmctr_mount_set_image_format(m, VMCTR_MOUNT_IMAGE_COW), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  vmctr_mount_free(m);

  if (!have_qemu_img()) {
    print_message("# skip: qemu-img is not installed (qemu-utils)\n");
    skip();
  }
  assert_int_equal(run_out(out, sizeof(out), "qemu-img check -f qcow2 '%s' 2>&1", path), 0);
  assert_non_null(strstr(out, "No errors were found"));
  assert_int_equal(run_out(out, sizeof(out), "qemu-img info -U -f qcow2 --output=json '%s'", path),
                   0);
  char want[512], backing[256];
  uint64_t vsize = (size + MIB - 1) / MIB * MIB;
  snprintf(want, sizeof(want), "\"virtual-size\": %llu,", (unsigned long long)vsize);
  assert_non_null(strstr(out, want));
  /* The backing: the image's ext4 laid out at the disk's size on the host,
   * sparse, so that the guest has nothing to grow at mount. */
  sized_form(vsize, backing, sizeof(backing));
  snprintf(want, sizeof(want), "\"backing-filename\": \"%s\"", backing);
  assert_non_null(strstr(out, want));
  assert_non_null(strstr(out, "\"backing-filename-format\": \"raw\""));
  assert_int_equal(stat(backing, &st), 0);
  assert_int_equal((uint64_t)st.st_size, vsize);
  assert_true((uint64_t)st.st_blocks * 512 <= file_size(ext4));
  assert_int_equal(run_out(out, sizeof(out), "dumpe2fs -h '%s' 2>/dev/null", backing), 0);
  /* Of 4 KiB blocks; mke2fs leaves out a last group too small for its
   * metadata (the guest grows into that much at mount). */
  const char *bc = strstr(out, "Block count:");
  unsigned long long blocks = 0;
  assert_non_null(bc);
  assert_int_equal(sscanf(bc, "Block count: %llu", &blocks), 1);
  assert_true(blocks * 4096 <= vsize && blocks * 4096 + 128 * MIB > vsize);
  assert_int_equal(run_out(out, sizeof(out), "e2fsck -fn '%s' 2>&1", backing), 0);
  /* Every block reads as the backing's. */
  assert_int_equal(run_out(out, sizeof(out), "qemu-img compare -f qcow2 -F raw '%s' '%s' 2>&1",
                           path, backing), 0);
  unlink(path);
  /* A second disk of the size reuses the form, never rebuilds it. */
  ino_t ino = st.st_ino;
  make("cow2.qcow2", VMCTR_IMAGE_WRITABLE_USE_COW | VMCTR_IMAGE_WRITABLE_NO_REFLINK, size, path,
       sizeof(path));
  assert_int_equal(stat(backing, &st), 0);
  assert_int_equal(st.st_ino, ino);
  unlink(path);
}

/* A write through QEMU's own qcow2 code lands in the overlay, never in the
 * backing file, and reads back. */
static void test_cow_writes(void **state) {
  (void)state;
  char path[160], out[8192];
  if (!have_qemu_img() || system("command -v qemu-io >/dev/null 2>&1") != 0) {
    print_message("# skip: qemu-img is not installed (qemu-utils)\n");
    skip();
  }
  char backing[256];
  make("w.qcow2", VMCTR_IMAGE_WRITABLE_USE_COW | VMCTR_IMAGE_WRITABLE_NO_REFLINK, 0, path,
       sizeof(path));
  sized_form(VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE, backing, sizeof(backing));
  uint64_t before = data_hash(backing);
  /* Write 4 MiB at the start of the disk and 1 MiB past the image's data. */
  uint64_t past = file_size(ext4) + MIB;
  assert_int_equal(run_out(out, sizeof(out),
                           "qemu-io -f qcow2 -c 'write -P 0x5a 0 4M' -c 'write -P 0xa5 %llu 1M' "
                           "'%s' 2>&1", (unsigned long long)past, path), 0);
  assert_int_equal(run_out(out, sizeof(out),
                           "qemu-io -f qcow2 -c 'read -P 0x5a 0 4M' -c 'read -P 0xa5 %llu 1M' "
                           "'%s' 2>&1", (unsigned long long)past, path), 0);
  assert_null(strstr(out, "Pattern verification failed"));
  assert_true(data_hash(backing) == before);
  /* The overlay differs from its backing now, and still checks clean. */
  assert_int_not_equal(run_out(out, sizeof(out), "qemu-img compare -f qcow2 -F raw '%s' '%s' 2>&1",
                               path, backing), 0);
  assert_int_equal(run_out(out, sizeof(out), "qemu-img check -f qcow2 '%s' 2>&1", path), 0);
  assert_true(file_size(path) > 4 * MIB);
  unlink(path);
}

static void test_sizes(void **state) {
  (void)state;
  char path[160];
  uint64_t image = file_size(ext4);
  /* Copies: sparse, at the requested size; below the image's: the image's. */
  make("copy-default", VMCTR_IMAGE_WRITABLE_NO_REFLINK, 0, path, sizeof(path));
  assert_int_equal(file_size(path), VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true((uint64_t)st.st_blocks * 512 <= image + MIB); /* sparse */
  unlink(path);
  make("copy-small", VMCTR_IMAGE_WRITABLE_NO_REFLINK, 1, path, sizeof(path));
  assert_int_equal(file_size(path), image);
  unlink(path);
  make("copy-2g", VMCTR_IMAGE_WRITABLE_NO_REFLINK, 2048 * MIB - 5, path, sizeof(path));
  assert_int_equal(file_size(path), 2048 * MIB);
  unlink(path);
}

static void test_refusals(void **state) {
  (void)state;
  char path[160];
  vmctr_image_writable_options wo = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  snprintf(path, sizeof(path), "%s/refused", dir);
  wo.flags = VMCTR_IMAGE_WRITABLE_USE_COW;
  wo.size = VMCTR_IMAGE_WRITABLE_MAX_SIZE + 1;
  assert_int_equal(vmctr_image_create_writable(img, path, &wo, NULL), VMCTR_EINVAL);
  wo.size = 0;
  wo.flags = VMCTR_IMAGE_WRITABLE_USE_COW | VMCTR_IMAGE_WRITABLE_USE_OVERLAY;
  assert_int_equal(vmctr_image_create_writable(img, path, &wo, NULL), VMCTR_EINVAL);
  wo.flags = 1u << 31;
  assert_int_equal(vmctr_image_create_writable(img, path, &wo, NULL), VMCTR_EINVAL);
  wo.flags = 0;
  wo.version = 3;
  assert_int_equal(vmctr_image_create_writable(img, path, &wo, NULL), VMCTR_EINVAL);
  assert_int_equal(access(path, F_OK), -1);
  /* Version 1, the layout before the size field: the image's size, as then. */
  vmctr_image_writable_options v1;
  memset(&v1, 0xff, sizeof(v1));
  assert_int_equal(vmctr_image_writable_options_init(&v1, 1), 0);
  assert_true(v1.size == UINT64_MAX); /* not a version 1 field: untouched */
  v1.flags = VMCTR_IMAGE_WRITABLE_NO_REFLINK;
  assert_int_equal(vmctr_image_create_writable(img, path, &v1, NULL), 0);
  assert_int_equal(file_size(path), file_size(ext4));
  unlink(path);
  /* An existing path is never overwritten. */
  make("exists", VMCTR_IMAGE_WRITABLE_USE_COW, 0, path, sizeof(path));
  uint64_t before = file_size(path);
  vmctr_image_writable_options w2 = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  w2.flags = VMCTR_IMAGE_WRITABLE_USE_COW;
  assert_int_equal(vmctr_image_create_writable(img, path, &w2, NULL), VMCTR_EEXIST);
  assert_int_equal(file_size(path), before);
  unlink(path);
}

/* The image format is declared, never guessed: a raw file declared
 * copy-on-write is refused, and so is an overlay whose backing is gone. */
static void test_mount_image_format(void **state) {
  (void)state;
  char path[160], copy[160];
  vmctr_mount *m = NULL, *back = NULL;
  make("raw", VMCTR_IMAGE_WRITABLE_NO_REFLINK, 1, copy, sizeof(copy));
  assert_int_equal(vmctr_mount_new_block(&m, copy, "/data"), 0);
  assert_int_equal(vmctr_mount_set_image_format(m, 7), VMCTR_EINVAL);
  assert_int_equal(vmctr_mount_set_image_format(m, VMCTR_MOUNT_IMAGE_COW), 0);
  assert_int_equal(vmctr_mount_validate(m), VMCTR_EINVAL);
  print_message("# %s\n", vmctr_error_last()->message);
  vmctr_mount_free(m);

  /* An overlay whose backing file names a missing path. */
  make("orphan", VMCTR_IMAGE_WRITABLE_USE_COW | VMCTR_IMAGE_WRITABLE_NO_REFLINK, 0, path,
       sizeof(path));
  char moved[300], backing[256];
  sized_form(VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE, backing, sizeof(backing));
  snprintf(moved, sizeof(moved), "%s.moved", backing);
  assert_int_equal(rename(backing, moved), 0);
  assert_int_equal(vmctr_mount_new_block(&m, path, NULL), 0);
  assert_int_equal(vmctr_mount_set_image_format(m, VMCTR_MOUNT_IMAGE_COW), 0);
  int r = vmctr_mount_validate(m);
  assert_int_equal(rename(moved, backing), 0);
  assert_int_equal(r, VMCTR_EINVAL);
  print_message("# %s\n", vmctr_error_last()->message);
  assert_int_equal(vmctr_mount_validate(m), 0);

  /* JSON keeps it, and the spec syntax sets it. */
  char *json = NULL;
  assert_int_equal(vmctr_mount_to_json(m, &json), 0);
  assert_non_null(strstr(json, "\"image_format\":\"cow\""));
  assert_int_equal(vmctr_mount_from_json(&back, json, strlen(json)), 0);
  assert_int_equal(vmctr_mount_image_format(back), VMCTR_MOUNT_IMAGE_COW);
  vmctr_free(json);
  vmctr_mount_free(back);
  vmctr_mount_free(m);
  char spec[300];
  snprintf(spec, sizeof(spec), "type=block,source=%s,target=/d,image=cow", path);
  assert_int_equal(vmctr_mount_parse(&m, spec), 0);
  assert_int_equal(vmctr_mount_image_format(m), VMCTR_MOUNT_IMAGE_COW);
  vmctr_mount_free(m);
  snprintf(spec, sizeof(spec), "type=block,source=%s,target=/d,image=vmdk", path);
  assert_int_equal(vmctr_mount_parse(&m, spec), VMCTR_EINVAL);
  /* Not a block mount. */
  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/t"), 0);
  assert_int_equal(vmctr_mount_set_image_format(m, VMCTR_MOUNT_IMAGE_COW), VMCTR_EINVAL);
  assert_int_equal(vmctr_mount_image_format(m), 0);
  vmctr_mount_free(m);
  unlink(path);
  unlink(copy);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cow_form),
    cmocka_unit_test(test_cow_writes),
    cmocka_unit_test(test_sizes),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_mount_image_format),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
