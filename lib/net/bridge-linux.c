/* SPDX-License-Identifier: MIT */
/*
 * The links of a shared, host-only or bridged network on a Linux host: the
 * bridge "vmbr-<id>", the VMs' taps on it, IPv4 forwarding, and the sweep
 * of what a crashed process left (doc/network-linux.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "core/error.h"
#include "core/log.h"
#include "net/host.h"
#include "net/rtnl.h"

#define BR_LOG "net"
#define SWEEP_MAX 256

const char *vmctr__host_net_mode_name(uint32_t mode) {
  switch (mode) {
  case VMCTR__HOSTNET_SHARED: return "shared";
  case VMCTR__HOSTNET_HOST_ONLY: return "host-only";
  case VMCTR__HOSTNET_BRIDGED: return "bridged";
  default: return NULL;
  }
}

int vmctr__host_net_noperm(uint32_t mode, int os_errno) {
  const char *m = vmctr__host_net_mode_name(mode);
  return vmctr__err(VMCTR_EPERM, os_errno, "%s networks need CAP_NET_ADMIN (run as root or grant it)",
                    m ? m : "shared, host-only and bridged");
}

int vmctr__host_net_id_ok(const char *id) {
  if (!id)
    return 0;
  for (size_t i = 0; i < VMCTR__HOSTNET_ID_LEN; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return id[VMCTR__HOSTNET_ID_LEN] == '\0';
}

/* A failed rtnetlink call: a missing capability gets its own message. */
static int rtnl_fail(const vmctr__host_net *hn, int r, const char *what, const char *name) {
  if (r == -EPERM || r == -EACCES)
    return vmctr__host_net_noperm(hn ? hn->mode : 0, -r);
  return vmctr__err_os(-r, "%s %s", what, name);
}

static int check_net(const vmctr__host_net *hn) {
  if (!hn || !vmctr__host_net_mode_name(hn->mode))
    return vmctr__err(VMCTR_EINVAL, 0, "host network: mode must be shared, host-only or bridged");
  if (!vmctr__host_net_id_ok(hn->id))
    return vmctr__err(VMCTR_EINVAL, 0, "host network: id \"%.16s\" is not 8 lowercase hex characters",
                      hn->id);
  if (hn->mtu < 68 || hn->mtu > 65535)
    return vmctr__err(VMCTR_EINVAL, 0, "host network: MTU %u is not 68..65535", (unsigned)hn->mtu);
  if (hn->mode == VMCTR__HOSTNET_BRIDGED) {
    if (!hn->host_if || !*hn->host_if || strlen(hn->host_if) >= IFNAMSIZ)
      return vmctr__err(VMCTR_EINVAL, 0, "a bridged network needs the host interface to bridge");
    return 0;
  }
  if (hn->prefix < 1 || hn->prefix > 30)
    return vmctr__err(VMCTR_EINVAL, 0, "host network: prefix %u is not 1..30", (unsigned)hn->prefix);
  uint32_t mask = ~0u << (32 - hn->prefix);
  if ((hn->gateway & mask) != (hn->subnet & mask) || (hn->gateway & ~mask) == 0 ||
      (hn->gateway & ~mask) == ~mask)
    return vmctr__err(VMCTR_EINVAL, 0, "host network: the gateway is not a host address of the subnet");
  return 0;
}

static void bridge_name(const char *id, char out[IFNAMSIZ]) {
  snprintf(out, IFNAMSIZ, VMCTR__HOSTNET_BRIDGE_PREFIX "%s", id);
}

/* Write "1" to a /proc/sys file unless it already says 1: rewriting
 * ip_forward resets every interface's forwarding setting. */
static int sysctl_on(const vmctr__host_net *hn, const char *path) {
  char buf[8] = "";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && buf[0] == '1')
      return 0;
  }
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == EACCES || errno == EPERM || errno == EROFS ? vmctr__host_net_noperm(hn->mode, errno)
                                                               : vmctr__err_os(errno, "%s", path);
  ssize_t w = write(fd, "1\n", 2);
  int e = errno;
  close(fd);
  if (w != 2)
    return vmctr__err_os(w < 0 ? e : EIO, "%s", path);
  vmctr__log(VMCTR_LOG_INFO, BR_LOG, "%s set to 1", path);
  return 0;
}

/* Whether ifname carries an IPv4 address (then bridging it would cut the
 * host's traffic over it). */
