/* SPDX-License-Identifier: MIT */
/* libFuzzer target: boot-config JSON is untrusted input. Whatever the bytes,
 * parsing must not crash, leak or hang, and anything accepted must survive a
 * to_json/from_json round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmctr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr_bootcfg *cfg = NULL, *again = NULL;
  char *json = NULL, *json2 = NULL;

  if (vmctr_bootcfg_from_json(&cfg, (const char *)data, size) < 0)
    return 0;
  if (vmctr_bootcfg_to_json(cfg, &json) == 0 &&
      vmctr_bootcfg_from_json(&again, json, strlen(json)) == 0 &&
      vmctr_bootcfg_to_json(again, &json2) == 0 && strcmp(json, json2) != 0)
    abort(); /* a round trip changed the document */
  vmctr_free(json);
  vmctr_free(json2);
  vmctr_bootcfg_free(again);
  vmctr_bootcfg_free(cfg);
  return 0;
}
