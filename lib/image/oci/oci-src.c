/* SPDX-License-Identifier: MIT */
/* OCI layout sources: a directory, and the same layout as a tar
 * (oci-archive). Archive members are only ever matched by name, never
 * extracted by name: blobs land under their verified digests. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

#define CHUNK (256u << 10)
#define CACHE_MAX (64u << 20)

bool vmctr__oci_tar_norm(const char *in, char *out, size_t cap) {
  size_t o = 0;
  const char *p = in;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.')) {
      /* skip */
    } else if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (o == 0)
        return false;
      while (o > 0 && out[o - 1] != '/')
        o--;
      if (o > 0)
        o--;
    } else {
      if (o + n + 2 > cap)
        return false;
      if (o)
        out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p += n;
    if (*p == '/')
      p++;
  }
  out[o] = '\0';
  return o > 0;
}

int vmctr__oci_tar_open(const char *path, struct archive **out) {
  struct archive *a = archive_read_new();
  int r;
  if (!a)
    return vmctr__err_nomem();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  if (archive_read_open_filename(a, path, 64 << 10) != ARCHIVE_OK) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: cannot read the archive: %s", path,
                   archive_error_string(a));
    archive_read_free(a);
    return r;
  }
  *out = a;
  return 0;
}

int vmctr__oci_tar_slurp(struct archive *a, const char *what, size_t max, char **out,
                         size_t *len) {
  vmctr__strbuf sb = {0};
  char buf[16384];
  la_ssize_t k;
  while ((k = archive_read_data(a, buf, sizeof(buf))) > 0) {
    if (sb.len + (size_t)k > max) {
      vmctr__sb_free(&sb);
      return vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than the %zu bytes allowed", what, max);
    }
    vmctr__sb_append(&sb, buf, (size_t)k);
  }
  if (k < 0) {
    vmctr__sb_free(&sb);
    return vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", what,
                      archive_error_string(a));
  }
  *len = sb.len;
  vmctr__sb_append(&sb, "", 0);
  if (!(*out = vmctr__sb_steal(&sb)))
    return VMCTR_ENOMEM;
  return 0;
}

static int check_oci_layout(const char *text, size_t len, const char *name) {
  cJSON *root;
  const cJSON *v;
  const char *s;
  int r;
  char what[300];
  snprintf(what, sizeof(what), "%s: oci-layout", name);
  if ((r = vmctr__json_parse(text, len, what, &root)) < 0)
    return r;
  v = cJSON_GetObjectItemCaseSensitive(root, "imageLayoutVersion");
  if (!v)
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: \"imageLayoutVersion\" is missing", what);
  else if ((r = vmctr__json_as_string(v, what, &s)) == 0 && strncmp(s, "1.", 2) != 0)
    r = vmctr__err(VMCTR_EUNSUPPORTED, 0, "%s: image layout version %.20s is not supported "
                   "(1.x only)", what, s);
  cJSON_Delete(root);
  return r;
}

/* ---- directory ---- */

typedef struct dir_src {
  oci_src s;
  int fd;
  char *path;
} dir_src;

static int dir_open_blob(dir_src *d, const char *hex, uint64_t size, int *out) {
  char p[90];
  struct stat st;
  int fd;
  snprintf(p, sizeof(p), "blobs/sha256/%s", hex);
  /* O_NONBLOCK: a FIFO planted as a blob must not hang the import (refused below). */
  if ((fd = openat(d->fd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)) < 0) {
    if (errno == ENOENT)
      return vmctr__err(VMCTR_ENOENT, ENOENT, "%s: blob sha256:%s is missing (the layout is "
                        "incomplete)", d->path, hex);
    return vmctr__err_os(errno, "%s: cannot open blob sha256:%s", d->path, hex);
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return vmctr__err(VMCTR_EPARSE, 0, "%s: blob sha256:%s is not a regular file", d->path, hex);
  }
  if ((uint64_t)st.st_size != size) {
    close(fd);
    return vmctr__err(VMCTR_EPARSE, 0, "%s: blob sha256:%s has %llu bytes, but its descriptor "
                      "declares %llu", d->path, hex, (unsigned long long)st.st_size,
                      (unsigned long long)size);
  }
  *out = fd;
  return 0;
}

