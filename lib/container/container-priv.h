/* SPDX-License-Identifier: MIT */
/* Private to lib/container: the configuration builders' representation,
 * the pure functions that turn a configuration plus an image's defaults
 * into what the guest runs (procspec.c), and the container and process
 * objects (container.c, process.c). */
#ifndef VMCTR_CONTAINER_PRIV_H
#define VMCTR_CONTAINER_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/ops.h"
#include "net/net.h"
#include "net/strategy.h"
#include "core/event.h"
#include "vmctr/container.h"
#include "vmctr/vmm.h"

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
  uint64_t caps;      /* Linux capability bits; VMCTR_AGENT_CAPS_DEFAULT at first */
  uint32_t seccomp;   /* VMCTR_SECCOMP_* */
  void *filter;       /* vmctr_process_config_set_seccomp_filter: replaces seccomp; NULL: none */
  size_t filter_len;  /* bytes */
  bool privileged;
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
  uint32_t template_mode; /* VMCTR_VMM_TEMPLATE_* */
  uint64_t memory_limit;
  uint32_t millicpus;
  uint64_t pids_limit; /* cgroup pids.max; 0: none (confine.c) */
  /* networks (netcfg.c): none means loopback only */
  struct vmctr__netreq *nets;
  size_t nnets;
  vmctr__net_port *ports; /* published on the first network */
  size_t nports;
  /* masked and read-only paths (config.c); has_*: the list (NULL-terminated,
   * perhaps empty) replaces the library's defaults */
  bool has_masked, has_readonly;
  char **masked_paths, **readonly_paths;
  /* netcfg.c: the network namespace of the hypervisor (NULL: the
   * caller's), and NICs on taps there, after the networks */
  char *netns_path;
  struct vmctr__tapreq *taps;
  size_t ntaps;
};

/* A NIC on an existing tap device (vmctr_container_config_add_tap). */
struct vmctr__tapreq {
  char *ifname;
  bool has_mac;           /* false: random */
  uint8_t mac[6];
  uint32_t addr, prefix;  /* addr 0: link up only */
  uint32_t gateway;       /* 0: no default route */
  uint32_t mtu;           /* 0: the tap's */
  vmctr__net_route *routes;
  size_t nroutes;
};

/* One requested network attachment. */
struct vmctr__netreq {
  vmctr_network *net;
  char *ip, *mac; /* NULL: allocated */
};

/* netcfg.c */
void vmctr__container_config_free_nets(vmctr_container_config *c);
/* Open cfg's network namespace, if any (c->netns_fd), and hand it to c's VM. */
int vmctr__container_join_netns(vmctr_container *c, const vmctr_container_config *cfg);
/* cfg's tap NICs as c->nets[c->nnets..] (room made by the caller): each tap
 * opened in c's namespace and added to c's VM; c->nnets counts what needs
 * detaching even on failure. */
int vmctr__container_attach_taps(vmctr_container *c, const vmctr_container_config *cfg);

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

/* config.c: the image defaults of a config (vmctr_container_config_set_image). */
int vmctr__container_config_set_defaults(vmctr_container_config *c, const char *const *entrypoint,
                                         const char *const *cmd, const char *const *env,
                                         const char *workdir, const char *user, const char *rootfs);

/* config.c: copy src's masked and read-only paths into dst (which has none). */
int vmctr__container_config_copy_paths(vmctr_container_config *dst, const vmctr_container_config *src);

/* procfg.c: a capability name ("CAP_SYS_ADMIN", "sys_admin") to its Linux
 * number; "ALL" is -2; an unknown name -1. */
int vmctr__cap_from_name(const char *name);
/* The confinement fields of a SPAWN for cfg (NULL: the defaults); privileged:
 * the container's (its init process's) flag, which exec'd processes inherit. */
void vmctr__process_security(const vmctr_process_config *cfg, bool container_privileged, bool is_init,
                             vmctr__agent_spawn_args *s);

struct vmctr__outcb *vmctr__outcb_ref(struct vmctr__outcb *cb);
void vmctr__outcb_unref(struct vmctr__outcb *cb);

/* Guest operations that should answer at once (not WAIT). */
#define VMCTR__CONTAINER_OP_TIMEOUT_MS 30000

/* Where the guest mounts the container's rootfs. */
#define VMCTR__GUEST_ROOTFS "/run/vmctr/rootfs"

struct vmctr__procio {
  struct vmctr__outcb *outcb;
  uint32_t which; /* VMCTR_STREAM_* */
};

struct vmctr_process {
  vmctr_container *c;
  vmctr_process *next; /* the container's list */
  uint32_t pid;        /* the guest's */
  uint32_t stream[3];  /* 0: not connected */
  int stdin_fd;        /* caller's stdin (dup), until attached after SPAWN */
  struct vmctr__procio io[3];
  struct vmctr__outcb *outcb;
  bool is_init, terminal, stdin_write;
  uint32_t wait_id;
  pthread_t watcher;
  bool has_watcher;
  vmctr__evset *events; /* readable once the process has exited */
  /* under c->lock */
  bool exited;
  int wait_rc;
  int32_t exit_code, signal;
};

struct vmctr_container {
  char *id;
  char *hostname;
  vmctr_vmm *vmm;
  vmctr__agent *agent; /* owned by vmm */
  vmctr_container_config *defaults; /* image defaults, for exec */
  vmctr_process *init;
  vmctr_process *procs; /* every live process, init included */
  uint64_t memory_limit;
  uint32_t millicpus;
  uint64_t pids_limit;
  bool init_started;
  bool stopped;
  vmctr__net_attachment *nets; /* attached networks, then tap NICs, in config order */
  size_t nnets;                /* net NULL: a tap NIC (or a network detached) */
  int netns_fd;                /* -1: the caller's namespace */
  vmctr__net_route *tap_routes; /* what the tap NICs' gif.routes point into */
  char *peer_hosts;            /* the peers' /etc/hosts lines written last */
  char *hosts_base;            /* /etc/hosts without the peers */
  pthread_mutex_t hosts_lock;  /* orders /etc/hosts refreshes */
  vmctr__evset *events; /* the event fd: our changes, and the VM's */
  char **mounted_files; /* destinations of file shares: never written by us (/etc/hosts) */
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

int vmctr__process_spawn(vmctr_container *c, const vmctr_process_config *cfg,
                         const struct vmctr__procspec *spec, bool is_init, vmctr_process **out);
int vmctr__process_signal(vmctr_process *p, int32_t signo);
int vmctr__process_wait(vmctr_process *p, int32_t timeout_ms, int32_t *code, int32_t *sig);
bool vmctr__process_destroy(vmctr_process *p);

/* Where a process is placed: a new container (init) or the running
 * container's namespaces (exec). */
void vmctr__container_placement(vmctr_container *c, bool is_init, vmctr__agent_spawn_args *s,
                                char *cgroup, size_t cgroup_size, char *cpu, size_t cpu_size);
/* Wake the event fd and waiters. */
void vmctr__container_changed(vmctr_container *c);
/* Unlink p from the container and destroy it (vmctr_process_free). */
void vmctr__container_release(vmctr_container *c, vmctr_process *p);

#endif
