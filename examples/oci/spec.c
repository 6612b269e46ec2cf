/* SPDX-License-Identifier: MIT */
/* vmctr-oci: config.json to libvmctr (spec.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../example-util.h"
#include "log.h"
#include "seccomp.h"
#include "spec.h"
#include "state.h"

#define MAX_CONFIG_BYTES (16u * 1024 * 1024)
#define DEFAULT_OVERHEAD (256ull * 1024 * 1024)

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* The library's last error message, after what failed. */
static int lib_fail(char *err, size_t errlen, const char *what) {
  const vmctr_error *e = vmctr_error_last();
  return fail(err, errlen, "%s: %s", what, e && e->message ? e->message : "failed");
}

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A field that must be absent, or null, or an empty array/object/string. */
static bool empty(const cJSON *v) {
  return !v || cJSON_IsNull(v) || ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child) ||
         (cJSON_IsString(v) && !*v->valuestring);
}

/* An integer in [lo, hi] from a JSON number. */
static bool get_int(const cJSON *v, double lo, double hi, int64_t *out) {
  if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
      v->valuedouble != (double)(int64_t)v->valuedouble)
    return false;
  *out = (int64_t)v->valuedouble;
  return true;
}

const char *oci_guest_arch(const vmctr_bootcfg *boot) {
  const char *a = vmctr_bootcfg_architecture(boot);
  if (a)
    return a;
#if defined(__aarch64__)
  return "aarch64";
#else
  return "x86_64";
#endif
}

/* ---- process ---- */

static const struct { const char *name; uint32_t num; } rlimits[] = {
  {"RLIMIT_CPU", 0}, {"RLIMIT_FSIZE", 1}, {"RLIMIT_DATA", 2}, {"RLIMIT_STACK", 3},
  {"RLIMIT_CORE", 4}, {"RLIMIT_RSS", 5}, {"RLIMIT_NPROC", 6}, {"RLIMIT_NOFILE", 7},
  {"RLIMIT_MEMLOCK", 8}, {"RLIMIT_AS", 9}, {"RLIMIT_LOCKS", 10}, {"RLIMIT_SIGPENDING", 11},
  {"RLIMIT_MSGQUEUE", 12}, {"RLIMIT_NICE", 13}, {"RLIMIT_RTPRIO", 14}, {"RLIMIT_RTTIME", 15},
};

/* Whether every name of set `sub` is in set `super` (arrays of strings). */
static bool cap_subset(const cJSON *sub, const cJSON *super) {
  const cJSON *a, *b;
  cJSON_ArrayForEach(a, sub) {
    bool found = false;
    cJSON_ArrayForEach(b, super)
      found |= cJSON_IsString(a) && cJSON_IsString(b) && strcasecmp(a->valuestring, b->valuestring) == 0;
    if (!found)
      return false;
  }
  return true;
}

static int map_capabilities(const cJSON *caps, bool root, vmctr_process_config *p, char *err,
                            size_t errlen) {
  if (!caps || cJSON_IsNull(caps)) {
    /* No capabilities object: none at all, as runc gives. */
    return vmctr_process_config_drop_capability(p, "ALL") < 0 ? lib_fail(err, errlen, "capabilities") : 0;
  }
  if (!cJSON_IsObject(caps))
    return fail(err, errlen, "process.capabilities must be an object");
  static const char *sets[] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
  for (size_t i = 0; i < 5; i++) {
    const cJSON *s = get(caps, sets[i]), *c;
    if (s && !cJSON_IsNull(s) && !cJSON_IsArray(s))
      return fail(err, errlen, "process.capabilities.%s must be an array", sets[i]);
    cJSON_ArrayForEach(c, s) if (!cJSON_IsString(c))
      return fail(err, errlen, "process.capabilities.%s holds a non-string", sets[i]);
  }
  const cJSON *bounding = get(caps, "bounding");
  /* The guest gives a process one set (bounding = permitted = effective, the
   * kernel's rules for a non-root uid): the other sets must fit in it. */
  if (!cap_subset(get(caps, "effective"), bounding) || !cap_subset(get(caps, "permitted"), bounding))
    return fail(err, errlen, "process.capabilities: effective and permitted must be subsets of "
                "bounding (the guest gives one set)");
  /* Ambient: for root they add nothing (root's permitted set is the
   * bounding set on exec); for another uid the guest cannot raise them. */
  if (!empty(get(caps, "ambient")) && (!root || !cap_subset(get(caps, "ambient"), bounding)))
    return fail(err, errlen, "process.capabilities.ambient is supported only for uid 0, as a "
                "subset of bounding");
  if (vmctr_process_config_drop_capability(p, "ALL") < 0)
    return lib_fail(err, errlen, "capabilities");
  const cJSON *c;
  cJSON_ArrayForEach(c, bounding) {
    if (vmctr_process_config_add_capability(p, c->valuestring) < 0)
      /* As runc: a name this guest does not know is skipped, with a warning. */
      oci_log(OCI_LOG_WARN, "capability %s is unknown to the guest: skipped", c->valuestring);
  }
  return 0;
}

