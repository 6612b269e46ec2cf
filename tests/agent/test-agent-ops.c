/* SPDX-License-Identifier: MIT */
/*
 * The typed agent operations (lib/agent/ops.h) against a scripted fake guest
 * on a socketpair: every request's bytes are compared with the field list
 * lib/guest reads (built here with the codec, in the order the container code
 * used), replies the real guest never sends are answered, and argument and
 * size errors are shown to send nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/ops.h"
#include "vmctr/error.h"

#define T 10000

typedef struct fake {
  int fd;
  uint32_t max_frame;
  pthread_t thread;
  pthread_mutex_t lock;
  unsigned nreq;
  uint8_t *last; /* the last REQUEST's payload */
  size_t last_len;
  uint8_t reply[256]; /* the payload every RESPONSE carries */
  size_t reply_len;
  vmctr__agent *a;
} fake;

static int read_full(int fd, void *p, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t k = read(fd, (uint8_t *)p + got, n - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    got += (size_t)k;
  }
  return 0;
}

static void send_frame(int fd, uint16_t type, uint32_t stream, const void *p, size_t n) {
  uint8_t *f;
  size_t fl;
  if (vmctr__agent_frame(type, 0, stream, p, n, &f, &fl) < 0)
    return;
  for (size_t off = 0; off < fl;) {
    ssize_t k = write(fd, f + off, fl - off);
    if (k <= 0 && errno != EINTR)
      break;
    if (k > 0)
      off += (size_t)k;
  }
  free(f);
}

/* The guest: HELLO, then answer every REQUEST with f->reply. */
static void *guest(void *arg) {
  fake *f = arg;
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAGIC, VMCTR_AGENT_MAGIC);
  vmctr__agent_put_u32(&b, VMCTR_AT_VERSION, VMCTR_AGENT_VERSION);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAX_FRAME, f->max_frame);
  vmctr__agent_put_u32(&b, VMCTR_AT_WINDOW, VMCTR_AGENT_DEFAULT_WINDOW);
  send_frame(f->fd, VMCTR_AF_HELLO, 0, b.data, b.len);
  vmctr__agent_buf_free(&b);
  for (;;) {
    uint8_t hdr[VMCTR_AGENT_HDR_SIZE];
    vmctr__agent_hdr h;
    if (read_full(f->fd, hdr, sizeof(hdr)) < 0 ||
        vmctr__agent_hdr_decode(hdr, VMCTR_AGENT_MAX_FRAME, &h) < 0)
      break;
    uint8_t *p = malloc(h.len ? h.len : 1);
    if (!p || read_full(f->fd, p, h.len) < 0) {
      free(p);
      break;
    }
    if (h.type != VMCTR_AF_REQUEST) {
      free(p);
      continue;
    }
    pthread_mutex_lock(&f->lock);
    free(f->last);
    f->last = p;
    f->last_len = h.len;
    f->nreq++;
    send_frame(f->fd, VMCTR_AF_RESPONSE, h.stream, f->reply, f->reply_len);
    pthread_mutex_unlock(&f->lock);
  }
  return NULL;
}

static fake *fake_open(uint32_t max_frame) {
  int sv[2];
  fake *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  f->fd = sv[1];
  f->max_frame = max_frame;
  pthread_mutex_init(&f->lock, NULL);
  assert_int_equal(pthread_create(&f->thread, NULL, guest, f), 0);
  assert_int_equal(vmctr__agent_connect(&f->a, sv[0], T), 0);
  return f;
}

static int setup(void **state) {
  *state = fake_open(VMCTR_AGENT_DEFAULT_FRAME);
  return 0;
}

static int teardown(void **state) {
  fake *f = *state;
  vmctr__agent_free(f->a); /* the guest thread sees EOF */
  pthread_join(f->thread, NULL);
  close(f->fd);
  pthread_mutex_destroy(&f->lock);
  free(f->last);
  free(f);
  return 0;
}

/* Set the RESPONSE payload: ERRNO 0 and the given u32/i32 fields (tag, value pairs, tag 0 ends). */
static void reply_with(fake *f, ...) {
  vmctr__agent_buf b;
  va_list ap;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, 0);
  va_start(ap, f);
  for (int tag; (tag = va_arg(ap, int)) != 0;)
    vmctr__agent_put_u32(&b, (uint16_t)tag, va_arg(ap, uint32_t));
  va_end(ap);
  pthread_mutex_lock(&f->lock);
  assert_true(b.len <= sizeof(f->reply));
  memcpy(f->reply, b.data, b.len);
  f->reply_len = b.len;
  pthread_mutex_unlock(&f->lock);
  vmctr__agent_buf_free(&b);
}

