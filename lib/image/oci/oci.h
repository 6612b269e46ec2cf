/* SPDX-License-Identifier: MIT */
/* Reading container images (OCI image layout, oci-archive, docker-archive)
 * into a content-addressed blob directory, and writing an OCI layout from a
 * rootfs directory. See doc/oci.md. */
#ifndef VMCTR_IMAGE_OCI_H
#define VMCTR_IMAGE_OCI_H

#include <stddef.h>
#include <stdint.h>

#include "vmctr/progress.h"

typedef struct vmctr__oci_layer {
  char digest[72];      /* "sha256:<hex>" of the blob as stored in the blob dir */
  char *media_type;
  uint64_t size;
} vmctr__oci_layer;

typedef struct vmctr__oci_image {
  char manifest_digest[72], config_digest[72];
  char *os, *architecture, *variant;
  vmctr__oci_layer *layers;
  size_t n_layers;
  char **entrypoint, **cmd, **env;  /* from the image config; NULL when absent */
  char *workdir, *user;
  char *config_json;                /* the raw config document */
} vmctr__oci_image;

void vmctr__oci_image_free(vmctr__oci_image *img);

/* Read the image at src (an OCI layout directory, an oci-archive or a
 * docker-archive, detected by content; "PATH:REF" picks a ref name when PATH
 * itself does not exist). arch "amd64"/"arm64", NULL = the host's. Every blob
 * the image needs ends up verified in blob_dir/sha256/<hex>. */
int vmctr__oci_fetch(const char *src, const char *blob_dir, const char *arch,
                     vmctr_progress_fn fn, void *userdata, vmctr__oci_image **out);

/* The same from an image source built elsewhere (the registry client's): see
 * struct oci_src in oci-priv.h. The source stays the caller's to close. */
struct oci_src;
int vmctr__oci_fetch_src(struct oci_src *s, const char *blob_dir, const char *arch,
                         vmctr_progress_fn fn, void *userdata, vmctr__oci_image **out);

typedef struct vmctr__oci_build_params {
  const char *const *entrypoint, *const *cmd, *const *env;  /* NULL-terminated or NULL */
  const char *workdir, *user;
  const char *architecture;   /* NULL = host */
  const char *ref_name;       /* org.opencontainers.image.ref.name annotation, NULL = "latest" */
  vmctr_progress_fn progress;
  void *userdata;
} vmctr__oci_build_params;

/* Write an OCI layout with one gzip layer holding rootfs_dir. layout_dir must
 * not exist (or be an empty directory); it appears complete or not at all. */
int vmctr__oci_write_layout(const char *rootfs_dir, const char *layout_dir,
                            const vmctr__oci_build_params *p);

/* The guest architecture for the host, in OCI spelling ("amd64", "arm64"). */
const char *vmctr__oci_host_arch(void);

#endif
