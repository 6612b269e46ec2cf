/* SPDX-License-Identifier: MIT */
/* Pull: the registry as an image source of lib/image/oci (struct oci_src),
 * so that platform choice, document checks and the store's import are the
 * ones local images go through. The manifest or index the reference names
 * becomes the one entry of a synthesized index.json; documents it leads to
 * are fetched by digest (and verified by the caller); layers come through
 * reg_fetch_blobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/options.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"
#include "image/registry/client.h"
#include "image/store/store-priv.h"

#define ACCEPT_MANIFESTS                                                                   \
  MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST

typedef struct reg_src {
  oci_src base; /* first: the oci layer sees only this */
  reg_client *c;
  char *top;    /* the document the reference names */
  size_t top_len;
  char top_digest[72];
} reg_src;

static bool known_type(const char *mt) {
  return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_OCI_MANIFEST) == 0 ||
         strcmp(mt, MT_DOCKER_LIST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

static int src_read_doc(oci_src *s, const char *hex, uint64_t size, const char *kind, char **out,
                        size_t *len) {
  reg_src *rs = (reg_src *)s;
  reg_client *c = rs->c;
  reg_resp resp = {0};
  char tail[100], what[100];
  int r;
  if (strcmp(hex, rs->top_digest + 7) == 0) {
    if (!(*out = malloc(rs->top_len + 1)))
      return vmctr__err_nomem();
    memcpy(*out, rs->top, rs->top_len + 1);
    *len = rs->top_len;
    return 0;
  }
  /* Indexes and manifests by the manifest endpoint; a config is a blob. */
  bool blob = strcmp(kind, "config") == 0;
  snprintf(tail, sizeof(tail), "%s/sha256:%s", blob ? "blobs" : "manifests", hex);
  if ((r = reg_request(c, "GET", tail, blob ? NULL : ACCEPT_MANIFESTS, NULL, NULL, 0,
                       OCI_DOC_MAX, &resp)) < 0)
    goto out;
  snprintf(what, sizeof(what), "%s sha256:%s", kind, hex);
  if (resp.status != 200) {
    r = reg_status_error(c, &resp, what);
    goto out;
  }
  if (resp.len != size) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: %s: %zu bytes, but its descriptor declares %llu",
                   c->name, what, resp.len, (unsigned long long)size);
    goto out;
  }
  *out = resp.body ? resp.body : vmctr__strdup("");
  resp.body = NULL;
  *len = resp.len;
  r = *out ? 0 : vmctr__err_nomem();
out:
  reg_resp_clear(&resp);
  return r;
}

static int src_copy(oci_src *s, const vmctr__oci_desc *const *want, size_t n, int dirfd,
                    vmctr__oci_prog *pr) {
  return reg_fetch_blobs(((reg_src *)s)->c, want, n, dirfd, pr);
}

static void src_close(oci_src *s) {
  reg_src *rs = (reg_src *)s;
  free(rs->top);
  free(rs->base.index_json);
  rs->top = rs->base.index_json = NULL;
}

