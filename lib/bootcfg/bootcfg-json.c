/* SPDX-License-Identifier: MIT */
/* Boot configs as JSON text and files. The text is untrusted: the core JSON
 * helpers refuse malformed input and duplicate keys, and this file refuses
 * wrong types and out-of-range values, naming the key. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcfg/bootcfg-priv.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"

/* The largest integer a JSON number (a double, for cJSON) holds exactly. */
#define JSON_EXACT_MAX 9007199254740992ull

/* Strict UTF-8 (no overlong forms, surrogates, or code points past
 * U+10FFFF): free keys become JSON object keys, and JSON text is UTF-8. */
static bool utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i], n, cp, min;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      n = 1, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
      n = 2, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
      n = 3, cp = c & 0x07, min = 0x10000;
    else
      return false;
    if (len - i <= n)
      return false;
    for (unsigned k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

/* Key rules live with the JSON code: they are the file format's rules. */
int vmctr__bootcfg_check_key(const char *key, size_t len, int code, const char *what) {
  if (len == 0)
    return vmctr__err(code, 0, "%skey \"\": a key may not be empty; name it", what);
  if (len > VMCTR__BOOTCFG_KEY_MAX)
    return vmctr__err(code, 0, "%skey \"%.32s...\": %zu bytes long; keys must be 1 to %d bytes",
                      what, key, len, VMCTR__BOOTCFG_KEY_MAX);
  if (strlen(key) != len || !utf8_valid((const unsigned char *)key, len))
    return vmctr__err(code, 0, "%skey \"%.64s\": not valid UTF-8 text", what, key);
  if (strcmp(key, "version") == 0)
    return vmctr__err(code, 0,
                      "%skey \"version\" is reserved for the file format; choose another name",
                      what);
  return 0;
}

/* Where the top-level value starts, for a message about its type. */
static void value_position(const char *text, size_t len, size_t *line, size_t *col) {
  size_t off = 0;
  while (off < len && (text[off] == '\n' || text[off] == ' ' || text[off] == '\t' || text[off] == '\r'))
    off++;
  vmctr__json_line_col(text, off, line, col);
}

static int parse_version(const cJSON *root, const char *what) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "version");
  uint64_t v;
  int r;
  if (!item)
    return 0; /* files written before the version key existed are version 1 */
  if ((r = vmctr__json_as_uint(item, what, UINT32_MAX, &v)) < 0)
    return r;
  if (v == 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"version\": 0 is not a format version; use 1",
                      what);
  if (v > VMCTR_BOOTCFG_FORMAT_VERSION)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "%s: key \"version\": format version %llu is newer than the %d this "
                      "libvmctr reads; upgrade libvmctr",
                      what, (unsigned long long)v, VMCTR_BOOTCFG_FORMAT_VERSION);
  return 0;
}

static int parse_path(const cJSON *item, const char *what, vmctr_bootcfg *cfg) {
  const char *s;
  int r;
  if ((r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (!*s)
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: key \"%s\": the path is empty; give a path or leave the key out",
                      what, item->string);
  if (strcmp(item->string, "kernel") == 0)
    return vmctr_bootcfg_set_kernel(cfg, s);
  if (strcmp(item->string, "initfs") == 0)
    return vmctr_bootcfg_set_initfs(cfg, s);
  return vmctr_bootcfg_set_modules(cfg, s);
}

/* Written as "auto", "on" or "off"; read also as a JSON boolean or any
 * string the generic setter takes, under this name or the old "acpi". */
static int parse_firmware_tables(const cJSON *item, const char *what, vmctr_bootcfg *cfg) {
  int32_t mode;
  if (cJSON_IsBool(item))
    mode = cJSON_IsTrue(item) ? VMCTR_BOOTCFG_FIRMWARE_TABLES_ON
                              : VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF;
  else if (!cJSON_IsString(item) || !item->valuestring ||
           vmctr__bootcfg_parse_firmware_tables(item->valuestring, &mode) < 0)
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: key \"%s\": expected \"auto\", \"on\", \"off\", true or false, got %s",
                      what, item->string,
                      cJSON_IsString(item) ? "another string" : vmctr__json_type_name(item));
  cfg->firmware_tables = mode;
  return 0;
}

