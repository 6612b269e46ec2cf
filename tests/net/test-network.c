/* SPDX-License-Identifier: MIT */
/* Unit tests of lib/net: the network object, its JSON, the store, address
 * leases (with real child processes for stale reclaim and concurrency), and
 * the address syntax helpers. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/addr.h"
#include "net/store.h"
#include "testutil.h"
#include "vmctr.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
} fixture;

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-net");
  *state = f;
  return f ? 0 : -1;
}

/* A stored network name/cidr in f's store, opened. */
static vmctr_network *stored(fixture *f, const char *name, uint32_t mode, const char *cidr) {
  vmctr_network *n = NULL, *o = NULL;
  assert_ok(vmctr_network_new(&n, name, mode));
  if (cidr)
    assert_ok(vmctr_network_set_subnet(n, cidr));
  assert_ok(vmctr_network_create(f->dir, n));
  assert_ok(vmctr_network_open(&o, f->dir, name));
  vmctr_network_free(n);
  return o;
}

static int lease(const vmctr_network *n, const char *owner, uint32_t ip, vmctr__net_lease *out) {
  int fd = -1, r = vmctr__net_lock(n, &fd);
  if (r < 0)
    return r;
  r = vmctr__net_lease_add(n, owner, ip, NULL, NULL, NULL, 0, out);
  vmctr__net_unlock(fd);
  return r;
}

static int unlease(const vmctr_network *n, const char *owner) {
  int fd = -1, r = vmctr__net_lock(n, &fd);
  if (r < 0)
    return r;
  r = vmctr__net_lease_remove(n, owner);
  vmctr__net_unlock(fd);
  return r;
}

static size_t live(const vmctr_network *n, size_t *reclaimed) {
  vmctr__net_lease *l = NULL;
  size_t count = 0;
  int fd = -1;
  assert_ok(vmctr__net_lock(n, &fd));
  assert_ok(vmctr__net_leases(n, &l, &count, reclaimed));
  vmctr__net_unlock(fd);
  vmctr__net_leases_free(l, count);
  return count;
}

/* ---- the object ---- */

static void test_defaults(void **state) {
  vmctr_network *n = NULL;
  (void)state;
  assert_ok(vmctr_network_new(&n, "iso", VMCTR_NETWORK_ISOLATED_NAT));
  assert_string_equal(vmctr_network_name(n), "iso");
  assert_int_equal(vmctr_network_mode(n), VMCTR_NETWORK_ISOLATED_NAT);
  assert_string_equal(vmctr_network_subnet(n), "10.0.2.0/24");
  assert_string_equal(vmctr_network_gateway(n), "10.0.2.2");
  assert_int_equal(vmctr_network_dns_server_count(n), 1);
  assert_string_equal(vmctr_network_dns_server(n, 0), "10.0.2.3");
  assert_null(vmctr_network_dns_server(n, 1));
  assert_int_equal(vmctr_network_mtu(n), 1500);
  assert_int_equal(vmctr_network_nat(n), VMCTR_NETWORK_NAT_AUTO);
  assert_null(vmctr_network_state_dir(n));
  assert_int_equal(vmctr__network_isolated_guest(n), IP4(10, 0, 2, 15));
  vmctr_network_free(n);

  for (uint32_t mode = VMCTR_NETWORK_SHARED; mode <= VMCTR_NETWORK_BRIDGED; mode++) {
    assert_ok(vmctr_network_new(&n, "br", mode));
    assert_string_equal(vmctr_network_subnet(n), "192.168.64.0/24");
    assert_string_equal(vmctr_network_gateway(n), "192.168.64.1");
    assert_int_equal(vmctr_network_dns_server_count(n), 0);
    assert_null(vmctr_network_host_interface(n));
    vmctr_network_free(n);
  }
  /* The NAT values are the internal ones the backends read. */
  assert_int_equal(VMCTR_NETWORK_NAT_PASST, VMCTR__NAT_PASST);
  assert_int_equal(VMCTR_NETWORK_NAT_USER, VMCTR__NAT_USER);
  assert_int_equal(VMCTR_NETWORK_NAT_AUTO, VMCTR__NAT_AUTO);
}

static void test_names_and_modes(void **state) {
  static const char *const bad[] = {"", "../x", ".x", "-x", "a/b", "a b", "x\n",
                                    "123456789012345678901234567890123"};
  vmctr_network *n = NULL;
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(vmctr_network_new(&n, bad[i], VMCTR_NETWORK_SHARED), VMCTR_EINVAL);
  assert_null(n);
  assert_fails_with(vmctr_network_new(&n, NULL, VMCTR_NETWORK_SHARED), VMCTR_EINVAL, "NULL");
  assert_fails_with(vmctr_network_new(&n, "x", 0), VMCTR_EINVAL, "unknown mode 0");
  assert_fails_with(vmctr_network_new(&n, "x", 5), VMCTR_EINVAL, "unknown mode 5");
  assert_int_equal(vmctr_network_new(NULL, "x", 1), VMCTR_EINVAL);
  assert_ok(vmctr_network_new(&n, "12345678901234567890123456789012", VMCTR_NETWORK_SHARED));
  vmctr_network_free(n);
  assert_ok(vmctr_network_new(&n, "Net-1.x_y", VMCTR_NETWORK_SHARED));
  vmctr_network_free(n);
  vmctr_network_free(NULL);
}