int oci_process_from_json(const cJSON *proc, vmctr_process_config **out,
                          bool *terminal, char *err, size_t errlen) {
  vmctr_process_config *p = NULL;
  const cJSON *v, *e;
  int64_t n;
  *out = NULL;
  if (!cJSON_IsObject(proc))
    return fail(err, errlen, "process must be an object");
  if (vmctr_process_config_new(&p) < 0)
    return lib_fail(err, errlen, "process");

  /* args */
  v = get(proc, "args");
  size_t nargs = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
  if (!empty(get(proc, "commandLine")))
    goto refuse_cmdline;
  if (nargs == 0) {
    fail(err, errlen, "process.args must be a non-empty array of strings");
    goto bad;
  }
  const char **args = calloc(nargs, sizeof(*args));
  size_t i = 0;
  cJSON_ArrayForEach(e, v) {
    if (!cJSON_IsString(e)) {
      free(args);
      fail(err, errlen, "process.args[%zu] is not a string", i);
      goto bad;
    }
    args[i++] = e->valuestring;
  }
  /* The args are the whole command (no image config is given: nothing is
   * prepended or defaulted). */
  int r = vmctr_process_config_set_args(p, args, nargs);
  free(args);
  if (r < 0) {
    lib_fail(err, errlen, "process.args");
    goto bad;
  }

  /* env */
  v = get(proc, "env");
  if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v)) {
    fail(err, errlen, "process.env must be an array");
    goto bad;
  }
  cJSON_ArrayForEach(e, v) {
    const char *eq = cJSON_IsString(e) ? strchr(e->valuestring, '=') : NULL;
    if (!eq || eq == e->valuestring) {
      fail(err, errlen, "process.env: \"%s\" is not NAME=VALUE", cJSON_IsString(e) ? e->valuestring : "?");
      goto bad;
    }
    char *name = strndup(e->valuestring, (size_t)(eq - e->valuestring));
    r = vmctr_process_config_set_env(p, name, eq + 1);
    free(name);
    if (r < 0) {
      lib_fail(err, errlen, "process.env");
      goto bad;
    }
  }

  /* cwd */
  v = get(proc, "cwd");
  if (!cJSON_IsString(v) || v->valuestring[0] != '/') {
    fail(err, errlen, "process.cwd must be an absolute path");
    goto bad;
  }
  if (vmctr_process_config_set_cwd(p, v->valuestring) < 0) {
    lib_fail(err, errlen, "process.cwd");
    goto bad;
  }

  /* user */
  const cJSON *user = get(proc, "user");
  int64_t uid = 0, gid = 0;
  if (user && !cJSON_IsObject(user)) {
    fail(err, errlen, "process.user must be an object");
    goto bad;
  }
  if (user) {
    if ((get(user, "uid") && !get_int(get(user, "uid"), 0, 4294967294.0, &uid)) ||
        (get(user, "gid") && !get_int(get(user, "gid"), 0, 4294967294.0, &gid))) {
      fail(err, errlen, "process.user.uid and gid must be integers of 0..4294967294");
      goto bad;
    }
    if (!empty(get(user, "username"))) {
      fail(err, errlen, "process.user.username is for Windows containers");
      goto bad;
    }
    v = get(user, "umask");
    if (v && !cJSON_IsNull(v) && !(get_int(v, 0, 0777, &n) && n == 022)) {
      fail(err, errlen, "process.user.umask other than 0022 is not supported");
      goto bad;
    }
  }
  char ug[32];
  snprintf(ug, sizeof(ug), "%lld:%lld", (long long)uid, (long long)gid);
  if (vmctr_process_config_set_user(p, ug) < 0) {
    lib_fail(err, errlen, "process.user");
    goto bad;
  }
  v = user ? get(user, "additionalGids") : NULL;
  {
    uint32_t gids[64];
    size_t ng = 0;
    cJSON_ArrayForEach(e, v) {
      if (ng == 64 || !get_int(e, 0, 4294967294.0, &n)) {
        fail(err, errlen, "process.user.additionalGids: at most 64 integers");
        goto bad;
      }
      gids[ng++] = (uint32_t)n;
    }
    /* Always set: the spec's list is the whole list (empty: none). */
    if (vmctr_process_config_set_groups(p, gids, ng) < 0) {
      lib_fail(err, errlen, "process.user.additionalGids");
      goto bad;
    }
  }

  /* terminal */
  v = get(proc, "terminal");
  *terminal = cJSON_IsTrue(v);
  if (*terminal) {
    int64_t rows = 0, cols = 0;
    const cJSON *cs = get(proc, "consoleSize");
    if (cs) {
      get_int(get(cs, "height"), 0, 65535, &rows);
      get_int(get(cs, "width"), 0, 65535, &cols);
    }
    if (vmctr_process_config_set_terminal(p, 1, (uint32_t)rows, (uint32_t)cols) < 0) {
      lib_fail(err, errlen, "process.terminal");
      goto bad;
    }
  }

  /* rlimits */
  v = get(proc, "rlimits");
  cJSON_ArrayForEach(e, v) {
    const cJSON *t = get(e, "type");
    size_t k;
    for (k = 0; cJSON_IsString(t) && k < sizeof(rlimits) / sizeof(rlimits[0]); k++)
      if (strcmp(t->valuestring, rlimits[k].name) == 0)
        break;
    if (!cJSON_IsString(t) || k == sizeof(rlimits) / sizeof(rlimits[0])) {
      fail(err, errlen, "process.rlimits: unknown type %s", cJSON_IsString(t) ? t->valuestring : "?");
      goto bad;
    }
    /* JSON numbers are doubles: 2^64-1 (unlimited) arrives as 2^64. */
    const cJSON *s = get(e, "soft"), *h = get(e, "hard");
    if (!cJSON_IsNumber(s) || !cJSON_IsNumber(h) || s->valuedouble < 0 || h->valuedouble < 0) {
      fail(err, errlen, "process.rlimits %s: soft and hard must be numbers", rlimits[k].name);
      goto bad;
    }
    uint64_t us = s->valuedouble >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)s->valuedouble;
    uint64_t uh = h->valuedouble >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)h->valuedouble;
    if (vmctr_process_config_set_rlimit(p, rlimits[k].num, us, uh) < 0) {
      lib_fail(err, errlen, "process.rlimits");
      goto bad;
    }
  }

  if (map_capabilities(get(proc, "capabilities"), uid == 0, p, err, errlen) < 0)
    goto bad;
  if (vmctr_process_config_set_no_new_privileges(p, cJSON_IsTrue(get(proc, "noNewPrivileges"))) < 0) {
    lib_fail(err, errlen, "process.noNewPrivileges");
    goto bad;
  }
  /* No profile in the spec is no filter, as runc does; linux.seccomp (when
   * given) is set by the caller, per process. */
  if (vmctr_process_config_set_seccomp(p, VMCTR_SECCOMP_UNCONFINED) < 0) {
    lib_fail(err, errlen, "seccomp");
    goto bad;
  }
  /* Host LSM labels: the guest kernel has no AppArmor or SELinux policy; the
   * VM is the boundary (doc/oci-runtime.md). Said, not dropped silently. */
  v = get(proc, "apparmorProfile");
  if (!empty(v))
    oci_log(OCI_LOG_INFO, "process.apparmorProfile %s: the guest has no AppArmor; the VM confines "
            "the container instead", v->valuestring);
  v = get(proc, "selinuxLabel");
  if (!empty(v))
    oci_log(OCI_LOG_INFO, "process.selinuxLabel: the guest has no SELinux; the VM confines the "
            "container instead");
  if (!empty(get(proc, "ioPriority")) || !empty(get(proc, "scheduler")) ||
      !empty(get(proc, "execCPUAffinity"))) {
    fail(err, errlen, "process.ioPriority, scheduler and execCPUAffinity are not supported");
    goto bad;
  }
  *out = p;
  return 0;
