/* SPDX-License-Identifier: MIT */
/* Applying a layer: open and detect the blob, read entries with libarchive
 * (never its disk writer: every path is resolved here), dispatch each
 * entry, then set the directories' modes and times. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "image/layer/layer-priv.h"

#define READ_BLOCK (1u << 20)
#define PROGRESS_NS 100000000LL

int vmctr__layer_err(vmctr__layer_ctx *c, int code, int os_errno, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (os_errno && code == 0)
    return vmctr__err_os(os_errno, "layer entry '%s': %s", c->disp, msg);
  return vmctr__err(code ? code : VMCTR_EGENERIC, os_errno, "layer entry '%s': %s", c->disp, msg);
}

/* "64 GiB", "1.5 MiB", "123 bytes": limits in messages. */
static void human(uint64_t v, char *buf, size_t n) {
  static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double d = (double)v;
  int u = -1;
  if (v < 1024) {
    snprintf(buf, n, "%llu bytes", (unsigned long long)v);
    return;
  }
  while (d >= 1024 && u < 5) {
    d /= 1024;
    u++;
  }
  snprintf(buf, n, d == (double)(uint64_t)d ? "%.0f %s" : "%.1f %s", d, unit[u]);
}

/* entries: the entry limit, else the byte limit. */
static int limit_err(vmctr__layer_ctx *c, bool entries, uint64_t limit) {
  char h[32];
  const char *hint = c->opts.limit_hint;
  if (entries)
    snprintf(h, sizeof(h), "%llu entries", (unsigned long long)limit);
  else
    human(limit, h, sizeof(h));
  return vmctr__layer_err(c, VMCTR_ETOOBIG, 0, "the image unpacks to more than %s%s, its limit%s%s",
                          h, entries ? "" : " of file data", hint ? "; " : "", hint ? hint : "");
}

int vmctr__layer_charge_bytes(vmctr__layer_ctx *c, uint64_t n) {
  uint64_t max = c->opts.max_bytes;
  if (max && (c->usage->bytes > max || n > max - c->usage->bytes))
    return limit_err(c, false, max);
  c->usage->bytes += n;
  return 0;
}

/* Names in messages are cut: a hostile layer may send a 10k-byte path. */
static void set_disp(vmctr__layer_ctx *c, const char *name) {
  size_t n;
  if (!name)
    name = "(undecodable name)";
  n = strlen(name);
  if (n < sizeof(c->disp)) {
    memcpy(c->disp, name, n + 1);
  } else {
    memcpy(c->disp, name, sizeof(c->disp) - 4);
    strcpy(c->disp + sizeof(c->disp) - 4, "...");
  }
}

int vmctr__layer_progress(vmctr__layer_ctx *c, bool force) {
  struct timespec now;
  vmctr_progress p;
  int64_t done;
  if (!c->opts.progress)
    return 0;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  if (!force && (int64_t)(now.tv_sec - c->last_progress.tv_sec) * 1000000000LL +
                        (now.tv_nsec - c->last_progress.tv_nsec) < PROGRESS_NS)
    return 0;
  c->last_progress = now;
  done = c->a ? archive_filter_bytes(c->a, -1) : 0;
  memset(&p, 0, sizeof(p));
  p.version = 1;
  p.phase = VMCTR_PROGRESS_UNPACK;
  p.item = c->opts.item;
  p.item_index = c->opts.item_index;
  p.item_count = c->opts.item_count;
  p.item_bytes_done = done > 0 ? (uint64_t)done : 0;
  if (p.item_bytes_done > c->blob_size)
    p.item_bytes_done = c->blob_size;
  p.item_bytes_total = c->blob_size;
  p.item_entries_done = c->entries;
  p.bytes_done = c->opts.bytes_before + p.item_bytes_done;
  p.bytes_total = c->opts.bytes_total;
  if (c->opts.progress(&p, c->opts.userdata) != 0)
    return vmctr__err(VMCTR_ECANCELED, 0, "applying layer %s was cancelled",
                      c->opts.item ? c->opts.item : "");
  return 0;
}

