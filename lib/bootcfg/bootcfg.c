/* SPDX-License-Identifier: MIT */
/* The boot-config builder: typed setters and getters, and the generic
 * string keys. JSON lives in bootcfg-json.c, host checks in
 * bootcfg-validate.c. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bootcfg/bootcfg-priv.h"
#include "caps/caps.h"
#include "core/error.h"
#include "core/util.h"

/* The known keys, in the fixed order of keys(); indexes are the K_ values. */
static const char *const known_keys[] = {
  "kernel", "initfs", "cmdline", "cpus", "memory", "nested_virtualization", "rosetta",
  "modules", "firmware_tables", "architecture",
};

enum {
  K_KERNEL,
  K_INITFS,
  K_CMDLINE,
  K_CPUS,
  K_MEMORY,
  K_NESTED,
  K_ROSETTA,
  K_MODULES,
  K_FIRMWARE,
  K_ARCH,
  K_NONE
};

static int known_index(const char *key) {
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(known_keys); i++)
    if (strcmp(key, known_keys[i]) == 0)
      return (int)i;
  /* Callers that set the old free key keep working, and the name can never
   * become a free key that a later load would read as the typed setting. */
  if (strcmp(key, VMCTR__BOOTCFG_OLD_FIRMWARE_TABLES_KEY) == 0)
    return K_FIRMWARE;
  return K_NONE;
}

void vmctr__bootcfg_init(vmctr_bootcfg *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->cpus = VMCTR_BOOTCFG_DEFAULT_CPUS;
  cfg->memory = VMCTR_BOOTCFG_DEFAULT_MEMORY;
  cfg->firmware_tables = VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO;
}

static void free_args(char **args, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(args[i]);
  free(args);
}

void vmctr__bootcfg_clear(vmctr_bootcfg *cfg) {
  free(cfg->kernel);
  free(cfg->initfs);
  free(cfg->modules);
  free_args(cfg->args, cfg->nargs);
  for (size_t i = 0; i < cfg->nextras; i++) {
    free(cfg->extras[i].key);
    free(cfg->extras[i].value);
  }
  free(cfg->extras);
  memset(cfg, 0, sizeof(*cfg));
}

int vmctr_bootcfg_new(vmctr_bootcfg **out) {
  vmctr_bootcfg *cfg;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_new: out is NULL");
  cfg = malloc(sizeof(*cfg));
  if (!cfg)
    return vmctr__err_nomem();
  vmctr__bootcfg_init(cfg);
  *out = cfg;
  return 0;
}

void vmctr_bootcfg_free(vmctr_bootcfg *cfg) {
  if (!cfg)
    return;
  vmctr__bootcfg_clear(cfg);
  free(cfg);
}

int vmctr_bootcfg_clone(vmctr_bootcfg **out, const vmctr_bootcfg *cfg) {
  vmctr_bootcfg *c = NULL;
  int r;
  if (!out || !cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_clone: %s is NULL", !out ? "out" : "cfg");
  if ((r = vmctr_bootcfg_new(&c)) < 0)
    return r;
  c->cpus = cfg->cpus;
  c->memory = cfg->memory;
  c->nested_virt = cfg->nested_virt;
  c->rosetta = cfg->rosetta;
  c->firmware_tables = cfg->firmware_tables;
  c->arch = cfg->arch;
  if ((cfg->kernel && !(c->kernel = vmctr__strdup(cfg->kernel))) ||
      (cfg->initfs && !(c->initfs = vmctr__strdup(cfg->initfs))) ||
      (cfg->modules && !(c->modules = vmctr__strdup(cfg->modules)))) {
    r = VMCTR_ENOMEM;
    goto fail;
  }
  /* The source's arguments were checked when they were set. */
  if ((r = vmctr__bootcfg_replace_args(c, (const char *const *)cfg->args, cfg->nargs,
                                       "cmdline")) < 0)
    goto fail;
  for (size_t i = 0; i < cfg->nextras; i++)
    if ((r = vmctr__bootcfg_put_extra(c, cfg->extras[i].key, cfg->extras[i].value,
                                      cfg->extras[i].is_json)) < 0)
      goto fail;
  *out = c;
  return 0;
fail:
  vmctr_bootcfg_free(c);
  return r;
}

/* Shared by kernel, initfs and modules: copy first so that failure leaves cfg as it was. */
static int set_path(vmctr_bootcfg *cfg, char **slot, const char *path, const char *key) {
  char *copy = NULL;
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the boot config is NULL", key);
  if (path) {
    if (!*path)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "%s: the path is empty; give a path, or NULL to unset it", key);
    if (!(copy = vmctr__strdup(path)))
      return VMCTR_ENOMEM;
  }
  free(*slot);
  *slot = copy;
  return 0;
}

