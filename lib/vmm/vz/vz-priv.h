/* SPDX-License-Identifier: MIT */
/* Between the two Objective-C files of the vz backend (macOS only): vz.m
 * (lifecycle) and vz-config.m (a plan into a VZVirtualMachineConfiguration).
 * Built with ARC. */
#ifndef VMCTR_VMM_VZ_PRIV_H
#define VMCTR_VMM_VZ_PRIV_H

#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include "vmm/vz/vz-plan.h"

/* What this Mac offers right now: the probe's answers in caps, ANDed with
 * the framework's own (nested virtualization, vmnet networks). */
void vmctr__vz_host_live(vmctr__vz_host *host, const vmctr_caps *caps);

/* Record err (a framework error) as the thread's error: code, then
 * "what: description (domain code)". Returns code. */
int vmctr__vz_err(int code, NSError *err, const char *what);

/* The configuration for plan, validated; nil with the error recorded and
 * *rc set. Objects the VM needs alive as long as it runs (the console file
 * handle, vmnet networks) are added to keep. */
VZVirtualMachineConfiguration *vmctr__vz_configuration(const vmctr__vz_plan *plan,
                                                       NSMutableArray *keep, int *rc)
    API_AVAILABLE(macos(12.0));

#endif
