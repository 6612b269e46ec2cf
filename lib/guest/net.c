/* SPDX-License-Identifier: MIT */
/* The network: loopback at start, and CONFIG_IFACE (one interface found by
 * its MAC, configured through lib/net/rtnl.c). Every field is checked before
 * anything changes; a failure of the kernel's midway is reported with the
 * step, and what came before it stays (a repeat of the request finishes it:
 * addresses and routes that exist already are fine). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guest/guest-priv.h"
#include "net/rtnl.h"

void guest_net_lo_up(void) {
  int lo = vmctr__rtnl_ifindex("lo");
  vmctr__rtnl_link l;
  int r = lo < 0 ? lo : vmctr__rtnl_link_get(lo, &l);
  /* Only when it is down: in --agent-fd mode on a host it is up already,
   * and then nothing is written. */
  if (r == 0 && !l.up)
    r = vmctr__rtnl_link_set(lo, 1, 0);
  if (r < 0)
    guest_log("loopback: cannot bring lo up: %s", strerror(-r));
}

static bool unicast4(uint32_t ip) {
  return (ip >> 24) != 0 && (ip >> 24) != 127 && ip < 0xe0000000u;
}

static uint32_t mask4(uint32_t prefix) {
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* An optional u32: absent is 0, a malformed one an error. */
static int opt_u32(const vmctr__agent_msg *m, uint16_t tag, uint32_t *out) {
  int r = vmctr__agent_get_u32(m, tag, out);
  if (r == -ENOENT) {
    *out = 0;
    return 0;
  }
  return r;
}

static void fmt_ip(char *buf, size_t size, uint32_t ip) {
  snprintf(buf, size, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

const char *guest_net_parse_iface(const vmctr__agent_msg *m, guest_iface *q, char *msg,
                                  size_t size) {
  static const uint8_t zero[6];
  const uint8_t *mac;
  size_t n;
  memset(q, 0, sizeof(*q));
  if (vmctr__agent_get_bytes(m, VMCTR_AT_MAC, &mac, &n) < 0 || n != 6)
    return "CONFIG_IFACE needs a MAC of 6 bytes";
  if ((mac[0] & 1) || memcmp(mac, zero, 6) == 0)
    return "CONFIG_IFACE: the MAC must be a unicast, nonzero address";
  q->mac = mac;
  if (opt_u32(m, VMCTR_AT_MTU, &q->mtu) < 0 || opt_u32(m, VMCTR_AT_ADDR4, &q->addr) < 0 ||
      opt_u32(m, VMCTR_AT_PREFIX, &q->prefix) < 0 ||
      opt_u32(m, VMCTR_AT_GATEWAY4, &q->gateway) < 0)
    return "CONFIG_IFACE: MTU, ADDR4, PREFIX and GATEWAY4 are u32 fields";
  if (q->mtu && (q->mtu < VMCTR_AGENT_MTU_MIN || q->mtu > VMCTR_AGENT_MTU_MAX)) {
    snprintf(msg, size, "CONFIG_IFACE: MTU %u is outside %u..%u", q->mtu, VMCTR_AGENT_MTU_MIN,
             VMCTR_AGENT_MTU_MAX);
    return msg;
  }
  if (q->addr ? !unicast4(q->addr) || q->prefix < 1 || q->prefix > 32 : q->prefix != 0) {
    char ip[16];
    fmt_ip(ip, sizeof(ip), q->addr);
    snprintf(msg, size, "CONFIG_IFACE: address %s/%u: an address must be unicast with a prefix "
             "of 1..32, and a PREFIX needs an ADDR4", ip, q->prefix);
    return msg;
  }
  if (q->gateway && !unicast4(q->gateway))
    return "CONFIG_IFACE: GATEWAY4 must be a unicast address";
  size_t nr = vmctr__agent_count(m, VMCTR_AT_ROUTE4);
  if (nr > VMCTR_AGENT_MAX_ROUTES) {
    snprintf(msg, size, "CONFIG_IFACE: %zu routes; at most %u", nr, VMCTR_AGENT_MAX_ROUTES);
    return msg;
  }
  for (size_t i = 0; i < m->n; i++) {
    const vmctr__agent_field *f = &m->fields[i];
    if (f->tag != VMCTR_AT_ROUTE4)
      continue;
    if (f->len != VMCTR_AGENT_ROUTE4_SIZE)
      return "CONFIG_IFACE: ROUTE4 must be 12 bytes";
    uint32_t *rt = q->routes[q->nroutes];
    rt[0] = vmctr__agent_le32(f->val);
    rt[1] = vmctr__agent_le32(f->val + 4);
    rt[2] = vmctr__agent_le32(f->val + 8);
    if (rt[1] > 32 || (rt[0] & ~mask4(rt[1])) || (rt[2] && !unicast4(rt[2]))) {
      char dst[16], via[16];
      fmt_ip(dst, sizeof(dst), rt[0]);
      fmt_ip(via, sizeof(via), rt[2]);
      snprintf(msg, size, "CONFIG_IFACE: route %s/%u via %s: the prefix must be 0..32, the "
               "destination have no bits beyond it, the gateway be unicast", dst, rt[1], via);
      return msg;
    }
    q->nroutes++;
  }
  return NULL;
}

void guest_op_config_iface(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_iface q;
  char msg[256], mac[18], ip[16], via[16];
  const char *bad = guest_net_parse_iface(m, &q, msg, sizeof(msg));
  if (bad) {
    guest_respond(a, id, EINVAL, bad);
    return;
  }
  snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", q.mac[0], q.mac[1], q.mac[2],
           q.mac[3], q.mac[4], q.mac[5]);
  int idx = vmctr__rtnl_find_mac(q.mac);
  if (idx < 0) {
    snprintf(msg, sizeof(msg), "no network interface has the MAC %s%s%s", mac,
             idx == -ENODEV ? "" : ": ", idx == -ENODEV ? "" : strerror(-idx));
    guest_respond(a, id, -idx, msg);
    return;
  }
  vmctr__rtnl_link l;
  int r = vmctr__rtnl_link_get(idx, &l);
  const char *name = r == 0 ? l.name : mac;
  if (r == 0)
    r = vmctr__rtnl_link_set(idx, 1, q.mtu);
  if (r < 0) {
    snprintf(msg, sizeof(msg), "%s (%s): setting MTU %u and up: %s", name, mac, q.mtu,
             strerror(-r));
    guest_respond(a, id, -r, msg);
    return;
  }
  if (q.addr && (r = vmctr__rtnl_addr_add(idx, q.addr, q.prefix)) < 0 && r != -EEXIST) {
    fmt_ip(ip, sizeof(ip), q.addr);
    snprintf(msg, sizeof(msg), "%s: adding address %s/%u: %s", name, ip, q.prefix, strerror(-r));
    guest_respond(a, id, -r, msg);
    return;
  }
  for (size_t i = 0; i < q.nroutes; i++) {
    const uint32_t *rt = q.routes[i];
    r = vmctr__rtnl_route_add(idx, rt[0], rt[1], rt[2]);
    if (r < 0 && r != -EEXIST) {
      fmt_ip(ip, sizeof(ip), rt[0]);
      fmt_ip(via, sizeof(via), rt[2]);
      snprintf(msg, sizeof(msg), "%s: adding route %s/%u via %s: %s", name, ip, rt[1], via,
               strerror(-r));
      guest_respond(a, id, -r, msg);
      return;
    }
  }
  if (q.gateway && (r = vmctr__rtnl_route_add(idx, 0, 0, q.gateway)) < 0 && r != -EEXIST) {
    fmt_ip(via, sizeof(via), q.gateway);
    snprintf(msg, sizeof(msg), "%s: adding the default route via %s: %s", name, via,
             strerror(-r));
    guest_respond(a, id, -r, msg);
    return;
  }
  guest_respond(a, id, 0, NULL);
}
