/* SPDX-License-Identifier: MIT */
/* The image the VM tests run: Debian's static busybox with its applet links,
 * the users the tests switch to, and Cmd "sh". Built through the public API
 * (vmctr_image_build_from_dir), like any user's own image. */
#ifndef VMCTR_TESTS_COMMON_BUSYBOX_IMAGE_H
#define VMCTR_TESTS_COMMON_BUSYBOX_IMAGE_H

/* The busybox binary the image is made from: $VMCTR_BUSYBOX, else /bin/busybox. */
const char *tu_busybox_path(void);
/* Write the OCI layout at layout_dir (which must not exist), assembling the
 * tree in a scratch directory below work_dir. 0, or a negative VMCTR_E*
 * with the reason on stderr. */
int tu_busybox_image(const char *work_dir, const char *layout_dir);

#include <stdbool.h>

/* Variants of the image, for tests of hostile or minimal images. */
struct tu_image_options {
  /* FROM scratch: only bin/busybox, no applet links, no /etc and no other
   * directory; Cmd is /bin/busybox sh. */
  bool scratch;
  /* Symbolic links to plant: path, target, path, target, ..., NULL. */
  const char *const *links;
  /* Directories to add (after the image's own, before the links), NULL-terminated. */
  const char *const *dirs;
};
/* tu_busybox_image with options (NULL: the default image). */
int tu_busybox_image_opts(const char *work_dir, const char *layout_dir,
                          const struct tu_image_options *opts);

#endif