refuse_cmdline:
  fail(err, errlen, "process.commandLine is for Windows containers");
bad:
  vmctr_process_config_free(p);
  return -1;
}

/* ---- mounts ---- */

/* The mounts every guest makes itself (the kernel filesystems and /dev):
 * accepted as they are. */
static bool standard_mount(const char *type, const char *dest) {
  static const struct { const char *type, *dest; } std[] = {
    {"proc", "/proc"},        {"sysfs", "/sys"},           {"tmpfs", "/dev"},
    {"devpts", "/dev/pts"},   {"mqueue", "/dev/mqueue"},   {"tmpfs", "/dev/shm"},
    {"cgroup", "/sys/fs/cgroup"}, {"cgroup2", "/sys/fs/cgroup"}, {"shm", "/dev/shm"},
  };
  for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
    if (strcmp(type, std[i].type) == 0 && strcmp(dest, std[i].dest) == 0)
      return true;
  return false;
}

/* Split the options of a mount: ro, propagation and bind flags are read
 * here; the others are kept as a comma list for vmctr_mount_set_options.
 * tmpfs size= and mode= are returned apart. */
static int mount_options(const cJSON *opts, const char *dest, bool *ro, bool *bind, char *rest,
                         size_t restcap, uint64_t *size, uint32_t *mode, char *err, size_t errlen) {
  const cJSON *o;
  rest[0] = '\0';
  *ro = *bind = false;
  cJSON_ArrayForEach(o, opts) {
    if (!cJSON_IsString(o))
      return fail(err, errlen, "mount %s: options must be strings", dest);
    const char *s = o->valuestring;
    if (strcmp(s, "ro") == 0) {
      *ro = true;
    } else if (strcmp(s, "rw") == 0) {
      *ro = false;
    } else if (strcmp(s, "bind") == 0 || strcmp(s, "rbind") == 0) {
      *bind = true;
    } else if (!strcmp(s, "private") || !strcmp(s, "rprivate") || !strcmp(s, "slave") ||
               !strcmp(s, "rslave") || !strcmp(s, "unbindable") || !strcmp(s, "runbindable")) {
      /* Propagation: nothing propagates between the host and a VM anyway. */
    } else if (!strcmp(s, "shared") || !strcmp(s, "rshared")) {
      return fail(err, errlen, "mount %s: %s propagation cannot cross into a VM", dest, s);
    } else if (!strcmp(s, "z") || !strcmp(s, "Z")) {
      oci_log(OCI_LOG_INFO, "mount %s: SELinux relabel option %s: the guest has no SELinux", dest, s);
    } else if (size && strncmp(s, "size=", 5) == 0) {
      char *end;
      unsigned long long v = strtoull(s + 5, &end, 10);
      unsigned long long mul = *end == 'k' || *end == 'K' ? 1024ull : *end == 'm' || *end == 'M'
                               ? 1048576ull : *end == 'g' || *end == 'G' ? 1073741824ull : 1;
      if (end == s + 5 || (mul != 1 && end[1]) || (mul == 1 && *end))
        return fail(err, errlen, "mount %s: bad %s", dest, s);
      *size = v * mul;
    } else if (mode && strncmp(s, "mode=", 5) == 0) {
      char *end;
      unsigned long v = strtoul(s + 5, &end, 8);
      if (end == s + 5 || *end || v > 07777)
        return fail(err, errlen, "mount %s: bad %s", dest, s);
      *mode = (uint32_t)v;
    } else if (!strcmp(s, "nosuid") || !strcmp(s, "nodev") || !strcmp(s, "noexec") ||
               !strcmp(s, "suid") || !strcmp(s, "dev") || !strcmp(s, "exec") ||
               !strcmp(s, "noatime") || !strcmp(s, "relatime") || !strcmp(s, "strictatime") ||
               !strcmp(s, "nodiratime") || !strcmp(s, "sync") || !strcmp(s, "dirsync")) {
      size_t len = strlen(rest);
      if (len + strlen(s) + 2 > restcap)
        return fail(err, errlen, "mount %s: too many options", dest);
      snprintf(rest + len, restcap - len, "%s%s", len ? "," : "", s);
    } else {
      return fail(err, errlen, "mount %s: option %s is not supported", dest, s);
    }
  }
  return 0;
}

