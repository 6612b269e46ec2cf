/* SPDX-License-Identifier: MIT */
/* Mounts as JSON objects. The text is untrusted. Unlike a boot config, a
 * mount refuses unknown keys: a misspelt "read_only" silently ignored would
 * give the guest write access it was meant not to have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "mount/mount-priv.h"

/* Which kinds each key belongs to (bit = 1 << kind). */
#define K(kind) (1u << (kind))
#define ALL (K(VMCTR_MOUNT_BLOCK) | K(VMCTR_MOUNT_SHARE) | K(VMCTR_MOUNT_TMPFS) | K(VMCTR_MOUNT_ANY))

static const struct {
  const char *key;
  uint32_t kinds;
} keys[] = {
  {"kind", ALL},
  {"destination", ALL},
  {"read_only", ALL},
  {"options", ALL},
  {"source", K(VMCTR_MOUNT_BLOCK) | K(VMCTR_MOUNT_SHARE) | K(VMCTR_MOUNT_ANY)},
  {"format", K(VMCTR_MOUNT_BLOCK)},
  {"image_format", K(VMCTR_MOUNT_BLOCK)},
  {"caching", K(VMCTR_MOUNT_BLOCK)},
  {"sync", K(VMCTR_MOUNT_BLOCK)},
  {"ephemeral", K(VMCTR_MOUNT_BLOCK)},
  {"tag", K(VMCTR_MOUNT_SHARE)},
  {"cache", K(VMCTR_MOUNT_SHARE)},
  {"size", K(VMCTR_MOUNT_TMPFS)},
  {"mode", K(VMCTR_MOUNT_TMPFS)},
  {"type", K(VMCTR_MOUNT_ANY)},
};

static int mount_to_cjson(const vmctr_mount *m, cJSON **out) {
  cJSON *o;
  char mode[16];
  bool ok;
  if (!(o = cJSON_CreateObject()))
    return vmctr__err_nomem();
  ok = vmctr__json_add_string(o, "kind", vmctr__mount_kind_name(m->kind)) &&
       (!m->source || vmctr__json_add_string(o, "source", m->source)) &&
       (!m->destination || vmctr__json_add_string(o, "destination", m->destination)) &&
       vmctr__json_add_bool(o, "read_only", m->read_only) &&
       (!m->options || vmctr__json_add_string(o, "options", m->options));
  switch (m->kind) {
  case VMCTR_MOUNT_BLOCK:
    ok = ok && vmctr__json_add_string(o, "format", vmctr__mount_format_name(m->format)) &&
         (m->image_format == VMCTR_MOUNT_IMAGE_RAW ||
          vmctr__json_add_string(o, "image_format",
                                 vmctr__mount_image_format_name(m->image_format))) &&
         vmctr__json_add_string(o, "caching", vmctr__mount_caching_name(m->caching)) &&
         vmctr__json_add_string(o, "sync", vmctr__mount_sync_name(m->sync)) &&
         (!m->ephemeral || vmctr__json_add_bool(o, "ephemeral", true));
    break;
  case VMCTR_MOUNT_SHARE:
    ok = ok && (!m->tag || vmctr__json_add_string(o, "tag", m->tag)) &&
         vmctr__json_add_string(o, "cache", vmctr__mount_share_cache_name(m->share_cache));
    break;
  case VMCTR_MOUNT_TMPFS:
    /* The mode is an octal string: JSON has no octal numbers, and 1023 says nothing. */
    snprintf(mode, sizeof(mode), "%04o", m->tmpfs_mode);
    ok = ok && vmctr__json_add_number(o, "size", (double)m->tmpfs_size) &&
         vmctr__json_add_string(o, "mode", mode);
    break;
  default:
    ok = ok && vmctr__json_add_string(o, "type", m->type);
    break;
  }
  if (!ok) {
    cJSON_Delete(o);
    return VMCTR_ENOMEM;
  }
  *out = o;
  return 0;
}

