/* SPDX-License-Identifier: MIT */
/* The public VM manager: settings, state, events, stop and free. Booting is
 * in vmm-start.c; the hypervisor itself behind vmm/backend.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/error.h"
#include "core/strv.h"
#include "agent/ops.h"
#include "core/log.h"
#include "core/time.h"
#include "core/util.h"
#include "mount/mount.h"
#include "vmm/rundir-priv.h"
#include "vmm/vmm-priv.h"

#define QUIT_TIMEOUT_MS 2000

int vmctr_vmm_new(vmctr_vmm **out, const vmctr_bootcfg *cfg) {
  vmctr_vmm *vmm;
  int r;
  if (!out || !cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_new: %s is NULL", !out ? "out" : "cfg");
  if (!(vmm = calloc(1, sizeof(*vmm))))
    return vmctr__err_nomem();
  vmm->rundir_lock = -1;
  vmm->accel_req = VMCTR_ACCEL_AUTO;
  vmm->agent_timeout_ms = VMCTR_VMM_DEFAULT_AGENT_TIMEOUT_MS;
  vmm->jail_id_first = VMCTR_VMM_DEFAULT_JAIL_ID_FIRST;
  vmm->jail_id_count = VMCTR_VMM_DEFAULT_JAIL_ID_COUNT;
  vmm->state = VMCTR_VMM_STATE_NEW;
  vmm->exit_status = -1;
  if ((r = vmctr_bootcfg_clone(&vmm->cfg, cfg)) < 0 || (r = vmctr__evset_new(&vmm->events)) < 0)
    goto fail;
  vmm->ops = vmctr__backend_default();
  *out = vmm;
  return 0;
fail:
  vmctr_vmm_free(vmm);
  return r;
}

void vmctr_vmm_free(vmctr_vmm *vmm) {
  if (!vmm)
    return;
  vmctr__agent_free(vmm->agent);
  if (vmm->ctx)
    vmm->ops->free(vmm->ctx);
  vmctr__vmm_template_release(vmm); /* after the clone's hypervisor is gone */
  if (vmm->rundir)
    vmctr__rundir_remove(vmm->rundir, vmm->rundir_lock);
  vmctr__evset_free(vmm->events);
  vmctr_bootcfg_free(vmm->cfg);
  for (size_t i = 0; i < vmm->nmounts; i++)
    vmctr_mount_free(vmm->mounts[i]);
  free(vmm->mounts);
  free(vmm->boot_log_user);
  free(vmm->rt_parent);
  free(vmm->rundir);
  free(vmm->boot_log);
  free(vmm->initfs);
  vmctr__strv_free(vmm->hv_args);
  for (size_t i = 0; vmm->disks && i < vmm->nmounts; i++)
    free(vmm->disks[i].backing);
  free(vmm->disks);
  free(vmm->shares);
  free(vmm->names);
  vmctr__vmm_free_nics(vmm);
  free(vmm);
}

static int check_new(vmctr_vmm *vmm, const char *fn) {
  if (!vmm)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: vmm is NULL", fn);
  if (vmm->state != VMCTR_VMM_STATE_NEW)
    return vmctr__err(VMCTR_ESTATE, 0, "%s: the VM was already started", fn);
  return 0;
}

static int set_str(char **dst, const char *s) {
  char *c = NULL;
  if (s && !(c = vmctr__strdup(s)))
    return VMCTR_ENOMEM;
  free(*dst);
  *dst = c;
  return 0;
}

int vmctr_vmm_set_accelerator(vmctr_vmm *vmm, int32_t accel) {
  int r = check_new(vmm, "vmctr_vmm_set_accelerator");
  if (r < 0)
    return r;
  if (accel != VMCTR_ACCEL_AUTO && accel != VMCTR_ACCEL_TCG && accel != VMCTR_ACCEL_KVM &&
      accel != VMCTR_ACCEL_HVF)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "unknown accelerator choice %d (VMCTR_ACCEL_AUTO, _TCG, _KVM or _HVF)",
                      accel);
  vmm->accel_req = accel;
  return 0;
}

int vmctr_vmm_set_boot_log(vmctr_vmm *vmm, const char *path) {
  int r = check_new(vmm, "vmctr_vmm_set_boot_log");
  if (r < 0)
    return r;
  if (path && !*path)
    return vmctr__err(VMCTR_EINVAL, 0, "boot log path is empty");
  return set_str(&vmm->boot_log_user, path);
}

