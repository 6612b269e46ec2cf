/* SPDX-License-Identifier: MIT */
/* The guest's initial filesystem: a gzip'd cpio (newc) archive holding vmctr-init as /init
 * and, for a stock kernel, its virtio modules. Built once per distinct input content and
 * kept in a cache directory under a name derived from that content. */
#ifndef VMCTR_INITFS_INITFS_H
#define VMCTR_INITFS_INITFS_H

typedef struct vmctr__initfs_params {
  const char *init_path;   /* the static vmctr-init executable, becomes /init */
  const char *arch;        /* guest architecture ("x86_64", "aarch64"): init_path must be an
                            * ELF executable for it; NULL: not checked */
  const char *modules_dir; /* NULL, or a dir with *.ko + load-order (fetch-debian-kernel.sh) */
  const char *cache_dir;   /* where built archives are kept (created if missing) */
} vmctr__initfs_params;

/* Bumped whenever the archive layout changes, so old cached archives are not reused. */
#define VMCTR__INITFS_FORMAT 1

/* Limits on what goes into the archive. */
#define VMCTR__INITFS_MAX_FILE (64u * 1024u * 1024u)   /* init or one module */
#define VMCTR__INITFS_MAX_TOTAL (256u * 1024u * 1024u) /* everything */
#define VMCTR__INITFS_MAX_MODULES 256u
#define VMCTR__INITFS_MAX_LOAD_ORDER (64u * 1024u)     /* bytes of load-order */

/* Sets *out_path (malloc'd; free()) to cache_dir/initfs-<hex>.cpio.gz, where hex is the
 * SHA-256 of the format version and every input's content, building the archive only if
 * that file is absent. The build is atomic (temp file, fsync, rename), so concurrent
 * callers never see a partial archive. Errors are recorded with vmctr__err and name the
 * offending path: VMCTR_EINVAL for bad inputs, VMCTR_ENOENT for missing ones,
 * VMCTR_ETOOBIG past the limits above, VMCTR_EIO when writing fails. */
int vmctr__initfs_get(const vmctr__initfs_params *p, char **out_path);

/* The vmctr-init for a guest of architecture arch ("x86_64", "aarch64"), in this order:
 * $VMCTR_GUEST_INIT_<ARCH> (VMCTR_GUEST_INIT_AARCH64, VMCTR_GUEST_INIT_X86_64); for the
 * host's own architecture $VMCTR_GUEST_INIT, then the installed vmctr-init; for another
 * architecture the installed vmctr-init-<arch> beside it. Sets *out (malloc'd) to that
 * path, whether or not it exists. VMCTR_EINVAL for an unknown arch, VMCTR_ENOMEM. */
int vmctr__initfs_init_for(const char *arch, char **out);

/* The ELF machine of the executable in data: "x86_64", "aarch64", another name for
 * other machines, or NULL when data is not a 64-bit little-endian ELF executable. */
const char *vmctr__initfs_elf_arch(const void *data, size_t len);

#endif
