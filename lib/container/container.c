/* SPDX-License-Identifier: MIT */
/* vmctr_container: a VM (lib/vmm) plus its guest agent (lib/agent) plus the
 * mounts (lib/mount), set up as one Linux container. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "mount/mount-internal.h"
#include "vmctr/caps.h"
#include "vmm/vmm-internal.h"

/* Linux clone flags, spelled out: the host need not be Linux. */
#define NS_MOUNT 0x00020000u
#define NS_CGROUP 0x02000000u
#define NS_UTS 0x04000000u
#define NS_IPC 0x08000000u
#define NS_PID 0x20000000u

int vmctr__container_config_set_defaults(vmctr_container_config *c, const char *const *entrypoint,
                                         const char *const *cmd, const char *const *env,
                                         const char *workdir, const char *user, const char *rootfs);

void vmctr__container_changed(vmctr_container *c) {
  uint64_t one = 1;
  if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
    vmctr__log(VMCTR_LOG_WARN, "container", "event fd write failed: %s", strerror(errno));
  pthread_mutex_lock(&c->lock);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

void vmctr__container_put_placement(vmctr_container *c, vmctr__agent_buf *b, bool is_init) {
  if (!is_init) {
    vmctr__agent_put_u32(b, VMCTR_AT_JOIN_PID, c->init->pid);
    return;
  }
  vmctr__agent_put_str(b, VMCTR_AT_ROOT, VMCTR__GUEST_ROOTFS);
  /* A cgroup namespace too, so the container's /sys/fs/cgroup is its own cgroup. */
  vmctr__agent_put_u32(b, VMCTR_AT_NAMESPACES, NS_MOUNT | NS_UTS | NS_IPC | NS_PID | NS_CGROUP);
  vmctr__agent_put_str(b, VMCTR_AT_HOSTNAME, c->hostname);
  char cg[96];
  snprintf(cg, sizeof(cg), "vmctr/%s", c->id);
  vmctr__agent_put_str(b, VMCTR_AT_CGROUP, cg);
  if (c->memory_limit)
    vmctr__agent_put_u64(b, VMCTR_AT_MEMORY_MAX, c->memory_limit);
  if (c->millicpus) {
    char cpu[48];
    snprintf(cpu, sizeof(cpu), "%u 100000", c->millicpus * 100u);
    vmctr__agent_put_str(b, VMCTR_AT_CPU_MAX, cpu);
  }
}

/* One request that must succeed, with what for the message. */
static int guest_call(vmctr_container *c, vmctr__agent_buf *b, const char *what) {
  int r = vmctr__agent_buf_finish(b, VMCTR_AGENT_DEFAULT_FRAME);
  if (r < 0) {
    vmctr__agent_buf_free(b);
    return vmctr__err(r == -ENOMEM ? VMCTR_ENOMEM : VMCTR_ETOOBIG, 0, "%s: request too large", what);
  }
  vmctr__agent_reply *rep = NULL;
  r = vmctr__agent_request(c->agent, b, VMCTR__CONTAINER_OP_TIMEOUT_MS, &rep);
  vmctr__agent_buf_free(b);
  vmctr__agent_reply_free(rep);
  if (r < 0) {
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "%s", what);
    vmctr__err_prefix(prefix);
  }
  return r;
}

static int guest_mount(vmctr_container *c, const vmctr_mount *m, uint32_t index, const char *target) {
  vmctr__mount_request req;
  int r = vmctr__mount_guest_request(m, index, &req);
  if (r < 0)
    return r;
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_MOUNT);
  vmctr__agent_put_str(&b, VMCTR_AT_SOURCE, req.source);
  vmctr__agent_put_str(&b, VMCTR_AT_TARGET, target);
  vmctr__agent_put_str(&b, VMCTR_AT_FSTYPE, req.fstype);
  vmctr__agent_put_u64(&b, VMCTR_AT_MOUNT_FLAGS, req.flags);
  if (req.data)
    vmctr__agent_put_str(&b, VMCTR_AT_MOUNT_DATA, req.data);
  vmctr__agent_put_u32(&b, VMCTR_AT_MKDIR, 1);
  char what[600];
  snprintf(what, sizeof(what), "cannot mount %s on %s in the guest", req.source, target);
  vmctr__mount_request_clear(&req);
  return guest_call(c, &b, what);
}

