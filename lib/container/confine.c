/* SPDX-License-Identifier: MIT */
/* A caller's seccomp program for a process (vmctr_process_config_set_seccomp_filter)
 * and the container's pids limit (vmctr_container_config_set_pids_limit). */
#include <stdlib.h>
#include <string.h>

#include "container/container-priv.h"
#include "core/error.h"

int vmctr_process_config_set_seccomp_filter(vmctr_process_config *p, const void *program,
                                            size_t len) {
  static const char fn[] = "vmctr_process_config_set_seccomp_filter";
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: p is NULL", fn);
  if (!program != !len)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: program and len must both be set, or both NULL/0 "
                      "to clear the filter", fn);
  if (len % VMCTR_AGENT_FILTER_INSN || len > (size_t)VMCTR_AGENT_MAX_FILTER * VMCTR_AGENT_FILTER_INSN)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: %zu bytes is not a whole number of 8-byte BPF "
                      "instructions, or more than %u of them", fn, len, VMCTR_AGENT_MAX_FILTER);
  void *copy = NULL;
  if (len) {
    if (!(copy = malloc(len)))
      return vmctr__err_nomem();
    memcpy(copy, program, len);
  }
  free(p->filter);
  p->filter = copy;
  p->filter_len = len;
  return 0;
}

int vmctr_container_config_set_pids_limit(vmctr_container_config *cfg, int64_t max) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_pids_limit: cfg is NULL");
  cfg->pids_limit = max > 0 ? (uint64_t)max : 0;
  return 0;
}
