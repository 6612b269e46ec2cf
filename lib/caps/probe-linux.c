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
#include <sys/stat.h>
#include <unistd.h>

#include "caps/caps-priv.h"
#include "caps/kvm-test-priv.h"
#include "caps/probe-linux-priv.h"
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

/* Why PVM cannot serve, whether or not it made a /dev/kvm. */
#define PVM_WHY                                                                               \
  "PVM virtualizes without hardware extensions, and stock guest kernels boot very slowly on " \
  "it and then stop with \"KVM internal error ... emulation failure\""

static bool nested_on(const char *param) {
  return strcmp(param, "Y") == 0 || strcmp(param, "y") == 0 || strcmp(param, "1") == 0;
}

const char *vmctr__linux_nested_verdict(const struct vmctr__linux_kvm *k, bool *supported,
                                        char *buf, size_t size) {
  const char *mod = k->vendor_module;
  *supported = false;
  if (k->pvm)
    snprintf(buf, size,
             "KVM here is PVM (the kvm_pvm module), which does not expose virtualization "
             "extensions to guests%s",
             k->present ? "" : "; besides, there is no /dev/kvm");
  else if (!k->present)
    snprintf(buf, size, "no /dev/kvm, and nested virtualization needs a working KVM");
  else if (!k->usable)
    snprintf(buf, size, "KVM is not usable here, and nested virtualization needs it: %s",
             k->reason);
  else if (!mod)
    snprintf(buf, size, "neither kvm_intel nor kvm_amd is loaded, so whether KVM offers "
                        "nested virtualization is unknown");
  else if (nested_on(k->nested_param)) {
    *supported = true;
    snprintf(buf, size, "%s is loaded with nested=1", mod);
  } else if (k->nested_param[0] == '\0')
    snprintf(buf, size, "%s does not report a nested parameter, so nested virtualization is "
                        "taken to be off", mod);
  else
    snprintf(buf, size, "%s is loaded with nested=%s; reload it with nested=1 (modprobe -r %s && "
                        "modprobe %s nested=1)", mod, k->nested_param, mod, mod);
  return buf;
}

/* Why there is no /dev/kvm, from the modules that are loaded. */
static void why_no_node(struct vmctr__linux_kvm *k, const char *root) {
  if (k->pvm)
    snprintf(k->reason, sizeof(k->reason),
             "no /dev/kvm: the kvm_pvm module (PVM) is loaded, but there is no /dev/kvm device "
             "node; PVM could not run guests here anyway: " PVM_WHY);
  else if (k->vendor_module)
    snprintf(k->reason, sizeof(k->reason),
             "no /dev/kvm: %s is loaded, but there is no /dev/kvm device node (udev creates it; "
             "or mknod /dev/kvm c 10 232)", k->vendor_module);
  else if (path_exists(root, "/sys/module/kvm"))
    snprintf(k->reason, sizeof(k->reason),
             "no /dev/kvm: the kvm module is loaded but neither kvm_intel nor kvm_amd (the CPU "
             "lacks VT-x/AMD-V, or it is disabled in the firmware)");
  else
    snprintf(k->reason, sizeof(k->reason),
             "no /dev/kvm: no KVM module is loaded (load kvm_intel or kvm_amd; on a VM, enable "
             "nested virtualization in its hypervisor)");
}

/* Judge /dev/kvm. Fills k (including a reason) and never fails: a host
 * without KVM is an answer, not an error. Only a /dev/kvm under root is
 * opened, and PVM's is not opened at all (the module decides). */
