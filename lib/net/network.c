/* SPDX-License-Identifier: MIT */
/* The network object: defaults, checked setters, getters, and the numeric
 * accessors the container layer uses (net/store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sha256.h"
#include "core/util.h"
#include "net/addr.h"
#include "net/net-priv.h"
#include "net/store.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

bool vmctr__network_name_ok(const char *name) {
  size_t len = name ? strlen(name) : 0;
  if (len == 0 || len > VMCTR_NETWORK_NAME_MAX)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
      return false;
  }
  return true;
}

int vmctr__network_check_name(const char *name, const char *what) {
  size_t len;
  if (!name)
    return vmctr__err(VMCTR_EINVAL, 0, "%s is NULL", what);
  len = strlen(name);
  if (len == 0 || len > VMCTR_NETWORK_NAME_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "%s \"%.40s\" must be 1 to %u characters long", what, name,
                      VMCTR_NETWORK_NAME_MAX);
  if (!vmctr__network_name_ok(name))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s \"%.40s\": use a letter or digit first, then letters, digits, "
                      "'_', '.' or '-'", what, name);
  return 0;
}

static const char *const mode_names[] = {NULL, "isolated", "shared", "host-only", "bridged"};
static const char *const nat_names[] = {"auto", "passt", "user"};

const char *vmctr__network_mode_name(uint32_t mode) {
  return mode < VMCTR_ARRAY_SIZE(mode_names) ? mode_names[mode] : NULL;
}

uint32_t vmctr__network_mode_from_name(const char *s) {
  for (uint32_t i = 1; s && i < VMCTR_ARRAY_SIZE(mode_names); i++)
    if (strcmp(s, mode_names[i]) == 0)
      return i;
  return 0;
}

const char *vmctr__network_nat_name(uint32_t nat) {
  return nat < VMCTR_ARRAY_SIZE(nat_names) ? nat_names[nat] : NULL;
}

uint32_t vmctr__network_nat_from_name(const char *s, bool *ok) {
  for (uint32_t i = 0; s && i < VMCTR_ARRAY_SIZE(nat_names); i++)
    if (strcmp(s, nat_names[i]) == 0) {
      *ok = true;
      return i;
    }
  *ok = false;
  return 0;
}

static void format_strings(vmctr_network *n) {
  char ip[16];
  vmctr__ip4_format(n->subnet, ip);
  snprintf(n->subnet_str, sizeof(n->subnet_str), "%s/%u", ip, n->prefix);
  vmctr__ip4_format(n->gateway, n->gateway_str);
  for (size_t i = 0; i < n->ndns; i++)
    vmctr__ip4_format(n->dns[i], n->dns_str[i]);
}

int vmctr_network_new(vmctr_network **out, const char *name, uint32_t mode) {
  vmctr_network *n;
  int r;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_new: out is NULL");
  if ((r = vmctr__network_check_name(name, "network name")) < 0)
    return r;
  if (!vmctr__network_mode_name(mode))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "network %s: unknown mode %u (VMCTR_NETWORK_ISOLATED_NAT, _SHARED, "
                      "_HOST_ONLY or _BRIDGED)", name, mode);
  if (!(n = calloc(1, sizeof(*n))))
    return vmctr__err_nomem();
  memcpy(n->name, name, strlen(name) + 1);
  n->mode = mode;
  n->mtu = 1500;
  n->nat = VMCTR_NETWORK_NAT_AUTO;
  if (mode == VMCTR_NETWORK_ISOLATED_NAT) {
    /* What QEMU's user-mode network and passt's defaults give a guest. */
    n->subnet = IP4(10, 0, 2, 0);
    n->prefix = 24;
    n->gateway = IP4(10, 0, 2, 2);
    n->dns[n->ndns++] = IP4(10, 0, 2, 3);
  } else {
    /* apple/container's default; the host holds the first address. */
    n->subnet = IP4(192, 168, 64, 0);
    n->prefix = 24;
    n->gateway = IP4(192, 168, 64, 1);
  }
  format_strings(n);
  *out = n;
  return 0;
}

void vmctr_network_free(vmctr_network *n) {
  if (!n)
    return;
  free(n->state_dir);
  free(n);
}

int vmctr_network_clone(vmctr_network **out, const vmctr_network *n) {
  vmctr_network *c;
  if (!out || !n)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_clone: %s is NULL", out ? "n" : "out");
  if (!(c = malloc(sizeof(*c))))
    return vmctr__err_nomem();
  *c = *n;
  c->state_dir = NULL;
  if (n->state_dir && !(c->state_dir = vmctr__strdup(n->state_dir))) {
    free(c);
    return VMCTR_ENOMEM;
  }
  *out = c;
  return 0;
}