int vmctr_bootcfg_set_kernel(vmctr_bootcfg *cfg, const char *path) {
  return set_path(cfg, cfg ? &cfg->kernel : NULL, path, "kernel");
}

const char *vmctr_bootcfg_kernel(const vmctr_bootcfg *cfg) { return cfg ? cfg->kernel : NULL; }

int vmctr_bootcfg_set_initfs(vmctr_bootcfg *cfg, const char *path) {
  return set_path(cfg, cfg ? &cfg->initfs : NULL, path, "initfs");
}

const char *vmctr_bootcfg_initfs(const vmctr_bootcfg *cfg) { return cfg ? cfg->initfs : NULL; }

int vmctr_bootcfg_set_modules(vmctr_bootcfg *cfg, const char *dir) {
  return set_path(cfg, cfg ? &cfg->modules : NULL, dir, "modules");
}

const char *vmctr_bootcfg_modules(const vmctr_bootcfg *cfg) { return cfg ? cfg->modules : NULL; }

/* The kernel's own splitter (lib/cmdline.c next_arg) ends an argument at a
 * blank outside double quotes. An argument that would split, or whose quote
 * is unbalanced and so swallows the rest of the line, cannot be written
 * back as itself, so it is refused rather than silently changed. */
int vmctr__bootcfg_check_arg(const char *arg, int code, const char *what) {
  bool in_quote = false;
  if (!arg)
    return vmctr__err(code, 0, "%s: an argument is NULL", what);
  if (!*arg)
    return vmctr__err(code, 0, "%s: an argument is empty; remove it", what);
  for (const char *p = arg; *p; p++) {
    if (*p == '\n')
      return vmctr__err(code, 0,
                        "%s: argument \"%s\" contains a newline; give each kernel parameter as "
                        "its own argument",
                        what, arg);
    if (*p == '"')
      in_quote = !in_quote;
    else if (!in_quote && isspace((unsigned char)*p))
      return vmctr__err(code, 0,
                        "%s: argument \"%s\" contains a blank outside double quotes, so the "
                        "kernel would read it as several; split it, or quote the value "
                        "(name=\"a b\")",
                        what, arg);
  }
  if (in_quote)
    return vmctr__err(code, 0,
                      "%s: argument \"%s\" has an unbalanced double quote; close the quote", what,
                      arg);
  return 0;
}

int vmctr__bootcfg_replace_args(vmctr_bootcfg *cfg, const char *const *args, size_t n,
                                const char *what) {
  char **copy = NULL;
  size_t i;
  int r;
  for (i = 0; i < n; i++)
    if ((r = vmctr__bootcfg_check_arg(args[i], VMCTR_EINVAL, what)) < 0)
      return r;
  if (n > 0) {
    copy = calloc(n, sizeof(*copy));
    if (!copy)
      return vmctr__err_nomem();
    for (i = 0; i < n; i++) {
      if (!(copy[i] = vmctr__strdup(args[i]))) {
        free_args(copy, i);
        return VMCTR_ENOMEM;
      }
    }
  }
  free_args(cfg->args, cfg->nargs);
  cfg->args = copy;
  cfg->nargs = n;
  return 0;
}

int vmctr_bootcfg_set_cmdline(vmctr_bootcfg *cfg, const char *const *args, size_t n) {
  if (!cfg || (n > 0 && !args))
    return vmctr__err(VMCTR_EINVAL, 0, "cmdline: %s is NULL", !cfg ? "the boot config" : "args");
  return vmctr__bootcfg_replace_args(cfg, args, n, "cmdline");
}

