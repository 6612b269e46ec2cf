/* SPDX-License-Identifier: MIT */
/* Integration, security (container -> guest boundary, doc/security-guest.md):
 * hostile code (tests/container/security-probe.c, shared in at /probe) runs
 * inside real containers in real VMs and tries to get out. Needs
 * VMCTR_TEST_KERNEL; exits 77 without it. argv[1] is the static probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

static struct vmtest F;
static const char *probe_path;
static char probe_dir[600];

static int setup(void **state) {
  (void)state;
  if (vmtest_setup(&F, "vmctr-test-sec") < 0)
    return -1;
  snprintf(probe_dir, sizeof(probe_dir), "%s/probe", F.dir);
  tu_sh("mkdir -p '%s' && cp '%s' '%s/vmctr-probe'", probe_dir, probe_path, probe_dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return vmtest_teardown(&F);
}

struct sec {
  vmctr_container *c;
  struct vmtest_rootfs root;
  struct vmtest_out out;
};

static void sec_new(struct sec *t, const char *id, const char *const *argv, size_t argc,
                    void (*tweak)(vmctr_process_config *)) {
  memset(t, 0, sizeof(*t));
  vmtest_out_init(&t->out);
  assert_int_equal(vmtest_rootfs(&F, NULL, id, &t->root), 0);
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  vmctr_mount *m;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, argc), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &t->out, NULL), 0);
  if (tweak)
    tweak(p);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  assert_int_equal(vmctr_mount_new_share(&m, probe_dir, "/probe"), 0);
  assert_int_equal(vmctr_container_config_add_mount(cfg, m), 0);
  int r = vmctr_container_new(&t->c, id, t->root.mount, b, cfg);
  if (r < 0)
    fprintf(stderr, "# create: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  vmctr_mount_free(m);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
}

static void sec_wait(struct sec *t) {
  int32_t code = -1, sig = -1;
  int r = vmctr_process_wait(vmctr_container_init_process(t->c), 120000, &code, &sig);
  fprintf(stderr, "# init output:\n%s\n# stderr: %s\n", t->out.buf, t->out.err);
  assert_int_equal(r, 0);
  assert_int_equal(code, 0);
}

static void sec_free(struct sec *t) {
  vmctr_container_free(t->c);
  vmtest_rootfs_free(&t->root);
}

/* One exec'd `vmctr-probe status`: its output in o. */
static void exec_status(struct sec *t, struct vmtest_out *o) {
  static const char *const argv[] = {"/probe/vmctr-probe", "status"};
  vmctr_process_config *p;
  vmctr_process *proc;
  int32_t code = -1, sig = -1;
  vmtest_out_init(o);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 2), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, o, NULL), 0);
  int r = vmctr_container_exec(t->c, p, &proc);
  if (r < 0)
    fprintf(stderr, "# exec: %s\n# init so far:\n%s\n", vmctr_error_last()->message, t->out.buf);
  assert_int_equal(r, 0);
  assert_int_equal(vmctr_process_wait(proc, 60000, &code, &sig), 0);
  if (code != 0)
    fprintf(stderr, "# exec'd probe: code %d signal %d\n%s\n# stderr: %s\n", code, sig, o->buf, o->err);
  assert_int_equal(code, 0);
  vmctr_process_free(proc);
  vmctr_process_config_free(p);
}

/* A default container: every escape attempt fails (the probe counts), and
 * while its init hunts for vmctr-init's exec children, 12 execs start with
 * nothing but stdio open, confined as the init is; none was reachable. */
