/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strv.h"
#include "core/util.h"
#include "vmctr/common.h"

void vmctr_free(void *ptr) { free(ptr); }

void vmctr_strv_free(char **strv) { vmctr__strv_free(strv); }

char *vmctr__strdup(const char *s) {
  char *r;
  if (!s)
    return NULL;
  r = strdup(s);
  if (!r)
    vmctr__err_nomem();
  return r;
}
