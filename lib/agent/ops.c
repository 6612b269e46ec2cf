/* SPDX-License-Identifier: MIT */
/* Typed agent operations (see ops.h): the field lists of doc/protocol.md,
 * in the order and encoding lib/guest reads them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ops.h"
#include "client-priv.h"
#include "core/error.h"

#define SIGNO_MAX 64u
#define TERM_MAX 0xffffu
#define HOSTNAME_MAX 64u
#define NS_ALLOWED                                                                         \
  (VMCTR__AGENT_NS_MOUNT | VMCTR__AGENT_NS_CGROUP | VMCTR__AGENT_NS_UTS | VMCTR__AGENT_NS_IPC | \
   VMCTR__AGENT_NS_PID | VMCTR__AGENT_NS_NET)

/* The largest REQUEST payload the guest accepts; fixed at the handshake. */
static uint32_t frame_limit(vmctr__agent *a) {
  pthread_mutex_lock(&a->lock);
  uint32_t n = a->peer_frame;
  pthread_mutex_unlock(&a->lock);
  return n;
}

/* Check b against the frame limit; what names the parts that must fit. */
static int finish(vmctr__agent *a, const vmctr__agent_buf *b, const char *op, const char *what) {
  uint32_t limit = frame_limit(a);
  int r = vmctr__agent_buf_finish(b, limit);
  if (r == -ENOMEM)
    return vmctr__err_nomem();
  if (r < 0)
    return vmctr__err(VMCTR_ETOOBIG, 0, "the %s request is too large to send: %s must fit in %u bytes",
                      op, what, limit);
  return 0;
}

/* Send b (freed on every path) and wait for its reply: *rep if rep, else dropped. */
static int call(vmctr__agent *a, vmctr__agent_buf *b, int timeout_ms, const char *op,
                const char *what, vmctr__agent_reply **rep) {
  vmctr__agent_reply *reply = NULL;
  int r = finish(a, b, op, what);
  if (r == 0)
    r = vmctr__agent_request(a, b, timeout_ms, &reply);
  vmctr__agent_buf_free(b);
  if (r == 0 && rep)
    *rep = reply;
  else
    vmctr__agent_reply_free(reply);
  return r;
}

static int op_only(vmctr__agent *a, uint32_t op, const char *name, int timeout_ms) {
  vmctr__agent_buf b;
  if (!a)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_%s: a is NULL", name);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, op);
  return call(a, &b, timeout_ms, name, "the request", NULL);
}

/* A string field the guest can read back: at most VMCTR_AGENT_MAX_STRING bytes. */
static int check_str(const char *s, const char *fn, const char *what) {
  if (s && strlen(s) > VMCTR_AGENT_MAX_STRING)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %s is longer than %u bytes", fn, what,
                      VMCTR_AGENT_MAX_STRING);
  return 0;
}

static int check_path(const char *path, const char *fn, const char *what) {
  if (!path || path[0] != '/')
    return vmctr__err(VMCTR_EINVAL, 0, "%s: %s must be an absolute path", fn, what);
  return check_str(path, fn, what);
}

