/* SPDX-License-Identifier: MIT */
/* Import: fetch and verify blobs, apply the layers into a staging directory,
 * write image.json, and publish the snapshot with one rename. Per-image
 * locks make concurrent imports of one image produce one snapshot. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/options.h"
#include "core/log.h"
#include "core/util.h"
#include "image/layer/layer.h"
#include "image/oci/oci.h"
#include "image/registry/ref.h"
#include "image/store/store-priv.h"

#define IMPORT_KNOWN_FLAGS (VMCTR_IMAGE_IMPORT_NO_DEVICES | VMCTR_IMAGE_IMPORT_NO_SYNC)

/* Version 1 ends at userdata, version 2 at max_entries. */
#define IMPORT_V1_SIZE (offsetof(vmctr_image_import_options, userdata) + sizeof(void *))
#define IMPORT_V2_SIZE (offsetof(vmctr_image_import_options, max_entries) + sizeof(uint64_t))

static size_t import_size(uint32_t version) {
  return version == 1 ? IMPORT_V1_SIZE : version == 2 ? IMPORT_V2_SIZE : 0;
}

int vmctr_image_import_options_init(vmctr_image_import_options *opts, uint32_t version) {
  static const vmctr_image_import_options def = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  if (opts && import_size(version)) {
    memcpy(opts, &def, import_size(version));
    opts->version = version;
    return 0;
  }
  return vmctr__options_init(opts, &def, sizeof(def), version, VMCTR_IMAGE_IMPORT_OPTIONS_VERSION,
                             "vmctr_image_import_options");
}

/* The caller's options as the latest version: fields its version lacks get
 * their defaults, and 0 limits the default limits. */
static int import_opts(const vmctr_image_import_options *in, vmctr_image_import_options *o) {
  static const vmctr_image_import_options def = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  uint32_t head[2];
  int r;
  *o = def;
  if (!in)
    goto limits;
  memcpy(head, in, sizeof(head));
  if (!import_size(head[0]) && head[0] != VMCTR_IMAGE_IMPORT_OPTIONS_VERSION)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_import_options: unknown version %u (this "
                      "library knows 1 to %u)", head[0], VMCTR_IMAGE_IMPORT_OPTIONS_VERSION);
  if (import_size(head[0])) {
    memcpy(o, in, import_size(head[0]));
    o->version = VMCTR_IMAGE_IMPORT_OPTIONS_VERSION;
  } else {
    *o = *in;
  }
  if ((r = vmctr__options_check(o, VMCTR_IMAGE_IMPORT_OPTIONS_VERSION, IMPORT_KNOWN_FLAGS,
                                "vmctr_image_import_options")) < 0)
    return r;
limits:
  if (!o->max_bytes)
    o->max_bytes = VMCTR_IMAGE_IMPORT_DEFAULT_MAX_BYTES;
  if (!o->max_entries)
    o->max_entries = VMCTR_IMAGE_IMPORT_DEFAULT_MAX_ENTRIES;
  return 0;
}

