/* SPDX-License-Identifier: MIT */
/* SHA-256 against the FIPS 180-4 / NIST example vectors, split updates,
 * and sha256sum(1) on a random file; prints throughput as a TAP comment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sha256.h"

static void hash_hex(const void *p, size_t n, char hex[65]) {
  vmctr__sha256 c;
  uint8_t d[32];
  vmctr__sha256_init(&c);
  vmctr__sha256_update(&c, p, n);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
}

static void nist_vectors(void **state) {
  (void)state;
  static const struct { const char *msg, *want; } v[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrl"
     "mnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
  };
  char hex[65];
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    hash_hex(v[i].msg, strlen(v[i].msg), hex);
    assert_string_equal(hex, v[i].want);
  }
}

static void million_a(void **state) {
  (void)state;
  char *a = malloc(1000000);
  assert_non_null(a);
  memset(a, 'a', 1000000);
  char hex[65];
  hash_hex(a, 1000000, hex);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* Same in odd-sized pieces: exercises the partial-block buffer. */
  vmctr__sha256 c;
  uint8_t d[32];
  vmctr__sha256_init(&c);
  for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 7 % 131 + 1)
    vmctr__sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(a);
}

/* Every length around the padding boundaries, checked against sha256sum. */
static void against_sha256sum(void **state) {
  (void)state;
  if (system("command -v sha256sum >/dev/null 2>&1") != 0)
    skip();
  size_t n = 64u << 20;
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    buf[i] = (uint8_t)x;
  }
  char path[] = "/tmp/vmctr-sha-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, buf, n), (ssize_t)n);
  close(fd);

  struct timespec t0, t1;
  char hex[65];
  clock_gettime(CLOCK_MONOTONIC, &t0);
  hash_hex(buf, n, hex);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ours = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

  char cmd[256], want[80] = "";
  snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(want, sizeof(want), p));
  pclose(p);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double theirs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  unlink(path);
  want[64] = '\0';
  assert_string_equal(hex, want);
  printf("# sha256: %.0f MB/s libvmctr (OpenSSL), %.0f MB/s sha256sum (64 MiB)\n", n / 1e6 / ours,
         n / 1e6 / theirs);

  /* Every length across the padding boundaries (55/56/64 and 119/120/128). */
  for (size_t len = 50; len < 135; len++) {
    char small[65], got[80] = "";
    hash_hex(buf, len, small);
    memcpy(path + strlen(path) - 6, "XXXXXX", 6);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(got, sizeof(got), p));
    pclose(p);
    unlink(path);
    got[64] = '\0';
    assert_string_equal(small, got);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(nist_vectors),
    cmocka_unit_test(million_a),
    cmocka_unit_test(against_sha256sum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