int vmctr__agent_mount(vmctr__agent *a, const vmctr__agent_mount_args *m, int timeout_ms) {
  static const char fn[] = "vmctr__agent_mount";
  int r;
  if (!a || !m || !m->source)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a, m and m->source must be set", fn);
  if ((r = check_path(m->target, fn, "the target")) < 0 ||
      (r = check_str(m->source, fn, "the source")) < 0 ||
      (r = check_str(m->fstype, fn, "the file system type")) < 0 ||
      (r = check_str(m->data, fn, "the mount options")) < 0 ||
      (m->root && (r = check_path(m->root, fn, "the root")) < 0))
    return r;
  if (m->file && (!m->file[0] || strchr(m->file, '/') || strlen(m->file) > 255 ||
                  strcmp(m->file, ".") == 0 || strcmp(m->file, "..") == 0))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the share's file must be one path component", fn);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&b, VMCTR_AT_SOURCE, m->source);
  vmctr__agent_put_str(&b, VMCTR_AT_TARGET, m->target);
  if (m->fstype)
    vmctr__agent_put_str(&b, VMCTR_AT_FSTYPE, m->fstype);
  vmctr__agent_put_u64(&b, VMCTR_AT_MOUNT_FLAGS, m->flags);
  if (m->data)
    vmctr__agent_put_str(&b, VMCTR_AT_MOUNT_DATA, m->data);
  if (m->mkdir)
    vmctr__agent_put_u32(&b, VMCTR_AT_MKDIR, 1);
  if (m->root)
    vmctr__agent_put_str(&b, VMCTR_AT_ROOT, m->root);
  if (m->file)
    vmctr__agent_put_str(&b, VMCTR_AT_SHARE_FILE, m->file);
  return call(a, &b, timeout_ms, "MOUNT", "source, target and options", NULL);
}

int vmctr__agent_mkdir(vmctr__agent *a, const char *path, uint32_t mode, int timeout_ms) {
  static const char fn[] = "vmctr__agent_mkdir";
  int r;
  if (!a)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a is NULL", fn);
  if ((r = check_path(path, fn, "the directory")) < 0)
    return r;
  if (mode & ~07777u)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: mode %o has bits outside 07777", fn, mode);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_MKDIR);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, path);
  vmctr__agent_put_u32(&b, VMCTR_AT_MODE, mode);
  return call(a, &b, timeout_ms, "MKDIR", "the path", NULL);
}

static int write_file(vmctr__agent *a, const char *root, const char *path, const void *data,
                      size_t len, uint32_t mode, uint32_t flags, int timeout_ms) {
  static const char fn[] = "vmctr__agent_write_file";
  int r;
  if (root && ((r = check_path(root, fn, "the root")) < 0))
    return r;
  if (root && (flags & VMCTR__AGENT_WRITE_IN_PLACE))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a file in place cannot go with a root", fn);
  if (!a || (!data && len))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a is NULL, or data is NULL with a length", fn);
  if ((r = check_path(path, fn, "the file")) < 0)
    return r;
  if (mode & ~07777u)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: mode %o has bits outside 07777", fn, mode);
  if (flags & ~VMCTR__AGENT_WRITE_IN_PLACE)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown flags 0x%x", fn, flags);
  if (len > VMCTR_AGENT_MAX_FILE)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu bytes for %s; the guest takes at most %u per write",
                      fn, len, path, VMCTR_AGENT_MAX_FILE);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, path);
  vmctr__agent_put_u32(&b, VMCTR_AT_MODE, mode);
  if (flags & VMCTR__AGENT_WRITE_IN_PLACE)
    vmctr__agent_put_u32(&b, VMCTR_AT_IN_PLACE, 1);
  if (root)
    vmctr__agent_put_str(&b, VMCTR_AT_ROOT, root);
  vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, data, len);
  return call(a, &b, timeout_ms, "WRITE_FILE", "the content plus path", NULL);
}

int vmctr__agent_write_file(vmctr__agent *a, const char *path, const void *data, size_t len,
                            uint32_t mode, uint32_t flags, int timeout_ms) {
  return write_file(a, NULL, path, data, len, mode, flags, timeout_ms);
}

int vmctr__agent_write_file_in(vmctr__agent *a, const char *root, const char *path, const void *data,
                               size_t len, uint32_t mode, int timeout_ms) {
  if (!root)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_write_file_in: root is NULL");
  return write_file(a, root, path, data, len, mode, 0, timeout_ms);
}

