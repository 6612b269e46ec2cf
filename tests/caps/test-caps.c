/* SPDX-License-Identifier: MIT */
/* Unit tests for capability probing: the real host (whatever kind it is), and
 * fake sysfs/dev trees plus fake KVM answers that stand for the kinds of host
 * this one is not: no /dev/kvm (with and without kvm_pvm), PVM, real KVM with
 * nested on and off. Also reference counting and the shared snapshot. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
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

#include "caps/caps-priv.h"
#include "caps/kvm-test-priv.h"
#include "caps/probe-linux-priv.h"
#include "core/json.h"
#include "testutil.h"
#include "vmctr.h"

static char root[256];

static int setup_root(void **state) {
  (void)state;
  return tu_tmpdir(root, sizeof(root), "vmctr-caps");
}

static int teardown_root(void **state) {
  (void)state;
  return tu_rm_rf(root);
}

static void contains(const char *hay, const char *needle) {
  if (!hay || !strstr(hay, needle))
    fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}

static void lacks(const char *hay, const char *needle) {
  if (hay && strstr(hay, needle))
    fail_msg("'%s' contains '%s'", hay, needle);
}

static bool nested_param_on(const char *path) {
  char v[16] = "";
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  if (!fgets(v, sizeof(v), f))
    v[0] = '\0';
  fclose(f);
  return v[0] == 'Y' || v[0] == 'y' || v[0] == '1';
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
  /* What this host is, read here independently of the probe. */
  struct stat st;
  bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
  bool node = stat("/dev/kvm", &st) == 0 || errno != ENOENT;
  const char *vendor = access("/sys/module/kvm_intel", F_OK) == 0 ? "kvm_intel"
                       : access("/sys/module/kvm_amd", F_OK) == 0 ? "kvm_amd"
                                                                   : NULL;
  const char *hw_why = NULL, *nested_why = NULL;
  int hw = vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &hw_why);
  int nested = vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &nested_why);
  print_message("# host: /dev/kvm %s, kvm_pvm %s, vendor module %s; hardware virtualization %s: "
                "%s\n",
                node ? "present" : "absent", pvm ? "loaded" : "not loaded",
                vendor ? vendor : "none", hw ? "yes" : "no", hw_why);
  if (!node) {
    assert_int_equal(hw, 0);
    contains(hw_why, "no /dev/kvm");
    assert_string_equal(caps->hypervisor, "none");
  } else if (pvm) {
    assert_int_equal(hw, 0);
    assert_string_equal(caps->hypervisor, "kvm-pvm");
  } else {
    assert_string_equal(caps->hypervisor, "kvm");
    if (!hw)
      contains(hw_why, "/dev/kvm");
  }
  if (pvm) {
    /* PVM is the cause (or one of them): the reasons say so. */
    contains(hw_why, "PVM");
    contains(nested_why, "kvm_pvm");
  }
  if (!hw || pvm)
    assert_int_equal(nested, 0);
  else if (vendor) {
    char path[128];
    snprintf(path, sizeof(path), "/sys/module/%s/parameters/nested", vendor);
    assert_int_equal(nested, nested_param_on(path));
  }
  if (vmctr_caps_qemu_path(caps)) {
    assert_int_equal(accel, hw ? VMCTR_ACCEL_KVM : VMCTR_ACCEL_TCG);
    if (!hw) {
      contains(why, "TCG");
      contains(why, hw_why); /* the accelerator's reason carries KVM's */
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

/* Fake KVM answers, and a count of the questions the probe asked. */
static struct {
  int api;        /* what KVM_GET_API_VERSION answers */
  uint32_t vcpus; /* KVM_CAP_MAX_VCPUS */
  int guest;      /* the test guest's result */
  const char *guest_why;
  int asked, guests;
} fk;

static int fake_api_version(int fd) {
  (void)fd;
  fk.asked++;
  return fk.api;
}

static uint32_t fake_max_vcpus(int fd) {
  (void)fd;
  fk.asked++;
  return fk.vcpus;
}

static int fake_test_guest(int fd, char *why, size_t size) {
  (void)fd;
  fk.guests++;
  snprintf(why, size, "%s", fk.guest_why);
  return fk.guest;
}

static const struct vmctr__kvm_ops fake_kvm = {fake_api_version, fake_max_vcpus, fake_test_guest};

/* A KVM that works: answers, one vCPU at most, and the test guest halts. */
static void fake_kvm_works(void) {
  memset(&fk, 0, sizeof(fk));
  fk.api = KVM_API_VERSION;
  fk.vcpus = 1;
  fk.guest_why = "";
}

static vmctr_caps *probe_fake_ops(uint32_t flags, const char *qemu, const char *virtiofsd,
                                  const struct vmctr__kvm_ops *kvm) {
  struct vmctr__caps_params p = {.root = root, .qemu = qemu, .virtiofsd = virtiofsd, .kvm = kvm};
  vmctr_caps *caps = NULL;
  assert_int_equal(vmctr__caps_probe_with(&caps, flags, &p), 0);
  return caps;
}

static vmctr_caps *probe_fake(const char *qemu, const char *virtiofsd) {
  return probe_fake_ops(VMCTR_CAPS_PROBE_QUICK, qemu, virtiofsd, NULL);
}

/* A full probe of the fake host, with a fake qemu whose --version works. */
static vmctr_caps *probe_fake_full_with(const struct vmctr__kvm_ops *kvm) {
  char qemu[512];
  snprintf(qemu, sizeof(qemu), "%s/qemu", root);
  tu_sh("printf '#!/bin/sh\\necho QEMU emulator version 7.2.0\\n' > '%s' && chmod +x '%s'", qemu, qemu);
  return probe_fake_ops(VMCTR_CAPS_PROBE_DEFAULT, qemu, "/bin/sh", kvm);
}

static vmctr_caps *probe_fake_full(void) { return probe_fake_full_with(&fake_kvm); }

static void fake_module(const char *name, const char *nested) {
  tu_sh("mkdir -p '%s/sys/module/%s/parameters'", root, name);
  if (nested)
    tu_sh("echo '%s' > '%s/sys/module/%s/parameters/nested'", nested, root, name);
}

static void fake_dev_kvm(void) { tu_sh("mkdir -p '%s/dev' && touch '%s/dev/kvm'", root, root); }

/* Hardware virtualization is absent for why, KVM is passed over for TCG with
 * that reason, and nested virtualization is absent too. */
static void expect_tcg(vmctr_caps *caps, const char *hw_needle, const char *nested_needle) {
  const char *why, *hw_why;
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &hw_why), 0);
  contains(hw_why, hw_needle);
  assert_int_equal(vmctr_caps_accelerator(caps, &why), VMCTR_ACCEL_TCG);
  contains(why, "falling back to TCG");
  contains(why, hw_why);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
  contains(why, nested_needle);
  assert_int_equal(vmctr_caps_require_nested_virtualization(caps), VMCTR_EUNSUPPORTED);
}