static int parse_cmdline(const cJSON *item, const char *what, vmctr_bootcfg *cfg) {
  const cJSON *el;
  char ctx[512];
  size_t i = 0;
  int r;
  if (!cJSON_IsArray(item))
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: key \"cmdline\": expected an array of strings, got %s", what,
                      vmctr__json_type_name(item));
  cJSON_ArrayForEach(el, item) {
    if (!cJSON_IsString(el) || !el->valuestring)
      return vmctr__err(VMCTR_EPARSE, 0,
                        "%s: key \"cmdline\": element %zu: expected a string, got %s", what, i,
                        vmctr__json_type_name(el));
    snprintf(ctx, sizeof(ctx), "%s: key \"cmdline\": element %zu", what, i);
    if ((r = vmctr__bootcfg_check_arg(el->valuestring, VMCTR_EPARSE, ctx)) < 0)
      return r;
    if ((r = vmctr_bootcfg_add_cmdline_arg(cfg, el->valuestring)) < 0)
      return r;
    i++;
  }
  return 0;
}

/* One member of the top-level object. */
static int parse_member(const cJSON *item, const char *what, vmctr_bootcfg *cfg) {
  const char *key = item->string;
  char ctx[512];
  uint64_t v;
  bool b;
  int r;

  if (strcmp(key, "version") == 0)
    return 0; /* checked first, by parse_version() */
  if (strcmp(key, "kernel") == 0 || strcmp(key, "initfs") == 0 || strcmp(key, "modules") == 0)
    return parse_path(item, what, cfg);
  if (strcmp(key, "firmware_tables") == 0 ||
      strcmp(key, VMCTR__BOOTCFG_OLD_FIRMWARE_TABLES_KEY) == 0)
    return parse_firmware_tables(item, what, cfg);
  if (strcmp(key, "cmdline") == 0)
    return parse_cmdline(item, what, cfg);
  if (strcmp(key, "architecture") == 0) {
    const char *s;
    if ((r = vmctr__json_as_string(item, what, &s)) < 0)
      return r;
    if (vmctr_bootcfg_set_architecture(cfg, s) < 0)
      return vmctr__err(VMCTR_EPARSE, 0,
                        "%s: key \"architecture\": \"%.64s\" is not a guest architecture; give "
                        "\"x86_64\" or \"aarch64\", or leave the key out for the host's",
                        what, s);
    return 0;
  }
  if (strcmp(key, "cpus") == 0) {
    if ((r = vmctr__json_as_uint(item, what, UINT32_MAX, &v)) < 0)
      return r;
    if (v == 0)
      return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"cpus\": 0 vCPUs cannot boot; give at least 1",
                        what);
    cfg->cpus = (uint32_t)v;
    return 0;
  }
  if (strcmp(key, "memory") == 0) {
    if ((r = vmctr__json_as_uint(item, what, UINT64_MAX, &v)) < 0)
      return r;
    cfg->memory = v;
    return 0;
  }
  if (strcmp(key, "nested_virtualization") == 0 || strcmp(key, "rosetta") == 0) {
    if ((r = vmctr__json_as_bool(item, what, &b)) < 0)
      return r;
    *(key[0] == 'n' ? &cfg->nested_virt : &cfg->rosetta) = b;
    return 0;
  }
  snprintf(ctx, sizeof(ctx), "%s: ", what);
  if ((r = vmctr__bootcfg_check_key(key, strlen(key), VMCTR_EPARSE, ctx)) < 0)
    return r;
  if (cJSON_IsString(item) && item->valuestring)
    return vmctr__bootcfg_put_extra(cfg, key, item->valuestring, false);
  {
    /* Keep any other value as compact JSON so that saving writes it back as itself. */
    char *text = vmctr__json_print(item, false);
    if (!text)
      return VMCTR_ENOMEM;
    r = vmctr__bootcfg_put_extra(cfg, key, text, true);
    free(text);
    return r;
  }
}

