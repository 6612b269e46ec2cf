/* SPDX-License-Identifier: MIT */
/* Shared pieces of lib/image/oci: document parsing, the blob directory
 * writer, progress throttling and the image sources. */
#ifndef VMCTR_IMAGE_OCI_PRIV_H
#define VMCTR_IMAGE_OCI_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sha256.h"
#include "core/util.h"
#include "image/oci/oci.h"

#define OCI_DOC_MAX (4u << 20)          /* index, manifest, config documents */
#define OCI_MAX_LAYERS 512u
#define OCI_MAX_ENTRIES 1024u           /* descriptors in one index */
#define OCI_BLOB_MAX (1ull << 40)       /* 1 TiB: a size above is a lie */

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZST "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define REF_ANNOTATION "org.opencontainers.image.ref.name"

/* A descriptor from an index or manifest. */
typedef struct vmctr__oci_desc {
  char digest[72];
  char *media_type;
  uint64_t size;
  char *os, *arch, *variant, *ref;  /* index entries only; may be NULL */
} vmctr__oci_desc;

typedef struct vmctr__oci_index {
  vmctr__oci_desc *d;
  size_t n;
} vmctr__oci_index;

typedef struct vmctr__oci_manifest {
  vmctr__oci_desc config;
  vmctr__oci_desc *layers;
  size_t n_layers;
} vmctr__oci_manifest;

/* "sha256:<64 lowercase hex>"? On failure records VMCTR_EPARSE (or
 * VMCTR_EUNSUPPORTED for another algorithm) naming `what`. */
int vmctr__oci_check_digest(const char *digest, const char *what);
bool vmctr__oci_is_hex64(const char *s);

void vmctr__oci_desc_clear(vmctr__oci_desc *d);
void vmctr__oci_index_clear(vmctr__oci_index *ix);
void vmctr__oci_manifest_clear(vmctr__oci_manifest *m);
/* Parse untrusted documents. media_type is what the referring descriptor
 * claimed (NULL at the top level); what names the document in messages. */
int vmctr__oci_parse_index(const char *text, size_t len, const char *what, vmctr__oci_index *out);
int vmctr__oci_parse_manifest(const char *text, size_t len, const char *media_type,
                              const char *what, vmctr__oci_manifest *out);
/* Fill the config part of img (os, arch, variant, entrypoint, ...) and check
 * that rootfs.diff_ids has n_layers entries; diff_ids (if not NULL) gets them. */
int vmctr__oci_parse_config(const char *text, size_t len, const char *what, size_t n_layers,
                            vmctr__oci_image *img, char ***diff_ids);
/* Free what vmctr__oci_parse_config filled in and zero img, to try the next candidate. */
void vmctr__oci_image_clear(vmctr__oci_image *img);

/* Platform choice (oci-platform.c). Does an image for os/arch/variant run in
 * a guest of architecture want ("amd64", "arm64")? os must be linux, arch
 * equal; no variant always fits; arm64 takes v8 only; amd64 takes the psABI
 * levels v1..v4, v2 and up only when the host CPU has them (if want is the
 * host's architecture: the guest sees the host's CPU). */
bool vmctr__oci_platform_match(const char *want, const char *os, const char *arch,
                               const char *variant);
/* Add "os/arch[/variant]" to the list of platforms a source offers. */
void vmctr__oci_platform_seen(vmctr__strbuf *seen, const char *os, const char *arch,
                              const char *variant);
/* Record (and return) VMCTR_ENOENT naming want and the platforms seen; frees seen. */
int vmctr__oci_platform_none(const char *src, const char *want, vmctr__strbuf *seen);

/* Is media_type a layer type we can apply? Records a clear error if not. */
int vmctr__oci_check_layer_type(const char *media_type, const char *what);

/* Progress, throttled to a few reports per second per item. */
typedef struct vmctr__oci_prog {
  vmctr_progress_fn fn;
  void *ud;
  vmctr_progress p;
  uint64_t last_ns;
} vmctr__oci_prog;
void vmctr__oci_prog_init(vmctr__oci_prog *pr, vmctr_progress_fn fn, void *ud, uint32_t phase);
/* Report (always when force); VMCTR_ECANCELED recorded when the callback says stop. */
int vmctr__oci_prog_emit(vmctr__oci_prog *pr, bool force);
/* Start an item: resets the per-item counters and reports. */
int vmctr__oci_prog_item(vmctr__oci_prog *pr, const char *item, uint32_t index, uint64_t total);
int vmctr__oci_prog_add(vmctr__oci_prog *pr, uint64_t n);

