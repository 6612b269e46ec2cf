/* SPDX-License-Identifier: MIT */
/* The VM manager's network interfaces: checked and copied when added, handed
 * to the backend in the VM spec at start. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "vmm/vmm-priv.h"

/* An address (host byte order) as the four values of "%u.%u.%u.%u". */
#define IP4(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff

static uint32_t mask_of(uint32_t prefix) {
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* guest_ip and gateway: distinct host addresses (neither the network's nor
 * its broadcast address) of guest_ip/prefix. */
static int check_nat(const vmctr__netdev *nd) {
  if (nd->prefix < 1 || nd->prefix > 30)
    return vmctr__err(VMCTR_EINVAL, 0, "NAT network interface: prefix /%u must be 1..30",
                      nd->prefix);
  uint32_t m = mask_of(nd->prefix), net = nd->guest_ip & m;
  const uint32_t addr[2] = {nd->guest_ip, nd->gateway};
  static const char *const what[2] = {"guest address", "gateway"};
  for (int i = 0; i < 2; i++)
    if ((addr[i] & m) != net || (addr[i] & ~m) == 0 || (addr[i] & ~m) == ~m)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "NAT network interface: the %s %u.%u.%u.%u is not a host address of "
                        "%u.%u.%u.%u/%u", what[i], IP4(addr[i]), IP4(net), nd->prefix);
  if (nd->guest_ip == nd->gateway)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "NAT network interface: guest address and gateway are both %u.%u.%u.%u",
                      IP4(nd->guest_ip));
  if (nd->nat_impl != VMCTR__NAT_AUTO && nd->nat_impl != VMCTR__NAT_PASST &&
      nd->nat_impl != VMCTR__NAT_USER)
    return vmctr__err(VMCTR_EINVAL, 0, "NAT network interface: unknown implementation %u",
                      nd->nat_impl);
  if (nd->nports && !nd->ports)
    return vmctr__err(VMCTR_EINVAL, 0, "NAT network interface: ports is NULL");
  for (size_t i = 0; i < nd->nports; i++) {
    const vmctr__net_port *p = &nd->ports[i];
    if ((p->proto != VMCTR__NET_TCP && p->proto != VMCTR__NET_UDP) || p->host_port == 0 ||
        p->guest_port == 0)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "published port %zu: protocol must be TCP or UDP and both ports 1..65535",
                        i);
  }
  return 0;
}

static int check_netdev(const vmctr_vmm *vmm, const vmctr__netdev *nd) {
  static const uint8_t zero[6] = {0};
  if (nd->kind != VMCTR__NETDEV_NAT && nd->kind != VMCTR__NETDEV_TAP)
    return vmctr__err(VMCTR_EINVAL, 0, "network interface: unknown kind %u", nd->kind);
  if (nd->mtu < 68 || nd->mtu > 65535)
    return vmctr__err(VMCTR_EINVAL, 0, "network interface: MTU %u is not 68..65535", nd->mtu);
  if ((nd->mac[0] & 1) || memcmp(nd->mac, zero, 6) == 0)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "network interface: MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast "
                      "address", nd->mac[0], nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4],
                      nd->mac[5]);
  for (size_t i = 0; i < vmm->nnics; i++)
    if (memcmp(vmm->nics[i].mac, nd->mac, 6) == 0)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "network interface: MAC %02x:%02x:%02x:%02x:%02x:%02x is already the "
                        "VM's interface %zu", nd->mac[0], nd->mac[1], nd->mac[2], nd->mac[3],
                        nd->mac[4], nd->mac[5], i);
  if (nd->kind == VMCTR__NETDEV_TAP) {
    if (nd->tap_fd < 0 || fcntl(nd->tap_fd, F_GETFD) < 0)
      return vmctr__err(VMCTR_EINVAL, 0, "tap network interface: fd %d is not open", nd->tap_fd);
    if (nd->nports)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "tap network interface: published ports need a NAT interface");
    return 0;
  }
  return check_nat(nd);
}

int vmctr__vmm_add_netdev(vmctr_vmm *vmm, const vmctr__netdev *nd) {
  vmctr__netdev c, *v;
  int r;
  if (!vmm || !nd)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__vmm_add_netdev: %s is NULL", !vmm ? "vmm" : "nd");
  if (vmm->state != VMCTR_VMM_STATE_NEW)
    return vmctr__err(VMCTR_ESTATE, 0, "vmctr__vmm_add_netdev: the VM was already started");
  if (vmm->nnics >= VMCTR__VMM_MAX_NICS)
    return vmctr__err(VMCTR_EINVAL, 0, "a VM takes at most %u network interfaces",
                      VMCTR__VMM_MAX_NICS);
  if ((r = check_netdev(vmm, nd)) < 0)
    return r;
  c = *nd;
  c.tap_fd = -1;
  c.ports = NULL;
  if (nd->kind == VMCTR__NETDEV_NAT && nd->nports) {
    vmctr__net_port *p = calloc(nd->nports, sizeof(*p));
    if (!p)
      return vmctr__err_nomem();
    memcpy(p, nd->ports, nd->nports * sizeof(*p));
    c.ports = p;
  } else {
    c.nports = 0;
  }
  if (nd->kind == VMCTR__NETDEV_TAP && (c.tap_fd = fcntl(nd->tap_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
    r = vmctr__err_os(errno, "cannot duplicate the tap fd %d", nd->tap_fd);
    goto fail;
  }
  if (!(v = realloc(vmm->nics, (vmm->nnics + 1) * sizeof(*v)))) {
    r = vmctr__err_nomem();
    goto fail;
  }
  vmm->nics = v;
  vmm->nics[vmm->nnics++] = c;
  return 0;
fail:
  if (c.tap_fd >= 0)
    close(c.tap_fd);
  free((void *)c.ports);
  return r;
}

int vmctr__vmm_set_netns(vmctr_vmm *vmm, int fd) {
  if (!vmm || fd < 0)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__vmm_set_netns: %s", !vmm ? "vmm is NULL" : "bad fd");
  if (vmm->state != VMCTR_VMM_STATE_NEW)
    return vmctr__err(VMCTR_ESTATE, 0, "vmctr__vmm_set_netns: the VM was already started");
  int c = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (c < 0)
    return vmctr__err_os(errno, "cannot duplicate the network namespace fd %d", fd);
  if (vmm->has_netns)
    close(vmm->netns_fd);
  vmm->netns_fd = c;
  vmm->has_netns = true;
  return 0;
}

void vmctr__vmm_free_nics(vmctr_vmm *vmm) {
  if (vmm->has_netns)
    close(vmm->netns_fd);
  vmm->has_netns = false;
  for (size_t i = 0; i < vmm->nnics; i++) {
    if (vmm->nics[i].tap_fd >= 0)
      close(vmm->nics[i].tap_fd);
    free((void *)vmm->nics[i].ports);
  }
  free(vmm->nics);
  vmm->nics = NULL;
  vmm->nnics = 0;
}
