/* SPDX-License-Identifier: MIT */
/* vmctr-oci: a runc-compatible OCI runtime (being written). */
#include <stdio.h>

int main(void) {
  fputs("vmctr-oci: not built yet\n", stderr);
  return 1;
}
