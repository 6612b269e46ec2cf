/* SPDX-License-Identifier: MIT */
/* vmctr_container: a VM (lib/vmm) plus its guest agent (lib/agent) plus the
 * mounts (lib/mount), set up as one Linux container. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strv.h"
#include "core/time.h"
#include "core/util.h"
#include "mount/mount.h"
#include "net/addr.h"
#include "caps/caps.h"
#include "vmm/vmm.h"

void vmctr__container_changed(vmctr_container *c) {
  vmctr__evset_notify(c->events);
  pthread_mutex_lock(&c->lock);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

void vmctr__container_placement(vmctr_container *c, bool is_init, vmctr__agent_spawn_args *s,
                                char *cgroup, size_t cgroup_size, char *cpu, size_t cpu_size) {
  if (!is_init) {
    s->join_pid = c->init->pid;
    return;
  }
  s->root = VMCTR__GUEST_ROOTFS;
  /* A cgroup namespace too, so the container's /sys/fs/cgroup is its own cgroup. */
  s->namespaces = VMCTR__AGENT_NS_MOUNT | VMCTR__AGENT_NS_UTS | VMCTR__AGENT_NS_IPC |
                  VMCTR__AGENT_NS_PID | VMCTR__AGENT_NS_CGROUP;
  s->hostname = c->hostname;
  snprintf(cgroup, cgroup_size, "vmctr/%s", c->id);
  s->cgroup = cgroup;
  s->memory_max = c->memory_limit;
  s->pids_max = c->pids_limit;
  if (c->millicpus) {
    snprintf(cpu, cpu_size, "%u 100000", c->millicpus * 100u);
    s->cpu_max = cpu;
  }
  /* The configured masked and read-only paths, else the guest's defaults. */
  const vmctr_container_config *d = c->defaults;
  if (d && d->has_masked) {
    s->paths |= VMCTR_APATHS_MASKED;
    s->masked = d->masked_paths;
    s->nmasked = vmctr__strv_len(d->masked_paths);
  }
  if (d && d->has_readonly) {
    s->paths |= VMCTR_APATHS_READONLY;
    s->readonly = d->readonly_paths;
    s->nreadonly = vmctr__strv_len(d->readonly_paths);
  }
}

/* Prefix the error of a failed guest operation: "WHAT ARG". */
static int guest_failed(int r, const char *what, const char *arg) {
  char prefix[600];
  snprintf(prefix, sizeof(prefix), "%s%s", what, arg);
  vmctr__err_prefix(prefix);
  return r;
}

/* root: target is a path inside it, resolved by the guest there (a link in
 * the image cannot move a volume outside the rootfs). */
static int guest_mount(vmctr_container *c, const vmctr_mount *m, uint32_t index, const char *root,
                       const char *target) {
  vmctr__mount_request req;
  int r = vmctr__mount_guest_request(m, index, &req);
  if (r < 0)
    return r;
  vmctr__agent_mount_args a = {
    .source = req.source, .target = target, .fstype = req.fstype,
    .flags = req.flags, .data = req.data, .mkdir = true, .root = root, .file = req.file,
  };
  r = vmctr__agent_mount(c->agent, &a, VMCTR__CONTAINER_OP_TIMEOUT_MS);
  if (r < 0) {
    char what[600];
    snprintf(what, sizeof(what), "cannot mount %s on %s%s in the guest", req.source,
             root ? root : "", target);
    vmctr__err_prefix(what);
  }
  vmctr__mount_request_clear(&req);
  return r;
}

/* A file of the container's, inside its rootfs: the guest resolves path in the
 * root and creates /etc when the image has none. */
static int guest_write(vmctr_container *c, const char *path, const char *text) {
  /* A mount of the caller's there (a file share of /etc/hosts, as Docker
   * makes) is the container's file: ours would not replace it anyway. */
  for (size_t i = 0; c->mounted_files && c->mounted_files[i]; i++)
    if (strcmp(c->mounted_files[i], path) == 0)
      return 0;
  int r = vmctr__agent_write_file_in(c->agent, VMCTR__GUEST_ROOTFS, path, text, strlen(text), 0644,
                                     VMCTR__CONTAINER_OP_TIMEOUT_MS);
  return r < 0 ? guest_failed(r, "cannot write in the container's root: ", path) : 0;
}

