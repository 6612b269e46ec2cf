/* SPDX-License-Identifier: MIT */
/* The mount object: constructors, setters and getters, and the names of
 * kinds and modes. Value checks and validate() are in mount-check.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "mount/mount-priv.h"

/* ---- names ---- */

static const char *const kind_names[] = {NULL, "block", "share", "tmpfs", "any"};
static const char *const caching_names[] = {NULL, "auto", "cached", "uncached"};
static const char *const sync_names[] = {NULL, "full", "fsync", "none"};
static const char *const share_cache_names[] = {NULL, "auto", "always", "never"};
static const char *const format_names[] = {NULL, "ext4"};
static const char *const image_format_names[] = {NULL, "raw", "cow"};

#define NAME_OF(table, v) ((v) < VMCTR_ARRAY_SIZE(table) ? (table)[v] : NULL)

static uint32_t index_of(const char *const *table, size_t n, const char *s) {
  for (size_t i = 1; s && i < n; i++)
    if (strcmp(table[i], s) == 0)
      return (uint32_t)i;
  return 0;
}

const char *vmctr__mount_kind_name(uint32_t v) { return NAME_OF(kind_names, v); }
const char *vmctr__mount_caching_name(uint32_t v) { return NAME_OF(caching_names, v); }
const char *vmctr__mount_sync_name(uint32_t v) { return NAME_OF(sync_names, v); }
const char *vmctr__mount_share_cache_name(uint32_t v) { return NAME_OF(share_cache_names, v); }
const char *vmctr__mount_format_name(uint32_t v) { return NAME_OF(format_names, v); }
const char *vmctr__mount_image_format_name(uint32_t v) { return NAME_OF(image_format_names, v); }
uint32_t vmctr__mount_kind_from_name(const char *s) {
  return index_of(kind_names, VMCTR_ARRAY_SIZE(kind_names), s);
}
uint32_t vmctr__mount_caching_from_name(const char *s) {
  return index_of(caching_names, VMCTR_ARRAY_SIZE(caching_names), s);
}
uint32_t vmctr__mount_sync_from_name(const char *s) {
  return index_of(sync_names, VMCTR_ARRAY_SIZE(sync_names), s);
}
uint32_t vmctr__mount_share_cache_from_name(const char *s) {
  return index_of(share_cache_names, VMCTR_ARRAY_SIZE(share_cache_names), s);
}
uint32_t vmctr__mount_format_from_name(const char *s) {
  return index_of(format_names, VMCTR_ARRAY_SIZE(format_names), s);
}
uint32_t vmctr__mount_image_format_from_name(const char *s) {
  return index_of(image_format_names, VMCTR_ARRAY_SIZE(image_format_names), s);
}

/* ---- life cycle ---- */

/* Replace *slot with a copy of value (NULL clears). */
static int set_str(char **slot, const char *value) {
  char *copy = NULL;
  if (value && !(copy = vmctr__strdup(value)))
    return VMCTR_ENOMEM;
  free(*slot);
  *slot = copy;
  return 0;
}

vmctr_mount *vmctr__mount_alloc(uint32_t kind) {
  vmctr_mount *m = calloc(1, sizeof(*m));
  if (!m) {
    vmctr__err_nomem();
    return NULL;
  }
  m->kind = kind;
  m->format = VMCTR_MOUNT_FORMAT_EXT4;
  m->image_format = VMCTR_MOUNT_IMAGE_RAW;
  m->caching = VMCTR_MOUNT_DEFAULT_CACHING;
  m->sync = VMCTR_MOUNT_DEFAULT_SYNC;
  m->share_cache = VMCTR_MOUNT_SHARE_CACHE_AUTO;
  m->tmpfs_mode = VMCTR_MOUNT_DEFAULT_TMPFS_MODE;
  return m;
}

static int new_mount(vmctr_mount **out, uint32_t kind, const char *fn, const char *source,
                     const char *destination) {
  vmctr_mount *m;
  int r;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: out is NULL", fn);
  /* Block and share mounts may have no destination: a container's root. */
  if ((destination || kind == VMCTR_MOUNT_TMPFS || kind == VMCTR_MOUNT_ANY) &&
      (r = vmctr__mount_check_destination(destination, VMCTR_EINVAL, fn)) < 0)
    return r;
  if (kind != VMCTR_MOUNT_TMPFS && kind != VMCTR_MOUNT_ANY && (!source || !*source))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the host path is %s; give the %s to mount", fn,
                      source ? "empty" : "NULL",
                      kind == VMCTR_MOUNT_BLOCK ? "disk image or block device"
                                                : "directory (or the file)");
  if (!(m = vmctr__mount_alloc(kind)))
    return VMCTR_ENOMEM;
  if (set_str(&m->destination, destination) < 0 || set_str(&m->source, source) < 0) {
    vmctr_mount_free(m);
    return VMCTR_ENOMEM;
  }
  *out = m;
  return 0;
}

