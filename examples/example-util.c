/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "example-util.h"

static void log_to_stderr(int32_t level, const char *domain, const char *message, void *userdata) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  (void)userdata;
  fprintf(stderr, "libvmctr %s [%s] %s\n", level >= 0 && level < 4 ? names[level] : "?", domain, message);
}

void example_log_from_env(void) {
#ifdef EXAMPLE_BUILD_INIT
  /* Uninstalled: this build's vmctr-init, unless the caller chose one. */
  const char *i = getenv("VMCTR_GUEST_INIT");
  if ((!i || !*i) && access(EXAMPLE_BUILD_INIT, X_OK) == 0)
    setenv("VMCTR_GUEST_INIT", EXAMPLE_BUILD_INIT, 0);
#endif
#ifdef EXAMPLE_BUILD_INIT_AARCH64
  /* And the aarch64 guest's, when the build was given one. */
  const char *a = getenv("VMCTR_GUEST_INIT_AARCH64");
  if ((!a || !*a) && access(EXAMPLE_BUILD_INIT_AARCH64, X_OK) == 0)
    setenv("VMCTR_GUEST_INIT_AARCH64", EXAMPLE_BUILD_INIT_AARCH64, 0);
#endif
  const char *d = getenv("VMCTR_DEBUG");
  if (d && *d && strcmp(d, "0") != 0)
    vmctr_log_set_handler(strcmp(d, "1") == 0 ? VMCTR_LOG_INFO : VMCTR_LOG_DEBUG, log_to_stderr, NULL, NULL);
}

const char *example_default_kernel(void) {
  const char *k = getenv("VMCTR_KERNEL");
  if (k && *k)
    return k;
#ifdef EXAMPLE_BUILD_KERNEL
  if (access(EXAMPLE_BUILD_KERNEL, R_OK) == 0)
    return EXAMPLE_BUILD_KERNEL;
#endif
  return NULL;
}

static const char *host_arch(void) {
#if defined(__aarch64__)
  return "aarch64";
#else
  return "x86_64";
#endif
}

const char *example_default_kernel_for(const char *arch) {
  if (!arch || strcmp(arch, host_arch()) == 0)
    return example_default_kernel();
  if (strcmp(arch, "aarch64") != 0)
    return NULL;
  const char *k = getenv("VMCTR_KERNEL_AARCH64");
  if (k && *k)
    return k;
#ifdef EXAMPLE_BUILD_KERNEL_ARM64
  if (access(EXAMPLE_BUILD_KERNEL_ARM64, R_OK) == 0)
    return EXAMPLE_BUILD_KERNEL_ARM64;
#endif
  return NULL;
}

const char *example_oci_arch(const char *arch) {
  if (!arch)
    arch = host_arch();
  return strcmp(arch, "aarch64") == 0 ? "arm64" : "amd64";
}

char *example_store_dir(const char *explicit_dir) {
  const char *e = explicit_dir ? explicit_dir : getenv("VMCTR_STORE");
  char *out = NULL;
  if (e && *e)
    return strdup(e);
  if (geteuid() == 0)
    return strdup("/var/lib/libvmctr");
  const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
  if (xdg && *xdg) {
    if (asprintf(&out, "%s/libvmctr", xdg) < 0)
      return NULL;
  } else if (asprintf(&out, "%s/.local/share/libvmctr", home ? home : "/tmp") < 0) {
    return NULL;
  }
  return out;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int example_progress_fn(const vmctr_progress *p, void *userdata) {
  struct example_progress *ep = userdata;
  if (ep->quiet)
    return 0;
  uint64_t t = now_ns();
  bool last = p->bytes_total && p->bytes_done >= p->bytes_total;
  if (!last && ep->shown && t - ep->last_ns < 100000000u)
    return 0;
  ep->last_ns = t;
  static const char *phases[] = {"", "verifying", "unpacking", "copying", "building disk"};
  const char *phase = p->phase < 5 ? phases[p->phase] : "working";
  bool tty = isatty(STDERR_FILENO);
  if (!tty && !last && ep->shown)
    return 0; /* a log, not a terminal: start and end lines only */
  fprintf(stderr, "%s%s %s: layer %u/%u, %.1f/%.1f MB", tty ? "\r\033[K" : "", ep->what ? ep->what : "",
          phase, p->item_index + 1, p->item_count ? p->item_count : 1, p->bytes_done / 1e6,
          p->bytes_total / 1e6);
  if (!tty)
    fputc('\n', stderr);
  ep->shown = true;
  return 0;
}

void example_progress_end(struct example_progress *p) {
  if (p->shown && isatty(STDERR_FILENO))
    fputc('\n', stderr);
  p->shown = false;
}
