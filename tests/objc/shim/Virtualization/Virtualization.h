/* SPDX-License-Identifier: MIT */
/* Shim for the Objective-C syntax check (tests/objc) -- NOT Apple's header.
 *
 * A hand-written subset of Apple's Virtualization.framework API, transcribed
 * from Apple's public documentation (developer.apple.com/documentation/
 * virtualization), for syntax-checking libvmctr's macOS code on Linux with
 * clang and GNUstep's Foundation. It declares only what libvmctr uses or is
 * about to use; nothing here is ever linked or run. It is only as correct as
 * its transcription: when you add a call to the macOS code, add its
 * declaration here from the documentation page (with its availability), not
 * from memory. Enumerators are declared by name; their numeric values are not
 * part of the transcription and code must not depend on them.
 *
 * Each class, protocol and enumeration names its page as "doc: PATH", under
 * https://developer.apple.com/documentation/ (members are on subpages of
 * their class's page; availability is the one shown there). */
#ifndef VMCTR_SHIM_VIRTUALIZATION_H
#define VMCTR_SHIM_VIRTUALIZATION_H

#import <Foundation/Foundation.h>
#include <dispatch/dispatch.h>
#include <stdint.h>
#include <vmnet/vmnet.h>

/* Apple's availability and Swift-bridging macros, as far as GNUstep lacks
 * them. API_AVAILABLE(macos(N)) becomes clang's availability attribute; on a
 * Linux target clang accepts it (and @available(macOS N, *)) but does not
 * enforce it, see tests/objc/README.md. Only the macos(...) form is handled. */
#ifndef API_AVAILABLE
#define VMCTR_SHIM_AVAILABLE_macos(v) __attribute__((availability(macos, introduced = v)))
#define API_AVAILABLE(p) VMCTR_SHIM_AVAILABLE_##p
#endif
#ifndef API_UNAVAILABLE
#define API_UNAVAILABLE(...)
#endif
#ifndef NS_SWIFT_NAME
#define NS_SWIFT_NAME(name)
#endif
#ifndef NS_SWIFT_UNAVAILABLE
#define NS_SWIFT_UNAVAILABLE(msg)
#endif
#ifndef NS_DESIGNATED_INITIALIZER
#define NS_DESIGNATED_INITIALIZER __attribute__((objc_designated_initializer))
#endif
/* GNUstep defines NS_UNAVAILABLE as nothing; Apple's makes the call an
 * error, which is what lets this check catch -init on VZVirtualMachine. */
#undef NS_UNAVAILABLE
#define NS_UNAVAILABLE __attribute__((unavailable))
#ifndef NS_ASSUME_NONNULL_BEGIN
#define NS_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define NS_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end")
#endif
/* NS_ENUM and NS_OPTIONS come from GNUstep's NSObjCRuntime.h. */

NS_ASSUME_NONNULL_BEGIN

@class VZVirtualMachine;

/* ---- Boot loader ---------------------------------------------------- */

/* doc: virtualization/vzbootloader */
API_AVAILABLE(macos(11.0))
@interface VZBootLoader : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzlinuxbootloader */
API_AVAILABLE(macos(11.0))
@interface VZLinuxBootLoader : VZBootLoader
- (instancetype)initWithKernelURL:(NSURL *)kernelURL NS_DESIGNATED_INITIALIZER;
@property(copy) NSURL *kernelURL;
@property(copy) NSString *commandLine;
@property(nullable, copy) NSURL *initialRamdiskURL;
@end

/* ---- Platform --------------------------------------------------------- */

/* doc: virtualization/vzplatformconfiguration */
API_AVAILABLE(macos(12.0))
@interface VZPlatformConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzgenericplatformconfiguration */
API_AVAILABLE(macos(12.0))
@interface VZGenericPlatformConfiguration : VZPlatformConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
/* Class property: [VZGenericPlatformConfiguration isNestedVirtualizationSupported]. */
@property(class, readonly, getter=isNestedVirtualizationSupported)
    BOOL nestedVirtualizationSupported API_AVAILABLE(macos(15.0));
@property(getter=isNestedVirtualizationEnabled)
    BOOL nestedVirtualizationEnabled API_AVAILABLE(macos(15.0));
@end

/* ---- Storage ---------------------------------------------------------- */

/* doc: virtualization/vzdiskimagecachingmode */
API_AVAILABLE(macos(12.0))
typedef NS_ENUM(NSInteger, VZDiskImageCachingMode) {
  VZDiskImageCachingModeAutomatic,
  VZDiskImageCachingModeUncached,
  VZDiskImageCachingModeCached,
};

