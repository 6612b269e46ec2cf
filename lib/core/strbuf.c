/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"

static bool sb_reserve(vmctr__strbuf *sb, size_t extra) {
  size_t need, ncap;
  char *nb;
  if (sb->failed)
    return false;
  if (extra > SIZE_MAX - sb->len - 1) {
    sb->failed = true;
    return false;
  }
  need = sb->len + extra + 1;
  if (need <= sb->cap)
    return true;
  ncap = sb->cap ? sb->cap : 64;
  while (ncap < need)
    ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  nb = realloc(sb->buf, ncap);
  if (!nb) {
    sb->failed = true;
    return false;
  }
  sb->buf = nb;
  sb->cap = ncap;
  return true;
}

void vmctr__sb_append(vmctr__strbuf *sb, const char *s, size_t n) {
  if (!sb_reserve(sb, n))
    return;
  memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}

void vmctr__sb_puts(vmctr__strbuf *sb, const char *s) { vmctr__sb_append(sb, s, strlen(s)); }

void vmctr__sb_printf(vmctr__strbuf *sb, const char *fmt, ...) {
  va_list ap, ap2;
  int n;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !sb_reserve(sb, (size_t)n)) {
    sb->failed = true;
    va_end(ap2);
    return;
  }
  vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  sb->len += (size_t)n;
}

char *vmctr__sb_steal(vmctr__strbuf *sb) {
  char *r;
  if (sb->failed || !sb_reserve(sb, 0)) {
    vmctr__sb_free(sb);
    vmctr__err_nomem();
    return NULL;
  }
  r = sb->buf;
  r[sb->len] = '\0'; /* also when nothing was ever appended */
  sb->buf = NULL;
  sb->len = sb->cap = 0;
  return r;
}

void vmctr__sb_free(vmctr__strbuf *sb) {
  free(sb->buf);
  sb->buf = NULL;
  sb->len = sb->cap = 0;
  sb->failed = false;
}
