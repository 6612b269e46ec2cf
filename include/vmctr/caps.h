/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/caps.h
 * @brief Capability probing: can this host run container VMs, and how?
 *
 * A vmctr_caps is an immutable snapshot taken by vmctr_caps_probe(). Boolean
 * capabilities come with a reason that says why they are absent (or, for the
 * accelerator, why the one chosen was chosen), written for the user.
 *
 * Threads: a snapshot never changes once probed, so every getter here may be
 * called on the same snapshot from any number of threads at once, and
 * vmctr_caps_ref() and vmctr_caps_unref() are atomic, so owners on different
 * threads may share one snapshot. vmctr_caps_probe() may run on any thread.
 * Strings borrowed from a snapshot live as long as its last reference.
 *
 * @code
 *   vmctr_caps *caps;
 *   if (vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_DEFAULT) < 0) { ... }
 *   const char *why;
 *   if (vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, &why) == 0)
 *     fprintf(stderr, "no nested virtualization: %s\n", why);
 *   vmctr_caps_unref(caps);
 * @endcode
 */
#ifndef VMCTR_CAPS_H
#define VMCTR_CAPS_H

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** An immutable, reference-counted capability snapshot; thread-safe (see above). */
typedef struct vmctr_caps vmctr_caps;

/** @name Probe flags (vmctr_caps_probe())
 * @{ */
/** Run every check. */
#define VMCTR_CAPS_PROBE_DEFAULT 0u
/**
 * Skip the checks that start processes or test guests (the qemu version query
 * and the KVM test guest). Faster; KVM is then judged from sysfs alone.
 */
#define VMCTR_CAPS_PROBE_QUICK (1u << 0)
/** @} */

/** @name Backends (int32_t values: vmctr_caps_backend())
 * @{ */
/** No backend. */
#define VMCTR_BACKEND_NONE ((int32_t)0)
/** A QEMU process per VM (Linux). */
#define VMCTR_BACKEND_QEMU ((int32_t)1)
/** Apple's Virtualization.framework (macOS). */
#define VMCTR_BACKEND_VZ ((int32_t)2)
/** @} */

/** @name Accelerators (int32_t values)
 * The one family of accelerator constants in the API. NONE to HVF are what a
 * probe reports (vmctr_caps_accelerator()); AUTO is only ever a choice.
 * @{ */
/**
 * A choice, never a probe result: let the library pick the best accelerator
 * that works on this host (the one vmctr_caps_accelerator() reports).
 */
#define VMCTR_ACCEL_AUTO ((int32_t)-1)
/** Nothing can run a VM here. */
#define VMCTR_ACCEL_NONE ((int32_t)0)
/** QEMU's TCG software emulation: works everywhere, slowly. */
#define VMCTR_ACCEL_TCG ((int32_t)1)
/** Linux KVM with hardware virtualization. */
#define VMCTR_ACCEL_KVM ((int32_t)2)
/** Apple's Hypervisor, through Virtualization.framework. */
#define VMCTR_ACCEL_HVF ((int32_t)3)
/** @} */

/** @name Boolean capabilities (vmctr_caps_has())
 * @{ */
/** The qemu backend is built in and usable (a qemu binary was found). */
#define VMCTR_CAP_BACKEND_QEMU 1u
/** The vz backend is built in and Virtualization.framework supports this Mac. */
#define VMCTR_CAP_BACKEND_VZ 2u
/** A hardware hypervisor really runs guests (KVM that works, or VZ). */
#define VMCTR_CAP_HW_VIRT 3u
/** Guests may themselves run VMs (nested virtualization). */
#define VMCTR_CAP_NESTED_VIRT 4u
/** Shared directories over virtiofs (a virtiofsd on Linux; built in on macOS). */
#define VMCTR_CAP_VIRTIOFS 5u
/** /dev/net/tun exists and can be opened. */
#define VMCTR_CAP_TUN 6u
/** This process may create tap devices and bridges (CAP_NET_ADMIN). */
#define VMCTR_CAP_TAP 7u
/** Rosetta translation of x86_64 binaries in Linux guests (Apple silicon). */
#define VMCTR_CAP_ROSETTA 8u
/** @} */

/**
 * Probe the host.
 *
 * Never fails because the host lacks something: that is what the snapshot
 * reports. It fails only for bad arguments or lack of memory.
 *
 * Each call probes afresh, so a later call sees changes on the host.
 *
 * @param out   receives the snapshot, holding one reference, on success;
 *              untouched on failure. Release it with vmctr_caps_unref().
 * @param flags VMCTR_CAPS_PROBE_* bits; unknown bits give VMCTR_EINVAL.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_caps_probe(vmctr_caps **out, uint32_t flags);

/**
 * Take another reference to a snapshot, for another owner. Atomic: any
 * thread may call it while others use or release the snapshot.
 *
 * @param caps the snapshot, or NULL.
 * @return caps (NULL for NULL).
 */
VMCTR_API vmctr_caps *vmctr_caps_ref(vmctr_caps *caps);

/**
 * Release a reference; the last one frees the snapshot and every string
 * borrowed from it. Atomic, like vmctr_caps_ref(). NULL is ignored.
 */
VMCTR_API void vmctr_caps_unref(vmctr_caps *caps);

/**
 * The same as vmctr_caps_unref(): releases one reference, and frees the
 * snapshot only if it was the last. Kept for callers of the first API.
 */