static void test_setters(void **state) {
  vmctr_network *n = NULL, *c = NULL;
  (void)state;
  assert_ok(vmctr_network_new(&n, "s", VMCTR_NETWORK_SHARED));
  assert_fails_with(vmctr_network_set_subnet(n, "10.1.0.1/16"), VMCTR_EINVAL,
                    "host bits set: the network address is 10.1.0.0/16");
  assert_fails_with(vmctr_network_set_subnet(n, "10.0.0.0/31"), VMCTR_EINVAL, "8 to 30");
  assert_fails_with(vmctr_network_set_subnet(n, "10.0.0.0/7"), VMCTR_EINVAL, "8 to 30");
  assert_fails_with(vmctr_network_set_subnet(n, "10.0.0.0"), VMCTR_EINVAL, "not a subnet");
  assert_fails_with(vmctr_network_set_subnet(n, "10.0.0.0/024"), VMCTR_EINVAL, "not a subnet");
  assert_fails_with(vmctr_network_set_subnet(n, NULL), VMCTR_EINVAL, "NULL");
  assert_string_equal(vmctr_network_subnet(n), "192.168.64.0/24"); /* unchanged */

  /* The gateway still fits: kept. Then it does not: the first host. */
  assert_ok(vmctr_network_set_gateway(n, "192.168.64.254"));
  assert_ok(vmctr_network_set_subnet(n, "192.168.64.0/23"));
  assert_string_equal(vmctr_network_gateway(n), "192.168.64.254");
  assert_ok(vmctr_network_set_subnet(n, "10.9.0.0/16"));
  assert_string_equal(vmctr_network_subnet(n), "10.9.0.0/16");
  assert_string_equal(vmctr_network_gateway(n), "10.9.0.1");
  assert_fails_with(vmctr_network_set_gateway(n, "10.10.0.1"), VMCTR_EINVAL,
                    "not a host address of its subnet 10.9.0.0/16");
  assert_fails_with(vmctr_network_set_gateway(n, "10.9.0.0"), VMCTR_EINVAL, "not a host address");
  assert_fails_with(vmctr_network_set_gateway(n, "10.9.255.255"), VMCTR_EINVAL, "not a host");
  assert_fails_with(vmctr_network_set_gateway(n, "10.9.0.01"), VMCTR_EINVAL, "leading zeros");

  assert_fails_with(vmctr_network_set_mtu(n, 67), VMCTR_EINVAL, "68..65535");
  assert_fails_with(vmctr_network_set_mtu(n, 65536), VMCTR_EINVAL, "68..65535");
  assert_ok(vmctr_network_set_mtu(n, 9000));
  assert_int_equal(vmctr_network_mtu(n), 9000);

  for (int i = 0; i < 8; i++) {
    char ip[16];
    snprintf(ip, sizeof(ip), "1.1.1.%d", i + 1);
    assert_ok(vmctr_network_add_dns_server(n, ip));
  }
  assert_fails_with(vmctr_network_add_dns_server(n, "8.8.8.8"), VMCTR_ENOSPC, "at most 8");
  assert_string_equal(vmctr_network_dns_server(n, 7), "1.1.1.8");
  assert_ok(vmctr_network_clear_dns_servers(n));
  assert_int_equal(vmctr_network_dns_server_count(n), 0);
  assert_ok(vmctr_network_add_dns_server(n, "10.9.0.53"));
  assert_ok(vmctr_network_add_dns_server(n, "9.9.9.9"));
  assert_fails_with(vmctr_network_add_dns_server(n, "9.9.9.9"), VMCTR_EEXIST, "already listed");
  assert_fails_with(vmctr_network_add_dns_server(n, "0.0.0.0"), VMCTR_EINVAL, "not a DNS");
  /* A server of the old subnet goes with it; one outside stays. */
  assert_ok(vmctr_network_set_subnet(n, "172.16.0.0/12"));
  assert_int_equal(vmctr_network_dns_server_count(n), 1);
  assert_string_equal(vmctr_network_dns_server(n, 0), "9.9.9.9");

  assert_fails_with(vmctr_network_set_host_interface(n, "eth0"), VMCTR_EINVAL, "only a bridged");
  assert_fails_with(vmctr_network_set_nat(n, VMCTR_NETWORK_NAT_USER), VMCTR_EINVAL,
                    "only an isolated");
  assert_ok(vmctr_network_clone(&c, n));
  assert_string_equal(vmctr_network_subnet(c), "172.16.0.0/12");
  assert_string_equal(vmctr_network_dns_server(c, 0), "9.9.9.9");
  vmctr_network_free(c);
  vmctr_network_free(n);

  assert_ok(vmctr_network_new(&n, "b", VMCTR_NETWORK_BRIDGED));
  assert_fails_with(vmctr_network_set_host_interface(n, "0123456789abcdef"), VMCTR_EINVAL, "1 to 15");
  assert_fails_with(vmctr_network_set_host_interface(n, "a/b"), VMCTR_EINVAL, "'/'");
  assert_fails_with(vmctr_network_set_host_interface(n, ".."), VMCTR_EINVAL, "not an interface");
  assert_fails_with(vmctr_network_set_host_interface(n, ""), VMCTR_EINVAL, "1 to 15");
  assert_ok(vmctr_network_set_host_interface(n, "eth0"));
  assert_string_equal(vmctr_network_host_interface(n), "eth0");
  vmctr_network_free(n);

  assert_ok(vmctr_network_new(&n, "i", VMCTR_NETWORK_ISOLATED_NAT));
  assert_fails_with(vmctr_network_set_nat(n, 3), VMCTR_EINVAL, "unknown NAT 3");
  assert_ok(vmctr_network_set_nat(n, VMCTR_NETWORK_NAT_PASST));
  assert_int_equal(vmctr_network_nat(n), VMCTR_NETWORK_NAT_PASST);
  /* The NAT's DNS forwarder belonged to the old subnet. */
  assert_ok(vmctr_network_set_subnet(n, "10.0.3.0/24"));
  assert_int_equal(vmctr_network_dns_server_count(n), 0);
  assert_string_equal(vmctr_network_gateway(n), "10.0.3.1");
  vmctr_network_free(n);

  assert_int_equal(vmctr_network_set_mtu(NULL, 1500), VMCTR_EINVAL);
  assert_null(vmctr_network_subnet(NULL));
  assert_int_equal(vmctr_network_mode(NULL), 0);
}

