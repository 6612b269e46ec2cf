/* SPDX-License-Identifier: MIT */
/* Capability probe for macOS: Virtualization.framework.
 *
 * Written against Apple's documented API; it is not built or run on the
 * project's Linux CI machines, only syntax-checked there with ARC
 * (tests/objc; doc/platforms.md). Fills VZVirtualMachine.isSupported,
 * VZGenericPlatformConfiguration.isNestedVirtualizationSupported, Rosetta's
 * availability and VZVirtualMachineConfiguration's CPU and memory limits. */
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>


#include "caps/caps-priv.h"
#include "config.h"
#include "core/error.h"

static int probe_rosetta(struct vmctr_caps *c) {
#if defined(__aarch64__) || defined(__arm64__)
  if (@available(macOS 13.0, *)) {
    switch ([VZLinuxRosettaDirectoryShare availability]) {
    case VZLinuxRosettaAvailabilityInstalled:
      return vmctr__caps_set(c, VMCTR_CAP_ROSETTA, true, "Rosetta is installed");
    case VZLinuxRosettaAvailabilityNotInstalled:
      return vmctr__caps_set(c, VMCTR_CAP_ROSETTA, false,
                             "Rosetta is not installed (run: softwareupdate --install-rosetta)");
    default:
      break;
    }
    return vmctr__caps_set(c, VMCTR_CAP_ROSETTA, false, "Rosetta is not supported on this Mac");
  }
  return vmctr__caps_set(c, VMCTR_CAP_ROSETTA, false, "Rosetta for Linux guests needs macOS 13+");
#else
  return vmctr__caps_set(c, VMCTR_CAP_ROSETTA, false,
                         "Rosetta for Linux guests needs a Mac with Apple silicon");
#endif
}

static int probe_nested(struct vmctr_caps *c) {
  if (@available(macOS 15.0, *)) {
    if ([VZGenericPlatformConfiguration isNestedVirtualizationSupported])
      return vmctr__caps_set(c, VMCTR_CAP_NESTED_VIRT, true,
                             "Virtualization.framework supports nested virtualization here");
    return vmctr__caps_set(c, VMCTR_CAP_NESTED_VIRT, false,
                           "this Mac's chip does not support nested virtualization (needs M3 or newer)");
  }
  return vmctr__caps_set(c, VMCTR_CAP_NESTED_VIRT, false,
                         "nested virtualization needs macOS 15 or newer");
}

int vmctr__caps_probe_platform(struct vmctr_caps *c, uint32_t flags,
                               const struct vmctr__caps_params *p) {
  (void)flags;
  (void)p;
  @autoreleasepool {
    NSProcessInfo *pi = [NSProcessInfo processInfo];
    BOOL supported = [VZVirtualMachine isSupported];

    c->os = "darwin";
#if defined(__aarch64__) || defined(__arm64__)
    c->arch = "aarch64";
#else
    c->arch = "x86_64";
#endif
    c->host_cpus = (uint32_t)[pi activeProcessorCount];
    c->host_memory = (uint64_t)[pi physicalMemory];
    c->max_vcpus = (uint32_t)[VZVirtualMachineConfiguration maximumAllowedCPUCount];
    if (c->max_vcpus > c->host_cpus)
      c->max_vcpus = c->host_cpus;
    /* What one VM may have: the framework's limit, no more than the host
     * has, in whole MiB (the vz backend sizes memory in MiB). */
    c->max_memory = (uint64_t)[VZVirtualMachineConfiguration maximumAllowedMemorySize];
    if (c->max_memory > c->host_memory)
      c->max_memory = c->host_memory;
    c->max_memory &= ~(((uint64_t)1 << 20) - 1);

    TRY(vmctr__caps_setstr(&c->hypervisor, "%s", supported ? "vz" : "none"));
    TRY(vmctr__caps_set(c, VMCTR_CAP_HW_VIRT, supported,
                        supported ? "Virtualization.framework reports VM support"
                                  : "Virtualization.framework reports no VM support on this Mac "
                                    "(inside a VM without nested virtualization?)"));
    if (!c->compiled_vz)
      TRY(vmctr__caps_set(c, VMCTR_CAP_BACKEND_VZ, false,
                          "not built into this libvmctr (configured with -Dvz=disabled)"));
    else
      TRY(vmctr__caps_set(c, VMCTR_CAP_BACKEND_VZ, supported, "%s",
                          supported ? "Virtualization.framework"
                                    : "VZVirtualMachine.isSupported is false"));
    TRY(vmctr__caps_set(c, VMCTR_CAP_BACKEND_QEMU, false,
                        "the qemu backend is built for Linux hosts only"));
    TRY(probe_nested(c));
    TRY(vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, true,
                        "VZVirtioFileSystemDeviceConfiguration (built into macOS)"));
    TRY(vmctr__caps_set(c, VMCTR_CAP_TUN, false, "tun devices are a Linux feature; "
                                                 "macOS guests use vmnet"));
    TRY(vmctr__caps_set(c, VMCTR_CAP_TAP, false, "tap devices are a Linux feature; "
                                                 "macOS guests use vmnet"));
    TRY(probe_rosetta(c));

    if (c->cap[VMCTR_CAP_BACKEND_VZ].present) {
      c->backend = VMCTR_BACKEND_VZ;
      c->accel = VMCTR_ACCEL_HVF;
      TRY(vmctr__caps_setstr(&c->accel_reason, "Virtualization.framework (Apple Hypervisor)"));
    } else {
      c->backend = VMCTR_BACKEND_NONE;
      c->accel = VMCTR_ACCEL_NONE;
      TRY(vmctr__caps_setstr(&c->accel_reason, "no VM can run: %s",
                             c->cap[VMCTR_CAP_BACKEND_VZ].reason));
    }
  }
  return 0;
}

/* Virtualization.framework shares directories itself: no virtiofsd. */
char *vmctr__find_virtiofsd(void) { return NULL; }
char *vmctr__find_passt(void) { return NULL; }
