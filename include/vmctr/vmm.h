/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/vmm.h
 * @brief (being written)
 */
#ifndef VMCTR_VMM_H
#define VMCTR_VMM_H

#include <stdint.h>

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** Opaque handle. */
typedef struct vmctr_vmm vmctr_vmm;

VMCTR_END_DECLS

#endif /* VMCTR_VMM_H */
