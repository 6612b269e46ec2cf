/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/network.h
 * @brief Networks: named descriptions of how containers' VMs reach each
 *        other, the host and the outside, and the store that keeps them.
 *
 * A vmctr_network has a name and a mode:
 *
 * - **isolated NAT** (VMCTR_NETWORK_ISOLATED_NAT): every VM gets a NAT of
 *   its own (passt, or QEMU's user-mode network); containers cannot reach
 *   each other. Every VM sees the same addresses (by default the guest is
 *   10.0.2.15 in 10.0.2.0/24, gateway 10.0.2.2, DNS 10.0.2.3).
 * - **shared** (VMCTR_NETWORK_SHARED): a host bridge with NAT to the
 *   outside; the containers on it reach each other.
 * - **host-only** (VMCTR_NETWORK_HOST_ONLY): a host bridge without NAT or
 *   forwarding: containers reach each other and the host only.
 * - **bridged** (VMCTR_NETWORK_BRIDGED): a host bridge that enslaves a host
 *   interface, so containers sit on that interface's network.
 *
 * Bridge networks default to 192.168.64.0/24 with the gateway (the host's
 * address on the bridge) 192.168.64.1, no DNS servers, MTU 1500.
 *
 * A network object is a plain value, not shared and not thread-safe (like
 * vmctr_mount). Networks are kept by name in a state directory
 * ("the store"): vmctr_network_create() writes one, vmctr_network_open()
 * reads it back. The store also holds each network's address leases, which
 * the container layer takes and releases. See doc/network.md.
 */
#ifndef VMCTR_NETWORK_H
#define VMCTR_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** An opaque network description. */
typedef struct vmctr_network vmctr_network;

/** Mode: a NAT per VM; no traffic between containers. */
#define VMCTR_NETWORK_ISOLATED_NAT 1u
/** Mode: a host bridge with NAT; containers reach each other. */
#define VMCTR_NETWORK_SHARED 2u
/** Mode: a host bridge without NAT or forwarding. */
#define VMCTR_NETWORK_HOST_ONLY 3u
/** Mode: a host bridge enslaving a host interface. */
#define VMCTR_NETWORK_BRIDGED 4u

/** Isolated NAT: passt if it is installed, else QEMU's user-mode network. */
#define VMCTR_NETWORK_NAT_AUTO 0u
/** Isolated NAT: passt. */
#define VMCTR_NETWORK_NAT_PASST 1u
/** Isolated NAT: QEMU's user-mode network (slirp). */
#define VMCTR_NETWORK_NAT_USER 2u

/** The longest network name in bytes. */
#define VMCTR_NETWORK_NAME_MAX 32u
/** The most DNS servers a network hands out. */
#define VMCTR_NETWORK_MAX_DNS 8u
/** The largest JSON text vmctr_network_from_json() accepts: 64 KiB. */
#define VMCTR_NETWORK_MAX_JSON (64u * 1024u)

/**
 * A new network with the defaults of its mode (see the file comment).
 *
 * @param out   receives the network; free it with vmctr_network_free().
 * @param name  1 to VMCTR_NETWORK_NAME_MAX bytes: a letter or digit, then
 *              letters, digits, '_', '.' and '-'.
 * @param mode  VMCTR_NETWORK_ISOLATED_NAT, _SHARED, _HOST_ONLY or _BRIDGED.
 *              A bridged network needs vmctr_network_set_host_interface()
 *              before it can be stored.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_new(vmctr_network **out, const char *name, uint32_t mode);

/** Free a network. NULL is ignored. */
VMCTR_API void vmctr_network_free(vmctr_network *n);

/**
 * A deep copy (including the state directory it came from).
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_clone(vmctr_network **out, const vmctr_network *n);

/**
 * Set the subnet, "a.b.c.d/prefix" with a prefix of 8 to 30 and the host
 * bits zero (192.168.64.0/24, not 192.168.64.1/24). A gateway that is no
 * longer a host address of the subnet becomes its first host address, and
 * DNS servers inside the old subnet but outside the new one are dropped.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_network_set_subnet(vmctr_network *n, const char *cidr);

/**
 * Set the gateway, a host address inside the subnet (neither the network
 * nor the broadcast address). On a bridge network it is the host's address
 * on the bridge; on an isolated network the NAT's.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_network_set_gateway(vmctr_network *n, const char *ip);

/** Set the MTU, 68 to 65535. @return 0 or VMCTR_EINVAL. */
VMCTR_API int vmctr_network_set_mtu(vmctr_network *n, uint32_t mtu);

/**
 * Add a DNS server (dotted quad) for the guests, at most
 * VMCTR_NETWORK_MAX_DNS; one already listed is VMCTR_EEXIST.
 * @return 0, VMCTR_EINVAL, VMCTR_EEXIST or VMCTR_ENOSPC.
 */
VMCTR_API int vmctr_network_add_dns_server(vmctr_network *n, const char *ip);

/** Remove every DNS server. @return 0 or VMCTR_EINVAL (n NULL). */
VMCTR_API int vmctr_network_clear_dns_servers(vmctr_network *n);

/**
 * Set the host interface a bridged network enslaves (at most 15 bytes, no
 * '/', whitespace or ':'). Only for VMCTR_NETWORK_BRIDGED.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_network_set_host_interface(vmctr_network *n, const char *ifname);

/**
 * Choose the NAT of an isolated network: VMCTR_NETWORK_NAT_AUTO (the
 * default), _PASST or _USER. Only for VMCTR_NETWORK_ISOLATED_NAT.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_network_set_nat(vmctr_network *n, uint32_t nat);

/** The name (borrowed), or NULL if n is NULL. */
VMCTR_API const char *vmctr_network_name(const vmctr_network *n);
/** The mode (VMCTR_NETWORK_*), or 0 if n is NULL. */
VMCTR_API uint32_t vmctr_network_mode(const vmctr_network *n);
/** The subnet as "a.b.c.d/prefix" (borrowed, valid until it changes), or NULL. */
VMCTR_API const char *vmctr_network_subnet(const vmctr_network *n);
/** The gateway as a dotted quad (borrowed, valid until it changes), or NULL. */
VMCTR_API const char *vmctr_network_gateway(const vmctr_network *n);
/** The MTU, or 0 if n is NULL. */
VMCTR_API uint32_t vmctr_network_mtu(const vmctr_network *n);
/** How many DNS servers there are (0 if n is NULL). */
VMCTR_API size_t vmctr_network_dns_server_count(const vmctr_network *n);
/**
 * DNS server i as a dotted quad (borrowed, valid until the list changes),
 * or NULL if i is out of range.
 */
VMCTR_API const char *vmctr_network_dns_server(const vmctr_network *n, size_t i);
/** The host interface of a bridged network (borrowed), or NULL if none is set. */
VMCTR_API const char *vmctr_network_host_interface(const vmctr_network *n);
/** The NAT choice (VMCTR_NETWORK_NAT_*; AUTO for other modes and for NULL). */
VMCTR_API uint32_t vmctr_network_nat(const vmctr_network *n);
/**
 * The state directory (its real path, borrowed) that vmctr_network_open()
 * read the network from, or NULL for a network made with
 * vmctr_network_new() or vmctr_network_from_json().
 */
VMCTR_API const char *vmctr_network_state_dir(const vmctr_network *n);

/**
 * The network as a JSON object (doc/network.md gives the keys).
 * @param json  receives the text; free it with vmctr_free().
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_to_json(const vmctr_network *n, char **json);

/**
 * A network from JSON text (untrusted; at most VMCTR_NETWORK_MAX_JSON
 * bytes). Unknown keys are refused, and every value is checked as the
 * setters check it; the message names the key.
 * @return 0, VMCTR_EPARSE, VMCTR_EINVAL, VMCTR_ETOOBIG or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_from_json(vmctr_network **out, const char *json, size_t len);

/**
 * Store a network in a state directory, which is created (0700) if needed.
 *
 * @param state_dir  the directory, or NULL for the per-user default:
 *                   $XDG_STATE_HOME/libvmctr, else /var/lib/libvmctr for
 *                   root, else ~/.local/state/libvmctr.
 * @return 0, VMCTR_EEXIST (a network of that name exists), VMCTR_EINVAL
 *         (e.g. a bridged network without a host interface), VMCTR_EIO,
 *         VMCTR_EPERM or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_create(const char *state_dir, const vmctr_network *n);

/**
 * Read a stored network.
 * @param out  receives it; vmctr_network_state_dir() then names the store.
 * @return 0, VMCTR_ENOENT, VMCTR_EINVAL, VMCTR_EPARSE or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_open(vmctr_network **out, const char *state_dir, const char *name);

/**
 * The names of the stored networks, sorted.
 * @param names  receives a NULL-terminated array (empty when the directory
 *               does not exist); free it with vmctr_strv_free().
 * @return 0, VMCTR_EINVAL, VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_network_list(const char *state_dir, char ***names);

/**
 * Remove a stored network and its leases. Leases whose owning process has
 * died are reclaimed first.
 * @return 0, VMCTR_ENOENT, VMCTR_EBUSY (containers are still attached: the
 *         message names them), VMCTR_EINVAL or VMCTR_EIO.
 */
VMCTR_API int vmctr_network_remove(const char *state_dir, const char *name);

VMCTR_END_DECLS

#endif /* VMCTR_NETWORK_H */
