/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caps/caps.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "vmm/jail-priv.h"
#include "vmm/qemu-net-priv.h"

#define IP4(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff
#define IP4F "%" PRIu32 ".%" PRIu32 ".%" PRIu32 ".%" PRIu32
/* QEMU's user-mode network (libslirp as QEMU 7.2 sets it up) carries
 * Ethernet frames of at most this MTU. */
#define USER_MTU_MAX 1500u

static uint32_t mask_of(uint32_t prefix) {
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int vmctr__qemu_nic_args(const vmctr__netdev *nd, size_t i, uint32_t how, int fd,
                         vmctr__strv *a) {
  vmctr__strbuf sb = {0};
  /* Every value below is a number or an address we format: nothing of the
   * caller's reaches QEMU's option syntax unescaped. */
  vmctr__strv_add(a, "-netdev");
  switch (how) {
  case VMCTR__QEMU_NIC_TAP:
    /* vhost=off: vhost-net needs /dev/vhost-net, which the jail does not hold. */
    vmctr__sb_printf(&sb, "tap,id=n%zu,fd=%d,vhost=off", i, fd);
    break;
  case VMCTR__QEMU_NIC_PASST:
    /* passt speaks QEMU's stream protocol (length-prefixed frames). */
    vmctr__sb_printf(&sb, "stream,id=n%zu,server=off,addr.type=fd,addr.str=%d", i, fd);
    break;
  case VMCTR__QEMU_NIC_USER: {
    uint32_t net = nd->guest_ip & mask_of(nd->prefix);
    vmctr__sb_printf(&sb, "user,id=n%zu,ipv6=off,restrict=off,net=" IP4F "/%" PRIu32
                     ",host=" IP4F ",dhcpstart=" IP4F, i, IP4(net), nd->prefix,
                     IP4(nd->gateway), IP4(nd->guest_ip));
    if (nd->dns)
      vmctr__sb_printf(&sb, ",dns=" IP4F, IP4(nd->dns));
    for (size_t k = 0; k < nd->nports; k++) {
      const vmctr__net_port *p = &nd->ports[k];
      vmctr__sb_printf(&sb, ",hostfwd=%s:", p->proto == VMCTR__NET_UDP ? "udp" : "tcp");
      if (p->host_ip)
        vmctr__sb_printf(&sb, IP4F, IP4(p->host_ip));
      vmctr__sb_printf(&sb, ":%u-" IP4F ":%u", p->host_port, IP4(nd->guest_ip), p->guest_port);
    }
    break;
  }
  default:
    vmctr__sb_free(&sb);
    return vmctr__err(VMCTR_EINVAL, 0, "network interface %zu: unknown attachment %u", i, how);
  }
  vmctr__strv_take(a, vmctr__sb_steal(&sb));
  memset(&sb, 0, sizeof(sb));
  /* The machine's transport: virtio-mmio, like the disks and the console. */
  vmctr__strv_add(a, "-device");
  vmctr__strv_addf(a, "virtio-net-device,id=n%zu-dev,netdev=n%zu,"
                   "mac=%02x:%02x:%02x:%02x:%02x:%02x,host_mtu=%" PRIu32, i, i, nd->mac[0],
                   nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5], nd->mtu);
  return 0;
}

int vmctr__qemu_passt_argv(const vmctr__netdev *nd, const char *binary, int fd,
                           const char *runas, char ***out) {
  vmctr__strv a = VMCTR__STRV_INIT;
  vmctr__strv_add(&a, binary);
  /* Supervised by us: no daemonizing, warnings and errors only (on stderr,
   * which is /dev/null: passt logs to syslog when it can). */
  vmctr__strv_add(&a, "--foreground");
  vmctr__strv_add(&a, "--quiet");
  /* The connected socket QEMU's stream netdev has the other end of; passt
   * quits when it closes (--fd implies --one-off). */
  vmctr__strv_add(&a, "--fd");
  vmctr__strv_addf(&a, "%d", fd);
  if (runas) {
    vmctr__strv_add(&a, "--runas");
    vmctr__strv_add(&a, runas);
  }
  /* IPv4 only: the spec describes IPv4 addresses. */
  vmctr__strv_add(&a, "--ipv4-only");
  vmctr__strv_add(&a, "--address");
  vmctr__strv_addf(&a, IP4F, IP4(nd->guest_ip));
  vmctr__strv_add(&a, "--netmask");
  vmctr__strv_addf(&a, "%" PRIu32, nd->prefix);
  vmctr__strv_add(&a, "--gateway");
  vmctr__strv_addf(&a, IP4F, IP4(nd->gateway));
  vmctr__strv_add(&a, "--mtu");
  vmctr__strv_addf(&a, "%" PRIu32, nd->mtu);
  if (nd->dns) {
    /* UDP to dns:53 goes to the host's first resolver (its resolv.conf). */
    vmctr__strv_add(&a, "--dns-forward");
    vmctr__strv_addf(&a, IP4F, IP4(nd->dns));
  }
  /* The guest is configured statically; passt's DHCP would agree, but no
   * resolver list of the host leaks to it. */
  vmctr__strv_add(&a, "--no-dhcp-dns");
  vmctr__strv_add(&a, "--no-dhcp-search");
  for (size_t k = 0; k < nd->nports; k++) {
    const vmctr__net_port *p = &nd->ports[k];
    vmctr__strv_add(&a, p->proto == VMCTR__NET_UDP ? "-u" : "-t");
    if (p->host_ip)
      vmctr__strv_addf(&a, IP4F "/%u:%u", IP4(p->host_ip), p->host_port, p->guest_port);
    else
      vmctr__strv_addf(&a, "%u:%u", p->host_port, p->guest_port);
  }
  return vmctr__strv_finish(&a, out);
}

