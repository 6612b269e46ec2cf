/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the input bytes are a layer (tar, gzip or zstd). It is
 * applied into a fresh root inside a fresh sandbox; whatever happens,
 * nothing may appear in the sandbox outside the root. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer/layer.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dir[64], root[80];
  /* Bounded like an import (lower limits): a bomb in the corpus stops early. */
  vmctr__layer_opts o = {.keep_owner = false, .allow_devices = false,
                         .max_bytes = 64u << 20, .max_entries = 4096};
  int fd;
  if (tu_tmpdir(dir, sizeof(dir), "vmctr-fuzz-layer") < 0)
    abort();
  snprintf(root, sizeof(root), "%s/root", dir);
  if (mkdir(root, 0755) < 0 || (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    abort();
  (void)vmctr__layer_apply_mem(fd, data, size, &o);
  close(fd);
  if (tu_count_entries(dir) != 1)
    abort(); /* the layer escaped its root: something beside it */
  tu_rm_rf(dir);
  return 0;
}
