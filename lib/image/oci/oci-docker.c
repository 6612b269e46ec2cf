/* SPDX-License-Identifier: MIT */
/* docker-archive (`docker save`, skopeo docker-archive:): manifest.json,
 * a config file and layer tars, matched by (lexically normalized) member
 * names. Layer digests are computed while copying; uncompressed and gzip
 * layers are also checked against the config's rootfs.diff_ids. An OCI
 * manifest is synthesized and stored so the image has a manifest digest. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define NAME_MAX_LEN 512
#define MAX_MEMBERS 65536

typedef struct member {
  char *name, *link;  /* link: normalized symlink target, or NULL */
} member;

typedef struct dctx {
  const char *path;
  member *m;
  size_t n;
  char *manifest, *config;
  size_t manifest_len, config_len;
} dctx;

/* Follow symlink members (lexically) to a regular member name. */
static const char *resolve(dctx *c, const char *name) {
  for (int hops = 0; hops < 16; hops++) {
    size_t i;
    for (i = 0; i < c->n && strcmp(c->m[i].name, name) != 0; i++)
      ;
    if (i == c->n)
      return NULL;
    if (!c->m[i].link)
      return c->m[i].name;
    name = c->m[i].link;
  }
  return NULL;
}

static int add_member(dctx *c, const char *norm, const char *link_raw) {
  member *nm;
  char tgt[NAME_MAX_LEN * 2 + 2];
  if (c->n >= MAX_MEMBERS)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %d archive members", c->path, MAX_MEMBERS);
  if (!(nm = realloc(c->m, (c->n + 1) * sizeof(*nm))))
    return vmctr__err_nomem();
  c->m = nm;
  nm = &c->m[c->n];
  memset(nm, 0, sizeof(*nm));
  if (link_raw) {
    char joined[NAME_MAX_LEN * 2 + 2];
    const char *slash = strrchr(norm, '/');
    if (link_raw[0] == '/')
      return 0;  /* an absolute link never names a member */
    snprintf(joined, sizeof(joined), "%.*s%s%s", slash ? (int)(slash - norm) : 0, norm,
             slash ? "/" : "", link_raw);
    if (!vmctr__oci_tar_norm(joined, tgt, sizeof(tgt)) || !(nm->link = vmctr__strdup(tgt)))
      return 0;
  }
  if (!(nm->name = vmctr__strdup(norm))) {
    free(nm->link);
    return VMCTR_ENOMEM;
  }
  c->n++;
  return 0;
}

/* The next member with a usable name (normalized into norm): 1, or 0 at the
 * end, or a negative code for a corrupt archive. */
static int next_member(dctx *c, struct archive *a, struct archive_entry **e,
                       char norm[NAME_MAX_LEN]) {
  int k;
  while ((k = archive_read_next_header(a, e)) == ARCHIVE_OK || k == ARCHIVE_WARN)
    if (archive_entry_pathname(*e) &&
        vmctr__oci_tar_norm(archive_entry_pathname(*e), norm, NAME_MAX_LEN))
      return 1;
  if (k == ARCHIVE_EOF)
    return 0;
  return vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", c->path,
                    archive_error_string(a));
}

static int scan(dctx *c) {
  struct archive *a;
  struct archive_entry *e;
  char norm[NAME_MAX_LEN];
  int r, k;
  if ((r = vmctr__oci_tar_open(c->path, &a)) < 0)
    return r;
  while ((k = next_member(c, a, &e, norm)) > 0) {
    int t = (int)archive_entry_filetype(e);
    if (t == AE_IFLNK && archive_entry_symlink(e))
      r = add_member(c, norm, archive_entry_symlink(e));
    else if (t == AE_IFREG)
      r = add_member(c, norm, NULL);
    if (r < 0)
      goto out;
    if (t == AE_IFREG && strcmp(norm, "manifest.json") == 0 &&
        (r = vmctr__oci_tar_slurp(a, "manifest.json", OCI_DOC_MAX, &c->manifest,
                                  &c->manifest_len)) < 0)
      goto out;
  }
  if ((r = k) == 0 && !c->manifest)
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: no manifest.json: not a docker-archive", c->path);
out:
  archive_read_free(a);
  return r;
}

