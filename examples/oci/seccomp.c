/* SPDX-License-Identifier: MIT */
/* vmctr-oci seccomp profiles (seccomp.h). Placeholder until implemented:
 * every profile is refused. */
#include <stdio.h>

#include "seccomp.h"

int oci_seccomp_compile(const cJSON *seccomp, const char *arch, void **prog, size_t *len,
                        char *err, size_t errlen) {
  (void)seccomp, (void)arch;
  *prog = NULL;
  *len = 0;
  snprintf(err, errlen, "seccomp profiles in config.json are not supported yet");
  return -1;
}
