/* SPDX-License-Identifier: MIT */
/*
 * The guest's network: the real vmctr-init in --agent-fd mode, started in a
 * network namespace of its own (a forked child unshares one, makes a veth
 * eth0 <-> peer0 with a known MAC there, and execs the agent), configured
 * with CONFIG_IFACE through vmctr__agent_config_iface. Every effect is read
 * back with iproute2 inside that namespace (nsenter -n -t PID ip ...), and
 * refused requests must leave the namespace as it was. Root only; skips
 * otherwise. argv[1]: the vmctr-init to run.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/ops.h"
#include "net/rtnl.h"
#include "testutil.h"
#include "vmctr/error.h"

#define T 20000
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const char *init_path;
static const uint8_t MAC[6] = {0x02, 0x56, 0x4d, 0x00, 0x00, 0x01};

typedef struct agent {
  vmctr__agent *a;
  pid_t pid;
} agent;

static void agent_open(agent *g) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  g->pid = fork();
  assert_true(g->pid >= 0);
  if (g->pid == 0) {
    if (unshare(CLONE_NEWNET) < 0 || vmctr__rtnl_veth_add("eth0", "peer0", MAC) < 0)
      _exit(126);
    dup2(sv[1], 3);
    execl(init_path, init_path, "--agent-fd", "3", (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  assert_int_equal(vmctr__agent_connect(&g->a, sv[0], T), 0);
}

static void agent_close(agent *g) {
  int st = -1;
  vmctr__agent_free(g->a);
  g->a = NULL;
  assert_int_equal(waitpid(g->pid, &st, 0), g->pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The output of `ip ARGS` in the agent's namespace. */
static const char *ip_in(const agent *g, char *buf, size_t size, const char *args) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "nsenter -n -t %d ip %s", (int)g->pid, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(buf, 1, size - 1, p);
  buf[n] = '\0';
  assert_int_equal(pclose(p), 0);
  return buf;
}

#define assert_contains(hay, needle)                                                          \
  do {                                                                                        \
    const char *h_ = (hay);                                                                   \
    if (!strstr(h_, (needle)))                                                                \
      fail_msg("\"%s\" lacks \"%s\"", h_, (needle));                                          \
  } while (0)

/* Links, addresses and routes of the namespace, to compare before and after. */
static void net_state(const agent *g, char *buf, size_t size) {
  char part[4096];
  buf[0] = '\0';
  strncat(buf, ip_in(g, part, sizeof(part), "-o link show"), size - strlen(buf) - 1);
  strncat(buf, ip_in(g, part, sizeof(part), "-o addr show"), size - strlen(buf) - 1);
  strncat(buf, ip_in(g, part, sizeof(part), "-4 route show table all"), size - strlen(buf) - 1);
}

static void test_lo_up_at_start(void **state) {
  (void)state;
  agent g;
  char buf[4096];
  agent_open(&g);
  /* The HELLO came, so the agent is past its start: lo is up, eth0 not touched. */
  assert_contains(ip_in(&g, buf, sizeof(buf), "-o link show lo"), ",UP");
  assert_contains(ip_in(&g, buf, sizeof(buf), "-o -4 addr show dev lo"), "127.0.0.1/8");
  ip_in(&g, buf, sizeof(buf), "-o link show eth0");
  assert_null(strstr(buf, ",UP"));
  agent_close(&g);
}