/* Read one regular member wholly (the config). */
static int read_member(dctx *c, const char *name, char **out, size_t *len) {
  struct archive *a;
  struct archive_entry *e;
  char norm[NAME_MAX_LEN];
  int r;
  if ((r = vmctr__oci_tar_open(c->path, &a)) < 0)
    return r;
  while ((r = next_member(c, a, &e, norm)) > 0)
    if (archive_entry_filetype(e) == AE_IFREG && strcmp(norm, name) == 0)
      break;
  if (r > 0)
    r = vmctr__oci_tar_slurp(a, name, OCI_DOC_MAX, out, len);
  else if (r == 0)
    r = vmctr__err(VMCTR_ENOENT, 0, "%s: member %s is missing", c->path, name);
  archive_read_free(a);
  return r;
}

typedef struct lstate {
  vmctr__oci_blobw w;
  vmctr__sha256 diff;
  z_stream z;
  int kind;  /* -1 unknown yet, 0 tar, 1 gzip, 2 zstd */
  bool zinit, zdone;
} lstate;

static int feed(lstate *s, const uint8_t *p, size_t n, const char *what) {
  uint8_t out[65536];
  int r;
  if ((r = vmctr__oci_blob_write(&s->w, p, n)) < 0)
    return r;
  if (s->kind == -1)
    s->kind = (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) ? 1 :
              (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) ? 2 : 0;
  if (s->kind == 0)
    vmctr__sha256_update(&s->diff, p, n);
  if (s->kind != 1 || s->zdone)
    return 0;
  if (!s->zinit) {
    if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
      return vmctr__err_nomem();
    s->zinit = true;
  }
  s->z.next_in = (Bytef *)p;
  s->z.avail_in = (uInt)n;
  while (s->z.avail_in && !s->zdone) {
    s->z.next_out = out;
    s->z.avail_out = sizeof(out);
    int zr = inflate(&s->z, Z_NO_FLUSH);
    if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
      return vmctr__err(VMCTR_EPARSE, 0, "%s: corrupt gzip data: %s", what,
                        s->z.msg ? s->z.msg : "inflate failed");
    vmctr__sha256_update(&s->diff, out, sizeof(out) - s->z.avail_out);
    if (zr == Z_STREAM_END)
      s->zdone = true;  /* multi-member gzip: then the diff_id is not checked */
    if (zr == Z_BUF_ERROR)
      break;
  }
  return 0;
}

static int copy_layers(dctx *c, int dirfd, char **names, size_t n, char **diff_ids,
                       vmctr__oci_image *img, vmctr__oci_prog *pr) {
  struct archive *a;
  struct archive_entry *e;
  char norm[NAME_MAX_LEN], what[NAME_MAX_LEN + 64];
  uint8_t buf[65536];
  size_t left = n;
  int r, k = 0;
  if ((r = vmctr__oci_tar_open(c->path, &a)) < 0)
    return r;
  while (left && (k = next_member(c, a, &e, norm)) > 0) {
    size_t i;
    if (archive_entry_filetype(e) != AE_IFREG)
      continue;
    for (i = 0; i < n && (img->layers[i].media_type || strcmp(names[i], norm) != 0); i++)
      ;
    if (i == n)
      continue;
    lstate s = {.kind = -1};
    la_ssize_t got;
    char hex[65], dhex[65];
    uint8_t d[32];
    snprintf(what, sizeof(what), "%s: layer %s", c->path, norm);
    vmctr__sha256_init(&s.diff);
    if ((r = vmctr__oci_prog_item(pr, norm, (uint32_t)i, (uint64_t)archive_entry_size(e))) < 0 ||
        (r = vmctr__oci_blob_begin(&s.w, dirfd, UINT64_MAX, what, pr)) < 0) {
      vmctr__sha256_clear(&s.diff);
      goto out;
    }
    while ((got = archive_read_data(a, buf, sizeof(buf))) > 0)
      if ((r = feed(&s, buf, (size_t)got, what)) < 0)
        break;
    if (r == 0 && got < 0)
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", what,
                     archive_error_string(a));
    if (s.zinit)
      inflateEnd(&s.z);
    if (r < 0) {
      vmctr__sha256_clear(&s.diff);
      vmctr__oci_blob_abort(&s.w);
      goto out;
    }
    vmctr__sha256_final(&s.diff, d);
    vmctr__sha256_hex(d, dhex);
    if ((s.kind == 0 || (s.kind == 1 && s.zdone)) && strcmp(dhex, diff_ids[i] + 7) != 0) {
      vmctr__oci_blob_abort(&s.w);
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: uncompressed content has digest sha256:%s, but the "
                     "config's rootfs.diff_ids[%zu] is %s", what, dhex, i, diff_ids[i]);
      goto out;
    }
    if ((r = vmctr__oci_blob_commit(&s.w, NULL, hex)) < 0)
      goto out;
    /* Every layer entry naming this member gets the same blob. */
    for (size_t j = i; j < n; j++) {
      if (img->layers[j].media_type || strcmp(names[j], norm) != 0)
        continue;
      snprintf(img->layers[j].digest, sizeof(img->layers[j].digest), "sha256:%s", hex);
      img->layers[j].size = s.w.n;
      img->layers[j].media_type = vmctr__strdup(s.kind == 1 ? MT_OCI_LAYER_GZ :
                                                s.kind == 2 ? MT_OCI_LAYER_ZST : MT_OCI_LAYER);
      if (!img->layers[j].media_type) {
        r = VMCTR_ENOMEM;
        goto out;
      }
      left--;
    }
  }
  if (k < 0) {
    r = k;
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    if (!img->layers[i].media_type) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: layer %s is missing or the archive is truncated",
                     c->path, names[i]);
      goto out;
    }
