/* SPDX-License-Identifier: MIT */
/* Does KVM really run a guest? /dev/kvm answering ioctls is not enough: PVM
 * and broken nested setups answer them and then fail on real guests. This
 * runs the smallest possible guest: one page holding HLT, in real mode. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caps/kvm-test-priv.h"

#define GUEST_ADDR 0x1000u

uint32_t vmctr__kvm_max_vcpus(int kvm_fd) {
  int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
  if (n <= 0)
    n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
  return n > 0 ? (uint32_t)n : 0;
}

int vmctr__kvm_api_version(int kvm_fd) {
  int v = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
  return v < 0 ? -errno : v;
}

const struct vmctr__kvm_ops vmctr__kvm_real_ops = {
  .api_version = vmctr__kvm_api_version,
  .max_vcpus = vmctr__kvm_max_vcpus,
  .test_guest = vmctr__kvm_test_guest,
};

#if defined(__x86_64__) || defined(__i386__)
int vmctr__kvm_test_guest(int kvm_fd, char *why, size_t why_size) {
  int vm = -1, vcpu = -1, r = -EIO;
  long run_size;
  void *mem = MAP_FAILED;
  struct kvm_run *run = MAP_FAILED;
  struct kvm_userspace_memory_region region;
  struct kvm_sregs sregs;
  struct kvm_regs regs;
  const char *step = "";

#define FAIL(s)      \
  do {               \
    r = errno ? -errno : -EIO; \
    step = (s);      \
    goto out;        \
  } while (0)

  vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
  if (vm < 0)
    FAIL("KVM_CREATE_VM");
  mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    FAIL("mmap guest memory");
  ((unsigned char *)mem)[0] = 0xf4; /* hlt */
  memset(&region, 0, sizeof(region));
  region.slot = 0;
  region.guest_phys_addr = GUEST_ADDR;
  region.memory_size = 0x1000;
  region.userspace_addr = (uint64_t)(uintptr_t)mem;
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
    FAIL("KVM_SET_USER_MEMORY_REGION");
  vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0)
    FAIL("KVM_CREATE_VCPU");
  run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < (long)sizeof(struct kvm_run))
    FAIL("KVM_GET_VCPU_MMAP_SIZE");
  run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED)
    FAIL("mmap kvm_run");
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
    FAIL("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
    FAIL("KVM_SET_SREGS");
  memset(&regs, 0, sizeof(regs));
  regs.rip = GUEST_ADDR;
  regs.rflags = 0x2;
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
    FAIL("KVM_SET_REGS");
  for (int tries = 0;; tries++) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR && tries < 3)
        continue;
      FAIL("KVM_RUN");
    }
    break;
  }
  if (run->exit_reason == KVM_EXIT_HLT) {
    r = 0;
  } else {
    r = -EIO;
    snprintf(why, why_size, "the test guest stopped with KVM exit reason %u instead of HLT%s",
             run->exit_reason,
             run->exit_reason == KVM_EXIT_INTERNAL_ERROR ? " (KVM internal error)" : "");
    step = NULL;
  }
out:
  if (r < 0 && step)
    snprintf(why, why_size, "%s failed: %s", step, strerror(-r));
  if (run != MAP_FAILED)
    munmap(run, (size_t)run_size);
  if (vcpu >= 0)
    close(vcpu);
  if (mem != MAP_FAILED)
    munmap(mem, 0x1000);
  if (vm >= 0)
    close(vm);
  return r;
#undef FAIL
}
#else
/* The test guest is x86 real-mode code; other architectures are judged from
 * /dev/kvm's answers alone until they get their own. */
int vmctr__kvm_test_guest(int kvm_fd, char *why, size_t why_size) {
  (void)kvm_fd;
  snprintf(why, why_size, "no test guest for this architecture");
  return -EOPNOTSUPP;
}
#endif