static int guest_set_time(vmctr_container *c) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int r = vmctr__agent_set_time(c->agent, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
                                VMCTR__CONTAINER_OP_TIMEOUT_MS);
  return r < 0 ? guest_failed(r, "cannot set the guest's clock", "") : 0;
}

/* /etc/hosts: localhost, the container's own name (at its first network
 * address, or 127.0.1.1 without one), the configured entries, then the
 * peers on its networks. */
static int make_hosts_base(vmctr_container *c, const vmctr_container_config *cfg) {
  vmctr__strbuf sb = {0};
  vmctr__sb_puts(&sb, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  if (c->nnets && c->nets[0].gif.addr) {
    char ip[16];
    vmctr__sb_printf(&sb, "%s\t%s\n", vmctr__ip4_format(c->nets[0].gif.addr, ip), c->hostname);
  } else {
    vmctr__sb_printf(&sb, "127.0.1.1\t%s\n", c->hostname);
  }
  for (size_t i = 0; i < cfg->nhosts; i++)
    vmctr__sb_printf(&sb, "%s\t%s\n", cfg->hosts[i].value, cfg->hosts[i].key);
  return (c->hosts_base = vmctr__sb_steal(&sb)) ? 0 : vmctr__err_nomem();
}

/* Write /etc/hosts when the peers changed (always when force). Peers of a
 * shared network come and go: every exec refreshes them. */
static int refresh_hosts(vmctr_container *c, bool force) {
  vmctr__strbuf sb = {0};
  int r = 0;
  for (size_t i = 0; i < c->nnets && r == 0; i++) {
    char *t = NULL;
    if (!c->nets[i].net)
      continue; /* a tap NIC: no peers the library knows */
    if ((r = vmctr__net_peer_hosts(&c->nets[i], &t)) == 0)
      vmctr__sb_puts(&sb, t);
    free(t);
  }
  char *peers = vmctr__sb_steal(&sb);
  if (r < 0 || !peers) {
    free(peers);
    return r < 0 ? r : vmctr__err_nomem();
  }
  pthread_mutex_lock(&c->hosts_lock);
  if (force || !c->peer_hosts || strcmp(peers, c->peer_hosts) != 0) {
    vmctr__sb_puts(&sb, c->hosts_base);
    vmctr__sb_puts(&sb, peers);
    char *hosts = vmctr__sb_steal(&sb);
    r = hosts ? guest_write(c, "/etc/hosts", hosts) : vmctr__err_nomem();
    free(hosts);
    if (r == 0) {
      free(c->peer_hosts);
      c->peer_hosts = peers;
      peers = NULL;
    }
  }
  pthread_mutex_unlock(&c->hosts_lock);
  free(peers);
  return r;
}

/* /etc/hosts, /etc/hostname and /etc/resolv.conf of the container, and its sysctls. */
static int guest_files(vmctr_container *c, const vmctr_container_config *cfg) {
  vmctr__strbuf sb = {0};
  int r = make_hosts_base(c, cfg);
  if (r == 0)
    r = refresh_hosts(c, true);
  if (r == 0) {
    char name[80];
    snprintf(name, sizeof(name), "%s\n", c->hostname);
    r = guest_write(c, "/etc/hostname", name);
  }
  /* Always, as Docker gives every container one: programs expect the file,
   * and an image FROM scratch has none. Without configured servers, the
   * first network's. */
  bool net_dns = !cfg->dns_servers && c->nnets && c->nets[0].ndns;
  if (r == 0) {
    if (!cfg->dns_servers && !cfg->dns_search && !net_dns)
      vmctr__sb_puts(&sb, "# no DNS servers configured (vmctr_container_config_add_dns_server)\n");
    for (size_t i = 0; cfg->dns_servers && cfg->dns_servers[i]; i++)
      vmctr__sb_printf(&sb, "nameserver %s\n", cfg->dns_servers[i]);
    for (size_t i = 0; net_dns && i < c->nets[0].ndns; i++) {
      char ip[16];
      vmctr__ip4_format(c->nets[0].dns[i], ip);
      vmctr__sb_printf(&sb, "nameserver %s\n", ip);
    }
    if (cfg->dns_search) {
      vmctr__sb_puts(&sb, "search");
      for (size_t i = 0; cfg->dns_search[i]; i++)
        vmctr__sb_printf(&sb, " %s", cfg->dns_search[i]);
      vmctr__sb_puts(&sb, "\n");
    }
    char *resolv = vmctr__sb_steal(&sb);
    if (!resolv)
      return VMCTR_ENOMEM;
    r = guest_write(c, "/etc/resolv.conf", resolv);
    free(resolv);
  }
  for (size_t i = 0; r == 0 && i < cfg->nsysctls; i++) {
    char path[400];
    snprintf(path, sizeof(path), "/proc/sys/%s", cfg->sysctls[i].key);
    for (char *p = path + 10; *p; p++)
      if (*p == '.')
        *p = '/';
    r = vmctr__agent_write_file(c->agent, path, cfg->sysctls[i].value,
                                strlen(cfg->sysctls[i].value), 0644, VMCTR__AGENT_WRITE_IN_PLACE,
                                VMCTR__CONTAINER_OP_TIMEOUT_MS);
    if (r < 0)
      guest_failed(r, "cannot set sysctl ", cfg->sysctls[i].key);
  }
  return r;
}

/* One probe per process (shared with the VM manager): a capability the
 * host lacks is the answer, whatever else is wrong. */
static int check_host(const vmctr_bootcfg *boot) {
  vmctr_caps *caps = NULL;
  int r = vmctr__caps_shared(VMCTR__CAPS_PROBE_NO_VERSION, &caps);
  if (r < 0)
    return r;
  if (vmctr_bootcfg_nested_virtualization(boot) > 0)
    r = vmctr_caps_require_nested_virtualization(caps);
  vmctr_caps_unref(caps);
  return r;
}

static int attach_networks(vmctr_container *c, const vmctr_container_config *cfg);

/* Boot the VM with the rootfs and the host-backed mounts, then set the
 * container up through the agent. Every mount was validated once, where it
 * entered the library (the rootfs in vmctr_container_new, the others in
 * vmctr_container_config_add_mount); the VM manager does not check again. */
static int bring_up(vmctr_container *c, const vmctr_mount *rootfs, const vmctr_bootcfg *boot,
                    const vmctr_container_config *cfg) {
  int r;
  if ((r = vmctr_vmm_new(&c->vmm, boot)) < 0)
    return r;
  if (cfg->boot_log && (r = vmctr_vmm_set_boot_log(c->vmm, cfg->boot_log)) < 0)
    return r;
  /* A template's clone or a cold boot: the VM manager chooses, falls back to
   * a boot on any failure, and either way hands over the same VM. */
  if ((r = vmctr_vmm_set_template(c->vmm, cfg->template_mode)) < 0)
    return r;
  /* Mount index i+1 is cfg->mounts[i]; 0 is the rootfs. */
  if ((r = vmctr__vmm_add_mount_checked(c->vmm, rootfs)) < 0)
    return r;
  for (size_t i = 0; i < cfg->nmounts; i++)
    if ((r = vmctr__vmm_add_mount_checked(c->vmm, cfg->mounts[i])) < 0)
      return r;
  if ((r = attach_networks(c, cfg)) < 0)
    return r;
  if ((r = vmctr_vmm_start(c->vmm)) < 0)
    return r;
  if (!(c->agent = vmctr__vmm_agent(c->vmm)))
    return vmctr__err(VMCTR_EIO, 0, "the VM started without a guest agent connection");
  if ((r = vmctr__evset_add(c->events, vmctr_vmm_event_fd(c->vmm))) < 0 ||
      (r = vmctr__evset_add(c->events, vmctr__agent_state_fd(c->agent))) < 0)
    return r;
  /* A clone's clock was set by its RESTORED request, a moment ago. */
  if ((!vmctr__vmm_restored(c->vmm) && (r = guest_set_time(c)) < 0) ||
      (r = guest_mount(c, rootfs, 0, NULL, VMCTR__GUEST_ROOTFS)) < 0)
    return r;
  for (size_t i = 0; i < cfg->nmounts; i++)
    if ((r = guest_mount(c, cfg->mounts[i], (uint32_t)i + 1, VMCTR__GUEST_ROOTFS,
                         vmctr_mount_destination(cfg->mounts[i]))) < 0)
      return r;
  for (size_t i = 0; i < c->nnets; i++)
    if ((r = vmctr__agent_config_iface(c->agent, &c->nets[i].gif, VMCTR__CONTAINER_OP_TIMEOUT_MS)) < 0)
      return guest_failed(r, "cannot configure the guest interface ", c->nets[i].mac_text);
  return guest_files(c, cfg);
}

/* Each network becomes a NIC of the VM, then each tap NIC; the first
 * carries the published ports and the default route. The VM runs in the
 * configured network namespace, where the taps are. */
static int attach_networks(vmctr_container *c, const vmctr_container_config *cfg) {
  int r;
  if (cfg->nports && !cfg->nnets)
    return vmctr__err(VMCTR_EINVAL, 0, "published ports need a network: add one with "
                      "vmctr_container_config_add_network()");
  if ((r = vmctr__container_join_netns(c, cfg)) < 0)
    return r;
  if (!cfg->nnets && !cfg->ntaps)
    return 0;
  if (!(c->nets = calloc(cfg->nnets + cfg->ntaps, sizeof(*c->nets))))
    return vmctr__err_nomem();
  for (size_t i = 0; i < cfg->nnets + cfg->ntaps; i++)
    c->nets[i] = (vmctr__net_attachment)VMCTR__NET_ATTACHMENT_INIT;
  for (size_t i = 0; i < cfg->nnets; i++) {
    const struct vmctr__netreq *q = &cfg->nets[i];
    r = vmctr__net_attach(&c->nets[i], q->net, c->id, c->hostname, q->ip, q->mac,
                              i == 0 ? cfg->ports : NULL, i == 0 ? cfg->nports : 0, i == 0);
    if (r < 0) {
      char what[200];
      snprintf(what, sizeof(what), "network %s", vmctr_network_name(q->net));
      return guest_failed(r, what, "");
    }
    c->nnets = i + 1;
    if ((r = vmctr__vmm_add_netdev(c->vmm, &c->nets[i].dev)) < 0)
      return r;
    vmctr__log(VMCTR_LOG_INFO, "container", "%s: %s on network %s (%s)", c->id,
               c->nets[i].addr_text, vmctr_network_name(q->net), c->nets[i].mac_text);
  }
  return vmctr__container_attach_taps(c, cfg);
}

/* Release the leases, taps and host objects; the addresses stay readable
 * until the container is freed. */
static void detach_networks(vmctr_container *c) {
  for (size_t i = 0; i < c->nnets; i++)
    vmctr__net_detach(&c->nets[i]);
}

static int check_rootfs(const vmctr_mount *rootfs) {
  uint32_t kind = vmctr_mount_kind(rootfs);
  if (kind != VMCTR_MOUNT_BLOCK && kind != VMCTR_MOUNT_SHARE)
    return vmctr__err(VMCTR_EINVAL, 0, "the rootfs must be a block or share mount");
  if (vmctr_mount_destination(rootfs))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "the rootfs mount has a destination (%s); a root filesystem has none: "
                      "create it with destination NULL", vmctr_mount_destination(rootfs));
  return vmctr_mount_validate(rootfs);
}