int vmctr__agent_restored(vmctr__agent *a, const vmctr__agent_restored_args *x, int timeout_ms) {
  if (!a || !x || !x->entropy || x->nentropy < VMCTR_AGENT_ENTROPY_MIN ||
      x->nentropy > VMCTR_AGENT_ENTROPY_MAX || x->nmacs > VMCTR_AGENT_MAX_NICS ||
      (x->nmacs && !x->macs) || x->ndisks > VMCTR_AGENT_MAX_DISKS || (x->ndisks && !x->disks))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_restored: bad arguments");
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_RESTORED);
  vmctr__agent_put_u64(&b, VMCTR_AT_TIME_NS, x->realtime_ns);
  vmctr__agent_put_bytes(&b, VMCTR_AT_ENTROPY, x->entropy, x->nentropy);
  for (size_t i = 0; i < x->ndisks; i++) {
    uint8_t d[8 + VMCTR_AGENT_SERIAL_MAX];
    size_t n = x->disks[i].serial ? strlen(x->disks[i].serial) : 0;
    if (n < 1 || n > VMCTR_AGENT_SERIAL_MAX) {
      vmctr__agent_buf_free(&b);
      return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_restored: a disk serial of %zu bytes", n);
    }
    for (int k = 0; k < 8; k++)
      d[k] = (uint8_t)(x->disks[i].size >> (8 * k));
    memcpy(d + 8, x->disks[i].serial, n);
    vmctr__agent_put_bytes(&b, VMCTR_AT_DISK, d, 8 + n);
  }
  for (size_t i = 0; i < x->nmacs; i++)
    vmctr__agent_put_bytes(&b, VMCTR_AT_MAC, x->macs[i], 6);
  return call(a, &b, timeout_ms, "RESTORED", "the request", NULL);
}

int vmctr__agent_set_time(vmctr__agent *a, uint64_t realtime_ns, int timeout_ms) {
  if (!a)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_set_time: a is NULL");
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SET_TIME);
  vmctr__agent_put_u64(&b, VMCTR_AT_TIME_NS, realtime_ns);
  return call(a, &b, timeout_ms, "SET_TIME", "the request", NULL);
}

int vmctr__agent_set_hostname(vmctr__agent *a, const char *name, int timeout_ms) {
  if (!a || !name || !name[0] || strlen(name) > HOSTNAME_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_set_hostname: the name must have 1 to %u bytes",
                      HOSTNAME_MAX);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SET_HOSTNAME);
  vmctr__agent_put_str(&b, VMCTR_AT_NAME, name);
  return call(a, &b, timeout_ms, "SET_HOSTNAME", "the name", NULL);
}

int vmctr__agent_poweroff(vmctr__agent *a, const char *const *ephemeral, size_t n,
                          int timeout_ms) {
  if (!a)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_poweroff: a is NULL");
  if (n > VMCTR_AGENT_MAX_DISKS)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_poweroff: more than %u disks",
                      VMCTR_AGENT_MAX_DISKS);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_POWEROFF);
  for (size_t i = 0; i < n; i++) {
    size_t len = ephemeral[i] ? strlen(ephemeral[i]) : 0;
    if (len == 0 || len > VMCTR_AGENT_SERIAL_MAX) {
      vmctr__agent_buf_free(&b);
      return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_poweroff: a serial has 1 to %u bytes",
                        VMCTR_AGENT_SERIAL_MAX);
    }
    vmctr__agent_put_str(&b, VMCTR_AT_EPHEMERAL, ephemeral[i]);
  }
  return call(a, &b, timeout_ms, "poweroff", "the request", NULL);
}

/* A unicast IPv4 address a guest interface may have or route through: not
 * 0.0.0.0/8, not loopback, not multicast or class E. */
static bool unicast4(uint32_t ip) {
  return (ip >> 24) != 0 && (ip >> 24) != 127 && ip < 0xe0000000u;
}

