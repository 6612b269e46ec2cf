/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/vmm.h
 * @brief The VM manager: boot one lightweight VM from a boot configuration
 *        and supervise it.
 *
 * A vmctr_vmm runs one VM (a QEMU process on Linux). vmctr_vmm_start() boots
 * it and returns once the guest agent has connected; vmctr_vmm_stop() powers
 * it off. The VM's hypervisor process is supervised: its death is noticed at
 * once through vmctr_vmm_event_fd() and vmctr_vmm_wait(). vmctr_vmm_free()
 * always leaves no process and no runtime directory behind.
 *
 * @code
 *   vmctr_vmm *vm;
 *   if (vmctr_vmm_new(&vm, cfg) < 0 || vmctr_vmm_start(vm) < 0) { ... }
 *   ...
 *   vmctr_vmm_stop(vm, 5000);
 *   vmctr_vmm_free(vm);
 * @endcode
 *
 * Events follow one idiom for VMs, containers and processes: poll
 * vmctr_vmm_event_fd() for reading, and when it is readable call
 * vmctr_vmm_dispatch(), which collects what happened and returns the state.
 *
 * Threads: a vmctr_vmm is not thread-safe: use it from one thread at a time
 * (no function here may run concurrently with another on the same VM). On
 * Linux the VM's processes are bound to the thread that called
 * vmctr_vmm_start() (PR_SET_PDEATHSIG): if that thread exits, the kernel
 * kills them. Start VMs from a thread that outlives them.
 */
#ifndef VMCTR_VMM_H
#define VMCTR_VMM_H

#include "vmctr/common.h"
#include "vmctr/bootcfg.h"
#include "vmctr/caps.h"
#include "vmctr/mount.h"

VMCTR_BEGIN_DECLS

/** An opaque VM manager. */
typedef struct vmctr_vmm vmctr_vmm;

/** @name VM states (vmctr_vmm_state(), vmctr_vmm_dispatch())
 * @{ */
/** Created, not started. */
#define VMCTR_VMM_STATE_NEW 0
/** Booted; the guest agent is connected. */
#define VMCTR_VMM_STATE_RUNNING 1
/** Powered off: stopped by vmctr_vmm_stop(), or the guest shut down cleanly. */
#define VMCTR_VMM_STATE_STOPPED 2
/** Ended otherwise: failed to start, crashed, or its process was killed. */
#define VMCTR_VMM_STATE_FAILED 3
/** @} */

/** The agent wait of a new VM manager: 30 s (software emulation is slow). */
#define VMCTR_VMM_DEFAULT_AGENT_TIMEOUT_MS 30000u

/**
 * Create a VM manager for a boot configuration (copied: later changes to cfg
 * do not affect it). Nothing runs until vmctr_vmm_start().
 *
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_vmm_new(vmctr_vmm **out, const vmctr_bootcfg *cfg);

/**
 * Stop the VM by force if it still runs, reap its processes, and remove its
 * runtime directory. NULL is ignored.
 */
VMCTR_API void vmctr_vmm_free(vmctr_vmm *vmm);

/**
 * Choose the accelerator: VMCTR_ACCEL_AUTO (the default: hardware
 * virtualization where it really works, else software emulation) or one of
 * VMCTR_ACCEL_TCG, VMCTR_ACCEL_KVM, VMCTR_ACCEL_HVF (vmctr/caps.h); an
 * explicit one that does not work here makes vmctr_vmm_start() fail with
 * VMCTR_EUNSUPPORTED and the reason. Only before start.
 * @return 0, VMCTR_EINVAL or VMCTR_ESTATE.
 */
VMCTR_API int vmctr_vmm_set_accelerator(vmctr_vmm *vmm, int32_t accel);