out:
  archive_read_free(a);
  return r;
}

/* The OCI manifest for what was copied, stored as a blob. */
static int synth_manifest(int dirfd, vmctr__oci_image *img, size_t clen) {
  cJSON *root = cJSON_CreateObject(), *cfg = cJSON_CreateObject(), *ls = cJSON_CreateArray();
  char *text = NULL, hex[65];
  int r = VMCTR_ENOMEM;
  if (!root || !cfg || !ls)
    goto out;
  cJSON_AddItemToObject(root, "config", cfg);
  cJSON_AddItemToObject(root, "layers", ls);
  cfg = ls = NULL;
  vmctr__json_add_number(root, "schemaVersion", 2);
  vmctr__json_add_string(root, "mediaType", MT_OCI_MANIFEST);
  cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "config");
  vmctr__json_add_string(c, "mediaType", MT_OCI_CONFIG);
  vmctr__json_add_string(c, "digest", img->config_digest);
  vmctr__json_add_number(c, "size", (double)clen);
  for (size_t i = 0; i < img->n_layers; i++) {
    cJSON *l = cJSON_CreateObject();
    if (!l)
      goto out;
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(root, "layers"), l);
    vmctr__json_add_string(l, "mediaType", img->layers[i].media_type);
    vmctr__json_add_string(l, "digest", img->layers[i].digest);
    vmctr__json_add_number(l, "size", (double)img->layers[i].size);
  }
  if (!(text = vmctr__json_print(root, false)))
    goto out;
  if ((r = vmctr__oci_blob_put(dirfd, text, strlen(text), NULL, hex)) == 0)
    snprintf(img->manifest_digest, sizeof(img->manifest_digest), "sha256:%s", hex);
out:
  if (r == VMCTR_ENOMEM)
    vmctr__err_nomem();
  cJSON_Delete(cfg);
  cJSON_Delete(ls);
  cJSON_Delete(root);
  free(text);
  return r;
}

static int entry_strings(const cJSON *e, const char *key, const char *what, size_t *n) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, key), *x;
  if (!cJSON_IsArray(a))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: \"%s\" is missing or not an array", what, key);
  *n = 0;
  cJSON_ArrayForEach(x, a) {
    if (!cJSON_IsString(x))
      return vmctr__err(VMCTR_EPARSE, 0, "%s: \"%s\" has a non-string entry", what, key);
    (*n)++;
  }
  return 0;
}