/* doc: virtualization/vzdiskimagesynchronizationmode */
API_AVAILABLE(macos(12.0))
typedef NS_ENUM(NSInteger, VZDiskImageSynchronizationMode) {
  VZDiskImageSynchronizationModeFull,
  VZDiskImageSynchronizationModeFsync,
  VZDiskImageSynchronizationModeNone,
};

/* doc: virtualization/vzstoragedeviceattachment */
API_AVAILABLE(macos(11.0))
@interface VZStorageDeviceAttachment : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzdiskimagestoragedeviceattachment */
API_AVAILABLE(macos(11.0))
@interface VZDiskImageStorageDeviceAttachment : VZStorageDeviceAttachment
- (nullable instancetype)initWithURL:(NSURL *)url
                            readOnly:(BOOL)readOnly
                               error:(NSError **)error;
- (nullable instancetype)initWithURL:(NSURL *)url
                            readOnly:(BOOL)readOnly
                         cachingMode:(VZDiskImageCachingMode)cachingMode
                 synchronizationMode:(VZDiskImageSynchronizationMode)synchronizationMode
                               error:(NSError **)error API_AVAILABLE(macos(12.0));
@property(readonly, copy) NSURL *URL;
@property(readonly, getter=isReadOnly) BOOL readOnly;
@property(readonly) VZDiskImageCachingMode cachingMode API_AVAILABLE(macos(12.0));
@property(readonly)
    VZDiskImageSynchronizationMode synchronizationMode API_AVAILABLE(macos(12.0));
@end

/* doc: virtualization/vzdisksynchronizationmode */
API_AVAILABLE(macos(14.0))
typedef NS_ENUM(NSInteger, VZDiskSynchronizationMode) {
  VZDiskSynchronizationModeFull,
  VZDiskSynchronizationModeNone,
};

/* doc: virtualization/vzdiskblockdevicestoragedeviceattachment (the
 * initializer's page: init(fileHandle:readOnly:synchronizationMode:)) */
API_AVAILABLE(macos(14.0))
@interface VZDiskBlockDeviceStorageDeviceAttachment : VZStorageDeviceAttachment
- (nullable instancetype)initWithFileHandle:(NSFileHandle *)fileHandle
                                   readOnly:(BOOL)readOnly
                        synchronizationMode:(VZDiskSynchronizationMode)synchronizationMode
                                      error:(NSError **)error;
@property(readonly, getter=isReadOnly) BOOL readOnly;
@property(readonly) VZDiskSynchronizationMode synchronizationMode;
@end

/* doc: virtualization/vzstoragedeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZStorageDeviceConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@property(readonly, strong) VZStorageDeviceAttachment *attachment;
@end

/* doc: virtualization/vzvirtioblockdeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZVirtioBlockDeviceConfiguration : VZStorageDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment
    NS_DESIGNATED_INITIALIZER;
/* Printable ASCII, at most 20 bytes; an invalid one set here ends the
 * process, hence the validation first. */
+ (BOOL)validateBlockDeviceIdentifier:(NSString *)blockDeviceIdentifier
                                error:(NSError **)error API_AVAILABLE(macos(12.3));
@property(copy) NSString *blockDeviceIdentifier API_AVAILABLE(macos(12.3));
@end

/* ---- Network ---------------------------------------------------------- */

/* doc: virtualization/vzmacaddress */
API_AVAILABLE(macos(11.0))
@interface VZMACAddress : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
- (nullable instancetype)initWithString:(NSString *)string;
+ (instancetype)randomLocallyAdministeredAddress;
@property(readonly, copy) NSString *string;
@property(readonly, getter=isBroadcastAddress) BOOL broadcastAddress;
@property(readonly, getter=isMulticastAddress) BOOL multicastAddress;
@property(readonly, getter=isUnicastAddress) BOOL unicastAddress;
@property(readonly, getter=isLocallyAdministeredAddress) BOOL locallyAdministeredAddress;
@property(readonly, getter=isUniversallyAdministeredAddress) BOOL universallyAdministeredAddress;
@end

/* doc: virtualization/vznetworkdeviceattachment */
API_AVAILABLE(macos(11.0))
@interface VZNetworkDeviceAttachment : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vznatnetworkdeviceattachment */
API_AVAILABLE(macos(11.0))
@interface VZNATNetworkDeviceAttachment : VZNetworkDeviceAttachment
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

/* doc: virtualization/vzbridgednetworkinterface */
API_AVAILABLE(macos(11.0))
@interface VZBridgedNetworkInterface : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@property(class, readonly) NSArray<VZBridgedNetworkInterface *> *networkInterfaces;
@property(readonly) NSString *identifier; /* the BSD name, e.g. en0 */
@property(nullable, readonly) NSString *localizedDisplayName;
@end