static int guest_write(vmctr_container *c, const char *path, const char *text, uint32_t mode) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, path);
  vmctr__agent_put_u32(&b, VMCTR_AT_MODE, mode);
  vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, text, strlen(text));
  char what[600];
  snprintf(what, sizeof(what), "cannot write %s in the guest", path);
  return guest_call(c, &b, what);
}

static int guest_set_time(vmctr_container *c) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SET_TIME);
  vmctr__agent_put_u64(&b, VMCTR_AT_TIME_NS, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
  return guest_call(c, &b, "cannot set the guest's clock");
}

/* /etc/hosts and /etc/resolv.conf of the container, and its sysctls. */
static int guest_files(vmctr_container *c, const vmctr_container_config *cfg) {
  vmctr__strbuf sb = {0};
  vmctr__sb_printf(&sb, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                        "127.0.1.1\t%s\n", c->hostname);
  for (size_t i = 0; i < cfg->nhosts; i++)
    vmctr__sb_printf(&sb, "%s\t%s\n", cfg->hosts[i].value, cfg->hosts[i].key);
  char *hosts = vmctr__sb_steal(&sb);
  if (!hosts)
    return VMCTR_ENOMEM;
  int r = guest_write(c, VMCTR__GUEST_ROOTFS "/etc/hosts", hosts, 0644);
  free(hosts);
  if (r == 0 && (cfg->dns_servers || cfg->dns_search)) {
    for (size_t i = 0; cfg->dns_servers && cfg->dns_servers[i]; i++)
      vmctr__sb_printf(&sb, "nameserver %s\n", cfg->dns_servers[i]);
    if (cfg->dns_search) {
      vmctr__sb_puts(&sb, "search");
      for (size_t i = 0; cfg->dns_search[i]; i++)
        vmctr__sb_printf(&sb, " %s", cfg->dns_search[i]);
      vmctr__sb_puts(&sb, "\n");
    }
    char *resolv = vmctr__sb_steal(&sb);
    if (!resolv)
      return VMCTR_ENOMEM;
    r = guest_write(c, VMCTR__GUEST_ROOTFS "/etc/resolv.conf", resolv, 0644);
    free(resolv);
  }
  for (size_t i = 0; r == 0 && i < cfg->nsysctls; i++) {
    char path[400];
    snprintf(path, sizeof(path), "/proc/sys/%s", cfg->sysctls[i].key);
    for (char *p = path + 10; *p; p++)
      if (*p == '.')
        *p = '/';
    vmctr__agent_buf b;
    vmctr__agent_buf_init(&b);
    vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
    vmctr__agent_put_str(&b, VMCTR_AT_PATH, path);
    vmctr__agent_put_u32(&b, VMCTR_AT_MODE, 0644);
    vmctr__agent_put_u32(&b, VMCTR_AT_IN_PLACE, 1);
    vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, cfg->sysctls[i].value, strlen(cfg->sysctls[i].value));
    char what[500];
    snprintf(what, sizeof(what), "cannot set sysctl %s", cfg->sysctls[i].key);
    r = guest_call(c, &b, what);
  }
  return r;
}

static int check_host(const vmctr_bootcfg *boot) {
  vmctr_caps *caps = NULL;
  int r = vmctr_caps_probe(&caps, 0);
  if (r < 0)
    return r;
  if (vmctr_bootcfg_nested_virtualization(boot) > 0)
    r = vmctr_caps_require_nested_virtualization(caps);
  vmctr_caps_free(caps);
  return r;
}

/* Boot the VM with the rootfs and the host-backed mounts, then set the
 * container up through the agent. */
