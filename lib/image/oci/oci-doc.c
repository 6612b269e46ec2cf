/* SPDX-License-Identifier: MIT */
/* Parsing and validating the untrusted OCI / Docker v2 documents: index,
 * manifest, image config. Pure functions from text to structs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

bool vmctr__oci_is_hex64(const char *s) {
  size_t i;
  for (i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[64] == '\0';
}

int vmctr__oci_check_digest(const char *digest, const char *what) {
  const char *colon = strchr(digest, ':');
  if (!colon || colon == digest)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: digest \"%.80s\" is not of the form sha256:<hex>",
                      what, digest);
  if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "%s: digest \"%.80s\" uses an algorithm other than sha256; only sha256 "
                      "digests are supported", what, digest);
  if (!vmctr__oci_is_hex64(colon + 1))
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: digest \"%.80s\" is not sha256: followed by 64 lowercase hex digits",
                      what, digest);
  return 0;
}

void vmctr__oci_desc_clear(vmctr__oci_desc *d) {
  free(d->media_type);
  free(d->os);
  free(d->arch);
  free(d->variant);
  free(d->ref);
  memset(d, 0, sizeof(*d));
}

void vmctr__oci_index_clear(vmctr__oci_index *ix) {
  for (size_t i = 0; i < ix->n; i++)
    vmctr__oci_desc_clear(&ix->d[i]);
  free(ix->d);
  memset(ix, 0, sizeof(*ix));
}

void vmctr__oci_manifest_clear(vmctr__oci_manifest *m) {
  vmctr__oci_desc_clear(&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    vmctr__oci_desc_clear(&m->layers[i]);
  free(m->layers);
  memset(m, 0, sizeof(*m));
}

int vmctr__oci_opt_str(const struct cJSON *obj, const char *key, const char *what, char **out) {
  const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  const char *s;
  int r;
  *out = NULL;
  if (!it || cJSON_IsNull(it))
    return 0;
  if ((r = vmctr__json_as_string(it, what, &s)) < 0)
    return r;
  if (!(*out = vmctr__strdup(s)))
    return VMCTR_ENOMEM;
  return 0;
}

static int req_str(const cJSON *obj, const char *key, const char *what, char **out) {
  int r = vmctr__oci_opt_str(obj, key, what, out);
  if (r == 0 && !*out)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: required key \"%s\" is missing", what, key);
  return r;
}

static int check_schema(const cJSON *root, const char *what) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
  uint64_t n;
  int r;
  if (!cJSON_IsObject(root))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: expected a JSON object, got %s", what,
                      vmctr__json_type_name(root));
  if (!v)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: required key \"schemaVersion\" is missing", what);
  if ((r = vmctr__json_as_uint(v, what, 100, &n)) < 0)
    return r;
  if (n != 2)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "%s: schemaVersion %llu is not supported (only 2: OCI and Docker v2 "
                      "schema 2)", what, (unsigned long long)n);
  return 0;
}

/* A descriptor object: mediaType, digest, size (+ platform, ref annotation). */
static int parse_desc(const cJSON *o, const char *what, bool with_platform, vmctr__oci_desc *d) {
  const cJSON *sz, *pl, *ann;
  char *digest = NULL;
  int r;
  memset(d, 0, sizeof(*d));
  if (!cJSON_IsObject(o))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: expected a descriptor object, got %s", what,
                      vmctr__json_type_name(o));
  if ((r = req_str(o, "mediaType", what, &d->media_type)) < 0 ||
      (r = req_str(o, "digest", what, &digest)) < 0)
    goto fail;
  if ((r = vmctr__oci_check_digest(digest, what)) < 0)
    goto fail;
  snprintf(d->digest, sizeof(d->digest), "%s", digest);
  if (!(sz = cJSON_GetObjectItemCaseSensitive(o, "size"))) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: descriptor of %s has no \"size\"", what, d->digest);
    goto fail;
  }
  if ((r = vmctr__json_as_uint(sz, what, OCI_BLOB_MAX, &d->size)) < 0)
    goto fail;
  if (with_platform && (pl = cJSON_GetObjectItemCaseSensitive(o, "platform"))) {
    if (!cJSON_IsObject(pl)) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: \"platform\" of %s is not an object", what, d->digest);
      goto fail;
    }
    if ((r = vmctr__oci_opt_str(pl, "os", what, &d->os)) < 0 ||
        (r = vmctr__oci_opt_str(pl, "architecture", what, &d->arch)) < 0 ||
        (r = vmctr__oci_opt_str(pl, "variant", what, &d->variant)) < 0)
      goto fail;
  }
  if (with_platform && (ann = cJSON_GetObjectItemCaseSensitive(o, "annotations"))) {
    if (!cJSON_IsObject(ann)) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: \"annotations\" is not an object", what);
      goto fail;
    }
    if ((r = vmctr__oci_opt_str(ann, REF_ANNOTATION, what, &d->ref)) < 0)
      goto fail;
  }
  free(digest);
  return 0;
fail:
  free(digest);
  vmctr__oci_desc_clear(d);
  return r;
}

static int parse_root(const char *text, size_t len, const char *what, cJSON **root) {
  int r;
  if (len > OCI_DOC_MAX)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu bytes, more than the %u allowed for an image "
                      "document", what, len, OCI_DOC_MAX);
  if ((r = vmctr__json_parse(text, len, what, root)) < 0)
    return r;
  if ((r = check_schema(*root, what)) < 0) {
    cJSON_Delete(*root);
    *root = NULL;
  }
  return r;
}

