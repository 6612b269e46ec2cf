/* SPDX-License-Identifier: MIT */
/* vmctr-oci pod networking (podnet.h): Kata's "tcfilter" model. In the
 * namespace CNI prepared, a persistent tap is made and joined to the CNI
 * interface by an ingress qdisc on each and a match-everything u32 filter
 * whose mirred action redirects every frame to the other's egress; the VM
 * (in that namespace) gets a NIC on the tap with the CNI interface's MAC,
 * address and routes. The namespace's own stack never sees the pod's
 * traffic again, and the guest reaches what the CNI network reaches.
 *
 * Everything in the namespace is done by a thread of our own that setns()es
 * into it (a namespace change is per thread), over a small rtnetlink
 * client of this file's; taps are made with /dev/net/tun's ioctls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "podnet.h"

/* The tap's name in the pod's namespace: one VM per namespace. */
#define PODNET_TAP "tap0_vmctr"
#define PN_MAX_LINKS 64
#define PN_MAX_ADDRS 128
#define PN_MAX_ROUTES 64

struct podnet_route {
  char dst[20]; /* "a.b.c.d/p" */
  char via[16]; /* "" : on-link */
};

struct oci_podnet {
  char netns[PATH_MAX];
  char ifname[IFNAMSIZ]; /* the CNI interface */
  char tap[IFNAMSIZ];
  char mac[18];
  uint32_t mtu;
  char address[20]; /* "a.b.c.d/p" */
  char gateway[16]; /* "": no default route */
  size_t nroutes;
  struct podnet_route routes[PN_MAX_ROUTES];
};

static void fmt_ip(uint32_t be, char out[16]) {
  struct in_addr a = {.s_addr = be};
  inet_ntop(AF_INET, &a, out, 16);
}

/* ---- a small rtnetlink client ---- */

typedef struct nlreq {
  struct nlmsghdr *h;
  char buf[4096];
} nlreq;

static void *nl_begin(nlreq *q, uint16_t type, uint16_t flags, const void *hdr, size_t len) {
  memset(q->buf, 0, sizeof(q->buf));
  q->h = (struct nlmsghdr *)(void *)q->buf;
  q->h->nlmsg_len = NLMSG_LENGTH(len);
  q->h->nlmsg_type = type;
  /* An ACK for everything but a dump (NLM_F_EXCL is NLM_F_MATCH's bit:
   * only the whole NLM_F_DUMP says dump). */
  q->h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags | (flags == NLM_F_DUMP ? 0 : NLM_F_ACK));
  memcpy(NLMSG_DATA(q->h), hdr, len);
  return NLMSG_DATA(q->h);
}

static struct rtattr *nl_put(nlreq *q, uint16_t type, const void *data, size_t len) {
  size_t at = NLMSG_ALIGN(q->h->nlmsg_len);
  if (at + RTA_SPACE(len) > sizeof(q->buf))
    return NULL; /* callers build small, fixed messages: cannot happen */
  struct rtattr *a = (struct rtattr *)(void *)(q->buf + at);
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len)
    memcpy(RTA_DATA(a), data, len);
  q->h->nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
  return a;
}

static struct rtattr *nl_nest(nlreq *q, uint16_t type) { return nl_put(q, type, NULL, 0); }

static void nl_end(nlreq *q, struct rtattr *nest) {
  nest->rta_len = (unsigned short)(q->buf + q->h->nlmsg_len - (char *)nest);
}

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return -errno;
  /* Bounded: the RTNL lock can be held for seconds by namespace teardown on a
   * loaded machine, but an answer that never comes must not hang create. */
  struct timeval tv = {30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

typedef int (*nl_cb)(const struct nlmsghdr *h, void *ud);

/* Send q and read until its ACK (or the dump's end); cb sees each reply.
 * 0 or -errno. */
static int nl_talk(int fd, nlreq *q, nl_cb cb, void *ud) {
  static uint32_t seq;
  q->h->nlmsg_seq = ++seq;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (sendto(fd, q->h, q->h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return -errno;
  char buf[32768];
  int result = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      /* SO_RCVTIMEO ran out: the kernel did not answer. Not EAGAIN, which
       * tc_talk() retries (the kernel's own "try again"). */
      return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, (uint32_t)n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != q->h->nlmsg_seq)
        continue;
      if (h->nlmsg_type == NLMSG_DONE)
        return result;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error ? e->error : result;
      }
      if (cb && result == 0)
        result = cb(h, ud);
    }
  }
}

