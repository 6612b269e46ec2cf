/* SPDX-License-Identifier: MIT */
/* A stored network's state, for the container layer (internal API): the
 * lock that guards it, the address leases of the containers attached to it,
 * and the network's settings as numbers. See doc/network.md.
 *
 * Every lease call takes a network from vmctr_network_open() (one without
 * a state directory is VMCTR_EINVAL) and expects the caller to hold the
 * network's lock (vmctr__net_lock), so that a read-modify-write of the
 * leases file is atomic against other processes. */
#ifndef VMCTR_NET_STORE_H
#define VMCTR_NET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "vmctr/network.h"

/* The longest lease owner (a container id): [A-Za-z0-9_.-], 1..128 bytes. */
#define VMCTR__NET_OWNER_MAX 128u
/* The most published ports one lease records. */
#define VMCTR__NET_MAX_PORTS 256u

typedef struct vmctr__net_lease {
  char *owner;          /* container id */
  uint32_t ip;          /* host byte order */
  uint8_t mac[6];
  char *hostname;       /* may be NULL */
  vmctr__net_port *ports; /* published ports (for the firewall) */
  size_t nports;
  int32_t pid;          /* the owning process ... */
  uint64_t start_time;  /* ... and its start time (/proc/PID/stat field 22) */
} vmctr__net_lease;

/* Exclusive lock on the network's state (flock on its lock file), waiting
 * for other holders: *fd >= 0 on success. VMCTR_ENOENT if the network was
 * removed meanwhile. */
int vmctr__net_lock(const vmctr_network *n, int *fd);
/* Release the lock; fd < 0 is ignored. */
void vmctr__net_unlock(int fd);

/* Caller holds the lock. Allocate an address for owner and record the
 * calling process (pid and start time) as its holder. Leases of dead
 * holders are reclaimed first.
 *
 * req_ip 0: the lowest free host address, never the network, broadcast or
 * gateway address nor a DNS server inside the subnet; else exactly req_ip
 * (VMCTR_EEXIST if another lease has it, VMCTR_EINVAL if it is not such a
 * host address). On an isolated network each VM has a NAT of its own, so
 * every lease gets the same guest address (vmctr__network_isolated_guest)
 * unless req_ip says otherwise, and addresses are never exhausted.
 * req_mac NULL: a random locally administered unicast MAC, stored so it is
 * stable for the lease; a MAC another lease has is VMCTR_EEXIST.
 * hostname may be NULL. ports (nports <= VMCTR__NET_MAX_PORTS) are copied.
 * Errors: VMCTR_EEXIST (owner already has a lease, address or MAC taken),
 * VMCTR_ENOSPC ("network NAME has no free address in A/P (N in use)"),
 * VMCTR_EINVAL, VMCTR_EPARSE (a corrupt leases file), VMCTR_EIO.
 * out (may be NULL) receives a copy: vmctr__net_lease_clear() it. */
int vmctr__net_lease_add(const vmctr_network *n, const char *owner, uint32_t req_ip,
                         const uint8_t *req_mac, const char *hostname,
                         const vmctr__net_port *ports, size_t nports, vmctr__net_lease *out);
/* Caller holds the lock. Drop owner's lease: 0 or VMCTR_ENOENT. */
int vmctr__net_lease_remove(const vmctr_network *n, const char *owner);
/* Caller holds the lock. The live leases, sorted by address; leases of dead
 * holders are removed from the file and counted in *reclaimed (may be NULL).
 * Free *out with vmctr__net_leases_free. */
int vmctr__net_leases(const vmctr_network *n, vmctr__net_lease **out, size_t *count,
                      size_t *reclaimed);
void vmctr__net_leases_free(vmctr__net_lease *l, size_t count);
/* Free what l holds and zero it. */
void vmctr__net_lease_clear(vmctr__net_lease *l);

/* The network's settings as numbers (host byte order). */
void vmctr__network_subnet(const vmctr_network *n, uint32_t *addr, uint32_t *prefix);
uint32_t vmctr__network_gateway(const vmctr_network *n);
/* The DNS servers: *list is borrowed from n. */
void vmctr__network_dns(const vmctr_network *n, const uint32_t **list, size_t *count);
/* The address an isolated network's guests get: subnet + 15 when the
 * subnet is large enough (QEMU's and passt's 10.0.2.15), else its first
 * host address that is neither the gateway nor a DNS server. */
uint32_t vmctr__network_isolated_guest(const vmctr_network *n);
/* A stable short id for host object names (bridges, firewall chains):
 * 8 hex digits of SHA-256 over the store's real path and the name, so the
 * same name in two stores gives two ids. */
void vmctr__network_id(const vmctr_network *n, char out[9]);

#endif /* VMCTR_NET_STORE_H */