int vmctr_bootcfg_add_cmdline_arg(vmctr_bootcfg *cfg, const char *arg) {
  char *copy;
  char **grown;
  int r;
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "cmdline: the boot config is NULL");
  if ((r = vmctr__bootcfg_check_arg(arg, VMCTR_EINVAL, "cmdline")) < 0)
    return r;
  if (!(copy = vmctr__strdup(arg)))
    return VMCTR_ENOMEM;
  grown = realloc(cfg->args, (cfg->nargs + 1) * sizeof(*grown));
  if (!grown) {
    free(copy);
    return vmctr__err_nomem();
  }
  grown[cfg->nargs] = copy;
  cfg->args = grown;
  cfg->nargs++;
  return 0;
}

size_t vmctr_bootcfg_cmdline_count(const vmctr_bootcfg *cfg) { return cfg ? cfg->nargs : 0; }

const char *vmctr_bootcfg_cmdline_arg(const vmctr_bootcfg *cfg, size_t i) {
  return cfg && i < cfg->nargs ? cfg->args[i] : NULL;
}

int vmctr_bootcfg_cmdline_string(const vmctr_bootcfg *cfg, char **out) {
  vmctr__strbuf sb = {0};
  char *s;
  if (!cfg || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_cmdline_string: %s is NULL",
                      !cfg ? "cfg" : "out");
  vmctr__sb_puts(&sb, "");
  /* Every argument passed check_arg, so plain joining is what the kernel splits back. */
  for (size_t i = 0; i < cfg->nargs; i++) {
    if (i > 0)
      vmctr__sb_puts(&sb, " ");
    vmctr__sb_puts(&sb, cfg->args[i]);
  }
  if (!(s = vmctr__sb_steal(&sb)))
    return VMCTR_ENOMEM;
  *out = s;
  return 0;
}

int vmctr_bootcfg_set_cpus(vmctr_bootcfg *cfg, uint32_t cpus) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "cpus: the boot config is NULL");
  if (cpus == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "cpus: 0 vCPUs cannot boot; give at least 1");
  cfg->cpus = cpus;
  return 0;
}

uint32_t vmctr_bootcfg_cpus(const vmctr_bootcfg *cfg) { return cfg ? cfg->cpus : 0; }

int vmctr_bootcfg_set_memory(vmctr_bootcfg *cfg, uint64_t bytes) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "memory: the boot config is NULL");
  cfg->memory = bytes;
  return 0;
}

uint64_t vmctr_bootcfg_memory(const vmctr_bootcfg *cfg) { return cfg ? cfg->memory : 0; }

static int set_flag(vmctr_bootcfg *cfg, bool *slot, int32_t enabled, const char *key) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the boot config is NULL", key);
  if (enabled != 0 && enabled != 1)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: %" PRId32 " is not a switch; give 0 or 1", key,
                      enabled);
  *slot = enabled == 1;
  return 0;
}

int vmctr_bootcfg_set_nested_virtualization(vmctr_bootcfg *cfg, int32_t enabled) {
  return set_flag(cfg, cfg ? &cfg->nested_virt : NULL, enabled, "nested_virtualization");
}

int32_t vmctr_bootcfg_nested_virtualization(const vmctr_bootcfg *cfg) {
  return cfg && cfg->nested_virt ? 1 : 0;
}

int vmctr_bootcfg_set_rosetta(vmctr_bootcfg *cfg, int32_t enabled) {
  return set_flag(cfg, cfg ? &cfg->rosetta : NULL, enabled, "rosetta");
}

int32_t vmctr_bootcfg_rosetta(const vmctr_bootcfg *cfg) { return cfg && cfg->rosetta ? 1 : 0; }

int vmctr_bootcfg_set_architecture(vmctr_bootcfg *cfg, const char *arch) {
  const char *name = vmctr__caps_guest_name(arch);
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "architecture: the boot config is NULL");
  if (arch && !name)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "architecture: \"%.64s\" is not a guest architecture; give x86_64 or "
                      "aarch64 (amd64 and arm64 are taken too), or NULL for the host's",
                      arch);
  cfg->arch = name;
  return 0;
}

const char *vmctr_bootcfg_architecture(const vmctr_bootcfg *cfg) {
  return cfg ? cfg->arch : NULL;
}

const char *vmctr__bootcfg_guest_arch(const vmctr_bootcfg *cfg) {
  return cfg && cfg->arch ? cfg->arch : vmctr__caps_host_arch();
}