int vmctr_vmm_set_runtime_parent(vmctr_vmm *vmm, const char *dir) {
  int r = check_new(vmm, "vmctr_vmm_set_runtime_parent");
  if (r < 0)
    return r;
  if (dir && !*dir)
    return vmctr__err(VMCTR_EINVAL, 0, "runtime directory parent is empty");
  return set_str(&vmm->rt_parent, dir);
}

int vmctr_vmm_set_agent_timeout(vmctr_vmm *vmm, uint32_t timeout_ms) {
  if (!vmm || timeout_ms == 0 || timeout_ms > INT32_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_set_agent_timeout: %s",
                      !vmm ? "vmm is NULL" : "timeout must be 1..2^31-1 ms");
  vmm->agent_timeout_ms = timeout_ms;
  return 0;
}

int vmctr_vmm_set_template(vmctr_vmm *vmm, uint32_t mode) {
  int r = check_new(vmm, "vmctr_vmm_set_template");
  if (r < 0)
    return r;
  if (mode != VMCTR_VMM_TEMPLATE_DEFAULT && mode != VMCTR_VMM_TEMPLATE_OFF &&
      mode != VMCTR_VMM_TEMPLATE_ON)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_set_template: unknown mode %u "
                      "(VMCTR_VMM_TEMPLATE_DEFAULT, _OFF or _ON)", mode);
  vmm->template_mode = mode;
  return 0;
}

int vmctr_vmm_set_jail_ids(vmctr_vmm *vmm, uint32_t first, uint32_t count) {
  int r = check_new(vmm, "vmctr_vmm_set_jail_ids");
  if (r < 0)
    return r;
  /* 0 is root and 2^32 - 1 is (uid_t)-1, "no change", to set*id(). */
  if (count > 0 && (first == 0 || (uint64_t)first + count > 0xfffffffeull))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "jail ids %u+%u: the range must start above 0 and end below 2^32 - 1",
                      first, count);
  vmm->jail_id_first = first;
  vmm->jail_id_count = count;
  return 0;
}

int vmctr__vmm_add_mount_checked(vmctr_vmm *vmm, const vmctr_mount *mount) {
  vmctr_mount *copy = NULL, **v;
  int r = check_new(vmm, "vmctr_vmm_add_mount");
  if (r < 0)
    return r;
  if (vmm->nmounts > VMCTR__MOUNT_INDEX_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "a VM takes at most %u mounts", VMCTR__MOUNT_INDEX_MAX + 1);
  if ((r = vmctr_mount_clone(&copy, mount)) < 0)
    return r;
  /* A share of a directory or of one file: decided once, on our copy. */
  if ((r = vmctr__mount_settle(copy)) < 0) {
    vmctr_mount_free(copy);
    return r;
  }
  if (!(v = realloc(vmm->mounts, (vmm->nmounts + 1) * sizeof(*v)))) {
    vmctr_mount_free(copy);
    return vmctr__err_nomem();
  }
  vmm->mounts = v;
  vmm->mounts[vmm->nmounts++] = copy;
  return 0;
}

int vmctr_vmm_add_mount(vmctr_vmm *vmm, const vmctr_mount *mount) {
  int r = check_new(vmm, "vmctr_vmm_add_mount");
  if (r < 0)
    return r;
  if (!mount)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_add_mount: mount is NULL");
  if ((r = vmctr_mount_validate(mount)) < 0)
    return r;
  return vmctr__vmm_add_mount_checked(vmm, mount);
}

int vmctr_vmm_set_hypervisor_args(vmctr_vmm *vmm, const char *const *args, size_t n) {
  vmctr__strv a = VMCTR__STRV_INIT;
  char **v = NULL;
  int r = check_new(vmm, "vmctr_vmm_set_hypervisor_args");
  if (r < 0)
    return r;
  if (n && !args)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_set_hypervisor_args: args is NULL");
  for (size_t i = 0; i < n; i++) {
    if (!args[i]) {
      vmctr__strv_clear(&a);
      return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_set_hypervisor_args: args[%zu] is NULL", i);
    }
    vmctr__strv_add(&a, args[i]);
  }
  if (n && (r = vmctr__strv_finish(&a, &v)) < 0)
    return r;
  vmctr__strv_free(vmm->hv_args);
  vmm->hv_args = v;
  return 0;
}


