/* SPDX-License-Identifier: MIT */
/* What lib/vmm offers the container layer beyond the public vmctr/vmm.h:
 * the connected guest agent of a running VM, and mounts added without a
 * second validation (the container validated them at its public boundary). */
#ifndef VMCTR_VMM_VMM_H
#define VMCTR_VMM_VMM_H

#include <stddef.h>

#include "agent/client.h"
#include "vmctr/vmm.h"

/* The connected guest agent of a running VM (NULL otherwise); owned by vmm. */
vmctr__agent *vmctr__vmm_agent(vmctr_vmm *vmm);

/* vmctr_vmm_add_mount() for a mount the caller has already validated. */
int vmctr__vmm_add_mount_checked(vmctr_vmm *vmm, const vmctr_mount *mount);

#endif
