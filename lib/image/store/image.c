/* SPDX-License-Identifier: MIT */
/* One unpacked image: its image.json (written at import, read by handles)
 * and the getters of the public vmctr_image handle. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "image/oci/oci.h"
#include "image/store/store-priv.h"

#define IMAGE_JSON_MAX (4u * 1024 * 1024)
#define IMAGE_JSON_FORMAT 1

static cJSON *strv_to_json(char *const *v) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && v && v[i]; i++) {
    cJSON *s = cJSON_CreateString(v[i]);
    if (!s || !cJSON_AddItemToArray(a, s)) {
      cJSON_Delete(s);
      cJSON_Delete(a);
      return NULL;
    }
  }
  return a;
}

int vmctr__image_json_write(const char *dir, const vmctr__oci_image *img) {
  cJSON *root = cJSON_CreateObject(), *layers = NULL;
  char *text = NULL;
  int r = VMCTR_ENOMEM;
  if (!root)
    return vmctr__err_nomem();
  if (!vmctr__json_add_number(root, "version", IMAGE_JSON_FORMAT) ||
      !vmctr__json_add_string(root, "digest", img->config_digest) ||
      !vmctr__json_add_string(root, "manifest_digest", img->manifest_digest) ||
      !vmctr__json_add_string(root, "os", img->os ? img->os : "linux") ||
      !vmctr__json_add_string(root, "architecture", img->architecture ? img->architecture : ""))
    goto out;
  if (img->variant && !vmctr__json_add_string(root, "variant", img->variant))
    goto out;
  if (img->workdir && !vmctr__json_add_string(root, "workdir", img->workdir))
    goto out;
  if (img->user && !vmctr__json_add_string(root, "user", img->user))
    goto out;
  if (!cJSON_AddItemToObject(root, "entrypoint", strv_to_json(img->entrypoint)) ||
      !cJSON_AddItemToObject(root, "cmd", strv_to_json(img->cmd)) ||
      !cJSON_AddItemToObject(root, "env", strv_to_json(img->env)))
    goto nomem;
  if (!(layers = cJSON_AddArrayToObject(root, "layers")))
    goto nomem;
  for (size_t i = 0; i < img->n_layers; i++) {
    cJSON *s = cJSON_CreateString(img->layers[i].digest);
    if (!s || !cJSON_AddItemToArray(layers, s)) {
      cJSON_Delete(s);
      goto nomem;
    }
  }
  if (!(text = vmctr__json_print(root, true)))
    goto out;
  {
    char *path = vmctr__path_join(dir, "image.json");
    r = path ? vmctr__write_file_atomic(path, text, strlen(text), 0644) : VMCTR_ENOMEM;
    free(path);
  }
  goto out;
nomem:
  r = vmctr__err_nomem();
out:
  free(text);
  cJSON_Delete(root);
  return r;
}

static int json_strv(const cJSON *root, const char *key, char ***out) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
  size_t n = 0, i = 0;
  const cJSON *el;
  char **v;
  if (a && !cJSON_IsArray(a))
    return vmctr__err(VMCTR_EPARSE, 0, "image.json: key \"%s\": expected an array", key);
  n = a ? (size_t)cJSON_GetArraySize(a) : 0;
  if (!(v = calloc(n + 1, sizeof(*v))))
    return vmctr__err_nomem();
  cJSON_ArrayForEach(el, a) {
    if (!cJSON_IsString(el)) {
      vmctr__strv_free(v);
      return vmctr__err(VMCTR_EPARSE, 0, "image.json: key \"%s\": expected strings", key);
    }
    if (!(v[i++] = vmctr__strdup(el->valuestring))) {
      vmctr__strv_free(v);
      return VMCTR_ENOMEM;
    }
  }
  *out = v;
  return 0;
}

static int json_str(const cJSON *root, const char *key, bool required, char **out) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, key);
  const char *v;
  int r;
  if (!s) {
    if (required)
      return vmctr__err(VMCTR_EPARSE, 0, "image.json: key \"%s\" is missing", key);
    return 0;
  }
  if ((r = vmctr__json_as_string(s, key, &v)) < 0)
    return r;
  return (*out = vmctr__strdup(v)) ? 0 : VMCTR_ENOMEM;
}

static int image_load(vmctr_image *img) {
  char *path = vmctr__path_join(img->dir, "image.json"), *text = NULL;
  cJSON *root = NULL;
  size_t len;
  int r;
  if (!path)
    return VMCTR_ENOMEM;
  if ((r = vmctr__read_file_regular(path, IMAGE_JSON_MAX, &text, &len)) < 0 ||
      (r = vmctr__json_parse(text, len, path, &root)) < 0)
    goto out;
  if (!cJSON_IsObject(root)) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: not a JSON object; remove the image and import it again",
                   path);
    goto out;
  }
  if ((r = json_str(root, "digest", true, &img->digest)) < 0 ||
      (r = json_str(root, "manifest_digest", true, &img->manifest_digest)) < 0 ||
      (r = json_str(root, "architecture", true, &img->architecture)) < 0 ||
      (r = json_str(root, "os", true, &img->os)) < 0 ||
      (r = json_str(root, "workdir", false, &img->workdir)) < 0 ||
      (r = json_str(root, "user", false, &img->user)) < 0 ||
      (r = json_strv(root, "entrypoint", &img->entrypoint)) < 0 ||
      (r = json_strv(root, "cmd", &img->cmd)) < 0 ||
      (r = json_strv(root, "env", &img->env)) < 0 ||
      (r = json_strv(root, "layers", &img->layers)) < 0)
    goto out;
  if (strncmp(img->digest, "sha256:", 7) != 0 || strcmp(img->digest + 7, img->hex) != 0)
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: digest %s does not match its directory", path,
                   img->digest);
out:
  if (r < 0 && r != VMCTR_ENOMEM)
    vmctr__err_prefix("reading the image");
  cJSON_Delete(root);
  free(text);
  free(path);
  return r;
}

int vmctr__image_open(vmctr_image_store *store, const char *hex, vmctr_image **out) {
  vmctr_image *img = calloc(1, sizeof(*img));
  char name[VMCTR__DIGEST_HEX + 16];
  int r;
  if (!img)
    return vmctr__err_nomem();
  img->use_fd = -1;
  if ((img->root_fd = fcntl(store->root_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
    free(img);
    return vmctr__err_os(errno, "image store %s", store->root);
  }
  snprintf(img->hex, sizeof(img->hex), "%s", hex);
  snprintf(name, sizeof(name), "%s.use", hex);
  /* Shared: any number of handles; vmctr_image_store_remove() needs it exclusive. */
  if ((r = vmctr__store_lock(store->root_fd, name, LOCK_SH, false)) < 0)
    goto fail;
  img->use_fd = r;
  snprintf(name, sizeof(name), "snapshots/%s", hex);
  if (faccessat(store->root_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
    r = vmctr__err(VMCTR_ENOENT, errno, "image sha256:%s is not in the store %s", hex, store->root);
    goto fail;
  }
  if (!(img->dir = vmctr__path_join(store->root, name)) ||
      !(img->rootfs = vmctr__path_join(img->dir, "rootfs"))) {
    r = VMCTR_ENOMEM;
    goto fail;
  }
  if ((r = image_load(img)) < 0)
    goto fail;
  *out = img;
  return 0;
fail:
  vmctr_image_free(img);
  return r;
}

