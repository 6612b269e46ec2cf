/* SPDX-License-Identifier: MIT */
/* Reading and validating the initfs inputs: the init executable, and the module
 * directory's load-order plus the modules it names. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps/caps.h"
#include "core/error.h"
#include "core/util.h"
#include "initfs/initfs-priv.h"

#define MAX_NAME 255

/* Read the regular file path into *b, at most max bytes. The stat first
 * refuses what vmctr__read_file would take or block on (FIFOs, devices). */
static int read_regular(const char *path, size_t max, bool want_exec, vmctr__initfs_blob *b) {
  struct stat st;
  if (stat(path, &st) < 0)
    return vmctr__err_os(errno, "%s", path);
  if (!S_ISREG(st.st_mode))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: not a regular file", path);
  if (want_exec && !(st.st_mode & 0111))
    return vmctr__err(VMCTR_EINVAL, EACCES, "%s: not executable (chmod +x it)", path);
  if ((uint64_t)st.st_size > max)
    return vmctr__err(VMCTR_ETOOBIG, EFBIG, "%s: %llu bytes, more than the %zu allowed", path,
                      (unsigned long long)st.st_size, max);
  /* Bounded by the size just seen: vmctr__read_file allocates its bound up
   * front, and a file that grows meanwhile is refused. */
  return vmctr__read_file_regular(path, (size_t)st.st_size, &b->data, &b->len);
}

/* A module name is a plain file name ending in .ko: no path, no hidden or odd names. */
static int valid_module_name(const char *s, size_t n) {
  if (n < 4 || n > MAX_NAME || s[0] == '.' || memcmp(s + n - 3, ".ko", 3) != 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.' || c == '+'))
      return 0;
  }
  return 1;
}

static char *join(const char *dir, const char *name) {
  vmctr__strbuf sb = {0};
  vmctr__sb_printf(&sb, "%s/%s", dir, name);
  return vmctr__sb_steal(&sb);
}

/* Parse load-order (one name a line; blank lines and '#' comments skipped) and read
 * each module it lists. */
static int load_modules(const char *dir, vmctr__initfs_inputs *in, size_t *total) {
  vmctr__initfs_blob lo = {0};
  char *lo_path = NULL;
  struct stat st;
  int r;
  size_t lineno = 0;

  /* Told apart from a missing load-order, which has its own hint. */
  if (stat(dir, &st) < 0)
    return vmctr__err_os(errno, "modules directory %s", dir);
  if (!S_ISDIR(st.st_mode))
    return vmctr__err(VMCTR_EINVAL, ENOTDIR, "modules directory %s: not a directory", dir);
  if (!(lo_path = join(dir, "load-order")))
    return VMCTR_ENOMEM;
  r = read_regular(lo_path, VMCTR__INITFS_MAX_LOAD_ORDER, false, &lo);
  if (r < 0) {
    if (r == VMCTR_ENOENT)
      vmctr__err_prefix("modules directory lacks its load-order file (see kernel/fetch-debian-kernel.sh)");
    goto out;
  }
  in->mods = calloc(VMCTR__INITFS_MAX_MODULES, sizeof(*in->mods));
  if (!in->mods) {
    r = vmctr__err_nomem();
    goto out;
  }
  for (char *p = lo.data, *end = lo.data + lo.len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *e = nl ? nl : end, *s = p;
    vmctr__initfs_blob *m;

    lineno++;
    p = nl ? nl + 1 : end;
    while (s < e && (*s == ' ' || *s == '\t'))
      s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
      e--;
    if (s == e || *s == '#')
      continue;
    if (!valid_module_name(s, (size_t)(e - s))) {
      r = vmctr__err(VMCTR_EINVAL, 0,
                     "%s:%zu: '%.*s' is not a plain module file name (NAME.ko, letters, digits, _-.+)",
                     lo_path, lineno, (int)((e - s) > 80 ? 80 : (e - s)), s);
      goto out;
    }
    if (in->n_mods == VMCTR__INITFS_MAX_MODULES) {
      r = vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %u modules", lo_path,
                     VMCTR__INITFS_MAX_MODULES);
      goto out;
    }
    m = &in->mods[in->n_mods];
    m->name = strndup(s, (size_t)(e - s));
    if (!m->name) {
      r = vmctr__err_nomem();
      goto out;
    }
    in->n_mods++;
    for (size_t i = 0; i + 1 < in->n_mods; i++)
      if (strcmp(in->mods[i].name, m->name) == 0) {
        r = vmctr__err(VMCTR_EINVAL, 0, "%s:%zu: '%s' is listed twice", lo_path, lineno, m->name);
        goto out;
      }
    {
      char *path = join(dir, m->name);
      if (!path) {
        r = VMCTR_ENOMEM;
        goto out;
      }
      r = read_regular(path, VMCTR__INITFS_MAX_FILE, false, m);
      free(path);
      if (r < 0) {
        if (r == VMCTR_ENOENT)
          vmctr__err_prefix("a module named in load-order is missing");
        goto out;
      }
    }
    *total += m->len;
    if (*total > VMCTR__INITFS_MAX_TOTAL) {
      r = vmctr__err(VMCTR_ETOOBIG, 0, "%s: modules add up to more than %u bytes", dir,
                     VMCTR__INITFS_MAX_TOTAL);
      goto out;
    }
  }
  in->has_modules = 1;
  r = 0;