static unsigned nreq(fake *f) {
  pthread_mutex_lock(&f->lock);
  unsigned n = f->nreq;
  pthread_mutex_unlock(&f->lock);
  return n;
}

/* The last request is exactly `want` (freed). */
static void assert_sent(fake *f, vmctr__agent_buf *want) {
  pthread_mutex_lock(&f->lock);
  assert_int_equal(f->last_len, want->len);
  assert_memory_equal(f->last, want->data, want->len);
  pthread_mutex_unlock(&f->lock);
  vmctr__agent_buf_free(want);
}

static vmctr__agent_buf req(uint32_t op) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, op);
  return b;
}

static void test_fs_and_system_ops(void **state) {
  fake *f = *state;
  reply_with(f, 0);

  vmctr__agent_mount_args m = {.source = "vmctr-blk:disk0", .target = "/run/vmctr/m0",
                               .fstype = "ext4", .flags = 1 /* MS_RDONLY */,
                               .data = "noload", .mkdir = true};
  assert_int_equal(vmctr__agent_mount(f->a, &m, T), 0);
  vmctr__agent_buf w = req(VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&w, VMCTR_AT_SOURCE, "vmctr-blk:disk0");
  vmctr__agent_put_str(&w, VMCTR_AT_TARGET, "/run/vmctr/m0");
  vmctr__agent_put_str(&w, VMCTR_AT_FSTYPE, "ext4");
  vmctr__agent_put_u64(&w, VMCTR_AT_MOUNT_FLAGS, 1);
  vmctr__agent_put_str(&w, VMCTR_AT_MOUNT_DATA, "noload");
  vmctr__agent_put_u32(&w, VMCTR_AT_MKDIR, 1);
  assert_sent(f, &w);

  /* A bind mount: no type, no options, no mkdir. */
  m = (vmctr__agent_mount_args){.source = "/a", .target = "/b", .flags = 4096};
  assert_int_equal(vmctr__agent_mount(f->a, &m, T), 0);
  w = req(VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&w, VMCTR_AT_SOURCE, "/a");
  vmctr__agent_put_str(&w, VMCTR_AT_TARGET, "/b");
  vmctr__agent_put_u64(&w, VMCTR_AT_MOUNT_FLAGS, 4096);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_mkdir(f->a, "/x/y", 0700, T), 0);
  w = req(VMCTR_AOP_MKDIR);
  vmctr__agent_put_str(&w, VMCTR_AT_PATH, "/x/y");
  vmctr__agent_put_u32(&w, VMCTR_AT_MODE, 0700);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_write_file(f->a, "/etc/hosts", "127.0.0.1 x\n", 12, 0644, 0, T), 0);
  w = req(VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&w, VMCTR_AT_PATH, "/etc/hosts");
  vmctr__agent_put_u32(&w, VMCTR_AT_MODE, 0644);
  vmctr__agent_put_bytes(&w, VMCTR_AT_CONTENT, "127.0.0.1 x\n", 12);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_write_file(f->a, "/proc/sys/net/ipv4/ip_forward", "1", 1, 0644,
                                           VMCTR__AGENT_WRITE_IN_PLACE, T), 0);
  w = req(VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&w, VMCTR_AT_PATH, "/proc/sys/net/ipv4/ip_forward");
  vmctr__agent_put_u32(&w, VMCTR_AT_MODE, 0644);
  vmctr__agent_put_u32(&w, VMCTR_AT_IN_PLACE, 1);
  vmctr__agent_put_bytes(&w, VMCTR_AT_CONTENT, "1", 1);
  assert_sent(f, &w);

  /* Empty content is a CONTENT field of length 0. */
  assert_int_equal(vmctr__agent_write_file(f->a, "/empty", NULL, 0, 0600, 0, T), 0);
  w = req(VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&w, VMCTR_AT_PATH, "/empty");
  vmctr__agent_put_u32(&w, VMCTR_AT_MODE, 0600);
  vmctr__agent_put_bytes(&w, VMCTR_AT_CONTENT, NULL, 0);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_set_time(f->a, 1700000000123456789ull, T), 0);
  w = req(VMCTR_AOP_SET_TIME);
  vmctr__agent_put_u64(&w, VMCTR_AT_TIME_NS, 1700000000123456789ull);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_set_hostname(f->a, "box", T), 0);
  w = req(VMCTR_AOP_SET_HOSTNAME);
  vmctr__agent_put_str(&w, VMCTR_AT_NAME, "box");
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_ping(f->a, T), 0);
  w = req(VMCTR_AOP_PING);
  assert_sent(f, &w);
  assert_int_equal(vmctr__agent_poweroff(f->a, NULL, 0, T), 0);
  w = req(VMCTR_AOP_POWEROFF);
  assert_sent(f, &w);
  /* Ephemeral disks, by serial, one field each. */
  const char *eph[] = {"vmctr-mnt0", "vmctr-mnt3"};
  assert_int_equal(vmctr__agent_poweroff(f->a, eph, 2, T), 0);
  w = req(VMCTR_AOP_POWEROFF);
  vmctr__agent_put_str(&w, VMCTR_AT_EPHEMERAL, "vmctr-mnt0");
  vmctr__agent_put_str(&w, VMCTR_AT_EPHEMERAL, "vmctr-mnt3");
  assert_sent(f, &w);
  assert_int_equal(nreq(f), 11);
}