static int dir_read_doc(oci_src *s, const char *hex, uint64_t size, const char *kind, char **out,
                        size_t *len) {
  (void)kind;
  dir_src *d = (dir_src *)s;
  char p[4200];
  int fd, r;
  if ((r = dir_open_blob(d, hex, size, &fd)) < 0)
    return r;
  close(fd);
  snprintf(p, sizeof(p), "%s/blobs/sha256/%s", d->path, hex);
  return vmctr__read_file_regular(p, OCI_DOC_MAX, out, len);
}

static int dir_copy(oci_src *s, const vmctr__oci_desc *const *want, size_t n, int blob_dirfd,
                    vmctr__oci_prog *pr) {
  dir_src *d = (dir_src *)s;
  uint8_t *buf = malloc(CHUNK);
  int r = 0;
  if (!buf)
    return vmctr__err_nomem();
  for (size_t i = 0; i < n && r == 0; i++) {
    vmctr__oci_blobw w;
    int fd;
    char what[200];
    snprintf(what, sizeof(what), "%s: blob %s", d->path, want[i]->digest);
    if ((r = dir_open_blob(d, want[i]->digest + 7, want[i]->size, &fd)) < 0)
      break;
    if ((r = vmctr__oci_prog_item(pr, want[i]->digest, (uint32_t)i, want[i]->size)) < 0 ||
        (r = vmctr__oci_blob_begin(&w, blob_dirfd, want[i]->size, what, pr)) < 0) {
      close(fd);
      break;
    }
    for (;;) {
      ssize_t k = read(fd, buf, CHUNK);
      if (k < 0 && errno == EINTR)
        continue;
      if (k < 0)
        r = vmctr__err_os(errno, "%s: read failed", what);
      if (k <= 0 || (r = vmctr__oci_blob_write(&w, buf, (size_t)k)) < 0)
        break;
    }
    close(fd);
    if (r < 0)
      vmctr__oci_blob_abort(&w);
    else
      r = vmctr__oci_blob_commit(&w, want[i]->digest + 7, NULL);
  }
  free(buf);
  return r;
}

static void dir_close(oci_src *s) {
  dir_src *d = (dir_src *)s;
  if (d->fd >= 0)
    close(d->fd);
  free(d->path);
  free(s->index_json);
  free(d);
}

