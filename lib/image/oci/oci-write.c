/* SPDX-License-Identifier: MIT */
/* vmctr__oci_write_layout: a single-layer OCI image layout from a rootfs
 * directory, built in a temp directory beside layout_dir and renamed into
 * place, so a failure leaves nothing. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st;
  (void)f;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static cJSON *strv_json(const char *const *v) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && v && v[i]; i++) {
    cJSON *s = cJSON_CreateString(v[i]);
    if (!s) {
      cJSON_Delete(a);
      return NULL;
    }
    cJSON_AddItemToArray(a, s);
  }
  return a;
}

/* Serialize root (consumed) and store it as a blob; digest/size out. */
static int put_json(int dirfd, cJSON *root, char digest[72], size_t *size) {
  char *text = root ? vmctr__json_print(root, false) : NULL, hex[65];
  int r;
  cJSON_Delete(root);
  if (!text)
    return vmctr__err_nomem();
  *size = strlen(text);
  r = vmctr__oci_blob_put(dirfd, text, *size, NULL, hex);
  free(text);
  if (r == 0)
    snprintf(digest, 72, "sha256:%s", hex);
  return r;
}

static cJSON *desc(const char *mt, const char *digest, double size) {
  cJSON *d = cJSON_CreateObject();
  if (d && (!vmctr__json_add_string(d, "mediaType", mt) ||
            !vmctr__json_add_string(d, "digest", digest) ||
            !vmctr__json_add_number(d, "size", size))) {
    cJSON_Delete(d);
    return NULL;
  }
  return d;
}

static bool add(cJSON *o, const char *k, cJSON *v) {
  if (!v)
    return false;
  cJSON_AddItemToObject(o, k, v);
  return true;
}

static bool add_item(cJSON *arr, cJSON *v) {
  if (!v)
    return false;
  cJSON_AddItemToArray(arr, v);
  return true;
}

static int write_docs(const char *tmp, int dirfd, const vmctr__oci_build_params *p,
                      const char *arch, const char *layer, const char *diff_id,
                      uint64_t layer_size) {
  static const char *const default_env[] = {DEFAULT_PATH, NULL};
  char cfg_digest[72], man_digest[72], path[4300];
  size_t cfg_size, man_size;
  cJSON *c = cJSON_CreateObject(), *pc, *rf, *x;
  int r;

  /* The config: no "created" time, so equal inputs give equal digests. */
  if (!c || !vmctr__json_add_string(c, "architecture", arch) ||
      !vmctr__json_add_string(c, "os", "linux") || !(pc = cJSON_AddObjectToObject(c, "config")) ||
      (p->entrypoint && !add(pc, "Entrypoint", strv_json(p->entrypoint))) ||
      (p->cmd && !add(pc, "Cmd", strv_json(p->cmd))) ||
      !add(pc, "Env", strv_json(p->env ? p->env : default_env)) ||
      (p->workdir && !vmctr__json_add_string(pc, "WorkingDir", p->workdir)) ||
      (p->user && !vmctr__json_add_string(pc, "User", p->user)) ||
      !(rf = cJSON_AddObjectToObject(c, "rootfs")) ||
      !vmctr__json_add_string(rf, "type", "layers") ||
      !(x = cJSON_AddArrayToObject(rf, "diff_ids")) ||
      !add_item(x, cJSON_CreateString(diff_id))) {
    cJSON_Delete(c);
    return vmctr__err_nomem();
  }
  if ((r = put_json(dirfd, c, cfg_digest, &cfg_size)) < 0)
    return r;

  cJSON *m = cJSON_CreateObject(), *ls;
  if (!m || !vmctr__json_add_number(m, "schemaVersion", 2) ||
      !vmctr__json_add_string(m, "mediaType", MT_OCI_MANIFEST) ||
      !add(m, "config", desc(MT_OCI_CONFIG, cfg_digest, (double)cfg_size)) ||
      !(ls = cJSON_AddArrayToObject(m, "layers")) ||
      !add_item(ls, desc(MT_OCI_LAYER_GZ, layer, (double)layer_size))) {
    cJSON_Delete(m);
    return vmctr__err_nomem();
  }
  if ((r = put_json(dirfd, m, man_digest, &man_size)) < 0)
    return r;

  cJSON *ix = cJSON_CreateObject(), *ms, *md, *pl, *an;
  if (!ix || !vmctr__json_add_number(ix, "schemaVersion", 2) ||
      !vmctr__json_add_string(ix, "mediaType", MT_OCI_INDEX) ||
      !(ms = cJSON_AddArrayToObject(ix, "manifests")) ||
      !add_item(ms, (md = desc(MT_OCI_MANIFEST, man_digest, (double)man_size))) ||
      !(pl = cJSON_AddObjectToObject(md, "platform")) ||
      !vmctr__json_add_string(pl, "architecture", arch) ||
      !vmctr__json_add_string(pl, "os", "linux") ||
      !(an = cJSON_AddObjectToObject(md, "annotations")) ||
      !vmctr__json_add_string(an, REF_ANNOTATION, p->ref_name ? p->ref_name : "latest")) {
    cJSON_Delete(ix);
    return vmctr__err_nomem();
  }
  char *text = vmctr__json_print(ix, false);
  cJSON_Delete(ix);
  if (!text)
    return VMCTR_ENOMEM;
  snprintf(path, sizeof(path), "%s/index.json", tmp);
  r = vmctr__write_file_atomic(path, text, strlen(text), 0644);
  free(text);
  if (r < 0)
    return r;
  snprintf(path, sizeof(path), "%s/oci-layout", tmp);
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  return vmctr__write_file_atomic(path, layout, sizeof(layout) - 1, 0644);
}

