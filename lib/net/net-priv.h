/* SPDX-License-Identifier: MIT */
/* The network object's insides, shared by lib/net's files only. */
#ifndef VMCTR_NET_NET_PRIV_H
#define VMCTR_NET_NET_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmctr/network.h"

#define VMCTR__NET_IFNAME_MAX 15u /* IFNAMSIZ - 1 */
#define VMCTR__NET_MIN_PREFIX 8u
#define VMCTR__NET_MAX_PREFIX 30u

struct vmctr_network {
  char name[VMCTR_NETWORK_NAME_MAX + 1];
  uint32_t mode;
  uint32_t subnet, prefix, gateway; /* host byte order */
  uint32_t mtu;
  uint32_t dns[VMCTR_NETWORK_MAX_DNS];
  size_t ndns;
  char host_if[VMCTR__NET_IFNAME_MAX + 1]; /* "" when unset */
  uint32_t nat;
  char *state_dir; /* real path of the store it was opened from, or NULL */
  /* What the string getters hand out, kept in step by the setters. */
  char subnet_str[19], gateway_str[16], dns_str[VMCTR_NETWORK_MAX_DNS][16];
};

/* Name rules (vmctr_network_new): 0, or VMCTR_EINVAL naming what as the
 * kind of thing ("network name"). name_ok answers without recording. */
int vmctr__network_check_name(const char *name, const char *what);
bool vmctr__network_name_ok(const char *name);
/* The mode's name ("shared", ...) and back; NULL / 0 when unknown. */
const char *vmctr__network_mode_name(uint32_t mode);
uint32_t vmctr__network_mode_from_name(const char *s);
const char *vmctr__network_nat_name(uint32_t nat);
uint32_t vmctr__network_nat_from_name(const char *s, bool *ok);
/* Setters on numbers, checked as the public ones (used by from_json). */
int vmctr__network_set_subnet_num(vmctr_network *n, uint32_t addr, uint32_t prefix);
int vmctr__network_set_gateway_num(vmctr_network *n, uint32_t ip);
int vmctr__network_add_dns_num(vmctr_network *n, uint32_t ip);
/* Whether n can be stored (a bridged network needs its interface). */
int vmctr__network_check_complete(const vmctr_network *n);

/* network-json.c: parse untrusted text; what names it in messages. */
int vmctr__network_from_text(vmctr_network **out, const char *text, size_t len, const char *what);

/* store.c: the store's paths and files. */
/* The state directory to use: a copy of dir, or the per-user default. */
char *vmctr__net_state_default(const char *dir);
/* Read <real>/networks/<name>.<ext> (no symlink followed, regular file only,
 * at most max bytes). VMCTR_ENOENT if absent. */
int vmctr__net_read(const char *real, const char *name, const char *ext, size_t max, char **out,
                    size_t *len);
/* Write it atomically (0600). */
int vmctr__net_write(const char *real, const char *name, const char *ext, const char *data,
                     size_t len);
/* Lock a network by store path and name; create the lock file if
 * must_exist is false. */
int vmctr__net_lock_path(const char *real, const char *name, bool must_exist, int *fd);

/* ipam.c: the leases of a network. */
/* The live leases' owners of network name in store real, reclaiming dead
 * ones, for vmctr_network_remove (which may not be able to parse the
 * definition). Caller holds the lock. */
int vmctr__net_leases_owners(const char *real, const char *name, char ***owners);
/* The leases file's size cap. */
#define VMCTR__NET_MAX_LEASES_FILE (16u << 20)

#endif /* VMCTR_NET_NET_PRIV_H */
