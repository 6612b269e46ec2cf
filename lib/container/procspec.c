/* SPDX-License-Identifier: MIT */
/* From a process configuration and an image's defaults to what the guest
 * runs: docker run's override rules, the environment merge, and user names
 * resolved in the container's own /etc/passwd and /etc/group. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "core/strv.h"
#include "core/util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ACCOUNT_FILE (4u << 20)

void vmctr__procspec_clear(struct vmctr__procspec *s) {
  vmctr__strv_free(s->argv);
  vmctr__strv_free(s->env);
  free(s->cwd);
  free(s->gids);
  memset(s, 0, sizeof(*s));
}

int vmctr__container_check_id(const char *id) {
  size_t n = id ? strlen(id) : 0;
  bool ok = n >= 1 && n <= 64;
  for (size_t i = 0; ok && i < n; i++) {
    char ch = id[i];
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    ok = alnum || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
  }
  if (!ok)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "container id '%s' is not valid: 1..64 characters, [a-zA-Z0-9][a-zA-Z0-9_.-]*",
                      id ? id : "(null)");
  return 0;
}

static void add_n(vmctr__strv *b, char *const *src, size_t count) {
  for (size_t i = 0; src && i < count; i++)
    vmctr__strv_add(b, src[i]);
}

static size_t name_len(const char *kv) {
  const char *eq = strchr(kv, '=');
  return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Image Env, then explicit variables replace or remove by name. */
static int build_env(const vmctr_process_config *p, const vmctr_container_config *cfg, char ***out) {
  vmctr__strv env = VMCTR__STRV_INIT;
  if (cfg && cfg->img_env)
    add_n(&env, cfg->img_env, vmctr__strv_len(cfg->img_env));
  for (size_t i = 0; !env.failed && p && i < p->nenv; i++) {
    const struct vmctr__env *e = &p->env[i];
    size_t nl = strlen(e->name);
    for (size_t j = 0; j < env.n; j++)
      if (name_len(env.v[j]) == nl && strncmp(env.v[j], e->name, nl) == 0) {
        free(env.v[j]);
        memmove(&env.v[j], &env.v[j + 1], (env.n - j) * sizeof(*env.v)); /* and the NULL */
        env.n--;
        break;
      }
    if (e->value)
      vmctr__strv_addf(&env, "%s=%s", e->name, e->value);
  }
  bool has_path = false;
  for (size_t j = 0; j < env.n; j++)
    has_path |= strncmp(env.v[j], "PATH=", 5) == 0;
  if (!has_path)
    vmctr__strv_add(&env, DEFAULT_PATH);
  return vmctr__strv_finish(&env, out);
}

int vmctr__procspec_build(const vmctr_process_config *p, const vmctr_container_config *cfg,
                          bool is_exec, struct vmctr__procspec *out) {
  struct vmctr__procspec s = {0};
  vmctr__strv argv = VMCTR__STRV_INIT;
  int r = 0;
  bool image = cfg && cfg->has_image && !is_exec;

  /* Entrypoint: explicit, else the image's. Cmd: explicit args, else the
   * image's, unless an explicit entrypoint reset it (docker run). */
  if (p && p->has_entrypoint)
    add_n(&argv, p->entrypoint, p->nentrypoint);
  else if (image && cfg->img_entrypoint)
    add_n(&argv, cfg->img_entrypoint, vmctr__strv_len(cfg->img_entrypoint));
  if (p && p->has_args)
    add_n(&argv, p->args, p->nargs);
  else if (image && cfg->img_cmd && !(p && p->has_entrypoint))
    add_n(&argv, cfg->img_cmd, vmctr__strv_len(cfg->img_cmd));
  size_t n = argv.n;
  r = vmctr__strv_finish(&argv, &s.argv);
  if (r == 0 && n == 0)
    r = vmctr__err(VMCTR_EINVAL, 0,
                   "nothing to run: no arguments given and the image has no Entrypoint or Cmd");
  if (r == 0 && s.argv[0][0] == '\0')
    r = vmctr__err(VMCTR_EINVAL, 0, "the program to run is an empty string");
  if (r == 0)
    r = build_env(p, cfg, &s.env);

  const char *cwd = p && p->cwd ? p->cwd : image && cfg->img_workdir ? cfg->img_workdir : "/";
  if (r == 0 && cwd[0] != '/')
    r = vmctr__err(VMCTR_EINVAL, 0, "the image's WorkingDir '%s' is not absolute", cwd);
  if (r == 0 && !(s.cwd = strdup(cwd)))
    r = vmctr__err_nomem();

  const char *user = p && p->user ? p->user : image && cfg->img_user ? cfg->img_user : NULL;
  if (r == 0 && user)
    r = vmctr__resolve_user(cfg ? cfg->img_rootfs : NULL, user, &s.uid, &s.gid, &s.gids, &s.ngids);
  if (r == 0 && p && p->has_groups) {
    free(s.gids);
    s.gids = NULL;
    s.ngids = 0;
    if (p->ngroups) {
      if (!(s.gids = malloc(p->ngroups * sizeof(uint32_t))))
        r = vmctr__err_nomem();
      else {
        memcpy(s.gids, p->groups, p->ngroups * sizeof(uint32_t));
        s.ngids = p->ngroups;
      }
    }
  }
  if (r < 0) {
    vmctr__procspec_clear(&s);
    return r;
  }
  *out = s;
  return 0;
}

