/* SPDX-License-Identifier: MIT */
/* Integration: stdio streams under load, through the public API. One
 * container; each run execs in it (no boot per run): 64 MiB of stdout from
 * dd bs=64k to a fast reader, from head -c to a slow one, a seq pattern with
 * a checksum, and cat with stdin and stdout both busy. Every byte must
 * arrive, and nothing may hang: each run has a deadline and on a stall the
 * test fails with the library's logged credit state. VMCTR_STRESS_RUNS sets
 * the number of runs (default 3 in CI; 200 for the long version). Exits 77
 * without a guest kernel. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

#define MIB (1u << 20)
#define RUN_TIMEOUT_MS 120000
#define SEQ_N 1000000u
#define CAT_BYTES (16u * MIB)

static struct vmtest F;
static vmctr_container *C;
static struct vmtest_rootfs Root;

/* ---- the library's stall log, kept for the failure message ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char stall_log[4][1024];
static unsigned stall_n;
static bool log_loud;

static void on_log(int32_t level, const char *domain, const char *msg, void *ud) {
  (void)ud;
  if (log_loud)
    fprintf(stderr, "# libvmctr %d [%s] %s\n", level, domain, msg);
  if (strncmp(msg, "stalled:", 8) != 0)
    return;
  pthread_mutex_lock(&log_lock);
  snprintf(stall_log[stall_n++ % 4], sizeof(stall_log[0]), "%s", msg);
  pthread_mutex_unlock(&log_lock);
}

static void print_stalls(void) {
  pthread_mutex_lock(&log_lock);
  fprintf(stderr, "# %u stall reports; the last ones:\n", stall_n);
  for (unsigned i = stall_n > 4 ? stall_n - 4 : 0; i < stall_n; i++)
    fprintf(stderr, "#   %s\n", stall_log[i % 4]);
  pthread_mutex_unlock(&log_lock);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a reader of the process's stdout pipe ---- */

struct reader {
  int fd;
  bool slow;
  int64_t deadline;
  uint64_t count, fnv;
  bool nonzero, timed_out;
};

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static void *read_all(void *arg) {
  struct reader *r = arg;
  static __thread uint8_t buf[65536];
  uint64_t next_pause = 4 * MIB;
  r->fnv = 0xcbf29ce484222325ull;
  for (;;) {
    struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
    int left = (int)(r->deadline - now_ms());
    if (left <= 0) {
      r->timed_out = true;
      break;
    }
    if (poll(&pfd, 1, left < 1000 ? left : 1000) <= 0)
      continue;
    ssize_t n = read(r->fd, buf, r->slow ? 16384 : sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n && !r->nonzero; i++)
      r->nonzero = buf[i] != 0;
    r->fnv = fnv(r->fnv, buf, (size_t)n);
    r->count += (uint64_t)n;
    if (r->slow && r->count >= next_pause) {
      /* Long enough for every window on the way to fill up. */
      usleep(150000);
      next_pause += 8 * MIB;
    }
  }
  close(r->fd);
  return NULL;
}

/* ---- a writer of the process's stdin ---- */

struct writer {
  vmctr_process *p;
  uint32_t len;
  uint64_t fnv;
  int rc;
};

static uint8_t pattern_byte(uint64_t i) { return (uint8_t)((i * 31 + 7) % 251); }

static void *write_all(void *arg) {
  struct writer *w = arg;
  uint8_t buf[50000];
  uint64_t off = 0;
  w->fnv = 0xcbf29ce484222325ull;
  while (off < w->len) {
    size_t n = w->len - off < sizeof(buf) ? (size_t)(w->len - off) : sizeof(buf);
    for (size_t i = 0; i < n; i++)
      buf[i] = pattern_byte(off + i);
    w->fnv = fnv(w->fnv, buf, n);
    int r = vmctr_process_write_stdin(w->p, buf, n);
    if (r != (int)n) {
      w->rc = r < 0 ? r : -1;
      return NULL;
    }
    off += n;
  }
  w->rc = vmctr_process_close_stdin(w->p);
  return NULL;
}

/* ---- one run: exec argv, read all of stdout ---- */

