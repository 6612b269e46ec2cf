/* SPDX-License-Identifier: MIT */
/* The qemu backend: one supervised QEMU process per VM, QMP and the agent
 * stream on socketpairs handed to QEMU as fds (no socket files, no race
 * between QEMU listening and us connecting). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "caps/caps.h"
#include "config.h"
#include "core/child.h"
#include "core/error.h"
#include "vmctr/mount.h"
#include "core/event.h"
#include "core/jail-log.h"
#include "core/log.h"
#include "core/util.h"
#include "vmm/backend-priv.h"
#include "vmm/jail-priv.h"
#include "vmm/qemu-argv-priv.h"
#include "vmm/qemu-mounts-priv.h"
#include "vmm/qemu-net-priv.h"
#include "vmm/qemu-template-priv.h"
#include "vmm/qmp-priv.h"

/* The fd numbers QEMU sees (its argv names them). */
#define QMP_CHILD_FD 3
#define AGENT_CHILD_FD 4
#define CONSOLE_CHILD_FD 5
#define SHARE_CHILD_FD0 6 /* then the disks' fds, then the NICs' */
#define QEMU_ERR_MAX 4096
/* The boot log's bound: the whole of a verbose boot and many screens after
 * it, yet a guest that floods its console costs at most this much tmpfs. */
#define BOOT_LOG_MAX (1u << 20)

typedef struct qemu_vm {
  char **argv;
  char *err_path, *pid_path;
  int qmp_peer, agent_host, agent_peer;
  vmctr__evset *exit_set; /* the exit fd: QEMU's pidfd and every virtiofsd's */
  bool watching;          /* their pidfds are in exit_set */
  vmctr__child child;
  vmctr__qmp qmp;
  vmctr__qemu_mounts mounts;
  vmctr__qemu_net net;
  vmctr__vm_jail jail;
  bool jail_planned;
  int console_host, console_peer; /* the console stream; ours goes to the bounded log */
  char *console_log;
  vmctr__boundlog *log;
  int *disk_fds;          /* 2 per disk: read-only, read-write (or -1); copy-on-write:
                           * the backing file read-only, the overlay read-write */
  size_t ndisks, nshares;
  int state_fd;           /* a template's state file (qemu-template.c), or -1 */
  vmctr__qemu_tmpl_disk *tdisks; /* a clone's disks, resized after the restore */
  bool clone;             /* restore from state_fd instead of booting */
  vmctr__qemu_tmpl_ram tram;
} qemu_vm;

/* NIC i's fd in QEMU. */
static int nic_child_fd(const qemu_vm *vm, size_t i) {
  return SHARE_CHILD_FD0 + (int)vm->nshares + 2 * (int)vm->ndisks + (int)i;
}