/* ---- JSON ---- */

static void round_trip(vmctr_network *n) {
  char *a = NULL, *b = NULL;
  vmctr_network *m = NULL;
  assert_ok(vmctr_network_to_json(n, &a));
  assert_ok(vmctr_network_from_json(&m, a, strlen(a)));
  assert_ok(vmctr_network_to_json(m, &b));
  assert_string_equal(a, b);
  assert_string_equal(vmctr_network_subnet(m), vmctr_network_subnet(n));
  assert_string_equal(vmctr_network_gateway(m), vmctr_network_gateway(n));
  assert_int_equal(vmctr_network_mtu(m), vmctr_network_mtu(n));
  assert_int_equal(vmctr_network_nat(m), vmctr_network_nat(n));
  vmctr_free(a);
  vmctr_free(b);
  vmctr_network_free(m);
}

static void test_json_round_trip(void **state) {
  vmctr_network *n = NULL;
  (void)state;
  assert_ok(vmctr_network_new(&n, "iso", VMCTR_NETWORK_ISOLATED_NAT));
  assert_ok(vmctr_network_set_nat(n, VMCTR_NETWORK_NAT_USER));
  round_trip(n);
  vmctr_network_free(n);
  assert_ok(vmctr_network_new(&n, "sh", VMCTR_NETWORK_SHARED));
  assert_ok(vmctr_network_set_subnet(n, "10.88.0.0/16"));
  assert_ok(vmctr_network_set_gateway(n, "10.88.7.9"));
  assert_ok(vmctr_network_set_mtu(n, 1400));
  assert_ok(vmctr_network_add_dns_server(n, "1.1.1.1"));
  assert_ok(vmctr_network_add_dns_server(n, "10.88.7.9"));
  round_trip(n);
  vmctr_network_free(n);
  assert_ok(vmctr_network_new(&n, "br", VMCTR_NETWORK_BRIDGED));
  assert_ok(vmctr_network_set_host_interface(n, "enp0s3"));
  round_trip(n);
  vmctr_network_free(n);
}

static void test_json_hostile(void **state) {
  static const struct {
    const char *json, *want;
  } cases[] = {
    {"[]", "expected a JSON object"},
    {"{\"name\":\"x\",\"mode\":\"shared\"}", "\"version\" is missing"},
    {"{\"version\":2,\"name\":\"x\",\"mode\":\"shared\"}", "not a version"},
    {"{\"version\":\"1\",\"name\":\"x\",\"mode\":\"shared\"}", "\"version\""},
    {"{\"version\":1,\"mode\":\"shared\"}", "\"name\" is missing"},
    {"{\"version\":1,\"name\":\"../x\",\"mode\":\"shared\"}", "key \"name\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"nat\"}", "key \"mode\": unknown value"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":2}", "key \"mode\": expected a string"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"subnet\":\"10.0.0.1/8\"}",
     "key \"subnet\": subnet 10.0.0.1/8 has host bits set"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"subnet\":[]}", "key \"subnet\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"gateway\":\"10.0.0.1\"}",
     "key \"gateway\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"mtu\":10}", "key \"mtu\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"mtu\":-1}", "\"mtu\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"mtu\":1e30}", "\"mtu\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"dns\":\"1.1.1.1\"}",
     "key \"dns\": expected an array"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"dns\":[1]}", "element 0"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"dns\":[\"1.1.1\"]}", "key \"dns\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"dns\":[\"1.1.1.1\",\"1.1.1.2\","
     "\"1.1.1.3\",\"1.1.1.4\",\"1.1.1.5\",\"1.1.1.6\",\"1.1.1.7\",\"1.1.1.8\",\"1.1.1.9\"]}",
     "at most 8"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"bridged\"}", "needs a host interface"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"host_interface\":\"eth0\"}",
     "key \"host_interface\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"nat\":\"user\"}", "key \"nat\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"isolated\",\"nat\":\"slirp\"}", "key \"nat\""},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\",\"subnets\":\"10.0.0.0/8\"}",
     "unknown key \"subnets\""},
    {"{\"version\":1,\"name\":\"x\",\"name\":\"y\",\"mode\":\"shared\"}", "more than once"},
    {"{\"version\":1,\"name\":\"x\",\"mode\":\"shared\"} x", ""},
  };
  vmctr_network *n = NULL;
  char *big;
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int r = vmctr_network_from_json(&n, cases[i].json, strlen(cases[i].json));
    if (r != VMCTR_EPARSE || !strstr(vmctr_error_last()->message, cases[i].want))
      fail_msg("case %zu (%s): %d \"%s\"", i, cases[i].json, r, vmctr_error_last()->message);
  }
  assert_null(n);
  big = malloc(VMCTR_NETWORK_MAX_JSON + 2);
  assert_non_null(big);
  memset(big, ' ', VMCTR_NETWORK_MAX_JSON + 1);
  big[VMCTR_NETWORK_MAX_JSON + 1] = '\0';
  assert_fails_with(vmctr_network_from_json(&n, big, VMCTR_NETWORK_MAX_JSON + 1), VMCTR_ETOOBIG,
                    "more than");
  free(big);
  assert_int_equal(vmctr_network_from_json(&n, NULL, 0), VMCTR_EINVAL);
  /* Optional keys may be left out. */
  {
    const char *min = "{\"version\":1,\"name\":\"x\",\"mode\":\"host-only\"}";
    assert_ok(vmctr_network_from_json(&n, min, strlen(min)));
  }
  assert_string_equal(vmctr_network_subnet(n), "192.168.64.0/24");
  vmctr_network_free(n);
}

