/* SPDX-License-Identifier: MIT */
/* The process configuration builder (vmctr_process_config_*). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "core/util.h"

struct vmctr__outcb *vmctr__outcb_ref(struct vmctr__outcb *cb) {
  if (cb)
    __atomic_add_fetch(&cb->refs, 1, __ATOMIC_RELAXED);
  return cb;
}

void vmctr__outcb_unref(struct vmctr__outcb *cb) {
  if (!cb || __atomic_sub_fetch(&cb->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  if (cb->destroy)
    cb->destroy(cb->userdata);
  free(cb);
}

/* Copy n strings into a NULL-terminated vector (n = 0 gives an empty one). */
static int dup_strings(const char *const *src, size_t n, char ***out, const char *what) {
  if (n > 0 && !src)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: NULL array with %zu entries", what, n);
  if (n > 65536)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: too many entries (%zu, at most 65536)", what, n);
  char **v = calloc(n + 1, sizeof(*v));
  if (!v)
    return vmctr__err_nomem();
  for (size_t i = 0; i < n; i++) {
    if (!src[i]) {
      vmctr__strv_free(v);
      return vmctr__err(VMCTR_EINVAL, 0, "%s: entry %zu is NULL", what, i);
    }
    if (!(v[i] = strdup(src[i]))) {
      vmctr__strv_free(v);
      return vmctr__err_nomem();
    }
  }
  *out = v;
  return 0;
}

int vmctr_process_config_new(vmctr_process_config **out) {
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_new: out is NULL");
  vmctr_process_config *p = calloc(1, sizeof(*p));
  if (!p)
    return vmctr__err_nomem();
  p->stdio[0] = p->stdio[1] = p->stdio[2] = VMCTR_STDIO_NULL;
  p->caps = VMCTR_AGENT_CAPS_DEFAULT;
  p->seccomp = VMCTR_SECCOMP_DEFAULT;
  *out = p;
  return 0;
}

void vmctr_process_config_free(vmctr_process_config *p) {
  if (!p)
    return;
  vmctr__strv_free(p->args);
  vmctr__strv_free(p->entrypoint);
  for (size_t i = 0; i < p->nenv; i++) {
    free(p->env[i].name);
    free(p->env[i].value);
  }
  free(p->env);
  free(p->cwd);
  free(p->user);
  free(p->groups);
  free(p->filter);
  vmctr__outcb_unref(p->outcb);
  free(p);
}

int vmctr_process_config_clone(vmctr_process_config **out, const vmctr_process_config *src) {
  if (!out || !src)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_clone: NULL argument");
  vmctr_process_config *p;
  int r = vmctr_process_config_new(&p);
  if (r < 0)
    return r;
  *p = *src;
  p->args = p->entrypoint = NULL;
  p->env = NULL;
  p->nenv = 0;
  p->cwd = p->user = NULL;
  p->groups = NULL;
  p->filter = NULL;
  p->filter_len = 0;
  p->outcb = vmctr__outcb_ref(src->outcb);
  if ((src->args && (r = dup_strings((const char *const *)src->args, src->nargs, &p->args, "args")) < 0) ||
      (src->entrypoint &&
       (r = dup_strings((const char *const *)src->entrypoint, src->nentrypoint, &p->entrypoint, "entrypoint")) < 0))
    goto fail;
  if (src->nenv) {
    if (!(p->env = calloc(src->nenv, sizeof(*p->env))))
      goto nomem;
    for (; p->nenv < src->nenv; p->nenv++) {
      const struct vmctr__env *e = &src->env[p->nenv];
      p->env[p->nenv].name = strdup(e->name);
      p->env[p->nenv].value = e->value ? strdup(e->value) : NULL;
      if (!p->env[p->nenv].name || (e->value && !p->env[p->nenv].value)) {
        p->nenv++;
        goto nomem;
      }
    }
  }
  if ((src->cwd && !(p->cwd = strdup(src->cwd))) || (src->user && !(p->user = strdup(src->user))))
    goto nomem;
  if (src->ngroups) {
    if (!(p->groups = malloc(src->ngroups * sizeof(uint32_t))))
      goto nomem;
    memcpy(p->groups, src->groups, src->ngroups * sizeof(uint32_t));
  }
  if (src->filter) {
    if (!(p->filter = malloc(src->filter_len)))
      goto nomem;
    memcpy(p->filter, src->filter, src->filter_len);
    p->filter_len = src->filter_len;
  }
  *out = p;
  return 0;
nomem:
  r = vmctr__err_nomem();
fail:
  vmctr_process_config_free(p);
  return r;
}

