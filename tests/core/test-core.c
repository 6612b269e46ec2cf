/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/core: errors, logging, buffers, string vectors, time,
 * bounded I/O, JSON helpers, child processes, event sets, version. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/child.h"
#include "core/error.h"
#include "core/event.h"
#include "core/fd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strv.h"
#include "core/time.h"
#include "core/util.h"
#include "vmctr.h"
#include "testutil.h"

static char tmpdir[256];

static int setup_tmp(void **state) {
  (void)state;
  return tu_tmpdir(tmpdir, sizeof(tmpdir), "vmctr-core");
}

static int teardown_tmp(void **state) {
  (void)state;
  return tu_rm_rf(tmpdir);
}

/* ---- errors ---- */

static void test_strerror_all_codes(void **state) {
  for (int c = 0; c >= VMCTR_EAGAIN; c--) {
    const char *s = vmctr_strerror(c);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown error");
  }
  assert_string_equal(vmctr_strerror(1), "unknown error");
  assert_string_equal(vmctr_strerror(-1000), "unknown error");
  assert_string_equal(vmctr_strerror(VMCTR_ENOENT), "no such file, object or key");
}

static void test_error_fixed_values(void **state) {
  /* These values are ABI: they must never change. */
  assert_int_equal(VMCTR_EGENERIC, -1);
  assert_int_equal(VMCTR_EINVAL, -2);
  assert_int_equal(VMCTR_ENOMEM, -3);
  assert_int_equal(VMCTR_ENOENT, -4);
  assert_int_equal(VMCTR_EEXIST, -5);
  assert_int_equal(VMCTR_EBUSY, -6);
  assert_int_equal(VMCTR_EUNSUPPORTED, -7);
  assert_int_equal(VMCTR_ETIMEDOUT, -8);
  assert_int_equal(VMCTR_EIO, -9);
  assert_int_equal(VMCTR_EPERM, -10);
  assert_int_equal(VMCTR_EPARSE, -11);
  assert_int_equal(VMCTR_ETOOBIG, -12);
  assert_int_equal(VMCTR_ESTATE, -13);
  assert_int_equal(VMCTR_EPROTO, -14);
  assert_int_equal(VMCTR_ECANCELED, -15);
  assert_int_equal(VMCTR_ENOSPC, -16);
  assert_int_equal(VMCTR_EAGAIN, -17);
}

static void test_error_last_and_clear(void **state) {
  const vmctr_error *e;
  vmctr_error_clear();
  e = vmctr_error_last();
  assert_non_null(e);
  assert_int_equal(e->code, 0);
  assert_string_equal(e->message, "no error");
  assert_int_equal(vmctr__err(VMCTR_EINVAL, 0, "bad %s %d", "thing", 7), VMCTR_EINVAL);
  e = vmctr_error_last();
  assert_int_equal(e->code, VMCTR_EINVAL);
  assert_string_equal(e->message, "bad thing 7");
  assert_int_equal(vmctr__err_os(ENOENT, "open %s", "/x"), VMCTR_ENOENT);
  assert_int_equal(e->os_errno, ENOENT);
  assert_non_null(strstr(e->message, "open /x: "));
  vmctr__err_prefix("ctx");
  assert_non_null(strstr(e->message, "ctx: open /x: "));
  assert_int_equal(e->code, VMCTR_ENOENT);
  vmctr_error_clear();
  assert_int_equal(vmctr_error_last()->code, 0);
}

