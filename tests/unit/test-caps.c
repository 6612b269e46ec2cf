/* SPDX-License-Identifier: MIT */
/* Unit tests for capability probing: the real host, and fake sysfs/dev trees
 * that stand for hosts we do not have (PVM, kvm_intel with nested, no KVM). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps/caps-internal.h"
#include "caps/probe-linux.h"
#include "core/json.h"
#include "vmctr.h"

static char root[256];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  assert_int_equal(system(cmd), 0);
}

static int setup_root(void **state) {
  snprintf(root, sizeof(root), "%s/vmctr-caps-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(root))
    return -1;
  return 0;
}

static int teardown_root(void **state) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

static void contains(const char *hay, const char *needle) {
  if (!hay || !strstr(hay, needle))
    fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}

/* ---- the real host ---- */

static void test_probe_real_host(void **state) {
  vmctr_caps *caps = NULL;
  const char *why = NULL;
  int32_t accel;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_DEFAULT), 0);
  assert_non_null(caps);
  assert_true(vmctr_caps_host_cpus(caps) >= 1);
  assert_true(vmctr_caps_host_memory(caps) >= 64ull << 20);
  assert_true(vmctr_caps_max_vcpus(caps) >= 1);
  assert_true(vmctr_caps_max_vcpus(caps) <= vmctr_caps_host_cpus(caps));
  assert_true(vmctr_caps_max_memory(caps) <= vmctr_caps_host_memory(caps));
  assert_int_equal(vmctr_caps_max_memory(caps) % (1 << 20), 0);
  accel = vmctr_caps_accelerator(caps, &why);
  assert_non_null(why);
  for (uint32_t c = 1; c <= VMCTR__CAP_MAX; c++) {
    const char *r = NULL;
    int v = vmctr_caps_has(caps, c, &r);
    assert_true(v == 0 || v == 1);
    assert_non_null(r);
    assert_true(strlen(r) > 0);
  }
  assert_int_equal(vmctr_caps_backend_compiled(caps, VMCTR_BACKEND_VZ), 0);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_ROSETTA, NULL), 0);
  /* The qemu backend is usable exactly when a qemu binary was found. */
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_BACKEND_QEMU, NULL),
                   vmctr_caps_qemu_path(caps) != NULL);
  if (vmctr_caps_qemu_path(caps)) {
    assert_int_equal(vmctr_caps_backend(caps), VMCTR_BACKEND_QEMU);
    assert_true(accel == VMCTR_ACCEL_TCG || accel == VMCTR_ACCEL_KVM);
    assert_non_null(vmctr_caps_qemu_version(caps)); /* --version ran */
  } else {
    assert_int_equal(accel, VMCTR_ACCEL_NONE);
  }
  if (access("/sys/module/kvm_pvm", F_OK) == 0) {
    /* Our CI machines: KVM is PVM, so TCG it is, and the reason says why. */
    assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 0);
    contains(why, "PVM");
    assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
    contains(why, "kvm_pvm");
    if (vmctr_caps_qemu_path(caps)) {
      assert_int_equal(accel, VMCTR_ACCEL_TCG);
      vmctr_caps_accelerator(caps, &why);
      contains(why, "PVM");
      contains(why, "TCG");
    }
  }
  vmctr_caps_free(caps);
}

static void test_probe_quick_skips_version(void **state) {
  vmctr_caps *caps = NULL;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  assert_null(vmctr_caps_qemu_version(caps));
  vmctr_caps_free(caps);
}

static void test_require_nested_message(void **state) {
  vmctr_caps *caps = NULL;
  int r;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  r = vmctr_caps_require_nested_virtualization(caps);
  if (vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, NULL) == 1) {
    assert_int_equal(r, 0);
  } else {
    assert_int_equal(r, VMCTR_EUNSUPPORTED);
    assert_int_equal(vmctr_error_last()->code, VMCTR_EUNSUPPORTED);
    contains(vmctr_error_last()->message, "Apple M3 or newer and macOS 15+");
    contains(vmctr_error_last()->message, "nested=1");
  }
  vmctr_caps_free(caps);
}

