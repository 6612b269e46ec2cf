/* SPDX-License-Identifier: MIT */
/* Unit: vmctr-init's RESTORED decoder (lib/guest/restore.c) on the seed
 * corpus: every fields-restored-* file of agent-good decodes, every one of
 * agent-bad is refused with a reason, and the full request decodes to the
 * values make-corpus.py wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest-priv.h"

bool guest_is_pid1;
void guest_log(const char *fmt, ...) { (void)fmt; }
void guest_respond(guest_agent *a, uint32_t id, int err, const char *msg) {
  (void)a, (void)id, (void)err, (void)msg;
}
int guest_write_str(const char *path, const char *s) {
  (void)path, (void)s;
  return 0;
}
/* The decoder only: fix_disks, which uses the disk map, is never reached. */
const guest_disk *guest_disks(size_t *n) {
  *n = 0;
  return NULL;
}
int guest_disks_scan(void) { return 0; }

static uint8_t file_buf[1 << 16];
static vmctr__agent_msg msg;

/* Decode one file: NULL if accepted, else the reason. msg keeps the fields
 * that q borrows. */
static const char *decode(const char *dir, const char *name, guest_restore *q) {
  char path[512];
  snprintf(path, sizeof(path), "%s/corpus/%s/%s", getenv("VMCTR_TEST_SRCDIR"), dir, name);
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("%s: cannot open", path);
  size_t n = fread(file_buf, 1, sizeof(file_buf), f);
  fclose(f);
  vmctr__agent_msg_free(&msg);
  if (vmctr__agent_msg_parse(file_buf, n, &msg) < 0)
    fail_msg("%s/%s is not a field list", dir, name);
  uint32_t op = 0;
  assert_int_equal(vmctr__agent_get_u32(&msg, VMCTR_AT_OP, &op), 0);
  assert_int_equal(op, VMCTR_AOP_RESTORED);
  return guest_restore_parse(&msg, q);
}

static int check_dir(const char *dir, bool good) {
  char path[512];
  snprintf(path, sizeof(path), "%s/corpus/%s", getenv("VMCTR_TEST_SRCDIR"), dir);
  DIR *d = opendir(path);
  assert_non_null(d);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "fields-restored-", 16) != 0)
      continue;
    guest_restore q;
    const char *bad = decode(dir, e->d_name, &q);
    if (good && bad)
      fail_msg("%s/%s refused: %s", dir, e->d_name, bad);
    if (!good && !bad)
      fail_msg("%s/%s accepted", dir, e->d_name);
    if (!good)
      assert_non_null(strstr(bad, "RESTORED"));
    count++;
  }
  closedir(d);
  return count;
}

static void test_corpus(void **state) {
  (void)state;
  assert_int_equal(check_dir("agent-good", true), 2);
  assert_int_equal(check_dir("agent-bad", false), 8);
}

static void test_full_values(void **state) {
  (void)state;
  guest_restore q;
  static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  assert_null(decode("agent-good", "fields-restored-full", &q));
  assert_true(q.time_ns == 1796176000123456789ull);
  assert_int_equal(q.nentropy, 64);
  assert_int_equal(q.entropy[0], 0);
  assert_int_equal(q.entropy[63], 63);
  assert_int_equal(q.ndisks, 2);
  assert_string_equal(q.disks[0].serial, "vmctr0");
  assert_true(q.disks[0].size == 80ull << 20);
  assert_string_equal(q.disks[1].serial, "vmctr1");
  assert_true(q.disks[1].size == 1ull << 20);
  assert_int_equal(q.nmacs, 1);
  assert_memory_equal(q.macs[0], mac, 6);
  assert_null(decode("agent-good", "fields-restored-minimal", &q));
  assert_int_equal(q.ndisks, 0);
  assert_int_equal(q.nmacs, 0);
  assert_non_null(strstr(decode("agent-bad", "fields-restored-disks-17", &q), "16 DISKs"));
  vmctr__agent_msg_free(&msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_corpus),
    cmocka_unit_test(test_full_values),
  };
  return cmocka_run_group_tests_name("guest-restore-parse", tests, NULL, NULL);
}