static void test_error_long_message_truncated(void **state) {
  char big[5000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  vmctr__err(VMCTR_EIO, 0, "%s", big);
  assert_true(strlen(vmctr_error_last()->message) < sizeof(big));
  assert_true(strlen(vmctr_error_last()->message) > 100);
}

static void test_errno_mapping(void **state) {
  assert_int_equal(vmctr__code_from_errno(EACCES), VMCTR_EPERM);
  assert_int_equal(vmctr__code_from_errno(ENOENT), VMCTR_ENOENT);
  assert_int_equal(vmctr__code_from_errno(EEXIST), VMCTR_EEXIST);
  assert_int_equal(vmctr__code_from_errno(ENOMEM), VMCTR_ENOMEM);
  assert_int_equal(vmctr__code_from_errno(ETIMEDOUT), VMCTR_ETIMEDOUT);
  assert_int_equal(vmctr__code_from_errno(EIO), VMCTR_EIO);
  assert_int_equal(vmctr__code_from_errno(ENOSPC), VMCTR_ENOSPC);
}

static void *thread_err(void *arg) {
  /* A fresh thread sees no error, whatever the main thread did. */
  int *ok = arg;
  *ok = vmctr_error_last()->code == 0;
  vmctr__err(VMCTR_EBUSY, 0, "thread");
  *ok = *ok && vmctr_error_last()->code == VMCTR_EBUSY;
  return NULL;
}

static void test_error_thread_local(void **state) {
  pthread_t t;
  int ok = 0;
  vmctr__err(VMCTR_EPARSE, 0, "main");
  assert_int_equal(pthread_create(&t, NULL, thread_err, &ok), 0);
  pthread_join(t, NULL);
  assert_true(ok);
  assert_int_equal(vmctr_error_last()->code, VMCTR_EPARSE);
  assert_string_equal(vmctr_error_last()->message, "main");
}

/* ---- logging ---- */

struct logrec {
  int calls, destroyed, last_level;
  char last[256];
  char domain[32];
};

static void log_cb(int32_t level, const char *domain, const char *msg, void *ud) {
  struct logrec *r = ud;
  r->calls++;
  r->last_level = level;
  snprintf(r->last, sizeof(r->last), "%s", msg);
  snprintf(r->domain, sizeof(r->domain), "%s", domain);
}

static void log_destroy(void *ud) { ((struct logrec *)ud)->destroyed++; }

static void test_log_handler(void **state) {
  struct logrec a = {0}, b = {0};
  vmctr__log(VMCTR_LOG_ERROR, "t", "dropped %d", 1); /* no handler: nothing happens */
  assert_int_equal(vmctr_log_set_handler(VMCTR_LOG_INFO, log_cb, &a, log_destroy), 0);
  vmctr__log(VMCTR_LOG_WARN, "t", "hello %s", "world");
  assert_int_equal(a.calls, 1);
  assert_string_equal(a.last, "hello world");
  assert_string_equal(a.domain, "t");
  assert_int_equal(a.last_level, VMCTR_LOG_WARN);
  vmctr__log(VMCTR_LOG_DEBUG, "t", "filtered");
  assert_int_equal(a.calls, 1);
  /* Replacing destroys the old userdata exactly once. */
  assert_int_equal(vmctr_log_set_handler(VMCTR_LOG_DEBUG, log_cb, &b, log_destroy), 0);
  assert_int_equal(a.destroyed, 1);
  /* Failing calls log their error at debug level. */
  vmctr__err(VMCTR_EINVAL, 0, "some failure");
  assert_int_equal(b.calls, 1);
  assert_non_null(strstr(b.last, "some failure"));
  assert_string_equal(b.domain, "error");
  assert_int_equal(vmctr_log_set_handler(VMCTR_LOG_DEBUG, NULL, NULL, NULL), 0);
  assert_int_equal(b.destroyed, 1);
  assert_int_equal(a.destroyed, 1);
  vmctr__log(VMCTR_LOG_ERROR, "t", "after removal");
  assert_int_equal(b.calls, 1);
}

static void test_log_bad_level(void **state) {
  struct logrec a = {0};
  assert_int_equal(vmctr_log_set_handler(7, log_cb, &a, log_destroy), VMCTR_EINVAL);
  assert_int_equal(vmctr_log_set_handler(-1, log_cb, &a, log_destroy), VMCTR_EINVAL);
  assert_int_equal(a.destroyed, 0);
}

static void *log_thread(void *arg) {
  for (int i = 0; i < 2000; i++)
    vmctr__log(VMCTR_LOG_INFO, "t", "msg %d", i);
  return NULL;
}

static void count_cb(int32_t level, const char *domain, const char *msg, void *ud) {
  __atomic_add_fetch((int *)ud, 1, __ATOMIC_RELAXED);
}

static void test_log_concurrent_replace(void **state) {
  /* Swap handlers while threads log: every destroy runs once, after its last use. */
  static int counters[50];
  pthread_t t[2];
  memset(counters, 0, sizeof(counters));
  for (int i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, log_thread, NULL);
  for (int i = 0; i < 50; i++)
    vmctr_log_set_handler(VMCTR_LOG_DEBUG, count_cb, &counters[i], NULL);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(vmctr_log_set_handler(VMCTR_LOG_DEBUG, NULL, NULL, NULL), 0);
  int total = 0;
  for (int i = 0; i < 50; i++)
    total += counters[i];
  assert_true(total <= 4000);
}

/* ---- buffers ---- */

static void test_strbuf(void **state) {
  vmctr__strbuf sb = {0};
  char *s;
  for (int i = 0; i < 1000; i++)
    vmctr__sb_printf(&sb, "%d,", i % 10);
  vmctr__sb_puts(&sb, "end");
  s = vmctr__sb_steal(&sb);
  assert_non_null(s);
  assert_int_equal(strlen(s), 2003);
  assert_memory_equal(s, "0,1,2,", 6);
  assert_string_equal(s + 2000, "end");
  free(s);
  assert_null(sb.buf);
  /* Nothing appended: an empty string, not an unterminated buffer. */
  s = vmctr__sb_steal(&sb);
  assert_non_null(s);
  assert_string_equal(s, "");
  free(s);
}

static void test_strv(void **state) {
  char **v = calloc(3, sizeof(char *));
  v[0] = vmctr__strdup("a");
  v[1] = vmctr__strdup("b");
  assert_int_equal(vmctr__strv_len(v), 2);
  vmctr_strv_free(v);
  vmctr_strv_free(NULL);
  vmctr_free(NULL);
  assert_null(vmctr__strdup(NULL));
}

static void test_strv_builder(void **state) {
  vmctr__strv b = VMCTR__STRV_INIT;
  char *const more[] = {(char *)"x", (char *)"y", NULL};
  char **v = NULL;
  vmctr__strv_add(&b, "a");
  vmctr__strv_take(&b, strdup("b"));
  vmctr__strv_addf(&b, "-m=%d", 42);
  vmctr__strv_addv(&b, more);
  vmctr__strv_addv(&b, NULL);
  for (int i = 0; i < 100; i++) /* past several reallocations */
    vmctr__strv_addf(&b, "%d", i);
  assert_int_equal(vmctr__strv_finish(&b, &v), 0);
  assert_null(b.v);
  assert_int_equal(b.n, 0);
  assert_int_equal(vmctr__strv_len(v), 105);
  assert_string_equal(v[0], "a");
  assert_string_equal(v[1], "b");
  assert_string_equal(v[2], "-m=42");
  assert_string_equal(v[3], "x");
  assert_string_equal(v[4], "y");
  assert_string_equal(v[104], "99");
  assert_null(v[105]);
  vmctr__strv_free(v);
}

static void test_strv_builder_empty(void **state) {
  vmctr__strv b = VMCTR__STRV_INIT;
  char **v = NULL;
  assert_int_equal(vmctr__strv_finish(&b, &v), 0);
  assert_non_null(v);
  assert_null(v[0]);
  vmctr__strv_free(v);
}

static void test_strv_builder_failure(void **state) {
  vmctr__strv b = VMCTR__STRV_INIT;
  char **v = (char **)"untouched";
  vmctr__strv_add(&b, "a");
  vmctr__strv_take(&b, NULL); /* a failed allocation upstream */
  assert_true(b.failed);
  vmctr__strv_add(&b, "b");   /* ignored, nothing leaks */
  vmctr__strv_take(&b, strdup("c"));
  vmctr_error_clear();
  assert_int_equal(vmctr__strv_finish(&b, &v), VMCTR_ENOMEM);
  assert_int_equal(vmctr_error_last()->code, VMCTR_ENOMEM);
  assert_ptr_equal(v, (char **)"untouched");
  assert_null(b.v);
  assert_false(b.failed);

  vmctr__strv_add(&b, NULL);
  assert_true(b.failed);
  vmctr__strv_clear(&b);
  assert_false(b.failed);
  vmctr__strv_add(&b, "reusable after clear");
  assert_int_equal(vmctr__strv_finish(&b, &v), 0);
  assert_int_equal(vmctr__strv_len(v), 1);
  vmctr__strv_free(v);
}

/* ---- time ---- */

static void test_time_deadlines(void **state) {
  struct timespec ts;
  int64_t t0 = vmctr__now_ms(), d;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  assert_true(llabs((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0) < 100);
  assert_int_equal(vmctr__deadline_ms(-1), -1);
  assert_int_equal(vmctr__deadline_ms(-5), -1);
  assert_int_equal(vmctr__remaining_ms(-1), -1);
  d = vmctr__deadline_ms(1000);
  assert_true(d >= t0 + 1000 && d < t0 + 1100);
  assert_true(vmctr__remaining_ms(d) > 900 && vmctr__remaining_ms(d) <= 1000);
  assert_int_equal(vmctr__remaining_ms(vmctr__deadline_ms(0)), 0);
  assert_int_equal(vmctr__remaining_ms(t0 - 5000), 0);
  assert_int_equal(vmctr__remaining_ms(t0 + (int64_t)INT_MAX * 4), INT_MAX);
}

static void test_time_abstime_condwait(void **state) {
  pthread_condattr_t ca;
  pthread_cond_t cond;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  struct timespec ts;
  int64_t t0 = vmctr__now_ms(), d = t0 + 150, dt;
  vmctr__abstime_ms(&ts, d);
  assert_int_equal((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, d);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_lock(&m);
  while (pthread_cond_timedwait(&cond, &m, &ts) != ETIMEDOUT) {
  }
  pthread_mutex_unlock(&m);
  dt = vmctr__now_ms() - t0;
  assert_true(dt >= 149 && dt < 2000);
  pthread_cond_destroy(&cond);
}

/* ---- files ---- */

static void write_raw(const char *path, const char *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static void test_read_file_bounds(void **state) {
  char path[512], *buf = NULL;
  size_t len = 0;
  snprintf(path, sizeof(path), "%s/f", tmpdir);
  write_raw(path, "hello", 5, 0644);
  assert_int_equal(vmctr__read_file(path, 5, &buf, &len), 0);
  assert_int_equal(len, 5);
  assert_string_equal(buf, "hello");
  free(buf);
  buf = NULL;
  assert_int_equal(vmctr__read_file(path, 4, &buf, &len), VMCTR_ETOOBIG);
  assert_null(buf);
  assert_non_null(strstr(vmctr_error_last()->message, path));
  snprintf(path, sizeof(path), "%s/missing", tmpdir);
  assert_int_equal(vmctr__read_file(path, 100, &buf, &len), VMCTR_ENOENT);
  assert_int_equal(vmctr__read_file(tmpdir, 100, &buf, &len), VMCTR_EINVAL);
  /* Non-regular files are bounded by what is read, not by stat. */
  assert_int_equal(vmctr__read_file("/dev/zero", 1000, &buf, &len), VMCTR_ETOOBIG);
  assert_null(buf);
}

static void test_write_atomic(void **state) {
  char path[512], *buf = NULL;
  struct stat st;
  snprintf(path, sizeof(path), "%s/atomic.json", tmpdir);
  assert_int_equal(vmctr__write_file_atomic(path, "one", 3, 0644), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  assert_int_equal(chmod(path, 0600), 0);
  assert_int_equal(vmctr__write_file_atomic(path, "two!", 4, 0644), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600); /* an existing file keeps its mode */
  assert_int_equal(vmctr__read_file(path, 100, &buf, NULL), 0);
  assert_string_equal(buf, "two!");
  free(buf);
  assert_int_equal(tu_count_entries(tmpdir), 1); /* no temp file left */
}

static void test_write_atomic_failure_leaves_nothing(void **state) {
  char path[512], sub[512];
  snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
  assert_int_equal(mkdir(sub, 0755), 0);
  /* The target is a directory: refused before any temp file exists. */
  assert_int_equal(vmctr__write_file_atomic(sub, "x", 1, 0644), VMCTR_EINVAL);
  assert_int_equal(tu_count_entries(tmpdir), 1);
  /* A missing parent directory. */
  snprintf(path, sizeof(path), "%s/nope/file", tmpdir);
  assert_int_equal(vmctr__write_file_atomic(path, "x", 1, 0644), VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, path));
  assert_int_equal(tu_count_entries(tmpdir), 1);
  assert_int_equal(tu_count_entries(sub), 0);
}

static void test_write_atomic_write_error_keeps_old(void **state) {
  /* A real write failure after the temp file exists: a file-size limit makes
   * write() fail with EFBIG. The old file must survive, the temp must go. */
  char path[512], *buf = NULL, big[4096];
  struct rlimit old, lim;
  void (*oldsig)(int);
  int r;
  snprintf(path, sizeof(path), "%s/keep.json", tmpdir);
  assert_int_equal(vmctr__write_file_atomic(path, "old", 3, 0644), 0);
  memset(big, 'n', sizeof(big));
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 1024;
  oldsig = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  r = vmctr__write_file_atomic(path, big, sizeof(big), 0644);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, oldsig);
  assert_int_equal(r, VMCTR_ETOOBIG);
  assert_int_equal(vmctr_error_last()->os_errno, EFBIG);
  assert_int_equal(vmctr__read_file(path, 100, &buf, NULL), 0);
  assert_string_equal(buf, "old");
  free(buf);
  assert_int_equal(tu_count_entries(tmpdir), 1);
}

static void test_read_line(void **state) {
  char path[512], buf[16];
  snprintf(path, sizeof(path), "%s/param", tmpdir);
  write_raw(path, "Y\n", 2, 0644);
  assert_int_equal(vmctr__read_line(path, buf, sizeof(buf)), 1);
  assert_string_equal(buf, "Y");
  snprintf(path, sizeof(path), "%s/none", tmpdir);
  assert_int_equal(vmctr__read_line(path, buf, sizeof(buf)), -ENOENT);
}

static void test_find_executable(void **state) {
  char *p = vmctr__find_executable("sh");
  assert_non_null(p);
  assert_int_equal(p[0], '/');
  free(p);
  p = vmctr__find_executable("/bin/sh");
  assert_string_equal(p, "/bin/sh");
  free(p);
  assert_null(vmctr__find_executable("vmctr-no-such-program-xyz"));
  assert_null(vmctr__find_executable("/nonexistent/sh"));
  assert_null(vmctr__find_executable(""));
}

/* ---- JSON helpers ---- */

static void test_json_parse_ok(void **state) {
  cJSON *j = NULL;
  uint64_t u;
  bool b;
  const char *s;
  const char *text = "{\"a\": 5, \"b\": true, \"c\": \"x\", \"d\": {\"a\": 1}}  \n";
  assert_int_equal(vmctr__json_parse(text, strlen(text), "t", &j), 0);
  assert_int_equal(vmctr__json_as_uint(cJSON_GetObjectItem(j, "a"), "t", 10, &u), 0);
  assert_int_equal(u, 5);
  assert_int_equal(vmctr__json_as_uint(cJSON_GetObjectItem(j, "a"), "t", 4, &u), VMCTR_EPARSE);
  assert_int_equal(vmctr__json_as_bool(cJSON_GetObjectItem(j, "b"), "t", &b), 0);
  assert_true(b);
  assert_int_equal(vmctr__json_as_string(cJSON_GetObjectItem(j, "c"), "t", &s), 0);
  assert_string_equal(s, "x");
  assert_int_equal(vmctr__json_as_string(cJSON_GetObjectItem(j, "a"), "t", &s), VMCTR_EPARSE);
  assert_non_null(strstr(vmctr_error_last()->message, "key \"a\": expected a string, got a number"));
  assert_int_equal(vmctr__json_as_bool(cJSON_GetObjectItem(j, "c"), "t", &b), VMCTR_EPARSE);
  cJSON_Delete(j);
}

static void expect_parse_error(const char *text, size_t len, const char *needle) {
  cJSON *j = NULL;
  assert_int_equal(vmctr__json_parse(text, len, "doc", &j), VMCTR_EPARSE);
  assert_null(j);
  if (!strstr(vmctr_error_last()->message, needle))
    fail_msg("message '%s' lacks '%s'", vmctr_error_last()->message, needle);
}

static void test_json_parse_errors(void **state) {
  expect_parse_error("", 0, "empty input");
  expect_parse_error("{\n  \"a\": 1,\n  \"b\": ]\n}", 21, "line 3, column");
  expect_parse_error("{\"a\":1} x", 9, "line 1, column");
  expect_parse_error("{\"a\":1}\0{}", 10, "NUL byte");
  expect_parse_error("{\"a\":1, \"a\":2}", 14, "key \"a\" appears more than once");
  expect_parse_error("[{\"k\":{\"z\":1,\"z\":1}}]", 21, "key \"z\" appears more than once");
  expect_parse_error("{\"a\": ", 6, "unexpected end");
  expect_parse_error("{\"a\": \"x\\u0000y\"}", 16, "line 1, column 9: \\u0000");
  {
    /* An escaped backslash followed by the text u0000 is fine. */
    cJSON *j = NULL;
    const char *ok = "{\"a\": \"x\\\\u0000\"}";
    assert_int_equal(vmctr__json_parse(ok, strlen(ok), "doc", &j), 0);
    assert_string_equal(cJSON_GetObjectItem(j, "a")->valuestring, "x\\u0000");
    cJSON_Delete(j);
  }
}

static void test_json_uint_ranges(void **state) {
  const char *cases[] = {"-1", "1.5", "1e300", "9007199254740993000", "\"5\"", "null"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char text[64];
    cJSON *j = NULL;
    uint64_t u = 42;
    snprintf(text, sizeof(text), "{\"n\": %s}", cases[i]);
    assert_int_equal(vmctr__json_parse(text, strlen(text), "t", &j), 0);
    assert_int_equal(vmctr__json_as_uint(cJSON_GetObjectItem(j, "n"), "t", UINT64_MAX, &u),
                     VMCTR_EPARSE);
    assert_int_equal(u, 42);
    assert_non_null(strstr(vmctr_error_last()->message, "\"n\""));
    cJSON_Delete(j);
  }
}

/* ---- child processes ---- */

static void assert_no_children(void) {
  /* Every child was reaped: waitpid has nothing left to report. */
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static void test_run_capture(void **state) {
  char *out = NULL;
  int st = -1;
  char *echo[] = {(char *)"/bin/sh", (char *)"-c", (char *)"echo out; echo err >&2; exit 3", NULL};
  assert_int_equal(vmctr__run_capture(echo, 5000, 1024, &out, &st), 0);
  assert_int_equal(st, 3);
  assert_non_null(strstr(out, "out\n"));
  assert_non_null(strstr(out, "err\n"));
  free(out);
  assert_no_children();
}

static void test_run_capture_bounded(void **state) {
  char *out = NULL;
  int st = -1;
  char *yes[] = {(char *)"/bin/sh", (char *)"-c", (char *)"head -c 100000 /dev/zero | tr '\\0' x", NULL};
  assert_int_equal(vmctr__run_capture(yes, 5000, 100, &out, &st), 0);
  assert_int_equal(strlen(out), 100);
  free(out);
  assert_no_children();
}

static void test_run_capture_timeout_kills(void **state) {
  char *out = NULL;
  int st = -1;
  struct timespec a, b;
  char *slow[] = {(char *)"/bin/sleep", (char *)"30", NULL};
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(vmctr__run_capture(slow, 200, 100, &out, &st), VMCTR_ETIMEDOUT);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_null(out);
  /* Killed, not waited out: far less than the 30 s the child wanted. */
  assert_true(b.tv_sec - a.tv_sec < 10);
  assert_no_children();
}

static void test_run_capture_missing(void **state) {
  char *out = NULL;
  char *nope[] = {(char *)"/nonexistent/prog", NULL};
  assert_int_equal(vmctr__run_capture(nope, 1000, 100, &out, NULL), VMCTR_ENOENT);
  assert_null(out);
  assert_no_children();
}

static void test_run_capture_empty_and_blocking_output(void **state) {
  char *out = NULL;
  int st = -1;
  char *quiet[] = {(char *)"/bin/true", NULL};
  /* Several MB through the pipe: the child's end must block, not fail with
   * EAGAIN, while the parent catches up. */
  char *flood[] = {(char *)"/bin/sh", (char *)"-c",
                   (char *)"head -c 8388608 /dev/zero | tr '\\0' x; echo rc=$? >&2", NULL};
  assert_int_equal(vmctr__run_capture(quiet, 5000, 100, &out, &st), 0);
  assert_int_equal(st, 0);
  assert_string_equal(out, "");
  free(out);
  out = NULL;
  assert_int_equal(vmctr__run_capture(flood, 20000, 1 << 24, &out, &st), 0);
  assert_int_equal(st, 0);
  assert_int_equal(strlen(out), 8 * 1048576 + 5);
  assert_string_equal(out + 8 * 1048576, "rc=0\n");
  free(out);
  assert_no_children();
}

static void test_run_capture_signal_status(void **state) {
  char *out = NULL;
  int st = -1;
  char *killself[] = {(char *)"/bin/sh", (char *)"-c", (char *)"kill -9 $$", NULL};
  assert_int_equal(vmctr__run_capture(killself, 5000, 100, &out, &st), 0);
  assert_int_equal(st, 128 + SIGKILL);
  free(out);
  assert_no_children();
}

static void test_run_capture_closed_output_still_bounded(void **state) {
  /* The child closes its output and keeps running: EOF alone does not end
   * the wait, the deadline does, and the child is killed. */
  char *out = NULL;
  int st = -1;
  int64_t t0 = vmctr__now_ms();
  char *sneaky[] = {(char *)"/bin/sh", (char *)"-c",
                    (char *)"echo hi; exec >/dev/null 2>&1; sleep 30", NULL};
  assert_int_equal(vmctr__run_capture(sneaky, 300, 100, &out, &st), VMCTR_ETIMEDOUT);
  assert_null(out);
  assert_true(vmctr__now_ms() - t0 < 5000);
  assert_no_children();
}

static void test_run_capture_fds_not_inherited(void **state) {
  /* An fd the host left inheritable must not reach the child: it sees only
   * 0, 1, 2 and the fd ls opens for /proc/self/fd. */
  int leak[2];
  char *out = NULL;
  int st = -1, n = 0;
  char *ls[] = {(char *)"/bin/ls", (char *)"/proc/self/fd", NULL};
  assert_int_equal(pipe(leak), 0);
  assert_int_equal(vmctr__run_capture(ls, 5000, 4096, &out, &st), 0);
  assert_int_equal(st, 0);
  for (char *p = strtok(out, "\n"); p; p = strtok(NULL, "\n"))
    n++;
  assert_true(n <= 4);
  free(out);
  close(leak[0]);
  close(leak[1]);
  assert_no_children();
}

/* ---- event sets: the same cases against every implementation ---- */

typedef struct evimpl {
  const char *name;
  int (*new_)(vmctr__evset **);
  void (*free_)(vmctr__evset *);
  int (*fd)(const vmctr__evset *);
  int (*add)(vmctr__evset *, int);
  int (*del)(vmctr__evset *, int);
  void (*notify)(vmctr__evset *);
  void (*drain)(vmctr__evset *);
  int (*wait)(vmctr__evset *, int);
} evimpl;

#define EVIMPL(kind)                                                                          \
  {#kind,                     vmctr__evset_##kind##_new,    vmctr__evset_##kind##_free,       \
   vmctr__evset_##kind##_fd,  vmctr__evset_##kind##_add,    vmctr__evset_##kind##_del,        \
   vmctr__evset_##kind##_notify, vmctr__evset_##kind##_drain, vmctr__evset_##kind##_wait}

#ifdef VMCTR__EVSET_EPOLL
static const evimpl ev_epoll = EVIMPL(epoll);
#endif
static const evimpl ev_poll = EVIMPL(poll);

/* Readable now, by a plain poll of the set's fd (what an application does). */
static bool ev_readable(const evimpl *ev, vmctr__evset *s) {
  struct pollfd p = {.fd = ev->fd(s), .events = POLLIN};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru); /* every thread, the watcher included */
  return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* CPU spent by the whole process while it sleeps ms: an implementation that
 * spins on a source that stays readable shows up here. */
static int64_t idle_cpu_us(int ms) {
  int64_t c0 = cpu_us();
  sleep_ms(ms);
  return cpu_us() - c0;
}

static void test_ev_notify_drain(void **state) {
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  assert_int_equal(ev->new_(&s), 0);
  assert_true(ev->fd(s) >= 0);
  assert_int_equal(ev->wait(s, 0), 0);
  assert_false(ev_readable(ev, s));
  ev->notify(s);
  assert_true(ev_readable(ev, s));
  assert_int_equal(ev->wait(s, 0), 1);
  assert_int_equal(ev->wait(s, 0), 1); /* waiting does not consume */
  ev->notify(s);
  ev->notify(s);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 0), 0);
  ev->drain(s); /* nothing pending: harmless */
  assert_int_equal(ev->wait(s, 0), 0);
  for (int i = 0; i < 100000; i++) /* far more than a pipe holds */
    ev->notify(s);
  assert_int_equal(ev->wait(s, 0), 1);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 0), 0);
  ev->free_(s);
  ev->free_(NULL);
}

struct notifier {
  const evimpl *ev;
  vmctr__evset *s;
  int delay_ms;
};

static void *notify_later(void *arg) {
  struct notifier *n = arg;
  sleep_ms(n->delay_ms);
  n->ev->notify(n->s);
  return NULL;
}

static void test_ev_notify_from_thread(void **state) {
  const evimpl *ev = *state;
  struct notifier n = {ev, NULL, 50};
  pthread_t t;
  int64_t t0;
  assert_int_equal(ev->new_(&n.s), 0);
  t0 = vmctr__now_ms();
  assert_int_equal(pthread_create(&t, NULL, notify_later, &n), 0);
  assert_int_equal(ev->wait(n.s, -1), 1);
  assert_true(vmctr__now_ms() - t0 >= 40);
  pthread_join(t, NULL);
  ev->drain(n.s);
  assert_int_equal(ev->wait(n.s, 0), 0);
  ev->free_(n.s);
}

static void test_ev_pipe_readable(void **state) {
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  int p[2];
  char c;
  assert_int_equal(pipe(p), 0);
  assert_int_equal(ev->new_(&s), 0);
  assert_int_equal(ev->add(s, p[0]), 0);
  assert_int_equal(ev->wait(s, 30), 0);
  for (int round = 0; round < 3; round++) { /* and again, once drained */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ev->wait(s, 2000), 1);
    ev->drain(s); /* level-triggered: the data is still there */
    assert_int_equal(ev->wait(s, 0), 1);
    assert_true(ev_readable(ev, s));
    assert_int_equal(read(p[0], &c, 1), 1);
    ev->drain(s);
    assert_int_equal(ev->wait(s, 50), 0);
  }
  assert_int_equal(ev->add(s, p[0]), VMCTR_EEXIST);
  assert_int_equal(ev->add(s, -1), vmctr__code_from_errno(EBADF));
  ev->free_(s);
  close(p[0]);
  close(p[1]);
}