static void test_to_json_shape(void **state) {
  vmctr_caps *caps = NULL;
  char *text = NULL;
  cJSON *j = NULL, *c;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  assert_int_equal(vmctr_caps_to_json(caps, &text), 0);
  assert_int_equal(vmctr__json_parse(text, strlen(text), "caps", &j), 0);
  assert_string_equal(cJSON_GetObjectItem(j, "libvmctr")->valuestring, vmctr_version_string());
  assert_string_equal(cJSON_GetObjectItem(j, "backend")->valuestring,
                      vmctr_backend_name(vmctr_caps_backend(caps)));
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "accelerator"), "name")->valuestring,
                      vmctr_accelerator_name(vmctr_caps_accelerator(caps, NULL)));
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "host"), "cpus")->valuedouble,
                   vmctr_caps_host_cpus(caps));
  assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "host"), "memory")->valuedouble ==
              (double)vmctr_caps_host_memory(caps));
  c = cJSON_GetObjectItem(j, "capabilities");
  assert_int_equal(cJSON_GetArraySize(c), VMCTR__CAP_MAX);
  c = cJSON_GetObjectItem(c, "nested_virtualization");
  assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(c, "available")),
                   vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, NULL));
  cJSON_Delete(j);
  vmctr_free(text);
  vmctr_caps_free(caps);
}

static void test_bad_arguments(void **state) {
  vmctr_caps *caps = (vmctr_caps *)0x1;
  char *text = NULL;
  assert_int_equal(vmctr_caps_probe(NULL, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_probe(&caps, 1u << 7), VMCTR_EINVAL);
  assert_ptr_equal(caps, (vmctr_caps *)0x1); /* untouched on failure */
  contains(vmctr_error_last()->message, "unknown flags");
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  assert_int_equal(vmctr_caps_has(NULL, VMCTR_CAP_TUN, NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_has(caps, 0, NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_has(caps, 99, NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_backend_compiled(caps, 42), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_backend_compiled(NULL, VMCTR_BACKEND_QEMU), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_to_json(NULL, &text), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_to_json(caps, NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_require_nested_virtualization(NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_caps_host_cpus(NULL), 0);
  assert_int_equal(vmctr_caps_max_memory(NULL), 0);
  assert_null(vmctr_caps_qemu_path(NULL));
  assert_int_equal(vmctr_caps_backend(NULL), VMCTR_BACKEND_NONE);
  assert_int_equal(vmctr_caps_accelerator(NULL, NULL), VMCTR_ACCEL_NONE);
  assert_string_equal(vmctr_accelerator_name(77), "unknown");
  assert_string_equal(vmctr_backend_name(VMCTR_BACKEND_VZ), "vz");
  vmctr_caps_free(caps);
  vmctr_caps_free(NULL);
}

/* ---- fake hosts ---- */

static vmctr_caps *probe_fake(const char *qemu, const char *virtiofsd) {
  struct vmctr__caps_params p = {.root = root, .qemu = qemu, .virtiofsd = virtiofsd};
  vmctr_caps *caps = NULL;
  assert_int_equal(vmctr__caps_probe_with(&caps, VMCTR_CAPS_PROBE_QUICK, &p), 0);
  return caps;
}

static void test_fake_no_kvm(void **state) {
  vmctr_caps *caps = probe_fake("/bin/sh", "/bin/sh");
  const char *why;
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 0);
  contains(why, "no /dev/kvm");
  assert_int_equal(vmctr_caps_accelerator(caps, &why), VMCTR_ACCEL_TCG);
  contains(why, "falling back to TCG");
  assert_string_equal(caps->hypervisor, "none");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
  contains(why, "not usable");
  /* No /dev/net/tun in the fake root. */
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TUN, &why), 0);
  contains(why, "load the tun module");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TAP, &why), 0);
  vmctr_caps_free(caps);
}

static void test_fake_pvm(void **state) {
  vmctr_caps *caps;
  const char *why;
  sh("mkdir -p '%s/sys/module/kvm_pvm/parameters' '%s/dev'", root, root);
  /* A regular file stands for /dev/kvm: it opens, but is not KVM. */
  sh("touch '%s/dev/kvm'", root);
  caps = probe_fake("/bin/sh", NULL);
  assert_string_equal(caps->hypervisor, "kvm-pvm");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 0);
  assert_int_equal(vmctr_caps_accelerator(caps, &why), VMCTR_ACCEL_TCG);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
  contains(why, "PVM");
  vmctr_caps_free(caps);
}

