/* SPDX-License-Identifier: MIT */
/* Integration, security (container -> guest kernel): with Debian's modular
 * cloud kernel ($VMCTR_TEST_DEBIAN_KERNEL, its modules in the modules/
 * directory beside it), hostile code in a real container tries to load a
 * real module of that kernel (init_module and finit_module) and to point
 * core_pattern or the modprobe path at its own program. A default container
 * is refused by both layers on their own (seccomp, and the capability set
 * without SYS_MODULE); a privileged one is the control: the same calls reach
 * the module loader (EEXIST: the module is already loaded), so the refusals
 * are the confinement and not a bad file. /proc/kcore, which this kernel
 * has (the tailored one does not), reads as nothing unless privileged. Skips (TAP plan 1..0, exit 0) without the kernel.
 * argv[1] is the static probe (tests/container/security-probe.c). */
#define _GNU_SOURCE
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
static const char *probe_path, *debian_kernel;
static char modules_dir[4096], probe_dir[600], module_name[256];

/* The first module of the kernel's load-order: vmctr-init has loaded it. */
static int pick_module(void) {
  char p[4200];
  snprintf(p, sizeof(p), "%s/load-order", modules_dir);
  FILE *f = fopen(p, "re");
  if (!f)
    return -1;
  int r = fgets(module_name, sizeof(module_name), f) ? 0 : -1;
  fclose(f);
  module_name[strcspn(module_name, "\n")] = '\0';
  return r == 0 && module_name[0] ? 0 : -1;
}