/* -- no /dev/kvm -- */

static void test_fake_no_kvm(void **state) {
  vmctr_caps *caps = probe_fake("/bin/sh", "/bin/sh");
  const char *why;
  expect_tcg(caps, "no /dev/kvm", "no /dev/kvm");
  vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why);
  contains(why, "no KVM module is loaded");
  lacks(why, "PVM");
  assert_string_equal(caps->hypervisor, "none");
  /* No /dev/net/tun in the fake root. */
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TUN, &why), 0);
  contains(why, "load the tun module");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TAP, &why), 0);
  vmctr_caps_free(caps);
}

static void test_fake_no_kvm_core_only(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm", NULL);
  caps = probe_fake("/bin/sh", NULL);
  expect_tcg(caps, "no /dev/kvm", "no /dev/kvm");
  vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why);
  contains(why, "neither kvm_intel nor kvm_amd");
  vmctr_caps_unref(caps);
}

/* Our machines of the first kind: kvm_pvm loaded, no device node. Both causes
 * are named; the KVM questions are never asked. */
static void test_fake_no_kvm_pvm_loaded(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm", NULL);
  fake_module("kvm_pvm", NULL);
  for (int full = 0; full <= 1; full++) {
    fake_kvm_works();
    caps = full ? probe_fake_full() : probe_fake_ops(VMCTR_CAPS_PROBE_QUICK, "/bin/sh", NULL,
                                                     &fake_kvm);
    expect_tcg(caps, "no /dev/kvm", "PVM");
    vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why);
    contains(why, "PVM");
    contains(why, "kvm_pvm");
    vmctr_caps_accelerator(caps, &why);
    contains(why, "PVM");
    contains(why, "no /dev/kvm");
    vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why);
    contains(why, "no /dev/kvm");
    assert_string_equal(caps->hypervisor, "none");
    assert_int_equal(fk.asked + fk.guests, 0);
    vmctr_caps_unref(caps);
  }
}