static int has_ipv4(const char *ifname, char addr[INET_ADDRSTRLEN]) {
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0)
    return 0;
  int found = 0;
  for (struct ifaddrs *a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || strcmp(a->ifa_name, ifname) != 0)
      continue;
    uint32_t ip = ntohl(((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr.s_addr);
    snprintf(addr, INET_ADDRSTRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xffu, (ip >> 8) & 0xffu,
             ip & 0xffu);
    found = 1;
  }
  freeifaddrs(list);
  return found;
}

int vmctr__host_net_up(const vmctr__host_net *hn) {
  int r = check_net(hn);
  if (r < 0)
    return r;
  char br[IFNAMSIZ];
  bridge_name(hn->id, br);

  int host_idx = 0;
  if (hn->mode == VMCTR__HOSTNET_BRIDGED) {
    char addr[INET_ADDRSTRLEN];
    host_idx = vmctr__rtnl_ifindex(hn->host_if);
    if (host_idx < 0)
      return vmctr__err(VMCTR_ENOENT, -host_idx, "no host interface \"%s\" to bridge", hn->host_if);
    if (has_ipv4(hn->host_if, addr))
      return vmctr__err(VMCTR_EBUSY, 0,
                        "host interface %s carries the address %s: bridging it would cut the "
                        "host off; bridge a dedicated interface",
                        hn->host_if, addr);
    vmctr__rtnl_link info;
    r = vmctr__rtnl_link_get(host_idx, &info);
    if (r < 0)
      return rtnl_fail(hn, r, "cannot read", hn->host_if);
    if (info.master && info.master != vmctr__rtnl_ifindex(br))
      return vmctr__err(VMCTR_EBUSY, 0, "host interface %s already belongs to another bridge or bond",
                        hn->host_if);
  }

  r = vmctr__rtnl_bridge_add(br, hn->mtu);
  if (r < 0 && r != -EEXIST)
    return rtnl_fail(hn, r, "cannot create bridge", br);
  if (r == 0)
    vmctr__log(VMCTR_LOG_INFO, BR_LOG, "created bridge %s (%s)", br, vmctr__host_net_mode_name(hn->mode));
  int idx = vmctr__rtnl_ifindex(br);
  if (idx < 0)
    return rtnl_fail(hn, idx, "bridge vanished:", br);

  if (hn->mode == VMCTR__HOSTNET_BRIDGED) {
    r = vmctr__rtnl_link_set_master(host_idx, idx);
    if (r < 0)
      return rtnl_fail(hn, r, "cannot enslave to the bridge:", hn->host_if);
    r = vmctr__rtnl_link_set(host_idx, 1, 0);
    if (r < 0)
      return rtnl_fail(hn, r, "cannot set up", hn->host_if);
  } else {
    r = vmctr__rtnl_addr_add(idx, hn->gateway, hn->prefix);
    if (r < 0 && r != -EEXIST)
      return rtnl_fail(hn, r, "cannot give the gateway address to", br);
  }
  r = vmctr__rtnl_link_set(idx, 1, 0);
  if (r < 0)
    return rtnl_fail(hn, r, "cannot set up", br);
  if (hn->mode == VMCTR__HOSTNET_SHARED) {
    r = sysctl_on(hn, "/proc/sys/net/ipv4/ip_forward");
    if (r < 0)
      return r;
  }
  return 0;
}

/* Enslave ifindex to the bridge with the network's MTU, and set it up. */
static int enslave(const vmctr__host_net *hn, int ifindex, const char *ifname) {
  char br[IFNAMSIZ];
  bridge_name(hn->id, br);
  int bidx = vmctr__rtnl_ifindex(br);
  if (bidx < 0)
    return vmctr__err(VMCTR_ENOENT, -bidx, "network %s has no bridge %s (not up)", hn->id, br);
  /* The MTU first: a bridge follows its ports' smallest MTU. */
  int r = vmctr__rtnl_link_set(ifindex, 0, hn->mtu);
  if (r < 0)
    return rtnl_fail(hn, r, "cannot set the MTU of", ifname);
  r = vmctr__rtnl_link_set_master(ifindex, bidx);
  if (r < 0)
    return rtnl_fail(hn, r, "cannot enslave to the bridge:", ifname);
  r = vmctr__rtnl_link_set(ifindex, 1, 0);
  if (r < 0)
    return rtnl_fail(hn, r, "cannot set up", ifname);
  return 0;
}

int vmctr__host_net_attach(const vmctr__host_net *hn, const char *ifname) {
  int r = check_net(hn);
  if (r < 0)
    return r;
  if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
    return vmctr__err(VMCTR_EINVAL, 0, "attach: bad interface name");
  int idx = vmctr__rtnl_ifindex(ifname);
  if (idx < 0)
    return vmctr__err(VMCTR_ENOENT, -idx, "no interface \"%s\" to attach", ifname);
  return enslave(hn, idx, ifname);
}

