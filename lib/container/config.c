/* SPDX-License-Identifier: MIT */
/* The container configuration builder (vmctr_container_config_*). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "agent/codec.h"
#include "container/container-priv.h"
#include "core/error.h"
#include "core/util.h"
#include "mount/mount.h"

int vmctr_container_config_new(vmctr_container_config **out) {
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_new: out is NULL");
  vmctr_container_config *c = calloc(1, sizeof(*c));
  if (!c)
    return vmctr__err_nomem();
  *out = c;
  return 0;
}

static void free_kvs(struct vmctr__kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

static void clear_image(vmctr_container_config *c) {
  vmctr__strv_free(c->img_entrypoint);
  vmctr__strv_free(c->img_cmd);
  vmctr__strv_free(c->img_env);
  free(c->img_workdir);
  free(c->img_user);
  free(c->img_rootfs);
  c->img_entrypoint = c->img_cmd = c->img_env = NULL;
  c->img_workdir = c->img_user = c->img_rootfs = NULL;
  c->has_image = false;
}

void vmctr_container_config_free(vmctr_container_config *c) {
  if (!c)
    return;
  vmctr_process_config_free(c->process);
  clear_image(c);
  free(c->hostname);
  free_kvs(c->sysctls, c->nsysctls);
  for (size_t i = 0; i < c->nmounts; i++)
    vmctr_mount_free(c->mounts[i]);
  free(c->mounts);
  vmctr__strv_free(c->dns_servers);
  vmctr__strv_free(c->dns_search);
  free_kvs(c->hosts, c->nhosts);
  free(c->boot_log);
  vmctr__container_config_free_nets(c);
  vmctr__strv_free(c->masked_paths);
  vmctr__strv_free(c->readonly_paths);
  free(c);
}

int vmctr_container_config_set_process(vmctr_container_config *c, const vmctr_process_config *p) {
  if (!c || !p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_process: NULL argument");
  vmctr_process_config *copy;
  int r = vmctr_process_config_clone(&copy, p);
  if (r < 0)
    return r;
  vmctr_process_config_free(c->process);
  c->process = copy;
  return 0;
}

static char **dup_strv(const char *const *v, bool *failed) {
  if (!v)
    return NULL;
  size_t n = 0;
  while (v[n])
    n++;
  char **o = calloc(n + 1, sizeof(*o));
  if (!o) {
    *failed = true;
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (!(o[i] = strdup(v[i]))) {
      vmctr__strv_free(o);
      *failed = true;
      return NULL;
    }
  return o;
}

static char *dup_str(const char *s, bool *failed) {
  char *o = s ? strdup(s) : NULL;
  if (s && !o)
    *failed = true;
  return o;
}

int vmctr__container_config_set_defaults(vmctr_container_config *c, const char *const *entrypoint,
                                         const char *const *cmd, const char *const *env,
                                         const char *workdir, const char *user, const char *rootfs) {
  bool failed = false;
  clear_image(c);
  c->img_entrypoint = dup_strv(entrypoint, &failed);
  c->img_cmd = dup_strv(cmd, &failed);
  c->img_env = dup_strv(env, &failed);
  c->img_workdir = dup_str(workdir && *workdir ? workdir : NULL, &failed);
  c->img_user = dup_str(user && *user ? user : NULL, &failed);
  c->img_rootfs = dup_str(rootfs, &failed);
  c->has_image = true;
  if (failed) {
    clear_image(c);
    return vmctr__err_nomem();
  }
  return 0;
}

int vmctr_container_config_set_image(vmctr_container_config *c, const vmctr_image *img) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_image: cfg is NULL");
  if (!img) {
    clear_image(c);
    return 0;
  }
  return vmctr__container_config_set_defaults(
      c, vmctr_image_entrypoint(img), vmctr_image_cmd(img), vmctr_image_env(img),
      vmctr_image_workdir(img), vmctr_image_user(img), vmctr_image_rootfs(img));
}

/* RFC 1123 labels joined by dots. */
static bool valid_hostname(const char *h) {
  size_t n = strlen(h), label = 0;
  if (n == 0 || n > 64 || h[0] == '.' || h[0] == '-' || h[n - 1] == '.' || h[n - 1] == '-')
    return false;
  for (const char *p = h; *p; p++) {
    if (*p == '.') {
      if (label == 0)
        return false;
      label = 0;
    } else if (isalnum((unsigned char)*p) || *p == '-') {
      if (++label > 63)
        return false;
    } else {
      return false;
    }
  }
  return true;
}

int vmctr_container_config_set_hostname(vmctr_container_config *c, const char *hostname) {
  if (!c || (hostname && !valid_hostname(hostname)))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "hostname '%s' is not valid (1..64 characters: letters, digits, '-', '.')",
                      hostname ? hostname : "(null)");
  char *h = NULL;
  if (hostname && !(h = strdup(hostname)))
    return vmctr__err_nomem();
  free(c->hostname);
  c->hostname = h;
  return 0;
}