static void test_fake_no_kvm_vendor_loaded(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm_intel", "Y");
  caps = probe_fake("/bin/sh", NULL);
  expect_tcg(caps, "no /dev/kvm", "no /dev/kvm");
  vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why);
  contains(why, "kvm_intel is loaded");
  contains(why, "mknod /dev/kvm c 10 232");
  lacks(why, "PVM");
  vmctr_caps_unref(caps);
}

/* -- /dev/kvm is PVM -- */

/* Our machines of the second kind. The fake KVM would answer as a working
 * one, so only the module can have decided. */
static void test_fake_pvm(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm_pvm", NULL);
  fake_dev_kvm();
  for (int full = 0; full <= 1; full++) {
    fake_kvm_works();
    caps = full ? probe_fake_full() : probe_fake_ops(VMCTR_CAPS_PROBE_QUICK, "/bin/sh", NULL,
                                                     &fake_kvm);
    assert_string_equal(caps->hypervisor, "kvm-pvm");
    expect_tcg(caps, "/dev/kvm is PVM", "PVM");
    vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why);
    contains(why, "emulation failure");
    lacks(why, "no /dev/kvm");
    vmctr_caps_accelerator(caps, &why);
    contains(why, "PVM");
    assert_int_equal(fk.asked + fk.guests, 0);
    vmctr_caps_unref(caps);
  }
}

/* PVM beside a vendor module with nested=1: still PVM, still no nesting. */
static void test_fake_pvm_beside_vendor(void **state) {
  vmctr_caps *caps;
  fake_module("kvm_pvm", NULL);
  fake_module("kvm_intel", "Y");
  fake_dev_kvm();
  fake_kvm_works();
  caps = probe_fake_full();
  expect_tcg(caps, "PVM", "PVM");
  vmctr_caps_unref(caps);
}

/* -- a real KVM -- */

static void test_fake_kvm_nested_on(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm", NULL);
  fake_module("kvm_intel", "Y");
  fake_dev_kvm();
  fake_kvm_works();
  caps = probe_fake_full();
  assert_string_equal(caps->hypervisor, "kvm");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 1);
  contains(why, "ran a test guest (kvm_intel)");
  assert_int_equal(vmctr_caps_accelerator(caps, &why), VMCTR_ACCEL_KVM);
  contains(why, "KVM: /dev/kvm ran a test guest");
  lacks(why, "TCG");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 1);
  contains(why, "kvm_intel is loaded with nested=1");
  assert_int_equal(vmctr_caps_require_nested_virtualization(caps), 0);
  assert_int_equal(fk.guests, 1);
  assert_int_equal(vmctr_caps_max_vcpus(caps), 1); /* KVM's ceiling */
  assert_string_equal(vmctr_caps_qemu_version(caps), "7.2.0");
  vmctr_caps_unref(caps);

  /* kvm_amd reports nested as 1. */
  tu_sh("rm -r '%s/sys/module/kvm_intel'", root);
  fake_module("kvm_amd", "1");
  fake_kvm_works();
  caps = probe_fake_full();
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 1);
  contains(why, "kvm_amd");
  vmctr_caps_unref(caps);
}

