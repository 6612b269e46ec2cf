/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "layer-testutil.h"
#include "testutil.h"

struct tb {
  struct archive *a;
  int64_t uid, gid, mtime;
  long mtime_ns;
  char xname[64], xval[256];
};

tb *tb_new(const char *path, int filter) {
  tb *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  t->a = archive_write_new();
  assert_non_null(t->a);
  assert_int_equal(archive_write_set_format_pax(t->a), ARCHIVE_OK);
  if (filter == TB_GZIP)
    assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
  else if (filter == TB_ZSTD)
    assert_int_equal(archive_write_add_filter_zstd(t->a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_filename(t->a, path), ARCHIVE_OK);
  t->mtime = 1000000000;
  return t;
}

void tb_next_owner(tb *t, int64_t uid, int64_t gid) {
  t->uid = uid;
  t->gid = gid;
}

void tb_next_mtime(tb *t, int64_t sec, long nsec) {
  t->mtime = sec;
  t->mtime_ns = nsec;
}

void tb_next_xattr(tb *t, const char *name, const char *value) {
  snprintf(t->xname, sizeof(t->xname), "%s", name);
  snprintf(t->xval, sizeof(t->xval), "%s", value);
}

static struct archive_entry *entry(tb *t, const char *name, unsigned type, unsigned mode,
                                   int64_t size) {
  struct archive_entry *e = archive_entry_new();
  assert_non_null(e);
  archive_entry_copy_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, mode);
  archive_entry_set_size(e, size);
  archive_entry_set_uid(e, t->uid);
  archive_entry_set_gid(e, t->gid);
  archive_entry_set_mtime(e, t->mtime, t->mtime_ns);
  if (t->xname[0])
    archive_entry_xattr_add_entry(e, t->xname, t->xval, strlen(t->xval));
  t->uid = t->gid = 0;
  t->mtime = 1000000000;
  t->mtime_ns = 0;
  t->xname[0] = '\0';
  return e;
}

static void put(tb *t, struct archive_entry *e, const void *data, size_t len) {
  if (archive_write_header(t->a, e) != ARCHIVE_OK)
    fail_msg("archive_write_header(%s): %s", archive_entry_pathname(e),
             archive_error_string(t->a));
  if (len)
    assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
  archive_entry_free(e);
}

void tb_file(tb *t, const char *name, const char *data, unsigned mode) {
  size_t n = strlen(data);
  put(t, entry(t, name, AE_IFREG, mode, (int64_t)n), data, n);
}

void tb_file_big(tb *t, const char *name, size_t size, unsigned seed) {
  char *buf = malloc(size ? size : 1);
  assert_non_null(buf);
  for (size_t i = 0; i < size; i++)
    buf[i] = (char)((seed = seed * 1103515245u + 12345u) >> 16);
  put(t, entry(t, name, AE_IFREG, 0644, (int64_t)size), buf, size);
  free(buf);
}

void tb_dir(tb *t, const char *name, unsigned mode) {
  put(t, entry(t, name, AE_IFDIR, mode, 0), NULL, 0);
}

void tb_symlink(tb *t, const char *name, const char *target) {
  struct archive_entry *e = entry(t, name, AE_IFLNK, 0777, 0);
  archive_entry_copy_symlink(e, target);
  put(t, e, NULL, 0);
}

void tb_hardlink(tb *t, const char *name, const char *target) {
  struct archive_entry *e = entry(t, name, AE_IFREG, 0644, 0);
  archive_entry_copy_hardlink(e, target);
  put(t, e, NULL, 0);
}

void tb_node(tb *t, const char *name, unsigned type, unsigned maj, unsigned min) {
  struct archive_entry *e = entry(t, name, type, 0644, 0);
  archive_entry_set_rdev(e, makedev(maj, min));
  put(t, e, NULL, 0);
}

void tb_close(tb *t) {
  assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
  archive_write_free(t->a);
  free(t);
}