/* A user-mode NIC: slirp wants its host (gateway) and DNS inside the net. */
static int check_user(const vmctr__netdev *nd, size_t i) {
  uint32_t m = mask_of(nd->prefix);
  if (nd->mtu > USER_MTU_MAX)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "network interface %zu: QEMU's user-mode network carries an MTU of at "
                      "most %u, not %" PRIu32 " (install passt, or lower the MTU)",
                      i, USER_MTU_MAX, nd->mtu);
  if (nd->dns && (nd->dns & m) != (nd->guest_ip & m))
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "network interface %zu: QEMU's user-mode network needs the DNS address "
                      IP4F " inside the guest's network " IP4F "/%" PRIu32 " (install passt)",
                      i, IP4(nd->dns), IP4(nd->guest_ip & m), nd->prefix);
  return 0;
}

int vmctr__qemu_net_prepare(vmctr__qemu_net *qn, const vmctr__vm_spec *spec,
                            const struct vmctr__vm_jail *vj) {
  char *passt = NULL, runas[32], *ra = NULL;
  int r = 0;
  memset(qn, 0, sizeof(*qn));
  if (spec->nnics == 0)
    return 0;
  size_t n = spec->nnics;
  qn->how = calloc(n, sizeof(*qn->how));
  qn->daemon_argv = calloc(n, sizeof(*qn->daemon_argv));
  qn->daemons = calloc(n, sizeof(*qn->daemons));
  qn->jails = calloc(n, sizeof(*qn->jails));
  qn->qemu_fds = calloc(n, sizeof(*qn->qemu_fds));
  qn->daemon_fds = calloc(n, sizeof(*qn->daemon_fds));
  if (!qn->how || !qn->daemon_argv || !qn->daemons || !qn->jails ||
      !qn->qemu_fds || !qn->daemon_fds) {
    vmctr__qemu_net_clear(qn);
    return vmctr__err_nomem();
  }
  qn->n = n;
  for (size_t i = 0; i < n; i++) {
    qn->daemons[i] = (vmctr__child)VMCTR__CHILD_INIT;
    qn->jails[i] = (vmctr__jail)VMCTR__JAIL_INIT;
    qn->qemu_fds[i] = qn->daemon_fds[i] = -1;
  }
  /* passt drops to the VM's own jail id when the hypervisor has one (else
   * to nobody, its own default as root), so no two VMs' passt share an id. */
  if (vj && vj->qemu.set_ids) {
    snprintf(runas, sizeof(runas), "%" PRIu32 ":%" PRIu32, vj->qemu.uid, vj->qemu.gid);
    ra = runas;
  }
  for (size_t i = 0; i < n && r == 0; i++) {
    const vmctr__netdev *nd = &spec->nics[i];
    if (nd->kind == VMCTR__NETDEV_TAP) {
      qn->how[i] = VMCTR__QEMU_NIC_TAP;
      if ((qn->qemu_fds[i] = fcntl(nd->tap_fd, F_DUPFD_CLOEXEC, 3)) < 0)
        r = vmctr__err_os(errno, "network interface %zu: cannot duplicate the tap fd", i);
      continue;
    }
    /* AUTO is user-mode: with Debian 12's passt (2023-03) behind QEMU 7.2's
     * stream netdev, TCP connections here intermittently never saw the
     * host side's FIN, and published ports accepted and closed at once
     * (doc/vmm.md). passt is used when asked for. */
    if (nd->nat_impl == VMCTR__NAT_PASST && !passt)
      passt = vmctr__find_passt();
    if (nd->nat_impl == VMCTR__NAT_PASST && !passt) {
      r = vmctr__err(VMCTR_EUNSUPPORTED, 0,
                     "network interface %zu asks for passt, and no passt is on PATH "
                     "(install the passt package)", i);
      break;
    }
    if (nd->nat_impl != VMCTR__NAT_PASST) {
      qn->how[i] = VMCTR__QEMU_NIC_USER;
      vmctr__log(VMCTR_LOG_INFO, "vmm", "network interface %zu: NAT by QEMU's user-mode network%s",
                 i, nd->nat_impl == VMCTR__NAT_USER ? "" : " (the automatic choice)");
      r = check_user(nd, i);
      continue;
    }
    qn->how[i] = VMCTR__QEMU_NIC_PASST;
    vmctr__log(VMCTR_LOG_INFO, "vmm", "network interface %zu: NAT by %s", i, passt);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      r = vmctr__err_os(errno, "socketpair for passt");
      break;
    }
    qn->qemu_fds[i] = sv[0];
    qn->daemon_fds[i] = sv[1];
    /* passt confines itself (namespaces, an empty root, seccomp, a dropped
     * id); we add a session, no core dumps, no_new_privs, the VM's cgroup
     * and an fd table of only its socket. It stays in the hypervisor's
     * network namespace (the caller's, or the container's own), whose
     * sockets are what it NATs to. */
    if (vj) {
      qn->jails[i].cgroup_procs_fd = vj->cgroup_procs_fd;
      qn->jails[i].netns_fd = vj->qemu.netns_fd;
    }
    r = vmctr__qemu_passt_argv(nd, passt, 3, ra, &qn->daemon_argv[i]);
  }
  free(passt);
  if (r < 0)
    vmctr__qemu_net_clear(qn);
  return r;
}

