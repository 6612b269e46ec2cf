/* SPDX-License-Identifier: MIT */
/* Capability probe for Linux hosts: KVM (and whether it really works),
 * QEMU, virtiofsd, tun/tap. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps/caps-internal.h"
#include "caps/kvm-test.h"
#include "caps/probe-linux.h"
#include "config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

#define CAP_NET_ADMIN_BIT 12

static void rootpath(char *buf, size_t size, const char *root, const char *path) {
  snprintf(buf, size, "%s%s", root ? root : "", path);
}

static bool path_exists(const char *root, const char *path) {
  char p[4096];
  rootpath(p, sizeof(p), root, path);
  return access(p, F_OK) == 0;
}

const char *vmctr__linux_nested_verdict(const struct vmctr__linux_kvm *k, bool *supported) {
  *supported = false;
  if (k->pvm)
    return "KVM here is PVM (kvm_pvm), which does not expose virtualization extensions to guests";
  if (!k->usable)
    return "KVM is not usable on this host, and nested virtualization needs it";
  if (!k->vendor_module)
    return "neither kvm_intel nor kvm_amd is loaded, so nested support is unknown";
  if (strcmp(k->nested_param, "Y") == 0 || strcmp(k->nested_param, "y") == 0 ||
      strcmp(k->nested_param, "1") == 0) {
    *supported = true;
    return "KVM is loaded with nested=1";
  }
  if (k->nested_param[0] == '\0')
    return "the KVM module does not report a nested parameter";
  return "the KVM module is loaded with nested=0; reload it with nested=1 "
         "(e.g. modprobe -r kvm_intel && modprobe kvm_intel nested=1)";
}

/* Judge /dev/kvm. Fills k (including a reason) and never fails: a host
 * without KVM is an answer, not an error. */
static void probe_kvm(struct vmctr__linux_kvm *k, uint32_t flags, const char *root) {
  char p[4096], why[256];
  int fd, r;

  memset(k, 0, sizeof(*k));
  k->pvm = path_exists(root, "/sys/module/kvm_pvm");
  if (path_exists(root, "/sys/module/kvm_intel"))
    k->vendor_module = "kvm_intel";
  else if (path_exists(root, "/sys/module/kvm_amd"))
    k->vendor_module = "kvm_amd";
  if (k->vendor_module) {
    char np[128];
    snprintf(np, sizeof(np), "/sys/module/%s/parameters/nested", k->vendor_module);
    rootpath(p, sizeof(p), root, np);
    if (vmctr__read_line(p, k->nested_param, sizeof(k->nested_param)) < 0)
      k->nested_param[0] = '\0';
  }

  rootpath(p, sizeof(p), root, "/dev/kvm");
  fd = open(p, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    k->present = errno != ENOENT;
    snprintf(k->reason, sizeof(k->reason),
             errno == ENOENT
                 ? "no /dev/kvm: the host has no hardware virtualization or the kvm module is not "
                   "loaded (on a VM, enable nested virtualization in its hypervisor)"
                 : "cannot open /dev/kvm: %s (add the user to the kvm group)",
             strerror(errno));
    return;
  }
  k->present = true;
  if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm does not answer as KVM API version %d",
             KVM_API_VERSION);
    goto out;
  }
  k->max_vcpus = vmctr__kvm_max_vcpus(fd);
  if (k->pvm) {
    snprintf(k->reason, sizeof(k->reason),
             "/dev/kvm is PVM (the kvm_pvm module), which cannot run stock guest kernels: they "
             "boot very slowly and then stop with \"KVM internal error ... emulation failure\"");
    goto out;
  }
  if (flags & VMCTR_CAPS_PROBE_QUICK) {
    k->usable = true;
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm answers (%s; test guest skipped)",
             k->vendor_module ? k->vendor_module : "unknown vendor module");
    goto out;
  }
  r = vmctr__kvm_test_guest(fd, why, sizeof(why));
  if (r == -EOPNOTSUPP) {
    k->usable = true;
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm answers (%s)", why);
    goto out;
  }
  if (r < 0) {
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm opens but cannot run a test guest: %s", why);
    goto out;
  }
  k->usable = true;
  snprintf(k->reason, sizeof(k->reason), "/dev/kvm ran a test guest (%s)",
           k->vendor_module ? k->vendor_module : "unknown vendor module");
