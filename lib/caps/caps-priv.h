/* SPDX-License-Identifier: MIT */
/* Private to lib/caps: the capability snapshot and the interface between the
 * shared caps code (caps.c, caps-json.c) and the platform
 * probes (probe-linux.c, probe-darwin.m, probe-other.c). Other layers include
 * caps/caps.h instead. */
#ifndef VMCTR_CAPS_PRIV_H
#define VMCTR_CAPS_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>

#include "caps/caps.h"
#include "vmctr/caps.h"

#define VMCTR__CAP_MAX VMCTR_CAP_ROSETTA
/* Guest architectures the library knows: x86_64 and aarch64. */
#define VMCTR__GUEST_ARCHS 2

struct vmctr__cap_entry {
  bool present;
  char *reason; /* always set once probed */
};

/* What a file the probe judged looked like then (stat), to tell whether
 * the host changed since. */
struct vmctr__caps_stamp {
  bool present;
  uint64_t dev, ino, size, rdev;
  int64_t mtime_ns, ctime_ns;
};

enum { VMCTR__STAMP_QEMU, VMCTR__STAMP_VIRTIOFSD, VMCTR__STAMP_KVM, VMCTR__STAMPS };

/* A snapshot that found no qemu or no virtiofsd is probed again after this
 * long when shared, so that installing one is seen without a restart. */
#define VMCTR__CAPS_ABSENT_RECHECK_MS 10000

struct vmctr_caps {
  atomic_uint_fast32_t refs; /* the only field that changes after the probe */
  struct vmctr__caps_stamp stamp[VMCTR__STAMPS];
  int64_t probed_ms; /* vmctr__now_ms() when probed */
  struct vmctr__cap_entry cap[VMCTR__CAP_MAX + 1]; /* indexed by VMCTR_CAP_* */
  bool compiled_qemu, compiled_vz;
  int32_t backend;
  int32_t accel;
  char *accel_reason;
  /* What /dev/kvm (or VZ) is: "kvm", "kvm-pvm", "vz", or "none" when there
   * is no such device at all. */
  char *hypervisor;
  uint32_t host_cpus, max_vcpus;
  uint64_t host_memory, max_memory;
  char *qemu_path, *qemu_version, *virtiofsd_path;
  const char *os, *arch; /* static */
  /* Guest architectures (caps-arch.c), indexed as vmctr__caps_guest_index():
   * whether the backend boots each, the qemu binary that does (NULL: none or
   * not qemu), why or why not, and the bootable ones as one space-separated
   * list. A platform probe sets guest_ok and guest_reason, then calls
   * vmctr__caps_guest_list(). */
  bool guest_ok[VMCTR__GUEST_ARCHS];
  char *guest_qemu[VMCTR__GUEST_ARCHS];
  char *guest_reason[VMCTR__GUEST_ARCHS];
  char guest_archs[32];
};

/* Record the guest architectures the qemu backend can boot, after the host
 * qemu was probed: the host's own through c->qemu_path, the other one
 * through qemu-system-<arch> on PATH (TCG only). 0 or VMCTR_ENOMEM. */
int vmctr__caps_probe_guests_qemu(struct vmctr_caps *c);
/* Fill guest_archs from guest_ok. */
void vmctr__caps_guest_list(struct vmctr_caps *c);
/* Free what the guest-architecture fields hold (caps.c's unref). */
void vmctr__caps_free_guests(struct vmctr_caps *c);

struct vmctr__kvm_ops;

/* What a probe looks at. The platform default is all-NULL; unit tests point
 * root at a fake tree (sysfs, /dev) and name binaries that may not exist. */
struct vmctr__caps_params {
  const char *root;      /* prefix for /sys, /dev and /proc/self/status; NULL = "/" */
  const char *qemu;      /* NULL = the build's default */
  const char *virtiofsd; /* NULL = vmctr__find_virtiofsd() */
  /* How an opened /dev/kvm is questioned (Linux); NULL = the real ioctls.
   * Tests use it to stand for a KVM they do not have. */
  const struct vmctr__kvm_ops *kvm;
};

/* Fill caps (zeroed, compiled_* set) for this platform. Returns 0 or
 * VMCTR_ENOMEM; absent capabilities are not errors. */
int vmctr__caps_probe_platform(struct vmctr_caps *caps, uint32_t flags,
                               const struct vmctr__caps_params *p);

/* Probe with explicit parameters (unit tests; vmctr__caps_shared()). */
int vmctr__caps_probe_with(vmctr_caps **out, uint32_t flags, const struct vmctr__caps_params *p);

/* Whether the snapshot still describes the host at now_ms: the qemu and
 * virtiofsd it found are the same files (device, inode, size, times),
 * /dev/kvm under root (NULL: "/") is as it was, and, if a binary was
 * missing, it is younger than VMCTR__CAPS_ABSENT_RECHECK_MS. A few stat()s.
 * On false, *why says what changed (static text). */
bool vmctr__caps_current(const vmctr_caps *caps, const char *root, int64_t now_ms,
                         const char **why);

/* VMCTR_EINVAL (with a message naming fn) for unknown flag bits, else 0. */
int vmctr__caps_check_flags(const char *fn, uint32_t flags);

/* Set a capability and its reason (printf-style). Returns 0 or VMCTR_ENOMEM. */
int vmctr__caps_set(struct vmctr_caps *caps, uint32_t cap, bool present, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Replace *dst with a formatted string. Returns 0 or VMCTR_ENOMEM. */
int vmctr__caps_setstr(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Return from the enclosing function if x failed (allocation, in probes). */
#define TRY(x)        \
  do {                \
    int r_ = (x);     \
    if (r_ < 0)       \
      return r_;      \
  } while (0)

#endif
