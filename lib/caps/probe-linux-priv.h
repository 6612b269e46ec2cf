/* SPDX-License-Identifier: MIT */
/* Linux probe internals exposed for unit tests (private to lib/caps). */
#ifndef VMCTR_CAPS_PROBE_LINUX_H
#define VMCTR_CAPS_PROBE_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmctr__linux_kvm {
  bool present;              /* /dev/kvm exists (it may still not open) */
  bool usable;               /* it really runs guests */
  bool pvm;                  /* the kvm_pvm module is loaded */
  const char *vendor_module; /* "kvm_intel", "kvm_amd" or NULL */
  char nested_param[16];     /* the vendor module's nested parameter, "" if none */
  uint32_t max_vcpus;
  char reason[512];          /* why usable is what it is */
};

/* Pure decision: does this KVM support nested virtualization? Sets
 * *supported, writes the reason into buf and returns buf. */
const char *vmctr__linux_nested_verdict(const struct vmctr__linux_kvm *k, bool *supported,
                                        char *buf, size_t size);

#endif
