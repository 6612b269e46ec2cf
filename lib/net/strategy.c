/* SPDX-License-Identifier: MIT */
/* Interface strategies: an attachment becomes a NIC, a guest interface and
 * the host objects behind them (lib/net/strategy.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "net/addr.h"
#include "net/store.h"
#include "net/strategy.h"
#if defined(__linux__)
#include "net/host.h"
#endif

static void fill_texts(vmctr__net_attachment *a) {
  char ip[16];
  vmctr__ip4_format(a->gif.addr, ip);
  snprintf(a->addr_text, sizeof(a->addr_text), "%s/%u", ip, a->gif.prefix);
  vmctr__mac_format(a->gif.mac, a->mac_text);
}

static int copy_ports(vmctr__net_attachment *a, const vmctr__net_port *ports, size_t nports) {
  if (nports == 0)
    return 0;
  a->ports = calloc(nports, sizeof(*ports));
  if (!a->ports)
    return vmctr__err_nomem();
  memcpy(a->ports, ports, nports * sizeof(*ports));
  a->nports = nports;
  return 0;
}

static int attach_isolated(vmctr__net_attachment *a, const char *req_ip, const uint8_t *req_mac) {
  uint32_t subnet, prefix, gw = vmctr__network_gateway(a->net), ip = 0;
  vmctr__network_subnet(a->net, &subnet, &prefix);
  uint32_t dns = a->ndns ? a->dns[0] : 0;
  if (req_ip) {
    int r = vmctr__ip4_parse(req_ip, &ip);
    if (r < 0)
      return r;
    if (!vmctr__ip4_is_host(ip, subnet, prefix) || ip == gw || ip == dns)
      return vmctr__err(VMCTR_EINVAL, 0, "address %s is not a free host address of network %s (%s)",
                        req_ip, vmctr_network_name(a->net), vmctr_network_subnet(a->net));
  } else if (!(ip = vmctr__network_isolated_guest(a->net))) {
    return vmctr__err(VMCTR_ENOSPC, 0, "network %s (%s) has no host address for a guest",
                      vmctr_network_name(a->net), vmctr_network_subnet(a->net));
  }
  if (req_mac)
    memcpy(a->gif.mac, req_mac, 6);
  else
    vmctr__mac_random(a->gif.mac);
  a->gif.addr = ip;
  a->gif.prefix = prefix;
  a->dev.kind = VMCTR__NETDEV_NAT;
  a->dev.nat_impl = vmctr_network_nat(a->net);
  a->dev.guest_ip = ip;
  a->dev.prefix = prefix;
  a->dev.gateway = gw;
  a->dev.dns = dns;
  return 0;
}

#if defined(__linux__)
static void host_net_of(const vmctr_network *n, vmctr__host_net *hn) {
  memset(hn, 0, sizeof(*hn));
  hn->mode = vmctr_network_mode(n);
  vmctr__network_id(n, hn->id);
  vmctr__network_subnet(n, &hn->subnet, &hn->prefix);
  hn->gateway = vmctr__network_gateway(n);
  hn->mtu = vmctr_network_mtu(n);
  hn->host_if = vmctr_network_host_interface(n);
}

/* The firewall for the leases now in the store (the caller holds the lock):
 * every published port of every live lease. */
static int sync_firewall(const vmctr__host_net *hn, const vmctr__net_lease *leases, size_t count) {
  if (hn->mode == VMCTR__HOSTNET_BRIDGED)
    return 0; /* the guests are on the host's LAN: no NAT, no table */
  size_t nfw = 0;
  for (size_t i = 0; i < count; i++)
    nfw += leases[i].nports;
  vmctr__host_forward *fw = nfw ? calloc(nfw, sizeof(*fw)) : NULL;
  if (nfw && !fw)
    return vmctr__err_nomem();
  size_t k = 0;
  for (size_t i = 0; i < count; i++)
    for (size_t j = 0; j < leases[i].nports; j++)
      fw[k++] = (vmctr__host_forward){.port = leases[i].ports[j], .guest_ip = leases[i].ip};
  int r = vmctr__host_net_sync(hn, fw, nfw);
  free(fw);
  return r;
}

/* Under the network's lock: drop the host objects of a network with no
 * live lease left (the last user went, or crashed). */
static void host_down_if_unused(const vmctr_network *n, const vmctr__host_net *hn) {
  vmctr__net_lease *leases = NULL;
  size_t count = 0;
  if (vmctr__net_leases(n, &leases, &count, NULL) < 0) {
    vmctr__log(VMCTR_LOG_WARN, "net", "network %s: cannot read its leases: %s",
               vmctr_network_name(n), vmctr_error_last()->message);
    return;
  }
  int r = count == 0 ? vmctr__host_net_down(hn) : sync_firewall(hn, leases, count);
  if (r < 0)
    vmctr__log(VMCTR_LOG_WARN, "net", "network %s: %s", vmctr_network_name(n),
               vmctr_error_last()->message);
  vmctr__net_leases_free(leases, count);
}