/* Writing one blob into blob_dir: a temp file there, hashed while written,
 * renamed to sha256/<hex> only when digest and size are right. */
typedef struct vmctr__oci_blobw {
  int dirfd, fd;
  char tmp[32];
  vmctr__sha256 sha;
  uint64_t n, limit;  /* limit: the declared size, or UINT64_MAX when unknown */
  const char *what;
  vmctr__oci_prog *prog;
} vmctr__oci_blobw;
int vmctr__oci_blob_begin(vmctr__oci_blobw *w, int blob_dirfd, uint64_t limit, const char *what,
                          vmctr__oci_prog *prog);
int vmctr__oci_blob_write(vmctr__oci_blobw *w, const void *data, size_t n);
/* want_hex NULL: name it by what was written. hex_out (may be NULL) gets the hex. */
int vmctr__oci_blob_commit(vmctr__oci_blobw *w, const char *want_hex, char hex_out[65]);
void vmctr__oci_blob_abort(vmctr__oci_blobw *w);
/* Store a document held in memory. */
int vmctr__oci_blob_put(int blob_dirfd, const void *data, size_t n, const char *want_hex,
                        char hex_out[65]);
/* 1 when blob_dir already has hex as a regular file of this size (blobs are
 * verified when they enter, so it is not read again), 0 when not (a file of
 * another size or type is removed), negative on error. */
int vmctr__oci_blob_have(int blob_dirfd, const char *hex, uint64_t size, vmctr__oci_prog *prog);
/* Open (creating) blob_dir and blob_dir/sha256. */
int vmctr__oci_blob_dir_open(const char *blob_dir, int *out);

/* An OCI layout source (a directory, or a tar of one). */
typedef struct oci_src oci_src;
struct oci_src {
  /* Read the small blob hex (the document is checked against its digest by the
   * caller); kind is "index", "manifest" or "config" (a registry serves them
   * from different endpoints). */
  int (*read_doc)(oci_src *s, const char *hex, uint64_t size, const char *kind, char **out,
                  size_t *len);
  /* Copy the listed blobs into blob_dirfd (each verified). */
  int (*copy)(oci_src *s, const vmctr__oci_desc *const *want, size_t n, int blob_dirfd, vmctr__oci_prog *pr);
  void (*close)(oci_src *s);
  char *index_json;
  size_t index_len;
  const char *name;
};
int vmctr__oci_src_dir(const char *path, oci_src **out);
int vmctr__oci_src_archive(const char *path, oci_src **out);
/* Resolve a layout source into img (platform choice, documents, blob copies). */
int vmctr__oci_fetch_layout(oci_src *s, const char *ref, int blob_dirfd, const char *arch,
                            vmctr__oci_prog *pr, vmctr__oci_image *img);
int vmctr__oci_fetch_docker(const char *path, int blob_dirfd, const char *arch, vmctr__oci_prog *pr,
                            vmctr__oci_image *img);
/* Hash a document and compare with the digest from its descriptor. */
int vmctr__oci_verify_doc(const char *text, size_t len, const vmctr__oci_desc *d, const char *what);
void vmctr__oci_digest_of(const void *data, size_t n, char digest[72]);

/* The layer of rootfs_dir (oci-tar.c). */
int vmctr__oci_write_layer(const char *rootfs_dir, int blob_dirfd, vmctr__oci_prog *pr,
                           char digest[72], char diff_id[72], uint64_t *size);

/* Normalize an archive member name lexically ("./a//b/../c" -> "a/c").
 * False when it escapes the top or does not fit. Never touches the filesystem. */
bool vmctr__oci_tar_norm(const char *in, char *out, size_t cap);
/* Open path as a streaming tar reader (any compression libarchive knows). */
struct archive;
int vmctr__oci_tar_open(const char *path, struct archive **out);

/* An optional string member of obj (obj may be NULL): absent or null gives
 * *out = NULL; another type fails with a message naming what. */
struct cJSON;
int vmctr__oci_opt_str(const struct cJSON *obj, const char *key, const char *what, char **out);
/* Read the current member (at most max bytes) into a NUL-terminated buffer. */
int vmctr__oci_tar_slurp(struct archive *a, const char *what, size_t max, char **out,
                         size_t *len);

#endif
