/* SPDX-License-Identifier: MIT */
/* The vz backend's decisions, in plain C (vz-plan.h): which devices, which
 * modes, in which order. Built on every OS; only vz-config.m turns a plan
 * into Virtualization.framework objects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/util.h"
#include "vmctr/caps.h"
#include "vmctr/mount.h"
#include "vmm/vz/vz-plan.h"

void vmctr__vz_host_from_caps(vmctr__vz_host *host, const vmctr_caps *caps) {
  memset(host, 0, sizeof(*host));
  if (!caps)
    return;
  host->rosetta_installed = vmctr_caps_has(caps, VMCTR_CAP_ROSETTA, NULL) == 1;
  host->max_cpus = vmctr_caps_max_vcpus(caps);
  host->max_memory = vmctr_caps_max_memory(caps);
}

/* libvmctr's block modes, one to one onto VZ's (0: the library default,
 * cached + fsync, which is also what lib/mount gives a block mount). */
static const struct {
  uint32_t lib, vz;
} caching_map[] = {
    {VMCTR_MOUNT_CACHING_AUTO, VMCTR__VZ_CACHING_AUTOMATIC},
    {VMCTR_MOUNT_CACHING_CACHED, VMCTR__VZ_CACHING_CACHED},
    {VMCTR_MOUNT_CACHING_UNCACHED, VMCTR__VZ_CACHING_UNCACHED},
}, sync_map[] = {
    {VMCTR_MOUNT_SYNC_FULL, VMCTR__VZ_SYNC_FULL},
    {VMCTR_MOUNT_SYNC_FSYNC, VMCTR__VZ_SYNC_FSYNC},
    {VMCTR_MOUNT_SYNC_NONE, VMCTR__VZ_SYNC_NONE},
};

#define MAP(table, v, out)                                                                 \
  do {                                                                                     \
    *(out) = 0;                                                                            \
    for (size_t k_ = 0; k_ < sizeof(table) / sizeof((table)[0]); k_++)                    \
      if ((table)[k_].lib == (v))                                                          \
        *(out) = (table)[k_].vz;                                                           \
  } while (0)

static int plan_disk(vmctr__vz_disk *d, const vmctr__vm_disk *s, size_t i,
                     const vmctr__vz_host *host) {
  uint32_t caching = s->caching ? s->caching : VMCTR_MOUNT_DEFAULT_CACHING;
  /* An ephemeral disk's flushes are dropped, as with sync none. */
  uint32_t sync = s->ephemeral ? VMCTR_MOUNT_SYNC_NONE : s->sync ? s->sync : VMCTR_MOUNT_DEFAULT_SYNC;
  if (!s->path || !*s->path)
    return vmctr__err(VMCTR_EINVAL, 0, "disk %zu has no path", i);
  MAP(caching_map, caching, &d->caching);
  MAP(sync_map, sync, &d->sync);
  if (!d->caching)
    return vmctr__err(VMCTR_EINVAL, 0, "disk %s: unknown caching mode %u", s->path, caching);
  if (!d->sync)
    return vmctr__err(VMCTR_EINVAL, 0, "disk %s: unknown sync mode %u", s->path, sync);
  /* An identifier VZ refuses ends the process rather than the call, so
   * nothing doubtful gets that far. */
  if (s->serial) {
    size_t n = strlen(s->serial);
    if (n == 0 || n > VMCTR__VZ_DISK_ID_MAX)
      return vmctr__err(VMCTR_EINVAL, 0, "disk %s: serial \"%s\" must be 1..%u bytes", s->path,
                        s->serial, VMCTR__VZ_DISK_ID_MAX);
    for (size_t k = 0; k < n; k++)
      if ((unsigned char)s->serial[k] < 0x21 || (unsigned char)s->serial[k] > 0x7e)
        return vmctr__err(VMCTR_EINVAL, 0, "disk %s: serial must be printable ASCII", s->path);
  }
  /* A host block device takes another attachment, which has no caching
   * mode and only two sync modes: fsync is served by the stronger one. */
  struct stat st;
  if (stat(s->path, &st) < 0)
    return vmctr__err_os(errno, "disk %s", s->path);
  if (S_ISBLK(st.st_mode)) {
    if (!host->block_devices)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "disk %s is a block device, which Virtualization.framework attaches "
                        "from macOS 14 on", s->path);
    if (caching == VMCTR_MOUNT_CACHING_UNCACHED)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "disk %s: a host block device has no caching mode to make it uncached",
                        s->path);
    d->attachment = VMCTR__VZ_DISK_BLOCKDEV;
    d->caching = 0;
    d->sync = sync == VMCTR_MOUNT_SYNC_NONE ? VMCTR__VZ_BLOCKDEV_SYNC_NONE
                                            : VMCTR__VZ_BLOCKDEV_SYNC_FULL;
  } else if (S_ISREG(st.st_mode)) {
    d->attachment = VMCTR__VZ_DISK_IMAGE;
  } else {
    return vmctr__err(VMCTR_EINVAL, 0, "disk %s is neither an image file nor a block device",
                      s->path);
  }
  d->path = s->path;
  d->read_only = s->read_only;
  d->identifier = s->serial;
  return 0;
}

