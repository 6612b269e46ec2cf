/* SPDX-License-Identifier: MIT */
/* The image store's shared internals: the store and image structs, locks,
 * and the file-system helpers every store file uses. */
#ifndef VMCTR_IMAGE_STORE_PRIV_H
#define VMCTR_IMAGE_STORE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmctr/image.h"

#define VMCTR__DIGEST_HEX 64

struct vmctr_image_store {
  char *root; /* absolute */
  int root_fd;
};

struct vmctr_image {
  char *dir;      /* ROOT/snapshots/<hex>, absolute */
  char *rootfs;   /* dir/rootfs */
  char *digest, *manifest_digest, *architecture, *os, *workdir, *user;
  char **entrypoint, **cmd, **env; /* never NULL once loaded */
  char **layers;
  int use_fd;  /* holds LOCK_SH on locks/<hex>.use while the handle lives */
  int root_fd; /* the store's root, for staging and locks */
  char hex[VMCTR__DIGEST_HEX + 1];
};

/* ---- fsutil.c ---- */
/* Remove path (relative to dirfd) and everything under it, never following
 * symlinks, making directories writable as needed. ENOENT is success. */
int vmctr__rm_rf_at(int dirfd, const char *path);
/* flock() the file locks/<name> (created 0600); returns the fd or a negative code.
 * With nonblock, a held lock gives VMCTR_EBUSY. */
int vmctr__store_lock(int root_fd, const char *name, int op, bool nonblock);
/* Refuse (VMCTR_EPERM) dirfd/name unless it is a directory (not a symlink)
 * owned by the effective uid and not writable by group or others. */
int vmctr__store_check_dir(int dirfd, const char *name, const char *shown);
/* A staging directory under tmp/: created, opened and flocked (LOCK_EX) under the
 * store lock, so that the cleaner never takes one in use. *name_out is "tmp/<name>". */
int vmctr__store_staging(int root_fd, const char *prefix, char **name_out, int *fd_out);
/* Sweep crash debris, under the store lock (LOCK_EX, non-blocking): every
 * unlocked entry of tmp/, every unlocked blobs/.tmp-* and the unheld lock
 * files of snapshots that no longer exist. Best effort: skipped while any
 * process holds the store lock (an import holds it shared throughout). */
void vmctr__store_clean_tmp(int root_fd);
/* "sha256:<hex>" or "<hex>" (or a prefix) -> the hex part; NULL if not hex. */
const char *vmctr__digest_hex(const char *digest, size_t *len);
char *vmctr__path_join(const char *a, const char *b);

/* ---- store.c ---- */
/* Resolve a digest or unique prefix to the full hex name of a snapshot. */
int vmctr__store_resolve(vmctr_image_store *s, const char *digest, char hex[VMCTR__DIGEST_HEX + 1]);

/* ---- tags.c ---- */
/* Small records ROOT/dir/<sha256 of key> holding "KEY\nHEX\n", replaced by
 * rename: names (dir "tags", key the normalized reference) and known sources
 * (dir "sources"). Point key at snapshot hex: */
int vmctr__store_record_set(vmctr_image_store *s, const char *dir, const char *key,
                            const char *hex);
/* The snapshot key points at: 1 (and hex) when it exists, 0 when not, negative on error. */
int vmctr__store_record_lookup(vmctr_image_store *s, const char *dir, const char *key,
                               char hex[VMCTR__DIGEST_HEX + 1]);

/* ---- known.c ---- */
#define VMCTR__KNOWN_KEY 256
typedef struct vmctr__known {
  char identity[VMCTR__KNOWN_KEY]; /* "file:ARCH:dev:ino:size:mtime:ctime", or "" */
  char content[VMCTR__KNOWN_KEY];  /* "digest:ARCH:HEX" or "layout:ARCH:HEX", or "" */
  char arch[16];
} vmctr__known;
/* A source imported before (same file identity or digest, or same layout
 * index): 1 and hex when its snapshot is still there, 0 when not known (k
 * then holds the keys to remember it by), negative on error. */
int vmctr__known_source(vmctr_image_store *s, const char *source, const char *arch,
                        vmctr__known *k, char hex[VMCTR__DIGEST_HEX + 1]);
/* Remember that source (keys k, for its architecture) gave snapshot hex. Best effort. */
void vmctr__known_source_put(vmctr_image_store *s, const char *source, const vmctr__known *k,
                             const char *hex);

/* ---- import.c ---- */
/* Import from an image source other than a path (a registry: src is an
 * oci_src of lib/image/oci); what names it in messages; tag (normalized, may
 * be NULL) is the name to give it. o: complete options (version current). */
struct oci_src;
int vmctr__store_import_src(vmctr_image_store *s, struct oci_src *src, const char *what,
                            const vmctr_image_import_options *o, const char *tag,
                            vmctr_image **out);

/* ---- image.c ---- */
/* Write dir/image.json for an imported image (atomic). */
struct vmctr__oci_image;
int vmctr__image_json_write(const char *dir, const struct vmctr__oci_image *img);
/* Open the snapshot <hex> of the store (takes the use lock). */
int vmctr__image_open(vmctr_image_store *store, const char *hex, vmctr_image **out);

/* ---- ext4.c ---- */
/* Run mke2fs to make an ext4 file system in the existing sparse file dest of
 * size bytes, filled from src_dir (NULL: empty), with at least inodes inodes. */
int vmctr__mke2fs(const char *dest, uint64_t size, uint64_t inodes, const char *src_dir);

/* The ext4 form a writable disk of want bytes is made from, and its size
 * (the disk's): rootfs-<MiB>m.ext4 laid out at want on the host, so the
 * guest has nothing to grow, made once and never rebuilt; or, when want
 * leaves no room beyond the content, rootfs.ext4 (vmctr_image_ext4()). */
int vmctr__image_ext4_for_disk(vmctr_image *img, const vmctr_image_ext4_options *opts,
                               uint64_t want, char **path_out, uint64_t *size_out);

#endif