void vmctr_image_free(vmctr_image *img) {
  if (!img)
    return;
  if (img->use_fd >= 0)
    close(img->use_fd);
  close(img->root_fd);
  free(img->dir);
  free(img->rootfs);
  free(img->digest);
  free(img->manifest_digest);
  free(img->architecture);
  free(img->os);
  free(img->workdir);
  free(img->user);
  vmctr__strv_free(img->entrypoint);
  vmctr__strv_free(img->cmd);
  vmctr__strv_free(img->env);
  vmctr__strv_free(img->layers);
  free(img);
}

const char *vmctr_image_digest(const vmctr_image *img) { return img ? img->digest : NULL; }
const char *vmctr_image_manifest_digest(const vmctr_image *img) {
  return img ? img->manifest_digest : NULL;
}
const char *vmctr_image_rootfs(const vmctr_image *img) { return img ? img->rootfs : NULL; }
const char *vmctr_image_architecture(const vmctr_image *img) {
  return img ? img->architecture : NULL;
}
const char *vmctr_image_os(const vmctr_image *img) { return img ? img->os : NULL; }
const char *const *vmctr_image_entrypoint(const vmctr_image *img) {
  return img ? (const char *const *)img->entrypoint : NULL;
}
const char *const *vmctr_image_cmd(const vmctr_image *img) {
  return img ? (const char *const *)img->cmd : NULL;
}
const char *const *vmctr_image_env(const vmctr_image *img) {
  return img ? (const char *const *)img->env : NULL;
}
const char *vmctr_image_workdir(const vmctr_image *img) { return img ? img->workdir : NULL; }
const char *vmctr_image_user(const vmctr_image *img) { return img ? img->user : NULL; }
