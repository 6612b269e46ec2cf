/* SPDX-License-Identifier: MIT */
/*
 * The network layer's plain descriptions (internal API), shared by the
 * layers above it: what a hypervisor backend attaches for one NIC
 * (vmctr__netdev, read by lib/vmm) and what the guest agent configures for
 * one interface (vmctr__net_guest_if, sent by lib/agent's typed ops).
 *
 * Addresses are IPv4 in host byte order; a prefix is 0..32. Nothing here
 * names a backend: a NAT netdev is "a per-VM NAT of the backend's own"
 * (QEMU: passt, or user-mode networking; Virtualization.framework: VZNAT),
 * a tap netdev a Linux tap device the library opened and hands in as an fd.
 */
#ifndef VMCTR_NET_NET_H
#define VMCTR_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A published port: host_ip:host_port on the host reaches guest_port. */
#define VMCTR__NET_TCP 6u
#define VMCTR__NET_UDP 17u
typedef struct vmctr__net_port {
  uint32_t proto;     /* VMCTR__NET_TCP or VMCTR__NET_UDP */
  uint32_t host_ip;   /* 0: every host address */
  uint16_t host_port; /* 1..65535 */
  uint16_t guest_port;/* 1..65535 */
} vmctr__net_port;

/* How a backend attaches a NIC. */
#define VMCTR__NETDEV_NAT 1u /* a per-VM NAT the backend provides */
#define VMCTR__NETDEV_TAP 2u /* a tap device the library opened (Linux) */
/* A network the backend's host joins VMs to by itself, named by `network`
 * (a backend with host-side virtual networks: vmnet on macOS). SHARED
 * routes to the outside through a NAT of the host, HOST_ONLY does not,
 * BRIDGED puts the NIC on the LAN of host interface `host_if`. On Linux the
 * library builds such networks from taps instead (VMCTR__NETDEV_TAP). */
#define VMCTR__NETDEV_SHARED 3u
#define VMCTR__NETDEV_HOST_ONLY 4u
#define VMCTR__NETDEV_BRIDGED 5u

/* Which NAT (VMCTR__NETDEV_NAT on the qemu backend): AUTO is passt when it
 * is installed, else QEMU's user-mode network (and the log says which). */
#define VMCTR__NAT_AUTO 0u
#define VMCTR__NAT_PASST 1u
#define VMCTR__NAT_USER 2u

typedef struct vmctr__netdev {
  uint32_t kind;   /* VMCTR__NETDEV_* */
  uint8_t mac[6];  /* the guest NIC's MAC */
  uint32_t mtu;    /* 68..65535 */
  /* TAP: the open tap fd (IFF_TAP | IFF_NO_PI); borrowed: the backend
   * dups it into the hypervisor and never closes the caller's. */
  int tap_fd;
  /* NAT: the implementation, and the settings the guest is given (the NAT
   * must agree with them: it answers ARP for gateway, forwards DNS sent to
   * dns, and delivers to guest_ip). dns 0: none. */
  uint32_t nat_impl; /* VMCTR__NAT_* */
  uint32_t guest_ip, prefix, gateway, dns;
  const vmctr__net_port *ports; /* NAT: forwarded to guest_ip */
  size_t nports;
  /* SHARED, HOST_ONLY, BRIDGED: the network's name (one host network per
   * name), its subnet (guest_ip, prefix, gateway above), and for BRIDGED the
   * host interface; borrowed. */
  const char *network;
  const char *host_if;
} vmctr__netdev;

/* A route of a guest interface: dst/prefix via gateway (0: on-link). */
typedef struct vmctr__net_route {
  uint32_t dst, prefix, via;
} vmctr__net_route;

/* One guest interface, found in the guest by its MAC. */
typedef struct vmctr__net_guest_if {
  uint8_t mac[6];
  uint32_t mtu;
  uint32_t addr, prefix;  /* addr 0: link up only */
  uint32_t gateway;       /* nonzero: the default route (first interface only) */
  const vmctr__net_route *routes;
  size_t nroutes;
} vmctr__net_guest_if;

#define VMCTR__NET_MAX_ROUTES 64u

#endif /* VMCTR_NET_NET_H */
