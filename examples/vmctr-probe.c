/* SPDX-License-Identifier: MIT */
/* vmctr-probe: can this host run container VMs? A table, or JSON with --json.
 * Exit status: 0 if a VM can run, 1 if not (or on error), 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include <vmctr.h>

static void usage(FILE *f) {
  fputs("Usage: vmctr-probe [--json] [--quick] [--help]\n"
        "\n"
        "Report what this host offers for running containers in VMs: backends,\n"
        "the accelerator that would be used and why, nested virtualization,\n"
        "host resources, the qemu and virtiofsd binaries, tun/tap networking.\n"
        "\n"
        "  --json    print the capability snapshot as JSON\n"
        "  --quick   skip checks that start processes or test guests\n"
        "  --help    show this help\n"
        "\n"
        "Exit status: 0 if this host can run a VM, 1 if it cannot or on error,\n"
        "2 on a usage error.\n",
        f);
}

static void row_cap(const vmctr_caps *caps, const char *label, uint32_t cap) {
  const char *why = "";
  int r = vmctr_caps_has(caps, cap, &why);
  printf("  %-26s %-4s %s\n", label, r == 1 ? "yes" : "no", why);
}

static void table(const vmctr_caps *caps) {
  const char *accel_why = "";
  int32_t accel = vmctr_caps_accelerator(caps, &accel_why);
  const char *qv = vmctr_caps_qemu_version(caps), *qp = vmctr_caps_qemu_path(caps);
  const char *vfs = vmctr_caps_virtiofsd_path(caps);

  printf("libvmctr %s\n\n", vmctr_version_string());
  printf("  %-26s %s\n", "backend", vmctr_backend_name(vmctr_caps_backend(caps)));
  printf("  %-26s %s\n", "accelerator", vmctr_accelerator_name(accel));
  printf("  %-26s %s\n\n", "", accel_why);
  printf("  %-26s %s%s\n", "qemu backend compiled",
         vmctr_caps_backend_compiled(caps, VMCTR_BACKEND_QEMU) == 1 ? "yes" : "no", "");
  printf("  %-26s %s\n", "vz backend compiled",
         vmctr_caps_backend_compiled(caps, VMCTR_BACKEND_VZ) == 1 ? "yes" : "no");
  row_cap(caps, "qemu backend usable", VMCTR_CAP_BACKEND_QEMU);
  row_cap(caps, "vz backend usable", VMCTR_CAP_BACKEND_VZ);
  row_cap(caps, "hardware virtualization", VMCTR_CAP_HW_VIRT);
  row_cap(caps, "nested virtualization", VMCTR_CAP_NESTED_VIRT);
  row_cap(caps, "virtiofs shares", VMCTR_CAP_VIRTIOFS);
  row_cap(caps, "tun", VMCTR_CAP_TUN);
  row_cap(caps, "tap networking", VMCTR_CAP_TAP);
  row_cap(caps, "rosetta", VMCTR_CAP_ROSETTA);
  printf("\n  %-26s %u\n", "host cpus", (unsigned)vmctr_caps_host_cpus(caps));
  printf("  %-26s %llu MiB\n", "host memory",
         (unsigned long long)(vmctr_caps_host_memory(caps) >> 20));
  printf("  %-26s %u\n", "max vcpus per VM", (unsigned)vmctr_caps_max_vcpus(caps));
  printf("  %-26s %llu MiB\n", "max memory per VM",
         (unsigned long long)(vmctr_caps_max_memory(caps) >> 20));
  printf("  %-26s %s%s%s\n", "qemu", qp ? qp : "(not found)", qv ? " " : "", qv ? qv : "");
  printf("  %-26s %s\n", "virtiofsd", vfs ? vfs : "(not found)");
}

int main(int argc, char **argv) {
  int json = 0;
  uint32_t flags = VMCTR_CAPS_PROBE_DEFAULT;
  vmctr_caps *caps = NULL;
  int rc;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--quick") == 0) {
      flags |= VMCTR_CAPS_PROBE_QUICK;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "vmctr-probe: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (vmctr_caps_probe(&caps, flags) < 0) {
    fprintf(stderr, "vmctr-probe: %s\n", vmctr_error_last()->message);
    return 1;
  }
  if (json) {
    char *text = NULL;
    if (vmctr_caps_to_json(caps, &text) < 0) {
      fprintf(stderr, "vmctr-probe: %s\n", vmctr_error_last()->message);
      vmctr_caps_unref(caps);
      return 1;
    }
    printf("%s\n", text);
    vmctr_free(text);
  } else {
    table(caps);
  }
  rc = vmctr_caps_backend(caps) == VMCTR_BACKEND_NONE ? 1 : 0;
  vmctr_caps_unref(caps);
  return rc;
}
