/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/jail-log.h"
#include "core/log.h"

struct vmctr__boundlog {
  pthread_t thread;
  int src, out, stop[2];
  uint64_t cap, size;
  _Atomic uint64_t total;
  char *keep; /* cap / 2 bytes */
};

/* Keep the newer half of the file behind the marker. */
static int shrink(vmctr__boundlog *b) {
  size_t half = (size_t)(b->cap / 2), m = strlen(VMCTR__BOUNDLOG_MARKER);
  ssize_t n = pread(b->out, b->keep, half, (off_t)(b->size - half));
  if (n < 0)
    return -1;
  if (pwrite(b->out, VMCTR__BOUNDLOG_MARKER, m, 0) != (ssize_t)m ||
      pwrite(b->out, b->keep, (size_t)n, (off_t)m) != n || ftruncate(b->out, (off_t)(m + (size_t)n)) < 0)
    return -1;
  b->size = m + (uint64_t)n;
  return 0;
}

static int put(vmctr__boundlog *b, const char *p, size_t n) {
  while (n > 0) {
    size_t room = b->size < b->cap ? (size_t)(b->cap - b->size) : 0;
    if (room == 0) {
      if (shrink(b) < 0)
        return -1;
      continue;
    }
    size_t k = n < room ? n : room;
    ssize_t w = pwrite(b->out, p, k, (off_t)b->size);
    if (w <= 0)
      return -1;
    b->size += (uint64_t)w;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void *pump(void *arg) {
  vmctr__boundlog *b = arg;
  char buf[16384];
  bool stopping = false, broken = false;
  for (;;) {
    struct pollfd p[2] = {{.fd = b->src, .events = POLLIN}, {.fd = b->stop[0], .events = POLLIN}};
    if (!stopping && poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    if (p[1].revents)
      stopping = true;
    ssize_t n = read(b->src, buf, sizeof(buf));
    if (n > 0) {
      atomic_fetch_add(&b->total, (uint64_t)n);
      /* A log that cannot be written is dropped, the stream still drained:
       * the guest's console must never stall on us. */
      if (!broken && put(b, buf, (size_t)n) < 0) {
        vmctr__log(VMCTR_LOG_WARN, "vmm", "cannot write the boot log: %s", strerror(errno));
        broken = true;
      }
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR) || stopping)
      break;
  }
  return NULL;
}

int vmctr__boundlog_start(vmctr__boundlog **out, int fd, const char *path, uint64_t cap) {
  vmctr__boundlog *b = calloc(1, sizeof(*b));
  sigset_t all, old;
  int r;
  if (cap < 4096)
    cap = 4096;
  if (!b || !(b->keep = malloc((size_t)(cap / 2)))) {
    free(b);
    close(fd);
    return vmctr__err_nomem();
  }
  b->src = fd;
  b->cap = cap;
  b->stop[0] = b->stop[1] = -1;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  b->out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (b->out < 0) {
    r = vmctr__err_os(errno, "cannot create the boot log %s", path);
    goto fail;
  }
  if (pipe2(b->stop, O_CLOEXEC) < 0) {
    r = vmctr__err_os(errno, "pipe");
    goto fail;
  }
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&b->thread, NULL, pump, b);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    r = vmctr__err_os(r, "cannot start the boot log thread");
    goto fail;
  }
  *out = b;
  return 0;
fail:
  close(fd);
  if (b->out >= 0)
    close(b->out);
  if (b->stop[0] >= 0) {
    close(b->stop[0]);
    close(b->stop[1]);
  }
  free(b->keep);
  free(b);
  return r;
}

uint64_t vmctr__boundlog_total(vmctr__boundlog *b) {
  return b ? atomic_load(&b->total) : 0;
}

void vmctr__boundlog_stop(vmctr__boundlog *b) {
  if (!b)
    return;
  (void)!write(b->stop[1], "x", 1);
  pthread_join(b->thread, NULL);
  close(b->stop[0]);
  close(b->stop[1]);
  close(b->src);
  close(b->out);
  free(b->keep);
  free(b);
}