static int setup(void **state) {
  (void)state;
  if (vmtest_setup(&F, "vmctr-test-mod") < 0)
    return -1;
  snprintf(probe_dir, sizeof(probe_dir), "%s/probe", F.dir);
  /* The probe and a copy of the module, shared in read-only at /probe. */
  tu_sh("mkdir -p '%s' && cp '%s' '%s/vmctr-probe' && cp '%s/%s' '%s/'", probe_dir, probe_path,
        probe_dir, modules_dir, module_name, probe_dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return vmtest_teardown(&F);
}

/* Runs `vmctr-probe modules /probe/MODULE` as the init of a container on
 * the Debian kernel, tweaked by tweak; its output in out. */
static void run_probe(const char *id, void (*tweak)(vmctr_process_config *),
                      struct vmtest_out *out) {
  char ko[300];
  snprintf(ko, sizeof(ko), "/probe/%s", module_name);
  const char *const argv[] = {"/probe/vmctr-probe", "modules", ko};
  struct vmtest_rootfs root;
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  vmctr_container *c;
  vmctr_mount *m;
  vmtest_out_init(out);
  assert_int_equal(vmtest_rootfs(&F, NULL, id, &root), 0);
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, debian_kernel), 0);
  assert_int_equal(vmctr_bootcfg_set_modules(b, modules_dir), 0);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, out, NULL), 0);
  if (tweak)
    tweak(p);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  assert_int_equal(vmctr_mount_new_share(&m, probe_dir, "/probe"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_container_config_add_mount(cfg, m), 0);
  int r = vmctr_container_new(&c, id, root.mount, b, cfg);
  if (r < 0)
    fprintf(stderr, "# create: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  r = vmctr_container_start(c);
  if (r < 0)
    fprintf(stderr, "# start: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  int32_t code = -1, sig = -1;
  r = vmctr_process_wait(vmctr_container_init_process(c), 180000, &code, &sig);
  fprintf(stderr, "# %s:\n%s# stderr: %s\n", id, out->buf, out->err);
  assert_int_equal(r, 0);
  assert_int_equal(code, 0);
  vmctr_container_free(c);
  vmctr_mount_free(m);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  vmtest_rootfs_free(&root);
}

/* The guest ran the Debian kernel: the release its fetch recorded in
 * version, beside vmlinuz. */
static void expect_debian(const struct vmtest_out *o) {
  char p[4200], want[300] = "kernel: ";
  const char *slash = strrchr(debian_kernel, '/');
  snprintf(p, sizeof(p), "%.*sversion", slash ? (int)(slash + 1 - debian_kernel) : 0, debian_kernel);
  FILE *f = fopen(p, "re");
  if (!f)
    return; /* a kernel from elsewhere: the loader's answers below still tell */
  if (!fgets(want + 8, sizeof(want) - 8, f))
    want[8] = '\0';
  fclose(f);
  assert_non_null(strstr(o->buf, want));
}

/* "CALL MODULE: RESULT" is in the probe's output. */
static void expect_load(const struct vmtest_out *o, const char *call, const char *result) {
  char line[512];
  snprintf(line, sizeof(line), "%s %s: %s\n", call, module_name, result);
  if (!strstr(o->buf, line))
    fprintf(stderr, "# expected: %s", line);
  assert_non_null(strstr(o->buf, line));
}

/* Both writes refused and neither value changed. */
static void expect_knobs_held(const struct vmtest_out *o) {
  assert_null(strstr(o->buf, "write core_pattern: ok\n"));
  assert_null(strstr(o->buf, "write modprobe: ok\n"));
  assert_non_null(strstr(o->buf, "write core_pattern: "));
  assert_non_null(strstr(o->buf, "write modprobe: "));
  assert_non_null(strstr(o->buf, "core_pattern unchanged: "));
  assert_non_null(strstr(o->buf, "modprobe unchanged: "));
  assert_null(strstr(o->buf, "FAIL"));
}

/* Default: the capability set lacks SYS_MODULE and the seccomp profile
 * refuses the module calls; /proc/sys is read-only. */
static void test_default_refused(void **state) {
  (void)state;
  struct vmtest_out o;
  run_probe("mod-default", NULL, &o);
  expect_debian(&o);
  expect_load(&o, "finit_module", "EPERM");
  expect_load(&o, "init_module", "EPERM");
  expect_knobs_held(&o);
  assert_non_null(strstr(o.buf, "kcore: nothing\n")); /* there, and masked */
  /* The values are the guest's own, readable and not the probe's. */
  assert_null(strstr(o.buf, "vmctr-evil"));
}

static void unconfined(vmctr_process_config *p) {
  assert_int_equal(vmctr_process_config_set_seccomp(p, VMCTR_SECCOMP_UNCONFINED), 0);
}

/* Without seccomp, the capability set alone refuses the calls. */
static void test_caps_alone(void **state) {
  (void)state;
  struct vmtest_out o;
  run_probe("mod-noseccomp", unconfined, &o);
  assert_non_null(strstr(o.buf, "finit_module "));
  expect_load(&o, "finit_module", "EPERM");
  expect_load(&o, "init_module", "EPERM");
  expect_knobs_held(&o);
}

static void add_sys_module(vmctr_process_config *p) {
  assert_int_equal(vmctr_process_config_add_capability(p, "SYS_MODULE"), 0);
}

/* With SYS_MODULE added the default profile opens the module calls (as
 * Docker's does), so seccomp is no barrier then; what was refused above
 * without the capability was refused by the capability check. The module
 * loader answers EEXIST: the file is a module of this kernel. */
static void test_cap_added_reaches_loader(void **state) {
  (void)state;
  struct vmtest_out o;
  run_probe("mod-capadd", add_sys_module, &o);
  expect_load(&o, "finit_module", "EEXIST");
  expect_load(&o, "init_module", "EEXIST");
  expect_knobs_held(&o); /* /proc/sys stays read-only */
}

static void privileged(vmctr_process_config *p) {
  assert_int_equal(vmctr_process_config_set_privileged(p, 1), 0);
}

/* The control: privileged (trusted) containers reach the loader and may
 * write the sysctls; the probe undoes its writes. */
static void test_privileged_control(void **state) {
  (void)state;
  struct vmtest_out o;
  run_probe("mod-priv", privileged, &o);
  expect_load(&o, "finit_module", "EEXIST");
  expect_load(&o, "init_module", "EEXIST");
  assert_non_null(strstr(o.buf, "write core_pattern: ok\n"));
  assert_non_null(strstr(o.buf, "core_pattern changed: |/tmp/vmctr-evil %p\n"));
  assert_non_null(strstr(o.buf, "write modprobe: ok\n"));
  assert_non_null(strstr(o.buf, "kcore: readable\n")); /* no mask, RAWIO held */
}

int main(int argc, char **argv) {
  debian_kernel = getenv("VMCTR_TEST_DEBIAN_KERNEL");
  if (!debian_kernel || access(debian_kernel, R_OK) != 0) {
    printf("1..0 # SKIP no Debian kernel at %s: run kernel/fetch-debian-kernel.sh --out kernel/out\n",
           debian_kernel ? debian_kernel : "(VMCTR_TEST_DEBIAN_KERNEL unset)");
    return 0; /* the plan says SKIP; meson counts exit 77 under TAP as an error */
  }
  /* Its modules: $VMCTR_TEST_DEBIAN_MODULES, else modules/ beside it. */
  const char *mods = getenv("VMCTR_TEST_DEBIAN_MODULES");
  const char *slash = strrchr(debian_kernel, '/');
  if (mods && *mods)
    snprintf(modules_dir, sizeof(modules_dir), "%s", mods);
  else
    snprintf(modules_dir, sizeof(modules_dir), "%.*smodules",
             slash ? (int)(slash + 1 - debian_kernel) : 0, debian_kernel);
  if (pick_module() < 0) {
    printf("1..0 # SKIP no %s/load-order beside the Debian kernel: rerun kernel/fetch-debian-kernel.sh\n",
           modules_dir);
    return 0;
  }
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP the security probe was not given\n");
    return 0;
  }
  probe_path = argv[1];
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_default_refused),
    cmocka_unit_test(test_caps_alone),
    cmocka_unit_test(test_cap_added_reaches_loader),
    cmocka_unit_test(test_privileged_control),
  };
  return cmocka_run_group_tests_name("security-modules", tests, setup, teardown);
}