int vmctr_mount_to_json(const vmctr_mount *m, char **out) {
  cJSON *o = NULL;
  char *text;
  int r;
  if (!m || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_to_json: %s is NULL", m ? "out" : "m");
  if ((r = mount_to_cjson(m, &o)) < 0)
    return r;
  text = vmctr__json_print(o, false);
  cJSON_Delete(o);
  if (!text)
    return VMCTR_ENOMEM;
  *out = text;
  return 0;
}

/* A string member that must name one of a mode table's entries. */
static int parse_name(const cJSON *item, const char *what, uint32_t (*lookup)(const char *),
                      const char *choices, uint32_t *out) {
  const char *s;
  int r;
  if ((r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (!(*out = lookup(s)))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": unknown value \"%.64s\"; use %s", what,
                      item->string, s, choices);
  return 0;
}

static int parse_mode(const cJSON *item, const char *what, uint32_t *out) {
  const char *s;
  char *end;
  unsigned long v;
  int r;
  if ((r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  v = strtoul(s, &end, 8);
  if (!*s || *end || strspn(s, "01234567") != strlen(s) || v > 07777)
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: key \"mode\": \"%.32s\" is not an octal mode from 0 to 7777", what,
                      s);
  *out = (uint32_t)v;
  return 0;
}

static int str_member(const cJSON *item, const char *what, char **slot) {
  const char *s;
  int r;
  if ((r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (!*s)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\" is empty; give a value or leave it out",
                      what, item->string);
  free(*slot);
  return (*slot = vmctr__strdup(s)) ? 0 : VMCTR_ENOMEM;
}

static int parse_member(const cJSON *item, const char *what, vmctr_mount *m) {
  const char *key = item->string;
  uint64_t v;
  bool b;
  int r;

  if (strcmp(key, "kind") == 0)
    return 0; /* read first */
  if (strcmp(key, "destination") == 0) {
    if ((r = str_member(item, what, &m->destination)) < 0)
      return r;
    return vmctr__mount_check_destination(m->destination, VMCTR_EPARSE, what);
  }
  if (strcmp(key, "source") == 0)
    return str_member(item, what, &m->source);
  if (strcmp(key, "read_only") == 0) {
    if ((r = vmctr__json_as_bool(item, what, &b)) < 0)
      return r;
    m->read_only = b;
    return 0;
  }
  if (strcmp(key, "options") == 0) {
    if ((r = str_member(item, what, &m->options)) < 0)
      return r;
    return vmctr__mount_check_options(m->options, VMCTR_EPARSE, what);
  }
  if (strcmp(key, "format") == 0)
    return parse_name(item, what, vmctr__mount_format_from_name, "\"ext4\"", &m->format);
  if (strcmp(key, "image_format") == 0)
    return parse_name(item, what, vmctr__mount_image_format_from_name, "\"raw\" or \"cow\"",
                      &m->image_format);
  if (strcmp(key, "caching") == 0)
    return parse_name(item, what, vmctr__mount_caching_from_name,
                      "\"auto\", \"cached\" or \"uncached\"", &m->caching);
  if (strcmp(key, "sync") == 0)
    return parse_name(item, what, vmctr__mount_sync_from_name,
                      "\"full\", \"fsync\" or \"none\"", &m->sync);
  if (strcmp(key, "ephemeral") == 0) {
    if ((r = vmctr__json_as_bool(item, what, &b)) < 0)
      return r;
    m->ephemeral = b;
    return 0;
  }
  if (strcmp(key, "cache") == 0)
    return parse_name(item, what, vmctr__mount_share_cache_from_name,
                      "\"auto\", \"always\" or \"never\"", &m->share_cache);
  if (strcmp(key, "tag") == 0) {
    if ((r = str_member(item, what, &m->tag)) < 0)
      return r;
    return vmctr__mount_check_tag(m->tag, VMCTR_EPARSE, what);
  }
  if (strcmp(key, "type") == 0) {
    if ((r = str_member(item, what, &m->type)) < 0)
      return r;
    return vmctr__mount_check_type(m->type, VMCTR_EPARSE, what);
  }
  if (strcmp(key, "size") == 0) {
    if ((r = vmctr__json_as_uint(item, what, UINT64_MAX, &v)) < 0)
      return r;
    m->tmpfs_size = v;
    return 0;
  }
  /* "mode": the key table allows nothing else */
  return parse_mode(item, what, &m->tmpfs_mode);
}

static int mount_from_cjson(const cJSON *obj, const char *what, vmctr_mount **out) {
  const cJSON *kind_item, *item;
  vmctr_mount *m = NULL;
  uint32_t kind;
  int r;

  if (!cJSON_IsObject(obj))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: expected a JSON object, got %s", what,
                      vmctr__json_type_name(obj));
  kind_item = cJSON_GetObjectItemCaseSensitive(obj, "kind");
  if (!kind_item)
    return vmctr__err(VMCTR_EPARSE, 0,
                      "%s: key \"kind\" is missing; give \"block\", \"share\", \"tmpfs\" or "
                      "\"any\"",
                      what);
  if ((r = parse_name(kind_item, what, vmctr__mount_kind_from_name,
                      "\"block\", \"share\", \"tmpfs\" or \"any\"", &kind)) < 0)
    return r;
  if (!(m = vmctr__mount_alloc(kind)))
    return VMCTR_ENOMEM;
  cJSON_ArrayForEach(item, obj) {
    size_t i;
    for (i = 0; i < VMCTR_ARRAY_SIZE(keys); i++)
      if (strcmp(item->string, keys[i].key) == 0)
        break;
    if (i == VMCTR_ARRAY_SIZE(keys)) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: unknown key \"%.64s\"; check its spelling", what,
                     item->string);
      goto fail;
    }
    if (!(keys[i].kinds & K(kind))) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\" does not apply to a %s mount", what,
                     item->string, vmctr__mount_kind_name(kind));
      goto fail;
    }
    if ((r = parse_member(item, what, m)) < 0)
      goto fail;
  }
  /* Only a root filesystem (a block or share mount) goes without one. */
  if (!m->destination && kind != VMCTR_MOUNT_BLOCK && kind != VMCTR_MOUNT_SHARE) {
    r = vmctr__err(VMCTR_EPARSE, 0,
                   "%s: key \"destination\" is missing; give the absolute guest path", what);
    goto fail;
  }
  if ((kind == VMCTR_MOUNT_BLOCK || kind == VMCTR_MOUNT_SHARE) && !m->source) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: key \"source\" is missing; a %s mount needs one",
                   what, vmctr__mount_kind_name(kind));
    goto fail;
  }
  if (kind == VMCTR_MOUNT_ANY) {
    if (!m->type) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: key \"type\" is missing; give the filesystem type",
                     what);
      goto fail;
    }
    if (!m->source && !(m->source = vmctr__strdup("none"))) {
      r = VMCTR_ENOMEM;
      goto fail;
    }
  }
  *out = m;
  return 0;
fail:
  vmctr_mount_free(m);
  return r;
}

int vmctr_mount_from_json(vmctr_mount **out, const char *text, size_t len) {
  cJSON *root = NULL;
  vmctr_mount *m = NULL;
  int r;
  if (!out || !text)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_from_json: %s is NULL",
                      out ? "text" : "out");
  if (len > VMCTR_MOUNT_MAX_JSON)
    return vmctr__err(VMCTR_ETOOBIG, 0,
                      "mount JSON: %zu bytes is more than the %u a mount may take", len,
                      VMCTR_MOUNT_MAX_JSON);
  if ((r = vmctr__json_parse(text, len, "mount JSON", &root)) < 0)
    return r;
  r = mount_from_cjson(root, "mount JSON", &m);
  cJSON_Delete(root);
  if (r < 0)
    return r;
  *out = m;
  return 0;
}
