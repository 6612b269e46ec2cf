/* SPDX-License-Identifier: MIT */
/* The image config document (OCI image config / Docker container image v1):
 * platform, process defaults and rootfs.diff_ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define STRV_MAX 4096u

/* An array of strings (null = absent). */
static int get_strv(const cJSON *obj, const char *key, const char *what, char ***out) {
  const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL, *e;
  char **v;
  size_t n = 0;
  if (!it || cJSON_IsNull(it))
    return 0;
  if (!cJSON_IsArray(it))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": expected an array of strings, got %s",
                      what, key, vmctr__json_type_name(it));
  if ((size_t)cJSON_GetArraySize(it) > STRV_MAX)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: key \"%s\": more than %u entries", what, key,
                      STRV_MAX);
  if (!(v = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(*v))))
    return vmctr__err_nomem();
  cJSON_ArrayForEach(e, it) {
    if (!cJSON_IsString(e)) {
      vmctr__strv_free(v);
      return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": entry %zu is %s, not a string", what,
                        key, n, vmctr__json_type_name(e));
    }
    if (!(v[n++] = vmctr__strdup(e->valuestring))) {
      vmctr__strv_free(v);
      return VMCTR_ENOMEM;
    }
  }
  *out = v;
  return 0;
}

int vmctr__oci_parse_config(const char *text, size_t len, const char *what, size_t n_layers,
                            vmctr__oci_image *img, char ***diff_ids_out) {
  cJSON *root = NULL;
  const cJSON *cfg, *rootfs;
  char **diff_ids = NULL, *type = NULL;
  int r;
  char ewhat[256];

  if (len > OCI_DOC_MAX)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu bytes, more than the %u allowed", what, len,
                      OCI_DOC_MAX);
  if ((r = vmctr__json_parse(text, len, what, &root)) < 0)
    return r;
  if (!cJSON_IsObject(root)) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: expected a JSON object, got %s", what,
                   vmctr__json_type_name(root));
    goto out;
  }
  if ((r = vmctr__oci_opt_str(root, "os", what, &img->os)) < 0 ||
      (r = vmctr__oci_opt_str(root, "architecture", what, &img->architecture)) < 0 ||
      (r = vmctr__oci_opt_str(root, "variant", what, &img->variant)) < 0)
    goto out;
  if (!img->os || !img->architecture) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: \"os\" and \"architecture\" are required", what);
    goto out;
  }
  cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
  if (cfg && !cJSON_IsNull(cfg) && !cJSON_IsObject(cfg)) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: \"config\" is not an object", what);
    goto out;
  }
  if (cfg && !cJSON_IsObject(cfg))
    cfg = NULL;
  snprintf(ewhat, sizeof(ewhat), "%s: config", what);
  if ((r = get_strv(cfg, "Entrypoint", ewhat, &img->entrypoint)) < 0 ||
      (r = get_strv(cfg, "Cmd", ewhat, &img->cmd)) < 0 ||
      (r = get_strv(cfg, "Env", ewhat, &img->env)) < 0 ||
      (r = vmctr__oci_opt_str(cfg, "WorkingDir", ewhat, &img->workdir)) < 0 ||
      (r = vmctr__oci_opt_str(cfg, "User", ewhat, &img->user)) < 0)
    goto out;
  rootfs = cJSON_GetObjectItemCaseSensitive(root, "rootfs");
  if (!cJSON_IsObject(rootfs)) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: \"rootfs\" is missing or not an object", what);
    goto out;
  }
  snprintf(ewhat, sizeof(ewhat), "%s: rootfs", what);
  if ((r = vmctr__oci_opt_str(rootfs, "type", ewhat, &type)) < 0 ||
      (r = get_strv(rootfs, "diff_ids", ewhat, &diff_ids)) < 0)
    goto out;
  if (!type || strcmp(type, "layers") != 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: rootfs.type must be \"layers\"", what);
    goto out;
  }
  if (vmctr__strv_len(diff_ids) != n_layers) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: rootfs.diff_ids has %zu entries but the manifest has "
                   "%zu layers", what, vmctr__strv_len(diff_ids), n_layers);
    goto out;
  }
  for (size_t i = 0; i < n_layers; i++)
    if ((r = vmctr__oci_check_digest(diff_ids[i], ewhat)) < 0)
      goto out;
  if (!(img->config_json = malloc(len + 1))) {
    r = vmctr__err_nomem();
    goto out;
  }
  memcpy(img->config_json, text, len);
  img->config_json[len] = '\0';
  if (diff_ids_out) {
    *diff_ids_out = diff_ids;
    diff_ids = NULL;
  }
out:
  free(type);
  vmctr__strv_free(diff_ids);
  cJSON_Delete(root);
  return r;
}

void vmctr__oci_image_clear(vmctr__oci_image *img) {
  free(img->os);
  free(img->architecture);
  free(img->variant);
  for (size_t i = 0; i < img->n_layers; i++)
    free(img->layers[i].media_type);
  free(img->layers);
  vmctr__strv_free(img->entrypoint);
  vmctr__strv_free(img->cmd);
  vmctr__strv_free(img->env);
  free(img->workdir);
  free(img->user);
  free(img->config_json);
  memset(img, 0, sizeof(*img));
}

void vmctr__oci_image_free(vmctr__oci_image *img) {
  if (!img)
    return;
  vmctr__oci_image_clear(img);
  free(img);
}
