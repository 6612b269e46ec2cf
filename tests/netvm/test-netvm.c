/* SPDX-License-Identifier: MIT */
/* Networks with real VMs (issue 11's tests): isolated NAT with passt and
 * with user-mode, published ports, shared networks (two containers, NAT to
 * a peer), host-only, bridged, address exhaustion and crash cleanup.
 *
 * The whole program runs in a network and mount namespace of its own, made
 * at start: its "host" is that namespace, with only loopback, and the
 * "outside" is a peer namespace it creates and joins with a veth. No
 * packet leaves the namespaces this test made. Needs root. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmtest.h"

static struct vmtest F;
static char state_dir[128], www[160];
static pid_t servers[8];
static size_t nservers;
static const char *peer_ns = "vmctr-netvm-peer";

/* ---- the namespaces ---- */

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

/* busybox httpd in the foreground: in ns (NULL: ours), on addr:port, serving www. */
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
  /* Our own /run/netns, gone with this mount namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      (mkdir("/run/netns", 0755) < 0 && errno != EEXIST) ||
      mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755") < 0) {
    fprintf(stderr, "mounts: %s\n", strerror(errno));
    return -1;
  }
  snprintf(www, sizeof(www), "%s/www", F.dir);
  mkdir(www, 0755);
  FILE *f;
  char p[200];
  snprintf(p, sizeof(p), "%s/hello.txt", www);
  if (!(f = fopen(p, "w")))
    return -1;
  fputs("hello from the host\n", f);
  fclose(f);
  snprintf(state_dir, sizeof(state_dir), "%s/state", F.dir);
  /* The outside: a peer namespace at 172.31.99.2, our end 172.31.99.1. */
  if (sh("ip link set lo up") || sh("ip netns add %s", peer_ns) ||
      sh("ip link add vt-host type veth peer name vt-peer netns %s", peer_ns) ||
      sh("ip addr add 172.31.99.1/24 dev vt-host && ip link set vt-host up") ||
      sh("ip -n %s addr add 172.31.99.2/24 dev vt-peer && ip -n %s link set vt-peer up && "
         "ip -n %s link set lo up", peer_ns, peer_ns, peer_ns) ||
      /* passt needs a default route to pick its template interface. */
      sh("ip route add default via 172.31.99.2"))
    return -1;
  serve(NULL, "127.0.0.1", 18080);
  serve(peer_ns, "172.31.99.2", 18081);
  return 0;
}

static void world_down(void) {
  for (size_t i = 0; i < nservers; i++) {
    kill(servers[i], SIGTERM);
    waitpid(servers[i], NULL, 0);
  }
  system("ip netns pids vmctr-netvm-peer 2>/dev/null | xargs -r kill 2>/dev/null");
  sh("ip netns del %s", peer_ns);
}

/* ---- containers ---- */

struct ctr {
  struct vmtest_rootfs root;
  struct vmtest_out out;
  vmctr_container *c;
  int rc;
};

/* A container running script on network n (NULL: none), with ports
 * published; *t->c is NULL and the create error is in t->rc on failure. */
static void up(struct ctr *t, const char *name, const vmctr_network *n, const char *ip,
               const char *const *ports, const char *script) {
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
  assert_int_equal(vmctr_container_config_set_hostname(cfg, name), 0);
  if (n)
    assert_int_equal(vmctr_container_config_add_network(cfg, n, ip, NULL), 0);
  for (size_t i = 0; ports && ports[i]; i++)
    assert_int_equal(vmctr_container_config_publish_port(cfg, ports[i]), 0);
  t->rc = vmctr_container_new(&t->c, name, t->root.mount, b, cfg);
  if (t->rc == 0)
    assert_int_equal(vmctr_container_start(t->c), 0);
  else
    print_message("# %s: %s\n", name, vmctr_error_last()->message);
  vmctr_container_config_free(cfg);
  vmctr_process_config_free(p);
  vmctr_bootcfg_free(b);
}

