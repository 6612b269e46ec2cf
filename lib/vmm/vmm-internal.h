/* SPDX-License-Identifier: MIT */
/* The VM manager inside the library: its representation (shared by vmm.c
 * and vmm-start.c) and what the container layer may use. */
#ifndef VMCTR_VMM_INTERNAL_H
#define VMCTR_VMM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/client.h"
#include "vmctr/vmm.h"
#include "vmm/backend.h"

struct vmctr_vmm {
  vmctr_bootcfg *cfg;
  uint32_t accel_req;
  uint32_t agent_timeout_ms;
  char *boot_log_user; /* set by the caller: kept after free */
  char *rt_parent;     /* NULL: default */

  const vmctr__backend_ops *ops;
  void *ctx;           /* backend context, NULL before start */
  char *rundir;
  int rundir_lock;     /* flock held on rundir while we own it (see rundir.h) */
  char *boot_log;
  char *initfs;        /* resolved initfs (the cfg's or a built one) */
  char *modules_dir;   /* boot config key "modules" (stock kernels), NULL if none */
  int32_t accel;       /* VMCTR_ACCEL_* in use */
  int32_t state;
  int exit_status;
  bool stopping;       /* an exit now is the one we asked for */
  int epfd;            /* the event fd: epoll over efd and the backend's exit fd */
  int efd;             /* eventfd we signal on state changes we make ourselves */
  vmctr__agent *agent;
  vmctr_mount **mounts; /* copies; mount i has index i in the VM */
  size_t nmounts;
};

/* The connected guest agent of a running VM (NULL otherwise); owned by vmm. */
vmctr__agent *vmctr__vmm_agent(vmctr_vmm *vmm);

/* The VM's mounts: index i is how lib/mount names its device (serial, tag),
 * so vmctr__mount_guest_request(mount, i, ...) is what the guest mounts. */
size_t vmctr__vmm_mount_count(const vmctr_vmm *vmm);
const vmctr_mount *vmctr__vmm_mount(const vmctr_vmm *vmm, size_t i);

/* vmm-start.c: everything vmctr_vmm_start() resolves and boots. */
int vmctr__vmm_boot(vmctr_vmm *vmm);

/* vmm.c: collect a backend exit, if any (non-blocking). 1 if ended. */
int vmctr__vmm_collect(vmctr_vmm *vmm);
/* Make a state change visible on the event fd. */
void vmctr__vmm_notify(vmctr_vmm *vmm);

#endif
