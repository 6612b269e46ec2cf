/* SPDX-License-Identifier: MIT */
/* LinuxContainer internals: the configuration builders' representation and
 * the pure functions that turn a configuration plus an image's defaults into
 * what the guest runs (procspec.c). */
#ifndef VMCTR_CONTAINER_INTERNAL_H
#define VMCTR_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmctr/container.h"

#define VMCTR__MAX_RLIMITS 16

struct vmctr__rlimit {
  uint32_t resource;
  uint64_t soft, hard;
};

/* Output callback shared between copies of a config and the processes made
 * from it: destroy runs when the last reference goes. */
struct vmctr__outcb {
  int refs; /* atomic */
  vmctr_output_fn fn;
  void *userdata;
  vmctr_destroy_fn destroy;
};

struct vmctr__env {
  char *name;
  char *value; /* NULL: removed (overrides an image value) */
};

struct vmctr_process_config {
  char **args;        /* NULL: unset */
  size_t nargs;
  char **entrypoint;  /* NULL: unset; non-NULL with 0 entries: explicitly none */
  size_t nentrypoint;
  bool has_entrypoint;
  bool has_args;
  struct vmctr__env *env;
  size_t nenv;
  char *cwd;
  char *user;
  uint32_t *groups;
  size_t ngroups;
  bool has_groups;
  struct vmctr__rlimit rlimits[VMCTR__MAX_RLIMITS];
  size_t nrlimits;
  bool no_new_privs;
  bool terminal;
  uint32_t rows, cols;
  int32_t stdio[3];
  struct vmctr__outcb *outcb;
};

struct vmctr__kv {
  char *key, *value;
};

struct vmctr_container_config {
  vmctr_process_config *process; /* NULL: an empty one */
  /* image defaults */
  bool has_image;
  char **img_entrypoint, **img_cmd, **img_env; /* NULL-terminated or NULL */
  char *img_workdir, *img_user, *img_rootfs;
  char *hostname;
  struct vmctr__kv *sysctls;
  size_t nsysctls;
  vmctr_mount **mounts;
  size_t nmounts;
  char **dns_servers, **dns_search; /* NULL-terminated */
  struct vmctr__kv *hosts;          /* key: hostname, value: address */
  size_t nhosts;
  char *boot_log;
  uint64_t memory_limit;
  uint32_t millicpus;
};

/* What the guest runs, after the image defaults and overrides are applied. */
struct vmctr__procspec {
  char **argv;    /* NULL-terminated, at least one */
  char **env;     /* NULL-terminated "K=V" */
  char *cwd;
  uint32_t uid, gid;
  uint32_t *gids;
  size_t ngids;
};

void vmctr__procspec_clear(struct vmctr__procspec *s);

/* Apply docker run's rules: an explicit entrypoint replaces the image's and
 * drops its Cmd; explicit args replace Cmd; env merges by name; cwd and user
 * fall back to the image's. User names resolve in rootfs (NULL: numeric
 * only). is_exec: an exec'd process, which takes the image's Env only. */
int vmctr__procspec_build(const vmctr_process_config *p, const vmctr_container_config *cfg,
                          bool is_exec, struct vmctr__procspec *out);

/* Resolve "uid", "uid:gid", "name", "name:group" against rootfs's
 * /etc/passwd and /etc/group (read without following links out of rootfs).
 * Supplementary groups of a named user are added to *gids. */
int vmctr__resolve_user(const char *rootfs, const char *user, uint32_t *uid, uint32_t *gid,
                        uint32_t **gids, size_t *ngids);

/* 0 if id is a valid container id, else VMCTR_EINVAL with a message. */
int vmctr__container_check_id(const char *id);

struct vmctr__outcb *vmctr__outcb_ref(struct vmctr__outcb *cb);
void vmctr__outcb_unref(struct vmctr__outcb *cb);

#endif
