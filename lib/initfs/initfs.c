/* SPDX-License-Identifier: MIT */
/* vmctr__initfs_get: content-addressed cache of initfs archives. The name is the SHA-256
 * of every input, so a cached file is reused only for identical inputs, and an archive
 * appears under its name only once complete (temp file, fsync, rename). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/util.h"
#include "initfs/initfs-priv.h"

static void hash_u64(vmctr__sha256 *c, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  vmctr__sha256_update(c, b, sizeof(b));
}

/* Length-prefix every field so that no two different input sets hash the same stream. */
static void hash_field(vmctr__sha256 *c, const void *data, size_t len) {
  hash_u64(c, len);
  vmctr__sha256_update(c, data, len);
}

static void hash_inputs(const vmctr__initfs_inputs *in, char hex[65]) {
  static const char tag[] = "vmctr-initfs";
  vmctr__sha256 c;
  uint8_t d[32];

  vmctr__sha256_init(&c);
  hash_field(&c, tag, sizeof(tag) - 1);
  hash_u64(&c, VMCTR__INITFS_FORMAT);
  hash_field(&c, in->init.data, in->init.len);
  hash_u64(&c, (uint64_t)in->has_modules);
  hash_u64(&c, in->n_mods);
  for (size_t i = 0; i < in->n_mods; i++) {
    hash_field(&c, in->mods[i].name, strlen(in->mods[i].name));
    hash_field(&c, in->mods[i].data, in->mods[i].len);
  }
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
}

/* mkdir -p, for the cache directory. */
static int make_dirs(const char *dir) {
  char *p = vmctr__strdup(dir);
  int r = 0;

  if (!p)
    return VMCTR_ENOMEM;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0755) < 0 && errno != EEXIST) {
      r = vmctr__err_os(errno, "initfs cache directory %s: creating %s", dir, p);
      break;
    }
    *s = saved;
    if (!saved)
      break;
  }
  free(p);
  if (r == 0) {
    struct stat st;
    if (stat(dir, &st) < 0)
      r = vmctr__err_os(errno, "initfs cache directory %s", dir);
    else if (!S_ISDIR(st.st_mode))
      r = vmctr__err(VMCTR_EINVAL, ENOTDIR, "initfs cache directory %s: not a directory", dir);
  }
  return r;
}

/* Build the archive and put it in place atomically (temp file, fsync, rename): a
 * concurrent builder of the same inputs renames an identical file, which is fine. */
static int build(const char *final, const vmctr__initfs_inputs *in) {
  vmctr__strbuf cpio = {0};
  int r = vmctr__initfs_write(final, in, &cpio);
  if (r < 0 && cpio.failed)
    r = vmctr__err_nomem();
  if (r == 0)
    r = vmctr__write_file_atomic(final, cpio.buf, cpio.len, 0644);
  vmctr__sb_free(&cpio);
  return r;
}

int vmctr__initfs_get(const vmctr__initfs_params *p, char **out_path) {
  vmctr__initfs_inputs in;
  vmctr__strbuf sb = {0};
  struct stat st;
  char hex[65], *path = NULL;
  int r;

  if (!p || !out_path)
    return vmctr__err(VMCTR_EINVAL, 0, "initfs: params and out_path are required");
  if (!p->cache_dir || !*p->cache_dir)
    return vmctr__err(VMCTR_EINVAL, 0, "initfs: no cache directory given");
  if ((r = vmctr__initfs_inputs_load(p, &in)) < 0)
    return r;
  hash_inputs(&in, hex);
  vmctr__sb_printf(&sb, "%s/initfs-%s.cpio.gz", p->cache_dir, hex);
  if (!(path = vmctr__sb_steal(&sb))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if (stat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      r = vmctr__err(VMCTR_EINVAL, 0, "%s: not a regular file; remove it", path);
      goto out;
    }
    vmctr__log(VMCTR_LOG_DEBUG, "initfs", "cached: %s", path);
  } else if (errno != ENOENT && errno != ENOTDIR) {
    r = vmctr__err_os(errno, "%s", path);
    goto out;
  } else {
    if ((r = make_dirs(p->cache_dir)) < 0 || (r = build(path, &in)) < 0)
      goto out;
    vmctr__log(VMCTR_LOG_DEBUG, "initfs", "built %s (%zu modules)", path, in.n_mods);
  }
  *out_path = path;
  path = NULL;
  r = 0;
out:
  free(path);
  vmctr__initfs_inputs_free(&in);
  return r;
}