static void test_fake_kvm_nested_off(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm_amd", "0");
  fake_dev_kvm();
  fake_kvm_works();
  caps = probe_fake_full();
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, NULL), 1);
  assert_int_equal(vmctr_caps_accelerator(caps, NULL), VMCTR_ACCEL_KVM);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
  contains(why, "kvm_amd is loaded with nested=0");
  contains(why, "modprobe kvm_amd nested=1");
  assert_int_equal(vmctr_caps_require_nested_virtualization(caps), VMCTR_EUNSUPPORTED);
  contains(vmctr_error_last()->message, "nested=0");
  vmctr_caps_unref(caps);

  /* A vendor module without a nested parameter: taken as off. */
  tu_sh("rm '%s/sys/module/kvm_amd/parameters/nested'", root);
  caps = probe_fake_full();
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
  contains(why, "does not report a nested parameter");
  vmctr_caps_unref(caps);
}

static void test_fake_kvm_no_vendor_module(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_dev_kvm();
  fake_kvm_works();
  caps = probe_fake_full();
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 1);
  contains(why, "neither kvm_intel nor kvm_amd");
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why), 0);
  contains(why, "unknown");
  vmctr_caps_unref(caps);
}

/* A quick probe trusts /dev/kvm's answers and runs no test guest. */
static void test_fake_kvm_quick(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm_intel", "Y");
  fake_dev_kvm();
  fake_kvm_works();
  caps = probe_fake_ops(VMCTR_CAPS_PROBE_QUICK, "/bin/sh", NULL, &fake_kvm);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 1);
  contains(why, "test guest skipped");
  assert_int_equal(vmctr_caps_accelerator(caps, NULL), VMCTR_ACCEL_KVM);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, NULL), 1);
  assert_int_equal(fk.guests, 0);
  assert_true(fk.asked > 0);
  vmctr_caps_unref(caps);
}

/* /dev/kvm answers but cannot run a guest (a broken nested setup). */
static void test_fake_kvm_test_guest_fails(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm_intel", "Y");
  fake_dev_kvm();
  fake_kvm_works();
  fk.guest = -EIO;
  fk.guest_why = "the test guest stopped with KVM exit reason 17 instead of HLT";
  caps = probe_fake_full();
  expect_tcg(caps, "cannot run a test guest: the test guest stopped with KVM exit reason 17",
             "not usable");
  vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why);
  contains(why, "exit reason 17");
  assert_string_equal(caps->hypervisor, "kvm");
  vmctr_caps_unref(caps);
}

/* No test guest for this architecture: /dev/kvm's answers decide. */
static void test_fake_kvm_no_test_guest(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_dev_kvm();
  fake_kvm_works();
  fk.guest = -EOPNOTSUPP;
  fk.guest_why = "no test guest for this architecture";
  caps = probe_fake_full();
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why), 1);
  contains(why, "no test guest for this architecture");
  vmctr_caps_unref(caps);
}

/* A /dev/kvm that is not KVM: the real ioctls on the fake (a plain file, so
 * nothing real is touched), then a wrong API version. */
static void test_fake_kvm_not_kvm(void **state) {
  vmctr_caps *caps;
  fake_module("kvm_intel", "Y");
  fake_dev_kvm();
  caps = probe_fake_full_with(NULL);
  expect_tcg(caps, "/dev/kvm is not KVM: KVM_GET_API_VERSION failed", "not usable");
  vmctr_caps_unref(caps);
  fake_kvm_works();
  fk.api = KVM_API_VERSION - 1;
  caps = probe_fake_full();
  expect_tcg(caps, "answers KVM API version", "not usable");
  assert_int_equal(fk.guests, 0);
  vmctr_caps_unref(caps);
}