/* ---- the store ---- */

static void test_store(void **state) {
  fixture *f = *state;
  vmctr_network *n = NULL, *o = NULL;
  char **names = NULL, path[256], absent[128];
  struct stat st;
  (void)state;
  snprintf(absent, sizeof(absent), "%s/none", f->dir);
  assert_ok(vmctr_network_list(absent, &names));
  assert_null(names[0]);
  vmctr_strv_free(names);

  assert_ok(vmctr_network_new(&n, "web", VMCTR_NETWORK_SHARED));
  assert_ok(vmctr_network_set_subnet(n, "10.50.0.0/24"));
  snprintf(path, sizeof(path), "%s/state", f->dir);
  assert_ok(vmctr_network_create(path, n));
  assert_fails_with(vmctr_network_create(path, n), VMCTR_EEXIST, "already exists");
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  snprintf(path, sizeof(path), "%s/state/networks/web.json", f->dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(path, sizeof(path), "%s/state/networks", f->dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  vmctr_network_free(n);

  snprintf(path, sizeof(path), "%s/state", f->dir);
  assert_ok(vmctr_network_new(&n, "a-iso", VMCTR_NETWORK_ISOLATED_NAT));
  assert_ok(vmctr_network_create(path, n));
  vmctr_network_free(n);
  assert_ok(vmctr_network_new(&n, "br", VMCTR_NETWORK_BRIDGED));
  assert_fails_with(vmctr_network_create(path, n), VMCTR_EINVAL, "needs a host interface");
  vmctr_network_free(n);

  assert_ok(vmctr_network_list(path, &names));
  assert_string_equal(names[0], "a-iso");
  assert_string_equal(names[1], "web");
  assert_null(names[2]);
  vmctr_strv_free(names);

  assert_ok(vmctr_network_open(&o, path, "web"));
  assert_string_equal(vmctr_network_subnet(o), "10.50.0.0/24");
  assert_non_null(vmctr_network_state_dir(o));
  assert_non_null(strstr(vmctr_network_state_dir(o), "/state"));
  vmctr_network_free(o);
  o = NULL;
  assert_fails_with(vmctr_network_open(&o, path, "nope"), VMCTR_ENOENT, "not found");
  assert_fails_with(vmctr_network_open(&o, path, "../x"), VMCTR_EINVAL, "network name");
  assert_fails_with(vmctr_network_open(&o, absent, "web"), VMCTR_ENOENT, "not found");
  assert_fails_with(vmctr_network_remove(path, "../web"), VMCTR_EINVAL, "network name");
  assert_fails_with(vmctr_network_remove(path, "nope"), VMCTR_ENOENT, "not found");
  assert_null(o);
  /* No lock file made for a network that is not there. */
  snprintf(path, sizeof(path), "%s/state/networks/nope.lock", f->dir);
  assert_int_equal(access(path, F_OK), -1);

  snprintf(path, sizeof(path), "%s/state", f->dir);
  assert_ok(vmctr_network_remove(path, "web"));
  assert_fails_with(vmctr_network_open(&o, path, "web"), VMCTR_ENOENT, "not found");
  assert_ok(vmctr_network_remove(path, "a-iso"));
  snprintf(path, sizeof(path), "%s/state/networks", f->dir);
  assert_int_equal(tu_count_entries(path), 0);
}

static void test_store_untrusted(void **state) {
  fixture *f = *state;
  vmctr_network *n = NULL, *o = NULL;
  char path[256], target[256];
  int fd;
  assert_ok(vmctr_network_new(&n, "real", VMCTR_NETWORK_SHARED));
  assert_ok(vmctr_network_create(f->dir, n));
  vmctr_network_free(n);
  /* A definition that is a symlink to a valid one is refused. */
  snprintf(target, sizeof(target), "%s/networks/real.json", f->dir);
  snprintf(path, sizeof(path), "%s/networks/link.json", f->dir);
  assert_int_equal(symlink(target, path), 0);
  assert_fails_with(vmctr_network_open(&o, f->dir, "link"), VMCTR_EINVAL, "symbolic link");
  /* A FIFO is not read (nor waited on). */
  snprintf(path, sizeof(path), "%s/networks/fifo.json", f->dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_fails_with(vmctr_network_open(&o, f->dir, "fifo"), VMCTR_EINVAL, "not a regular file");
  /* A definition naming another network. */
  snprintf(path, sizeof(path), "%s/networks/other.json", f->dir);
  tu_sh("cp %s %s", target, path);
  assert_fails_with(vmctr_network_open(&o, f->dir, "other"), VMCTR_EPARSE, "names network");
  /* A corrupt leases file stops lease calls with its name. */
  assert_ok(vmctr_network_open(&o, f->dir, "real"));
  snprintf(path, sizeof(path), "%s/networks/real.leases", f->dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "{\"version\":1,\"leases\":[{\"owner\":7}]}", 36), 36);
  close(fd);
  assert_fails_with(lease(o, "c1", 0, NULL), VMCTR_EPARSE, "real.leases");
  /* A symlinked leases file too. */
  unlink(path);
  assert_int_equal(symlink(target, path), 0);
  assert_fails_with(lease(o, "c1", 0, NULL), VMCTR_EINVAL, "symbolic link");
  vmctr_network_free(o);
}

static void test_store_atomic(void **state) {
  fixture *f = *state;
  char path[256];
  pid_t pid;
  int status;
  /* A write that fails half-way (the file size limit) leaves nothing. */
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    vmctr_network *n = NULL;
    struct rlimit rl = {16, 16};
    signal(SIGXFSZ, SIG_IGN);
    if (vmctr_network_new(&n, "big", VMCTR_NETWORK_SHARED) < 0 || setrlimit(RLIMIT_FSIZE, &rl) < 0)
      _exit(2);
    _exit(vmctr_network_create(f->dir, n) == VMCTR_ETOOBIG ||
                  strstr(vmctr_error_last()->message, "write")
              ? 0
              : 1);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  snprintf(path, sizeof(path), "%s/networks", f->dir);
  assert_int_equal(tu_count_entries(path), 0); /* no temp file, no definition, no lock */
}

/* ---- leases ---- */

static void test_lease_30(void **state) {
  fixture *f = *state;
  vmctr_network *n = stored(f, "tiny", VMCTR_NETWORK_SHARED, "10.0.0.0/30");
  vmctr__net_lease l = {0};
  /* .1 is the gateway (the bridge holds it), .3 the broadcast: one left. */
  assert_ok(lease(n, "c1", 0, &l));
  assert_int_equal(l.ip, IP4(10, 0, 0, 2));
  assert_string_equal(l.owner, "c1");
  assert_int_equal(l.pid, getpid());
  assert_true(l.start_time > 0);
  assert_int_equal(l.mac[0] & 3, 2); /* locally administered unicast */
  vmctr__net_lease_clear(&l);
  assert_fails_with(lease(n, "c2", 0, NULL), VMCTR_ENOSPC,
                    "network tiny has no free address in 10.0.0.0/30 (1 in use)");
  assert_fails_with(lease(n, "c3", 0, NULL), VMCTR_ENOSPC, "no free address");
  assert_fails_with(lease(n, "c1", 0, NULL), VMCTR_EEXIST, "already has a lease");
  assert_ok(unlease(n, "c1"));
  assert_fails_with(unlease(n, "c1"), VMCTR_ENOENT, "no lease");
  assert_ok(lease(n, "c3", 0, &l));
  assert_int_equal(l.ip, IP4(10, 0, 0, 2));
  vmctr__net_lease_clear(&l);
  vmctr_network_free(n);
}

static void test_lease_29(void **state) {
  fixture *f = *state;
  vmctr_network *n = stored(f, "small", VMCTR_NETWORK_HOST_ONLY, "10.0.0.8/29");
  vmctr__net_lease l = {0};
  char owner[8];
  for (int i = 0; i < 5; i++) {
    snprintf(owner, sizeof(owner), "c%d", i);
    assert_ok(lease(n, owner, 0, &l));
    assert_int_equal(l.ip, IP4(10, 0, 0, 10 + i)); /* .9 gateway, .15 broadcast */
    vmctr__net_lease_clear(&l);
  }
  assert_fails_with(lease(n, "c5", 0, NULL), VMCTR_ENOSPC, "in 10.0.0.8/29 (5 in use)");
  /* The hole left by c2 is the lowest free address. */
  assert_ok(unlease(n, "c2"));
  assert_ok(lease(n, "c6", 0, &l));
  assert_int_equal(l.ip, IP4(10, 0, 0, 12));
  vmctr__net_lease_clear(&l);
  assert_int_equal(live(n, NULL), 5);
  vmctr_network_free(n);
}

static void test_lease_requested(void **state) {
  fixture *f = *state;
  vmctr_network *n = stored(f, "req", VMCTR_NETWORK_SHARED, "10.1.0.0/24");
  const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1};
  vmctr__net_port ports[2] = {{VMCTR__NET_TCP, 0, 8080, 80}, {VMCTR__NET_UDP, IP4(127, 0, 0, 1), 53, 5353}};
  vmctr__net_lease l = {0}, *all = NULL;
  size_t count = 0;
  int fd = -1;
  assert_ok(vmctr__net_lock(n, &fd));
  assert_ok(vmctr__net_lease_add(n, "web", IP4(10, 1, 0, 100), mac, "web.local", ports, 2, &l));
  assert_int_equal(l.ip, IP4(10, 1, 0, 100));
  assert_memory_equal(l.mac, mac, 6);
  vmctr__net_lease_clear(&l);
  assert_fails_with(vmctr__net_lease_add(n, "db", IP4(10, 1, 0, 100), NULL, NULL, NULL, 0, NULL),
                    VMCTR_EEXIST, "taken by container web");
  assert_fails_with(vmctr__net_lease_add(n, "db", 0, mac, NULL, NULL, 0, NULL), VMCTR_EEXIST,
                    "MAC 02:aa:bb:cc:dd:ee");
  assert_fails_with(vmctr__net_lease_add(n, "db", 0, mcast, NULL, NULL, 0, NULL), VMCTR_EINVAL,
                    "multicast");
  assert_fails_with(vmctr__net_lease_add(n, "db", IP4(10, 1, 0, 1), NULL, NULL, NULL, 0, NULL),
                    VMCTR_EINVAL, "its gateway");
  assert_fails_with(vmctr__net_lease_add(n, "db", IP4(10, 1, 1, 1), NULL, NULL, NULL, 0, NULL),
                    VMCTR_EINVAL, "outside");
  assert_fails_with(vmctr__net_lease_add(n, "db", IP4(10, 1, 0, 255), NULL, NULL, NULL, 0, NULL),
                    VMCTR_EINVAL, "outside");
  assert_fails_with(vmctr__net_lease_add(n, "../db", 0, NULL, NULL, NULL, 0, NULL), VMCTR_EINVAL,
                    "not a container id");
  assert_fails_with(vmctr__net_lease_add(n, "db", 0, NULL, "-bad", NULL, 0, NULL), VMCTR_EINVAL,
                    "not a host name");
  assert_ok(vmctr__net_lease_add(n, "db", 0, NULL, NULL, NULL, 0, NULL));
  /* What was stored reads back: MAC, host name and ports. */
  assert_ok(vmctr__net_leases(n, &all, &count, NULL));
  vmctr__net_unlock(fd);
  assert_int_equal(count, 2);
  assert_string_equal(all[0].owner, "db");
  assert_int_equal(all[0].ip, IP4(10, 1, 0, 2));
  assert_null(all[0].hostname);
  assert_string_equal(all[1].owner, "web");
  assert_memory_equal(all[1].mac, mac, 6);
  assert_string_equal(all[1].hostname, "web.local");
  assert_int_equal(all[1].nports, 2);
  assert_memory_equal(all[1].ports, ports, sizeof(ports));
  vmctr__net_leases_free(all, count);
  /* A network not opened from a store has no leases. */
  {
    vmctr_network *plain = NULL;
    assert_ok(vmctr_network_new(&plain, "req", VMCTR_NETWORK_SHARED));
    assert_fails_with(vmctr__net_lock(plain, &fd), VMCTR_EINVAL, "not from a store");
    assert_fails_with(lease(plain, "x", 0, NULL), VMCTR_EINVAL, "not from a store");
    vmctr_network_free(plain);
  }
  /* In use: remove refuses and names the holders. */
  assert_fails_with(vmctr_network_remove(f->dir, "req"), VMCTR_EBUSY, "in use by db, web");
  assert_ok(unlease(n, "db"));
  assert_ok(unlease(n, "web"));
  assert_ok(vmctr_network_remove(f->dir, "req"));
  assert_fails_with(lease(n, "x", 0, NULL), VMCTR_ENOENT, "not found");
  vmctr_network_free(n);
}

static void test_lease_isolated(void **state) {
  fixture *f = *state;
  vmctr_network *n = stored(f, "iso", VMCTR_NETWORK_ISOLATED_NAT, NULL);
  vmctr__net_lease a = {0}, b = {0};
  /* Each VM has its own NAT: the same guest address, distinct MACs. */
  assert_ok(lease(n, "c1", 0, &a));
  assert_ok(lease(n, "c2", 0, &b));
  assert_int_equal(a.ip, IP4(10, 0, 2, 15));
  assert_int_equal(b.ip, IP4(10, 0, 2, 15));
  assert_memory_not_equal(a.mac, b.mac, 6);
  assert_fails_with(lease(n, "c3", IP4(10, 0, 2, 3), NULL), VMCTR_EINVAL, "besides its gateway");
  vmctr__net_lease_clear(&a);
  vmctr__net_lease_clear(&b);
  assert_fails_with(vmctr_network_remove(f->dir, "iso"), VMCTR_EBUSY, "c1, c2");
  vmctr_network_free(n);
}

/* A child process takes a lease and dies; the next call reclaims it. */
static void test_lease_stale(void **state) {
  fixture *f = *state;
  vmctr_network *n = stored(f, "stale", VMCTR_NETWORK_SHARED, "10.0.0.0/30");
  vmctr__net_lease l = {0};
  size_t reclaimed = 99;
  int status;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(lease(n, "gone", 0, NULL) == 0 ? 0 : 1);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* The address was the only one; a live process gets it back. */
  assert_ok(lease(n, "next", 0, &l));
  assert_int_equal(l.ip, IP4(10, 0, 0, 2));
  vmctr__net_lease_clear(&l);
  assert_ok(unlease(n, "next"));

  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(lease(n, "gone2", 0, NULL) == 0 ? 0 : 1);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_int_equal(live(n, &reclaimed), 0);
  assert_int_equal(reclaimed, 1);
  assert_int_equal(live(n, &reclaimed), 0);
  assert_int_equal(reclaimed, 0);
  /* A dead holder does not keep the network busy either. */
  vmctr_network_free(n);
  assert_ok(vmctr_network_remove(f->dir, "stale"));
}

/* N processes take leases on one network at once: every address distinct,
 * the file valid, all live while their holders are. */
static void test_lease_concurrent(void **state) {
  enum { N = 12 };
  fixture *f = *state;
  vmctr_network *n = stored(f, "busy", VMCTR_NETWORK_SHARED, "10.2.0.0/24");
  int go[2], done[2], hold[2];
  pid_t pids[N];
  uint32_t ips[N];
  size_t reclaimed = 99;
  assert_int_equal(pipe(go), 0);
  assert_int_equal(pipe(done), 0);
  assert_int_equal(pipe(hold), 0);
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      char owner[16], c;
      vmctr__net_lease l = {0};
      uint32_t ip = 0;
      close(go[1]);
      close(hold[1]);
      snprintf(owner, sizeof(owner), "c%d", i);
      if (read(go[0], &c, 1) < 0) /* EOF: all start together */
        _exit(3);
      if (lease(n, owner, 0, &l) == 0)
        ip = l.ip;
      if (write(done[1], &ip, sizeof(ip)) != sizeof(ip))
        _exit(4);
      if (read(hold[0], &c, 1) < 0) /* stay alive until told */
        _exit(5);
      _exit(ip ? 0 : 1);
    }
  }
  close(go[0]);
  close(go[1]);
  close(hold[0]);
  close(done[1]);
  for (int i = 0; i < N; i++)
    assert_int_equal(read(done[0], &ips[i], sizeof(ips[i])), sizeof(ips[i]));
  for (int i = 0; i < N; i++) {
    assert_true(ips[i] > IP4(10, 2, 0, 1) && ips[i] <= IP4(10, 2, 0, 1 + N));
    for (int j = 0; j < i; j++)
      assert_int_not_equal(ips[i], ips[j]);
  }
  assert_int_equal(live(n, &reclaimed), N);
  assert_int_equal(reclaimed, 0);
  close(hold[1]);
  for (int i = 0; i < N; i++) {
    int status;
    assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  close(done[0]);
  assert_int_equal(live(n, &reclaimed), 0);
  assert_int_equal(reclaimed, N);
  vmctr_network_free(n);
}