int vmctr_mount_new_block(vmctr_mount **out, const char *host_path, const char *destination) {
  return new_mount(out, VMCTR_MOUNT_BLOCK, "vmctr_mount_new_block", host_path, destination);
}

int vmctr_mount_new_share(vmctr_mount **out, const char *host_dir, const char *destination) {
  return new_mount(out, VMCTR_MOUNT_SHARE, "vmctr_mount_new_share", host_dir, destination);
}

int vmctr_mount_new_tmpfs(vmctr_mount **out, const char *destination) {
  return new_mount(out, VMCTR_MOUNT_TMPFS, "vmctr_mount_new_tmpfs", NULL, destination);
}

int vmctr_mount_new_any(vmctr_mount **out, const char *type, const char *source,
                        const char *destination) {
  vmctr_mount *m = NULL;
  int r;
  if (source && !*source)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_new_any: the source is empty; give one or pass NULL");
  if ((r = vmctr__mount_check_type(type, VMCTR_EINVAL, "vmctr_mount_new_any")) < 0)
    return r;
  if ((r = new_mount(&m, VMCTR_MOUNT_ANY, "vmctr_mount_new_any", source ? source : "none",
                     destination)) < 0)
    return r;
  if (set_str(&m->type, type) < 0) {
    vmctr_mount_free(m);
    return VMCTR_ENOMEM;
  }
  *out = m;
  return 0;
}

int vmctr_mount_clone(vmctr_mount **out, const vmctr_mount *m) {
  vmctr_mount *c;
  if (!out || !m)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_clone: %s is NULL", out ? "m" : "out");
  if (!(c = malloc(sizeof(*c))))
    return vmctr__err_nomem();
  *c = *m;
  c->source = c->destination = c->options = c->tag = c->type = NULL;
  if (set_str(&c->source, m->source) < 0 || set_str(&c->destination, m->destination) < 0 ||
      set_str(&c->options, m->options) < 0 || set_str(&c->tag, m->tag) < 0 ||
      set_str(&c->type, m->type) < 0) {
    vmctr_mount_free(c);
    return VMCTR_ENOMEM;
  }
  *out = c;
  return 0;
}

void vmctr_mount_free(vmctr_mount *m) {
  if (!m)
    return;
  free(m->source);
  free(m->destination);
  free(m->options);
  free(m->tag);
  free(m->type);
  free(m);
}

/* ---- common properties ---- */

#define NEED_M(fn)                                                                            \
  do {                                                                                        \
    if (!m)                                                                                   \
      return vmctr__err(VMCTR_EINVAL, 0, fn ": m is NULL");                                   \
  } while (0)

/* A kind-specific setter on another kind is a caller's mistake worth a clear message. */
static int need_kind(const vmctr_mount *m, uint32_t kind, const char *fn) {
  if (!m)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: m is NULL", fn);
  if (m->kind != kind)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: applies to %s mounts only, and this is a %s mount",
                      fn, vmctr__mount_kind_name(kind), vmctr__mount_kind_name(m->kind));
  return 0;
}

uint32_t vmctr_mount_kind(const vmctr_mount *m) { return m ? m->kind : 0; }

int vmctr_mount_set_source(vmctr_mount *m, const char *source) {
  NEED_M("vmctr_mount_set_source");
  if (source && !*source)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_source: the source is empty; give a path or pass NULL");
  return set_str(&m->source, source);
}

const char *vmctr_mount_source(const vmctr_mount *m) { return m ? m->source : NULL; }

int vmctr_mount_set_destination(vmctr_mount *m, const char *destination) {
  int r;
  NEED_M("vmctr_mount_set_destination");
  if ((r = vmctr__mount_check_destination(destination, VMCTR_EINVAL,
                                          "vmctr_mount_set_destination")) < 0)
    return r;
  return set_str(&m->destination, destination);
}

const char *vmctr_mount_destination(const vmctr_mount *m) { return m ? m->destination : NULL; }

int vmctr_mount_set_read_only(vmctr_mount *m, int32_t read_only) {
  NEED_M("vmctr_mount_set_read_only");
  if (read_only != 0 && read_only != 1)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_set_read_only: %d is not 0 or 1",
                      (int)read_only);
  m->read_only = read_only == 1;
  return 0;
}

int32_t vmctr_mount_read_only(const vmctr_mount *m) { return m && m->read_only ? 1 : 0; }

int vmctr_mount_set_options(vmctr_mount *m, const char *options) {
  int r;
  NEED_M("vmctr_mount_set_options");
  if (options && !*options)
    options = NULL;
  if (options &&
      (r = vmctr__mount_check_options(options, VMCTR_EINVAL, "vmctr_mount_set_options")) < 0)
    return r;
  return set_str(&m->options, options);
}

const char *vmctr_mount_options(const vmctr_mount *m) { return m ? m->options : NULL; }

/* ---- block ---- */

int vmctr_mount_set_format(vmctr_mount *m, uint32_t format) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_BLOCK, "vmctr_mount_set_format")) < 0)
    return r;
  if (!vmctr__mount_format_name(format))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_format: unknown format %u; use VMCTR_MOUNT_FORMAT_EXT4",
                      format);
  m->format = format;
  return 0;
}

