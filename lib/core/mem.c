/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "vmctr/common.h"

void vmctr_free(void *ptr) { free(ptr); }

void vmctr_strv_free(char **strv) { vmctr__strv_free(strv); }

void vmctr__strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

size_t vmctr__strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char *vmctr__strdup(const char *s) {
  char *r;
  if (!s)
    return NULL;
  r = strdup(s);
  if (!r)
    vmctr__err_nomem();
  return r;
}
