/* SPDX-License-Identifier: MIT */
/* Starting a VM from a template (doc/vmm.md, "Templates"): find or build the
 * template of the VM's spec, restore a clone of it through the backend, and
 * make the clone its own (clock, RNG, disks, MACs) before the caller sees it.
 * Shared code: the backend only saves and restores. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent/ops.h"
#include "core/error.h"
#include "core/log.h"
#include "core/time.h"
#include "core/util.h"
#include "image/store/writable-priv.h"
#include "vmm/rundir-priv.h"
#include "vmm/template.h"
#include "vmm/vmm-priv.h"

#define START_TIMEOUT_MS 10000
#define SAVE_TIMEOUT_MS 60000
#define OP_TIMEOUT_MS 10000
#define ENTROPY_BYTES 64u

bool vmctr__vmm_templates_on(const vmctr_vmm *vmm) {
  if (vmm->template_mode == VMCTR_VMM_TEMPLATE_ON)
    return true;
  if (vmm->template_mode == VMCTR_VMM_TEMPLATE_OFF)
    return false;
  /* On by default since 0.6 (a clone's RAM is read-only to it); "0" is off. */
  const char *e = getenv("VMCTR_TEMPLATES");
  return !(e && strcmp(e, "0") == 0);
}

void vmctr__vmm_template_release(vmctr_vmm *vmm) {
  if (vmm->tmpl) {
    vmctr__template_close(vmm->tmpl);
    free(vmm->tmpl);
    vmm->tmpl = NULL;
  }
}

