/* SPDX-License-Identifier: MIT */
/* vmctr-oci's pod networks (examples/oci/podnet.c) with real VMs: a "pod"
 * network namespace as CNI leaves it (a veth eth0 with an address, a
 * default route and one more route) whose peer, in a "peer" namespace,
 * runs a web server; oci_podnet_prepare() joins a tap to eth0 there by tc
 * mirroring, oci_podnet_apply() gives a container the namespace and the
 * tap, and the guest fetches from the peer with eth0's MAC and address,
 * and reaches nothing outside. Then the teardown, the bad inputs, and the
 * library's own errors for a bad namespace or tap.
 *
 * The program runs in a network and mount namespace of its own (its
 * "host"), with a private /run/netns: nothing it makes is seen outside,
 * and every name holds the pid. Needs root; ip(8) and tc(8) only set up
 * and inspect. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "podnet.h"
#include "vmtest.h"

static struct vmtest F;
static char pod_ns[32], peer_ns[32], www[160];
static char pod_path[64], peer_ip[16], pod_ip[16], outside_ip[16];
static char veth_mac[18];
static pid_t servers[4];
static size_t nservers;
static int x; /* the subnets' third octet */

static int sh(const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  int r = system(cmd);
  if (r != 0)
    print_message("# command failed (%d): %s\n", r, cmd);
  return r == 0 ? 0 : -1;
}

/* The first line cmd prints, into out; 0 or -1. */
static int sh_line(char *out, size_t n, const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  FILE *f = popen(cmd, "r");
  out[0] = '\0';
  if (!f)
    return -1;
  if (!fgets(out, (int)n, f))
    out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  return pclose(f) == 0 ? 0 : -1;
}

/* How many lines of cmd's output match the extended regex re. */
static int count(const char *re, const char *fmt, ...) {
  char cmd[1024], line[1100];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  snprintf(line, sizeof(line), "%s 2>&1 | grep -cE '%s' || true", cmd, re);
  char out[32];
  sh_line(out, sizeof(out), "%s", line);
  return atoi(out);
}

static void serve(const char *ns, const char *addr, int port) {
  pid_t pid = fork();
  if (pid == 0) {
    char where[64];
    snprintf(where, sizeof(where), "%s:%d", addr, port);
    if (ns)
      execlp("ip", "ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", where, "-h", www,
             (char *)NULL);
    else
      execlp("busybox", "busybox", "httpd", "-f", "-p", where, "-h", www, (char *)NULL);
    _exit(127);
  }
  servers[nservers++] = pid;
  usleep(300 * 1000);
}

static int world_up(void) {
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
    fprintf(stderr, "unshare: %s\n", strerror(errno));
    return -1;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      (mkdir("/run/netns", 0755) < 0 && errno != EEXIST) ||
      mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755") < 0) {
    fprintf(stderr, "mounts: %s\n", strerror(errno));
    return -1;
  }
  pid_t me = getpid();
  x = (int)(me % 250) + 1;
  snprintf(pod_ns, sizeof(pod_ns), "vpod-%d", (int)me);
  snprintf(peer_ns, sizeof(peer_ns), "vpeer-%d", (int)me);
  snprintf(pod_path, sizeof(pod_path), "/run/netns/%s", pod_ns);
  snprintf(peer_ip, sizeof(peer_ip), "10.77.%d.1", x);
  snprintf(pod_ip, sizeof(pod_ip), "10.77.%d.2", x);
  snprintf(outside_ip, sizeof(outside_ip), "172.29.%d.1", x);
  snprintf(www, sizeof(www), "%s/www", F.dir);
  mkdir(www, 0755);
  char p[200];
  snprintf(p, sizeof(p), "%s/hello.txt", www);
  FILE *f = fopen(p, "w");
  if (!f)
    return -1;
  fputs("hello from the pod network\n", f);
  fclose(f);
  /* The pod as CNI leaves it, its peer, and an "outside" in our own namespace. */
  if (sh("ip link set lo up") || sh("ip netns add %s && ip netns add %s", pod_ns, peer_ns) ||
      sh("ip -n %s link set lo up && ip -n %s link set lo up", pod_ns, peer_ns) ||
      sh("ip -n %s link add eth0 type veth peer name vp%d netns %s", pod_ns, (int)me, peer_ns) ||
      sh("ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up", pod_ns, pod_ip, pod_ns) ||
      sh("ip -n %s route add default via %s", pod_ns, peer_ip) ||
      sh("ip -n %s route add 10.99.%d.0/24 via %s", pod_ns, x, peer_ip) ||
      sh("ip -n %s addr add %s/24 dev vp%d && ip -n %s link set vp%d up", peer_ns, peer_ip,
         (int)me, peer_ns, (int)me) ||
      /* (a veth pair: the test kernel may have no dummy devices) */
      sh("ip link add vout%d type veth peer name vouq%d && ip addr add %s/24 dev vout%d && "
         "ip link set vout%d up && ip link set vouq%d up", (int)me, (int)me, outside_ip, (int)me,
         (int)me, (int)me) ||
      sh_line(veth_mac, sizeof(veth_mac), "ip netns exec %s cat /sys/class/net/eth0/address",
              pod_ns) < 0)
    return -1;
  serve(peer_ns, peer_ip, 8080);
  serve(NULL, outside_ip, 8081);
  return 0;
}