static int bring_up(vmctr_container *c, const vmctr_mount *rootfs, const vmctr_bootcfg *boot,
                    const vmctr_container_config *cfg) {
  int r;
  if ((r = vmctr_vmm_new(&c->vmm, boot)) < 0)
    return r;
  if (cfg->boot_log && (r = vmctr_vmm_set_boot_log(c->vmm, cfg->boot_log)) < 0)
    return r;
  /* Mount index i+1 is cfg->mounts[i]; 0 is the rootfs. */
  if ((r = vmctr_vmm_add_mount(c->vmm, rootfs)) < 0)
    return r;
  for (size_t i = 0; i < cfg->nmounts; i++)
    if ((r = vmctr_vmm_add_mount(c->vmm, cfg->mounts[i])) < 0)
      return r;
  if ((r = vmctr_vmm_start(c->vmm)) < 0)
    return r;
  if (!(c->agent = vmctr__vmm_agent(c->vmm)))
    return vmctr__err(VMCTR_EIO, 0, "the VM started without a guest agent connection");
  if ((r = guest_set_time(c)) < 0 || (r = guest_mount(c, rootfs, 0, VMCTR__GUEST_ROOTFS)) < 0)
    return r;
  for (size_t i = 0; i < cfg->nmounts; i++) {
    char target[4200];
    snprintf(target, sizeof(target), "%s%s", VMCTR__GUEST_ROOTFS, vmctr_mount_destination(cfg->mounts[i]));
    if ((r = guest_mount(c, cfg->mounts[i], (uint32_t)i + 1, target)) < 0)
      return r;
  }
  return guest_files(c, cfg);
}

int vmctr_container_new(vmctr_container **out, const char *id, const vmctr_mount *rootfs,
                        const vmctr_bootcfg *boot, const vmctr_container_config *cfg) {
  if (!out || !rootfs || !boot || !cfg)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_new: NULL argument");
  int r = vmctr__container_check_id(id);
  if (r < 0)
    return r;
  /* The host first: a capability the host lacks is the answer, whatever else is wrong. */
  if ((r = check_host(boot)) < 0)
    return r;
  uint32_t kind = vmctr_mount_kind(rootfs);
  if (kind != VMCTR_MOUNT_BLOCK && kind != VMCTR_MOUNT_SHARE)
    return vmctr__err(VMCTR_EINVAL, 0, "the rootfs must be a block or share mount");
  if ((r = vmctr_mount_validate(rootfs)) < 0)
    return r;

  vmctr_container *c = calloc(1, sizeof(*c));
  if (!c)
    return vmctr__err_nomem();
  c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init(&c->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cond, &ca);
  pthread_condattr_destroy(&ca);
  c->id = strdup(id);
  c->hostname = strdup(cfg->hostname ? cfg->hostname : id);
  c->memory_limit = cfg->memory_limit;
  c->millicpus = cfg->millicpus;
  if (c->efd < 0 || !c->id || !c->hostname) {
    r = c->efd < 0 ? vmctr__err_os(errno, "eventfd") : vmctr__err_nomem();
    goto fail;
  }
  if ((r = vmctr_container_config_new(&c->defaults)) < 0 ||
      (cfg->has_image &&
       (r = vmctr__container_config_set_defaults(
            c->defaults, (const char *const *)cfg->img_entrypoint, (const char *const *)cfg->img_cmd,
            (const char *const *)cfg->img_env, cfg->img_workdir, cfg->img_user, cfg->img_rootfs)) < 0))
    goto fail;
  if (cfg->process && (r = vmctr_container_config_set_process(c->defaults, cfg->process)) < 0)
    goto fail;
  if ((r = bring_up(c, rootfs, boot, cfg)) < 0)
    goto fail;
  vmctr__log(VMCTR_LOG_INFO, "container", "container %s is up (VM pid %d)", c->id, vmctr_vmm_pid(c->vmm));
  *out = c;
  return 0;
fail:
  vmctr__err_prefix("cannot create the container");
  {
    vmctr_error saved = *vmctr_error_last();
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", saved.message ? saved.message : "");
    vmctr_container_free(c);
    vmctr__err(saved.code, saved.os_errno, "%s", msg);
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

int vmctr_container_wait(vmctr_container *c, int32_t timeout_ms, int32_t *exit_code, int32_t *signal) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_wait: c is NULL");
  if (!c->init)
    return vmctr__err(VMCTR_ESTATE, 0, "container %s has not been started", c->id);
  return vmctr__process_wait(c->init, timeout_ms, exit_code, signal);
}

static bool init_running(vmctr_container *c) {
  pthread_mutex_lock(&c->lock);
  bool r = c->init && !c->init->exited;
  pthread_mutex_unlock(&c->lock);
  return r;
}

int vmctr_container_kill(vmctr_container *c, int32_t signo) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_kill: c is NULL");
  if (!init_running(c))
    return vmctr__err(VMCTR_ESTATE, 0, "container %s is not running", c->id);
  return vmctr__process_signal(c->init, signo);
}