static int map_mount(const cJSON *m, const char *bundle, vmctr_container_config *cfg, char *err,
                     size_t errlen) {
  const cJSON *d = get(m, "destination"), *t = get(m, "type"), *s = get(m, "source");
  if (!cJSON_IsString(d) || d->valuestring[0] != '/')
    return fail(err, errlen, "mounts: destination must be an absolute path");
  const char *dest = d->valuestring;
  const char *type = cJSON_IsString(t) ? t->valuestring : "";
  bool ro, bind;
  char rest[512];
  uint64_t size = 0;
  uint32_t mode = VMCTR_MOUNT_DEFAULT_TMPFS_MODE;
  bool is_tmpfs = strcmp(type, "tmpfs") == 0;
  /* The guest makes these itself, with its own options (newinstance,
   * ptmxmode, gid=5 for devpts, ...). */
  if (standard_mount(type, dest))
    return 0;
  if (mount_options(get(m, "options"), dest, &ro, &bind, rest, sizeof(rest), is_tmpfs ? &size : NULL,
                    is_tmpfs ? &mode : NULL, err, errlen) < 0)
    return -1;
  if (!empty(get(m, "uidMappings")) || !empty(get(m, "gidMappings")))
    return fail(err, errlen, "mount %s: id-mapped mounts are not supported", dest);
  if (strcmp(type, "bind") == 0 || (bind && (!*type || strcmp(type, "none") == 0)))
    bind = true;
  else if (bind)
    return fail(err, errlen, "mount %s: a bind mount of type %s", dest, type);

  vmctr_mount *vm = NULL;
  int r;
  if (bind) {
    if (!cJSON_IsString(s) || !*s->valuestring)
      return fail(err, errlen, "mount %s: a bind mount needs a source", dest);
    char src[PATH_MAX];
    if (s->valuestring[0] == '/')
      snprintf(src, sizeof(src), "%s", s->valuestring);
    else
      snprintf(src, sizeof(src), "%s/%s", bundle, s->valuestring);
    struct stat sb;
    if (stat(src, &sb) < 0)
      return fail(err, errlen, "mount %s: source %s: %s", dest, src, strerror(errno));
    if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
      return fail(err, errlen, "mount %s: source %s is neither a directory nor a regular file "
                  "(devices and sockets cannot be shared into a VM)", dest, src);
    r = vmctr_mount_new_share(&vm, src, dest);
  } else if (is_tmpfs) {
    r = vmctr_mount_new_tmpfs(&vm, dest);
    if (r == 0 && size)
      r = vmctr_mount_set_tmpfs_size(vm, size);
    if (r == 0)
      r = vmctr_mount_set_tmpfs_mode(vm, mode);
  } else {
    return fail(err, errlen, "mount %s: type \"%s\" is not supported (bind, tmpfs and the kernel "
                "filesystems at their usual places are)", dest, type);
  }
  if (r == 0 && ro)
    r = vmctr_mount_set_read_only(vm, 1);
  if (r == 0 && rest[0])
    r = vmctr_mount_set_options(vm, rest);
  if (r == 0)
    r = vmctr_container_config_add_mount(cfg, vm);
  vmctr_mount_free(vm);
  return r < 0 ? lib_fail(err, errlen, dest) : 0;
}

