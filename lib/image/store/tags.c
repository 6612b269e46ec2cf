/* SPDX-License-Identifier: MIT */
/* Names: ROOT/tags/<sha256 of the normalized reference> holds
 * "REFERENCE\nHEX\n". One small file per name, replaced by rename, so
 * readers never see a torn record and writers need no lock. The same
 * record files serve known.c (ROOT/sources). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/sha256.h"
#include "core/strv.h"
#include "core/util.h"
#include "image/registry/ref.h"
#include "image/store/store-priv.h"

#define RECORD_MAX 4096

static void key_path(const char *dir, const char *key, char out[VMCTR__DIGEST_HEX + 16]) {
  vmctr__sha256 c;
  uint8_t d[32];
  char hex[65];
  vmctr__sha256_init(&c);
  vmctr__sha256_update(&c, key, strlen(key));
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  snprintf(out, VMCTR__DIGEST_HEX + 16, "%s/%s", dir, hex);
}

static int record_put(vmctr_image_store *s, const char *dir, const char *key,
                      const char *data) {
  char rel[VMCTR__DIGEST_HEX + 16], *path;
  int r;
  key_path(dir, key, rel);
  if (!(path = vmctr__path_join(s->root, rel)))
    return VMCTR_ENOMEM;
  r = vmctr__write_file_atomic(path, data, strlen(data), 0600);
  free(path);
  return r;
}

static int record_get(vmctr_image_store *s, const char *dir, const char *key, char **out) {
  char rel[VMCTR__DIGEST_HEX + 16], *path;
  size_t len;
  int r;
  key_path(dir, key, rel);
  if (faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : vmctr__err_os(errno, "%s/%s", s->root, rel);
  if (!(path = vmctr__path_join(s->root, rel)))
    return VMCTR_ENOMEM;
  r = vmctr__read_file_nofollow(path, RECORD_MAX, out, &len);
  free(path);
  if (r == VMCTR_ENOENT) /* removed since */
    return 0;
  return r < 0 ? r : 1;
}

/* "REF\nHEX\n" -> hex, when ref is the one asked for and the snapshot exists. */
static int parse_record(vmctr_image_store *s, const char *text, const char *want_ref,
                        char ref_out[VMCTR__REF_MAX * 2], char hex[VMCTR__DIGEST_HEX + 1]) {
  const char *nl = strchr(text, '\n'), *h;
  char snap[VMCTR__DIGEST_HEX + 16], line[VMCTR__DIGEST_HEX + 1];
  size_t len, rlen;
  if (!nl)
    return 0;
  rlen = (size_t)(nl - text);
  if (want_ref && (strlen(want_ref) != rlen || memcmp(text, want_ref, rlen) != 0))
    return 0;
  if (rlen >= VMCTR__REF_MAX * 2 || strlen(nl + 1) < VMCTR__DIGEST_HEX ||
      (nl[1 + VMCTR__DIGEST_HEX] != '\n' && nl[1 + VMCTR__DIGEST_HEX] != '\0'))
    return 0;
  memcpy(line, nl + 1, VMCTR__DIGEST_HEX);
  line[VMCTR__DIGEST_HEX] = '\0';
  h = vmctr__digest_hex(line, &len);
  if (!h || h != line || len != VMCTR__DIGEST_HEX)
    return 0;
  if (ref_out) {
    memcpy(ref_out, text, rlen);
    ref_out[rlen] = '\0';
  }
  memcpy(hex, h, VMCTR__DIGEST_HEX);
  hex[VMCTR__DIGEST_HEX] = '\0';
  /* A name whose image was removed is no name. */
  snprintf(snap, sizeof(snap), "snapshots/%s", hex);
  return faccessat(s->root_fd, snap, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int vmctr__store_record_set(vmctr_image_store *s, const char *dir, const char *norm,
                            const char *hex) {
  char *rec = malloc(strlen(norm) + VMCTR__DIGEST_HEX + 3);
  int r;
  if (!rec)
    return vmctr__err_nomem();
  sprintf(rec, "%s\n%s\n", norm, hex);
  r = record_put(s, dir, norm, rec);
  free(rec);
  return r;
}

int vmctr__store_record_lookup(vmctr_image_store *s, const char *dir, const char *norm,
                               char hex[VMCTR__DIGEST_HEX + 1]) {
  char *text = NULL;
  int r = record_get(s, dir, norm, &text);
  if (r <= 0)
    return r;
  r = parse_record(s, text, norm, NULL, hex);
  free(text);
  return r;
}

static int normalize(const char *name, char out[VMCTR__REF_MAX * 2]) {
  vmctr__ref ref;
  int r = vmctr__ref_parse(name, &ref);
  if (r < 0)
    return r;
  if (!vmctr__ref_format(&ref, out, VMCTR__REF_MAX * 2))
    return vmctr__err(VMCTR_EINVAL, 0, "image name \"%.300s\" is too long", name);
  return 0;
}

int vmctr_image_ref_normalize(const char *ref, char **out) {
  char norm[VMCTR__REF_MAX * 2];
  int r;
  if (!ref || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_ref_normalize: %s is NULL",
                      !ref ? "ref" : "out");
  if ((r = normalize(ref, norm)) < 0)
    return r;
  return (*out = vmctr__strdup(norm)) ? 0 : vmctr__err_nomem();
}

int vmctr_image_store_tag(vmctr_image_store *s, const char *name, const char *digest) {
  char norm[VMCTR__REF_MAX * 2], hex[VMCTR__DIGEST_HEX + 1];
  int r;
  if (!s || !name || !digest)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_tag: %s is NULL",
                      !s ? "store" : !name ? "name" : "digest");
  if ((r = normalize(name, norm)) < 0 || (r = vmctr__store_resolve(s, digest, hex)) < 0)
    return r;
  return vmctr__store_record_set(s, "tags", norm, hex);
}

int vmctr_image_store_untag(vmctr_image_store *s, const char *name) {
  char norm[VMCTR__REF_MAX * 2], rel[VMCTR__DIGEST_HEX + 16];
  int r;
  if (!s || !name)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_untag: %s is NULL",
                      !s ? "store" : "name");
  if ((r = normalize(name, norm)) < 0)
    return r;
  key_path("tags", norm, rel);
  if (unlinkat(s->root_fd, rel, 0) < 0)
    return errno == ENOENT ? vmctr__err(VMCTR_ENOENT, ENOENT, "no image named %s in the store %s",
                                        norm, s->root)
                           : vmctr__err_os(errno, "removing the name %s", norm);
  return 0;
}

