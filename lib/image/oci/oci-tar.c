/* SPDX-License-Identifier: MIT */
/* One gzip-compressed tar layer from a directory tree, written into a blob
 * directory: pax format (ustar where it fits), entries in sorted order,
 * numeric owners, real mtimes, hardlinks/symlinks/devices/xattrs kept. The
 * tar stream is hashed (diff_id) and compressed here with zlib, so both
 * digests come out of one pass and the gzip header is reproducible. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define PATH_CAP 4096
#define MAX_DEPTH 256

typedef struct tctx {
  struct archive *w, *disk;
  struct archive_entry_linkresolver *links;
  vmctr__oci_blobw blob;
  vmctr__sha256 diff;
  z_stream z;
  int err;  /* first failure, recorded */
  vmctr__oci_prog *pr;
} tctx;

static int zout(tctx *t, int flush) {
  uint8_t out[65536];
  int zr;
  do {
    t->z.next_out = out;
    t->z.avail_out = sizeof(out);
    zr = deflate(&t->z, flush);
    if (zr == Z_STREAM_ERROR)
      return vmctr__err(VMCTR_EIO, 0, "gzip compression failed");
    int r = vmctr__oci_blob_write(&t->blob, out, sizeof(out) - t->z.avail_out);
    if (r < 0)
      return r;
  } while (t->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
  return 0;
}

static la_ssize_t wcb(struct archive *a, void *ud, const void *buf, size_t n) {
  tctx *t = ud;
  (void)a;
  vmctr__sha256_update(&t->diff, buf, n);
  t->z.next_in = (Bytef *)buf;
  t->z.avail_in = (uInt)n;
  if ((t->err = zout(t, Z_NO_FLUSH)) < 0)
    return -1;
  return (la_ssize_t)n;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int fail_ar(tctx *t, struct archive *a, const char *path) {
  if (t->err < 0)
    return t->err;
  return vmctr__err(VMCTR_EIO, archive_errno(a), "%s: cannot archive: %s", path,
                    archive_error_string(a));
}

static int write_entry(tctx *t, const char *full, const char *rel, const struct stat *st) {
  struct archive_entry *e = archive_entry_new(), *sparse = NULL;
  int r = 0, fd = -1;
  if (!e)
    return vmctr__err_nomem();
  archive_entry_copy_sourcepath(e, full);
  archive_entry_copy_pathname(e, full);
  if (archive_read_disk_entry_from_file(t->disk, e, -1, st) != ARCHIVE_OK) {
    r = fail_ar(t, t->disk, full);
    goto out;
  }
  archive_entry_copy_pathname(e, rel);
  archive_entry_set_uname(e, NULL);
  archive_entry_set_gname(e, NULL);
  archive_entry_unset_atime(e);
  archive_entry_unset_ctime(e);
  archive_entry_unset_birthtime(e);
  archive_entry_linkify(t->links, &e, &sparse);
  if (!e)
    goto out;
  if (S_ISREG(st->st_mode) && !archive_entry_hardlink(e) && st->st_size > 0 &&
      (fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)) < 0) {
    r = vmctr__err_os(errno, "cannot read %s", full);
    goto out;
  }
  if (fd >= 0) { /* swapped for a FIFO or device since the walk saw it? */
    struct stat fst;
    if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino) {
      r = vmctr__err(VMCTR_EIO, 0, "%s changed while it was packed (no longer the regular "
                     "file the walk saw)", full);
      goto out;
    }
  }
  if (archive_write_header(t->w, e) < ARCHIVE_WARN) {
    r = fail_ar(t, t->w, full);
    goto out;
  }
  if (fd >= 0) {
    char buf[65536];
    int64_t left = archive_entry_size(e);
    ssize_t k;
    while (left > 0 && (k = read(fd, buf, sizeof(buf))) != 0) {
      if (k < 0 && errno == EINTR)
        continue;
      if (k < 0) {
        r = vmctr__err_os(errno, "cannot read %s", full);
        goto out;
      }
      if (k > left)
        k = (ssize_t)left;
      if (archive_write_data(t->w, buf, (size_t)k) < 0) {
        r = fail_ar(t, t->w, full);
        goto out;
      }
      left -= k;
      if ((r = vmctr__oci_prog_add(t->pr, (uint64_t)k)) < 0)
        goto out;
    }
    if (left > 0) {
      r = vmctr__err(VMCTR_EIO, 0, "%s shrank while it was being archived", full);
      goto out;
    }
  }
  if (t->pr)
    t->pr->p.item_entries_done++;
out:
  if (fd >= 0)
    close(fd);
  archive_entry_free(e);
  archive_entry_free(sparse);
  return r;
}