int vmctr__oci_fetch_docker(const char *path, int dirfd, const char *arch, vmctr__oci_prog *pr,
                            vmctr__oci_image *img) {
  dctx c = {.path = path};
  cJSON *root = NULL;
  const cJSON *ent;
  char what[600], **names = NULL, **diff_ids = NULL, *cfg_text = NULL, hex[65];
  vmctr__strbuf seen = {0};
  size_t n_layers = 0, cfg_len = 0, i;
  int r;

  if ((r = scan(&c)) < 0)
    goto out;
  snprintf(what, sizeof(what), "%s: manifest.json", path);
  if ((r = vmctr__json_parse(c.manifest, c.manifest_len, what, &root)) < 0)
    goto out;
  if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) == 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: expected a non-empty array of images", what);
    goto out;
  }
  r = VMCTR_ENOENT;
  cJSON_ArrayForEach(ent, root) {
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(ent, "Config");
    const char *cname;
    if (!cJSON_IsObject(ent) || !cJSON_IsString(cf)) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: an entry lacks a \"Config\" string", what);
      goto out;
    }
    if ((r = entry_strings(ent, "Layers", what, &n_layers)) < 0)
      goto out;
    if (n_layers > OCI_MAX_LAYERS) {
      r = vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %u layers", what, OCI_MAX_LAYERS);
      goto out;
    }
    char cn[NAME_MAX_LEN];
    if (!vmctr__oci_tar_norm(cf->valuestring, cn, sizeof(cn)) || !(cname = resolve(&c, cn))) {
      r = vmctr__err(VMCTR_ENOENT, 0, "%s: config %.200s is missing from the archive", what,
                     cf->valuestring);
      goto out;
    }
    free(cfg_text);
    cfg_text = NULL;
    if ((r = read_member(&c, cname, &cfg_text, &cfg_len)) < 0)
      goto out;
    vmctr__strv_free(diff_ids);
    diff_ids = NULL;
    snprintf(what, sizeof(what), "%s: config %s", path, cname);
    memset(img, 0, sizeof(*img));
    if ((r = vmctr__oci_parse_config(cfg_text, cfg_len, what, n_layers, img, &diff_ids)) < 0)
      goto out;
    if (vmctr__oci_platform_match(arch, img->os, img->architecture, img->variant)) {
      r = 0;
      break;
    }
    vmctr__oci_platform_seen(&seen, img->os, img->architecture, img->variant);
    vmctr__oci_image_clear(img);
    r = VMCTR_ENOENT;
    snprintf(what, sizeof(what), "%s: manifest.json", path);
  }
  if (r == VMCTR_ENOENT) {
    r = vmctr__oci_platform_none(path, arch, &seen);
    goto out;
  }
  if ((r = vmctr__oci_blob_put(dirfd, cfg_text, cfg_len, NULL, hex)) < 0)
    goto out;
  snprintf(img->config_digest, sizeof(img->config_digest), "sha256:%s", hex);
  if (n_layers && (!(img->layers = calloc(n_layers, sizeof(*img->layers))) ||
                   !(names = calloc(n_layers + 1, sizeof(*names))))) {
    r = vmctr__err_nomem();
    goto out;
  }
  img->n_layers = n_layers;
  i = 0;
  const cJSON *lay;
  cJSON_ArrayForEach(lay, cJSON_GetObjectItemCaseSensitive(ent, "Layers")) {
    char ln[NAME_MAX_LEN];
    const char *res;
    if (!vmctr__oci_tar_norm(lay->valuestring, ln, sizeof(ln)) || !(res = resolve(&c, ln))) {
      r = vmctr__err(VMCTR_ENOENT, 0, "%s: layer %.200s is missing from the archive", path,
                     lay->valuestring);
      goto out;
    }
    if (!(names[i++] = vmctr__strdup(res))) {
      r = VMCTR_ENOMEM;
      goto out;
    }
  }
  if ((r = copy_layers(&c, dirfd, names, n_layers, diff_ids, img, pr)) < 0 ||
      (r = synth_manifest(dirfd, img, cfg_len)) < 0)
    goto out;
out:
  vmctr__sb_free(&seen);
  vmctr__strv_free(names);
  vmctr__strv_free(diff_ids);
  free(cfg_text);
  cJSON_Delete(root);
  for (i = 0; i < c.n; i++) {
    free(c.m[i].name);
    free(c.m[i].link);
  }
  free(c.m);
  free(c.manifest);
  return r;
}
