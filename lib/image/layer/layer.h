/* SPDX-License-Identifier: MIT */
/* Applying one OCI layer (a tar changeset, optionally gzip or zstd) into a
 * rootfs directory. Every layer is treated as hostile: see doc/layers.md. */
#ifndef VMCTR_IMAGE_LAYER_H
#define VMCTR_IMAGE_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmctr/progress.h"

/* What an image has unpacked so far: layers add to it, and the limits of
 * vmctr__layer_opts apply to these running totals. bytes counts the file data
 * actually written (a sparse entry's holes count nothing); entries counts
 * every tar header (whiteouts and skipped device nodes too). */
typedef struct vmctr__layer_usage {
  uint64_t bytes, entries;
} vmctr__layer_usage;

typedef struct vmctr__layer_opts {
  bool keep_owner;    /* chown entries to their uid/gid and keep setuid/setgid bits (as root);
                         else entries stay owned by the caller and lose those bits */
  bool allow_devices; /* create char/block device nodes (root only); else skip each with a
                         warning through the log */
  /* Progress (vmctr/progress.h): this layer is item item_index of item_count;
   * bytes_before/bytes_total place it in the whole operation. */
  vmctr_progress_fn progress;
  void *userdata;
  const char *item;
  uint32_t item_index, item_count;
  uint64_t bytes_before, bytes_total;
  /* Limits on usage (0: none). A layer that would pass one stops with
   * VMCTR_ETOOBIG, naming the limit and limit_hint (how to raise it). */
  uint64_t max_bytes, max_entries;
  const char *limit_hint;
  vmctr__layer_usage *usage; /* in/out running totals; NULL: this layer alone */
} vmctr__layer_opts;

/* Apply the layer at blob_path (tar, gzip or zstd, detected by magic bytes)
 * into the directory root_fd. opts may be NULL (defaults: all false). On
 * error: a VMCTR_E* code with a message naming the entry; nothing has been
 * written outside root_fd (what was written inside stays: the caller
 * discards its staging directory). */
int vmctr__layer_apply(int root_fd, const char *blob_path, const vmctr__layer_opts *opts);

/* The same from a memory buffer (the fuzzer's entry point). */
int vmctr__layer_apply_mem(int root_fd, const void *data, size_t len,
                           const vmctr__layer_opts *opts);

/* Tests only: resolve parents with the portable component walk instead of
 * openat2(2), as on kernels older than 5.6. */
void vmctr__layer_force_walk(bool on);

#endif
