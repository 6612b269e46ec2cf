/* SPDX-License-Identifier: MIT */
/* Push: every blob of an image of the store (config, then layers) that the
 * registry does not have (HEAD) is mounted from another repository of the
 * same registry that the store knows holds it, or else uploaded in one
 * request; the manifest the image came with goes last. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"
#include "image/registry/client.h"
#include "image/store/store-priv.h"

/* The upload URL from a Location header (absolute, or relative to the base). */
static char *upload_url(reg_client *c, const char *loc, const char *digest) {
  const char *base = c->bases[c->base];
  vmctr__strbuf sb = {0};
  if (loc[0] == '/')
    vmctr__sb_puts(&sb, base);
  else if (strncmp(loc, base, strlen(base)) != 0 || (loc[strlen(base)] != '/'))
    return NULL; /* elsewhere: not followed with our credentials */
  vmctr__sb_puts(&sb, loc);
  vmctr__sb_puts(&sb, strchr(loc, '?') ? "&digest=" : "?digest=");
  vmctr__sb_puts(&sb, digest);
  return vmctr__sb_steal(&sb);
}

/* Another repository of the same registry that the store names, holding digest. */
static bool mount_source(vmctr_image_store *s, reg_client *c, const char *digest, char *from,
                         size_t cap) {
  char **names = NULL, **digests = NULL;
  bool found = false;
  int n = vmctr_image_store_list_names(s, &names, &digests);
  for (int i = 0; i < n && !found; i++) {
    vmctr__ref r;
    vmctr_image *img = NULL;
    if (vmctr__ref_parse(names[i], &r) < 0 || strcmp(r.domain, c->ref.domain) != 0 ||
        strcmp(r.path, c->ref.path) == 0)
      continue;
    if (vmctr_image_store_get(s, digests[i], &img) < 0)
      continue;
    for (char **l = img->layers; l && *l && !found; l++)
      found = strcmp(*l, digest) == 0;
    if (found)
      snprintf(from, cap, "%s", r.path);
    vmctr_image_free(img);
  }
  vmctr__strv_free(names);
  vmctr__strv_free(digests);
  return found;
}

static int push_blob(vmctr_image_store *s, reg_client *c, const char *digest, uint64_t size,
                     vmctr__oci_prog *pr) {
  reg_resp resp = {0};
  char tail[VMCTR__REF_MAX + 160], what[120], from[VMCTR__REF_MAX + 1], path[96];
  char *url = NULL;
  void *map = MAP_FAILED;
  int fd = -1, r;
  snprintf(what, sizeof(what), "blob %s", digest);
  snprintf(tail, sizeof(tail), "blobs/%s", digest);
  if ((r = vmctr__oci_prog_item(pr, digest, pr->p.item_index, size)) < 0)
    return r;
  if ((r = reg_request(c, "HEAD", tail, NULL, NULL, NULL, 0, 0, &resp)) < 0)
    goto out;
  if (resp.status == 200) {
    vmctr__log(VMCTR_LOG_DEBUG, "registry", "%s: %s is already there", c->name, digest);
    r = vmctr__oci_prog_add(pr, size);
    goto out;
  }
  if (mount_source(s, c, digest, from, sizeof(from)))
    snprintf(tail, sizeof(tail), "blobs/uploads/?mount=%s&from=%s", digest, from);
  else
    snprintf(tail, sizeof(tail), "blobs/uploads/");
  if ((r = reg_request(c, "POST", tail, NULL, NULL, "", 0, REG_ERROR_BODY_MAX, &resp)) < 0)
    goto out;
  if (resp.status == 201) {
    vmctr__log(VMCTR_LOG_INFO, "registry", "%s: mounted %s from %s", c->name, digest, from);
    r = vmctr__oci_prog_add(pr, size);
    goto out;
  }
  if (resp.status != 202 || !resp.location[0]) {
    r = reg_status_error(c, &resp, "starting an upload");
    goto out;
  }
  if (!(url = upload_url(c, resp.location, digest))) {
    r = vmctr__err(VMCTR_EPROTO, 0, "%s: the registry sent the upload to another host (%s)",
                   c->name, resp.location);
    goto out;
  }
  snprintf(path, sizeof(path), "%s/blobs/sha256/%s", "", digest + 7);
  {
    char *full = vmctr__path_join(s->root, path + 1);
    struct stat st;
    if (!full) {
      r = VMCTR_ENOMEM;
      goto out;
    }
    fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(full);
    if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != size) {
      r = vmctr__err(VMCTR_ENOENT, errno, "%s: %s is not in the store (or has the wrong size)",
                     c->name, digest);
      goto out;
    }
    if (size && (map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
      r = vmctr__err_os(errno, "%s: reading %s", c->name, digest);
      goto out;
    }
  }
  if ((r = reg_request_url(c, "PUT", url, NULL, "application/octet-stream",
                           map == MAP_FAILED ? "" : map, size, REG_ERROR_BODY_MAX, &resp)) < 0)
    goto out;
  if (resp.status != 201) {
    r = reg_status_error(c, &resp, what);
    goto out;
  }
  r = vmctr__oci_prog_add(pr, size);
out:
  if (map != MAP_FAILED)
    munmap(map, size);
  if (fd >= 0)
    close(fd);
  free(url);
  reg_resp_clear(&resp);
  return r;
}

