/* SPDX-License-Identifier: MIT */
/* QEMU's save and restore of a template (qemu-template-priv.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/child.h"
#include "core/error.h"
#include "core/time.h"
#include "core/util.h"
#include "vmm/qemu-argv-priv.h"
#include "vmm/qemu-template-priv.h"

#define JAIL_RAM "template-ram"
#define POLL_NS 1000000L

int vmctr__qemu_tmpl_ram_jail(vmctr__qemu_tmpl_ram *t, vmctr__vm_jail *j, const char *ram,
                              bool writable) {
  if (!(t->host = vmctr__strdup(ram)))
    return VMCTR_ENOMEM;
  t->path = t->host;
  if (!writable) {
    /* A clone: QEMU asks for mem-path and gets our read-only fd. The name
     * only has to be one it would not open otherwise. */
    if ((t->fd = open(ram, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
      return vmctr__err_os(errno, "cannot open the template's RAM %s", ram);
    if (j->qemu.namespaces)
      t->path = "/" JAIL_RAM;
    j->qemu.notify_rdwr_open = true;
    return 0;
  }
  if (j->qemu.namespaces) {
    if (j->qemu.nbinds >= VMCTR__JAIL_MAX_BINDS)
      return vmctr__err(VMCTR_EINVAL, 0, "too many files for the hypervisor's jail");
    j->binds[j->qemu.nbinds++] = (vmctr__jail_bind){t->host, JAIL_RAM, VMCTR__JAIL_BIND_NOEXEC};
    t->path = "/" JAIL_RAM;
  }
  if (j->qemu.set_ids) {
    struct stat st;
    if (stat(ram, &st) < 0)
      return vmctr__err_os(errno, "cannot stat %s", ram);
    if (chown(ram, j->qemu.uid, j->qemu.gid) < 0)
      return vmctr__err_os(errno, "cannot hand %s to the jail's id", ram);
    t->chowned = true;
    t->uid = st.st_uid;
    t->gid = st.st_gid;
  }
  return 0;
}

/* Whether the string at addr in pid's memory is want (NUL included). */
static bool remote_is(pid_t pid, uint64_t addr, const char *want) {
  char buf[256];
  size_t n = strlen(want) + 1;
  if (n > sizeof(buf))
    return false;
  struct iovec local = {buf, n}, remote = {(void *)(uintptr_t)addr, n};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n && memcmp(buf, want, n) == 0;
}

int vmctr__qemu_tmpl_ram_serve(vmctr__qemu_tmpl_ram *t, vmctr__child *c, int timeout_ms) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  int r = 0;
  if (c->notify_fd < 0 || t->fd < 0)
    return vmctr__err(VMCTR_EINVAL, 0, "a clone's QEMU without its RAM handover");
  for (bool done = false; !done;) {
    struct pollfd p[2] = {{c->notify_fd, POLLIN, 0}, {c->pidfd, POLLIN, 0}};
    int left = deadline < 0 ? -1 : (int)(deadline - vmctr__now_ms());
    if (deadline >= 0 && left <= 0) {
      r = vmctr__err(VMCTR_ETIMEDOUT, 0, "QEMU did not open its RAM within %d ms", timeout_ms);
      break;
    }
    int n = poll(p, 2, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = vmctr__err_os(errno, "poll for QEMU's RAM open");
      break;
    }
    if (n == 0)
      continue; /* the deadline test above ends it */
    if (!(p[0].revents & POLLIN)) {
      /* QEMU is gone (or the listener broke) before it asked: the caller
       * reports what QEMU said. */
      r = vmctr__err(VMCTR_EIO, 0, "QEMU ended before it opened its RAM");
      break;
    }
    struct seccomp_notif req;
    memset(&req, 0, sizeof(req));
    if (ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      if (errno == EINTR || errno == ENOENT)
        continue; /* ENOENT: the caller died or was interrupted meanwhile */
      r = vmctr__err_os(errno, "cannot receive QEMU's open");
      break;
    }
    uint64_t path = req.data.nr == __NR_openat ? req.data.args[1] : req.data.args[0];
    bool ours = remote_is((pid_t)req.pid, path, t->path);
    /* The name was read from a process that may have gone meanwhile: the
     * notification must still be the one we read. */
    if (ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0)
      continue;
    struct seccomp_notif_resp resp = {.id = req.id};
    if (ours) {
      struct seccomp_notif_addfd a = {.id = req.id, .srcfd = (uint32_t)t->fd,
                                      .newfd_flags = 0};
      int tfd = ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
      if (tfd < 0) {
        r = vmctr__err_os(errno, "cannot hand QEMU its RAM");
        resp.error = -EACCES;
      } else {
        resp.val = tfd;
      }
    } else {
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; /* anything else: as asked */
    }
    if (ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) {
      /* ENOENT: a signal interrupted the open, which the kernel restarts
       * (a new notification): keep serving, or the restarted open of
       * mem-path would meet a closed listener (ENOSYS). The fd ADDFD put in
       * QEMU for the cancelled one stays unused there. */
      if (errno == ENOENT && r == 0)
        continue;
      if (r == 0)
        r = vmctr__err_os(errno, "cannot answer QEMU's open");
      break;
    }
    if (r < 0)
      break;
    done = ours;
  }
  close(c->notify_fd);
  c->notify_fd = -1;
  return r;
}