/* The attributes of a reply, indexed by type (those up to max). */
static void nl_attrs(struct rtattr *a, int len, struct rtattr **tb, int max) {
  memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
  for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
    if (a->rta_type <= max)
      tb[a->rta_type] = a;
}

/* ---- what the namespace holds ---- */

struct link_info {
  int index;
  char name[IFNAMSIZ];
  unsigned flags;
  uint32_t mtu;
  uint8_t mac[6];
  bool has_mac;
};

struct addr_info {
  int index;
  uint32_t addr; /* network order */
  uint32_t prefix;
  bool secondary;
};

struct ns_state {
  struct link_info links[PN_MAX_LINKS];
  size_t nlinks;
  struct addr_info addrs[PN_MAX_ADDRS];
  size_t naddrs;
  int route_oif;           /* routes of this interface are collected */
  struct oci_podnet *out;  /* into out->routes and out->gateway */
  bool too_many;
};

static int on_link(const struct nlmsghdr *h, void *ud) {
  struct ns_state *s = ud;
  if (h->nlmsg_type != RTM_NEWLINK)
    return 0;
  const struct ifinfomsg *ifi = NLMSG_DATA(h);
  struct rtattr *tb[IFLA_MAX + 1];
  nl_attrs(IFLA_RTA(ifi), (int)IFLA_PAYLOAD(h), tb, IFLA_MAX);
  if (s->nlinks >= PN_MAX_LINKS) {
    s->too_many = true;
    return 0;
  }
  struct link_info *l = &s->links[s->nlinks++];
  memset(l, 0, sizeof(*l));
  l->index = ifi->ifi_index;
  l->flags = ifi->ifi_flags;
  if (tb[IFLA_IFNAME])
    snprintf(l->name, sizeof(l->name), "%s", (const char *)RTA_DATA(tb[IFLA_IFNAME]));
  if (tb[IFLA_MTU])
    memcpy(&l->mtu, RTA_DATA(tb[IFLA_MTU]), 4);
  if (tb[IFLA_ADDRESS] && RTA_PAYLOAD(tb[IFLA_ADDRESS]) == 6) {
    memcpy(l->mac, RTA_DATA(tb[IFLA_ADDRESS]), 6);
    l->has_mac = true;
  }
  return 0;
}

static int on_addr(const struct nlmsghdr *h, void *ud) {
  struct ns_state *s = ud;
  if (h->nlmsg_type != RTM_NEWADDR)
    return 0;
  const struct ifaddrmsg *ifa = NLMSG_DATA(h);
  if (ifa->ifa_family != AF_INET)
    return 0;
  struct rtattr *tb[IFA_MAX + 1];
  nl_attrs(IFA_RTA(ifa), (int)IFA_PAYLOAD(h), tb, IFA_MAX);
  struct rtattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a || RTA_PAYLOAD(a) != 4)
    return 0;
  if (s->naddrs >= PN_MAX_ADDRS) {
    s->too_many = true;
    return 0;
  }
  struct addr_info *x = &s->addrs[s->naddrs++];
  x->index = (int)ifa->ifa_index;
  memcpy(&x->addr, RTA_DATA(a), 4);
  x->prefix = ifa->ifa_prefixlen;
  x->secondary = (ifa->ifa_flags & IFA_F_SECONDARY) != 0;
  return 0;
}

/* The main table's unicast routes out of route_oif, but the kernel's own
 * route to the address's subnet (the guest's kernel makes that one too). */
