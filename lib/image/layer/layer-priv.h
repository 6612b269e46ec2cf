/* SPDX-License-Identifier: MIT */
/* Shared state of one layer application (layer.c drives, layer-path.c
 * resolves, layer-entry.c creates, layer-remove.c removes). */
#ifndef VMCTR_IMAGE_LAYER_PRIV_H
#define VMCTR_IMAGE_LAYER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "image/layer/layer.h"

struct archive;
struct archive_entry;

/* A set of normalized paths (open addressing, owned copies). */
typedef struct vmctr__layer_pathset {
  char **slots;
  size_t cap, len;
} vmctr__layer_pathset;

int vmctr__pathset_add(vmctr__layer_pathset *s, const char *path); /* 1 added, 0 present, <0 error */
bool vmctr__pathset_has(const vmctr__layer_pathset *s, const char *path);
void vmctr__pathset_free(vmctr__layer_pathset *s);

/* A directory whose mode and times are set once the layer is complete, so
 * that creating its children neither bumps its mtime nor needs write access. */
typedef struct vmctr__layer_dirmeta {
  char *path; /* normalized; "" is the root */
  uint32_t mode;
  struct timespec times[2];
} vmctr__layer_dirmeta;

typedef struct vmctr__layer_ctx {
  int root_fd;
  vmctr__layer_opts opts;
  bool is_root;
  struct archive *a;
  /* One cached parent directory: tar streams list a directory's files together. */
  char *cache_path;
  int cache_fd;
  vmctr__layer_pathset seen; /* paths created by this layer (opaque dirs and whiteouts spare them) */
  vmctr__layer_dirmeta *dirs;
  size_t ndirs, dirs_cap;
  char disp[224]; /* the current entry's name for messages, shortened */
  uint64_t entries, skipped, blob_size;
  vmctr__layer_usage own_usage, *usage; /* usage: opts.usage, else own_usage */
  struct timespec last_progress;
  char *pathbuf, *linkbuf; /* PATH_MAX each */
} vmctr__layer_ctx;

#define LAYER_PATH_MAX 4096

/* Normalize a tar path into out (LAYER_PATH_MAX): drop "./" prefixes, "."
 * and empty components and a trailing '/'. Refuses absolute paths, ".."
 * components and over-long paths. "" is the root. Errors name what. */
int vmctr__layer_normalize(vmctr__layer_ctx *c, const char *what, const char *in, char *out);

/* The directory that holds path (normalized, not ""), resolved beneath the
 * root without following any symlink that leaves it, into *fd; *name gets the
 * last component. Missing parents are created (0755) when create is set, else
 * 1 is returned for a missing one. The fd is borrowed from the cache unless
 * own is set (then the caller closes it). */
int vmctr__layer_parent(vmctr__layer_ctx *c, const char *path, bool create, bool own,
                        const char **name, int *fd);
/* Open path itself (a directory) beneath the root, final symlink not
 * followed; a negative errno on failure (no error recorded). */
int vmctr__layer_open_dir(vmctr__layer_ctx *c, const char *path, int flags);
/* Before removing or replacing the directory or symlink at path: drop the
 * cached parent unless it is path's own parent. */
void vmctr__layer_cache_forget(vmctr__layer_ctx *c, const char *path);
void vmctr__layer_cache_clear(vmctr__layer_ctx *c);

/* Remove name in dirfd, recursively for a directory, never following links. */
int vmctr__layer_rm_rf(int dirfd, const char *name);
/* Make room for a new entry at dirfd/name (path is its normalized path). */
int vmctr__layer_replace(vmctr__layer_ctx *c, int dirfd, const char *name, const char *path);
/* Whiteouts: ".wh.<name>" in path's directory, and the opaque marker. */
int vmctr__layer_whiteout(vmctr__layer_ctx *c, const char *path, const char *base);

/* Create one entry (everything but whiteouts). */
int vmctr__layer_entry(vmctr__layer_ctx *c, struct archive_entry *e, const char *path);
/* Report progress if due (force: start and end). Nonzero callback: cancel. */
int vmctr__layer_progress(vmctr__layer_ctx *c, bool force);

/* Count n more bytes of file data against opts.max_bytes (ETOOBIG past it). */
int vmctr__layer_charge_bytes(vmctr__layer_ctx *c, uint64_t n);

/* Record an error about the current entry: "layer entry 'x': ...". */
int vmctr__layer_err(vmctr__layer_ctx *c, int code, int os_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