static int agent_of(vmctr_vmm *vmm, void *ctx, vmctr__agent **out, const vmctr__template *t) {
  int fd = fcntl(vmm->ops->agent_fd(ctx), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return vmctr__err_os(errno, "dup of the agent channel");
  return t ? vmctr__agent_resume(out, fd, t->hello, t->hello_len)
           : vmctr__agent_connect(out, fd, (int)vmm->agent_timeout_ms);
}

/* Boot spec's template VM in a runtime dir of its own, wait for its agent,
 * save it and publish it. 0 also when another builder was first. */
static int build(vmctr_vmm *vmm, const vmctr__vm_spec *spec, const char *parent, const char *root,
                 const char *key) {
  vmctr__template_build b;
  vmctr__vm_spec bs = *spec;
  vmctr__netdev *nics = NULL;
  vmctr__agent *agent = NULL;
  void *ctx = NULL;
  char *dir = NULL, *log = NULL;
  uint8_t *hello = NULL;
  size_t hello_len = 0;
  int lock = -1, r;
  int64_t t0 = vmctr__now_ms();

  if ((r = vmctr__template_build_begin(root, key, spec->memory, &b)) != 0)
    return r < 0 ? r : 0;
  if ((r = vmctr__rundir_create(parent, &dir, &lock)) < 0)
    goto out;
  if (asprintf(&log, "%s/boot.log", dir) < 0) {
    log = NULL;
    r = vmctr__err_nomem();
    goto out;
  }
  /* The same NICs, without published ports: the builder reaches nothing. */
  if (spec->nnics && !(nics = calloc(spec->nnics, sizeof(*nics)))) {
    r = vmctr__err_nomem();
    goto out;
  }
  for (size_t i = 0; i < spec->nnics; i++) {
    nics[i] = spec->nics[i];
    nics[i].ports = NULL;
    nics[i].nports = 0;
  }
  bs.nics = nics;
  bs.runtime_dir = dir;
  bs.console_log = log;
  vmctr__vm_template t = {.ram = b.ram, .clone = false, .state_fd = b.state_fd};
  if ((r = vmm->ops->create_template(&ctx, &bs, &t)) < 0 ||
      (r = vmm->ops->start(ctx, START_TIMEOUT_MS)) < 0 || (r = agent_of(vmm, ctx, &agent, NULL)) < 0)
    goto out;
  /* One round trip: the guest has taken our HELLO and waits, idle. */
  if ((r = vmctr__agent_ping(agent, OP_TIMEOUT_MS)) < 0)
    goto out;
  const uint8_t *h;
  vmctr__agent_hello(agent, &h, &hello_len);
  if (!(hello = malloc(hello_len ? hello_len : 1))) {
    r = vmctr__err_nomem();
    goto out;
  }
  memcpy(hello, h, hello_len);
  if ((r = vmm->ops->save(ctx, SAVE_TIMEOUT_MS)) < 0)
    goto out;
  vmctr__agent_free(agent);
  agent = NULL;
  vmm->ops->free(ctx);
  ctx = NULL;
  if ((r = vmctr__template_build_publish(&b, hello, hello_len)) == 0)
    vmctr__log(VMCTR_LOG_INFO, "template", "built template %s in %lld ms", key,
               (long long)(vmctr__now_ms() - t0));
out:
  if (r < 0)
    vmctr__err_prefix("cannot build the template");
  vmctr__agent_free(agent);
  if (ctx)
    vmm->ops->free(ctx);
  if (dir)
    vmctr__rundir_remove(dir, lock);
  vmctr__template_build_clear(&b);
  free(hello);
  free(nics);
  free(dir);
  free(log);
  return r;
}

/* Restore a clone of t as vmm's VM and make it its own. */
static int restore(vmctr_vmm *vmm, const vmctr__vm_spec *spec, vmctr__template *t) {
  uint8_t entropy[ENTROPY_BYTES], macs[8][6];
  struct timespec ts;
  int r;
  int64_t t0 = vmctr__now_ms();
  vmctr__vm_template vt = {.ram = t->ram, .clone = true, .state_fd = t->state_fd};
  if ((r = vmm->ops->create_template(&vmm->ctx, spec, &vt)) < 0)
    return r;
  int64_t t1 = vmctr__now_ms();
  if ((r = vmm->ops->start(vmm->ctx, START_TIMEOUT_MS)) < 0 ||
      (r = agent_of(vmm, vmm->ctx, &vmm->agent, t)) < 0)
    return r;
  int64_t t2 = vmctr__now_ms();
  if (getrandom(entropy, sizeof(entropy), 0) != (ssize_t)sizeof(entropy))
    return vmctr__err_os(errno, "cannot read the host's randomness for the clone");
  for (size_t i = 0; i < spec->nnics && i < 8; i++)
    memcpy(macs[i], spec->nics[i].mac, 6);
  vmctr__agent_disk_size disks[16];
  for (size_t i = 0; i < spec->ndisks && i < 16; i++) {
    /* A read-only disk, or one of unknown size: 0 has the guest probe it
     * again at once. A writable one's placeholder had its size already. */
    disks[i] = (vmctr__agent_disk_size){spec->disks[i].serial,
                                        spec->disks[i].read_only ? 0 : spec->disks[i].size};
  }
  clock_gettime(CLOCK_REALTIME, &ts);
  vmctr__agent_restored_args x = {
    .realtime_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
    .entropy = entropy, .nentropy = sizeof(entropy),
    .disks = disks, .ndisks = spec->ndisks,
    .macs = (const uint8_t(*)[6])macs, .nmacs = spec->nnics,
  };
  r = vmctr__agent_restored(vmm->agent, &x, OP_TIMEOUT_MS);
  memset(entropy, 0, sizeof(entropy));
  vmctr__log(VMCTR_LOG_DEBUG, "template", "clone: create %lld ms, restore %lld ms, RESTORED %lld ms",
             (long long)(t1 - t0), (long long)(t2 - t1), (long long)(vmctr__now_ms() - t2));
  return r < 0 ? vmctr__err_prefix("the restored guest") : 0;
}

static void undo(vmctr_vmm *vmm) {
  vmctr__agent_free(vmm->agent);
  vmm->agent = NULL;
  if (vmm->ctx)
    vmm->ops->free(vmm->ctx);
  vmm->ctx = NULL;
  vmctr__vmm_template_release(vmm);
}

/* Why spec cannot come from a template, or NULL. */
static const char *unsuitable(const vmctr_vmm *vmm, const vmctr__vm_spec *spec) {
  if (!vmm->ops->create_template || !vmm->ops->save || !vmm->ops->template_id)
    return "the backend has no templates";
  const char *why = vmctr__template_unsuitable(spec);
  for (size_t i = 0; !why && i < spec->nnics; i++)
    if (spec->nics[i].kind == VMCTR__NETDEV_TAP)
      why = "a tap NIC is one VM's alone";
  return why;
}

int vmctr__vmm_template_prepare(vmctr_vmm *vmm, const vmctr__vm_spec *spec, const char *parent) {
  char key[65], *id = NULL, *root = NULL;
  vmctr__template t = VMCTR__TEMPLATE_INIT;
  const char *why = unsuitable(vmm, spec);
  int r;
  if (why)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "this VM cannot have a template: %s", why);
  if ((r = vmm->ops->template_id(spec, &id)) < 0 || (r = vmctr__template_key(spec, id, key)) < 0)
    goto out;
  if (!(root = vmctr__template_root())) {
    r = vmctr_error_last()->code;
    goto out;
  }
  r = vmctr__template_open(root, key, &t);
  if (r == VMCTR_EIO) { /* damaged: replace it */
    vmctr__template_discard(root, key);
    r = VMCTR_ENOENT;
  }
  if (r == VMCTR_ENOENT) {
    vmctr_error_clear();
    if ((r = build(vmm, spec, parent, root, key)) == 0)
      vmctr__template_prune(root, key);
  }
out:
  vmctr__template_close(&t);
  free(id);
  free(root);
  return r;
}