static void test_ev_del(void **state) {
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  int a[2], b[2];
  assert_int_equal(pipe(a), 0);
  assert_int_equal(pipe(b), 0);
  assert_int_equal(ev->new_(&s), 0);
  assert_int_equal(ev->add(s, a[0]), 0);
  assert_int_equal(ev->add(s, b[0]), 0);
  assert_int_equal(write(a[1], "x", 1), 1);
  assert_int_equal(ev->wait(s, 2000), 1);
  assert_int_equal(ev->del(s, a[0]), 0);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 50), 0); /* a still has data, but is not watched */
  assert_int_equal(ev->del(s, a[0]), VMCTR_ENOENT);
  /* b is still watched after a's removal */
  assert_int_equal(write(b[1], "y", 1), 1);
  assert_int_equal(ev->wait(s, 2000), 1);
  assert_int_equal(ev->del(s, b[0]), 0);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 50), 0);
  /* and can come back */
  assert_int_equal(ev->add(s, a[0]), 0);
  assert_int_equal(ev->wait(s, 2000), 1);
  ev->free_(s);
  for (int i = 0; i < 2; i++) {
    close(a[i]);
    close(b[i]);
  }
}

/* Something that stays readable for ever (as a pidfd after its process
 * exited): the set stays readable and no CPU is burnt meanwhile. */
