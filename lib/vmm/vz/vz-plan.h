/* SPDX-License-Identifier: MIT */
/* The vz backend's plan (internal to lib/vmm/vz): every decision the
 * Virtualization.framework backend makes about a VM, taken in plain C from
 * the VM spec and what the host offers, so that it is built and tested on
 * every OS. The Objective-C half (vz-config.m) only walks a plan and creates
 * one VZ object per entry, in the plan's order; it decides nothing.
 *
 * The constants name VZ's concepts without its types: VMCTR__VZ_CACHING_*
 * are VZDiskImageCachingMode's cases, VMCTR__VZ_SYNC_* those of
 * VZDiskImageSynchronizationMode, VMCTR__VZ_ATTACH_* the network device
 * attachment classes (doc/vz.md has the tables). */
#ifndef VMCTR_VMM_VZ_PLAN_H
#define VMCTR_VMM_VZ_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/backend-priv.h"

/* VZDiskImageCachingMode: Automatic, Cached, Uncached. */
#define VMCTR__VZ_CACHING_AUTOMATIC 1u
#define VMCTR__VZ_CACHING_CACHED 2u
#define VMCTR__VZ_CACHING_UNCACHED 3u
/* VZDiskImageSynchronizationMode: Full, Fsync, None. */
#define VMCTR__VZ_SYNC_FULL 1u
#define VMCTR__VZ_SYNC_FSYNC 2u
#define VMCTR__VZ_SYNC_NONE 3u

/* VZDiskSynchronizationMode (a host block device): Full, None. */
#define VMCTR__VZ_BLOCKDEV_SYNC_FULL 1u
#define VMCTR__VZ_BLOCKDEV_SYNC_NONE 2u

/* Storage device attachments. */
#define VMCTR__VZ_DISK_IMAGE 1u    /* VZDiskImageStorageDeviceAttachment (a file) */
#define VMCTR__VZ_DISK_BLOCKDEV 2u /* VZDiskBlockDeviceStorageDeviceAttachment (macOS 14) */

/* Network device attachments. */
#define VMCTR__VZ_ATTACH_NAT 1u          /* VZNATNetworkDeviceAttachment */
#define VMCTR__VZ_ATTACH_VMNET_SHARED 2u /* VZVmnetNetworkDeviceAttachment, VMNET_SHARED_MODE */
#define VMCTR__VZ_ATTACH_VMNET_HOST 3u   /* VZVmnetNetworkDeviceAttachment, VMNET_HOST_MODE */
#define VMCTR__VZ_ATTACH_BRIDGED 4u      /* VZBridgedNetworkDeviceAttachment */

/* The guest's console: the first port of the one virtio console device. */
#define VMCTR__VZ_CONSOLE_PORT 0u
#define VMCTR__VZ_CONSOLE "hvc0"
/* The tag the Rosetta share is mounted by in the guest. */
#define VMCTR__VZ_ROSETTA_TAG "vmctr.rosetta"
/* A NIC without vmnet: VZ's own NAT and a host LAN carry 1500-byte frames. */
#define VMCTR__VZ_PLAIN_MTU 1500u
/* VZVirtioBlockDeviceConfiguration.blockDeviceIdentifier: ASCII, at most 20 bytes. */
#define VMCTR__VZ_DISK_ID_MAX 20u
#define VMCTR__MIB (UINT64_C(1) << 20)

/* What this Mac offers, as far as it shapes a plan. The Objective-C half
 * fills it at create() time from the live framework (nested virtualization
 * from VZGenericPlatformConfiguration.isNestedVirtualizationSupported,
 * vmnet networks from the OS version) and the capability probe (Rosetta,
 * limits); tests fill it by hand. */
typedef struct vmctr__vz_host {
  bool nested_supported;
  bool rosetta_installed;
  bool vmnet_networks;  /* vmnet_network_create + VZVmnetNetworkDeviceAttachment (macOS 26) */
  bool block_devices;   /* VZDiskBlockDeviceStorageDeviceAttachment (macOS 14) */
  uint32_t max_cpus;    /* VZVirtualMachineConfiguration.maximumAllowedCPUCount; 0 unknown */
  uint64_t max_memory;  /* .maximumAllowedMemorySize; 0 unknown */
} vmctr__vz_host;

