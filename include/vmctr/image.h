/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/image.h
 * @brief Container images: a content-addressed store, import, root filesystems.
 *
 * A vmctr_image_store keeps imported images under one directory of the
 * caller's choosing:
 *
 * @code
 * ROOT/blobs/sha256/<hex>            verified blobs (manifests, configs, layers)
 * ROOT/snapshots/<config-hex>/       one unpacked image, named by its config digest
 *     rootfs/                        the root filesystem (a directory, for virtiofs)
 *     image.json                     its run configuration (entrypoint, cmd, env, ...)
 *     rootfs.ext4                    the ext4 form, built on demand by vmctr_image_ext4()
 *     rootfs-<MiB>m.ext4             the ext4 form laid out at a writable disk's size
 *                                    (vmctr_image_create_writable())
 * ROOT/tags/<hex>                    one name (a reference, see vmctr_image_ref_normalize())
 *                                    and the config digest it points at
 * ROOT/sources/<hex>                 archives and layouts already imported, by identity
 * ROOT/tmp/                          staging; anything here belongs to a running import
 * ROOT/locks/                        lock files (flock)
 * @endcode
 *
 * Images have names: `busybox:1.36` pulled from a registry and `mybox:1`
 * given at import are both references, kept in their normalized form
 * (`docker.io/library/busybox:1.36`), each pointing at one image.
 *
 * Import is atomic: a snapshot appears whole, by one rename, or not at all,
 * and a failed, cancelled or crashed import leaves nothing (staging left by a
 * crashed process is removed by the next open or import). Two processes that
 * import the same image at once get one snapshot: the second waits for the
 * first and reuses its result. See doc/image.md.
 *
 * Threads: a store handle may be used from several threads at once; a
 * vmctr_image handle is immutable after creation and may be read by any
 * number of threads. Progress callbacks run on the calling thread.
 */
#ifndef VMCTR_IMAGE_H
#define VMCTR_IMAGE_H

#include <stdint.h>

#include "vmctr/common.h"
#include "vmctr/progress.h"

VMCTR_BEGIN_DECLS

/** An opaque, open image store. */
typedef struct vmctr_image_store vmctr_image_store;

/** An opaque handle on one unpacked image (a snapshot) in a store. */
typedef struct vmctr_image vmctr_image;

/* ---- the store ---- */

/**
 * Open the image store under root, creating it (mode 0700) if absent.
 *
 * Removes staging debris that a crashed process left in ROOT/tmp, when no
 * other process is using the store at that moment.
 *
 * @param out   receives the store; free it with vmctr_image_store_free().
 * @param root  the store's directory (its parent must exist).
 * @param flags 0 (reserved).
 * @return 0, VMCTR_EINVAL, VMCTR_EPERM, VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_store_open(vmctr_image_store **out, const char *root, uint32_t flags);

/** Close a store. Image handles obtained from it stay valid. NULL is ignored. */
VMCTR_API void vmctr_image_store_free(vmctr_image_store *store);

/** The store's root directory. Borrowed from store until it is freed. */
VMCTR_API const char *vmctr_image_store_root(const vmctr_image_store *store);

/** Import flag: refuse device nodes in layers even when running as root. */
#define VMCTR_IMAGE_IMPORT_NO_DEVICES (1u << 0)
/** Import flag: skip the syncfs() that makes a new snapshot durable before it is published. */
#define VMCTR_IMAGE_IMPORT_NO_SYNC (1u << 1)

/**
 * Default limit on the file data one image unpacks to: 64 GiB. The largest
 * real images (CUDA and ML stacks) unpack to 10-30 GiB; the bytes counted are
 * data actually written, so holes of sparse files count nothing.
 */
#define VMCTR_IMAGE_IMPORT_DEFAULT_MAX_BYTES (64ull * 1024 * 1024 * 1024)
/**
 * Default limit on the tar entries of one image, over all its layers: 4 Mi
 * (4194304). A full distribution with toolchains holds under a million files.
 */
