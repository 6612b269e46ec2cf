/* SPDX-License-Identifier: MIT */
/* Address leases: which container holds which address and MAC on a
 * network, and which process holds the lease. A lease whose process has
 * died (its pid is gone, or reused by a process that started at another
 * time) is reclaimed by the next call that reads the leases, so a crash
 * never leaks an address. The callers hold the network's lock. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "net/addr.h"
#include "net/net-priv.h"
#include "net/store.h"

#define LEASES_VERSION 1u

typedef struct leases {
  vmctr__net_lease *v;
  size_t n, cap;
} leases;

void vmctr__net_lease_clear(vmctr__net_lease *l) {
  if (!l)
    return;
  free(l->owner);
  free(l->hostname);
  free(l->ports);
  memset(l, 0, sizeof(*l));
}

void vmctr__net_leases_free(vmctr__net_lease *l, size_t count) {
  for (size_t i = 0; l && i < count; i++)
    vmctr__net_lease_clear(&l[i]);
  free(l);
}

static void leases_clear(leases *L) {
  vmctr__net_leases_free(L->v, L->n);
  memset(L, 0, sizeof(*L));
}

/* Append an empty lease. */
static vmctr__net_lease *leases_push(leases *L) {
  if (L->n == L->cap) {
    size_t cap = L->cap ? L->cap * 2 : 8;
    vmctr__net_lease *v = realloc(L->v, cap * sizeof(*v));
    if (!v) {
      vmctr__err_nomem();
      return NULL;
    }
    L->v = v;
    L->cap = cap;
  }
  memset(&L->v[L->n], 0, sizeof(L->v[0]));
  return &L->v[L->n++];
}

static void leases_drop(leases *L, size_t i) {
  vmctr__net_lease_clear(&L->v[i]);
  memmove(&L->v[i], &L->v[i + 1], (L->n - i - 1) * sizeof(L->v[0]));
  L->n--;
}

static bool owner_ok(const char *s) {
  size_t len = s ? strlen(s) : 0;
  if (len == 0 || len > VMCTR__NET_OWNER_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
      return false;
  return true;
}

/* RFC 1123 host names: labels of 1-63 letters, digits and '-', not at
 * either end of a label; 253 bytes in all. */
static bool hostname_ok(const char *s) {
  size_t len = strlen(s), label = 0;
  if (len == 0 || len > 253)
    return false;
  for (size_t i = 0; i <= len; i++) {
    char c = s[i];
    if (c == '.' || c == '\0') {
      if (label == 0 || s[i - 1] == '-')
        return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c == '-' && label > 0)) {
      if (++label > 63)
        return false;
    } else {
      return false;
    }
  }
  return true;
}

static int check_port(const vmctr__net_port *p) {
  return (p->proto == VMCTR__NET_TCP || p->proto == VMCTR__NET_UDP) && p->host_port &&
                 p->guest_port
             ? 0
             : -1;
}

/* The start time of process pid (/proc/PID/stat field 22, clock ticks
 * since boot): 0 if it cannot be read. */
static uint64_t proc_start_time(int32_t pid) {
  char path[64], buf[1024], *p;
  unsigned long long v;
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (vmctr__read_line(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
    return 0;
  /* After "pid (comm)": state is field 3, starttime field 22. */
  p++;
  for (int field = 3; field < 22; field++) {
    if (!(p = strchr(p + 1, ' ')))
      return 0;
  }
  return sscanf(p, " %llu", &v) == 1 ? (uint64_t)v : 0;
}

static bool holder_alive(const vmctr__net_lease *l) {
  uint64_t st;
  if (l->pid <= 0)
    return false;
  if (kill(l->pid, 0) < 0 && errno == ESRCH)
    return false;
  st = proc_start_time(l->pid);
  /* Without /proc (another OS) the pid alone has to do. */
  return st == 0 ? access("/proc/self/stat", F_OK) != 0 : st == l->start_time;
}

/* ---- the leases file ---- */

static int get_member(const cJSON *o, const char *key, const char *what, const cJSON **out) {
  if (!(*out = cJSON_GetObjectItemCaseSensitive(o, key)))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\" is missing", what, key);
  return 0;
}

static int check_keys(const cJSON *o, const char *const *keys, size_t nkeys, const char *what) {
  const cJSON *item;
  if (!cJSON_IsObject(o))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: expected an object, got %s", what,
                      vmctr__json_type_name(o));
  cJSON_ArrayForEach(item, o) {
    size_t k = 0;
    while (k < nkeys && strcmp(item->string, keys[k]) != 0)
      k++;
    if (k == nkeys)
      return vmctr__err(VMCTR_EPARSE, 0, "%s: unknown key \"%.64s\"", what, item->string);
  }
  return 0;
}

