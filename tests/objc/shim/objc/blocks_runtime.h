/* SPDX-License-Identifier: MIT */
/* Shim for the Objective-C syntax check (tests/objc): GNUstep's headers
 * include <objc/blocks_runtime.h>, which libobjc2 provides but GCC's libobjc
 * (the runtime this check parses against) does not. Debian's
 * libblocksruntime-dev ships the same Block_copy/Block_release declarations
 * as <Block.h>. */
#ifndef VMCTR_SHIM_OBJC_BLOCKS_RUNTIME_H
#define VMCTR_SHIM_OBJC_BLOCKS_RUNTIME_H
#include <Block.h>
#endif