/* Wait for the init process; its exit code. */
static int finish(struct ctr *t) {
  int32_t code = -1, sig = -1;
  int r = vmctr_process_wait(vmctr_container_init_process(t->c), 120000, &code, &sig);
  if (r < 0)
    print_message("# wait: %s\n", vmctr_error_last()->message);
  pthread_mutex_lock(&t->out.lock);
  if (r < 0 || code != 0)
    print_message("# exit %d signal %d; stdout: %s; stderr: %s\n", code, sig, t->out.buf, t->out.err);
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

/* Run script in the running container t; its stdout in out (size n). */
static int exec_in(struct ctr *t, const char *script, char *out, size_t n) {
  static struct vmtest_out o;
  vmtest_out_init(&o);
  vmctr_process_config *p;
  const char *argv[] = {"sh", "-c", script};
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &o, NULL), 0);
  vmctr_process *proc;
  assert_int_equal(vmctr_container_exec(t->c, p, &proc), 0);
  vmctr_process_config_free(p);
  int32_t code = -1, sig = -1;
  assert_int_equal(vmctr_process_wait(proc, 120000, &code, &sig), 0);
  vmctr_process_free(proc);
  pthread_mutex_lock(&o.lock);
  size_t k = strnlen(o.buf, n - 1);
  memcpy(out, o.buf, k);
  out[k] = '\0';
  if (o.err[0] || code != 0)
    print_message("# '%s': exit %d signal %d, stderr: %s\n", script, code, sig, o.err);
  pthread_mutex_unlock(&o.lock);
  return sig > 0 ? 128 + sig : code;
}

/* Connect to 127.0.0.1:port until the guest listens, and read what it says. */
static int fetch_port(int port, char *buf, size_t n) {
  for (int attempt = 0; attempt < 120; attempt++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
      ssize_t k = read(s, buf, n - 1);
      if (attempt % 10 == 0)
        print_message("# port %d, attempt %d: read %zd (%s)\n", port, attempt, k,
                      k < 0 ? strerror(errno) : "");
      close(s);
      if (k > 0) {
        buf[k] = '\0';
        return 0;
      }
    } else {
      close(s);
    }
    usleep(500 * 1000);
  }
  return -1;
}

static vmctr_network *isolated(uint32_t nat) {
  vmctr_network *n;
  assert_int_equal(vmctr_network_new(&n, "isolated", VMCTR_NETWORK_ISOLATED_NAT), 0);
  assert_int_equal(vmctr_network_set_nat(n, nat), 0);
  return n;
}

/* A stored network (created on first use) of this mode and subnet. */
static vmctr_network *stored(const char *name, uint32_t mode, const char *subnet, const char *host_if) {
  vmctr_network *n, *o;
  if (vmctr_network_open(&o, state_dir, name) == 0)
    return o;
  assert_int_equal(vmctr_network_new(&n, name, mode), 0);
  assert_int_equal(vmctr_network_set_subnet(n, subnet), 0);
  if (host_if)
    assert_int_equal(vmctr_network_set_host_interface(n, host_if), 0);
  assert_int_equal(vmctr_network_create(state_dir, n), 0);
  vmctr_network_free(n);
  assert_int_equal(vmctr_network_open(&o, state_dir, name), 0);
  return o;
}

static int links_with_prefix(const char *prefix) {
  char cmd[200];
  snprintf(cmd, sizeof(cmd), "ip -o link show | awk -F': ' '{print $2}' | grep -c '^%s' || true", prefix);
  FILE *f = popen(cmd, "r");
  int n = -1;
  if (f) {
    if (fscanf(f, "%d", &n) != 1)
      n = -1;
    pclose(f);
  }
  return n;
}

static int nft_tables_vmctr(void) {
  FILE *f = popen("nft list tables 2>/dev/null | grep -c vmctr || true", "r");
  int n = -1;
  if (f) {
    if (fscanf(f, "%d", &n) != 1)
      n = -1;
    pclose(f);
  }
  return n;
}

