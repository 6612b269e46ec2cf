/* SPDX-License-Identifier: MIT */
/* vmctr_vmm_start(): resolve the configuration (accelerator, initfs,
 * command line, runtime dir), boot through the backend and connect to the
 * guest agent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bootcfg/bootcfg-internal.h"
#include "config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "initfs/initfs.h"
#include "vmctr/caps.h"
#include "vmm/rundir.h"
#include "vmm/vmm-internal.h"

/* A boot-config free key whose value is appended to the hypervisor's
 * arguments, split at blanks (e.g. "-d guest_errors"). For experiments. */
#define EXTRA_ARGS_KEY "qemu.args"
#define BOOT_LOG_TAIL 512

static int resolve_accel(vmctr_vmm *vmm, const vmctr_caps *caps) {
  const char *why = NULL;
  int32_t best = vmctr_caps_accelerator(caps, &why);
  switch (vmm->accel_req) {
  case VMCTR_VMM_ACCEL_TCG:
    vmm->accel = VMCTR_ACCEL_TCG;
    return 0;
  case VMCTR_VMM_ACCEL_KVM:
    if (best != VMCTR_ACCEL_KVM)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0, "KVM was requested but does not work here: %s",
                        why);
    vmm->accel = VMCTR_ACCEL_KVM;
    return 0;
  default:
    if (best != VMCTR_ACCEL_KVM && best != VMCTR_ACCEL_TCG)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0, "no accelerator can run a VM here: %s", why);
    vmm->accel = best;
    if (best == VMCTR_ACCEL_TCG)
      vmctr__log(VMCTR_LOG_INFO, "vmm", "using TCG software emulation: %s", why);
    return 0;
  }
}

