/* SPDX-License-Identifier: MIT */
/* The host side of shared, host-only and bridged networks (lib/net/host.h)
 * against the real kernel: bridges, veths, taps and nftables, each case in
 * network namespaces of its own. A forked child unshares a namespace "H"
 * (the host, where the library runs); more namespaces stand in for guests
 * (G1, G2: a veth end on the bridge instead of a VM's tap) and for the
 * outside (P, linked to H by a veth). Nothing touches the namespace the
 * test started in. Skips (77) unless root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nftables/libnftables.h>
#include <vmctr.h>

#include "net/host.h"
#include "net/rtnl.h"

/* ---- inside the child: checks end the child with a message ---- */

#define CK(cond, ...)                                                                         \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      fprintf(stderr, "# %s:%d: %s: ", __FILE__, __LINE__, #cond);                            \
      fprintf(stderr, __VA_ARGS__);                                                           \
      fprintf(stderr, "\n");                                                                  \
      _exit(1);                                                                               \
    }                                                                                         \
  } while (0)
#define CK_OK(expr)                                                                           \
  do {                                                                                        \
    int r_ = (expr);                                                                          \
    CK(r_ >= 0, "%d %s", r_, vmctr_error_last()->message);                                    \
  } while (0)

static int h_ns = -1; /* the "host" namespace of the current case */

static void enter(int ns) {
  CK(setns(ns, CLONE_NEWNET) == 0, "setns: %s", strerror(errno));
}

/* A new empty network namespace with lo up, as an fd; we stay in H. */
static int ns_new(void) {
  CK(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
  int fd = open("/proc/self/ns/net", O_RDONLY); /* no CLOEXEC: ip uses it */
  CK(fd >= 0, "open ns");
  CK(system("ip link set lo up") == 0, "lo up");
  enter(h_ns);
  return fd;
}

/* Run a shell command in namespace ns (-1: H). */
static void sh(int ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh(int ns, const char *fmt, ...) {
  char cmd[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (ns >= 0)
    enter(ns);
  int st = system(cmd);
  if (ns >= 0)
    enter(h_ns);
  CK(st == 0, "`%s` exited %d", cmd, st);
}

/* The output of a command run in H (first line kept). */
static void sh_out(char *buf, size_t n, const char *cmd) {
  FILE *p = popen(cmd, "r");
  CK(p, "popen %s", cmd);
  buf[0] = 0;
  if (!fgets(buf, (int)n, p))
    buf[0] = 0;
  pclose(p);
}

/* A veth pair: hname in H, "eth0" in ns with addr/prefix (and a default
 * route via gw when gw is given). */
static void veth(const char *hname, int ns, const char *addr, const char *gw) {
  sh(-1, "ip link add %s type veth peer name eth0 netns /proc/%d/fd/%d", hname, (int)getpid(), ns);
  sh(ns, "ip addr add %s dev eth0 && ip link set eth0 up", addr);
  if (gw)
    sh(ns, "ip route add default via %s", gw);
}

static uint32_t ip4(const char *s) {
  struct in_addr a;
  CK(inet_pton(AF_INET, s, &a) == 1, "bad address %s", s);
  return ntohl(a.s_addr);
}

/* A TCP listener on port in ns (any address), non-blocking. */
static int listen_in(int ns, int port) {
  enter(ns);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  enter(h_ns);
  CK(s >= 0, "socket");
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  CK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0, "bind %d: %s", port, strerror(errno));
  CK(listen(s, 16) == 0, "listen");
  return s;
}

/* Connect from ns to ip:port within ms; the connected socket or -1. */
static int connect_from(int ns, const char *ip, int port, int ms) {
  enter(ns);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  enter(h_ns);
  CK(s >= 0, "socket");
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(ip4(ip));
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
    close(s);
    return -1;
  }
  struct pollfd p = {.fd = s, .events = POLLOUT};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, ms) != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
    close(s);
    return -1;
  }
  return s;
}

