/* SPDX-License-Identifier: MIT */
/* Test helpers: hand-made OCI layouts (layers built with libarchive, gzip by
 * zlib, digests by lib/core/sha256), and tree comparison. */
#ifndef VMCTR_TESTS_IMAGE_LAYOUT_UTIL_H
#define VMCTR_TESTS_IMAGE_LAYOUT_UTIL_H

#include <stddef.h>

/* One tar entry: type 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'p'
 * FIFO, 'c' char device; data is the content (f), the link target (l, h) or
 * "major:minor" (c). */
typedef struct tl_entry {
  char type;
  const char *path;
  unsigned mode;
  const char *data;
} tl_entry;

typedef struct tl_layer {
  const tl_entry *entries;
  size_t n;
  int corrupt; /* 1: gzip stream truncated after its digest is taken (valid digest, bad layer) */
} tl_layer;

/* Write an OCI layout at dir (created) with these layers and a config of
 * cmd/env (NULL-terminated). Returns 0 or -1. */
int tl_write_layout(const char *dir, const tl_layer *layers, size_t n, const char *const *cmd,
                    const char *const *env, const char *arch);

/* The same with one layer whose tar is the file tar_path (gzipped here). */
int tl_write_layout_tar(const char *dir, const char *tar_path, const char *const *cmd,
                        const char *const *env, const char *arch);

/* A canonical listing of a tree (path type mode uid gid size sha256/target),
 * one entry per line, sorted; malloc'd. */
char *tl_tree_listing(const char *root);

char *tl_read(const char *path);

#endif