/* ---- linux ---- */

static int map_namespaces(const cJSON *ns, oci_spec *s, char *err, size_t errlen) {
  const cJSON *n;
  cJSON_ArrayForEach(n, ns) {
    const cJSON *t = get(n, "type"), *p = get(n, "path");
    if (!cJSON_IsString(t))
      return fail(err, errlen, "linux.namespaces: type must be a string");
    const char *type = t->valuestring;
    bool has_path = cJSON_IsString(p) && *p->valuestring;
    if (strcmp(type, "network") == 0) {
      if (has_path)
        s->netns_path = p->valuestring;
      else
        s->new_netns = true;
      continue;
    }
    if (strcmp(type, "user") == 0)
      return fail(err, errlen, "linux.namespaces: user namespaces are not supported (the VM is "
                  "the container's boundary)");
    if (strcmp(type, "pid") && strcmp(type, "ipc") && strcmp(type, "uts") &&
        strcmp(type, "mount") && strcmp(type, "cgroup"))
      return fail(err, errlen, "linux.namespaces: type %s is not supported", type);
    if (has_path)
      return fail(err, errlen, "linux.namespaces: joining the %s namespace %s of another container "
                  "is not possible: each container runs in its own VM", type, p->valuestring);
  }
  return 0;
}

static int map_paths(const cJSON *list, const char *what, char *err, size_t errlen,
                     int (*set)(vmctr_container_config *, const char *const *, size_t),
                     vmctr_container_config *cfg) {
  if (!list || cJSON_IsNull(list))
    return 0;
  if (!cJSON_IsArray(list))
    return fail(err, errlen, "linux.%s must be an array", what);
  size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
  const char **paths = calloc(n ? n : 1, sizeof(*paths));
  const cJSON *e;
  cJSON_ArrayForEach(e, list) {
    if (!cJSON_IsString(e)) {
      free(paths);
      return fail(err, errlen, "linux.%s holds a non-string", what);
    }
    paths[i++] = e->valuestring;
  }
  int r = set(cfg, paths, n);
  free(paths);
  return r < 0 ? lib_fail(err, errlen, what) : 0;
}

