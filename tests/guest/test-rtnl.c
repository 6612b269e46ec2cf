/* SPDX-License-Identifier: MIT */
/* lib/net/rtnl.c against the real kernel: each test runs in a network
 * namespace of its own (the tests run in a forked child, and every test's
 * setup unshares a fresh one), and each change is read back twice: through
 * rtnl's own link dump and through iproute2's `ip`, which shares nothing
 * with the code under test. Needs root (CAP_NET_ADMIN); skips otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/rtnl.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MAC_A[6] = {0x02, 0x56, 0x4d, 0x00, 0x00, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0x56, 0x4d, 0x00, 0x00, 0x0b};

static int fresh_netns(void **state) {
  (void)state;
  return unshare(CLONE_NEWNET) == 0 ? 0 : -1;
}

/* The output of a shell command (printf format), NUL-terminated. */
static char out_buf[16384];
static const char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sh_out(const char *fmt, ...) {
  char cmd[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out_buf, 1, sizeof(out_buf) - 1, p);
  out_buf[n] = '\0';
  pclose(p);
  return out_buf;
}

#define assert_contains(hay, needle)                                                          \
  do {                                                                                        \
    const char *h_ = (hay);                                                                   \
    if (!strstr(h_, (needle)))                                                                \
      fail_msg("\"%s\" lacks \"%s\"", h_, (needle));                                          \
  } while (0)
#define assert_lacks(hay, needle)                                                             \
  do {                                                                                        \
    const char *h_ = (hay);                                                                   \
    if (strstr(h_, (needle)))                                                                 \
      fail_msg("\"%s\" has \"%s\"", h_, (needle));                                            \
  } while (0)

/* A veth whose peer is named pe-N (outside every prefix the tests walk):
 * the kernels we run on may lack the dummy driver, never veth. */
static int add_link(const char *name, const uint8_t *mac) {
  static int npeer;
  char peer[16];
  snprintf(peer, sizeof(peer), "pe-%d", npeer++);
  int r = vmctr__rtnl_veth_add(name, peer, mac);
  assert_int_equal(r, 0);
  assert_true(vmctr__rtnl_ifindex(peer) > 0);
  int idx = vmctr__rtnl_ifindex(name);
  assert_true(idx > 0);
  return idx;
}

static void test_lo_up(void **state) {
  (void)state;
  int lo = vmctr__rtnl_ifindex("lo");
  assert_int_equal(lo, 1);
  vmctr__rtnl_link l;
  assert_int_equal(vmctr__rtnl_link_get(lo, &l), 0);
  assert_false(l.up); /* a fresh namespace's lo is down */
  assert_int_equal(vmctr__rtnl_link_set(lo, 1, 0), 0);
  assert_int_equal(vmctr__rtnl_link_get(lo, &l), 0);
  assert_true(l.up);
  assert_string_equal(l.name, "lo");
  assert_contains(sh_out("ip -o link show lo"), ",UP");
  /* the kernel gives an up lo its address */
  assert_contains(sh_out("ip -o -4 addr show dev lo"), "inet 127.0.0.1/8");
}

static void test_find_mac(void **state) {
  (void)state;
  int a = add_link("vt-veth0", MAC_A);
  assert_int_equal(vmctr__rtnl_find_mac(MAC_A), a);
  assert_int_equal(vmctr__rtnl_find_mac(MAC_B), -ENODEV);
  assert_int_equal(vmctr__rtnl_ifindex("vt-none"), -ENODEV);
  assert_int_equal(vmctr__rtnl_ifindex(""), -EINVAL);
  assert_int_equal(vmctr__rtnl_ifindex("0123456789abcdef"), -EINVAL);
  assert_int_equal(vmctr__rtnl_veth_add("vt-veth0", "pe-x", NULL), -EEXIST);
  /* a link of a generic kind, with the MAC asked for */
  assert_int_equal(vmctr__rtnl_link_add("vt-kind", "bridge", MAC_B, 0), 0);
  assert_int_equal(vmctr__rtnl_find_mac(MAC_B), vmctr__rtnl_ifindex("vt-kind"));
  assert_int_equal(vmctr__rtnl_link_del(vmctr__rtnl_ifindex("vt-kind")), 0);
  assert_int_equal(vmctr__rtnl_find_mac(MAC_B), -ENODEV);
  /* a veth made by iproute2, its end found by the MAC ip gave it */
  assert_int_equal(system("ip link add vt-va address 02:56:4d:00:00:0b type veth peer name vt-vb"),
                   0);
  int va = vmctr__rtnl_ifindex("vt-va");
  assert_true(va > 0);
  assert_int_equal(vmctr__rtnl_find_mac(MAC_B), va);
  vmctr__rtnl_link l;
  assert_int_equal(vmctr__rtnl_link_get(va, &l), 0);
  assert_true(l.has_mac);
  assert_memory_equal(l.mac, MAC_B, 6);
  assert_int_equal(vmctr__rtnl_link_get(9999, &l), -ENODEV);
}