static int on_route(const struct nlmsghdr *h, void *ud) {
  struct ns_state *s = ud;
  if (h->nlmsg_type != RTM_NEWROUTE)
    return 0;
  const struct rtmsg *rt = NLMSG_DATA(h);
  struct rtattr *tb[RTA_MAX + 1];
  nl_attrs(RTM_RTA(rt), (int)RTM_PAYLOAD(h), tb, RTA_MAX);
  uint32_t table = rt->rtm_table;
  if (tb[RTA_TABLE])
    memcpy(&table, RTA_DATA(tb[RTA_TABLE]), 4);
  int oif = 0;
  if (tb[RTA_OIF])
    memcpy(&oif, RTA_DATA(tb[RTA_OIF]), 4);
  if (rt->rtm_family != AF_INET || table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST ||
      oif != s->route_oif || rt->rtm_protocol == RTPROT_KERNEL)
    return 0;
  uint32_t dst = 0, via = 0;
  if (tb[RTA_DST])
    memcpy(&dst, RTA_DATA(tb[RTA_DST]), 4);
  if (tb[RTA_GATEWAY])
    memcpy(&via, RTA_DATA(tb[RTA_GATEWAY]), 4);
  struct oci_podnet *pn = s->out;
  if (rt->rtm_dst_len == 0) {
    if (via && !pn->gateway[0])
      fmt_ip(via, pn->gateway);
    return 0;
  }
  if (pn->nroutes >= PN_MAX_ROUTES) {
    s->too_many = true;
    return 0;
  }
  struct podnet_route *r = &pn->routes[pn->nroutes++];
  char ip[16];
  fmt_ip(dst, ip);
  snprintf(r->dst, sizeof(r->dst), "%s/%u", ip, rt->rtm_dst_len);
  r->via[0] = '\0';
  if (via)
    fmt_ip(via, r->via);
  return 0;
}

static int dump(int fd, uint16_t type, uint8_t family, nl_cb cb, struct ns_state *s) {
  nlreq q;
  /* rtgenmsg-sized headers differ per type; a zeroed rtmsg/ifinfomsg is
   * accepted by every dump here. */
  if (type == RTM_GETLINK) {
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    nl_begin(&q, type, NLM_F_DUMP, &ifi, sizeof(ifi));
  } else if (type == RTM_GETADDR) {
    struct ifaddrmsg ifa = {.ifa_family = family};
    nl_begin(&q, type, NLM_F_DUMP, &ifa, sizeof(ifa));
  } else {
    struct rtmsg rt = {.rtm_family = family};
    nl_begin(&q, type, NLM_F_DUMP, &rt, sizeof(rt));
  }
  return nl_talk(fd, &q, cb, s);
}

static int read_state(int fd, struct ns_state *s) {
  int r = dump(fd, RTM_GETLINK, AF_UNSPEC, on_link, s);
  if (r == 0)
    r = dump(fd, RTM_GETADDR, AF_INET, on_addr, s);
  return r;
}

static const struct link_info *link_by_name(const struct ns_state *s, const char *name) {
  for (size_t i = 0; i < s->nlinks; i++)
    if (strcmp(s->links[i].name, name) == 0)
      return &s->links[i];
  return NULL;
}

static bool has_ipv4(const struct ns_state *s, int index) {
  for (size_t i = 0; i < s->naddrs; i++)
    if (s->addrs[i].index == index)
      return true;
  return false;
}

/* The one non-loopback interface with an IPv4 address (not our tap): 1
 * with *cni set, 0 for none, or the count with names listed in names. */
static int find_cni(const struct ns_state *s, const struct link_info **cni, char *names,
                    size_t size) {
  int n = 0;
  size_t used = 0;
  names[0] = '\0';
  for (size_t i = 0; i < s->nlinks; i++) {
    const struct link_info *l = &s->links[i];
    if ((l->flags & IFF_LOOPBACK) || strcmp(l->name, PODNET_TAP) == 0 || !has_ipv4(s, l->index))
      continue;
    n++;
    *cni = l;
    int k = snprintf(names + used, size - used, "%s%s", used ? ", " : "", l->name);
    if (k > 0 && (size_t)k < size - used)
      used += (size_t)k;
  }
  return n;
}

/* ---- changes ---- */

static int link_up_mtu(int fd, int index, uint32_t mtu) {
  nlreq q;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP,
                          .ifi_change = IFF_UP};
  nl_begin(&q, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  nl_put(&q, IFLA_MTU, &mtu, 4);
  return nl_talk(fd, &q, NULL, NULL);
}

static int link_del(int fd, int index) {
  nlreq q;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
  nl_begin(&q, RTM_DELLINK, 0, &ifi, sizeof(ifi));
  return nl_talk(fd, &q, NULL, NULL);
}

/* tc changes: EAGAIN (the kernel still releases an ingress qdisc just
 * deleted, say) is worth a retry, as tc(8) does. */
static int tc_talk(int fd, nlreq *q) {
  int r;
  for (int i = 0; (r = nl_talk(fd, q, NULL, NULL)) == -EAGAIN && i < 100; i++)
    usleep(20 * 1000);
  return r;
}