out:
  free(lo.data);
  free(lo_path);
  return r;
}

/* Little-endian fields of the ELF header (the guests we boot are all little-endian). */
static unsigned le16(const unsigned char *b) {
  return (unsigned)b[0] | (unsigned)b[1] << 8;
}

const char *vmctr__initfs_elf_arch(const void *data, size_t len) {
  /* e_ident (16 bytes), e_type at 16, e_machine at 18. */
  static const struct {
    unsigned machine;
    const char *name;
  } names[] = {{62, "x86_64"}, {183, "aarch64"}, {243, "riscv64"}, {21, "ppc64"}};
  const unsigned char *b = data;
  unsigned type, machine;
  if (!data || len < 64 || memcmp(b, "\177ELF", 4) != 0 || b[4] != 2 /* ELFCLASS64 */ ||
      b[5] != 1 /* ELFDATA2LSB */)
    return NULL;
  type = le16(b + 16);
  machine = le16(b + 18);
  if (type != 2 /* ET_EXEC */ && type != 3 /* ET_DYN: static-pie */)
    return NULL;
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(names); i++)
    if (names[i].machine == machine)
      return names[i].name;
  return "another machine";
}

int vmctr__initfs_init_for(const char *arch, char **out) {
  vmctr__strbuf sb = {0};
  char var[32], *v = var;
  const char *e;
  *out = NULL;
  if (!arch || (strcmp(arch, "x86_64") != 0 && strcmp(arch, "aarch64") != 0))
    return vmctr__err(VMCTR_EINVAL, 0, "no vmctr-init for guest architecture \"%s\" "
                      "(x86_64 or aarch64)", arch ? arch : "(null)");
  /* VMCTR_GUEST_INIT_ and the name in capitals (both names fit). */
  v += snprintf(var, sizeof(var), "VMCTR_GUEST_INIT_");
  for (const char *c = arch; *c; c++)
    *v++ = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
  *v = '\0';
  e = getenv(var);
  if (!(e && *e) && strcmp(arch, vmctr__caps_host_arch()) == 0) {
    e = getenv("VMCTR_GUEST_INIT");
    if (!(e && *e))
      e = VMCTR_DEFAULT_GUEST_INIT;
  }
  if (e && *e)
    *out = vmctr__strdup(e);
  else {
    vmctr__sb_printf(&sb, "%s/vmctr-init-%s", VMCTR_DEFAULT_GUEST_INIT_DIR, arch);
    *out = vmctr__sb_steal(&sb);
  }
  return *out ? 0 : vmctr__err_nomem();
}

int vmctr__initfs_inputs_load(const vmctr__initfs_params *p, vmctr__initfs_inputs *in) {
  size_t total;
  int r;

  memset(in, 0, sizeof(*in));
  if (!p->init_path || !*p->init_path)
    return vmctr__err(VMCTR_EINVAL, 0, "initfs: no init executable given");
  r = read_regular(p->init_path, VMCTR__INITFS_MAX_FILE, true, &in->init);
  if (r < 0) {
    if (r == VMCTR_ENOENT)
      vmctr__err_prefix("init executable (build vmctr-init, or pass its path)");
    goto fail;
  }
  if (p->arch) {
    const char *got = vmctr__initfs_elf_arch(in->init.data, in->init.len);
    if (!got || strcmp(got, p->arch) != 0) {
      r = vmctr__err(VMCTR_EINVAL, ENOEXEC,
                     "init executable %s is %s%s, not one for the %s guest (a static "
                     "vmctr-init built for %s: see doc/initfs.md)", p->init_path,
                     got ? "an ELF executable for " : "not a 64-bit ELF executable",
                     got ? got : "", p->arch, p->arch);
      goto fail;
    }
  }
  total = in->init.len;
  if (p->modules_dir) {
    r = load_modules(p->modules_dir, in, &total);
    if (r < 0)
      goto fail;
  }
  return 0;
fail:
  vmctr__initfs_inputs_free(in);
  return r;
}

void vmctr__initfs_inputs_free(vmctr__initfs_inputs *in) {
  free(in->init.data);
  for (size_t i = 0; i < in->n_mods; i++) {
    free(in->mods[i].name);
    free(in->mods[i].data);
  }
  free(in->mods);
  memset(in, 0, sizeof(*in));
}
