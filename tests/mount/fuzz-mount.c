/* SPDX-License-Identifier: MIT */
/* libFuzzer target: mount JSON is untrusted input (container configs), and
 * so is a command-line spec. Whatever the bytes, parsing must not crash,
 * leak or hang; an accepted mount must survive a JSON round trip unchanged,
 * and its guest request must succeed. The first byte
 * picks the parser: 's' for the spec syntax, anything else JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mount/mount-priv.h"
#include "vmctr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr_mount *m = NULL, *again = NULL;
  char *json = NULL, *json2 = NULL;
  vmctr__mount_request req;
  int r;

  if (size > 0 && data[0] == 's') {
    char *spec = malloc(size);
    if (!spec)
      return 0;
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    r = vmctr_mount_parse(&m, spec);
    free(spec);
  } else {
    r = vmctr_mount_from_json(&m, (const char *)data, size);
  }
  if (r < 0)
    return 0;
  if (vmctr_mount_to_json(m, &json) == 0 &&
      vmctr_mount_from_json(&again, json, strlen(json)) == 0 &&
      vmctr_mount_to_json(again, &json2) == 0 && strcmp(json, json2) != 0)
    abort(); /* a round trip changed the mount */
  if (vmctr__mount_guest_request(m, 1, &req) != 0)
    abort(); /* every accepted mount can be performed */
  vmctr__mount_request_clear(&req);
  vmctr_free(json);
  vmctr_free(json2);
  vmctr_mount_free(again);
  vmctr_mount_free(m);
  return 0;
}
