/* SPDX-License-Identifier: MIT */
/* Hostile layers (lib/image/layer): each is refused with an error naming
 * the entry, and nothing appears or changes outside the root: the sandbox
 * around the root is snapshotted before and after, and canaries are checked
 * in /etc and /tmp. Every case also runs with the portable walk that
 * replaces openat2(2) on old kernels. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/layer/layer.h"
#include "layer-testutil.h"
#include "vmctr.h"

#define CANARY "vmctr-layer-canary"

typedef struct hstate {
  sandbox s;
  char canary_etc[128], canary_tmp[128];
} hstate;

static int setup(void **state) {
  hstate *h = calloc(1, sizeof(*h));
  sb_init(&h->s);
  snprintf(h->canary_etc, sizeof(h->canary_etc), "/etc/%s-%d", CANARY, (int)getpid());
  snprintf(h->canary_tmp, sizeof(h->canary_tmp), "/tmp/%s-%d", CANARY, (int)getpid());
  *state = h;
  return 0;
}

static int teardown(void **state) {
  hstate *h = *state;
  sb_check(&h->s);
  sb_free(&h->s);
  free(h);
  vmctr__layer_force_walk(false);
  return 0;
}

static void no_canaries(hstate *h) {
  bool etc = access(h->canary_etc, F_OK) == 0, tmp = access(h->canary_tmp, F_OK) == 0;
  unlink(h->canary_etc);
  unlink(h->canary_tmp);
  if (etc || tmp)
    fail_msg("a layer wrote outside its root: %s", etc ? h->canary_etc : h->canary_tmp);
}

/* Apply the current layer: it must fail with code (0: any negative) and a
 * message holding want; then nothing may have changed outside. */
static void refused(hstate *h, int code, const char *want) {
  int r = vmctr__layer_apply(h->s.root_fd, h->s.layer, NULL);
  if (r >= 0)
    fail_msg("the hostile layer was accepted");
  if (code)
    assert_int_equal(r, code);
  if (!strstr(vmctr_error_last()->message, want))
    fail_msg("message \"%s\" lacks \"%s\"", vmctr_error_last()->message, want);
  no_canaries(h);
  sb_check(&h->s);
}

static void applied(hstate *h) {
  int r = vmctr__layer_apply(h->s.root_fd, h->s.layer, NULL);
  if (r != 0)
    fail_msg("apply: %s", vmctr_error_last()->message);
}

/* Each case builds its layer(s), and runs once with openat2 and once with the walk. */
typedef void (*case_fn)(hstate *h, const char *outside);

static void both_ways(void **state, case_fn fn) {
  hstate *h = *state;
  char outside[400];
  snprintf(outside, sizeof(outside), "%s/outside", h->s.dir);
  for (int walk = 0; walk < 2; walk++) {
    vmctr__layer_force_walk(walk);
    sb_reset_root(&h->s);
    fn(h, outside);
  }
}

static void c_absolute(hstate *h, const char *outside) {
  char p[600];
  tb *t = tb_new(h->s.layer, TB_GZIP);
  snprintf(p, sizeof(p), "%s/passwd", outside);
  tb_file(t, p, "pwned", 0644);
  tb_close(t);
  refused(h, VMCTR_EPARSE, "absolute");
  assert_non_null(strstr(vmctr_error_last()->message, p));
}

static void c_dotdot(hstate *h, const char *outside) {
  tb *t = tb_new(h->s.layer, TB_NONE);
  tb_file(t, "ok", "fine", 0644);
  tb_file(t, "a/../../outside/passwd", "pwned", 0644);
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'a/../../outside/passwd'");
}

static void c_many_dotdot(hstate *h, const char *outside) {
  char *p = malloc(3 * 3000 + 64);
  tb *t = tb_new(h->s.layer, TB_GZIP);
  p[0] = '\0';
  for (int i = 0; i < 3000; i++)
    strcat(p, "../");
  strcat(p, "tmp/" CANARY);
  tb_file(t, p, "pwned", 0644);
  tb_close(t);
  free(p);
  refused(h, VMCTR_EPARSE, "'../../../");
}