/**
 * Write the guest console (the boot log) to path instead of a file in the
 * runtime directory; it is then kept after vmctr_vmm_free(). NULL restores
 * the default. Only before start.
 * @return 0, VMCTR_EINVAL, VMCTR_ESTATE or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_vmm_set_boot_log(vmctr_vmm *vmm, const char *path);

/**
 * Choose the directory under which the VM's private runtime directory
 * (vm-XXXXXX, mode 0700: control channels, pid file, default boot log) is
 * made. NULL restores the default: $XDG_RUNTIME_DIR/libvmctr, else
 * /run/libvmctr for root, else /tmp/libvmctr-UID. Only before start.
 * @return 0, VMCTR_EINVAL, VMCTR_ESTATE or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_vmm_set_runtime_parent(vmctr_vmm *vmm, const char *dir);

/**
 * How long vmctr_vmm_start() waits for the guest agent, in ms (at least 1;
 * default VMCTR_VMM_DEFAULT_AGENT_TIMEOUT_MS).
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_vmm_set_agent_timeout(vmctr_vmm *vmm, uint32_t timeout_ms);

/**
 * Attach a disk or share a host directory (see vmctr/mount.h); the mount is
 * validated and copied. Only before start. On the qemu backend each share
 * gets its own virtiofsd, supervised like the VM: if it dies, the VM is
 * stopped and ends in VMCTR_VMM_STATE_FAILED. Mounting inside the guest is
 * the container layer's work. tmpfs and guest-only mounts need nothing here.
 * @return 0, VMCTR_EINVAL, VMCTR_ESTATE or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_vmm_add_mount(vmctr_vmm *vmm, const vmctr_mount *mount);

/**
 * Pass extra arguments to the hypervisor process, after the ones the library
 * builds: for diagnostics and experiments (e.g. QEMU's "-d", "guest_errors").
 * They are backend-specific, used verbatim, and can break the VM; they are
 * taken only from this call, never from a boot-config file. n = 0 clears
 * them. Only before start. Backends without a hypervisor process ignore them.
 * @return 0, VMCTR_EINVAL, VMCTR_ESTATE or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_vmm_set_hypervisor_args(vmctr_vmm *vmm, const char *const *args, size_t n);

/** The first id of the default jail range (see vmctr_vmm_set_jail_ids()). */
#define VMCTR_VMM_DEFAULT_JAIL_ID_FIRST 2000000000u
/** How many ids the default jail range holds. */
#define VMCTR_VMM_DEFAULT_JAIL_ID_COUNT 65536u

/**
 * Choose the ids the hypervisor runs as when the library runs as root: each
 * VM takes one id of [first, first + count) that no other VM on this host
 * holds (a lock file .uid-N in the runtime parent), and its hypervisor
 * process (QEMU) runs as that uid and gid with no supplementary groups, so
 * two VMs never share an identity with each other or with any host user.
 * Pick a range that no host account or user-namespace mapping uses. The
 * default is VMCTR_VMM_DEFAULT_JAIL_ID_FIRST + VMCTR_VMM_DEFAULT_JAIL_ID_COUNT.
 * count = 0 keeps the caller's ids (not recommended; for debugging). Without
 * root this setting has no effect. Only before start. See doc/security.md.
 * @return 0, VMCTR_EINVAL (first is 0, or the range passes 2^32 - 2) or
 *   VMCTR_ESTATE.
 */
VMCTR_API int vmctr_vmm_set_jail_ids(vmctr_vmm *vmm, uint32_t first, uint32_t count);

/** Templates as the library's default says: on (since 0.6), unless the
 * environment variable VMCTR_TEMPLATES is "0" (see doc/vmm.md, "Templates"). */
#define VMCTR_VMM_TEMPLATE_DEFAULT 0u
/** Always boot cold. */
#define VMCTR_VMM_TEMPLATE_OFF 1u
/** Start from a template when the VM fits one. */
#define VMCTR_VMM_TEMPLATE_ON 2u

/**
 * Choose whether vmctr_vmm_start() may restore the VM from a template: a VM
 * of the same kernel, initfs, hypervisor, cpus, memory and devices, booted
 * once, saved after its agent answered and kept in the library's cache
 * directory. A clone maps the template's memory copy-on-write and answers in
 * a fraction of a boot; it gets its own clock, randomness, disks and MACs
 * before start returns. The first VM of a kind builds the template (a cold
 * boot plus a save). A VM with shared directories (virtiofs) or a tap NIC
 * always boots cold, and so does one whose restore fails (logged at
 * VMCTR_LOG_WARN): either way the caller gets the same VM. Clones share
 * the template's per-boot kernel secrets: see doc/security.md. Only before
 * start.
 * @return 0, VMCTR_EINVAL (unknown mode) or VMCTR_ESTATE.
 */
VMCTR_API int vmctr_vmm_set_template(vmctr_vmm *vmm, uint32_t mode);

/**
 * Build the template this VM would start from (its boot config, mounts and
 * network interfaces as set so far), now, without starting the VM: the
 * first start of a kind then costs a restore instead of a boot plus a save.
 * A template that exists already is kept. The VM stays in
 * VMCTR_VMM_STATE_NEW; a later vmctr_vmm_start() with the same settings
 * restores it (when templates are on for it, vmctr_vmm_set_template()).
 * Blocks for about a boot. Only before start.
 * @return 0; VMCTR_EUNSUPPORTED when this VM cannot have a template (shared
 *   directories, a tap NIC, a backend without templates: the reason in the
 *   message); VMCTR_ESTATE; the errors of vmctr_vmm_start() for the build.
 */
