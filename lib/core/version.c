/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "config.h"
#include "core/error.h"
#include "vmctr/version.h"

uint32_t vmctr_version(void) { return VMCTR_VERSION_HEX; }

const char *vmctr_version_string(void) { return VMCTR_VERSION_STRING; }

int vmctr_has_feature(const char *name) {
  static const struct {
    const char *name;
    int present;
  } features[] = {
    {"backend.qemu", VMCTR_HAVE_QEMU},
    {"backend.vz", VMCTR_HAVE_VZ},
    {"caps", 1},
    {"bootcfg", 1},
    {"image", 1},
    {"mount", 1},
    {"vmm", VMCTR_HAVE_QEMU || VMCTR_HAVE_VZ},
    {"container", VMCTR_HAVE_QEMU || VMCTR_HAVE_VZ},
    {"network", VMCTR_HAVE_QEMU || VMCTR_HAVE_VZ},
    {"registry", 1},
    {"template", VMCTR_HAVE_QEMU},
  };
  if (!name)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_has_feature: name is NULL");
  for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
    if (strcmp(features[i].name, name) == 0)
      return features[i].present;
  return 0;
}
