/* SPDX-License-Identifier: MIT */
/* The platform-independent half of capability probing: the snapshot's
 * lifetime (reference counted), the per-process shared snapshot, and the
 * getters. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "caps/caps-priv.h"
#include "config.h"
#include "core/error.h"
#include "core/log.h"

__attribute__((format(printf, 2, 0)))
static int setstr_v(char **dst, const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    return vmctr__err_nomem();
  free(*dst);
  *dst = s;
  return 0;
}

int vmctr__caps_setstr(char **dst, const char *fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = setstr_v(dst, fmt, ap);
  va_end(ap);
  return r;
}

int vmctr__caps_set(struct vmctr_caps *caps, uint32_t cap, bool present, const char *fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = setstr_v(&caps->cap[cap].reason, fmt, ap);
  va_end(ap);
  if (r == 0)
    caps->cap[cap].present = present;
  return r;
}

vmctr_caps *vmctr_caps_ref(vmctr_caps *caps) {
  if (caps)
    atomic_fetch_add_explicit(&caps->refs, 1, memory_order_relaxed);
  return caps;
}

void vmctr_caps_unref(vmctr_caps *caps) {
  /* Release, so that this thread's reads of the snapshot happen before the
   * free on whichever thread drops the last reference (acquire). */
  if (!caps || atomic_fetch_sub_explicit(&caps->refs, 1, memory_order_acq_rel) != 1)
    return;
  for (unsigned i = 0; i <= VMCTR__CAP_MAX; i++)
    free(caps->cap[i].reason);
  free(caps->accel_reason);
  free(caps->hypervisor);
  free(caps->qemu_path);
  free(caps->qemu_version);
  free(caps->virtiofsd_path);
  vmctr__caps_free_guests(caps);
  free(caps);
}

void vmctr_caps_free(vmctr_caps *caps) { vmctr_caps_unref(caps); }

int vmctr__caps_check_flags(const char *fn, uint32_t flags) {
  if (flags & ~VMCTR_CAPS_PROBE_QUICK)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown flags 0x%x", fn,
                      (unsigned)(flags & ~VMCTR_CAPS_PROBE_QUICK));
  return 0;
}

int vmctr__caps_probe_with(vmctr_caps **out, uint32_t flags, const struct vmctr__caps_params *p) {
  struct vmctr_caps *caps;
  int r;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_probe: out is NULL");
  if ((r = vmctr__caps_check_flags("vmctr_caps_probe", flags)) < 0)
    return r;
  caps = calloc(1, sizeof(*caps));
  if (!caps)
    return vmctr__err_nomem();
  atomic_init(&caps->refs, 1);
  caps->compiled_qemu = VMCTR_HAVE_QEMU;
  caps->compiled_vz = VMCTR_HAVE_VZ;
  r = vmctr__caps_probe_platform(caps, flags, p);
  /* Every capability carries a reason, even if a platform forgot one. */
  for (unsigned i = 1; r == 0 && i <= VMCTR__CAP_MAX; i++)
    if (!caps->cap[i].reason)
      r = vmctr__caps_set(caps, i, false, "not probed on this platform");
  if (r == 0 && !caps->accel_reason)
    r = vmctr__caps_setstr(&caps->accel_reason, "no accelerator found");
  if (r == 0 && !caps->hypervisor)
    r = vmctr__caps_setstr(&caps->hypervisor, "none");
  if (r < 0) {
    vmctr_caps_free(caps);
    return r;
  }
  vmctr__log(VMCTR_LOG_INFO, "caps", "backend %s, accelerator %s: %s",
             vmctr_backend_name(caps->backend), vmctr_accelerator_name(caps->accel),
             caps->accel_reason);
  *out = caps;
  return 0;
}

int vmctr_caps_probe(vmctr_caps **out, uint32_t flags) {
  struct vmctr__caps_params p = {0};
  return vmctr__caps_probe_with(out, flags, &p);
}