static int plan_share(vmctr__vz_share *d, const vmctr__vm_share *s, size_t i) {
  if (!s->host_path || !*s->host_path)
    return vmctr__err(VMCTR_EINVAL, 0, "share %zu has no host directory", i);
  if (!s->tag || !*s->tag)
    return vmctr__err(VMCTR_EINVAL, 0, "share %s has no tag", s->host_path);
  if (strcmp(s->tag, VMCTR__VZ_ROSETTA_TAG) == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "share %s: tag %s is reserved for Rosetta", s->host_path,
                      s->tag);
  /* VZ shares directories only, and the guest must not see a file's siblings. */
  if (s->file)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "share %s is a file; Virtualization.framework shares directories only, "
                      "and sharing the file's directory would show its other entries: share a "
                      "directory that holds only this file",
                      s->host_path);
  /* VZ's directory shares have no cache setting: "never" cannot be kept. */
  if (s->cache == VMCTR_MOUNT_SHARE_CACHE_NEVER)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "share %s: cache mode \"never\" is not available with "
                      "Virtualization.framework (its shares have no cache setting); use auto",
                      s->host_path);
  if (s->cache != 0 && s->cache != VMCTR_MOUNT_SHARE_CACHE_AUTO &&
      s->cache != VMCTR_MOUNT_SHARE_CACHE_ALWAYS)
    return vmctr__err(VMCTR_EINVAL, 0, "share %s: unknown cache mode %u", s->host_path, s->cache);
  d->tag = s->tag;
  d->path = s->host_path;
  d->read_only = s->read_only;
  return 0;
}

static uint32_t prefix_mask(uint32_t prefix) {
  return prefix == 0 ? 0 : prefix >= 32 ? UINT32_MAX : ~((UINT32_C(1) << (32 - prefix)) - 1);
}