static uint32_t mask4(uint32_t prefix) {
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

static void put_route4(vmctr__agent_buf *b, const vmctr__net_route *rt) {
  uint8_t v[VMCTR_AGENT_ROUTE4_SIZE];
  vmctr__agent_put_le32(v, rt->dst);
  vmctr__agent_put_le32(v + 4, rt->prefix);
  vmctr__agent_put_le32(v + 8, rt->via);
  vmctr__agent_put_bytes(b, VMCTR_AT_ROUTE4, v, sizeof(v));
}

int vmctr__agent_config_iface(vmctr__agent *a, const vmctr__net_guest_if *ifc, int timeout_ms) {
  static const char fn[] = "vmctr__agent_config_iface";
  static const uint8_t zero[6];
  if (!a || !ifc)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a and ifc must be set", fn);
  if ((ifc->mac[0] & 1) || memcmp(ifc->mac, zero, 6) == 0)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the MAC must be a unicast, nonzero address", fn);
  if (ifc->mtu && (ifc->mtu < VMCTR_AGENT_MTU_MIN || ifc->mtu > VMCTR_AGENT_MTU_MAX))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: MTU %u is outside %u..%u", fn, ifc->mtu,
                      VMCTR_AGENT_MTU_MIN, VMCTR_AGENT_MTU_MAX);
  if (ifc->addr ? !unicast4(ifc->addr) || ifc->prefix < 1 || ifc->prefix > 32 : ifc->prefix != 0)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: address 0x%08x/%u: an address must be unicast with a "
                      "prefix of 1..32, and no address has no prefix", fn, ifc->addr, ifc->prefix);
  if (ifc->gateway && !unicast4(ifc->gateway))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: gateway 0x%08x is not a unicast address", fn,
                      ifc->gateway);
  if (ifc->nroutes > VMCTR__NET_MAX_ROUTES || (ifc->nroutes && !ifc->routes))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: %zu routes (at most %u, and routes must be set)", fn,
                      ifc->nroutes, VMCTR__NET_MAX_ROUTES);
  for (size_t i = 0; i < ifc->nroutes; i++) {
    const vmctr__net_route *rt = &ifc->routes[i];
    if (rt->prefix > 32 || (rt->dst & ~mask4(rt->prefix)) || (rt->via && !unicast4(rt->via)))
      return vmctr__err(VMCTR_EINVAL, 0, "%s: route %zu (0x%08x/%u via 0x%08x): the prefix must "
                        "be 0..32, the destination have no bits beyond it, the gateway be unicast",
                        fn, i, rt->dst, rt->prefix, rt->via);
  }
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_CONFIG_IFACE);
  vmctr__agent_put_bytes(&b, VMCTR_AT_MAC, ifc->mac, 6);
  if (ifc->mtu)
    vmctr__agent_put_u32(&b, VMCTR_AT_MTU, ifc->mtu);
  if (ifc->addr) {
    vmctr__agent_put_u32(&b, VMCTR_AT_ADDR4, ifc->addr);
    vmctr__agent_put_u32(&b, VMCTR_AT_PREFIX, ifc->prefix);
  }
  if (ifc->gateway)
    vmctr__agent_put_u32(&b, VMCTR_AT_GATEWAY4, ifc->gateway);
  for (size_t i = 0; i < ifc->nroutes; i++)
    put_route4(&b, &ifc->routes[i]);
  return call(a, &b, timeout_ms, "CONFIG_IFACE", "the routes", NULL);
}

int vmctr__agent_ping(vmctr__agent *a, int timeout_ms) {
  return op_only(a, VMCTR_AOP_PING, "ping", timeout_ms);
}

/* A NULL-terminated string list: count (at most the protocol's list limit)
 * and lengths. */
static int check_strv(char *const *v, const char *what, size_t *n) {
  static const char fn[] = "vmctr__agent_spawn";
  size_t i = 0;
  for (; v && v[i]; i++) {
    if (i == VMCTR_AGENT_MAX_LIST)
      return vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %u %s", fn, VMCTR_AGENT_MAX_LIST, what);
    if (strlen(v[i]) > VMCTR_AGENT_MAX_STRING)
      return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %s %zu is longer than %u bytes", fn, what, i,
                        VMCTR_AGENT_MAX_STRING);
  }
  *n = i;
  return 0;
}

/* The masked and read-only lists: only with a new container, bounded, each
 * path absolute and normalized (the guest checks the same). */