/* A template's state file in QEMU, after the NICs. */
static int state_child_fd(const qemu_vm *vm) {
  return nic_child_fd(vm, vm->net.n);
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Kill and reap QEMU and the daemons; their pidfds leave the exit set first. */
static void release_all(qemu_vm *vm) {
  if (vm->watching) {
    if (vm->child.pidfd >= 0)
      vmctr__evset_del(vm->exit_set, vm->child.pidfd);
    for (size_t i = 0; i < vm->mounts.n; i++)
      if (vm->mounts.daemons[i].pidfd >= 0)
        vmctr__evset_del(vm->exit_set, vm->mounts.daemons[i].pidfd);
    for (size_t i = 0; i < vm->net.n; i++)
      if (vm->net.daemons[i].pidfd >= 0)
        vmctr__evset_del(vm->exit_set, vm->net.daemons[i].pidfd);
    vm->watching = false;
  }
  vmctr__child_release(&vm->child);
  vmctr__qemu_mounts_clear(&vm->mounts);
  vmctr__qemu_net_clear(&vm->net);
  /* Every process is reaped: the console is at EOF, the cgroup empty. */
  vmctr__boundlog_stop(vm->log);
  vm->log = NULL;
}

static void qemu_free(void *ctx) {
  qemu_vm *vm = ctx;
  if (!vm)
    return;
  release_all(vm);
  vmctr__qmp_close(&vm->qmp);
  vmctr__evset_free(vm->exit_set);
  close_fd(&vm->qmp_peer);
  close_fd(&vm->agent_host);
  close_fd(&vm->agent_peer);
  close_fd(&vm->console_host);
  close_fd(&vm->console_peer);
  for (size_t i = 0; vm->disk_fds && i < 2 * vm->ndisks; i++)
    close_fd(&vm->disk_fds[i]);
  free(vm->disk_fds);
  close_fd(&vm->state_fd);
  free(vm->tdisks);
  vmctr__qemu_tmpl_ram_clear(&vm->tram);
  free(vm->console_log);
  if (vm->jail_planned)
    vmctr__vm_jail_clear(&vm->jail);
  if (vm->err_path)
    unlink(vm->err_path);
  if (vm->pid_path)
    unlink(vm->pid_path);
  free(vm->err_path);
  free(vm->pid_path);
  vmctr__strv_free(vm->argv);
  free(vm);
}

/* The host's TSC rate in kHz, from /proc/cpuinfo; 0 when unknown. */
static unsigned long host_tsc_khz(void) {
  char *text = NULL;
  size_t len;
  unsigned long khz = 0;
  if (vmctr__read_file("/proc/cpuinfo", 4u << 20, &text, &len) < 0) {
    vmctr_error_clear();
    return 0;
  }
  const char *p = strstr(text, "\ncpu MHz");
  double mhz;
  if (p && (p = strchr(p, ':')) && sscanf(p + 1, "%lf", &mhz) == 1 && mhz > 100 && mhz < 100000)
    khz = (unsigned long)(mhz * 1000.0);
  free(text);
  return khz;
}

/* The library opens the images, with its own rights; QEMU gets the fds
 * (read-only, and read-write for a writable disk). */
static int open_disks(qemu_vm *vm, const vmctr__vm_spec *spec) {
  vm->ndisks = spec->ndisks;
  if (!(vm->disk_fds = calloc(2 * spec->ndisks + 1, sizeof(int))))
    return vmctr__err_nomem();
  for (size_t i = 0; i < 2 * spec->ndisks; i++)
    vm->disk_fds[i] = -1;
  for (size_t i = 0; i < spec->ndisks; i++) {
    const vmctr__vm_disk *d = &spec->disks[i];
    if (d->image_format == VMCTR_MOUNT_IMAGE_COW) {
      /* The backing file only ever gets a read-only fd: QEMU cannot write it. */
      if ((vm->disk_fds[2 * i] = open(d->backing, O_RDONLY | O_CLOEXEC)) < 0)
        return vmctr__err(VMCTR_EIO, errno, "cannot open the backing file %s of %s: %s",
                          d->backing, d->path, strerror(errno));
      if ((vm->disk_fds[2 * i + 1] =
               open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC)) < 0)
        return vmctr__err(VMCTR_EIO, errno, "cannot open the disk image %s: %s", d->path,
                          strerror(errno));
      continue;
    }
    if ((vm->disk_fds[2 * i] = open(d->path, O_RDONLY | O_CLOEXEC)) < 0 ||
        (!d->read_only && (vm->disk_fds[2 * i + 1] = open(d->path, O_RDWR | O_CLOEXEC)) < 0))
      return vmctr__err(VMCTR_EIO, errno, "cannot open the disk image %s: %s", d->path,
                        strerror(errno));
  }
  return 0;
}

