/* SPDX-License-Identifier: MIT */
/* Hosts with no backend: every capability is absent, with the reason. */
#include "caps/caps-priv.h"

int vmctr__caps_probe_platform(struct vmctr_caps *c, uint32_t flags,
                               const struct vmctr__caps_params *p) {
  (void)flags;
  (void)p;
  c->os = "other";
  c->arch = "unknown";
  c->host_cpus = 1;
  for (uint32_t i = 1; i <= VMCTR__CAP_MAX; i++) {
    int r = vmctr__caps_set(c, i, false, "libvmctr supports Linux and macOS hosts only");
    if (r < 0)
      return r;
  }
  return vmctr__caps_setstr(&c->accel_reason, "libvmctr supports Linux and macOS hosts only");
}

/* No virtiofsd serves this platform's VMs. */
char *vmctr__find_virtiofsd(void) { return NULL; }

/* Nor any passt. */
char *vmctr__find_passt(void) { return NULL; }