#define VMCTR_IMAGE_IMPORT_DEFAULT_MAX_ENTRIES (4ull * 1024 * 1024)

/** Options of vmctr_image_store_import(). */
typedef struct vmctr_image_import_options {
  uint32_t version;           /**< VMCTR_IMAGE_IMPORT_OPTIONS_VERSION */
  uint32_t flags;             /**< VMCTR_IMAGE_IMPORT_* bits */
  const char *architecture;   /**< OCI architecture to pick from an index ("amd64", "arm64"); NULL: the host's */
  vmctr_progress_fn progress; /**< called during verify/copy and unpack; may be NULL */
  void *userdata;             /**< passed to progress */
  /* version 2: */
  /** Most bytes of file data the image may unpack to, over all layers (0: the
   *  default, VMCTR_IMAGE_IMPORT_DEFAULT_MAX_BYTES; UINT64_MAX: no limit). */
  uint64_t max_bytes;
  /** Most tar entries over all layers (0: VMCTR_IMAGE_IMPORT_DEFAULT_MAX_ENTRIES;
   *  UINT64_MAX: no limit). */
  uint64_t max_entries;
  /* version 3: */
  /** A name to give the image once imported ("mybox:1", see
   *  vmctr_image_store_tag()); NULL: none. A bad name fails before any work. */
  const char *name;
} vmctr_image_import_options;

/** The version of vmctr_image_import_options in this header (1: up to userdata; 2: up to
 *  max_entries). */
#define VMCTR_IMAGE_IMPORT_OPTIONS_VERSION 3u
/** Initializer for vmctr_image_import_options. */
#define VMCTR_IMAGE_IMPORT_OPTIONS_INIT \
  { VMCTR_IMAGE_IMPORT_OPTIONS_VERSION, 0u, NULL, NULL, NULL, 0u, 0u, NULL }

/**
 * Fill opts with the defaults of VMCTR_IMAGE_IMPORT_OPTIONS_INIT (for bindings
 * that cannot use the macro). An older version fills only the fields it has.
 * @param version 1, 2 or VMCTR_IMAGE_IMPORT_OPTIONS_VERSION.
 * @return 0, or VMCTR_EINVAL (NULL opts, unknown version).
 */
VMCTR_API int vmctr_image_import_options_init(vmctr_image_import_options *opts, uint32_t version);

/**
 * Import an image into the store and unpack it.
 *
 * The source is an OCI image layout directory, an oci-archive (tar) or a
 * docker-archive (`docker save`). Its blobs are verified against their
 * digests and copied to ROOT/blobs, its layers applied in order into a
 * staging directory (owners and device nodes are kept when running as root),
 * and the result published as ROOT/snapshots/<config-hex>. An image already in
 * the store is reused without unpacking again.
 *
 * A source imported before is not read again: an archive with the same
 * device, inode, size and times, or the same content digest, and a layout
 * whose index.json is the same, resolve to the image already in the store
 * (for the same architecture). Blobs already in the store are not verified
 * again: they were when they entered it.
 *
 * @param store   the store.
 * @param source  path of the layout directory or archive.
 * @param opts    options, or NULL for the defaults.
 * @param out     receives the image handle (free with vmctr_image_free()); may be
 *                NULL when the caller only wants the import.
 * @return 0; VMCTR_ENOENT (no source), VMCTR_EPARSE (bad image), VMCTR_EIO
 *         (I/O, including a full disk: the message says "No space left on device"),
 *         VMCTR_ETOOBIG (the image passes opts->max_bytes or opts->max_entries: the
 *         message names the limit), VMCTR_ECANCELED (progress returned non-zero),
 *         VMCTR_EPERM, VMCTR_EINVAL or VMCTR_ENOMEM. On failure no snapshot or
 *         staging is left; verified blobs stay in ROOT/blobs (see
 *         doc/security-images.md).
 */
