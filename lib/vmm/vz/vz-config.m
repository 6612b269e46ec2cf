/* SPDX-License-Identifier: MIT */
/* A vz plan into a VZVirtualMachineConfiguration: one VZ object per plan
 * entry, in the plan's order. Nothing is decided here (vz-plan.c does that);
 * what is left is what only the framework can answer (is a tag valid, does
 * the host interface exist, can a vmnet network be made). ARC. */
#import <CoreFoundation/CoreFoundation.h>
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <vmnet/vmnet.h>

#include "config.h"
#include "core/error.h"
#include "vmm/vz/vz-priv.h"

int vmctr__vz_err(int code, NSError *err, const char *what) {
  if (!err)
    return vmctr__err(code, 0, "%s", what);
  return vmctr__err(code, 0, "%s: %s (%s %ld)", what, err.localizedDescription.UTF8String,
                    err.domain.UTF8String, (long)err.code);
}

void vmctr__vz_host_live(vmctr__vz_host *host, const vmctr_caps *caps) {
  vmctr__vz_host_from_caps(host, caps);
  if (@available(macOS 15.0, *))
    host->nested_supported = [VZGenericPlatformConfiguration isNestedVirtualizationSupported];
  if (@available(macOS 26.0, *))
    host->vmnet_networks = true;
  if (@available(macOS 14.0, *))
    host->block_devices = true;
#if defined(__aarch64__) || defined(__arm64__)
  if (@available(macOS 13.0, *))
    host->rosetta_installed = host->rosetta_installed &&
        [VZLinuxRosettaDirectoryShare availability] == VZLinuxRosettaAvailabilityInstalled;
#else
  host->rosetta_installed = false;
#endif
}

/* ---- vmnet networks: one per name in this process ---------------------- */

/* Owns one vmnet network; the last VM that holds it releases it. */
API_AVAILABLE(macos(26.0))
@interface VmctrVZNetwork : NSObject
@property(readonly) vmnet_network_ref ref;
@property(readonly) uint32_t attachment, subnet, mask, mtu;
@end

@implementation VmctrVZNetwork
- (instancetype)initWithRef:(vmnet_network_ref)ref plan:(const vmctr__vz_nic *)n {
  if ((self = [super init])) {
    _ref = ref;
    _attachment = n->attachment;
    _subnet = n->subnet;
    _mask = n->mask;
    _mtu = n->mtu;
  }
  return self;
}
- (void)dealloc {
  if (_ref)
    CFRelease((CFTypeRef)_ref);
}
@end

/* Name -> network, weakly: an entry lives as long as a VM holds it. Only
 * touched under @synchronized(networks_lock()). */
static NSMapTable *networks(void) {
  static NSMapTable *table;
  if (!table)
    table = [NSMapTable strongToWeakObjectsMapTable];
  return table;
}
static id networks_lock(void) {
  static dispatch_once_t once;
  static NSObject *lock;
  dispatch_once(&once, ^{
    lock = [[NSObject alloc] init];
  });
  return lock;
}

static VmctrVZNetwork *vmnet_network(const vmctr__vz_nic *n, int *rc) API_AVAILABLE(macos(26.0)) {
  NSString *name = @(n->network);
  @synchronized(networks_lock()) {
    VmctrVZNetwork *have = [networks() objectForKey:name];
    if (have) {
      if (have.attachment != n->attachment || have.subnet != n->subnet || have.mask != n->mask ||
          have.mtu != n->mtu) {
        *rc = vmctr__err(VMCTR_EBUSY, 0,
                         "network %s is already in use here with another mode, subnet or MTU",
                         n->network);
        return nil;
      }
      return have;
    }
    vmnet_return_t st = VMNET_SUCCESS;
    vmnet_mode_t mode =
        n->attachment == VMCTR__VZ_ATTACH_VMNET_SHARED ? VMNET_SHARED_MODE : VMNET_HOST_MODE;
    vmnet_network_configuration_ref cfg = vmnet_network_configuration_create(mode, &st);
    if (!cfg) {
      *rc = vmctr__err(VMCTR_EIO, 0, "network %s: vmnet cannot make a network configuration "
                       "(vmnet status %d)", n->network, (int)st);
      return nil;
    }
    struct in_addr subnet = {.s_addr = htonl(n->subnet)}, mask = {.s_addr = htonl(n->mask)};
    vmnet_network_ref ref = NULL;
    /* The agent gives guests static addresses: no DHCP server to disagree. */
    vmnet_network_configuration_disable_dhcp(cfg);
    if ((st = vmnet_network_configuration_set_ipv4_subnet(cfg, &subnet, &mask)) != VMNET_SUCCESS ||
        (st = vmnet_network_configuration_set_mtu(cfg, n->mtu)) != VMNET_SUCCESS ||
        !(ref = vmnet_network_create(cfg, &st))) {
      CFRelease((CFTypeRef)cfg);
      *rc = vmctr__err(VMCTR_EIO, 0, "network %s: vmnet refused the network (vmnet status %d; "
                       "is the subnet already taken by another network?)", n->network, (int)st);
      return nil;
    }
    CFRelease((CFTypeRef)cfg);
    VmctrVZNetwork *net = [[VmctrVZNetwork alloc] initWithRef:ref plan:n];
    [networks() setObject:net forKey:name];
    return net;
  }
}

