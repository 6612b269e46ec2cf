/* SPDX-License-Identifier: MIT */
/* vmctr-oci pod networking (podnet.h). Placeholder until implemented: every
 * call refuses, so a spec naming a network namespace is refused. */
#include <stdio.h>
#include <stdlib.h>

#include "podnet.h"

int oci_podnet_prepare(const char *netns_path, oci_podnet **out, char *err, size_t errlen) {
  (void)netns_path;
  *out = NULL;
  snprintf(err, errlen, "pod networks (a network namespace path) are not supported yet");
  return -1;
}

int oci_podnet_apply(const oci_podnet *pn, vmctr_container_config *cfg, char *err, size_t errlen) {
  (void)pn, (void)cfg;
  snprintf(err, errlen, "pod networks are not supported yet");
  return -1;
}

int oci_podnet_teardown(const char *netns_path, char *err, size_t errlen) {
  (void)netns_path, (void)err, (void)errlen;
  return 0;
}

void oci_podnet_free(oci_podnet *pn) { free(pn); }