out:
  close(fd);
}

static char *parse_qemu_version(const char *out) {
  const char *v = strstr(out, "version ");
  size_t n;
  if (!v)
    return NULL;
  v += strlen("version ");
  n = strspn(v, "0123456789.");
  if (n == 0)
    return NULL;
  return strndup(v, n);
}

static int probe_qemu(struct vmctr_caps *c, uint32_t flags, const struct vmctr__caps_params *p) {
  const char *name = p->qemu ? p->qemu : VMCTR_DEFAULT_QEMU;
  char *out = NULL;
  int status = 0;

  if (!c->compiled_qemu)
    return vmctr__caps_set(c, VMCTR_CAP_BACKEND_QEMU, false,
                           "not built into this libvmctr (configured with -Dqemu=disabled)");
  c->qemu_path = vmctr__find_executable(name);
  if (!c->qemu_path)
    return vmctr__caps_set(c, VMCTR_CAP_BACKEND_QEMU, false,
                           "%s not found (install qemu-system-x86 on Debian, or configure "
                           "libvmctr with -Dqemu_binary=PATH)",
                           name);
  if (!(flags & VMCTR_CAPS_PROBE_QUICK)) {
    char *argv[] = {c->qemu_path, (char *)"--version", NULL};
    if (vmctr__run_capture(argv, 5000, 4096, &out, &status) < 0 || status != 0) {
      const char *msg = out ? "exited with an error" : vmctr_error_last()->message;
      int r = vmctr__caps_set(c, VMCTR_CAP_BACKEND_QEMU, false, "%s --version failed: %s",
                              c->qemu_path, msg);
      free(out);
      return r;
    }
    c->qemu_version = parse_qemu_version(out);
    free(out);
  }
  return vmctr__caps_set(c, VMCTR_CAP_BACKEND_QEMU, true, "%s%s%s", c->qemu_path,
                         c->qemu_version ? " " : "", c->qemu_version ? c->qemu_version : "");
}

static int probe_virtiofsd(struct vmctr_caps *c, const struct vmctr__caps_params *p) {
  static const char *const candidates[] = {
    "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/lib/virtiofsd", "virtiofsd",
  };
  const char *configured = p->virtiofsd ? p->virtiofsd : VMCTR_DEFAULT_VIRTIOFSD;

  if (configured[0]) {
    c->virtiofsd_path = vmctr__find_executable(configured);
    if (!c->virtiofsd_path)
      return vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, false, "%s not found", configured);
  } else {
    for (size_t i = 0; !c->virtiofsd_path && i < VMCTR_ARRAY_SIZE(candidates); i++)
      c->virtiofsd_path = vmctr__find_executable(candidates[i]);
    if (!c->virtiofsd_path)
      return vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, false,
                             "no virtiofsd found (install qemu-system-common or virtiofsd on "
                             "Debian); shared directories are unavailable");
  }
  return vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, true, "%s", c->virtiofsd_path);
}

/* Effective CAP_NET_ADMIN from /proc/self/status: creating taps and bridges needs it. */
static bool has_net_admin(const char *root) {
  char p[4096], line[256];
  bool r = false;
  FILE *f;
  rootpath(p, sizeof(p), root, "/proc/self/status");
  f = fopen(p, "re");
  if (!f)
    return false;
  while (fgets(line, sizeof(line), f)) {
    unsigned long long eff;
    if (sscanf(line, "CapEff: %llx", &eff) == 1) {
      r = (eff >> CAP_NET_ADMIN_BIT) & 1;
      break;
    }
  }
  fclose(f);
  return r;
}

