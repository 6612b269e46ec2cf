/* SPDX-License-Identifier: MIT */
/* The qemu backend's jails (doc/security.md): what each hypervisor process
 * (QEMU, virtiofsd) may see and be, planned in the library before anything
 * is spawned. The mechanics are core/jail.h's. */
#ifndef VMCTR_VMM_JAIL_PRIV_H
#define VMCTR_VMM_JAIL_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/jail.h"
#include "vmm/backend-priv.h"

#define VMCTR__JAIL_MAX_BINDS 24

typedef struct vmctr__vm_jail {
  vmctr__jail qemu;          /* QEMU's jail */
  vmctr__jail_bind binds[VMCTR__JAIL_MAX_BINDS];
  char *strs[VMCTR__JAIL_MAX_BINDS * 2]; /* what the binds point at */
  size_t nstrs;
  char *root;                /* <rundir>/jail, NULL without namespaces */
  const char *kernel, *initfs; /* the paths QEMU opens (inside the jail or not) */
  char *uid_lock;            /* <parent>/.uid-N, held while the VM lives */
  int uid_lock_fd;
  char *cgroup;              /* the VM's cgroup directory, NULL if none */
  int cgroup_procs_fd;
} vmctr__vm_jail;

/* Plan QEMU's jail for spec: namespaces and a root when they are
 * available, an id of the spec's range when we are root, a cgroup where
 * cgroup v2 lets us. Logs at INFO what is left out and why. */
int vmctr__vm_jail_plan(vmctr__vm_jail *j, const vmctr__vm_spec *spec);
/* The jail of the virtiofsd for share s: a private mount namespace in which
 * the source is bound (nosuid, nodev, read-only for a read-only share) at
 * *source_out (malloc'd), the file-server seccomp filter, and the VM's
 * cgroup. For a file share, *source_out is a private directory of the
 * runtime dir, bound read-only, and the file is bound over its one entry,
 * *private_out (malloc'd; remove both when the daemon is gone); without
 * namespaces a file share is VMCTR_EUNSUPPORTED. binds has room for
 * VMCTR__VM_SHARE_BINDS entries. */
#define VMCTR__VM_SHARE_BINDS 2
int vmctr__vm_jail_share(const vmctr__vm_jail *vj, const vmctr__vm_spec *spec, size_t i,
                         vmctr__jail *out, vmctr__jail_bind *bind, char **source_out,
                         char **private_out);
/* Remove the cgroup (after its processes are reaped), release the id, free. */
void vmctr__vm_jail_clear(vmctr__vm_jail *j);

/* The environment of every hypervisor process: nothing of the application's. */
extern char *const vmctr__jail_env[];

#endif