/* ---- isolated NAT ---- */

static void isolated_fetch(uint32_t nat, const char *name) {
  vmctr_network *n = isolated(nat);
  struct ctr t;
  up(&t, name, n, NULL, NULL,
     "ip -o link show lo | grep -q UP && echo lo-up; timeout 20 wget -q -O - http://10.0.2.2:18080/hello.txt");
  assert_int_equal(t.rc, 0);
  int passt = vmtest_children("passt", NULL, NULL, 0, false);
  assert_int_equal(finish(&t), 0);
  assert_string_equal(t.out.buf, "lo-up\nhello from the host\n");
  assert_string_equal(vmctr_container_network_address(t.c, 0), "10.0.2.15/24");
  if (nat == VMCTR_NETWORK_NAT_PASST)
    assert_int_equal(passt, 1);
  else
    assert_int_equal(passt, 0);
  down(&t);
  vmctr_network_free(n);
  assert_int_equal(vmtest_children("passt", NULL, NULL, 0, true), 0);
}

static void test_isolated_passt(void **state) {
  (void)state;
  isolated_fetch(VMCTR_NETWORK_NAT_PASST, "iso-passt");
}

static void test_isolated_user(void **state) {
  (void)state;
  isolated_fetch(VMCTR_NETWORK_NAT_USER, "iso-user");
}

static void publish(uint32_t nat, const char *name, int port) {
  vmctr_network *n = isolated(nat);
  char spec[64], got[256];
  snprintf(spec, sizeof(spec), "127.0.0.1:%d:8080", port);
  const char *ports[] = {spec, NULL};
  struct ctr t;
  up(&t, name, n, NULL, ports, "echo listening; echo from-the-guest | nc -l -p 8080");
  assert_int_equal(t.rc, 0);
  /* Connect once the guest listens: Debian 12's passt, reached before the
   * guest's listener exists, closed every later connection at once. */
  for (int i = 0; i < 600; i++) {
    pthread_mutex_lock(&t.out.lock);
    bool ready = strstr(t.out.buf, "listening") != NULL;
    pthread_mutex_unlock(&t.out.lock);
    if (ready)
      break;
    usleep(100 * 1000);
  }
  usleep(500 * 1000);
  assert_int_equal(fetch_port(port, got, sizeof(got)), 0);
  assert_string_equal(got, "from-the-guest\n");
  down(&t);
  vmctr_network_free(n);
}

static void test_publish_user(void **state) {
  (void)state;
  publish(VMCTR_NETWORK_NAT_USER, "pub-user", 18091);
}

/* Two isolated containers: each has the same private address, and neither
 * sees the other's server: B's 10.0.2.15 is B itself. */
static void test_isolated_pair(void **state) {
  (void)state;
  vmctr_network *n = isolated(VMCTR_NETWORK_NAT_AUTO);
  struct ctr a, b;
  up(&a, "iso-a", n, NULL, NULL, "mkdir -p /w && echo i-am-a > /w/x && httpd -f -p 80 -h /w");
  assert_int_equal(a.rc, 0);
  up(&b, "iso-b", n, NULL, NULL,
     "timeout 5 wget -q -O - http://10.0.2.15/x || echo no-a; timeout 5 wget -q -O - http://10.0.2.2:18080/hello.txt");
  assert_int_equal(b.rc, 0);
  assert_int_equal(finish(&b), 0);
  assert_null(strstr(b.out.buf, "i-am-a"));
  assert_non_null(strstr(b.out.buf, "no-a"));
  assert_non_null(strstr(b.out.buf, "hello from the host"));
  down(&b);
  down(&a);
  vmctr_network_free(n);
}

/* ---- shared ---- */