/* doc: virtualization/vzbridgednetworkdeviceattachment */
API_AVAILABLE(macos(11.0))
@interface VZBridgedNetworkDeviceAttachment : VZNetworkDeviceAttachment
- (instancetype)initWithInterface:(VZBridgedNetworkInterface *)interface NS_DESIGNATED_INITIALIZER;
@property(readonly) VZBridgedNetworkInterface *interface;
@end

/* doc: virtualization/vzvmnetnetworkdeviceattachment. Only a network this
 * same process created is accepted. */
API_AVAILABLE(macos(26.0))
@interface VZVmnetNetworkDeviceAttachment : VZNetworkDeviceAttachment
- (instancetype)initWithNetwork:(vmnet_network_ref)network NS_DESIGNATED_INITIALIZER;
@property(readonly) vmnet_network_ref network;
@end

/* doc: virtualization/vznetworkdeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZNetworkDeviceConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@property(copy) VZMACAddress *MACAddress;
@property(nullable, strong) VZNetworkDeviceAttachment *attachment;
@end

/* doc: virtualization/vzvirtionetworkdeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZVirtioNetworkDeviceConfiguration : VZNetworkDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

/* ---- Shared directories ---------------------------------------------- */

/* doc: virtualization/vzshareddirectory */
API_AVAILABLE(macos(12.0))
@interface VZSharedDirectory : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly NS_DESIGNATED_INITIALIZER;
@property(copy) NSURL *URL;
@property(getter=isReadOnly) BOOL readOnly;
@end

/* doc: virtualization/vzdirectoryshare */
API_AVAILABLE(macos(12.0))
@interface VZDirectoryShare : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzsingledirectoryshare */
API_AVAILABLE(macos(12.0))
@interface VZSingleDirectoryShare : VZDirectoryShare
- (instancetype)initWithDirectory:(VZSharedDirectory *)directory NS_DESIGNATED_INITIALIZER;
@property(readonly) VZSharedDirectory *directory;
@end

/* doc: virtualization/vzlinuxrosettaavailability */
API_AVAILABLE(macos(13.0))
typedef NS_ENUM(NSInteger, VZLinuxRosettaAvailability) {
  VZLinuxRosettaAvailabilityNotSupported,
  VZLinuxRosettaAvailabilityNotInstalled,
  VZLinuxRosettaAvailabilityInstalled,
};

/* doc: virtualization/vzlinuxrosettadirectoryshare */
API_AVAILABLE(macos(13.0))
@interface VZLinuxRosettaDirectoryShare : VZDirectoryShare
- (nullable instancetype)initWithError:(NSError **)error NS_DESIGNATED_INITIALIZER;
+ (void)installRosettaWithCompletionHandler:(void (^)(NSError *_Nullable error))completionHandler;
@property(class, readonly) VZLinuxRosettaAvailability availability;
@end

/* doc: virtualization/vzdirectorysharingdeviceconfiguration */
API_AVAILABLE(macos(12.0))
@interface VZDirectorySharingDeviceConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzvirtiofilesystemdeviceconfiguration */
API_AVAILABLE(macos(12.0))
@interface VZVirtioFileSystemDeviceConfiguration : VZDirectorySharingDeviceConfiguration
- (instancetype)initWithTag:(NSString *)tag NS_DESIGNATED_INITIALIZER;
+ (BOOL)validateTag:(NSString *)tag error:(NSError **)error;
@property(copy) NSString *tag;
@property(nullable, strong) VZDirectoryShare *share;
@end

/* ---- Sockets, entropy, serial ports ---------------------------------- */

/* doc: virtualization/vzsocketdeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZSocketDeviceConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzvirtiosocketdeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZVirtioSocketDeviceConfiguration : VZSocketDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

/* doc: virtualization/vzentropydeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZEntropyDeviceConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzvirtioentropydeviceconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZVirtioEntropyDeviceConfiguration : VZEntropyDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

/* doc: virtualization/vzserialportattachment */
API_AVAILABLE(macos(11.0))
@interface VZSerialPortAttachment : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzfilehandleserialportattachment */
API_AVAILABLE(macos(11.0))
@interface VZFileHandleSerialPortAttachment : VZSerialPortAttachment
- (instancetype)initWithFileHandleForReading:(nullable NSFileHandle *)fileHandleForReading
                        fileHandleForWriting:(nullable NSFileHandle *)fileHandleForWriting;
@property(readonly, nullable) NSFileHandle *fileHandleForReading;
@property(readonly, nullable) NSFileHandle *fileHandleForWriting;
@end

/* doc: virtualization/vzserialportconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZSerialPortConfiguration : NSObject <NSCopying>
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@property(nullable, strong) VZSerialPortAttachment *attachment;
@end

/* doc: virtualization/vzvirtioconsoledeviceserialportconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZVirtioConsoleDeviceSerialPortConfiguration : VZSerialPortConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

/* doc: virtualization/vzsocketdevice */
API_AVAILABLE(macos(11.0))
@interface VZSocketDevice : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@end