int vmctr__oci_src_dir(const char *path, oci_src **out) {
  dir_src *d = calloc(1, sizeof(*d));
  char p[4200], *text = NULL;
  size_t len;
  int r;
  if (!d)
    return vmctr__err_nomem();
  d->s = (oci_src){dir_read_doc, dir_copy, dir_close, NULL, 0, NULL};
  d->fd = -1;
  if (!(d->path = vmctr__strdup(path)))
    goto nomem;
  d->s.name = d->path;
  if ((d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    r = vmctr__err_os(errno, "cannot open OCI layout %s", path);
    goto fail;
  }
  snprintf(p, sizeof(p), "%s/oci-layout", path);
  if ((r = vmctr__read_file_regular(p, 65536, &text, &len)) < 0) {
    vmctr__err_prefix("not an OCI image layout (no readable oci-layout file)");
    goto fail;
  }
  r = check_oci_layout(text, len, path);
  free(text);
  if (r < 0)
    goto fail;
  snprintf(p, sizeof(p), "%s/index.json", path);
  if ((r = vmctr__read_file_regular(p, OCI_DOC_MAX, &d->s.index_json, &d->s.index_len)) < 0)
    goto fail;
  *out = &d->s;
  return 0;
nomem:
  r = vmctr__err_nomem();
fail:
  dir_close(&d->s);
  return r;
}

/* ---- oci-archive ---- */

typedef struct doc {
  char hex[65];
  char *text;
  size_t len;
} doc;

typedef struct ar_src {
  oci_src s;
  char *path;
  doc *docs;
  size_t n_docs, cached;
} ar_src;

/* "blobs/sha256/<hex>" -> hex, or NULL. */
static const char *blob_hex(const char *norm) {
  if (strncmp(norm, "blobs/sha256/", 13) != 0 || !vmctr__oci_is_hex64(norm + 13))
    return NULL;
  return norm + 13;
}

static int ar_read_doc(oci_src *s, const char *hex, uint64_t size, const char *kind, char **out,
                       size_t *len) {
  (void)kind;
  ar_src *a = (ar_src *)s;
  for (size_t i = 0; i < a->n_docs; i++) {
    if (strcmp(a->docs[i].hex, hex) != 0)
      continue;
    if (a->docs[i].len != size)
      return vmctr__err(VMCTR_EPARSE, 0, "%s: blob sha256:%s has %zu bytes, but its "
                        "descriptor declares %llu", a->path, hex, a->docs[i].len,
                        (unsigned long long)size);
    if (!(*out = malloc(a->docs[i].len + 1)))
      return vmctr__err_nomem();
    memcpy(*out, a->docs[i].text, a->docs[i].len + 1);
    *len = a->docs[i].len;
    return 0;
  }
  return vmctr__err(VMCTR_ENOENT, 0, "%s: blob sha256:%s is missing from the archive (or is "
                    "not a JSON document)", a->path, hex);
}

static int ar_copy(oci_src *s, const vmctr__oci_desc *const *want, size_t n, int blob_dirfd,
                   vmctr__oci_prog *pr) {
  ar_src *as = (ar_src *)s;
  struct archive *a;
  struct archive_entry *e;
  bool *done = calloc(n, sizeof(bool));
  char norm[512], what[200], buf[65536];
  size_t left = n;
  int r, k;
  if (!done)
    return vmctr__err_nomem();
  if ((r = vmctr__oci_tar_open(as->path, &a)) < 0) {
    free(done);
    return r;
  }
  while (left && ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK || k == ARCHIVE_WARN)) {
    const char *hex;
    size_t i;
    if (archive_entry_filetype(e) != AE_IFREG || !archive_entry_pathname(e) ||
        !vmctr__oci_tar_norm(archive_entry_pathname(e), norm, sizeof(norm)) ||
        !(hex = blob_hex(norm)))
      continue;
    for (i = 0; i < n; i++)
      if (!done[i] && strcmp(want[i]->digest + 7, hex) == 0)
        break;
    if (i == n)
      continue;
    snprintf(what, sizeof(what), "%s: blob %s", as->path, want[i]->digest);
    if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) != want[i]->size) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: %lld bytes in the archive, but its descriptor "
                     "declares %llu", what, (long long)archive_entry_size(e),
                     (unsigned long long)want[i]->size);
      goto out;
    }
    vmctr__oci_blobw w;
    if ((r = vmctr__oci_prog_item(pr, want[i]->digest, (uint32_t)i, want[i]->size)) < 0 ||
        (r = vmctr__oci_blob_begin(&w, blob_dirfd, want[i]->size, what, pr)) < 0)
      goto out;
    la_ssize_t got;
    while ((got = archive_read_data(a, buf, sizeof(buf))) > 0)
      if ((r = vmctr__oci_blob_write(&w, buf, (size_t)got)) < 0)
        break;
    if (r == 0 && got < 0)
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", what,
                     archive_error_string(a));
    if (r < 0) {
      vmctr__oci_blob_abort(&w);
      goto out;
    }
    if ((r = vmctr__oci_blob_commit(&w, hex, NULL)) < 0)
      goto out;
    done[i] = true;
    left--;
  }
  if (left && k != ARCHIVE_EOF) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", as->path,
                   archive_error_string(a));
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    if (!done[i]) {
      r = vmctr__err(VMCTR_ENOENT, 0, "%s: blob %s is missing from the archive", as->path,
                     want[i]->digest);
      goto out;
    }
