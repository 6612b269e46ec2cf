/* SPDX-License-Identifier: MIT */
/* Unit: vmctr-oci's linux.seccomp compiler (examples/oci/seccomp.c) with the
 * real libseccomp. Programs for an x86_64 guest are also installed in forked
 * children of this test (on an x86_64 host) and the kernel's answers to a
 * few syscalls checked; a Docker-shaped default profile
 * (tests/oci/docker-default.json) compiles for both guests; every malformed
 * field is refused with a message naming it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../../examples/oci/seccomp.h"

static char err[512];

/* Compile text for arch: 0 with the program, or -1 with err. */
static int compile(const char *text, const char *arch, void **prog, size_t *len) {
  cJSON *j = cJSON_Parse(text);
  assert_non_null(j);
  memset(err, 0, sizeof(err));
  int r = oci_seccomp_compile(j, arch, prog, len, err, sizeof(err));
  cJSON_Delete(j);
  if (r == 0) {
    assert_non_null(*prog);
    assert_true(*len > 0 && *len % sizeof(struct sock_filter) == 0);
    assert_true(*len / sizeof(struct sock_filter) <= BPF_MAXINSNS);
  } else {
    assert_null(*prog);
    assert_int_equal(*len, 0);
    assert_true(strlen(err) > 0);
  }
  return r;
}

/* The program compares the architecture with audit: a JEQ on that constant
 * somewhere after a load of seccomp_data.arch. */
static bool checks_arch(const void *prog, size_t len, uint32_t audit) {
  const struct sock_filter *f = prog;
  bool loaded = false;
  for (size_t i = 0; i < len / sizeof(*f); i++) {
    if (f[i].code == (BPF_LD | BPF_W | BPF_ABS) && f[i].k == offsetof(struct seccomp_data, arch))
      loaded = true;
    if (loaded && f[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && f[i].k == audit)
      return true;
  }
  return false;
}

/* Install prog in a forked child and make one syscall there: the errno it
 * got (0: success), 200 when this host cannot install it, or 300 + signal. */
static int in_child(const void *prog, size_t len, long nr, long a0, long a1) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct sock_fprog fp = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
                            .filter = (struct sock_filter *)prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
      _exit(200);
    long r = syscall(nr, a0, a1, 0, 0, 0, 0);
    /* exit_group itself: no libc or sanitizer exit hooks under the filter. */
    syscall(SYS_exit_group, r < 0 ? errno : 0);
    _exit(201);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 300 + WTERMSIG(st);
}

static bool host_runs(void) {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

static const char deny_mkdir[] =
  "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
  "\"action\":\"SCMP_ACT_ERRNO\"}]}";

static void test_minimal(void **state) {
  (void)state;
  void *prog;
  size_t len;
  assert_int_equal(compile(deny_mkdir, "x86_64", &prog, &len), 0);
  assert_true(checks_arch(prog, len, AUDIT_ARCH_X86_64));
  if (host_runs()) {
    char dir[] = "/tmp/vmctr-oci-seccomp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64];
    snprintf(sub, sizeof(sub), "%s/x", dir);
    int e = in_child(prog, len, SYS_mkdir, (long)sub, 0755);
    if (e == 200) {
      printf("# this host cannot install seccomp filters: not run\n");
    } else {
      assert_int_equal(e, EPERM); /* ERRNO without errnoRet: EPERM */
      assert_int_equal(in_child(prog, len, SYS_getpid, 0, 0), 0);
      assert_int_equal(access(sub, F_OK), -1);
    }
    rmdir(dir);
  }
  free(prog);
  assert_int_equal(compile(deny_mkdir, "aarch64", &prog, &len), 0);
  assert_true(checks_arch(prog, len, AUDIT_ARCH_AARCH64));
  assert_false(checks_arch(prog, len, AUDIT_ARCH_X86_64));
  free(prog);
}

static void test_errno_ret(void **state) {
  (void)state;
  void *prog;
  size_t len;
  assert_int_equal(compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                           "[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
                           "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}",
                           "x86_64", &prog, &len), 0);
  if (host_runs() && in_child(prog, len, SYS_getpid, 0, 0) != 200) {
    assert_int_equal(in_child(prog, len, SYS_mkdir, (long)"/nonexistent/x", 0), ENOSYS);
    assert_int_equal(in_child(prog, len, SYS_getppid, 0, 0), 300 + SIGSYS);
  }
  free(prog);
  /* The default's errno: defaultErrnoRet. */
  assert_int_equal(compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":13,"
                           "\"syscalls\":[{\"names\":[\"getpid\",\"exit_group\",\"exit\"],"
                           "\"action\":\"SCMP_ACT_ALLOW\"}]}", "x86_64", &prog, &len), 0);
  if (host_runs() && in_child(prog, len, SYS_getpid, 0, 0) != 200)
    assert_int_equal(in_child(prog, len, SYS_getppid, 0, 0), EACCES);
  free(prog);
}