int vmctr_container_new(vmctr_container **out, const char *id, const vmctr_mount *rootfs,
                        const vmctr_bootcfg *boot, const vmctr_container_config *cfg) {
  if (!out || !rootfs || !boot || !cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_new: NULL argument");
  int r = vmctr__container_check_id(id);
  if (r < 0 || (r = check_host(boot)) < 0 || (r = check_rootfs(rootfs)) < 0)
    return r;

  vmctr_container *c = calloc(1, sizeof(*c));
  if (!c)
    return vmctr__err_nomem();
  c->netns_fd = -1;
  pthread_mutex_init(&c->lock, NULL);
  pthread_mutex_init(&c->hosts_lock, NULL);
  vmctr__cond_init(&c->cond);
  c->id = strdup(id);
  c->hostname = strdup(cfg->hostname ? cfg->hostname : id);
  c->memory_limit = cfg->memory_limit;
  c->millicpus = cfg->millicpus;
  c->pids_limit = cfg->pids_limit;
  if (!c->id || !c->hostname) {
    r = vmctr__err_nomem();
    goto fail;
  }
  if ((r = vmctr__evset_new(&c->events)) < 0 || (r = vmctr_container_config_new(&c->defaults)) < 0 ||
      (cfg->has_image &&
       (r = vmctr__container_config_set_defaults(
            c->defaults, (const char *const *)cfg->img_entrypoint, (const char *const *)cfg->img_cmd,
            (const char *const *)cfg->img_env, cfg->img_workdir, cfg->img_user, cfg->img_rootfs)) < 0))
    goto fail;
  if (cfg->process && (r = vmctr_container_config_set_process(c->defaults, cfg->process)) < 0)
    goto fail;
  if ((r = vmctr__container_config_copy_paths(c->defaults, cfg)) < 0)
    goto fail;
  {
    vmctr__strv files = VMCTR__STRV_INIT;
    for (size_t i = 0; i < cfg->nmounts; i++)
      if (vmctr__mount_share_is_file(cfg->mounts[i]))
        vmctr__strv_add(&files, vmctr_mount_destination(cfg->mounts[i]));
    if ((r = vmctr__strv_finish(&files, &c->mounted_files)) < 0)
      goto fail;
  }
  if ((r = bring_up(c, rootfs, boot, cfg)) < 0)
    goto fail;
  vmctr__log(VMCTR_LOG_INFO, "container", "container %s is up (VM pid %d)", c->id, vmctr_vmm_pid(c->vmm));
  *out = c;
  return 0;
fail:
  vmctr__err_prefix("cannot create the container");
  {
    vmctr__err_saved saved;
    vmctr__err_save(&saved);
    vmctr_container_free(c);
    vmctr__err_restore(&saved);
  }
  return r;
}

int vmctr_container_start(vmctr_container *c) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_start: c is NULL");
  if (c->init_started || c->stopped)
    return vmctr__err(VMCTR_ESTATE, 0, "container %s was already started", c->id);
  struct vmctr__procspec spec;
  int r = vmctr__procspec_build(c->defaults->process, c->defaults, false, &spec);
  if (r < 0)
    return r;
  vmctr_process *p;
  r = vmctr__process_spawn(c, c->defaults->process, &spec, true, &p);
  vmctr__procspec_clear(&spec);
  if (r < 0)
    return r;
  pthread_mutex_lock(&c->lock);
  p->next = c->procs;
  c->procs = p;
  c->init = p;
  c->init_started = true;
  pthread_mutex_unlock(&c->lock);
  vmctr__container_changed(c);
  return 0;
}

