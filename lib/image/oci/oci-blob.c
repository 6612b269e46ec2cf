/* SPDX-License-Identifier: MIT */
/* The blob directory: blobs land as temp files in blob_dir, hashed while
 * written, and are renamed to sha256/<hex> only once digest and size match.
 * Also: verifying blobs already there, and progress throttling. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define PROGRESS_NS 250000000ull

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmctr__oci_prog_init(vmctr__oci_prog *pr, vmctr_progress_fn fn, void *ud, uint32_t phase) {
  memset(pr, 0, sizeof(*pr));
  pr->fn = fn;
  pr->ud = ud;
  pr->p.version = 1;
  pr->p.phase = phase;
}

int vmctr__oci_prog_emit(vmctr__oci_prog *pr, bool force) {
  uint64_t t;
  if (!pr || !pr->fn)
    return 0;
  t = now_ns();
  if (!force && t - pr->last_ns < PROGRESS_NS)
    return 0;
  pr->last_ns = t;
  if (pr->fn(&pr->p, pr->ud) != 0)
    return vmctr__err(VMCTR_ECANCELED, 0, "image import cancelled by the progress callback");
  return 0;
}

int vmctr__oci_prog_item(vmctr__oci_prog *pr, const char *item, uint32_t index, uint64_t total) {
  if (!pr)
    return 0;
  pr->p.item = item;
  pr->p.item_index = index;
  pr->p.item_bytes_done = 0;
  pr->p.item_bytes_total = total;
  return vmctr__oci_prog_emit(pr, true);
}

int vmctr__oci_prog_add(vmctr__oci_prog *pr, uint64_t n) {
  if (!pr)
    return 0;
  pr->p.item_bytes_done += n;
  pr->p.bytes_done += n;
  return vmctr__oci_prog_emit(pr, false);
}

int vmctr__oci_blob_dir_open(const char *blob_dir, int *out) {
  int fd;
  if (mkdir(blob_dir, 0755) < 0 && errno != EEXIST)
    return vmctr__err_os(errno, "cannot create blob directory %s", blob_dir);
  if ((fd = open(blob_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return vmctr__err_os(errno, "cannot open blob directory %s", blob_dir);
  if (mkdirat(fd, "sha256", 0755) < 0 && errno != EEXIST) {
    int e = errno;
    close(fd);
    return vmctr__err_os(e, "cannot create %s/sha256", blob_dir);
  }
  *out = fd;
  return 0;
}

int vmctr__oci_blob_begin(vmctr__oci_blobw *w, int dirfd, uint64_t limit, const char *what,
                          vmctr__oci_prog *prog) {
  memset(w, 0, sizeof(*w));
  w->fd = -1;
  w->dirfd = dirfd;
  w->limit = limit;
  w->what = what;
  w->prog = prog;
  vmctr__sha256_init(&w->sha);
  /* mkostemp needs a path; build a random name and create it relative to dirfd. */
  for (int tries = 0; tries < 100; tries++) {
    uint64_t x = now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)w ^
                 ((uint64_t)tries * 0x9e3779b97f4a7c15ull);
    snprintf(w->tmp, sizeof(w->tmp), ".tmp-%016llx", (unsigned long long)x);
    w->fd = openat(dirfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    /* Held for the writer's life: a store's sweeper removes only unlocked
     * temp files (a crashed writer's), see vmctr__store_clean_tmp(). */
    if (w->fd >= 0 && flock(w->fd, LOCK_EX | LOCK_NB) == 0)
      return 0;
    if (w->fd >= 0) {
      int e = errno;
      close(w->fd);
      unlinkat(dirfd, w->tmp, 0);
      w->fd = -1;
      return vmctr__err_os(e, "cannot lock a temp file in the blob directory for %s", what);
    }
    if (errno != EEXIST)
      return vmctr__err_os(errno, "cannot create a temp file in the blob directory for %s",
                           what);
  }
  return vmctr__err(VMCTR_EIO, 0, "cannot find a free temp name in the blob directory");
}

int vmctr__oci_blob_write(vmctr__oci_blobw *w, const void *data, size_t n) {
  const char *p = data;
  size_t total = n;
  if (n > w->limit - w->n)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: more data than the %llu bytes its descriptor "
                      "declares", w->what, (unsigned long long)w->limit);
  vmctr__sha256_update(&w->sha, data, n);
  w->n += n;
  while (n) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return vmctr__err_os(errno, "%s: cannot write to the blob directory", w->what);
    p += k;
    n -= (size_t)k;
  }
  return vmctr__oci_prog_add(w->prog, total);
}