static void probe_kvm(struct vmctr__linux_kvm *k, uint32_t flags, const char *root,
                      const struct vmctr__kvm_ops *ops) {
  char p[4096], why[256];
  struct stat st;
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
  k->present = stat(p, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
  if (!k->present) {
    why_no_node(k, root);
    return;
  }
  if (k->pvm) {
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm is PVM (the kvm_pvm module): " PVM_WHY);
    return;
  }
  fd = open(p, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(k->reason, sizeof(k->reason), "cannot open /dev/kvm: %s%s", strerror(e),
             e == EACCES || e == EPERM ? " (add this user to the kvm group)" : "");
    return;
  }
  r = ops->api_version(fd);
  if (r < 0) {
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm is not KVM: KVM_GET_API_VERSION failed: %s",
             strerror(-r));
    goto out;
  }
  if (r != KVM_API_VERSION) {
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm answers KVM API version %d, not %d", r,
             KVM_API_VERSION);
    goto out;
  }
  k->max_vcpus = ops->max_vcpus(fd);
  const char *vendor = k->vendor_module ? k->vendor_module : "neither kvm_intel nor kvm_amd";
  if (flags & VMCTR_CAPS_PROBE_QUICK) {
    k->usable = true;
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm answers (%s; test guest skipped)", vendor);
    goto out;
  }
  r = ops->test_guest(fd, why, sizeof(why));
  if (r == -EOPNOTSUPP) {
    k->usable = true;
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm answers (%s; %s)", vendor, why);
  } else if (r < 0) {
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm opens but cannot run a test guest: %s", why);
  } else {
    k->usable = true;
    snprintf(k->reason, sizeof(k->reason), "/dev/kvm ran a test guest (%s)", vendor);
  }
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
  if (!(flags & (VMCTR_CAPS_PROBE_QUICK | VMCTR__CAPS_PROBE_NO_VERSION))) {
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

char *vmctr__find_virtiofsd(void) {
  static const char *const candidates[] = {
    "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/lib/virtiofsd", "virtiofsd",
  };
  char *found = NULL;
  if (VMCTR_DEFAULT_VIRTIOFSD[0])
    return vmctr__find_executable(VMCTR_DEFAULT_VIRTIOFSD);
  for (size_t i = 0; !found && i < VMCTR_ARRAY_SIZE(candidates); i++)
    found = vmctr__find_executable(candidates[i]);
  return found;
}

char *vmctr__find_passt(void) {
  return vmctr__find_executable("passt");
}

static int probe_virtiofsd(struct vmctr_caps *c, const struct vmctr__caps_params *p) {
  const char *named = p->virtiofsd ? p->virtiofsd : VMCTR_DEFAULT_VIRTIOFSD;

  c->virtiofsd_path = p->virtiofsd ? vmctr__find_executable(p->virtiofsd) : vmctr__find_virtiofsd();
  if (c->virtiofsd_path)
    return vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, true, "%s", c->virtiofsd_path);
  if (named[0])
    return vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, false,
                           "%s not found; shared directories are unavailable", named);
  return vmctr__caps_set(c, VMCTR_CAP_VIRTIOFS, false,
                         "no virtiofsd found (install qemu-system-common or virtiofsd on "
                         "Debian); shared directories are unavailable");
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
  char why[768];

  c->os = "linux";
#if defined(__x86_64__)
  c->arch = "x86_64";
#elif defined(__aarch64__)
  c->arch = "aarch64";
#else
  c->arch = "unknown";
#endif
  host_resources(c);

  probe_kvm(&k, flags, p->root, p->kvm ? p->kvm : &vmctr__kvm_real_ops);
  TRY(vmctr__caps_setstr(&c->hypervisor, "%s",
                         !k.present ? "none" : k.pvm ? "kvm-pvm" : "kvm"));
  TRY(vmctr__caps_set(c, VMCTR_CAP_HW_VIRT, k.usable, "%s", k.reason));
  vmctr__linux_nested_verdict(&k, &nested, why, sizeof(why));
  TRY(vmctr__caps_set(c, VMCTR_CAP_NESTED_VIRT, nested, "%s", why));

  TRY(vmctr__caps_set(c, VMCTR_CAP_BACKEND_VZ, false,
                      "Virtualization.framework exists only on macOS"));
  TRY(probe_qemu(c, flags, p));
  TRY(vmctr__caps_probe_guests_qemu(c));
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
