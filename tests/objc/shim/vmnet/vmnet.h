/* SPDX-License-Identifier: MIT */
/* Shim for the Objective-C syntax check (tests/objc) -- NOT Apple's header.
 *
 * The subset of Apple's vmnet framework that libvmctr's vz backend uses,
 * written from Apple's public reference; each declaration names its page
 * ("doc: PATH" under https://developer.apple.com/documentation/). Nothing
 * here is linked or run. As in the Virtualization shim, enumerators are
 * declared by name only: their values are not transcribed and code must not
 * depend on them.
 *
 * Simplification: the two object types are opaque C pointers here. Apple
 * documents releasing them with CFRelease, so the vz code treats them as
 * Core Foundation objects, which ARC does not manage; that this matches
 * Apple's real typedef is not something this check can show. */
#ifndef VMCTR_SHIM_VMNET_VMNET_H
#define VMCTR_SHIM_VMNET_VMNET_H

#include <netinet/in.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef API_AVAILABLE
#define VMCTR_SHIM_AVAILABLE_macos(v) __attribute__((availability(macos, introduced = v)))
#define API_AVAILABLE(p) VMCTR_SHIM_AVAILABLE_##p
#endif

/* doc: vmnet/operating_modes_t (macOS 10.10) */
typedef enum {
  VMNET_HOST_MODE,
  VMNET_SHARED_MODE,
  VMNET_BRIDGED_MODE,
} operating_modes_t;

/* doc: vmnet/vmnet_mode_t (macOS 26) */
typedef operating_modes_t vmnet_mode_t;

/* doc: vmnet/vmnet_return_t (macOS 10.10); only the cases the code names. */
typedef enum {
  VMNET_SUCCESS,
  VMNET_FAILURE,
  VMNET_MEM_FAILURE,
  VMNET_INVALID_ARGUMENT,
  VMNET_SETUP_INCOMPLETE,
  VMNET_INVALID_ACCESS,
  VMNET_PACKET_TOO_BIG,
  VMNET_BUFFER_EXHAUSTED,
  VMNET_TOO_MANY_PACKETS,
  VMNET_SHARING_SERVICE_BUSY,
} vmnet_return_t;

/* doc: vmnet/vmnet_network_configuration_ref (macOS 26) */
typedef struct vmctr_shim_vmnet_network_configuration_s *vmnet_network_configuration_ref;
/* doc: vmnet/vmnet_network_ref (macOS 26) */
typedef struct vmctr_shim_vmnet_network_s *vmnet_network_ref;

/* doc: vmnet/vmnet_network_configuration_create(_:_:) -- shared or host mode;
 * NULL on failure, with *status saying why. */
vmnet_network_configuration_ref vmnet_network_configuration_create(vmnet_mode_t mode,
                                                                   vmnet_return_t *status)
    API_AVAILABLE(macos(26.0));
/* doc: vmnet/vmnet_network_configuration_set_ipv4_subnet(_:_:_:) -- the
 * first, second (the host's) and last addresses are reserved. */
vmnet_return_t vmnet_network_configuration_set_ipv4_subnet(vmnet_network_configuration_ref config,
                                                           const struct in_addr *subnet_addr,
                                                           const struct in_addr *subnet_mask)
    API_AVAILABLE(macos(26.0));
/* doc: vmnet/vmnet_network_configuration_set_mtu(_:_:) */
vmnet_return_t vmnet_network_configuration_set_mtu(vmnet_network_configuration_ref config,
                                                   uint32_t mtu) API_AVAILABLE(macos(26.0));
/* doc: vmnet/vmnet_network_configuration_disable_dhcp(_:) */
void vmnet_network_configuration_disable_dhcp(vmnet_network_configuration_ref config)
    API_AVAILABLE(macos(26.0));
/* doc: vmnet/vmnet_network_create(_:_:) -- NULL on failure. */
vmnet_network_ref vmnet_network_create(vmnet_network_configuration_ref configuration,
                                       vmnet_return_t *status) API_AVAILABLE(macos(26.0));

#ifdef __cplusplus
}
#endif

#endif