int vmctr__qemu_tmpl_ram_release(vmctr__qemu_tmpl_ram *t) {
  if (t->chowned && chown(t->host, t->uid, t->gid) < 0)
    return vmctr__err_os(errno, "cannot take %s back from the jail's id", t->host);
  t->chowned = false;
  return 0;
}

void vmctr__qemu_tmpl_ram_clear(vmctr__qemu_tmpl_ram *t) {
  if (t->host)
    (void)vmctr__qemu_tmpl_ram_release(t);
  if (t->fd >= 0)
    close(t->fd);
  free(t->host);
  *t = (vmctr__qemu_tmpl_ram)VMCTR__QEMU_TMPL_RAM_INIT;
}

static const char *ret_status(const vmctr__qmp_msg *m) {
  const cJSON *s = cJSON_IsObject(m->ret) ? cJSON_GetObjectItemCaseSensitive(m->ret, "status")
                                          : NULL;
  return cJSON_IsString(s) ? s->valuestring : NULL;
}

static void pause_a_little(void) {
  struct timespec ts = {0, POLL_NS};
  nanosleep(&ts, NULL);
}

#define CAPS_CMD                                                                                  \
  "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"                   \
  "[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}\n"

int vmctr__qemu_tmpl_incoming(vmctr__qmp *q, int fd, int timeout_ms) {
  char cmd[512];
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  int r;
  snprintf(cmd, sizeof(cmd),
           CAPS_CMD "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:%d\"}}\n", fd);
  if ((r = vmctr__qmp_send(q, cmd)) < 0 ||
      (r = vmctr__qmp_result(q, "migrate-set-capabilities", timeout_ms, NULL)) < 0 ||
      (r = vmctr__qmp_result(q, "migrate-incoming", timeout_ms, NULL)) < 0)
    return vmctr__err_prefix("restoring the template");
  /* A failed load ends QEMU (the caller sees it exit); a good one runs. */
  for (;;) {
    vmctr__qmp_msg m = {0};
    if ((r = vmctr__qmp_execute(q, "query-status", timeout_ms, &m)) < 0)
      return vmctr__err_prefix("restoring the template");
    const char *st = vmctr__qmp_status(&m);
    bool running = st && strcmp(st, "running") == 0, waiting = st && strcmp(st, "inmigrate") == 0;
    if (!running && !waiting)
      r = vmctr__err(VMCTR_EIO, 0, "restoring the template: QEMU is %s", st ? st : "(no status)");
    vmctr__qmp_msg_clear(&m);
    if (running || r < 0)
      return r;
    if (deadline >= 0 && vmctr__now_ms() >= deadline)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "restoring the template took more than %d ms",
                        timeout_ms);
    pause_a_little();
  }
}

int vmctr__qemu_tmpl_save(vmctr__qmp *q, int fd, int timeout_ms) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  int r;
  /* Outgoing fd: migration takes only a named fd (getfd), not a number. */
  if ((r = vmctr__qmp_send_fd(q, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"state\"}}\n",
                              fd)) < 0 ||
      (r = vmctr__qmp_result(q, "getfd", timeout_ms, NULL)) < 0 ||
      (r = vmctr__qmp_send(q, CAPS_CMD "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:state\"}}\n")) < 0 ||
      (r = vmctr__qmp_result(q, "migrate-set-capabilities", timeout_ms, NULL)) < 0 ||
      (r = vmctr__qmp_result(q, "migrate", timeout_ms, NULL)) < 0)
    return vmctr__err_prefix("saving the template");
  for (;;) {
    vmctr__qmp_msg m = {0};
    if ((r = vmctr__qmp_execute(q, "query-migrate", timeout_ms, &m)) < 0)
      return vmctr__err_prefix("saving the template");
    const char *st = ret_status(&m);
    bool done = st && strcmp(st, "completed") == 0;
    bool failed = !st || strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0;
    if (failed)
      r = vmctr__err(VMCTR_EIO, 0, "saving the template: the migration is %s",
                     st ? st : "(no status)");
    vmctr__qmp_msg_clear(&m);
    if (done || r < 0)
      return r;
    if (deadline >= 0 && vmctr__now_ms() >= deadline)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "saving the template took more than %d ms",
                        timeout_ms);
    pause_a_little();
  }
}

