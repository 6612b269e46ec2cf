/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces the application names (internal API): open one by
 * path, and open an existing tap device inside one. The calling thread's
 * namespace never changes: work inside a namespace happens in a short-lived
 * thread of its own (setns(CLONE_NEWNET) changes one thread only).
 */
#ifndef VMCTR_NET_NETNS_H
#define VMCTR_NET_NETNS_H

#include <stdint.h>

/* Open the network namespace at path (/var/run/netns/NAME,
 * /proc/PID/ns/net): *fd (O_CLOEXEC) on success. VMCTR_ENOENT (no such
 * file), VMCTR_EINVAL (not a network namespace), VMCTR_EPERM, or another
 * error; the message names path. */
int vmctr__netns_open(const char *path, int *fd);

/* Attach to the existing tap device ifname in the namespace netns_fd (-1:
 * the caller's): *fd is its queue (IFF_TAP | IFF_NO_PI, O_CLOEXEC), *mtu
 * its MTU; the link is set up if it was down. VMCTR_ENOENT (no such
 * interface), VMCTR_EINVAL (not a tap), VMCTR_EBUSY (another process holds
 * it), VMCTR_EPERM; nothing is left open on failure. */
int vmctr__netns_tap_open(int netns_fd, const char *ifname, int *fd, uint32_t *mtu);

#endif /* VMCTR_NET_NETNS_H */
