/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors (argv, env, lists) and their builder. */
#ifndef VMCTR_CORE_STRV_H
#define VMCTR_CORE_STRV_H

#include <stdbool.h>
#include <stddef.h>

/* Free v and every string in it. NULL ok. */
void vmctr__strv_free(char **v);
/* Number of strings before the NULL. NULL counts as empty. */
size_t vmctr__strv_len(char *const *v);

/* Builder. An allocation failure latches `failed` and later adds only free
 * what they were given, so callers add everything and check once, at
 * vmctr__strv_finish. v stays NULL-terminated whenever it is non-NULL. */
typedef struct vmctr__strv {
  char **v;
  size_t n, cap;
  bool failed;
} vmctr__strv;

#define VMCTR__STRV_INIT {0}

/* Copy s in. NULL s marks failure (the result of a failed allocation). */
void vmctr__strv_add(vmctr__strv *b, const char *s);
/* Take ownership of s (freed on failure). NULL marks failure. */
void vmctr__strv_take(vmctr__strv *b, char *s);
void vmctr__strv_addf(vmctr__strv *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy every string of a NULL-terminated vector; NULL v adds nothing. */
void vmctr__strv_addv(vmctr__strv *b, char *const *v);
/* 0 with *out NULL-terminated (never NULL, even when empty; free with
 * vmctr__strv_free) and b reset; or VMCTR_ENOMEM (recorded), b cleared and
 * *out untouched. */
int vmctr__strv_finish(vmctr__strv *b, char ***out);
/* Free everything added and reset b. */
void vmctr__strv_clear(vmctr__strv *b);

#endif