static int create_vm(void **ctx, const vmctr__vm_spec *spec, const vmctr__vm_template *t) {
  qemu_vm *vm = calloc(1, sizeof(*vm));
  /* The qemu of the guest's architecture (qemu-system-aarch64 for an aarch64 guest). */
  const char *binary = vmctr__caps_qemu_for(spec->caps, spec->arch);
  int qmp[2], agent[2], r;
  if (!vm)
    return vmctr__err_nomem();
  vm->child = (vmctr__child)VMCTR__CHILD_INIT;
  vm->qmp.fd = vm->qmp_peer = vm->agent_host = vm->agent_peer = -1;
  vm->console_host = vm->console_peer = -1;
  vm->state_fd = -1;
  vm->tram = (vmctr__qemu_tmpl_ram)VMCTR__QEMU_TMPL_RAM_INIT;
  if (!binary) {
    const char *why = NULL;
    vmctr_caps_guest_architecture_supported(spec->caps, spec->arch, &why);
    r = vmctr__err(VMCTR_ENOENT, 0, "cannot boot an %s guest: %s", spec->arch,
                   why ? why : "no qemu found");
    goto fail;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0) {
    r = vmctr__err_os(errno, "socketpair for QMP");
    goto fail;
  }
  vm->qmp.fd = qmp[0];
  vm->qmp_peer = qmp[1];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) < 0) {
    r = vmctr__err_os(errno, "socketpair for the agent");
    goto fail;
  }
  vm->agent_host = agent[0];
  vm->agent_peer = agent[1];
  if (asprintf(&vm->err_path, "%s/qemu.err", spec->runtime_dir) < 0 ||
      asprintf(&vm->pid_path, "%s/qemu.pid", spec->runtime_dir) < 0) {
    vm->err_path = vm->pid_path = NULL;
    r = vmctr__err_nomem();
    goto fail;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0) {
    r = vmctr__err_os(errno, "socketpair for the console");
    goto fail;
  }
  vm->console_host = qmp[0];
  vm->console_peer = qmp[1];
  if (!(vm->console_log = vmctr__strdup(spec->console_log))) {
    r = VMCTR_ENOMEM;
    goto fail;
  }
  if ((r = vmctr__evset_new(&vm->exit_set)) < 0 || (r = vmctr__vm_jail_plan(&vm->jail, spec)) < 0)
    goto fail;
  vm->jail_planned = true;
  if ((r = vmctr__qemu_mounts_prepare_jailed(&vm->mounts, spec, &vm->jail)) < 0 ||
      (r = open_disks(vm, spec)) < 0 || (r = vmctr__qemu_net_prepare(&vm->net, spec, &vm->jail)) < 0)
    goto fail;
  vm->nshares = spec->nshares;
  if (t) {
    vm->clone = t->clone;
    if ((vm->state_fd = fcntl(t->state_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
      r = vmctr__err_os(errno, "dup of the template's state file");
      goto fail;
    }
    if ((r = vmctr__qemu_tmpl_ram_jail(&vm->tram, &vm->jail, t->ram, !t->clone)) < 0)
      goto fail;
    if (t->clone && (r = vmctr__qemu_tmpl_disks(spec, &vm->tdisks)) < 0)
      goto fail;
  }
  vmctr__qemu_layout l = {
    .binary = binary,
    .qmp_fd = QMP_CHILD_FD,
    .agent_fd = AGENT_CHILD_FD,
    .console_fd = CONSOLE_CHILD_FD,
    .share_fd0 = SHARE_CHILD_FD0,
    .disk_fd0 = SHARE_CHILD_FD0 + (int)spec->nshares,
    .nic_how = vm->net.how,
    .nic_fd0 = nic_child_fd(vm, 0),
    .kernel = vm->jail.kernel,
    .initfs = vm->jail.initfs,
    .sandbox = true,
    .tsc_khz = spec->accel == VMCTR_ACCEL_TCG ? host_tsc_khz() : 0,
    .mem_path = t ? vm->tram.path : NULL,
    .mem_share = t && !t->clone,
    .placeholder_disks = t && !t->clone,
    .incoming = t && t->clone,
  };
  if ((r = vmctr__qemu_argv(spec, &l, &vm->argv)) < 0)
    goto fail;
  *ctx = vm;
  return 0;
fail:
  qemu_free(vm);
  return r;
}

static int qemu_create(void **ctx, const vmctr__vm_spec *spec) {
  return create_vm(ctx, spec, NULL);
}

static int qemu_create_template(void **ctx, const vmctr__vm_spec *spec,
                                const vmctr__vm_template *t) {
  return create_vm(ctx, spec, t);
}

/* QEMU's own complaint (bad kernel, bad option), for the error message. */
static char *qemu_stderr(qemu_vm *vm) {
  char *text = NULL;
  size_t len = 0;
  int fd = open(vm->err_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  text = calloc(1, QEMU_ERR_MAX + 1);
  if (text) {
    ssize_t n = read(fd, text, QEMU_ERR_MAX);
    len = n > 0 ? (size_t)n : 0;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
      len--;
    text[len] = 0;
    for (size_t i = 0; i < len; i++)
      if ((unsigned char)text[i] < 0x20)
        text[i] = ' '; /* one line, no control bytes from QEMU in our messages */
  }
  close(fd);
  return text;
}

static int qemu_start(void *ctx, int timeout_ms) {
  qemu_vm *vm = ctx;
  vmctr__qmp_msg m = {0};
  int errfd, r;
  char pid[32];
  const char *status;

  if ((r = vmctr__qemu_mounts_start(&vm->mounts, timeout_ms)) < 0 ||
      (r = vmctr__qemu_net_start(&vm->net)) < 0)
    return r;
  errfd = open(vm->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (errfd < 0)
    return vmctr__err_os(errno, "cannot create %s", vm->err_path);
  int cfd = vm->console_host;
  vm->console_host = -1;
  if ((r = vmctr__boundlog_start(&vm->log, cfd, vm->console_log, BOOT_LOG_MAX)) < 0) {
    close(errfd);
    return r;
  }
  size_t nfds = 0;
  vmctr__child_fd *fds = calloc(6 + vm->nshares + 2 * vm->ndisks + vm->net.n, sizeof(*fds));
  if (!fds) {
    close(errfd);
    return vmctr__err_nomem();
  }
  fds[nfds++] = (vmctr__child_fd){errfd, 1};
  fds[nfds++] = (vmctr__child_fd){errfd, 2};
  fds[nfds++] = (vmctr__child_fd){vm->qmp_peer, QMP_CHILD_FD};
  fds[nfds++] = (vmctr__child_fd){vm->agent_peer, AGENT_CHILD_FD};
  fds[nfds++] = (vmctr__child_fd){vm->console_peer, CONSOLE_CHILD_FD};
  for (size_t i = 0; i < vm->nshares; i++)
    fds[nfds++] = (vmctr__child_fd){vm->mounts.conns[i], SHARE_CHILD_FD0 + (int)i};
  for (size_t i = 0; i < 2 * vm->ndisks; i++)
    if (vm->disk_fds[i] >= 0)
      fds[nfds++] = (vmctr__child_fd){vm->disk_fds[i], SHARE_CHILD_FD0 + (int)vm->nshares + (int)i};
  for (size_t i = 0; i < vm->net.n; i++)
    if (vm->net.qemu_fds[i] >= 0)
      fds[nfds++] = (vmctr__child_fd){vm->net.qemu_fds[i], nic_child_fd(vm, i)};
  if (vm->state_fd >= 0 && vm->clone) /* a builder's goes over QMP at save */
    fds[nfds++] = (vmctr__child_fd){vm->state_fd, state_child_fd(vm)};
  r = vmctr__child_spawn_jailed(&vm->child, "qemu", vm->argv[0], vm->argv, vmctr__jail_env, fds,
                                nfds, &vm->jail.qemu);
  free(fds);
  close(errfd);
  close_fd(&vm->qmp_peer);
  close_fd(&vm->agent_peer);
  close_fd(&vm->console_peer);
  for (size_t i = 0; i < 2 * vm->ndisks; i++)
    close_fd(&vm->disk_fds[i]);
  for (size_t i = 0; i < vm->nshares; i++)
    close_fd(&vm->mounts.conns[i]);
  vmctr__qemu_net_spawned(&vm->net);
  if (r < 0)
    return r;
  vm->watching = true;
  if ((r = vmctr__evset_add(vm->exit_set, vm->child.pidfd)) < 0)
    return r;
  for (size_t i = 0; i < vm->mounts.n; i++)
    if (vm->mounts.daemons[i].pidfd >= 0 &&
        (r = vmctr__evset_add(vm->exit_set, vm->mounts.daemons[i].pidfd)) < 0)
      return r;
  for (size_t i = 0; i < vm->net.n; i++)
    if (vm->net.daemons[i].pidfd >= 0 &&
        (r = vmctr__evset_add(vm->exit_set, vm->net.daemons[i].pidfd)) < 0)
      return r;
  snprintf(pid, sizeof(pid), "%d\n", (int)vm->child.pid);
  if (vmctr__write_file_atomic(vm->pid_path, pid, strlen(pid), 0600) < 0)
    vmctr__log(VMCTR_LOG_WARN, "vmm", "cannot write %s", vm->pid_path);

  int qfd = vm->qmp.fd;
  vm->qmp.fd = -1;
  /* A clone waits in its RAM's open until we hand it over. */
  r = vm->clone ? vmctr__qemu_tmpl_ram_serve(&vm->tram, &vm->child, timeout_ms) : 0;
  if (r == 0)
    r = vmctr__qmp_open(&vm->qmp, qfd, timeout_ms);
  else
    close(qfd);
  if (r == 0 && vm->clone) {
    r = vmctr__qemu_tmpl_incoming(&vm->qmp, state_child_fd(vm), timeout_ms);
    close_fd(&vm->state_fd); /* QEMU has read it */
    if (r == 0)
      r = vmctr__qemu_tmpl_resize(&vm->qmp, vm->tdisks, vm->ndisks, timeout_ms);
  }
  if (r == 0 && (r = vmctr__qmp_execute(&vm->qmp, "query-status", timeout_ms, &m)) == 0) {
    status = vmctr__qmp_status(&m);
    if (!status)
      r = VMCTR_EPROTO;
    else if (strcmp(status, "running") != 0)
      r = vmctr__err(VMCTR_EIO, 0, "QEMU is %s, not running", status);
    vmctr__qmp_msg_clear(&m);
  }
  const char *which = NULL;
  if (r == 0 && vmctr__qemu_net_poll(&vm->net, &which) == 1)
    /* QEMU took long enough to answer for a passt that refused to start to be gone. */
    r = vmctr__err(VMCTR_EIO, 0, "%s exited at start (a published port in use, or a setting "
                   "it refused: run passt with the same options to see why)", which);
  if (r < 0) {
    /* Most often QEMU refused its arguments and exited: say what it said. */
    if (vmctr__child_wait(&vm->child, 2000) == 0) {
      char *why = qemu_stderr(vm);
      r = vmctr__err(VMCTR_EIO, 0, "QEMU exited with status %d at start: %s", vm->child.status,
                     why && *why ? why : "(no message)");
      free(why);
    }
    release_all(vm);
    return r;
  }
  return 0;
}

static int qemu_quit(void *ctx, int timeout_ms);

/* A clone gets its RAM through a seccomp user notification that adds an fd
 * to QEMU (SECCOMP_IOCTL_NOTIF_ADDFD): Linux 5.9. */
static bool kernel_has_addfd(void) {
  struct utsname u;
  unsigned maj = 0, min = 0;
  return uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
         (maj > 5 || (maj == 5 && min >= 9));
}

static int qemu_template_id(const vmctr__vm_spec *spec, char **out) {
  if (!kernel_has_addfd())
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "templates need Linux 5.9 or newer (a clone's RAM "
                      "is handed to QEMU read-only through a seccomp notification)");
  return vmctr__qemu_tmpl_id(spec, spec->accel == VMCTR_ACCEL_TCG ? host_tsc_khz() : 0, out);
}

static int qemu_save(void *ctx, int timeout_ms) {
  qemu_vm *vm = ctx;
  if (vm->clone || vm->state_fd < 0)
    return vmctr__err(VMCTR_ESTATE, 0, "this VM was not created as a template's builder");
  int r = vmctr__qemu_tmpl_save(&vm->qmp, vm->state_fd, timeout_ms);
  if (r == 0)
    r = qemu_quit(vm, timeout_ms);
  if (r == 0)
    r = vmctr__qemu_tmpl_ram_release(&vm->tram);
  return r;
}

static int qemu_agent_fd(void *ctx) {
  return ((qemu_vm *)ctx)->agent_host;
}

static int qemu_exit_fd(void *ctx) {
  qemu_vm *vm = ctx;
  return vm->child.pid > 0 ? vmctr__evset_fd(vm->exit_set) : -1;
}

static int qemu_poll(void *ctx, int *status) {
  qemu_vm *vm = ctx;
  const char *which = NULL;
  int r = vmctr__child_poll(&vm->child);
  if (r == 0 && (vmctr__qemu_mounts_poll(&vm->mounts, &which) == 1 ||
                 vmctr__qemu_net_poll(&vm->net, &which) == 1)) {
    /* A share or a NIC without its daemon is a broken VM: end it, as if it died. */
    vmctr__log(VMCTR_LOG_WARN, "vmm", "%s exited; stopping the VM", which);
    r = 1;
  }
  if (r == 1) {
    release_all(vm);
    if (status)
      *status = vm->child.status;
  }
  return r;
}

static int qemu_quit(void *ctx, int timeout_ms) {
  qemu_vm *vm = ctx;
  if (vmctr__child_poll(&vm->child) == 1)
    return 0;
  /* QEMU may exit before it answers; the wait below is what counts. */
  if (vm->qmp.fd >= 0)
    (void)vmctr__qmp_execute(&vm->qmp, "quit", timeout_ms, NULL);
  return vmctr__child_wait(&vm->child, timeout_ms);
}

static void qemu_kill(void *ctx) {
  release_all(ctx);
}

static int32_t qemu_pid(void *ctx) {
  qemu_vm *vm = ctx;
  return vm->child.exited ? 0 : (int32_t)vm->child.pid;
}

const vmctr__backend_ops vmctr__qemu_backend = {
  .name = "qemu",
  .create = qemu_create,
  .start = qemu_start,
  .agent_fd = qemu_agent_fd,
  .exit_fd = qemu_exit_fd,
  .poll = qemu_poll,
  .quit = qemu_quit,
  .kill = qemu_kill,
  .pid = qemu_pid,
  .free = qemu_free,
  .create_template = qemu_create_template,
  .save = qemu_save,
  .template_id = qemu_template_id,
};
