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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "guest/guest.h"

#define PORT_NAME "vmctr.agent"
#define WAIT_MS 10000
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

static int vsock_accept(void) {
  struct sockaddr_vm addr;
  int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  memset(&addr, 0, sizeof(addr));
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = GUEST_VSOCK_PORT;
  if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0) {
    guest_log("vsock port %u: %s", GUEST_VSOCK_PORT, strerror(errno));
    close(s);
    return -1;
  }
  guest_log("waiting for the host on vsock port %u", GUEST_VSOCK_PORT);
  int c;
  do
    c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
  while (c < 0 && errno == EINTR);
  close(s);
  return c;
}

int guest_channel_open(void) {
  struct timespec step = {0, STEP_MS * 1000000L};
  for (int waited = 0; waited <= WAIT_MS; waited += STEP_MS) {
    int fd = find_virtio_port();
    if (fd >= 0)
      return fd;
    if (waited >= VSOCK_AFTER_MS && access("/dev/vsock", F_OK) == 0) {
      fd = vsock_accept();
      if (fd >= 0)
        return fd;
    }
    nanosleep(&step, NULL);
  }
  return -1;
}
