/* SPDX-License-Identifier: MIT */
/*
 * A small rtnetlink client (lib/net/rtnl.h). libc and the kernel's uapi
 * headers only: vmctr-init compiles it too.
 *
 * Every reply is untrusted input: each message's length is checked against
 * what recv returned, each attribute's against its message, and only
 * replies from the kernel (nl_pid 0) with our sequence number count.
 */
#include "net/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REQ_SIZE 512u
#define RECV_SIZE 32768u
#define RECV_TIMEOUT_S 5

/* A request under construction: header, family header, attributes. */
typedef struct nlreq {
  union {
    struct nlmsghdr h;
    uint8_t buf[REQ_SIZE];
  } u;
  size_t nest[4];
  int depth;
  bool overflow;
} nlreq;

static void req_init(nlreq *r, uint16_t type, uint16_t flags, const void *fam, size_t famlen) {
  memset(r, 0, sizeof(*r));
  r->u.h.nlmsg_type = type;
  r->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  r->u.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(famlen);
  memcpy(NLMSG_DATA(&r->u.h), fam, famlen);
}

static void req_put(nlreq *r, uint16_t type, const void *data, size_t len) {
  size_t off = NLMSG_ALIGN(r->u.h.nlmsg_len);
  if (r->overflow || off + RTA_SPACE(len) > sizeof(r->u.buf)) {
    r->overflow = true;
    return;
  }
  struct rtattr *a = (struct rtattr *)(r->u.buf + off);
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len)
    memcpy(RTA_DATA(a), data, len);
  r->u.h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static void req_put_u32(nlreq *r, uint16_t type, uint32_t v) {
  req_put(r, type, &v, sizeof(v));
}

static void req_put_str(nlreq *r, uint16_t type, const char *s) {
  req_put(r, type, s, strlen(s) + 1);
}

/* Bytes without an attribute header (the ifinfomsg of a veth peer). */
static void req_put_raw(nlreq *r, const void *data, size_t len) {
  size_t off = NLMSG_ALIGN(r->u.h.nlmsg_len);
  if (r->overflow || off + NLMSG_ALIGN(len) > sizeof(r->u.buf)) {
    r->overflow = true;
    return;
  }
  memcpy(r->u.buf + off, data, len);
  r->u.h.nlmsg_len = (uint32_t)(off + NLMSG_ALIGN(len));
}

static void req_nest_begin(nlreq *r, uint16_t type) {
  if (r->depth >= (int)(sizeof(r->nest) / sizeof(r->nest[0]))) {
    r->overflow = true;
    return;
  }
  r->nest[r->depth++] = NLMSG_ALIGN(r->u.h.nlmsg_len);
  req_put(r, type, NULL, 0);
}

static void req_nest_end(nlreq *r) {
  if (r->depth <= 0 || r->overflow)
    return;
  size_t off = r->nest[--r->depth];
  struct rtattr *a = (struct rtattr *)(r->u.buf + off);
  a->rta_len = (unsigned short)(r->u.h.nlmsg_len - off);
}

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return -errno;
  struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static int nl_send(int fd, nlreq *r, uint32_t seq) {
  if (r->overflow)
    return -ENOBUFS;
  r->u.h.nlmsg_seq = seq;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n;
  do
    n = sendto(fd, r->u.buf, r->u.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  return n == (ssize_t)r->u.h.nlmsg_len ? 0 : -EIO;
}

/* Called for each reply message of a dump; nonzero stops (and is kept). */
typedef int (*nl_msg_fn)(const struct nlmsghdr *h, void *ud);

/* Read replies to seq until the ACK (or DONE for a dump). Returns the
 * kernel's error (negative), fn's nonzero value, or 0. */
static int nl_recv(int fd, uint32_t seq, nl_msg_fn fn, void *ud) {
  uint8_t *buf = malloc(RECV_SIZE);
  int ret = 0;
  if (!buf)
    return -ENOMEM;
  for (;;) {
    struct sockaddr_nl sa;
    socklen_t salen = sizeof(sa);
    ssize_t n = recvfrom(fd, buf, RECV_SIZE, MSG_TRUNC, (struct sockaddr *)&sa, &salen);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
      break;
    }
    if ((size_t)n > RECV_SIZE) {
      ret = -EMSGSIZE;
      break;
    }
    if (salen < sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
      continue; /* not the kernel */
    size_t left = (size_t)n;
    const uint8_t *p = buf;
    while (left >= sizeof(struct nlmsghdr)) {
      const struct nlmsghdr *h = (const struct nlmsghdr *)p;
      if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > left) {
        ret = -EBADMSG;
        goto out;
      }
      size_t step = NLMSG_ALIGN(h->nlmsg_len);
      if (step > left)
        step = left;
      if (h->nlmsg_seq == seq) {
        if (h->nlmsg_type == NLMSG_ERROR) {
          if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
            ret = -EBADMSG;
            goto out;
          }
          const struct nlmsgerr *e = NLMSG_DATA(h);
          /* error 0 is the ACK; an error beyond errno's range is bogus */
          if (ret == 0)
            ret = e->error > 0 || e->error < -4095 ? -EBADMSG : e->error;
          goto out;
        }
        if (h->nlmsg_type == NLMSG_DONE)
          goto out;
        if (fn && ret == 0 && h->nlmsg_type >= RTM_BASE)
          ret = fn(h, ud); /* keep reading to DONE so the socket is clean */
      }
      p += step;
      left -= step;
    }
  }
