/* SPDX-License-Identifier: MIT */
/* The hypervisor backend interface: what lib/vmm/vmm.c needs from QEMU
 * (Linux) or Virtualization.framework (macOS, later). A struct of function
 * pointers plus an opaque context; nothing here names a Linux concept, so a
 * vz backend implements the same operations. fds are plain pollable
 * descriptors on every POSIX host (a pidfd here, a pipe or kqueue there). */
#ifndef VMCTR_VMM_BACKEND_H
#define VMCTR_VMM_BACKEND_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* What to boot, fully resolved by vmm.c (paths exist, accelerator chosen). */
typedef struct vmctr__vm_spec {
  const char *kernel;
  const char *initfs;      /* may be NULL */
  const char *cmdline;     /* joined kernel arguments */
  uint32_t cpus;
  uint64_t memory;         /* bytes, whole MiB */
  int32_t accel;           /* VMCTR_ACCEL_* actually used */
  const char *arch;        /* guest = host architecture: "x86_64", "aarch64" */
  const char *runtime_dir; /* private 0700 directory for this VM */
  const char *boot_log;    /* file receiving the guest console */
  const char *binary;      /* the hypervisor program (qemu), if the backend runs one */
  char **extra_args;       /* backend-specific extra arguments, NULL-terminated, may be NULL */
  /* Disks and shares; mount i is realised under index i (see lib/mount). The
   * backend supervises any helper (virtiofsd): its death ends the VM. */
  const struct vmctr_mount *const *mounts;
  size_t nmounts;
  const char *virtiofsd;   /* the share daemon, NULL: search */
  /* Describe the devices in firmware tables (ACPI on x86) rather than on the
   * kernel command line: for stock kernels without virtio-mmio cmdline devices. */
  bool firmware_tables;
} vmctr__vm_spec;

typedef struct vmctr__backend_ops {
  const char *name;
  /* Prepare (nothing runs yet). The spec is only read during the call. */
  int (*create)(void **ctx, const vmctr__vm_spec *spec);
  /* Start the VM; on return it runs and its control channel answers. */
  int (*start)(void *ctx, int timeout_ms);
  /* The host end of the guest agent's byte stream; borrowed; -1 before start. */
  int (*agent_fd)(void *ctx);
  /* Readable once the VM has exited (stays readable); borrowed; -1 before start. */
  int (*exit_fd)(void *ctx);
  /* 1 and *status (exit code, or 128 + signal; -1 unknown) once exited, 0 while running. */
  int (*poll)(void *ctx, int *status);
  /* Ask the hypervisor itself to end the VM now (QMP quit); no guest help. */
  int (*quit)(void *ctx, int timeout_ms);
  /* End it by force and release the process; never fails. */
  void (*kill)(void *ctx);
  /* The hypervisor process id for diagnostics, 0 if none. */
  int32_t (*pid)(void *ctx);
  /* Kill if still running, free everything. */
  void (*free)(void *ctx);
} vmctr__backend_ops;

#if VMCTR_HAVE_QEMU
extern const vmctr__backend_ops vmctr__qemu_backend;
#endif

#endif