/* Accept one connection on l; the peer's address into peer. */
static void accept_peer(int l, char peer[INET_ADDRSTRLEN]) {
  struct pollfd p = {.fd = l, .events = POLLIN};
  CK(poll(&p, 1, 2000) == 1, "nothing to accept");
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int c = accept4(l, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
  CK(c >= 0, "accept: %s", strerror(errno));
  inet_ntop(AF_INET, &sa.sin_addr, peer, INET_ADDRSTRLEN);
  close(c);
}

/* A connection from ns to ip:port succeeds, and l sees it from want_peer
 * (NULL: any). */
static void reaches(int ns, const char *ip, int port, int l, const char *want_peer) {
  int c = connect_from(ns, ip, port, 3000);
  CK(c >= 0, "cannot connect to %s:%d", ip, port);
  char peer[INET_ADDRSTRLEN];
  accept_peer(l, peer);
  close(c);
  CK(!want_peer || strcmp(peer, want_peer) == 0, "%s:%d saw the peer %s, not %s", ip, port, peer,
     want_peer);
}

static void unreachable(int ns, const char *ip, int port) {
  int c = connect_from(ns, ip, port, 1000);
  CK(c < 0, "%s:%d is reachable", ip, port);
}

static vmctr__host_net net_of(uint32_t mode, const char *id) {
  vmctr__host_net hn = {.mode = mode, .subnet = ip4("10.88.0.0"), .prefix = 24,
                        .gateway = ip4("10.88.0.1"), .mtu = 1500};
  snprintf(hn.id, sizeof hn.id, "%s", id);
  return hn;
}

static int link_exists(const char *name) {
  return vmctr__rtnl_ifindex(name) > 0;
}

/* Whether table "ip <name>" exists, asked through libnftables. */
static int table_exists(const char *name) {
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  CK(ctx, "nft_ctx_new");
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  CK(nft_run_cmd_from_buffer(ctx, "list tables") == 0, "nft list tables");
  char want[64];
  snprintf(want, sizeof want, "table ip %s\n", name);
  int found = strstr(nft_ctx_get_output_buffer(ctx), want) != NULL;
  nft_ctx_free(ctx);
  return found;
}

/* Run body in a child inside a fresh namespace H; skip unless root. */
static void in_host_ns(void (*body)(void)) {
  if (geteuid() != 0)
    skip();
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0)
      _exit(77);
    h_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (h_ns < 0 || system("ip link set lo up") != 0)
      _exit(77);
    body();
    fflush(NULL);
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  if (WEXITSTATUS(st) == 77)
    skip();
  assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- cases ---- */

/* Shared: G1 and G2 on the bridge, P outside at 192.0.2.2 (no route to
 * the guests' subnet). */
static void shared_body(void) {
  vmctr__host_net hn = net_of(VMCTR__HOSTNET_SHARED, "0000aa01");
  int g1 = ns_new(), g2 = ns_new(), p = ns_new();
  CK_OK(vmctr__host_net_up(&hn));
  CK_OK(vmctr__host_net_up(&hn)); /* idempotent */
  char fwd[8];
  sh_out(fwd, sizeof fwd, "cat /proc/sys/net/ipv4/ip_forward");
  CK(fwd[0] == '1', "ip_forward is %s", fwd);
  veth("vh-g1", g1, "10.88.0.11/24", "10.88.0.1");
  veth("vh-g2", g2, "10.88.0.12/24", "10.88.0.1");
  CK_OK(vmctr__host_net_attach(&hn, "vh-g1"));
  CK_OK(vmctr__host_net_attach(&hn, "vh-g2"));
  veth("vh-p", p, "192.0.2.2/24", NULL);
  sh(-1, "ip addr add 192.0.2.1/24 dev vh-p && ip link set vh-p up");

  vmctr__host_forward fw[2] = {
      {.port = {.proto = VMCTR__NET_TCP, .host_port = 8080, .guest_port = 80},
       .guest_ip = ip4("10.88.0.11")},
      {.port = {.proto = VMCTR__NET_TCP, .host_ip = ip4("192.0.2.1"), .host_port = 8081,
                .guest_port = 81},
       .guest_ip = ip4("10.88.0.11")},
  };
  CK_OK(vmctr__host_net_sync(&hn, fw, 2));
  CK(table_exists("vmctr-0000aa01"), "no table");

  /* Out through the masquerade: P sees H's address. */
  int lp = listen_in(p, 9000);
  reaches(g1, "192.0.2.2", 9000, lp, "192.0.2.1");
  /* Guest to guest across the bridge, addresses kept. */
  int l2 = listen_in(g2, 7000);
  reaches(g1, "10.88.0.12", 7000, l2, "10.88.0.11");
  /* Published ports: from the host's loopback (masqueraded to the gateway),
   * from the host's own address, and from outside (source kept). */
  int l80 = listen_in(g1, 80), l81 = listen_in(g1, 81);
  reaches(h_ns, "127.0.0.1", 8080, l80, "10.88.0.1");
  reaches(h_ns, "192.0.2.1", 8080, l80, "192.0.2.1");
  reaches(p, "192.0.2.1", 8080, l80, "192.0.2.2");
  reaches(p, "192.0.2.1", 8081, l81, "192.0.2.2");
  reaches(h_ns, "192.0.2.1", 8081, l81, NULL);
  unreachable(h_ns, "127.0.0.1", 8081); /* bound to 192.0.2.1 only */
  /* The bridge routes 127/8 now (route_localnet): a guest that sends to
   * 127.0.0.1 through it must still not reach the host's loopback. */
  int lh = listen_in(h_ns, 6000);
  sh(g1, "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && ip addr flush dev lo && "
         "ip link set lo down && ip route add 127.0.0.0/8 via 10.88.0.1");
  unreachable(g1, "127.0.0.1", 6000);
  close(lh);
  sh(g1, "ip link set lo up && ip route del 127.0.0.0/8 via 10.88.0.1");

  /* Sync with fewer forwards: the old one is gone, the kept one works. */
  CK_OK(vmctr__host_net_sync(&hn, fw, 1));
  unreachable(p, "192.0.2.1", 8081);
  reaches(p, "192.0.2.1", 8080, l80, "192.0.2.2");
  CK_OK(vmctr__host_net_sync(&hn, NULL, 0));
  unreachable(h_ns, "127.0.0.1", 8080);
  unreachable(p, "192.0.2.1", 8080);
  reaches(g1, "192.0.2.2", 9000, lp, "192.0.2.1");

  CK_OK(vmctr__host_net_down(&hn));
  CK(!link_exists("vmbr-0000aa01") && !table_exists("vmctr-0000aa01"), "left after down");
}

/* Host-only: with forwarding on and a route back in P, only the table
 * stops G1 from reaching P. */
static void host_only_body(void) {
  vmctr__host_net hn = net_of(VMCTR__HOSTNET_HOST_ONLY, "0000bb02");
  int g1 = ns_new(), p = ns_new();
  CK_OK(vmctr__host_net_up(&hn));
  veth("vh-g1", g1, "10.88.0.11/24", "10.88.0.1");
  CK_OK(vmctr__host_net_attach(&hn, "vh-g1"));
  veth("vh-p", p, "192.0.2.2/24", NULL);
  sh(-1, "ip addr add 192.0.2.1/24 dev vh-p && ip link set vh-p up");
  sh(p, "ip route add 10.88.0.0/24 via 192.0.2.1");
  sh(-1, "echo 1 > /proc/sys/net/ipv4/ip_forward"); /* H's own, not the host's */

  int lp = listen_in(p, 9000), lg = listen_in(g1, 80), lh = listen_in(h_ns, 5000);
  reaches(g1, "192.0.2.2", 9000, lp, "10.88.0.11"); /* no table yet: routed */
  CK_OK(vmctr__host_net_sync(&hn, NULL, 0));
  reaches(h_ns, "10.88.0.11", 80, lg, "10.88.0.1");
  reaches(g1, "10.88.0.1", 5000, lh, "10.88.0.11");
  unreachable(g1, "192.0.2.2", 9000);
  unreachable(p, "10.88.0.11", 80);
  /* A published port still reaches the guest from the host. */
  vmctr__host_forward fw = {.port = {.proto = VMCTR__NET_TCP, .host_port = 8080, .guest_port = 80},
                            .guest_ip = ip4("10.88.0.11")};
  CK_OK(vmctr__host_net_sync(&hn, &fw, 1));
  reaches(h_ns, "127.0.0.1", 8080, lg, "10.88.0.1");
  unreachable(g1, "192.0.2.2", 9000);
  CK_OK(vmctr__host_net_down(&hn));
}

/* Bridged: "vh-out" stands in for the host's NIC; the LAN (P) is on its far side. */
static void bridged_body(void) {
  int g1 = ns_new(), p = ns_new();
  veth("vh-out", p, "10.99.0.2/24", NULL);
  vmctr__host_net hn = net_of(VMCTR__HOSTNET_BRIDGED, "0000cc03");
  hn.host_if = "vh-out";
  /* An interface that carries the host's address is refused. */
  sh(-1, "ip addr add 10.99.0.1/24 dev vh-out");
  int r = vmctr__host_net_up(&hn);
  CK(r == VMCTR_EBUSY && strstr(vmctr_error_last()->message, "10.99.0.1"), "%d %s", r,
     vmctr_error_last()->message);
  CK(!link_exists("vmbr-0000cc03"), "bridge made anyway");
  sh(-1, "ip addr flush dev vh-out");
  /* So is one that another bridge holds. */
  sh(-1, "ip link add br-else type bridge && ip link set vh-out master br-else");
  r = vmctr__host_net_up(&hn);
  CK(r == VMCTR_EBUSY && strstr(vmctr_error_last()->message, "another bridge"), "%d %s", r,
     vmctr_error_last()->message);
  CK(!link_exists("vmbr-0000cc03"), "bridge made anyway");
  sh(-1, "ip link del br-else");

  CK_OK(vmctr__host_net_up(&hn));
  CK_OK(vmctr__host_net_up(&hn));
  veth("vh-g1", g1, "10.99.0.11/24", NULL);
  CK_OK(vmctr__host_net_attach(&hn, "vh-g1"));
  vmctr__host_forward fw = {.port = {.proto = VMCTR__NET_TCP, .host_port = 1, .guest_port = 1},
                            .guest_ip = ip4("10.99.0.11")};
  CK(vmctr__host_net_sync(&hn, &fw, 1) == VMCTR_EINVAL, "bridged took a forward");
  CK_OK(vmctr__host_net_sync(&hn, NULL, 0));
  int lp = listen_in(p, 9000), lg = listen_in(g1, 80);
  reaches(g1, "10.99.0.2", 9000, lp, "10.99.0.11");
  reaches(p, "10.99.0.11", 80, lg, "10.99.0.2");
  CK_OK(vmctr__host_net_down(&hn));
  CK(link_exists("vh-out") && !link_exists("vmbr-0000cc03"), "down lost the host interface");
  char line[512];
  sh_out(line, sizeof line, "ip -o link show dev vh-out");
  CK(!strstr(line, "master"), "vh-out still enslaved: %s", line);
}

static void tap_body(void) {
  vmctr__host_net hn = net_of(VMCTR__HOSTNET_SHARED, "0000dd04");
  hn.mtu = 1400;
  int fd = -1, fd2 = -1;
  char name[16], name2[16];
  CK(vmctr__host_net_tap(&hn, &fd, name) == VMCTR_ENOENT, "tap without a bridge");
  CK_OK(vmctr__host_net_up(&hn));
  CK_OK(vmctr__host_net_tap(&hn, &fd, name));
  CK_OK(vmctr__host_net_tap(&hn, &fd2, name2));
  CK(fd >= 0 && strcmp(name, "vmt0000dd04-0") == 0 && strcmp(name2, "vmt0000dd04-1") == 0,
     "taps %s %s", name, name2);
  CK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "tap fd not close-on-exec");
  char cmd[64], line[512];
  snprintf(cmd, sizeof cmd, "ip -o link show dev %s", name);
  sh_out(line, sizeof line, cmd);
  CK(strstr(line, "master vmbr-0000dd04") && strstr(line, "mtu 1400") && strstr(line, ",UP"),
     "tap: %s", line);
  sh_out(line, sizeof line, "ip -o -d link show dev vmt0000dd04-0 | grep -o 'tun type tap[^ ]*'");
  CK(strstr(line, "tun type tap"), "not a tap: %s", line);
  close(fd);
  CK(!link_exists(name), "tap %s outlived its fd", name);
  CK(link_exists(name2), "the other tap went too");
  /* Down takes the bridge away under a remaining tap, which stays (unbridged). */
  CK_OK(vmctr__host_net_down(&hn));
  close(fd2);
  CK(!link_exists(name2), "tap %s outlived its fd", name2);
}