vmctr_process *vmctr_container_init_process(vmctr_container *c) {
  if (!c)
    return NULL;
  pthread_mutex_lock(&c->lock);
  vmctr_process *p = c->init;
  pthread_mutex_unlock(&c->lock);
  return p;
}

static bool init_running(vmctr_container *c) {
  pthread_mutex_lock(&c->lock);
  bool r = c->init && !c->init->exited;
  pthread_mutex_unlock(&c->lock);
  return r;
}

int32_t vmctr_container_state(const vmctr_container *c) {
  if (!c)
    return VMCTR_EINVAL;
  vmctr_container *m = (vmctr_container *)c;
  if (m->stopped)
    return VMCTR_CONTAINER_STOPPED;
  int32_t vs = vmctr_vmm_state(m->vmm);
  if (vs == VMCTR_VMM_STATE_FAILED || vs == VMCTR_VMM_STATE_STOPPED || !vmctr__agent_alive(m->agent))
    return VMCTR_CONTAINER_FAILED;
  pthread_mutex_lock(&m->lock);
  int32_t s = !m->init ? VMCTR_CONTAINER_CREATED
              : m->init->exited ? (m->init->wait_rc < 0 ? VMCTR_CONTAINER_FAILED : VMCTR_CONTAINER_EXITED)
                                : VMCTR_CONTAINER_RUNNING;
  pthread_mutex_unlock(&m->lock);
  return s;
}

