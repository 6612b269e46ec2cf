/* SPDX-License-Identifier: MIT */
/* Test tool: mkinitfs INIT MODULES_DIR|- CACHE_DIR prints the path vmctr__initfs_get gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initfs/initfs.h"
#include "vmctr.h"

int main(int argc, char **argv) {
  vmctr__initfs_params p = {0};
  char *path = NULL;

  if (argc != 4) {
    fprintf(stderr, "usage: mkinitfs INIT MODULES_DIR|- CACHE_DIR\n");
    return 2;
  }
  p.init_path = argv[1];
  p.modules_dir = strcmp(argv[2], "-") ? argv[2] : NULL;
  p.cache_dir = argv[3];
  if (vmctr__initfs_get(&p, &path) < 0) {
    fprintf(stderr, "mkinitfs: %s\n", vmctr_error_last()->message);
    return 1;
  }
  printf("%s\n", path);
  free(path);
  return 0;
}
