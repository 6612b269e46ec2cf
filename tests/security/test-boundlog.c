/* SPDX-License-Identifier: MIT */
/* The bounded boot log (core/jail-log.h): a writer that floods it (a guest
 * printing in a loop) cannot grow the file past the cap; the newest output
 * is kept behind the marker; nothing is lost before the cap. Also prints
 * the throughput, the cost of the extra copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/jail-log.h"
#include "testutil.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  char *b = malloc((size_t)st.st_size + 1);
  assert_non_null(b);
  assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
  b[st.st_size] = 0;
  close(fd);
  *len = (size_t)st.st_size;
  return b;
}

/* Write lines "line N\n" for total bytes, then close. */
static uint64_t flood(int fd, uint64_t total, unsigned *last) {
  char line[64];
  uint64_t sent = 0;
  unsigned i = 0;
  while (sent < total) {
    int n = snprintf(line, sizeof(line), "line %u xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", i);
    assert_int_equal(write(fd, line, (size_t)n), n);
    sent += (uint64_t)n;
    *last = i++;
  }
  return sent;
}

static void test_flood_is_bounded(void **state) {
  char dir[TU_DIR_SIZE], path[128];
  int sp[2];
  (void)state;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-boundlog"), 0);
  snprintf(path, sizeof(path), "%s/boot.log", dir);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  vmctr__boundlog *b = NULL;
  const uint64_t cap = 1u << 20;
  assert_int_equal(vmctr__boundlog_start(&b, sp[0], path, cap), 0);
  unsigned last = 0;
  double t0 = now_s();
  uint64_t sent = flood(sp[1], 16 * cap, &last);
  close(sp[1]);
  vmctr__boundlog_stop(b);
  double dt = now_s() - t0;
  printf("# %llu bytes through the bounded log in %.3f s (%.0f MiB/s)\n",
         (unsigned long long)sent, dt, (double)sent / dt / (1 << 20));
  size_t len;
  char *text = slurp(path, &len);
  assert_true(len <= cap);
  assert_true(len >= cap / 2);
  assert_true(strncmp(text, VMCTR__BOUNDLOG_MARKER, strlen(VMCTR__BOUNDLOG_MARKER)) == 0);
  char want[64];
  snprintf(want, sizeof(want), "line %u xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", last);
  assert_true(len >= strlen(want));
  assert_string_equal(text + len - strlen(want), want);
  assert_null(strstr(text, "\nline 0 "));
  free(text);
  tu_rm_rf(dir);
}

static void test_small_output_is_whole(void **state) {
  char dir[TU_DIR_SIZE], path[128];
  int sp[2];
  (void)state;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-boundlog"), 0);
  snprintf(path, sizeof(path), "%s/boot.log", dir);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  vmctr__boundlog *b = NULL;
  assert_int_equal(vmctr__boundlog_start(&b, sp[0], path, 1u << 20), 0);
  unsigned last = 0;
  uint64_t sent = flood(sp[1], 100000, &last);
  close(sp[1]);
  vmctr__boundlog_stop(b);
  size_t len;
  char *text = slurp(path, &len);
  assert_int_equal(len, sent);
  assert_true(strncmp(text, "line 0 ", 7) == 0);
  free(text);
  tu_rm_rf(dir);
}

/* Stopping while the writer still holds its end open copies what is there. */
static void test_stop_with_writer_open(void **state) {
  char dir[TU_DIR_SIZE], path[128];
  int sp[2];
  (void)state;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-boundlog"), 0);
  snprintf(path, sizeof(path), "%s/boot.log", dir);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  vmctr__boundlog *b = NULL;
  assert_int_equal(vmctr__boundlog_start(&b, sp[0], path, 4096), 0);
  assert_int_equal(write(sp[1], "hello\n", 6), 6);
  usleep(50000);
  vmctr__boundlog_stop(b);
  close(sp[1]);
  size_t len;
  char *text = slurp(path, &len);
  assert_string_equal(text, "hello\n");
  free(text);
  tu_rm_rf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flood_is_bounded),
      cmocka_unit_test(test_small_output_is_whole),
      cmocka_unit_test(test_stop_with_writer_open),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
