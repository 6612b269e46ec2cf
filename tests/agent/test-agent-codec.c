/* SPDX-License-Identifier: MIT */
/* Unit tests of the agent codec (lib/agent/codec.c): round trips and every bound. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/codec.h"

static void test_header_round_trip_and_little_endian(void **state) {
  (void)state;
  vmctr__agent_hdr h = {.len = 0x01020304u & 0xffff, .type = VMCTR_AF_DATA, .flags = 0x0a0b,
                       .stream = 0x11223344u}, d;
  uint8_t b[VMCTR_AGENT_HDR_SIZE];
  vmctr__agent_hdr_encode(b, &h);
  assert_int_equal(b[0], 0x04);
  assert_int_equal(b[1], 0x03);
  assert_int_equal(b[4], VMCTR_AF_DATA);
  assert_int_equal(b[6], 0x0b);
  assert_int_equal(b[8], 0x44);
  assert_int_equal(b[11], 0x11);
  assert_int_equal(vmctr__agent_hdr_decode(b, VMCTR_AGENT_MAX_FRAME, &d), 0);
  assert_memory_equal(&h, &d, sizeof(h));
}

static int decode(uint32_t len, uint16_t type, uint32_t stream, uint32_t max) {
  vmctr__agent_hdr h = {.len = len, .type = type, .stream = stream}, d;
  uint8_t b[VMCTR_AGENT_HDR_SIZE];
  vmctr__agent_hdr_encode(b, &h);
  return vmctr__agent_hdr_decode(b, max, &d);
}

static void test_header_checks(void **state) {
  (void)state;
  assert_int_equal(decode(0, 0, 1, 100), -EPROTO);
  assert_int_equal(decode(0, 7, 1, 100), -EPROTO);
  assert_int_equal(decode(0, 0xffff, 1, 100), -EPROTO);
  assert_int_equal(decode(101, VMCTR_AF_DATA, 1, 100), -E2BIG);
  assert_int_equal(decode(100, VMCTR_AF_DATA, 1, 100), 0);
  assert_int_equal(decode(VMCTR_AGENT_MAX_FRAME + 1, VMCTR_AF_DATA, 1, UINT32_MAX), -E2BIG);
  assert_int_equal(decode(0xffffffffu, VMCTR_AF_RESPONSE, 1, UINT32_MAX), -E2BIG);
  assert_int_equal(decode(3, VMCTR_AF_CREDIT, 1, 100), -EINVAL);
  assert_int_equal(decode(4, VMCTR_AF_CREDIT, 1, 100), 0);
  for (uint16_t t = VMCTR_AF_REQUEST; t <= VMCTR_AF_CREDIT; t++)
    assert_int_equal(decode(t == VMCTR_AF_CREDIT ? 4 : 0, t, 0, 100), -EPROTO);
  assert_int_equal(decode(0, VMCTR_AF_HELLO, 0, 100), 0);
}

static void test_fields_round_trip(void **state) {
  (void)state;
  vmctr__agent_buf b;
  vmctr__agent_msg m = {0};
  char *const argv[] = {"/bin/sh", "-c", "echo hi", NULL};
  char **v = NULL, *s = NULL;
  uint32_t u = 0, *uv = NULL;
  int32_t i = 0;
  uint64_t q = 0;
  const uint8_t *p;
  size_t n = 0;

  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, -5);
  vmctr__agent_put_u64(&b, VMCTR_AT_MEMORY_MAX, 0x0102030405060708ull);
  vmctr__agent_put_strv(&b, VMCTR_AT_ARGV, argv);
  vmctr__agent_put_str(&b, VMCTR_AT_CWD, "/");
  vmctr__agent_put_str(&b, VMCTR_AT_HOSTNAME, "");
  vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, "a\0b", 3);
  vmctr__agent_put_u32(&b, VMCTR_AT_GIDS, 10);
  vmctr__agent_put_u32(&b, VMCTR_AT_GIDS, 20);
  assert_int_equal(vmctr__agent_buf_finish(&b, VMCTR_AGENT_MAX_FRAME), 0);
  /* u32 OP: tag 10, len 4, value little-endian. */
  assert_int_equal(b.data[0], 10);
  assert_int_equal(b.data[2], 4);
  assert_int_equal(b.data[6], VMCTR_AOP_SPAWN);
  assert_int_equal(vmctr__agent_buf_finish(&b, 10), -E2BIG);

  assert_int_equal(vmctr__agent_msg_parse(b.data, b.len, &m), 0);
  assert_int_equal(m.n, 11);
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_OP, &u), 0);
  assert_int_equal(u, VMCTR_AOP_SPAWN);
  assert_int_equal(vmctr__agent_get_i32(&m, VMCTR_AT_ERRNO, &i), 0);
  assert_int_equal(i, -5);
  assert_int_equal(vmctr__agent_get_u64(&m, VMCTR_AT_MEMORY_MAX, &q), 0);
  assert_true(q == 0x0102030405060708ull);
  assert_int_equal(vmctr__agent_get_strv(&m, VMCTR_AT_ARGV, &v), 0);
  assert_string_equal(v[0], "/bin/sh");
  assert_string_equal(v[2], "echo hi");
  assert_null(v[3]);
  vmctr__agent_strv_free(v);
  assert_int_equal(vmctr__agent_get_strv(&m, VMCTR_AT_ENV, &v), 0); /* absent: empty */
  assert_null(v[0]);
  vmctr__agent_strv_free(v);
  assert_int_equal(vmctr__agent_get_str(&m, VMCTR_AT_HOSTNAME, &s), 0);
  assert_string_equal(s, "");
  free(s);
  assert_int_equal(vmctr__agent_get_bytes(&m, VMCTR_AT_CONTENT, &p, &n), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(p, "a\0b", 3);
  assert_int_equal(vmctr__agent_get_u32v(&m, VMCTR_AT_GIDS, &uv, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(uv[1], 20);
  free(uv);
  assert_int_equal(vmctr__agent_get_u32v(&m, VMCTR_AT_UID, &uv, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(vmctr__agent_count(&m, VMCTR_AT_ARGV), 3);
  /* Absent, wrong size, NUL in a string. */
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_UID, &u), -ENOENT);
  assert_int_equal(vmctr__agent_get_str(&m, VMCTR_AT_UID, &s), -ENOENT);
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_MEMORY_MAX, &u), -EINVAL);
  assert_int_equal(vmctr__agent_get_u64(&m, VMCTR_AT_OP, &q), -EINVAL);
  assert_int_equal(vmctr__agent_get_str(&m, VMCTR_AT_CONTENT, &s), -EINVAL);
  assert_int_equal(vmctr__agent_get_strv(&m, VMCTR_AT_CONTENT, &v), -EINVAL);
  assert_int_equal(vmctr__agent_get_u32v(&m, VMCTR_AT_MEMORY_MAX, &uv, &n), -EINVAL);
  vmctr__agent_msg_free(&m);
  vmctr__agent_buf_free(&b);
}

