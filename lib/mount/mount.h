/* SPDX-License-Identifier: MIT */
/* What lib/mount offers the other layers: how a mount is performed in the
 * guest, and the names (disk serial, share tag) by which a backend's device
 * and the guest's mount request find each other. The same for every
 * backend. */
#ifndef VMCTR_MOUNT_MOUNT_H
#define VMCTR_MOUNT_MOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmctr/mount.h"

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
  /* A file share: the name of the one entry of the share (VMCTR__SHARE_FILE_NAME),
   * which the guest binds onto target (a file); NULL for every other mount. */
  char *file;
  char *target;   /* the mount's destination; NULL for a root filesystem */
  char *fstype;
  uint64_t flags; /* VMCTR__MS_* */
  char *data;     /* NULL when there is none */
} vmctr__mount_request;

/* A share's source as the library found it: a directory, or one regular
 * file (a file share, doc/mount.md). */
#define VMCTR__SHARE_DIR 1u
#define VMCTR__SHARE_FILE 2u
/* The one entry of a file share's exported directory: the file. */
#define VMCTR__SHARE_FILE_NAME "file"

/* On the library's own copy of a validated mount: record whether a share's
 * source is a directory or a regular file (once; a later call keeps the
 * first answer, so every layer sees the same). VMCTR_ENOENT if the source
 * is gone, VMCTR_EINVAL if it is neither. No-op for other kinds. */
int vmctr__mount_settle(vmctr_mount *m);
/* 1 if m is a settled file share, else 0. */
int vmctr__mount_share_is_file(const vmctr_mount *m);

/* The guest request for mount number `index` of a VM. Backend-independent:
 * the serial and the generated tag come from the index alone. */
int vmctr__mount_guest_request(const vmctr_mount *m, uint32_t index, vmctr__mount_request *out);
void vmctr__mount_request_clear(vmctr__mount_request *req);

/* The block disk serial of mount `index` ("vmctr-mnt<index>", at most 20
 * bytes: the virtio-blk serial field, and VZ's blockDeviceIdentifier).
 * The share tag of an untagged share ("vmctr-fs<index>"). buf holds 24 bytes. */
void vmctr__mount_serial(uint32_t index, char buf[24]);
void vmctr__mount_auto_tag(uint32_t index, char buf[24]);

#endif