static int probe_net(struct vmctr_caps *c, const char *root) {
  char p[4096];
  int fd;
  bool tun;
  rootpath(p, sizeof(p), root, "/dev/net/tun");
  fd = open(p, O_RDWR | O_CLOEXEC);
  tun = fd >= 0;
  if (tun) {
    close(fd);
    TRY(vmctr__caps_set(c, VMCTR_CAP_TUN, true, "/dev/net/tun opens"));
  } else {
    TRY(vmctr__caps_set(c, VMCTR_CAP_TUN, false, "cannot open /dev/net/tun: %s%s",
                        strerror(errno), errno == ENOENT ? " (load the tun module)" : ""));
  }
  if (!tun)
    return vmctr__caps_set(c, VMCTR_CAP_TAP, false, "tap devices need /dev/net/tun");
  if (!has_net_admin(root))
    return vmctr__caps_set(c, VMCTR_CAP_TAP, false,
                           "this process lacks CAP_NET_ADMIN, which creating tap devices and "
                           "bridges needs (run as root or grant the capability); user-mode "
                           "networking still works");
  return vmctr__caps_set(c, VMCTR_CAP_TAP, true, "/dev/net/tun and CAP_NET_ADMIN");
}

static void host_resources(struct vmctr_caps *c) {
  cpu_set_t set;
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  /* The CPUs this process may run on, which a container runtime may restrict. */
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
    c->host_cpus = (uint32_t)CPU_COUNT(&set);
  else
    c->host_cpus = online > 0 ? (uint32_t)online : 1;
  c->host_memory = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
}

int vmctr__caps_probe_platform(struct vmctr_caps *c, uint32_t flags,
                               const struct vmctr__caps_params *p) {
  struct vmctr__linux_kvm k;
  bool nested;
  const char *why;

  c->os = "linux";
#if defined(__x86_64__)
  c->arch = "x86_64";
#elif defined(__aarch64__)
  c->arch = "aarch64";
#else
  c->arch = "unknown";
#endif
  host_resources(c);

  probe_kvm(&k, flags, p->root);
  TRY(vmctr__caps_setstr(&c->hypervisor, "%s", k.pvm ? "kvm-pvm" : k.present ? "kvm" : "none"));
  TRY(vmctr__caps_set(c, VMCTR_CAP_HW_VIRT, k.usable, "%s", k.reason));
  why = vmctr__linux_nested_verdict(&k, &nested);
  TRY(vmctr__caps_set(c, VMCTR_CAP_NESTED_VIRT, nested, "%s", why));

  TRY(vmctr__caps_set(c, VMCTR_CAP_BACKEND_VZ, false,
                      "Virtualization.framework exists only on macOS"));
  TRY(probe_qemu(c, flags, p));
  TRY(probe_virtiofsd(c, p));
  TRY(probe_net(c, p->root));
  TRY(vmctr__caps_set(c, VMCTR_CAP_ROSETTA, false,
                      "Rosetta is available only to Linux guests on macOS with Apple silicon"));

  if (c->cap[VMCTR_CAP_BACKEND_QEMU].present) {
    c->backend = VMCTR_BACKEND_QEMU;
    if (k.usable) {
      c->accel = VMCTR_ACCEL_KVM;
      TRY(vmctr__caps_setstr(&c->accel_reason, "KVM: %s", k.reason));
    } else {
      c->accel = VMCTR_ACCEL_TCG;
      TRY(vmctr__caps_setstr(&c->accel_reason,
                             "KVM unusable (%s); falling back to TCG software emulation", k.reason));
      vmctr__log(VMCTR_LOG_WARN, "caps", "%s", c->accel_reason);
    }
  } else {
    c->backend = VMCTR_BACKEND_NONE;
    c->accel = VMCTR_ACCEL_NONE;
    TRY(vmctr__caps_setstr(&c->accel_reason, "no VM can run: the qemu backend is unusable (%s)",
                           c->cap[VMCTR_CAP_BACKEND_QEMU].reason));
  }

  /* TCG can emulate more vCPUs than the host has, but gains nothing from it;
   * KVM also has its own ceiling. */
  c->max_vcpus = c->host_cpus;
  if (c->accel == VMCTR_ACCEL_KVM && k.max_vcpus && k.max_vcpus < c->max_vcpus)
    c->max_vcpus = k.max_vcpus;
  c->max_memory = c->host_memory & ~((uint64_t)(1 << 20) - 1);
  return 0;
}