static void test_shared_pair(void **state) {
  (void)state;
  vmctr_network *n = stored("sn", VMCTR_NETWORK_SHARED, "10.88.0.0/24", NULL);
  struct ctr a, b;
  char out[512];
  const char *serve_self = "mkdir -p /w && hostname > /w/who && httpd -f -p 80 -h /w";
  up(&a, "sa", n, NULL, NULL, serve_self);
  assert_int_equal(a.rc, 0);
  up(&b, "sb", n, NULL, NULL, serve_self);
  assert_int_equal(b.rc, 0);
  assert_string_equal(vmctr_container_network_address(a.c, 0), "10.88.0.2/24");
  assert_string_equal(vmctr_container_network_address(b.c, 0), "10.88.0.3/24");
  /* B found A in its /etc/hosts at start; A finds B (who came later) on exec. */
  assert_int_equal(exec_in(&b, "timeout 20 wget -q -O - http://sa/who", out, sizeof(out)), 0);
  assert_string_equal(out, "sa\n");
  assert_int_equal(exec_in(&a, "timeout 20 wget -q -O - http://sb/who", out, sizeof(out)), 0);
  assert_string_equal(out, "sb\n");
  /* The outside, through the NAT. */
  assert_int_equal(exec_in(&a, "timeout 20 wget -q -O - http://172.31.99.2:18081/hello.txt", out,
                           sizeof(out)), 0);
  assert_string_equal(out, "hello from the host\n");
  down(&b);
  /* A is still there: the bridge stays; it goes with the last user. */
  assert_int_equal(links_with_prefix("vmbr-"), 1);
  down(&a);
  assert_int_equal(links_with_prefix("vmbr-"), 0);
  assert_int_equal(links_with_prefix("vmt"), 0);
  assert_int_equal(nft_tables_vmctr(), 0);
  vmctr_network_free(n);
}

static void test_shared_publish(void **state) {
  (void)state;
  vmctr_network *n = stored("sp", VMCTR_NETWORK_SHARED, "10.87.0.0/24", NULL);
  const char *ports[] = {"18092:8080", NULL};
  char got[256];
  struct ctr t;
  up(&t, "sp1", n, NULL, ports, "echo shared-guest | nc -l -p 8080");
  assert_int_equal(t.rc, 0);
  assert_int_equal(fetch_port(18092, got, sizeof(got)), 0);
  assert_string_equal(got, "shared-guest\n");
  down(&t);
  assert_int_equal(nft_tables_vmctr(), 0);
  vmctr_network_free(n);
}

/* ---- host-only ---- */

static void test_host_only(void **state) {
  (void)state;
  vmctr_network *n = stored("ho", VMCTR_NETWORK_HOST_ONLY, "10.89.0.0/24", NULL);
  struct ctr t;
  up(&t, "ho1", n, NULL, NULL,
     "mkdir -p /w && echo host-only-guest > /w/x && (httpd -f -p 80 -h /w &) ; "
     "timeout 5 wget -q -O - http://172.31.99.2:18081/hello.txt || echo peer-unreachable; "
     "echo peer-done; sleep 600");
  assert_int_equal(t.rc, 0);
  /* The host reaches the guest. */
  char cmd[200], got[256] = "";
  snprintf(cmd, sizeof(cmd), "busybox timeout 20 busybox wget -q -O - http://10.89.0.2/x");
  for (int i = 0; i < 60 && !strstr(got, "host-only-guest"); i++) {
    FILE *f = popen(cmd, "r");
    size_t k = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
    got[k] = '\0';
    if (f)
      pclose(f);
    if (!strstr(got, "host-only-guest"))
      sleep(1);
  }
  assert_non_null(strstr(got, "host-only-guest"));
  /* The guest reaches nothing beyond. */
  for (int i = 0; i < 60; i++) {
    pthread_mutex_lock(&t.out.lock);
    bool done = strstr(t.out.buf, "peer-done") != NULL;
    pthread_mutex_unlock(&t.out.lock);
    if (done)
      break;
    sleep(1);
  }
  assert_null(strstr(t.out.buf, "hello from the host"));
  assert_non_null(strstr(t.out.buf, "peer-unreachable"));
  down(&t);
  vmctr_network_free(n);
}