static int map_resources(const cJSON *res, oci_spec *s, uint64_t overhead, int64_t *vcpus,
                         char *err, size_t errlen) {
  uint64_t memory = 0;
  uint32_t millicpus = 0;
  int64_t n;
  if (!res || cJSON_IsNull(res))
    return 0;
  const cJSON *mem = get(res, "memory"), *cpu = get(res, "cpu"), *v;
  if (mem) {
    v = get(mem, "limit");
    if (v && get_int(v, -1, 9.2e18, &n) && n > 0)
      memory = (uint64_t)n;
    else if (v && !(cJSON_IsNumber(v) && v->valuedouble <= 0))
      return fail(err, errlen, "linux.resources.memory.limit must be an integer");
    if (!empty(get(mem, "kernel")) || !empty(get(mem, "kernelTCP")))
      return fail(err, errlen, "linux.resources.memory.kernel and kernelTCP are not supported");
    /* swap, reservation, swappiness, disableOOMKiller: the VM has no swap and
     * one container; they are noted, not enforced. */
    if (!empty(get(mem, "reservation")) || !empty(get(mem, "swap")) || !empty(get(mem, "swappiness")))
      oci_log(OCI_LOG_INFO, "linux.resources.memory: reservation, swap and swappiness have no "
              "effect in a VM without swap");
  }
  if (cpu) {
    int64_t quota = 0, period = 100000;
    if (get(cpu, "quota") && !get_int(get(cpu, "quota"), -1, 1e15, &quota))
      return fail(err, errlen, "linux.resources.cpu.quota must be an integer");
    if (get(cpu, "period") && !(get_int(get(cpu, "period"), 0, 1e9, &period)))
      return fail(err, errlen, "linux.resources.cpu.period must be an integer");
    if (period == 0)
      period = 100000;
    if (quota > 0) {
      uint64_t mc = (uint64_t)quota * 1000u / (uint64_t)period;
      millicpus = mc == 0 ? 1 : mc > 1024000 ? 1024000 : (uint32_t)mc;
      *vcpus = (quota + period - 1) / period;
    }
    v = get(cpu, "cpus");
    if (*vcpus == 0 && cJSON_IsString(v) && *v->valuestring) {
      /* A cpuset "0-1,3": the VM gets that many vCPUs. */
      int64_t count = 0;
      const char *p = v->valuestring;
      while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0)
          return fail(err, errlen, "linux.resources.cpu.cpus: bad list %s", v->valuestring);
        if (*end == '-') {
          p = end + 1;
          b = strtol(p, &end, 10);
          if (end == p || b < a)
            return fail(err, errlen, "linux.resources.cpu.cpus: bad list %s", v->valuestring);
        }
        count += b - a + 1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
          return fail(err, errlen, "linux.resources.cpu.cpus: bad list %s", v->valuestring);
      }
      *vcpus = count;
    }
    if (!empty(get(cpu, "realtimeRuntime")) || !empty(get(cpu, "realtimePeriod")))
      return fail(err, errlen, "linux.resources.cpu: real-time scheduling is not supported");
    if (!empty(get(cpu, "shares")) || !empty(get(cpu, "mems")) || !empty(get(cpu, "idle")))
      oci_log(OCI_LOG_INFO, "linux.resources.cpu: shares, mems and idle weigh a container against "
              "others; this VM holds one");
  }
  v = get(res, "pids");
  if (v && get(v, "limit") && !get_int(get(v, "limit"), -1, 1e12, &n))
    return fail(err, errlen, "linux.resources.pids.limit must be an integer");
  if (v && get(v, "limit") && n > 0 && vmctr_container_config_set_pids_limit(s->cfg, n) < 0)
    return lib_fail(err, errlen, "linux.resources.pids.limit");
  if (!empty(get(res, "hugepageLimits")) || !empty(get(res, "rdma")) || !empty(get(res, "network")) ||
      !empty(get(res, "unified")))
    return fail(err, errlen, "linux.resources: hugepageLimits, rdma, network and unified are not "
                "supported");
  v = get(res, "blockIO");
  if (v && cJSON_IsObject(v)) {
    const cJSON *f;
    cJSON_ArrayForEach(f, v) if (!empty(f) && !(cJSON_IsNumber(f) && f->valuedouble == 0))
      return fail(err, errlen, "linux.resources.blockIO.%s is not supported", f->string);
  }
  /* devices: cgroup device rules. The guest's devices are the VM's own
   * virtual ones; the rules are accepted as the default policy. */
  if (memory) {
    uint64_t vm = memory + overhead;
    vm = (vm + (1u << 20) - 1) & ~((uint64_t)(1u << 20) - 1);
    if (vm < VMCTR_BOOTCFG_MIN_MEMORY)
      vm = VMCTR_BOOTCFG_MIN_MEMORY;
    if (vmctr_bootcfg_set_memory(s->boot, vm) < 0)
      return lib_fail(err, errlen, "linux.resources.memory.limit");
  }
  if ((memory || millicpus) && vmctr_container_config_set_limits(s->cfg, memory, millicpus) < 0)
    return lib_fail(err, errlen, "linux.resources");
  return 0;
}

/* A size annotation: bytes, or with K, M, G. */
static bool parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || errno)
    return false;
  uint64_t mul = 1;
  if (*end == 'K' || *end == 'k') mul = 1ull << 10, end++;
  else if (*end == 'M' || *end == 'm') mul = 1ull << 20, end++;
  else if (*end == 'G' || *end == 'g') mul = 1ull << 30, end++;
  if (*end == 'i' || *end == 'B') end++;
  if (*end)
    return false;
  *out = v * mul;
  return true;
}