/* Apply every layer into staging/rootfs and write staging/image.json. */
static int unpack(vmctr_image_store *s, const char *staging, const vmctr__oci_image *oci,
                  const vmctr_image_import_options *o) {
  char *rootfs = vmctr__path_join(staging, "rootfs"), *blob = NULL;
  int root_fd = -1, r;
  uint64_t total = 0, before = 0;
  bool root = geteuid() == 0;
  vmctr__layer_usage usage = {0, 0};
  if (!rootfs)
    return VMCTR_ENOMEM;
  if (mkdirat(s->root_fd, rootfs, 0755) < 0 ||
      (root_fd = openat(s->root_fd, rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    r = vmctr__err_os(errno, "%s/%s", s->root, rootfs);
    goto out;
  }
  for (size_t i = 0; i < oci->n_layers; i++)
    total += oci->layers[i].size;
  for (size_t i = 0; i < oci->n_layers; i++) {
    const vmctr__oci_layer *l = &oci->layers[i];
    vmctr__layer_opts lo = {
      .keep_owner = root,
      .allow_devices = root && !(o->flags & VMCTR_IMAGE_IMPORT_NO_DEVICES),
      .progress = o->progress,
      .userdata = o->userdata,
      .item = l->digest,
      .item_index = (uint32_t)i,
      .item_count = (uint32_t)oci->n_layers,
      .bytes_before = before,
      .bytes_total = total,
      .max_bytes = o->max_bytes == UINT64_MAX ? 0 : o->max_bytes,
      .max_entries = o->max_entries == UINT64_MAX ? 0 : o->max_entries,
      .limit_hint = "to import it anyway, raise max_bytes / max_entries in "
                    "vmctr_image_import_options",
      .usage = &usage,
    };
    if (strncmp(l->digest, "sha256:", 7) != 0) {
      r = vmctr__err(VMCTR_EPARSE, 0, "layer %zu: unsupported digest %s", i, l->digest);
      goto out;
    }
    free(blob);
    if (!(blob = malloc(strlen(s->root) + 16 + strlen(l->digest)))) {
      r = vmctr__err_nomem();
      goto out;
    }
    sprintf(blob, "%s/blobs/sha256/%s", s->root, l->digest + 7);
    if ((r = vmctr__layer_apply(root_fd, blob, &lo)) < 0) {
      char what[128];
      snprintf(what, sizeof(what), "layer %zu/%zu (%.19s)", i + 1, oci->n_layers, l->digest);
      if (r != VMCTR_ECANCELED)
        vmctr__err_prefix(what);
      goto out;
    }
    before += l->size;
  }
  {
    char *dir = vmctr__path_join(s->root, staging);
    r = dir ? vmctr__image_json_write(dir, oci) : VMCTR_ENOMEM;
    free(dir);
  }
out:
  if (root_fd >= 0)
    close(root_fd);
  free(blob);
  free(rootfs);
  return r;
}

/* Called with the image's import lock held: build and publish snapshots/<hex>. */
static int build_snapshot(vmctr_image_store *s, const char *hex, const vmctr__oci_image *oci,
                          const vmctr_image_import_options *o) {
  char *staging = NULL, dst[VMCTR__DIGEST_HEX + 16];
  int sfd = -1, r;
  if ((r = vmctr__store_staging(s->root_fd, "import", &staging, &sfd)) < 0)
    return r;
  if ((r = unpack(s, staging, oci, o)) < 0)
    goto out;
  /* Durable content before the name appears, so a crash never publishes a torn snapshot. */
  if (!(o->flags & VMCTR_IMAGE_IMPORT_NO_SYNC) && syncfs(sfd) < 0) {
    r = vmctr__err_os(errno, "syncing the image store %s", s->root);
    goto out;
  }
  snprintf(dst, sizeof(dst), "snapshots/%s", hex);
  if (renameat(s->root_fd, staging, s->root_fd, dst) < 0) {
    r = vmctr__err_os(errno, "publishing %s/%s", s->root, dst);
    goto out;
  }
  vmctr__log(VMCTR_LOG_INFO, "image", "imported sha256:%s into %s", hex, s->root);
  r = 0;
out:
  if (r < 0)
    (void)vmctr__rm_rf_at(s->root_fd, staging); /* keeps the first error */
  close(sfd);
  free(staging);
  return r;
}

/* Fetch (from the path source, or from src when not NULL), unpack and
 * publish; then remember the source (known, may be NULL) and the name (tag,
 * may be NULL). */
static int import_common(vmctr_image_store *s, const char *source, struct oci_src *src,
                         const vmctr_image_import_options *o, const char *tag,
                         const vmctr__known *known, vmctr_image **out) {
  vmctr__oci_image *oci = NULL;
  char *blobs = NULL, name[VMCTR__DIGEST_HEX + 16];
  const char *hex;
  size_t hlen;
  int lock = -1, busy = -1, r;
  struct stat st;

  vmctr__store_clean_tmp(s->root_fd);
  /* Shared for the whole import: the sweeper (exclusive) never takes this
   * import's blob temp files or staging for debris. */
  if ((busy = vmctr__store_lock(s->root_fd, "store.lock", LOCK_SH, false)) < 0)
    return busy;
  if (!(blobs = vmctr__path_join(s->root, "blobs"))) {
    close(busy);
    return VMCTR_ENOMEM;
  }
  r = src ? vmctr__oci_fetch_src(src, blobs, o->architecture, o->progress, o->userdata, &oci)
          : vmctr__oci_fetch(source, blobs, o->architecture, o->progress, o->userdata, &oci);
  if (r < 0)
    goto out;
  hex = vmctr__digest_hex(oci->config_digest, &hlen);
  if (!hex || hlen != VMCTR__DIGEST_HEX || hex == oci->config_digest) {
    r = vmctr__err(VMCTR_EPARSE, 0, "unsupported config digest %s", oci->config_digest);
    goto out;
  }
  snprintf(name, sizeof(name), "%s.import", hex);
  /* Exclusive per image: a second importer waits here and then finds the snapshot. */
  if ((lock = vmctr__store_lock(s->root_fd, name, LOCK_EX, false)) < 0) {
    r = lock;
    goto out;
  }
  snprintf(name, sizeof(name), "snapshots/%s", hex);
  if (fstatat(s->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT) {
      r = vmctr__err_os(errno, "%s/%s", s->root, name);
      goto out;
    }
    if ((r = build_snapshot(s, hex, oci, o)) < 0)
      goto out;
  } else {
    vmctr__log(VMCTR_LOG_DEBUG, "image", "sha256:%s is already in the store", hex);
  }
  if (known)
    vmctr__known_source_put(s, source, known, hex);
  if (tag && (r = vmctr__store_record_set(s, "tags", tag, hex)) < 0)
    goto out;
  r = out ? vmctr__image_open(s, hex, out) : 0;
out:
  if (r < 0 && r != VMCTR_ECANCELED && r != VMCTR_ENOMEM) {
    char what[512];
    snprintf(what, sizeof(what), "importing %s", source);
    vmctr__err_prefix(what);
  }
  if (lock >= 0)
    close(lock);
  close(busy);
  vmctr__oci_image_free(oci);
  free(blobs);
  return r;
}

int vmctr__store_import_src(vmctr_image_store *s, struct oci_src *src, const char *what,
                            const vmctr_image_import_options *o, const char *tag,
                            vmctr_image **out) {
  return import_common(s, what, src, o, tag, NULL, out);
}

int vmctr_image_store_import(vmctr_image_store *s, const char *source,
                             const vmctr_image_import_options *opts, vmctr_image **out) {
  vmctr_image_import_options ob, *o = &ob;
  char known_hex[VMCTR__DIGEST_HEX + 1], tag[VMCTR__REF_MAX * 2];
  const char *arch;
  int r;
  vmctr__known known;
  vmctr__ref ref;

  if (!s || !source || !*source)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_import: %s is NULL",
                      !s ? "store" : "source");
  if ((r = import_opts(opts, &ob)) < 0)
    return r;
  if (o->name && vmctr__ref_parse(o->name, &ref) < 0)
    return vmctr__err_prefix("vmctr_image_import_options.name");
  if (o->name && !vmctr__ref_format(&ref, tag, sizeof(tag)))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_import_options.name is too long");
  arch = o->architecture ? o->architecture : vmctr__oci_host_arch();
  /* Imported before: no need to read it again. */
  if ((r = vmctr__known_source(s, source, arch, &known, known_hex)) < 0)
    return r;
  if (r == 1) {
    vmctr__log(VMCTR_LOG_DEBUG, "image", "%s is sha256:%s, already in the store", source,
               known_hex);
    if (o->name && (r = vmctr__store_record_set(s, "tags", tag, known_hex)) < 0)
      return r;
    return out ? vmctr__image_open(s, known_hex, out) : 0;
  }
  return import_common(s, source, NULL, o, o->name ? tag : NULL, &known, out);
}
