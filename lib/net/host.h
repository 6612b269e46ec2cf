/* SPDX-License-Identifier: MIT */
/*
 * The host side of shared, host-only and bridged networks (internal API,
 * Linux: lib/net/bridge-linux.c and lib/net/nft-linux.c): one bridge and
 * one nftables table per network, and the tap devices of its VMs.
 * doc/network-linux.md lists every object this creates in the host.
 *
 * Everything acts in the caller's network namespace and needs
 * CAP_NET_ADMIN there; without it the calls fail with VMCTR_EPERM and a
 * message that says so. Addresses are IPv4 in host byte order.
 */
#ifndef VMCTR_NET_HOST_H
#define VMCTR_NET_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

/* The network modes this layer serves (the public VMCTR_NETWORK_* values). */
#define VMCTR__HOSTNET_SHARED 2u    /* bridge with a gateway address, NAT out */
#define VMCTR__HOSTNET_HOST_ONLY 3u /* bridge with a gateway address, no way out */
#define VMCTR__HOSTNET_BRIDGED 4u   /* bridge enslaving a host interface */

/* Host object names: "vmbr-<id>" (bridge), "vmt<id>-<n>" (taps), nftables
 * table "ip vmctr-<id>". All fit IFNAMSIZ. */
#define VMCTR__HOSTNET_BRIDGE_PREFIX "vmbr-"
#define VMCTR__HOSTNET_TAP_PREFIX "vmt"
#define VMCTR__HOSTNET_TABLE_PREFIX "vmctr-"
#define VMCTR__HOSTNET_ID_LEN 8u

/* What the host holds for one network: its bridge and firewall. */
typedef struct vmctr__host_net {
  uint32_t mode;                          /* VMCTR__HOSTNET_* */
  char id[VMCTR__HOSTNET_ID_LEN + 1];     /* 8 lowercase hex chars, stable */
  uint32_t subnet, prefix, gateway;       /* the bridge gets gateway/prefix (not bridged) */
  uint32_t mtu;                           /* 68..65535 */
  const char *host_if;                    /* bridged: the host interface to enslave */
} vmctr__host_net;

/* A published port to one guest: host_ip:host_port -> guest_ip:guest_port. */
typedef struct vmctr__host_forward {
  vmctr__net_port port;
  uint32_t guest_ip;
} vmctr__host_forward;

/* Make sure the bridge "vmbr-<id>" exists and is up, with gateway/prefix
 * (shared, host-only) or enslaving host_if (bridged; refused while host_if
 * carries an IPv4 address, which would cut the host off), and that IPv4
 * forwarding is on for shared. Idempotent. */
int vmctr__host_net_up(const vmctr__host_net *hn);

/* Open a new tap "vmt<id>-<n>" (IFF_TAP | IFF_NO_PI, no vnet header),
 * non-persistent: it vanishes when its last fd closes. It gets hn->mtu, is
 * enslaved to the network's bridge (which must be up) and set up. *fd is
 * the open tap (O_CLOEXEC), name its name; both are set only on success. */
int vmctr__host_net_tap(const vmctr__host_net *hn, int *fd, char name[16]);

/* Enslave an existing link (a tap opened elsewhere, or a veth end) to the
 * network's bridge, with hn->mtu, and set it up. */
int vmctr__host_net_attach(const vmctr__host_net *hn, const char *ifname);

/* Replace the network's whole firewall (table "ip vmctr-<id>") in one
 * nftables transaction with what the mode and these forwards need. Bridged
 * networks take no forwards (their guests own addresses on the host's
 * network): VMCTR_EINVAL. */
int vmctr__host_net_sync(const vmctr__host_net *hn, const vmctr__host_forward *fw, size_t nfw);

/* Remove the network's table and bridge (its last user went); missing
 * objects are fine. IPv4 forwarding stays as it is. */
int vmctr__host_net_down(const vmctr__host_net *hn);

/* Crash cleanup: remove every bridge "vmbr-<id>" and table "vmctr-<id>"
 * (id: 8 hex chars) whose id is not in keep_ids (NULL-terminated; NULL:
 * none kept). *removed (may be NULL) counts the objects removed. */
int vmctr__host_net_sweep(const char *const *keep_ids, size_t *removed);

/* nft-linux.c, for bridge-linux.c: delete table "ip vmctr-<id>" if present;
 * list the ids of present "vmctr-<id>" tables into ids (at most max), the
 * count or a negative VMCTR_E*. */
int vmctr__host_nft_delete(const char *id);
int vmctr__host_nft_ids(char (*ids)[VMCTR__HOSTNET_ID_LEN + 1], size_t max);
/* The mode's name for messages ("shared", "host-only", "bridged"). */
const char *vmctr__host_net_mode_name(uint32_t mode);
/* Record the missing-CAP_NET_ADMIN failure for mode (0: any), return VMCTR_EPERM. */
int vmctr__host_net_noperm(uint32_t mode, int os_errno);
/* Whether id is 8 lowercase hex chars. */
int vmctr__host_net_id_ok(const char *id);

#endif /* VMCTR_NET_HOST_H */
