/* SPDX-License-Identifier: MIT */
/* vmctr_vmm_start(): resolve the configuration (accelerator, initfs,
 * kernel arguments, devices, runtime dir) into one VM spec, boot it through
 * the backend and connect to the guest agent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps/caps.h"
#include "config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strv.h"
#include "core/util.h"
#include "image/store/writable-priv.h"
#include "initfs/initfs.h"
#include "mount/mount.h"
#include "vmm/rundir-priv.h"
#include "vmm/vmm-priv.h"

#define BOOT_LOG_TAIL 512
/* The guest agent's port (vmctr-init looks for both). */
#define AGENT_NAME "vmctr.agent"
#define AGENT_VSOCK_PORT 1024u

/* The guest architecture: the boot config's, else the host's. */
static const char *guest_arch(const vmctr_vmm *vmm) {
  const char *a = vmctr_bootcfg_architecture(vmm->cfg);
  return a ? a : vmctr__caps_host_arch();
}

static int resolve_accel(vmctr_vmm *vmm, const vmctr_caps *caps) {
  const char *why = NULL;
  int32_t best = vmctr_caps_accelerator(caps, &why);
  /* A guest of another architecture is emulated: only TCG runs it. */
  if (strcmp(guest_arch(vmm), vmctr__caps_host_arch()) != 0) {
    if (vmm->accel_req != VMCTR_ACCEL_AUTO && vmm->accel_req != VMCTR_ACCEL_TCG)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "%s was requested, but an %s guest on this %s host runs only under "
                        "TCG emulation; ask for TCG or the default",
                        vmctr_accelerator_name(vmm->accel_req), guest_arch(vmm),
                        vmctr__caps_host_arch());
    if (best == VMCTR_ACCEL_NONE)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0, "no accelerator can run a VM here: %s", why);
    vmm->accel = VMCTR_ACCEL_TCG;
    vmctr__log(VMCTR_LOG_INFO, "vmm", "an %s guest: emulated with TCG", guest_arch(vmm));
    return 0;
  }
  switch (vmm->accel_req) {
  case VMCTR_ACCEL_TCG:
    vmm->accel = VMCTR_ACCEL_TCG;
    return 0;
  case VMCTR_ACCEL_KVM:
    if (best != VMCTR_ACCEL_KVM)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0, "KVM was requested but does not work here: %s",
                        why);
    vmm->accel = VMCTR_ACCEL_KVM;
    return 0;
  case VMCTR_ACCEL_HVF:
    if (best != VMCTR_ACCEL_HVF)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "Apple's hypervisor was requested but does not work here: %s", why);
    vmm->accel = VMCTR_ACCEL_HVF;
    return 0;
  default:
    if (best == VMCTR_ACCEL_NONE)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0, "no accelerator can run a VM here: %s", why);
    vmm->accel = best;
    if (best == VMCTR_ACCEL_TCG)
      vmctr__log(VMCTR_LOG_INFO, "vmm", "using software emulation: %s", why);
    return 0;
  }
}


/* The boot config's initfs, or one built around the vmctr-init of the
 * guest's architecture (with the boot config's kernel modules, for a stock
 * kernel). */
static int resolve_initfs(vmctr_vmm *vmm) {
  const char *given = vmctr_bootcfg_initfs(vmm->cfg), *arch = guest_arch(vmm);
  bool native = strcmp(arch, vmctr__caps_host_arch()) == 0;
  vmctr__initfs_params p = {0};
  char *dir, *init = NULL;
  int r;
  if (given)
    return (vmm->initfs = vmctr__strdup(given)) ? 0 : VMCTR_ENOMEM;
  if ((r = vmctr__initfs_init_for(arch, &init)) < 0)
    return r;
  p.init_path = init;
  p.arch = arch;
  p.modules_dir = vmctr_bootcfg_modules(vmm->cfg);
  if (access(p.init_path, X_OK) < 0) {
    r = vmctr__err(VMCTR_ENOENT, errno,
                   "the boot config has no initfs and the %s vmctr-init was not found at %s; "
                   "set one with vmctr_bootcfg_set_initfs() or point %s at vmctr-init%s",
                   arch, p.init_path,
                   native                          ? "VMCTR_GUEST_INIT"
                   : strcmp(arch, "aarch64") == 0 ? "VMCTR_GUEST_INIT_AARCH64"
                                                   : "VMCTR_GUEST_INIT_X86_64",
                   native ? "" : " built for it (doc/initfs.md)");
    free(init);
    return r;
  }
  if (!(dir = vmctr__user_dir(VMCTR__DIR_CACHE))) {
    free(init);
    return vmctr_error_last()->code; /* no memory, or no cache directory for this user */
  }
  p.cache_dir = dir;
  r = vmctr__initfs_get(&p, &vmm->initfs);
  free(dir);
  free(init);
  return r;
}