static void test_network_id(void **state) {
  fixture *f = *state;
  vmctr_network *a = stored(f, "one", VMCTR_NETWORK_SHARED, NULL);
  vmctr_network *b = stored(f, "two", VMCTR_NETWORK_SHARED, NULL);
  vmctr_network *a2 = NULL;
  char ia[9], ib[9], ia2[9];
  vmctr__network_id(a, ia);
  vmctr__network_id(b, ib);
  assert_int_equal(strlen(ia), 8);
  assert_int_equal(strspn(ia, "0123456789abcdef"), 8);
  assert_string_not_equal(ia, ib);
  assert_ok(vmctr_network_open(&a2, f->dir, "one"));
  vmctr__network_id(a2, ia2);
  assert_string_equal(ia, ia2);
  vmctr_network_free(a);
  vmctr_network_free(a2);
  vmctr_network_free(b);
}

/* ---- address syntax ---- */

static void test_ip_cidr(void **state) {
  static const char *const bad_ip[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
                                       "1.2.3.4 ", " 1.2.3.4", "1..3.4", "0x1.2.3.4", "1.2.3.-4",
                                       "1.2.3.4/24", "1234.1.1.1"};
  uint32_t ip, addr, prefix;
  char buf[16];
  (void)state;
  for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++)
    if (vmctr__ip4_parse(bad_ip[i], &ip) != VMCTR_EINVAL)
      fail_msg("\"%s\" parsed", bad_ip[i]);
  assert_ok(vmctr__ip4_parse("0.0.0.0", &ip));
  assert_int_equal(ip, 0);
  assert_ok(vmctr__ip4_parse("255.255.255.255", &ip));
  assert_int_equal(ip, 0xffffffffu);
  assert_ok(vmctr__ip4_parse("10.0.2.15", &ip));
  assert_int_equal(ip, IP4(10, 0, 2, 15));
  assert_string_equal(vmctr__ip4_format(ip, buf), "10.0.2.15");
  assert_ok(vmctr__cidr_parse("0.0.0.0/0", 0, 32, &addr, &prefix));
  assert_int_equal(prefix, 0);
  assert_ok(vmctr__cidr_parse("10.0.0.4/30", 8, 30, &addr, &prefix));
  assert_int_equal(addr, IP4(10, 0, 0, 4));
  assert_int_equal(prefix, 30);
  assert_int_equal(vmctr__cidr_parse("10.0.0.4/33", 0, 32, &addr, &prefix), VMCTR_EINVAL);
  assert_int_equal(vmctr__cidr_parse("10.0.0.4/", 0, 32, &addr, &prefix), VMCTR_EINVAL);
  assert_int_equal(vmctr__cidr_parse("10.0.0.4/08", 0, 32, &addr, &prefix), VMCTR_EINVAL);
  assert_int_equal(vmctr__cidr_parse("10.0.0.4/29", 0, 32, &addr, &prefix), VMCTR_EINVAL);
  assert_int_equal(vmctr__ip4_mask(0), 0);
  assert_int_equal(vmctr__ip4_mask(32), 0xffffffffu);
  assert_int_equal(vmctr__ip4_mask(24), 0xffffff00u);
  assert_true(vmctr__ip4_is_host(IP4(10, 0, 0, 5), IP4(10, 0, 0, 4), 30));
  assert_false(vmctr__ip4_is_host(IP4(10, 0, 0, 4), IP4(10, 0, 0, 4), 30));
  assert_false(vmctr__ip4_is_host(IP4(10, 0, 0, 7), IP4(10, 0, 0, 4), 30));
  assert_false(vmctr__ip4_is_host(IP4(10, 0, 0, 8), IP4(10, 0, 0, 4), 30));
}