static void test_fake_kvm_cannot_open(void **state) {
  vmctr_caps *caps;
  const char *why;
  fake_module("kvm_intel", "Y");
  tu_sh("mkdir -p '%s/dev/kvm'", root); /* a directory: exists, will not open O_RDWR */
  fake_kvm_works();
  caps = probe_fake_full();
  expect_tcg(caps, "cannot open /dev/kvm", "not usable");
  vmctr_caps_has(caps, VMCTR_CAP_HW_VIRT, &why);
  lacks(why, "kvm group");
  assert_int_equal(fk.asked + fk.guests, 0);
  vmctr_caps_unref(caps);
  if (geteuid() != 0) { /* root opens a mode-0 file */
    tu_sh("rmdir '%s/dev/kvm' && touch '%s/dev/kvm' && chmod 0 '%s/dev/kvm'", root, root, root);
    caps = probe_fake_full();
    expect_tcg(caps, "add this user to the kvm group", "not usable");
    vmctr_caps_unref(caps);
  }
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

/* The shared snapshot's invalidation: the files it rests on, as they change. */
static void test_fake_current(void **state) {
  char qemu[512], vfsd[512], kvm[512];
  const char *why = NULL;
  snprintf(qemu, sizeof(qemu), "%s/qemu", root);
  snprintf(vfsd, sizeof(vfsd), "%s/virtiofsd", root);
  snprintf(kvm, sizeof(kvm), "%s/dev/kvm", root);
  tu_sh("printf '#!/bin/sh\\necho 1\\n' > '%s' && chmod +x '%s'", qemu, qemu);
  tu_sh("cp '%s' '%s'", qemu, vfsd);
  vmctr_caps *caps = probe_fake(qemu, vfsd);
  assert_true(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  /* Nothing changed: still current much later. */
  assert_true(vmctr__caps_current(caps, root, caps->probed_ms + 3600 * 1000, &why));

  /* qemu replaced (an upgrade writes a new file under the same name). */
  tu_sh("printf '#!/bin/sh\\necho 2 upgraded\\n' > '%s.new' && chmod +x '%s.new' && "
        "mv '%s.new' '%s'", qemu, qemu, qemu, qemu);
  assert_false(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  contains(why, "qemu");
  vmctr_caps_free(caps);

  /* /dev/kvm appears. */
  caps = probe_fake(qemu, vfsd);
  assert_true(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  fake_dev_kvm();
  assert_false(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  contains(why, "/dev/kvm");
  vmctr_caps_free(caps);

  /* virtiofsd removed. */
  caps = probe_fake(qemu, vfsd);
  assert_true(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  tu_sh("rm -f '%s'", vfsd);
  assert_false(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  contains(why, "virtiofsd");
  vmctr_caps_free(caps);

  /* A snapshot without virtiofsd is re-checked after a while: one may be installed. */
  caps = probe_fake(qemu, "/nonexistent/virtiofsd");
  assert_true(vmctr__caps_current(caps, root, caps->probed_ms, &why));
  assert_true(vmctr__caps_current(caps, root,
                                  caps->probed_ms + VMCTR__CAPS_ABSENT_RECHECK_MS - 1, &why));
  assert_false(vmctr__caps_current(caps, root, caps->probed_ms + VMCTR__CAPS_ABSENT_RECHECK_MS,
                                   &why));
  contains(why, "virtiofsd");
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
  tu_sh("mkdir -p '%s/dev/net' '%s/proc/self'", root, root);
  tu_sh("touch '%s/dev/net/tun'", root);
  tu_sh("printf 'Name:\\tx\\nCapEff:\\t0000000000000000\\n' > '%s/proc/self/status'", root);
  caps = probe_fake("/bin/sh", NULL);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TUN, NULL), 1);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TAP, &why), 0);
  contains(why, "CAP_NET_ADMIN");
  vmctr_caps_free(caps);
  tu_sh("printf 'CapEff:\\t0000000000001000\\n' > '%s/proc/self/status'", root);
  caps = probe_fake("/bin/sh", NULL);
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TAP, NULL), 1);
  vmctr_caps_free(caps);
}

/* ---- nested verdict (pure) ---- */

static void test_nested_verdict(void **state) {
  struct vmctr__linux_kvm k;
  char buf[768];
  bool ok;
  memset(&k, 0, sizeof(k));
  k.present = k.usable = true;
  k.vendor_module = "kvm_intel";
  strcpy(k.nested_param, "Y");
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "kvm_intel is loaded with nested=1");
  assert_true(ok);
  strcpy(k.nested_param, "1");
  vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf));
  assert_true(ok);
  strcpy(k.nested_param, "N");
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "nested=1");
  contains(buf, "nested=N");
  assert_false(ok);
  k.vendor_module = NULL;
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "unknown");
  assert_false(ok);
  k.vendor_module = "kvm_amd";
  strcpy(k.nested_param, "1");
  k.pvm = true;
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "PVM");
  lacks(buf, "no /dev/kvm");
  assert_false(ok);
  k.present = false;
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "PVM");
  contains(buf, "no /dev/kvm");
  assert_false(ok);
  k.pvm = false;
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "no /dev/kvm");
  assert_false(ok);
  k.present = true;
  k.usable = false;
  strcpy(k.reason, "because");
  contains(vmctr__linux_nested_verdict(&k, &ok, buf, sizeof(buf)), "not usable here");
  contains(buf, "because");
  assert_false(ok);
}

