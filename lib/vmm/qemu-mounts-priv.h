/* SPDX-License-Identifier: MIT */
/* The qemu backend's shares: one supervised virtiofsd per share, started
 * before QEMU (which connects to its socket at start-up). */
#ifndef VMCTR_VMM_QEMU_MOUNTS_H
#define VMCTR_VMM_QEMU_MOUNTS_H

#include "core/child.h"
#include "core/jail.h"
#include "vmm/backend-priv.h"

struct vmctr__vm_jail;

typedef struct vmctr__qemu_mounts {
  char ***daemon_argv;   /* per share: the virtiofsd argv */
  char **sockets;        /* per share: the socket it creates (NULL-terminated) */
  vmctr__child *daemons; /* per share */
  vmctr__jail *jails;    /* per share: the daemon's jail */
  vmctr__jail_bind *binds; /* VMCTR__VM_SHARE_BINDS per share: its view of the source */
  char **sources;        /* per share: the source path the daemon serves */
  char **privates;       /* per file share: the placeholder in its private directory; else NULL */
  int *conns;            /* per share: our connection to its socket, for QEMU; -1 */
  size_t n;
} vmctr__qemu_mounts;

/* Plan a daemon per share of spec (nothing runs yet): socket paths in the
 * runtime directory, argvs. VMCTR_EUNSUPPORTED without a virtiofsd,
 * VMCTR_EINVAL for a socket path too long for a unix socket. */
int vmctr__qemu_mounts_prepare(vmctr__qemu_mounts *qm, const vmctr__vm_spec *spec);
/* The same, each daemon jailed as vj plans it (NULL: not jailed). */
int vmctr__qemu_mounts_prepare_jailed(vmctr__qemu_mounts *qm, const vmctr__vm_spec *spec,
                                      const struct vmctr__vm_jail *vj);
/* Start the daemons and wait (up to timeout_ms) for each one's socket; when
 * jailed, connect to it (qm->conns) so that QEMU needs no access to it. */
int vmctr__qemu_mounts_start(vmctr__qemu_mounts *qm, int timeout_ms);
/* 1 (and the daemon's name in *which) if a daemon has exited, else 0. */
int vmctr__qemu_mounts_poll(vmctr__qemu_mounts *qm, const char **which);
/* Kill and reap the daemons, remove their sockets, free everything. */
void vmctr__qemu_mounts_clear(vmctr__qemu_mounts *qm);

#endif
