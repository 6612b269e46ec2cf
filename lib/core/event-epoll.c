/* SPDX-License-Identifier: MIT */
/* vmctr__evset on epoll: the epoll fd is the set's fd. The kernel re-checks
 * level-triggered entries whenever the epoll fd is polled, so readiness is
 * exact and nothing runs between polls. An eventfd carries notifications. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/error.h"
#include "core/event.h"
#include "core/fd.h"
#include "core/time.h"

struct vmctr__evset {
  int epfd;
  int efd;
};

int vmctr__evset_epoll_new(vmctr__evset **out) {
  struct epoll_event ev = {.events = EPOLLIN};
  vmctr__evset *s = malloc(sizeof(*s));
  int e;
  if (!s)
    return vmctr__err_nomem();
  s->efd = -1;
  if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
      (s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
      (ev.data.fd = s->efd, epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev)) < 0) {
    e = errno;
    vmctr__evset_epoll_free(s);
    return vmctr__err_os(e, "cannot create an event set");
  }
  *out = s;
  return 0;
}

void vmctr__evset_epoll_free(vmctr__evset *s) {
  if (!s)
    return;
  if (s->epfd >= 0)
    close(s->epfd);
  if (s->efd >= 0)
    close(s->efd);
  free(s);
}

int vmctr__evset_epoll_fd(const vmctr__evset *s) { return s->epfd; }

int vmctr__evset_epoll_add(vmctr__evset *s, int fd) {
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    return vmctr__err_os(errno, "cannot watch fd %d", fd);
  return 0;
}

int vmctr__evset_epoll_del(vmctr__evset *s, int fd) {
  if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
    return vmctr__err_os(errno, "cannot stop watching fd %d", fd);
  return 0;
}

void vmctr__evset_epoll_notify(vmctr__evset *s) {
  uint64_t one = 1;
  /* EAGAIN means the counter is saturated: already readable. */
  while (write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void vmctr__evset_epoll_drain(vmctr__evset *s) {
  uint64_t n;
  while (read(s->efd, &n, sizeof(n)) < 0 && errno == EINTR) {
  }
}

int vmctr__evset_epoll_wait(vmctr__evset *s, int timeout_ms) {
  return vmctr__wait_fd(s->epfd, POLLIN, vmctr__deadline_ms(timeout_ms));
}