static int check_path_list(const char *const *v, size_t n, const char *what) {
  static const char fn[] = "vmctr__agent_spawn";
  if (n && !v)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the %s paths are NULL with a count", fn, what);
  if (n > VMCTR_AGENT_MAX_PATHS)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu %s paths; the limit is %u", fn, n, what,
                      VMCTR_AGENT_MAX_PATHS);
  for (size_t i = 0; i < n; i++)
    if (!vmctr__agent_path_ok(v[i]))
      return vmctr__err(VMCTR_EINVAL, 0, "%s: %s path %zu is not an absolute, normalized path "
                        "of at most %u bytes", fn, what, i, VMCTR_AGENT_PATH_MAX);
  return 0;
}

static int check_paths(const vmctr__agent_spawn_args *s) {
  int r;
  if (!s->paths && (s->nmasked || s->nreadonly))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_spawn: masked or read-only paths without "
                      "the flags that say they replace the defaults");
  if (s->paths & ~VMCTR_APATHS_ALL)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_spawn: unknown path flags 0x%x", s->paths);
  if (s->paths && !s->root)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_spawn: masked and read-only paths apply to "
                      "a new container (root)");
  if ((!(s->paths & VMCTR_APATHS_MASKED) && s->nmasked) ||
      (!(s->paths & VMCTR_APATHS_READONLY) && s->nreadonly))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_spawn: a path list without its flag");
  if ((r = check_path_list((const char *const *)s->masked, s->nmasked, "masked")) < 0)
    return r;
  return check_path_list((const char *const *)s->readonly, s->nreadonly, "read-only");
}

static int spawn_check(const vmctr__agent_spawn_args *s) {
  static const char fn[] = "vmctr__agent_spawn";
  size_t nargv = 0, nenv = 0;
  int r;
  if (!s->argv || !s->argv[0])
    return vmctr__err(VMCTR_EINVAL, 0, "%s: argv needs at least one entry", fn);
  if ((r = check_strv(s->argv, "arguments", &nargv)) < 0 ||
      (r = check_strv(s->env, "environment entries", &nenv)) < 0)
    return r;
  if ((s->ngids && !s->gids) || (s->nrlimits && !s->rlimits))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: gids or rlimits is NULL with a count", fn);
  if (s->ngids > VMCTR_AGENT_MAX_LIST || s->nrlimits > VMCTR_AGENT_MAX_LIST)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: more than %u supplementary groups or rlimits", fn,
                      VMCTR_AGENT_MAX_LIST);
  if ((r = check_paths(s)) < 0)
    return r;
  /* OP, the 26 single fields at most, and the lists. */
  if (26 + nargv + nenv + s->ngids + s->nrlimits + s->nmasked + s->nreadonly >
      VMCTR_AGENT_MAX_FIELDS)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: arguments, environment, groups and rlimits "
                      "together must be fewer than %u entries", fn, VMCTR_AGENT_MAX_FIELDS - 26);
  if (s->cwd && (r = check_path(s->cwd, fn, "the working directory")) < 0)
    return r;
  if (s->root && s->join_pid)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: root (a new container) and join_pid (an existing "
                      "one) are mutually exclusive", fn);
  if (s->root && (r = check_path(s->root, fn, "the root")) < 0)
    return r;
  if (s->namespaces & ~NS_ALLOWED)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: namespaces 0x%x holds flags other than "
                      "VMCTR__AGENT_NS_*", fn, s->namespaces);
  if (s->namespaces && !s->root)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: namespaces need a root (a new container)", fn);
  /* Without namespaces the guest gives a new container a UTS namespace. */
  if (s->hostname && (!s->root || (s->namespaces && !(s->namespaces & VMCTR__AGENT_NS_UTS))))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a hostname needs a new container with a UTS namespace",
                      fn);
  if (s->hostname && (!s->hostname[0] || strlen(s->hostname) > HOSTNAME_MAX))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: the hostname must have 1 to %u bytes", fn, HOSTNAME_MAX);
  if ((r = check_str(s->cgroup, fn, "the cgroup")) < 0 ||
      (r = check_str(s->cpu_max, fn, "cpu_max")) < 0)
    return r;
  if (s->has_security && !s->root && !s->join_pid)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: capabilities and seccomp apply to a container's "
                      "process (root or join_pid)", fn);
  if (s->has_security && (s->caps & ~VMCTR_AGENT_CAPS_ALL))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: capability bits 0x%llx are beyond CAP_LAST_CAP (%u)", fn,
                      (unsigned long long)(s->caps & ~VMCTR_AGENT_CAPS_ALL), VMCTR_AGENT_CAP_LAST);
  if (s->has_security && s->seccomp > VMCTR_ASECCOMP_DEFAULT)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown seccomp profile %u", fn, s->seccomp);
  if (s->has_security && ((s->relax & ~VMCTR_ARELAX_ALL) || (s->relax && !s->root)))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: relax 0x%x: unknown flags, or not a new container", fn,
                      s->relax);
  if (s->seccomp_filter_len && (!s->has_security || !s->seccomp_filter))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a seccomp filter needs the program and a container's "
                      "process (root or join_pid)", fn);
  if (s->seccomp_filter_len % VMCTR_AGENT_FILTER_INSN ||
      s->seccomp_filter_len > (size_t)VMCTR_AGENT_MAX_FILTER * VMCTR_AGENT_FILTER_INSN)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a seccomp filter of %zu bytes is not a whole number of "
                      "8-byte instructions, at most %u", fn, s->seccomp_filter_len,
                      VMCTR_AGENT_MAX_FILTER);
  if (s->pids_max && !s->cgroup)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: pids_max needs a cgroup", fn);
  if (s->pty && !s->stdout_stream)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a pty needs a stdout stream", fn);
  if (s->pty && (s->rows > TERM_MAX || s->cols > TERM_MAX))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: terminal size %ux%u is out of range (1..65535)", fn,
                      s->rows, s->cols);
  return 0;
}