static void check_stays_readable(const evimpl *ev, int fd) {
  vmctr__evset *s = NULL;
  int64_t cpu;
  assert_int_equal(ev->new_(&s), 0);
  assert_int_equal(ev->add(s, fd), 0);
  assert_int_equal(ev->wait(s, 2000), 1);
  cpu = idle_cpu_us(200);
  assert_true(ev_readable(ev, s));
  ev->drain(s);
  assert_int_equal(ev->wait(s, 0), 1);
  cpu += idle_cpu_us(200);
  /* A spinning watcher would use ~400 ms here; allow generous noise. */
  if (cpu >= 60000)
    fail_msg("%s: %lld us of CPU in 400 ms idle with a readable source", ev->name,
             (long long)cpu);
  for (int i = 0; i < 5; i++) {
    ev->drain(s);
    assert_int_equal(ev->wait(s, 0), 1);
  }
  assert_int_equal(ev->del(s, fd), 0);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 50), 0);
  ev->free_(s);
}

static void test_ev_stays_readable_no_spin(void **state) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[1]); /* the reader sees POLLHUP for ever */
  check_stays_readable(*state, p[0]);
  close(p[0]);
}

static void test_ev_pidfd_no_spin(void **state) {
  vmctr__child c = VMCTR__CHILD_INIT;
  char *argv[] = {(char *)"/bin/true", NULL};
  assert_int_equal(vmctr__child_spawn(&c, "true", "/bin/true", argv, NULL, NULL, 0), 0);
  assert_int_equal(vmctr__child_wait(&c, 5000), 0);
  /* Reaped, and its pidfd stays readable. */
  check_stays_readable(*state, c.pidfd);
  vmctr__child_release(&c);
  assert_no_children();
}