int vmctr_bootcfg_set_firmware_tables(vmctr_bootcfg *cfg, int32_t mode) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "firmware_tables: the boot config is NULL");
  if (mode != VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO && mode != VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF &&
      mode != VMCTR_BOOTCFG_FIRMWARE_TABLES_ON)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "firmware_tables: %" PRId32 " is not a mode; give "
                      "VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO (-1), _OFF (0) or _ON (1)",
                      mode);
  cfg->firmware_tables = mode;
  return 0;
}

int32_t vmctr_bootcfg_firmware_tables(const vmctr_bootcfg *cfg) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "firmware_tables: the boot config is NULL");
  return cfg->firmware_tables;
}

int32_t vmctr_bootcfg_firmware_tables_effective(const vmctr_bootcfg *cfg) {
  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "firmware_tables: the boot config is NULL");
  /* Stock kernels are the ones that need modules, and they have no
   * virtio-mmio command-line devices, so they find devices only in tables. */
  if (cfg->firmware_tables == VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO)
    return cfg->modules ? 1 : 0;
  return cfg->firmware_tables;
}

int vmctr__bootcfg_put_extra(vmctr_bootcfg *cfg, const char *key, const char *value,
                             bool is_json) {
  struct vmctr__bootcfg_extra *grown;
  char *v = vmctr__strdup(value), *k = NULL;
  if (!v)
    return VMCTR_ENOMEM;
  for (size_t i = 0; i < cfg->nextras; i++) {
    if (strcmp(cfg->extras[i].key, key) == 0) {
      free(cfg->extras[i].value);
      cfg->extras[i].value = v;
      cfg->extras[i].is_json = is_json;
      return 0;
    }
  }
  if (!(k = vmctr__strdup(key)))
    goto nomem;
  grown = realloc(cfg->extras, (cfg->nextras + 1) * sizeof(*grown));
  if (!grown)
    goto nomem;
  grown[cfg->nextras] = (struct vmctr__bootcfg_extra){.key = k, .value = v, .is_json = is_json};
  cfg->extras = grown;
  cfg->nextras++;
  return 0;
nomem:
  free(k);
  free(v);
  return vmctr__err_nomem();
}

static void remove_extra(vmctr_bootcfg *cfg, const char *key) {
  for (size_t i = 0; i < cfg->nextras; i++) {
    if (strcmp(cfg->extras[i].key, key) == 0) {
      free(cfg->extras[i].key);
      free(cfg->extras[i].value);
      memmove(&cfg->extras[i], &cfg->extras[i + 1],
              (cfg->nextras - i - 1) * sizeof(cfg->extras[0]));
      cfg->nextras--;
      return;
    }
  }
}

/* Digits, then an optional binary suffix: K, M, G or T, optionally followed
 * by "iB" or "B" (any case). No sign, blanks or fractions: a size that
 * parses loosely is a size the user did not mean. */
int vmctr__bootcfg_parse_memory(const char *s, uint64_t *out) {
  static const char units[] = "kmgt";
  uint64_t v = 0;
  unsigned shift = 0;
  const char *p = s, *u;
  if (!isdigit((unsigned char)*p))
    goto bad;
  for (; isdigit((unsigned char)*p); p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      goto big;
    v = v * 10 + d;
  }
  if (*p) {
    if (!(u = strchr(units, tolower((unsigned char)*p))) || !*u)
      goto bad;
    shift = 10u * (unsigned)(u - units + 1);
    p++;
    if (strcasecmp(p, "ib") != 0 && strcasecmp(p, "b") != 0 && *p)
      goto bad;
    if (v > (UINT64_MAX >> shift))
      goto big;
  }
  *out = v << shift;
  return 0;
bad:
  return vmctr__err(VMCTR_EINVAL, 0,
                    "memory: \"%s\" is not a size; give bytes or a number with K, M, G or T "
                    "(e.g. \"512M\", \"2GiB\")",
                    s);
big:
  return vmctr__err(VMCTR_EINVAL, 0, "memory: \"%s\" is too large; the limit is 16 EiB", s);
}

int vmctr__bootcfg_parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"true", "1", "yes", "on"};
  static const char *const no[] = {"false", "0", "no", "off"};
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(yes); i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return VMCTR_EINVAL;
}