static int parse_ip_member(const cJSON *o, const char *key, const char *what, uint32_t *ip) {
  const cJSON *item;
  const char *s;
  int r;
  if ((r = get_member(o, key, what, &item)) < 0 || (r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (vmctr__ip4_parse(s, ip) < 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": \"%.32s\" is not an IPv4 address", what,
                      key, s);
  return 0;
}

static int parse_uint_member(const cJSON *o, const char *key, const char *what, uint64_t max,
                             uint64_t *v) {
  const cJSON *item;
  int r;
  if ((r = get_member(o, key, what, &item)) < 0)
    return r;
  return vmctr__json_as_uint(item, what, max, v);
}

static int parse_port(const cJSON *o, const char *what, vmctr__net_port *p) {
  static const char *const keys[] = {"proto", "host_ip", "host_port", "guest_port"};
  const cJSON *item;
  const char *s;
  uint64_t v;
  int r;
  if ((r = check_keys(o, keys, VMCTR_ARRAY_SIZE(keys), what)) < 0 ||
      (r = get_member(o, "proto", what, &item)) < 0 ||
      (r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (strcmp(s, "tcp") == 0)
    p->proto = VMCTR__NET_TCP;
  else if (strcmp(s, "udp") == 0)
    p->proto = VMCTR__NET_UDP;
  else
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"proto\": \"%.16s\" is not tcp or udp", what, s);
  if ((r = parse_ip_member(o, "host_ip", what, &p->host_ip)) < 0 ||
      (r = parse_uint_member(o, "host_port", what, 65535, &v)) < 0)
    return r;
  p->host_port = (uint16_t)v;
  if ((r = parse_uint_member(o, "guest_port", what, 65535, &v)) < 0)
    return r;
  p->guest_port = (uint16_t)v;
  if (check_port(p) < 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: a port is 0", what);
  return 0;
}

static int parse_lease(const cJSON *o, const char *what, vmctr__net_lease *l) {
  static const char *const keys[] = {"owner", "ip", "mac", "hostname", "pid", "start_time",
                                     "ports"};
  const cJSON *item, *e;
  const char *s;
  uint64_t v;
  int r;
  if ((r = check_keys(o, keys, VMCTR_ARRAY_SIZE(keys), what)) < 0 ||
      (r = get_member(o, "owner", what, &item)) < 0 ||
      (r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (!owner_ok(s))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"owner\": \"%.64s\" is not a container id", what,
                      s);
  if (!(l->owner = vmctr__strdup(s)))
    return VMCTR_ENOMEM;
  if ((r = parse_ip_member(o, "ip", what, &l->ip)) < 0 ||
      (r = get_member(o, "mac", what, &item)) < 0 ||
      (r = vmctr__json_as_string(item, what, &s)) < 0)
    return r;
  if (vmctr__mac_parse(s, l->mac) < 0)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"mac\": \"%.32s\" is not a MAC address", what, s);
  if ((item = cJSON_GetObjectItemCaseSensitive(o, "hostname"))) {
    if ((r = vmctr__json_as_string(item, what, &s)) < 0)
      return r;
    if (!hostname_ok(s))
      return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"hostname\": \"%.64s\" is not a host name",
                        what, s);
    if (!(l->hostname = vmctr__strdup(s)))
      return VMCTR_ENOMEM;
  }
  if ((r = parse_uint_member(o, "pid", what, INT32_MAX, &v)) < 0)
    return r;
  l->pid = (int32_t)v;
  if ((r = parse_uint_member(o, "start_time", what, UINT64_C(1) << 53, &v)) < 0)
    return r;
  l->start_time = v;
  if (!(item = cJSON_GetObjectItemCaseSensitive(o, "ports")))
    return 0;
  if (!cJSON_IsArray(item) || (size_t)cJSON_GetArraySize(item) > VMCTR__NET_MAX_PORTS)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"ports\": expected an array of at most %u ports",
                      what, VMCTR__NET_MAX_PORTS);
  if (cJSON_GetArraySize(item) == 0)
    return 0;
  if (!(l->ports = calloc((size_t)cJSON_GetArraySize(item), sizeof(*l->ports))))
    return vmctr__err_nomem();
  cJSON_ArrayForEach(e, item) {
    if ((r = parse_port(e, what, &l->ports[l->nports])) < 0)
      return r;
    l->nports++;
  }
  return 0;
}

/* Read the leases of name in store real; an absent file is no leases. */
static int load(const char *real, const char *name, leases *L) {
  static const char *const keys[] = {"version", "leases"};
  char *text = NULL, what[PATH_MAX + 64];
  cJSON *root = NULL;
  const cJSON *item, *e;
  size_t len;
  uint64_t v;
  int r;
  memset(L, 0, sizeof(*L));
  r = vmctr__net_read(real, name, "leases", VMCTR__NET_MAX_LEASES_FILE, &text, &len);
  if (r == VMCTR_ENOENT)
    return 0;
  if (r < 0)
    return r;
  snprintf(what, sizeof(what), "leases file %s/networks/%s.leases", real, name);
  if ((r = vmctr__json_parse(text, len, what, &root)) < 0 ||
      (r = check_keys(root, keys, VMCTR_ARRAY_SIZE(keys), what)) < 0 ||
      (r = parse_uint_member(root, "version", what, UINT32_MAX, &v)) < 0)
    goto out;
  if (v != LEASES_VERSION) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: version %llu is not one this library reads (%u)", what,
                   (unsigned long long)v, LEASES_VERSION);
    goto out;
  }
  if ((r = get_member(root, "leases", what, &item)) < 0)
    goto out;
  if (!cJSON_IsArray(item)) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s: key \"leases\": expected an array, got %s", what,
                   vmctr__json_type_name(item));
    goto out;
  }
  cJSON_ArrayForEach(e, item) {
    vmctr__net_lease *l = leases_push(L);
    if (!l) {
      r = VMCTR_ENOMEM;
      goto out;
    }
    if ((r = parse_lease(e, what, l)) < 0)
      goto out;
  }
  r = 0;
