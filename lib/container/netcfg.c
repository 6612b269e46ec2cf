/* SPDX-License-Identifier: MIT */
/* A container configuration's networks and published ports
 * (vmctr_container_config_add_network, _publish_port), its network
 * namespace and its NICs on existing taps (_set_network_namespace,
 * _add_tap, _add_tap_route), and what vmctr_container_new() makes of the
 * last two. */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "core/log.h"
#include "net/addr.h"
#include "net/netns.h"
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
  for (size_t i = 0; i < c->ntaps; i++) {
    free(c->taps[i].ifname);
    free(c->taps[i].routes);
  }
  free(c->taps);
  c->taps = NULL;
  c->ntaps = 0;
  free(c->netns_path);
  c->netns_path = NULL;
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

/* ---- the network namespace and tap NICs ---- */

int vmctr_container_config_set_network_namespace(vmctr_container_config *c, const char *path) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_network_namespace: cfg is NULL");
  if (path && path[0] != '/')
    return vmctr__err(VMCTR_EINVAL, 0, "network namespace \"%s\": the path must be absolute "
                      "(/var/run/netns/NAME, /proc/PID/ns/net)", path);
  char *copy = NULL;
  if (path && !(copy = strdup(path)))
    return vmctr__err_nomem();
  free(c->netns_path);
  c->netns_path = copy;
  return 0;
}

/* "A.B.C.D/N", N 1..32, host bits allowed (an interface's address). */
static int parse_ifaddr(const char *s, uint32_t *addr, uint32_t *prefix) {
  char ip[16];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : 0;
  char *end = NULL;
  unsigned long p = 0;
  if (slash && n < sizeof(ip) && slash[1] >= '0' && slash[1] <= '9')
    p = strtoul(slash + 1, &end, 10);
  if (!slash || n >= sizeof(ip) || !end || *end || p < 1 || p > 32)
    return vmctr__err(VMCTR_EINVAL, 0, "address \"%s\" is not A.B.C.D/N with N 1..32", s);
  memcpy(ip, s, n);
  ip[n] = '\0';
  int r = vmctr__ip4_parse(ip, addr);
  if (r < 0)
    return r;
  uint32_t m = vmctr__ip4_mask((uint32_t)p);
  if (*addr == 0 || (*addr >> 24) == 127 || (*addr >> 28) >= 14 ||
      (p < 31 && ((*addr & ~m) == 0 || (*addr & ~m) == ~m)))
    return vmctr__err(VMCTR_EINVAL, 0, "address %s is not a unicast host address of its subnet", s);
  *prefix = (uint32_t)p;
  return 0;
}

static int parse_unicast(const char *what, const char *s, uint32_t *ip) {
  int r = vmctr__ip4_parse(s, ip);
  if (r < 0)
    return r;
  if (*ip == 0 || (*ip >> 28) >= 14)
    return vmctr__err(VMCTR_EINVAL, 0, "%s %s is not a unicast address", what, s);
  return 0;
}

static struct vmctr__tapreq *find_tap(vmctr_container_config *c, const char *ifname) {
  for (size_t i = 0; i < c->ntaps; i++)
    if (strcmp(c->taps[i].ifname, ifname) == 0)
      return &c->taps[i];
  return NULL;
}