static void test_parse_bounds(void **state) {
  (void)state;
  vmctr__agent_msg m = {0};
  uint8_t f[16] = {1, 0, 4, 0, 0, 0, 1, 2, 3, 4};
  uint8_t *big;
  size_t n;

  assert_int_equal(vmctr__agent_msg_parse(f, 0, &m), 0); /* empty is valid */
  assert_int_equal(m.n, 0);
  assert_int_equal(vmctr__agent_msg_parse(f, 10, &m), 0);
  assert_int_equal(m.n, 1);
  vmctr__agent_msg_free(&m);
  assert_int_equal(vmctr__agent_msg_parse(f, 9, &m), -EINVAL);  /* value truncated */
  assert_int_equal(vmctr__agent_msg_parse(f, 5, &m), -EINVAL);  /* header truncated */
  assert_int_equal(vmctr__agent_msg_parse(f, 11, &m), -EINVAL); /* trailing byte */
  f[5] = 0x80; /* length 2^31 + 4 */
  assert_int_equal(vmctr__agent_msg_parse(f, 10, &m), -EINVAL);
  f[2] = f[3] = f[4] = f[5] = 0xff;
  assert_int_equal(vmctr__agent_msg_parse(f, 16, &m), -EINVAL);

  /* Field count: MAX_FIELDS empty fields parse, one more does not. */
  n = (VMCTR_AGENT_MAX_FIELDS + 1) * 6;
  big = calloc(1, n);
  assert_non_null(big);
  assert_int_equal(vmctr__agent_msg_parse(big, n - 6, &m), 0);
  assert_int_equal(m.n, VMCTR_AGENT_MAX_FIELDS);
  vmctr__agent_msg_free(&m);
  assert_int_equal(vmctr__agent_msg_parse(big, n, &m), -E2BIG);
  free(big);
  assert_int_equal(vmctr__agent_msg_parse(f, VMCTR_AGENT_MAX_FRAME + 1, &m), -E2BIG);
}