/* Set or remove key in a key/value list. */
static int kv_set(struct vmctr__kv **kv, size_t *n, const char *key, const char *value) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*kv)[i].key, key) == 0) {
      if (!value) {
        free((*kv)[i].key);
        free((*kv)[i].value);
        memmove(&(*kv)[i], &(*kv)[i + 1], (*n - i - 1) * sizeof(**kv));
        (*n)--;
        return 0;
      }
      char *v = strdup(value);
      if (!v)
        return vmctr__err_nomem();
      free((*kv)[i].value);
      (*kv)[i].value = v;
      return 0;
    }
  if (!value)
    return 0;
  char *k = strdup(key), *v = strdup(value);
  struct vmctr__kv *nkv = realloc(*kv, (*n + 1) * sizeof(**kv));
  if (nkv)
    *kv = nkv;
  if (!k || !v || !nkv) {
    free(k);
    free(v);
    return vmctr__err_nomem();
  }
  (*kv)[(*n)++] = (struct vmctr__kv){k, v};
  return 0;
}

int vmctr_container_config_set_sysctl(vmctr_container_config *c, const char *key, const char *value) {
  if (!c || !key || !*key || strlen(key) > 256 || strstr(key, "..") || key[0] == '.' ||
      strchr(key, '/') || (value && strchr(value, '\n')))
    return vmctr__err(VMCTR_EINVAL, 0, "sysctl '%s': not a dotted name such as net.ipv4.ip_forward",
                      key ? key : "(null)");
  for (const char *p = key; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
      return vmctr__err(VMCTR_EINVAL, 0, "sysctl '%s': unexpected character '%c'", key, *p);
  return kv_set(&c->sysctls, &c->nsysctls, key, value);
}

int vmctr_container_config_add_mount(vmctr_container_config *c, const vmctr_mount *m) {
  if (!c || !m)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_add_mount: NULL argument");
  if (!vmctr_mount_destination(m))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "vmctr_container_config_add_mount: the mount of %s has no destination; "
                      "give the absolute path where the container sees it",
                      vmctr_mount_source(m) ? vmctr_mount_source(m) : "(none)");
  /* Checked here, once: neither the container nor the VM manager checks it again. */
  int r = vmctr_mount_validate(m);
  if (r < 0)
    return r;
  vmctr_mount *copy;
  if ((r = vmctr_mount_clone(&copy, m)) < 0)
    return r;
  /* A share of a directory or of one file: decided now, on our copy. */
  if ((r = vmctr__mount_settle(copy)) < 0) {
    vmctr_mount_free(copy);
    return r;
  }
  vmctr_mount **nm = realloc(c->mounts, (c->nmounts + 1) * sizeof(*nm));
  if (!nm) {
    vmctr_mount_free(copy);
    return vmctr__err_nomem();
  }
  c->mounts = nm;
  c->mounts[c->nmounts++] = copy;
  return 0;
}

static int strv_push(char ***v, const char *s) {
  size_t n = vmctr__strv_len(*v);
  char *d = strdup(s);
  char **nv = realloc(*v, (n + 2) * sizeof(*nv));
  if (nv)
    *v = nv;
  if (!d || !nv) {
    free(d);
    return vmctr__err_nomem();
  }
  nv[n] = d;
  nv[n + 1] = NULL;
  return 0;
}

static bool valid_address(const char *a) {
  unsigned char buf[16];
  return a && (inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1);
}

int vmctr_container_config_add_dns_server(vmctr_container_config *c, const char *address) {
  if (!c || !valid_address(address))
    return vmctr__err(VMCTR_EINVAL, 0, "DNS server '%s' is not an IPv4 or IPv6 address",
                      address ? address : "(null)");
  return strv_push(&c->dns_servers, address);
}

int vmctr_container_config_add_dns_search(vmctr_container_config *c, const char *domain) {
  if (!c || !domain || strlen(domain) > 253 || !valid_hostname(domain) )
    return vmctr__err(VMCTR_EINVAL, 0, "DNS search domain '%s' is not a domain name",
                      domain ? domain : "(null)");
  return strv_push(&c->dns_search, domain);
}

int vmctr_container_config_add_host(vmctr_container_config *c, const char *hostname, const char *address) {
  if (!c || !hostname || !valid_hostname(hostname) || !valid_address(address))
    return vmctr__err(VMCTR_EINVAL, 0, "hosts entry '%s %s': needs a hostname and an IP address",
                      hostname ? hostname : "(null)", address ? address : "(null)");
  char *h = strdup(hostname), *a = strdup(address);
  struct vmctr__kv *n = realloc(c->hosts, (c->nhosts + 1) * sizeof(*n));
  if (n)
    c->hosts = n;
  if (!h || !a || !n) {
    free(h);
    free(a);
    return vmctr__err_nomem();
  }
  c->hosts[c->nhosts++] = (struct vmctr__kv){h, a};
  return 0;
}

