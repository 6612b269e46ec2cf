/* SPDX-License-Identifier: MIT */
/* The qemu backend's mounts: QEMU arguments, and one supervised virtiofsd
 * per share, started before QEMU. */
#ifndef VMCTR_VMM_QEMU_MOUNTS_H
#define VMCTR_VMM_QEMU_MOUNTS_H

#include "core/child.h"
#include "vmm/backend.h"

typedef struct vmctr__qemu_mounts {
  char **args;          /* QEMU arguments for every mount, NULL-terminated */
  char ***daemon_argv;  /* per mount: virtiofsd argv or NULL */
  char **sockets;       /* per mount: the socket it creates, or NULL */
  vmctr__child *daemons; /* per mount */
  size_t n;
} vmctr__qemu_mounts;

/* Translate every mount of spec (nothing runs yet). */
int vmctr__qemu_mounts_prepare(vmctr__qemu_mounts *qm, const vmctr__vm_spec *spec);
/* Start the daemons and wait (up to timeout_ms) for each one's socket. */
int vmctr__qemu_mounts_start(vmctr__qemu_mounts *qm, int timeout_ms);
/* 1 (and the daemon's name in *which) if a daemon has exited, else 0. */
int vmctr__qemu_mounts_poll(vmctr__qemu_mounts *qm, const char **which);
/* Kill and reap the daemons, remove their sockets, free everything. */
void vmctr__qemu_mounts_clear(vmctr__qemu_mounts *qm);

#endif