static int plan_nic(vmctr__vz_nic *d, const vmctr__netdev *s, size_t i,
                    const vmctr__vz_host *host) {
  memcpy(d->mac, s->mac, 6);
  d->mtu = s->mtu;
  switch (s->kind) {
  case VMCTR__NETDEV_NAT:
    if (s->nat_impl != VMCTR__NAT_AUTO)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "network interface %zu: passt and user-mode NAT are QEMU's; "
                        "Virtualization.framework has its own NAT (use the automatic choice)", i);
    if (s->nports)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "network interface %zu: Virtualization.framework's NAT cannot publish "
                        "ports; use a shared network", i);
    d->attachment = VMCTR__VZ_ATTACH_NAT;
    break;
  case VMCTR__NETDEV_SHARED:
  case VMCTR__NETDEV_HOST_ONLY:
    if (!host->vmnet_networks)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "network interface %zu: %s networks need vmnet networks "
                        "(vmnet_network_create), which macOS 26 or newer provides", i,
                        s->kind == VMCTR__NETDEV_SHARED ? "shared" : "host-only");
    if (!s->network || !*s->network)
      return vmctr__err(VMCTR_EINVAL, 0, "network interface %zu: no network name", i);
    if (s->prefix == 0 || s->prefix > 30)
      return vmctr__err(VMCTR_EINVAL, 0, "network interface %zu: prefix /%u is not 1..30", i,
                        s->prefix);
    d->attachment =
        s->kind == VMCTR__NETDEV_SHARED ? VMCTR__VZ_ATTACH_VMNET_SHARED : VMCTR__VZ_ATTACH_VMNET_HOST;
    d->network = s->network;
    d->mask = prefix_mask(s->prefix);
    d->subnet = s->guest_ip & d->mask;
    /* vmnet keeps the subnet's second address for the host, which is then
     * the guests' gateway; the first and last are nobody's. */
    if (s->gateway && s->gateway != d->subnet + 1)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "network interface %zu: on a vmnet network the gateway is the "
                        "subnet's first host address (the Mac itself), not another one", i);
    if (s->guest_ip == d->subnet + 1 || (s->guest_ip | ~d->mask) == s->guest_ip ||
        s->guest_ip == d->subnet)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "network interface %zu: the guest address is one vmnet reserves", i);
    return 0;
  case VMCTR__NETDEV_BRIDGED:
    if (!s->host_if || !*s->host_if)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "network interface %zu: a bridged network needs a host interface", i);
    d->attachment = VMCTR__VZ_ATTACH_BRIDGED;
    d->host_if = s->host_if;
    break;
  case VMCTR__NETDEV_TAP:
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "network interface %zu: tap devices are Linux's; on macOS shared, "
                      "host-only and bridged networks use vmnet", i);
  default:
    return vmctr__err(VMCTR_EINVAL, 0, "network interface %zu: unknown kind %u", i, s->kind);
  }
  /* Only a vmnet network takes an MTU; VZ's NAT and a bridge carry 1500. */
  if (d->mtu > VMCTR__VZ_PLAIN_MTU)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "network interface %zu: MTU %u needs a shared or host-only network; "
                      "NAT and bridged interfaces carry at most %u", i, d->mtu,
                      VMCTR__VZ_PLAIN_MTU);
  return 0;
}