/* ---- bridged: a veth stands in for the host's NIC ---- */

static void test_bridged(void **state) {
  (void)state;
  const char *far = "vmctr-netvm-far";
  assert_int_equal(sh("ip netns add %s", far), 0);
  assert_int_equal(sh("ip link add vt-nic type veth peer name vt-far netns %s", far), 0);
  assert_int_equal(sh("ip link set vt-nic up && ip -n %s addr add 10.90.0.1/24 dev vt-far && "
                      "ip -n %s link set vt-far up", far, far), 0);
  serve(far, "10.90.0.1", 18082);
  vmctr_network *n = stored("br", VMCTR_NETWORK_BRIDGED, "10.90.0.0/24", "vt-nic");
  struct ctr t;
  up(&t, "br1", n, "10.90.0.50", NULL, "timeout 20 wget -q -O - http://10.90.0.1:18082/hello.txt");
  assert_int_equal(t.rc, 0);
  assert_int_equal(finish(&t), 0);
  assert_string_equal(t.out.buf, "hello from the host\n");
  assert_string_equal(vmctr_container_network_address(t.c, 0), "10.90.0.50/24");
  down(&t);
  vmctr_network_free(n);
  sh("ip netns pids %s | xargs -r kill", far);
  sh("ip netns del %s", far);
}

/* ---- address exhaustion ---- */

/* A /30 has two host addresses; the bridge holds the gateway, so one guest fits. */
static void test_exhaustion(void **state) {
  (void)state;
  vmctr_network *n = stored("tiny", VMCTR_NETWORK_SHARED, "10.86.0.0/30", NULL);
  struct ctr a, b, c;
  up(&a, "t1", n, NULL, NULL, "sleep 600");
  assert_int_equal(a.rc, 0);
  up(&b, "t2", n, NULL, NULL, "true");
  assert_int_equal(b.rc, VMCTR_ENOSPC);
  assert_non_null(strstr(vmctr_error_last()->message, "no free address"));
  assert_int_equal(vmtest_children("qemu-system", NULL, NULL, 0, false), 1);
  vmtest_rootfs_free(&b.root);
  down(&a);
  up(&c, "t3", n, NULL, NULL, "ip -o -4 addr show eth0 | awk '{print $4}'");
  assert_int_equal(c.rc, 0);
  assert_int_equal(finish(&c), 0);
  assert_string_equal(c.out.buf, "10.86.0.2/30\n");
  down(&c);
  vmctr_network_free(n);
}

/* ---- a crash in the middle of a run ---- */

static void test_crash_cleanup(void **state) {
  (void)state;
  vmctr_network *n = stored("crash", VMCTR_NETWORK_SHARED, "10.85.0.0/24", NULL);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    struct ctr t;
    up(&t, "doomed", n, NULL, NULL, "sleep 600");
    if (write(ready[1], t.rc == 0 ? "y" : "n", 1) != 1)
      _exit(2);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  assert_int_equal(c, 'y');
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  /* What the crash left: the bridge, the firewall, the lease. */
  assert_int_equal(links_with_prefix("vmbr-"), 1);
  /* The next run reclaims the lease (so it gets .2 again) and rebuilds; its stop removes all. */
  struct ctr t;
  up(&t, "after", n, NULL, NULL, "ip -o -4 addr show eth0 | awk '{print $4}'");
  assert_int_equal(t.rc, 0);
  assert_int_equal(finish(&t), 0);
  assert_string_equal(t.out.buf, "10.85.0.2/24\n");
  down(&t);
  assert_int_equal(links_with_prefix("vmbr-"), 0);
  assert_int_equal(links_with_prefix("vmt"), 0);
  assert_int_equal(nft_tables_vmctr(), 0);
  vmctr_network_free(n);
  char path[256];
  snprintf(path, sizeof(path), "%s/containers/doomed.ext4", F.dir);
  unlink(path);
}

/* ---- two networks: two interfaces, the default route on the first ---- */