static void test_mtu_up(void **state) {
  (void)state;
  int a = add_link("vt-mtu", MAC_A);
  assert_int_equal(vmctr__rtnl_link_set(a, 1, 1400), 0);
  vmctr__rtnl_link l;
  assert_int_equal(vmctr__rtnl_link_get(a, &l), 0);
  assert_true(l.up);
  assert_int_equal(l.mtu, 1400);
  const char *o = sh_out("ip -o link show vt-mtu");
  assert_contains(o, "mtu 1400");
  assert_contains(o, ",UP");
  /* mtu 0 leaves it; down */
  assert_int_equal(vmctr__rtnl_link_set(a, 0, 0), 0);
  assert_int_equal(vmctr__rtnl_link_get(a, &l), 0);
  assert_false(l.up);
  assert_int_equal(l.mtu, 1400);
  assert_lacks(sh_out("ip -o link show vt-mtu"), ",UP");
  /* the kernel's refusal comes back as its errno */
  assert_int_equal(vmctr__rtnl_link_set(a, 1, 20), -EINVAL);
  assert_int_equal(vmctr__rtnl_link_set(9999, 1, 0), -ENODEV);
}

static void test_addr(void **state) {
  (void)state;
  int a = add_link("vt-addr", MAC_A);
  assert_int_equal(vmctr__rtnl_addr_add(a, IP4(10, 0, 2, 15), 24), 0);
  assert_int_equal(vmctr__rtnl_addr_add(a, IP4(10, 0, 2, 15), 24), -EEXIST);
  assert_int_equal(vmctr__rtnl_addr_add(a, IP4(10, 0, 3, 1), 33), -EINVAL);
  assert_int_equal(vmctr__rtnl_addr_add(a, 0, 24), -EINVAL);
  const char *o = sh_out("ip -o -4 addr show dev vt-addr");
  assert_contains(o, "inet 10.0.2.15/24 brd 10.0.2.255");
  assert_lacks(o, "10.0.3.1");
}

static void test_routes(void **state) {
  (void)state;
  int a = add_link("vt-rt", MAC_A);
  assert_int_equal(vmctr__rtnl_link_set(a, 1, 0), 0);
  assert_int_equal(vmctr__rtnl_addr_add(a, IP4(10, 0, 2, 15), 24), 0);
  assert_int_equal(vmctr__rtnl_route_add(a, 0, 0, IP4(10, 0, 2, 2)), 0);
  assert_int_equal(vmctr__rtnl_route_add(a, IP4(192, 168, 50, 0), 24, IP4(10, 0, 2, 3)), 0);
  assert_int_equal(vmctr__rtnl_route_add(a, IP4(172, 16, 0, 0), 16, 0), 0);
  assert_int_equal(vmctr__rtnl_route_add(a, 0, 0, IP4(10, 0, 2, 2)), -EEXIST);
  /* host bits beyond the prefix, a prefix out of range */
  assert_int_equal(vmctr__rtnl_route_add(a, IP4(192, 168, 51, 1), 24, 0), -EINVAL);
  assert_int_equal(vmctr__rtnl_route_add(a, 0, 33, 0), -EINVAL);
  /* a gateway that is not on any link */
  assert_int_equal(vmctr__rtnl_route_add(a, IP4(192, 168, 60, 0), 24, IP4(10, 9, 9, 9)),
                   -ENETUNREACH);
  const char *o = sh_out("ip -4 route show");
  assert_contains(o, "default via 10.0.2.2 dev vt-rt");
  assert_contains(o, "192.168.50.0/24 via 10.0.2.3 dev vt-rt");
  assert_contains(o, "172.16.0.0/16 dev vt-rt");
  assert_lacks(o, "192.168.51");
  assert_lacks(o, "192.168.60");
}

