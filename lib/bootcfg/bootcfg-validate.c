/* SPDX-License-Identifier: MIT */
/* Checking a boot config against a host before anything is started, so the
 * user hears "memory: 96 GiB is more than this host allows" instead of a
 * hypervisor failing half-way through a boot. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootcfg/bootcfg-priv.h"
#include "core/error.h"

#define MIB UINT64_C(1048576)

/* The path must exist and be a regular file (or a directory, if want_dir);
 * `hint` says what to do when it is of the wrong kind. A file must be
 * readable by this process: the VMM opens it with our credentials. */
static int check_path(const char *key, const char *path, bool want_dir, const char *hint) {
  struct stat st;
  int fd;

  if (stat(path, &st) < 0) {
    int e = errno;
    struct stat lst;
    if (e == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
      return vmctr__err(VMCTR_ENOENT, e,
                        "%s: %s is a symbolic link to a %s that does not exist; fix the link "
                        "or set \"%s\" to the real one",
                        key, path, want_dir ? "directory" : "file", key);
    if (e == ENOENT)
      return vmctr__err(VMCTR_ENOENT, e,
                        "%s: %s does not exist; check the path or set \"%s\" to an existing %s",
                        key, path, key, want_dir ? "directory" : "file");
    if (e == EACCES)
      return vmctr__err(VMCTR_EPERM, e,
                        "%s: %s cannot be reached by this process (permission denied); fix the "
                        "permissions of its directories",
                        key, path);
    return vmctr__err_os(e, "%s: %s", key, path);
  }
  if (want_dir && !S_ISDIR(st.st_mode))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: %s is not a directory; %s", key, path, hint);
  if (!want_dir && !S_ISREG(st.st_mode))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: %s is %s, not a regular file; %s", key, path,
                      S_ISDIR(st.st_mode) ? "a directory" : "a special file", hint);
  if (want_dir)
    return 0; /* what is read inside it is checked on its own */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    if (e == EACCES || e == EPERM)
      return vmctr__err(VMCTR_EPERM, e,
                        "%s: %s cannot be read by this process (permission denied); make it "
                        "readable (chmod a+r) or run as a user who can read it",
                        key, path);
    return vmctr__err_os(e, "%s: %s cannot be opened", key, path);
  }
  close(fd);
  return 0;
}

static int check_file(const char *key, const char *path) {
  return check_path(key, path, false,
                    key[0] == 'k' ? "set \"kernel\" to the kernel image file"
                                  : "set \"initfs\" to the initial filesystem (cpio) file");
}

/* The initfs builder reads the load-order file and the modules it names;
 * the names themselves are checked when it packs them. */
static int check_modules(const char *dir) {
  static const char hint[] =
      "set \"modules\" to a directory of kernel modules with a load-order file "
      "(kernel/fetch-debian-kernel.sh writes one)";
  char *order = NULL;
  struct stat st;
  int r;
  if ((r = check_path("modules", dir, true, hint)) < 0)
    return r;
  if (asprintf(&order, "%s/load-order", dir) < 0)
    return vmctr__err_nomem();
  if (lstat(order, &st) < 0 && errno == ENOENT)
    r = vmctr__err(VMCTR_ENOENT, errno, "modules: %s has no load-order file; %s", dir, hint);
  else
    r = check_path("modules", order, false, hint);
  free(order);
  return r;
}

static int check_resources(const vmctr_bootcfg *cfg, const vmctr_caps *caps) {
  uint32_t max_cpus = vmctr_caps_max_vcpus(caps);
  uint64_t max_mem = vmctr_caps_max_memory(caps);

  if (cfg->cpus == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "cpus: 0 vCPUs cannot boot; set \"cpus\" to at least 1");
  if (cfg->cpus > max_cpus)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "cpus: %" PRIu32 " vCPUs requested, but this host allows at most %" PRIu32
                      "; lower \"cpus\"",
                      cfg->cpus, max_cpus);
  if (cfg->memory % MIB != 0)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "memory: %" PRIu64 " bytes is not a whole number of MiB; round \"memory\" "
                      "to a multiple of 1 MiB (1048576 bytes)",
                      cfg->memory);
  if (cfg->memory < VMCTR_BOOTCFG_MIN_MEMORY)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "memory: %" PRIu64 " MiB is below the minimum of %llu MiB; raise \"memory\"",
                      cfg->memory / MIB, (unsigned long long)(VMCTR_BOOTCFG_MIN_MEMORY / MIB));
  if (cfg->memory > max_mem)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "memory: %" PRIu64 " MiB requested, but this host allows at most %" PRIu64
                      " MiB; lower \"memory\"",
                      cfg->memory / MIB, max_mem / MIB);
  return 0;
}

static int check_features(const vmctr_bootcfg *cfg, const vmctr_caps *caps) {
  const char *why = NULL;
  int r;

  if (cfg->arch && vmctr_caps_guest_architecture_supported(caps, cfg->arch, &why) != 1)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "architecture: this host cannot boot %s guests (%s); this host boots: %s",
                      cfg->arch, why ? why : "no reason given",
                      *vmctr_caps_guest_architectures(caps) ? vmctr_caps_guest_architectures(caps)
                                                            : "none");

  /* The caps module owns the wording (which hardware and OS would do), so
   * its error goes back unchanged. */
  if (cfg->nested_virt && (r = vmctr_caps_require_nested_virtualization(caps)) < 0)
    return r;
  if (cfg->rosetta) {
    r = vmctr_caps_has(caps, VMCTR_CAP_ROSETTA, &why);
    if (r < 0)
      return r;
    if (r == 0)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "rosetta: Rosetta is not available on this host (%s); set \"rosetta\" "
                        "to false to boot here",
                        why ? why : "no reason given");
  }
  return 0;
}

int vmctr_bootcfg_validate(const vmctr_bootcfg *cfg, const vmctr_caps *caps) {
  vmctr_caps *probed = NULL;
  int r;

  if (!cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_bootcfg_validate: cfg is NULL");
  if (!cfg->kernel)
    return vmctr__err(VMCTR_ENOENT, 0,
                      "kernel: not set; set \"kernel\" to the path of a kernel image");
  if ((r = check_file("kernel", cfg->kernel)) < 0)
    return r;
  if (cfg->initfs && (r = check_file("initfs", cfg->initfs)) < 0)
    return r;
  if (cfg->modules && (r = check_modules(cfg->modules)) < 0)
    return r;
  if (!caps) {
    if ((r = vmctr_caps_probe(&probed, VMCTR_CAPS_PROBE_QUICK)) < 0)
      return r;
    caps = probed;
  }
  if ((r = check_resources(cfg, caps)) < 0)
    goto out;
  r = check_features(cfg, caps);
out:
  vmctr_caps_free(probed);
  return r;
}
