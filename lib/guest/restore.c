/* SPDX-License-Identifier: MIT */
/* RESTORED: the first request a VM restored from a template gets, before
 * anything of the container runs. Every clone of one template wakes with the
 * template's clock, its RNG state, its view of the disks (sizes, cached
 * blocks of the placeholders) and its NICs' MACs; this makes each its own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <linux/random.h>

#include "guest/guest-priv.h"

#define BLK_DRIVER "/sys/bus/virtio/drivers/virtio_blk"

const char *guest_restore_parse(const vmctr__agent_msg *m, guest_restore *q) {
  memset(q, 0, sizeof(*q));
  if (vmctr__agent_get_u64(m, VMCTR_AT_TIME_NS, &q->time_ns) < 0)
    return "RESTORED needs TIME_NS";
  if (vmctr__agent_get_bytes(m, VMCTR_AT_ENTROPY, &q->entropy, &q->nentropy) < 0 ||
      q->nentropy < VMCTR_AGENT_ENTROPY_MIN || q->nentropy > VMCTR_AGENT_ENTROPY_MAX)
    return "RESTORED needs ENTROPY of 32 to 512 bytes";
  for (size_t i = 0; i < m->n; i++) {
    const vmctr__agent_field *f = &m->fields[i];
    if (f->tag != VMCTR_AT_MAC)
      continue;
    if (q->nmacs == VMCTR_AGENT_MAX_NICS)
      return "RESTORED: more than 8 MACs";
    if (f->len != 6 || (f->val[0] & 1))
      return "RESTORED: a MAC is 6 bytes of a unicast address";
    q->macs[q->nmacs++] = f->val;
  }
  return NULL;
}

/* Mix the host's bytes into the input pool, credited, and reseed the CRNG
 * from it at once: without the forced reseed the clones would keep
 * producing the template's stream until the next scheduled reseed. */
static int reseed(const guest_restore *q) {
  struct {
    int entropy_count;
    int buf_size;
    uint8_t buf[VMCTR_AGENT_ENTROPY_MAX];
  } e;
  int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC), r = 0;
  if (fd < 0)
    return -errno;
  e.entropy_count = (int)q->nentropy * 8;
  e.buf_size = (int)q->nentropy;
  memcpy(e.buf, q->entropy, q->nentropy);
  if (ioctl(fd, RNDADDENTROPY, &e) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
    r = -errno;
  memset(&e, 0, sizeof(e));
  close(fd);
  return r;
}

/* Unbind and bind every virtio disk again. The disks behind the devices are
 * the container's, not the template's placeholders: a new probe reads their
 * size and starts with an empty cache (what BLKFLSBUF and a resize notice
 * would do, and it works for read-only disks, which cannot be resized). No
 * disk is mounted yet. */
static int rebind_disks(void) {
  char names[16][32];
  size_t n = 0;
  DIR *d = opendir(BLK_DRIVER);
  struct dirent *e;
  if (!d)
    return errno == ENOENT ? 0 : -errno; /* no disk at all */
  while ((e = readdir(d)) && n < 16)
    if (strncmp(e->d_name, "virtio", 6) == 0 && strlen(e->d_name) < sizeof(names[0]))
      snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
  closedir(d);
  for (size_t i = 0; i < n; i++) {
    int r = guest_write_str(BLK_DRIVER "/unbind", names[i]);
    if (r == 0)
      r = guest_write_str(BLK_DRIVER "/bind", names[i]);
    if (r < 0)
      return r;
  }
  return 0;
}

/* NIC i is eth<i>: the virtio-net devices probe in the order QEMU lists them. */
static int set_macs(const guest_restore *q) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
  if (s < 0)
    return -errno;
  for (size_t i = 0; i < q->nmacs && r == 0; i++) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth%zu", i);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, q->macs[i], 6);
    if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
      r = -errno;
  }
  close(s);
  return r;
}

void guest_op_restored(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_restore q;
  char msg[96];
  const char *bad = guest_restore_parse(m, &q);
  if (bad) {
    guest_respond(a, id, EINVAL, bad);
    return;
  }
  struct timespec ts = {.tv_sec = (time_t)(q.time_ns / 1000000000u),
                        .tv_nsec = (long)(q.time_ns % 1000000000u)};
  int r = clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
  const char *what = "clock_settime";
  if (r == 0 && (r = reseed(&q)) < 0)
    what = "the RNG reseed";
  if (r == 0 && (r = rebind_disks()) < 0)
    what = "probing the disks again";
  if (r == 0 && (r = set_macs(&q)) < 0)
    what = "setting a MAC";
  if (r < 0) {
    snprintf(msg, sizeof(msg), "RESTORED: %s failed: %s", what, strerror(-r));
    guest_respond(a, id, -r, msg);
    return;
  }
  guest_respond(a, id, 0, NULL);
}