int vmctr__vmm_template_start(vmctr_vmm *vmm, const vmctr__vm_spec *spec, const char *parent) {
  char key[65], *id = NULL, *root = NULL;
  const char *why;
  int r;
  int64_t t0 = vmctr__now_ms();

  if (!vmctr__vmm_templates_on(vmm))
    return VMCTR_EUNSUPPORTED;
  if ((why = unsuitable(vmm, spec))) {
    vmctr__log(VMCTR_LOG_INFO, "template", "VM %s boots cold: %s", spec->runtime_dir, why);
    return VMCTR_EUNSUPPORTED;
  }
  if ((r = vmm->ops->template_id(spec, &id)) < 0 || (r = vmctr__template_key(spec, id, key)) < 0)
    goto out;
  vmctr__log(VMCTR_LOG_DEBUG, "template", "key %.12s in %lld ms", key,
             (long long)(vmctr__now_ms() - t0));
  if (!(root = vmctr__template_root())) {
    r = vmctr_error_last()->code;
    goto out;
  }
  if (!(vmm->tmpl = malloc(sizeof(*vmm->tmpl)))) {
    r = vmctr__err_nomem();
    goto out;
  }
  *vmm->tmpl = (vmctr__template)VMCTR__TEMPLATE_INIT;
  r = vmctr__template_open(root, key, vmm->tmpl);
  if (r == VMCTR_ENOENT) {
    vmctr_error_clear();
    if ((r = build(vmm, spec, parent, root, key)) < 0)
      goto out;
    vmctr__template_prune(root, key);
    r = vmctr__template_open(root, key, vmm->tmpl);
  }
  if (r == VMCTR_EIO) { /* damaged files: it goes, the next start builds anew */
    vmctr__err_saved saved;
    vmctr__err_save(&saved);
    vmctr__template_discard(root, key);
    vmctr__err_restore(&saved);
  }
  if (r < 0)
    goto out;
  if ((r = restore(vmm, spec, vmm->tmpl)) < 0) {
    /* This template does not restore (a damaged file, a QEMU that refuses
     * its state): it goes, and the next start builds a new one. */
    vmctr__err_saved saved;
    vmctr__err_save(&saved);
    undo(vmm);
    vmctr__template_discard(root, key);
    vmctr__err_restore(&saved);
    goto out;
  }
  vmctr__log(VMCTR_LOG_INFO, "template", "VM %s restored from template %.12s in %lld ms",
             spec->runtime_dir, key, (long long)(vmctr__now_ms() - t0));
out:
  if (r < 0)
    undo(vmm);
  free(id);
  free(root);
  return r;
}