static void test_config_iface(void **state) {
  (void)state;
  agent g;
  char buf[4096];
  agent_open(&g);
  const vmctr__net_route routes[] = {
    {IP4(192, 168, 50, 0), 24, IP4(10, 0, 2, 3)},
    {IP4(172, 16, 0, 0), 16, 0},
  };
  vmctr__net_guest_if ifc = {
    .mtu = 1400,
    .addr = IP4(10, 0, 2, 15), .prefix = 24,
    .gateway = IP4(10, 0, 2, 2),
    .routes = routes, .nroutes = 2,
  };
  memcpy(ifc.mac, MAC, 6);
  assert_ok(vmctr__agent_config_iface(g.a, &ifc, T));

  const char *o = ip_in(&g, buf, sizeof(buf), "-o link show eth0");
  assert_contains(o, "mtu 1400");
  assert_contains(o, ",UP");
  assert_contains(ip_in(&g, buf, sizeof(buf), "-o -4 addr show dev eth0"), "inet 10.0.2.15/24");
  o = ip_in(&g, buf, sizeof(buf), "-4 route show");
  assert_contains(o, "default via 10.0.2.2 dev eth0");
  assert_contains(o, "192.168.50.0/24 via 10.0.2.3 dev eth0");
  assert_contains(o, "172.16.0.0/16 dev eth0");

  /* A repeat finds everything in place and succeeds. */
  char before[16384], after[16384];
  net_state(&g, before, sizeof(before));
  assert_ok(vmctr__agent_config_iface(g.a, &ifc, T));
  net_state(&g, after, sizeof(after));
  assert_string_equal(before, after);

  /* Link up only: no address, no routes. */
  vmctr__net_guest_if up_only = {0};
  memcpy(up_only.mac, MAC, 6);
  assert_ok(vmctr__agent_config_iface(g.a, &up_only, T));
  agent_close(&g);
}

/* Send CONFIG_IFACE fields as given (past the host's checks). */
static int raw_config(vmctr__agent *a, const uint8_t *mac, size_t maclen, uint32_t addr,
                      uint32_t prefix, size_t nroutes, size_t route_len) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_CONFIG_IFACE);
  vmctr__agent_put_bytes(&b, VMCTR_AT_MAC, mac, maclen);
  vmctr__agent_put_u32(&b, VMCTR_AT_MTU, 1300);
  if (addr)
    vmctr__agent_put_u32(&b, VMCTR_AT_ADDR4, addr);
  if (prefix)
    vmctr__agent_put_u32(&b, VMCTR_AT_PREFIX, prefix);
  for (size_t i = 0; i < nroutes; i++) {
    uint8_t rt[16];
    vmctr__agent_put_le32(rt, IP4(192, 168, (uint32_t)i, 0));
    vmctr__agent_put_le32(rt + 4, 24);
    vmctr__agent_put_le32(rt + 8, 0);
    vmctr__agent_put_bytes(&b, VMCTR_AT_ROUTE4, rt, route_len);
  }
  vmctr__agent_reply *rep = NULL;
  int r = vmctr__agent_request(a, &b, T, &rep);
  vmctr__agent_buf_free(&b);
  vmctr__agent_reply_free(rep);
  return r;
}

static void expect_guest_error(int r, int code, const char *text) {
  assert_int_equal(r, code);
  assert_contains(vmctr_error_last()->message, "guest: ");
  assert_contains(vmctr_error_last()->message, text);
}

static void test_refused(void **state) {
  (void)state;
  agent g;
  char before[16384], after[16384];
  agent_open(&g);
  net_state(&g, before, sizeof(before));

  /* An unknown MAC: the guest names it. */
  vmctr__net_guest_if ifc = {.mtu = 1300, .addr = IP4(10, 0, 2, 15), .prefix = 24};
  static const uint8_t other[6] = {0x02, 0x56, 0x4d, 0x00, 0x00, 0x99};
  memcpy(ifc.mac, other, 6);
  expect_guest_error(vmctr__agent_config_iface(g.a, &ifc, T), VMCTR_ENOENT,
                     "02:56:4d:00:00:99");

  /* What the host refuses before sending, the guest refuses too. */
  uint32_t ip = IP4(10, 0, 2, 15);
  expect_guest_error(raw_config(g.a, MAC, 6, ip, 33, 0, 12), VMCTR_EINVAL, "prefix");
  expect_guest_error(raw_config(g.a, MAC, 6, 0, 24, 0, 12), VMCTR_EINVAL, "PREFIX needs");
  expect_guest_error(raw_config(g.a, MAC, 6, ip, 0, 0, 12), VMCTR_EINVAL, "prefix");
  expect_guest_error(raw_config(g.a, MAC, 6, IP4(224, 0, 0, 1), 24, 0, 12), VMCTR_EINVAL,
                     "unicast");
  expect_guest_error(raw_config(g.a, MAC, 6, ip, 24, 65, 12), VMCTR_EINVAL, "65 routes");
  expect_guest_error(raw_config(g.a, MAC, 6, ip, 24, 1, 11), VMCTR_EINVAL, "12 bytes");
  expect_guest_error(raw_config(g.a, MAC, 5, ip, 24, 0, 12), VMCTR_EINVAL, "6 bytes");
  static const uint8_t mcast[6] = {0x03, 0x56, 0x4d, 0x00, 0x00, 0x01};
  expect_guest_error(raw_config(g.a, mcast, 6, ip, 24, 0, 12), VMCTR_EINVAL, "unicast");

  net_state(&g, after, sizeof(after));
  assert_string_equal(before, after);
  assert_ok(vmctr__agent_ping(g.a, T));
  agent_close(&g);
}