static void sweep_body(void) {
  vmctr__host_net a = net_of(VMCTR__HOSTNET_SHARED, "000000aa");
  vmctr__host_net b = net_of(VMCTR__HOSTNET_HOST_ONLY, "000000bb");
  vmctr__host_net c = net_of(VMCTR__HOSTNET_SHARED, "000000cc");
  b.subnet = ip4("10.89.0.0"), b.gateway = ip4("10.89.0.1");
  c.subnet = ip4("10.90.0.0"), c.gateway = ip4("10.90.0.1");
  const vmctr__host_net *all[] = {&a, &b, &c};
  for (int i = 0; i < 3; i++) {
    CK_OK(vmctr__host_net_up(all[i]));
    CK_OK(vmctr__host_net_sync(all[i], NULL, 0));
  }
  /* What is not ours stays: a bridge and a table with other names. */
  sh(-1, "ip link add vmbr-other type bridge && nft add table ip other && nft add table ip vmctr-x");

  CK_OK(vmctr__host_net_down(&a));
  CK_OK(vmctr__host_net_down(&a)); /* missing objects are fine */
  CK(!link_exists("vmbr-000000aa") && !table_exists("vmctr-000000aa"), "a left after down");

  /* c "crashed": its bridge and table are stale. b is in use. */
  const char *keep[] = {"000000bb", NULL};
  size_t removed = 99;
  CK_OK(vmctr__host_net_sweep(keep, &removed));
  CK(removed == 2, "removed %zu", removed);
  CK(!link_exists("vmbr-000000cc") && !table_exists("vmctr-000000cc"), "c survived the sweep");
  CK(link_exists("vmbr-000000bb") && table_exists("vmctr-000000bb"), "the sweep took b");
  CK(link_exists("vmbr-other") && table_exists("other") && table_exists("vmctr-x"),
     "the sweep took what is not ours");
  CK_OK(vmctr__host_net_sweep(keep, &removed));
  CK(removed == 0, "second sweep removed %zu", removed);
  CK_OK(vmctr__host_net_sweep(NULL, &removed));
  CK(removed == 2 && !link_exists("vmbr-000000bb") && !table_exists("vmctr-000000bb"),
     "sweep of all removed %zu", removed);
}

