/* SPDX-License-Identifier: MIT */
/* Fuzz target: the same bytes as an index, a manifest and an image config. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/oci/oci-priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr__oci_index ix = {0};
  vmctr__oci_manifest m = {0};
  char **diff = NULL;
  if (vmctr__oci_parse_index((const char *)data, size, "fuzz", &ix) == 0)
    vmctr__oci_index_clear(&ix);
  if (vmctr__oci_parse_manifest((const char *)data, size, NULL, "fuzz", &m) == 0)
    vmctr__oci_manifest_clear(&m);
  for (size_t n = 0; n < 3; n++) {
    vmctr__oci_image *img = calloc(1, sizeof(*img));
    if (!img)
      break;
    if (vmctr__oci_parse_config((const char *)data, size, "fuzz", n, img, &diff) == 0) {
      for (size_t i = 0; diff && diff[i]; i++)
        free(diff[i]);
      free(diff);
      diff = NULL;
    }
    vmctr__oci_image_free(img);
  }
  return 0;
}
