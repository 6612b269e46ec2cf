/* SPDX-License-Identifier: MIT */
/* What the tests share (tests/common): error assertions, scratch
 * directories, and small host helpers. Include it after <cmocka.h> and
 * <vmctr.h> for the assertions; the rest is plain C and serves the fuzz
 * targets too. */
#ifndef VMCTR_TESTS_COMMON_TESTUTIL_H
#define VMCTR_TESTS_COMMON_TESTUTIL_H

#include <stddef.h>
#include <string.h>

#ifdef cmocka_unit_test
/* expr fails with want_code, the thread's error detail carries the same
 * code, and its message contains want_text. */
#define assert_fails_with(expr, want_code, want_text)                                         \
  do {                                                                                        \
    int r_ = (expr);                                                                          \
    assert_int_equal(r_, (want_code));                                                        \
    assert_int_equal(vmctr_error_last()->code, (want_code));                                  \
    if (!strstr(vmctr_error_last()->message, (want_text)))                                    \
      fail_msg("message \"%s\" lacks \"%s\"", vmctr_error_last()->message, (want_text));      \
  } while (0)

/* expr succeeds (>= 0); otherwise fail with the error message. */
#define assert_ok(expr)                                                                       \
  do {                                                                                        \
    int r_ = (expr);                                                                          \
    if (r_ < 0)                                                                               \
      fail_msg("%s: %d %s", #expr, r_, vmctr_error_last()->message);                          \
  } while (0)

/* Run a shell command (printf format); fail the test unless it exits 0. */
void tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif

/* Make a fresh directory /tmp/NAME-XXXXXX into buf (always /tmp, whatever
 * $TMPDIR says: VMs put sockets below, and their paths are short). 0, or -1
 * with errno set. */
int tu_tmpdir(char *buf, size_t size, const char *name);
/* rm -rf --one-file-system: remove path and everything below it, making
 * directories writable on the way (layers under test make some read-only),
 * never following links and never entering another file system. 0 when all
 * is gone (or path never existed), -1 otherwise. */
int tu_rm_rf(const char *path);
/* A test's fixture of size bytes, zeroed, whose first member is
 * char dir[TU_DIR_SIZE]: a fresh scratch directory (tu_tmpdir). NULL on
 * failure. tu_fixture_teardown, a cmocka teardown, removes the directory
 * and frees *state. */
#define TU_DIR_SIZE 64
void *tu_fixture_new(size_t size, const char *name);
int tu_fixture_teardown(void **state);
/* Entries of dir without "." and ".."; -1 if it cannot be opened. */
int tu_count_entries(const char *dir);

#endif