static void test_two_networks(void **state) {
  (void)state;
  vmctr_network *iso = isolated(VMCTR_NETWORK_NAT_USER);
  vmctr_network *sh2 = stored("two", VMCTR_NETWORK_SHARED, "10.84.0.0/24", NULL);
  struct ctr t;
  memset(&t, 0, sizeof(t));
  vmtest_out_init(&t.out);
  assert_int_equal(vmtest_rootfs(&F, NULL, "two1", &t.root), 0);
  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  const char *argv[] = {"sh", "-c",
                        "ip -o -4 addr show | awk '$2 != \"lo\" {print $2, $4}'; ip route | grep ^default; "
                        "timeout 20 wget -q -O - http://10.0.2.2:18080/hello.txt"};
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &t.out, NULL), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  assert_int_equal(vmctr_container_config_add_network(cfg, iso, NULL, NULL), 0);
  assert_int_equal(vmctr_container_config_add_network(cfg, sh2, "10.84.0.7", NULL), 0);
  /* The same stored network twice is refused at once. */
  assert_int_equal(vmctr_container_config_add_network(cfg, sh2, NULL, NULL), VMCTR_EEXIST);
  assert_int_equal(vmctr_container_new(&t.c, "two1", t.root.mount, b, cfg), 0);
  assert_int_equal(vmctr_container_start(t.c), 0);
  assert_int_equal(finish(&t), 0);
  assert_int_equal(vmctr_container_network_count(t.c), 2);
  assert_string_equal(vmctr_container_network_address(t.c, 1), "10.84.0.7/24");
  assert_string_equal(t.out.buf, "eth0 10.0.2.15/24\neth1 10.84.0.7/24\n"
                                 "default via 10.0.2.2 dev eth0 \nhello from the host\n");
  vmctr_container_config_free(cfg);
  vmctr_process_config_free(p);
  vmctr_bootcfg_free(b);
  down(&t);
  assert_int_equal(links_with_prefix("vmbr-"), 0);
  vmctr_network_free(iso);
  vmctr_network_free(sh2);
}

/* ---- no network: loopback only, and it works ---- */

static void test_none_loopback(void **state) {
  (void)state;
  struct ctr t;
  up(&t, "none", NULL, NULL, NULL,
     "mkdir -p /w && echo via-lo > /w/x && (httpd -f -p 127.0.0.1:81 -h /w &); sleep 1; "
     "timeout 10 wget -q -O - http://127.0.0.1:81/x; ls /sys/class/net | grep -c ^eth; true");
  assert_int_equal(t.rc, 0);
  assert_int_equal(finish(&t), 0);
  assert_string_equal(t.out.buf, "via-lo\n0\n");
  assert_int_equal(vmctr_container_network_count(t.c), 0);
  down(&t);
}

int main(void) {
  if (geteuid() != 0) {
    printf("1..0 # SKIP needs root (network namespaces, bridges, taps)\n");
    return 0;
  }
  if (vmtest_setup(&F, "vmctr-netvm") < 0 || world_up() < 0) {
    printf("1..0 # SKIP cannot set up: see stderr\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_none_loopback),  cmocka_unit_test(test_isolated_passt),
      cmocka_unit_test(test_isolated_user),  cmocka_unit_test(test_publish_user),   cmocka_unit_test(test_isolated_pair),
      cmocka_unit_test(test_shared_pair),    cmocka_unit_test(test_shared_publish),
      cmocka_unit_test(test_host_only),      cmocka_unit_test(test_bridged),
      cmocka_unit_test(test_exhaustion),     cmocka_unit_test(test_crash_cleanup),
      cmocka_unit_test(test_two_networks),
  };
  /* NETVM_ONLY=test_name (a cmocka glob) runs a subset by hand. */
  if (getenv("NETVM_ONLY"))
    cmocka_set_test_filter(getenv("NETVM_ONLY"));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  world_down();
  vmtest_teardown(&F);
  return r;
}
