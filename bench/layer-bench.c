/* SPDX-License-Identifier: MIT */
/* Bench driver for bench/layer.py: apply one layer blob into an empty
 * directory and print the seconds it took. keep_owner when run as root, as
 * GNU tar does by default for root. */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "image/layer/layer.h"
#include "vmctr.h"

int main(int argc, char **argv) {
  vmctr__layer_opts o = {.keep_owner = geteuid() == 0};
  struct timespec a, b;
  int fd, r;
  if (argc != 3) {
    fprintf(stderr, "usage: %s BLOB EMPTY-DIR\n", argv[0]);
    return 2;
  }
  fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    perror(argv[2]);
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  r = vmctr__layer_apply(fd, argv[1], &o);
  clock_gettime(CLOCK_MONOTONIC, &b);
  close(fd);
  if (r < 0) {
    fprintf(stderr, "%s\n", vmctr_error_last()->message);
    return 1;
  }
  printf("%.3f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