/* Fetch what the reference names and make the one-entry index around it. */
static int src_open(reg_src *rs, reg_client *c) {
  reg_resp resp = {0};
  char tail[200], mt[128];
  cJSON *j = NULL;
  int r;
  memset(rs, 0, sizeof(*rs));
  rs->c = c;
  rs->base.read_doc = src_read_doc;
  rs->base.copy = src_copy;
  rs->base.close = src_close;
  rs->base.name = c->name;
  snprintf(tail, sizeof(tail), "manifests/%s", c->ref.digest[0] ? c->ref.digest : c->ref.tag);
  if ((r = reg_request(c, "GET", tail, ACCEPT_MANIFESTS, NULL, NULL, 0, OCI_DOC_MAX, &resp)) < 0)
    goto out;
  if (resp.status != 200) {
    r = reg_status_error(c, &resp, "the manifest");
    goto out;
  }
  if (!resp.body) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: the manifest is empty", c->name);
    goto out;
  }
  vmctr__oci_digest_of(resp.body, resp.len, rs->top_digest);
  if (c->ref.digest[0] && strcmp(rs->top_digest, c->ref.digest) != 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: the registry's manifest has digest %s (corrupt or "
                   "tampered)", c->name, rs->top_digest);
    goto out;
  }
  if (resp.digest[0] && strcmp(resp.digest, rs->top_digest) != 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: the manifest has digest %s, but the registry says %s "
                   "(corrupt or tampered)", c->name, rs->top_digest, resp.digest);
    goto out;
  }
  snprintf(mt, sizeof(mt), "%s", resp.content_type);
  if (!known_type(mt)) {
    const cJSON *m;
    if ((r = vmctr__json_parse(resp.body, resp.len, "manifest", &j)) < 0)
      goto out;
    m = cJSON_GetObjectItemCaseSensitive(j, "mediaType");
    snprintf(mt, sizeof(mt), "%s", cJSON_IsString(m) ? m->valuestring : "");
    if (!known_type(mt)) {
      r = vmctr__err(VMCTR_EUNSUPPORTED, 0, "%s: the registry serves a manifest of type \"%s\" "
                     "(only OCI and Docker schema 2 are supported)", c->name,
                     resp.content_type[0] ? resp.content_type : "none");
      goto out;
    }
  }
  rs->top = resp.body;
  rs->top_len = resp.len;
  resp.body = NULL;
  {
    vmctr__strbuf sb = {0};
    vmctr__sb_printf(&sb, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
                     "\"digest\":\"%s\",\"size\":%zu}]}", mt, rs->top_digest, rs->top_len);
    if (!(rs->base.index_json = vmctr__sb_steal(&sb))) {
      r = vmctr__err_nomem();
      goto out;
    }
    rs->base.index_len = strlen(rs->base.index_json);
  }
  r = 0;
out:
  cJSON_Delete(j);
  reg_resp_clear(&resp);
  if (r < 0)
    src_close(&rs->base);
  return r;
}

int vmctr_registry_options_init(vmctr_registry_options *opts, uint32_t version) {
  static const vmctr_registry_options def = VMCTR_REGISTRY_OPTIONS_INIT;
  return vmctr__options_init(opts, &def, sizeof(def), version, VMCTR_REGISTRY_OPTIONS_VERSION,
                             "vmctr_registry_options");
}

/* "amd64", "arm64", "linux/arm64", "linux/arm64/v8" -> the architecture. */
static int platform_arch(const char *p, char out[16]) {
  const char *a = p;
  if (strncmp(a, "linux/", 6) == 0)
    a += 6;
  else if (strchr(a, '/') && strncmp(a, "amd64/", 6) != 0 && strncmp(a, "arm64/", 6) != 0)
    return vmctr__err(VMCTR_EINVAL, 0, "platform \"%s\": only linux images run here", p);
  size_t n = strcspn(a, "/");
  if (n >= 16)
    return vmctr__err(VMCTR_EINVAL, 0, "platform \"%s\" is not os/arch", p);
  memcpy(out, a, n);
  out[n] = '\0';
  return 0;
}

int vmctr_image_pull(vmctr_image_store *store, const char *ref,
                     const vmctr_registry_options *opts, vmctr_image **out) {
  reg_client *c = NULL;
  reg_src rs;
  char arch[16] = "";
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
  int r;
  if (!store || !ref)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_pull: %s is NULL", !store ? "store" : "ref");
  if (opts && opts->platform && (r = platform_arch(opts->platform, arch)) < 0)
    return r;
  if ((r = reg_client_new(&c, ref, opts, "pull")) < 0)
    return r;
  if ((r = src_open(&rs, c)) < 0)
    goto out;
  io.architecture = arch[0] ? arch : NULL;
  io.progress = c->o.progress;
  io.userdata = c->o.userdata;
  io.max_bytes = VMCTR_IMAGE_IMPORT_DEFAULT_MAX_BYTES;
  io.max_entries = VMCTR_IMAGE_IMPORT_DEFAULT_MAX_ENTRIES;
  if (c->o.flags & VMCTR_REGISTRY_NO_SYNC)
    io.flags |= VMCTR_IMAGE_IMPORT_NO_SYNC;
  r = vmctr__store_import_src(store, &rs.base, c->name, &io, c->name, out);
  src_close(&rs.base);
out:
  reg_client_free(c);
  return r;
}
