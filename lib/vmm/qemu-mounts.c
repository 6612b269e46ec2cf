/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error.h"
#include "core/time.h"
#include "core/util.h"
#include "vmm/jail-priv.h"
#include "vmm/qemu-argv-priv.h"
#include "vmm/qemu-mounts-priv.h"

int vmctr__qemu_mounts_prepare(vmctr__qemu_mounts *qm, const vmctr__vm_spec *spec) {
  return vmctr__qemu_mounts_prepare_jailed(qm, spec, NULL);
}

/* Its fd limit: enough for a large tree (one O_PATH fd per inode the guest
 * holds), bounded, and never above our hard limit (raising needs
 * CAP_SYS_RESOURCE). */
static unsigned nofile_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return 0;
  return rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : (unsigned)rl.rlim_max;
}

int vmctr__qemu_mounts_prepare_jailed(vmctr__qemu_mounts *qm, const vmctr__vm_spec *spec,
                                      const struct vmctr__vm_jail *vj) {
  struct sockaddr_un sun;
  const char *bin = vmctr_caps_virtiofsd_path(spec->caps);
  int r = 0;
  memset(qm, 0, sizeof(*qm));
  if (spec->nshares == 0)
    return 0;
  for (size_t i = 0; i < spec->nshares; i++)
    if (spec->shares[i].file && (!vj || !vj->qemu.namespaces))
      return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                        "file share %s needs virtiofsd in a mount namespace of its own, which "
                        "this host does not allow (the library's INFO log says why); share a "
                        "directory that holds only the file instead",
                        spec->shares[i].host_path);
  if (!bin)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0,
                      "no virtiofsd found for the shared directory %s (install "
                      "qemu-system-common or virtiofsd, or configure -Dvirtiofsd_binary)",
                      spec->shares[0].host_path);
  qm->daemon_argv = calloc(spec->nshares, sizeof(*qm->daemon_argv));
  qm->sockets = calloc(spec->nshares + 1, sizeof(*qm->sockets));
  qm->daemons = calloc(spec->nshares, sizeof(*qm->daemons));
  qm->jails = calloc(spec->nshares, sizeof(*qm->jails));
  qm->binds = calloc(spec->nshares * VMCTR__VM_SHARE_BINDS, sizeof(*qm->binds));
  qm->privates = calloc(spec->nshares, sizeof(*qm->privates));
  qm->sources = calloc(spec->nshares, sizeof(*qm->sources));
  qm->conns = calloc(spec->nshares, sizeof(*qm->conns));
  if (!qm->daemon_argv || !qm->sockets || !qm->daemons || !qm->jails || !qm->binds ||
      !qm->sources || !qm->conns || !qm->privates) {
    vmctr__qemu_mounts_clear(qm);
    return vmctr__err_nomem();
  }
  qm->n = spec->nshares;
  for (size_t i = 0; i < qm->n; i++) {
    qm->daemons[i] = (vmctr__child)VMCTR__CHILD_INIT;
    qm->conns[i] = -1;
  }
  for (size_t i = 0; i < qm->n && r == 0; i++) {
    if (asprintf(&qm->sockets[i], "%s/vfsd-%zu.sock", spec->runtime_dir, i) < 0) {
      qm->sockets[i] = NULL;
      r = vmctr__err_nomem();
    } else if (strlen(qm->sockets[i]) >= sizeof(sun.sun_path)) {
      r = vmctr__err(VMCTR_EINVAL, 0,
                     "share %s: socket path %s is longer than a unix socket allows (%zu bytes); "
                     "use a shorter runtime directory",
                     spec->shares[i].host_path, qm->sockets[i], sizeof(sun.sun_path) - 1);
    } else if (!vj) {
      r = vmctr__qemu_virtiofsd_argv(&spec->shares[i], bin, qm->sockets[i], geteuid() != 0,
                                     &qm->daemon_argv[i]);
    } else if ((r = vmctr__vm_jail_share(vj, spec, i, &qm->jails[i],
                                         &qm->binds[i * VMCTR__VM_SHARE_BINDS], &qm->sources[i],
                                         &qm->privates[i])) == 0) {
      r = vmctr__qemu_virtiofsd_argv2(&spec->shares[i], bin, qm->sockets[i], qm->sources[i],
                                      geteuid() != 0, nofile_limit(), &qm->daemon_argv[i]);
    }
  }
  if (r < 0)
    vmctr__qemu_mounts_clear(qm);
  return r;
}

