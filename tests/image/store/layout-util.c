/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/sha256.h"
#include "layout-util.h"

static void digest_of(const void *data, size_t len, char out[72]) {
  vmctr__sha256 c;
  uint8_t d[32];
  char hex[65];
  vmctr__sha256_init(&c);
  vmctr__sha256_update(&c, data, len);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  snprintf(out, 72, "sha256:%s", hex);
}

static int put_blob(const char *dir, const void *data, size_t len, char digest[72]) {
  char path[4096];
  FILE *f;
  digest_of(data, len, digest);
  snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
  if (!(f = fopen(path, "wb")))
    return -1;
  if (len && fwrite(data, 1, len, f) != len) {
    fclose(f);
    return -1;
  }
  return fclose(f);
}

static int make_tar(const tl_layer *l, void **out, size_t *out_len) {
  struct archive *a = archive_write_new();
  size_t cap = 1 << 20, used = 0;
  char *buf = malloc(cap);
  for (;;) {
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
      return -1;
    int overflow = 0;
    for (size_t i = 0; i < l->n && !overflow; i++) {
      const tl_entry *e = &l->entries[i];
      struct archive_entry *en = archive_entry_new();
      archive_entry_set_pathname(en, e->path);
      archive_entry_set_perm(en, e->mode);
      archive_entry_set_mtime(en, 1700000000, 0);
      switch (e->type) {
      case 'f':
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_size(en, (la_int64_t)strlen(e->data));
        break;
      case 'd':
        archive_entry_set_filetype(en, AE_IFDIR);
        break;
      case 'l':
        archive_entry_set_filetype(en, AE_IFLNK);
        archive_entry_set_symlink(en, e->data);
        break;
      case 'h':
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_hardlink(en, e->data);
        break;
      case 'p':
        archive_entry_set_filetype(en, AE_IFIFO);
        break;
      case 'c': /* data: "major:minor" */
        archive_entry_set_filetype(en, AE_IFCHR);
        archive_entry_set_rdevmajor(en, (unsigned)atoi(e->data));
        archive_entry_set_rdevminor(en, (unsigned)atoi(strchr(e->data, ':') + 1));
        break;
      }
      if (archive_write_header(a, en) != ARCHIVE_OK)
        overflow = 1;
      else if (e->type == 'f' && strlen(e->data) &&
               archive_write_data(a, e->data, strlen(e->data)) < 0)
        overflow = 1;
      archive_entry_free(en);
    }
    if (!overflow && archive_write_close(a) == ARCHIVE_OK)
      break;
    archive_write_free(a);
    a = archive_write_new();
    buf = realloc(buf, cap *= 4);
    used = 0;
  }
  archive_write_free(a);
  *out = buf;
  *out_len = used;
  return 0;
}

static int gzip_buf(const void *in, size_t len, void **out, size_t *out_len) {
  z_stream z = {0};
  size_t cap = len + len / 100 + 1024;
  unsigned char *buf = malloc(cap);
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    return -1;
  *out_len = z.total_out;
  deflateEnd(&z);
  *out = buf;
  return 0;
}

static void json_strv(FILE *f, const char *key, const char *const *v) {
  fprintf(f, "\"%s\":[", key);
  for (size_t i = 0; v && v[i]; i++)
    fprintf(f, "%s\"%s\"", i ? "," : "", v[i]);
  fprintf(f, "]");
}

static const char *raw_tar; /* tl_write_layout_tar's file, for its one layer */

