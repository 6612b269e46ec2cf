/* SPDX-License-Identifier: MIT */
/*
 * A small rtnetlink client (internal API): the link, address and route
 * operations that both sides need, libc-only, so that vmctr-init (static,
 * no libvmctr core) and the host library compile the same file.
 *
 * Guest: loopback up, a link found by MAC brought up with an MTU, an
 * address and routes. Host (shared, host-only and bridged networks): a
 * bridge created, a link enslaved to it, a link deleted, links listed by
 * name prefix.
 *
 * Every function returns 0 or a negative errno (the kernel's NLMSG_ERROR
 * code where it sent one), and never prints. Names are at most IFNAMSIZ-1
 * bytes. Addresses are IPv4 in host byte order. Each call opens its own
 * NETLINK_ROUTE socket in the caller's network namespace and closes it.
 */
#ifndef VMCTR_NET_RTNL_H
#define VMCTR_NET_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ifindex of name, or -ENODEV. */
int vmctr__rtnl_ifindex(const char *name);
/* The ifindex of the link with this MAC, or -ENODEV. */
int vmctr__rtnl_find_mac(const uint8_t mac[6]);
/* What a link's dump says about it. */
typedef struct vmctr__rtnl_link {
  int ifindex;
  char name[16];    /* IFNAMSIZ, NUL-terminated */
  bool up;          /* IFF_UP (administratively) */
  uint32_t mtu;
  int master;       /* ifindex of its bridge, 0: none */
  bool has_mac;
  uint8_t mac[6];
} vmctr__rtnl_link;
/* Read one link; -ENODEV if there is none with this ifindex. */
int vmctr__rtnl_link_get(int ifindex, vmctr__rtnl_link *out);
/* Set a link up or down; mtu 0 leaves it. */
int vmctr__rtnl_link_set(int ifindex, int up, uint32_t mtu);
/* Add addr/prefix to a link (EEXIST if it has it). */
int vmctr__rtnl_addr_add(int ifindex, uint32_t addr, uint32_t prefix);
/* Add a route dst/prefix (0/0: default) via gw (0: on-link) on ifindex. */
int vmctr__rtnl_route_add(int ifindex, uint32_t dst, uint32_t prefix, uint32_t gw);

/* Host side: create a bridge (EEXIST if name exists), enslave a link to a
 * bridge (master 0: release it), delete a link. */
int vmctr__rtnl_bridge_add(const char *name, uint32_t mtu);
/* Create a link of a kind that needs no more attributes ("dummy",
 * "bridge"); mac NULL and mtu 0 leave the kernel's choice. */
int vmctr__rtnl_link_add(const char *name, const char *kind, const uint8_t mac[6],
                         uint32_t mtu);
/* Create a veth pair name <-> peer; mac (NULL: random) is name's. */
int vmctr__rtnl_veth_add(const char *name, const char *peer, const uint8_t mac[6]);
int vmctr__rtnl_link_set_master(int ifindex, int master_ifindex);
int vmctr__rtnl_link_del(int ifindex);
/* Call fn for every link whose name starts with prefix; fn returning
 * nonzero stops the walk with that value. */
int vmctr__rtnl_links(const char *prefix, int (*fn)(int ifindex, const char *name, void *ud),
                      void *ud);

#endif /* VMCTR_NET_RTNL_H */
