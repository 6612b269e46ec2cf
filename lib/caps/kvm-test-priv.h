/* SPDX-License-Identifier: MIT */
/* Questions put to an open /dev/kvm (private to lib/caps). */
#ifndef VMCTR_CAPS_KVM_TEST_H
#define VMCTR_CAPS_KVM_TEST_H

#include <stddef.h>
#include <stdint.h>

/* Run a one-instruction guest (HLT in real mode) on an open /dev/kvm.
 * Returns 0 if it halted as it should; -EOPNOTSUPP where no test guest exists
 * for the host architecture; otherwise a negative errno-style value and a
 * description of what went wrong in why. */
int vmctr__kvm_test_guest(int kvm_fd, char *why, size_t why_size);

/* KVM_CAP_MAX_VCPUS (or KVM_CAP_NR_VCPUS) of an open /dev/kvm; 0 if unknown. */
uint32_t vmctr__kvm_max_vcpus(int kvm_fd);

/* KVM_GET_API_VERSION of an open /dev/kvm, or a negative errno value. */
int vmctr__kvm_api_version(int kvm_fd);

/* The questions the probe asks an opened /dev/kvm. The probe uses
 * vmctr__kvm_real_ops unless its parameters name others: a unit test's fake
 * /dev/kvm is a plain file, and its ops answer as the KVM being faked. */
struct vmctr__kvm_ops {
  int (*api_version)(int kvm_fd);
  uint32_t (*max_vcpus)(int kvm_fd);
  int (*test_guest)(int kvm_fd, char *why, size_t why_size);
};

extern const struct vmctr__kvm_ops vmctr__kvm_real_ops;

#endif