/* Without CAP_NET_ADMIN (dropped from every set in a grandchild, still uid 0). */
static void noperm_body(void) {
  fflush(NULL);
  pid_t pid = fork();
  CK(pid >= 0, "fork");
  if (pid == 0) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    CK(syscall(SYS_capget, &hdr, d) == 0, "capget");
    d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
    d[CAP_NET_ADMIN / 32].inheritable &= ~(1u << (CAP_NET_ADMIN % 32));
    CK(syscall(SYS_capset, &hdr, d) == 0, "capset: %s", strerror(errno));
    for (uint32_t mode = VMCTR__HOSTNET_SHARED; mode <= VMCTR__HOSTNET_HOST_ONLY; mode++) {
      vmctr__host_net hn = net_of(mode, "0000ee05");
      int r = vmctr__host_net_up(&hn);
      char want[96];
      snprintf(want, sizeof want, "%s networks need CAP_NET_ADMIN (run as root or grant it)",
               vmctr__host_net_mode_name(mode));
      CK(r == VMCTR_EPERM && vmctr_error_last()->code == VMCTR_EPERM &&
             strcmp(vmctr_error_last()->message, want) == 0,
         "%d \"%s\"", r, vmctr_error_last()->message);
      int fd;
      char name[16];
      CK(vmctr__host_net_tap(&hn, &fd, name) < 0, "tap without CAP_NET_ADMIN");
      CK(vmctr__host_net_sync(&hn, NULL, 0) == VMCTR_EPERM, "sync: %s", vmctr_error_last()->message);
    }
    CK(!link_exists("vmbr-0000ee05"), "bridge made without CAP_NET_ADMIN");
    _exit(0);
  }
  int st = 0;
  CK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}