int vmctr__bootcfg_parse_firmware_tables(const char *s, int32_t *out) {
  bool on;
  if (strcasecmp(s, "auto") == 0) {
    *out = VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO;
    return 0;
  }
  if (vmctr__bootcfg_parse_bool(s, &on) < 0)
    return VMCTR_EINVAL;
  *out = on ? VMCTR_BOOTCFG_FIRMWARE_TABLES_ON : VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF;
  return 0;
}

const char *vmctr__bootcfg_firmware_tables_name(int32_t mode) {
  return mode == VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO ? "auto"
         : mode == VMCTR_BOOTCFG_FIRMWARE_TABLES_ON ? "on"
                                                    : "off";
}

int vmctr__bootcfg_split_cmdline(const char *s, char ***out, size_t *out_n) {
  char **v = NULL, **grown;
  size_t n = 0;
  const char *p = s;
  int r;
  if (strchr(s, '\n'))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "cmdline: a newline is not allowed; separate arguments with spaces");
  for (;;) {
    const char *start;
    bool in_quote = false;
    while (isspace((unsigned char)*p))
      p++;
    if (!*p)
      break;
    for (start = p; *p && (in_quote || !isspace((unsigned char)*p)); p++)
      if (*p == '"')
        in_quote = !in_quote;
    if (in_quote) {
      r = vmctr__err(VMCTR_EINVAL, 0,
                     "cmdline: the double quote in \"%s\" is never closed; close it", start);
      goto fail;
    }
    grown = realloc(v, (n + 2) * sizeof(*v));
    if (!grown) {
      r = vmctr__err_nomem();
      goto fail;
    }
    v = grown;
    if (!(v[n] = strndup(start, (size_t)(p - start)))) {
      r = vmctr__err_nomem();
      goto fail;
    }
    v[++n] = NULL;
  }
  *out = v;
  *out_n = n;
  return 0;
fail:
  free_args(v, n);
  return r;
}

int vmctr_bootcfg_set(vmctr_bootcfg *cfg, const char *key, const char *value) {
  uint64_t num;
  int32_t mode;
  bool flag;
  char **args = NULL;
  size_t n = 0;
  int k, r;

  if (!cfg || !key)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_set: %s is NULL", !cfg ? "cfg" : "key");
  k = known_index(key);
  if (k == K_NONE) {
    if ((r = vmctr__bootcfg_check_key(key, strlen(key), VMCTR_EINVAL, "")) < 0)
      return r;
    if (!value) {
      remove_extra(cfg, key);
      return 0;
    }
    return vmctr__bootcfg_put_extra(cfg, key, value, false);
  }
  switch (k) {
  case K_KERNEL:
    return vmctr_bootcfg_set_kernel(cfg, value);
  case K_INITFS:
    return vmctr_bootcfg_set_initfs(cfg, value);
  case K_CMDLINE:
    if (value && (r = vmctr__bootcfg_split_cmdline(value, &args, &n)) < 0)
      return r;
    r = vmctr__bootcfg_replace_args(cfg, (const char *const *)args, n, "cmdline");
    free_args(args, n);
    return r;
  case K_CPUS:
    if (!value)
      return vmctr_bootcfg_set_cpus(cfg, VMCTR_BOOTCFG_DEFAULT_CPUS);
    num = 0;
    for (const char *p = value; *p && num <= UINT32_MAX; p++)
      num = isdigit((unsigned char)*p) ? num * 10 + (uint64_t)(*p - '0') : UINT64_MAX;
    if (!*value || num > UINT32_MAX)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "cpus: \"%s\" is not a vCPU count; give a number such as 2", value);
    return vmctr_bootcfg_set_cpus(cfg, (uint32_t)num);
  case K_MEMORY:
    if (!value)
      return vmctr_bootcfg_set_memory(cfg, VMCTR_BOOTCFG_DEFAULT_MEMORY);
    if ((r = vmctr__bootcfg_parse_memory(value, &num)) < 0)
      return r;
    return vmctr_bootcfg_set_memory(cfg, num);
  case K_MODULES:
    return vmctr_bootcfg_set_modules(cfg, value);
  case K_ARCH:
    return vmctr_bootcfg_set_architecture(cfg, value);
  case K_FIRMWARE:
    mode = VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO;
    if (value && vmctr__bootcfg_parse_firmware_tables(value, &mode) < 0)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "%s: \"%s\" is not a firmware-tables mode; give auto, on/off, "
                        "true/false, yes/no or 1/0",
                        key, value);
    return vmctr_bootcfg_set_firmware_tables(cfg, mode);
  default: /* K_NESTED, K_ROSETTA */
    flag = false;
    if (value && vmctr__bootcfg_parse_bool(value, &flag) < 0)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "%s: \"%s\" is not a switch; give true/false, yes/no, on/off or 1/0",
                        key, value);
    return set_flag(cfg, k == K_NESTED ? &cfg->nested_virt : &cfg->rosetta, flag, key);
  }
}