out:
  archive_read_free(a);
  free(done);
  return r;
}

static void ar_close(oci_src *s) {
  ar_src *a = (ar_src *)s;
  for (size_t i = 0; i < a->n_docs; i++)
    free(a->docs[i].text);
  free(a->docs);
  free(a->path);
  free(s->index_json);
  free(a);
}

/* First pass: index.json, oci-layout, and every blob that looks like JSON. */
static int ar_scan(ar_src *as) {
  struct archive *a;
  struct archive_entry *e;
  char norm[512];
  bool layout = false;
  int r, k;
  if ((r = vmctr__oci_tar_open(as->path, &a)) < 0)
    return r;
  while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK || k == ARCHIVE_WARN) {
    const char *hex;
    char *text = NULL;
    size_t len;
    if (archive_entry_filetype(e) != AE_IFREG || !archive_entry_pathname(e) ||
        !vmctr__oci_tar_norm(archive_entry_pathname(e), norm, sizeof(norm)))
      continue;
    if (strcmp(norm, "index.json") == 0 || strcmp(norm, "oci-layout") == 0) {
      if ((r = vmctr__oci_tar_slurp(a, norm, OCI_DOC_MAX, &text, &len)) < 0)
        goto out;
      if (norm[0] == 'o') {
        layout = true;
        r = check_oci_layout(text, len, as->path);
        free(text);
        if (r < 0)
          goto out;
      } else {
        free(as->s.index_json);
        as->s.index_json = text;
        as->s.index_len = len;
      }
      continue;
    }
    if (!(hex = blob_hex(norm)) || archive_entry_size(e) > (int64_t)OCI_DOC_MAX)
      continue;
    char peek[1];
    la_ssize_t got = archive_read_data(a, peek, 1);
    if (got < 0) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive at %s: %s", as->path,
                     norm, archive_error_string(a));
      goto out;
    }
    if (got != 1 || peek[0] != '{')
      continue;
    if ((r = vmctr__oci_tar_slurp(a, norm, OCI_DOC_MAX, &text, &len)) < 0)
      goto out;
    if (as->cached + len > CACHE_MAX) {
      free(text);
      r = vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %u bytes of JSON documents", as->path,
                     CACHE_MAX);
      goto out;
    }
    doc *nd = realloc(as->docs, (as->n_docs + 1) * sizeof(*nd));
    if (!nd || !(nd[as->n_docs].text = malloc(len + 2))) {
      if (nd)
        as->docs = nd;
      free(text);
      r = vmctr__err_nomem();
      goto out;
    }
    as->docs = nd;
    nd[as->n_docs].text[0] = '{';
    memcpy(nd[as->n_docs].text + 1, text, len + 1);
    free(text);
    nd[as->n_docs].len = len + 1;
    memcpy(nd[as->n_docs].hex, hex, 65);
    as->n_docs++;
    as->cached += len;
  }
  if (k != ARCHIVE_EOF) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: truncated or corrupt archive: %s", as->path,
                   archive_error_string(a));
    goto out;
  }
  if (!layout || !as->s.index_json)
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: an oci-archive needs oci-layout and index.json at "
                   "its top", as->path);
out:
  archive_read_free(a);
  return r;
}

int vmctr__oci_src_archive(const char *path, oci_src **out) {
  ar_src *a = calloc(1, sizeof(*a));
  int r;
  if (!a)
    return vmctr__err_nomem();
  a->s = (oci_src){ar_read_doc, ar_copy, ar_close, NULL, 0, NULL};
  if (!(a->path = vmctr__strdup(path))) {
    ar_close(&a->s);
    return VMCTR_ENOMEM;
  }
  a->s.name = a->path;
  if ((r = ar_scan(a)) < 0) {
    ar_close(&a->s);
    return r;
  }
  *out = &a->s;
  return 0;
}