static int ingress(int fd, int index, bool add) {
  nlreq q;
  struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index,
                     .tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0), .tcm_parent = TC_H_INGRESS};
  nl_begin(&q, add ? RTM_NEWQDISC : RTM_DELQDISC, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &tc,
           sizeof(tc));
  nl_put(&q, TCA_KIND, "ingress", sizeof("ingress"));
  return tc_talk(fd, &q);
}

/* On from's ingress: every frame (u32 with one key that matches anything)
 * to to's egress, stolen from from's own stack. */
static int redirect(int fd, int from, int to) {
  nlreq q;
  struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = from,
                     .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
                     .tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL))};
  nl_begin(&q, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &tc, sizeof(tc));
  nl_put(&q, TCA_KIND, "u32", sizeof("u32"));
  struct rtattr *opts = nl_nest(&q, TCA_OPTIONS);
  struct {
    struct tc_u32_sel sel;
    struct tc_u32_key key;
  } sel;
  memset(&sel, 0, sizeof(sel));
  sel.sel.flags = TC_U32_TERMINAL;
  sel.sel.nkeys = 1; /* mask 0, value 0 at offset 0: always true */
  nl_put(&q, TCA_U32_SEL, &sel, sizeof(sel));
  struct rtattr *acts = nl_nest(&q, TCA_U32_ACT);
  struct rtattr *act = nl_nest(&q, 1);
  nl_put(&q, TCA_ACT_KIND, "mirred", sizeof("mirred"));
  struct rtattr *aopts = nl_nest(&q, TCA_ACT_OPTIONS);
  struct tc_mirred m = {.action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR,
                        .ifindex = (uint32_t)to};
  nl_put(&q, TCA_MIRRED_PARMS, &m, sizeof(m));
  nl_end(&q, aopts);
  nl_end(&q, act);
  nl_end(&q, acts);
  nl_end(&q, opts);
  return tc_talk(fd, &q);
}

/* Make a persistent tap (IFF_TAP | IFF_NO_PI, as the library attaches to
 * it), never one that exists (IFF_TUN_EXCL); or !persist: let it go. */
static int tap_persist(const char *name, bool persist) {
  int t = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (t < 0)
    return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (persist ? IFF_TUN_EXCL : 0);
  int r = 0;
  if (ioctl(t, TUNSETIFF, &ifr) < 0 || ioctl(t, TUNSETPERSIST, persist ? 1 : 0) < 0)
    r = -errno;
  close(t);
  return r;
}

/* ---- running in the namespace ---- */

typedef struct ns_job {
  int nsfd;
  int (*fn)(struct ns_job *j, int nl);
  const char *path;
  struct oci_podnet *pn;
  char *err;
  size_t errlen;
  int rc;
} ns_job;

static void *ns_thread(void *arg) {
  ns_job *j = arg;
  if (setns(j->nsfd, CLONE_NEWNET) < 0) {
    snprintf(j->err, j->errlen, "cannot enter the network namespace %s: %s", j->path,
             strerror(errno));
    j->rc = -1;
    return NULL;
  }
  int nl = nl_open();
  if (nl < 0) {
    snprintf(j->err, j->errlen, "%s: netlink socket: %s", j->path, strerror(-nl));
    j->rc = -1;
    return NULL;
  }
  j->rc = j->fn(j, nl);
  close(nl);
  return NULL;
}

/* Run fn in a thread inside the network namespace at path. 1: the path does
 * not exist (and missing_ok), else fn's result (0 or -1 with err set). */
static int in_netns(const char *path, int (*fn)(ns_job *, int), struct oci_podnet *pn,
                    bool missing_ok, char *err, size_t errlen) {
  if (!path || path[0] != '/') {
    snprintf(err, errlen, "network namespace \"%s\": an absolute path is needed", path ? path : "");
    return -1;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && missing_ok)
      return 1;
    snprintf(err, errlen, "network namespace %s: %s", path,
             errno == ENOENT ? "does not exist" : strerror(errno));
    return -1;
  }
  if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
    close(fd);
    snprintf(err, errlen, "%s is not a network namespace", path);
    return -1;
  }
  ns_job j = {.nsfd = fd, .fn = fn, .path = path, .pn = pn, .err = err, .errlen = errlen};
  pthread_t th;
  int e = pthread_create(&th, NULL, ns_thread, &j);
  if (e != 0) {
    close(fd);
    snprintf(err, errlen, "cannot start a thread for %s: %s", path, strerror(e));
    return -1;
  }
  pthread_join(th, NULL);
  close(fd);
  return j.rc;
}