int vmctr__qemu_tmpl_id(const vmctr__vm_spec *spec, unsigned long tsc_khz, char **out) {
  const char *binary = vmctr_caps_qemu_path(spec->caps);
  const char *version = vmctr_caps_qemu_version(spec->caps);
  struct stat st;
  char *cmdline = vmctr__qemu_cmdline(spec, tsc_khz);
  int r = 0;
  if (!binary || !cmdline || stat(binary, &st) < 0) {
    free(cmdline);
    return binary && cmdline ? vmctr__err_os(errno, "cannot stat %s", binary)
                             : vmctr__err(VMCTR_ENOENT, 0, "no QEMU to key a template on");
  }
  /* The binary's identity stands for its content: an upgrade replaces the
   * file (new inode, times). Then its version and the guest's command line. */
  if (asprintf(out, "qemu %s %ju:%ju:%jd:%jd.%09ld:%jd.%09ld %s tb=%d [%s]", binary,
               (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
               (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
               st.st_ctim.tv_nsec, version ? version : "?", VMCTR__QEMU_TB_MIB, cmdline) < 0) {
    *out = NULL;
    r = vmctr__err_nomem();
  }
  free(cmdline);
  return r;
}

int vmctr__qemu_tmpl_disks(const vmctr__vm_spec *spec, vmctr__qemu_tmpl_disk **out) {
  vmctr__qemu_tmpl_disk *d = calloc(spec->ndisks + 1, sizeof(*d));
  if (!d)
    return vmctr__err_nomem();
  for (size_t i = 0; i < spec->ndisks; i++) {
    snprintf(d[i].node, sizeof(d[i].node), "%s", spec->disks[i].serial);
    d[i].resize = !spec->disks[i].read_only && !spec->disks[i].size;
  }
  *out = d;
  return 0;
}

/* The virtual size of node (its format's view: a raw image's length, a
 * qcow2's disk size), from query-named-block-nodes; 0 if not listed. */
static uint64_t node_size(const vmctr__qmp_msg *m, const char *node) {
  const cJSON *n;
  cJSON_ArrayForEach(n, m->ret) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(n, "node-name");
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(n, "image");
    const cJSON *vs = img ? cJSON_GetObjectItemCaseSensitive(img, "virtual-size") : NULL;
    if (cJSON_IsString(name) && strcmp(name->valuestring, node) == 0 && cJSON_IsNumber(vs) &&
        vs->valuedouble > 0)
      return (uint64_t)vs->valuedouble;
  }
  return 0;
}

int vmctr__qemu_tmpl_resize(vmctr__qmp *q, const vmctr__qemu_tmpl_disk *d, size_t n, int timeout_ms) {
  vmctr__strbuf sb = {0};
  vmctr__qmp_msg m = {0};
  size_t sent = 0;
  int r = 0;
  bool any = false;
  for (size_t i = 0; i < n; i++)
    any = any || d[i].resize;
  if (!any)
    return 0;
  if ((r = vmctr__qmp_execute(q, "query-named-block-nodes", timeout_ms, &m)) < 0)
    return vmctr__err_prefix("giving the clone its disks");
  vmctr__sb_append(&sb, "", 0);
  for (size_t i = 0; i < n && r == 0; i++) {
    if (!d[i].resize)
      continue;
    uint64_t size = cJSON_IsArray(m.ret) ? node_size(&m, d[i].node) : 0;
    if (!size) {
      r = vmctr__err(VMCTR_EPROTO, 0, "QEMU does not list the disk node %s", d[i].node);
      break;
    }
    /* The same size: nothing changes but the guest's notice of it. Node
     * names are serials of the library's own making (vmctr__mount_serial). */
    vmctr__sb_printf(&sb, "{\"execute\":\"block_resize\",\"arguments\":{\"node-name\":\"%s\","
                     "\"size\":%ju}}\n", d[i].node, (uintmax_t)size);
    sent++;
  }
  vmctr__qmp_msg_clear(&m);
  char *text = vmctr__sb_steal(&sb);
  if (!text)
    return r < 0 ? r : vmctr__err_nomem();
  if (r == 0 && sent && (r = vmctr__qmp_send(q, text)) == 0)
    for (size_t i = 0; i < sent && r == 0; i++)
      r = vmctr__qmp_result(q, "block_resize", timeout_ms, NULL);
  free(text);
  return r < 0 ? vmctr__err_prefix("giving the clone its disks") : 0;
}
