/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strv.h"

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

void vmctr__strv_take(vmctr__strv *b, char *s) {
  if (!s || b->failed) {
    free(s);
    b->failed = true;
    return;
  }
  if (b->n + 1 >= b->cap) { /* room for s and the NULL */
    size_t ncap = b->cap ? b->cap * 2 : 8;
    char **nv = realloc(b->v, ncap * sizeof(*nv));
    if (!nv) {
      free(s);
      b->failed = true;
      return;
    }
    b->v = nv;
    b->cap = ncap;
  }
  b->v[b->n++] = s;
  b->v[b->n] = NULL;
}

void vmctr__strv_add(vmctr__strv *b, const char *s) {
  if (!s || b->failed) {
    b->failed = true;
    return;
  }
  vmctr__strv_take(b, strdup(s));
}

void vmctr__strv_addf(vmctr__strv *b, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  int n;
  if (b->failed)
    return;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n >= 0 && (s = malloc((size_t)n + 1))) {
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  vmctr__strv_take(b, s);
}

void vmctr__strv_addv(vmctr__strv *b, char *const *v) {
  for (size_t i = 0; v && v[i] && !b->failed; i++)
    vmctr__strv_add(b, v[i]);
}

void vmctr__strv_clear(vmctr__strv *b) {
  if (b->v) {
    for (size_t i = 0; i < b->n; i++)
      free(b->v[i]);
    free(b->v);
  }
  *b = (vmctr__strv)VMCTR__STRV_INIT;
}

int vmctr__strv_finish(vmctr__strv *b, char ***out) {
  if (!b->failed && !b->v && !(b->v = calloc(1, sizeof(*b->v))))
    b->failed = true;
  if (b->failed) {
    vmctr__strv_clear(b);
    return vmctr__err_nomem();
  }
  *out = b->v;
  *b = (vmctr__strv)VMCTR__STRV_INIT;
  return 0;
}