__attribute__((format(printf, 3, 4))) static int fail(ns_job *j, int r, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  snprintf(j->err, j->errlen, "network namespace %s: %s: %s", j->path, what, strerror(-r));
  return -1;
}

static int prepare_with(ns_job *j, int nl, struct ns_state *s);

static int prepare_in_ns(ns_job *j, int nl) {
  struct ns_state *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(j->err, j->errlen, "out of memory");
    return -1;
  }
  int r = prepare_with(j, nl, s);
  free(s);
  return r;
}

static int prepare_with(ns_job *j, int nl, struct ns_state *s) {
  struct oci_podnet *pn = j->pn;
  int r = read_state(nl, s);
  if (r < 0)
    return fail(j, r, "%s", "cannot read its interfaces");
  if (link_by_name(s, PODNET_TAP)) {
    snprintf(j->err, j->errlen, "network namespace %s already has a %s (a VM's pod network "
             "that was not torn down: run teardown first)", j->path, PODNET_TAP);
    return -1;
  }
  const struct link_info *cni = NULL;
  char names[256];
  int n = find_cni(s, &cni, names, sizeof(names));
  if (n == 0) {
    snprintf(j->err, j->errlen, "network namespace %s has no interface with an IPv4 address "
             "(did the CNI plugin run?)", j->path);
    return -1;
  }
  if (n > 1) {
    snprintf(j->err, j->errlen, "network namespace %s has %d interfaces with IPv4 addresses (%s); "
             "a pod network here is one interface", j->path, n, names);
    return -1;
  }
  if (!cni->has_mac) {
    snprintf(j->err, j->errlen, "network namespace %s: interface %s has no Ethernet address",
             j->path, cni->name);
    return -1;
  }
  /* The primary address (the first one that is not secondary). */
  const struct addr_info *addr = NULL;
  for (size_t i = 0; i < s->naddrs && !addr; i++)
    if (s->addrs[i].index == cni->index && !s->addrs[i].secondary)
      addr = &s->addrs[i];
  for (size_t i = 0; i < s->naddrs && !addr; i++)
    if (s->addrs[i].index == cni->index)
      addr = &s->addrs[i];
  snprintf(pn->ifname, sizeof(pn->ifname), "%s", cni->name);
  snprintf(pn->tap, sizeof(pn->tap), "%s", PODNET_TAP);
  snprintf(pn->mac, sizeof(pn->mac), "%02x:%02x:%02x:%02x:%02x:%02x", cni->mac[0], cni->mac[1],
           cni->mac[2], cni->mac[3], cni->mac[4], cni->mac[5]);
  pn->mtu = cni->mtu;
  char ip[16];
  fmt_ip(addr->addr, ip);
  snprintf(pn->address, sizeof(pn->address), "%s/%u", ip, addr->prefix);
  s->route_oif = cni->index;
  s->out = pn;
  if ((r = dump(nl, RTM_GETROUTE, AF_INET, on_route, s)) < 0)
    return fail(j, r, "%s", "cannot read its routes");
  if (s->too_many) {
    snprintf(j->err, j->errlen, "network namespace %s: more than %d interfaces, %d addresses or "
             "%d routes", j->path, PN_MAX_LINKS, PN_MAX_ADDRS, PN_MAX_ROUTES);
    return -1;
  }
  int cni_index = cni->index;

  /* The tap, then the mirroring; undone in reverse on any failure. */
  if ((r = tap_persist(PODNET_TAP, true)) < 0)
    return fail(j, r, "cannot create the tap %s", PODNET_TAP);
  int tap = (int)if_nametoindex(PODNET_TAP);
  bool cni_qdisc = false;
  if (tap <= 0)
    r = fail(j, -ENODEV, "cannot find the new tap %s", PODNET_TAP);
  else if ((r = link_up_mtu(nl, tap, pn->mtu)) < 0)
    r = fail(j, r, "cannot set the MTU of %s and set it up", PODNET_TAP);
  else if ((r = ingress(nl, cni_index, true)) < 0)
    r = r == -EEXIST ? fail(j, r, "%s has an ingress qdisc already (another runtime's?)", pn->ifname)
                     : fail(j, r, "cannot add an ingress qdisc to %s", pn->ifname);
  else if (!(cni_qdisc = true) || (r = ingress(nl, tap, true)) < 0)
    r = fail(j, r, "cannot add an ingress qdisc to %s", PODNET_TAP);
  else if ((r = redirect(nl, cni_index, tap)) < 0)
    r = fail(j, r, "cannot redirect %s's ingress to %s (u32 filter, mirred action)", pn->ifname,
             PODNET_TAP);
  else if ((r = redirect(nl, tap, cni_index)) < 0)
    r = fail(j, r, "cannot redirect %s's ingress to %s (u32 filter, mirred action)", PODNET_TAP,
             pn->ifname);
  if (r == 0)
    return 0;
  if (cni_qdisc)
    ingress(nl, cni_index, false);
  if (tap > 0)
    link_del(nl, tap);
  else
    tap_persist(PODNET_TAP, false);
  return -1;
}

