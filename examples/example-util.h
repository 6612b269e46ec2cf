/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the example programs: where things are by default
 * and a progress line. Not part of the library. */
#ifndef VMCTR_EXAMPLE_UTIL_H
#define VMCTR_EXAMPLE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <vmctr.h>

struct example_progress {
  bool quiet;
  bool shown;
  const char *what;
  uint64_t last_ns;
};

/* The guest kernel: $VMCTR_KERNEL, else NULL (the library's default search). */
const char *example_default_kernel(void);
/* The image store: explicit, $VMCTR_STORE, /var/lib/libvmctr as root, else
 * $XDG_DATA_HOME/libvmctr or ~/.local/share/libvmctr. malloc'd. */
char *example_store_dir(const char *explicit_dir);
/* A vmctr_progress_fn printing one updating line on stderr. */
int example_progress_fn(const vmctr_progress *p, void *userdata);
void example_progress_end(struct example_progress *p);

#endif
