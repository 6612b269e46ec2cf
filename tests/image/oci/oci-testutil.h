/* SPDX-License-Identifier: MIT */
/* Helpers shared by the OCI tests: hand-built layouts (scratch directories
 * come from tests/common/testutil.h). */
#ifndef VMCTR_TEST_OCI_UTIL_H
#define VMCTR_TEST_OCI_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/oci/oci-priv.h"
#include "testutil.h"

static inline void tu_write(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    abort();
  }
}

/* Store text as a blob of layout dir; digest out. */
static inline void tu_blob(const char *dir, const void *data, size_t n, char digest[72]) {
  char p[4200];
  vmctr__oci_digest_of(data, n, digest);
  snprintf(p, sizeof(p), "%s/blobs", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, digest + 7);
  tu_write(p, data, n);
}

/* Count .tmp-* files left in blob_dir. */
static inline int tu_tmp_count(const char *blob_dir) {
  DIR *d = opendir(blob_dir);
  struct dirent *e;
  int n = 0;
  if (!d)
    return 0;
  while ((e = readdir(d)))
    n += strncmp(e->d_name, ".tmp-", 5) == 0;
  closedir(d);
  return n;
}

#endif