static void run_one(const char *what, const char *const *argv, size_t argc, bool slow,
                    bool nonblock_sink, uint32_t stdin_len, uint64_t want_count, uint64_t want_fnv,
                    bool want_zero) {
  int pfd[2];
  vmctr_process_config *pc;
  vmctr_process *p;
  struct reader rd = {0};
  struct writer wr = {0};
  pthread_t rt, wt;
  int32_t code = -1, sig = -1;
  int64_t t0 = now_ms();

  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  if (nonblock_sink)
    fcntl(pfd[1], F_SETFL, O_NONBLOCK);
  assert_int_equal(vmctr_process_config_new(&pc), 0);
  assert_int_equal(vmctr_process_config_set_args(pc, argv, argc), 0);
  assert_int_equal(vmctr_process_config_set_stdio(pc, stdin_len ? VMCTR_STDIO_WRITE : VMCTR_STDIO_NULL,
                                                  pfd[1], VMCTR_STDIO_NULL), 0);
  int r = vmctr_container_exec(C, pc, &p);
  if (r < 0)
    fprintf(stderr, "# exec %s: %s\n", what, vmctr_error_last()->message);
  assert_int_equal(r, 0);
  vmctr_process_config_free(pc);
  close(pfd[1]); /* the library holds its own copy until the guest's EOF */
  rd = (struct reader){.fd = pfd[0], .slow = slow, .deadline = t0 + RUN_TIMEOUT_MS};
  assert_int_equal(pthread_create(&rt, NULL, read_all, &rd), 0);
  if (stdin_len) {
    wr = (struct writer){.p = p, .len = stdin_len};
    assert_int_equal(pthread_create(&wt, NULL, write_all, &wr), 0);
  }
  r = vmctr_process_wait(p, RUN_TIMEOUT_MS, &code, &sig);
  if (r < 0)
    fprintf(stderr, "# %s: wait: %s\n", what, vmctr_error_last()->message);
  if (r < 0 && stdin_len)
    vmctr_process_kill(p, VMCTR_SIGKILL); /* unblocks the writer */
  pthread_join(rt, NULL);
  if (stdin_len)
    pthread_join(wt, NULL);
  if (r < 0 || rd.timed_out || rd.count != want_count) {
    fprintf(stderr, "# %s: %s after %lld ms; %llu of %llu bytes arrived\n", what,
            rd.timed_out || r == VMCTR_ETIMEDOUT ? "STALLED" : "failed",
            (long long)(now_ms() - t0), (unsigned long long)rd.count,
            (unsigned long long)want_count);
    print_stalls();
  }
  if (getenv("VMCTR_STRESS_VERBOSE"))
    fprintf(stderr, "# %s: %llu bytes in %lld ms\n", what, (unsigned long long)rd.count,
            (long long)(now_ms() - t0));
  vmctr_process_free(p);
  assert_int_equal(r, 0);
  assert_false(rd.timed_out);
  assert_int_equal(code, 0);
  assert_int_equal(rd.count, want_count);
  if (want_zero)
    assert_false(rd.nonzero);
  if (want_fnv)
    assert_true(rd.fnv == want_fnv);
  if (stdin_len) {
    assert_int_equal(wr.rc, 0);
    assert_true(rd.fnv == wr.fnv); /* cat: out is in */
  }
}

/* The bytes and checksum of `seq 1 n`. */
static void seq_expect(uint32_t n, uint64_t *count, uint64_t *h) {
  char line[16];
  *count = 0;
  *h = 0xcbf29ce484222325ull;
  for (uint32_t i = 1; i <= n; i++) {
    int l = snprintf(line, sizeof(line), "%u\n", i);
    *h = fnv(*h, (const uint8_t *)line, (size_t)l);
    *count += (uint64_t)l;
  }
}

static int runs(void) {
  const char *e = getenv("VMCTR_STRESS_RUNS");
  int n = e && *e ? atoi(e) : 3; /* CI: bounded; by hand: VMCTR_STRESS_RUNS=200 */
  return n > 0 ? n : 1;
}

static void test_stream_stress(void **state) {
  (void)state;
  static const char *const dd[] = {"dd", "if=/dev/zero", "bs=65536", "count=1024"};
  static const char *const head[] = {"head", "-c", "67108864", "/dev/zero"};
  static const char *const seq[] = {"seq", "1", "1000000"};
  static const char *const cat[] = {"cat"};
  uint64_t seq_count, seq_fnv;
  int n = runs();
  int64_t t0 = now_ms();
  seq_expect(SEQ_N, &seq_count, &seq_fnv);
  for (int i = 0; i < n; i++) {
    run_one("dd bs=64k, fast reader", dd, 4, false, false, 0, 64ull * MIB, 0, true);
    run_one("head -c, slow reader", head, 4, true, true, 0, 64ull * MIB, 0, true);
    if (i % 10 == 0)
      run_one("seq, checksum", seq, 3, false, true, 0, seq_count, seq_fnv, false);
    run_one("cat, stdin and stdout busy", cat, 1, i % 2 == 1, false, CAT_BYTES, CAT_BYTES, 0,
            false);
    if (n > 10 && (i + 1) % 10 == 0)
      fprintf(stderr, "# %d of %d runs, %lld s\n", i + 1, n, (long long)(now_ms() - t0) / 1000);
  }
  fprintf(stderr, "# %d runs in %.1f s, %u stall reports\n", n, (double)(now_ms() - t0) / 1000,
          stall_n);
}

static int setup(void **state) {
  static const char *const argv[] = {"sleep", "1000000"};
  vmctr_bootcfg *b = NULL;
  vmctr_process_config *p = NULL;
  vmctr_container_config *cfg = NULL;
  const char *d = getenv("VMCTR_DEBUG");
  int r;
  (void)state;
  if (vmtest_setup(&F, "vmctr-test-stress") < 0)
    return -1;
  log_loud = d && *d && strcmp(d, "0") != 0;
  vmctr_log_set_handler(log_loud && strcmp(d, "1") != 0 ? VMCTR_LOG_DEBUG : VMCTR_LOG_INFO,
                        on_log, NULL, NULL);
  if (vmtest_rootfs(&F, NULL, "stress", &Root) < 0)
    return -1;
  r = vmctr_bootcfg_new(&b);
  if (r == 0)
    r = vmctr_bootcfg_set_kernel(b, F.kernel);
  if (r == 0)
    r = vmctr_process_config_new(&p);
  if (r == 0)
    r = vmctr_process_config_set_args(p, argv, 2);
  if (r == 0)
    r = vmctr_container_config_new(&cfg);
  if (r == 0)
    r = vmctr_container_config_set_image(cfg, F.image);
  if (r == 0)
    r = vmctr_container_config_set_process(cfg, p);
  if (r == 0)
    r = vmctr_container_new(&C, "stress", Root.mount, b, cfg);
  if (r == 0)
    r = vmctr_container_start(C);
  if (r < 0)
    fprintf(stderr, "# setup: %s\n", vmctr_error_last()->message);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  return r < 0 ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  vmctr_container_free(C);
  vmtest_rootfs_free(&Root);
  vmctr_log_set_handler(0, NULL, NULL, NULL);
  return vmtest_teardown(&F);
}

int main(void) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_stress),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
