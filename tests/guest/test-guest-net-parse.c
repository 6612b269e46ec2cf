/* SPDX-License-Identifier: MIT */
/* Unit: vmctr-init's CONFIG_IFACE decoder (lib/guest/net.c) on the seed
 * corpus: every fields-iface-* file of agent-good decodes, every one of
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

static uint8_t file_buf[1 << 16];

static size_t load(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof(path), "%s/corpus/%s/%s", getenv("VMCTR_TEST_SRCDIR"), dir, name);
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("%s: cannot open", path);
  size_t n = fread(file_buf, 1, sizeof(file_buf), f);
  assert_true(feof(f));
  fclose(f);
  return n;
}

/* Decode one file: NULL if accepted, else the reason. */
static const char *decode(const char *dir, const char *name, guest_iface *q, char *msg,
                          size_t size) {
  vmctr__agent_msg m;
  size_t n = load(dir, name);
  if (vmctr__agent_msg_parse(file_buf, n, &m) < 0)
    fail_msg("%s/%s is not a field list", dir, name);
  uint32_t op = 0;
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_OP, &op), 0);
  assert_int_equal(op, VMCTR_AOP_CONFIG_IFACE);
  const char *bad = guest_net_parse_iface(&m, q, msg, size);
  vmctr__agent_msg_free(&m);
  return bad;
}

static int check_dir(const char *dir, bool good) {
  char path[512];
  snprintf(path, sizeof(path), "%s/corpus/%s", getenv("VMCTR_TEST_SRCDIR"), dir);
  DIR *d = opendir(path);
  assert_non_null(d);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "fields-iface-", 13) != 0)
      continue;
    guest_iface q;
    char msg[256];
    const char *bad = decode(dir, e->d_name, &q, msg, sizeof(msg));
    if (good && bad)
      fail_msg("%s/%s refused: %s", dir, e->d_name, bad);
    if (!good && !bad)
      fail_msg("%s/%s accepted", dir, e->d_name);
    if (!good)
      assert_non_null(strstr(bad, "CONFIG_IFACE"));
    count++;
  }
  closedir(d);
  return count;
}

static void test_corpus(void **state) {
  (void)state;
  assert_int_equal(check_dir("agent-good", true), 3);
  assert_int_equal(check_dir("agent-bad", false), 14);
}

static void test_full_values(void **state) {
  (void)state;
  guest_iface q;
  char msg[256];
  static const uint8_t mac[6] = {0x02, 0x56, 0x4d, 0x00, 0x00, 0x01};
  assert_null(decode("agent-good", "fields-iface-full", &q, msg, sizeof(msg)));
  assert_memory_equal(q.mac, mac, 6);
  assert_int_equal(q.mtu, 1400);
  assert_int_equal(q.addr, 0x0a00020f);
  assert_int_equal(q.prefix, 24);
  assert_int_equal(q.gateway, 0x0a000202);
  assert_int_equal(q.nroutes, 2);
  assert_int_equal(q.routes[0][0], 0xc0a83200);
  assert_int_equal(q.routes[0][1], 24);
  assert_int_equal(q.routes[0][2], 0x0a000203);
  assert_int_equal(q.routes[1][0], 0xac100000);
  assert_int_equal(q.routes[1][1], 16);
  assert_int_equal(q.routes[1][2], 0);
  assert_null(decode("agent-good", "fields-iface-routes-64", &q, msg, sizeof(msg)));
  assert_int_equal(q.nroutes, 64);
  assert_non_null(strstr(decode("agent-bad", "fields-iface-routes-65", &q, msg, sizeof(msg)),
                         "65 routes"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_corpus),
    cmocka_unit_test(test_full_values),
  };
  return cmocka_run_group_tests_name("guest-net-parse", tests, NULL, NULL);
}