/* ---- reference counting ---- */

static void test_ref_unref(void **state) {
  vmctr_caps *caps = NULL;
  const char *why;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  assert_ptr_equal(vmctr_caps_ref(caps), caps);
  assert_ptr_equal(vmctr_caps_ref(caps), caps);
  vmctr_caps_unref(caps);
  vmctr_caps_free(caps); /* a synonym: drops one reference, not the snapshot */
  assert_int_equal(vmctr_caps_has(caps, VMCTR_CAP_TUN, &why) >= 0, 1);
  assert_non_null(why);
  vmctr_caps_unref(caps); /* the last one: freed (ASan checks) */
  assert_null(vmctr_caps_ref(NULL));
  vmctr_caps_unref(NULL);
  vmctr_caps_free(NULL);
}

#define THREADS 8

static void *ref_worker(void *arg) {
  vmctr_caps *caps = arg;
  for (int i = 0; i < 20000; i++) {
    vmctr_caps *mine = vmctr_caps_ref(caps);
    const char *why;
    if (vmctr_caps_has(mine, VMCTR_CAP_HW_VIRT, &why) < 0 || !why)
      return (void *)1;
    vmctr_caps_unref(mine);
  }
  vmctr_caps_unref(caps); /* each worker was handed a reference of its own */
  return NULL;
}

static void test_ref_threads(void **state) {
  vmctr_caps *caps = NULL;
  pthread_t t[THREADS];
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, ref_worker, vmctr_caps_ref(caps)), 0);
  vmctr_caps_unref(caps); /* the workers' references keep it alive */
  for (int i = 0; i < THREADS; i++) {
    void *r;
    assert_int_equal(pthread_join(t[i], &r), 0);
    assert_null(r);
  }
}

/* ---- the shared snapshot ---- */

static atomic_int probes; /* probes seen, from the probe's own log line */

static void count_probes(int32_t level, const char *domain, const char *message, void *ud) {
  (void)level;
  (void)ud;
  if (strcmp(domain, "caps") == 0 && strncmp(message, "backend ", 8) == 0)
    atomic_fetch_add(&probes, 1);
}