static void expect_inval(int r);

static void put_route(vmctr__agent_buf *w, uint32_t dst, uint32_t prefix, uint32_t via) {
  uint8_t v[12];
  vmctr__agent_put_le32(v, dst);
  vmctr__agent_put_le32(v + 4, prefix);
  vmctr__agent_put_le32(v + 8, via);
  vmctr__agent_put_bytes(w, VMCTR_AT_ROUTE4, v, sizeof(v));
}

static void test_config_iface(void **state) {
  fake *f = *state;
  reply_with(f, 0);
  static const uint8_t mac[6] = {0x02, 0x56, 0x4d, 0, 0, 1};
  const vmctr__net_route routes[] = {{0xc0a83200, 24, 0x0a000203}, {0xac100000, 16, 0}};
  vmctr__net_guest_if ifc = {.mtu = 1400, .addr = 0x0a00020f, .prefix = 24,
                             .gateway = 0x0a000202, .routes = routes, .nroutes = 2};
  memcpy(ifc.mac, mac, 6);
  assert_int_equal(vmctr__agent_config_iface(f->a, &ifc, T), 0);
  vmctr__agent_buf w = req(VMCTR_AOP_CONFIG_IFACE);
  vmctr__agent_put_bytes(&w, VMCTR_AT_MAC, mac, 6);
  vmctr__agent_put_u32(&w, VMCTR_AT_MTU, 1400);
  vmctr__agent_put_u32(&w, VMCTR_AT_ADDR4, 0x0a00020f);
  vmctr__agent_put_u32(&w, VMCTR_AT_PREFIX, 24);
  vmctr__agent_put_u32(&w, VMCTR_AT_GATEWAY4, 0x0a000202);
  put_route(&w, 0xc0a83200, 24, 0x0a000203);
  put_route(&w, 0xac100000, 16, 0);
  assert_sent(f, &w);

  /* Link up only: just the MAC. */
  vmctr__net_guest_if up = {0};
  memcpy(up.mac, mac, 6);
  assert_int_equal(vmctr__agent_config_iface(f->a, &up, T), 0);
  w = req(VMCTR_AOP_CONFIG_IFACE);
  vmctr__agent_put_bytes(&w, VMCTR_AT_MAC, mac, 6);
  assert_sent(f, &w);

  /* Bad arguments send nothing. */
  unsigned before = nreq(f);
  vmctr__net_guest_if bad = ifc;
  bad.prefix = 33;
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  bad = ifc;
  bad.addr = 0; /* a prefix without an address */
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  bad = ifc;
  bad.mtu = 65536;
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  bad = ifc;
  bad.gateway = 0xe0000001;
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  bad = ifc;
  memset(bad.mac, 0, 6);
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  bad = ifc;
  bad.nroutes = VMCTR__NET_MAX_ROUTES + 1;
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  bad = ifc;
  bad.routes = NULL;
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  const vmctr__net_route host_bits[] = {{0xc0a83201, 24, 0}};
  bad = ifc;
  bad.routes = host_bits;
  bad.nroutes = 1;
  expect_inval(vmctr__agent_config_iface(f->a, &bad, T));
  expect_inval(vmctr__agent_config_iface(f->a, NULL, T));
  expect_inval(vmctr__agent_config_iface(NULL, &ifc, T));
  assert_int_equal(nreq(f), before);
}

