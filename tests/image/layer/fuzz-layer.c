/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the input bytes are a layer (tar, gzip or zstd). It is
 * applied into a fresh root inside a fresh sandbox; whatever happens,
 * nothing may appear in the sandbox outside the root. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer/layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_D || flag == FTW_DP)
    chmod(path, 0700);
  return remove(path);
}

static int chmod_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)ftw;
  if (flag == FTW_D && (st->st_mode & 0700) != 0700)
    chmod(path, 0700);
  return 0;
}

/* Entries of dir other than "root" (its one legitimate child). */
static int others(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d)
    abort();
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "root"))
      n++;
  closedir(d);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dir[] = "/tmp/vmctr-fuzz-layer-XXXXXX", root[64];
  vmctr__layer_opts o = {.keep_owner = false, .allow_devices = false};
  int fd;
  if (!mkdtemp(dir))
    abort();
  snprintf(root, sizeof(root), "%s/root", dir);
  if (mkdir(root, 0755) < 0 || (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    abort();
  (void)vmctr__layer_apply_mem(fd, data, size, &o);
  close(fd);
  if (others(dir) != 0)
    abort(); /* the layer escaped its root */
  nftw(dir, chmod_one, 32, FTW_PHYS);
  nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
  return 0;
}