static char *read_fixture(const char *name) {
  const char *src = getenv("VMCTR_TEST_SRCDIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/oci/%s", src ? src : VMCTR_TEST_SRCDIR, name);
  FILE *f = fopen(path, "re");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Docker's default profile, as its engine sends it: an ERRNO default, a
 * long allow list with names this kernel and libseccomp do not know, the
 * personality, socket and clone argument rules, clone3 with ENOSYS. */
static void test_docker_default(void **state) {
  (void)state;
  const char *text = read_fixture("docker-default.json");
  void *prog;
  size_t len;
  assert_int_equal(compile(text, "x86_64", &prog, &len), 0);
  printf("# docker-like profile, x86_64 + x86 + x32: %zu instructions\n", len / 8);
  assert_true(checks_arch(prog, len, AUDIT_ARCH_X86_64));
  assert_true(checks_arch(prog, len, AUDIT_ARCH_I386)); /* SCMP_ARCH_X86 added */
  if (host_runs() && in_child(prog, len, SYS_getpid, 0, 0) != 200) {
    assert_int_equal(in_child(prog, len, SYS_getpid, 0, 0), 0);
    assert_int_equal(in_child(prog, len, SYS_personality, 0xffffffffL, 0), 0);
    assert_int_equal(in_child(prog, len, SYS_personality, 0x0400000L, 0), EPERM);
    assert_int_equal(in_child(prog, len, SYS_socket, 40 /* AF_VSOCK */, 1), EPERM);
    assert_int_equal(in_child(prog, len, SYS_clone3, 0, 0), ENOSYS);
    assert_int_equal(in_child(prog, len, SYS_kexec_load, 0, 0), EPERM);
    assert_int_equal(in_child(prog, len, SYS_unshare, 0x10000000 /* NEWUSER */, 0), EPERM);
  }
  free(prog);
  assert_int_equal(compile(text, "aarch64", &prog, &len), 0);
  printf("# the same for aarch64 (x86 ones ignored): %zu instructions\n", len / 8);
  assert_true(checks_arch(prog, len, AUDIT_ARCH_AARCH64));
  assert_false(checks_arch(prog, len, AUDIT_ARCH_I386));
  free(prog);
  /* With arm as the secondary of aarch64. */
  cJSON *j = cJSON_Parse(text);
  cJSON_ReplaceItemInObject(j, "architectures", cJSON_CreateStringArray(
    (const char *[]){"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}, 2));
  assert_int_equal(oci_seccomp_compile(j, "aarch64", &prog, &len, err, sizeof(err)), 0);
  assert_true(checks_arch(prog, len, AUDIT_ARCH_ARM));
  free(prog);
  cJSON_Delete(j);
}

/* Accepted, as runc: unknown names skipped, a rule equal to the default
 * skipped, the three flags, architectures of other guests ignored. */
static void test_lenient(void **state) {
  (void)state;
  static const char *const ok[] = {
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"no_such_call\"],"
    "\"action\":\"SCMP_ACT_ALLOW\"}]}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":[{\"names\":"
    "[\"reboot\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}",
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
    "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"]}",
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_PPC64LE\","
    "\"SCMP_ARCH_S390X\",\"SCMP_ARCH_AARCH64\"],\"syscalls\":null}",
    "{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
    "\"SCMP_ACT_LOG\"},{\"names\":[\"write\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":5},"
    "{\"names\":[\"open\"],\"action\":\"SCMP_ACT_TRAP\"},{\"names\":[\"close\"],\"action\":"
    "\"SCMP_ACT_KILL_THREAD\"},{\"names\":[\"mmap\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
    "{\"index\":2,\"value\":4,\"op\":\"SCMP_CMP_LT\"},{\"index\":3,\"value\":1,\"op\":"
    "\"SCMP_CMP_LE\"},{\"index\":4,\"value\":0,\"op\":\"SCMP_CMP_GE\"},{\"index\":5,\"value\":"
    "0,\"op\":\"SCMP_CMP_GT\"}]}],\"listenerPath\":\"\",\"comment\":\"ignored\"}",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    void *prog;
    size_t len;
    int r = compile(ok[i], i % 2 ? "aarch64" : "x86_64", &prog, &len);
    if (r)
      fprintf(stderr, "# profile %zu: %s\n", i, err);
    assert_int_equal(r, 0);
    free(prog);
  }
}

static void test_malformed(void **state) {
  (void)state;
  static const struct {
    const char *json, *arch, *names;
  } bad[] = {
    {"[]", "x86_64", "must be an object"},
    {"{}", "x86_64", "defaultAction"},
    {"{\"defaultAction\":7}", "x86_64", "defaultAction"},
    {"{\"defaultAction\":\"SCMP_ACT_MAYBE\"}", "x86_64", "defaultAction"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", "riscv64", "guest architecture"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", NULL, "architecture"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}", "x86_64", "defaultErrnoRet"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1.5}", "x86_64", "defaultErrnoRet"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":70000}", "x86_64", "defaultErrnoRet"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}", "x86_64", "defaultErrnoRet"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SCMP_ARCH_X86\"}", "x86_64",
     "architectures"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[3]}", "x86_64", "architectures[0]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86\",\"x86\"]}",
     "x86_64", "architectures[1]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":{}}", "x86_64", "flags"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
     "x86_64", "flags[0]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[1]}", "x86_64", "flags[0]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "x86_64", "syscalls"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[1]}", "x86_64", "syscalls[0]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}", "x86_64",
     "syscalls[0].action"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_NOPE\"}]}", "x86_64", "syscalls[0].action"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "x86_64", "syscalls[0].names"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],\"action\":"
     "\"SCMP_ACT_ERRNO\"}]}", "x86_64", "syscalls[0].names"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",5],\"action\":"
     "\"SCMP_ACT_ERRNO\"}]}", "x86_64", "syscalls[0].names[1]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"\"],\"action\":"
     "\"SCMP_ACT_ERRNO\"}]}", "x86_64", "syscalls[0].names[0]"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ERRNO\",\"errnoRet\":\"1\"}]}", "x86_64", "syscalls[0].errnoRet"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_KILL\",\"errnoRet\":1}]}", "x86_64", "syscalls[0].errnoRet"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":{}}]}", "x86_64", "syscalls[0].args"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[7]}]}", "x86_64", "syscalls[0].args[0]"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "x86_64", "syscalls[0].args[0].index"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "x86_64", "syscalls[0].args[0].index"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":-4,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "x86_64", "syscalls[0].args[0].value"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "x86_64", "syscalls[0].args[0].value"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":\"x\",\"op\":"
     "\"SCMP_CMP_MASKED_EQ\"}]}]}", "x86_64", "syscalls[0].args[0].valueTwo"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]}",
     "x86_64", "syscalls[0].args[0].op"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1}]}]}",
     "x86_64", "syscalls[0].args[0].op"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    void *prog = (void *)1;
    size_t len = 1;
    assert_int_equal(compile(bad[i].json, bad[i].arch, &prog, &len), -1);
    const char *want = bad[i].names;
    if (!strstr(err, want))
      fprintf(stderr, "# case %zu: \"%s\" does not name %s\n", i, err, want);
    assert_non_null(strstr(err, want));
  }
}

static void test_notify_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
    "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":"
    "\"SCMP_ACT_NOTIFY\"}]}",
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/seccomp-agent.sock\"}",
  };
  for (size_t i = 0; i < 3; i++) {
    void *prog;
    size_t len;
    assert_int_equal(compile(bad[i], "x86_64", &prog, &len), -1);
    assert_true(strstr(err, "NOTIFY") || strstr(err, "listenerPath"));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_minimal),
    cmocka_unit_test(test_errno_ret),
    cmocka_unit_test(test_docker_default),
    cmocka_unit_test(test_lenient),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_notify_refused),
  };
  return cmocka_run_group_tests_name("oci-seccomp", tests, NULL, NULL);
}