static void test_bridge(void **state) {
  (void)state;
  int a = add_link("vt-port", MAC_A);
  assert_int_equal(vmctr__rtnl_bridge_add("vt-br0", 1450), 0);
  assert_int_equal(vmctr__rtnl_bridge_add("vt-br0", 0), -EEXIST);
  int br = vmctr__rtnl_ifindex("vt-br0");
  assert_true(br > 0);
  vmctr__rtnl_link l;
  assert_int_equal(vmctr__rtnl_link_get(br, &l), 0);
  assert_int_equal(l.mtu, 1450);
  assert_contains(sh_out("ip -d -o link show vt-br0"), "bridge");

  assert_int_equal(vmctr__rtnl_link_set_master(a, br), 0);
  assert_int_equal(vmctr__rtnl_link_get(a, &l), 0);
  assert_int_equal(l.master, br);
  assert_contains(sh_out("ip -o link show vt-port"), "master vt-br0");

  assert_int_equal(vmctr__rtnl_link_set_master(a, 0), 0);
  assert_int_equal(vmctr__rtnl_link_get(a, &l), 0);
  assert_int_equal(l.master, 0);
  assert_lacks(sh_out("ip -o link show vt-port"), "master");

  /* no such master: refused (the kernel says EINVAL), nothing changed */
  assert_true(vmctr__rtnl_link_set_master(a, 9999) < 0);
  assert_int_equal(vmctr__rtnl_link_get(a, &l), 0);
  assert_int_equal(l.master, 0);
  assert_int_equal(vmctr__rtnl_link_del(br), 0);
  assert_int_equal(vmctr__rtnl_ifindex("vt-br0"), -ENODEV);
  assert_int_equal(vmctr__rtnl_link_del(br), -ENODEV);
  assert_lacks(sh_out("ip -o link show"), "vt-br0");
}

typedef struct seen {
  char names[8][16];
  int n;
  int stop_at;   /* return 7 once this many were seen; 0: never */
  bool del;      /* delete each link seen */
} seen;

static int on_link(int ifindex, const char *name, void *ud) {
  seen *s = ud;
  assert_true(ifindex > 0);
  if (s->n < 8)
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
  s->n++;
  if (s->del)
    assert_int_equal(vmctr__rtnl_link_del(ifindex), 0);
  return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

static bool seen_has(const seen *s, const char *name) {
  for (int i = 0; i < s->n && i < 8; i++)
    if (strcmp(s->names[i], name) == 0)
      return true;
  return false;
}

static void test_links_prefix(void **state) {
  (void)state;
  add_link("vt-p0", NULL);
  add_link("vt-p1", NULL);
  add_link("vt-q0", NULL);
  seen s = {0};
  assert_int_equal(vmctr__rtnl_links("vt-p", on_link, &s), 0);
  assert_int_equal(s.n, 2);
  assert_true(seen_has(&s, "vt-p0"));
  assert_true(seen_has(&s, "vt-p1"));

  seen stop = {.stop_at = 1};
  assert_int_equal(vmctr__rtnl_links("vt-", on_link, &stop), 7);
  assert_int_equal(stop.n, 1);

  seen none = {0};
  assert_int_equal(vmctr__rtnl_links("vt-z", on_link, &none), 0);
  assert_int_equal(none.n, 0);

  /* the callback may delete what it is given */
  seen del = {.del = true};
  assert_int_equal(vmctr__rtnl_links("vt-", on_link, &del), 0);
  assert_int_equal(del.n, 3);
  const char *o = sh_out("ip -o link show");
  assert_lacks(o, "vt-");
  assert_contains(o, "lo:");
  assert_int_equal(vmctr__rtnl_links("vt-", NULL, NULL), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_lo_up, fresh_netns),
    cmocka_unit_test_setup(test_find_mac, fresh_netns),
    cmocka_unit_test_setup(test_mtu_up, fresh_netns),
    cmocka_unit_test_setup(test_addr, fresh_netns),
    cmocka_unit_test_setup(test_routes, fresh_netns),
    cmocka_unit_test_setup(test_bridge, fresh_netns),
    cmocka_unit_test_setup(test_links_prefix, fresh_netns),
  };
  /* The whole run happens in a child that leaves the test runner's
   * namespace first; nothing here ever sees the host's links. */
  pid_t pid = fork();
  if (pid < 0)
    return 99;
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) < 0) {
      printf("1..0 # SKIP unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
      _exit(77);
    }
    _exit(cmocka_run_group_tests_name("net-rtnl", tests, NULL, NULL));
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return 99;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}