/* u32 resource, u64 soft, u64 hard, little-endian. */
static void put_rlimit(vmctr__agent_buf *b, const vmctr__agent_rlimit *r) {
  uint8_t v[20];
  for (int i = 0; i < 4; i++)
    v[i] = (uint8_t)(r->resource >> (8 * i));
  for (int i = 0; i < 8; i++) {
    v[4 + i] = (uint8_t)(r->soft >> (8 * i));
    v[12 + i] = (uint8_t)(r->hard >> (8 * i));
  }
  vmctr__agent_put_bytes(b, VMCTR_AT_RLIMIT, v, sizeof(v));
}

/* Linux's struct sock_filter, spelled out (the host need not be Linux). */
struct bpf_insn_ {
  uint16_t code;
  uint8_t jt, jf;
  uint32_t k;
};
_Static_assert(sizeof(struct bpf_insn_) == VMCTR_AGENT_FILTER_INSN, "struct sock_filter is 8 bytes");

/* The program in the wire's little-endian layout, whatever the host's order. */
static int put_filter(vmctr__agent_buf *b, const void *prog, size_t len) {
  uint8_t *v = malloc(len);
  if (!v)
    return vmctr__err_nomem();
  for (size_t i = 0; i < len; i += VMCTR_AGENT_FILTER_INSN) {
    struct bpf_insn_ ins;
    memcpy(&ins, (const uint8_t *)prog + i, sizeof(ins));
    v[i] = (uint8_t)ins.code;
    v[i + 1] = (uint8_t)(ins.code >> 8);
    v[i + 2] = ins.jt;
    v[i + 3] = ins.jf;
    for (int k = 0; k < 4; k++)
      v[i + 4 + k] = (uint8_t)(ins.k >> (8 * k));
  }
  vmctr__agent_put_bytes(b, VMCTR_AT_SECCOMP_FILTER, v, len);
  free(v);
  return 0;
}

