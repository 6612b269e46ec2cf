/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the example programs: where things are by default
 * and a progress line. Not part of the library. */
#ifndef VMCTR_EXAMPLE_UTIL_H
#define VMCTR_EXAMPLE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <vmctr.h>

struct example_progress {
  bool quiet;
  bool shown;
  const char *what;
  uint64_t last_ns;
};

/* $VMCTR_DEBUG=1 (or 2 for debug detail): print the library's log on stderr.
 * Run from the build tree, also point $VMCTR_GUEST_INIT at this build's vmctr-init. */
void example_log_from_env(void);
/* The guest kernel: $VMCTR_KERNEL, else NULL (the library's default search). */
const char *example_default_kernel(void);
/* The kernel for a guest architecture ("x86_64", "aarch64"; NULL: the host's):
 * for the host's, example_default_kernel(); for aarch64 on another host,
 * $VMCTR_KERNEL_AARCH64, else this tree's kernel/out/Image-arm64, else NULL. */
const char *example_default_kernel_for(const char *arch);
/* The OCI architecture of a guest architecture: "amd64", "arm64"; NULL
 * arch: the host's. */
const char *example_oci_arch(const char *arch);
/* The image store: explicit, $VMCTR_STORE, /var/lib/libvmctr as root, else
 * $XDG_DATA_HOME/libvmctr or ~/.local/share/libvmctr. malloc'd. */
char *example_store_dir(const char *explicit_dir);
/* A vmctr_progress_fn printing one updating line on stderr. */
int example_progress_fn(const vmctr_progress *p, void *userdata);
void example_progress_end(struct example_progress *p);

/* What a container needs from the image side: the store, the imported
 * image, the container's writable disk and a block mount of it. */
struct example_setup {
  char *store_dir;
  vmctr_image_store *store;
  vmctr_image *image;
  char *disk;
  vmctr_mount *rootfs;
};

/* Import image_path (NULL: the default busybox image, built on first use)
 * into the store, and make the container's disk STORE/containers/NAME.ext4.
 * Prints the reason and returns -1 on failure (cleaned up); 1 when a disk of
 * that name already exists. */
int example_setup_rootfs(struct example_setup *s, const char *store_opt, const char *image_path,
                         const char *name, bool quiet);
/* The same, choosing the image of OCI architecture oci_arch ("arm64"; NULL:
 * the host's) from a multi-platform source, with the root disk's size in
 * bytes (0: the library's default). */
int example_setup_rootfs_ex(struct example_setup *s, const char *store_opt,
                            const char *image_path, const char *name, bool quiet,
                            const char *oci_arch, uint64_t rootfs_size);
/* Free everything; remove the disk when remove_disk. */
void example_setup_free(struct example_setup *s, bool remove_disk);
/* Print "PROG: WHAT: <last error>" on stderr. */
void example_fail(const char *prog, const char *what);

#endif
