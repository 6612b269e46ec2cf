/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/image.h
 * @brief (being written)
 */
#ifndef VMCTR_IMAGE_H
#define VMCTR_IMAGE_H

#include <stdint.h>

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** Opaque handle. */
typedef struct vmctr_image vmctr_image;

VMCTR_END_DECLS

#endif /* VMCTR_IMAGE_H */
