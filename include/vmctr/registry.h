/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/registry.h
 * @brief Pulling images from, and pushing them to, OCI registries.
 *
 * The client speaks the OCI distribution protocol over HTTPS with libcurl.
 * A pulled image lands in an image store exactly as an imported one does,
 * with its reference as its name (see vmctr_image_store_lookup()). Blobs are
 * verified against their digests while they arrive, written under temporary
 * names and published by rename, so a failed pull leaves nothing half-written.
 * See doc/registry.md for references, credentials and TLS.
 *
 * Threads: the calls block; progress runs on the calling thread.
 */
#ifndef VMCTR_REGISTRY_H
#define VMCTR_REGISTRY_H

#include <stdint.h>

#include "vmctr/common.h"
#include "vmctr/image.h"
#include "vmctr/progress.h"

VMCTR_BEGIN_DECLS

/** Registry flag: talk plain http:// to the registry (and its mirrors). Off by default. */
#define VMCTR_REGISTRY_INSECURE_HTTP (1u << 0)
/** Registry flag: do not read ~/.docker/config.json (nor run credential helpers). */
#define VMCTR_REGISTRY_NO_DOCKER_CONFIG (1u << 1)
/** Pull flag (vmctr_image_pull): skip the syncfs() of the new snapshot, as
 *  VMCTR_IMAGE_IMPORT_NO_SYNC. */
#define VMCTR_REGISTRY_NO_SYNC (1u << 2)

/** Options of vmctr_image_pull() and vmctr_image_push(). */
typedef struct vmctr_registry_options {
  uint32_t version;           /**< VMCTR_REGISTRY_OPTIONS_VERSION */
  uint32_t flags;             /**< VMCTR_REGISTRY_* bits */
  /** The platform to pull from an index: "amd64", "arm64", "linux/arm64"; NULL: the host's. */
  const char *platform;
  vmctr_progress_fn progress; /**< phase VMCTR_PROGRESS_COPY while blobs arrive; may be NULL */
  void *userdata;             /**< passed to progress */
  /** Mirrors tried in order before the registry itself, as base URLs
   *  ("https://mirror.example:5000"); NULL-terminated, or NULL. */
  const char *const *mirrors;
  /** A PEM file of CA certificates trusted for this registry, besides the system's; NULL: none. */
  const char *ca_file;
  /** Credentials; NULL: from the Docker configuration (auths, credHelpers, credsStore). */
  const char *username;
  const char *password;       /**< never logged nor put in a message */
  /** The Docker configuration to read; NULL: $DOCKER_CONFIG/config.json, else
   *  ~/.docker/config.json. */
  const char *docker_config;
  uint32_t max_connections;   /**< blob downloads at once; 0: 4 */
  uint32_t stall_timeout_ms;  /**< fail a transfer that moves no byte for this long; 0: 30000 */
  uint32_t retries;           /**< per request on 429, 5xx and broken transfers; 0: 4 */
} vmctr_registry_options;

/** The version of vmctr_registry_options in this header. */
#define VMCTR_REGISTRY_OPTIONS_VERSION 1u
/** Initializer for vmctr_registry_options. */
#define VMCTR_REGISTRY_OPTIONS_INIT \
  { VMCTR_REGISTRY_OPTIONS_VERSION, 0u, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0u, 0u, 0u }

/**
 * Fill opts with the defaults of VMCTR_REGISTRY_OPTIONS_INIT.
 * @return 0, or VMCTR_EINVAL (NULL opts, unknown version).
 */
VMCTR_API int vmctr_registry_options_init(vmctr_registry_options *opts, uint32_t version);

/**
 * Pull an image from its registry into the store and unpack it.
 *
 * The manifest, or the index and then the manifest for opts->platform (the
 * same rules as vmctr_image_store_import()), is fetched by tag or digest;
 * the layers not already in the store are downloaded several at once, each
 * verified while it arrives, resumed with a Range request when a transfer
 * breaks, and retried with backoff on 429 and 5xx. The image is then named
 * by the normalized reference.
 *
 * @param ref  an image reference ("busybox:1.36", "host:5000/ns/app@sha256:...").
 * @param out  receives the image (free with vmctr_image_free()); may be NULL.
 * @return 0; VMCTR_EINVAL (bad reference or options), VMCTR_ENOENT (no such
 *         image or platform), VMCTR_EPERM (authentication refused),
 *         VMCTR_EPARSE (a bad document or blob from the registry: the message
 *         names the reference and the blob), VMCTR_ETOOBIG, VMCTR_ETIMEDOUT
 *         (stalled), VMCTR_EIO (network or TLS: the message says which),
 *         VMCTR_ECANCELED or VMCTR_ENOMEM. On failure the store holds no new
 *         snapshot, name or partial blob.
 */
VMCTR_API int vmctr_image_pull(vmctr_image_store *store, const char *ref,
                               const vmctr_registry_options *opts, vmctr_image **out);

/**
 * Push an image of the store to a registry.
 *
 * Each blob is first checked with HEAD and not sent if the registry has it;
 * a blob of the same registry's other repository is mounted instead of sent.
 * The manifest the image was imported from is put last, under ref's tag (or digest).
 *
 * @param image the image to push, as for vmctr_image_store_lookup().
 * @param ref   where to push it ("host:5000/ns/app:1").
 * @return 0; VMCTR_EINVAL, VMCTR_ENOENT (no such image, or a blob missing
 *         from the store), VMCTR_EPERM, VMCTR_EIO, VMCTR_ETIMEDOUT, VMCTR_ECANCELED or
 *         VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_image_push(vmctr_image_store *store, const char *image, const char *ref,
                               const vmctr_registry_options *opts);

VMCTR_END_DECLS

#endif /* VMCTR_REGISTRY_H */