/* The value of a known key as set() would take it, or NULL (ENOENT) if unset. */
static int get_known(const vmctr_bootcfg *cfg, int k, char **out) {
  char *s = NULL;
  switch (k) {
  case K_KERNEL:
  case K_INITFS:
  case K_MODULES: {
    const char *v = k == K_KERNEL ? cfg->kernel : k == K_INITFS ? cfg->initfs : cfg->modules;
    if (!v)
      return VMCTR_ENOENT;
    s = vmctr__strdup(v);
    break;
  }
  case K_CMDLINE:
    if (cfg->nargs == 0)
      return VMCTR_ENOENT;
    return vmctr_bootcfg_cmdline_string(cfg, out);
  case K_CPUS:
  case K_MEMORY:
    if (asprintf(&s, "%" PRIu64, k == K_CPUS ? (uint64_t)cfg->cpus : cfg->memory) < 0)
      s = NULL;
    break;
  case K_FIRMWARE:
    s = vmctr__strdup(vmctr__bootcfg_firmware_tables_name(cfg->firmware_tables));
    break;
  case K_ARCH:
    if (!cfg->arch)
      return VMCTR_ENOENT;
    s = vmctr__strdup(cfg->arch);
    break;
  default:
    s = vmctr__strdup((k == K_NESTED ? cfg->nested_virt : cfg->rosetta) ? "true" : "false");
  }
  if (!s)
    return vmctr__err_nomem();
  *out = s;
  return 0;
}

int vmctr_bootcfg_get(const vmctr_bootcfg *cfg, const char *key, char **out) {
  int k, r;
  if (!cfg || !key || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_get: %s is NULL",
                      !cfg ? "cfg" : !key ? "key" : "out");
  k = known_index(key);
  if (k != K_NONE) {
    r = get_known(cfg, k, out);
    if (r == VMCTR_ENOENT)
      return vmctr__err(VMCTR_ENOENT, 0, "%s: not set", key);
    return r;
  }
  for (size_t i = 0; i < cfg->nextras; i++) {
    if (strcmp(cfg->extras[i].key, key) == 0) {
      char *s = vmctr__strdup(cfg->extras[i].value);
      if (!s)
        return VMCTR_ENOMEM;
      *out = s;
      return 0;
    }
  }
  return vmctr__err(VMCTR_ENOENT, 0, "key \"%.256s\": not set", key);
}

int vmctr_bootcfg_keys(const vmctr_bootcfg *cfg, char ***out) {
  char **v;
  size_t n = 0;
  if (!cfg || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_keys: %s is NULL", !cfg ? "cfg" : "out");
  v = calloc(VMCTR_ARRAY_SIZE(known_keys) + cfg->nextras + 1, sizeof(*v));
  if (!v)
    return vmctr__err_nomem();
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(known_keys); i++) {
    if ((i == K_KERNEL && !cfg->kernel) || (i == K_INITFS && !cfg->initfs) ||
        (i == K_CMDLINE && cfg->nargs == 0) || (i == K_MODULES && !cfg->modules) ||
        (i == K_ARCH && !cfg->arch))
      continue;
    if (!(v[n++] = vmctr__strdup(known_keys[i])))
      goto nomem;
  }
  for (size_t i = 0; i < cfg->nextras; i++)
    if (!(v[n++] = vmctr__strdup(cfg->extras[i].key)))
      goto nomem;
  *out = v;
  return (int)n;
nomem:
  vmctr__strv_free(v);
  return vmctr__err_nomem();
}
