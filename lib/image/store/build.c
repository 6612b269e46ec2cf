/* SPDX-License-Identifier: MIT */
/* Building an OCI layout from a directory: the public face of the OCI writer. */
#include <stdlib.h>

#include "core/error.h"
#include "core/options.h"
#include "image/oci/oci.h"
#include "vmctr/image.h"

int vmctr_image_build_options_init(vmctr_image_build_options *opts, uint32_t version) {
  static const vmctr_image_build_options def = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
  return vmctr__options_init(opts, &def, sizeof(def), version, VMCTR_IMAGE_BUILD_OPTIONS_VERSION,
                             "vmctr_image_build_options");
}

int vmctr_image_build_from_dir(const char *rootfs_dir, const char *layout_dir,
                               const vmctr_image_build_options *opts) {
  const vmctr_image_build_options def = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
  const vmctr_image_build_options *o = opts ? opts : &def;
  int r;
  if (!rootfs_dir || !*rootfs_dir || !layout_dir || !*layout_dir)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_build_from_dir: %s is NULL or empty",
                      !rootfs_dir || !*rootfs_dir ? "rootfs_dir" : "layout_dir");
  if ((r = vmctr__options_check(o, VMCTR_IMAGE_BUILD_OPTIONS_VERSION, 0,
                                "vmctr_image_build_options")) < 0)
    return r;
  vmctr__oci_build_params p = {
    .entrypoint = o->entrypoint, .cmd = o->cmd, .env = o->env,
    .workdir = o->workdir, .user = o->user, .architecture = o->architecture,
    .ref_name = o->ref_name, .progress = o->progress, .userdata = o->userdata,
  };
  return vmctr__oci_write_layout(rootfs_dir, layout_dir, &p);
}