static void world_down(void) {
  for (size_t i = 0; i < nservers; i++) {
    kill(servers[i], SIGTERM);
    waitpid(servers[i], NULL, 0);
  }
  nservers = 0;
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "for n in $(ip netns list | awk '{print $1}'); do "
           "ip netns pids $n | xargs -r kill 2>/dev/null; ip netns del $n; done");
  if (system(cmd) != 0)
    fprintf(stderr, "# removing the namespaces failed\n");
}

/* ---- a container on the pod network ---- */

struct ctr {
  struct vmtest_rootfs root;
  struct vmtest_out out;
  vmctr_container *c;
  int rc;
  char msg[512];
};

/* A container running script; with pn (or netns) its pod network. */
static void up(struct ctr *t, const char *name, const oci_podnet *pn, const char *netns,
               const char *tap, const vmctr_network *net, const char *script) {
  memset(t, 0, sizeof(*t));
  vmtest_out_init(&t->out);
  assert_int_equal(vmtest_rootfs(&F, NULL, name, &t->root), 0);
  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  const char *argv[] = {"sh", "-c", script};
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &t->out, NULL), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  if (pn) {
    char err[512];
    int r = oci_podnet_apply(pn, cfg, err, sizeof(err));
    if (r < 0)
      print_message("# apply: %s\n", err);
    assert_int_equal(r, 0);
  }
  if (netns)
    assert_int_equal(vmctr_container_config_set_network_namespace(cfg, netns), 0);
  if (tap)
    assert_int_equal(vmctr_container_config_add_tap(cfg, tap, NULL, NULL, NULL, 0), 0);
  if (net)
    assert_int_equal(vmctr_container_config_add_network(cfg, net, NULL, NULL), 0);
  t->rc = vmctr_container_new(&t->c, name, t->root.mount, b, cfg);
  if (t->rc == 0) {
    assert_int_equal(vmctr_container_start(t->c), 0);
  } else {
    snprintf(t->msg, sizeof(t->msg), "%s", vmctr_error_last()->message);
    print_message("# %s: %s\n", name, t->msg);
    t->c = NULL;
  }
  vmctr_container_config_free(cfg);
  vmctr_process_config_free(p);
  vmctr_bootcfg_free(b);
}

static int finish(struct ctr *t) {
  int32_t code = -1, sig = -1;
  int r = vmctr_process_wait(vmctr_container_init_process(t->c), 180000, &code, &sig);
  if (r < 0)
    print_message("# wait: %s\n", vmctr_error_last()->message);
  pthread_mutex_lock(&t->out.lock);
  print_message("# exit %d signal %d; stdout:\n%s# stderr: %s\n", code, sig, t->out.buf, t->out.err);
  pthread_mutex_unlock(&t->out.lock);
  return r < 0 ? r : sig > 0 ? 128 + sig : code;
}