static int need(const vmctr_network *n, const char *fn) {
  return n ? 0 : vmctr__err(VMCTR_EINVAL, 0, "%s: network is NULL", fn);
}

int vmctr__network_set_subnet_num(vmctr_network *n, uint32_t addr, uint32_t prefix) {
  uint32_t old = n->subnet, old_prefix = n->prefix;
  size_t k = 0;
  n->subnet = addr;
  n->prefix = prefix;
  if (!vmctr__ip4_is_host(n->gateway, addr, prefix))
    n->gateway = addr + 1;
  /* A DNS server of the old subnet (an isolated NAT's forwarder) means
   * nothing in the new one; servers elsewhere stay. */
  for (size_t i = 0; i < n->ndns; i++)
    if (!vmctr__ip4_is_host(n->dns[i], old, old_prefix) ||
        vmctr__ip4_is_host(n->dns[i], addr, prefix))
      n->dns[k++] = n->dns[i];
  n->ndns = k;
  format_strings(n);
  return 0;
}

int vmctr_network_set_subnet(vmctr_network *n, const char *cidr) {
  uint32_t addr, prefix;
  int r;
  if ((r = need(n, "vmctr_network_set_subnet")) < 0)
    return r;
  if ((r = vmctr__cidr_parse(cidr, VMCTR__NET_MIN_PREFIX, VMCTR__NET_MAX_PREFIX, &addr, &prefix)) < 0)
    return r;
  return vmctr__network_set_subnet_num(n, addr, prefix);
}

int vmctr__network_set_gateway_num(vmctr_network *n, uint32_t ip) {
  char buf[16];
  if (!vmctr__ip4_is_host(ip, n->subnet, n->prefix))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "network %s: gateway %s is not a host address of its subnet %s", n->name,
                      vmctr__ip4_format(ip, buf), n->subnet_str);
  n->gateway = ip;
  format_strings(n);
  return 0;
}

int vmctr_network_set_gateway(vmctr_network *n, const char *ip) {
  uint32_t v;
  int r;
  if ((r = need(n, "vmctr_network_set_gateway")) < 0 || (r = vmctr__ip4_parse(ip, &v)) < 0)
    return r;
  return vmctr__network_set_gateway_num(n, v);
}

int vmctr_network_set_mtu(vmctr_network *n, uint32_t mtu) {
  int r;
  if ((r = need(n, "vmctr_network_set_mtu")) < 0)
    return r;
  if (mtu < 68 || mtu > 65535)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s: MTU %u is outside 68..65535", n->name, mtu);
  n->mtu = mtu;
  return 0;
}

int vmctr__network_add_dns_num(vmctr_network *n, uint32_t ip) {
  char buf[16];
  if (ip == 0 || ip == 0xffffffffu)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s: %s is not a DNS server address", n->name,
                      vmctr__ip4_format(ip, buf));
  for (size_t i = 0; i < n->ndns; i++)
    if (n->dns[i] == ip)
      return vmctr__err(VMCTR_EEXIST, 0, "network %s: DNS server %s is already listed", n->name,
                        n->dns_str[i]);
  if (n->ndns == VMCTR_NETWORK_MAX_DNS)
    return vmctr__err(VMCTR_ENOSPC, 0, "network %s: at most %u DNS servers", n->name,
                      VMCTR_NETWORK_MAX_DNS);
  n->dns[n->ndns++] = ip;
  format_strings(n);
  return 0;
}

int vmctr_network_add_dns_server(vmctr_network *n, const char *ip) {
  uint32_t v;
  int r;
  if ((r = need(n, "vmctr_network_add_dns_server")) < 0 || (r = vmctr__ip4_parse(ip, &v)) < 0)
    return r;
  return vmctr__network_add_dns_num(n, v);
}

int vmctr_network_clear_dns_servers(vmctr_network *n) {
  int r;
  if ((r = need(n, "vmctr_network_clear_dns_servers")) < 0)
    return r;
  n->ndns = 0;
  return 0;
}