static void test_process_ops(void **state) {
  fake *f = *state;
  reply_with(f, 0);
  assert_int_equal(vmctr__agent_signal(f->a, 77, 15, T), 0);
  vmctr__agent_buf w = req(VMCTR_AOP_SIGNAL);
  vmctr__agent_put_u32(&w, VMCTR_AT_PID, 77);
  vmctr__agent_put_u32(&w, VMCTR_AT_SIGNO, 15);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_resize(f->a, 77, 50, 132, T), 0);
  w = req(VMCTR_AOP_RESIZE);
  vmctr__agent_put_u32(&w, VMCTR_AT_PID, 77);
  vmctr__agent_put_u32(&w, VMCTR_AT_ROWS, 50);
  vmctr__agent_put_u32(&w, VMCTR_AT_COLS, 132);
  assert_sent(f, &w);

  assert_int_equal(vmctr__agent_close_stdin(f->a, 77, T), 0);
  w = req(VMCTR_AOP_CLOSE_STDIN);
  vmctr__agent_put_u32(&w, VMCTR_AT_PID, 77);
  assert_sent(f, &w);

  uint32_t id;
  int32_t code = 99, sig = 99;
  reply_with(f, VMCTR_AT_EXIT_CODE, 3, 0);
  assert_int_equal(vmctr__agent_wait_begin(f->a, 77, &id), 0);
  assert_int_not_equal(id, 0);
  assert_int_equal(vmctr__agent_wait_end(f->a, id, T, &code, &sig), 0);
  assert_int_equal(code, 3);
  assert_int_equal(sig, -1);
  w = req(VMCTR_AOP_WAIT);
  vmctr__agent_put_u32(&w, VMCTR_AT_PID, 77);
  assert_sent(f, &w);
  /* The id is consumed. */
  assert_int_equal(vmctr__agent_wait_end(f->a, id, T, &code, &sig), VMCTR_ENOENT);
}

