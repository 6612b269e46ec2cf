/* SPDX-License-Identifier: MIT */
/* Integration: seccomp programs that vmctr-oci's compiler
 * (examples/oci/seccomp.c, libseccomp) makes from OCI profiles, installed by
 * the library (vmctr_process_config_set_seccomp_filter) in a container in a
 * real VM, and the container's pids limit (vmctr_container_config_set_pids_limit).
 * One container: its init denies mkdir with EPERM (installed while
 * privileged, no no_new_privs), an exec'd process gets ENOSYS (errnoRet 38,
 * with no_new_privs: installed last), a Docker-shaped default profile runs an
 * exec'd shell, a program for aarch64 kills an exec'd
 * process on this x86_64 guest as the kernel does, and a shell that forks 40
 * sleeps stops at the limit of 20 while the container goes on. Skips without
 * a guest kernel (VMCTR_TEST_KERNEL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <vmctr.h>

#include "../../examples/oci/seccomp.h"
#include "vmtest.h"

#define PIDS_LIMIT 20

static struct vmtest F;
static vmctr_container *C;
static struct vmtest_rootfs Root;
static struct vmtest_out InitOut;

/* An OCI profile, compiled for arch. */
static void compile(const char *json, const char *arch, void **prog, size_t *len) {
  char err[512];
  cJSON *j = cJSON_Parse(json);
  assert_non_null(j);
  int r = oci_seccomp_compile(j, arch, prog, len, err, sizeof(err));
  if (r < 0)
    fprintf(stderr, "# compile: %s\n", err);
  assert_int_equal(r, 0);
  cJSON_Delete(j);
}

static const char deny_mkdir_eperm[] =
  "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
  "\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
static const char deny_mkdir_enosys[] =
  "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
  "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}";

/* Wait until out's stdout holds needle (or timeout_s passes). */
static bool wait_output(struct vmtest_out *o, const char *needle, int timeout_s) {
  for (int i = 0; i < timeout_s * 10; i++) {
    pthread_mutex_lock(&o->lock);
    bool found = strstr(o->buf, needle) != NULL;
    pthread_mutex_unlock(&o->lock);
    if (found)
      return true;
    usleep(100000);
  }
  return false;
}

static int setup(void **state) {
  (void)state;
  if (vmtest_setup(&F, "vmctr-test-oci-sc") < 0)
    return -1;
  if (vmtest_rootfs(&F, NULL, "oci-seccomp", &Root) < 0)
    return -1;
  vmtest_out_init(&InitOut);
  /* The init: its mkdir fails, the rest works; then it stays. */
  static const char *const argv[] = {
    "sh", "-c", "mkdir /tmp/x; echo mkdir=$?; ls / >/dev/null && echo ls-ok; "
                "[ -d /tmp/x ] || echo absent; echo init-ready; exec sleep 3600"};
  void *prog;
  size_t len;
  compile(deny_mkdir_eperm, "x86_64", &prog, &len);
  printf("# init's program: %zu instructions\n", len / 8);
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  if (vmctr_bootcfg_new(&b) < 0 || vmctr_bootcfg_set_kernel(b, F.kernel) < 0 ||
      vmctr_process_config_new(&p) < 0 || vmctr_process_config_set_args(p, argv, 3) < 0 ||
      vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                     VMCTR_STDIO_CALLBACK) < 0 ||
      vmctr_process_config_set_output_callback(p, vmtest_collect, &InitOut, NULL) < 0 ||
      vmctr_process_config_set_seccomp_filter(p, prog, len) < 0 ||
      vmctr_container_config_new(&cfg) < 0 || vmctr_container_config_set_image(cfg, F.image) < 0 ||
      vmctr_container_config_set_process(cfg, p) < 0 ||
      vmctr_container_config_set_pids_limit(cfg, PIDS_LIMIT) < 0) {
    fprintf(stderr, "# config: %s\n", vmctr_error_last()->message);
    return -1;
  }
  free(prog); /* copied */
  int r = vmctr_container_new(&C, "oci-seccomp", Root.mount, b, cfg);
  if (r == 0 && (r = vmctr_container_start(C)) < 0)
    fprintf(stderr, "# start: %s\n", vmctr_error_last()->message);
  else if (r < 0)
    fprintf(stderr, "# create: %s\n", vmctr_error_last()->message);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  return r < 0 ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  vmctr_container_free(C);
  vmtest_rootfs_free(&Root);
  return vmtest_teardown(&F);
}

