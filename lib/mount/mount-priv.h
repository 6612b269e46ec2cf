/* SPDX-License-Identifier: MIT */
/* Private to lib/mount: the mount object's representation, its value
 * checks and the names of its modes. Other layers include mount/mount.h. */
#ifndef VMCTR_MOUNT_PRIV_H
#define VMCTR_MOUNT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "mount/mount.h"

struct vmctr_mount {
  uint32_t kind;
  char *source;      /* host path (block, share), guest source (any), NULL for tmpfs */
  char *destination; /* always set */
  bool read_only;
  char *options; /* extra options, comma-separated, or NULL */
  /* block */
  uint32_t format, caching, sync, image_format;
  bool ephemeral; /* its content is thrown away when the VM ends */
  /* share */
  char *tag;
  uint32_t share_cache;
  /* What the source was found to be when the library took its copy
   * (vmctr__mount_settle): 0 not yet looked at (a directory), else
   * VMCTR__SHARE_DIR or VMCTR__SHARE_FILE. Not in JSON: it is the host's. */
  uint32_t share_type;
  /* tmpfs */
  uint64_t tmpfs_size;
  uint32_t tmpfs_mode;
  /* any */
  char *type;
};

/* A mount of kind with every default and no strings (NULL + ENOMEM recorded on failure). */
vmctr_mount *vmctr__mount_alloc(uint32_t kind);

/* Value checks shared by setters, the JSON reader and validate. Each records
 * the error with `what` as a prefix and returns code. */
int vmctr__mount_check_destination(const char *dest, int code, const char *what);
int vmctr__mount_check_options(const char *options, int code, const char *what);
int vmctr__mount_check_tag(const char *tag, int code, const char *what);
int vmctr__mount_check_type(const char *type, int code, const char *what);

/* Names of kinds and modes, as JSON and the spec syntax write them; NULL
 * for an unknown value. The lookups return 0 for an unknown name. */
const char *vmctr__mount_kind_name(uint32_t kind);
const char *vmctr__mount_caching_name(uint32_t v);
const char *vmctr__mount_sync_name(uint32_t v);
const char *vmctr__mount_share_cache_name(uint32_t v);
const char *vmctr__mount_format_name(uint32_t v);
const char *vmctr__mount_image_format_name(uint32_t v);
uint32_t vmctr__mount_kind_from_name(const char *s);
uint32_t vmctr__mount_caching_from_name(const char *s);
uint32_t vmctr__mount_sync_from_name(const char *s);
uint32_t vmctr__mount_share_cache_from_name(const char *s);
uint32_t vmctr__mount_format_from_name(const char *s);
uint32_t vmctr__mount_image_format_from_name(const char *s);

#endif
