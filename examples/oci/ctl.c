/* SPDX-License-Identifier: MIT */
/* vmctr-oci: the control socket's messages and its client side (ctl.h).
 * No libvmctr here: the front binary links this without the library. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "state.h"

static int fmt_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fmt_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- messages ---- */

/* One JSON object (and up to 3 fds) as one SEQPACKET message. */
int oci_msg_send(int fd, const cJSON *msg, const int *fds, size_t nfds) {
  char *text = cJSON_PrintUnformatted(msg);
  if (!text)
    return -1;
  struct iovec iov = {text, strlen(text)};
  union {
    char buf[CMSG_SPACE(sizeof(int) * 3)];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0 && nfds <= 3) {
    memset(&u, 0, sizeof(u));
    mh.msg_control = u.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t w;
  do
    w = sendmsg(fd, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  free(text);
  return w < 0 ? -1 : 0;
}

/* Receive one message: 1 with *msg (and fds, -1 where absent), 0 at end of
 * file, -1 on error or a malformed message. Untrusted: bounded and parsed. */
int oci_msg_recv(int fd, cJSON **msg, int *fds, size_t maxfds, size_t *nfds) {
  static char buf[OCI_CTL_MAX + 1];
  union {
    char b[CMSG_SPACE(sizeof(int) * 3)];
    struct cmsghdr align;
  } u;
  struct iovec iov = {buf, OCI_CTL_MAX};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                      .msg_controllen = sizeof(u.b)};
  *msg = NULL;
  if (nfds)
    *nfds = 0;
  ssize_t n;
  do
    n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  size_t got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *in = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < k; i++) {
      if (fds && got < maxfds)
        fds[got++] = in[i];
      else
        close(in[i]);
    }
  }
  if (nfds)
    *nfds = got;
  if (n == 0 && got == 0)
    return 0;
  if (mh.msg_flags & MSG_TRUNC)
    goto bad;
  buf[n] = '\0';
  *msg = cJSON_ParseWithLength(buf, (size_t)n);
  if (!cJSON_IsObject(*msg))
    goto bad;
  return 1;
bad:
  cJSON_Delete(*msg);
  *msg = NULL;
  for (size_t i = 0; fds && i < got; i++)
    close(fds[i]), fds[i] = -1;
  if (nfds)
    *nfds = 0;
  return -1;
}

int oci_ctl_path(char *buf, size_t cap, int dirfd) {
  return snprintf(buf, cap, "/proc/self/fd/%d/%s", dirfd, OCI_CTL_SOCKET) >= (int)cap ? -1 : 0;
}

int oci_ctl_connect(const char *root, const char *id, char *err, size_t errlen) {
  char dir[4096], path[108];
  if (oci_state_dir(dir, sizeof(dir), root, id) < 0)
    return fmt_err(err, errlen, "the state path is too long");
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return fmt_err(err, errlen, "container does not exist");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  oci_ctl_path(path, sizeof(path), dfd);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    close(dfd);
    return fmt_err(err, errlen, "container not running (its monitor does not answer: %s)", strerror(e));
  }
  close(dfd);
  return fd;
}

int oci_ctl_call(int fd, const cJSON *req, const int *fds, size_t nfds, int timeout_ms,
                 cJSON **reply, char *err, size_t errlen) {
  *reply = NULL;
  if (oci_msg_send(fd, req, fds, nfds) < 0)
    return fmt_err(err, errlen, "container not running (cannot reach its monitor: %s)", strerror(errno));
  struct pollfd pf = {fd, POLLIN, 0};
  int r;
  do
    r = poll(&pf, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return fmt_err(err, errlen, "the container's monitor did not answer in %d ms", timeout_ms);
  cJSON *m = NULL;
  r = oci_msg_recv(fd, &m, NULL, 0, NULL);
  if (r <= 0)
    return fmt_err(err, errlen, "container not running (its monitor went away)");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, "error");
  if (cJSON_IsString(e)) {
    fmt_err(err, errlen, "%s", e->valuestring);
    cJSON_Delete(m);
    return -1;
  }
  *reply = m;
  return 0;
}

