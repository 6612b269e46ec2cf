/* SPDX-License-Identifier: MIT */
/* vmctr-oci: pod networking. A network namespace that CNI prepared (one
 * interface with the pod's MAC, addresses and routes) is handed to the VM
 * as Kata's "tcfilter" model does: a tap device is made in that namespace
 * and joined to the CNI interface by tc ingress mirroring both ways; the
 * guest NIC takes the CNI interface's MAC, address and routes. */
#ifndef VMCTR_OCI_PODNET_H
#define VMCTR_OCI_PODNET_H

#include <stddef.h>

#include <vmctr.h>

typedef struct oci_podnet oci_podnet;

/* In the namespace at netns_path: find the CNI interface, read its MAC, MTU,
 * IPv4 address and routes, make the tap and the mirroring. 0, or -1 with a
 * message in err. On failure nothing is left in the namespace. */
int oci_podnet_prepare(const char *netns_path, oci_podnet **out, char *err, size_t errlen);

/* Give cfg the namespace and a NIC on the tap, with the CNI interface's MAC,
 * address and routes. 0, or -1 with a message in err. */
int oci_podnet_apply(const oci_podnet *pn, vmctr_container_config *cfg, char *err, size_t errlen);

/* Undo oci_podnet_prepare() in the namespace (the tap and the filters);
 * idempotent, and a namespace that is gone is not an error. 0 or -1. */
int oci_podnet_teardown(const char *netns_path, char *err, size_t errlen);

void oci_podnet_free(oci_podnet *pn);

#endif