static void test_fake_qemu_missing(void **state) {
  vmctr_caps *caps = probe_fake("/nonexistent/qemu-system-x86_64", "/nonexistent/virtiofsd");
  const char *why;
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_BACKEND_QEMU, &why), 0);
  contains(why, "/nonexistent/qemu-system-x86_64 not found");
  contains(why, "-Dqemu_binary");
  assert_int_equal(vmctr_caps_backend(caps), VMCTR_BACKEND_NONE);
  assert_int_equal(vmctr_caps_accelerator(caps, &why), VMCTR_ACCEL_NONE);
  contains(why, "no VM can run");
  assert_null(vmctr_caps_qemu_path(caps));
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_VIRTIOFS, &why), 0);
  contains(why, "/nonexistent/virtiofsd not found");
  assert_null(vmctr_caps_virtiofsd_path(caps));
  vmctr_caps_free(caps);
}

static void test_fake_qemu_version_failure(void **state) {
  /* A "qemu" whose --version fails: reported unusable with the reason. */
  struct vmctr__caps_params p = {.root = root, .qemu = "/bin/false", .virtiofsd = NULL};
  vmctr_caps *caps = NULL;
  const char *why;
  assert_int_equal(vmctr__caps_probe_with(&caps, VMCTR_CAPS_PROBE_DEFAULT, &p), 0);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_BACKEND_QEMU, &why), 0);
  contains(why, "--version failed");
  vmctr_caps_free(caps);
}

static void test_fake_tap_needs_net_admin(void **state) {
  vmctr_caps *caps;
  const char *why;
  sh("mkdir -p '%s/dev/net' '%s/proc/self'", root, root);
  sh("touch '%s/dev/net/tun'", root);
  sh("printf 'Name:\\tx\\nCapEff:\\t0000000000000000\\n' > '%s/proc/self/status'", root);
  caps = probe_fake("/bin/sh", NULL);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TUN, NULL), 1);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TAP, &why), 0);
  contains(why, "CAP_NET_ADMIN");
  vmctr_caps_free(caps);
  sh("printf 'CapEff:\\t0000000000001000\\n' > '%s/proc/self/status'", root);
  caps = probe_fake("/bin/sh", NULL);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TAP, NULL), 1);
  vmctr_caps_free(caps);
}

/* ---- nested verdict (pure) ---- */

static void test_nested_verdict(void **state) {
  struct vmctr__linux_kvm k;
  bool ok;
  memset(&k, 0, sizeof(k));
  k.present = k.usable = true;
  k.vendor_module = "kvm_intel";
  strcpy(k.nested_param, "Y");
  vmctr__linux_nested_verdict(&k, &ok);
  assert_true(ok);
  strcpy(k.nested_param, "1");
  vmctr__linux_nested_verdict(&k, &ok);
  assert_true(ok);
  strcpy(k.nested_param, "N");
  contains(vmctr__linux_nested_verdict(&k, &ok), "nested=1");
  assert_false(ok);
  k.vendor_module = NULL;
  vmctr__linux_nested_verdict(&k, &ok);
  assert_false(ok);
  k.vendor_module = "kvm_amd";
  strcpy(k.nested_param, "1");
  k.pvm = true;
  contains(vmctr__linux_nested_verdict(&k, &ok), "PVM");
  assert_false(ok);
  k.pvm = false;
  k.usable = false;
  vmctr__linux_nested_verdict(&k, &ok);
  assert_false(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_probe_real_host),
    cmocka_unit_test(test_probe_quick_skips_version),
    cmocka_unit_test(test_require_nested_message),
    cmocka_unit_test(test_to_json_shape),
    cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test_setup_teardown(test_fake_no_kvm, setup_root, teardown_root),
    cmocka_unit_test_setup_teardown(test_fake_pvm, setup_root, teardown_root),
    cmocka_unit_test_setup_teardown(test_fake_qemu_missing, setup_root, teardown_root),
    cmocka_unit_test_setup_teardown(test_fake_qemu_version_failure, setup_root, teardown_root),
    cmocka_unit_test_setup_teardown(test_fake_tap_needs_net_admin, setup_root, teardown_root),
    cmocka_unit_test(test_nested_verdict),
  };
  return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
