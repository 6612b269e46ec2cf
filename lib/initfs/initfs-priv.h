/* SPDX-License-Identifier: MIT */
/* lib/initfs internals: validated inputs in memory, and the archive writer. */
#ifndef VMCTR_INITFS_PRIV_H
#define VMCTR_INITFS_PRIV_H

#include <stddef.h>

#include "core/util.h"

#include "initfs/initfs.h"

typedef struct vmctr__initfs_blob {
  char *name; /* plain file name (modules only) */
  char *data;
  size_t len;
} vmctr__initfs_blob;

typedef struct vmctr__initfs_inputs {
  vmctr__initfs_blob init;
  vmctr__initfs_blob *mods; /* in load order */
  size_t n_mods;
  int has_modules; /* modules_dir given (even with an empty load-order) */
} vmctr__initfs_inputs;

/* Read and validate everything p names. On failure nothing is kept. */
int vmctr__initfs_inputs_load(const vmctr__initfs_params *p, vmctr__initfs_inputs *in);
void vmctr__initfs_inputs_free(vmctr__initfs_inputs *in);

/* Append the gzip'd cpio archive of in to out (whole in memory: the inputs
 * already are, and the archive is smaller). path names it in errors. */
int vmctr__initfs_write(const char *path, const vmctr__initfs_inputs *in, vmctr__strbuf *out);

#endif
