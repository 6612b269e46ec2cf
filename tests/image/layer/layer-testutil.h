/* SPDX-License-Identifier: MIT */
/* Test helpers for layers: a tar builder on libarchive's writer, raw tar
 * headers for what the writer will not produce, and a sandbox whose
 * contents outside the root are snapshotted before and after. */
#ifndef VMCTR_TEST_LAYER_UTIL_H
#define VMCTR_TEST_LAYER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TB_NONE 0
#define TB_GZIP 1
#define TB_ZSTD 2

typedef struct tb tb;

/* Start a layer at path with the given compression. */
tb *tb_new(const char *path, int filter);
void tb_file(tb *t, const char *name, const char *data, unsigned mode);
void tb_file_big(tb *t, const char *name, size_t size, unsigned seed);
void tb_dir(tb *t, const char *name, unsigned mode);
void tb_symlink(tb *t, const char *name, const char *target);
void tb_hardlink(tb *t, const char *name, const char *target);
void tb_node(tb *t, const char *name, unsigned type, unsigned major, unsigned minor);
/* Options for the next entry: owner, mtime, one xattr. */
void tb_next_owner(tb *t, int64_t uid, int64_t gid);
void tb_next_mtime(tb *t, int64_t sec, long nsec);
void tb_next_xattr(tb *t, const char *name, const char *value);
void tb_close(tb *t);

/* Append a raw ustar header (checksummed) to f. */
void raw_header(FILE *f, const char *name, char type, uint64_t size, const char *link);

/* A sandbox dir holding root/, layers/ (the test's blobs) and decoys in
 * outside/; sb_snapshot lists everything in it but root/ and layers/ (paths,
 * modes, sizes, mtimes) as one string, taken by sb_init. */
typedef struct sandbox {
  char dir[256], root[300], layers[300], layer[320];
  int root_fd;
  char *before;
} sandbox;

void sb_init(sandbox *s);
char *sb_snapshot(const sandbox *s);
/* Assert nothing outside root/ changed since sb_init. */
void sb_check(sandbox *s);
void sb_free(sandbox *s);
/* A fresh root/ (for a second test case in the same sandbox). */
void sb_reset_root(sandbox *s);

/* A file's content under root (malloc'd) or NULL. */
char *sb_read(const sandbox *s, const char *rel);
/* "path type" lines of the tree under root, sorted, as one string. */
char *sb_tree(const sandbox *s);

#endif