static void test_spawn_encoding(void **state) {
  fake *f = *state;
  reply_with(f, VMCTR_AT_PID, 1234, 0);
  char *argv[] = {"/bin/sh", "-c", "echo hi", NULL}, *env[] = {"PATH=/bin", "A=b", NULL};
  uint32_t gids[] = {10, 20};
  vmctr__agent_rlimit rl[] = {{7, 1024, 4096}, {0x01020304u, 0x1112131415161718ull, UINT64_MAX}};
  vmctr__agent_spawn_args s = {
    .argv = argv, .env = env, .cwd = "/work", .uid = 1000, .gid = 1001, .gids = gids, .ngids = 2,
    .stdin_stream = 1, .stdout_stream = 2, .stderr_stream = 3, .pty = true, .rows = 24, .cols = 80,
    .rlimits = rl, .nrlimits = 2, .no_new_privs = true, .root = "/run/vmctr/rootfs",
    .namespaces = VMCTR__AGENT_NS_MOUNT | VMCTR__AGENT_NS_UTS | VMCTR__AGENT_NS_IPC |
                  VMCTR__AGENT_NS_PID | VMCTR__AGENT_NS_CGROUP,
    .hostname = "ctr", .cgroup = "vmctr/abc", .memory_max = 1ull << 30, .cpu_max = "150000 100000",
  };
  uint32_t pid = 0;
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), 0);
  assert_int_equal(pid, 1234);

  /* process.c's order, then container.c's placement for an init. */
  vmctr__agent_buf w = req(VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "/bin/sh");
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "-c");
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "echo hi");
  vmctr__agent_put_str(&w, VMCTR_AT_ENV, "PATH=/bin");
  vmctr__agent_put_str(&w, VMCTR_AT_ENV, "A=b");
  vmctr__agent_put_str(&w, VMCTR_AT_CWD, "/work");
  vmctr__agent_put_u32(&w, VMCTR_AT_UID, 1000);
  vmctr__agent_put_u32(&w, VMCTR_AT_GID, 1001);
  vmctr__agent_put_u32(&w, VMCTR_AT_GIDS, 10);
  vmctr__agent_put_u32(&w, VMCTR_AT_GIDS, 20);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDIN, 1);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDOUT, 2);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDERR, 3);
  vmctr__agent_put_u32(&w, VMCTR_AT_PTY, 1);
  vmctr__agent_put_u32(&w, VMCTR_AT_ROWS, 24);
  vmctr__agent_put_u32(&w, VMCTR_AT_COLS, 80);
  static const uint8_t rl0[20] = {7, 0, 0, 0, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0};
  static const uint8_t rl1[20] = {4, 3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  vmctr__agent_put_bytes(&w, VMCTR_AT_RLIMIT, rl0, 20);
  vmctr__agent_put_bytes(&w, VMCTR_AT_RLIMIT, rl1, 20);
  vmctr__agent_put_u32(&w, VMCTR_AT_NO_NEW_PRIVS, 1);
  vmctr__agent_put_str(&w, VMCTR_AT_ROOT, "/run/vmctr/rootfs");
  vmctr__agent_put_u32(&w, VMCTR_AT_NAMESPACES, 0x2e020000u);
  vmctr__agent_put_str(&w, VMCTR_AT_HOSTNAME, "ctr");
  vmctr__agent_put_str(&w, VMCTR_AT_CGROUP, "vmctr/abc");
  vmctr__agent_put_u64(&w, VMCTR_AT_MEMORY_MAX, 1ull << 30);
  vmctr__agent_put_str(&w, VMCTR_AT_CPU_MAX, "150000 100000");
  assert_sent(f, &w);

  /* An exec: no env, no cwd, no pty; it joins a process. */
  char *argv2[] = {"ls", NULL};
  s = (vmctr__agent_spawn_args){.argv = argv2, .stdout_stream = 5, .join_pid = 1234};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), 0);
  w = req(VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "ls");
  vmctr__agent_put_u32(&w, VMCTR_AT_UID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_GID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDIN, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDOUT, 5);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDERR, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_JOIN_PID, 1234);
  assert_sent(f, &w);

  /* Confinement fields: CAPS u64, SECCOMP u32, RELAX only when set. */
  s = (vmctr__agent_spawn_args){.argv = argv2, .join_pid = 1234, .has_security = true,
                                .caps = VMCTR_AGENT_CAPS_DEFAULT, .seccomp = VMCTR_ASECCOMP_DEFAULT};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), 0);
  w = req(VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "ls");
  vmctr__agent_put_u32(&w, VMCTR_AT_UID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_GID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDIN, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDOUT, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDERR, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_JOIN_PID, 1234);
  vmctr__agent_put_u64(&w, VMCTR_AT_CAPS, 0xa00425fbull);
  vmctr__agent_put_u32(&w, VMCTR_AT_SECCOMP, 1);
  assert_sent(f, &w);

  s = (vmctr__agent_spawn_args){.argv = argv2, .root = "/r", .has_security = true,
                                .caps = VMCTR_AGENT_CAPS_ALL, .relax = VMCTR_ARELAX_ALL};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), 0);
  w = req(VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "ls");
  vmctr__agent_put_u32(&w, VMCTR_AT_UID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_GID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDIN, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDOUT, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDERR, 0);
  vmctr__agent_put_str(&w, VMCTR_AT_ROOT, "/r");
  vmctr__agent_put_u64(&w, VMCTR_AT_CAPS, 0x1ffffffffffull);
  vmctr__agent_put_u32(&w, VMCTR_AT_SECCOMP, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_RELAX, 3);
  assert_sent(f, &w);

  /* Bad confinement is refused before anything is sent. */
  s = (vmctr__agent_spawn_args){.argv = argv2, .has_security = true}; /* no container */
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  s = (vmctr__agent_spawn_args){.argv = argv2, .join_pid = 1, .has_security = true, .caps = 1ull << 41};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  s = (vmctr__agent_spawn_args){.argv = argv2, .join_pid = 1, .has_security = true, .seccomp = 2};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  s = (vmctr__agent_spawn_args){.argv = argv2, .join_pid = 1, .has_security = true, .relax = 1};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);

  /* Masked and read-only paths: PATHS, then each list; an empty list with
   * its flag replaces the defaults with none. */
  char *masked[] = {"/proc/kcore", "/etc/secret", NULL}, *ro[] = {NULL};
  s = (vmctr__agent_spawn_args){.argv = argv2, .root = "/r", .paths = VMCTR_APATHS_ALL,
                                .masked = masked, .nmasked = 2, .readonly = ro, .nreadonly = 0};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), 0);
  w = req(VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&w, VMCTR_AT_ARGV, "ls");
  vmctr__agent_put_u32(&w, VMCTR_AT_UID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_GID, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDIN, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDOUT, 0);
  vmctr__agent_put_u32(&w, VMCTR_AT_STDERR, 0);
  vmctr__agent_put_str(&w, VMCTR_AT_ROOT, "/r");
  vmctr__agent_put_u32(&w, VMCTR_AT_PATHS, 3);
  vmctr__agent_put_str(&w, VMCTR_AT_MASKED, "/proc/kcore");
  vmctr__agent_put_str(&w, VMCTR_AT_MASKED, "/etc/secret");
  assert_sent(f, &w);
  /* Refused before sending: no container, a list without its flag, unknown
   * flags, a path that is not absolute and normalized. */
  s = (vmctr__agent_spawn_args){.argv = argv2, .join_pid = 1, .paths = VMCTR_APATHS_MASKED};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  s = (vmctr__agent_spawn_args){.argv = argv2, .root = "/r", .paths = VMCTR_APATHS_READONLY,
                                .masked = masked, .nmasked = 1};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  s = (vmctr__agent_spawn_args){.argv = argv2, .root = "/r", .paths = 4};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  char *badp[] = {"/proc/../etc", NULL};
  s = (vmctr__agent_spawn_args){.argv = argv2, .root = "/r", .paths = VMCTR_APATHS_MASKED,
                                .masked = badp, .nmasked = 1};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EINVAL);
  s.nmasked = VMCTR_AGENT_MAX_PATHS + 1;
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_ETOOBIG);

  /* A file share's MOUNT names the share's entry. */
  vmctr__agent_mount_args fm = {.source = "vmctr-fs2", .target = "/etc/hosts", .fstype = "virtiofs",
                                .flags = 1, .root = "/run/vmctr/rootfs", .file = "file"};
  assert_int_equal(vmctr__agent_mount(f->a, &fm, T), 0);
  w = req(VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&w, VMCTR_AT_SOURCE, "vmctr-fs2");
  vmctr__agent_put_str(&w, VMCTR_AT_TARGET, "/etc/hosts");
  vmctr__agent_put_str(&w, VMCTR_AT_FSTYPE, "virtiofs");
  vmctr__agent_put_u64(&w, VMCTR_AT_MOUNT_FLAGS, 1);
  vmctr__agent_put_str(&w, VMCTR_AT_ROOT, "/run/vmctr/rootfs");
  vmctr__agent_put_str(&w, VMCTR_AT_SHARE_FILE, "file");
  assert_sent(f, &w);
  fm.file = "a/b";
  assert_int_equal(vmctr__agent_mount(f->a, &fm, T), VMCTR_EINVAL);
  fm.file = "..";
  assert_int_equal(vmctr__agent_mount(f->a, &fm, T), VMCTR_EINVAL);

  /* MOUNT and WRITE_FILE inside a root. */
  vmctr__agent_mount_args m = {.source = "/a", .target = "/data", .root = "/run/vmctr/rootfs"};
  assert_int_equal(vmctr__agent_mount(f->a, &m, T), 0);
  w = req(VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&w, VMCTR_AT_SOURCE, "/a");
  vmctr__agent_put_str(&w, VMCTR_AT_TARGET, "/data");
  vmctr__agent_put_u64(&w, VMCTR_AT_MOUNT_FLAGS, 0);
  vmctr__agent_put_str(&w, VMCTR_AT_ROOT, "/run/vmctr/rootfs");
  assert_sent(f, &w);
  assert_int_equal(vmctr__agent_write_file_in(f->a, "/run/vmctr/rootfs", "/etc/hosts", "x", 1, 0644, T), 0);
  w = req(VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&w, VMCTR_AT_PATH, "/etc/hosts");
  vmctr__agent_put_u32(&w, VMCTR_AT_MODE, 0644);
  vmctr__agent_put_str(&w, VMCTR_AT_ROOT, "/run/vmctr/rootfs");
  vmctr__agent_put_bytes(&w, VMCTR_AT_CONTENT, "x", 1);
  assert_sent(f, &w);
  assert_int_equal(vmctr__agent_write_file_in(f->a, "relative", "/etc/hosts", "x", 1, 0644, T),
                   VMCTR_EINVAL);
}

