/* SPDX-License-Identifier: MIT */
/* Linux probe internals exposed for unit tests. */
#ifndef VMCTR_CAPS_PROBE_LINUX_H
#define VMCTR_CAPS_PROBE_LINUX_H

#include <stdbool.h>
#include <stdint.h>

struct vmctr__linux_kvm {
  bool present;              /* /dev/kvm exists */
  bool usable;               /* it really runs guests */
  bool pvm;                  /* provided by kvm_pvm */
  const char *vendor_module; /* "kvm_intel", "kvm_amd" or NULL */
  char nested_param[16];     /* the vendor module's nested parameter, "" if none */
  uint32_t max_vcpus;
  char reason[512];
};

/* Pure decision: does this KVM support nested virtualization? Returns the
 * reason (static) and sets *supported. */
const char *vmctr__linux_nested_verdict(const struct vmctr__linux_kvm *k, bool *supported);

#endif