/* The socket exists once bound, perhaps before the daemon listens. */
static int connect_socket(vmctr__child *d, const char *path, int64_t deadline, int *out) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return vmctr__err_os(errno, "socket");
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
      *out = fd;
      return 0;
    }
    int e = errno;
    close(fd);
    if (e != ECONNREFUSED && e != ENOENT && e != EAGAIN)
      return vmctr__err_os(e, "cannot connect to %s at %s", d->name, path);
    if (vmctr__child_poll(d) != 0)
      return vmctr__err(VMCTR_EIO, 0, "%s exited with status %d at start", d->name, d->status);
    if (vmctr__remaining_ms(deadline) == 0)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "%s does not accept on %s", d->name, path);
    struct pollfd p = {.fd = d->pidfd, .events = POLLIN};
    poll(&p, 1, 5);
  }
}

int vmctr__qemu_mounts_start(vmctr__qemu_mounts *qm, int timeout_ms) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  int r;
  for (size_t i = 0; i < qm->n; i++) {
    char name[32];
    snprintf(name, sizeof(name), "virtiofsd[%zu]", i);
    unlink(qm->sockets[i]);
    if ((r = vmctr__child_spawn_jailed(&qm->daemons[i], name, qm->daemon_argv[i][0],
                                       qm->daemon_argv[i], vmctr__jail_env, NULL, 0,
                                       qm->sources[i] ? &qm->jails[i] : NULL)) < 0)
      return r;
  }
  /* QEMU connects at start-up, so each socket must exist first. */
  for (size_t i = 0; i < qm->n; i++) {
    struct stat st;
    while (stat(qm->sockets[i], &st) < 0) {
      if (vmctr__child_poll(&qm->daemons[i]) != 0)
        return vmctr__err(VMCTR_EIO, 0, "%s exited with status %d before creating %s",
                          qm->daemons[i].name, qm->daemons[i].status, qm->sockets[i]);
      if (vmctr__remaining_ms(deadline) == 0)
        return vmctr__err(VMCTR_ETIMEDOUT, 0, "%s did not create %s within %d ms",
                          qm->daemons[i].name, qm->sockets[i], timeout_ms);
      struct pollfd p = {.fd = qm->daemons[i].pidfd, .events = POLLIN};
      poll(&p, 1, 10);
    }
    if (qm->sources[i] && (r = connect_socket(&qm->daemons[i], qm->sockets[i], deadline,
                                              &qm->conns[i])) < 0)
      return r;
  }
  return 0;
}

int vmctr__qemu_mounts_poll(vmctr__qemu_mounts *qm, const char **which) {
  for (size_t i = 0; i < qm->n; i++)
    if (qm->daemons[i].pid > 0 && vmctr__child_poll(&qm->daemons[i]) == 1) {
      *which = qm->daemons[i].name;
      return 1;
    }
  return 0;
}

void vmctr__qemu_mounts_clear(vmctr__qemu_mounts *qm) {
  for (size_t i = 0; i < qm->n; i++) {
    if (qm->daemons)
      vmctr__child_release(&qm->daemons[i]);
    if (qm->daemon_argv)
      vmctr__strv_free(qm->daemon_argv[i]);
    if (qm->conns && qm->conns[i] >= 0)
      close(qm->conns[i]);
    /* A file share's private directory, once its daemon is gone. */
    if (qm->privates && qm->privates[i]) {
      unlink(qm->privates[i]);
      if (qm->sources && qm->sources[i])
        rmdir(qm->sources[i]);
      free(qm->privates[i]);
    }
    if (qm->sources)
      free(qm->sources[i]);
    if (qm->sockets && qm->sockets[i]) {
      unlink(qm->sockets[i]);
      free(qm->sockets[i]);
    }
  }
  free(qm->daemon_argv);
  free(qm->sockets);
  free(qm->daemons);
  free(qm->jails);
  free(qm->binds);
  free(qm->sources);
  free(qm->privates);
  free(qm->conns);
  memset(qm, 0, sizeof(*qm));
}