int vmctr__bootcfg_parse(vmctr_bootcfg **out, const char *json, size_t len, const char *what) {
  vmctr_bootcfg *cfg = NULL;
  cJSON *root = NULL;
  const cJSON *item;
  size_t line, col;
  int r;

  if (len > VMCTR_BOOTCFG_MAX_JSON)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu bytes of JSON, more than the %u allowed", what,
                      len, VMCTR_BOOTCFG_MAX_JSON);
  if ((r = vmctr__json_parse(json, len, what, &root)) < 0)
    return r;
  if (!cJSON_IsObject(root)) {
    value_position(json, len, &line, &col);
    r = vmctr__err(VMCTR_EPARSE, 0,
                   "%s: line %zu, column %zu: expected a JSON object at the top level, got %s",
                   what, line, col, vmctr__json_type_name(root));
    goto out;
  }
  /* The version decides how to read the rest, so it is checked before any
   * other key: a newer file says "upgrade", not "wrong type". */
  if ((r = parse_version(root, what)) < 0)
    goto out;
  /* Two names for one setting: neither silently wins. */
  if (cJSON_GetObjectItemCaseSensitive(root, VMCTR__BOOTCFG_OLD_FIRMWARE_TABLES_KEY) &&
      cJSON_GetObjectItemCaseSensitive(root, "firmware_tables")) {
    r = vmctr__err(VMCTR_EPARSE, 0,
                   "%s: key \"" VMCTR__BOOTCFG_OLD_FIRMWARE_TABLES_KEY
                   "\" is the old name of \"firmware_tables\", which is also present; remove "
                   "\"" VMCTR__BOOTCFG_OLD_FIRMWARE_TABLES_KEY "\"",
                   what);
    goto out;
  }
  if ((r = vmctr_bootcfg_new(&cfg)) < 0)
    goto out;
  cJSON_ArrayForEach(item, root) {
    if ((r = parse_member(item, what, cfg)) < 0)
      goto out;
  }
  *out = cfg;
  cfg = NULL;
  r = 0;
out:
  vmctr_bootcfg_free(cfg);
  cJSON_Delete(root);
  return r;
}

int vmctr_bootcfg_from_json(vmctr_bootcfg **out, const char *json, size_t len) {
  if (!out || !json)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_from_json: %s is NULL",
                      !out ? "out" : "json");
  return vmctr__bootcfg_parse(out, json, len, "boot config");
}

int vmctr_bootcfg_load(vmctr_bootcfg **out, const char *path) {
  char *text = NULL, *what = NULL;
  size_t len = 0;
  int r;
  if (!out || !path || !*path)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_load: %s",
                      !out ? "out is NULL" : "the path is NULL or empty");
  /* The bound applies while reading, so a huge or endless file is never slurped. */
  if ((r = vmctr__read_file(path, VMCTR_BOOTCFG_MAX_JSON, &text, &len)) < 0)
    return vmctr__err_prefix("boot config");
  if (asprintf(&what, "boot config %s", path) < 0) {
    what = NULL;
    r = vmctr__err_nomem();
    goto out;
  }
  r = vmctr__bootcfg_parse(out, text, len, what);
out:
  free(what);
  free(text);
  return r;
}

/* Add item to obj under key, taking ownership of item even on failure. */
static int add_item(cJSON *obj, const char *key, cJSON *item) {
  if (!item)
    return vmctr__err_nomem();
  if (!cJSON_AddItemToObject(obj, key, item)) {
    cJSON_Delete(item);
    return vmctr__err_nomem();
  }
  return 0;
}

static int build_cmdline(const vmctr_bootcfg *cfg, cJSON **out) {
  cJSON *arr = cJSON_CreateArray();
  if (!arr)
    return vmctr__err_nomem();
  for (size_t i = 0; i < cfg->nargs; i++) {
    cJSON *s = cJSON_CreateString(cfg->args[i]);
    if (!s || !cJSON_AddItemToArray(arr, s)) {
      cJSON_Delete(s);
      cJSON_Delete(arr);
      return vmctr__err_nomem();
    }
  }
  *out = arr;
  return 0;
}