/* Record the end of the VM once its process has exited, and release it
 * (its exit fd leaves the event set, which then says the state changed). */
static void ended(vmctr_vmm *vmm, int status) {
  vmm->exit_status = status;
  vmm->state = (vmm->stopping || status == 0) ? VMCTR_VMM_STATE_STOPPED : VMCTR_VMM_STATE_FAILED;
  vmctr__log(vmm->state == VMCTR_VMM_STATE_FAILED ? VMCTR_LOG_WARN : VMCTR_LOG_INFO, "vmm",
             "VM %s ended (status %d)", vmm->rundir ? vmm->rundir : "", status);
  int fd = vmm->ops->exit_fd(vmm->ctx);
  if (fd >= 0)
    vmctr__evset_del(vmm->events, fd);
  vmm->ops->kill(vmm->ctx);
  vmctr__evset_notify(vmm->events);
}

int vmctr__vmm_collect(vmctr_vmm *vmm) {
  int status = -1, r;
  if (vmm->state != VMCTR_VMM_STATE_RUNNING || !vmm->ctx)
    return vmm->state >= VMCTR_VMM_STATE_STOPPED;
  r = vmm->ops->poll(vmm->ctx, &status);
  if (r == 1)
    ended(vmm, status);
  return r;
}

int32_t vmctr_vmm_state(vmctr_vmm *vmm) {
  if (!vmm)
    return VMCTR_EINVAL;
  vmctr__vmm_collect(vmm);
  return vmm->state;
}

int32_t vmctr_vmm_dispatch(vmctr_vmm *vmm) {
  if (!vmm)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_dispatch: vmm is NULL");
  /* Drain first: a change that lands after the collect re-arms the fd. */
  vmctr__evset_drain(vmm->events);
  vmctr__vmm_collect(vmm);
  return vmm->state;
}

int vmctr_vmm_event_fd(const vmctr_vmm *vmm) {
  return vmm ? vmctr__evset_fd(vmm->events) : VMCTR_EINVAL;
}

/* Wait for the backend's exit fd; 0 once ended, VMCTR_ETIMEDOUT. */
static int wait_end(vmctr_vmm *vmm, int32_t timeout_ms) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  for (;;) {
    int r = vmctr__vmm_collect(vmm);
    if (r != 0)
      return r < 0 ? r : 0;
    int left = vmctr__remaining_ms(deadline);
    if (left == 0)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "the VM is still running after %d ms", timeout_ms);
    struct pollfd p = {.fd = vmm->ops->exit_fd(vmm->ctx), .events = POLLIN};
    if (poll(&p, 1, left) < 0 && errno != EINTR)
      return vmctr__err_os(errno, "poll");
  }
}

int vmctr_vmm_wait(vmctr_vmm *vmm, int32_t timeout_ms) {
  if (!vmm)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_wait: vmm is NULL");
  if (vmm->state == VMCTR_VMM_STATE_NEW)
    return vmctr__err(VMCTR_ESTATE, 0, "vmctr_vmm_wait: the VM was never started");
  return wait_end(vmm, timeout_ms);
}

int vmctr_vmm_stop(vmctr_vmm *vmm, uint32_t grace_ms) {
  if (!vmm)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_stop: vmm is NULL");
  if (vmm->state == VMCTR_VMM_STATE_NEW)
    return vmctr__err(VMCTR_ESTATE, 0, "vmctr_vmm_stop: the VM was never started");
  if (grace_ms > INT32_MAX)
    grace_ms = INT32_MAX;
  if (vmctr__vmm_collect(vmm) != 0)
    return 0;
  vmm->stopping = true;
  /* 1: the guest syncs and powers off, and the hypervisor exits 0. */
  if (vmm->agent && grace_ms > 0) {
    int64_t deadline = vmctr__deadline_ms((int)grace_ms);
    /* Ephemeral disks: the guest leaves them as they are. */
    const char *eph[VMCTR_AGENT_MAX_DISKS];
    size_t neph = 0;
    for (size_t i = 0; vmm->disks && i < vmm->nmounts && neph < VMCTR_AGENT_MAX_DISKS; i++)
      if (vmm->disks[i].path && vmm->disks[i].ephemeral)
        eph[neph++] = vmm->disks[i].serial;
    if (vmctr__agent_poweroff(vmm->agent, eph, neph, (int)grace_ms) == 0 &&
        wait_end(vmm, vmctr__remaining_ms(deadline)) == 0)
      return 0;
    vmctr__log(VMCTR_LOG_WARN, "vmm", "the guest did not power off within %u ms", grace_ms);
  }
  /* 2: the hypervisor quits without the guest; 3: force. */
  if (vmm->ops->quit(vmm->ctx, QUIT_TIMEOUT_MS) < 0)
    vmm->ops->kill(vmm->ctx);
  vmctr_error_clear();
  return wait_end(vmm, -1);
}