static int set_vector(char ***slot, size_t *nslot, bool *has, const char *const *args, size_t n,
                      const char *what) {
  char **v = NULL;
  if (args || n) {
    int r = dup_strings(args, n, &v, what);
    if (r < 0)
      return r;
  }
  vmctr__strv_free(*slot);
  *slot = v;
  *nslot = v ? n : 0;
  *has = v != NULL;
  return 0;
}

int vmctr_process_config_set_args(vmctr_process_config *p, const char *const *args, size_t n) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_args: p is NULL");
  return set_vector(&p->args, &p->nargs, &p->has_args, args, n, "args");
}

int vmctr_process_config_set_entrypoint(vmctr_process_config *p, const char *const *args, size_t n) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_entrypoint: p is NULL");
  return set_vector(&p->entrypoint, &p->nentrypoint, &p->has_entrypoint, args, n, "entrypoint");
}

int vmctr_process_config_set_env(vmctr_process_config *p, const char *name, const char *value) {
  if (!p || !name || !*name || strchr(name, '='))
    return vmctr__err(VMCTR_EINVAL, 0, "environment variable name '%s' is empty or contains '='",
                      name ? name : "(null)");
  char *v = NULL;
  if (value && !(v = strdup(value)))
    return vmctr__err_nomem();
  for (size_t i = 0; i < p->nenv; i++)
    if (strcmp(p->env[i].name, name) == 0) {
      free(p->env[i].value);
      p->env[i].value = v;
      return 0;
    }
  char *nm = strdup(name);
  struct vmctr__env *ne = realloc(p->env, (p->nenv + 1) * sizeof(*ne));
  if (!nm || !ne) {
    free(nm);
    free(v);
    if (ne)
      p->env = ne;
    return vmctr__err_nomem();
  }
  p->env = ne;
  p->env[p->nenv++] = (struct vmctr__env){nm, v};
  return 0;
}

static int set_string(char **slot, const char *s) {
  char *c = NULL;
  if (s && !(c = strdup(s)))
    return vmctr__err_nomem();
  free(*slot);
  *slot = c;
  return 0;
}

int vmctr_process_config_set_cwd(vmctr_process_config *p, const char *cwd) {
  if (!p || (cwd && cwd[0] != '/'))
    return vmctr__err(VMCTR_EINVAL, 0, "working directory '%s' must be an absolute path",
                      cwd ? cwd : "(null)");
  return set_string(&p->cwd, cwd);
}

int vmctr_process_config_set_user(vmctr_process_config *p, const char *user) {
  if (!p || (user && (!*user || strlen(user) > 256 || strchr(user, '\n'))))
    return vmctr__err(VMCTR_EINVAL, 0, "user '%s' is not \"uid\", \"uid:gid\", \"name\" or \"name:group\"",
                      user ? user : "(null)");
  return set_string(&p->user, user);
}

int vmctr_process_config_set_groups(vmctr_process_config *p, const uint32_t *gids, size_t n) {
  if (!p || (n && !gids) || n > 65536)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_groups: bad arguments");
  uint32_t *g = NULL;
  if (n) {
    if (!(g = malloc(n * sizeof(*g))))
      return vmctr__err_nomem();
    memcpy(g, gids, n * sizeof(*g));
  }
  free(p->groups);
  p->groups = g;
  p->ngroups = n;
  p->has_groups = true;
  return 0;
}

int vmctr_process_config_set_rlimit(vmctr_process_config *p, uint32_t resource, uint64_t soft,
                                    uint64_t hard) {
  if (!p || resource >= 16 || soft > hard)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "rlimit %u: unknown resource, or soft limit above hard limit", resource);
  for (size_t i = 0; i < p->nrlimits; i++)
    if (p->rlimits[i].resource == resource) {
      p->rlimits[i].soft = soft;
      p->rlimits[i].hard = hard;
      return 0;
    }
  p->rlimits[p->nrlimits++] = (struct vmctr__rlimit){resource, soft, hard};
  return 0;
}

int vmctr_process_config_set_no_new_privileges(vmctr_process_config *p, int32_t enabled) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_no_new_privileges: p is NULL");
  p->no_new_privs = enabled != 0;
  return 0;
}

int vmctr_process_config_set_terminal(vmctr_process_config *p, int32_t enabled, uint32_t rows,
                                      uint32_t cols) {
  if (!p || rows > 0xffff || cols > 0xffff)
    return vmctr__err(VMCTR_EINVAL, 0, "terminal size %ux%u is out of range", rows, cols);
  p->terminal = enabled != 0;
  p->rows = rows ? rows : 24;
  p->cols = cols ? cols : 80;
  return 0;
}