/* Children first (reverse order), so a directory made read-only or
 * unsearchable does not block its children; a directory listed twice gets
 * its last entry. Entries replaced by a non-directory since are skipped. */
static int finish_dirs(vmctr__layer_ctx *c) {
  vmctr__layer_pathset done = {0};
  int r = 0;
  for (size_t i = c->ndirs; i-- > 0;) {
    vmctr__layer_dirmeta *d = &c->dirs[i];
    int fd;
    r = vmctr__pathset_add(&done, d->path);
    if (r < 0)
      break;
    if (r == 0)
      continue; /* a later entry for the same directory was applied already */
    r = 0;
    fd = vmctr__layer_open_dir(c, d->path, O_RDONLY);
    if (fd < 0)
      continue; /* removed or replaced later in this layer */
    set_disp(c, d->path[0] ? d->path : ".");
    if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0)
      r = vmctr__layer_err(c, 0, errno, "cannot set the directory's mode and times");
    close(fd);
    if (r < 0)
      break;
  }
  vmctr__pathset_free(&done);
  return r;
}

static int apply(vmctr__layer_ctx *c) {
  struct archive_entry *e;
  int r;
  if ((r = vmctr__layer_progress(c, true)) < 0)
    return r;
  for (;;) {
    const char *raw, *base;
    r = archive_read_next_header(c->a, &e);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN)
      return vmctr__err(VMCTR_EPARSE, 0, "layer %s: bad tar data after entry '%s' (%" PRIu64
                        " entries read): %s", c->opts.item ? c->opts.item : "", c->disp,
                        c->entries, archive_error_string(c->a) ? archive_error_string(c->a)
                                                               : "archive error");
    raw = archive_entry_pathname(e);
    set_disp(c, raw);
    if (c->opts.max_entries && c->usage->entries >= c->opts.max_entries)
      return limit_err(c, true, c->opts.max_entries);
    c->usage->entries++;
    if ((r = vmctr__layer_normalize(c, "its path", raw, c->pathbuf)) < 0)
      return r;
    base = strrchr(c->pathbuf, '/');
    base = base ? base + 1 : c->pathbuf;
    if (strncmp(base, ".wh.", 4) == 0)
      r = vmctr__layer_whiteout(c, c->pathbuf, base);
    else
      r = vmctr__layer_entry(c, e, c->pathbuf);
    if (r < 0)
      return r;
    c->entries++;
    if ((r = vmctr__layer_progress(c, false)) < 0)
      return r;
  }
  if ((r = finish_dirs(c)) < 0)
    return r;
  if (c->skipped)
    vmctr__log(VMCTR_LOG_WARN, "layer", "layer %s: %" PRIu64 " device nodes skipped",
               c->opts.item ? c->opts.item : "", c->skipped);
  return vmctr__layer_progress(c, true);
}