static void down(struct ctr *t) {
  if (t->c) {
    vmctr_container_stop(t->c, 1000);
    vmctr_container_free(t->c);
  }
  vmtest_rootfs_free(&t->root);
  t->c = NULL;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The inode of a namespace file, to compare namespaces by. */
static ino_t ns_inode(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Nothing of a pod network in namespace ns (NULL: ours): no tap, no ingress qdisc. */
static void assert_clean(const char *ns) {
  char pre[64] = "";
  if (ns)
    snprintf(pre, sizeof(pre), "-n %s", ns);
  assert_int_equal(count("tap0_vmctr|tun", "ip %s -d link show", pre), 0);
  assert_int_equal(count("ingress", "tc %s qdisc show", pre), 0);
}

/* ---- the tests ---- */

static void test_pod_network(void **state) {
  (void)state;
  char err[512];
  oci_podnet *pn = NULL;
  double t0 = now_ms();
  int r = oci_podnet_prepare(pod_path, &pn, err, sizeof(err));
  print_message("# prepare: %.1f ms\n", now_ms() - t0);
  if (r < 0)
    print_message("# prepare: %s\n", err);
  assert_int_equal(r, 0);
  /* The tap and the mirroring both ways. */
  assert_int_equal(count("tap0_vmctr", "ip -n %s -d link show type tun", pod_ns), 1);
  assert_int_equal(count("^qdisc ingress", "tc -n %s qdisc show dev eth0", pod_ns), 1);
  assert_int_equal(count("^qdisc ingress", "tc -n %s qdisc show dev tap0_vmctr", pod_ns), 1);
  assert_int_equal(count("mirred.*Redirect to device tap0_vmctr",
                         "tc -n %s filter show dev eth0 ingress", pod_ns), 1);
  assert_int_equal(count("mirred.*Redirect to device eth0",
                         "tc -n %s filter show dev tap0_vmctr ingress", pod_ns), 1);

  /* The outside answers us: its silence to the guest below means something. */
  assert_int_equal(sh("timeout 10 busybox wget -q -O /dev/null http://%s:8081/hello.txt",
                      outside_ip), 0);
  char script[1024];
  snprintf(script, sizeof(script),
           "timeout 30 wget -q -O - http://%s:8080/hello.txt; "
           "echo mac=$(cat /sys/class/net/eth0/address); "
           "ip -o -4 addr show dev eth0 | awk '{print \"addr=\" $4}'; "
           "ip route | sed 's/^/route=/'; "
           "if timeout 10 wget -q -O - http://%s:8081/hello.txt; then echo OUTSIDE-REACHED; "
           "else echo OUTSIDE-UNREACHABLE; fi",
           peer_ip, outside_ip);
  struct ctr t;
  t0 = now_ms();
  up(&t, "podnet-ok", pn, NULL, NULL, NULL, script);
  print_message("# container up: %.0f ms\n", now_ms() - t0);
  assert_int_equal(t.rc, 0);
  /* QEMU runs in the pod's namespace. */
  pid_t q = vmtest_child_pid("qemu-system");
  assert_true(q > 0);
  char qns[64];
  snprintf(qns, sizeof(qns), "/proc/%d/ns/net", (int)q);
  assert_true(ns_inode(qns) == ns_inode(pod_path));
  assert_true(ns_inode(qns) != ns_inode("/proc/self/ns/net"));
  assert_string_equal(vmctr_container_network_mac(t.c, 0), veth_mac);
  char want[64];
  snprintf(want, sizeof(want), "%s/24", pod_ip);
  assert_string_equal(vmctr_container_network_address(t.c, 0), want);
  assert_int_equal(finish(&t), 0);
  pthread_mutex_lock(&t.out.lock);
  char out[sizeof(t.out.buf)];
  snprintf(out, sizeof(out), "%s", t.out.buf);
  pthread_mutex_unlock(&t.out.lock);
  assert_non_null(strstr(out, "hello from the pod network\n"));
  snprintf(want, sizeof(want), "mac=%s\n", veth_mac);
  assert_non_null(strstr(out, want));
  snprintf(want, sizeof(want), "addr=%s/24\n", pod_ip);
  assert_non_null(strstr(out, want));
  snprintf(want, sizeof(want), "route=default via %s", peer_ip);
  assert_non_null(strstr(out, want));
  snprintf(want, sizeof(want), "route=10.99.%d.0/24 via %s", x, peer_ip);
  assert_non_null(strstr(out, want));
  assert_non_null(strstr(out, "OUTSIDE-UNREACHABLE\n"));
  down(&t);
  oci_podnet_free(pn);

  t0 = now_ms();
  assert_int_equal(oci_podnet_teardown(pod_path, err, sizeof(err)), 0);
  print_message("# teardown: %.1f ms\n", now_ms() - t0);
  assert_clean(pod_ns);
  /* eth0 is as CNI left it, and our own namespace has none of it. */
  assert_int_equal(count("inet 10\\.77\\.", "ip -n %s addr show dev eth0", pod_ns), 1);
  assert_clean(NULL);
  assert_int_equal(count("^[0-9]+:", "ip -o link show"), 3); /* lo and the outside's veth pair */
  /* Idempotent, and a namespace that is gone is no error. */
  assert_int_equal(oci_podnet_teardown(pod_path, err, sizeof(err)), 0);
  assert_int_equal(oci_podnet_teardown("/run/netns/vmctr-gone", err, sizeof(err)), 0);
  assert_int_equal(vmtest_children("qemu-system", NULL, NULL, 0, true), 0);
}

/* The library alone: a namespace given by path puts the VM's QEMU (and its
 * user-mode NAT) there: the peer, which only the pod reaches, answers; the
 * outside, which only we reach, does not. */
static void test_namespace_nat(void **state) {
  (void)state;
  vmctr_network *n;
  assert_int_equal(vmctr_network_new(&n, "isolated", VMCTR_NETWORK_ISOLATED_NAT), 0);
  assert_int_equal(vmctr_network_set_nat(n, VMCTR_NETWORK_NAT_USER), 0);
  char script[512];
  snprintf(script, sizeof(script),
           "timeout 30 wget -q -O - http://%s:8080/hello.txt; "
           "if timeout 10 wget -q -O - http://%s:8081/hello.txt; then echo OUTSIDE-REACHED; "
           "else echo OUTSIDE-UNREACHABLE; fi", peer_ip, outside_ip);
  struct ctr t;
  up(&t, "podnet-nat", NULL, pod_path, NULL, n, script);
  assert_int_equal(t.rc, 0);
  assert_int_equal(finish(&t), 0);
  pthread_mutex_lock(&t.out.lock);
  assert_string_equal(t.out.buf, "hello from the pod network\nOUTSIDE-UNREACHABLE\n");
  pthread_mutex_unlock(&t.out.lock);
  down(&t);
  vmctr_network_free(n);
}

static void expect_prepare_error2(const char *path, const char *needle, const char *needle2) {
  char err[512] = "";
  oci_podnet *pn = (oci_podnet *)(uintptr_t)1;
  assert_int_equal(oci_podnet_prepare(path, &pn, err, sizeof(err)), -1);
  assert_null(pn);
  print_message("# %s: %s\n", path, err);
  assert_non_null(strstr(err, needle));
  if (needle2)
    assert_non_null(strstr(err, needle2));
}

static void expect_prepare_error(const char *path, const char *needle) {
  expect_prepare_error2(path, needle, NULL);
}

static void test_bad_namespaces(void **state) {
  (void)state;
  char path[96], ns[32];
  pid_t me = getpid();
  /* No such namespace. */
  snprintf(path, sizeof(path), "/run/netns/vnone-%d", (int)me);
  expect_prepare_error(path, "does not exist");
  expect_prepare_error("relative/path", "absolute path");
  expect_prepare_error("/etc/hostname", "not a network namespace");
  /* Loopback only. */
  snprintf(ns, sizeof(ns), "vempty-%d", (int)me);
  snprintf(path, sizeof(path), "/run/netns/%s", ns);
  assert_int_equal(sh("ip netns add %s && ip -n %s link set lo up", ns, ns), 0);
  expect_prepare_error(path, "no interface with an IPv4 address");
  assert_clean(ns);
  /* Two interfaces with addresses: both named. */
  assert_int_equal(sh("ip -n %s link add d1 type veth peer name d2 && "
                      "ip -n %s addr add 10.88.1.2/24 dev d1 && ip -n %s addr add 10.88.2.2/24 "
                      "dev d2 && ip -n %s link set d1 up && ip -n %s link set d2 up",
                      ns, ns, ns, ns, ns), 0);
  expect_prepare_error2(path, "d1", "d2");
  assert_clean(ns);
  /* One again, but with a tap of that name left over: refused, not reused. */
  assert_int_equal(sh("ip -n %s addr flush dev d2 && ip -n %s tuntap add dev tap0_vmctr mode tap",
                      ns, ns), 0);
  expect_prepare_error(path, "teardown");
  char err[256];
  assert_int_equal(oci_podnet_teardown(path, err, sizeof(err)), 0);
  assert_clean(ns);
  /* An ingress qdisc already on the interface (someone else's): refused,
   * and the tap made before it is gone again. */
  assert_int_equal(sh("tc -n %s qdisc add dev d1 ingress", ns), 0);
  expect_prepare_error(path, "ingress qdisc already");
  assert_int_equal(count("tap0_vmctr", "ip -n %s link show", ns), 0);
  assert_int_equal(sh("tc -n %s qdisc del dev d1 ingress", ns), 0);
  /* Now it works, and the teardown undoes it. */
  oci_podnet *pn = NULL;
  int r = oci_podnet_prepare(path, &pn, err, sizeof(err));
  if (r < 0)
    print_message("# prepare: %s\n", err);
  assert_int_equal(r, 0);
  oci_podnet_free(pn);
  assert_int_equal(oci_podnet_teardown(path, err, sizeof(err)), 0);
  assert_clean(ns);
  assert_int_equal(sh("ip netns del %s", ns), 0);
  assert_clean(NULL);
}

/* vmctr_container_new's errors for a bad namespace or tap: clear, and
 * nothing left running. */
static void test_library_errors(void **state) {
  (void)state;
  vmctr_container_config *cfg;
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_network_namespace(cfg, "netns"), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_set_network_namespace(cfg, NULL), 0);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "", NULL, NULL, NULL, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "a-name-too-long-for-linux", NULL, NULL,
                                                  NULL, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", "01:00:00:00:00:01", NULL, NULL, 0),
                   VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", NULL, "10.1.1.0/24", NULL, 0),
                   VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", NULL, "10.1.1.2", NULL, 0),
                   VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", NULL, NULL, "10.1.1.1", 0),
                   VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", NULL, NULL, NULL, 40), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap_route(cfg, "t0", "10.2.0.0/16", NULL),
                   VMCTR_ENOENT);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", "02:00:00:00:00:01", "10.1.1.2/24",
                                                  "10.1.1.1", 1400), 0);
  assert_int_equal(vmctr_container_config_add_tap(cfg, "t0", NULL, NULL, NULL, 0), VMCTR_EEXIST);
  assert_int_equal(vmctr_container_config_add_tap_route(cfg, "t0", "10.2.0.1/16", NULL),
                   VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_tap_route(cfg, "t0", "10.2.0.0/16", "10.1.1.1"), 0);
  assert_int_equal(vmctr_container_config_add_tap_route(cfg, "t0", "10.2.0.0/16", NULL),
                   VMCTR_EEXIST);
  vmctr_container_config_free(cfg);

  char path[96];
  struct ctr t;
  snprintf(path, sizeof(path), "/run/netns/vnone-%d", (int)getpid());
  up(&t, "podnet-nons", NULL, path, NULL, NULL, "true");
  assert_int_equal(t.rc, VMCTR_ENOENT);
  assert_non_null(strstr(t.msg, "does not exist"));
  down(&t);
  up(&t, "podnet-notns", NULL, "/etc/hostname", NULL, NULL, "true");
  assert_int_equal(t.rc, VMCTR_EINVAL);
  assert_non_null(strstr(t.msg, "not a network namespace"));
  down(&t);
  /* A tap that is not there, and an interface that is no tap. */
  up(&t, "podnet-notap", NULL, pod_path, "tap-none", NULL, "true");
  assert_int_equal(t.rc, VMCTR_ENOENT);
  assert_non_null(strstr(t.msg, "tap-none"));
  down(&t);
  up(&t, "podnet-veth", NULL, pod_path, "eth0", NULL, "true");
  assert_int_equal(t.rc, VMCTR_EINVAL);
  assert_non_null(strstr(t.msg, "not a tap"));
  down(&t);
  assert_int_equal(vmtest_children("qemu-system", NULL, NULL, 0, true), 0);
  assert_int_equal(vmtest_runtime_entries(&F, true), 0);
  assert_clean(pod_ns);
  assert_clean(NULL);
}

