/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fd.h"
#include "core/time.h"

int vmctr__pipe(int p[2]) {
#ifdef __linux__
  return pipe2(p, O_CLOEXEC | O_NONBLOCK);
#else
  /* No pipe2: a fork+exec in another thread may briefly see these fds. */
  if (pipe(p) < 0)
    return -1;
  for (int i = 0; i < 2; i++)
    if (fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK) < 0) {
      int e = errno;
      close(p[0]);
      close(p[1]);
      p[0] = p[1] = -1;
      errno = e;
      return -1;
    }
  return 0;
#endif
}

void vmctr__close_pipe(int p[2]) {
  for (int i = 0; i < 2; i++)
    if (p[i] >= 0)
      close(p[i]);
  p[0] = p[1] = -1;
}

int vmctr__wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events};
    int left = vmctr__remaining_ms(deadline);
    int r = poll(&p, 1, left);
    if (r > 0)
      return 1;
    if (r == 0 && left == 0)
      return 0;
    if (r < 0 && errno != EINTR)
      return vmctr__err_os(errno, "poll");
  }
}