int vmctr_process_config_set_stdio(vmctr_process_config *p, int32_t in, int32_t out, int32_t err) {
  if (!p || in < VMCTR_STDIO_WRITE || in == VMCTR_STDIO_CALLBACK || out < VMCTR_STDIO_CALLBACK ||
      err < VMCTR_STDIO_CALLBACK)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "stdio (%d, %d, %d): stdin takes an fd, VMCTR_STDIO_NULL or VMCTR_STDIO_WRITE; "
                      "stdout and stderr an fd, VMCTR_STDIO_NULL or VMCTR_STDIO_CALLBACK",
                      in, out, err);
  p->stdio[0] = in;
  p->stdio[1] = out;
  p->stdio[2] = err;
  return 0;
}

int vmctr_process_config_set_output_callback(vmctr_process_config *p, vmctr_output_fn fn,
                                             void *userdata, vmctr_destroy_fn destroy) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_output_callback: p is NULL");
  struct vmctr__outcb *cb = NULL;
  if (fn) {
    if (!(cb = calloc(1, sizeof(*cb))))
      return vmctr__err_nomem();
    *cb = (struct vmctr__outcb){1, fn, userdata, destroy};
  }
  vmctr__outcb_unref(p->outcb);
  p->outcb = cb;
  return 0;
}

/* Linux capability numbers (include/uapi/linux/capability.h), by name. */
static const char *const cap_names[VMCTR_AGENT_CAP_LAST + 1] = {
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
  "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
  "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
  "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
  "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
  "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int vmctr__cap_from_name(const char *name) {
  if (!name)
    return -1;
  if (strncasecmp(name, "CAP_", 4) == 0)
    name += 4;
  if (strcasecmp(name, "ALL") == 0)
    return -2;
  for (int i = 0; i <= (int)VMCTR_AGENT_CAP_LAST; i++)
    if (strcasecmp(name, cap_names[i]) == 0)
      return i;
  return -1;
}

static int change_cap(vmctr_process_config *p, const char *name, bool add, const char *fn) {
  if (!p || !name)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: p and name must be set", fn);
  int c = vmctr__cap_from_name(name);
  if (c == -1)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: \"%s\" is not a capability name (e.g. \"CAP_NET_ADMIN\", "
                      "\"NET_ADMIN\" or \"ALL\")", fn, name);
  uint64_t bits = c == -2 ? VMCTR_AGENT_CAPS_ALL : 1ull << c;
  p->caps = add ? p->caps | bits : p->caps & ~bits;
  return 0;
}

int vmctr_process_config_add_capability(vmctr_process_config *p, const char *name) {
  return change_cap(p, name, true, "vmctr_process_config_add_capability");
}

int vmctr_process_config_drop_capability(vmctr_process_config *p, const char *name) {
  return change_cap(p, name, false, "vmctr_process_config_drop_capability");
}

int vmctr_process_config_set_seccomp(vmctr_process_config *p, uint32_t profile) {
  if (!p || profile > VMCTR_SECCOMP_DEFAULT)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_seccomp: p is NULL or profile %u "
                      "is not VMCTR_SECCOMP_UNCONFINED or VMCTR_SECCOMP_DEFAULT", profile);
  p->seccomp = profile;
  return 0;
}

int vmctr_process_config_set_privileged(vmctr_process_config *p, int32_t enabled) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_config_set_privileged: p is NULL");
  p->privileged = enabled != 0;
  return 0;
}

void vmctr__process_security(const vmctr_process_config *cfg, bool container_privileged, bool is_init,
                             vmctr__agent_spawn_args *s) {
  bool priv = container_privileged || (cfg && cfg->privileged);
  s->has_security = true;
  s->caps = priv ? VMCTR_AGENT_CAPS_ALL : cfg ? cfg->caps : VMCTR_AGENT_CAPS_DEFAULT;
  s->seccomp = priv ? VMCTR_ASECCOMP_UNCONFINED
                    : cfg && cfg->seccomp == VMCTR_SECCOMP_UNCONFINED ? VMCTR_ASECCOMP_UNCONFINED
                                                                      : VMCTR_ASECCOMP_DEFAULT;
  s->relax = is_init && container_privileged ? VMCTR_ARELAX_ALL : 0;
  /* A caller's filter replaces the profile, privileged or not. */
  s->seccomp_filter = cfg ? cfg->filter : NULL;
  s->seccomp_filter_len = cfg && cfg->filter ? cfg->filter_len : 0;
}