static int plan_machine(vmctr__vz_plan *p, const vmctr__vm_spec *spec,
                        const vmctr__vz_host *host) {
  if (!spec->kernel || !*spec->kernel)
    return vmctr__err(VMCTR_EINVAL, 0, "the VM has no kernel");
  if (spec->accel != VMCTR_ACCEL_HVF)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "Virtualization.framework always runs on Apple's hypervisor; "
                      "the %s accelerator is QEMU's", vmctr_accelerator_name(spec->accel));
  if (!spec->arch || (strcmp(spec->arch, "aarch64") != 0 && strcmp(spec->arch, "x86_64") != 0))
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "Virtualization.framework runs aarch64 guests on Apple silicon and x86_64 "
                      "guests on Intel Macs, not %s", spec->arch ? spec->arch : "(none)");
  if (spec->cpus == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "the VM needs at least one CPU");
  if (host->max_cpus && spec->cpus > host->max_cpus)
    return vmctr__err(VMCTR_EINVAL, 0, "%u CPUs asked for; this Mac allows a VM at most %u",
                      spec->cpus, host->max_cpus);
  /* VZ takes memory in whole MiB: round up, so the guest gets no less. */
  if (spec->memory == 0 || spec->memory > UINT64_MAX - VMCTR__MIB)
    return vmctr__err(VMCTR_EINVAL, 0, "memory size %llu is not a usable size",
                      (unsigned long long)spec->memory);
  p->memory = (spec->memory + VMCTR__MIB - 1) / VMCTR__MIB * VMCTR__MIB;
  if (host->max_memory && p->memory > host->max_memory)
    return vmctr__err(VMCTR_EINVAL, 0, "%llu MiB of memory asked for; this Mac allows a VM at "
                      "most %llu MiB", (unsigned long long)(p->memory / VMCTR__MIB),
                      (unsigned long long)(host->max_memory / VMCTR__MIB));
  if (spec->nested_virtualization && !host->nested_supported)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "nested virtualization is not supported on this Mac (needs Apple M3 or "
                      "newer and macOS 15+)");
  if (spec->rosetta) {
    if (strcmp(spec->arch, "aarch64") != 0)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "Rosetta for Linux guests needs a Mac with Apple silicon");
    if (!host->rosetta_installed)
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "Rosetta is not available on this Mac (install it with: "
                        "softwareupdate --install-rosetta; needs macOS 13+)");
  }
  if (!spec->console_log || !*spec->console_log)
    return vmctr__err(VMCTR_EINVAL, 0, "the VM has no console log file");
  if (spec->agent_port == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "the VM has no agent port");
  p->kernel = spec->kernel;
  p->initfs = spec->initfs;
  p->cpus = spec->cpus;
  p->nested = spec->nested_virtualization;
  p->rosetta = spec->rosetta;
  p->entropy = spec->entropy;
  p->console_port = VMCTR__VZ_CONSOLE_PORT;
  p->console_log = spec->console_log;
  p->agent_port = spec->agent_port;
  /* The guest's console is the virtio console; VZ lists its devices itself
   * (PCI), so no device arguments, whatever firmware_tables says. */
  vmctr__strbuf sb = {0};
  vmctr__sb_puts(&sb, "console=" VMCTR__VZ_CONSOLE);
  for (char *const *a = spec->kernel_args; a && *a; a++)
    vmctr__sb_printf(&sb, " %s", *a);
  return (p->cmdline = vmctr__sb_steal(&sb)) ? 0 : VMCTR_ENOMEM;
}

int vmctr__vz_plan_make(vmctr__vz_plan *plan, const vmctr__vm_spec *spec,
                        const vmctr__vz_host *host) {
  vmctr__vz_plan p = {0};
  int r;
  if (!plan || !spec || !host)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__vz_plan_make: an argument is NULL");
  memset(plan, 0, sizeof(*plan));
  if ((r = plan_machine(&p, spec, host)) < 0)
    goto fail;
  if ((spec->ndisks && !(p.disks = calloc(spec->ndisks, sizeof(*p.disks)))) ||
      (spec->nshares && !(p.shares = calloc(spec->nshares, sizeof(*p.shares)))) ||
      (spec->nnics && !(p.nics = calloc(spec->nnics, sizeof(*p.nics))))) {
    r = vmctr__err_nomem();
    goto fail;
  }
  for (; p.ndisks < spec->ndisks; p.ndisks++)
    if ((r = plan_disk(&p.disks[p.ndisks], &spec->disks[p.ndisks], p.ndisks, host)) < 0)
      goto fail;
  for (; p.nshares < spec->nshares; p.nshares++) {
    if ((r = plan_share(&p.shares[p.nshares], &spec->shares[p.nshares], p.nshares)) < 0)
      goto fail;
    for (size_t k = 0; k < p.nshares; k++)
      if (strcmp(p.shares[k].tag, p.shares[p.nshares].tag) == 0) {
        r = vmctr__err(VMCTR_EINVAL, 0, "shares %zu and %zu have the same tag %s", k, p.nshares,
                       p.shares[k].tag);
        goto fail;
      }
  }
  for (; p.nnics < spec->nnics; p.nnics++)
    if ((r = plan_nic(&p.nics[p.nnics], &spec->nics[p.nnics], p.nnics, host)) < 0)
      goto fail;
  *plan = p;
  return 0;
fail:
  vmctr__vz_plan_clear(&p);
  return r;
}

void vmctr__vz_plan_clear(vmctr__vz_plan *plan) {
  if (!plan)
    return;
  free(plan->cmdline);
  free(plan->disks);
  free(plan->shares);
  free(plan->nics);
  memset(plan, 0, sizeof(*plan));
}