/* Run argv in the container with prog (NULL: none); its status and output. */
static void exec_run(const char *const *argv, size_t argc, const void *prog, size_t len, bool nnp,
                     struct vmtest_out *o, int32_t *code, int32_t *sig) {
  vmctr_process_config *p;
  vmctr_process *proc;
  vmtest_out_init(o);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, argc), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, o, NULL), 0);
  assert_int_equal(vmctr_process_config_set_no_new_privileges(p, nnp), 0);
  if (prog)
    assert_int_equal(vmctr_process_config_set_seccomp_filter(p, prog, len), 0);
  int r = vmctr_container_exec(C, p, &proc);
  if (r < 0)
    fprintf(stderr, "# exec %s: %s\n", argv[0], vmctr_error_last()->message);
  assert_int_equal(r, 0);
  assert_int_equal(vmctr_process_wait(proc, 120000, code, sig), 0);
  fprintf(stderr, "# exec %s: code %d signal %d\n# stdout: %s\n# stderr: %s\n", argv[argc - 1],
          *code, *sig, o->buf, o->err);
  vmctr_process_free(proc);
  vmctr_process_config_free(p);
}

static void init_alive(void) {
  int32_t code, sig;
  assert_int_equal(vmctr_process_wait(vmctr_container_init_process(C), 0, &code, &sig),
                   VMCTR_ETIMEDOUT);
}

static void test_init_denied(void **state) {
  (void)state;
  bool ready = wait_output(&InitOut, "init-ready", 120);
  fprintf(stderr, "# init: %s# stderr: %s\n", InitOut.buf, InitOut.err);
  assert_true(ready);
  assert_non_null(strstr(InitOut.buf, "mkdir=1\n"));
  assert_non_null(strstr(InitOut.err, "Operation not permitted"));
  assert_non_null(strstr(InitOut.buf, "ls-ok\n"));
  assert_non_null(strstr(InitOut.buf, "absent\n"));
  init_alive();
}

static void test_exec_enosys(void **state) {
  (void)state;
  static const char *const argv[] = {
    "sh", "-c", "mkdir /tmp/y; echo mkdir=$?; echo hello > /tmp/f && cat /tmp/f; "
                "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"};
  void *prog;
  size_t len;
  struct vmtest_out o;
  int32_t code, sig;
  compile(deny_mkdir_enosys, "x86_64", &prog, &len);
  exec_run(argv, 3, prog, len, true, &o, &code, &sig);
  free(prog);
  assert_int_equal(code, 0);
  assert_non_null(strstr(o.buf, "mkdir=1\n"));
  assert_non_null(strstr(o.err, "Function not implemented"));
  assert_non_null(strstr(o.buf, "hello\n"));
  assert_non_null(strstr(o.buf, "Seccomp:\t2\n"));
  assert_non_null(strstr(o.buf, "NoNewPrivs:\t1\n"));
  /* Without a filter, the default profile: mkdir works. */
  static const char *const argv2[] = {"sh", "-c", "mkdir /tmp/z && echo made"};
  exec_run(argv2, 3, NULL, 0, false, &o, &code, &sig);
  assert_int_equal(code, 0);
  assert_non_null(strstr(o.buf, "made\n"));
  init_alive();
}

