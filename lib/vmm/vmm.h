/* SPDX-License-Identifier: MIT */
/* What lib/vmm offers the container layer beyond the public vmctr/vmm.h:
 * the connected guest agent of a running VM, and mounts added without a
 * second validation (the container validated them at its public boundary). */
#ifndef VMCTR_VMM_VMM_H
#define VMCTR_VMM_VMM_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/client.h"
#include "net/net.h"
#include "vmctr/vmm.h"

/* The connected guest agent of a running VM (NULL otherwise); owned by vmm. */
vmctr__agent *vmctr__vmm_agent(vmctr_vmm *vmm);

/* Whether the running VM was restored from a template (its RESTORED request
 * has set the guest's clock and reseeded its RNG already). */
bool vmctr__vmm_restored(const vmctr_vmm *vmm);

/* vmctr_vmm_add_mount() for a mount the caller has already validated. */
int vmctr__vmm_add_mount_checked(vmctr_vmm *vmm, const vmctr_mount *mount);

/* The most network interfaces one VM takes. */
#define VMCTR__VMM_MAX_NICS 8u

/* Add a network interface (before start): nd is validated (kind, MTU
 * 68..65535, a unicast MAC no other NIC of the VM has; for NAT: a prefix of
 * 1..30, guest_ip and gateway distinct host addresses inside
 * guest_ip/prefix, published ports 1..65535 of TCP or UDP) and deep-copied;
 * a tap fd is dup'ed (the copy is closed at vmctr_vmm_free, the caller's is
 * never touched). VMCTR_EINVAL, VMCTR_ESTATE once started, VMCTR_ENOMEM. */
int vmctr__vmm_add_netdev(vmctr_vmm *vmm, const vmctr__netdev *nd);

/* Run the hypervisor and its helpers (before start) in the network
 * namespace fd refers to (dup'ed; the copy is closed at vmctr_vmm_free).
 * A tap NIC's fd may come from any namespace: a tap stays where it was
 * made. VMCTR_EINVAL, VMCTR_ESTATE once started. */
int vmctr__vmm_set_netns(vmctr_vmm *vmm, int fd);

#endif