void vmctr__oci_blob_abort(vmctr__oci_blobw *w) {
  vmctr__sha256_clear(&w->sha);
  if (w->fd >= 0) {
    close(w->fd);
    unlinkat(w->dirfd, w->tmp, 0);
  }
  w->fd = -1;
}

int vmctr__oci_blob_commit(vmctr__oci_blobw *w, const char *want_hex, char hex_out[65]) {
  uint8_t d[32];
  char hex[65], dst[80];
  int r;
  vmctr__sha256_final(&w->sha, d);
  vmctr__sha256_hex(d, hex);
  if (w->limit != UINT64_MAX && w->n != w->limit) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: %llu bytes, but its descriptor declares %llu (truncated "
                   "or wrong size)", w->what, (unsigned long long)w->n,
                   (unsigned long long)w->limit);
    goto fail;
  }
  if (want_hex && strcmp(hex, want_hex) != 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: content has digest sha256:%s, not the declared "
                   "sha256:%s (corrupt or tampered blob)", w->what, hex, want_hex);
    goto fail;
  }
  if (fsync(w->fd) < 0) {
    r = vmctr__err_os(errno, "%s: cannot sync the blob", w->what);
    goto fail;
  }
  snprintf(dst, sizeof(dst), "sha256/%s", hex);
  if (renameat(w->dirfd, w->tmp, w->dirfd, dst) < 0) {
    r = vmctr__err_os(errno, "%s: cannot move the blob into place", w->what);
    goto fail;
  }
  close(w->fd);
  w->fd = -1;
  if (hex_out)
    memcpy(hex_out, hex, 65);
  return 0;
fail:
  vmctr__oci_blob_abort(w);
  return r;
}

int vmctr__oci_blob_put(int dirfd, const void *data, size_t n, const char *want_hex,
                        char hex_out[65]) {
  vmctr__oci_blobw w;
  int r;
  if ((r = vmctr__oci_blob_begin(&w, dirfd, n, "document", NULL)) < 0)
    return r;
  if ((r = vmctr__oci_blob_write(&w, data, n)) < 0) {
    vmctr__oci_blob_abort(&w);
    return r;
  }
  return vmctr__oci_blob_commit(&w, want_hex, hex_out);
}

int vmctr__oci_blob_have(int dirfd, const char *hex, uint64_t size, vmctr__oci_prog *prog) {
  char path[80];
  struct stat st;
  snprintf(path, sizeof(path), "sha256/%s", hex);
  /* Only vmctr__oci_blob_commit() puts a file under a digest name, after
   * checking its content: a blob there was verified when it entered, so a
   * regular file of the right size is that blob (reading it again on every
   * import is what made a start grow with the image). */
  if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0;
    return vmctr__err_os(errno, "cannot look up blob sha256:%s", hex);
  }
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
    return vmctr__oci_prog_add(prog, size) < 0 ? VMCTR_ECANCELED : 1;
  /* A foreign file under a digest name (wrong type or size): replace it. */
  if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
    return vmctr__err_os(errno, "blob sha256:%s in the blob directory is corrupt and cannot be "
                         "removed", hex);
  return 0;
}

void vmctr__oci_digest_of(const void *data, size_t n, char digest[72]) {
  vmctr__sha256 c;
  uint8_t d[32];
  char hex[65];
  vmctr__sha256_init(&c);
  vmctr__sha256_update(&c, data, n);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  snprintf(digest, 72, "sha256:%s", hex);
}

int vmctr__oci_verify_doc(const char *text, size_t len, const vmctr__oci_desc *d, const char *what) {
  char got[72];
  if (len != d->size)
    return vmctr__err(VMCTR_EPARSE, 0, "%s %s: %zu bytes, but its descriptor declares %llu",
                      what, d->digest, len, (unsigned long long)d->size);
  vmctr__oci_digest_of(text, len, got);
  if (strcmp(got, d->digest) != 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: content has digest %s, not the declared %s "
                      "(corrupt or tampered)", what, got, d->digest);
  return 0;
}