int vmctr_image_push(vmctr_image_store *store, const char *image, const char *ref,
                     const vmctr_registry_options *opts) {
  reg_client *c = NULL;
  vmctr_image *img = NULL;
  vmctr__oci_manifest m = {0};
  vmctr__oci_prog pr;
  reg_resp resp = {0};
  char *text = NULL, *path = NULL, rel[96], tail[200], what[160];
  size_t len;
  int r;
  if (!store || !image || !ref)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_push: %s is NULL",
                      !store ? "store" : !image ? "image" : "ref");
  if ((r = vmctr_image_store_lookup(store, image, &img)) < 0)
    return r;
  if ((r = reg_client_new(&c, ref, opts, "pull,push")) < 0)
    goto out;
  snprintf(rel, sizeof(rel), "blobs/sha256/%s", vmctr_image_manifest_digest(img) + 7);
  if (!(path = vmctr__path_join(vmctr_image_store_root(store), rel))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if ((r = vmctr__read_file_nofollow(path, OCI_DOC_MAX, &text, &len)) < 0)
    goto out;
  snprintf(what, sizeof(what), "manifest %s", vmctr_image_manifest_digest(img));
  if ((r = vmctr__oci_parse_manifest(text, len, NULL, what, &m)) < 0)
    goto out;
  vmctr__oci_prog_init(&pr, c->o.progress, c->o.userdata, VMCTR_PROGRESS_COPY);
  pr.p.item_count = (uint32_t)m.n_layers + 1;
  pr.p.bytes_total = m.config.size;
  for (size_t i = 0; i < m.n_layers; i++)
    pr.p.bytes_total += m.layers[i].size;
  if ((r = push_blob(store, c, m.config.digest, m.config.size, &pr)) < 0)
    goto out;
  for (size_t i = 0; i < m.n_layers; i++) {
    pr.p.item_index = (uint32_t)i + 1;
    if ((r = push_blob(store, c, m.layers[i].digest, m.layers[i].size, &pr)) < 0)
      goto out;
  }
  {
    /* The media type the document declares (or Docker's, which omits none). */
    const char *mt = strstr(text, MT_DOCKER_MANIFEST) ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;
    snprintf(tail, sizeof(tail), "manifests/%s", c->ref.digest[0] ? c->ref.digest : c->ref.tag);
    if ((r = reg_request(c, "PUT", tail, NULL, mt, text, len, REG_ERROR_BODY_MAX, &resp)) < 0)
      goto out;
    if (resp.status != 201) {
      r = reg_status_error(c, &resp, what);
      goto out;
    }
  }
  vmctr__log(VMCTR_LOG_INFO, "registry", "pushed %s as %s", vmctr_image_digest(img), c->name);
  r = vmctr__oci_prog_emit(&pr, true);
out:
  reg_resp_clear(&resp);
  vmctr__oci_manifest_clear(&m);
  free(text);
  free(path);
  reg_client_free(c);
  vmctr_image_free(img);
  return r;
}