/* doc: virtualization/vzvirtiosocketconnection. The fd belongs to the
 * connection and is closed with it (or by -close). */
API_AVAILABLE(macos(11.0))
@interface VZVirtioSocketConnection : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
@property(readonly) uint32_t destinationPort;
@property(readonly) uint32_t sourcePort;
@property(readonly) int fileDescriptor;
- (void)close;
@end

/* doc: virtualization/vzvirtiosocketdevice (the Objective-C selector is on
 * the page connect(toPort:)) */
API_AVAILABLE(macos(11.0))
@interface VZVirtioSocketDevice : VZSocketDevice
- (void)connectToPort:(uint32_t)port
    completionHandler:(void (^)(VZVirtioSocketConnection *_Nullable connection,
                                NSError *_Nullable error))completionHandler;
@end

/* ---- Configuration ---------------------------------------------------- */

/* doc: virtualization/vzvirtualmachineconfiguration */
API_AVAILABLE(macos(11.0))
@interface VZVirtualMachineConfiguration : NSObject <NSCopying>
- (instancetype)init NS_DESIGNATED_INITIALIZER;
- (BOOL)validateWithError:(NSError **)error;

@property(class, readonly) uint64_t minimumAllowedMemorySize;
@property(class, readonly) uint64_t maximumAllowedMemorySize;
@property(class, readonly) NSUInteger minimumAllowedCPUCount;
@property(class, readonly) NSUInteger maximumAllowedCPUCount;

@property(nullable, strong) VZBootLoader *bootLoader;
@property NSUInteger CPUCount;
@property uint64_t memorySize;
@property(strong) VZPlatformConfiguration *platform API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZStorageDeviceConfiguration *> *storageDevices;
@property(copy) NSArray<VZNetworkDeviceConfiguration *> *networkDevices;
@property(copy) NSArray<VZSocketDeviceConfiguration *> *socketDevices;
@property(copy) NSArray<VZEntropyDeviceConfiguration *> *entropyDevices;
@property(copy) NSArray<VZSerialPortConfiguration *> *serialPorts;
@property(copy) NSArray<VZDirectorySharingDeviceConfiguration *> *directorySharingDevices
    API_AVAILABLE(macos(12.0));
@end

/* ---- The virtual machine --------------------------------------------- */

/* doc: virtualization/vzvirtualmachinestate */
API_AVAILABLE(macos(11.0))
typedef NS_ENUM(NSInteger, VZVirtualMachineState) {
  VZVirtualMachineStateStopped,
  VZVirtualMachineStateRunning,
  VZVirtualMachineStatePaused,
  VZVirtualMachineStateError,
  VZVirtualMachineStateStarting,
  VZVirtualMachineStatePausing,
  VZVirtualMachineStateResuming,
  VZVirtualMachineStateStopping API_AVAILABLE(macos(12.0)),
  VZVirtualMachineStateSaving API_AVAILABLE(macos(14.0)),
  VZVirtualMachineStateRestoring API_AVAILABLE(macos(14.0)),
};

/* doc: virtualization/vzvirtualmachinedelegate */
API_AVAILABLE(macos(11.0))
@protocol VZVirtualMachineDelegate <NSObject>
@optional
- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)virtualMachine;
- (void)virtualMachine:(VZVirtualMachine *)virtualMachine didStopWithError:(NSError *)error;
@end

/* Must be used only on the queue it was created with (the main queue for
 * -initWithConfiguration:). */
/* doc: virtualization/vzvirtualmachine */
API_AVAILABLE(macos(11.0))
@interface VZVirtualMachine : NSObject
- (instancetype)init NS_UNAVAILABLE;
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration;
- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration
                                queue:(dispatch_queue_t)queue NS_DESIGNATED_INITIALIZER;

/* Class property: [VZVirtualMachine isSupported]. */
@property(class, readonly, getter=isSupported) BOOL supported;

@property(readonly) VZVirtualMachineState state;
@property(nullable, weak) id<VZVirtualMachineDelegate> delegate;
@property(readonly) BOOL canStart;
@property(readonly) BOOL canStop API_AVAILABLE(macos(12.0));
@property(readonly) BOOL canPause;
@property(readonly) BOOL canResume;
@property(readonly) BOOL canRequestStop;
@property(readonly) NSArray<VZSocketDevice *> *socketDevices;

- (void)startWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler;
- (void)stopWithCompletionHandler:(void (^)(NSError *_Nullable error))completionHandler
    API_AVAILABLE(macos(12.0));
- (void)pauseWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler;
- (void)resumeWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler;
- (BOOL)requestStopWithError:(NSError **)error;
@end

NS_ASSUME_NONNULL_END

#endif