/* ---- devices ------------------------------------------------------------ */

static VZNetworkDeviceAttachment *nic_attachment(const vmctr__vz_nic *n, NSMutableArray *keep,
                                                 int *rc) {
  switch (n->attachment) {
  case VMCTR__VZ_ATTACH_NAT:
    return [[VZNATNetworkDeviceAttachment alloc] init];
  case VMCTR__VZ_ATTACH_BRIDGED:
    for (VZBridgedNetworkInterface *bi in [VZBridgedNetworkInterface networkInterfaces])
      if ([bi.identifier isEqualToString:@(n->host_if)])
        return [[VZBridgedNetworkDeviceAttachment alloc] initWithInterface:bi];
    *rc = vmctr__err(VMCTR_ENOENT, 0,
                     "host interface %s cannot be bridged (not one of "
                     "VZBridgedNetworkInterface.networkInterfaces; is the app entitled with "
                     "com.apple.vm.networking?)", n->host_if);
    return nil;
  case VMCTR__VZ_ATTACH_VMNET_SHARED:
  case VMCTR__VZ_ATTACH_VMNET_HOST:
    if (@available(macOS 26.0, *)) {
      VmctrVZNetwork *net = vmnet_network(n, rc);
      if (!net)
        return nil;
      [keep addObject:net];
      return [[VZVmnetNetworkDeviceAttachment alloc] initWithNetwork:net.ref];
    }
    /* The plan only has these where the OS has them. */
    *rc = vmctr__err(VMCTR_EUNSUPPORTED, 0, "vmnet networks need macOS 26 or newer");
    return nil;
  default:
    *rc = vmctr__err(VMCTR_EINVAL, 0, "unknown network attachment %u", n->attachment);
    return nil;
  }
}

static NSArray *network_devices(const vmctr__vz_plan *p, NSMutableArray *keep, int *rc) {
  NSMutableArray *out = [NSMutableArray array];
  for (size_t i = 0; i < p->nnics; i++) {
    const vmctr__vz_nic *n = &p->nics[i];
    VZNetworkDeviceAttachment *att = nic_attachment(n, keep, rc);
    if (!att)
      return nil;
    NSString *mac = [NSString stringWithFormat:@"%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
                                               n->mac[1], n->mac[2], n->mac[3], n->mac[4],
                                               n->mac[5]];
    VZMACAddress *addr = [[VZMACAddress alloc] initWithString:mac];
    if (!addr) {
      *rc = vmctr__err(VMCTR_EINVAL, 0, "network interface %zu: VZ refuses MAC %s", i,
                       mac.UTF8String);
      return nil;
    }
    VZVirtioNetworkDeviceConfiguration *dev = [[VZVirtioNetworkDeviceConfiguration alloc] init];
    dev.MACAddress = addr;
    dev.attachment = att;
    [out addObject:dev];
  }
  return out;
}