/* ---- user resolution ---- */

static bool parse_id(const char *s, uint32_t *out) {
  if (!*s)
    return false;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || errno || v > 0xfffffffeul || s[0] == '-' || s[0] == '+' || s[0] == ' ')
    return false;
  *out = (uint32_t)v;
  return true;
}

/* Read rootfs/etc/<name> without following links out of rootfs. *out NULL
 * and 0 returned when the file does not exist. */
static int read_account_file(const char *rootfs, const char *rel, char **out) {
  *out = NULL;
  int r = vmctr__read_file_in_root(rootfs, rel, MAX_ACCOUNT_FILE, out, NULL);
  if (r == VMCTR_ENOENT) {
    vmctr_error_clear();
    return 0;
  }
  if (r < 0)
    vmctr__err_prefix("the container's user database");
  return r;
}

/* Split one colon-separated line in place into at most max fields. */
static size_t split(char *line, char **f, size_t max) {
  size_t n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == ':') {
      *p = '\0';
      f[n++] = p + 1;
    }
  return n;
}

/* Find name (or, by number, id) in a passwd (id field 2, gid 3) or group
 * (id field 2) text. Returns 1 and fills *id (and *gid for passwd), 0 if
 * absent. */
static int lookup(char *text, const char *name, uint32_t *id, uint32_t *gid, bool passwd) {
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    char *f[7];
    size_t n = split(line, f, 7);
    if (n < (passwd ? 4u : 3u) || strcmp(f[0], name) != 0)
      continue;
    uint32_t a, b = 0;
    if (!parse_id(f[2], &a) || (passwd && !parse_id(f[3], &b)))
      continue;
    *id = a;
    if (gid)
      *gid = b;
    return 1;
  }
  return 0;
}

/* Supplementary groups: every group whose member list names user. */
static int member_groups(char *text, const char *user, uint32_t **gids, size_t *ngids) {
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    char *f[4];
    uint32_t g;
    if (split(line, f, 4) < 4 || !parse_id(f[2], &g))
      continue;
    for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
      if (strcmp(m, user) == 0) {
        if (*ngids >= 65536)
          return vmctr__err(VMCTR_ETOOBIG, 0, "user %s is in too many groups", user);
        uint32_t *ng = realloc(*gids, (*ngids + 1) * sizeof(*ng));
        if (!ng)
          return vmctr__err_nomem();
        *gids = ng;
        ng[(*ngids)++] = g;
        break;
      }
  }
  return 0;
}

int vmctr__resolve_user(const char *rootfs, const char *user, uint32_t *uid, uint32_t *gid,
                        uint32_t **gids, size_t *ngids) {
  char *copy = strdup(user), *passwd = NULL, *group = NULL;
  if (!copy)
    return vmctr__err_nomem();
  char *grp = strchr(copy, ':');
  if (grp)
    *grp++ = '\0';
  uint32_t u = 0, g = 0;
  uint32_t *extra = NULL;
  size_t nextra = 0;
  int r = 0;
  bool need_files = !parse_id(copy, &u) || (grp && !parse_id(grp, &g));

  if (need_files && !rootfs) {
    r = vmctr__err(VMCTR_EINVAL, 0,
                   "user '%s' names an account, but there is no rootfs directory to look it up in; "
                   "give numeric ids (uid:gid)", user);
    goto out;
  }
  if (rootfs && ((r = read_account_file(rootfs, "etc/passwd", &passwd)) < 0 ||
                 (r = read_account_file(rootfs, "etc/group", &group)) < 0))
    goto out;

  if (!parse_id(copy, &u)) {
    if (!passwd || !lookup(passwd, copy, &u, &g, true)) {
      r = vmctr__err(VMCTR_ENOENT, 0, "user '%s' is not in the container's /etc/passwd", copy);
      goto out;
    }
    if (group) {
      char *g2 = strdup(group);
      if (!g2) {
        r = vmctr__err_nomem();
        goto out;
      }
      r = member_groups(g2, copy, &extra, &nextra);
      free(g2);
      if (r < 0)
        goto out;
    }
  } else if (!grp) {
    /* A numeric uid takes its passwd gid when there is one, else 0. */
    g = 0;
    if (passwd) {
      for (char *line = passwd, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
          *next++ = '\0';
        char *f[7];
        uint32_t a, b;
        if (split(line, f, 7) >= 4 && parse_id(f[2], &a) && a == u && parse_id(f[3], &b)) {
          g = b;
          break;
        }
      }
    }
  }
  if (grp && !parse_id(grp, &g)) {
    if (!group || !lookup(group, grp, &g, NULL, false)) {
      r = vmctr__err(VMCTR_ENOENT, 0, "group '%s' is not in the container's /etc/group", grp);
      goto out;
    }
  }
  *uid = u;
  *gid = g;
  *gids = extra;
  *ngids = nextra;
  extra = NULL;
out:
  free(extra);
  free(copy);
  free(passwd);
  free(group);
  return r;
}