static int walk(tctx *t, char *full, size_t flen, char *rel, size_t rlen, int depth) {
  struct dirent **ents = NULL;
  int n, r = 0;
  if (depth > MAX_DEPTH)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: directories nested more than %d deep", full,
                      MAX_DEPTH);
  if ((n = scandir(full, &ents, NULL, name_cmp)) < 0)
    return vmctr__err_os(errno, "cannot list %s", full);
  for (int i = 0; i < n; i++) {
    const char *nm = ents[i]->d_name;
    size_t nl = strlen(nm);
    struct stat st;
    if (r < 0 || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
      continue;
    if (flen + nl + 2 > PATH_CAP || rlen + nl + 2 > PATH_CAP) {
      r = vmctr__err(VMCTR_ETOOBIG, 0, "%s/%s: path too long", full, nm);
      continue;
    }
    snprintf(full + flen, PATH_CAP - flen, "/%s", nm);
    snprintf(rel + rlen, PATH_CAP - rlen, "%s%s", rlen ? "/" : "", nm);
    if (lstat(full, &st) < 0)
      r = vmctr__err_os(errno, "cannot stat %s", full);
    else if (S_ISSOCK(st.st_mode))
      ; /* a tar cannot hold a socket; whoever runs the container recreates it */
    else if ((r = write_entry(t, full, rel, &st)) == 0 && S_ISDIR(st.st_mode))
      r = walk(t, full, flen + 1 + nl, rel, rlen + (rlen ? 1 : 0) + nl, depth + 1);
    full[flen] = '\0';
    rel[rlen] = '\0';
  }
  for (int i = 0; i < n; i++)
    free(ents[i]);
  free(ents);
  return r;
}

/* Write the layer of rootfs_dir into blob_dirfd. digest/diff_id get "sha256:<hex>". */
int vmctr__oci_write_layer(const char *rootfs_dir, int blob_dirfd, vmctr__oci_prog *pr,
                           char digest[72], char diff_id[72], uint64_t *size) {
  tctx t = {.pr = pr, .blob = {.fd = -1}};
  char *full = NULL, *rel = NULL, hex[65];
  uint8_t d[32];
  bool zinit = false;
  int r;

  vmctr__sha256_init(&t.diff);
  if (!(full = malloc(PATH_CAP)) || !(rel = malloc(PATH_CAP)) ||
      !(t.w = archive_write_new()) || !(t.disk = archive_read_disk_new()) ||
      !(t.links = archive_entry_linkresolver_new())) {
    r = vmctr__err_nomem();
    goto out;
  }
  snprintf(full, PATH_CAP, "%s", rootfs_dir);
  rel[0] = '\0';
  archive_read_disk_set_symlink_physical(t.disk);
  archive_read_disk_set_behavior(t.disk, 0);
  archive_write_set_format_pax_restricted(t.w);
  archive_entry_linkresolver_set_strategy(t.links, archive_format(t.w));
  archive_write_set_bytes_in_last_block(t.w, 1);
  if (deflateInit2(&t.z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    r = vmctr__err_nomem();
    goto out;
  }
  zinit = true;
  if ((r = vmctr__oci_blob_begin(&t.blob, blob_dirfd, UINT64_MAX, "layer", NULL)) < 0)
    goto out;
  if (archive_write_open(t.w, &t, NULL, wcb, NULL) != ARCHIVE_OK) {
    r = fail_ar(&t, t.w, "layer");
    goto out;
  }
  if ((r = walk(&t, full, strlen(full), rel, 0, 0)) < 0)
    goto out;
  if (archive_write_close(t.w) != ARCHIVE_OK) {
    r = fail_ar(&t, t.w, "layer");
    goto out;
  }
  t.z.avail_in = 0;
  if ((r = zout(&t, Z_FINISH)) < 0)
    goto out;
  *size = t.blob.n;
  if ((r = vmctr__oci_blob_commit(&t.blob, NULL, hex)) < 0)
    goto out;
  snprintf(digest, 72, "sha256:%s", hex);
  vmctr__sha256_final(&t.diff, d);
  vmctr__sha256_hex(d, hex);
  snprintf(diff_id, 72, "sha256:%s", hex);
out:
  vmctr__sha256_clear(&t.diff);
  if (r < 0)
    vmctr__oci_blob_abort(&t.blob);
  if (zinit)
    deflateEnd(&t.z);
  if (t.w)
    archive_write_free(t.w);
  if (t.disk)
    archive_read_free(t.disk);
  if (t.links)
    archive_entry_linkresolver_free(t.links);
  free(full);
  free(rel);
  return r;
}
