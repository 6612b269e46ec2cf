/* SPDX-License-Identifier: MIT */
/* The versioned call-options structs of the public API (STYLE.md: first field
 * uint32_t version, then uint32_t flags): one body for every
 * vmctr_X_options_init() and one check for every function that takes them. */
#ifndef VMCTR_CORE_OPTIONS_H
#define VMCTR_CORE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"

/* Copy defaults (size bytes, e.g. a static const made from VMCTR_X_OPTIONS_INIT)
 * into opts. Only the version this library knows is accepted: an unknown one
 * means a caller built against another layout. type names the struct in
 * messages ("vmctr_image_ext4_options"). */
static inline int vmctr__options_init(void *opts, const void *defaults, size_t size,
                                      uint32_t version, uint32_t latest, const char *type) {
  if (!opts)
    return vmctr__err(VMCTR_EINVAL, 0, "%s_init: opts is NULL", type);
  if (version != latest)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown version %u (this library knows %u)", type,
                      version, latest);
  memcpy(opts, defaults, size);
  return 0;
}

/* Check the version and flags fields of options passed in (not NULL: callers
 * substitute their defaults first). Flags outside known are refused so that a
 * newer caller's request is never silently ignored. */
static inline int vmctr__options_check(const void *opts, uint32_t latest, uint32_t known_flags,
                                       const char *type) {
  uint32_t head[2]; /* version, flags */
  memcpy(head, opts, sizeof(head));
  if (head[0] != latest)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown version %u (this library knows %u)", type,
                      head[0], latest);
  if (head[1] & ~known_flags)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown flags 0x%x", type, head[1] & ~known_flags);
  return 0;
}

#endif