static char *cache_dir(void) {
  const char *c = getenv("VMCTR_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
  char *p = NULL;
  int r;
  if (c && *c)
    r = asprintf(&p, "%s", c);
  else if (x && x[0] == '/')
    r = asprintf(&p, "%s/libvmctr", x);
  else if (geteuid() == 0)
    r = asprintf(&p, "/var/cache/libvmctr");
  else if (h && h[0] == '/')
    r = asprintf(&p, "%s/.cache/libvmctr", h);
  else
    r = asprintf(&p, "/tmp/libvmctr-cache-%u", (unsigned)geteuid());
  if (r < 0) {
    vmctr__err_nomem();
    return NULL;
  }
  return p;
}

/* Free keys for stock kernels (Debian's cloud kernel): "modules" names a
 * directory of virtio modules with a load-order file (kernel/fetch-debian-
 * kernel.sh writes one) that goes into the built initfs; "acpi" ("on",
 * "off") says whether devices are described in ACPI tables, which such
 * kernels need (they lack virtio-mmio command-line devices). ACPI defaults
 * to on exactly when modules are given. */
static bool has_key(const vmctr_vmm *vmm, const char *key) {
  for (size_t i = 0; i < vmm->cfg->nextras; i++)
    if (strcmp(vmm->cfg->extras[i].key, key) == 0)
      return true;
  return false; /* asked this way, an absent key records no error */
}

static int stock_kernel_keys(vmctr_vmm *vmm, vmctr__vm_spec *spec) {
  char *v = NULL;
  int r;
  free(vmm->modules_dir);
  vmm->modules_dir = NULL;
  if (has_key(vmm, "modules")) {
    if ((r = vmctr_bootcfg_get(vmm->cfg, "modules", &vmm->modules_dir)) < 0)
      return r;
    spec->firmware_tables = true;
  }
  if (has_key(vmm, "acpi")) {
    if ((r = vmctr_bootcfg_get(vmm->cfg, "acpi", &v)) < 0)
      return r;
    bool on = strcmp(v, "on") == 0, off = strcmp(v, "off") == 0;
    free(v);
    if (!on && !off)
      return vmctr__err(VMCTR_EINVAL, 0, "boot config key \"acpi\" must be \"on\" or \"off\"");
    spec->firmware_tables = on;
  }
  return 0;
}

/* The boot config's initfs, or one built around vmctr-init. */
static int resolve_initfs(vmctr_vmm *vmm) {
  const char *given = vmctr_bootcfg_initfs(vmm->cfg), *init = getenv("VMCTR_GUEST_INIT");
  vmctr__initfs_params p = {0};
  char *dir;
  int r;
  if (given)
    return (vmm->initfs = vmctr__strdup(given)) ? 0 : VMCTR_ENOMEM;
  p.init_path = init && *init ? init : VMCTR_DEFAULT_GUEST_INIT;
  p.modules_dir = vmm->modules_dir;
  if (access(p.init_path, X_OK) < 0)
    return vmctr__err(VMCTR_ENOENT, errno,
                      "the boot config has no initfs and vmctr-init was not found at %s; set one "
                      "with vmctr_bootcfg_set_initfs() or point VMCTR_GUEST_INIT at vmctr-init",
                      p.init_path);
  if (!(dir = cache_dir()))
    return VMCTR_ENOMEM;
  p.cache_dir = dir;
  r = vmctr__initfs_get(&p, &vmm->initfs);
  free(dir);
  return r;
}

static const char *host_arch(void) {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

/* Without arguments the kernel gets what the tailored kernel needs: the
 * console on the first serial port, reboot by triple fault (no ACPI), and
 * a panic that ends the VM at once (-no-reboot) instead of hanging. */
/* The host's TSC rate in kHz, from /proc/cpuinfo; 0 when unknown. Under TCG
 * the guest's TSC runs at the host's, and telling the kernel spares it the
 * calibration against the PIT, which TCG's timing jitter sometimes fails
 * ("Unable to calibrate against PIT"), after which a stock kernel can hang. */
static unsigned long host_tsc_khz(void) {
  char *text = NULL;
  size_t len;
  unsigned long khz = 0;
  if (vmctr__read_file("/proc/cpuinfo", 4u << 20, &text, &len) < 0)
    return 0;
  const char *p = strstr(text, "\ncpu MHz");
  double mhz;
  if (p && (p = strchr(p, ':')) && sscanf(p + 1, "%lf", &mhz) == 1 && mhz > 100 && mhz < 100000)
    khz = (unsigned long)(mhz * 1000.0);
  free(text);
  return khz;
}

static char *kernel_cmdline(const vmctr_vmm *vmm, const char *arch) {
  char *s = NULL;
  if (vmctr_bootcfg_cmdline_count(vmm->cfg) > 0) {
    if (vmctr_bootcfg_cmdline_string(vmm->cfg, &s) < 0)
      return NULL;
    return s;
  }
  char tsc[48] = "";
  unsigned long khz;
  if (strcmp(arch, "x86_64") == 0 && vmm->accel == VMCTR_ACCEL_TCG && (khz = host_tsc_khz()))
    snprintf(tsc, sizeof(tsc), " tsc_early_khz=%lu", khz);
  /* quiet: printing to an emulated UART is slow under TCG; errors still show. */
  if (asprintf(&s, "console=%s reboot=t panic=-1 quiet no_timer_check%s",
               strcmp(arch, "aarch64") == 0 ? "ttyAMA0" : "ttyS0", tsc) < 0) {
    vmctr__err_nomem();
    return NULL;
  }
  return s;
}

static int extra_args(const vmctr_vmm *vmm, char ***out) {
  char *v = NULL, **args = NULL;
  size_t n = 0;
  int r;
  bool set = false;
  *out = NULL;
  for (size_t i = 0; i < vmm->cfg->nextras; i++)
    set |= strcmp(vmm->cfg->extras[i].key, EXTRA_ARGS_KEY) == 0;
  if (!set) /* asked this way, an absent key records no error */
    return 0;
  if ((r = vmctr_bootcfg_get(vmm->cfg, EXTRA_ARGS_KEY, &v)) < 0)
    return r;
  r = vmctr__bootcfg_split_cmdline(v, &args, &n);
  free(v);
  if (r < 0)
    return vmctr__err_prefix("boot config key \"" EXTRA_ARGS_KEY "\"");
  char **nv = realloc(args, (n + 1) * sizeof(*nv));
  if (!nv) {
    for (size_t i = 0; i < n; i++)
      free(args[i]);
    free(args);
    return vmctr__err_nomem();
  }
  nv[n] = NULL;
  *out = nv;
  return 0;
}

/* The last bytes of the boot log, for an error message. */
static char *log_tail(const char *path) {
  char *buf = calloc(1, BOOT_LOG_TAIL + 1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (!buf || fd < 0) {
    if (fd >= 0)
      close(fd);
    free(buf);
    return NULL;
  }
  off_t end = lseek(fd, 0, SEEK_END);
  ssize_t n = pread(fd, buf, BOOT_LOG_TAIL, end > BOOT_LOG_TAIL ? end - BOOT_LOG_TAIL : 0);
  close(fd);
  for (ssize_t i = 0; i < n; i++)
    if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
      buf[i] = ' ';
  buf[n > 0 ? n : 0] = 0;
  return buf;
}

static int connect_agent(vmctr_vmm *vmm) {
  int fd = dup(vmm->ops->agent_fd(vmm->ctx)), r;
  if (fd < 0)
    return vmctr__err_os(errno, "dup of the agent channel");
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  r = vmctr__agent_connect(&vmm->agent, fd, (int)vmm->agent_timeout_ms);
  if (r < 0) {
    int st;
    char *tail = log_tail(vmm->boot_log);
    struct pollfd p = {.fd = vmm->ops->exit_fd(vmm->ctx), .events = POLLIN};
    if (r != VMCTR_ETIMEDOUT)
      (void)poll(&p, 1, 1000); /* the channel closes just before QEMU exits */
    if (vmm->ops->poll(vmm->ctx, &st) == 1)
      r = vmctr__err(VMCTR_EIO, 0, "the VM ended (status %d) before its agent connected; "
                     "boot log %s ends: %s", st, vmm->boot_log, tail ? tail : "");
    else if (r == VMCTR_ETIMEDOUT)
      r = vmctr__err(VMCTR_ETIMEDOUT, 0, "the guest agent did not connect within %u ms; "
                     "boot log %s ends: %s", vmm->agent_timeout_ms, vmm->boot_log,
                     tail ? tail : "");
    else
      vmctr__err_prefix("guest agent");
    free(tail);
  }
  return r;
}

int vmctr__vmm_boot(vmctr_vmm *vmm) {
  vmctr_caps *caps = NULL;
  vmctr__vm_spec spec = {0};
  char *cmdline = NULL, **extra = NULL, *parent = NULL;
  int r;

  if ((r = vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK)) < 0)
    return r;
  /* Everything that can be checked is checked before anything runs. */
  if ((r = vmctr_bootcfg_validate(vmm->cfg, caps)) < 0 || (r = resolve_accel(vmm, caps)) < 0)
    goto out;
  spec.binary = vmctr_caps_qemu_path(caps);
  if (!spec.binary) {
    const char *why = NULL;
    vmctr_caps_has(caps, VMCTR_CAP_BACKEND_QEMU, &why);
    r = vmctr__err(VMCTR_ENOENT, 0, "cannot boot: %s", why ? why : "no qemu found");
    goto out;
  }
  if ((r = stock_kernel_keys(vmm, &spec)) < 0 || (r = resolve_initfs(vmm)) < 0 ||
      (r = extra_args(vmm, &extra)) < 0)
    goto out;
  spec.arch = host_arch();
  if (!(cmdline = kernel_cmdline(vmm, spec.arch))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if (!(parent = vmm->rt_parent ? vmctr__strdup(vmm->rt_parent) : vmctr__rundir_default_parent())) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if ((r = vmctr__rundir_create(parent, &vmm->rundir, &vmm->rundir_lock)) < 0)
    goto out;
  if (vmm->boot_log_user)
    vmm->boot_log = vmctr__strdup(vmm->boot_log_user);
  else if (asprintf(&vmm->boot_log, "%s/boot.log", vmm->rundir) < 0)
    vmm->boot_log = NULL;
  if (!vmm->boot_log) {
    r = vmctr__err_nomem();
    goto out;
  }

  spec.kernel = vmctr_bootcfg_kernel(vmm->cfg);
  spec.initfs = vmm->initfs;
  spec.cmdline = cmdline;
  spec.cpus = vmctr_bootcfg_cpus(vmm->cfg);
  spec.memory = vmctr_bootcfg_memory(vmm->cfg);
  spec.accel = vmm->accel;
  spec.runtime_dir = vmm->rundir;
  spec.boot_log = vmm->boot_log;
  spec.extra_args = extra;
  spec.mounts = (const struct vmctr_mount *const *)vmm->mounts;
  spec.nmounts = vmm->nmounts;
  spec.virtiofsd = vmctr_caps_virtiofsd_path(caps);
  if ((r = vmm->ops->create(&vmm->ctx, &spec)) < 0)
    goto out;
  if ((r = vmm->ops->start(vmm->ctx, 10000)) < 0)
    goto out;
  struct epoll_event ev = {.events = EPOLLIN};
  if (epoll_ctl(vmm->epfd, EPOLL_CTL_ADD, vmm->ops->exit_fd(vmm->ctx), &ev) < 0) {
    r = vmctr__err_os(errno, "epoll_ctl");
    goto out;
  }
  vmm->state = VMCTR_VMM_STATE_RUNNING; /* collect() may now notice an exit */
  if ((r = connect_agent(vmm)) < 0)
    goto out;
  vmctr__log(VMCTR_LOG_INFO, "vmm", "VM %s running (pid %d, %s), agent: %s", vmm->rundir,
             (int)vmm->ops->pid(vmm->ctx), vmctr_accelerator_name(vmm->accel),
             vmctr__agent_info(vmm->agent));
out:
  if (r < 0)
    vmm->state = VMCTR_VMM_STATE_NEW; /* the caller turns it to FAILED */
  vmctr_caps_free(caps);
  free(cmdline);
  free(parent);
  vmctr__strv_free(extra);
  return r;
}
