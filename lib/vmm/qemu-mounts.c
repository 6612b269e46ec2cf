/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"
#include "mount/mount-internal.h"
#include "vmm/qemu-mounts.h"

static void append(vmctr__qemu_mounts *qm, char **args, bool *failed) {
  size_t have = vmctr__strv_len(qm->args), add = vmctr__strv_len(args);
  char **v = realloc(qm->args, (have + add + 1) * sizeof(*v));
  if (!v) {
    *failed = true;
    return;
  }
  qm->args = v;
  for (size_t i = 0; i < add; i++) {
    v[have + i] = args[i];
    args[i] = NULL;
  }
  v[have + add] = NULL;
}

int vmctr__qemu_mounts_prepare(vmctr__qemu_mounts *qm, const vmctr__vm_spec *spec) {
  uint32_t flags = geteuid() == 0 ? 0 : VMCTR__MOUNT_QEMU_UNPRIVILEGED;
  bool failed = false;
  int r = 0;
  memset(qm, 0, sizeof(*qm));
  if (spec->nmounts == 0)
    return 0;
  qm->daemon_argv = calloc(spec->nmounts, sizeof(*qm->daemon_argv));
  qm->sockets = calloc(spec->nmounts, sizeof(*qm->sockets));
  qm->daemons = calloc(spec->nmounts, sizeof(*qm->daemons));
  if (!qm->daemon_argv || !qm->sockets || !qm->daemons) {
    vmctr__qemu_mounts_clear(qm);
    return vmctr__err_nomem();
  }
  qm->n = spec->nmounts;
  for (size_t i = 0; i < qm->n; i++)
    qm->daemons[i] = (vmctr__child)VMCTR__CHILD_INIT;
  for (size_t i = 0; i < qm->n && r == 0 && !failed; i++) {
    vmctr__mount_qemu q;
    if ((r = vmctr_mount_validate(spec->mounts[i])) < 0 ||
        (r = vmctr__mount_qemu_translate(spec->mounts[i], (uint32_t)i, spec->runtime_dir,
                                         spec->virtiofsd, flags, &q)) < 0)
      break;
    append(qm, q.args, &failed);
    qm->daemon_argv[i] = q.virtiofsd_argv;
    qm->sockets[i] = q.socket_path;
    q.virtiofsd_argv = NULL;
    q.socket_path = NULL;
    vmctr__mount_qemu_clear(&q);
  }
  if (failed)
    r = vmctr__err_nomem();
  if (r < 0)
    vmctr__qemu_mounts_clear(qm);
  return r;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vmctr__qemu_mounts_start(vmctr__qemu_mounts *qm, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  int r;
  for (size_t i = 0; i < qm->n; i++) {
    if (!qm->daemon_argv[i])
      continue;
    char name[32];
    snprintf(name, sizeof(name), "virtiofsd[%zu]", i);
    unlink(qm->sockets[i]);
    if ((r = vmctr__child_spawn(&qm->daemons[i], name, qm->daemon_argv[i][0], qm->daemon_argv[i],
                                NULL, NULL, 0)) < 0)
      return r;
  }
  /* QEMU connects at start-up, so each socket must exist first. */
  for (size_t i = 0; i < qm->n; i++) {
    struct stat st;
    if (!qm->sockets[i])
      continue;
    while (stat(qm->sockets[i], &st) < 0) {
      if (vmctr__child_poll(&qm->daemons[i]) != 0)
        return vmctr__err(VMCTR_EIO, 0, "%s exited with status %d before creating %s",
                          qm->daemons[i].name, qm->daemons[i].status, qm->sockets[i]);
      if (now_ms() > deadline)
        return vmctr__err(VMCTR_ETIMEDOUT, 0, "%s did not create %s within %d ms",
                          qm->daemons[i].name, qm->sockets[i], timeout_ms);
      struct pollfd p = {.fd = qm->daemons[i].pidfd, .events = POLLIN};
      poll(&p, 1, 10);
    }
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
    if (qm->sockets && qm->sockets[i]) {
      unlink(qm->sockets[i]);
      free(qm->sockets[i]);
    }
  }
  vmctr__strv_free(qm->args);
  free(qm->daemon_argv);
  free(qm->sockets);
  free(qm->daemons);
  memset(qm, 0, sizeof(*qm));
}