out:
  free(buf);
  return ret;
}

static int nl_do(nlreq *r, nl_msg_fn fn, void *ud) {
  static uint32_t seq_counter;
  int fd = nl_open();
  if (fd < 0)
    return fd;
  uint32_t seq = ++seq_counter ^ (uint32_t)getpid() << 16;
  if (!fn) /* a change: ask for the ACK (a dump ends with DONE) */
    r->u.h.nlmsg_flags |= NLM_F_ACK;
  int ret = nl_send(fd, r, seq);
  if (ret == 0)
    ret = nl_recv(fd, seq, fn, ud);
  close(fd);
  return ret;
}

/* The attributes of a message after its family header of famlen bytes,
 * indexed by type (up to max); each one lies inside the message. */
static void parse_attrs(const struct nlmsghdr *h, size_t famlen, const struct rtattr **tb,
                        unsigned max) {
  memset(tb, 0, sizeof(*tb) * (max + 1));
  if (h->nlmsg_len < NLMSG_SPACE(famlen))
    return;
  const uint8_t *p = (const uint8_t *)h + NLMSG_SPACE(famlen);
  size_t left = h->nlmsg_len - NLMSG_SPACE(famlen);
  while (left >= sizeof(struct rtattr)) {
    const struct rtattr *a = (const struct rtattr *)p;
    if (a->rta_len < sizeof(*a) || a->rta_len > left)
      return;
    unsigned t = a->rta_type & NLA_TYPE_MASK;
    if (t <= max && !tb[t])
      tb[t] = a;
    size_t step = RTA_ALIGN(a->rta_len);
    if (step >= left)
      return;
    p += step;
    left -= step;
  }
}

static size_t attr_len(const struct rtattr *a) {
  return a->rta_len - RTA_LENGTH(0);
}

/* One link of a dump, checked. */
typedef struct link_row {
  int ifindex;
  unsigned flags;
  char name[IFNAMSIZ];
  bool has_mac;
  uint8_t mac[6];
  uint32_t mtu, master;
} link_row;

static bool link_parse(const struct nlmsghdr *h, link_row *row) {
  const struct rtattr *tb[IFLA_MAX + 1];
  if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
    return false;
  const struct ifinfomsg *ifi = NLMSG_DATA(h);
  parse_attrs(h, sizeof(*ifi), tb, IFLA_MAX);
  memset(row, 0, sizeof(*row));
  row->ifindex = ifi->ifi_index;
  row->flags = ifi->ifi_flags;
  if (row->ifindex <= 0 || !tb[IFLA_IFNAME])
    return false;
  size_t n = attr_len(tb[IFLA_IFNAME]);
  const char *s = RTA_DATA(tb[IFLA_IFNAME]);
  size_t sl = strnlen(s, n);
  if (sl == 0 || sl >= IFNAMSIZ)
    return false;
  memcpy(row->name, s, sl);
  if (tb[IFLA_ADDRESS] && attr_len(tb[IFLA_ADDRESS]) == 6) {
    row->has_mac = true;
    memcpy(row->mac, RTA_DATA(tb[IFLA_ADDRESS]), 6);
  }
  if (tb[IFLA_MTU] && attr_len(tb[IFLA_MTU]) == 4)
    memcpy(&row->mtu, RTA_DATA(tb[IFLA_MTU]), 4);
  if (tb[IFLA_MASTER] && attr_len(tb[IFLA_MASTER]) == 4)
    memcpy(&row->master, RTA_DATA(tb[IFLA_MASTER]), 4);
  return true;
}