int vmctr_network_set_host_interface(vmctr_network *n, const char *ifname) {
  size_t len;
  int r;
  if ((r = need(n, "vmctr_network_set_host_interface")) < 0)
    return r;
  if (n->mode != VMCTR_NETWORK_BRIDGED)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s: only a bridged network has a host interface",
                      n->name);
  if (!ifname || (len = strlen(ifname)) == 0 || len > VMCTR__NET_IFNAME_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s: the host interface name must be 1 to %u bytes",
                      n->name, VMCTR__NET_IFNAME_MAX);
  if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s: \"%s\" is not an interface name", n->name,
                      ifname);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)ifname[i];
    if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "network %s: interface name \"%s\" has a '/', ':', space or control "
                        "character", n->name, ifname);
  }
  memcpy(n->host_if, ifname, len + 1);
  return 0;
}

int vmctr_network_set_nat(vmctr_network *n, uint32_t nat) {
  int r;
  if ((r = need(n, "vmctr_network_set_nat")) < 0)
    return r;
  if (n->mode != VMCTR_NETWORK_ISOLATED_NAT)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s: only an isolated network chooses its NAT",
                      n->name);
  if (!vmctr__network_nat_name(nat))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "network %s: unknown NAT %u (VMCTR_NETWORK_NAT_AUTO, _PASST or _USER)",
                      n->name, nat);
  n->nat = nat;
  return 0;
}

int vmctr__network_check_complete(const vmctr_network *n) {
  if (n->mode == VMCTR_NETWORK_BRIDGED && !n->host_if[0])
    return vmctr__err(VMCTR_EINVAL, 0,
                      "bridged network %s needs a host interface "
                      "(vmctr_network_set_host_interface)", n->name);
  return 0;
}

const char *vmctr_network_name(const vmctr_network *n) { return n ? n->name : NULL; }
uint32_t vmctr_network_mode(const vmctr_network *n) { return n ? n->mode : 0; }
const char *vmctr_network_subnet(const vmctr_network *n) { return n ? n->subnet_str : NULL; }
const char *vmctr_network_gateway(const vmctr_network *n) { return n ? n->gateway_str : NULL; }
uint32_t vmctr_network_mtu(const vmctr_network *n) { return n ? n->mtu : 0; }
size_t vmctr_network_dns_server_count(const vmctr_network *n) { return n ? n->ndns : 0; }

const char *vmctr_network_dns_server(const vmctr_network *n, size_t i) {
  return n && i < n->ndns ? n->dns_str[i] : NULL;
}

const char *vmctr_network_host_interface(const vmctr_network *n) {
  return n && n->host_if[0] ? n->host_if : NULL;
}

uint32_t vmctr_network_nat(const vmctr_network *n) { return n ? n->nat : VMCTR_NETWORK_NAT_AUTO; }
const char *vmctr_network_state_dir(const vmctr_network *n) { return n ? n->state_dir : NULL; }

void vmctr__network_subnet(const vmctr_network *n, uint32_t *addr, uint32_t *prefix) {
  *addr = n->subnet;
  *prefix = n->prefix;
}

uint32_t vmctr__network_gateway(const vmctr_network *n) { return n->gateway; }

void vmctr__network_dns(const vmctr_network *n, const uint32_t **list, size_t *count) {
  *list = n->dns;
  *count = n->ndns;
}

static bool is_dns(const vmctr_network *n, uint32_t ip) {
  for (size_t i = 0; i < n->ndns; i++)
    if (n->dns[i] == ip)
      return true;
  return false;
}

uint32_t vmctr__network_isolated_guest(const vmctr_network *n) {
  uint32_t ip = n->subnet + 15;
  if (vmctr__ip4_is_host(ip, n->subnet, n->prefix) && ip != n->gateway && !is_dns(n, ip))
    return ip;
  for (ip = n->subnet + 1; vmctr__ip4_is_host(ip, n->subnet, n->prefix); ip++)
    if (ip != n->gateway && !is_dns(n, ip))
      return ip;
  return 0; /* a /30 whose two hosts are the gateway and a DNS server */
}

void vmctr__network_id(const vmctr_network *n, char out[9]) {
  vmctr__sha256 c;
  uint8_t d[32];
  char hex[65];
  const char *dir = n->state_dir ? n->state_dir : "";
  vmctr__sha256_init(&c);
  /* The NUL separates the two, so ("a/b", "c") and ("a", "b/c") differ. */
  vmctr__sha256_update(&c, dir, strlen(dir) + 1);
  vmctr__sha256_update(&c, n->name, strlen(n->name));
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  memcpy(out, hex, 8);
  out[8] = '\0';
}
