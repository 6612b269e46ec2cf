/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fd.h"
#include "core/log.h"
#include "core/time.h"
#include "vmm/qmp-priv.h"

void vmctr__qmp_msg_clear(vmctr__qmp_msg *m) {
  cJSON_Delete(m->root);
  memset(m, 0, sizeof(*m));
}

int vmctr__qmp_parse(const char *line, size_t len, vmctr__qmp_msg *out) {
  vmctr__qmp_msg m = {0};
  const cJSON *x;
  int r;

  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
    len--;
  if ((r = vmctr__json_parse(line, len, "QMP message", &m.root)) < 0)
    return r;
  if (!cJSON_IsObject(m.root))
    goto bad;
  if (cJSON_GetObjectItemCaseSensitive(m.root, "QMP")) {
    m.kind = VMCTR__QMP_GREETING;
  } else if ((x = cJSON_GetObjectItemCaseSensitive(m.root, "return"))) {
    m.kind = VMCTR__QMP_RETURN;
    m.ret = x;
  } else if ((x = cJSON_GetObjectItemCaseSensitive(m.root, "error"))) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(x, "desc");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(x, "class");
    m.kind = VMCTR__QMP_ERROR;
    m.err_desc = cJSON_IsString(d) ? d->valuestring : "(no description)";
    m.err_class = cJSON_IsString(c) ? c->valuestring : "GenericError";
  } else if ((x = cJSON_GetObjectItemCaseSensitive(m.root, "event"))) {
    if (!cJSON_IsString(x))
      goto bad;
    m.kind = VMCTR__QMP_EVENT;
    m.event = x->valuestring;
  } else {
    goto bad;
  }
  *out = m;
  return 0;
bad:
  cJSON_Delete(m.root);
  return vmctr__err(VMCTR_EPROTO, 0, "QMP: unexpected message from QEMU");
}

const char *vmctr__qmp_status(const vmctr__qmp_msg *m) {
  const cJSON *s;
  if (m->kind != VMCTR__QMP_RETURN || !cJSON_IsObject(m->ret) ||
      !cJSON_IsString(s = cJSON_GetObjectItemCaseSensitive(m->ret, "status"))) {
    vmctr__err(VMCTR_EPROTO, 0, "QMP: query-status returned no status");
    return NULL;
  }
  return s->valuestring;
}

/* Read one line into *out (parsed), waiting until deadline. */
static int read_msg(vmctr__qmp *q, int64_t deadline, vmctr__qmp_msg *out) {
  for (;;) {
    char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
    if (nl) {
      size_t n = (size_t)(nl - q->buf);
      int r = vmctr__qmp_parse(q->buf, n, out);
      memmove(q->buf, nl + 1, q->len - n - 1);
      q->len -= n + 1;
      return r;
    }
    if (q->len >= VMCTR__QMP_MAX_LINE)
      return vmctr__err(VMCTR_EPROTO, 0, "QMP: line from QEMU longer than %u bytes",
                        VMCTR__QMP_MAX_LINE);
    int r = vmctr__wait_fd(q->fd, POLLIN, deadline);
    if (r == 0)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "QMP: no answer from QEMU in time");
    if (r < 0)
      return vmctr__err_prefix("QMP");
    ssize_t got = read(q->fd, q->buf + q->len, VMCTR__QMP_MAX_LINE - q->len);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got < 0)
      return vmctr__err_os(errno, "QMP: read");
    if (got == 0)
      return vmctr__err(VMCTR_EIO, 0, "QMP: QEMU closed the monitor connection");
    q->len += (size_t)got;
  }
}

static int write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return vmctr__err_os(errno, "QMP: write to QEMU");
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

int vmctr__qmp_send(vmctr__qmp *q, const char *text) {
  if (q->fd < 0)
    return vmctr__err(VMCTR_ESTATE, 0, "QMP: not connected");
  return write_all(q->fd, text, strlen(text));
}

int vmctr__qmp_send_fd(vmctr__qmp *q, const char *text, int fd) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof(u.buf)};
  memset(&u, 0, sizeof(u));
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (q->fd < 0)
    return vmctr__err(VMCTR_ESTATE, 0, "QMP: not connected");
  ssize_t w;
  while ((w = sendmsg(q->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (w < 0)
    return vmctr__err_os(errno, "QMP: write to QEMU");
  /* The fd went with the first byte; the rest is plain text. */
  return (size_t)w < iov.iov_len ? write_all(q->fd, text + w, iov.iov_len - (size_t)w) : 0;
}

int vmctr__qmp_result(vmctr__qmp *q, const char *command, int timeout_ms, vmctr__qmp_msg *out) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  int r;
  if (q->fd < 0)
    return vmctr__err(VMCTR_ESTATE, 0, "QMP: not connected");
  for (;;) {
    vmctr__qmp_msg m;
    if ((r = read_msg(q, deadline, &m)) < 0)
      return r;
    switch (m.kind) {
    case VMCTR__QMP_EVENT:
      vmctr__log(VMCTR_LOG_DEBUG, "vmm", "QMP event %s", m.event);
      if (strcmp(m.event, "SHUTDOWN") == 0)
        q->shutdown_seen = true;
      vmctr__qmp_msg_clear(&m);
      continue;
    case VMCTR__QMP_ERROR:
      r = vmctr__err(VMCTR_EPROTO, 0, "QMP %s failed: %s (%s)", command, m.err_desc,
                     m.err_class);
      vmctr__qmp_msg_clear(&m);
      return r;
    case VMCTR__QMP_RETURN:
      if (out)
        *out = m;
      else
        vmctr__qmp_msg_clear(&m);
      return 0;
    default:
      vmctr__qmp_msg_clear(&m);
      return vmctr__err(VMCTR_EPROTO, 0, "QMP: unexpected greeting");
    }
  }
}

int vmctr__qmp_execute(vmctr__qmp *q, const char *command, int timeout_ms, vmctr__qmp_msg *out) {
  char cmd[128];
  int r;
  snprintf(cmd, sizeof(cmd), "{\"execute\":\"%s\"}\n", command);
  if ((r = vmctr__qmp_send(q, cmd)) < 0)
    return r;
  return vmctr__qmp_result(q, command, timeout_ms, out);
}

int vmctr__qmp_open(vmctr__qmp *q, int fd, int timeout_ms) {
  vmctr__qmp_msg m;
  int r;
  memset(q, 0, sizeof(*q));
  q->fd = fd;
  if (!(q->buf = malloc(VMCTR__QMP_MAX_LINE + 1))) {
    vmctr__qmp_close(q);
    return vmctr__err_nomem();
  }
  if ((r = read_msg(q, vmctr__deadline_ms(timeout_ms), &m)) < 0)
    goto fail;
  r = m.kind == VMCTR__QMP_GREETING ? 0 : vmctr__err(VMCTR_EPROTO, 0, "QMP: no greeting");
  vmctr__qmp_msg_clear(&m);
  if (r < 0 || (r = vmctr__qmp_execute(q, "qmp_capabilities", timeout_ms, NULL)) < 0)
    goto fail;
  return 0;
fail:
  vmctr__qmp_close(q);
  return r;
}

void vmctr__qmp_close(vmctr__qmp *q) {
  if (q->fd >= 0)
    close(q->fd);
  free(q->buf);
  q->buf = NULL;
  q->fd = -1;
  q->len = 0;
}