int oci_podnet_prepare(const char *netns_path, oci_podnet **out, char *err, size_t errlen) {
  *out = NULL;
  struct oci_podnet *pn = calloc(1, sizeof(*pn));
  if (!pn) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (netns_path && strlen(netns_path) >= sizeof(pn->netns)) {
    free(pn);
    snprintf(err, errlen, "network namespace path too long");
    return -1;
  }
  int r = in_netns(netns_path, prepare_in_ns, pn, false, err, errlen);
  if (r != 0) {
    free(pn);
    return -1;
  }
  snprintf(pn->netns, sizeof(pn->netns), "%s", netns_path);
  *out = pn;
  return 0;
}

static int lib_fail(char *err, size_t errlen, const char *what) {
  snprintf(err, errlen, "%s: %s", what, vmctr_error_last()->message);
  return -1;
}

int oci_podnet_apply(const oci_podnet *pn, vmctr_container_config *cfg, char *err, size_t errlen) {
  if (!pn || !cfg) {
    snprintf(err, errlen, "oci_podnet_apply: NULL argument");
    return -1;
  }
  if (vmctr_container_config_set_network_namespace(cfg, pn->netns) < 0)
    return lib_fail(err, errlen, "pod network namespace");
  if (vmctr_container_config_add_tap(cfg, pn->tap, pn->mac, pn->address,
                                     pn->gateway[0] ? pn->gateway : NULL, pn->mtu) < 0)
    return lib_fail(err, errlen, "pod network interface");
  for (size_t i = 0; i < pn->nroutes; i++)
    if (vmctr_container_config_add_tap_route(cfg, pn->tap, pn->routes[i].dst,
                                             pn->routes[i].via[0] ? pn->routes[i].via : NULL) < 0)
      return lib_fail(err, errlen, "pod network route");
  return 0;
}

/* Our qdisc on the CNI interface first, then the tap (with its own): a
 * teardown cut short leaves at most the tap, which the next one removes. */
static int teardown_in_ns(ns_job *j, int nl) {
  int tap = (int)if_nametoindex(PODNET_TAP);
  if (tap <= 0)
    return 0;
  struct ns_state *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(j->err, j->errlen, "out of memory");
    return -1;
  }
  int r = read_state(nl, s);
  const struct link_info *cni = NULL;
  char names[256];
  if (r < 0)
    r = fail(j, r, "%s", "cannot read its interfaces");
  else if (find_cni(s, &cni, names, sizeof(names)) == 1 &&
           (r = ingress(nl, cni->index, false)) < 0 && r != -ENOENT && r != -EINVAL)
    r = fail(j, r, "cannot remove the ingress qdisc of %s", cni->name);
  else
    r = 0;
  free(s);
  if (r < 0)
    return r;
  if ((r = link_del(nl, tap)) < 0 && r != -ENODEV)
    return fail(j, r, "cannot remove the tap %s", PODNET_TAP);
  return 0;
}

int oci_podnet_teardown(const char *netns_path, char *err, size_t errlen) {
  int r = in_netns(netns_path, teardown_in_ns, NULL, true, err, errlen);
  return r < 0 ? -1 : 0;
}

void oci_podnet_free(oci_podnet *pn) { free(pn); }
