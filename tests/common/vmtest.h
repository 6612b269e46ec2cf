/* SPDX-License-Identifier: MIT */
/* What the VM integration tests share: a fixture (a temporary image store
 * holding the busybox test image, a private runtime parent), root disks for
 * containers, an output
 * collector for process callbacks, and counters for what a test must not
 * leave behind (child processes, runtime entries). Public API only. */
#ifndef VMCTR_TEST_VMTEST_H
#define VMCTR_TEST_VMTEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vmctr.h>

struct vmtest {
  const char *kernel;     /* $VMCTR_TEST_KERNEL */
  char dir[64];           /* the temporary directory: the store */
  char run_dir[96];       /* our $XDG_RUNTIME_DIR: VMs' runtime dirs go below it */
  char layout[96];        /* the image's OCI layout, as built */
  vmctr_image_store *store;
  vmctr_image *image;     /* the busybox test image (busybox-image.h) */
};

/* 0 with everything set up, -1 (reason on stderr) otherwise. prefix names
 * the temporary directory (/tmp/PREFIX-XXXXXX). */
int vmtest_setup(struct vmtest *t, const char *prefix);
/* Free and remove everything; 0 or -1. */
int vmtest_teardown(struct vmtest *t);

/* A container's root: a writable copy of the image and a block mount of it. */
struct vmtest_rootfs {
  char disk[160]; /* DIR/containers/NAME.ext4 */
  vmctr_mount *mount;
};
/* Make NAME's root from image (NULL: the fixture's); 0, or -1 with the
 * reason on stderr. */
int vmtest_rootfs(const struct vmtest *t, vmctr_image *image, const char *name,
                  struct vmtest_rootfs *out);
/* Free the mount and remove the disk. */
void vmtest_rootfs_free(struct vmtest_rootfs *r);

/* A tap of a process's output, for VMCTR_STDIO_CALLBACK. */
struct vmtest_out {
  pthread_mutex_t lock;
  char buf[1 << 16]; /* stdout, NUL-terminated */
  char err[1 << 16]; /* stderr, NUL-terminated */
  size_t len[3];
};
void vmtest_out_init(struct vmtest_out *o);
/* A vmctr_output_fn; userdata is a struct vmtest_out. */
void vmtest_collect(uint32_t stream, const void *data, size_t len, void *userdata);

/* Children of this process whose command name starts with comm and, when
 * needle is given, with an argument holding needle (the last copied to arg):
 * their count. Each is named on stderr when loud. */
int vmtest_children(const char *comm, const char *needle, char *arg, size_t argsz, bool loud);
/* The pid of a child whose command name starts with comm, or 0. */
pid_t vmtest_child_pid(const char *comm);
/* Entries below dir, recursing into real directories (never through links);
 * each named on stderr when loud. */
int vmtest_entries(const char *dir, bool loud);
/* Entries in the fixture's runtime parent. */
int vmtest_runtime_entries(const struct vmtest *t, bool loud);

#endif