/* The shared snapshots: [0] full, [1] quick. A full one answers both. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static vmctr_caps *shared[2];

int vmctr__caps_shared(uint32_t flags, vmctr_caps **out) {
  struct vmctr__caps_params p = {0};
  vmctr_caps *c;
  int r = 0;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__caps_shared: out is NULL");
  if ((r = vmctr__caps_check_flags("vmctr__caps_shared", flags)) < 0)
    return r;
  bool quick = flags & VMCTR_CAPS_PROBE_QUICK;
  /* Probing under the lock makes concurrent first callers wait for one probe
   * instead of each running their own. */
  pthread_mutex_lock(&shared_lock);
  c = shared[0] ? shared[0] : quick ? shared[1] : NULL;
  if (!c && (r = vmctr__caps_probe_with(&shared[quick], flags, &p)) == 0)
    c = shared[quick];
  if (c)
    *out = vmctr_caps_ref(c);
  pthread_mutex_unlock(&shared_lock);
  return r;
}

void vmctr__caps_shared_reset(void) {
  vmctr_caps *old[2];
  pthread_mutex_lock(&shared_lock);
  old[0] = shared[0];
  old[1] = shared[1];
  shared[0] = shared[1] = NULL;
  pthread_mutex_unlock(&shared_lock);
  vmctr_caps_unref(old[0]);
  vmctr_caps_unref(old[1]);
}

int vmctr_caps_has(const vmctr_caps *caps, uint32_t cap, const char **reason) {
  if (!caps)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_has: caps is NULL");
  if (cap == 0 || cap > VMCTR__CAP_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_has: unknown capability %u", (unsigned)cap);
  if (reason)
    *reason = caps->cap[cap].reason;
  return caps->cap[cap].present ? 1 : 0;
}

int vmctr_caps_backend_compiled(const vmctr_caps *caps, int32_t backend) {
  if (!caps)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_backend_compiled: caps is NULL");
  switch (backend) {
  case VMCTR_BACKEND_QEMU: return caps->compiled_qemu;
  case VMCTR_BACKEND_VZ: return caps->compiled_vz;
  default:
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_backend_compiled: unknown backend %d",
                      (int)backend);
  }
}

int32_t vmctr_caps_backend(const vmctr_caps *caps) {
  return caps ? caps->backend : VMCTR_BACKEND_NONE;
}

int32_t vmctr_caps_accelerator(const vmctr_caps *caps, const char **reason) {
  if (!caps) {
    if (reason)
      *reason = "no capability snapshot";
    return VMCTR_ACCEL_NONE;
  }
  if (reason)
    *reason = caps->accel_reason;
  return caps->accel;
}

const char *vmctr_accelerator_name(int32_t accel) {
  switch (accel) {
  case VMCTR_ACCEL_AUTO: return "auto";
  case VMCTR_ACCEL_NONE: return "none";
  case VMCTR_ACCEL_TCG: return "tcg";
  case VMCTR_ACCEL_KVM: return "kvm";
  case VMCTR_ACCEL_HVF: return "hvf";
  default: return "unknown";
  }
}

const char *vmctr_backend_name(int32_t backend) {
  switch (backend) {
  case VMCTR_BACKEND_NONE: return "none";
  case VMCTR_BACKEND_QEMU: return "qemu";
  case VMCTR_BACKEND_VZ: return "vz";
  default: return "unknown";
  }
}

uint32_t vmctr_caps_host_cpus(const vmctr_caps *caps) { return caps ? caps->host_cpus : 0; }
uint64_t vmctr_caps_host_memory(const vmctr_caps *caps) { return caps ? caps->host_memory : 0; }
uint32_t vmctr_caps_max_vcpus(const vmctr_caps *caps) { return caps ? caps->max_vcpus : 0; }
uint64_t vmctr_caps_max_memory(const vmctr_caps *caps) { return caps ? caps->max_memory : 0; }
const char *vmctr_caps_qemu_path(const vmctr_caps *caps) { return caps ? caps->qemu_path : NULL; }
const char *vmctr_caps_qemu_version(const vmctr_caps *caps) {
  return caps ? caps->qemu_version : NULL;
}
const char *vmctr_caps_virtiofsd_path(const vmctr_caps *caps) {
  return caps ? caps->virtiofsd_path : NULL;
}

int vmctr_caps_require_nested_virtualization(const vmctr_caps *caps) {
  if (!caps)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_require_nested_virtualization: caps is NULL");
  if (caps->cap[VMCTR_CAP_NESTED_VIRT].present)
    return 0;
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "%s: %s", VMCTR__NESTED_HINT,
                    caps->cap[VMCTR_CAP_NESTED_VIRT].reason);
}