int main(void) {
  if (geteuid() != 0) {
    printf("1..0 # SKIP needs root (network namespaces, taps, tc)\n");
    return 0;
  }
  if (access(getenv("VMCTR_TEST_KERNEL") ? getenv("VMCTR_TEST_KERNEL") : "", R_OK) != 0) {
    printf("1..0 # SKIP no test kernel (kernel/build-kernel.sh)\n");
    return 0;
  }
  if (system("command -v ip >/dev/null && command -v tc >/dev/null && "
             "command -v busybox >/dev/null") != 0) {
    printf("1..0 # SKIP needs ip, tc and busybox on the host\n");
    return 0;
  }
  if (vmtest_setup(&F, "vmctr-podnet") < 0) {
    printf("1..0 # SKIP cannot set up the fixture: see stderr\n");
    return 0;
  }
  if (world_up() < 0) {
    world_down();
    vmtest_teardown(&F);
    printf("1..0 # SKIP cannot set up the namespaces: see stderr\n");
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_namespaces),
      cmocka_unit_test(test_library_errors),
      cmocka_unit_test(test_pod_network),
      cmocka_unit_test(test_namespace_nat),
  };
  if (getenv("PODNET_ONLY"))
    cmocka_set_test_filter(getenv("PODNET_ONLY"));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  world_down();
  vmtest_teardown(&F);
  return r;
}
