/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/mount.h
 * @brief (being written)
 */
#ifndef VMCTR_MOUNT_H
#define VMCTR_MOUNT_H

#include <stdint.h>

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** Opaque handle. */
typedef struct vmctr_mount vmctr_mount;

VMCTR_END_DECLS

#endif /* VMCTR_MOUNT_H */