void raw_header(FILE *f, const char *name, char type, uint64_t size, const char *link) {
  unsigned char h[512];
  unsigned sum = 0;
  memset(h, 0, sizeof(h));
  strncpy((char *)h, name, 100);
  memcpy(h + 100, "0000644", 7);
  memcpy(h + 108, "0000000", 7);
  memcpy(h + 116, "0000000", 7);
  snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
  memcpy(h + 136, "00000000000", 11);
  h[156] = (unsigned char)type;
  if (link)
    strncpy((char *)h + 157, link, 100);
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  for (size_t i = 0; i < sizeof(h); i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
}

/* ---- sandbox ---- */

static char *snap_buf;
static size_t snap_len;
static const char *snap_skip, *snap_skip2;

static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  char line[4200];
  int n;
  if (strcmp(path, snap_skip) == 0 || strcmp(path, snap_skip2) == 0)
    return FTW_SKIP_SUBTREE;
  if (ftw->level == 0) /* its mtime moves when root/ is recreated; new entries show anyway */
    return FTW_CONTINUE;
  n = snprintf(line, sizeof(line), "%s %o %lld %lld.%09ld\n", path, (unsigned)st->st_mode,
               (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  (void)flag;
  snap_buf = realloc(snap_buf, snap_len + (size_t)n + 1);
  memcpy(snap_buf + snap_len, line, (size_t)n + 1);
  snap_len += (size_t)n;
  return FTW_CONTINUE;
}

char *sb_snapshot(const sandbox *s) {
  snap_buf = strdup("");
  snap_len = 0;
  snap_skip = s->root;
  snap_skip2 = s->layers;
  assert_int_equal(nftw(s->dir, snap_one, 64, FTW_PHYS | FTW_ACTIONRETVAL), 0);
  return snap_buf;
}

void sb_init(sandbox *s) {
  char p[400];
  memset(s, 0, sizeof(*s));
  assert_int_equal(tu_tmpdir(s->dir, sizeof(s->dir), "vmctr-test-layer"), 0);
  snprintf(s->root, sizeof(s->root), "%s/root", s->dir);
  snprintf(s->layers, sizeof(s->layers), "%s/layers", s->dir);
  snprintf(s->layer, sizeof(s->layer), "%s/layers/layer.tar", s->dir);
  assert_int_equal(mkdir(s->root, 0755), 0);
  assert_int_equal(mkdir(s->layers, 0755), 0);
  /* Decoys a hostile layer would aim at. */
  snprintf(p, sizeof(p), "%s/outside", s->dir);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(p, sizeof(p), "%s/outside/passwd", s->dir);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs("root:x:0:0\n", f);
  fclose(f);
  s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(s->root_fd >= 0);
  s->before = sb_snapshot(s);
}

void sb_check(sandbox *s) {
  char *after = sb_snapshot(s);
  char *before = s->before;
  if (strcmp(before, after) != 0)
    fail_msg("something changed outside the root:\nbefore:\n%s\nafter:\n%s", before, after);
  free(after);
}

void sb_reset_root(sandbox *s) {
  close(s->root_fd);
  tu_rm_rf(s->root);
  assert_int_equal(mkdir(s->root, 0755), 0);
  s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(s->root_fd >= 0);
}

void sb_free(sandbox *s) {
  if (s->root_fd >= 0)
    close(s->root_fd);
  tu_rm_rf(s->dir);
  free(s->before);
}

char *sb_read(const sandbox *s, const char *rel) {
  char p[4400];
  FILE *f;
  char *buf;
  long n;
  snprintf(p, sizeof(p), "%s/%s", s->root, rel);
  f = fopen(p, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static char **tree_lines;
static size_t tree_n;
static size_t tree_skip;

static int tree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  char *line;
  (void)flag;
  if (ftw->level == 0)
    return 0;
  assert_true(asprintf(&line, "%s %c", path + tree_skip,
                       S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l'
                                                  : S_ISREG(st->st_mode) ? 'f' : 'o') > 0);
  tree_lines = realloc(tree_lines, (tree_n + 1) * sizeof(*tree_lines));
  tree_lines[tree_n++] = line;
  return 0;
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *sb_tree(const sandbox *s) {
  size_t len = 1;
  char *out;
  tree_lines = NULL;
  tree_n = 0;
  tree_skip = strlen(s->root) + 1;
  assert_int_equal(nftw(s->root, tree_one, 64, FTW_PHYS), 0);
  qsort(tree_lines, tree_n, sizeof(*tree_lines), cmpstr);
  for (size_t i = 0; i < tree_n; i++)
    len += strlen(tree_lines[i]) + 1;
  out = calloc(1, len);
  for (size_t i = 0; i < tree_n; i++) {
    strcat(out, tree_lines[i]);
    strcat(out, "\n");
    free(tree_lines[i]);
  }
  free(tree_lines);
  return out;
}
