/* SPDX-License-Identifier: MIT */
/*
 * A container process's capabilities (VMCTR_AT_CAPS), applied around the
 * switch of ids as runc does: the bounding set first, so that no setuid or
 * file-capability binary can regain what was dropped, then the ids, then
 * permitted = effective = the set. Inheritable and ambient stay empty (the
 * CVE-2022-24769 lesson: a non-empty inheritable set lets file capabilities
 * of an exec'd binary grow its permitted set).
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest-priv.h"

static int capset_(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2] = {
    {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
    {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int capget_(uint64_t *eff, uint64_t *perm) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0)
    return -errno;
  *eff = (uint64_t)d[1].effective << 32 | d[0].effective;
  *perm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
  return 0;
}

int guest_caps_bound(uint64_t caps) {
  /* Capabilities this kernel does not know end the loop with EINVAL. */
  for (int c = 0; c < 64; c++) {
    if ((caps >> c) & 1)
      continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      if (errno == EINVAL)
        break;
      return -errno;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return -errno;
  uint64_t eff, perm;
  int r = capget_(&eff, &perm);
  return r < 0 ? r : capset_(eff, perm, 0);
}

int guest_caps_set(uint64_t caps) {
  uint64_t eff, perm;
  int r = capget_(&eff, &perm);
  if (r < 0)
    return r;
  /* A non-root uid lost its permitted set at setuid already: nothing to grow. */
  perm &= caps;
  return capset_(perm, perm, 0);
}
