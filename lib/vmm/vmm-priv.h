/* SPDX-License-Identifier: MIT */
/* Private to lib/vmm's shared part (vmm.c, vmm-start.c): the VM manager's
 * representation. Backends see only vmm/backend.h. */
#ifndef VMCTR_VMM_PRIV_H
#define VMCTR_VMM_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/event.h"
#include "vmm/backend-priv.h"
#include "vmm/vmm.h"

struct vmctr_vmm {
  vmctr_bootcfg *cfg;
  int32_t accel_req;   /* VMCTR_ACCEL_AUTO or a VMCTR_ACCEL_* */
  uint32_t agent_timeout_ms;
  char *boot_log_user; /* set by the caller: kept after free */
  char *rt_parent;     /* NULL: default */
  char **hv_args;      /* vmctr_vmm_set_hypervisor_args(), NULL-terminated, or NULL */
  uint32_t jail_id_first, jail_id_count; /* vmctr_vmm_set_jail_ids() */

  const vmctr__backend_ops *ops;
  void *ctx;           /* backend context, NULL before start */
  char *rundir;
  int rundir_lock;     /* flock held on rundir while we own it (see rundir.h) */
  char *boot_log;
  char *initfs;        /* resolved initfs (the cfg's or a built one) */
  int32_t accel;       /* VMCTR_ACCEL_* in use */
  int32_t state;
  int exit_status;
  bool stopping;       /* an exit now is the one we asked for */
  vmctr__evset *events; /* the event fd: our notifications and the backend's exit fd */
  vmctr__agent *agent;
  vmctr_mount **mounts; /* copies; mount i has index i in the VM */
  size_t nmounts;
  /* The spec's devices, built at start from the mounts. */
  vmctr__vm_disk *disks;
  vmctr__vm_share *shares;
  char (*names)[24];   /* per mount: its disk serial or generated share tag */
  vmctr__netdev *nics; /* copies (own ports array, own dup of a tap fd) */
  size_t nnics;
  bool has_netns;      /* vmctr__vmm_set_netns(): netns_fd is ours */
  int netns_fd;
  uint32_t template_mode; /* VMCTR_VMM_TEMPLATE_* (vmctr_vmm_set_template) */
  struct vmctr__template *tmpl; /* held while a clone of it runs (template-boot.c) */
  bool build_only;     /* vmctr_vmm_build_template() is resolving the spec */
};

/* vmm-net.c: free the NIC copies (closing their tap fds) and the network
 * namespace's fd. */
void vmctr__vmm_free_nics(vmctr_vmm *vmm);

/* vmm-start.c: everything vmctr_vmm_start() resolves and boots. */
int vmctr__vmm_boot(vmctr_vmm *vmm);

/* template-boot.c: start the VM of spec from a template (built first when
 * there is none): 0 with vmm->ctx running and vmm->agent connected and the
 * guest made its own; VMCTR_EUNSUPPORTED (and nothing logged) when templates
 * are off or do not fit spec; any other error after a failed attempt (the
 * caller logs it and boots cold; vmm->ctx is then NULL). */
int vmctr__vmm_template_start(vmctr_vmm *vmm, const vmctr__vm_spec *spec, const char *parent);
/* Whether templates are on for vmm (its mode, else on unless $VMCTR_TEMPLATES is "0"). */
bool vmctr__vmm_templates_on(const vmctr_vmm *vmm);
/* Build spec's template unless it exists: 0; VMCTR_EUNSUPPORTED when spec
 * cannot have one (the reason recorded). */
int vmctr__vmm_template_prepare(vmctr_vmm *vmm, const vmctr__vm_spec *spec, const char *parent);
void vmctr__vmm_template_release(vmctr_vmm *vmm);

/* vmm.c: collect a backend exit, if any (non-blocking). 1 if ended. */
int vmctr__vmm_collect(vmctr_vmm *vmm);

#endif
