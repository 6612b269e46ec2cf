/* SPDX-License-Identifier: MIT */
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

#endif