int vmctr_container_config_set_template(vmctr_container_config *c, uint32_t mode) {
  if (!c || (mode != VMCTR_VMM_TEMPLATE_DEFAULT && mode != VMCTR_VMM_TEMPLATE_OFF &&
             mode != VMCTR_VMM_TEMPLATE_ON))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_template: %s",
                      !c ? "cfg is NULL" : "unknown mode (VMCTR_VMM_TEMPLATE_DEFAULT, _OFF or _ON)");
  c->template_mode = mode;
  return 0;
}

int vmctr_container_config_set_boot_log(vmctr_container_config *c, const char *path) {
  if (!c || (path && !*path))
    return vmctr__err(VMCTR_EINVAL, 0, "boot log path is empty");
  char *p = NULL;
  if (path && !(p = strdup(path)))
    return vmctr__err_nomem();
  free(c->boot_log);
  c->boot_log = p;
  return 0;
}

int vmctr_container_config_set_limits(vmctr_container_config *c, uint64_t memory, uint32_t millicpus) {
  if (!c || (memory && memory < (4u << 20)))
    return vmctr__err(VMCTR_EINVAL, 0, "memory limit %llu is below 4 MiB", (unsigned long long)memory);
  c->memory_limit = memory;
  c->millicpus = millicpus;
  return 0;
}

/* ---- masked and read-only paths ---- */

/* Absolute and normalized, bounded, no control characters. */
static int check_path(const char *fn, const char *path, size_t i) {
  size_t len;
  if (!path)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: paths[%zu] is NULL", fn, i);
  len = strlen(path);
  if (len > VMCTR_CONTAINER_PATH_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: paths[%zu] is %zu bytes long; the limit is %d", fn, i,
                      len, VMCTR_CONTAINER_PATH_MAX);
  if (path[0] != '/' || len < 2)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: path \"%.256s\" is %s; give an absolute path below "
                      "/ such as /proc/kcore", fn, path, path[0] != '/' ? "relative" : "the root");
  for (size_t k = 0; k < len; k++)
    if ((unsigned char)path[k] < 0x20 || path[k] == 0x7f)
      return vmctr__err(VMCTR_EINVAL, 0, "%s: path %zu holds a control character", fn, i);
  if (!vmctr__agent_path_ok(path))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: path \"%.256s\" is not normalized: remove repeated "
                      "or trailing '/' and \".\" or \"..\" components", fn, path);
  return 0;
}

static int set_paths(vmctr_container_config *c, const char *const *paths, size_t n, const char *fn,
                     bool *has, char ***slot) {
  int r;
  if (n && !paths)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: paths is NULL with n %zu", fn, n);
  if (n > VMCTR_CONTAINER_PATHS_MAX)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu paths; the limit is %d", fn, n,
                      VMCTR_CONTAINER_PATHS_MAX);
  for (size_t i = 0; i < n; i++)
    if ((r = check_path(fn, paths[i], i)) < 0)
      return r;
  char **v = calloc(n + 1, sizeof(*v));
  if (!v)
    return vmctr__err_nomem();
  for (size_t i = 0; i < n; i++)
    if (!(v[i] = strdup(paths[i]))) {
      vmctr__strv_free(v);
      return vmctr__err_nomem();
    }
  vmctr__strv_free(*slot);
  *slot = v;
  *has = true;
  return 0;
}

int vmctr_container_config_set_masked_paths(vmctr_container_config *c, const char *const *paths,
                                            size_t n) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_masked_paths: cfg is NULL");
  return set_paths(c, paths, n, "vmctr_container_config_set_masked_paths", &c->has_masked,
                   &c->masked_paths);
}

int vmctr_container_config_set_readonly_paths(vmctr_container_config *c, const char *const *paths,
                                              size_t n) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_config_set_readonly_paths: cfg is NULL");
  return set_paths(c, paths, n, "vmctr_container_config_set_readonly_paths", &c->has_readonly,
                   &c->readonly_paths);
}

int vmctr__container_config_copy_paths(vmctr_container_config *dst, const vmctr_container_config *src) {
  bool failed = false;
  dst->masked_paths = dup_strv((const char *const *)src->masked_paths, &failed);
  dst->readonly_paths = dup_strv((const char *const *)src->readonly_paths, &failed);
  if (failed) {
    vmctr__strv_free(dst->masked_paths);
    vmctr__strv_free(dst->readonly_paths);
    dst->masked_paths = dst->readonly_paths = NULL;
    return vmctr__err_nomem();
  }
  dst->has_masked = src->has_masked;
  dst->has_readonly = src->has_readonly;
  return 0;
}