static int map_annotations(const cJSON *ann, oci_spec *s, uint64_t *overhead, int64_t *vcpus,
                           char *err, size_t errlen) {
  const cJSON *a;
  const char *kernel = NULL;
  cJSON_ArrayForEach(a, ann) {
    if (strncmp(a->string, OCI_ANNOTATION_PREFIX, strlen(OCI_ANNOTATION_PREFIX)) != 0)
      continue;
    const char *key = a->string + strlen(OCI_ANNOTATION_PREFIX);
    if (!cJSON_IsString(a))
      return fail(err, errlen, "annotation %s must be a string", a->string);
    const char *val = a->valuestring;
    int r = 0;
    if (strcmp(key, "kernel") == 0) {
      kernel = val;
      r = vmctr_bootcfg_set_kernel(s->boot, val);
    } else if (strcmp(key, "initfs") == 0) {
      r = vmctr_bootcfg_set_initfs(s->boot, val);
    } else if (strcmp(key, "memory-overhead") == 0) {
      if (!parse_size(val, overhead))
        return fail(err, errlen, "annotation %s: \"%s\" is not a size (such as 256M)", a->string, val);
    } else if (strcmp(key, "cpus") == 0) {
      char *end;
      long v = strtol(val, &end, 10);
      if (end == val || *end || v < 1 || v > 256)
        return fail(err, errlen, "annotation %s: \"%s\" is not a CPU count", a->string, val);
      *vcpus = -v; /* negative: chosen, not derived */
    } else if (strcmp(key, "nested-virtualization") == 0) {
      if (strcmp(val, "true") && strcmp(val, "false"))
        return fail(err, errlen, "annotation %s must be \"true\" or \"false\"", a->string);
      r = vmctr_bootcfg_set_nested_virtualization(s->boot, strcmp(val, "true") == 0);
    } else if (strcmp(key, "template") == 0) {
      uint32_t mode = !strcmp(val, "on") ? VMCTR_VMM_TEMPLATE_ON : !strcmp(val, "off")
                      ? VMCTR_VMM_TEMPLATE_OFF : UINT32_MAX;
      if (mode == UINT32_MAX)
        return fail(err, errlen, "annotation %s must be \"on\" or \"off\"", a->string);
      r = vmctr_container_config_set_template(s->cfg, mode);
    } else {
      return fail(err, errlen, "annotation %s is unknown (doc/oci-runtime.md lists the %s* ones)",
                  a->string, OCI_ANNOTATION_PREFIX);
    }
    if (r < 0)
      return lib_fail(err, errlen, a->string);
  }
  if (!kernel) {
    const char *k = example_default_kernel();
    if (k && vmctr_bootcfg_set_kernel(s->boot, k) < 0)
      return lib_fail(err, errlen, "kernel");
  }
  return 0;
}

int oci_apply_seccomp(const oci_spec *s, vmctr_process_config *p, char *err, size_t errlen) {
  if (!s->seccomp_prog)
    return 0;
  if (vmctr_process_config_set_seccomp_filter(p, s->seccomp_prog, s->seccomp_len) < 0)
    return lib_fail(err, errlen, "linux.seccomp");
  return 0;
}

void oci_spec_free(oci_spec *s) {
  vmctr_bootcfg_free(s->boot);
  vmctr_container_config_free(s->cfg);
  vmctr_process_config_free(s->init);
  vmctr_mount_free(s->root);
  cJSON_Delete(s->json);
  free(s->seccomp_prog);
  free(s->bundle);
  free(s->rootfs);
  memset(s, 0, sizeof(*s));
}