static int attach_bridge(vmctr__net_attachment *a, const char *hostname, const char *req_ip,
                         const uint8_t *req_mac, bool first) {
  vmctr__host_net hn;
  host_net_of(a->net, &hn);
  uint32_t want = 0;
  int r, lock = -1;
  if (req_ip && (r = vmctr__ip4_parse(req_ip, &want)) < 0)
    return r;
  if ((r = vmctr__net_lock(a->net, &lock)) < 0)
    return r;
  vmctr__net_lease *leases = NULL;
  size_t count = 0, reclaimed = 0;
  /* Stale leases of crashed owners go first; with none live left, what a
   * crash left in the host is stale too, and is rebuilt from scratch. */
  if ((r = vmctr__net_leases(a->net, &leases, &count, &reclaimed)) < 0)
    goto out;
  if (reclaimed)
    vmctr__log(VMCTR_LOG_INFO, "net", "network %s: reclaimed %zu lease(s) of exited processes",
               vmctr_network_name(a->net), reclaimed);
  if (count == 0 && (r = vmctr__host_net_down(&hn)) < 0)
    goto out;
  vmctr__net_leases_free(leases, count);
  leases = NULL;
  count = 0;
  if ((r = vmctr__host_net_up(&hn)) < 0)
    goto out_down;
  a->host_objects = true;
  vmctr__net_lease mine = {0};
  if ((r = vmctr__net_lease_add(a->net, a->owner, want, req_mac, hostname, first ? a->ports : NULL,
                                first ? a->nports : 0, &mine)) < 0)
    goto out_down;
  a->leased = true;
  a->gif.addr = mine.ip;
  memcpy(a->gif.mac, mine.mac, 6);
  vmctr__net_lease_clear(&mine);
  char tap[16];
  if ((r = vmctr__host_net_tap(&hn, &a->tap_fd, tap)) < 0)
    goto out_down;
  if ((r = vmctr__net_leases(a->net, &leases, &count, NULL)) < 0 ||
      (r = sync_firewall(&hn, leases, count)) < 0)
    goto out_down;
  vmctr__log(VMCTR_LOG_DEBUG, "net", "container %s: tap %s on network %s", a->owner, tap,
             vmctr_network_name(a->net));
  a->gif.prefix = hn.prefix;
  a->dev.kind = VMCTR__NETDEV_TAP;
  a->dev.tap_fd = a->tap_fd;
  /* Published ports of a tap are the host firewall's (sync_firewall). */
  a->dev.ports = NULL;
  a->dev.nports = 0;
  goto out;
out_down:
  /* Undo ours; the network's objects go if nobody else uses them. */
  if (a->tap_fd >= 0)
    close(a->tap_fd);
  a->tap_fd = -1;
  if (a->leased || a->host_objects) {
    vmctr__err_saved saved;
    vmctr__err_save(&saved);
    if (a->leased)
      vmctr__net_lease_remove(a->net, a->owner);
    host_down_if_unused(a->net, &hn);
    vmctr__err_restore(&saved);
  }
  a->leased = false;
  a->host_objects = false;
out:
  vmctr__net_leases_free(leases, count);
  vmctr__net_unlock(lock);
  return r;
}
#endif