out:
  if (r < 0)
    leases_clear(L);
  cJSON_Delete(root);
  free(text);
  return r;
}

static cJSON *lease_to_cjson(const vmctr__net_lease *l) {
  cJSON *o = cJSON_CreateObject(), *ports;
  char ip[16], mac[18];
  bool ok = o && vmctr__json_add_string(o, "owner", l->owner) &&
            vmctr__json_add_string(o, "ip", vmctr__ip4_format(l->ip, ip)) &&
            vmctr__json_add_string(o, "mac", vmctr__mac_format(l->mac, mac)) &&
            (!l->hostname || vmctr__json_add_string(o, "hostname", l->hostname)) &&
            vmctr__json_add_number(o, "pid", l->pid) &&
            vmctr__json_add_number(o, "start_time", (double)l->start_time);
  if (ok && l->nports) {
    ok = (ports = cJSON_AddArrayToObject(o, "ports")) != NULL;
    for (size_t i = 0; ok && i < l->nports; i++) {
      const vmctr__net_port *p = &l->ports[i];
      cJSON *po = cJSON_CreateObject();
      ok = po && cJSON_AddItemToArray(ports, po) &&
           vmctr__json_add_string(po, "proto", p->proto == VMCTR__NET_UDP ? "udp" : "tcp") &&
           vmctr__json_add_string(po, "host_ip", vmctr__ip4_format(p->host_ip, ip)) &&
           vmctr__json_add_number(po, "host_port", p->host_port) &&
           vmctr__json_add_number(po, "guest_port", p->guest_port);
    }
  }
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static int save(const char *real, const char *name, const leases *L) {
  cJSON *root = cJSON_CreateObject(), *arr;
  char *text;
  bool ok;
  int r;
  ok = root && vmctr__json_add_number(root, "version", LEASES_VERSION) &&
       (arr = cJSON_AddArrayToObject(root, "leases")) != NULL;
  for (size_t i = 0; ok && i < L->n; i++) {
    cJSON *o = lease_to_cjson(&L->v[i]);
    ok = o && cJSON_AddItemToArray(arr, o);
  }
  if (!ok) {
    cJSON_Delete(root);
    return vmctr__err_nomem();
  }
  text = vmctr__json_print(root, false);
  cJSON_Delete(root);
  if (!text)
    return VMCTR_ENOMEM;
  r = vmctr__net_write(real, name, "leases", text, strlen(text));
  free(text);
  return r;
}

/* Load, then drop the leases of dead holders (saving if any). */
static int load_live(const char *real, const char *name, leases *L, size_t *reclaimed) {
  size_t dropped = 0;
  int r;
  if ((r = load(real, name, L)) < 0)
    return r;
  for (size_t i = 0; i < L->n;) {
    if (holder_alive(&L->v[i])) {
      i++;
      continue;
    }
    leases_drop(L, i);
    dropped++;
  }
  if (dropped && (r = save(real, name, L)) < 0) {
    leases_clear(L);
    return r;
  }
  if (reclaimed)
    *reclaimed = dropped;
  return 0;
}

static int need_store(const vmctr_network *n, const char *fn) {
  if (!n)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: network is NULL", fn);
  if (!n->state_dir)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s is not from a store (vmctr_network_open)",
                      n->name);
  return 0;
}