VMCTR_API int vmctr_image_store_import(vmctr_image_store *store, const char *source,
                                       const vmctr_image_import_options *opts, vmctr_image **out);

/**
 * List the images in the store.
 *
 * @param digests receives a NULL-terminated array of config digests
 *                ("sha256:<hex>"), sorted; free it with vmctr_strv_free().
 * @return the number of images, VMCTR_EINVAL, VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_store_list(vmctr_image_store *store, char ***digests);

/**
 * Open an image of the store.
 *
 * @param digest "sha256:<hex>", a bare hex digest, or a unique prefix of
 *               either (at least 4 hex digits).
 * @param out    receives the handle; free it with vmctr_image_free().
 * @return 0, VMCTR_ENOENT (no such image), VMCTR_EINVAL (bad or ambiguous
 *         prefix), VMCTR_EPARSE (damaged image.json), VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_store_get(vmctr_image_store *store, const char *digest, vmctr_image **out);

/**
 * Remove an image (its snapshot and cached forms; the blobs stay).
 *
 * Atomic: the snapshot is first renamed into ROOT/tmp, then deleted.
 *
 * @param digest as for vmctr_image_store_get().
 * @return 0; VMCTR_EBUSY while a vmctr_image handle on it is open in any
 *         process, or an import of it runs; VMCTR_ENOENT, VMCTR_EINVAL, VMCTR_EIO.
 */
VMCTR_API int vmctr_image_store_remove(vmctr_image_store *store, const char *digest);

/* ---- names ---- */

/**
 * Normalize an image reference as Docker and containerd do:
 * `busybox` -> `docker.io/library/busybox:latest`,
 * `host:5000/ns/app@sha256:...` stays as it is. See doc/registry.md.
 *
 * @param out receives the normalized reference; free it with vmctr_free().
 * @return 0, VMCTR_EINVAL (not a valid reference: the message says why) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_ref_normalize(const char *ref, char **out);

/**
 * Give an image of the store a name, replacing what the name pointed at.
 *
 * @param name   a reference ("mybox:1", "registry.example/ns/app:2"), stored normalized.
 * @param digest the image, as for vmctr_image_store_get().
 * @return 0, VMCTR_EINVAL (bad name or digest), VMCTR_ENOENT (no such image),
 *         VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_store_tag(vmctr_image_store *store, const char *name,
                                    const char *digest);

/**
 * Remove a name (the image stays).
 * @return 0, VMCTR_ENOENT (no such name), VMCTR_EINVAL or VMCTR_EIO.
 */
VMCTR_API int vmctr_image_store_untag(vmctr_image_store *store, const char *name);

/**
 * The names in the store, normalized and sorted, with the image each points at.
 *
 * @param names   receives a NULL-terminated array; free it with vmctr_strv_free().
 * @param digests receives the config digests, in the same order; free it with
 *                vmctr_strv_free(); may be NULL.
 * @return the number of names, VMCTR_EINVAL, VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_store_list_names(vmctr_image_store *store, char ***names,
                                           char ***digests);

/**
 * Open an image by name or digest: a name of the store first, then a digest
 * or unique prefix as for vmctr_image_store_get().
 *
 * @param out receives the handle; free it with vmctr_image_free().
 * @return 0, VMCTR_ENOENT (neither a name nor an image of the store),
 *         VMCTR_EINVAL, VMCTR_EPARSE, VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_store_lookup(vmctr_image_store *store, const char *name_or_digest,
                                       vmctr_image **out);

/* ---- one image ---- */

/**
 * Free an image handle (the snapshot stays in the store). NULL is ignored.
 * While a handle is open, vmctr_image_store_remove() refuses the image.
 */
VMCTR_API void vmctr_image_free(vmctr_image *image);

/** The config digest, "sha256:<hex>": the image's identity. Borrowed from image. */
VMCTR_API const char *vmctr_image_digest(const vmctr_image *image);