static const char *detect(const unsigned char *m, size_t n, int *filter) {
  *filter = ARCHIVE_FILTER_NONE;
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
    return *filter = ARCHIVE_FILTER_GZIP, "gzip";
  if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
    return *filter = ARCHIVE_FILTER_ZSTD, "zstd";
  if (n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
    return *filter = -1, "xz";
  if (n >= 3 && memcmp(m, "BZh", 3) == 0)
    return *filter = -1, "bzip2";
  return "tar";
}

static int setup(vmctr__layer_ctx *c, int root_fd, const vmctr__layer_opts *opts,
                 const unsigned char *magic, size_t mlen, const char *what) {
  int filter, r = ARCHIVE_OK;
  const char *kind = detect(magic, mlen, &filter);
  memset(c, 0, sizeof(*c));
  c->root_fd = root_fd;
  c->cache_fd = -1;
  if (opts)
    c->opts = *opts;
  c->usage = c->opts.usage ? c->opts.usage : &c->own_usage;
  c->is_root = geteuid() == 0;
  strcpy(c->disp, "(none yet)");
  if (filter < 0)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "layer %s is %s-compressed; OCI layers are "
                      "uncompressed, gzip or zstd tar archives", what, kind);
  vmctr__log(VMCTR_LOG_DEBUG, "layer", "layer %s: %s", what, kind);
  c->pathbuf = malloc(LAYER_PATH_MAX);
  c->linkbuf = malloc(LAYER_PATH_MAX);
  if (!c->pathbuf || !c->linkbuf || !(c->a = archive_read_new()))
    return vmctr__err_nomem();
  archive_read_support_format_tar(c->a);
  if (filter == ARCHIVE_FILTER_GZIP)
    r = archive_read_support_filter_gzip(c->a);
  else if (filter == ARCHIVE_FILTER_ZSTD)
    r = archive_read_support_filter_zstd(c->a);
  if (r != ARCHIVE_OK) /* WARN: only an external program would do; we want none */
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "layer %s is %s-compressed, but this build's "
                      "libarchive cannot decompress %s", what, kind, kind);
  return 0;
}

static void teardown(vmctr__layer_ctx *c) {
  if (c->a)
    archive_read_free(c->a);
  vmctr__layer_cache_clear(c);
  vmctr__pathset_free(&c->seen);
  for (size_t i = 0; i < c->ndirs; i++)
    free(c->dirs[i].path);
  free(c->dirs);
  free(c->pathbuf);
  free(c->linkbuf);
}

static int open_failed(vmctr__layer_ctx *c, const char *what) {
  return vmctr__err(VMCTR_EPARSE, 0, "layer %s is not a readable tar archive: %s", what,
                    archive_error_string(c->a) ? archive_error_string(c->a) : "unknown format");
}

int vmctr__layer_apply(int root_fd, const char *blob_path, const vmctr__layer_opts *opts) {
  unsigned char magic[8];
  vmctr__layer_ctx c;
  struct stat st;
  ssize_t n;
  int fd, r;

  if (root_fd < 0 || !blob_path)
    return vmctr__err(VMCTR_EINVAL, 0, "layer apply needs a root directory fd and a blob path");
  /* O_NONBLOCK: a FIFO in the blob's place must not hang us (refused below). */
  fd = open(blob_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return vmctr__err_os(errno, "cannot open layer %s", blob_path);
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    r = vmctr__err(VMCTR_EINVAL, errno, "layer %s is not a regular file", blob_path);
    close(fd);
    return r;
  }
  n = pread(fd, magic, sizeof(magic), 0);
  if (n < 0) {
    r = vmctr__err_os(errno, "cannot read layer %s", blob_path);
    close(fd);
    return r;
  }
  if ((r = setup(&c, root_fd, opts, magic, (size_t)n, blob_path)) < 0)
    goto out;
  c.blob_size = (uint64_t)st.st_size;
  if (!c.opts.item)
    c.opts.item = blob_path;
  if (archive_read_open_fd(c.a, fd, READ_BLOCK) != ARCHIVE_OK) {
    r = open_failed(&c, blob_path);
    goto out;
  }
  r = apply(&c);
out:
  teardown(&c);
  close(fd);
  return r;
}

int vmctr__layer_apply_mem(int root_fd, const void *data, size_t len,
                           const vmctr__layer_opts *opts) {
  vmctr__layer_ctx c;
  int r;
  if (root_fd < 0 || (!data && len))
    return vmctr__err(VMCTR_EINVAL, 0, "layer apply needs a root directory fd and data");
  if ((r = setup(&c, root_fd, opts, data, len, "(memory)")) < 0)
    goto out;
  c.blob_size = len;
  if (archive_read_open_memory(c.a, data, len) != ARCHIVE_OK) {
    r = open_failed(&c, "(memory)");
    goto out;
  }
  r = apply(&c);
out:
  teardown(&c);
  return r;
}