static int cmp_pair(const void *a, const void *b) {
  return strcmp(((char *const *)a)[0], ((char *const *)b)[0]);
}

int vmctr_image_store_list_names(vmctr_image_store *s, char ***names, char ***digests) {
  int fd;
  DIR *d;
  struct dirent *de;
  char **pairs = NULL; /* name, hex, name, hex, ... */
  size_t n = 0, cap = 0;
  vmctr__strv nv = VMCTR__STRV_INIT, dv = VMCTR__STRV_INIT;
  int r = 0;
  if (!s || !names)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_list_names: %s is NULL",
                      !s ? "store" : "names");
  if ((fd = openat(s->root_fd, "tags", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
      !(d = fdopendir(fd))) {
    r = vmctr__err_os(errno, "%s/tags", s->root);
    if (fd >= 0)
      close(fd);
    return r;
  }
  while ((de = readdir(d))) {
    char rel[300], *path, *text = NULL, ref[VMCTR__REF_MAX * 2];
    char hex[VMCTR__DIGEST_HEX + 1];
    size_t len;
    const char *h = vmctr__digest_hex(de->d_name, &len);
    if (!h || h != de->d_name || len != VMCTR__DIGEST_HEX)
      continue; /* ".", "..", and temp files of a writer */
    snprintf(rel, sizeof(rel), "tags/%s", de->d_name);
    if (!(path = vmctr__path_join(s->root, rel))) {
      r = VMCTR_ENOMEM;
      break;
    }
    r = vmctr__read_file_nofollow(path, RECORD_MAX, &text, &len);
    free(path);
    if (r == VMCTR_ENOENT) {
      r = 0;
      continue;
    }
    if (r < 0)
      break;
    if (parse_record(s, text, NULL, ref, hex) == 1) {
      if (n + 2 > cap) {
        char **np = realloc(pairs, (cap = cap ? cap * 2 : 32) * sizeof(*pairs));
        if (!np) {
          free(text);
          r = vmctr__err_nomem();
          break;
        }
        pairs = np;
      }
      pairs[n++] = vmctr__strdup(ref);
      pairs[n] = malloc(7 + VMCTR__DIGEST_HEX + 1);
      if (pairs[n])
        sprintf(pairs[n], "sha256:%s", hex);
      n++;
      if (!pairs[n - 1] || !pairs[n - 2]) {
        free(text);
        r = vmctr__err_nomem();
        break;
      }
    }
    free(text);
  }
  closedir(d);
  if (r >= 0 && n) {
    qsort(pairs, n / 2, 2 * sizeof(*pairs), cmp_pair);
    for (size_t i = 0; i < n; i += 2) {
      vmctr__strv_add(&nv, pairs[i]);
      vmctr__strv_add(&dv, pairs[i + 1]);
    }
  }
  for (size_t i = 0; i < n; i++)
    free(pairs[i]);
  free(pairs);
  if (r < 0) {
    vmctr__strv_clear(&nv);
    vmctr__strv_clear(&dv);
    return r;
  }
  {
    char **a = NULL, **b = NULL;
    if (vmctr__strv_finish(&nv, &a) < 0) {
      vmctr__strv_clear(&dv);
      return VMCTR_ENOMEM;
    }
    if (vmctr__strv_finish(&dv, &b) < 0) {
      vmctr__strv_free(a);
      return VMCTR_ENOMEM;
    }
    *names = a;
    if (digests)
      *digests = b;
    else
      vmctr__strv_free(b);
  }
  return (int)(n / 2);
}

int vmctr_image_store_lookup(vmctr_image_store *s, const char *what, vmctr_image **out) {
  char norm[VMCTR__REF_MAX * 2], hex[VMCTR__DIGEST_HEX + 1];
  vmctr__ref ref;
  int r;
  if (!s || !what || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_lookup: %s is NULL",
                      !s ? "store" : !what ? "name" : "out");
  if (vmctr__ref_parse(what, &ref) == 0 && vmctr__ref_format(&ref, norm, sizeof(norm))) {
    if ((r = vmctr__store_record_lookup(s, "tags", norm, hex)) < 0)
      return r;
    if (r == 1)
      return vmctr__image_open(s, hex, out);
  }
  size_t hlen;
  if (vmctr__digest_hex(what, &hlen)) {
    r = vmctr_image_store_get(s, what, out);
    if (r != VMCTR_EINVAL)
      return r;
  }
  return vmctr__err(VMCTR_ENOENT, ENOENT, "no image named %s in the store %s", what, s->root);
}
