/* SPDX-License-Identifier: MIT */
/* RESTORED: the first request a VM restored from a template gets, before
 * anything of the container runs. Every clone of one template wakes with the
 * template's clock, its RNG state, its view of the disks (sizes, cached
 * blocks of the placeholders) and its NICs' MACs; this makes each its own. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdlib.h>
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
#define DISK_WAIT_MS 1000

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
  for (size_t i = 0; i < m->n; i++) {
    const vmctr__agent_field *f = &m->fields[i];
    if (f->tag != VMCTR_AT_DISK)
      continue;
    if (q->ndisks == VMCTR_AGENT_MAX_DISKS)
      return "RESTORED: more than 16 DISKs";
    if (f->len < 9 || f->len > 8 + VMCTR_AGENT_SERIAL_MAX)
      return "RESTORED: a DISK is a u64 size and a serial of 1 to 20 bytes";
    uint64_t size = 0;
    for (int k = 7; k >= 0; k--)
      size = size << 8 | f->val[k];
    for (uint32_t k = 8; k < f->len; k++)
      if (f->val[k] < 0x21 || f->val[k] > 0x7e)
        return "RESTORED: a DISK serial is printable ASCII without spaces";
    q->disks[q->ndisks].size = size;
    memcpy(q->disks[q->ndisks].serial, f->val + 8, f->len - 8);
    q->disks[q->ndisks].serial[f->len - 8] = 0;
    q->ndisks++;
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

/* Probe disk dev (vdX) again: unbind and bind its virtio device. A new probe
 * reads the size and starts with an empty cache; slow (RCU grace periods),
 * so only for a disk whose new size did not arrive (a read-only one, which
 * the host cannot resize). No disk is mounted yet. */
static int rebind(const char *dev) {
  char link[300], target[300];
  snprintf(link, sizeof(link), "/sys/block/%s/device", dev);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  if (n <= 0)
    return -EIO;
  target[n] = 0;
  const char *name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
  int r = guest_write_str(BLK_DRIVER "/unbind", name);
  return r < 0 ? r : guest_write_str(BLK_DRIVER "/bind", name);
}

/* The clone's disks are the container's, not the template's placeholders:
 * wait until each shows its size (a writable one has it at once: its
 * placeholder had it; else the host resized it after the restore, which
 * notifies the guest), then drop every block cached from the placeholder
 * (BLKFLSBUF). The disks come from the map the template took (ops.c), and
 * their sizes from the device: no walk of sysfs. */
static int fix_disks(const guest_restore *q) {
  size_t n;
  const guest_disk *m = guest_disks(&n);
  char path[64];
  /* The host names every disk: a map that lacks one (taken before it had
   * probed) is read again, or its placeholder's blocks would stay cached. */
  if (n < q->ndisks) {
    int e = guest_disks_scan();
    if (e < 0)
      return e;
    m = guest_disks(&n);
  }
  bool rebound = false;
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    uint64_t want = 0; /* 0: unknown or not resized (read-only): probe again at once */
    for (size_t k = 0; k < q->ndisks; k++)
      if (strcmp(m[i].serial, q->disks[k].serial) == 0)
        want = q->disks[k].size;
    snprintf(path, sizeof(path), "/dev/%s", m[i].name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      r = -errno;
      break;
    }
    bool sized = false;
    for (int waited = 0; want && !sized && waited < DISK_WAIT_MS; waited++) {
      uint64_t bytes = 0;
      /* In 512-byte sectors: the device rounds a length that is no multiple down. */
      sized = ioctl(fd, BLKGETSIZE64, &bytes) == 0 && bytes / 512u == want / 512u;
      if (!sized) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
      }
    }
    if (!sized) {
      close(fd);
      r = rebind(m[i].name);
      rebound = true;
      continue;
    }
    if (ioctl(fd, BLKFLSBUF, 0) < 0)
      r = -errno;
    close(fd);
  }
  /* A probe may name a disk anew. */
  if (rebound && r == 0)
    r = guest_disks_scan();
  return r;
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
  if (r == 0 && (r = fix_disks(&q)) < 0)
    what = "taking the container's disks";
  if (r == 0 && (r = set_macs(&q)) < 0)
    what = "setting a MAC";
  if (r < 0) {
    snprintf(msg, sizeof(msg), "RESTORED: %s failed: %s", what, strerror(-r));
    guest_respond(a, id, -r, msg);
    return;
  }
  guest_respond(a, id, 0, NULL);
}