int tl_write_layout(const char *dir, const tl_layer *layers, size_t n, const char *const *cmd,
                    const char *const *env, const char *arch) {
  char path[4096], diff[16][72], dig[16][72], cfg_dig[72], man_dig[72];
  size_t sizes[16];
  char *cfg = NULL, *man = NULL;
  size_t cfg_len = 0, man_len = 0;
  FILE *f;
  snprintf(path, sizeof(path), "mkdir -p '%s/blobs/sha256'", dir);
  if (n > 16 || system(path) != 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    void *tar, *gz;
    size_t tl, gl;
    if (raw_tar) {
      FILE *rf = fopen(raw_tar, "rb");
      struct stat rst;
      if (!rf || fstat(fileno(rf), &rst) < 0 || !(tar = malloc((size_t)rst.st_size + 1)) ||
          fread(tar, 1, (size_t)rst.st_size, rf) != (size_t)rst.st_size) {
        if (rf)
          fclose(rf);
        return -1;
      }
      fclose(rf);
      tl = (size_t)rst.st_size;
    } else if (make_tar(&layers[i], &tar, &tl) < 0) {
      return -1;
    }
    if (gzip_buf(tar, tl, &gz, &gl) < 0)
      return -1;
    digest_of(tar, tl, diff[i]);
    if (layers[i].corrupt)
      gl = gl / 2; /* digest of the truncated blob: fetch accepts it, unpack fails */
    if (put_blob(dir, gz, gl, dig[i]) < 0)
      return -1;
    sizes[i] = gl;
    free(tar);
    free(gz);
  }
  f = open_memstream(&cfg, &cfg_len);
  fprintf(f, "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{", arch);
  json_strv(f, "Cmd", cmd);
  fprintf(f, ",");
  json_strv(f, "Env", env);
  fprintf(f, ",\"WorkingDir\":\"/a\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s\"%s\"", i ? "," : "", diff[i]);
  fprintf(f, "]}}");
  fclose(f);
  if (put_blob(dir, cfg, cfg_len, cfg_dig) < 0)
    return -1;
  f = open_memstream(&man, &man_len);
  fprintf(f, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[", cfg_dig, cfg_len);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
               "\"digest\":\"%s\",\"size\":%zu}", i ? "," : "", dig[i], sizes[i]);
  fprintf(f, "]}");
  fclose(f);
  if (put_blob(dir, man, man_len, man_dig) < 0)
    return -1;
  snprintf(path, sizeof(path), "%s/index.json", dir);
  if (!(f = fopen(path, "w")))
    return -1;
  fprintf(f, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
             "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
             "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}", man_dig,
          man_len);
  fclose(f);
  snprintf(path, sizeof(path), "%s/oci-layout", dir);
  if (!(f = fopen(path, "w")))
    return -1;
  fprintf(f, "{\"imageLayoutVersion\":\"1.0.0\"}");
  fclose(f);
  free(cfg);
  free(man);
  return 0;
}

/* ---- tree listing ---- */

static FILE *listing;
static size_t prefix_len;

static void file_hash(const char *path, char out[65]) {
  vmctr__sha256 c;
  uint8_t d[32], buf[65536];
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  vmctr__sha256_init(&c);
  while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
    vmctr__sha256_update(&c, buf, (size_t)n);
  if (fd >= 0)
    close(fd);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, out);
}

static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  char extra[4200] = "";
  (void)flag;
  (void)ftw;
  if (S_ISREG(st->st_mode))
    file_hash(path, extra);
  else if (S_ISLNK(st->st_mode)) {
    ssize_t n = readlink(path, extra, sizeof(extra) - 1);
    extra[n > 0 ? n : 0] = '\0';
  }
  fprintf(listing, "%s %o %o %u:%u %lld %s\n", path[prefix_len] ? path + prefix_len : "/",
          st->st_mode & S_IFMT, st->st_mode & 07777, st->st_uid, st->st_gid,
          S_ISDIR(st->st_mode) ? 0LL : (long long)st->st_size, extra);
  return 0;
}

static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tl_tree_listing(const char *root) {
  char *raw = NULL, *out = NULL, **lines = NULL, *save;
  size_t len = 0, n = 0, olen = 0;
  listing = open_memstream(&raw, &len);
  prefix_len = strlen(root);
  nftw(root, list_one, 32, FTW_PHYS);
  fclose(listing);
  for (char *l = strtok_r(raw, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    lines = realloc(lines, (n + 1) * sizeof(*lines));
    lines[n++] = l;
  }
  qsort(lines, n, sizeof(*lines), cmp_line);
  FILE *f = open_memstream(&out, &olen);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s\n", lines[i]);
  fclose(f);
  free(lines);
  free(raw);
  return out;
}

char *tl_read(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0;
  if (!f)
    return NULL;
  FILE *m = open_memstream(&buf, &len);
  int c;
  while ((c = fgetc(f)) != EOF)
    fputc(c, m);
  fclose(m);
  fclose(f);
  return buf;
}

int tl_write_layout_tar(const char *dir, const char *tar_path, const char *const *cmd,
                        const char *const *env, const char *arch) {
  static const tl_layer one = {NULL, 0, 0};
  int r;
  raw_tar = tar_path;
  r = tl_write_layout(dir, &one, 1, cmd, env, arch);
  raw_tar = NULL;
  return r;
}