static void test_ev_closed_fd_no_spin(void **state) {
  /* A caller that closes a watched fd without del: no endless wake-ups. */
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(ev->new_(&s), 0);
  assert_int_equal(ev->add(s, p[0]), 0);
  close(p[0]);
  close(p[1]);
  sleep_ms(20);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 50), 0);
  assert_true(idle_cpu_us(200) < 60000);
  ev->free_(s);
}

#define MANY 300

static void test_ev_many_fds(void **state) {
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  int p[MANY][2];
  char c;
  assert_int_equal(ev->new_(&s), 0);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(pipe(p[i]), 0);
    assert_int_equal(ev->add(s, p[i][0]), 0);
  }
  assert_int_equal(ev->wait(s, 30), 0);
  for (int k = 0; k < MANY; k += 37) {
    assert_int_equal(write(p[k][1], "x", 1), 1);
    assert_int_equal(ev->wait(s, 2000), 1);
    ev->drain(s);
    assert_int_equal(read(p[k][0], &c, 1), 1);
    ev->drain(s);
    assert_int_equal(ev->wait(s, 20), 0);
  }
  /* Every other fd removed; only the watched half wakes the set. */
  for (int i = 0; i < MANY; i += 2)
    assert_int_equal(ev->del(s, p[i][0]), 0);
  assert_int_equal(write(p[100][1], "x", 1), 1);
  ev->drain(s);
  assert_int_equal(ev->wait(s, 50), 0);
  assert_int_equal(write(p[MANY - 1][1], "x", 1), 1);
  assert_int_equal(ev->wait(s, 2000), 1);
  ev->free_(s);
  for (int i = 0; i < MANY; i++) {
    close(p[i][0]);
    close(p[i][1]);
  }
}

