/* SPDX-License-Identifier: MIT */
/* The image store: open, list, get and remove. Import is in import.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"
#include "image/store/store-priv.h"

static const char *const store_dirs[] = {"blobs", "blobs/sha256", "snapshots", "tmp", "locks",
                                         "tags", "sources"};

int vmctr_image_store_open(vmctr_image_store **out, const char *root, uint32_t flags) {
  vmctr_image_store *s;
  int r;
  if (!out || !root || !*root)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_open: %s is NULL or empty",
                      !out ? "out" : "root");
  if (flags)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_open: unknown flags 0x%x", flags);
  if (mkdir(root, 0700) < 0 && errno != EEXIST)
    return vmctr__err_os(errno, "creating the image store %s", root);
  if (!(s = calloc(1, sizeof(*s))))
    return vmctr__err_nomem();
  s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->root_fd < 0) {
    r = vmctr__err_os(errno, "opening the image store %s", root);
    goto fail;
  }
  if (!(s->root = realpath(root, NULL))) {
    r = vmctr__err_os(errno, "image store %s", root);
    goto fail;
  }
  if ((r = vmctr__store_check_dir(s->root_fd, ".", s->root)) < 0)
    goto fail;
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(store_dirs); i++) {
    char shown[64];
    if (mkdirat(s->root_fd, store_dirs[i], 0700) < 0 && errno != EEXIST) {
      r = vmctr__err_os(errno, "creating %s/%s", root, store_dirs[i]);
      goto fail;
    }
    snprintf(shown, sizeof(shown), "directory %s", store_dirs[i]);
    if ((r = vmctr__store_check_dir(s->root_fd, store_dirs[i], shown)) < 0)
      goto fail;
  }
  vmctr__store_clean_tmp(s->root_fd);
  *out = s;
  return 0;
fail:
  vmctr_image_store_free(s);
  return r;
}

void vmctr_image_store_free(vmctr_image_store *s) {
  if (!s)
    return;
  if (s->root_fd >= 0)
    close(s->root_fd);
  free(s->root);
  free(s);
}

const char *vmctr_image_store_root(const vmctr_image_store *s) { return s ? s->root : NULL; }

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every snapshot name (full hex digests), sorted. */
static int snapshot_names(vmctr_image_store *s, char ***out) {
  int fd = openat(s->root_fd, "snapshots", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  char **v = NULL;
  size_t n = 0, cap = 0;
  if (fd < 0 || !(d = fdopendir(fd))) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return vmctr__err_os(e, "%s/snapshots", s->root);
  }
  while ((de = readdir(d))) {
    size_t len;
    const char *h = vmctr__digest_hex(de->d_name, &len);
    if (!h || len != VMCTR__DIGEST_HEX || h != de->d_name)
      continue;
    if (n + 2 > cap) {
      char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
      if (!nv)
        goto nomem;
      v = nv;
    }
    if (!(v[n] = strdup(de->d_name)))
      goto nomem;
    v[++n] = NULL;
  }
  closedir(d);
  if (!v && !(v = calloc(1, sizeof(*v))))
    return vmctr__err_nomem();
  qsort(v, n, sizeof(*v), cmp_strp);
  *out = v;
  return (int)n;
nomem:
  closedir(d);
  vmctr__strv_free(v);
  return vmctr__err_nomem();
}

int vmctr_image_store_list(vmctr_image_store *s, char ***digests) {
  char **v;
  int n;
  if (!s || !digests)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_list: %s is NULL",
                      !s ? "store" : "digests");
  if ((n = snapshot_names(s, &v)) < 0)
    return n;
  for (int i = 0; i < n; i++) {
    char *d = malloc(7 + VMCTR__DIGEST_HEX + 1);
    if (!d) {
      vmctr__strv_free(v);
      return vmctr__err_nomem();
    }
    snprintf(d, 7 + VMCTR__DIGEST_HEX + 1, "sha256:%s", v[i]);
    free(v[i]);
    v[i] = d;
  }
  *digests = v;
  return n;
}

