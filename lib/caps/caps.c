/* SPDX-License-Identifier: MIT */
/* The platform-independent half of capability probing: the snapshot's
 * lifetime (reference counted), the per-process shared snapshot, and the
 * getters. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps/caps-priv.h"
#include "config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/time.h"

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

static void stamp_of(const char *path, struct vmctr__caps_stamp *st) {
  struct stat sb;
  memset(st, 0, sizeof(*st));
  if (!path || stat(path, &sb) < 0)
    return;
  st->present = true;
  st->dev = (uint64_t)sb.st_dev;
  st->ino = (uint64_t)sb.st_ino;
  st->size = (uint64_t)sb.st_size;
  st->rdev = (uint64_t)sb.st_rdev;
#ifdef __APPLE__
  st->mtime_ns = (int64_t)sb.st_mtimespec.tv_sec * 1000000000 + sb.st_mtimespec.tv_nsec;
  st->ctime_ns = (int64_t)sb.st_ctimespec.tv_sec * 1000000000 + sb.st_ctimespec.tv_nsec;
#else
  st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
  st->ctime_ns = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
#endif
}

/* The files behind the snapshot, as they are now. */
static void stamps_now(const vmctr_caps *c, const char *root, struct vmctr__caps_stamp *out) {
  char kvm[4096];
  snprintf(kvm, sizeof(kvm), "%s/dev/kvm", root ? root : "");
  stamp_of(c->qemu_path, &out[VMCTR__STAMP_QEMU]);
  stamp_of(c->virtiofsd_path, &out[VMCTR__STAMP_VIRTIOFSD]);
  stamp_of(kvm, &out[VMCTR__STAMP_KVM]);
}

bool vmctr__caps_current(const vmctr_caps *c, const char *root, int64_t now_ms,
                         const char **why) {
  static const char *const what[VMCTR__STAMPS] = {
    [VMCTR__STAMP_QEMU] = "the qemu binary changed",
    [VMCTR__STAMP_VIRTIOFSD] = "the virtiofsd binary changed",
    [VMCTR__STAMP_KVM] = "/dev/kvm appeared, went away or changed",
  };
  struct vmctr__caps_stamp now[VMCTR__STAMPS];
  stamps_now(c, root, now);
  for (int i = 0; i < VMCTR__STAMPS; i++)
    if (memcmp(&now[i], &c->stamp[i], sizeof(now[i])) != 0) {
      *why = what[i];
      return false;
    }
  if ((c->compiled_qemu && !c->qemu_path) || !c->virtiofsd_path) {
    if (now_ms - c->probed_ms >= VMCTR__CAPS_ABSENT_RECHECK_MS) {
      *why = !c->virtiofsd_path ? "no virtiofsd was found then" : "no qemu was found then";
      return false;
    }
  }
  return true;
}

int vmctr__caps_probe_with(vmctr_caps **out, uint32_t flags, const struct vmctr__caps_params *p) {
  struct vmctr_caps *caps;
  int r;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_probe: out is NULL");
  if ((r = vmctr__caps_check_flags("vmctr_caps_probe", flags & ~VMCTR__CAPS_PROBE_NO_VERSION)) < 0)
    return r;
  caps = calloc(1, sizeof(*caps));
  if (!caps)
    return vmctr__err_nomem();
  atomic_init(&caps->refs, 1);
  caps->compiled_qemu = VMCTR_HAVE_QEMU;
  caps->compiled_vz = VMCTR_HAVE_VZ;
  r = vmctr__caps_probe_platform(caps, flags, p);
  stamps_now(caps, p->root, caps->stamp);
  caps->probed_ms = vmctr__now_ms();
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
  int r;
  if ((r = vmctr__caps_check_flags("vmctr_caps_probe", flags)) < 0)
    return r;
  return vmctr__caps_probe_with(out, flags, &p);
}

/* The shared snapshots, indexed by the checks they ran: CHECK_VERSION (the
 * qemu --version query) and CHECK_KVM (the KVM test guest). A snapshot
 * answers a request whose checks are a subset of its own. */
#define CHECK_VERSION 1u
#define CHECK_KVM 2u
#define NSHARED 4
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static vmctr_caps *shared[NSHARED];

static unsigned checks_of(uint32_t flags) {
  if (flags & VMCTR_CAPS_PROBE_QUICK)
    return 0;
  return CHECK_KVM | (flags & VMCTR__CAPS_PROBE_NO_VERSION ? 0 : CHECK_VERSION);
}

int vmctr__caps_shared(uint32_t flags, vmctr_caps **out) {
  struct vmctr__caps_params p = {0};
  vmctr_caps *c = NULL;
  int r = 0;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__caps_shared: out is NULL");
  if ((r = vmctr__caps_check_flags("vmctr__caps_shared", flags & ~VMCTR__CAPS_PROBE_NO_VERSION)) < 0)
    return r;
  unsigned want = checks_of(flags);
  /* Probing under the lock makes concurrent first callers wait for one probe
   * instead of each running their own. */
  pthread_mutex_lock(&shared_lock);
  /* A snapshot the host has moved away from is dropped (holders keep theirs). */
  for (int i = 0; i < NSHARED; i++) {
    const char *why = NULL;
    if (shared[i] && !vmctr__caps_current(shared[i], NULL, vmctr__now_ms(), &why)) {
      vmctr__log(VMCTR_LOG_DEBUG, "caps", "probing the host again: %s", why);
      vmctr_caps_unref(shared[i]);
      shared[i] = NULL;
    }
  }
  /* The one that ran the most checks, if it ran the ones asked for. */
  for (int s = NSHARED - 1; s >= 0 && !c; s--)
    if (shared[s] && ((unsigned)s & want) == want)
      c = shared[s];
  if (!c && (r = vmctr__caps_probe_with(&shared[want], flags, &p)) == 0)
    c = shared[want];
  if (c)
    *out = vmctr_caps_ref(c);
  pthread_mutex_unlock(&shared_lock);
  return r;
}

void vmctr__caps_shared_reset(void) {
  vmctr_caps *old[NSHARED];
  pthread_mutex_lock(&shared_lock);
  for (int i = 0; i < NSHARED; i++) {
    old[i] = shared[i];
    shared[i] = NULL;
  }
  pthread_mutex_unlock(&shared_lock);
  for (int i = 0; i < NSHARED; i++)
    vmctr_caps_unref(old[i]);
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