int vmctr__oci_write_layout(const char *rootfs_dir, const char *layout_dir,
                            const vmctr__oci_build_params *p) {
  const vmctr__oci_build_params none = {0};
  char tmp[4200], blobs[4300], layer[72], diff_id[72];
  const char *arch;
  struct stat st;
  uint64_t size = 0;
  vmctr__oci_prog pr;
  int dirfd = -1, r;

  if (!p)
    p = &none;
  if (!rootfs_dir || !layout_dir)
    return vmctr__err(VMCTR_EINVAL, 0, "rootfs_dir and layout_dir are required");
  arch = p->architecture ? p->architecture : vmctr__oci_host_arch();
  if (strcmp(arch, "amd64") != 0 && strcmp(arch, "arm64") != 0)
    return vmctr__err(VMCTR_EINVAL, 0, "architecture \"%s\" is not supported (amd64 or arm64)",
                      arch);
  if (stat(rootfs_dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return vmctr__err(VMCTR_ENOENT, errno, "rootfs directory %s does not exist or is not a "
                      "directory", rootfs_dir);
  if (lstat(layout_dir, &st) == 0 && !(S_ISDIR(st.st_mode) && rmdir(layout_dir) == 0))
    return vmctr__err(VMCTR_EEXIST, 0, "%s already exists; remove it or choose another "
                      "layout directory", layout_dir);
  if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", layout_dir) >= (int)sizeof(tmp))
    return vmctr__err(VMCTR_EINVAL, 0, "layout directory path too long");
  if (!mkdtemp(tmp))
    return vmctr__err_os(errno, "cannot create a temp directory beside %s", layout_dir);
  snprintf(blobs, sizeof(blobs), "%s/blobs", tmp);
  vmctr__oci_prog_init(&pr, p->progress, p->userdata, VMCTR_PROGRESS_COPY);
  pr.p.item_count = 1;
  if ((r = vmctr__oci_blob_dir_open(blobs, &dirfd)) < 0 ||
      (r = vmctr__oci_prog_item(&pr, rootfs_dir, 0, 0)) < 0 ||
      (r = vmctr__oci_write_layer(rootfs_dir, dirfd, &pr, layer, diff_id, &size)) < 0 ||
      (r = write_docs(tmp, dirfd, p, arch, layer, diff_id, size)) < 0)
    goto fail;
  pr.p.item = NULL;
  if ((r = vmctr__oci_prog_emit(&pr, true)) < 0)  /* the last chance to cancel */
    goto fail;
  if (fsync(dirfd) < 0 || rename(tmp, layout_dir) < 0) {
    r = vmctr__err_os(errno, "cannot move the new layout into place at %s", layout_dir);
    goto fail;
  }
  close(dirfd);
  return 0;
fail:
  if (dirfd >= 0)
    close(dirfd);
  nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return r;
}