int vmctr__store_resolve(vmctr_image_store *s, const char *digest, char hex[VMCTR__DIGEST_HEX + 1]) {
  size_t len;
  const char *h = vmctr__digest_hex(digest, &len);
  char **names = NULL;
  int n, found = -1, r;
  if (!h)
    return vmctr__err(VMCTR_EINVAL, 0, "\"%s\" is not an image digest (sha256:<hex> or a prefix)",
                      digest ? digest : "(null)");
  if (len < 4)
    return vmctr__err(VMCTR_EINVAL, 0, "digest prefix \"%s\" is too short: give 4 hex digits or more",
                      digest);
  if ((n = snapshot_names(s, &names)) < 0)
    return n;
  for (int i = 0; i < n; i++) {
    if (strncmp(names[i], h, len) != 0)
      continue;
    if (found >= 0) {
      r = vmctr__err(VMCTR_EINVAL, 0, "digest prefix \"%s\" is ambiguous: give more digits", digest);
      goto out;
    }
    found = i;
  }
  if (found < 0) {
    r = vmctr__err(VMCTR_ENOENT, ENOENT, "no image %s in the store %s", digest, s->root);
    goto out;
  }
  memcpy(hex, names[found], VMCTR__DIGEST_HEX + 1);
  r = 0;
out:
  vmctr__strv_free(names);
  return r;
}

int vmctr_image_store_get(vmctr_image_store *s, const char *digest, vmctr_image **out) {
  char hex[VMCTR__DIGEST_HEX + 1];
  int r;
  if (!s || !digest || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_get: %s is NULL",
                      !s ? "store" : !digest ? "digest" : "out");
  if ((r = vmctr__store_resolve(s, digest, hex)) < 0)
    return r;
  return vmctr__image_open(s, hex, out);
}

int vmctr_image_store_remove(vmctr_image_store *s, const char *digest) {
  char hex[VMCTR__DIGEST_HEX + 1], name[VMCTR__DIGEST_HEX + 16], src[VMCTR__DIGEST_HEX + 16];
  char *staging = NULL, *dst = NULL;
  int imp = -1, use = -1, sfd = -1, r;
  if (!s || !digest)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_image_store_remove: %s is NULL",
                      !s ? "store" : "digest");
  if ((r = vmctr__store_resolve(s, digest, hex)) < 0)
    return r;
  snprintf(name, sizeof(name), "%s.import", hex);
  if ((imp = vmctr__store_lock(s->root_fd, name, LOCK_EX, true)) < 0) {
    r = vmctr__err(VMCTR_EBUSY, 0, "image sha256:%s is being imported or converted; try again later",
                   hex);
    goto out;
  }
  snprintf(name, sizeof(name), "%s.use", hex);
  if ((use = vmctr__store_lock(s->root_fd, name, LOCK_EX, true)) < 0) {
    r = vmctr__err(VMCTR_EBUSY, 0,
                   "image sha256:%s is in use (an open image handle); free it first", hex);
    goto out;
  }
  /* Out of snapshots/ in one rename, then deleted at leisure (or by the next cleaner). */
  if ((r = vmctr__store_staging(s->root_fd, "rm", &staging, &sfd)) < 0)
    goto out;
  snprintf(src, sizeof(src), "snapshots/%s", hex);
  if (!(dst = vmctr__path_join(staging, hex))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if (renameat(s->root_fd, src, s->root_fd, dst) < 0) {
    r = vmctr__err_os(errno, "removing image sha256:%s", hex);
    goto out;
  }
  (void)fsync(s->root_fd);
  r = 0;
out:
  if (staging) {
    int r2 = vmctr__rm_rf_at(s->root_fd, staging);
    if (r == 0)
      r = r2;
  }
  if (sfd >= 0)
    close(sfd);
  if (use >= 0)
    close(use);
  if (imp >= 0)
    close(imp);
  free(staging);
  free(dst);
  return r;
}
