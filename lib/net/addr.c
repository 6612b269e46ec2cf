/* SPDX-License-Identifier: MIT */
/* Address syntax: strict parsers that quote what they refuse. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/error.h"
#include "net/addr.h"

/* Up to max_digits decimal digits without a leading zero (except "0"
 * itself) at *s, at most max; advances *s. -1 if there is none. */
static long parse_dec(const char **s, int max_digits, long max) {
  const char *p = *s;
  long v = 0;
  int n = 0;
  while (*p >= '0' && *p <= '9') {
    if (++n > max_digits)
      return -1;
    v = v * 10 + (*p - '0');
    p++;
  }
  if (n == 0 || (n > 1 && **s == '0') || v > max)
    return -1;
  *s = p;
  return v;
}

/* A dotted quad at *s; advances *s past it. */
static int scan_ip4(const char **s, uint32_t *ip) {
  const char *p = *s;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    long o = parse_dec(&p, 3, 255);
    if (o < 0)
      return -1;
    v = v << 8 | (uint32_t)o;
    if (i < 3 && *p++ != '.')
      return -1;
  }
  *s = p;
  *ip = v;
  return 0;
}

int vmctr__ip4_parse(const char *s, uint32_t *ip) {
  const char *p = s;
  uint32_t v;
  if (!s)
    return vmctr__err(VMCTR_EINVAL, 0, "IPv4 address is NULL");
  if (scan_ip4(&p, &v) < 0 || *p)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "\"%.64s\" is not an IPv4 address (four decimal numbers 0-255 "
                      "without leading zeros, such as 192.168.64.1)", s);
  *ip = v;
  return 0;
}

char *vmctr__ip4_format(uint32_t ip, char buf[16]) {
  snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return buf;
}

uint32_t vmctr__ip4_mask(uint32_t prefix) {
  return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int vmctr__ip4_is_host(uint32_t ip, uint32_t addr, uint32_t prefix) {
  uint32_t mask = vmctr__ip4_mask(prefix);
  return (ip & mask) == addr && ip != addr && ip != (addr | ~mask);
}

int vmctr__cidr_parse(const char *s, uint32_t min_prefix, uint32_t max_prefix, uint32_t *addr,
                      uint32_t *prefix) {
  const char *p = s;
  uint32_t v;
  long pl;
  char buf[16];
  if (!s)
    return vmctr__err(VMCTR_EINVAL, 0, "subnet is NULL");
  if (scan_ip4(&p, &v) < 0 || *p++ != '/' || (pl = parse_dec(&p, 2, 32)) < 0 || *p)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "\"%.64s\" is not a subnet (an IPv4 address, '/' and a prefix length, "
                      "such as 192.168.64.0/24)", s);
  if ((uint32_t)pl < min_prefix || (uint32_t)pl > max_prefix)
    return vmctr__err(VMCTR_EINVAL, 0, "subnet %s: the prefix must be %u to %u", s, min_prefix,
                      max_prefix);
  if (v & ~vmctr__ip4_mask((uint32_t)pl))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "subnet %s has host bits set: the network address is %s/%ld", s,
                      vmctr__ip4_format(v & vmctr__ip4_mask((uint32_t)pl), buf), pl);
  *addr = v;
  *prefix = (uint32_t)pl;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int vmctr__mac_parse(const char *s, uint8_t mac[6]) {
  uint8_t m[6];
  if (!s)
    return vmctr__err(VMCTR_EINVAL, 0, "MAC address is NULL");
  for (int i = 0; i < 6; i++) {
    const char *p = s + 3 * i;
    int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
    if (lo < 0 || p[2] != (i < 5 ? ':' : '\0'))
      return vmctr__err(VMCTR_EINVAL, 0,
                        "\"%.64s\" is not a MAC address (six hex pairs separated by ':', "
                        "such as 02:00:00:12:34:56)", s);
    m[i] = (uint8_t)(hi << 4 | lo);
  }
  memcpy(mac, m, 6);
  return 0;
}

char *vmctr__mac_format(const uint8_t mac[6], char buf[18]) {
  snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
           mac[5]);
  return buf;
}

int vmctr__mac_random(uint8_t mac[6]) {
  uint8_t m[6];
  size_t got = 0;
  while (got < sizeof(m)) {
    ssize_t n = getrandom(m + got, sizeof(m) - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return vmctr__err_os(errno, "cannot get random bytes for a MAC address");
    }
    got += (size_t)n;
  }
  m[0] = (uint8_t)((m[0] & 0xfe) | 0x02); /* unicast, locally administered */
  memcpy(mac, m, 6);
  return 0;
}

/* A port 1..65535 at *s; advances *s. */
static int scan_port(const char **s, uint16_t *port) {
  long v = parse_dec(s, 5, 65535);
  if (v < 1)
    return -1;
  *port = (uint16_t)v;
  return 0;
}

int vmctr__net_port_parse(const char *spec, vmctr__net_port *out) {
  vmctr__net_port p = {VMCTR__NET_TCP, 0, 0, 0};
  const char *s = spec, *colon1, *colon2, *slash;
  if (!spec)
    return vmctr__err(VMCTR_EINVAL, 0, "port spec is NULL");
  slash = strchr(s, '/');
  colon1 = strchr(s, ':');
  colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;
  if (!colon1 || (slash && slash < colon1) || (colon2 && strchr(colon2 + 1, ':')))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "port spec \"%.64s\": expected [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]",
                      spec);
  if (colon2) {
    char ip[16];
    size_t n = (size_t)(colon1 - s);
    if (n == 0 || n >= sizeof(ip))
      return vmctr__err(VMCTR_EINVAL, 0, "port spec \"%.64s\": bad host address", spec);
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (vmctr__ip4_parse(ip, &p.host_ip) < 0)
      return vmctr__err(VMCTR_EINVAL, 0, "port spec \"%.64s\": \"%s\" is not an IPv4 address",
                        spec, ip);
    s = colon1 + 1;
  }
  if (scan_port(&s, &p.host_port) < 0 || *s++ != ':')
    return vmctr__err(VMCTR_EINVAL, 0, "port spec \"%.64s\": the host port must be 1 to 65535",
                      spec);
  if (scan_port(&s, &p.guest_port) < 0 || (*s && *s != '/'))
    return vmctr__err(VMCTR_EINVAL, 0, "port spec \"%.64s\": the guest port must be 1 to 65535",
                      spec);
  if (*s == '/') {
    if (strcmp(s, "/tcp") == 0)
      p.proto = VMCTR__NET_TCP;
    else if (strcmp(s, "/udp") == 0)
      p.proto = VMCTR__NET_UDP;
    else
      return vmctr__err(VMCTR_EINVAL, 0,
                        "port spec \"%.64s\": the protocol must be /tcp or /udp", spec);
  }
  *out = p;
  return 0;
}