static void expect_host_refusal(vmctr__agent *a, const vmctr__net_guest_if *ifc) {
  assert_int_equal(vmctr__agent_config_iface(a, ifc, T), VMCTR_EINVAL);
  assert_null(strstr(vmctr_error_last()->message, "guest: "));
}

static void test_host_checks(void **state) {
  (void)state;
  agent g;
  char before[16384], after[16384];
  agent_open(&g);
  net_state(&g, before, sizeof(before));
  vmctr__net_guest_if good = {.addr = IP4(10, 0, 2, 15), .prefix = 24};
  memcpy(good.mac, MAC, 6);
  vmctr__net_guest_if ifc = good;
  ifc.prefix = 33;
  expect_host_refusal(g.a, &ifc);
  ifc = good;
  ifc.mtu = 67;
  expect_host_refusal(g.a, &ifc);
  ifc = good;
  ifc.addr = 0;
  expect_host_refusal(g.a, &ifc);
  ifc = good;
  ifc.mac[0] = 0x01;
  expect_host_refusal(g.a, &ifc);
  vmctr__net_route many[VMCTR__NET_MAX_ROUTES + 1];
  for (size_t i = 0; i < VMCTR__NET_MAX_ROUTES + 1; i++)
    many[i] = (vmctr__net_route){IP4(192, 168, (uint32_t)i, 0), 24, 0};
  ifc = good;
  ifc.routes = many;
  ifc.nroutes = VMCTR__NET_MAX_ROUTES + 1;
  expect_host_refusal(g.a, &ifc);
  ifc.nroutes = 1;
  many[0].dst = IP4(192, 168, 0, 1); /* host bits */
  expect_host_refusal(g.a, &ifc);
  ifc.routes = NULL;
  expect_host_refusal(g.a, &ifc);
  assert_int_equal(vmctr__agent_config_iface(g.a, NULL, T), VMCTR_EINVAL);
  assert_int_equal(vmctr__agent_config_iface(NULL, &good, T), VMCTR_EINVAL);
  net_state(&g, after, sizeof(after));
  assert_string_equal(before, after);

  /* The most routes there may be all arrive. */
  for (size_t i = 0; i < VMCTR__NET_MAX_ROUTES; i++)
    many[i] = (vmctr__net_route){IP4(192, 168, (uint32_t)i, 0), 24, IP4(10, 0, 2, 1)};
  ifc = good;
  ifc.routes = many;
  ifc.nroutes = VMCTR__NET_MAX_ROUTES;
  assert_ok(vmctr__agent_config_iface(g.a, &ifc, T));
  char buf[16384];
  const char *o = ip_in(&g, buf, sizeof(buf), "-4 route show");
  assert_contains(o, "192.168.0.0/24 via 10.0.2.1 dev eth0");
  assert_contains(o, "192.168.63.0/24 via 10.0.2.1 dev eth0");
  agent_close(&g);
}

int main(int argc, char **argv) {
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP vmctr-init not given\n");
    return 77;
  }
  if (geteuid() != 0) {
    printf("1..0 # SKIP needs root (network namespaces)\n");
    return 77;
  }
  init_path = argv[1];
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lo_up_at_start),
    cmocka_unit_test(test_config_iface),
    cmocka_unit_test(test_refused),
    cmocka_unit_test(test_host_checks),
  };
  return cmocka_run_group_tests_name("guest-net", tests, NULL, NULL);
}