int oci_spec_load(const char *bundle, oci_spec *s, char *err, size_t errlen) {
  char path[PATH_MAX], abs[PATH_MAX];
  memset(s, 0, sizeof(*s));
  if (!realpath(bundle, abs))
    return fail(err, errlen, "bundle %s: %s", bundle, strerror(errno));
  s->bundle = strdup(abs);
  snprintf(path, sizeof(path), "%s/config.json", abs);
  if (!(s->json = oci_read_json(path, MAX_CONFIG_BYTES, err, errlen)))
    goto bad;
  const cJSON *j = s->json, *v, *linux_ = get(j, "linux");

  v = get(j, "ociVersion");
  if (!cJSON_IsString(v) || strncmp(v->valuestring, "1.", 2) != 0) {
    fail(err, errlen, "ociVersion %s is not 1.x", cJSON_IsString(v) ? v->valuestring : "(none)");
    goto bad;
  }
  if (vmctr_bootcfg_new(&s->boot) < 0 || vmctr_container_config_new(&s->cfg) < 0) {
    lib_fail(err, errlen, "config");
    goto bad;
  }

  /* root: the bundle's rootfs directory, shared into the VM. */
  const cJSON *root = get(j, "root");
  v = root ? get(root, "path") : NULL;
  if (!cJSON_IsString(v) || !*v->valuestring) {
    fail(err, errlen, "root.path must be set");
    goto bad;
  }
  if (v->valuestring[0] == '/')
    snprintf(path, sizeof(path), "%s", v->valuestring);
  else
    snprintf(path, sizeof(path), "%s/%s", abs, v->valuestring);
  struct stat sb;
  char real[PATH_MAX];
  if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode) || !realpath(path, real)) {
    fail(err, errlen, "root.path %s is not a directory", path);
    goto bad;
  }
  s->rootfs = strdup(real);
  if (vmctr_mount_new_share(&s->root, real, NULL) < 0 ||
      (cJSON_IsTrue(get(root, "readonly")) && vmctr_mount_set_read_only(s->root, 1) < 0)) {
    lib_fail(err, errlen, "root");
    goto bad;
  }

  uint64_t overhead = DEFAULT_OVERHEAD;
  int64_t vcpus = 0;
  if (map_annotations(get(j, "annotations"), s, &overhead, &vcpus, err, errlen) < 0)
    goto bad;
  const char *arch = oci_guest_arch(s->boot);

  /* process */
  vmctr_process_config *p = NULL;
  if (oci_process_from_json(get(j, "process"), &p, &s->terminal, err, errlen) < 0)
    goto bad;
  const cJSON *sc = linux_ ? get(linux_, "seccomp") : NULL;
  if (!empty(sc)) {
    void *prog = NULL;
    size_t plen = 0;
    if (oci_seccomp_compile(sc, arch, &prog, &plen, err, errlen) < 0) {
      vmctr_process_config_free(p);
      goto bad;
    }
    s->seccomp_prog = prog;
    s->seccomp_len = plen;
    if (oci_apply_seccomp(s, p, err, errlen) < 0) {
      vmctr_process_config_free(p);
      goto bad;
    }
  }
  s->init = p;
  v = get(get(j, "process"), "oomScoreAdj");
  int64_t n;
  if (v && !cJSON_IsNull(v)) {
    if (!get_int(v, -1000, 1000, &n)) {
      fail(err, errlen, "process.oomScoreAdj must be an integer of -1000..1000");
      goto bad;
    }
    s->has_oom_score_adj = true;
    s->oom_score_adj = (int)n;
  }

  /* hostname, domainname */
  v = get(j, "hostname");
  if (!empty(v) && vmctr_container_config_set_hostname(s->cfg, v->valuestring) < 0) {
    lib_fail(err, errlen, "hostname");
    goto bad;
  }
  if (!empty(get(j, "domainname"))) {
    fail(err, errlen, "domainname is not supported");
    goto bad;
  }

  /* mounts */
  const cJSON *m;
  cJSON_ArrayForEach(m, get(j, "mounts")) {
    if (map_mount(m, abs, s->cfg, err, errlen) < 0)
      goto bad;
  }

  /* hooks are run by main.c; here only their shape. */
  v = get(j, "hooks");
  if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v)) {
    fail(err, errlen, "hooks must be an object");
    goto bad;
  }
  if (v && !empty(get(v, "createContainer"))) {
    fail(err, errlen, "hooks.createContainer runs in the container's namespaces, which are in the "
         "VM: not supported");
    goto bad;
  }
  if (v && !empty(get(v, "startContainer"))) {
    fail(err, errlen, "hooks.startContainer runs in the container, which is in the VM: not "
         "supported");
    goto bad;
  }

  /* linux */
  if (linux_) {
    if (map_namespaces(get(linux_, "namespaces"), s, err, errlen) < 0)
      goto bad;
    const cJSON *sys;
    cJSON_ArrayForEach(sys, get(linux_, "sysctl")) {
      if (!cJSON_IsString(sys) ||
          vmctr_container_config_set_sysctl(s->cfg, sys->string, sys->valuestring) < 0) {
        if (cJSON_IsString(sys))
          lib_fail(err, errlen, "linux.sysctl");
        else
          fail(err, errlen, "linux.sysctl.%s must be a string", sys->string);
        goto bad;
      }
    }
    if (map_resources(get(linux_, "resources"), s, overhead, &vcpus, err, errlen) < 0)
      goto bad;
    if (map_paths(get(linux_, "maskedPaths"), "maskedPaths", err, errlen,
                  vmctr_container_config_set_masked_paths, s->cfg) < 0 ||
        map_paths(get(linux_, "readonlyPaths"), "readonlyPaths", err, errlen,
                  vmctr_container_config_set_readonly_paths, s->cfg) < 0)
      goto bad;
    if (!empty(get(linux_, "uidMappings")) || !empty(get(linux_, "gidMappings"))) {
      fail(err, errlen, "linux.uidMappings and gidMappings (user namespaces) are not supported");
      goto bad;
    }
    if (!empty(get(linux_, "devices"))) {
      fail(err, errlen, "linux.devices: host devices cannot be passed into the VM");
      goto bad;
    }
    v = get(linux_, "rootfsPropagation");
    if (cJSON_IsString(v) && strstr(v->valuestring, "shared")) {
      fail(err, errlen, "linux.rootfsPropagation %s cannot cross into a VM", v->valuestring);
      goto bad;
    }
    if (!empty(get(linux_, "intelRdt")) || !empty(get(linux_, "personality")) ||
        !empty(get(linux_, "timeOffsets")) || !empty(get(linux_, "mountLabel"))) {
      fail(err, errlen, "linux.intelRdt, personality, timeOffsets and mountLabel are not supported");
      goto bad;
    }
    /* cgroupsPath names the host cgroup of the container's processes, which
     * here are the monitor and the VM: they stay in the caller's cgroup. */
    v = get(linux_, "cgroupsPath");
    if (!empty(v))
      oci_log(OCI_LOG_DEBUG, "linux.cgroupsPath %s: the VM's processes stay in the runtime's cgroup",
              v->valuestring);
  }
  if (vcpus != 0 && vmctr_bootcfg_set_cpus(s->boot, (uint32_t)(vcpus < 0 ? -vcpus : vcpus)) < 0) {
    lib_fail(err, errlen, "cpus");
    goto bad;
  }
  if (!empty(get(j, "windows")) || !empty(get(j, "solaris")) || !empty(get(j, "vm"))) {
    fail(err, errlen, "windows, solaris and vm sections are not supported");
    goto bad;
  }
  return 0;
bad:
  oci_spec_free(s);
  return -1;
}