/* Replies the real guest does not send are protocol errors, not successes. */
static void test_bad_replies(void **state) {
  fake *f = *state;
  char *argv[] = {"true", NULL};
  vmctr__agent_spawn_args s = {.argv = argv};
  uint32_t pid = 55, id;
  int32_t code = 99, sig = 99;

  reply_with(f, 0);
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EPROTO);
  reply_with(f, VMCTR_AT_PID, 0, 0);
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_EPROTO);
  assert_int_equal(pid, 55); /* untouched on failure */

  static const struct { int tag1; uint32_t v1; int tag2; uint32_t v2; } bad[] = {
    {0, 0, 0, 0},                                         /* neither */
    {VMCTR_AT_EXIT_CODE, 256, 0, 0},
    {VMCTR_AT_EXIT_CODE, (uint32_t)-1, 0, 0},
    {VMCTR_AT_TERM_SIGNAL, 0, 0, 0},
    {VMCTR_AT_TERM_SIGNAL, 65, 0, 0},
    {VMCTR_AT_EXIT_CODE, 0, VMCTR_AT_TERM_SIGNAL, 9},     /* both */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    reply_with(f, bad[i].tag1, bad[i].v1, bad[i].tag2, bad[i].v2, 0);
    assert_int_equal(vmctr__agent_wait_begin(f->a, 5, &id), 0);
    assert_int_equal(vmctr__agent_wait_end(f->a, id, T, &code, &sig), VMCTR_EPROTO);
    assert_int_equal(code, 99);
  }
  reply_with(f, VMCTR_AT_TERM_SIGNAL, 9, 0);
  assert_int_equal(vmctr__agent_wait_begin(f->a, 5, &id), 0);
  assert_int_equal(vmctr__agent_wait_end(f->a, id, T, &code, &sig), 0);
  assert_int_equal(code, -1);
  assert_int_equal(sig, 9);

  /* A guest error keeps its code and message. */
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, 2);
  vmctr__agent_put_str(&b, VMCTR_AT_MESSAGE, "/x: No such file or directory");
  pthread_mutex_lock(&f->lock);
  memcpy(f->reply, b.data, b.len);
  f->reply_len = b.len;
  pthread_mutex_unlock(&f->lock);
  vmctr__agent_buf_free(&b);
  assert_int_equal(vmctr__agent_write_file(f->a, "/x", "a", 1, 0644, 0, T), VMCTR_ENOENT);
  assert_string_equal(vmctr_error_last()->message, "guest: /x: No such file or directory");
}