/* VZVirtioBlockDeviceConfiguration over a disk image or a host block device. */
typedef struct vmctr__vz_disk {
  uint32_t attachment;    /* VMCTR__VZ_DISK_* (the path is stat()ed to tell) */
  const char *path;       /* borrowed from the spec */
  bool read_only;
  uint32_t caching;       /* IMAGE: VMCTR__VZ_CACHING_* */
  uint32_t sync;          /* IMAGE: VMCTR__VZ_SYNC_*; BLOCKDEV: VMCTR__VZ_BLOCKDEV_SYNC_* */
  const char *identifier; /* blockDeviceIdentifier (the spec's serial); borrowed */
} vmctr__vz_disk;

/* VZVirtioFileSystemDeviceConfiguration(tag) with one directory. */
typedef struct vmctr__vz_share {
  const char *tag;        /* borrowed */
  const char *path;       /* borrowed */
  bool read_only;         /* VZSharedDirectory readOnly */
} vmctr__vz_share;

/* VZVirtioNetworkDeviceConfiguration. */
typedef struct vmctr__vz_nic {
  uint32_t attachment;    /* VMCTR__VZ_ATTACH_* */
  uint8_t mac[6];
  uint32_t mtu;
  /* VMNET_*: the network (one vmnet network per name in this process), its
   * subnet and mask in host byte order; BRIDGED: the host interface. */
  const char *network;
  uint32_t subnet, mask;
  const char *host_if;
} vmctr__vz_nic;

typedef struct vmctr__vz_plan {
  /* VZLinuxBootLoader */
  const char *kernel, *initfs; /* borrowed; initfs may be NULL */
  char *cmdline;               /* owned: "console=hvc0" then the spec's arguments */
  /* VZVirtualMachineConfiguration */
  uint32_t cpus;
  uint64_t memory;             /* bytes, a whole number of MiB */
  /* VZGenericPlatformConfiguration.nestedVirtualizationEnabled */
  bool nested;
  bool entropy;                /* a VZVirtioEntropyDeviceConfiguration */
  /* VZVirtioConsoleDeviceSerialPortConfiguration writing to console_log */
  uint32_t console_port;
  const char *console_log;     /* borrowed */
  /* VZVirtioSocketDeviceConfiguration; the host connects to this guest port */
  uint32_t agent_port;
  /* In this order, after each other: the guest's vda, vdb, ... */
  vmctr__vz_disk *disks;
  size_t ndisks;
  /* Directory sharing devices, in the spec's order, then Rosetta's. */
  vmctr__vz_share *shares;
  size_t nshares;
  bool rosetta;                /* a VZLinuxRosettaDirectoryShare tagged VMCTR__VZ_ROSETTA_TAG */
  vmctr__vz_nic *nics;         /* NIC i is the guest's i-th virtio-net device */
  size_t nnics;
} vmctr__vz_plan;

/* Fill host from a capability probe's answers (Rosetta, limits). The live
 * checks that only the framework can answer (nested virtualization, vmnet
 * networks) stay false here; the caller ANDs in its own. */
void vmctr__vz_host_from_caps(vmctr__vz_host *host, const vmctr_caps *caps);

/* Plan the VM of spec on host. 0 with *plan filled (free with
 * vmctr__vz_plan_clear), or VMCTR_EINVAL / VMCTR_EUNSUPPORTED / VMCTR_ENOMEM
 * with vmctr_error_last() saying what cannot be done and why; *plan is then
 * empty. Borrowed pointers in the plan point into spec. */
int vmctr__vz_plan_make(vmctr__vz_plan *plan, const vmctr__vm_spec *spec,
                        const vmctr__vz_host *host);

/* Free what the plan owns and empty it; NULL ok, idempotent. */
void vmctr__vz_plan_clear(vmctr__vz_plan *plan);

#endif