static int setup_count(void **state) {
  vmctr__caps_shared_reset();
  atomic_store(&probes, 0);
  return vmctr_log_set_handler(VMCTR_LOG_INFO, count_probes, NULL, NULL);
}

static int teardown_count(void **state) {
  vmctr__caps_shared_reset();
  return vmctr_log_set_handler(VMCTR_LOG_INFO, NULL, NULL, NULL);
}

static void test_shared_probes_once(void **state) {
  vmctr_caps *a = NULL, *b = NULL, *full = NULL, *c = NULL, *d = NULL, *e = NULL;
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &a), 0);
  assert_int_equal(atomic_load(&probes), 1);
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &b), 0);
  assert_ptr_equal(a, b); /* the same object, */
  assert_int_equal(atomic_load(&probes), 1); /* not probed again */
  assert_null(vmctr_caps_qemu_version(a));   /* a quick snapshot */

  /* A quick snapshot does not answer a full request; a full one answers both. */
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_DEFAULT, &full), 0);
  assert_ptr_not_equal(full, a);
  assert_int_equal(atomic_load(&probes), 2);
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_DEFAULT, &c), 0);
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &d), 0);
  assert_ptr_equal(c, full);
  assert_ptr_equal(d, full);
  assert_int_equal(atomic_load(&probes), 2);

  /* Bad arguments; *out untouched. */
  e = (vmctr_caps *)0x1;
  assert_int_equal(vmctr__caps_shared(1u << 9, &e), VMCTR_EINVAL);
  assert_ptr_equal(e, (vmctr_caps *)0x1);
  assert_int_equal(vmctr__caps_shared(0, NULL), VMCTR_EINVAL);

  /* After a reset the next call probes again; references held stay valid. */
  vmctr__caps_shared_reset();
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &e), 0);
  assert_int_equal(atomic_load(&probes), 3);
  assert_ptr_not_equal(e, a);
  assert_true(vmctr_caps_host_cpus(a) >= 1);
  vmctr_caps *all[] = {a, b, full, c, d, e};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    vmctr_caps_unref(all[i]);
}

/* The container's request: every check but the qemu --version query. A
 * quick snapshot cannot answer it, a full one can, and it answers a quick one. */
static void test_shared_no_version(void **state) {
  vmctr_caps *q = NULL, *nv = NULL, *nv2 = NULL, *q2 = NULL, *full = NULL, *nv3 = NULL;
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &q), 0);
  assert_int_equal(vmctr__caps_shared(VMCTR__CAPS_PROBE_NO_VERSION, &nv), 0);
  assert_int_equal(atomic_load(&probes), 2);
  assert_ptr_not_equal(q, nv);
  assert_null(vmctr_caps_qemu_version(nv)); /* no qemu --version run */
  assert_int_equal(vmctr__caps_shared(VMCTR__CAPS_PROBE_NO_VERSION, &nv2), 0);
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &q2), 0);
  assert_ptr_equal(nv2, nv);
  assert_ptr_equal(q2, nv); /* the richer snapshot answers */
  assert_int_equal(atomic_load(&probes), 2);
  /* A full request needs the version query: one more probe, which then
   * answers the others too. */
  assert_int_equal(vmctr__caps_shared(VMCTR_CAPS_PROBE_DEFAULT, &full), 0);
  assert_int_equal(atomic_load(&probes), 3);
  assert_int_equal(vmctr__caps_shared(VMCTR__CAPS_PROBE_NO_VERSION, &nv3), 0);
  assert_ptr_equal(nv3, full);
  assert_int_equal(atomic_load(&probes), 3);
  /* Not a public flag. */
  vmctr_caps *pub = NULL;
  assert_int_equal(vmctr_caps_probe(&pub, VMCTR__CAPS_PROBE_NO_VERSION), VMCTR_EINVAL);
  vmctr_caps *all[] = {q, nv, nv2, q2, full, nv3};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    vmctr_caps_unref(all[i]);
}