/* No readiness wait: QEMU's end of the socketpair is connected from the
 * start and frames queue in the socket until passt reads them. (passt's
 * --pid file would say "initialised", but passt opens it after dropping
 * its ids, and the runtime directory admits only us.) A passt that refuses
 * its options or a port exits at once; vmctr__qemu_net_poll() reports it. */
int vmctr__qemu_net_start(vmctr__qemu_net *qn) {
  int r;
  for (size_t i = 0; i < qn->n; i++) {
    if (!qn->daemon_argv[i])
      continue;
    char name[32];
    snprintf(name, sizeof(name), "passt[%zu]", i);
    vmctr__child_fd fds[] = {{qn->daemon_fds[i], 3}};
    r = vmctr__child_spawn_jailed(&qn->daemons[i], name, qn->daemon_argv[i][0],
                                  qn->daemon_argv[i], vmctr__jail_env, fds, 1, &qn->jails[i]);
    close(qn->daemon_fds[i]);
    qn->daemon_fds[i] = -1;
    if (r < 0)
      return r;
  }
  return 0;
}

int vmctr__qemu_net_poll(vmctr__qemu_net *qn, const char **which) {
  for (size_t i = 0; i < qn->n; i++)
    if (qn->daemons[i].pid > 0 && vmctr__child_poll(&qn->daemons[i]) == 1) {
      *which = qn->daemons[i].name;
      return 1;
    }
  return 0;
}

void vmctr__qemu_net_spawned(vmctr__qemu_net *qn) {
  for (size_t i = 0; i < qn->n; i++)
    if (qn->qemu_fds[i] >= 0) {
      close(qn->qemu_fds[i]);
      qn->qemu_fds[i] = -1;
    }
}

void vmctr__qemu_net_clear(vmctr__qemu_net *qn) {
  for (size_t i = 0; i < qn->n; i++) {
    if (qn->daemons)
      vmctr__child_release(&qn->daemons[i]);
    if (qn->daemon_argv)
      vmctr__strv_free(qn->daemon_argv[i]);
    if (qn->qemu_fds && qn->qemu_fds[i] >= 0)
      close(qn->qemu_fds[i]);
    if (qn->daemon_fds && qn->daemon_fds[i] >= 0)
      close(qn->daemon_fds[i]);
  }
  free(qn->how);
  free(qn->daemon_argv);
  free(qn->daemons);
  free(qn->jails);
  free(qn->qemu_fds);
  free(qn->daemon_fds);
  memset(qn, 0, sizeof(*qn));
}