int vmctr__host_net_tap(const vmctr__host_net *hn, int *fd, char name[16]) {
  int r = check_net(hn);
  if (r < 0)
    return r;
  if (!fd || !name)
    return vmctr__err(VMCTR_EINVAL, 0, "tap: fd and name are required");
  int tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (tfd < 0)
    return errno == EACCES || errno == EPERM ? vmctr__host_net_noperm(hn->mode, errno)
                                             : vmctr__err_os(errno, "cannot open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  /* The kernel picks the first free number: no race between two openers. */
  snprintf(ifr.ifr_name, IFNAMSIZ, VMCTR__HOSTNET_TAP_PREFIX "%s-%%d", hn->id);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(tfd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(tfd);
    return e == EPERM ? vmctr__host_net_noperm(hn->mode, e) : vmctr__err_os(e, "cannot create a tap");
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  int idx = vmctr__rtnl_ifindex(ifr.ifr_name);
  r = idx < 0 ? rtnl_fail(hn, idx, "tap vanished:", ifr.ifr_name) : enslave(hn, idx, ifr.ifr_name);
  if (r < 0) {
    close(tfd); /* non-persistent: the tap goes with its fd */
    return r;
  }
  vmctr__log(VMCTR_LOG_DEBUG, BR_LOG, "tap %s on %s%s", ifr.ifr_name, VMCTR__HOSTNET_BRIDGE_PREFIX, hn->id);
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  *fd = tfd;
  return 0;
}

static int del_link(const char *name) {
  int idx = vmctr__rtnl_ifindex(name);
  if (idx < 0)
    return 0;
  int r = vmctr__rtnl_link_del(idx);
  if (r == -ENODEV)
    return 0;
  if (r < 0)
    return rtnl_fail(NULL, r, "cannot delete", name);
  vmctr__log(VMCTR_LOG_INFO, BR_LOG, "deleted %s", name);
  return 1;
}

int vmctr__host_net_down(const vmctr__host_net *hn) {
  if (!hn || !vmctr__host_net_id_ok(hn->id))
    return vmctr__err(VMCTR_EINVAL, 0, "host network: id is not 8 lowercase hex characters");
  int r = vmctr__host_nft_delete(hn->id);
  if (r < 0)
    return r;
  char br[IFNAMSIZ];
  bridge_name(hn->id, br);
  r = del_link(br);
  return r < 0 ? r : 0;
}

static int kept(const char *const *keep, const char *id) {
  for (; keep && *keep; keep++)
    if (strcmp(*keep, id) == 0)
      return 1;
  return 0;
}

typedef struct sweep_list {
  char names[SWEEP_MAX][IFNAMSIZ];
  size_t n;
  const char *const *keep;
} sweep_list;

static int collect_bridge(int ifindex, const char *name, void *ud) {
  (void)ifindex;
  sweep_list *l = ud;
  const char *id = name + strlen(VMCTR__HOSTNET_BRIDGE_PREFIX);
  if (!vmctr__host_net_id_ok(id) || kept(l->keep, id) || l->n >= SWEEP_MAX)
    return 0;
  snprintf(l->names[l->n++], IFNAMSIZ, "%s", name);
  return 0;
}

int vmctr__host_net_sweep(const char *const *keep_ids, size_t *removed) {
  size_t count = 0;
  sweep_list l = {.n = 0, .keep = keep_ids};

  char ids[SWEEP_MAX][VMCTR__HOSTNET_ID_LEN + 1];
  int n = vmctr__host_nft_ids(ids, SWEEP_MAX);
  int r = n < 0 ? n : 0;
  for (int i = 0; i < n && r == 0; i++) {
    if (kept(keep_ids, ids[i]))
      continue;
    r = vmctr__host_nft_delete(ids[i]);
    if (r == 0) {
      vmctr__log(VMCTR_LOG_INFO, BR_LOG, "swept table " VMCTR__HOSTNET_TABLE_PREFIX "%s", ids[i]);
      count++;
    }
  }
  if (r == 0) {
    /* Collect first: deleting while the dump runs would confuse it. */
    int w = vmctr__rtnl_links(VMCTR__HOSTNET_BRIDGE_PREFIX, collect_bridge, &l);
    if (w < 0)
      r = rtnl_fail(NULL, w, "cannot list", "links");
  }
  for (size_t i = 0; i < l.n && r == 0; i++) {
    int d = del_link(l.names[i]);
    if (d < 0)
      r = d;
    else
      count += (size_t)d;
  }
  if (removed)
    *removed = count;
  return r;
}