VMCTR_API void vmctr_caps_free(vmctr_caps *caps);

/**
 * Query a boolean capability.
 *
 * @param caps   the snapshot.
 * @param cap    VMCTR_CAP_*.
 * @param reason if not NULL, receives why the capability is absent (or a short
 *               description of what provides it when present); borrowed from
 *               caps, valid until its last vmctr_caps_unref(). Never set to NULL
 *               on success.
 * @return 1 if present, 0 if absent, VMCTR_EINVAL for a NULL caps or unknown cap.
 */
VMCTR_API int vmctr_caps_has(const vmctr_caps *caps, uint32_t cap, const char **reason);

/**
 * Whether a backend was compiled into this library (regardless of whether the
 * host can use it).
 *
 * @return 1 or 0, or VMCTR_EINVAL for a NULL caps or unknown backend.
 */
VMCTR_API int vmctr_caps_backend_compiled(const vmctr_caps *caps, int32_t backend);

/** The backend that a VM would use on this host (VMCTR_BACKEND_*), or VMCTR_BACKEND_NONE. */
VMCTR_API int32_t vmctr_caps_backend(const vmctr_caps *caps);

/**
 * The accelerator that a VM would use (VMCTR_ACCEL_*).
 *
 * @param reason if not NULL, receives why this accelerator was chosen, e.g.
 *               why KVM was passed over for TCG; borrowed from caps; never
 *               NULL (a static string if caps is NULL).
 * @return the accelerator, VMCTR_ACCEL_NONE if caps is NULL.
 */
VMCTR_API int32_t vmctr_caps_accelerator(const vmctr_caps *caps, const char **reason);

/**
 * A static name for an accelerator constant: "auto", "none", "tcg", "kvm",
 * "hvf"; "unknown" otherwise.
 */
VMCTR_API const char *vmctr_accelerator_name(int32_t accel);

/** A static name for a backend constant: "none", "qemu", "vz"; "unknown" otherwise. */
VMCTR_API const char *vmctr_backend_name(int32_t backend);

/**
 * Host CPUs this process may run on (its affinity mask, which a container
 * runtime or cgroup setup may narrow), 0 if caps is NULL.
 */
VMCTR_API uint32_t vmctr_caps_host_cpus(const vmctr_caps *caps);

/** Host physical memory in bytes (0 if caps is NULL). */
VMCTR_API uint64_t vmctr_caps_host_memory(const vmctr_caps *caps);

/** The most vCPUs one VM may get on this host (0 if caps is NULL). */
VMCTR_API uint32_t vmctr_caps_max_vcpus(const vmctr_caps *caps);

/** The most memory, in bytes, one VM may get on this host (0 if caps is NULL). */
VMCTR_API uint64_t vmctr_caps_max_memory(const vmctr_caps *caps);

/**
 * The qemu binary that the qemu backend would run, or NULL if none was found.
 * Borrowed from caps.
 */
VMCTR_API const char *vmctr_caps_qemu_path(const vmctr_caps *caps);

/**
 * The qemu version ("7.2.19"), or NULL if unknown (not found, or the probe
 * ran with VMCTR_CAPS_PROBE_QUICK). Borrowed from caps.
 */
VMCTR_API const char *vmctr_caps_qemu_version(const vmctr_caps *caps);

/**
 * The guest architectures this host's backend can boot, as one
 * space-separated list of names: "x86_64 aarch64" on an x86_64 Linux host
 * with qemu-system-x86_64 and qemu-system-aarch64 (the guest of the other
 * architecture is emulated, TCG only); "" if none. Borrowed from caps; ""
 * if caps is NULL. Since 0.4.
 */
VMCTR_API const char *vmctr_caps_guest_architectures(const vmctr_caps *caps);

/**
 * Whether the backend can boot guests of one architecture.
 *
 * @param arch "x86_64" or "aarch64" ("amd64" and "arm64" are accepted too).
 * @param why  if not NULL, receives the reason either way (which binary,
 *             or what to install); borrowed from caps.
 * @return 1 if it can, 0 if not (also for an unknown arch), VMCTR_EINVAL
 *         if caps is NULL. Since 0.4.
 */
VMCTR_API int32_t vmctr_caps_guest_architecture_supported(const vmctr_caps *caps,
                                                          const char *arch, const char **why);

/** The virtiofsd binary, or NULL if none was found (Linux). Borrowed from caps. */
VMCTR_API const char *vmctr_caps_virtiofsd_path(const vmctr_caps *caps);

/**
 * The whole snapshot as a JSON object (UTF-8, NUL-terminated).
 *
 * @param out_json receives the text on success; free it with vmctr_free().
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_caps_to_json(const vmctr_caps *caps, char **out_json);

/**
 * Fail unless guests can run nested VMs here.
 *
 * The counterpart of apple/container's
 * MachineCapabilities.requireNestedVirtualizationSupported(): call it before
 * building anything that needs nested virtualization.
 *
 * @return 0 if supported; VMCTR_EUNSUPPORTED otherwise, with a message in
 *         vmctr_error_last() that says which hardware and OS would do and why
 *         this host does not; VMCTR_EINVAL for a NULL caps.
 */
VMCTR_API int vmctr_caps_require_nested_virtualization(const vmctr_caps *caps);

VMCTR_END_DECLS

#endif /* VMCTR_CAPS_H */