int vmctr__agent_spawn(vmctr__agent *a, const vmctr__agent_spawn_args *s, int timeout_ms,
                       uint32_t *pid) {
  vmctr__agent_reply *rep = NULL;
  uint32_t p = 0;
  int r;
  if (!a || !s || !pid)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_spawn: a, s and pid must be set");
  if ((r = spawn_check(s)) < 0)
    return r;
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_strv(&b, VMCTR_AT_ARGV, s->argv);
  vmctr__agent_put_strv(&b, VMCTR_AT_ENV, s->env);
  if (s->cwd)
    vmctr__agent_put_str(&b, VMCTR_AT_CWD, s->cwd);
  vmctr__agent_put_u32(&b, VMCTR_AT_UID, s->uid);
  vmctr__agent_put_u32(&b, VMCTR_AT_GID, s->gid);
  for (size_t i = 0; i < s->ngids; i++)
    vmctr__agent_put_u32(&b, VMCTR_AT_GIDS, s->gids[i]);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDIN, s->stdin_stream);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, s->stdout_stream);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDERR, s->stderr_stream);
  if (s->pty) {
    vmctr__agent_put_u32(&b, VMCTR_AT_PTY, 1);
    vmctr__agent_put_u32(&b, VMCTR_AT_ROWS, s->rows);
    vmctr__agent_put_u32(&b, VMCTR_AT_COLS, s->cols);
  }
  for (size_t i = 0; i < s->nrlimits; i++)
    put_rlimit(&b, &s->rlimits[i]);
  if (s->no_new_privs)
    vmctr__agent_put_u32(&b, VMCTR_AT_NO_NEW_PRIVS, 1);
  if (s->join_pid)
    vmctr__agent_put_u32(&b, VMCTR_AT_JOIN_PID, s->join_pid);
  if (s->root)
    vmctr__agent_put_str(&b, VMCTR_AT_ROOT, s->root);
  if (s->namespaces)
    vmctr__agent_put_u32(&b, VMCTR_AT_NAMESPACES, s->namespaces);
  if (s->hostname)
    vmctr__agent_put_str(&b, VMCTR_AT_HOSTNAME, s->hostname);
  if (s->cgroup)
    vmctr__agent_put_str(&b, VMCTR_AT_CGROUP, s->cgroup);
  if (s->memory_max)
    vmctr__agent_put_u64(&b, VMCTR_AT_MEMORY_MAX, s->memory_max);
  if (s->cpu_max)
    vmctr__agent_put_str(&b, VMCTR_AT_CPU_MAX, s->cpu_max);
  if (s->pids_max)
    vmctr__agent_put_u64(&b, VMCTR_AT_PIDS_MAX, s->pids_max);
  if (s->seccomp_filter_len && (r = put_filter(&b, s->seccomp_filter, s->seccomp_filter_len)) < 0) {
    vmctr__agent_buf_free(&b);
    return r;
  }
  if (s->has_security) {
    vmctr__agent_put_u64(&b, VMCTR_AT_CAPS, s->caps);
    vmctr__agent_put_u32(&b, VMCTR_AT_SECCOMP, s->seccomp);
    if (s->relax)
      vmctr__agent_put_u32(&b, VMCTR_AT_RELAX, s->relax);
  }
  if (s->paths) {
    vmctr__agent_put_u32(&b, VMCTR_AT_PATHS, s->paths);
    for (size_t i = 0; i < s->nmasked; i++)
      vmctr__agent_put_str(&b, VMCTR_AT_MASKED, s->masked[i]);
    for (size_t i = 0; i < s->nreadonly; i++)
      vmctr__agent_put_str(&b, VMCTR_AT_READONLY, s->readonly[i]);
  }
  if ((r = call(a, &b, timeout_ms, "SPAWN", "arguments plus environment", &rep)) < 0)
    return r;
  r = vmctr__agent_get_u32(vmctr__agent_reply_msg(rep), VMCTR_AT_PID, &p);
  vmctr__agent_reply_free(rep);
  if (r < 0 || p == 0)
    return vmctr__err(VMCTR_EPROTO, 0, "the guest agent did not say which process it started");
  *pid = p;
  return 0;
}