static void test_list_and_string_limits(void **state) {
  (void)state;
  vmctr__agent_buf b;
  vmctr__agent_msg m = {0};
  char **v = NULL, *s = NULL, *longs;
  uint32_t *uv = NULL;
  size_t n;

  vmctr__agent_buf_init(&b);
  for (unsigned i = 0; i < VMCTR_AGENT_MAX_LIST; i++) {
    vmctr__agent_put_str(&b, VMCTR_AT_ENV, "A=1");
    vmctr__agent_put_u32(&b, VMCTR_AT_GIDS, i);
  }
  assert_int_equal(vmctr__agent_buf_finish(&b, VMCTR_AGENT_MAX_FRAME), 0);
  assert_int_equal(vmctr__agent_msg_parse(b.data, b.len, &m), 0);
  assert_int_equal(vmctr__agent_get_strv(&m, VMCTR_AT_ENV, &v), 0);
  vmctr__agent_strv_free(v);
  assert_int_equal(vmctr__agent_get_u32v(&m, VMCTR_AT_GIDS, &uv, &n), 0);
  free(uv);
  assert_int_equal(m.n, VMCTR_AGENT_MAX_FIELDS); /* (also the field limit) */
  vmctr__agent_msg_free(&m);
  vmctr__agent_buf_free(&b);
  /* One entry more than MAX_LIST, for each list getter. */
  for (int kind = 0; kind < 2; kind++) {
    vmctr__agent_buf_init(&b);
    for (unsigned i = 0; i <= VMCTR_AGENT_MAX_LIST; i++) {
      if (kind == 0)
        vmctr__agent_put_str(&b, VMCTR_AT_ENV, "B=2");
      else
        vmctr__agent_put_u32(&b, VMCTR_AT_GIDS, 1);
    }
    assert_int_equal(vmctr__agent_msg_parse(b.data, b.len, &m), 0);
    if (kind == 0)
      assert_int_equal(vmctr__agent_get_strv(&m, VMCTR_AT_ENV, &v), -E2BIG);
    else
      assert_int_equal(vmctr__agent_get_u32v(&m, VMCTR_AT_GIDS, &uv, &n), -E2BIG);
    vmctr__agent_msg_free(&m);
    vmctr__agent_buf_free(&b);
  }

  longs = malloc(VMCTR_AGENT_MAX_STRING + 2);
  assert_non_null(longs);
  memset(longs, 'x', VMCTR_AGENT_MAX_STRING + 1);
  longs[VMCTR_AGENT_MAX_STRING + 1] = '\0';
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, longs + 1); /* exactly MAX_STRING */
  vmctr__agent_put_str(&b, VMCTR_AT_NAME, longs);     /* one more */
  assert_int_equal(vmctr__agent_buf_finish(&b, VMCTR_AGENT_MAX_FRAME), 0);
  assert_int_equal(vmctr__agent_msg_parse(b.data, b.len, &m), 0);
  assert_int_equal(vmctr__agent_get_str(&m, VMCTR_AT_PATH, &s), 0);
  assert_int_equal(strlen(s), VMCTR_AGENT_MAX_STRING);
  free(s);
  assert_int_equal(vmctr__agent_get_str(&m, VMCTR_AT_NAME, &s), -EINVAL);
  vmctr__agent_msg_free(&m);
  vmctr__agent_buf_free(&b);
  free(longs);
}

static void test_builder_overflow_and_frame(void **state) {
  (void)state;
  vmctr__agent_buf b;
  uint8_t *chunk = calloc(1, 300000), *f = NULL;
  size_t n = 0;
  vmctr__agent_hdr h;

  assert_non_null(chunk);
  vmctr__agent_buf_init(&b);
  for (int i = 0; i < 4; i++) /* 4 x 300 kB > 1 MiB: stops growing, reports E2BIG */
    vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, chunk, 300000);
  assert_int_equal(vmctr__agent_buf_finish(&b, UINT32_MAX), -E2BIG);
  assert_true(b.cap <= 2 * VMCTR_AGENT_MAX_FRAME);
  vmctr__agent_buf_free(&b);
  free(chunk);

  assert_int_equal(vmctr__agent_frame(VMCTR_AF_DATA, 0, 9, "abc", 3, &f, &n), 0);
  assert_int_equal(n, VMCTR_AGENT_HDR_SIZE + 3);
  assert_int_equal(vmctr__agent_hdr_decode(f, 3, &h), 0);
  assert_int_equal(h.len, 3);
  assert_int_equal(h.stream, 9);
  assert_memory_equal(f + VMCTR_AGENT_HDR_SIZE, "abc", 3);
  free(f);
  assert_int_equal(vmctr__agent_frame(VMCTR_AF_DATA, 0, 9, NULL, VMCTR_AGENT_MAX_FRAME + 1, &f, &n),
                   -E2BIG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_header_round_trip_and_little_endian),
    cmocka_unit_test(test_header_checks),
    cmocka_unit_test(test_fields_round_trip),
    cmocka_unit_test(test_parse_bounds),
    cmocka_unit_test(test_list_and_string_limits),
    cmocka_unit_test(test_builder_overflow_and_frame),
  };
  return cmocka_run_group_tests_name("agent-codec", tests, NULL, NULL);
}
