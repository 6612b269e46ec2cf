/* SPDX-License-Identifier: MIT */
/*
 * Finding the agent channel at boot: the virtio-serial port named
 * "vmctr.agent" (QEMU: a unix socket on the host side), else a vsock listener
 * on port GUEST_VSOCK_PORT (Virtualization.framework). Devices appear while
 * drivers probe, so we poll for a while.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "guest/guest-priv.h"

#define PORT_NAME "vmctr.agent"
#define WAIT_MS 30000
#define STEP_MS 20
/* Prefer the virtio port; fall back to vsock only after this long. */
#define VSOCK_AFTER_MS 1000

static int find_virtio_port(void) {
  DIR *d = opendir("/sys/class/virtio-ports");
  struct dirent *e;
  char path[300], name[64], dev[300];
  int fd = -1;
  if (!d)
    return -1;
  while (fd < 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
    FILE *f = fopen(path, "re");
    if (!f)
      continue;
    bool match = fgets(name, sizeof(name), f) != NULL;
    name[strcspn(name, "\n")] = '\0';
    match = match && strcmp(name, PORT_NAME) == 0;
    fclose(f);
    if (!match)
      continue;
    snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
    /* Blocking: the first write waits until the host side is connected. */
    fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
      guest_log("open %s: %s", dev, strerror(errno));
  }
  closedir(d);
  return fd;
}

/* A listener on GUEST_VSOCK_PORT, nonblocking, or -1. */
static int vsock_listen(void) {
  struct sockaddr_vm addr;
  int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0)
    return -1;
  memset(&addr, 0, sizeof(addr));
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = GUEST_VSOCK_PORT;
  if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0) {
    close(s);
    return -1;
  }
  guest_log("also waiting for the host on vsock port %u", GUEST_VSOCK_PORT);
  return s;
}

int guest_channel_open(void) {
  int lfd = -1, fd = -1;
  /* /dev/vsock exists as soon as the vsock core is there, even without a
   * transport, so the listener never stops the search for the port. */
  for (int waited = 0; waited <= WAIT_MS && fd < 0; waited += STEP_MS) {
    fd = find_virtio_port();
    if (fd >= 0)
      break;
    if (lfd < 0 && waited >= VSOCK_AFTER_MS && access("/dev/vsock", F_OK) == 0)
      lfd = vsock_listen();
    if (lfd >= 0) {
      struct pollfd pfd = {.fd = lfd, .events = POLLIN};
      if (poll(&pfd, 1, STEP_MS) > 0) {
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) /* the loop wants it blocking until HELLO is out */
          fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      }
    } else {
      struct timespec step = {0, STEP_MS * 1000000L};
      nanosleep(&step, NULL);
    }
  }
  if (lfd >= 0)
    close(lfd);
  return fd;
}