uint32_t vmctr_mount_format(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_BLOCK ? m->format : 0;
}

int vmctr_mount_set_image_format(vmctr_mount *m, uint32_t image_format) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_BLOCK, "vmctr_mount_set_image_format")) < 0)
    return r;
  if (!vmctr__mount_image_format_name(image_format))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_image_format: unknown image format %u; use "
                      "VMCTR_MOUNT_IMAGE_RAW or VMCTR_MOUNT_IMAGE_COW",
                      image_format);
  m->image_format = image_format;
  return 0;
}

uint32_t vmctr_mount_image_format(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_BLOCK ? m->image_format : 0;
}

int vmctr_mount_set_caching(vmctr_mount *m, uint32_t caching) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_BLOCK, "vmctr_mount_set_caching")) < 0)
    return r;
  if (!vmctr__mount_caching_name(caching))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_caching: unknown caching mode %u; use "
                      "VMCTR_MOUNT_CACHING_AUTO, _CACHED or _UNCACHED",
                      caching);
  m->caching = caching;
  return 0;
}

uint32_t vmctr_mount_caching(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_BLOCK ? m->caching : 0;
}

int vmctr_mount_set_sync(vmctr_mount *m, uint32_t sync) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_BLOCK, "vmctr_mount_set_sync")) < 0)
    return r;
  if (!vmctr__mount_sync_name(sync))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_sync: unknown sync mode %u; use VMCTR_MOUNT_SYNC_FULL, "
                      "_FSYNC or _NONE",
                      sync);
  m->sync = sync;
  return 0;
}

uint32_t vmctr_mount_sync(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_BLOCK ? m->sync : 0;
}

int vmctr_mount_set_ephemeral(vmctr_mount *m, int ephemeral) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_BLOCK, "vmctr_mount_set_ephemeral")) < 0)
    return r;
  if (ephemeral != 0 && ephemeral != 1)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_set_ephemeral: %d is neither 0 nor 1",
                      ephemeral);
  m->ephemeral = ephemeral;
  return 0;
}

int vmctr_mount_ephemeral(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_BLOCK && m->ephemeral;
}

/* ---- share ---- */

int vmctr_mount_set_tag(vmctr_mount *m, const char *tag) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_SHARE, "vmctr_mount_set_tag")) < 0)
    return r;
  if (tag && (r = vmctr__mount_check_tag(tag, VMCTR_EINVAL, "vmctr_mount_set_tag")) < 0)
    return r;
  return set_str(&m->tag, tag);
}

const char *vmctr_mount_tag(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_SHARE ? m->tag : NULL;
}

int vmctr_mount_set_share_cache(vmctr_mount *m, uint32_t cache) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_SHARE, "vmctr_mount_set_share_cache")) < 0)
    return r;
  if (!vmctr__mount_share_cache_name(cache))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_share_cache: unknown cache mode %u; use "
                      "VMCTR_MOUNT_SHARE_CACHE_AUTO, _ALWAYS or _NEVER",
                      cache);
  m->share_cache = cache;
  return 0;
}

uint32_t vmctr_mount_share_cache(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_SHARE ? m->share_cache : 0;
}

/* ---- tmpfs ---- */

int vmctr_mount_set_tmpfs_size(vmctr_mount *m, uint64_t bytes) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_TMPFS, "vmctr_mount_set_tmpfs_size")) < 0)
    return r;
  m->tmpfs_size = bytes;
  return 0;
}

uint64_t vmctr_mount_tmpfs_size(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_TMPFS ? m->tmpfs_size : 0;
}

int vmctr_mount_set_tmpfs_mode(vmctr_mount *m, uint32_t mode) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_TMPFS, "vmctr_mount_set_tmpfs_mode")) < 0)
    return r;
  if (mode > 07777)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_mount_set_tmpfs_mode: mode %o has bits beyond 07777; give "
                      "permission bits only",
                      mode);
  m->tmpfs_mode = mode;
  return 0;
}

uint32_t vmctr_mount_tmpfs_mode(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_TMPFS ? m->tmpfs_mode : 0;
}

/* ---- any ---- */

int vmctr_mount_set_type(vmctr_mount *m, const char *type) {
  int r;
  if ((r = need_kind(m, VMCTR_MOUNT_ANY, "vmctr_mount_set_type")) < 0)
    return r;
  if ((r = vmctr__mount_check_type(type, VMCTR_EINVAL, "vmctr_mount_set_type")) < 0)
    return r;
  return set_str(&m->type, type);
}

const char *vmctr_mount_type(const vmctr_mount *m) {
  if (!m)
    return NULL;
  switch (m->kind) {
  case VMCTR_MOUNT_BLOCK:
    return vmctr__mount_format_name(m->format);
  case VMCTR_MOUNT_SHARE:
    return "virtiofs";
  case VMCTR_MOUNT_TMPFS:
    return "tmpfs";
  default:
    return m->type;
  }
}