static void test_ev_free_with_fds_watched(void **state) {
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  int p[2], q[2];
  char c;
  assert_int_equal(pipe(p), 0);
  assert_int_equal(pipe(q), 0);
  close(q[1]);
  assert_int_equal(ev->new_(&s), 0);
  assert_int_equal(ev->add(s, p[0]), 0);
  assert_int_equal(ev->add(s, q[0]), 0); /* one idle, one readable */
  assert_int_equal(ev->wait(s, 2000), 1);
  ev->notify(s);
  ev->free_(s);
  /* The watched fds are the caller's: still open and working. */
  assert_true(fcntl(p[0], F_GETFD) >= 0);
  assert_int_equal(write(p[1], "z", 1), 1);
  assert_int_equal(read(p[0], &c, 1), 1);
  assert_int_equal(c, 'z');
  assert_int_equal(read(q[0], &c, 1), 0);
  close(p[0]);
  close(p[1]);
  close(q[0]);
}

static void on_usr1(int sig) { (void)sig; }

struct interrupter {
  pthread_t target;
  int delay_ms;
};

static void *interrupt_later(void *arg) {
  struct interrupter *i = arg;
  sleep_ms(i->delay_ms);
  pthread_kill(i->target, SIGUSR1);
  return NULL;
}

static void test_ev_wait_timeouts(void **state) {
  const evimpl *ev = *state;
  vmctr__evset *s = NULL;
  struct sigaction sa = {.sa_handler = on_usr1}, old; /* no SA_RESTART: poll gets EINTR */
  struct interrupter in = {pthread_self(), 50};
  pthread_t t;
  int64_t t0, dt;
  assert_int_equal(ev->new_(&s), 0);
  t0 = vmctr__now_ms();
  assert_int_equal(ev->wait(s, 0), 0);
  assert_true(vmctr__now_ms() - t0 < 50);
  t0 = vmctr__now_ms();
  assert_int_equal(ev->wait(s, 120), 0);
  dt = vmctr__now_ms() - t0;
  assert_true(dt >= 115 && dt < 2000);
  /* A signal in the middle neither ends the wait early nor stretches it. */
  sigaction(SIGUSR1, &sa, &old);
  assert_int_equal(pthread_create(&t, NULL, interrupt_later, &in), 0);
  t0 = vmctr__now_ms();
  assert_int_equal(ev->wait(s, 200), 0);
  dt = vmctr__now_ms() - t0;
  pthread_join(t, NULL);
  sigaction(SIGUSR1, &old, NULL);
  assert_true(dt >= 195 && dt < 2000);
  ev->free_(s);
}

