/* SPDX-License-Identifier: MIT */
/* The JSON helpers: the only way library code touches cJSON. They add what
 * untrusted input needs: NUL and trailing-garbage checks, duplicate-key
 * refusal, line/column in messages, and typed getters that name the key. */
#ifndef VMCTR_CORE_JSON_H
#define VMCTR_CORE_JSON_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse len bytes of untrusted text. `what` names the source in messages
 * ("boot config /x/y.json"). Refuses embedded NULs, trailing garbage and
 * duplicate keys in any object, with VMCTR_EPARSE. */
int vmctr__json_parse(const char *text, size_t len, const char *what, cJSON **out);

/* Print to a malloc'd string (free with free()/vmctr_free()); NULL + ENOMEM recorded on failure. */
char *vmctr__json_print(const cJSON *item, bool pretty);

/* A human name for the JSON type of item: "string", "number", ... */
const char *vmctr__json_type_name(const cJSON *item);

/* The 1-based line and column of byte off of text, for messages. */
void vmctr__json_line_col(const char *text, size_t off, size_t *line, size_t *col);

/* Typed reads of a member that exists. Each fails with VMCTR_EPARSE and a
 * message "<what>: key \"<key>\": expected ..., got ..." */
int vmctr__json_as_uint(const cJSON *item, const char *what, uint64_t max, uint64_t *out);
int vmctr__json_as_bool(const cJSON *item, const char *what, bool *out);
int vmctr__json_as_string(const cJSON *item, const char *what, const char **out);

/* JSON string creation that records ENOMEM. */
cJSON *vmctr__json_add_string(cJSON *obj, const char *key, const char *value);
cJSON *vmctr__json_add_number(cJSON *obj, const char *key, double value);
cJSON *vmctr__json_add_bool(cJSON *obj, const char *key, bool value);

#endif
