/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"

void vmctr__json_line_col(const char *text, size_t off, size_t *line, size_t *col) {
  size_t l = 1, c = 1;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Iterative walk would avoid recursion, but cJSON already bounds nesting at
 * CJSON_NESTING_LIMIT while parsing, so this recursion is bounded too. */
static int check_dups(const cJSON *item, const char *what) {
  const cJSON *c;
  size_t n = 0, i;
  const char **names;
  int r = 0;

  if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
    return 0;
  for (c = item->child; c; c = c->next) {
    n++;
    if ((r = check_dups(c, what)) < 0)
      return r;
  }
  if (!cJSON_IsObject(item) || n < 2)
    return 0;
  names = malloc(n * sizeof(*names));
  if (!names)
    return vmctr__err_nomem();
  for (i = 0, c = item->child; c; c = c->next)
    names[i++] = c->string ? c->string : "";
  qsort(names, n, sizeof(*names), cmp_str);
  for (i = 1; i < n; i++) {
    if (strcmp(names[i - 1], names[i]) == 0) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\" appears more than once", what, names[i]);
      break;
    }
  }
  free(names);
  return r;
}

/* cJSON silently cuts a string at an escaped NUL (\u0000), which would let
 * "a\u0000b" pass as "a"; refuse it instead. Only string contents are
 * scanned, with escapes honoured, so "\\u0000" (a backslash, then text) passes. */
static int check_nul_escapes(const char *text, size_t len, const char *what) {
  bool in_str = false;
  for (size_t i = 0; i < len; i++) {
    if (!in_str) {
      in_str = text[i] == '"';
      continue;
    }
    if (text[i] == '"') {
      in_str = false;
    } else if (text[i] == '\\' && i + 1 < len) {
      if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) {
        size_t line, col;
        vmctr__json_line_col(text, i, &line, &col);
        return vmctr__err(VMCTR_EPARSE, 0,
                          "%s: line %zu, column %zu: \\u0000 (NUL) is not allowed in strings", what,
                          line, col);
      }
      i++; /* skip the escaped character */
    }
  }
  return 0;
}

int vmctr__json_parse(const char *text, size_t len, const char *what, cJSON **out) {
  char *copy;
  const char *end = NULL;
  cJSON *root;
  size_t line, col;
  int r;

  if (len == 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: empty input, expected a JSON document", what);
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    vmctr__json_line_col(text, (size_t)(nul - text), &line, &col);
    return vmctr__err(VMCTR_EPARSE, 0, "%s: line %zu, column %zu: NUL byte in JSON text", what,
                      line, col);
  }
  r = check_nul_escapes(text, len, what);
  if (r < 0)
    return r;
  /* cJSON reads one byte past a length-limited buffer when checking for the
   * terminator, so give it a terminated copy. */
  copy = malloc(len + 1);
  if (!copy)
    return vmctr__err_nomem();
  memcpy(copy, text, len);
  copy[len] = '\0';
  root = cJSON_ParseWithOpts(copy, &end, 1);
  if (!root) {
    size_t off = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;
    vmctr__json_line_col(copy, off, &line, &col);
    if (off >= len)
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: line %zu, column %zu: unexpected end of JSON text",
                     what, line, col);
    else
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: line %zu, column %zu: invalid JSON near '%.16s'", what,
                     line, col, copy + off);
    free(copy);
    return r;
  }
  free(copy);
  r = check_dups(root, what);
  if (r < 0) {
    cJSON_Delete(root);
    return r;
  }
  *out = root;
  return 0;
}

char *vmctr__json_print(const cJSON *item, bool pretty) {
  char *s = pretty ? cJSON_Print(item) : cJSON_PrintUnformatted(item);
  if (!s)
    vmctr__err_nomem();
  return s;
}

const char *vmctr__json_type_name(const cJSON *item) {
  if (!item)
    return "nothing";
  if (cJSON_IsString(item))
    return "a string";
  if (cJSON_IsNumber(item))
    return "a number";
  if (cJSON_IsBool(item))
    return "a boolean";
  if (cJSON_IsNull(item))
    return "null";
  if (cJSON_IsArray(item))
    return "an array";
  if (cJSON_IsObject(item))
    return "an object";
  return "an invalid value";
}

int vmctr__json_as_uint(const cJSON *item, const char *what, uint64_t max, uint64_t *out) {
  double d;
  /* Doubles represent every integer up to 2^53 exactly; refuse beyond that. */
  const double exact = 9007199254740992.0;
  if (!cJSON_IsNumber(item))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": expected a non-negative integer, got %s",
                      what, item->string, vmctr__json_type_name(item));
  d = item->valuedouble;
  if (!isfinite(d) || d < 0 || d != floor(d) || d >= exact || (uint64_t)d > max)
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: key \"%s\": expected an integer from 0 to %llu, got %g", what,
                      item->string, (unsigned long long)(max < (uint64_t)exact ? max : (uint64_t)exact), d);
  *out = (uint64_t)d;
  return 0;
}

int vmctr__json_as_bool(const cJSON *item, const char *what, bool *out) {
  if (!cJSON_IsBool(item))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": expected true or false, got %s", what,
                      item->string, vmctr__json_type_name(item));
  *out = cJSON_IsTrue(item);
  return 0;
}

int vmctr__json_as_string(const cJSON *item, const char *what, const char **out) {
  if (!cJSON_IsString(item) || !item->valuestring)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": expected a string, got %s", what,
                      item->string, vmctr__json_type_name(item));
  *out = item->valuestring;
  return 0;
}

cJSON *vmctr__json_add_string(cJSON *obj, const char *key, const char *value) {
  cJSON *r = cJSON_AddStringToObject(obj, key, value);
  if (!r)
    vmctr__err_nomem();
  return r;
}

cJSON *vmctr__json_add_number(cJSON *obj, const char *key, double value) {
  cJSON *r = cJSON_AddNumberToObject(obj, key, value);
  if (!r)
    vmctr__err_nomem();
  return r;
}

cJSON *vmctr__json_add_bool(cJSON *obj, const char *key, bool value) {
  cJSON *r = cJSON_AddBoolToObject(obj, key, value);
  if (!r)
    vmctr__err_nomem();
  return r;
}