/* The boot config's arguments, else the library's: a panic ends the VM at
 * once instead of hanging it, and a quiet kernel boots faster on an
 * emulated console (errors still show). */
static int kernel_args(const vmctr_vmm *vmm, char ***out) {
  vmctr__strv a = VMCTR__STRV_INIT;
  size_t n = vmctr_bootcfg_cmdline_count(vmm->cfg);
  for (size_t i = 0; i < n; i++)
    vmctr__strv_add(&a, vmctr_bootcfg_cmdline_arg(vmm->cfg, i));
  if (n == 0) {
    vmctr__strv_add(&a, "panic=-1");
    vmctr__strv_add(&a, "quiet");
  }
  return vmctr__strv_finish(&a, out);
}

/* A raw image's length (files and block devices alike); 0 if unreadable:
 * the backend, which opens it again, says why. */
static uint64_t disk_length(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
  if (fd >= 0)
    close(fd);
  return end > 0 ? (uint64_t)end : 0;
}

/* The VM's disks and shares, from its mounts: mount i is named by index i
 * (disk serial, share tag), which is how the guest request finds it. */
static int devices(vmctr_vmm *vmm, vmctr__vm_spec *spec) {
  int r;
  vmm->disks = calloc(vmm->nmounts + 1, sizeof(*vmm->disks));
  vmm->shares = calloc(vmm->nmounts + 1, sizeof(*vmm->shares));
  vmm->names = calloc(vmm->nmounts + 1, sizeof(*vmm->names));
  if (!vmm->disks || !vmm->shares || !vmm->names)
    return vmctr__err_nomem();
  for (size_t i = 0; i < vmm->nmounts; i++) {
    const vmctr_mount *m = vmm->mounts[i];
    uint32_t kind = vmctr_mount_kind(m);
    if (kind == VMCTR_MOUNT_BLOCK) {
      vmctr__mount_serial((uint32_t)i, vmm->names[i]);
      vmm->disks[spec->ndisks++] = (vmctr__vm_disk){
        .path = vmctr_mount_source(m),
        .read_only = vmctr_mount_read_only(m) > 0,
        .caching = vmctr_mount_caching(m),
        .sync = vmctr_mount_sync(m),
        .serial = vmm->names[i],
        .image_format = vmctr_mount_image_format(m),
        .ephemeral = vmctr_mount_ephemeral(m) && vmctr_mount_read_only(m) <= 0,
      };
      vmctr__vm_disk *d = &vmm->disks[spec->ndisks - 1];
      if (vmctr_mount_image_format(m) == VMCTR_MOUNT_IMAGE_COW) {
        if ((r = vmctr__writable_cow_backing(d->path, &d->backing)) < 0 ||
            (r = vmctr__writable_cow_size(d->path, &d->size)) < 0)
          return r;
      } else {
        d->size = disk_length(d->path);
      }
    } else if (kind == VMCTR_MOUNT_SHARE) {
      const char *tag = vmctr_mount_tag(m);
      if (!tag)
        vmctr__mount_auto_tag((uint32_t)i, vmm->names[i]);
      vmm->shares[spec->nshares++] = (vmctr__vm_share){
        .host_path = vmctr_mount_source(m),
        .tag = tag ? tag : vmm->names[i],
        .read_only = vmctr_mount_read_only(m) > 0,
        .cache = vmctr_mount_share_cache(m),
        .file = vmctr__mount_share_is_file(m) == 1,
      };
    } /* tmpfs and guest-only mounts need nothing on the host */
  }
  spec->disks = vmm->disks;
  spec->shares = vmm->shares;
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
  /* A guest of another architecture is emulated instruction by instruction
   * and boots several times slower: the default wait is four times longer. */
  uint32_t timeout_ms = vmm->agent_timeout_ms;
  if (timeout_ms == VMCTR_VMM_DEFAULT_AGENT_TIMEOUT_MS &&
      strcmp(guest_arch(vmm), vmctr__caps_host_arch()) != 0)
    timeout_ms = 4 * VMCTR_VMM_DEFAULT_AGENT_TIMEOUT_MS;
  r = vmctr__agent_connect(&vmm->agent, fd, (int)timeout_ms);
  if (r < 0) {
    int st;
    char *tail = log_tail(vmm->boot_log);
    struct pollfd p = {.fd = vmm->ops->exit_fd(vmm->ctx), .events = POLLIN};
    if (r != VMCTR_ETIMEDOUT)
      (void)poll(&p, 1, 1000); /* the channel closes just before the hypervisor exits */
    if (vmm->ops->poll(vmm->ctx, &st) == 1)
      r = vmctr__err(VMCTR_EIO, 0, "the VM ended (status %d) before its agent connected; "
                     "boot log %s ends: %s", st, vmm->boot_log, tail ? tail : "");
    else if (r == VMCTR_ETIMEDOUT)
      r = vmctr__err(VMCTR_ETIMEDOUT, 0, "the guest agent did not connect within %u ms; "
                     "boot log %s ends: %s", timeout_ms, vmm->boot_log,
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
  char **args = NULL, *parent = NULL;
  int r;

  if ((r = vmctr__caps_shared(VMCTR_CAPS_PROBE_QUICK, &caps)) < 0)
    return r;
  /* Everything that can be checked is checked before anything runs. */
  if ((r = vmctr_bootcfg_validate(vmm->cfg, caps)) < 0 || (r = resolve_accel(vmm, caps)) < 0 ||
      (r = resolve_initfs(vmm)) < 0 || (r = kernel_args(vmm, &args)) < 0 ||
      (r = devices(vmm, &spec)) < 0)
    goto out;
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
  spec.kernel_args = args;
  spec.cpus = vmctr_bootcfg_cpus(vmm->cfg);
  spec.memory = vmctr_bootcfg_memory(vmm->cfg);
  spec.nested_virtualization = vmctr_bootcfg_nested_virtualization(vmm->cfg) > 0;
  spec.rosetta = vmctr_bootcfg_rosetta(vmm->cfg) > 0;
  spec.accel = vmm->accel;
  spec.arch = guest_arch(vmm);
  spec.firmware_tables = vmctr_bootcfg_firmware_tables_effective(vmm->cfg) > 0;
  spec.runtime_dir = vmm->rundir;
  spec.console_log = vmm->boot_log;
  spec.entropy = true;
  spec.agent_name = AGENT_NAME;
  spec.agent_port = AGENT_VSOCK_PORT;
  spec.nics = vmm->nics;
  spec.nnics = vmm->nnics;
  spec.netns = vmm->has_netns;
  spec.netns_fd = vmm->netns_fd;
  spec.caps = caps;
  spec.hypervisor_args = vmm->hv_args;
  spec.jail_id_first = vmm->jail_id_first;
  spec.jail_id_count = vmm->jail_id_count;
  if (vmm->build_only) { /* vmctr_vmm_build_template(): no VM of our own */
    r = vmctr__vmm_template_prepare(vmm, &spec, parent);
    goto out;
  }
  /* A template's clone when one fits; on any failure there, a cold boot. */
  bool restored = (r = vmctr__vmm_template_start(vmm, &spec, parent)) == 0;
  if (!restored && r != VMCTR_EUNSUPPORTED)
    vmctr__log(VMCTR_LOG_WARN, "vmm", "VM %s boots cold: %s", vmm->rundir,
               vmctr_error_last()->message);
  vmctr_error_clear();
  if (!restored && (r = vmm->ops->create(&vmm->ctx, &spec)) < 0)
    goto out;
  if (!restored && (r = vmm->ops->start(vmm->ctx, 10000)) < 0)
    goto out;
  if ((r = vmctr__evset_add(vmm->events, vmm->ops->exit_fd(vmm->ctx))) < 0)
    goto out;
  vmm->state = VMCTR_VMM_STATE_RUNNING; /* collect() may now notice an exit */
  if (!restored && (r = connect_agent(vmm)) < 0)
    goto out;
  vmctr__log(VMCTR_LOG_INFO, "vmm", "VM %s running (pid %d, %s), agent: %s", vmm->rundir,
             (int)vmm->ops->pid(vmm->ctx), vmctr_accelerator_name(vmm->accel),
             vmctr__agent_info(vmm->agent));
out:
  if (r < 0)
    vmm->state = VMCTR_VMM_STATE_NEW; /* the caller turns it to FAILED */
  vmctr_caps_unref(caps);
  free(parent);
  vmctr__strv_free(args);
  return r;
}