const char *vmctr_container_id(const vmctr_container *c) { return c ? c->id : NULL; }

int vmctr_container_event_fd(const vmctr_container *c) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_event_fd: c is NULL");
  return vmctr__evset_fd(c->events);
}

int32_t vmctr_container_dispatch(vmctr_container *c) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_dispatch: c is NULL");
  vmctr__evset_drain(c->events);
  /* The VM's own events too: a VM that ended stays ended, and the fd says so. */
  if (c->vmm)
    vmctr_vmm_dispatch(c->vmm);
  int32_t s = vmctr_container_state(c);
  if (s == VMCTR_CONTAINER_FAILED || s == VMCTR_CONTAINER_STOPPED) {
    /* Nothing more can happen: stop watching what stays readable for ever. */
    if (c->vmm)
      vmctr__evset_del(c->events, vmctr_vmm_event_fd(c->vmm));
    if (c->agent)
      vmctr__evset_del(c->events, vmctr__agent_state_fd(c->agent));
    vmctr_error_clear();
  }
  return s;
}

int vmctr_container_exec(vmctr_container *c, const vmctr_process_config *p, vmctr_process **out) {
  if (!c || !p || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_exec: NULL argument");
  if (!init_running(c))
    return vmctr__err(VMCTR_ESTATE, 0,
                      "container %s: cannot exec, its init process is not running (it %s)", c->id,
                      c->init ? "has exited" : "was never started");
  /* Peers that joined a shared network since: the new process finds them. */
  if (c->nnets && refresh_hosts(c, false) < 0)
    vmctr__log(VMCTR_LOG_WARN, "container", "%s: /etc/hosts not refreshed: %s", c->id,
               vmctr_error_last()->message);
  struct vmctr__procspec spec;
  int r = vmctr__procspec_build(p, c->defaults, true, &spec);
  if (r < 0)
    return r;
  vmctr_process *proc;
  r = vmctr__process_spawn(c, p, &spec, false, &proc);
  vmctr__procspec_clear(&spec);
  if (r < 0)
    return r;
  pthread_mutex_lock(&c->lock);
  proc->next = c->procs;
  c->procs = proc;
  pthread_mutex_unlock(&c->lock);
  *out = proc;
  return 0;
}

void vmctr__container_release(vmctr_container *c, vmctr_process *p) {
  if (p == c->init)
    return; /* owned by the container */
  pthread_mutex_lock(&c->lock);
  for (vmctr_process **pp = &c->procs; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  pthread_mutex_unlock(&c->lock);
  if (!vmctr__process_destroy(p)) {
    /* Stuck: keep it; vmctr_container_free reaps it with the VM. */
    pthread_mutex_lock(&c->lock);
    p->next = c->procs;
    c->procs = p;
    pthread_mutex_unlock(&c->lock);
  }
}

int vmctr_container_stop(vmctr_container *c, uint32_t grace_ms) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_stop: c is NULL");
  if (c->stopped)
    return 0;
  int rc = 0;
  if (init_running(c) && c->agent && vmctr__agent_alive(c->agent)) {
    if (vmctr__process_signal(c->init, VMCTR_SIGTERM) == 0 &&
        vmctr__process_wait(c->init, (int32_t)grace_ms, NULL, NULL) == VMCTR_ETIMEDOUT) {
      vmctr__log(VMCTR_LOG_INFO, "container", "%s: init did not exit %u ms after SIGTERM; SIGKILL",
                 c->id, grace_ms);
      vmctr__process_signal(c->init, VMCTR_SIGKILL);
      vmctr__process_wait(c->init, 5000, NULL, NULL);
    }
  }
  if (c->vmm && vmctr_vmm_state(c->vmm) == VMCTR_VMM_STATE_RUNNING)
    rc = vmctr_vmm_stop(c->vmm, 5000);
  c->stopped = true;
  /* The VM is gone: its addresses are free again, its taps closed. */
  detach_networks(c);
  vmctr__container_changed(c);
  return rc < 0 ? vmctr__err(VMCTR_EIO, 0, "container %s had to be killed", c->id) : 0;
}

void vmctr_container_free(vmctr_container *c) {
  if (!c)
    return;
  if (c->vmm)
    vmctr_container_stop(c, 2000);
  /* The VM is gone: every pending WAIT has failed, every watcher ends. */
  while (c->procs) {
    vmctr_process *p = c->procs;
    c->procs = p->next;
    if (p->has_watcher)
      pthread_join(p->watcher, NULL);
    p->has_watcher = false;
    p->exited = true;
    vmctr__process_destroy(p);
  }
  /* The VM's and the agent's fds leave the set before they close. */
  vmctr__evset_free(c->events);
  vmctr_vmm_free(c->vmm); /* frees the agent too */
  detach_networks(c);
  free(c->nets);
  free(c->tap_routes);
  if (c->netns_fd >= 0)
    close(c->netns_fd);
  free(c->peer_hosts);
  free(c->hosts_base);
  pthread_mutex_destroy(&c->hosts_lock);
  vmctr_container_config_free(c->defaults);
  vmctr__strv_free(c->mounted_files);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  free(c->hostname);
  free(c->id);
  free(c);
}

size_t vmctr_container_network_count(const vmctr_container *c) { return c ? c->nnets : 0; }

const char *vmctr_container_network_address(const vmctr_container *c, size_t i) {
  return c && i < c->nnets ? c->nets[i].addr_text : NULL;
}

const char *vmctr_container_network_mac(const vmctr_container *c, size_t i) {
  return c && i < c->nnets ? c->nets[i].mac_text : NULL;
}
