/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr.h
 * @brief libvmctr: Linux containers, each in its own lightweight VM.
 *
 * The umbrella header: includes every public libvmctr header. See doc/api.md.
 */
#ifndef VMCTR_H
#define VMCTR_H

#include "vmctr/common.h"
#include "vmctr/version.h"
#include "vmctr/error.h"
#include "vmctr/log.h"
#include "vmctr/caps.h"
#include "vmctr/bootcfg.h"
#include "vmctr/progress.h"
#include "vmctr/mount.h"
#include "vmctr/network.h"
#include "vmctr/image.h"
#include "vmctr/registry.h"
#include "vmctr/vmm.h"
#include "vmctr/container.h"

#endif /* VMCTR_H */
