/* SPDX-License-Identifier: MIT */
/* Address syntax for the network layer and the layers above it (internal
 * API): IPv4 addresses, CIDR subnets, MAC addresses and docker-style port
 * specs. Every parser is strict and records an error that quotes its input;
 * addresses are in host byte order. */
#ifndef VMCTR_NET_ADDR_H
#define VMCTR_NET_ADDR_H

#include <stdint.h>

#include "net/net.h"

/* A dotted quad: four decimal octets 0..255, no leading zeros (no octal
 * guesswork), no spaces. 0 or VMCTR_EINVAL. */
int vmctr__ip4_parse(const char *s, uint32_t *ip);
/* "a.b.c.d" into buf; returns buf. */
char *vmctr__ip4_format(uint32_t ip, char buf[16]);

/* "a.b.c.d/p" with p in min_prefix..max_prefix and the host bits zero.
 * 0 or VMCTR_EINVAL. */
int vmctr__cidr_parse(const char *s, uint32_t min_prefix, uint32_t max_prefix, uint32_t *addr,
                      uint32_t *prefix);
/* The netmask of a prefix 0..32. */
uint32_t vmctr__ip4_mask(uint32_t prefix);
/* Whether ip is a host address of addr/prefix (neither its network nor its
 * broadcast address). */
int vmctr__ip4_is_host(uint32_t ip, uint32_t addr, uint32_t prefix);

/* "02:aa:bb:cc:dd:ee" (hex pairs, either case, ':' between). 0 or VMCTR_EINVAL. */
int vmctr__mac_parse(const char *s, uint8_t mac[6]);
/* Lower-case "xx:xx:xx:xx:xx:xx" into buf; returns buf. */
char *vmctr__mac_format(const uint8_t mac[6], char buf[18]);
/* A random locally administered unicast MAC (getrandom). 0 or VMCTR_EIO. */
int vmctr__mac_random(uint8_t mac[6]);

/* Docker's "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]" (tcp by default;
 * ports 1..65535). 0 or VMCTR_EINVAL naming what is wrong. */
int vmctr__net_port_parse(const char *spec, vmctr__net_port *out);

#endif /* VMCTR_NET_ADDR_H */