static void expect_inval(int r) {
  assert_int_equal(r, VMCTR_EINVAL);
  assert_true(vmctr_error_last()->message[0] != '\0');
}

static void test_bad_arguments_not_sent(void **state) {
  fake *f = *state;
  reply_with(f, VMCTR_AT_PID, 1, 0);
  unsigned before = nreq(f);
  uint32_t pid, id;
  int32_t c, s;
  char *argv[] = {"sh", NULL}, *empty[] = {NULL};

  vmctr__agent_spawn_args sp = {.argv = empty};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp.argv = NULL;
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .root = "/r", .join_pid = 3};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .root = "r"};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .namespaces = VMCTR__AGENT_NS_PID};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .root = "/r", .namespaces = 1};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .hostname = "h"};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .root = "/r", .hostname = "h",
                                 .namespaces = VMCTR__AGENT_NS_MOUNT};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .cwd = "tmp"};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .ngids = 1};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .nrlimits = 1};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .pty = true};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv, .pty = true, .stdout_stream = 1, .rows = 70000};
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, &pid));
  sp = (vmctr__agent_spawn_args){.argv = argv};
  expect_inval(vmctr__agent_spawn(NULL, &sp, T, &pid));
  expect_inval(vmctr__agent_spawn(f->a, NULL, T, &pid));
  expect_inval(vmctr__agent_spawn(f->a, &sp, T, NULL));

  expect_inval(vmctr__agent_signal(f->a, 5, 0, T));
  expect_inval(vmctr__agent_signal(f->a, 5, 65, T));
  expect_inval(vmctr__agent_signal(f->a, 0, 9, T));
  expect_inval(vmctr__agent_resize(f->a, 5, 0, 80, T));
  expect_inval(vmctr__agent_resize(f->a, 5, 24, 0, T));
  expect_inval(vmctr__agent_resize(f->a, 5, 65536, 80, T));
  expect_inval(vmctr__agent_resize(f->a, 5, 24, 65536, T));
  expect_inval(vmctr__agent_close_stdin(f->a, 0, T));
  expect_inval(vmctr__agent_wait_begin(f->a, 0, &id));
  expect_inval(vmctr__agent_wait_begin(f->a, 5, NULL));
  expect_inval(vmctr__agent_wait_end(f->a, 0, T, &c, &s));

  vmctr__agent_mount_args m = {.source = "a", .target = "relative"};
  expect_inval(vmctr__agent_mount(f->a, &m, T));
  m = (vmctr__agent_mount_args){.target = "/t"};
  expect_inval(vmctr__agent_mount(f->a, &m, T));
  expect_inval(vmctr__agent_mount(f->a, NULL, T));
  expect_inval(vmctr__agent_mkdir(f->a, "rel", 0755, T));
  expect_inval(vmctr__agent_mkdir(f->a, NULL, 0755, T));
  expect_inval(vmctr__agent_mkdir(f->a, "/d", 010000, T));
  expect_inval(vmctr__agent_write_file(f->a, "rel", "x", 1, 0644, 0, T));
  expect_inval(vmctr__agent_write_file(f->a, "/f", NULL, 1, 0644, 0, T));
  expect_inval(vmctr__agent_write_file(f->a, "/f", "x", 1, 0644, 2, T));
  expect_inval(vmctr__agent_set_hostname(f->a, "", T));
  expect_inval(vmctr__agent_set_hostname(f->a, NULL, T));
  char longname[66];
  memset(longname, 'h', 65);
  longname[65] = '\0';
  expect_inval(vmctr__agent_set_hostname(f->a, longname, T));
  expect_inval(vmctr__agent_ping(NULL, T));
  expect_inval(vmctr__agent_poweroff(NULL, NULL, 0, T));
  {
    const char *empty[] = {""}, *long_[] = {"a-serial-of-21-bytes!"};
    expect_inval(vmctr__agent_poweroff(f->a, empty, 1, T));
    expect_inval(vmctr__agent_poweroff(f->a, long_, 1, T));
  }
  expect_inval(vmctr__agent_set_time(NULL, 1, T));
  vmctr__agent_wait_cancel(NULL, 1); /* a no-op */

  /* Requests go out in order: the ping is the only one the guest saw. */
  assert_int_equal(vmctr__agent_ping(f->a, T), 0);
  assert_int_equal(nreq(f), before + 1);
}