/* A host block device: opened here (the framework takes a file handle). */
static VZStorageDeviceAttachment *blockdev_attachment(const vmctr__vz_disk *d, int *rc) {
  if (@available(macOS 14.0, *)) {
    int fd = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
      *rc = vmctr__err_os(errno, "cannot open the block device %s", d->path);
      return nil;
    }
    NSFileHandle *fh = [[NSFileHandle alloc] initWithFileDescriptor:fd closeOnDealloc:YES];
    NSError *err = nil;
    VZDiskBlockDeviceStorageDeviceAttachment *att =
        [[VZDiskBlockDeviceStorageDeviceAttachment alloc]
             initWithFileHandle:fh
                       readOnly:d->read_only
            synchronizationMode:d->sync == VMCTR__VZ_BLOCKDEV_SYNC_NONE
                                    ? VZDiskSynchronizationModeNone
                                    : VZDiskSynchronizationModeFull
                          error:&err];
    if (!att)
      *rc = vmctr__vz_err(VMCTR_EIO, err, d->path);
    return att;
  }
  *rc = vmctr__err(VMCTR_EUNSUPPORTED, 0, "block devices need macOS 14 or newer");
  return nil;
}

API_AVAILABLE(macos(12.0))
static NSArray *storage_devices(const vmctr__vz_plan *p, int *rc) {
  static const VZDiskImageCachingMode caching[] = {
      [VMCTR__VZ_CACHING_AUTOMATIC] = VZDiskImageCachingModeAutomatic,
      [VMCTR__VZ_CACHING_CACHED] = VZDiskImageCachingModeCached,
      [VMCTR__VZ_CACHING_UNCACHED] = VZDiskImageCachingModeUncached,
  };
  static const VZDiskImageSynchronizationMode sync[] = {
      [VMCTR__VZ_SYNC_FULL] = VZDiskImageSynchronizationModeFull,
      [VMCTR__VZ_SYNC_FSYNC] = VZDiskImageSynchronizationModeFsync,
      [VMCTR__VZ_SYNC_NONE] = VZDiskImageSynchronizationModeNone,
  };
  NSMutableArray *out = [NSMutableArray array];
  for (size_t i = 0; i < p->ndisks; i++) {
    const vmctr__vz_disk *d = &p->disks[i];
    NSError *err = nil;
    VZStorageDeviceAttachment *att = nil;
    if (d->attachment == VMCTR__VZ_DISK_BLOCKDEV) {
      att = blockdev_attachment(d, rc);
      if (!att)
        return nil;
    } else {
      att = [[VZDiskImageStorageDeviceAttachment alloc]
                  initWithURL:[NSURL fileURLWithPath:@(d->path)]
                     readOnly:d->read_only
                  cachingMode:caching[d->caching]
          synchronizationMode:sync[d->sync]
                        error:&err];
      if (!att) {
        *rc = vmctr__vz_err(VMCTR_EIO, err, d->path);
        return nil;
      }
    }
    VZVirtioBlockDeviceConfiguration *dev =
        [[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:att];
    if (d->identifier) {
      /* The guest finds its disks by this serial; without it (macOS < 12.3)
       * it could not tell them apart. */
      if (@available(macOS 12.3, *)) {
        NSString *ident = @(d->identifier);
        if (![VZVirtioBlockDeviceConfiguration validateBlockDeviceIdentifier:ident error:&err]) {
          *rc = vmctr__vz_err(VMCTR_EINVAL, err, d->path);
          return nil;
        }
        dev.blockDeviceIdentifier = ident;
      } else {
        *rc = vmctr__err(VMCTR_EUNSUPPORTED, 0,
                         "disk %s: naming a disk for the guest needs macOS 12.3 or newer",
                         d->path);
        return nil;
      }
    }
    [out addObject:dev];
  }
  return out;
}

API_AVAILABLE(macos(12.0))
static VZVirtioFileSystemDeviceConfiguration *fs_device(NSString *tag, int *rc) {
  NSError *err = nil;
  if (![VZVirtioFileSystemDeviceConfiguration validateTag:tag error:&err]) {
    *rc = vmctr__vz_err(VMCTR_EINVAL, err, tag.UTF8String);
    return nil;
  }
  return [[VZVirtioFileSystemDeviceConfiguration alloc] initWithTag:tag];
}

API_AVAILABLE(macos(12.0))
static NSArray *sharing_devices(const vmctr__vz_plan *p, int *rc) {
  NSMutableArray *out = [NSMutableArray array];
  for (size_t i = 0; i < p->nshares; i++) {
    const vmctr__vz_share *s = &p->shares[i];
    VZVirtioFileSystemDeviceConfiguration *dev = fs_device(@(s->tag), rc);
    if (!dev)
      return nil;
    /* One directory at the root of the tag, as virtiofsd exports it on
     * QEMU: the guest mounts every share the same way on both backends. */
    VZSharedDirectory *dir =
        [[VZSharedDirectory alloc] initWithURL:[NSURL fileURLWithPath:@(s->path) isDirectory:YES]
                                      readOnly:s->read_only];
    dev.share = [[VZSingleDirectoryShare alloc] initWithDirectory:dir];
    [out addObject:dev];
  }
  if (p->rosetta) {
#if defined(__aarch64__) || defined(__arm64__)
    if (@available(macOS 13.0, *)) {
      NSError *err = nil;
      VZLinuxRosettaDirectoryShare *rosetta = [[VZLinuxRosettaDirectoryShare alloc] initWithError:&err];
      VZVirtioFileSystemDeviceConfiguration *dev = fs_device(@VMCTR__VZ_ROSETTA_TAG, rc);
      if (!rosetta) {
        *rc = vmctr__vz_err(VMCTR_EUNSUPPORTED, err, "Rosetta");
        return nil;
      }
      if (!dev)
        return nil;
      dev.share = rosetta;
      [out addObject:dev];
      return out;
    }
#endif
    *rc = vmctr__err(VMCTR_EUNSUPPORTED, 0, "Rosetta needs a Mac with Apple silicon and macOS 13+");
    return nil;
  }
  return out;
}

static NSArray *serial_ports(const vmctr__vz_plan *p, NSMutableArray *keep, int *rc) {
  int fd = open(p->console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    *rc = vmctr__err_os(errno, "cannot open the console log %s", p->console_log);
    return nil;
  }
  NSFileHandle *log = [[NSFileHandle alloc] initWithFileDescriptor:fd closeOnDealloc:YES];
  [keep addObject:log];
  VZVirtioConsoleDeviceSerialPortConfiguration *port =
      [[VZVirtioConsoleDeviceSerialPortConfiguration alloc] init];
  port.attachment = [[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:nil
                                                                      fileHandleForWriting:log];
  /* p->console_port is 0: the one port, hvc0. */
  return @[ port ];
}

VZVirtualMachineConfiguration *vmctr__vz_configuration(const vmctr__vz_plan *p,
                                                       NSMutableArray *keep, int *rc) {
  VZLinuxBootLoader *boot =
      [[VZLinuxBootLoader alloc] initWithKernelURL:[NSURL fileURLWithPath:@(p->kernel)]];
  boot.commandLine = @(p->cmdline);
  if (p->initfs)
    boot.initialRamdiskURL = [NSURL fileURLWithPath:@(p->initfs)];

  VZGenericPlatformConfiguration *platform = [[VZGenericPlatformConfiguration alloc] init];
  if (p->nested) {
    /* The plan asks only where the framework said yes (vmctr__vz_host_live). */
    BOOL enabled = NO;
    if (@available(macOS 15.0, *)) {
      if ([VZGenericPlatformConfiguration isNestedVirtualizationSupported]) {
        platform.nestedVirtualizationEnabled = YES;
        enabled = YES;
      }
    }
    if (!enabled) {
      *rc = vmctr__err(VMCTR_EUNSUPPORTED, 0, "nested virtualization is not supported on this "
                       "Mac (needs Apple M3 or newer and macOS 15+)");
      return nil;
    }
  }

  VZVirtualMachineConfiguration *cfg = [[VZVirtualMachineConfiguration alloc] init];
  cfg.bootLoader = boot;
  cfg.platform = platform;
  cfg.CPUCount = p->cpus;
  cfg.memorySize = p->memory;
  if (p->entropy)
    cfg.entropyDevices = @[ [[VZVirtioEntropyDeviceConfiguration alloc] init] ];
  cfg.socketDevices = @[ [[VZVirtioSocketDeviceConfiguration alloc] init] ];
  NSArray *serial = serial_ports(p, keep, rc), *storage = nil, *shares = nil, *nets = nil;
  if (!serial || !(storage = storage_devices(p, rc)) || !(shares = sharing_devices(p, rc)) ||
      !(nets = network_devices(p, keep, rc)))
    return nil;
  cfg.serialPorts = serial;
  cfg.storageDevices = storage;
  cfg.directorySharingDevices = shares;
  cfg.networkDevices = nets;

  NSError *err = nil;
  if (![cfg validateWithError:&err]) {
    *rc = vmctr__vz_err(VMCTR_EINVAL, err, "Virtualization.framework refuses the VM");
    return nil;
  }
  return cfg;
}
