/* SPDX-License-Identifier: MIT */
/*
 * Interface strategies (internal API): turn one network attachment (a
 * network, an optional requested address or MAC, published ports) into
 * what the layers above need: a backend NIC (vmctr__netdev, for lib/vmm)
 * and a guest interface (vmctr__net_guest_if, for the agent), plus the host
 * objects that back it, held until detach.
 *
 * - isolated NAT: a per-VM NAT of the backend (passt or user-mode on QEMU,
 *   VZNAT on macOS). No lease: every VM has the same private addresses
 *   (the network's first free host address, normally .15, its gateway and
 *   DNS), and no VM can reach another.
 * - shared, host-only, bridged (Linux): an address leased from the
 *   network's store (lib/net/store.h), a bridge and firewall per network
 *   (lib/net/host.h), a tap per VM. The last detach removes the bridge and
 *   the firewall; a crashed owner's lease and objects are reclaimed by the
 *   next attach or detach of the network.
 *
 * Not thread-safe per attachment; different attachments are independent
 * (the network's file lock orders processes and threads).
 */
#ifndef VMCTR_NET_STRATEGY_H
#define VMCTR_NET_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "vmctr/network.h"

typedef struct vmctr__net_attachment {
  vmctr_network *net;     /* a clone of the attached network */
  char *owner;            /* the container id */
  bool leased;            /* a lease in the network's store is ours */
  bool host_objects;      /* a bridge/firewall of the network is in use by us */
  int tap_fd;             /* -1: none */
  vmctr__net_port *ports; /* published ports (the attachment's copy) */
  size_t nports;
  vmctr__netdev dev;      /* dev.ports points at ports */
  vmctr__net_guest_if gif;
  uint32_t dns[8];
  size_t ndns;
  char addr_text[24];     /* "a.b.c.d/p" */
  char mac_text[18];      /* "02:xx:xx:xx:xx:xx" */
} vmctr__net_attachment;

#define VMCTR__NET_ATTACHMENT_INIT {.tap_fd = -1}

/*
 * Attach: everything is set up or nothing is left (no lease, no tap, no
 * rule). req_ip / req_mac may be NULL. first: this is the container's first
 * interface (it carries the default route and the published ports).
 * hostname names the lease (peers' /etc/hosts).
 */
int vmctr__net_attach(vmctr__net_attachment *a, const vmctr_network *n, const char *owner,
                      const char *hostname, const char *req_ip, const char *req_mac,
                      const vmctr__net_port *ports, size_t nports, bool first);

/* Release everything attach took; idempotent; never fails (problems are
 * logged: a lease that cannot be removed is reclaimed later as stale).
 * addr_text, mac_text and gif stay as they were (what the guest had). */
void vmctr__net_detach(vmctr__net_attachment *a);

/* Append "ADDR\tHOSTNAME\n" for every other live lease of a's network
 * (shared, host-only, bridged): how containers of one network find each
 * other by name. Nothing for an isolated network. */
int vmctr__net_peer_hosts(const vmctr__net_attachment *a, char **text);

#endif /* VMCTR_NET_STRATEGY_H */
