/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/mount.h
 * @brief Mounts: what a container's VM mounts, from the host or from nothing.
 *
 * A vmctr_mount describes one filesystem that the guest mounts at an
 * absolute destination. There are four kinds:
 *
 * - **block** (VMCTR_MOUNT_BLOCK): a host disk image file or block device,
 *   attached as a virtio block disk and mounted with its filesystem
 *   (VMCTR_MOUNT_FORMAT_EXT4). It has a host caching mode and a sync mode.
 * - **share** (VMCTR_MOUNT_SHARE): a host directory shared over virtiofs,
 *   with a virtiofs tag and a cache mode.
 * - **tmpfs** (VMCTR_MOUNT_TMPFS): memory in the guest, with a size and mode.
 * - **any** (VMCTR_MOUNT_ANY): a guest-only mount(2): a filesystem type, a
 *   source and options (proc, sysfs, an overlay of guest paths, ...).
 *
 * Every kind has a destination, a read-only flag and extra options (a
 * comma-separated list such as "nosuid,nodev,noexec").
 *
 * Setters check the value they get (range, syntax, that the option applies
 * to the mount's kind); vmctr_mount_validate() checks combinations and the
 * host (the source exists and has the right type). Mounts are plain values,
 * not shared: an object that keeps one takes a vmctr_mount_clone(). A mount
 * is not thread-safe: use each from one thread at a time. See doc/mount.md.
 */
#ifndef VMCTR_MOUNT_H
#define VMCTR_MOUNT_H

#include <stdint.h>

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** An opaque mount description. */
typedef struct vmctr_mount vmctr_mount;

/** Kind: a host disk image or block device on a virtio block disk. */
#define VMCTR_MOUNT_BLOCK 1u
/** Kind: a host directory shared over virtiofs. */
#define VMCTR_MOUNT_SHARE 2u
/** Kind: a tmpfs in guest memory. */
#define VMCTR_MOUNT_TMPFS 3u
/** Kind: any guest-side mount(2): type, source, options. */
#define VMCTR_MOUNT_ANY 4u

/** Block filesystem: ext4 (the only one, and the default). */
#define VMCTR_MOUNT_FORMAT_EXT4 1u

/** Block image: the file or device holds the filesystem itself (the default). */
#define VMCTR_MOUNT_IMAGE_RAW 1u
/**
 * Block image: a copy-on-write disk made by vmctr_image_create_writable()
 * (form VMCTR_IMAGE_WRITABLE_COW). Its unwritten blocks come from the
 * read-only backing file it names, which the VM never writes.
 */
#define VMCTR_MOUNT_IMAGE_COW 2u

/** Block caching: let the backend choose (QEMU: host page cache; VZ: automatic). */
#define VMCTR_MOUNT_CACHING_AUTO 1u
/** Block caching: through the host page cache. */
#define VMCTR_MOUNT_CACHING_CACHED 2u
/** Block caching: bypass the host page cache (O_DIRECT). */
#define VMCTR_MOUNT_CACHING_UNCACHED 3u

/** Block sync: guest flushes reach the physical medium (F_FULLFSYNC on macOS). */
#define VMCTR_MOUNT_SYNC_FULL 1u
/** Block sync: guest flushes become fsync() on the host. */
#define VMCTR_MOUNT_SYNC_FSYNC 2u
/** Block sync: guest flushes are ignored; data may be lost if the host crashes. */
#define VMCTR_MOUNT_SYNC_NONE 3u

/**
 * Block default caching: cached. Together with VMCTR_MOUNT_DEFAULT_SYNC this
 * is what apple/container chose after filesystem corruption in guests with
 * the automatic caching mode (apple/container#614): "auto" leaves the choice
 * to the hypervisor, which on macOS did not keep ext4 consistent. An explicit
 * host cache plus fsync on every guest flush behaves the same everywhere.
 */
#define VMCTR_MOUNT_DEFAULT_CACHING VMCTR_MOUNT_CACHING_CACHED
/** Block default sync: fsync (see VMCTR_MOUNT_DEFAULT_CACHING for why). */
#define VMCTR_MOUNT_DEFAULT_SYNC VMCTR_MOUNT_SYNC_FSYNC

/** Share cache: virtiofsd's default (metadata cached briefly, data per open). */
#define VMCTR_MOUNT_SHARE_CACHE_AUTO 1u
/** Share cache: cache everything; for files only the guest changes. */
#define VMCTR_MOUNT_SHARE_CACHE_ALWAYS 2u
/** Share cache: cache nothing; the host may change files at any time. */
#define VMCTR_MOUNT_SHARE_CACHE_NEVER 3u

/** The longest virtiofs tag in bytes (the virtio-fs device's tag field). */
#define VMCTR_MOUNT_TAG_MAX 36u
/** Default tmpfs mode: 01777, like /tmp. */
#define VMCTR_MOUNT_DEFAULT_TMPFS_MODE 01777u
/** The largest JSON text vmctr_mount_from_json() accepts: 64 KiB. */
#define VMCTR_MOUNT_MAX_JSON (64u * 1024u)

/**
 * A block mount of a disk image file or block device, with the defaults:
 * ext4, read-write, VMCTR_MOUNT_DEFAULT_CACHING, VMCTR_MOUNT_DEFAULT_SYNC.
 *
 * @param out          receives the mount; free it with vmctr_mount_free().
 * @param host_path    the image or device on the host (checked by validate).
 * @param destination  the absolute, normalized guest path (not "/"), or NULL
 *                     for a container's root filesystem, which has none.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_new_block(vmctr_mount **out, const char *host_path,
                                    const char *destination);

/**
 * A virtiofs share of a host directory: read-write, cache
 * VMCTR_MOUNT_SHARE_CACHE_AUTO, no tag (one is generated per VM). As for a
 * block mount, destination NULL makes a root filesystem mount.
 *
 * host_dir may also be one regular file (a file share, doc/mount.md): the
 * container then sees that file at destination (a file, created with its
 * parent directories when missing, replacing the image's), as a bind, not
 * a copy, and nothing else of the file's host directory. Whether the source
 * is a file or a directory is found when the library takes its copy of the
 * mount. Where the hypervisor cannot confine a file share (no namespaces for
 * its virtiofsd, or the vz backend), starting the VM fails with
 * VMCTR_EUNSUPPORTED rather than sharing the file's directory.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_new_share(vmctr_mount **out, const char *host_dir,
                                    const char *destination);

/**
 * A tmpfs: size 0 (the guest kernel's default, half its memory), mode
 * VMCTR_MOUNT_DEFAULT_TMPFS_MODE.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_new_tmpfs(vmctr_mount **out, const char *destination);

/**
 * A guest-only mount: mount(source, destination, type, flags, data) in the guest.
 * @param type    the filesystem type, e.g. "proc" (letters, digits, '.', '_', '-').
 * @param source  the source as the guest reads it, e.g. "proc"; NULL gives "none".
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_new_any(vmctr_mount **out, const char *type, const char *source,
                                  const char *destination);

/**
 * A deep copy of a mount.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_clone(vmctr_mount **out, const vmctr_mount *m);

/** Free a mount. NULL is ignored. */
VMCTR_API void vmctr_mount_free(vmctr_mount *m);

/** The kind (VMCTR_MOUNT_BLOCK, ...), or 0 if m is NULL. */
VMCTR_API uint32_t vmctr_mount_kind(const vmctr_mount *m);

/**
 * Set the source: the host path (block, share) or the guest source (any).
 * Any non-empty text is stored; vmctr_mount_validate() checks it, and refuses
 * a source on a tmpfs. NULL unsets it.
 * @return 0, VMCTR_EINVAL (empty) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_set_source(vmctr_mount *m, const char *source);

/** The source, or NULL if unset. Borrowed from m until it changes or is freed. */
VMCTR_API const char *vmctr_mount_source(const vmctr_mount *m);

/**
 * Set the guest destination: absolute, at most 4095 bytes, with no empty,
 * "." or ".." component and no trailing '/', and not "/" itself.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. On failure m is unchanged.
 */
VMCTR_API int vmctr_mount_set_destination(vmctr_mount *m, const char *destination);

/** The destination. Borrowed from m until it changes or is freed. */
VMCTR_API const char *vmctr_mount_destination(const vmctr_mount *m);

/**
 * Mount read-only (every kind). For a block mount the disk itself is
 * attached read-only, so the guest cannot write it at all.
 * @param read_only 0 or 1; other values give VMCTR_EINVAL.
 */
VMCTR_API int vmctr_mount_set_read_only(vmctr_mount *m, int32_t read_only);

/** 1 if read-only, else 0. */
VMCTR_API int32_t vmctr_mount_read_only(const vmctr_mount *m);

/**
 * Set the extra mount options: a comma-separated list such as
 * "nosuid,nodev,noexec,noatime". Known flags (nosuid, nodev, noexec, sync,
 * dirsync, noatime, nodiratime, relatime, strictatime, lazytime and their
 * suid/dev/exec/atime/diratime opposites) become mount flags; the others are
 * passed to the filesystem as its data. Elements may not be empty or hold
 * blanks, control characters or quotes; "ro" and "rw" are refused (use
 * vmctr_mount_set_read_only()). NULL or "" clears them.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_set_options(vmctr_mount *m, const char *options);

/** The extra options, or NULL if none. Borrowed from m until it changes or is freed. */
VMCTR_API const char *vmctr_mount_options(const vmctr_mount *m);

/**
 * Block only: set the filesystem format (VMCTR_MOUNT_FORMAT_EXT4).
 * @return 0 or VMCTR_EINVAL (unknown format, or not a block mount).
 */
VMCTR_API int vmctr_mount_set_format(vmctr_mount *m, uint32_t format);

/** The block format, or 0 if m is NULL or not a block mount. */
VMCTR_API uint32_t vmctr_mount_format(const vmctr_mount *m);

/**
 * Block only: set how the host file is laid out (VMCTR_MOUNT_IMAGE_RAW or
 * VMCTR_MOUNT_IMAGE_COW). The library never guesses it from the file's
 * bytes: a guest could write any header into a raw disk.
 * @return 0 or VMCTR_EINVAL (unknown value, or not a block mount).
 */
VMCTR_API int vmctr_mount_set_image_format(vmctr_mount *m, uint32_t image_format);

/** The block image format, or 0 if m is NULL or not a block mount. */
VMCTR_API uint32_t vmctr_mount_image_format(const vmctr_mount *m);

/**
 * Block only: set the host caching mode (VMCTR_MOUNT_CACHING_*).
 * @return 0 or VMCTR_EINVAL (unknown mode, or not a block mount).
 */
VMCTR_API int vmctr_mount_set_caching(vmctr_mount *m, uint32_t caching);

/** The block caching mode, or 0 if m is NULL or not a block mount. */
VMCTR_API uint32_t vmctr_mount_caching(const vmctr_mount *m);

/**
 * Block only: set the sync mode (VMCTR_MOUNT_SYNC_*).
 * @return 0 or VMCTR_EINVAL (unknown mode, or not a block mount).
 */
VMCTR_API int vmctr_mount_set_sync(vmctr_mount *m, uint32_t sync);

/** The block sync mode, or 0 if m is NULL or not a block mount. */
VMCTR_API uint32_t vmctr_mount_sync(const vmctr_mount *m);

/**
 * Block only: declare the disk ephemeral (1) or not (0, the default). Its
 * content is thrown away once the VM ends, as a container's root disk that
 * is removed when the container exits (`vmctr-run --rm`), so the VM spends
 * no time on it at the end: at power-off the guest neither writes its file
 * system back nor unmounts it, and guest flushes to it are dropped (as with
 * VMCTR_MOUNT_SYNC_NONE). Never for a disk whose content is wanted after the
 * VM: what the guest wrote may then be missing from it, and its file system
 * needs a journal replay. A read-only disk has nothing to throw away: no effect.
 * JSON key "ephemeral", spec key "ephemeral". Since 0.7.
 * @return 0 or VMCTR_EINVAL (not a block mount, or neither 0 nor 1).
 */
VMCTR_API int vmctr_mount_set_ephemeral(vmctr_mount *m, int ephemeral);

/** 1 if m is an ephemeral block mount (vmctr_mount_set_ephemeral()), else 0. Since 0.7. */
VMCTR_API int vmctr_mount_ephemeral(const vmctr_mount *m);

/**
 * Share only: set the virtiofs tag the guest mounts by: 1 to
 * VMCTR_MOUNT_TAG_MAX bytes of letters, digits, '.', '_' and '-', not
 * starting with "vmctr" (reserved for generated tags). NULL unsets it; an
 * unset tag is generated per VM ("vmctr-fs<index>").
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_set_tag(vmctr_mount *m, const char *tag);

/** The share's tag, or NULL if unset. Borrowed from m until it changes or is freed. */
VMCTR_API const char *vmctr_mount_tag(const vmctr_mount *m);

/**
 * Share only: set the cache mode (VMCTR_MOUNT_SHARE_CACHE_*).
 * @return 0 or VMCTR_EINVAL (unknown mode, or not a share).
 */
VMCTR_API int vmctr_mount_set_share_cache(vmctr_mount *m, uint32_t cache);

/** The share's cache mode, or 0 if m is NULL or not a share. */
VMCTR_API uint32_t vmctr_mount_share_cache(const vmctr_mount *m);

/**
 * tmpfs only: set the size limit in bytes; 0 means the guest kernel's
 * default (half the guest's memory).
 * @return 0 or VMCTR_EINVAL (not a tmpfs).
 */
VMCTR_API int vmctr_mount_set_tmpfs_size(vmctr_mount *m, uint64_t bytes);

/** The tmpfs size limit (0: the kernel's default, or m is not a tmpfs). */
VMCTR_API uint64_t vmctr_mount_tmpfs_size(const vmctr_mount *m);

/**
 * tmpfs only: set the root directory's mode (at most 07777).
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_mount_set_tmpfs_mode(vmctr_mount *m, uint32_t mode);

/** The tmpfs mode, or 0 if m is NULL or not a tmpfs. */
VMCTR_API uint32_t vmctr_mount_tmpfs_mode(const vmctr_mount *m);

/**
 * Any only: set the filesystem type (letters, digits, '.', '_', '-'; at most 63 bytes).
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_set_type(vmctr_mount *m, const char *type);

/**
 * The filesystem type the guest mounts: the "any" mount's type, or the one
 * its kind implies ("ext4", "virtiofs", "tmpfs"). NULL if m is NULL.
 * Borrowed from m until it changes or is freed.
 */
VMCTR_API const char *vmctr_mount_type(const vmctr_mount *m);

/**
 * Check a mount as a whole, and its source on this host. Each problem gives
 * a message that says what to change (see doc/mount.md for the rules):
 * - VMCTR_ENOENT: the block image or share directory does not exist;
 * - VMCTR_EINVAL: a bad destination, a source of the wrong type (a block
 *   source must be a regular file or block device, a share source a
 *   directory), an image a read-write mount cannot write, a missing source,
 *   a tmpfs with a source, a read-only tmpfs, uncached caching with sync
 *   none, or an unknown mode.
 * @return 0 or one of the codes above.
 */
VMCTR_API int vmctr_mount_validate(const vmctr_mount *m);

/**
 * The mount as a JSON object, e.g.
 * {"kind":"block","source":"/img/data.ext4","destination":"/data",
 *  "read_only":false,"format":"ext4","caching":"cached","sync":"fsync"}.
 * Keys that hold defaults are written too, so the text states every mode.
 * @param out receives the text; free it with vmctr_free().
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_to_json(const vmctr_mount *m, char **out);

/**
 * Parse a mount from JSON text (untrusted input, at most
 * VMCTR_MOUNT_MAX_JSON bytes). "kind" is required, and "destination"
 * for every kind but a root filesystem (a block or share mount);
 * unknown keys, wrong types, unknown mode names and keys of another kind are
 * refused, naming the key. The host is not checked: call vmctr_mount_validate().
 * @return 0, VMCTR_EINVAL (NULL argument), VMCTR_EPARSE, VMCTR_ETOOBIG or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_from_json(vmctr_mount **out, const char *text, size_t len);

/**
 * Parse a command-line mount spec: comma-separated key=value pairs, as in
 * "type=share,source=/srv/www,target=/www,readonly,cache=never".
 * - type=block|share|bind|tmpfs|any (bind is share), required;
 * - source= or src=; target=, destination= or dst= (required);
 * - readonly or ro (bare), or readonly=true|false;
 * - block: format=ext4, caching=auto|cached|uncached, sync=full|fsync|none;
 * - share: tag=, cache=auto|always|never;
 * - tmpfs: size= (bytes, or with a k, m or g suffix), mode= (octal);
 * - any: fstype=;
 * - option=X, repeatable, adds X to the extra options.
 * Values cannot hold commas. Keys other than option= may appear once.
 * @return 0, VMCTR_EINVAL (with the offending element named) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_mount_parse(vmctr_mount **out, const char *spec);

VMCTR_END_DECLS

#endif /* VMCTR_MOUNT_H */