static void test_shared(void **s) {
  (void)s;
  in_host_ns(shared_body);
}
static void test_host_only(void **s) {
  (void)s;
  in_host_ns(host_only_body);
}
static void test_bridged(void **s) {
  (void)s;
  in_host_ns(bridged_body);
}
static void test_tap(void **s) {
  (void)s;
  in_host_ns(tap_body);
}
static void test_sweep(void **s) {
  (void)s;
  in_host_ns(sweep_body);
}
static void test_noperm(void **s) {
  (void)s;
  in_host_ns(noperm_body);
}

/* Argument checks need no namespace. */
static void test_invalid(void **s) {
  (void)s;
  vmctr__host_net hn = {.mode = VMCTR__HOSTNET_SHARED, .id = "XYZ", .mtu = 1500};
  assert_int_equal(vmctr__host_net_up(&hn), VMCTR_EINVAL);
  assert_int_equal(vmctr__host_net_up(NULL), VMCTR_EINVAL);
  snprintf(hn.id, sizeof hn.id, "0000ff06");
  hn.mode = 9;
  assert_int_equal(vmctr__host_net_sync(&hn, NULL, 0), VMCTR_EINVAL);
  hn.mode = VMCTR__HOSTNET_SHARED, hn.subnet = 0x0a580000, hn.prefix = 24, hn.gateway = 0x0a590001;
  assert_int_equal(vmctr__host_net_up(&hn), VMCTR_EINVAL); /* gateway outside */
  hn.gateway = 0x0a580001;
  vmctr__host_forward fw = {.port = {.proto = 99, .host_port = 1, .guest_port = 1},
                            .guest_ip = 0x0a580002};
  assert_int_equal(vmctr__host_net_sync(&hn, &fw, 1), VMCTR_EINVAL);
  fw.port.proto = VMCTR__NET_TCP, fw.guest_ip = 0x0b000002;
  assert_int_equal(vmctr__host_net_sync(&hn, &fw, 1), VMCTR_EINVAL);
  hn.mode = VMCTR__HOSTNET_BRIDGED;
  assert_int_equal(vmctr__host_net_up(&hn), VMCTR_EINVAL); /* no host_if */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invalid),   cmocka_unit_test(test_shared), cmocka_unit_test(test_host_only),
      cmocka_unit_test(test_bridged),   cmocka_unit_test(test_tap),    cmocka_unit_test(test_sweep),
      cmocka_unit_test(test_noperm),
  };
  return cmocka_run_group_tests_name("net-host", tests, NULL, NULL);
}