static void test_too_big_not_sent(void **state) {
  fake *f = *state; /* the guest accepts VMCTR_AGENT_DEFAULT_FRAME */
  reply_with(f, VMCTR_AT_PID, 1, 0);
  unsigned before = nreq(f);
  uint32_t pid;
  char *big = malloc(40001);
  assert_non_null(big);
  memset(big, 'v', 40000);
  big[40000] = '\0';
  memcpy(big, "V=", 2);
  char *argv[] = {"sh", NULL}, *env[] = {big, big, NULL};
  vmctr__agent_spawn_args s = {.argv = argv, .env = env};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_ETOOBIG);
  assert_non_null(strstr(vmctr_error_last()->message,
                         "arguments plus environment must fit in 65536 bytes"));

  assert_int_equal(vmctr__agent_write_file(f->a, "/f", big, 40000, 0644, 0, T), 0); /* fits */
  before++;
  char *huge = calloc(1, VMCTR_AGENT_MAX_FILE + 1);
  assert_non_null(huge);
  assert_int_equal(vmctr__agent_write_file(f->a, "/f", huge, 70000, 0644, 0, T), VMCTR_ETOOBIG);
  assert_non_null(strstr(vmctr_error_last()->message, "content plus path must fit in 65536 bytes"));
  assert_int_equal(vmctr__agent_write_file(f->a, "/f", huge, VMCTR_AGENT_MAX_FILE + 1, 0644, 0, T),
                   VMCTR_ETOOBIG);

  /* Strings and lists above the protocol's limits, whatever the frame. */
  char *longstr = malloc(VMCTR_AGENT_MAX_STRING + 2);
  assert_non_null(longstr);
  memset(longstr, 'a', VMCTR_AGENT_MAX_STRING + 1);
  longstr[0] = '/';
  longstr[VMCTR_AGENT_MAX_STRING + 1] = '\0';
  char *argv2[] = {longstr, NULL};
  s = (vmctr__agent_spawn_args){.argv = argv2};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_ETOOBIG);
  assert_int_equal(vmctr__agent_mkdir(f->a, longstr, 0755, T), VMCTR_ETOOBIG);
  char **many = calloc(VMCTR_AGENT_MAX_LIST + 2, sizeof(char *));
  assert_non_null(many);
  for (size_t i = 0; i <= VMCTR_AGENT_MAX_LIST; i++)
    many[i] = "x";
  s = (vmctr__agent_spawn_args){.argv = many};
  assert_int_equal(vmctr__agent_spawn(f->a, &s, T, &pid), VMCTR_ETOOBIG);
  assert_non_null(strstr(vmctr_error_last()->message, "more than 4096 arguments"));

  assert_int_equal(vmctr__agent_ping(f->a, T), 0);
  assert_int_equal(nreq(f), before + 1);
  free(many);
  free(longstr);
  free(huge);
  free(big);
}

/* With a guest that takes 1 MiB frames, the limit follows the guest. */
static void test_limit_follows_guest(void **state) {
  (void)state;
  fake *f = fake_open(VMCTR_AGENT_MAX_FRAME);
  void *st = f;
  reply_with(f, 0);
  char *data = calloc(1, 300000);
  assert_non_null(data);
  assert_int_equal(vmctr__agent_write_file(f->a, "/f", data, 300000, 0644, 0, T), 0);
  pthread_mutex_lock(&f->lock);
  assert_true(f->last_len > 300000);
  pthread_mutex_unlock(&f->lock);
  free(data);
  teardown(&st);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_fs_and_system_ops, setup, teardown),
    cmocka_unit_test_setup_teardown(test_process_ops, setup, teardown),
    cmocka_unit_test_setup_teardown(test_config_iface, setup, teardown),
    cmocka_unit_test_setup_teardown(test_spawn_encoding, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_arguments_not_sent, setup, teardown),
    cmocka_unit_test_setup_teardown(test_too_big_not_sent, setup, teardown),
    cmocka_unit_test(test_limit_follows_guest),
  };
  return cmocka_run_group_tests_name("agent-ops", tests, NULL, NULL);
}
