/* SPDX-License-Identifier: MIT */
/* Soak: 20 create/run/stop cycles of a real container, then count what the
 * process holds (fds, threads, child processes) and what is on disk
 * (runtime directories, container disks). Nothing may have grown. As in
 * Kata's soak tests, the counts are compared before and after, not timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

#define CYCLES 20

struct counts {
  int fds, threads, children, rundirs, disks;
};

static void take(struct counts *c, const struct vmtest *f) {
  char p[600];
  snprintf(p, sizeof(p), "%s/containers", f->dir);
  *c = (struct counts){tu_count_entries("/proc/self/fd"), tu_count_entries("/proc/self/task"),
                       vmtest_children("", NULL, NULL, 0, true), vmtest_runtime_entries(f, true),
                       vmtest_entries(p, true)};
}

static void test_soak(void **state) {
  (void)state;
  /* A store with the busybox image and a private runtime parent, so that
   * VMs of other programs on this host cannot change the count. */
  struct vmtest f;
  assert_int_equal(vmtest_setup(&f, "vmctr-soak"), 0);
  struct vmtest_rootfs st;
  /* Warm up once (initfs cache, lazily opened files). */
  assert_int_equal(vmtest_rootfs(&f, NULL, "warmup", &st), 0);
  vmtest_rootfs_free(&st);

  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, getenv("VMCTR_TEST_KERNEL")), 0);
  vmctr_process_config *p;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, (const char *[]){"sh", "-c", "echo $$"}, 3), 0);

  struct counts before, after;
  take(&before, &f);
  for (int i = 0; i < CYCLES; i++) {
    char id[32];
    snprintf(id, sizeof(id), "soak%d", i);
    /* What a user's program does each time: open the store, import, make a disk. */
    vmctr_image_store *store;
    vmctr_image *image;
    assert_int_equal(vmctr_image_store_open(&store, f.dir, 0), 0);
    assert_int_equal(vmctr_image_store_import(store, f.layout, NULL, &image), 0);
    assert_int_equal(vmtest_rootfs(&f, image, id, &st), 0);
    vmctr_container_config *cfg;
    assert_int_equal(vmctr_container_config_new(&cfg), 0);
    assert_int_equal(vmctr_container_config_set_image(cfg, image), 0);
    assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
    vmctr_container *c;
    int r = vmctr_container_new(&c, id, st.mount, b, cfg);
    if (r < 0)
      fprintf(stderr, "# cycle %d: %s\n", i, vmctr_error_last()->message);
    assert_int_equal(r, 0);
    assert_int_equal(vmctr_container_start(c), 0);
    int32_t code = -1, sig = -1;
    assert_int_equal(vmctr_process_wait(vmctr_container_init_process(c), 60000, &code, &sig), 0);
    assert_int_equal(code, 0);
    assert_int_equal(vmctr_container_stop(c, 1000), 0);
    vmctr_container_free(c);
    vmctr_container_config_free(cfg);
    vmtest_rootfs_free(&st);
    vmctr_image_free(image);
    vmctr_image_store_free(store);
  }
  take(&after, &f);
  printf("# before: fds %d threads %d children %d runtime dirs %d disks %d\n", before.fds,
         before.threads, before.children, before.rundirs, before.disks);
  printf("# after %d cycles: fds %d threads %d children %d runtime dirs %d disks %d\n", CYCLES,
         after.fds, after.threads, after.children, after.rundirs, after.disks);
  assert_int_equal(after.fds, before.fds);
  assert_int_equal(after.threads, before.threads);
  assert_int_equal(after.children, 0);
  assert_int_equal(after.rundirs, before.rundirs);
  assert_int_equal(after.disks, 0);
  vmctr_process_config_free(p);
  vmctr_bootcfg_free(b);
  assert_int_equal(vmtest_teardown(&f), 0);
}

int main(void) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_soak)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
