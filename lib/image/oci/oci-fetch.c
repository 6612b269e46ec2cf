/* SPDX-License-Identifier: MIT */
/* vmctr__oci_fetch: detect the source kind, choose the platform from the
 * index, verify documents and bring every blob into the blob directory. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define MAX_CANDIDATES 256
#define MAX_DEPTH 3


typedef struct walk {
  oci_src *s;
  const char *ref;
  vmctr__oci_index ix[MAX_DEPTH + 1];
  size_t n_ix;
  const vmctr__oci_desc *c[MAX_CANDIDATES];
  size_t n;
} walk;

static int read_verified(oci_src *s, const vmctr__oci_desc *d, const char *what, char **out,
                         size_t *len) {
  int r;
  if (d->size > OCI_DOC_MAX)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %s %s declares %llu bytes, more than the %u "
                      "allowed for a document", s->name, what, d->digest,
                      (unsigned long long)d->size, OCI_DOC_MAX);
  if ((r = s->read_doc(s, d->digest + 7, d->size, what, out, len)) < 0)
    return r;
  if ((r = vmctr__oci_verify_doc(*out, *len, d, what)) < 0) {
    free(*out);
    *out = NULL;
    return vmctr__err_prefix(s->name);
  }
  return 0;
}

static bool is_index_type(const char *mt) {
  return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}
static bool is_manifest_type(const char *mt) {
  return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

/* Collect the image manifests reachable from index ix (nested indexes too). */
static int collect(walk *w, const vmctr__oci_index *ix, bool top, size_t depth) {
  int r;
  for (size_t i = 0; i < ix->n; i++) {
    const vmctr__oci_desc *d = &ix->d[i];
    if (top && w->ref && (!d->ref || strcmp(d->ref, w->ref) != 0))
      continue;
    if (is_manifest_type(d->media_type)) {
      if (w->n == MAX_CANDIDATES)
        return vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %d image manifests", w->s->name,
                          MAX_CANDIDATES);
      w->c[w->n++] = d;
    } else if (is_index_type(d->media_type)) {
      char *text = NULL;
      size_t len;
      if (depth >= MAX_DEPTH || w->n_ix > MAX_DEPTH)
        return vmctr__err(VMCTR_EPARSE, 0, "%s: image indexes nested more than %d deep",
                          w->s->name, MAX_DEPTH);
      if ((r = read_verified(w->s, d, "index", &text, &len)) < 0)
        return r;
      r = vmctr__oci_parse_index(text, len, d->digest, &w->ix[w->n_ix]);
      free(text);
      if (r < 0)
        return vmctr__err_prefix(w->s->name);
      w->n_ix++;
      if ((r = collect(w, &w->ix[w->n_ix - 1], false, depth + 1)) < 0)
        return r;
    } else {
      vmctr__log(VMCTR_LOG_DEBUG, "oci", "skipping %s of media type %s", d->digest, d->media_type);
    }
  }
  return 0;
}

/* Load manifest + config of d into img (config part) and *m. */
static int load_image(oci_src *s, const vmctr__oci_desc *d, vmctr__oci_manifest *m, vmctr__oci_image *img,
                      char **mtext, size_t *mlen, char **ctext, size_t *clen) {
  int r;
  char what[128];
  if ((r = read_verified(s, d, "manifest", mtext, mlen)) < 0)
    return r;
  snprintf(what, sizeof(what), "%s: manifest %s", s->name, d->digest);
  if ((r = vmctr__oci_parse_manifest(*mtext, *mlen, d->media_type, what, m)) < 0)
    return r;
  if ((r = read_verified(s, &m->config, "config", ctext, clen)) < 0)
    return r;
  snprintf(what, sizeof(what), "%s: config %s", s->name, m->config.digest);
  return vmctr__oci_parse_config(*ctext, *clen, what, m->n_layers, img, NULL);
}

