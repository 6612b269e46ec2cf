/* SPDX-License-Identifier: MIT */
/* Which backend this build boots VMs with: the one place that names them. */
#include <stddef.h>

#include "config.h"
#include "vmm/backend-priv.h"

#if VMCTR_HAVE_VZ
/* lib/vmm/vz/vz.m (declared here: backend-priv.h names only qemu's). */
extern const vmctr__backend_ops vmctr__vz_backend;
#endif

const vmctr__backend_ops *vmctr__backend_default(void) {
#if VMCTR_HAVE_QEMU
  return &vmctr__qemu_backend;
#elif VMCTR_HAVE_VZ
  return &vmctr__vz_backend;
#else
  return NULL;
#endif
}