/** The digest of the manifest it was imported from. Borrowed from image. */
VMCTR_API const char *vmctr_image_manifest_digest(const vmctr_image *image);

/** The absolute path of the unpacked root filesystem directory. Borrowed from image. */
VMCTR_API const char *vmctr_image_rootfs(const vmctr_image *image);

/** The OCI architecture ("amd64", "arm64", ...). Borrowed from image. */
VMCTR_API const char *vmctr_image_architecture(const vmctr_image *image);

/** The OS of the image ("linux"). Borrowed from image. */
VMCTR_API const char *vmctr_image_os(const vmctr_image *image);

/**
 * The entrypoint: a NULL-terminated array, empty when the image sets none
 * (NULL only for a NULL image). Borrowed from image.
 */
VMCTR_API const char *const *vmctr_image_entrypoint(const vmctr_image *image);

/** The default arguments (Cmd), as vmctr_image_entrypoint(). Borrowed from image. */
VMCTR_API const char *const *vmctr_image_cmd(const vmctr_image *image);

/** The environment, "KEY=value" strings, as vmctr_image_entrypoint(). Borrowed from image. */
VMCTR_API const char *const *vmctr_image_env(const vmctr_image *image);

/** The working directory, or NULL if the image sets none. Borrowed from image. */
VMCTR_API const char *vmctr_image_workdir(const vmctr_image *image);

/** The user ("uid[:gid]" or a name), or NULL if the image sets none. Borrowed from image. */
VMCTR_API const char *vmctr_image_user(const vmctr_image *image);

/* ---- root filesystem forms ---- */

/** Default headroom of an ext4 image beyond its content: 64 MiB. */
#define VMCTR_IMAGE_EXT4_DEFAULT_EXTRA (64ull * 1024 * 1024)

/** Options of vmctr_image_ext4(). */
typedef struct vmctr_image_ext4_options {
  uint32_t version;           /**< VMCTR_IMAGE_EXT4_OPTIONS_VERSION */
  uint32_t flags;             /**< 0 (reserved) */
  uint64_t extra_bytes;       /**< free space beyond the content */
  uint64_t min_size;          /**< the least size of the image in bytes; 0: none */
  vmctr_progress_fn progress; /**< called at the start and end (phase VMCTR_PROGRESS_DISK) */
  void *userdata;             /**< passed to progress */
} vmctr_image_ext4_options;

/** The version of vmctr_image_ext4_options in this header. */
#define VMCTR_IMAGE_EXT4_OPTIONS_VERSION 1u
/** Initializer for vmctr_image_ext4_options. */
#define VMCTR_IMAGE_EXT4_OPTIONS_INIT \
  { VMCTR_IMAGE_EXT4_OPTIONS_VERSION, 0u, VMCTR_IMAGE_EXT4_DEFAULT_EXTRA, 0u, NULL, NULL }

/**
 * Fill opts with the defaults of VMCTR_IMAGE_EXT4_OPTIONS_INIT.
 * @return 0, or VMCTR_EINVAL (NULL opts, unknown version).
 */
VMCTR_API int vmctr_image_ext4_options_init(vmctr_image_ext4_options *opts, uint32_t version);

/**
 * The image's root filesystem as an ext4 block image, built on first use.
 *
 * The file is sparse, sized from the content (allocated blocks, each hard-linked
 * file once, and the inode count: a sparse file's holes never size the disk)
 * plus opts->extra_bytes, at least opts->min_size, and made with e2fsprogs'
 * `mke2fs -d`, which keeps owners, modes, links and extended attributes. It is
 * cached in the snapshot (built under a temporary name, then renamed), and a
 * cached image at least as large as asked for is reused. Treat it as
 * read-only: give a container vmctr_image_create_writable() instead.
 *
 * @param path_out receives the absolute path; free it with vmctr_free().
 * @return 0; VMCTR_EUNSUPPORTED (no mke2fs), VMCTR_EIO, VMCTR_ECANCELED,
 *         VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_ext4(vmctr_image *image, const vmctr_image_ext4_options *opts,
                               char **path_out);

/** A writable copy that shares blocks with the cached ext4 image (FICLONE). */
#define VMCTR_IMAGE_WRITABLE_REFLINK 1
/** A sparse copy of the cached ext4 image (only its data ranges copied). */
#define VMCTR_IMAGE_WRITABLE_SPARSE_COPY 2
/**
 * An empty ext4 scratch disk, to be stacked by overlayfs in the guest as the
 * upper layer over the read-only image (lower).
 */