int vmctr__oci_fetch_layout(oci_src *s, const char *ref, int blob_dirfd, const char *arch,
                            vmctr__oci_prog *pr, vmctr__oci_image *img) {
  walk w = {.s = s, .ref = ref};
  vmctr__oci_manifest m = {0};
  char *mtext = NULL, *ctext = NULL, what[128];
  size_t mlen = 0, clen = 0, i;
  const vmctr__oci_desc **want = NULL;
  vmctr__strbuf have = {0};
  int r;

  snprintf(what, sizeof(what), "%s: index.json", s->name);
  if ((r = vmctr__oci_parse_index(s->index_json, s->index_len, what, &w.ix[0])) < 0)
    return r;
  w.n_ix = 1;
  if ((r = collect(&w, &w.ix[0], true, 0)) < 0)
    goto out;
  r = VMCTR_ENOENT;
  for (i = 0; i < w.n && r == VMCTR_ENOENT; i++) {
    const vmctr__oci_desc *d = w.c[i];
    bool described = d->os && d->arch;
    if (described && !vmctr__oci_platform_match(arch, d->os, d->arch, d->variant)) {
      vmctr__oci_platform_seen(&have, d->os, d->arch, d->variant);
      continue;
    }
    if ((r = load_image(s, d, &m, img, &mtext, &mlen, &ctext, &clen)) < 0)
      goto out;
    if (!vmctr__oci_platform_match(arch, img->os, img->architecture, img->variant)) {
      /* A variant the index left out may still rule the image out; another
       * os or architecture is a lie. */
      if (described && (strcmp(d->os, img->os) != 0 || strcmp(d->arch, img->architecture) != 0)) {
        r = vmctr__err(VMCTR_EPARSE, 0, "%s: manifest %s is listed as %s/%s but its config "
                       "says %s/%s", s->name, d->digest, d->os, d->arch, img->os,
                       img->architecture);
        goto out;
      }
      vmctr__oci_platform_seen(&have, img->os, img->architecture, img->variant);
      vmctr__oci_manifest_clear(&m);
      vmctr__oci_image_clear(img);
      free(mtext);
      free(ctext);
      mtext = ctext = NULL;
      r = VMCTR_ENOENT;
      continue;
    }
    snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", d->digest);
  }
  if (r == VMCTR_ENOENT) {
    if (w.n == 0 && ref)
      r = vmctr__err(VMCTR_ENOENT, 0, "%s has no image named \"%s\"", s->name, ref);
    else if (w.n == 0)
      r = vmctr__err(VMCTR_ENOENT, 0, "%s has no image manifest in its index", s->name);
    else
      r = vmctr__oci_platform_none(s->name, arch, &have);
    goto out;
  }
  snprintf(img->config_digest, sizeof(img->config_digest), "%s", m.config.digest);
  if (m.n_layers && !(img->layers = calloc(m.n_layers, sizeof(*img->layers))))
    goto nomem;
  if (m.n_layers && !(want = calloc(m.n_layers, sizeof(*want))))
    goto nomem;
  size_t n_want = 0;
  for (i = 0; i < m.n_layers; i++) {
    vmctr__oci_layer *l = &img->layers[i];
    memcpy(l->digest, m.layers[i].digest, sizeof(l->digest));
    l->size = m.layers[i].size;
    if (!(l->media_type = vmctr__strdup(m.layers[i].media_type)))
      goto nomem;
    img->n_layers++;
    if (pr)
      pr->p.bytes_total += l->size;
  }
  if (pr)
    pr->p.item_count = (uint32_t)m.n_layers;
  for (i = 0; i < m.n_layers; i++) {
    bool dup = false;
    for (size_t j = 0; j < i; j++)
      dup = dup || strcmp(m.layers[j].digest, m.layers[i].digest) == 0;
    if (dup)
      continue;
    if (pr) {
      pr->p.phase = VMCTR_PROGRESS_VERIFY;
      if ((r = vmctr__oci_prog_item(pr, m.layers[i].digest, (uint32_t)i, m.layers[i].size)) < 0)
        goto out;
    }
    if ((r = vmctr__oci_blob_have(blob_dirfd, m.layers[i].digest + 7, m.layers[i].size, pr)) < 0)
      goto out;
    if (r == 0)
      want[n_want++] = &m.layers[i];
  }
  if (pr)
    pr->p.phase = VMCTR_PROGRESS_COPY;
  r = n_want ? s->copy(s, want, n_want, blob_dirfd, pr) : 0;
  /* The documents last: a source whose layers fail leaves nothing in the store. */
  if (r >= 0 && (r = vmctr__oci_blob_put(blob_dirfd, mtext, mlen, img->manifest_digest + 7,
                                         NULL)) >= 0)
    r = vmctr__oci_blob_put(blob_dirfd, ctext, clen, m.config.digest + 7, NULL);
  goto out;
nomem:
  r = vmctr__err_nomem();
out:
  vmctr__sb_free(&have);
  free(want);
  free(mtext);
  free(ctext);
  vmctr__oci_manifest_clear(&m);
  for (i = 0; i < w.n_ix; i++)
    vmctr__oci_index_clear(&w.ix[i]);
  return r;
}

