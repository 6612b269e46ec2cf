/* SPDX-License-Identifier: MIT */
/* Mounts inside the library: the object, its checks, and its translations
 * for the VM manager (QEMU arguments, virtiofsd argv) and for the guest
 * agent (the mount(2) request). Everything here is pure: no process is
 * spawned and nothing is written; the VM manager does that. */
#ifndef VMCTR_MOUNT_INTERNAL_H
#define VMCTR_MOUNT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "vmctr/mount.h"

struct vmctr_mount {
  uint32_t kind;
  char *source;      /* host path (block, share), guest source (any), NULL for tmpfs */
  char *destination; /* always set */
  bool read_only;
  char *options; /* extra options, comma-separated, or NULL */
  /* block */
  uint32_t format, caching, sync;
  /* share */
  char *tag;
  uint32_t share_cache;
  /* tmpfs */
  uint64_t tmpfs_size;
  uint32_t tmpfs_mode;
  /* any */
  char *type;
};

/* A mount of kind with every default and no strings (NULL + ENOMEM recorded on failure). */
vmctr_mount *vmctr__mount_alloc(uint32_t kind);

/* Value checks shared by setters, the JSON reader and validate. Each records
 * the error with `what` as a prefix and returns code. */
int vmctr__mount_check_destination(const char *dest, int code, const char *what);
int vmctr__mount_check_options(const char *options, int code, const char *what);
int vmctr__mount_check_tag(const char *tag, int code, const char *what);
int vmctr__mount_check_type(const char *type, int code, const char *what);

/* Names of kinds and modes, as JSON and the spec syntax write them; NULL
 * for an unknown value. The lookups return 0 for an unknown name. */
const char *vmctr__mount_kind_name(uint32_t kind);
const char *vmctr__mount_caching_name(uint32_t v);
const char *vmctr__mount_sync_name(uint32_t v);
const char *vmctr__mount_share_cache_name(uint32_t v);
const char *vmctr__mount_format_name(uint32_t v);
uint32_t vmctr__mount_kind_from_name(const char *s);
uint32_t vmctr__mount_caching_from_name(const char *s);
uint32_t vmctr__mount_sync_from_name(const char *s);
uint32_t vmctr__mount_share_cache_from_name(const char *s);
uint32_t vmctr__mount_format_from_name(const char *s);

/* A mount inside a larger JSON document (container configs). from_cjson
 * prefixes messages with `what`. */
int vmctr__mount_to_cjson(const vmctr_mount *m, cJSON **out);
int vmctr__mount_from_cjson(const cJSON *obj, const char *what, vmctr_mount **out);

/* Mount flags as Linux defines them. The guest is always Linux but the host
 * may not be (macOS has no MS_*), so they are spelled out here; a unit test
 * compares them with <sys/mount.h>. */
#define VMCTR__MS_RDONLY 1ull
#define VMCTR__MS_NOSUID 2ull
#define VMCTR__MS_NODEV 4ull
#define VMCTR__MS_NOEXEC 8ull
#define VMCTR__MS_SYNCHRONOUS 16ull
#define VMCTR__MS_DIRSYNC 128ull
#define VMCTR__MS_NOATIME 1024ull
#define VMCTR__MS_NODIRATIME 2048ull
#define VMCTR__MS_RELATIME (1ull << 21)
#define VMCTR__MS_STRICTATIME (1ull << 24)
#define VMCTR__MS_LAZYTIME (1ull << 25)

/* The largest index a mount may have in one VM (serials and ids must stay short). */
#define VMCTR__MOUNT_INDEX_MAX 999u

/* What the guest agent is asked to do: mount(source, target, fstype, flags, data).
 * For a block disk, source is "vmctr-blk:<serial>": the guest finds the disk
 * whose /sys/block/vdX/serial is <serial> and mounts /dev/vdX. For a share it
 * is the virtiofs tag. */
