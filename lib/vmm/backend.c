/* SPDX-License-Identifier: MIT */
/* Which backend this build boots VMs with: the one place that names them. */
#include <stddef.h>

#include "config.h"
#include "vmm/backend-priv.h"

const vmctr__backend_ops *vmctr__backend_default(void) {
#if VMCTR_HAVE_QEMU
  return &vmctr__qemu_backend;
#else
  return NULL;
#endif
}