static void c_long_path(hstate *h, const char *outside) {
  char *p = malloc(10001);
  tb *t = tb_new(h->s.layer, TB_GZIP);
  for (int i = 0; i < 10000; i++)
    p[i] = i % 100 == 99 ? '/' : 'x';
  p[10000] = '\0';
  tb_file(t, p, "long", 0644);
  tb_close(t);
  free(p);
  refused(h, VMCTR_ETOOBIG, "'xxxxxxxxxx");
  assert_true(strlen(vmctr_error_last()->message) < 1000);
}

/* a -> /etc, then a/<canary>: would write the host's /etc. */
static void c_symlink_abs(hstate *h, const char *outside) {
  tb *t = tb_new(h->s.layer, TB_GZIP);
  char name[200];
  tb_symlink(t, "a", "/etc");
  snprintf(name, sizeof(name), "a/%s", strrchr(h->canary_etc, '/') + 1);
  tb_file(t, name, "pwned", 0644);
  tb_close(t);
  refused(h, VMCTR_EPERM, name);
}

/* b -> ../../.., then b/tmp/<canary>; and one to the sandbox's outside/. */
static void c_symlink_up(hstate *h, const char *outside) {
  tb *t = tb_new(h->s.layer, TB_GZIP);
  char name[200];
  tb_dir(t, "d", 0755);
  tb_symlink(t, "d/b", "../../../../../../../../..");
  snprintf(name, sizeof(name), "d/b/tmp/%s", strrchr(h->canary_tmp, '/') + 1);
  tb_file(t, name, "pwned", 0644);
  tb_close(t);
  refused(h, VMCTR_EPERM, name);
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_symlink(t, "o", "../outside");
  tb_file(t, "o/passwd", "pwned", 0644);
  tb_close(t);
  refused(h, VMCTR_EPERM, "'o/passwd'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE); /* a chain: in -> mid, mid -> ../outside */
  tb_symlink(t, "mid", "../outside");
  tb_symlink(t, "in", "mid");
  tb_dir(t, "in/sub", 0755);
  tb_close(t);
  refused(h, VMCTR_EPERM, "'in/sub/'");
}

static void c_hardlink_out(hstate *h, const char *outside) {
  tb *t = tb_new(h->s.layer, TB_NONE);
  tb_hardlink(t, "h", "../outside/passwd");
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'h'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_symlink(t, "s", outside);
  tb_hardlink(t, "h2", "s/passwd");
  tb_close(t);
  refused(h, VMCTR_EPERM, "'h2'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_symlink(t, "s", "../outside");
  tb_hardlink(t, "h3", "s/passwd");
  tb_close(t);
  refused(h, VMCTR_EPERM, "'h3'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_hardlink(t, "h4", "/etc/passwd");
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'h4'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_dir(t, "dir", 0755);
  tb_hardlink(t, "h5", "dir");
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'h5'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_hardlink(t, "h6", "not-yet");
  tb_file(t, "not-yet", "x", 0644);
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'h6'");
}

static void c_whiteout_out(hstate *h, const char *outside) {
  tb *t = tb_new(h->s.layer, TB_NONE);
  tb_file(t, "../.wh.outside", "", 0644);
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'../.wh.outside'");
  t = tb_new(h->s.layer, TB_NONE);
  tb_symlink(t, "s", "..");
  tb_file(t, "s/.wh.outside", "", 0644);
  tb_close(t);
  refused(h, VMCTR_EPERM, "'s/.wh.outside'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_symlink(t, "s", outside);
  tb_file(t, "s/.wh..wh..opq", "", 0644);
  tb_close(t);
  refused(h, VMCTR_EPERM, "'s/.wh..wh..opq'");
  sb_reset_root(&h->s);
  t = tb_new(h->s.layer, TB_NONE);
  tb_file(t, ".wh..", "", 0644);
  tb_close(t);
  refused(h, VMCTR_EPARSE, "'.wh..'");
}

/* Layer 1 has etc/, layer 2 turns etc into a symlink to the host's /etc (or
 * the sandbox's outside/), layer 3 writes through it. */
static void c_across_layers(hstate *h, const char *outside) {
  const char *targets[2] = {"/etc", outside};
  for (int i = 0; i < 2; i++) {
    tb *t;
    char name[200];
    sb_reset_root(&h->s);
    t = tb_new(h->s.layer, TB_GZIP);
    tb_dir(t, "etc", 0755);
    tb_file(t, "etc/hostname", "box", 0644);
    tb_close(t);
    applied(h);
    t = tb_new(h->s.layer, TB_GZIP);
    tb_symlink(t, "etc", targets[i]);
    tb_close(t);
    applied(h);
    t = tb_new(h->s.layer, TB_GZIP);
    snprintf(name, sizeof(name), "etc/%s", i ? "passwd" : strrchr(h->canary_etc, '/') + 1);
    tb_file(t, name, "pwned", 0644);
    tb_close(t);
    refused(h, VMCTR_EPERM, name);
  }
}

/* The parent cache must not outlive a path reached through an in-root
 * symlink: lib -> usr/lib is cached, then usr becomes a symlink out. */
static void c_stale_cache(hstate *h, const char *outside) {
  tb *t = tb_new(h->s.layer, TB_NONE);
  tb_dir(t, "usr/lib", 0755);
  tb_symlink(t, "lib", "usr/lib");
  tb_file(t, "lib/a", "a", 0644);
  tb_symlink(t, "usr", outside);
  tb_file(t, "lib/passwd", "pwned", 0644);
  tb_close(t);
  refused(h, VMCTR_EPERM, "'lib/passwd'");
}

static void test_stale_cache(void **s) { both_ways(s, c_stale_cache); }
static void test_absolute(void **s) { both_ways(s, c_absolute); }
static void test_dotdot(void **s) { both_ways(s, c_dotdot); }
static void test_many_dotdot(void **s) { both_ways(s, c_many_dotdot); }
static void test_long_path(void **s) { both_ways(s, c_long_path); }
static void test_symlink_abs(void **s) { both_ways(s, c_symlink_abs); }
static void test_symlink_up(void **s) { both_ways(s, c_symlink_up); }
static void test_hardlink_out(void **s) { both_ways(s, c_hardlink_out); }
static void test_whiteout_out(void **s) { both_ways(s, c_whiteout_out); }
static void test_across_layers(void **s) { both_ways(s, c_across_layers); }

/* Declared sizes larger than the data: a short file, and 2 GiB of nothing
 * (must fail at once, without writing or allocating 2 GiB). */
static void test_truncated_data(void **state) {
  hstate *h = *state;
  char zeros[1024] = {0};
  struct timespec t0, t1;
  struct stat st;
  FILE *f = fopen(h->s.layer, "w");
  raw_header(f, "short", '0', 100000, NULL);
  fwrite(zeros, 1, 512, f);
  fclose(f);
  refused(h, VMCTR_EPARSE, "'short'");

  f = fopen(h->s.layer, "w");
  raw_header(f, "ok", '0', 0, NULL);
  raw_header(f, "huge", '0', 2ull << 30, NULL);
  fclose(f);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  refused(h, VMCTR_EPARSE, "'huge'");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  assert_true(t1.tv_sec - t0.tv_sec < 2);
  if (fstatat(h->s.root_fd, "huge", &st, AT_SYMLINK_NOFOLLOW) == 0)
    assert_true(st.st_blocks < 64);

  f = fopen(h->s.layer, "w"); /* a truncated header */
  raw_header(f, "cut", '0', 0, NULL);
  fwrite(zeros, 1, 100, f);
  fclose(f);
  refused(h, VMCTR_EPARSE, "'cut'");
}

static void test_truncated_gzip(void **state) {
  hstate *h = *state;
  struct stat st;
  tb *t = tb_new(h->s.layer, TB_GZIP);
  tb_file(t, "first", "1", 0644);
  tb_file_big(t, "second", 1 << 20, 3);
  tb_file(t, "third", "3", 0644);
  tb_close(t);
  assert_int_equal(stat(h->s.layer, &st), 0);
  assert_int_equal(truncate(h->s.layer, st.st_size / 2), 0);
  refused(h, VMCTR_EPARSE, "'second'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
    cmocka_unit_test_setup_teardown(test_many_dotdot, setup, teardown),
    cmocka_unit_test_setup_teardown(test_long_path, setup, teardown),
    cmocka_unit_test_setup_teardown(test_symlink_abs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_symlink_up, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hardlink_out, setup, teardown),
    cmocka_unit_test_setup_teardown(test_whiteout_out, setup, teardown),
    cmocka_unit_test_setup_teardown(test_across_layers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stale_cache, setup, teardown),
    cmocka_unit_test_setup_teardown(test_truncated_data, setup, teardown),
    cmocka_unit_test_setup_teardown(test_truncated_gzip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
