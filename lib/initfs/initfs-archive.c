/* SPDX-License-Identifier: MIT */
/* Writing the initfs: cpio newc through libarchive's gzip filter. Entries carry fixed
 * owners and times, so equal inputs give equal archives. Device nodes are only
 * headers in the archive, so no privilege is needed to write them. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/util.h"
#include "initfs/initfs-priv.h"

#define MODDIR "lib/modules/vmctr"

typedef struct writer {
  struct archive *a;
  struct archive_entry *e;
  const char *path;
  int64_t ino;
} writer;

static int fail(writer *w, const char *what) {
  const char *msg = archive_error_string(w->a);
  int e = archive_errno(w->a);
  return vmctr__err(VMCTR_EIO, e > 0 ? e : 0, "%s: writing the initfs (%s): %s", w->path, what,
                    msg ? msg : "unknown libarchive error");
}

/* One entry: type is AE_IFDIR, AE_IFREG or AE_IFCHR; data/len only for AE_IFREG. */
static int add(writer *w, const char *name, unsigned type, unsigned perm, unsigned maj,
               unsigned min, const void *data, size_t len) {
  archive_entry_clear(w->e);
  archive_entry_set_pathname(w->e, name);
  archive_entry_set_filetype(w->e, type);
  archive_entry_set_perm(w->e, perm);
  archive_entry_set_uid(w->e, 0);
  archive_entry_set_gid(w->e, 0);
  archive_entry_set_mtime(w->e, 0, 0);
  archive_entry_set_ino64(w->e, ++w->ino);
  archive_entry_set_nlink(w->e, type == AE_IFDIR ? 2 : 1);
  archive_entry_set_size(w->e, type == AE_IFREG ? (la_int64_t)len : 0);
  if (type == AE_IFCHR) {
    archive_entry_set_rdevmajor(w->e, maj);
    archive_entry_set_rdevminor(w->e, min);
  }
  if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
    return fail(w, name);
  for (size_t off = 0; off < len;) {
    la_ssize_t n = archive_write_data(w->a, (const char *)data + off, len - off);
    if (n <= 0)
      return fail(w, name);
    off += (size_t)n;
  }
  return 0;
}

static la_ssize_t to_buffer(struct archive *a, void *ud, const void *buf, size_t n) {
  vmctr__strbuf *out = ud;
  vmctr__sb_append(out, buf, n);
  if (out->failed) {
    archive_set_error(a, ENOMEM, "out of memory");
    return -1;
  }
  return (la_ssize_t)n;
}

int vmctr__initfs_write(const char *path, const vmctr__initfs_inputs *in, vmctr__strbuf *out) {
  static const char *const dirs[] = {"dev", "proc", "sys", "run", "mnt", "lib", "lib/modules",
                                     MODDIR};
  writer w = {.path = path};
  vmctr__strbuf order = {0};
  char *order_s = NULL;
  int r;

  w.a = archive_write_new();
  w.e = archive_entry_new();
  if (!w.a || !w.e) {
    r = vmctr__err_nomem();
    goto out;
  }
  if (archive_write_set_format_cpio_newc(w.a) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(w.a) != ARCHIVE_OK) {
    r = fail(&w, "setup");
    goto out;
  }
  /* No gzip timestamp (best effort: older libarchive lacks the option), no block padding. */
  (void)archive_write_set_filter_option(w.a, "gzip", "timestamp", NULL);
  if (archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
      archive_write_open(w.a, out, NULL, to_buffer, NULL) != ARCHIVE_OK) {
    r = fail(&w, "open");
    goto out;
  }
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(dirs); i++)
    if ((r = add(&w, dirs[i], AE_IFDIR, 0755, 0, 0, NULL, 0)) < 0)
      goto out;
  if ((r = add(&w, "tmp", AE_IFDIR, 01777, 0, 0, NULL, 0)) < 0 ||
      (r = add(&w, "dev/console", AE_IFCHR, 0600, 5, 1, NULL, 0)) < 0 ||
      (r = add(&w, "dev/null", AE_IFCHR, 0666, 1, 3, NULL, 0)) < 0 ||
      (r = add(&w, "init", AE_IFREG, 0755, 0, 0, in->init.data, in->init.len)) < 0)
    goto out;
  if (in->has_modules) {
    for (size_t i = 0; i < in->n_mods; i++) {
      vmctr__strbuf name = {0};
      char *s;
      vmctr__sb_printf(&name, MODDIR "/%s", in->mods[i].name);
      s = vmctr__sb_steal(&name);
      if (!s) {
        r = VMCTR_ENOMEM;
        goto out;
      }
      r = add(&w, s, AE_IFREG, 0644, 0, 0, in->mods[i].data, in->mods[i].len);
      free(s);
      if (r < 0)
        goto out;
      vmctr__sb_printf(&order, "%s\n", in->mods[i].name);
    }
    /* The load-order written is the normalized one: names only, one a line. */
    vmctr__sb_puts(&order, "");
    order_s = vmctr__sb_steal(&order);
    if (!order_s) {
      r = VMCTR_ENOMEM;
      goto out;
    }
    if ((r = add(&w, MODDIR "/load-order", AE_IFREG, 0644, 0, 0, order_s, strlen(order_s))) < 0)
      goto out;
  }
  if (archive_write_close(w.a) != ARCHIVE_OK) {
    r = fail(&w, "close");
    goto out;
  }
  r = 0;
out:
  free(order_s);
  vmctr__sb_free(&order);
  if (w.e)
    archive_entry_free(w.e);
  if (w.a)
    archive_write_free(w.a);
  return r;
}
