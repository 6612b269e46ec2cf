/* SPDX-License-Identifier: MIT */
/* The command-line mount spec: "type=share,source=/x,target=/y,readonly".
 * Docker's --mount shape rather than -v's colons, because one syntax must
 * carry every kind's settings and host paths may hold colons. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "mount/mount-priv.h"

#define SPEC_MAX 8192

/* A key=value element, split in place. */
typedef struct elem {
  char *key, *value; /* value NULL for a bare word */
} elem;

/* One name per key, whatever synonym was used. */
static const char *canonical(const char *key) {
  if (!strcmp(key, "src"))
    return "source";
  if (!strcmp(key, "destination") || !strcmp(key, "dst"))
    return "target";
  if (!strcmp(key, "ro"))
    return "readonly";
  return key;
}

static int bad(const char *spec, const char *fmt_what, const char *detail) {
  return vmctr__err(VMCTR_EINVAL, 0, "mount spec \"%.256s\": %s%s", spec, fmt_what, detail);
}

static int parse_bool(const elem *e, const char *spec, int32_t *out) {
  if (!e->value || strcmp(e->value, "true") == 0 || strcmp(e->value, "1") == 0) {
    *out = 1;
    return 0;
  }
  if (strcmp(e->value, "false") == 0 || strcmp(e->value, "0") == 0) {
    *out = 0;
    return 0;
  }
  return vmctr__err(VMCTR_EINVAL, 0,
                    "mount spec \"%.256s\": %s=%s: give true or false (or the bare word)",
                    spec, e->key, e->value);
}

static int parse_size(const elem *e, const char *spec, uint64_t *out) {
  char *end;
  unsigned long long v;
  uint64_t mul = 1;
  errno = 0;
  if (e->value[0] < '0' || e->value[0] > '9')
    goto invalid;
  v = strtoull(e->value, &end, 10);
  if (errno)
    goto invalid;
  if (*end) {
    switch (*end | 0x20) {
    case 'k': mul = 1ull << 10; break;
    case 'm': mul = 1ull << 20; break;
    case 'g': mul = 1ull << 30; break;
    default: goto invalid;
    }
    if (end[1])
      goto invalid;
  }
  if (v > UINT64_MAX / mul)
    goto invalid;
  *out = v * mul;
  return 0;
invalid:
  return vmctr__err(VMCTR_EINVAL, 0,
                    "mount spec \"%.256s\": size=%s: give bytes, optionally with a k, m or g "
                    "suffix",
                    spec, e->value);
}

static int apply(vmctr_mount *m, const elem *e, const char *spec) {
  const char *k = e->key;
  uint32_t v;
  int32_t b = 0;
  uint64_t size = 0;
  int r;

  if (!strcmp(k, "type") || !strcmp(k, "source") || !strcmp(k, "src") || !strcmp(k, "target") ||
      !strcmp(k, "destination") || !strcmp(k, "dst") || !strcmp(k, "fstype"))
    return 0; /* used to create m */
  if (!strcmp(k, "readonly") || !strcmp(k, "ro")) {
    if ((r = parse_bool(e, spec, &b)) < 0)
      return r;
    return vmctr_mount_set_read_only(m, b);
  }
  if (!strcmp(k, "ephemeral")) {
    if ((r = parse_bool(e, spec, &b)) < 0)
      return r;
    return vmctr_mount_set_ephemeral(m, b);
  }
  if (!e->value)
    return bad(spec, k, ": this key needs a value (key=value)");
  if (!strcmp(k, "option")) {
    const char *old = vmctr_mount_options(m);
    char *joined = NULL;
    if (asprintf(&joined, "%s%s%s", old ? old : "", old ? "," : "", e->value) < 0)
      return vmctr__err_nomem();
    r = vmctr_mount_set_options(m, joined);
    free(joined);
    return r;
  }
  if (!strcmp(k, "format")) {
    if (!(v = vmctr__mount_format_from_name(e->value)))
      return bad(spec, "format: use ", "ext4");
    return vmctr_mount_set_format(m, v);
  }
  if (!strcmp(k, "image")) {
    if (!(v = vmctr__mount_image_format_from_name(e->value)))
      return bad(spec, "image: use ", "raw or cow");
    return vmctr_mount_set_image_format(m, v);
  }
  if (!strcmp(k, "caching")) {
    if (!(v = vmctr__mount_caching_from_name(e->value)))
      return bad(spec, "caching: use ", "auto, cached or uncached");
    return vmctr_mount_set_caching(m, v);
  }
  if (!strcmp(k, "sync")) {
    if (!(v = vmctr__mount_sync_from_name(e->value)))
      return bad(spec, "sync: use ", "full, fsync or none");
    return vmctr_mount_set_sync(m, v);
  }
  if (!strcmp(k, "cache")) {
    if (!(v = vmctr__mount_share_cache_from_name(e->value)))
      return bad(spec, "cache: use ", "auto, always or never");
    return vmctr_mount_set_share_cache(m, v);
  }
  if (!strcmp(k, "tag"))
    return vmctr_mount_set_tag(m, e->value);
  if (!strcmp(k, "size")) {
    if ((r = parse_size(e, spec, &size)) < 0)
      return r;
    return vmctr_mount_set_tmpfs_size(m, size);
  }
  if (!strcmp(k, "mode")) {
    char *end;
    unsigned long mode = strtoul(e->value, &end, 8);
    if (!*e->value || *end || strspn(e->value, "01234567") != strlen(e->value) || mode > 07777)
      return bad(spec, "mode: ", "give an octal mode from 0 to 7777");
    return vmctr_mount_set_tmpfs_mode(m, (uint32_t)mode);
  }
  return vmctr__err(VMCTR_EINVAL, 0, "mount spec \"%.256s\": unknown key \"%.64s\"", spec, k);
}

