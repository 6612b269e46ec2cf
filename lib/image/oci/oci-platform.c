/* SPDX-License-Identifier: MIT */
/* Which image of a multi-platform source runs in our guest: one rule for
 * index entries, image configs and docker-archive configs (doc/oci.md). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "image/oci/oci-priv.h"

const char *vmctr__oci_host_arch(void) {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

/* Can the host CPU run code built for x86-64 microarchitecture level (2..4)?
 * The guest sees the host's CPU, so the host decides. */
static bool host_has_amd64_level(int level) {
#if defined(__x86_64__) && \
    ((defined(__clang__) && __clang_major__ >= 16) || (!defined(__clang__) && __GNUC__ >= 12))
  __builtin_cpu_init();
  switch (level) {
  case 2:
    return __builtin_cpu_supports("x86-64-v2");
  case 3:
    return __builtin_cpu_supports("x86-64-v3");
  case 4:
    return __builtin_cpu_supports("x86-64-v4");
  }
  return false;
#else
  (void)level;
  return false; /* cannot tell: refuse rather than risk SIGILL in the guest */
#endif
}

/* amd64 variants are the x86-64 psABI levels v1..v4. */
static bool amd64_variant_ok(const char *want, const char *v) {
  int level;
  if (v[0] != 'v' || v[1] < '1' || v[1] > '4' || v[2] != '\0')
    return false;
  level = v[1] - '0';
  /* An image for another machine's guest (want is not the host) is judged by
   * the names alone; for this host, its CPU must have the level. */
  return level == 1 || strcmp(want, vmctr__oci_host_arch()) != 0 || host_has_amd64_level(level);
}

bool vmctr__oci_platform_match(const char *want, const char *os, const char *arch,
                               const char *variant) {
  if (!want || !os || !arch || strcmp(os, "linux") != 0 || strcmp(arch, want) != 0)
    return false;
  if (!variant || !*variant)
    return true;
  if (strcmp(arch, "arm64") == 0)
    return strcmp(variant, "v8") == 0; /* v8.x/v9 need CPU features we do not check */
  if (strcmp(arch, "amd64") == 0)
    return amd64_variant_ok(want, variant);
  return false;
}

void vmctr__oci_platform_seen(vmctr__strbuf *seen, const char *os, const char *arch,
                              const char *variant) {
  bool v = variant && *variant;
  vmctr__sb_printf(seen, "%s%s/%s%s%s", seen->len ? ", " : "", os ? os : "?", arch ? arch : "?",
                   v ? "/" : "", v ? variant : "");
}

int vmctr__oci_platform_none(const char *src, const char *want, vmctr__strbuf *seen) {
  char *list = vmctr__sb_steal(seen);
  int r = vmctr__err(VMCTR_ENOENT, 0, "%s has no image for linux/%s; platforms present: %s "
                     "(choose one with the architecture option)", src, want,
                     list ? list : "none");
  free(list);
  return r;
}
