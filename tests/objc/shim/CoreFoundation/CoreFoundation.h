/* SPDX-License-Identifier: MIT */
/* Shim for the Objective-C syntax check (tests/objc) -- NOT Apple's header.
 * The one Core Foundation call the vz backend makes (GNUstep's Foundation
 * comes without Core Foundation), from Apple's public reference. */
#ifndef VMCTR_SHIM_COREFOUNDATION_H
#define VMCTR_SHIM_COREFOUNDATION_H

#ifdef __cplusplus
extern "C" {
#endif

/* doc: corefoundation/cftyperef */
typedef const void *CFTypeRef;
/* doc: corefoundation/cfrelease(_:) -- cf must not be NULL. */
void CFRelease(CFTypeRef cf);

#ifdef __cplusplus
}
#endif

#endif