typedef struct vmctr__mount_request {
  char *source;
  char *target;
  char *fstype;
  uint64_t flags; /* VMCTR__MS_* */
  char *data;     /* NULL when there is none */
} vmctr__mount_request;

/* The guest request for mount number `index` of a VM. Backend-independent:
 * the serial and the generated tag come from the index alone. */
int vmctr__mount_guest_request(const vmctr_mount *m, uint32_t index, vmctr__mount_request *out);
void vmctr__mount_request_clear(vmctr__mount_request *req);

/* The block disk serial of mount `index` ("vmctr-mnt<index>", at most 20
 * bytes: the virtio-blk serial field, and VZ's blockDeviceIdentifier).
 * The share tag of an untagged share ("vmctr-fs<index>"). buf holds 24 bytes. */
void vmctr__mount_serial(uint32_t index, char buf[24]);
void vmctr__mount_auto_tag(uint32_t index, char buf[24]);

/* Flags for vmctr__mount_qemu_translate(). */
/* virtiofsd cannot create namespaces (not root, or inside a container):
 * sandbox with chroot and leave RLIMIT_NOFILE alone. */
#define VMCTR__MOUNT_QEMU_UNPRIVILEGED (1u << 0)

/* How the QEMU backend realises mount `index`. */
typedef struct vmctr__mount_qemu {
  char **args;           /* QEMU arguments to append, NULL-terminated */
  char **virtiofsd_argv; /* share: the daemon to start (and wait for its socket) before QEMU */
  char *socket_path;     /* share: the vhost-user socket virtiofsd creates */
  /* share: vhost-user needs guest RAM the daemon can map: the VM manager must
   * back memory with a shared memory backend (memory-backend-memfd,share=on). */
  bool needs_shared_memory;
  vmctr__mount_request request; /* what the guest then mounts */
} vmctr__mount_qemu;

/* Translate a mount for a microvm (virtio-mmio) QEMU.
 * runtime_dir: the VM's private runtime directory (sockets go there).
 * virtiofsd: the daemon's path (vmctr_caps_virtiofsd_path()), or NULL to use
 *   the configured VMCTR_DEFAULT_VIRTIOFSD or search the usual places
 *   (VMCTR_EUNSUPPORTED for a share when there is none).
 * The mount is not validated here (call vmctr_mount_validate first), but
 * the result is always well-formed: paths are escaped for QEMU's and
 * virtiofsd's option syntax, and a socket path that does not fit sun_path
 * is refused with VMCTR_EINVAL. On failure *out is untouched. */
int vmctr__mount_qemu_translate(const vmctr_mount *m, uint32_t index, const char *runtime_dir,
                                const char *virtiofsd, uint32_t flags, vmctr__mount_qemu *out);
void vmctr__mount_qemu_clear(vmctr__mount_qemu *q);

/* The VZ backend's mapping, for when it is written (no code yet):
 *
 *   block caching   VZDiskImageCachingMode         sync    VZDiskImageSynchronizationMode
 *   auto            VZDiskImageCachingModeAutomatic full   VZDiskImageSynchronizationModeFull
 *   cached          VZDiskImageCachingModeCached    fsync  VZDiskImageSynchronizationModeFsync
 *   uncached        VZDiskImageCachingModeUncached  none   VZDiskImageSynchronizationModeNone
 *
 *   block: VZDiskImageStorageDeviceAttachment initWithURL:readOnly:cachingMode:
 *     synchronizationMode:error: (a block device: VZDiskBlockDeviceStorageDeviceAttachment,
 *     macOS 14, which takes only a synchronization mode) on a
 *     VZVirtioBlockDeviceConfiguration whose blockDeviceIdentifier is
 *     vmctr__mount_serial(index), so the guest request is the same.
 *   share: VZSharedDirectory(url, readOnly) in a VZSingleDirectoryShare on a
 *     VZVirtioFileSystemDeviceConfiguration with the same tag. VZ has no
 *     cache mode; the share's cache setting is ignored there.
 *   tmpfs, any: guest only, nothing on the host. */

#endif