static int pid_req(vmctr__agent *a, uint32_t op, const char *op_name, uint32_t pid, uint16_t tag1,
                   uint32_t v1, uint16_t tag2, uint32_t v2, int timeout_ms) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, op);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  if (tag1)
    vmctr__agent_put_u32(&b, tag1, v1);
  if (tag2)
    vmctr__agent_put_u32(&b, tag2, v2);
  return call(a, &b, timeout_ms, op_name, "the request", NULL);
}

int vmctr__agent_signal(vmctr__agent *a, uint32_t pid, uint32_t signo, int timeout_ms) {
  if (!a || !pid)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_signal: a is NULL or pid is 0");
  if (signo < 1 || signo > SIGNO_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "signal %u is not a signal number (1..%u)", signo, SIGNO_MAX);
  return pid_req(a, VMCTR_AOP_SIGNAL, "SIGNAL", pid, VMCTR_AT_SIGNO, signo, 0, 0, timeout_ms);
}

int vmctr__agent_resize(vmctr__agent *a, uint32_t pid, uint32_t rows, uint32_t cols,
                        int timeout_ms) {
  if (!a || !pid)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_resize: a is NULL or pid is 0");
  if (!rows || !cols || rows > TERM_MAX || cols > TERM_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "terminal size %ux%u is out of range (1..65535)", rows, cols);
  return pid_req(a, VMCTR_AOP_RESIZE, "RESIZE", pid, VMCTR_AT_ROWS, rows, VMCTR_AT_COLS, cols,
                 timeout_ms);
}

int vmctr__agent_close_stdin(vmctr__agent *a, uint32_t pid, int timeout_ms) {
  if (!a || !pid)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_close_stdin: a is NULL or pid is 0");
  return pid_req(a, VMCTR_AOP_CLOSE_STDIN, "CLOSE_STDIN", pid, 0, 0, 0, 0, timeout_ms);
}

int vmctr__agent_wait_begin(vmctr__agent *a, uint32_t pid, uint32_t *req_id) {
  int r;
  if (!a || !pid || !req_id)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_wait_begin: a or req_id is NULL, or pid is 0");
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WAIT);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  if ((r = finish(a, &b, "WAIT", "the request")) == 0)
    r = vmctr__agent_request_begin(a, &b, req_id);
  vmctr__agent_buf_free(&b);
  return r;
}

int vmctr__agent_wait_end(vmctr__agent *a, uint32_t req_id, int timeout_ms, int32_t *exit_code,
                          int32_t *term_signal) {
  vmctr__agent_reply *rep = NULL;
  int32_t code = -1;
  uint32_t sig = 0;
  if (!a || !req_id)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_wait_end: a is NULL or req_id is 0");
  int r = vmctr__agent_request_end(a, req_id, timeout_ms, &rep);
  if (r < 0)
    return r;
  const vmctr__agent_msg *m = vmctr__agent_reply_msg(rep);
  int rs = vmctr__agent_get_u32(m, VMCTR_AT_TERM_SIGNAL, &sig);
  int rc = vmctr__agent_get_i32(m, VMCTR_AT_EXIT_CODE, &code);
  vmctr__agent_reply_free(rep);
  if ((rs == 0) == (rc == 0) || (rs == 0 && (sig < 1 || sig > SIGNO_MAX)) ||
      (rc == 0 && (code < 0 || code > 255)))
    return vmctr__err(VMCTR_EPROTO, 0, "the guest agent's WAIT answer holds neither an exit "
                      "status (0..255) nor a signal (1..%u), or both", SIGNO_MAX);
  if (exit_code)
    *exit_code = rc == 0 ? code : -1;
  if (term_signal)
    *term_signal = rs == 0 ? (int32_t)sig : -1;
  return 0;
}

void vmctr__agent_wait_cancel(vmctr__agent *a, uint32_t req_id) {
  vmctr__agent_request_cancel(a, req_id);
}
