/* SPDX-License-Identifier: MIT */
/* Network namespaces by path, and taps inside them (lib/net/netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "net/netns.h"

#if defined(__linux__)
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <net/if.h>

int vmctr__netns_open(const char *path, int *fd) {
  if (!path || !*path || !fd)
    return vmctr__err(VMCTR_EINVAL, 0, "network namespace: the path is empty");
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return vmctr__err(VMCTR_ENOENT, e, "network namespace %s does not exist", path);
    if (e == EACCES || e == EPERM)
      return vmctr__err(VMCTR_EPERM, e, "cannot open the network namespace %s", path);
    return vmctr__err_os(e, "cannot open the network namespace %s", path);
  }
  int type = ioctl(f, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    int e = errno;
    close(f);
    return vmctr__err(VMCTR_EINVAL, type < 0 ? e : 0,
                      "%s is not a network namespace (give a path like /var/run/netns/NAME or "
                      "/proc/PID/ns/net)", path);
  }
  *fd = f;
  return 0;
}

typedef struct tap_job {
  int netns_fd;
  const char *ifname;
  int fd;
  uint32_t mtu;
  int err;          /* errno of the failed step */
  const char *step; /* NULL: success */
} tap_job;

/* In the namespace (this thread only): check the link, attach, set it up. */
static void tap_in_ns(tap_job *j) {
  struct ifreq ifr;
  int s = -1, t = -1;
  j->step = "join the network namespace";
  if (j->netns_fd >= 0 && setns(j->netns_fd, CLONE_NEWNET) < 0)
    goto fail;
  j->step = "socket";
  if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
    goto fail;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", j->ifname);
  /* TUNSETIFF would create a tap of that name: it must exist already. */
  j->step = "find";
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
    goto fail;
  j->step = "MTU";
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
    goto fail;
  j->mtu = (uint32_t)ifr.ifr_mtu;
  j->step = "open /dev/net/tun";
  if ((t = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0)
    goto fail;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", j->ifname);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  j->step = "attach";
  if (ioctl(t, TUNSETIFF, &ifr) < 0)
    goto fail;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", j->ifname);
  j->step = "set up";
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    goto fail;
  if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
      goto fail;
  }
  close(s);
  j->fd = t;
  j->step = NULL;
  return;
fail:
  j->err = errno;
  if (s >= 0)
    close(s);
  if (t >= 0)
    close(t);
}

static void *tap_thread(void *arg) {
  tap_in_ns(arg);
  return NULL;
}

int vmctr__netns_tap_open(int netns_fd, const char *ifname, int *fd, uint32_t *mtu) {
  if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || !fd || !mtu)
    return vmctr__err(VMCTR_EINVAL, 0, "tap: bad interface name");
  tap_job j = {.netns_fd = netns_fd, .ifname = ifname, .fd = -1};
  if (netns_fd < 0) {
    tap_in_ns(&j);
  } else {
    pthread_t th;
    int e = pthread_create(&th, NULL, tap_thread, &j);
    if (e != 0)
      return vmctr__err_os(e, "tap %s: cannot start a thread to enter its network namespace",
                           ifname);
    pthread_join(th, NULL);
  }
  if (!j.step) {
    *fd = j.fd;
    *mtu = j.mtu;
    vmctr__log(VMCTR_LOG_DEBUG, "net", "attached to tap %s (MTU %u)", ifname, j.mtu);
    return 0;
  }
  const char *where = netns_fd >= 0 ? " in the container's network namespace" : "";
  if (j.err == EPERM || j.err == EACCES)
    return vmctr__err(VMCTR_EPERM, j.err, "tap %s%s: cannot %s: needs CAP_NET_ADMIN (and "
                      "CAP_SYS_ADMIN to enter a namespace)", ifname, where, j.step);
  if (strcmp(j.step, "find") == 0 && j.err == ENODEV)
    return vmctr__err(VMCTR_ENOENT, j.err, "no interface %s%s: create the tap first (ip tuntap "
                      "add dev %s mode tap)", ifname, where, ifname);
  if (strcmp(j.step, "attach") == 0 && j.err == EINVAL)
    return vmctr__err(VMCTR_EINVAL, j.err, "interface %s%s is not a tap device (or a "
                      "multi-queue one)", ifname, where);
  if (strcmp(j.step, "attach") == 0 && j.err == EBUSY)
    return vmctr__err(VMCTR_EBUSY, j.err, "tap %s%s is in use by another process", ifname, where);
  return vmctr__err_os(j.err, "tap %s%s: cannot %s", ifname, where, j.step);
}

#else

int vmctr__netns_open(const char *path, int *fd) {
  (void)path, (void)fd;
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "network namespaces are Linux's");
}

int vmctr__netns_tap_open(int netns_fd, const char *ifname, int *fd, uint32_t *mtu) {
  (void)netns_fd, (void)fd, (void)mtu;
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "tap %s: tap devices are Linux's", ifname ? ifname : "");
}

#endif