int vmctr_container_config_add_tap(vmctr_container_config *c, const char *ifname, const char *mac,
                                   const char *address, const char *gateway, uint32_t mtu) {
  if (!c || !ifname)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_add_tap: NULL argument");
  if (!*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') || strchr(ifname, ' '))
    return vmctr__err(VMCTR_EINVAL, 0, "tap \"%s\": an interface name is 1..%d characters "
                      "without '/' or spaces", ifname, IFNAMSIZ - 1);
  if (c->nnets + c->ntaps >= MAX_NETS)
    return vmctr__err(VMCTR_ETOOBIG, 0, "a container has at most %u networks and taps", MAX_NETS);
  if (find_tap(c, ifname))
    return vmctr__err(VMCTR_EEXIST, 0, "tap %s is already a NIC of this container", ifname);
  if (mtu && (mtu < 68 || mtu > 65535))
    return vmctr__err(VMCTR_EINVAL, 0, "tap %s: MTU %u is not 68..65535", ifname, mtu);
  struct vmctr__tapreq q = {.mtu = mtu};
  int r;
  if (mac) {
    if ((r = vmctr__mac_parse(mac, q.mac)) < 0)
      return r;
    static const uint8_t zero[6];
    if ((q.mac[0] & 1) || memcmp(q.mac, zero, 6) == 0)
      return vmctr__err(VMCTR_EINVAL, 0, "MAC %s is not a unicast address; a NIC needs one", mac);
    for (size_t i = 0; i < c->ntaps; i++)
      if (c->taps[i].has_mac && memcmp(c->taps[i].mac, q.mac, 6) == 0)
        return vmctr__err(VMCTR_EEXIST, 0, "MAC %s is already tap %s's", mac, c->taps[i].ifname);
    q.has_mac = true;
  }
  if (address && (r = parse_ifaddr(address, &q.addr, &q.prefix)) < 0)
    return r;
  if (gateway) {
    if (!address)
      return vmctr__err(VMCTR_EINVAL, 0, "tap %s: a gateway needs an address", ifname);
    if ((r = parse_unicast("gateway", gateway, &q.gateway)) < 0)
      return r;
    if (q.gateway == q.addr)
      return vmctr__err(VMCTR_EINVAL, 0, "tap %s: the gateway %s is the interface's own address",
                        ifname, gateway);
  }
  struct vmctr__tapreq *n = realloc(c->taps, (c->ntaps + 1) * sizeof(*n));
  if (!n)
    return vmctr__err_nomem();
  c->taps = n;
  if (!(q.ifname = strdup(ifname)))
    return vmctr__err_nomem();
  c->taps[c->ntaps++] = q;
  return 0;
}

int vmctr_container_config_add_tap_route(vmctr_container_config *c, const char *ifname,
                                         const char *dst, const char *via) {
  if (!c || !ifname || !dst)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_add_tap_route: NULL argument");
  struct vmctr__tapreq *t = find_tap(c, ifname);
  if (!t)
    return vmctr__err(VMCTR_ENOENT, 0, "route %s: no tap %s (add it with "
                      "vmctr_container_config_add_tap() first)", dst, ifname);
  if (t->nroutes >= VMCTR__NET_MAX_ROUTES)
    return vmctr__err(VMCTR_ETOOBIG, 0, "tap %s has %u routes already, the most it takes", ifname,
                      VMCTR__NET_MAX_ROUTES);
  vmctr__net_route rt = {0};
  int r = vmctr__cidr_parse(dst, 0, 32, &rt.dst, &rt.prefix);
  if (r < 0)
    return r;
  if (via && (r = parse_unicast("route gateway", via, &rt.via)) < 0)
    return r;
  if (rt.via && !t->addr)
    return vmctr__err(VMCTR_EINVAL, 0, "route %s via %s: tap %s has no address to reach a "
                      "gateway from", dst, via, ifname);
  for (size_t i = 0; i < t->nroutes; i++)
    if (t->routes[i].dst == rt.dst && t->routes[i].prefix == rt.prefix)
      return vmctr__err(VMCTR_EEXIST, 0, "tap %s has a route to %s already", ifname, dst);
  vmctr__net_route *n = realloc(t->routes, (t->nroutes + 1) * sizeof(*n));
  if (!n)
    return vmctr__err_nomem();
  t->routes = n;
  t->routes[t->nroutes++] = rt;
  return 0;
}

int vmctr__container_join_netns(vmctr_container *c, const vmctr_container_config *cfg) {
  if (!cfg->netns_path)
    return 0;
  int r = vmctr__netns_open(cfg->netns_path, &c->netns_fd);
  if (r < 0)
    return r;
  vmctr__log(VMCTR_LOG_INFO, "container", "%s: the VM runs in the network namespace %s", c->id,
             cfg->netns_path);
  return vmctr__vmm_set_netns(c->vmm, c->netns_fd);
}

int vmctr__container_attach_taps(vmctr_container *c, const vmctr_container_config *cfg) {
  size_t base = c->nnets, total = 0;
  for (size_t i = 0; i < cfg->ntaps; i++)
    total += cfg->taps[i].nroutes;
  if (total && !(c->tap_routes = calloc(total, sizeof(*c->tap_routes))))
    return vmctr__err_nomem();
  vmctr__net_route *rt = c->tap_routes;
  for (size_t i = 0; i < cfg->ntaps; i++) {
    const struct vmctr__tapreq *q = &cfg->taps[i];
    vmctr__net_attachment *a = &c->nets[base + i];
    bool first = base + i == 0;
    int r;
    /* The default route goes with the first interface only. */
    if (q->gateway && !first)
      return vmctr__err(VMCTR_EINVAL, 0, "tap %s has a gateway but is not the container's first "
                        "interface (%s is), which carries the default route", q->ifname,
                        base ? "a network" : cfg->taps[0].ifname);
    uint32_t mtu = 0;
    if ((r = vmctr__netns_tap_open(c->netns_fd, q->ifname, &a->tap_fd, &mtu)) < 0)
      return r;
    c->nnets = base + i + 1;
    if (q->has_mac)
      memcpy(a->gif.mac, q->mac, 6);
    else if ((r = vmctr__mac_random(a->gif.mac)) < 0)
      return r;
    a->gif.mtu = q->mtu ? q->mtu : mtu;
    if (a->gif.mtu < 68 || a->gif.mtu > 65535)
      return vmctr__err(VMCTR_EINVAL, 0, "tap %s: its MTU %u is not 68..65535", q->ifname,
                        a->gif.mtu);
    a->gif.addr = q->addr;
    a->gif.prefix = q->prefix;
    a->gif.gateway = q->gateway;
    if (q->nroutes)
      memcpy(rt, q->routes, q->nroutes * sizeof(*rt));
    a->gif.routes = q->nroutes ? rt : NULL;
    a->gif.nroutes = q->nroutes;
    rt += q->nroutes;
    a->dev.kind = VMCTR__NETDEV_TAP;
    a->dev.tap_fd = a->tap_fd;
    a->dev.mtu = a->gif.mtu;
    memcpy(a->dev.mac, a->gif.mac, 6);
    char ip[16];
    if (q->addr)
      snprintf(a->addr_text, sizeof(a->addr_text), "%s/%u", vmctr__ip4_format(q->addr, ip),
               q->prefix);
    vmctr__mac_format(a->gif.mac, a->mac_text);
    if ((r = vmctr__vmm_add_netdev(c->vmm, &a->dev)) < 0)
      return r;
    vmctr__log(VMCTR_LOG_INFO, "container", "%s: %s on tap %s (%s, MTU %u)", c->id,
               q->addr ? a->addr_text : "no address", q->ifname, a->mac_text, a->gif.mtu);
  }
  return 0;
}