int vmctr_vmm_exit_status(vmctr_vmm *vmm, int32_t *out_status) {
  if (!vmm || !out_status)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_vmm_exit_status: %s is NULL",
                      !vmm ? "vmm" : "out_status");
  vmctr__vmm_collect(vmm);
  if (vmm->state < VMCTR_VMM_STATE_STOPPED)
    return vmctr__err(VMCTR_ESTATE, 0, "the VM has not ended");
  *out_status = vmm->exit_status;
  return 0;
}

int32_t vmctr_vmm_accelerator(const vmctr_vmm *vmm) {
  return vmm && vmm->state != VMCTR_VMM_STATE_NEW ? vmm->accel : VMCTR_ACCEL_NONE;
}

int32_t vmctr_vmm_pid(const vmctr_vmm *vmm) {
  return vmm && vmm->ctx ? vmm->ops->pid(vmm->ctx) : 0;
}

const char *vmctr_vmm_runtime_dir(const vmctr_vmm *vmm) {
  return vmm ? vmm->rundir : NULL;
}

const char *vmctr_vmm_boot_log(const vmctr_vmm *vmm) {
  return !vmm ? NULL : vmm->boot_log ? vmm->boot_log : vmm->boot_log_user;
}

vmctr__agent *vmctr__vmm_agent(vmctr_vmm *vmm) {
  return vmm && vmm->state == VMCTR_VMM_STATE_RUNNING ? vmm->agent : NULL;
}

bool vmctr__vmm_restored(const vmctr_vmm *vmm) {
  return vmm && vmm->state == VMCTR_VMM_STATE_RUNNING && vmm->tmpl;
}

int vmctr_vmm_build_template(vmctr_vmm *vmm) {
  int r = check_new(vmm, "vmctr_vmm_build_template");
  if (r < 0)
    return r;
  if (!vmm->ops)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "this libvmctr was built without a VM backend");
  vmm->build_only = true;
  r = vmctr__vmm_boot(vmm);
  vmm->build_only = false;
  /* Nothing of this VM ran: undo what the resolution made, so start works. */
  if (vmm->rundir) {
    vmctr__rundir_remove(vmm->rundir, vmm->rundir_lock);
    free(vmm->rundir);
    vmm->rundir = NULL;
    vmm->rundir_lock = -1;
  }
  free(vmm->boot_log);
  free(vmm->initfs);
  free(vmm->disks);
  free(vmm->shares);
  free(vmm->names);
  vmm->boot_log = vmm->initfs = NULL;
  vmm->disks = NULL;
  vmm->shares = NULL;
  vmm->names = NULL;
  vmm->state = VMCTR_VMM_STATE_NEW;
  return r;
}

int vmctr_vmm_start(vmctr_vmm *vmm) {
  int r = check_new(vmm, "vmctr_vmm_start");
  if (r < 0)
    return r;
  if (!vmm->ops)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "this libvmctr was built without a VM backend");
  r = vmctr__vmm_boot(vmm);
  if (r < 0) {
    /* Nothing keeps running; the runtime dir (and boot log) stay until free. */
    vmctr__agent_free(vmm->agent);
    vmm->agent = NULL;
    if (vmm->ctx) {
      int fd = vmm->ops->exit_fd(vmm->ctx);
      if (fd >= 0)
        vmctr__evset_del(vmm->events, fd);
      vmm->ops->kill(vmm->ctx);
      int st = -1;
      if (vmm->ops->poll(vmm->ctx, &st) == 1)
        vmm->exit_status = st;
    }
    if (!vmm->ctx && !vmm->rundir) {
      /* Refused before anything ran (bad config, KVM missing): may be retried. */
      free(vmm->initfs);
      vmm->initfs = NULL;
      return r;
    }
    vmm->state = VMCTR_VMM_STATE_FAILED;
    vmctr__evset_notify(vmm->events);
  }
  return r;
}