/* Split spec (a copy) into elements; count them in *n. */
static int split(char *copy, const char *spec, elem *elems, size_t max, size_t *n) {
  size_t count = 0;
  for (char *p = copy; p;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma = '\0';
    if (!*p)
      return bad(spec, "", "an element is empty; remove the extra ','");
    if (count == max)
      return bad(spec, "", "too many elements");
    elems[count].key = p;
    elems[count].value = strchr(p, '=');
    if (elems[count].value)
      *elems[count].value++ = '\0';
    count++;
    p = comma ? comma + 1 : NULL;
  }
  *n = count;
  return 0;
}

static const char *find(const elem *elems, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(elems[i].key, key))
      return elems[i].value ? elems[i].value : "";
  return NULL;
}

int vmctr_mount_parse(vmctr_mount **out, const char *spec) {
  elem elems[64];
  char *copy = NULL;
  vmctr_mount *m = NULL;
  const char *type, *src, *dst, *fstype;
  size_t n = 0;
  int r;

  if (!out || !spec)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_parse: %s is NULL", out ? "spec" : "out");
  if (!*spec || strlen(spec) > SPEC_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "mount spec: give 1 to %d bytes such as "
                      "\"type=share,source=/srv,target=/srv\"", SPEC_MAX);
  if (!(copy = vmctr__strdup(spec)))
    return VMCTR_ENOMEM;
  if ((r = split(copy, spec, elems, VMCTR_ARRAY_SIZE(elems), &n)) < 0)
    goto out;
  /* Each key but option= once; synonyms count as one key. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(canonical(elems[i].key), "option") != 0 &&
          strcmp(canonical(elems[i].key), canonical(elems[j].key)) == 0) {
        r = vmctr__err(VMCTR_EINVAL, 0, "mount spec \"%.256s\": key \"%s\" is given twice",
                       spec, canonical(elems[i].key));
        goto out;
      }
  type = find(elems, n, "type");
  if (!(src = find(elems, n, "source")))
    src = find(elems, n, "src");
  if (!(dst = find(elems, n, "target")) && !(dst = find(elems, n, "destination")))
    dst = find(elems, n, "dst");
  fstype = find(elems, n, "fstype");
  if (!type || !*type) {
    r = bad(spec, "", "type= is missing; give type=block, share, tmpfs or any");
    goto out;
  }
  if (!dst) {
    r = bad(spec, "", "target= is missing; give the absolute guest path");
    goto out;
  }
  if (src && !*src)
    src = NULL;
  if (!strcmp(type, "block"))
    r = vmctr_mount_new_block(&m, src, dst);
  else if (!strcmp(type, "share") || !strcmp(type, "bind"))
    r = vmctr_mount_new_share(&m, src, dst);
  else if (!strcmp(type, "tmpfs"))
    r = src ? bad(spec, "", "a tmpfs has no source; remove source=")
            : vmctr_mount_new_tmpfs(&m, dst);
  else if (!strcmp(type, "any"))
    r = vmctr_mount_new_any(&m, fstype, src, dst);
  else
    r = bad(spec, "", "unknown type; use block, share (or bind), tmpfs or any");
  if (r < 0)
    goto out;
  if (fstype && m->kind != VMCTR_MOUNT_ANY) {
    r = bad(spec, "", "fstype= applies to type=any only");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    if ((r = apply(m, &elems[i], spec)) < 0) {
      /* A setter's message names the setter; say which spec it came from. */
      if (strncmp(vmctr_error_last()->message, "mount spec", 10) != 0) {
        char prefix[300];
        snprintf(prefix, sizeof(prefix), "mount spec \"%.256s\"", spec);
        vmctr__err_prefix(prefix);
      }
      goto out;
    }
  *out = m;
  m = NULL;
  r = 0;
out:
  vmctr_mount_free(m);
  free(copy);
  return r;
}
