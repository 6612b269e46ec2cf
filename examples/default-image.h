/* SPDX-License-Identifier: MIT */
/* The examples' default image: busybox from the host's busybox-static,
 * written as an OCI layout by the library's own image writer. */
#ifndef VMCTR_EXAMPLE_DEFAULT_IMAGE_H
#define VMCTR_EXAMPLE_DEFAULT_IMAGE_H

#include "example-util.h"

/* Make (once) STORE/default-image/busybox, an OCI layout, and return its
 * path (malloc'd). The busybox binary is $VMCTR_BUSYBOX or /bin/busybox and
 * must be static. Returns 0, or a negative VMCTR_E* with the error set. */
int example_default_image(const char *store_dir, char **layout_out, struct example_progress *prog);

#endif