/* What kind of tar is this? 1 = oci-archive, 2 = docker-archive. */
static int sniff_archive(const char *path) {
  struct archive *a;
  struct archive_entry *e;
  bool oci = false, docker = false;
  int r = vmctr__oci_tar_open(path, &a);
  if (r < 0)
    return r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    const char *n = archive_entry_pathname(e);
    while (n && n[0] == '.' && n[1] == '/')
      n += 2;
    if (n && (strcmp(n, "oci-layout") == 0))
      oci = true;
    if (n && strcmp(n, "manifest.json") == 0)
      docker = true;
  }
  if (r != ARCHIVE_EOF && !oci && !docker) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", path,
                   archive_error_string(a));
    archive_read_free(a);
    return r;
  }
  archive_read_free(a);
  if (oci)
    return 1;
  if (docker)
    return 2;
  return vmctr__err(VMCTR_EPARSE, 0, "%s: neither an oci-archive (no oci-layout file) nor a "
                    "docker-archive (no manifest.json)", path);
}

static int check_arch(const char **arch) {
  if (!*arch)
    *arch = vmctr__oci_host_arch();
  if (strcmp(*arch, "amd64") != 0 && strcmp(*arch, "arm64") != 0)
    return vmctr__err(VMCTR_EINVAL, 0, "architecture \"%s\" is not supported (amd64 or arm64)",
                      *arch);
  return 0;
}

int vmctr__oci_fetch_src(oci_src *s, const char *blob_dir, const char *arch,
                         vmctr_progress_fn fn, void *userdata, vmctr__oci_image **out) {
  vmctr__oci_image *img = NULL;
  vmctr__oci_prog pr;
  int dirfd = -1, r;
  if ((r = check_arch(&arch)) < 0)
    return r;
  vmctr__oci_prog_init(&pr, fn, userdata, VMCTR_PROGRESS_COPY);
  if ((r = vmctr__oci_blob_dir_open(blob_dir, &dirfd)) < 0)
    return r;
  if (!(img = calloc(1, sizeof(*img)))) {
    close(dirfd);
    return vmctr__err_nomem();
  }
  r = vmctr__oci_fetch_layout(s, NULL, dirfd, arch, &pr, img);
  if (r >= 0 && pr.fn) {
    pr.p.item = NULL;
    r = vmctr__oci_prog_emit(&pr, true);
  }
  close(dirfd);
  if (r < 0) {
    vmctr__oci_image_free(img);
    return r;
  }
  *out = img;
  return 0;
}

int vmctr__oci_fetch(const char *src, const char *blob_dir, const char *arch,
                     vmctr_progress_fn fn, void *userdata, vmctr__oci_image **out) {
  struct stat st;
  char *path = NULL;
  const char *ref = NULL;
  vmctr__oci_image *img = NULL;
  oci_src *s = NULL;
  vmctr__oci_prog pr;
  int dirfd = -1, r;

  if (!src || !blob_dir || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "image source, blob directory and out are required");
  if ((r = check_arch(&arch)) < 0)
    return r;
  if (!(path = vmctr__strdup(src)))
    return VMCTR_ENOMEM;
  if (stat(path, &st) < 0) {
    char *colon = strrchr(path, ':');
    if (colon && colon != path) {
      *colon = '\0';
      ref = colon + 1;
    }
    if (!colon || stat(path, &st) < 0) {
      r = vmctr__err_os(errno, "image source %s", src);
      goto out;
    }
  }
  vmctr__oci_prog_init(&pr, fn, userdata, VMCTR_PROGRESS_COPY);
  if ((r = vmctr__oci_blob_dir_open(blob_dir, &dirfd)) < 0)
    goto out;
  if (!(img = calloc(1, sizeof(*img)))) {
    r = vmctr__err_nomem();
    goto out;
  }
  if (S_ISDIR(st.st_mode)) {
    r = vmctr__oci_src_dir(path, &s);
  } else if (S_ISREG(st.st_mode)) {
    if ((r = sniff_archive(path)) == 2) {
      r = ref ? vmctr__err(VMCTR_EINVAL, 0, "%s: a ref name is not supported for docker-archive",
                           src)
              : vmctr__oci_fetch_docker(path, dirfd, arch, &pr, img);
      goto out;
    }
    if (r == 1)
      r = vmctr__oci_src_archive(path, &s);
  } else {
    r = vmctr__err(VMCTR_EINVAL, 0, "image source %s is neither a directory nor a file", src);
  }
  if (r < 0)
    goto out;
  r = vmctr__oci_fetch_layout(s, ref, dirfd, arch, &pr, img);
out:
  if (r >= 0 && pr.fn) {
    pr.p.item = NULL;
    vmctr__oci_prog_emit(&pr, true);
  }
  if (s)
    s->close(s);
  if (dirfd >= 0)
    close(dirfd);
  free(path);
  if (r < 0) {
    vmctr__oci_image_free(img);
    return r;
  }
  *out = img;
  return 0;
}