typedef struct link_walk {
  int (*fn)(const link_row *row, void *ud);
  void *ud;
} link_walk;

static int link_walk_msg(const struct nlmsghdr *h, void *ud) {
  link_walk *w = ud;
  link_row row;
  return link_parse(h, &row) ? w->fn(&row, w->ud) : 0;
}

static int link_dump(int (*fn)(const link_row *row, void *ud), void *ud) {
  nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  req_init(&r, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
  link_walk w = {fn, ud};
  return nl_do(&r, link_walk_msg, &w);
}

static bool name_ok(const char *name) {
  size_t n = name ? strnlen(name, IFNAMSIZ) : 0;
  return n > 0 && n < IFNAMSIZ;
}

static int match_name(const link_row *row, void *ud) {
  return strcmp(row->name, ud) == 0 ? row->ifindex : 0;
}

int vmctr__rtnl_ifindex(const char *name) {
  if (!name_ok(name))
    return -EINVAL;
  int r = link_dump(match_name, (void *)name);
  return r == 0 ? -ENODEV : r;
}

static int match_mac(const link_row *row, void *ud) {
  return row->has_mac && memcmp(row->mac, ud, 6) == 0 ? row->ifindex : 0;
}

int vmctr__rtnl_find_mac(const uint8_t mac[6]) {
  if (!mac)
    return -EINVAL;
  uint8_t m[6];
  memcpy(m, mac, 6);
  int r = link_dump(match_mac, m);
  return r == 0 ? -ENODEV : r;
}

typedef struct link_get {
  int ifindex;
  vmctr__rtnl_link *out;
} link_get;

static int match_index(const link_row *row, void *ud) {
  link_get *g = ud;
  if (row->ifindex != g->ifindex)
    return 0;
  vmctr__rtnl_link *o = g->out;
  memset(o, 0, sizeof(*o));
  o->ifindex = row->ifindex;
  memcpy(o->name, row->name, sizeof(o->name));
  o->up = (row->flags & IFF_UP) != 0;
  o->mtu = row->mtu;
  o->master = (int)row->master;
  o->has_mac = row->has_mac;
  memcpy(o->mac, row->mac, 6);
  return 1;
}

int vmctr__rtnl_link_get(int ifindex, vmctr__rtnl_link *out) {
  if (ifindex <= 0 || !out)
    return -EINVAL;
  vmctr__rtnl_link tmp;
  link_get g = {ifindex, &tmp};
  int r = link_dump(match_index, &g);
  if (r == 0)
    return -ENODEV;
  if (r < 0)
    return r;
  *out = tmp;
  return 0;
}

int vmctr__rtnl_link_set(int ifindex, int up, uint32_t mtu) {
  if (ifindex <= 0)
    return -EINVAL;
  nlreq r;
  struct ifinfomsg ifi = {
      .ifi_family = AF_UNSPEC,
      .ifi_index = ifindex,
      .ifi_flags = up ? IFF_UP : 0,
      .ifi_change = IFF_UP,
  };
  req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  if (mtu)
    req_put_u32(&r, IFLA_MTU, mtu);
  return nl_do(&r, NULL, NULL);
}

static uint32_t prefix_mask(uint32_t prefix) {
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int vmctr__rtnl_addr_add(int ifindex, uint32_t addr, uint32_t prefix) {
  if (ifindex <= 0 || prefix > 32 || addr == 0)
    return -EINVAL;
  nlreq r;
  struct ifaddrmsg ifa = {
      .ifa_family = AF_INET,
      .ifa_prefixlen = (uint8_t)prefix,
      .ifa_scope = RT_SCOPE_UNIVERSE,
      .ifa_index = (uint32_t)ifindex,
  };
  req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
  uint32_t be = htonl(addr);
  req_put_u32(&r, IFA_LOCAL, be);
  req_put_u32(&r, IFA_ADDRESS, be);
  if (prefix < 31)
    req_put_u32(&r, IFA_BROADCAST, htonl(addr | ~prefix_mask(prefix)));
  return nl_do(&r, NULL, NULL);
}

int vmctr__rtnl_route_add(int ifindex, uint32_t dst, uint32_t prefix, uint32_t gw) {
  if (ifindex <= 0 || prefix > 32 || (dst & ~prefix_mask(prefix)) != 0)
    return -EINVAL;
  nlreq r;
  struct rtmsg rtm = {
      .rtm_family = AF_INET,
      .rtm_dst_len = (uint8_t)prefix,
      .rtm_table = RT_TABLE_MAIN,
      .rtm_protocol = RTPROT_BOOT,
      .rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
      .rtm_type = RTN_UNICAST,
  };
  req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
  if (prefix)
    req_put_u32(&r, RTA_DST, htonl(dst));
  if (gw)
    req_put_u32(&r, RTA_GATEWAY, htonl(gw));
  req_put_u32(&r, RTA_OIF, (uint32_t)ifindex);
  return nl_do(&r, NULL, NULL);
}

int vmctr__rtnl_link_add(const char *name, const char *kind, const uint8_t mac[6],
                         uint32_t mtu) {
  if (!name_ok(name) || !kind || !*kind || strlen(kind) > 32)
    return -EINVAL;
  nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
  req_put_str(&r, IFLA_IFNAME, name);
  if (mtu)
    req_put_u32(&r, IFLA_MTU, mtu);
  if (mac)
    req_put(&r, IFLA_ADDRESS, mac, 6);
  req_nest_begin(&r, IFLA_LINKINFO);
  req_put_str(&r, IFLA_INFO_KIND, kind);
  req_nest_end(&r);
  return nl_do(&r, NULL, NULL);
}

int vmctr__rtnl_veth_add(const char *name, const char *peer, const uint8_t mac[6]) {
  if (!name_ok(name) || !name_ok(peer))
    return -EINVAL;
  nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
  req_put_str(&r, IFLA_IFNAME, name);
  if (mac)
    req_put(&r, IFLA_ADDRESS, mac, 6);
  req_nest_begin(&r, IFLA_LINKINFO);
  req_put_str(&r, IFLA_INFO_KIND, "veth");
  req_nest_begin(&r, IFLA_INFO_DATA);
  req_nest_begin(&r, VETH_INFO_PEER);
  req_put_raw(&r, &ifi, sizeof(ifi));
  req_put_str(&r, IFLA_IFNAME, peer);
  req_nest_end(&r);
  req_nest_end(&r);
  req_nest_end(&r);
  return nl_do(&r, NULL, NULL);
}

int vmctr__rtnl_bridge_add(const char *name, uint32_t mtu) {
  return vmctr__rtnl_link_add(name, "bridge", NULL, mtu);
}

int vmctr__rtnl_link_set_master(int ifindex, int master_ifindex) {
  if (ifindex <= 0 || master_ifindex < 0)
    return -EINVAL;
  nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
  req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  req_put_u32(&r, IFLA_MASTER, (uint32_t)master_ifindex);
  return nl_do(&r, NULL, NULL);
}

int vmctr__rtnl_link_del(int ifindex) {
  if (ifindex <= 0)
    return -EINVAL;
  nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
  req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
  return nl_do(&r, NULL, NULL);
}

/* Matching links are collected first and fn runs after the dump, so fn may
 * itself change links (delete them, say) without disturbing the dump. */
typedef struct link_list {
  const char *prefix;
  size_t plen;
  struct {
    int ifindex;
    char name[IFNAMSIZ];
  } *v;
  size_t n, cap;
} link_list;

static int collect(const link_row *row, void *ud) {
  link_list *l = ud;
  if (strncmp(row->name, l->prefix, l->plen) != 0)
    return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    void *v = realloc(l->v, cap * sizeof(*l->v));
    if (!v)
      return -ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].ifindex = row->ifindex;
  memcpy(l->v[l->n].name, row->name, IFNAMSIZ);
  l->n++;
  return 0;
}

int vmctr__rtnl_links(const char *prefix, int (*fn)(int ifindex, const char *name, void *ud),
                      void *ud) {
  if (!prefix || !fn)
    return -EINVAL;
  link_list l = {.prefix = prefix, .plen = strlen(prefix)};
  int r = link_dump(collect, &l);
  for (size_t i = 0; r == 0 && i < l.n; i++)
    r = fn(l.v[i].ifindex, l.v[i].name, ud);
  free(l.v);
  return r;
}