/* One entry per implementation, named after it. */
#define EV_TEST(f, impl) {#f "/" #impl, f, NULL, NULL, (void *)&ev_##impl}
#ifdef VMCTR__EVSET_EPOLL
#define EV_TESTS(f) EV_TEST(f, epoll), EV_TEST(f, poll)
#else
#define EV_TESTS(f) EV_TEST(f, poll)
#endif

static void test_ev_generic_names(void **state) {
  /* The generic names reach one of the implementations. */
  vmctr__evset *s = NULL;
  assert_int_equal(vmctr__evset_new(&s), 0);
  vmctr__evset_notify(s);
  assert_int_equal(vmctr__evset_wait(s, 0), 1);
  vmctr__evset_drain(s);
  assert_int_equal(vmctr__evset_wait(s, 0), 0);
  assert_true(vmctr__evset_fd(s) >= 0);
  vmctr__evset_free(s);
}

/* ---- version ---- */

static void test_version(void **state) {
  char buf[32];
  uint32_t v = vmctr_version();
  snprintf(buf, sizeof(buf), "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
  assert_string_equal(buf, vmctr_version_string());
  assert_string_equal(VMCTR_VERSION_STRING, vmctr_version_string());
  assert_int_equal(v, VMCTR_VERSION_HEX);
  assert_int_equal(vmctr_has_feature("caps"), 1);
  assert_int_equal(vmctr_has_feature("bootcfg"), 1);
  assert_int_equal(vmctr_has_feature("image"), 1);
  assert_int_equal(vmctr_has_feature("container"), vmctr_has_feature("backend.qemu") || vmctr_has_feature("backend.vz"));
  assert_int_equal(vmctr_has_feature("network"), vmctr_has_feature("container"));
  assert_int_equal(vmctr_has_feature("registry"), 1);
  assert_int_equal(vmctr_has_feature("template"), vmctr_has_feature("backend.qemu"));
  assert_int_equal(vmctr_has_feature("no.such.feature"), 0);
  assert_int_equal(vmctr_has_feature(NULL), VMCTR_EINVAL);
#ifdef __linux__
  assert_int_equal(vmctr_has_feature("backend.vz"), 0);
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_strerror_all_codes),
    cmocka_unit_test(test_error_fixed_values),
    cmocka_unit_test(test_error_last_and_clear),
    cmocka_unit_test(test_error_long_message_truncated),
    cmocka_unit_test(test_errno_mapping),
    cmocka_unit_test(test_error_thread_local),
    cmocka_unit_test(test_log_handler),
    cmocka_unit_test(test_log_bad_level),
    cmocka_unit_test(test_log_concurrent_replace),
    cmocka_unit_test(test_strbuf),
    cmocka_unit_test(test_strv),
    cmocka_unit_test(test_strv_builder),
    cmocka_unit_test(test_strv_builder_empty),
    cmocka_unit_test(test_strv_builder_failure),
    cmocka_unit_test(test_time_deadlines),
    cmocka_unit_test(test_time_abstime_condwait),
    cmocka_unit_test_setup_teardown(test_read_file_bounds, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown(test_write_atomic, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown(test_write_atomic_failure_leaves_nothing, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown(test_write_atomic_write_error_keeps_old, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown(test_read_line, setup_tmp, teardown_tmp),
    cmocka_unit_test(test_find_executable),
    cmocka_unit_test(test_json_parse_ok),
    cmocka_unit_test(test_json_parse_errors),
    cmocka_unit_test(test_json_uint_ranges),
    cmocka_unit_test(test_run_capture),
    cmocka_unit_test(test_run_capture_bounded),
    cmocka_unit_test(test_run_capture_timeout_kills),
    cmocka_unit_test(test_run_capture_missing),
    cmocka_unit_test(test_run_capture_empty_and_blocking_output),
    cmocka_unit_test(test_run_capture_signal_status),
    cmocka_unit_test(test_run_capture_closed_output_still_bounded),
    cmocka_unit_test(test_run_capture_fds_not_inherited),
    EV_TESTS(test_ev_notify_drain),
    EV_TESTS(test_ev_notify_from_thread),
    EV_TESTS(test_ev_pipe_readable),
    EV_TESTS(test_ev_del),
    EV_TESTS(test_ev_stays_readable_no_spin),
    EV_TESTS(test_ev_pidfd_no_spin),
    EV_TESTS(test_ev_closed_fd_no_spin),
    EV_TESTS(test_ev_many_fds),
    EV_TESTS(test_ev_free_with_fds_watched),
    EV_TESTS(test_ev_wait_timeouts),
    cmocka_unit_test(test_ev_generic_names),
    cmocka_unit_test(test_version),
  };
  return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