static void *shared_worker(void *arg) {
  vmctr_caps **out = arg;
  return vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, out) == 0 ? NULL : (void *)1;
}

/* Concurrent first callers wait for one probe. */
static void test_shared_threads(void **state) {
  vmctr_caps *got[THREADS] = {0};
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, shared_worker, &got[i]), 0);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    assert_int_equal(pthread_join(t[i], &r), 0);
    assert_null(r);
  }
  assert_int_equal(atomic_load(&probes), 1);
  for (int i = 0; i < THREADS; i++) {
    assert_ptr_equal(got[i], got[0]);
    vmctr_caps_unref(got[i]);
  }
}

/* ---- constants ---- */

static void test_accel_constants(void **state) {
  /* One family, int32_t-valued; AUTO is a choice and no probe reports it. */
  assert_int_equal(sizeof(VMCTR_ACCEL_AUTO), sizeof(int32_t));
  assert_int_equal(sizeof(VMCTR_ACCEL_KVM), sizeof(int32_t));
  assert_int_equal(sizeof(VMCTR_BACKEND_QEMU), sizeof(int32_t));
  assert_true(VMCTR_ACCEL_AUTO < 0);
  assert_string_equal(vmctr_accelerator_name(VMCTR_ACCEL_AUTO), "auto");
  assert_string_equal(vmctr_accelerator_name(VMCTR_ACCEL_HVF), "hvf");
}

/* ---- the virtiofsd search ---- */

static void test_find_virtiofsd(void **state) {
  vmctr_caps *caps = NULL;
  char *found = vmctr__find_virtiofsd();
  /* The probe's default is this same search. */
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  if (found) {
    assert_int_equal(access(found, X_OK), 0);
    assert_string_equal(vmctr_caps_virtiofsd_path(caps), found);
  } else {
    assert_null(vmctr_caps_virtiofsd_path(caps));
  }
  free(found);
  vmctr_caps_unref(caps);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_probe_real_host),
    cmocka_unit_test(test_probe_quick_skips_version),
    cmocka_unit_test(test_require_nested_message),
    cmocka_unit_test(test_to_json_shape),
    cmocka_unit_test(test_bad_arguments),
#define FAKE(t) cmocka_unit_test_setup_teardown(t, setup_root, teardown_root)
    FAKE(test_fake_no_kvm),
    FAKE(test_fake_no_kvm_core_only),
    FAKE(test_fake_no_kvm_pvm_loaded),
    FAKE(test_fake_no_kvm_vendor_loaded),
    FAKE(test_fake_pvm),
    FAKE(test_fake_pvm_beside_vendor),
    FAKE(test_fake_kvm_nested_on),
    FAKE(test_fake_kvm_nested_off),
    FAKE(test_fake_kvm_no_vendor_module),
    FAKE(test_fake_kvm_quick),
    FAKE(test_fake_kvm_test_guest_fails),
    FAKE(test_fake_kvm_no_test_guest),
    FAKE(test_fake_kvm_not_kvm),
    FAKE(test_fake_kvm_cannot_open),
    FAKE(test_fake_qemu_missing),
    FAKE(test_fake_current),
    FAKE(test_fake_qemu_version_failure),
    FAKE(test_fake_tap_needs_net_admin),
#undef FAKE
    cmocka_unit_test(test_nested_verdict),
    cmocka_unit_test(test_ref_unref),
    cmocka_unit_test(test_ref_threads),
    cmocka_unit_test_setup_teardown(test_shared_probes_once, setup_count, teardown_count),
    cmocka_unit_test_setup_teardown(test_shared_no_version, setup_count, teardown_count),
    cmocka_unit_test_setup_teardown(test_shared_threads, setup_count, teardown_count),
    cmocka_unit_test(test_accel_constants),
    cmocka_unit_test(test_find_virtiofsd),
  };
  return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