static int check_doc_type(const cJSON *root, const char *claimed, const char *a, const char *b,
                          const char *kind, const char *what) {
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
  const char *s = NULL;
  int r;
  if (mt && (r = vmctr__json_as_string(mt, what, &s)) < 0)
    return r;
  if (s && strcmp(s, a) != 0 && strcmp(s, b) != 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: mediaType \"%.100s\" is not an %s (%s or %s)", what,
                      s, kind, a, b);
  if (s && claimed && strcmp(s, claimed) != 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: mediaType \"%.100s\" differs from \"%.100s\" in the "
                      "descriptor that points to it", what, s, claimed);
  return 0;
}

/* The descriptor array root[key] (at most max entries) into *d and *n. Entries
 * land in *d as they parse, so the caller's clear frees a partial array. */
static int parse_desc_array(const cJSON *root, const char *key, size_t max, bool with_platform,
                            const char *what, vmctr__oci_desc **d, size_t *n) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *e;
  char ewhat[256];
  size_t count;
  int r;
  if (!cJSON_IsArray(arr))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: \"%s\" is missing or not an array", what, key);
  count = (size_t)cJSON_GetArraySize(arr);
  if (count > max)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu %s, more than the %zu allowed", what, count,
                      key, max);
  if (count && !(*d = calloc(count, sizeof(**d))))
    return vmctr__err_nomem();
  cJSON_ArrayForEach(e, arr) {
    snprintf(ewhat, sizeof(ewhat), "%s: %s[%zu]", what, key, *n);
    if ((r = parse_desc(e, ewhat, with_platform, &(*d)[*n])) < 0)
      return r;
    (*n)++;
  }
  return 0;
}

int vmctr__oci_parse_index(const char *text, size_t len, const char *what, vmctr__oci_index *out) {
  cJSON *root = NULL;
  vmctr__oci_index ix = {0};
  int r;

  if ((r = parse_root(text, len, what, &root)) < 0)
    return r;
  if ((r = check_doc_type(root, NULL, MT_OCI_INDEX, MT_DOCKER_LIST, "image index", what)) < 0 ||
      (r = parse_desc_array(root, "manifests", OCI_MAX_ENTRIES, true, what, &ix.d, &ix.n)) < 0)
    goto out;
  *out = ix;
  memset(&ix, 0, sizeof(ix));
out:
  vmctr__oci_index_clear(&ix);
  cJSON_Delete(root);
  return r;
}

int vmctr__oci_check_layer_type(const char *mt, const char *what) {
  static const char *const ok[] = {MT_OCI_LAYER, MT_OCI_LAYER_GZ, MT_OCI_LAYER_ZST,
                                   MT_DOCKER_LAYER_GZ, MT_DOCKER_LAYER};
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(ok); i++)
    if (strcmp(mt, ok[i]) == 0)
      return 0;
  if (strstr(mt, "nondistributable") || strstr(mt, "foreign"))
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "%s: layer media type \"%.100s\" is a foreign/non-distributable layer, "
                      "which a local image cannot carry; use an image without such layers", what,
                      mt);
  return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                    "%s: unknown layer media type \"%.100s\" (expected an OCI tar, tar+gzip or "
                    "tar+zstd layer, or a Docker rootfs.diff.tar.gzip layer)", what, mt);
}

int vmctr__oci_parse_manifest(const char *text, size_t len, const char *media_type,
                              const char *what, vmctr__oci_manifest *out) {
  cJSON *root = NULL;
  const cJSON *e;
  vmctr__oci_manifest m = {0};
  int r;
  char ewhat[256];

  if ((r = parse_root(text, len, what, &root)) < 0)
    return r;
  if ((r = check_doc_type(root, media_type, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST,
                          "image manifest", what)) < 0)
    goto out;
  snprintf(ewhat, sizeof(ewhat), "%s: config", what);
  if (!(e = cJSON_GetObjectItemCaseSensitive(root, "config"))) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: required key \"config\" is missing", what);
    goto out;
  }
  if ((r = parse_desc(e, ewhat, false, &m.config)) < 0)
    goto out;
  if (strcmp(m.config.media_type, MT_OCI_CONFIG) != 0 &&
      strcmp(m.config.media_type, MT_DOCKER_CONFIG) != 0) {
    r = vmctr__err(VMCTR_EUNSUPPORTED, 0,
                   "%s: config media type \"%.100s\" is not a container image config (this is "
                   "some other OCI artifact)", what, m.config.media_type);
    goto out;
  }
  if (m.config.size > OCI_DOC_MAX) {
    r = vmctr__err(VMCTR_ETOOBIG, 0, "%s: config %s declares %llu bytes, more than the %u "
                   "allowed", what, m.config.digest, (unsigned long long)m.config.size,
                   OCI_DOC_MAX);
    goto out;
  }
  if ((r = parse_desc_array(root, "layers", OCI_MAX_LAYERS, false, what, &m.layers,
                            &m.n_layers)) < 0)
    goto out;
  for (size_t i = 0; i < m.n_layers; i++) {
    snprintf(ewhat, sizeof(ewhat), "%s: layers[%zu]", what, i);
    if ((r = vmctr__oci_check_layer_type(m.layers[i].media_type, ewhat)) < 0)
      goto out;
  }
  *out = m;
  memset(&m, 0, sizeof(m));
out:
  vmctr__oci_manifest_clear(&m);
  cJSON_Delete(root);
  return r;
}
