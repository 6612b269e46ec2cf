/* SPDX-License-Identifier: MIT */
/* What the caps layer offers the other layers of libvmctr (internal; the
 * public API is vmctr/caps.h). */
#ifndef VMCTR_CAPS_CAPS_H
#define VMCTR_CAPS_CAPS_H

#include <stdint.h>

#include "vmctr/caps.h"

/* A new reference to this process's snapshot for flags (VMCTR_CAPS_PROBE_QUICK
 * or VMCTR_CAPS_PROBE_DEFAULT), probed on the first call for those flags and
 * shared afterwards; a full snapshot also answers a quick request. Release it
 * with vmctr_caps_unref(). Thread-safe: concurrent first callers probe once.
 * Returns 0, VMCTR_EINVAL (NULL out, unknown flags) or VMCTR_ENOMEM; *out is
 * set only on success. The host is probed again (and the old snapshot
 * dropped; references to it stay valid) when what the snapshot rests on
 * changed: the qemu or virtiofsd binary it found was replaced or removed,
 * /dev/kvm appeared or went away, or a binary it did not find may have been
 * installed since (VMCTR__CAPS_ABSENT_RECHECK_MS). Checking costs a few
 * stat()s per call. Anything else (a module parameter such as KVM's nested)
 * needs vmctr_caps_probe() or vmctr__caps_shared_reset(). */
int vmctr__caps_shared(uint32_t flags, vmctr_caps **out);

/* vmctr__caps_shared() flag, internal: every check but the `qemu --version`
 * query, which costs a process start (a few tens of ms, far more on a loaded
 * host) on every container's cold path and decides nothing there (a qemu that
 * cannot run fails its own start with its own message). The KVM test guest
 * still runs. vmctr_caps_qemu_version() of such a snapshot is NULL. */
#define VMCTR__CAPS_PROBE_NO_VERSION (1u << 31)

/* Drop the shared snapshots, so the next vmctr__caps_shared() probes again.
 * References handed out stay valid. For tests and leak checkers. */
void vmctr__caps_shared_reset(void);

/* The virtiofsd to run: the build's -Dvirtiofsd_binary if set (NULL if that
 * is not found), else the first executable of the usual places
 * (/usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd, /usr/lib/virtiofsd, then
 * virtiofsd on PATH). Returns a malloc'd path, or NULL if there is
 * none (always NULL on hosts without the qemu backend's virtiofsd). */
char *vmctr__find_virtiofsd(void);

/* The passt to run for a NAT network interface on the qemu backend: passt
 * on PATH (the library's PATH, read once per call). A malloc'd path, or NULL
 * if there is none (always NULL on hosts without the qemu backend); callers
 * then fall back to QEMU's user-mode network. */
char *vmctr__find_passt(void);

/* The index of a guest architecture: 0 for "x86_64" (or "amd64"), 1 for
 * "aarch64" (or "arm64"), -1 for anything else (NULL too). */
int vmctr__caps_guest_index(const char *arch);
/* The canonical name of a guest architecture ("x86_64", "aarch64"), or NULL. */
const char *vmctr__caps_guest_name(const char *arch);
/* The host's architecture as a guest architecture name ("x86_64", "aarch64", "unknown"). */
const char *vmctr__caps_host_arch(void);
/* The qemu binary that boots guests of arch, or NULL. Borrowed from caps. */
const char *vmctr__caps_qemu_for(const vmctr_caps *caps, const char *arch);

/* The nested-virtualization message shared by the require call and bootcfg validation. */
#define VMCTR__NESTED_HINT                                                                       \
  "nested virtualization is not supported on this host (needs Apple M3 or newer and macOS 15+, " \
  "or a Linux host whose KVM has nested=1)"

#endif
