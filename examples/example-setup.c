/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "default-image.h"
#include "example-util.h"

void example_fail(const char *prog, const char *what) {
  const vmctr_error *e = vmctr_error_last();
  fprintf(stderr, "%s: %s: %s\n", prog, what,
          e->message && *e->message ? e->message : vmctr_strerror(e->code));
}

int example_setup_rootfs(struct example_setup *s, const char *store_opt, const char *image_path,
                         const char *name, bool quiet) {
  return example_setup_rootfs_ex(s, store_opt, image_path, name, quiet, NULL, 0);
}

int example_setup_rootfs_ex(struct example_setup *s, const char *store_opt,
                            const char *image_path, const char *name, bool quiet,
                            const char *oci_arch, uint64_t rootfs_size) {
  int32_t form = 0;
  struct example_progress prog = {.quiet = quiet};
  char *layout = NULL;
  int rc = -1;
  memset(s, 0, sizeof(*s));
  if (!(s->store_dir = example_store_dir(store_opt)))
    goto out;
  if (vmctr_image_store_open(&s->store, s->store_dir, 0) < 0) {
    example_fail("vmctr", "image store");
    goto out;
  }
  if (!image_path && example_default_image(s->store_dir, &layout, &prog) < 0) {
    example_fail("vmctr", "default image");
    goto out;
  }
  /* Not a path: a name (or digest) of the store. */
  struct stat pst;
  if (image_path && stat(image_path, &pst) < 0 &&
      vmctr_image_store_lookup(s->store, image_path, &s->image) == 0)
    goto have_image;
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  io.architecture = oci_arch;
  io.progress = example_progress_fn;
  io.userdata = &prog;
  prog.what = "importing";
  int r = vmctr_image_store_import(s->store, image_path ? image_path : layout, &io, &s->image);
  example_progress_end(&prog);
  if (r < 0) {
    example_fail("vmctr", image_path ? image_path : "default image");
    goto out;
  }
have_image:;
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s/containers", s->store_dir);
  mkdir(dir, 0700);
  if (asprintf(&s->disk, "%s/%s.ext4", dir, name) < 0) {
    s->disk = NULL;
    goto out;
  }
  /* Constant time whatever the image's size: a reflink or a copy-on-write view. */
  vmctr_image_writable_options wo = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  wo.flags = VMCTR_IMAGE_WRITABLE_USE_COW;
  wo.size = rootfs_size;
  if (vmctr_image_create_writable(s->image, s->disk, &wo, &form) < 0) {
    if (vmctr_error_last()->code == VMCTR_EEXIST) {
      fprintf(stderr, "vmctr: a container named %s exists (%s); remove it, or use --rm next time\n",
              name, s->disk);
      rc = 1;
    } else {
      example_fail("vmctr", "container disk");
    }
    free(s->disk);
    s->disk = NULL;
    goto out;
  }
  /* A rootfs mount's destination is not used; any absolute path will do. */
  if (vmctr_mount_new_block(&s->rootfs, s->disk, NULL) < 0 ||
      (form == VMCTR_IMAGE_WRITABLE_COW &&
       vmctr_mount_set_image_format(s->rootfs, VMCTR_MOUNT_IMAGE_COW) < 0)) {
    example_fail("vmctr", "rootfs mount");
    goto out;
  }
  rc = 0;
out:
  free(layout);
  if (rc != 0)
    example_setup_free(s, true);
  return rc;
}

void example_setup_free(struct example_setup *s, bool remove_disk) {
  if (s->disk && remove_disk)
    unlink(s->disk);
  free(s->disk);
  vmctr_mount_free(s->rootfs);
  vmctr_image_free(s->image);
  vmctr_image_store_free(s->store);
  free(s->store_dir);
  memset(s, 0, sizeof(*s));
}