uint32_t vmctr_container_state(const vmctr_container *c) {
  if (!c)
    return 0;
  vmctr_container *m = (vmctr_container *)c;
  if (m->stopped)
    return VMCTR_CONTAINER_STOPPED;
  int32_t vs = vmctr_vmm_state(m->vmm);
  if (vs == VMCTR_VMM_STATE_FAILED || vs == VMCTR_VMM_STATE_STOPPED || !vmctr__agent_alive(m->agent))
    return VMCTR_CONTAINER_FAILED;
  pthread_mutex_lock(&m->lock);
  uint32_t s = !m->init ? VMCTR_CONTAINER_CREATED
               : m->init->exited ? (m->init->wait_rc < 0 ? VMCTR_CONTAINER_FAILED : VMCTR_CONTAINER_EXITED)
                                 : VMCTR_CONTAINER_RUNNING;
  pthread_mutex_unlock(&m->lock);
  return s;
}

const char *vmctr_container_id(const vmctr_container *c) { return c ? c->id : NULL; }

int vmctr_container_event_fd(const vmctr_container *c) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_event_fd: c is NULL");
  return c->efd;
}

int vmctr_container_process_events(vmctr_container *c) {
  if (!c)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_process_events: c is NULL");
  uint64_t v;
  while (read(c->efd, &v, sizeof(v)) == sizeof(v)) {
  }
  return (int)vmctr_container_state(c);
}

int vmctr_container_write_stdin(vmctr_container *c, const void *data, size_t len) {
  if (!c || !c->init)
    return vmctr__err(c ? VMCTR_ESTATE : VMCTR_EINVAL, 0, "the container's init process is not running");
  return vmctr_process_write_stdin(c->init, data, len);
}

int vmctr_container_close_stdin(vmctr_container *c) {
  if (!c || !c->init)
    return vmctr__err(c ? VMCTR_ESTATE : VMCTR_EINVAL, 0, "the container's init process is not running");
  return vmctr_process_close_stdin(c->init);
}

int vmctr_container_resize(vmctr_container *c, uint32_t rows, uint32_t cols) {
  if (!c || !c->init)
    return vmctr__err(c ? VMCTR_ESTATE : VMCTR_EINVAL, 0, "the container's init process is not running");
  return vmctr__process_resize(c->init, rows, cols);
}

int vmctr_container_exec(vmctr_container *c, const vmctr_process_config *p, vmctr_process **out) {
  if (!c || !p || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_container_exec: NULL argument");
  if (!init_running(c))
    return vmctr__err(VMCTR_ESTATE, 0,
                      "container %s: cannot exec, its init process is not running (it %s)", c->id,
                      c->init ? "has exited" : "was never started");
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
    if (vmctr__process_signal(c->init, 15) == 0 &&
        vmctr__process_wait(c->init, (int32_t)grace_ms, NULL, NULL) == VMCTR_ETIMEDOUT) {
      vmctr__log(VMCTR_LOG_INFO, "container", "%s: init did not exit %u ms after SIGTERM; SIGKILL",
                 c->id, grace_ms);
      vmctr__process_signal(c->init, 9);
      vmctr__process_wait(c->init, 5000, NULL, NULL);
    }
  }
  if (c->vmm && vmctr_vmm_state(c->vmm) == VMCTR_VMM_STATE_RUNNING)
    rc = vmctr_vmm_stop(c->vmm, 5000);
  c->stopped = true;
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
  vmctr_vmm_free(c->vmm); /* frees the agent too */
  vmctr_container_config_free(c->defaults);
  if (c->efd >= 0)
    close(c->efd);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  free(c->hostname);
  free(c->id);
  free(c);
}
