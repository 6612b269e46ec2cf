/* SPDX-License-Identifier: MIT */
/* The qemu backend's network interfaces: a virtio-net device per NIC of the
 * spec, backed by a supervised passt (NAT), QEMU's user-mode network (NAT
 * without passt) or the caller's tap fd. passt gets one end of a socketpair
 * (--fd) and QEMU the other (-netdev stream,addr.type=fd): no socket file,
 * nothing QEMU's jail must reach. */
#ifndef VMCTR_VMM_QEMU_NET_H
#define VMCTR_VMM_QEMU_NET_H

#include "core/child.h"
#include "core/jail.h"
#include "core/strv.h"
#include "vmm/backend-priv.h"

struct vmctr__vm_jail;

/* A NIC's backend as QEMU attaches it. */
#define VMCTR__QEMU_NIC_TAP 1u   /* -netdev tap,fd= */
#define VMCTR__QEMU_NIC_PASST 2u /* -netdev stream to a passt */
#define VMCTR__QEMU_NIC_USER 3u  /* -netdev user */

typedef struct vmctr__qemu_net {
  uint32_t *how;         /* per NIC: VMCTR__QEMU_NIC_* */
  char ***daemon_argv;   /* per NIC: passt's argv, or NULL */
  vmctr__child *daemons; /* per NIC */
  vmctr__jail *jails;    /* per NIC: passt's confinement */
  int *qemu_fds;         /* per NIC: QEMU's fd (a dup of the tap, our socket end); -1 */
  int *daemon_fds;       /* per NIC: passt's socket end; -1 */
  size_t n;
} vmctr__qemu_net;

/* Plan the NICs of spec (nothing runs yet): each NAT NIC's implementation
 * (passt when asked for or, for AUTO, when one is installed; else user-mode;
 * logged at INFO), passt's argv and socketpair, the tap fds' dups. vj: the
 * VM's jail plan (passt joins its cgroup and runs as its id when it has
 * one). VMCTR_EUNSUPPORTED when passt is asked for and not installed, or a
 * user-mode NIC cannot carry the spec. */
int vmctr__qemu_net_prepare(vmctr__qemu_net *qn, const vmctr__vm_spec *spec,
                            const struct vmctr__vm_jail *vj);
/* Start the passt daemons (QEMU may attach at once: see qemu-net.c). */
int vmctr__qemu_net_start(vmctr__qemu_net *qn);
/* 1 (and the daemon's name in *which) if a passt has exited, else 0. */
int vmctr__qemu_net_poll(vmctr__qemu_net *qn, const char **which);
/* Close the fds QEMU has inherited (after its spawn). */
void vmctr__qemu_net_spawned(vmctr__qemu_net *qn);
/* Kill and reap the daemons, remove their files, close and free everything. */
void vmctr__qemu_net_clear(vmctr__qemu_net *qn);

/* QEMU's arguments for NIC i (pure): -netdev and -device virtio-net-device,
 * the netdev id "nI". fd: the fd number QEMU has for a tap or passt NIC. */
int vmctr__qemu_nic_args(const vmctr__netdev *nd, size_t i, uint32_t how, int fd,
                         vmctr__strv *a);
/* passt's argv for nd (pure): on the connected socket fd; runas: "UID:GID"
 * to drop to, NULL: passt's own choice (nobody, when started as root). */
int vmctr__qemu_passt_argv(const vmctr__netdev *nd, const char *binary, int fd,
                           const char *runas, char ***out);

#endif