static void test_mac(void **state) {
  static const char *const bad[] = {"", "02:aa:bb:cc:dd", "02:aa:bb:cc:dd:ee:ff", "02-aa-bb-cc-dd-ee",
                                    "2:aa:bb:cc:dd:ee", "02:aa:bb:cc:dd:eg", "02:aa:bb:cc:dd:ee "};
  uint8_t mac[6], seen[6] = {0};
  char buf[18];
  bool differ = false;
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (vmctr__mac_parse(bad[i], mac) != VMCTR_EINVAL)
      fail_msg("\"%s\" parsed", bad[i]);
  assert_ok(vmctr__mac_parse("02:AA:bb:0C:dd:Ee", mac));
  assert_string_equal(vmctr__mac_format(mac, buf), "02:aa:bb:0c:dd:ee");
  for (int i = 0; i < 64; i++) {
    assert_ok(vmctr__mac_random(mac));
    assert_int_equal(mac[0] & 1, 0); /* unicast */
    assert_int_equal(mac[0] & 2, 2); /* locally administered */
    if (i && memcmp(mac, seen, 6))
      differ = true;
    memcpy(seen, mac, 6);
  }
  assert_true(differ);
}

static void test_port_parse(void **state) {
  static const struct {
    const char *spec;
    uint32_t proto, host_ip;
    uint16_t host, guest;
  } good[] = {
    {"8080:80", VMCTR__NET_TCP, 0, 8080, 80},
    {"8080:80/tcp", VMCTR__NET_TCP, 0, 8080, 80},
    {"53:5353/udp", VMCTR__NET_UDP, 0, 53, 5353},
    {"127.0.0.1:8080:80", VMCTR__NET_TCP, IP4(127, 0, 0, 1), 8080, 80},
    {"0.0.0.0:1:65535/udp", VMCTR__NET_UDP, 0, 1, 65535},
  };
  static const struct {
    const char *spec, *want;
  } bad[] = {
    {"80", "expected [HOST_IP:]HOST_PORT:GUEST_PORT"},
    {"", "expected"},
    {"0:80", "host port"},
    {"65536:80", "host port"},
    {"8080:0", "guest port"},
    {"8080:80/sctp", "/tcp or /udp"},
    {"8080:80/", "/tcp or /udp"},
    {"8080/tcp:80", "expected"},
    {"a:b", "host port"},
    {"1.2.3:8080:80", "not an IPv4 address"},
    {":8080:80", "bad host address"},
    {"::1:8080:80", "expected"},
    {"8080:80x", "guest port"},
    {"-1:80", "host port"},
  };
  vmctr__net_port p;
  (void)state;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    if (vmctr__net_port_parse(good[i].spec, &p) < 0)
      fail_msg("%s: %s", good[i].spec, vmctr_error_last()->message);
    assert_int_equal(p.proto, good[i].proto);
    assert_int_equal(p.host_ip, good[i].host_ip);
    assert_int_equal(p.host_port, good[i].host);
    assert_int_equal(p.guest_port, good[i].guest);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int r = vmctr__net_port_parse(bad[i].spec, &p);
    if (r != VMCTR_EINVAL || !strstr(vmctr_error_last()->message, bad[i].want))
      fail_msg("%s: %d \"%s\"", bad[i].spec, r, vmctr_error_last()->message);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_names_and_modes),
    cmocka_unit_test(test_setters),
    cmocka_unit_test(test_json_round_trip),
    cmocka_unit_test(test_json_hostile),
    cmocka_unit_test_setup_teardown(test_store, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_store_untrusted, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_store_atomic, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_lease_30, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_lease_29, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_lease_requested, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_lease_isolated, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_lease_stale, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_lease_concurrent, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(test_network_id, setup, tu_fixture_teardown),
    cmocka_unit_test(test_ip_cidr),
    cmocka_unit_test(test_mac),
    cmocka_unit_test(test_port_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