VMCTR_API int vmctr_vmm_build_template(vmctr_vmm *vmm);

/**
 * Boot the VM and wait until its guest agent has connected.
 *
 * Checks the configuration first (vmctr_bootcfg_validate()), so a missing
 * kernel fails before anything runs. When the boot config has no initfs, one
 * is built from vmctr-init ($VMCTR_GUEST_INIT, else the installed one).
 * On failure the VM is in VMCTR_VMM_STATE_FAILED with nothing left running;
 * the boot log stays readable until vmctr_vmm_free().
 *
 * @return 0; VMCTR_ESTATE if already started; VMCTR_ENOENT, VMCTR_EINVAL,
 *         VMCTR_EPERM for the configuration; VMCTR_EUNSUPPORTED (KVM asked
 *         for where it does not work, with the reason); VMCTR_ETIMEDOUT (no
 *         agent in time: see the boot log); VMCTR_EIO (the hypervisor
 *         failed, with its message); VMCTR_EPROTO; VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_vmm_start(vmctr_vmm *vmm);

/**
 * The current state (VMCTR_VMM_STATE_*), noticing an exit that has already
 * happened; the event fd is left as it is. VMCTR_EINVAL for a NULL vmm.
 */
VMCTR_API int32_t vmctr_vmm_state(vmctr_vmm *vmm);

/**
 * An fd that becomes readable when the state may have changed (e.g. the
 * hypervisor process died). Poll it for reading, then call
 * vmctr_vmm_dispatch(). Owned by vmm: never read or close it. Valid from
 * vmctr_vmm_new() to vmctr_vmm_free(). VMCTR_EINVAL for a NULL vmm.
 */
VMCTR_API int vmctr_vmm_event_fd(const vmctr_vmm *vmm);

/**
 * Collect what made the event fd readable and return the state
 * (VMCTR_VMM_STATE_*). The fd stops being readable until the next change.
 * @return the state, or VMCTR_EINVAL.
 */
VMCTR_API int32_t vmctr_vmm_dispatch(vmctr_vmm *vmm);

/**
 * Wait for the VM to end by itself (guest power-off, crash, kill).
 *
 * @param timeout_ms how long to wait; negative waits forever.
 * @return 0 once it ended (see vmctr_vmm_state() and vmctr_vmm_exit_status());
 *         VMCTR_ETIMEDOUT; VMCTR_ESTATE if never started; VMCTR_EINVAL.
 */
VMCTR_API int vmctr_vmm_wait(vmctr_vmm *vmm, int32_t timeout_ms);

/**
 * Power the VM off: ask the guest agent for a clean power-off and wait up to
 * grace_ms, then ask the hypervisor to quit, then kill it. Returns once
 * nothing of the VM runs. Stopping a VM that has already ended succeeds.
 *
 * @return 0; VMCTR_ESTATE if never started; VMCTR_EINVAL.
 */
VMCTR_API int vmctr_vmm_stop(vmctr_vmm *vmm, uint32_t grace_ms);

/**
 * The hypervisor's exit status once ended: its exit code, or 128 + the signal
 * that killed it; -1 if unknown.
 * @return 0, VMCTR_ESTATE (still running or never started) or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_vmm_exit_status(vmctr_vmm *vmm, int32_t *out_status);

/**
 * The accelerator in use (VMCTR_ACCEL_* of vmctr/caps.h) once started, else
 * VMCTR_ACCEL_NONE.
 */
VMCTR_API int32_t vmctr_vmm_accelerator(const vmctr_vmm *vmm);

/**
 * The hypervisor process id while it runs (for diagnostics), else 0.
 */
VMCTR_API int32_t vmctr_vmm_pid(const vmctr_vmm *vmm);

/**
 * The VM's runtime directory once started, else NULL. Borrowed from vmm; it
 * is removed by vmctr_vmm_free().
 */
VMCTR_API const char *vmctr_vmm_runtime_dir(const vmctr_vmm *vmm);

/**
 * The boot log path once started (or as set), else NULL. Borrowed from vmm.
 */
VMCTR_API const char *vmctr_vmm_boot_log(const vmctr_vmm *vmm);

VMCTR_END_DECLS

#endif /* VMCTR_VMM_H */