#define VMCTR_IMAGE_WRITABLE_OVERLAY 3
/**
 * A copy-on-write view of the cached ext4 image: blocks the container never
 * wrote are read from the image, which is never written; writes go to the
 * new file. Made in constant time whatever the image's size. Its layout is
 * the backend's (QEMU: a qcow2 overlay with the raw image as its backing
 * file): mount it with vmctr_mount_set_image_format(VMCTR_MOUNT_IMAGE_COW).
 */
#define VMCTR_IMAGE_WRITABLE_COW 4

/** Writable flag: make an overlay scratch disk instead of a copy. */
#define VMCTR_IMAGE_WRITABLE_USE_OVERLAY (1u << 0)
/** Writable flag: never reflink, always make a sparse copy (tests, benchmarks). */
#define VMCTR_IMAGE_WRITABLE_NO_REFLINK (1u << 1)
/**
 * Writable flag: prefer a constant-time view of the image: a reflink where
 * the host filesystem shares blocks (form VMCTR_IMAGE_WRITABLE_REFLINK,
 * unless VMCTR_IMAGE_WRITABLE_NO_REFLINK), else a copy-on-write overlay
 * (form VMCTR_IMAGE_WRITABLE_COW). Check form_out to know how to mount it.
 */
#define VMCTR_IMAGE_WRITABLE_USE_COW (1u << 2)

/** Default size of an overlay scratch disk: 1 GiB (sparse). */
#define VMCTR_IMAGE_WRITABLE_DEFAULT_SCRATCH (1024ull * 1024 * 1024)
/**
 * Default size of a writable root disk (copy, reflink or copy-on-write
 * forms): 8 GiB, sparse. The host stores only what the container writes; the
 * guest grows the image's ext4 to the disk's size when it mounts it.
 */
#define VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE (8ull * 1024 * 1024 * 1024)
/** The largest writable root disk: 1 TiB. */
#define VMCTR_IMAGE_WRITABLE_MAX_SIZE (1024ull * 1024 * 1024 * 1024)

/** Options of vmctr_image_create_writable(). */
typedef struct vmctr_image_writable_options {
  uint32_t version;              /**< VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION */
  uint32_t flags;                /**< VMCTR_IMAGE_WRITABLE_* flag bits */
  uint64_t scratch_size;         /**< overlay form: size of the scratch disk */
  const vmctr_image_ext4_options *ext4; /**< how to build the ext4 image if not cached; NULL: defaults */
  /**
   * Since version 2. Copy, reflink and copy-on-write forms: the disk's size
   * in bytes, rounded up to 1 MiB; the guest grows the ext4 to it, so the
   * container's free space is about size minus the image's used space. A
   * size below the image's ext4 (1, say) keeps the image's size, which is
   * also what version 1 options get. 0: VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE.
   * At most VMCTR_IMAGE_WRITABLE_MAX_SIZE.
   */
  uint64_t size;
} vmctr_image_writable_options;

/** The version of vmctr_image_writable_options in this header. */
#define VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION 2u
/** Initializer for vmctr_image_writable_options. */
#define VMCTR_IMAGE_WRITABLE_OPTIONS_INIT \
  { VMCTR_IMAGE_WRITABLE_OPTIONS_VERSION, 0u, VMCTR_IMAGE_WRITABLE_DEFAULT_SCRATCH, NULL, 0u }