int vmctr__net_attach(vmctr__net_attachment *a, const vmctr_network *n, const char *owner,
                      const char *hostname, const char *req_ip, const char *req_mac,
                      const vmctr__net_port *ports, size_t nports, bool first) {
  *a = (vmctr__net_attachment)VMCTR__NET_ATTACHMENT_INIT;
  uint8_t mac[6];
  int r;
  if (req_mac) {
    if ((r = vmctr__mac_parse(req_mac, mac)) < 0)
      return r;
    if (mac[0] & 1)
      return vmctr__err(VMCTR_EINVAL, 0, "MAC %s is a multicast address; a NIC needs a unicast one",
                        req_mac);
  }
  if (!first && nports)
    return vmctr__err(VMCTR_EINVAL, 0, "published ports go with the first network only");
  if (nports && vmctr_network_mode(n) == VMCTR_NETWORK_BRIDGED)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s is bridged: its guests are on the host's LAN "
                      "with addresses of their own, so there is no port to publish",
                      vmctr_network_name(n));
  if ((r = vmctr_network_clone(&a->net, n)) < 0)
    return r;
  if (!(a->owner = strdup(owner))) {
    r = vmctr__err_nomem();
    goto fail;
  }
  if ((r = copy_ports(a, ports, nports)) < 0)
    goto fail;
  const uint32_t *dns = NULL;
  size_t ndns = 0;
  vmctr__network_dns(a->net, &dns, &ndns);
  a->ndns = ndns > 8 ? 8 : ndns;
  memcpy(a->dns, dns, a->ndns * sizeof(*dns));
  a->dev.mtu = a->gif.mtu = vmctr_network_mtu(a->net);
  a->dev.ports = a->ports;
  a->dev.nports = a->nports;
  a->dev.tap_fd = -1;
  switch (vmctr_network_mode(a->net)) {
  case VMCTR_NETWORK_ISOLATED_NAT:
    r = attach_isolated(a, req_ip, req_mac ? mac : NULL);
    break;
#if defined(__linux__)
  case VMCTR_NETWORK_SHARED:
  case VMCTR_NETWORK_HOST_ONLY:
  case VMCTR_NETWORK_BRIDGED:
    if (!vmctr_network_state_dir(a->net)) {
      r = vmctr__err(VMCTR_EINVAL, 0,
                     "network %s is not in a state directory: create it with "
                     "vmctr_network_create() and attach what vmctr_network_open() gives",
                     vmctr_network_name(a->net));
      break;
    }
    r = attach_bridge(a, hostname, req_ip, req_mac ? mac : NULL, first);
    break;
#endif
  default:
    r = vmctr__err(VMCTR_EUNSUPPORTED, 0, "network %s: this build has no %s networks",
                   vmctr_network_name(a->net), "shared, host-only or bridged");
  }
  if (r < 0)
    goto fail;
  memcpy(a->dev.mac, a->gif.mac, 6);
  /* The first interface carries the default route. */
  a->gif.gateway = first && vmctr_network_mode(a->net) != VMCTR_NETWORK_HOST_ONLY
                       ? vmctr__network_gateway(a->net) : 0;
  fill_texts(a);
  return 0;
fail:
  vmctr__net_detach(a);
  return r;
}

void vmctr__net_detach(vmctr__net_attachment *a) {
  if (!a)
    return;
#if defined(__linux__)
  if (a->leased || a->host_objects) {
    vmctr__err_saved saved;
    vmctr__err_save(&saved);
    vmctr__host_net hn;
    host_net_of(a->net, &hn);
    int lock = -1;
    if (vmctr__net_lock(a->net, &lock) == 0) {
      if (a->leased && vmctr__net_lease_remove(a->net, a->owner) < 0)
        vmctr__log(VMCTR_LOG_WARN, "net", "container %s: cannot release its address on %s: %s",
                   a->owner, vmctr_network_name(a->net), vmctr_error_last()->message);
      host_down_if_unused(a->net, &hn);
      vmctr__net_unlock(lock);
    } else {
      vmctr__log(VMCTR_LOG_WARN, "net", "container %s: cannot lock network %s to release it "
                 "(the next user reclaims it): %s", a->owner, vmctr_network_name(a->net),
                 vmctr_error_last()->message);
    }
    vmctr__err_restore(&saved);
  }
#endif
  if (a->tap_fd >= 0)
    close(a->tap_fd);
  vmctr_network_free(a->net);
  free(a->owner);
  free(a->ports);
  /* What the guest was given stays readable (addr_text, mac_text, gif). */
  a->net = NULL;
  a->owner = NULL;
  a->ports = NULL;
  a->nports = 0;
  a->dev.ports = NULL;
  a->dev.nports = 0;
  a->dev.tap_fd = a->tap_fd = -1;
  a->leased = a->host_objects = false;
}

int vmctr__net_peer_hosts(const vmctr__net_attachment *a, char **text) {
  *text = NULL;
  if (!a->net)
    return vmctr__err(VMCTR_ESTATE, 0, "the network was detached");
  vmctr__strbuf sb = {0};
  vmctr__sb_puts(&sb, "");
  if (a->leased) {
    vmctr__net_lease *leases = NULL;
    size_t count = 0;
    int lock = -1, r = vmctr__net_lock(a->net, &lock);
    if (r == 0) {
      r = vmctr__net_leases(a->net, &leases, &count, NULL);
      vmctr__net_unlock(lock);
    }
    if (r < 0) {
      vmctr__sb_free(&sb);
      return r;
    }
    for (size_t i = 0; i < count; i++) {
      if (!leases[i].hostname || strcmp(leases[i].owner, a->owner) == 0)
        continue;
      char ip[16];
      vmctr__ip4_format(leases[i].ip, ip);
      vmctr__sb_printf(&sb, "%s\t%s\n", ip, leases[i].hostname);
    }
    vmctr__net_leases_free(leases, count);
  }
  if (!(*text = vmctr__sb_steal(&sb)))
    return vmctr__err_nomem();
  return 0;
}