static char *read_fixture(const char *name) {
  const char *src = getenv("VMCTR_TEST_SRCDIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/oci/%s", src ? src : ".", name);
  FILE *f = fopen(path, "re");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Docker's default profile shape (tests/oci/docker-default.json), without
 * no_new_privs: installed while privileged, it lets the ids and
 * capabilities be set and the shell run, and refuses what it leaves out. */
static void test_docker_profile(void **state) {
  (void)state;
  static const char *const argv[] = {
    "sh", "-c", "ls / >/dev/null && echo ls-ok; mkdir /tmp/d && echo made; "
                "unshare -U true 2>&1; echo unshare=$?; id -u"};
  void *prog;
  size_t len;
  struct vmtest_out o;
  int32_t code, sig;
  compile(read_fixture("docker-default.json"), "x86_64", &prog, &len);
  printf("# docker-like profile: %zu instructions\n", len / 8);
  exec_run(argv, 3, prog, len, false, &o, &code, &sig);
  free(prog);
  assert_int_equal(code, 0);
  assert_non_null(strstr(o.buf, "ls-ok\n"));
  assert_non_null(strstr(o.buf, "made\n"));
  assert_null(strstr(o.buf, "unshare=0\n"));
  assert_non_null(strstr(o.buf, "0\n"));
  init_alive();
}

/* A program for aarch64 on this x86_64 guest: its architecture check fails
 * and libseccomp's bad-architecture action (kill) applies, to the first
 * syscall after it is installed. */
static void test_wrong_arch(void **state) {
  (void)state;
  static const char *const argv[] = {"sh", "-c", "echo should-not-run"};
  void *prog;
  size_t len;
  struct vmtest_out o;
  int32_t code = -1, sig = -1;
  compile(deny_mkdir_enosys, "aarch64", &prog, &len);
  vmctr_process_config *p;
  vmctr_process *proc;
  vmtest_out_init(&o);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &o, NULL), 0);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, prog, len), 0);
  free(prog);
  int r = vmctr_container_exec(C, p, &proc);
  if (r == 0) {
    assert_int_equal(vmctr_process_wait(proc, 60000, &code, &sig), 0);
    fprintf(stderr, "# wrong arch: code %d signal %d, out \"%s\"\n", code, sig, o.buf);
    assert_int_equal(sig, SIGSYS);
    vmctr_process_free(proc);
  } else {
    fprintf(stderr, "# wrong arch refused at start: %s\n", vmctr_error_last()->message);
  }
  assert_null(strstr(o.buf, "should-not-run"));
  vmctr_process_config_free(p);
  init_alive();
}

/* 40 background sleeps against pids.max 20: the shell's forks fail at the
 * limit ("can't fork"), the count stays at it, and the container goes on. */
static void test_pids_limit(void **state) {
  (void)state;
  static const char *const max[] = {"cat", "/sys/fs/cgroup/pids.max"};
  static const char *const bomb[] = {
    "sh", "-c", "i=0; while [ $i -lt 40 ]; do i=$((i+1)); sleep 30 & echo started $i; done; "
                "echo all-started"};
  static const char *const current[] = {"cat", "/sys/fs/cgroup/pids.current"};
  static const char *const killall[] = {"killall", "sleep"};
  static const char *const alive[] = {"sh", "-c", "echo alive"};
  struct vmtest_out o;
  int32_t code, sig;
  char want[16];
  exec_run(max, 2, NULL, 0, false, &o, &code, &sig);
  snprintf(want, sizeof(want), "%d\n", PIDS_LIMIT);
  assert_string_equal(o.buf, want);
  exec_run(bomb, 3, NULL, 0, false, &o, &code, &sig);
  assert_non_null(strstr(o.err, "fork"));
  int started = 0;
  for (const char *s = o.buf; (s = strstr(s, "started ")); s++)
    started++;
  printf("# %d of 40 sleeps started under pids.max %d\n", started, PIDS_LIMIT);
  assert_true(started > 0);
  exec_run(current, 2, NULL, 0, false, &o, &code, &sig);
  int cur = atoi(o.buf);
  printf("# pids.current at the limit: %d\n", cur);
  /* The sleeps fill the cgroup; cat itself was moved in, which the
   * pids controller allows beyond the limit. */
  assert_true(cur >= PIDS_LIMIT - 2 && cur <= PIDS_LIMIT + 1);
  exec_run(killall, 2, NULL, 0, false, &o, &code, &sig);
  exec_run(alive, 3, NULL, 0, false, &o, &code, &sig);
  assert_int_equal(code, 0);
  assert_string_equal(o.buf, "alive\n");
  init_alive();
}

int main(void) {
  const char *k = getenv("VMCTR_TEST_KERNEL");
  if (!k || access(k, R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 0;
  }
#if !defined(__x86_64__)
  printf("1..0 # SKIP the programs are compiled for an x86_64 guest\n");
  return 0;
#endif
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_init_denied),
    cmocka_unit_test(test_exec_enosys),
    cmocka_unit_test(test_docker_profile),
    cmocka_unit_test(test_wrong_arch),
    cmocka_unit_test(test_pids_limit),
  };
  return cmocka_run_group_tests_name("oci-seccomp-vm", tests, setup, teardown);
}