static int build_extra(const struct vmctr__bootcfg_extra *e, cJSON **out) {
  if (!e->is_json) {
    if (!(*out = cJSON_CreateString(e->value)))
      return vmctr__err_nomem();
    return 0;
  }
  /* Text this file printed itself when loading, so it parses. */
  return vmctr__json_parse(e->value, strlen(e->value), "boot config", out);
}

/* cJSON prints numbers through a double with 15 significant digits and a
 * loose "close enough" check, which can round a large memory size. Writing
 * the digits ourselves keeps every value below 2^53 exact. */
static bool add_exact_uint(cJSON *obj, const char *key, uint64_t v) {
  char digits[24];
  snprintf(digits, sizeof(digits), "%" PRIu64, v);
  if (!cJSON_AddRawToObject(obj, key, digits)) {
    vmctr__err_nomem();
    return false;
  }
  return true;
}

int vmctr_bootcfg_to_json(const vmctr_bootcfg *cfg, char **out_json) {
  cJSON *root = NULL, *item = NULL;
  char *text;
  int r = VMCTR_ENOMEM;

  if (!cfg || !out_json)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_to_json: %s is NULL",
                      !cfg ? "cfg" : "out_json");
  /* Beyond 2^53 a JSON number would round, and the file would say something else. */
  if (cfg->memory >= JSON_EXACT_MAX)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "memory: %llu bytes cannot be written exactly in JSON (less than %llu); "
                      "give a realistic size",
                      (unsigned long long)cfg->memory, JSON_EXACT_MAX);
  if (!(root = cJSON_CreateObject()))
    return vmctr__err_nomem();
  if (!vmctr__json_add_number(root, "version", VMCTR_BOOTCFG_FORMAT_VERSION))
    goto out;
  if (cfg->kernel && !vmctr__json_add_string(root, "kernel", cfg->kernel))
    goto out;
  if (cfg->initfs && !vmctr__json_add_string(root, "initfs", cfg->initfs))
    goto out;
  if ((r = build_cmdline(cfg, &item)) < 0 || (r = add_item(root, "cmdline", item)) < 0)
    goto out;
  r = VMCTR_ENOMEM;
  if (!vmctr__json_add_number(root, "cpus", cfg->cpus) ||
      !add_exact_uint(root, "memory", cfg->memory) ||
      !vmctr__json_add_bool(root, "nested_virtualization", cfg->nested_virt) ||
      !vmctr__json_add_bool(root, "rosetta", cfg->rosetta))
    goto out;
  if (cfg->modules && !vmctr__json_add_string(root, "modules", cfg->modules))
    goto out;
  if (!vmctr__json_add_string(root, "firmware_tables", vmctr__bootcfg_firmware_tables_name(cfg->firmware_tables)))
    goto out;
  if (cfg->arch && !vmctr__json_add_string(root, "architecture", cfg->arch))
    goto out;
  for (size_t i = 0; i < cfg->nextras; i++) {
    if ((r = build_extra(&cfg->extras[i], &item)) < 0 ||
        (r = add_item(root, cfg->extras[i].key, item)) < 0)
      goto out;
  }
  r = VMCTR_ENOMEM;
  if (!(text = vmctr__json_print(root, true)))
    goto out;
  *out_json = text;
  r = 0;
out:
  cJSON_Delete(root);
  return r;
}

int vmctr_bootcfg_save(const vmctr_bootcfg *cfg, const char *path) {
  char *json = NULL, *text = NULL;
  int r;
  if (!cfg || !path || !*path)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_save: %s",
                      !cfg ? "cfg is NULL" : "the path is NULL or empty");
  if ((r = vmctr_bootcfg_to_json(cfg, &json)) < 0)
    return r;
  /* Text files end with a newline; editors and diff prefer it. */
  if (asprintf(&text, "%s\n", json) < 0) {
    text = NULL;
    r = vmctr__err_nomem();
    goto out;
  }
  r = vmctr__write_file_atomic(path, text, strlen(text), 0644);
out:
  free(text);
  free(json);
  return r;
}
