/* SPDX-License-Identifier: MIT */
/* The hypervisor backend interface: the seam between the shared VM manager
 * (vmm.c, vmm-start.c) and one hypervisor (qemu*.c on Linux; a vz backend
 * on macOS). The shared layer decides everything both backends would need
 * to decide alike and writes it into one plain description, the VM spec; a
 * backend only translates that spec into its own objects (an argv for
 * QEMU, VZ configuration objects) and supervises what it starts.
 *
 * Nothing here names a concept of one backend or one host OS. fds are
 * plain pollable descriptors on every POSIX host. */
#ifndef VMCTR_VMM_BACKEND_H
#define VMCTR_VMM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "vmctr/caps.h"

/* A disk: the guest finds it by serial (lib/mount's vmctr__mount_serial). */
typedef struct vmctr__vm_disk {
  const char *path;   /* image file or block device on the host */
  bool read_only;
  uint32_t caching;   /* VMCTR_MOUNT_CACHING_* */
  uint32_t sync;      /* VMCTR_MOUNT_SYNC_* */
  const char *serial; /* at most 20 bytes */
  /* VMCTR_MOUNT_IMAGE_RAW: path holds the filesystem. VMCTR_MOUNT_IMAGE_COW:
   * path is a copy-on-write view of backing, whose writes go to path; the
   * backend must never write backing (QEMU: a qcow2 overlay over a raw,
   * read-only backing node; a backend without such a view refuses it). */
  uint32_t image_format;
  char *backing;      /* COW only: absolute path; owned by the vmm */
  /* The size the guest sees: a COW view's virtual size, else the image's
   * length; 0 when it cannot be read (the backend then finds out). A
   * template's placeholder for a writable disk has this size, so that its
   * clones need no resize. */
  uint64_t size;
  /* Its content is thrown away when the VM ends (vmctr_mount_set_ephemeral):
   * flushes dropped, and the guest leaves it as it is at power-off. */
  bool ephemeral;
} vmctr__vm_disk;

/* A shared host directory, mounted in the guest by tag. */
typedef struct vmctr__vm_share {
  const char *host_path;
  const char *tag;
  bool read_only;
  uint32_t cache;     /* VMCTR_MOUNT_SHARE_CACHE_* */
  /* host_path is one regular file: the guest must see a directory holding
   * only it, as VMCTR__SHARE_FILE_NAME, and nothing else of its host
   * directory; a backend that cannot confine it so refuses it with
   * VMCTR_EUNSUPPORTED (never shares the parent). */
  bool file;
} vmctr__vm_share;

/* Everything that shapes the VM, fully resolved (paths exist, accelerator
 * chosen). Only read during create(). */
typedef struct vmctr__vm_spec {
  const char *kernel;
  const char *initfs;            /* may be NULL */
  /* Kernel arguments chosen by the shared layer (the boot config's, or the
   * library's defaults); the backend adds only what its own devices need
   * (the console device name, timer hints of its accelerator) in front. */
  char *const *kernel_args;      /* NULL-terminated, may be NULL */
  uint32_t cpus;
  uint64_t memory;               /* bytes, whole MiB */
  bool nested_virtualization;
  bool rosetta;
  int32_t accel;                 /* VMCTR_ACCEL_* actually used */
  const char *arch;              /* guest = host architecture: "x86_64", "aarch64" */
  /* Devices are described in firmware tables rather than on the kernel
   * command line (stock kernels without command-line device support). */
  bool firmware_tables;
  const char *runtime_dir;       /* private 0700 directory for this VM */
  const char *console_log;       /* file receiving the guest console */
  bool entropy;                  /* a virtio entropy device */
  /* The guest agent's channel: a stream port of this name (vsock port
   * agent_port where the backend has vsock); the backend hands its host end
   * out through agent_fd(). */
  const char *agent_name;
  uint32_t agent_port;
  const vmctr__vm_disk *disks;
  size_t ndisks;
  const vmctr__vm_share *shares;
  size_t nshares;
  /* Network interfaces, validated by the shared layer (net/net.h); NIC i
   * is the guest's i-th virtio-net device. A tap NIC's fd stays open for
   * the spec's lifetime; the backend dups what it keeps. */
  const vmctr__netdev *nics;
  size_t nnics;
  /* netns: the hypervisor and its helper processes run in the network
   * namespace netns_fd (borrowed), joined when each is spawned. */
  bool netns;
  int netns_fd;
  /* What the capability probe found (binaries, versions); borrowed. */
  const vmctr_caps *caps;
  /* Arguments the application explicitly passed for the hypervisor
   * (vmctr_vmm_set_hypervisor_args); never from a file. May be NULL. */
  char *const *hypervisor_args;
  /* When the library runs as root, the hypervisor processes that need no
   * privilege run as a per-VM uid = gid out of [first, first + count);
   * count 0 keeps the caller's ids (vmctr_vmm_set_jail_ids). */
  uint32_t jail_id_first, jail_id_count;
} vmctr__vm_spec;

/* A template's side of create_template() (lib/vmm/template*.c decides the
 * files; the backend only maps and streams them). */
typedef struct vmctr__vm_template {
  const char *ram; /* regular file holding guest RAM, size = spec memory */
  /* false: build a template: RAM is the file itself (shared), the disks are
   * placeholders of their kind, and save() writes the state to state_fd.
   * true: a clone: RAM maps the file privately (copy-on-write), start()
   * restores the state read from state_fd instead of booting. */
  bool clone;
  int state_fd;    /* borrowed; dup'ed by create_template() */
} vmctr__vm_template;

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
  /* Ask the hypervisor itself to end the VM now; no guest help. */
  int (*quit)(void *ctx, int timeout_ms);
  /* End it by force and release the process; never fails. */
  void (*kill)(void *ctx);
  /* The hypervisor process id for diagnostics, 0 if none. */
  int32_t (*pid)(void *ctx);
  /* Kill if still running, free everything. */
  void (*free)(void *ctx);
  /* Optional, NULL where the backend has no templates: create() for a
   * template's builder or clone (see vmctr__vm_template); start() follows
   * as for create(). */
  int (*create_template)(void **ctx, const vmctr__vm_spec *spec, const vmctr__vm_template *t);
  /* A builder's VM, running with its agent idle: stop it and write its
   * state (the devices and CPUs; RAM stays in the file). The VM ends. */
  int (*save)(void *ctx, int timeout_ms);
  /* What of the backend shapes a template of spec (its binary and version,
   * its own machine and kernel arguments), for the template key; malloc'd. */
  int (*template_id)(const vmctr__vm_spec *spec, char **out);
} vmctr__backend_ops;

#if VMCTR_HAVE_QEMU
extern const vmctr__backend_ops vmctr__qemu_backend;
#endif

/* The backend this build uses on this host, NULL if it has none (backend.c). */
const vmctr__backend_ops *vmctr__backend_default(void);

#endif