/**
 * Fill opts with the defaults of VMCTR_IMAGE_WRITABLE_OPTIONS_INIT.
 * @return 0, or VMCTR_EINVAL (NULL opts, unknown version).
 */
VMCTR_API int vmctr_image_writable_options_init(vmctr_image_writable_options *opts,
                                                uint32_t version);

/**
 * Make a container's private, writable root disk at dest_path.
 *
 * By default a copy of the image's ext4 form (built first if needed): a
 * reflink where the filesystem can share blocks (btrfs, XFS), else a sparse
 * copy. With VMCTR_IMAGE_WRITABLE_USE_COW, a reflink or else a copy-on-write
 * overlay (VMCTR_IMAGE_WRITABLE_COW), both in constant time; the image's
 * ext4 is never written. Copies and views have opts->size bytes (sparse).
 * With VMCTR_IMAGE_WRITABLE_USE_OVERLAY, an empty ext4 scratch disk of
 * opts->scratch_size bytes instead, which the guest stacks over the read-only
 * image with overlayfs. dest_path must not exist; on failure nothing is left there.
 *
 * @param form_out receives the VMCTR_IMAGE_WRITABLE_* form used; may be NULL.
 * @return 0; VMCTR_EEXIST (dest_path exists), VMCTR_EUNSUPPORTED (no
 *         mke2fs), VMCTR_EIO, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_create_writable(vmctr_image *image, const char *dest_path,
                                          const vmctr_image_writable_options *opts,
                                          int32_t *form_out);

/* ---- building images ---- */

/** Options of vmctr_image_build_from_dir(). */
typedef struct vmctr_image_build_options {
  uint32_t version;                /**< VMCTR_IMAGE_BUILD_OPTIONS_VERSION */
  uint32_t flags;                  /**< 0 (reserved) */
  const char *const *entrypoint;   /**< NULL-terminated, or NULL for none */
  const char *const *cmd;          /**< NULL-terminated, or NULL for none */
  const char *const *env;          /**< "KEY=value", NULL-terminated, or NULL for none */
  const char *workdir;             /**< NULL for none */
  const char *user;                /**< NULL for none */
  const char *architecture;        /**< OCI architecture; NULL: the host's */
  const char *ref_name;            /**< the layout's org.opencontainers.image.ref.name; NULL: "latest" */
  vmctr_progress_fn progress;      /**< may be NULL */
  void *userdata;                  /**< passed to progress */
} vmctr_image_build_options;

/** The version of vmctr_image_build_options in this header. */
#define VMCTR_IMAGE_BUILD_OPTIONS_VERSION 1u
/** Initializer for vmctr_image_build_options. */
#define VMCTR_IMAGE_BUILD_OPTIONS_INIT \
  { VMCTR_IMAGE_BUILD_OPTIONS_VERSION, 0u, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/**
 * Fill opts with the defaults of VMCTR_IMAGE_BUILD_OPTIONS_INIT.
 * @return 0, or VMCTR_EINVAL (NULL opts, unknown version).
 */
VMCTR_API int vmctr_image_build_options_init(vmctr_image_build_options *opts, uint32_t version);

/**
 * Build a one-layer OCI image layout from a directory tree.
 *
 * The layer holds rootfs_dir's content with its owners, modes and links; the
 * config holds the options' run settings. The layout can then be imported
 * with vmctr_image_store_import() or read by other OCI tools.
 *
 * @param rootfs_dir the root filesystem to pack.
 * @param layout_dir the OCI layout to create: it must not exist, or be an empty
 *                   directory; it appears complete or not at all.
 * @return 0; VMCTR_ENOENT, VMCTR_EIO, VMCTR_ECANCELED, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_build_from_dir(const char *rootfs_dir, const char *layout_dir,
                                         const vmctr_image_build_options *opts);

VMCTR_END_DECLS

#endif /* VMCTR_IMAGE_H */
