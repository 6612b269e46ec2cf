/* SPDX-License-Identifier: MIT */
/* A container configuration's networks and published ports
 * (vmctr_container_config_add_network, _publish_port). */
#include <stdlib.h>
#include <string.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "net/addr.h"
#include "net/store.h"
#include "vmm/vmm.h"

/* What the layers below take: NICs of one VM, ports of one lease. */
#define MAX_NETS VMCTR__VMM_MAX_NICS
#define MAX_PORTS VMCTR__NET_MAX_PORTS

void vmctr__container_config_free_nets(vmctr_container_config *c) {
  for (size_t i = 0; i < c->nnets; i++) {
    vmctr_network_free(c->nets[i].net);
    free(c->nets[i].ip);
    free(c->nets[i].mac);
  }
  free(c->nets);
  free(c->ports);
  c->nets = NULL;
  c->ports = NULL;
  c->nnets = c->nports = 0;
}

int vmctr_container_config_add_network(vmctr_container_config *c, const vmctr_network *net,
                                       const char *ip, const char *mac) {
  if (!c || !net)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_add_network: NULL argument");
  if (c->nnets >= MAX_NETS)
    return vmctr__err(VMCTR_ETOOBIG, 0, "a container has at most %u networks", MAX_NETS);
  uint32_t a;
  uint8_t m[6];
  int r;
  if (ip && (r = vmctr__ip4_parse(ip, &a)) < 0)
    return r;
  if (mac && (r = vmctr__mac_parse(mac, m)) < 0)
    return r;
  if (mac && (m[0] & 1))
    return vmctr__err(VMCTR_EINVAL, 0, "MAC %s is a multicast address; a NIC needs a unicast one", mac);
  for (size_t i = 0; i < c->nnets; i++)
    if (strcmp(vmctr_network_name(c->nets[i].net), vmctr_network_name(net)) == 0 &&
        vmctr_network_mode(net) != VMCTR_NETWORK_ISOLATED_NAT)
      return vmctr__err(VMCTR_EEXIST, 0, "network %s is already attached", vmctr_network_name(net));
  struct vmctr__netreq q = {0};
  struct vmctr__netreq *n = realloc(c->nets, (c->nnets + 1) * sizeof(*n));
  if (!n)
    return vmctr__err_nomem();
  c->nets = n;
  if ((r = vmctr_network_clone(&q.net, net)) < 0)
    return r;
  if ((ip && !(q.ip = strdup(ip))) || (mac && !(q.mac = strdup(mac)))) {
    vmctr_network_free(q.net);
    free(q.ip);
    return vmctr__err_nomem();
  }
  c->nets[c->nnets++] = q;
  return 0;
}

int vmctr_container_config_publish_port(vmctr_container_config *c, const char *spec) {
  if (!c || !spec)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_publish_port: NULL argument");
  if (c->nports >= MAX_PORTS)
    return vmctr__err(VMCTR_ETOOBIG, 0, "a container publishes at most %u ports", MAX_PORTS);
  vmctr__net_port p;
  int r = vmctr__net_port_parse(spec, &p);
  if (r < 0)
    return r;
  for (size_t i = 0; i < c->nports; i++)
    if (c->ports[i].proto == p.proto && c->ports[i].host_port == p.host_port &&
        (c->ports[i].host_ip == p.host_ip || !c->ports[i].host_ip || !p.host_ip))
      return vmctr__err(VMCTR_EEXIST, 0, "port %s: host port %u/%s is already published", spec,
                        p.host_port, p.proto == VMCTR__NET_UDP ? "udp" : "tcp");
  vmctr__net_port *n = realloc(c->ports, (c->nports + 1) * sizeof(*n));
  if (!n)
    return vmctr__err_nomem();
  c->ports = n;
  c->ports[c->nports++] = p;
  return 0;
}