static void test_default_confined(void **state) {
  (void)state;
  static const char *const argv[] = {
    "sh", "-c", "/probe/vmctr-probe confined; exec /probe/vmctr-probe hunt 300"};
  struct sec t;
  sec_new(&t, "sec-default", argv, 3, NULL);
  assert_int_equal(vmctr_container_start(t.c), 0);
  for (int i = 0; i < 12; i++) {
    struct vmtest_out o;
    exec_status(&t, &o);
    if (i == 0)
      fprintf(stderr, "# exec'd status:\n%s", o.buf);
    assert_non_null(strstr(o.buf, "fds:\n"));   /* no fd beyond stdio */
    assert_non_null(strstr(o.buf, "CapEff: 00000000a00425fb\n"));
    assert_non_null(strstr(o.buf, "CapBnd: 00000000a00425fb\n"));
    assert_non_null(strstr(o.buf, "CapInh: 0000000000000000\n"));
    assert_non_null(strstr(o.buf, "CapAmb: 0000000000000000\n"));
    assert_non_null(strstr(o.buf, "Seccomp: 2\n"));
  }
  {
    static const char *const stop[] = {"touch", "/tmp/vmctr-stop-hunt"};
    vmctr_process_config *p;
    vmctr_process *proc;
    int32_t code = -1, sig = -1;
    assert_int_equal(vmctr_process_config_new(&p), 0);
    assert_int_equal(vmctr_process_config_set_args(p, stop, 2), 0);
    assert_int_equal(vmctr_container_exec(t.c, p, &proc), 0);
    assert_int_equal(vmctr_process_wait(proc, 60000, &code, &sig), 0);
    vmctr_process_free(proc);
    vmctr_process_config_free(p);
  }
  sec_wait(&t);
  assert_non_null(strstr(t.out.buf, "confined: 0 failures\n"));
  assert_null(strstr(t.out.buf, "FAIL"));
  assert_null(strstr(t.out.buf, "STOLEN"));
  assert_non_null(strstr(t.out.buf, " stolen=0\n"));
  sec_free(&t);
}

static void privileged(vmctr_process_config *p) {
  assert_int_equal(vmctr_process_config_set_privileged(p, 1), 0);
}

static void test_privileged(void **state) {
  (void)state;
  static const char *const argv[] = {"/probe/vmctr-probe", "privileged"};
  struct sec t;
  sec_new(&t, "sec-priv", argv, 2, privileged);
  assert_int_equal(vmctr_container_start(t.c), 0);
  sec_wait(&t);
  assert_non_null(strstr(t.out.buf, "CapEff: 000001ffffffffff\n"));
  assert_non_null(strstr(t.out.buf, "Seccomp: 0\n"));
  assert_non_null(strstr(t.out.buf, "mount: ok\n"));
  assert_non_null(strstr(t.out.buf, "cgroup: rw\n"));
  assert_non_null(strstr(t.out.buf, "kcore-mask: off\n"));
  /* An exec'd process of a privileged container is privileged too. */
  sec_free(&t);
}

static void caps_tweak(vmctr_process_config *p) {
  assert_int_equal(vmctr_process_config_drop_capability(p, "ALL"), 0);
  assert_int_equal(vmctr_process_config_add_capability(p, "net_bind_service"), 0);
  assert_int_equal(vmctr_process_config_add_capability(p, "CAP_SYS_ADMIN"), 0);
  assert_int_equal(vmctr_process_config_drop_capability(p, "SYS_ADMIN"), 0);
  assert_int_equal(vmctr_process_config_add_capability(p, "NO_SUCH_CAP"), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_seccomp(p, VMCTR_SECCOMP_UNCONFINED), 0);
}

static void test_cap_drop_add_unconfined(void **state) {
  (void)state;
  static const char *const argv[] = {"/probe/vmctr-probe", "status"};
  struct sec t;
  sec_new(&t, "sec-caps", argv, 2, caps_tweak);
  assert_int_equal(vmctr_container_start(t.c), 0);
  sec_wait(&t);
  assert_non_null(strstr(t.out.buf, "CapEff: 0000000000000400\n"));
  assert_non_null(strstr(t.out.buf, "CapBnd: 0000000000000400\n"));
  assert_non_null(strstr(t.out.buf, "Seccomp: 0\n"));
  sec_free(&t);
}

int main(int argc, char **argv) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 77;
  }
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP the security probe was not given\n");
    return 77;
  }
  probe_path = argv[1];
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_default_confined),
    cmocka_unit_test(test_privileged),
    cmocka_unit_test(test_cap_drop_add_unconfined),
  };
  return cmocka_run_group_tests_name("container-security", tests, setup, teardown);
}