static bool in_subnet_dns(const vmctr_network *n, uint32_t ip) {
  for (size_t i = 0; i < n->ndns; i++)
    if (n->dns[i] == ip)
      return true;
  return false;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Pick the address for a new lease on a bridge network. */
static int pick_ip(const vmctr_network *n, const leases *L, uint32_t req_ip, uint32_t *out) {
  uint32_t bcast = n->subnet | ~vmctr__ip4_mask(n->prefix), *used;
  char ip[16];
  size_t k = 0;
  if (req_ip) {
    const char *why = !vmctr__ip4_is_host(req_ip, n->subnet, n->prefix) ? "outside its subnet's host addresses"
                      : req_ip == n->gateway                              ? "its gateway"
                      : in_subnet_dns(n, req_ip)                          ? "its DNS server"
                                                                          : NULL;
    if (why)
      return vmctr__err(VMCTR_EINVAL, 0, "address %s is %s on network %s (%s)",
                        vmctr__ip4_format(req_ip, ip), why, n->name, n->subnet_str);
    for (size_t i = 0; i < L->n; i++)
      if (L->v[i].ip == req_ip)
        return vmctr__err(VMCTR_EEXIST, 0, "address %s on network %s is taken by container %s",
                          vmctr__ip4_format(req_ip, ip), n->name, L->v[i].owner);
    *out = req_ip;
    return 0;
  }
  if (!(used = malloc((L->n + 1) * sizeof(*used))))
    return vmctr__err_nomem();
  for (size_t i = 0; i < L->n; i++)
    used[i] = L->v[i].ip;
  qsort(used, L->n, sizeof(*used), cmp_u32);
  for (uint32_t a = n->subnet + 1; a < bcast; a++) {
    while (k < L->n && used[k] < a)
      k++;
    if ((k < L->n && used[k] == a) || a == n->gateway || in_subnet_dns(n, a))
      continue;
    free(used);
    *out = a;
    return 0;
  }
  free(used);
  return vmctr__err(VMCTR_ENOSPC, 0, "network %s has no free address in %s (%zu in use)", n->name,
                    n->subnet_str, L->n);
}

static int copy_lease(vmctr__net_lease *dst, const vmctr__net_lease *src) {
  *dst = *src;
  dst->owner = vmctr__strdup(src->owner);
  dst->hostname = src->hostname ? vmctr__strdup(src->hostname) : NULL;
  dst->ports = NULL;
  if (src->nports && (dst->ports = malloc(src->nports * sizeof(*dst->ports))))
    memcpy(dst->ports, src->ports, src->nports * sizeof(*dst->ports));
  if (!dst->owner || (src->hostname && !dst->hostname) || (src->nports && !dst->ports)) {
    vmctr__net_lease_clear(dst);
    return vmctr__err_nomem();
  }
  return 0;
}

int vmctr__net_lease_add(const vmctr_network *n, const char *owner, uint32_t req_ip,
                         const uint8_t *req_mac, const char *hostname,
                         const vmctr__net_port *ports, size_t nports, vmctr__net_lease *out) {
  leases L = {0};
  vmctr__net_lease *l, tmp = {0};
  char ip[16], mac[18];
  int r;
  if ((r = need_store(n, "vmctr__net_lease_add")) < 0)
    return r;
  if (!owner_ok(owner))
    return vmctr__err(VMCTR_EINVAL, 0, "lease owner \"%.64s\" is not a container id (1 to %u "
                      "letters, digits, '_', '.' or '-')", owner ? owner : "(null)",
                      VMCTR__NET_OWNER_MAX);
  if (hostname && !hostname_ok(hostname))
    return vmctr__err(VMCTR_EINVAL, 0, "\"%.64s\" is not a host name", hostname);
  if (req_mac && (req_mac[0] & 1))
    return vmctr__err(VMCTR_EINVAL, 0, "MAC %s is a multicast address",
                      vmctr__mac_format(req_mac, mac));
  if (nports > VMCTR__NET_MAX_PORTS || (nports && !ports))
    return vmctr__err(VMCTR_EINVAL, 0, "at most %u published ports", VMCTR__NET_MAX_PORTS);
  for (size_t i = 0; i < nports; i++)
    if (check_port(&ports[i]) < 0)
      return vmctr__err(VMCTR_EINVAL, 0, "published port %zu: bad protocol or port 0", i);
  if ((r = load_live(n->state_dir, n->name, &L, NULL)) < 0)
    return r;
  for (size_t i = 0; i < L.n; i++)
    if (strcmp(L.v[i].owner, owner) == 0) {
      r = vmctr__err(VMCTR_EEXIST, 0, "container %s already has a lease on network %s (%s)",
                     owner, n->name, vmctr__ip4_format(L.v[i].ip, ip));
      goto out;
    }
  tmp.pid = (int32_t)getpid();
  tmp.start_time = proc_start_time(tmp.pid);
  if (n->mode == VMCTR_NETWORK_ISOLATED_NAT) {
    /* One NAT per VM: every guest may have the same address. */
    tmp.ip = req_ip ? req_ip : vmctr__network_isolated_guest(n);
    if (!vmctr__ip4_is_host(tmp.ip, n->subnet, n->prefix) || tmp.ip == n->gateway ||
        in_subnet_dns(n, tmp.ip)) {
      r = vmctr__err(req_ip ? VMCTR_EINVAL : VMCTR_ENOSPC, 0,
                     "network %s has no address for a guest in %s besides its gateway and DNS "
                     "server", n->name, n->subnet_str);
      goto out;
    }
  } else if ((r = pick_ip(n, &L, req_ip, &tmp.ip)) < 0) {
    goto out;
  }
  for (int tries = 0;; tries++) {
    bool taken = false;
    if (req_mac)
      memcpy(tmp.mac, req_mac, 6);
    else if ((r = vmctr__mac_random(tmp.mac)) < 0)
      goto out;
    for (size_t i = 0; i < L.n && !taken; i++)
      taken = memcmp(L.v[i].mac, tmp.mac, 6) == 0;
    if (!taken)
      break;
    if (req_mac || tries == 16) {
      r = vmctr__err(VMCTR_EEXIST, 0, "MAC %s on network %s is taken",
                     vmctr__mac_format(tmp.mac, mac), n->name);
      goto out;
    }
  }
  tmp.owner = (char *)owner;
  tmp.hostname = (char *)hostname;
  tmp.ports = (vmctr__net_port *)ports;
  tmp.nports = nports;
  if (!(l = leases_push(&L))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if ((r = copy_lease(l, &tmp)) < 0) {
    L.n--;
    goto out;
  }
  if ((r = save(n->state_dir, n->name, &L)) < 0)
    goto out;
  if (out && (r = copy_lease(out, l)) < 0)
    goto out; /* stored: the caller may remove it */
  r = 0;
out:
  leases_clear(&L);
  return r;
}

int vmctr__net_lease_remove(const vmctr_network *n, const char *owner) {
  leases L = {0};
  int r;
  if ((r = need_store(n, "vmctr__net_lease_remove")) < 0)
    return r;
  if (!owner)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__net_lease_remove: owner is NULL");
  if ((r = load_live(n->state_dir, n->name, &L, NULL)) < 0)
    return r;
  r = vmctr__err(VMCTR_ENOENT, 0, "container %.64s has no lease on network %s", owner, n->name);
  for (size_t i = 0; i < L.n; i++)
    if (strcmp(L.v[i].owner, owner) == 0) {
      leases_drop(&L, i);
      r = save(n->state_dir, n->name, &L);
      break;
    }
  leases_clear(&L);
  return r;
}

static int cmp_lease(const void *a, const void *b) {
  return cmp_u32(&((const vmctr__net_lease *)a)->ip, &((const vmctr__net_lease *)b)->ip);
}

int vmctr__net_leases(const vmctr_network *n, vmctr__net_lease **out, size_t *count,
                      size_t *reclaimed) {
  leases L = {0};
  int r;
  if ((r = need_store(n, "vmctr__net_leases")) < 0)
    return r;
  if (!out || !count)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__net_leases: out or count is NULL");
  if ((r = load_live(n->state_dir, n->name, &L, reclaimed)) < 0)
    return r;
  if (L.n)
    qsort(L.v, L.n, sizeof(*L.v), cmp_lease);
  *out = L.v;
  *count = L.n;
  return 0;
}

static int cmp_owner(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int vmctr__net_leases_owners(const char *real, const char *name, char ***owners) {
  vmctr__strv b = VMCTR__STRV_INIT;
  leases L = {0};
  int r;
  if ((r = load_live(real, name, &L, NULL)) < 0)
    return r;
  for (size_t i = 0; i < L.n; i++)
    vmctr__strv_add(&b, L.v[i].owner);
  leases_clear(&L);
  if ((r = vmctr__strv_finish(&b, owners)) < 0)
    return r;
  qsort(*owners, vmctr__strv_len(*owners), sizeof(**owners), cmp_owner);
  return 0;
}
